"""TURN over TCP and TLS against the connection layer's limits (net/conn.h): real
deadlines that a trickle of bytes does not re-arm, the TLS handshake limit, a cap per
source address, the short slot of connections that never authenticated, back-pressure
against a client that never reads, and the file-descriptor budget at start.

Deadlines are set to a few seconds by their keys; every check waits with a generous
upper bound and never asserts that something happened quickly. Loopback only; every
server is stopped by the t9server fixture, which also checks its log for addresses.
"""
import os
import resource
import socket
import ssl
import struct
import subprocess
import time
import urllib.request

from conftest import BIN, free_port, sip_flags
from test_turn import (MAGIC, REALM, SECRET, build, error_code, ltc_key, make_cert, parse,
                       rest_credential, turn_args)

BINDING = None  # built per use: a fresh transaction id each time


def binding():
    return build(1, 0, [])


def read_frame(s, timeout=5):
    """One STUN message from a stream, or None when the server closed it."""
    s.settimeout(timeout)
    buf = b""
    try:
        while len(buf) < 20:
            chunk = s.recv(20 - len(buf))
            if not chunk:
                return None
            buf += chunk
        length = struct.unpack("!H", buf[2:4])[0]
        while len(buf) < 20 + length:
            chunk = s.recv(20 + length - len(buf))
            if not chunk:
                return None
            buf += chunk
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        return None
    return parse(buf)


def closed_within(s, seconds, trickle=None):
    """True when the server closes s within `seconds`; trickle() is called about once a
    second meanwhile (it sends one more byte) and may itself find the socket closed."""
    deadline = time.monotonic() + seconds
    s.settimeout(1.0)
    while time.monotonic() < deadline:
        try:
            data = s.recv(4096)
            if not data:
                return True
        except socket.timeout:
            pass
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
            return True
        if trickle:
            try:
                trickle()
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
                return True
    return False


