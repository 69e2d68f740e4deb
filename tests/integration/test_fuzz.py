"""The pure codecs survive bounded libFuzzer runs (tests/fuzz/run.sh, clang).

Each target checks its own invariants besides memory safety: the STUN codec
re-encodes what it parsed, the config parser names every refusal and keeps
values in bounds, the nickname mapping agrees with itself in every case, the
SIP parser gives back its input byte for byte and every proxy edit re-parses.
"""
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SECONDS = {"stun": int(os.environ.get("T9_FUZZ_SECONDS", "60")),
           "config": int(os.environ.get("T9_FUZZ_SECONDS", "30")),
           "t9": int(os.environ.get("T9_FUZZ_SECONDS", "15")),
           "sip": int(os.environ.get("T9_FUZZ_SECONDS", "30"))}


@pytest.mark.release_only
@pytest.mark.parametrize("target", ["stun", "config", "t9", "sip"])
def test_codec_fuzz_bounded(target):
    secs = SECONDS[target]
    r = subprocess.run(["bash", str(REPO / "tests/fuzz/run.sh"), target, str(secs)],
                       capture_output=True, text=True, timeout=secs + 600)
    tail = (r.stdout + r.stderr)[-4000:]
    assert r.returncode == 0, tail
    assert "stat::number_of_executed_units" in r.stderr, tail
