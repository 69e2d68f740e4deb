"""SIP registrar through the real binary: sipp (Debian sip-tester) over UDP and
TCP with users made by the admin CLI, a small Python SIP client for TLS, IPv6,
replays and broken input. Every server is stopped by the t9server fixture,
which greps its log for 127.0.0.1 and for every username, email and nickname
registered with forbid(); every helper process runs under `timeout`.
"""
import pathlib
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import free_port

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "sip"))
from sipclient import Client  # noqa: E402

SCEN = pathlib.Path(__file__).resolve().parent / "sip"
# build.sh installs sip-tester and openssl; a missing tool fails the tests.
SIPP = shutil.which("sipp") or "sipp"
OPENSSL = shutil.which("openssl") or "openssl"
REALM = "t9phone.local"


def sip_server(t9server, extra=(), tls=None):
    port, tport = free_port(), free_port()
    args = [f"--sip-port={port}", f"--sip-tls-port={tport}", "--sip-ip=127.0.0.1"]
    if tls:
        args += [f"--cert={tls / 'cert.pem'}", f"--pkey={tls / 'key.pem'}"]
    srv = t9server(args + list(extra))
    srv.sip_port, srv.tls_port = port, tport
    # Call-IDs, tags and branches of every client here, and their user agents.
    # (The test's own temporary paths are in the log: no bare tool names.)
    srv.forbid("@t9test", "SIPpTag", "z9hG4bK", "Linphone/", "belle-sip", "friendly-scanner",
               "sipvicious")
    return srv


def make_users(srv, n, prefix="sipper"):
    """n users made with the admin CLI: [(sip username, sip password)]."""
    users = []
    for i in range(n):
        email, nick = f"{prefix}{i}@example.org", f"{prefix}{chr(97 + i % 26) * (i // 26 + 1)}"
        r = srv.cli("user", "add", "--email", email, "--nickname", nick,
                    input="correct horse battery staple\n")
        assert r.returncode == 0, r.stderr
        r = srv.cli("user", "sip", email, "--show-password")
        assert r.returncode == 0, r.stderr
        kv = dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)
        users.append((kv["sip-username"], kv["sip-password"]))
        srv.forbid(kv["sip-username"], email, nick)
    return users


