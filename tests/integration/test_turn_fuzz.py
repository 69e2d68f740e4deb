"""The STUN codec survives a bounded libFuzzer run (tests/fuzz/run.sh, clang)."""
import os
import pathlib
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SECONDS = int(os.environ.get("T9_FUZZ_SECONDS", "60"))


@pytest.mark.release_only
def test_stun_codec_fuzz_bounded():
    r = subprocess.run(["bash", str(REPO / "tests/fuzz/run.sh"), str(SECONDS)],
                       capture_output=True, text=True, timeout=SECONDS + 600)
    tail = (r.stdout + r.stderr)[-4000:]
    assert r.returncode == 0, tail
    assert "stat::number_of_executed_units" in r.stderr, tail
