"""Two Linphone command-line phones (Debian linphone-cli), users made with the
admin CLI in a shared group, one registered over UDP and one over TLS: the
first dials the second's code, the second auto-answers, and both report the
call encrypted with ZRTP (media encryption mandatory on both). The callee is
shown the caller's nickname and dial code. Loopback only; each linphonec runs
with its own HOME, `soundcard use files`, a virtual memory bound and a time
limit, and is killed at the end whatever happens.
"""
import pathlib
import re
import sys

from conftest import free_port

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "sip"))
from test_sip_call import T9, no_transactions_left  # noqa: E402
from test_sip_linphone import Phone, rc_text  # noqa: E402
from test_sip_registrar import REALM, make_cert, sip_server  # noqa: E402

PW = "correct horse battery staple\n"


def member(srv, nick):
    email = f"{nick}@example.org"
    r = srv.cli("user", "add", "--email", email, "--nickname", nick, input=PW)
    assert r.returncode == 0, r.stderr
    r = srv.cli("user", "sip", email, "--show-password")
    assert r.returncode == 0, r.stderr
    kv = dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)
    code = "".join(T9[c] for c in nick)
    srv.forbid(kv["sip-username"], email, nick, code)
    return email, kv["sip-username"], kv["sip-password"], code


def zrtp_rc(*a, **kw):
    """The registering phone's rc, plus mandatory ZRTP and the server as the
    outbound proxy (a preloaded Route: the realm does not resolve)."""
    rc = rc_text(*a, **kw)
    rc = rc.replace("[sip]\n", "[sip]\nmedia_encryption=zrtp\nmedia_encryption_mandatory=1\n", 1)
    proxy = re.search(r"(?m)^reg_proxy=<(.*)>$", rc).group(1)
    return rc.replace("reg_proxy=", f"reg_route=<{proxy};lr>\nreg_proxy=", 1)


def test_two_linphones_call_by_dial_code_with_zrtp(t9server, tmp_path):
    tls = make_cert(tmp_path / "tls")
    srv = sip_server(t9server, ["--sip-t1-ms=100"], tls=tls)
    ea, ua, pa, ca = member(srv, "marina")
    eb, ub, pb, cb = member(srv, "oskarov")
    r = srv.cli("group", "add", "Family", "--owner", ea)
    assert r.returncode == 0, r.stderr
    assert srv.cli("group", "join", r.stdout.strip(), eb).returncode == 0
    caller = Phone(tmp_path / "caller", zrtp_rc(ua, pa, "udp", srv.sip_port, free_port()))
    callee = Phone(tmp_path / "callee", zrtp_rc(ub, pb, "tls", srv.tls_port, free_port(),
                                                ca=str(tls / "cert.pem")))
    try:
        for ph in (caller, callee):
            ph.cmd("soundcard use files")
        callee.cmd("autoanswer enable")
        for ph in (caller, callee):
            assert ph.wait_for("registered, identity=", timeout=40, poll="status register"), \
                ph.text()[-3000:]
        caller.cmd(f"call sip:{cb}@{REALM}")
        assert callee.wait_for("Receiving new incoming call", timeout=30), callee.text()[-3000:]
        for ph in (caller, callee):
            assert ph.wait_for("is fully encrypted and auth token is", timeout=40), \
                ph.text()[-4000:]
        # The same short authentication string on both sides: one ZRTP session.
        sas = [re.search(r"fully encrypted and auth token is (\w+)", ph.text()).group(1)
               for ph in (caller, callee)]
        assert sas[0] == sas[1], sas
        # The callee was shown who calls.
        assert f'"marina ({ca})"' in callee.text(), callee.text()[-3000:]
        caller.cmd("terminate")
        assert callee.wait_for("ended", timeout=20), callee.text()[-3000:]
    finally:
        caller.stop()
        callee.stop()
    m = srv.metrics()
    assert m['t9phone_sip_calls_total{outcome="setup"}'] == 1
    no_transactions_left(srv)