def sipp(tmp, scenario, port, transport, rows, calls=None, extra=(), timeout=60):
    """Runs a sipp client scenario with an injection CSV; returns (rc, messages).
    rows are lists of fields; one call per row unless calls says otherwise."""
    tmp = pathlib.Path(tmp)
    tmp.mkdir(exist_ok=True)
    csv = tmp / f"inj-{time.monotonic_ns()}.csv"
    csv.write_text("SEQUENTIAL\n" + "".join(";".join(r) + ";\n" for r in rows))
    msgs = tmp / f"msgs-{time.monotonic_ns()}.log"
    errs = tmp / f"errs-{time.monotonic_ns()}.log"
    cmd = ["timeout", str(timeout), SIPP, f"127.0.0.1:{port}", "-sf", str(SCEN / scenario),
           "-inf", str(csv), "-m", str(calls or len(rows)), "-t", transport, "-i", "127.0.0.1",
           "-p", str(free_port()), "-nostdin", "-recv_timeout", "5000", "-timeout", f"{timeout - 5}",
           "-timeout_error", "-trace_msg", "-message_file", str(msgs), "-trace_err",
           "-error_file", str(errs), "-l", "10"] + list(extra)
    p = subprocess.run(cmd, cwd=tmp, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    out = msgs.read_text(errors="replace") if msgs.exists() else ""
    if p.returncode != 0:
        out += "\n--- errors ---\n" + (errs.read_text(errors="replace") if errs.exists() else "")
        out += "\n--- stdout ---\n" + p.stdout[-3000:] + p.stderr[-2000:]
    return p.returncode, out


def metric(srv, name, labels):
    with urllib.request.urlopen(f"http://127.0.0.1:{srv.metrics_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    sel = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "")
    m = re.search(rf"^{sel} (\d+)$", text, re.M)
    assert m, f"{name}{{{labels}}} not in /metrics"
    return int(m.group(1))


def row(user, pw, expires=600, params="", to_user=None):
    return [user, f"[authentication username={user} password={pw}]", REALM, str(expires), params,
            to_user or user]


def contacts(client, user, pw):
    """The contacts of user as the registrar lists them in a 200 to a query."""
    r, _ = client.register(user, pw, REALM)
    assert r.status == 200, r.status_line
    return r.all("contact")


def transports():
    return [pytest.param("u1", id="udp"), pytest.param("t1", id="tcp")]


@pytest.mark.parametrize("transport", transports())
def test_sipp_registers_many_users(t9server, tmp_path, transport):
    srv = sip_server(t9server)
    users = make_users(srv, 12)
    rc, out = sipp(tmp_path, "register.xml", srv.sip_port, transport,
                   [row(u, p) for u, p in users])
    assert rc == 0, out[-4000:]
    # Every one of them has exactly its contact, with the granted expiry.
    c = Client("udp", srv.sip_port)
    try:
        for u, p in users:
            cs = contacts(c, u, p)
            assert len(cs) == 1 and cs[0].startswith(f"<sip:{u}@127.0.0.1:"), cs
            assert re.search(r";expires=(59\d|600)\b", cs[0]), cs
    finally:
        c.close()
    # A wrong password for each of them fails the scenario.
    rc, out = sipp(tmp_path, "register.xml", srv.sip_port, transport,
                   [row(u, p + "x") for u, p in users[:3]])
    assert rc != 0
    assert "SIP/2.0 200" not in out


@pytest.mark.parametrize("transport", transports())
def test_sipp_refresh_expiry_removal_star(t9server, tmp_path, transport):
    srv = sip_server(t9server, ["--sip-min-expires=1"])
    (u, p), (u2, p2) = make_users(srv, 2)
    c = Client("udp", srv.sip_port)
    try:
        rc, out = sipp(tmp_path, "register.xml", srv.sip_port, transport, [row(u, p, 600)])
        assert rc == 0, out[-4000:]
        # Refresh: the same contact (same sipp port) with a shorter time: one binding.
        assert len(contacts(c, u, p)) == 1
        # Expiry: 2 seconds, then nothing is listed any more.
        rc, out = sipp(tmp_path, "register.xml", srv.sip_port, transport,
                       [row(u2, p2, 2)])
        assert rc == 0, out[-4000:]
        assert len(contacts(c, u2, p2)) == 1
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and contacts(c, u2, p2):
            time.sleep(0.5)
        assert contacts(c, u2, p2) == []
        # Removal with Expires: 0 of a contact (the sipp client registers its own).
        rc, out = sipp(tmp_path, "register.xml", srv.sip_port, transport, [row(u2, p2, 600)])
        assert rc == 0, out[-4000:]
        cs = contacts(c, u2, p2)
        assert len(cs) == 1
        uri = re.match(r"<([^>]*)>", cs[0]).group(1)
        r, _ = c.register(u2, p2, REALM, contact=f"<{uri}>", expires=0)
        assert r.status == 200 and contacts(c, u2, p2) == []
        # Contact: * with Expires: 0 removes them all.
        for i in range(3):
            r, _ = c.register(u, p, REALM, contact=f"<sip:{u}@192.0.2.{i}:5060>", expires=600)
            assert r.status == 200
        assert len(contacts(c, u, p)) == 4
        rc, out = sipp(tmp_path, "star.xml", srv.sip_port, transport, [row(u, p)])
        assert rc == 0, out[-4000:]
        assert contacts(c, u, p) == []
    finally:
        c.close()


@pytest.mark.parametrize("transport", transports())
def test_sipp_423_wrong_user_403(t9server, tmp_path, transport):
    srv = sip_server(t9server, ["--sip-min-expires=120"])
    (u, p), (v, q) = make_users(srv, 2)
    rc, out = sipp(tmp_path, "register_423.xml", srv.sip_port, transport, [row(u, p, 30)])
    assert rc == 0, out[-4000:]
    assert "Min-Expires: 120" in out
    # u authenticates and tries to register v's address: 403, nothing stored.
    rc, out = sipp(tmp_path, "register_403.xml", srv.sip_port, transport,
                   [row(u, p, 600, to_user=v)])
    assert rc == 0, out[-4000:]
    c = Client("udp", srv.sip_port)
    try:
        assert contacts(c, v, q) == []
        assert contacts(c, u, p) == []
    finally:
        c.close()


@pytest.mark.parametrize("transport", transports())
def test_sipp_instance_replaces_binding(t9server, tmp_path, transport):
    srv = sip_server(t9server)
    (u, p), = make_users(srv, 1)
    inst = "3c1a5c0e-6f1b-4a0c-9d4e-0c2d0e0f1a2b"
    # Two runs from two local ports: the Contact changes, the instance does not.
    for _ in range(2):
        rc, out = sipp(tmp_path, "register_instance.xml", srv.sip_port, transport,
                       [row(u, p, 600, inst)])
        assert rc == 0, out[-4000:]
    # Without an instance the two contacts would be two bindings.
    for _ in range(2):
        rc, out = sipp(tmp_path, "register.xml", srv.sip_port, transport, [row(u, p, 600)])
        assert rc == 0, out[-4000:]
    c = Client("udp", srv.sip_port)
    try:
        cs = contacts(c, u, p)
        with_inst = [x for x in cs if "+sip.instance" in x]
        assert len(with_inst) == 1 and "reg-id=1" in with_inst[0], cs
        assert len(cs) == 3, cs
    finally:
        c.close()


@pytest.mark.parametrize("transport", transports())
def test_sipp_stale_nonce_then_replayed_nonce_count(t9server, tmp_path, transport):
    srv = sip_server(t9server, ["--sip-nonce-lifetime=1"])
    (u, p), = make_users(srv, 1)
    rc, out = sipp(tmp_path, "stale.xml", srv.sip_port, transport, [row(u, p)])
    assert rc == 0, out[-4000:]
    assert "stale=true" in out
    # Replay: sipp's own authenticated REGISTER sent again. Byte for byte it
    # is a retransmission (the phone missed our 200) and gets the same
    # answer; as a new request (another branch or CSeq) its nonce count is
    # used up: 401 stale=true.
    srv2 = sip_server(t9server)
    (u, p), = make_users(srv2, 1, prefix="replayer")
    rc, out = sipp(tmp_path, "register.xml", srv2.sip_port, transport, [row(u, p)])
    assert rc == 0, out[-4000:]
    sent = [m for m in re.split(r"-{20,}[^\n]*\n", out) if "Authorization: Digest" in m]
    assert sent, out[-3000:]
    msg = sent[-1]
    msg = msg[msg.index("REGISTER "):]
    head, _, _ = msg.partition("\n\n")
    head = head.replace("\r\n", "\n").rstrip("\n").replace("\n", "\r\n") + "\r\n\r\n"
    c = Client("udp" if transport == "u1" else "tcp", srv2.sip_port)
    try:
        c.send(head)
        r = c.recv()
        assert r is not None and r.status == 200, r
        for old, new in ((";branch=", ";branch=z9hG4bKreplay"), ("CSeq: 2 ", "CSeq: 3 ")):
            c.send(head.replace(old, new, 1))
            r = c.recv()
            assert r is not None and r.status == 401, r
            assert r.challenge().get("stale") == "true"
    finally:
        c.close()


@pytest.mark.parametrize("transport", transports())
def test_sipp_malformed_requests(t9server, tmp_path, transport):
    srv = sip_server(t9server)
    rc, out = sipp(tmp_path, "malformed.xml", srv.sip_port, transport, [["x"]])
    assert rc == 0, out[-4000:]


def test_raw_malformed_oversized_and_version(t9server):
    srv = sip_server(t9server, ["--sip-message-timeout=2"])
    c = Client("udp", srv.sip_port)
    try:
        # Wrong version: 505.
        m = c.request("OPTIONS", f"sip:{REALM}", f"sip:{REALM}").replace(b"SIP/2.0\r\n",
                                                                          b"SIP/3.0\r\n", 1)
        c.send(m)
        r = c.recv()
        assert r is not None and r.status == 505, r
        # An oversized datagram: 513, named.
        big = c.request("OPTIONS", f"sip:{REALM}", f"sip:{REALM}",
                        extra=[f"X-Pad: {'a' * 2000}"] * 6)
        c.send(big)
        r = c.recv()
        assert r is not None and r.status in (413, 513), r
        # Garbage gets nothing, and the server still answers afterwards.
        c.send(b"\x16\x03\x01garbage\r\n\r\n")
        assert c.recv(timeout=0.5) is None
        c.send(c.request("OPTIONS", f"sip:{REALM}", f"sip:{REALM}"))
        r = c.recv()
        assert r is not None and r.status == 200
        # A CRLF keep-alive over UDP is dropped quietly.
        c.send(b"\r\n\r\n")
        assert c.recv(timeout=0.5) is None
    finally:
        c.close()
    # Streams: no Content-Length, or larger than the limit: the connection goes.
    t = Client("tcp", srv.sip_port)
    try:
        m = c.request("OPTIONS", f"sip:{REALM}", f"sip:{REALM}")
        m = re.sub(rb"Content-Length: 0\r\n", b"", m)
        t.send(m)
        assert t.closed()
    finally:
        t.close()
    t = Client("tcp", srv.sip_port)
    try:
        t.send(b"OPTIONS sip:x SIP/2.0\r\nX-Pad: " + b"a" * 20000)
        assert t.closed()
    finally:
        t.close()
    # A message trickled byte by byte is cut at the message deadline.
    t = Client("tcp", srv.sip_port, timeout=10)
    try:
        start = time.monotonic()
        closed = False
        for ch in b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK1" * 5:
            try:
                t.s.send(bytes([ch]))
            except OSError:
                closed = True
                break
            time.sleep(0.05)
            if time.monotonic() - start > 8:
                break
        assert closed or t.closed(timeout=3)
        assert time.monotonic() - start < 9
    finally:
        t.close()
    # A reader that never reads loses its connection once its answers fill
    # the bounded output buffers (the kernel's buffers are kept small here).
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    t.settimeout(0.5)
    t.connect(("127.0.0.1", srv.sip_port))
    m = c.request("OPTIONS", f"sip:{REALM}", f"sip:{REALM}", extra=[f"X-Pad: {'p' * 300}"])
    closed = False
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline and not closed:
            try:
                t.send(m * 20)
            except socket.timeout:
                time.sleep(0.05)
            except OSError:
                closed = True
    finally:
        t.close()
    assert closed
    assert metric(srv, "t9phone_sip_backpressure_total", None) >= 1
    assert metric(srv, "t9phone_sip_connections_closed_total", 'cause="frame_deadline"') >= 1
    assert metric(srv, "t9phone_sip_connections_closed_total", 'cause="malformed"') + \
        metric(srv, "t9phone_sip_connections_closed_total", 'cause="oversize"') >= 2
    # CRLFCRLF on a stream is answered with CRLF (RFC 5626 3.5.1).
    t = Client("tcp", srv.sip_port)
    try:
        t.send(b"\r\n\r\n")
        t.s.settimeout(3)
        assert t.s.recv(16) == b"\r\n"
    finally:
        t.close()


def test_idle_connection_closed(t9server):
    srv = sip_server(t9server, ["--sip-idle-timeout=5"])
    t = Client("tcp", srv.sip_port, timeout=15)
    try:
        t.send(t.request("OPTIONS", f"sip:{REALM}", f"sip:{REALM}"))
        r = t.recv()
        assert r is not None and r.status == 200
        start = time.monotonic()
        assert t.closed(timeout=12)
        assert time.monotonic() - start >= 4
    finally:
        t.close()


def test_stun_binding_on_sip_udp_port(t9server):
    srv = sip_server(t9server)
    import os
    import struct
    tid = os.urandom(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(5)
        s.sendto(struct.pack("!HHI", 1, 0, 0x2112A442) + tid, ("127.0.0.1", srv.sip_port))
        d, _ = s.recvfrom(2048)
        t, ln, cookie = struct.unpack("!HHI", d[:8])
        assert t == 0x0101 and cookie == 0x2112A442 and d[8:20] == tid
        at, al, _, fam, xport = struct.unpack("!HHBBH", d[20:28])
        assert at == 0x0020 and fam == 1
        assert xport ^ 0x2112 == s.getsockname()[1]
        ip = bytes(a ^ b for a, b in zip(d[28:32], struct.pack("!I", 0x2112A442)))
        assert socket.inet_ntoa(ip) == "127.0.0.1"


def test_rport_received_on_challenge_and_ipv6(t9server):
    srv = sip_server(t9server, ["--sip-ip=::1"])
    (u, p), = make_users(srv, 1)
    for host in ("127.0.0.1", "::1"):
        c = Client("udp", srv.sip_port, host=host)
        try:
            c.send(c.request("REGISTER", f"sip:{REALM}", f"sip:{u}@{REALM}"))
            r = c.recv()
            assert r.status == 401
            via = r.get("via")
            assert f"received={host}" in via and f"rport={c.local[1]}" in via, via
            r, _ = c.register(u, p, REALM, contact=f"<sip:{u}@example.invalid>", expires=600)
            assert r.status == 200, r
        finally:
            c.close()
    for host in ("127.0.0.1", "::1"):
        c = Client("tcp", srv.sip_port, host=host)
        try:
            r, _ = c.register(u, p, REALM)
            assert r.status == 200 and len(r.all("contact")) == 1
        finally:
            c.close()


def make_cert(d):
    d.mkdir(exist_ok=True)
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(d / "key.pem"), "-out",
                    str(d / "cert.pem"), "-days", "2", "-subj", "/CN=t9phone-sip-test"],
                   check=True, capture_output=True, timeout=60)
    return d


def test_tls_register_and_limits(t9server, tmp_path):
    tls = make_cert(tmp_path / "tls")
    srv = sip_server(t9server, ["--sip-max-connections-per-ip=3"], tls=tls)
    (u, p), = make_users(srv, 1)
    ctx = ssl.create_default_context(cafile=str(tls / "cert.pem"))
    ctx.check_hostname = False
    c = Client("tls", srv.tls_port, tls_ctx=ctx)
    try:
        assert c.s.version() == "TLSv1.2"
        r, _ = c.register(u, p, REALM, contact=f"<sips:{u}@127.0.0.1:{c.local[1]}>", expires=600)
        assert r.status == 200, r
        assert "received=127.0.0.1" in r.get("via")
        # CRLF keep-alive over TLS.
        c.send(b"\r\n\r\n")
        c.s.settimeout(3)
        assert c.s.recv(16) == b"\r\n"
        r, _ = c.register(u, p, REALM)
        assert r.status == 200 and len(r.all("contact")) == 1
    finally:
        c.close()
    # More connections from one address than allowed: the extra one is closed.
    held = [socket.create_connection(("127.0.0.1", srv.sip_port), timeout=5) for _ in range(3)]
    try:
        time.sleep(0.2)
        extra = Client("tcp", srv.sip_port)
        try:
            assert extra.closed(timeout=5)
        finally:
            extra.close()
    finally:
        for h in held:
            h.close()
    # Once they are gone a new one works.
    deadline = time.monotonic() + 10
    ok = False
    while time.monotonic() < deadline and not ok:
        t = Client("tcp", srv.sip_port)
        try:
            t.send(t.request("OPTIONS", f"sip:{REALM}", f"sip:{REALM}"))
            r = t.recv(timeout=1)
            ok = r is not None and r.status == 200
        finally:
            t.close()
    assert ok
