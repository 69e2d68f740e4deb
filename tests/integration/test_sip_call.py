"""Calls through the real binary (SIP part 2): sipp (Debian sip-tester) callers
and callees over UDP and TCP, users made with the admin CLI in a shared group,
each callee registered before the caller dials its code.

Pairing: a sipp callee registers with the Call-ID the caller's INVITE will
carry (both runs get the same -cid_str), so sipp maps the proxied INVITE to the
callee's call. Every wait is bounded; every sipp runs under `timeout`; the
t9server fixture stops the server and checks its log, database and WAL for
the needles given to forbid()/forbid_stored().
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import free_port

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "sip"))
from sipclient import Client  # noqa: E402

CALLS = pathlib.Path(__file__).resolve().parent / "sip" / "calls"
SIPP = shutil.which("sipp") or "sipp"  # build.sh installs sip-tester: missing fails
REALM = "t9phone.local"
PW = "correct horse battery staple\n"
T1 = 100  # ms: every transaction is gone 64*T1 = 6.4 s after its final answer


def server(t9server, extra=()):
    port = free_port()
    srv = t9server([f"--sip-port={port}", "--sip-ip=127.0.0.1", f"--sip-t1-ms={T1}"]
                   + list(extra))
    srv.sip_port = port
    return srv


class User:
    def __init__(self, email, nick, code, sip, pw):
        self.email, self.nick, self.code, self.sip, self.pw = email, nick, code, sip, pw

    def row(self, target="", params=""):
        auth = f"[authentication username={self.sip} password={self.pw}]"
        return [self.sip, auth, REALM, target or params]


T9 = {c: d for d, cs in {"2": "abc", "3": "def", "4": "ghi", "5": "jkl", "6": "mno",
                         "7": "pqrs", "8": "tuv", "9": "wxyz"}.items() for c in cs}


def user(srv, nick):
    email = f"{nick}@example.org"
    r = srv.cli("user", "add", "--email", email, "--nickname", nick, input=PW)
    assert r.returncode == 0, r.stderr
    r = srv.cli("user", "sip", email, "--show-password")
    assert r.returncode == 0, r.stderr
    kv = dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)
    code = "".join(T9[c] for c in nick)
    u = User(email, nick, code, kv["sip-username"], kv["sip-password"])
    # Nothing of who called whom may reach the log or the database files.
    # (username and dial code are the account's own columns; the call's
    # Call-IDs are forbidden in the database and WAL by cid(srv)).
    srv.forbid(u.sip, u.email, u.nick, u.code)
    return u


def group(srv, name, owner, *members):
    r = srv.cli("group", "add", name, "--owner", owner.email)
    assert r.returncode == 0, r.stderr
    slug = r.stdout.strip()
    for m in members:
        r = srv.cli("group", "join", slug, m.email)
        assert r.returncode == 0, r.stderr
    return slug


# The agents started last: a metric that never comes says why through them.
STARTED = []


class Sipp:
    """One sipp run (background); .wait() returns (rc, message log)."""

    def __init__(self, tmp, scenario, port, transport, row, cid, timeout=40, text=None):
        tmp = pathlib.Path(tmp)
        tmp.mkdir(exist_ok=True)
        stamp = time.monotonic_ns()
        if text is not None:
            scen = tmp / f"scen-{stamp}.xml"
            scen.write_text(text)
        else:
            scen = CALLS / scenario
        csv = tmp / f"inj-{stamp}.csv"
        csv.write_text("SEQUENTIAL\n" + ";".join(row) + ";\n")
        self.msgs = tmp / f"msgs-{stamp}.log"
        self.errs = tmp / f"errs-{stamp}.log"
        self.logf = tmp / f"log-{stamp}.log"
        self.local_port = free_port()
        cmd = ["timeout", str(timeout), SIPP, f"127.0.0.1:{port}", "-sf", str(scen),
               "-inf", str(csv), "-m", "1", "-t", transport, "-i", "127.0.0.1",
               "-p", str(self.local_port), "-nostdin", "-recv_timeout", "15000",
               "-timeout", f"{timeout - 5}", "-timeout_error", "-cid_str", cid,
               "-trace_msg", "-message_file", str(self.msgs), "-trace_err",
               "-error_file", str(self.errs), "-trace_logs", "-log_file", str(self.logf),
               "-l", "1", "-mp", str(free_port(kind=2))]
        self.p = subprocess.Popen(cmd, cwd=tmp, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        STARTED.append(self)
        del STARTED[:-4]

    def explain(self):
        """What this agent did so far, for a failure message (ends it)."""
        if self.p.poll() is None:
            self.p.kill()
        try:
            rc, log = self.wait(timeout=10)
        except (OSError, ValueError) as e:  # its output was read already
            rc, log = self.p.returncode, f"({e})"
        return f"--- sipp rc={rc} ---\n{log[-4000:]}"

    def wait(self, timeout=45):
        try:
            out, _ = self.p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            out, _ = self.p.communicate()
        log = self.msgs.read_text(errors="replace") if self.msgs.exists() else ""
        if self.p.returncode != 0:
            log += "\n--- errors ---\n" + (self.errs.read_text(errors="replace")
                                           if self.errs.exists() else "")
            log += "\n--- stdout ---\n" + (out or "")[-3000:]
        return self.p.returncode, log

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.communicate()


def wait_metric(srv, name, want, timeout=20.0):
    deadline = time.monotonic() + timeout
    v = None
    while time.monotonic() < deadline:
        v = srv.metrics().get(name)
        if v == want:
            return
        time.sleep(0.1)
    agents = "\n".join(a.explain() for a in STARTED)
    raise AssertionError(f"{name} is {v}, not {want}\n{agents}\n--- server log ---\n"
                         f"{srv.log_text()[-3000:]}")


def wait_bindings(srv, n):
    wait_metric(srv, "t9phone_sip_bindings", n)


def cid(srv):
    """A Call-ID pattern for sipp's -cid_str; the Call-ID must never be
    stored or logged."""
    c = f"t9call{os.urandom(6).hex()}-"
    srv.forbid_stored(c)
    return c + "%u"


def transports():
    return [pytest.param("u1", id="udp"), pytest.param("t1", id="tcp")]


def pair(t9server, names=("marina", "oskarov")):
    srv = server(t9server)
    a, b = (user(srv, n) for n in names)
    group(srv, "Family", a, b)
    return srv, a, b


def no_transactions_left(srv):
    # 64*T1 after the last final answer every transaction has ended.
    wait_metric(srv, "t9phone_sip_transactions", 0, timeout=15)
    wait_metric(srv, "t9phone_sip_proxy_contexts", 0, timeout=5)


@pytest.mark.parametrize("transport,callee_transport", [
    pytest.param("u1", "u1", id="udp"), pytest.param("t1", "t1", id="tcp"),
    pytest.param("u1", "t1", id="udp-to-tcp")])
def test_call_by_dial_code_reinvite_and_bye_by_record_route(t9server, tmp_path, transport,
                                                            callee_transport):
    srv, a, b = pair(t9server)
    c = cid(srv)
    callee = Sipp(tmp_path, "callee_dialog.xml", srv.sip_port, callee_transport, b.row(), c)
    try:
        wait_bindings(srv, 1)
        caller = Sipp(tmp_path, "caller_dialog.xml", srv.sip_port, transport, a.row(b.code), c)
        rc, out = caller.wait()
        assert rc == 0, out[-6000:]
        rc2, out2 = callee.wait()
        assert rc2 == 0, out2[-6000:]
    finally:
        callee.kill()
    # The callee saw who called: asserted by the proxy, display name set, the
    # caller's own assertions gone, the From URI and tag kept.
    invite = out2[out2.index("INVITE sip:"):]
    invite = invite[:invite.index("\n\n")] if "\n\n" in invite else invite
    assert f'P-Asserted-Identity: "{a.nick}" <sip:{a.code}@{REALM}>' in invite, invite
    assert re.search(rf'From: "{a.nick} \({a.code}\)" <sip:{a.sip}@{REALM}>;tag=\S+', invite), invite
    assert "forged" not in invite and "Remote-Party-ID" not in invite, invite
    assert "Proxy-Authorization" not in invite, invite
    rr = re.findall(r"<sip:127\.0\.0\.1:\d+(;transport=tcp)?;lr;t9=[0-9a-f]+>", invite)
    if transport == callee_transport:
        assert len(rr) == 1, invite
    else:  # UDP in, TCP out: one entry for each side, the callee's on top (RFC 5658)
        assert rr == [";transport=tcp", ""], invite
    # The caller is shown whom it reached, in the 180 and the 200 alike.
    for st in ("180 Ringing", "200 OK"):
        resp = out[out.index(f"SIP/2.0 {st}"):]
        resp = resp[:resp.index("\n\n")]
        assert f'P-Asserted-Identity: "{b.nick}" <sip:{b.code}@{REALM}>' in resp, resp
        assert re.search(rf'To: "{b.nick} \({b.code}\)" <sip:{b.code}@{REALM}>;tag=', resp), resp
    # The re-INVITE reached the callee, and the callee's BYE the caller.
    assert out2.count("INVITE sip:") >= 2, out2
    assert "BYE sip:" in out, out
    m = srv.metrics()
    assert m['t9phone_sip_calls_total{outcome="setup"}'] == 1
    no_transactions_left(srv)


@pytest.mark.parametrize("transport", transports())
def test_cancel_from_the_caller(t9server, tmp_path, transport):
    srv, a, b = pair(t9server)
    c = cid(srv)
    callee = Sipp(tmp_path, "callee_cancel.xml", srv.sip_port, transport, b.row(), c)
    try:
        wait_bindings(srv, 1)
        caller = Sipp(tmp_path, "caller_cancel.xml", srv.sip_port, transport, a.row(b.code), c)
        rc, out = caller.wait()
        assert rc == 0, out[-6000:]
        rc2, out2 = callee.wait()
        assert rc2 == 0, out2[-6000:]
    finally:
        callee.kill()
    assert "SIP/2.0 487" in out
    m = srv.metrics()
    assert m['t9phone_sip_calls_total{outcome="cancelled"}'] == 1
    assert m['t9phone_sip_calls_total{outcome="setup"}'] == 0
    no_transactions_left(srv)


@pytest.mark.parametrize("transport", transports())
def test_fork_to_two_phones_one_answers_the_other_is_cancelled(t9server, tmp_path, transport):
    srv, a, b = pair(t9server)
    c = cid(srv)
    win = Sipp(tmp_path, "callee_answer.xml", srv.sip_port, transport, b.row(), c)
    lose = Sipp(tmp_path, "callee_fork_loser.xml", srv.sip_port, transport, b.row(), c)
    try:
        wait_bindings(srv, 2)
        caller = Sipp(tmp_path, "caller_call.xml", srv.sip_port, transport, a.row(b.code), c)
        rc, out = caller.wait()
        assert rc == 0, out[-6000:]
        rc2, out2 = win.wait()
        assert rc2 == 0, out2[-6000:]
        rc3, out3 = lose.wait()
        assert rc3 == 0, out3[-6000:]
    finally:
        win.kill()
        lose.kill()
    assert 'Reason: SIP;cause=200;text="Call completed elsewhere"' in out3, out3
    assert out.count("SIP/2.0 200") >= 2  # the INVITE's and the BYE's
    no_transactions_left(srv)


def fail_scenario(status):
    return (CALLS / "caller_fail.xml").read_text().replace("@STATUS@", str(status))


@pytest.mark.parametrize("transport", transports())
def test_callee_not_registered_is_480(t9server, tmp_path, transport):
    srv, a, b = pair(t9server)
    caller = Sipp(tmp_path, None, srv.sip_port, transport, a.row(b.code), cid(srv),
                  text=fail_scenario(480))
    rc, out = caller.wait()
    assert rc == 0, out[-6000:]
    no_transactions_left(srv)


@pytest.mark.parametrize("transport", transports())
def test_ambiguous_code_is_485_with_a_contact_per_candidate(t9server, tmp_path, transport):
    # marina and narina share the dial code 627462; the caller is in a group
    # with each and has no active group.
    srv = server(t9server)
    me, marina, narina = user(srv, "oskarr"), user(srv, "marina"), user(srv, "narina")
    assert marina.code == narina.code
    group(srv, "Family", me, marina)
    group(srv, "Work", me, narina)
    caller = Sipp(tmp_path, None, srv.sip_port, transport, me.row(marina.code), cid(srv),
                  text=fail_scenario(485))
    rc, out = caller.wait()
    assert rc == 0, out[-6000:]
    resp = out[out.index("SIP/2.0 485"):]
    resp = resp[:resp.index("\n\n")]
    got = re.findall(r"(?m)^Contact: (.*)$", resp)
    assert sorted(got) == sorted([f'"marina" <sip:{marina.sip}@{REALM}>',
                                  f'"narina" <sip:{narina.sip}@{REALM}>']), resp
    no_transactions_left(srv)


@pytest.mark.parametrize("transport", transports())
def test_callee_reregistered_from_a_new_address_is_reached_there(t9server, tmp_path, transport):
    srv, a, b = pair(t9server)
    inst = ';+sip.instance="<urn:uuid:00000000-0000-4000-8000-00000000c0de>";reg-id=1'
    # The phone first registers from one address (this socket), then from
    # another (the sipp callee) with the same instance: the binding moves.
    old = Client("udp", srv.sip_port)
    try:
        contact = f"<sip:{b.sip}@127.0.0.1:{old.local[1]}>{inst}"
        r, _ = old.register(b.sip, b.pw, REALM, contact=contact, expires=600)
        assert r.status == 200, r.status_line
        wait_bindings(srv, 1)
        c = cid(srv)
        # (the parameters hold ';', the CSV's separator: written into the
        # scenario instead of field 3)
        text = (CALLS / "callee_answer.xml").read_text().replace("[field3]", inst)
        callee = Sipp(tmp_path, None, srv.sip_port, transport, b.row(), c, text=text)
        try:
            wait_metric(srv, "t9phone_sip_bindings_refreshed_total", 1)
            wait_bindings(srv, 1)
            caller = Sipp(tmp_path, "caller_call.xml", srv.sip_port, transport,
                          a.row(b.code), c)
            rc, out = caller.wait()
            assert rc == 0, out[-6000:]
            rc2, out2 = callee.wait()
            assert rc2 == 0, out2[-6000:]
        finally:
            callee.kill()
        # Nothing went to the old address.
        assert old.recv(timeout=0.5) is None
    finally:
        old.close()
    no_transactions_left(srv)
