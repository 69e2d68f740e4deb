"""sipvicious (Debian package) against the registrar: svwar with REGISTER, INVITE
and OPTIONS learns nothing about which users exist; svcrack is slowed and then
refused, while the real phone keeps registering from another address. Every
run is bounded with `timeout`."""
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "sip"))
from sipclient import Client  # noqa: E402
from test_sip_registrar import REALM, make_users, metric, sip_server  # noqa: E402

SVWAR = shutil.which("svwar") or "svwar"
SVCRACK = shutil.which("svcrack") or "svcrack"


@pytest.mark.parametrize("method", ["REGISTER", "INVITE", "OPTIONS"])
@pytest.mark.parametrize("force", [False, True], ids=["checked", "forced"])
def test_svwar_learns_nothing(t9server, tmp_path, method, force):
    srv = sip_server(t9server)
    users = make_users(srv, 2, prefix="warvictim")
    fakes = ["nobody234567abcd", "aaaabbbbccccdddd", "1000", "admin", "100"]
    words = [users[0][0]] + fakes + [users[1][0]]
    d = tmp_path / "dict.txt"
    d.write_text("\n".join(words) + "\n")
    args = ["timeout", "90", SVWAR, "-d", str(d), "-m", method, "-p", str(srv.sip_port),
            "-t", "0.05", "--maximumtime", "5"] + (["--force"] if force else []) + ["127.0.0.1"]
    p = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path)
    out = p.stdout + p.stderr
    assert p.returncode != 124, "svwar did not finish in time:\n" + out[-3000:]
    # The server did answer it (this is not a test against a dead port) ...
    assert metric(srv, "t9phone_sip_requests_total", f'method="{method}"') >= 1
    # ... and none of the names, real or not, comes out as an extension.
    assert "found nothing" in out, out[-3000:]
    for w in words:
        assert not re.search(rf"\|\s*{re.escape(w)}\s*\|", out), out[-3000:]


def test_svcrack_slowed_then_refused_real_phone_unaffected(t9server, tmp_path):
    srv = sip_server(t9server, ["--sip-guard-delay-ms=300"])
    (u, p), = make_users(srv, 1, prefix="crackvictim")
    # svcrack does work against this server: with the password early in its
    # list, from an address of its own, it finds it.
    d1 = tmp_path / "short.txt"
    d1.write_text(f"guess1\n{p}\n")
    r = subprocess.run(["timeout", "60", SVCRACK, "-u", u, "-d", str(d1), "-p", str(srv.sip_port),
                        "-b", "127.0.0.3", "127.0.0.1"], capture_output=True, text=True)
    assert re.search(rf"\|\s*{u}\s*\|\s*{re.escape(p)}\s*\|", r.stdout + r.stderr), \
        (r.stdout + r.stderr)[-3000:]
    srv.forbid(p)
    # A long list with the password at the end: slowed, then refused before it.
    d2 = tmp_path / "long.txt"
    d2.write_text("".join(f"guess{i}\n" for i in range(60)) + p + "\n")
    r = subprocess.run(["timeout", "120", SVCRACK, "-u", u, "-d", str(d2), "-p",
                        str(srv.sip_port), "127.0.0.1"], capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert r.returncode != 124, "svcrack did not finish in time"
    assert p not in out, out[-3000:]
    assert "found nothing" in out, out[-3000:]
    assert metric(srv, "t9phone_sip_guard_total", 'action="slowed"') >= 1
    assert metric(srv, "t9phone_sip_guard_total", 'action="refused"') >= 1
    # That address is refused now, even with the right password ...
    c = Client("udp", srv.sip_port)
    try:
        r, _ = c.register(u, p, REALM, contact=f"<sip:{u}@127.0.0.1:5060>", expires=600)
        assert r.status == 503 and int(r.get("retry-after")) > 0, r
    finally:
        c.close()
    # ... while the phone on another address registers at once.
    slowed = metric(srv, "t9phone_sip_guard_total", 'action="slowed"')
    c = Client("udp", srv.sip_port, bind="127.0.0.2")
    try:
        r, _ = c.register(u, p, REALM, contact=f"<sip:{u}@127.0.0.2:5060>", expires=600)
        assert r.status == 200, r
        assert metric(srv, "t9phone_sip_guard_total", 'action="slowed"') == slowed
    finally:
        c.close()