def tcp(port, src="127.0.0.1"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(src, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def tls(port, src="127.0.0.1"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(tcp(port, src), server_hostname="t9phone-test")


def stream_args(tmp_path=None, extra=()):
    port, tls_port, args = turn_args(make_cert(tmp_path / "tls") if tmp_path else None)
    return port, tls_port, args + list(extra)


def trickler(s, data):
    """A function sending the next byte of data on each call."""
    state = {"i": 0}

    def step():
        if state["i"] < len(data):
            s.send(data[state["i"]:state["i"] + 1])
            state["i"] += 1
    return step


# ----------------------------------------------------------------- deadlines


def test_tcp_trickle_is_closed_at_the_frame_deadline(t9server):
    """One byte a second of a Binding request: with turn-frame-timeout=2 the connection
    is closed although bytes keep coming; a client sending whole frames is answered."""
    port, _, args = stream_args(extra=["--turn-frame-timeout=2", "--turn-idle-timeout=120",
                                       "--turn-unauthenticated-timeout=120"])
    t9server(args)
    quick = tcp(port)
    slow = tcp(port)
    try:
        quick.sendall(binding())
        m = read_frame(quick)
        assert m and m[:2] == (1, 2)
        step = trickler(slow, binding())
        step()
        assert closed_within(slow, 15, step), "a trickling TCP client kept its slot"
        # The whole-frame client is still served.
        quick.sendall(binding())
        m = read_frame(quick)
        assert m and m[:2] == (1, 2)
    finally:
        quick.close()
        slow.close()


def test_tls_trickle_is_closed_at_the_frame_deadline(t9server, tmp_path):
    port, tls_port, args = stream_args(tmp_path, ["--turn-frame-timeout=2",
                                                  "--turn-idle-timeout=120",
                                                  "--turn-unauthenticated-timeout=120"])
    t9server(args)
    quick = tls(tls_port)
    slow = tls(tls_port)
    try:
        quick.sendall(binding())
        m = read_frame(quick)
        assert m and m[:2] == (1, 2)
        step = trickler(slow, binding())
        step()
        assert closed_within(slow, 15, step), "a trickling TLS client kept its slot"
        quick.sendall(binding())
        m = read_frame(quick)
        assert m and m[:2] == (1, 2)
    finally:
        quick.close()
        slow.close()


def test_tls_handshake_has_its_own_limit(t9server, tmp_path):
    """A client that opens TCP to the TLS port and never finishes the handshake (it
    trickles a ClientHello) is closed at turn-handshake-timeout."""
    port, tls_port, args = stream_args(tmp_path, ["--turn-handshake-timeout=2",
                                                  "--turn-frame-timeout=120",
                                                  "--turn-idle-timeout=120",
                                                  "--turn-unauthenticated-timeout=120"])
    t9server(args)
    s = tcp(tls_port)
    try:
        # The start of a TLS 1.2 ClientHello record, one byte a second.
        step = trickler(s, bytes([0x16, 0x03, 0x01, 0x00, 0xF0, 0x01, 0x00, 0x00, 0xEC,
                                  0x03, 0x03] + [0x42] * 32))
        step()
        assert closed_within(s, 15, step), "an unfinished TLS handshake kept its slot"
    finally:
        s.close()


def test_unauthenticated_connections_get_a_short_slot(t9server):
    """Binding requests answered, but nothing authenticated: closed at
    turn-unauthenticated-timeout=2. A client that authenticated an Allocate keeps
    its connection meanwhile."""
    port, _, args = stream_args(extra=["--turn-unauthenticated-timeout=2",
                                       "--turn-idle-timeout=120", "--turn-frame-timeout=120"])
    t9server(args)
    stranger = tcp(port)
    client = tcp(port)
    try:
        user, pw = rest_credential(SECRET, int(time.time()) + 3600)
        key = ltc_key(user, pw)
        client.sendall(build(3, 0, [(0x0019, b"\x11\0\0\0")]))
        m = read_frame(client)
        assert m and m[1] == 3 and error_code(m[3]) == 401
        nonce = m[3][0x0015][0]
        client.sendall(build(3, 0, [(0x0019, b"\x11\0\0\0"), (0x0006, user.encode()),
                                    (0x0014, REALM.encode()), (0x0015, nonce)], key=key))
        m = read_frame(client)
        assert m and m[:2] == (3, 2), "authenticated Allocate over TCP failed"

        def ping():
            stranger.sendall(binding())
        assert closed_within(stranger, 15, ping), "an unauthenticated client kept its slot"
        # Well past the short deadline, the authenticated client is still answered.
        client.sendall(binding())
        m = read_frame(client)
        assert m and m[:2] == (1, 2)
    finally:
        stranger.close()
        client.close()


def test_per_source_cap(t9server):
    """turn-max-connections-per-ip=3: a fourth connection from 127.0.0.1 is closed at
    once, while another source address (127.0.0.2) is still served."""
    port, _, args = stream_args(extra=["--turn-max-connections-per-ip=3",
                                       "--turn-unauthenticated-timeout=120",
                                       "--turn-idle-timeout=120"])
    t9server(args)
    held = [tcp(port) for _ in range(3)]
    try:
        for s in held:  # each is answered, so each was accepted and counted
            s.sendall(binding())
            m = read_frame(s)
            assert m and m[:2] == (1, 2)
        extra = tcp(port)
        try:
            assert closed_within(extra, 10), "a fourth connection from one address stayed open"
        finally:
            extra.close()
        other = tcp(port, src="127.0.0.2")
        try:
            other.sendall(binding())
            m = read_frame(other)
            assert m and m[:2] == (1, 2), "another source address was refused too"
        finally:
            other.close()
        # The three first ones are untouched.
        held[0].sendall(binding())
        m = read_frame(held[0])
        assert m and m[:2] == (1, 2)
    finally:
        for s in held:
            s.close()


# ----------------------------------------------------------------- back-pressure


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_client_that_never_reads_keeps_server_memory_flat(t9server):
    """A TCP client pipelines Binding requests for several seconds and never reads an
    answer: the server stops reading it (back-pressure), its memory stays flat, and it
    keeps answering other clients."""
    port, _, args = stream_args(extra=["--turn-unauthenticated-timeout=120",
                                       "--turn-idle-timeout=120", "--turn-frame-timeout=120"])
    srv = t9server(args)
    s = tcp(port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setblocking(False)
    batch = b"".join(binding() for _ in range(500))
    sent = 0  # bytes of the endless stream of batches; a partial send resumes mid-batch

    def flood(seconds):
        nonlocal sent
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            off = sent % len(batch)
            try:
                sent += s.send(batch[off:])
            except BlockingIOError:
                time.sleep(0.01)
    try:
        flood(1.0)
        before = rss_kib(srv.proc.pid)
        flood(5.0)
        after = rss_kib(srv.proc.pid)
        assert sent > 0
        assert after - before < 16 * 1024, f"server RSS grew from {before} to {after} KiB"
        # Other clients are still served while the flooder is held back.
        other = tcp(port)
        try:
            other.sendall(binding())
            m = read_frame(other)
            assert m and m[:2] == (1, 2)
        finally:
            other.close()
        assert srv.proc.poll() is None
    finally:
        s.close()


# ----------------------------------------------------------------- descriptors


def start_limited(tmp_path, nofile, extra):
    tmp_path.mkdir(parents=True, exist_ok=True)
    data = tmp_path / "data"
    port = free_port()
    portal = free_port()
    args = [BIN, "serve", f"--data-dir={data}", f"--portal-port={portal}",
            "--listening-ip=127.0.0.1", f"--listening-port={port}",
            f"--tls-listening-port={free_port()}", f"--metrics-port={free_port()}",
            *sip_flags(), *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith("T9PHONE_")}

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                         preexec_fn=limit, text=True)
    p.portal_port = portal
    return p


def wait_healthy(p, timeout=15):
    """Until the limited server answers /healthz (it started) or exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{p.portal_port}/healthz",
                                        timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def test_start_refused_when_descriptors_do_not_fit(tmp_path):
    """Under a hard limit of 256 descriptors, the default caps (1024 TCP/TLS
    connections, 16384 relay ports, the portal's 512) cannot fit: serve refuses to
    start and names the keys; with caps that fit, it starts."""
    p = start_limited(tmp_path / "a", 256, [])
    try:
        out, _ = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode != 0, out
    assert "turn-max-connections (1024)" in out, out
    assert "min-port..max-port (16384)" in out, out
    assert "256" in out, out
    assert "127.0.0.1" not in out

    lo = free_port()
    p = start_limited(tmp_path / "b", 256, ["--turn-max-connections=50",
                                            "--portal-max-connections=20",
                                            "--sip-max-connections=20",
                                            f"--min-port={lo}", f"--max-port={lo + 49}"])
    try:
        assert wait_healthy(p), p.communicate(timeout=10)[0]
    finally:
        p.terminate()
        out, _ = p.communicate(timeout=20)
    assert p.returncode == 0, out
