"""TURN/STUN relay: coturn's own client tools through the real binary, plus a small
raw STUN client for the error answers the tools do not show.

Loopback only; every server is stopped by the t9server fixture (which also greps its
log for 127.0.0.1 and for every username registered with forbid()); every helper
process runs under a time limit and is killed at the end of its test.
"""
import base64
import hashlib
import hmac
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import time

import pytest

from conftest import free_port, run_t9

# build.sh installs coturn and openssl; a missing tool fails the tests that
# need it (never a skip that could pass for a result).
UCLIENT = shutil.which("turnutils_uclient") or "turnutils_uclient"
PEER = shutil.which("turnutils_peer") or "turnutils_peer"
STUNCLIENT = shutil.which("turnutils_stunclient") or "turnutils_stunclient"
OPENSSL = shutil.which("openssl") or "openssl"

REALM = "t9phone.local"
SECRET = "turn-test-secret"
MAGIC = 0x2112A442

# ----------------------------------------------------------------- raw STUN client


def stun_type(method, cls):
    return ((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2)
            | ((cls & 1) << 4) | ((cls & 2) << 7))


def attr(t, v):
    return struct.pack("!HH", t, len(v)) + v + b"\0" * ((4 - len(v) % 4) % 4)


def xor_addr(ip, port, tid):
    raw = socket.inet_aton(ip)
    x = bytes(a ^ b for a, b in zip(raw, struct.pack("!I", MAGIC)))
    return struct.pack("!BBH", 0, 1, port ^ (MAGIC >> 16)) + x


def build(method, cls, attrs, tid=None, key=None, fingerprint=False):
    tid = tid or os.urandom(12)
    body = b"".join(attr(t, v) for t, v in attrs)
    t = stun_type(method, cls)
    if key is not None:
        hdr = struct.pack("!HHI", t, len(body) + 24, MAGIC) + tid
        body += attr(0x0008, hmac.new(key, hdr + body, hashlib.sha1).digest())
    if fingerprint:
        hdr = struct.pack("!HHI", t, len(body) + 8, MAGIC) + tid
        crc = (__import__("zlib").crc32(hdr + body) ^ 0x5354554E) & 0xFFFFFFFF
        body += attr(0x8028, struct.pack("!I", crc))
    return struct.pack("!HHI", t, len(body), MAGIC) + tid + body


def parse(data):
    t, length, magic = struct.unpack("!HHI", data[:8])
    assert magic == MAGIC and 20 + length == len(data)
    tid = data[8:20]
    attrs = {}
    off = 20
    while off < len(data):
        at, al = struct.unpack("!HH", data[off:off + 4])
        attrs.setdefault(at, []).append(data[off + 4:off + 4 + al])
        off += 4 + al + (4 - al % 4) % 4
    method = (t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2)
    cls = ((t & 0x0010) >> 4) | ((t & 0x0100) >> 7)
    return method, cls, tid, attrs


def error_code(attrs):
    v = attrs.get(0x0009, [None])[0]
    return None if v is None else (v[2] & 7) * 100 + v[3]


def ltc_key(user, password, realm=REALM):
    return hashlib.md5(f"{user}:{realm}:{password}".encode()).digest()


def rest_credential(secret, expiry, name="alice", sep=":"):
    user = f"{expiry}{sep}{name}"
    pw = base64.b64encode(hmac.new(secret.encode(), user.encode(), hashlib.sha1).digest())
    return user, pw.decode()


class Client:
    """A UDP STUN client with a receive timeout and a bounded number of tries."""

    def __init__(self, port):
        self.addr = ("127.0.0.1", port)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(2)

    def close(self):
        self.s.close()

    def request(self, data):
        tid = data[8:20]
        for _ in range(3):
            self.s.sendto(data, self.addr)
            try:
                while True:
                    resp, _ = self.s.recvfrom(65536)
                    if resp[8:20] == tid:
                        return parse(resp)
            except socket.timeout:
                continue
        raise AssertionError("no answer from the TURN server")

    def challenge(self):
        """Nonce from an unauthenticated Allocate (401)."""
        _, cls, _, a = self.request(build(3, 0, [(0x0019, b"\x11\0\0\0")]))
        assert cls == 3 and error_code(a) == 401
        assert a[0x0014][0] == REALM.encode()
        return a[0x0015][0]

    def authed(self, method, attrs, user, key, nonce, tid=None):
        full = list(attrs) + [(0x0006, user.encode()), (0x0014, REALM.encode()),
                              (0x0015, nonce)]
        return self.request(build(method, 0, full, tid=tid, key=key))

    def allocate(self, user, key, extra=()):
        nonce = self.challenge()
        return self.authed(3, [(0x0019, b"\x11\0\0\0")] + list(extra), user, key, nonce), nonce


# ----------------------------------------------------------------- fixtures


def turn_args(tls_dir=None, extra=()):
    port = free_port()
    relay_lo = free_port()
    args = [f"--listening-port={port}", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
            f"--metrics-port={free_port()}",
            f"--min-port={relay_lo}", f"--max-port={min(relay_lo + 400, 65535)}",
            "--use-auth-secret", f"--static-auth-secret={SECRET}"]
    tls_port = free_port()
    args.append(f"--tls-listening-port={tls_port}")
    if tls_dir:
        args += [f"--cert={tls_dir}/cert.pem", f"--pkey={tls_dir}/key.pem"]
    return port, tls_port, args + list(extra)


def make_cert(d, kind="rsa", cn="t9phone-test"):
    d.mkdir(exist_ok=True)
    key = ["-newkey", "rsa:2048"] if kind == "rsa" else \
          ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    subprocess.run([OPENSSL, "req", "-x509", *key, "-nodes", "-keyout", str(d / "key.pem"),
                    "-out", str(d / "cert.pem"), "-days", "2", "-subj", f"/CN={cn}"],
                   check=True, capture_output=True, timeout=60)
    return d


@pytest.fixture
def peer():
    """turnutils_peer echoing on 127.0.0.1:P and P+1; yields P."""
    port = free_port(socket.SOCK_DGRAM, pair=True)
    p = subprocess.Popen(["timeout", "300", PEER, "-L", "127.0.0.1", "-p", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    yield port
    p.terminate()
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def uclient(port, peer_port, flags=(), creds=(), n=40, m=3, timeout=120):
    cmd = ["timeout", str(timeout), UCLIENT, *flags, "-p", str(port), "-e", "127.0.0.1",
           "-r", str(peer_port), "-n", str(n), "-m", str(m), "-z", "10", *creds, "127.0.0.1"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 10)
    return r.returncode, r.stdout + r.stderr


def lost_packets(out):
    m = re.search(r"Total lost packets (\d+)", out)
    assert m, "uclient printed no 'Total lost packets' line:\n" + out[-3000:]
    return int(m.group(1))


def sent_messages(out):
    m = re.findall(r"tot_send_msgs=(\d+), tot_recv_msgs=(\d+)", out)
    assert m, out[-3000:]
    return int(m[-1][0]), int(m[-1][1])


# ----------------------------------------------------------------- tests


def test_stunclient_gets_mapped_address(t9server):
    port, _, args = turn_args()
    t9server(args)
    r = subprocess.run(["timeout", "30", STUNCLIENT, "-p", str(port), "127.0.0.1"],
                       capture_output=True, text=True, timeout=40)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"UDP reflexive addr: 127\.0\.0\.1:\d+", r.stdout), r.stdout
    # And exactly our own port, seen from a socket we control.
    c = Client(port)
    try:
        method, cls, _, a = c.request(build(1, 0, [], fingerprint=True))
        assert (method, cls) == (1, 2)
        v = a[0x0020][0]
        mport = struct.unpack("!H", v[2:4])[0] ^ (MAGIC >> 16)
        mip = bytes(x ^ y for x, y in zip(v[4:8], struct.pack("!I", MAGIC)))
        assert (socket.inet_ntoa(mip), mport) == c.s.getsockname()
        assert a[0x8022][0] == b"T9phone"
        assert 0x8028 in a  # FINGERPRINT echoed because the request had one
    finally:
        c.close()


CASES = [
    ("udp-channels", []),
    ("udp-send", ["-s"]),
    ("tcp-channels", ["-t"]),
    ("tcp-send", ["-t", "-s"]),
    ("tls-channels", ["-t", "-S"]),
    ("tls-send", ["-t", "-S", "-s"]),
    ("udp-dont-fragment", ["-g"]),
    ("udp-padded-channels", ["-D"]),
]


@pytest.mark.parametrize("name,flags", CASES, ids=[c[0] for c in CASES])
def test_uclient_rest_credentials_no_loss(t9server, peer, tmp_path, name, flags):
    tls = make_cert(tmp_path / "tls") if "-S" in flags else None
    port, tls_port, args = turn_args(tls, ["--allow-loopback-peers"])
    srv = t9server(args)
    srv.forbid("alice")
    rc, out = uclient(tls_port if tls else port, peer, flags, ["-W", SECRET, "-u", "alice"])
    assert rc == 0, out[-3000:]
    assert lost_packets(out) == 0, out[-3000:]
    sent, recv = sent_messages(out)
    assert sent > 0 and sent == recv


def test_uclient_t9phone_user_credentials(t9server, peer):
    port, _, args = turn_args(extra=["--allow-loopback-peers"])
    srv = t9server(args)
    r = srv.cli("user", "add", "--email", "turn@example.org", "--nickname", "turner",
                input="correct horse battery staple\n")
    assert r.returncode == 0, r.stderr
    r = srv.cli("user", "sip", "turn@example.org", "--show-password")
    assert r.returncode == 0, r.stderr
    kv = dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)
    user, pw = kv["sip-username"], kv["sip-password"]
    srv.forbid(user, "turn@example.org", "turner")
    for flags in ([], ["-t"], ["-s"]):
        rc, out = uclient(port, peer, flags, ["-u", user, "-w", pw])
        assert rc == 0, out[-3000:]
        assert lost_packets(out) == 0, out[-3000:]
    # The same username with a wrong password is refused.
    c = Client(port)
    try:
        (_, cls, _, a), _ = c.allocate(user, ltc_key(user, pw + "x"))
        assert cls == 3 and error_code(a) == 401
    finally:
        c.close()


def test_wrong_password_and_expired_rest_refused(t9server, peer):
    port, _, args = turn_args(extra=["--allow-loopback-peers"])
    srv = t9server(args)
    srv.forbid("alice", "bob", "carol")
    c = Client(port)
    try:
        user, pw = rest_credential(SECRET, int(time.time()) + 3600)
        (_, cls, _, a), _ = c.allocate(user, ltc_key(user, pw + "x"))
        assert cls == 3 and error_code(a) == 401
        assert 0x0015 in a and 0x0014 in a  # a fresh challenge
        user, pw = rest_credential(SECRET, int(time.time()) - 10, "bob")
        (_, cls, _, a), _ = c.allocate(user, ltc_key(user, pw))
        assert cls == 3 and error_code(a) == 401
        user, pw = rest_credential("another-secret", int(time.time()) + 3600, "carol")
        (_, cls, _, a), _ = c.allocate(user, ltc_key(user, pw))
        assert cls == 3 and error_code(a) == 401
        # A valid one works, and its response is signed with the same key.
        user, pw = rest_credential(SECRET, int(time.time()) + 3600)
        (_, cls, _, a), _ = c.allocate(user, ltc_key(user, pw))
        assert cls == 2, a
        assert 0x0016 in a and 0x0020 in a and 0x0008 in a
        assert struct.unpack("!I", a[0x000D][0])[0] == 600
    finally:
        c.close()
    # uclient with a wrong password cannot allocate.
    rc, out = uclient(port, peer, [], ["-u", "alice", "-w", "wrong"], n=2, m=1, timeout=30)
    assert "Cannot complete Allocation" in out or "401" in out, out[-2000:]


def test_denied_peer_gets_403(t9server, peer):
    port, _, args = turn_args(extra=["--denied-peer-ip=203.0.113.0/24",
                                     "--allowed-peer-ip=203.0.113.77"])
    t9server(args)
    c = Client(port)
    try:
        user, pw = rest_credential(SECRET, int(time.time()) + 3600)
        key = ltc_key(user, pw)
        (_, cls, _, a), nonce = c.allocate(user, key)
        assert cls == 2

        def perm(ip):
            tid = os.urandom(12)
            _, cls, _, a = c.authed(8, [(0x0012, xor_addr(ip, 5000, tid))], user, key, nonce,
                                    tid=tid)
            return 200 if cls == 2 else error_code(a)

        # Loopback without allow-loopback-peers, private, link-local, metadata, multicast,
        # unspecified, our own address; denied-peer-ip; and allowed-peer-ip's exception.
        for ip in ["127.0.0.1", "10.1.2.3", "192.168.0.9", "172.20.0.1", "169.254.169.254",
                   "224.0.0.1", "0.0.0.0", "100.64.0.1", "203.0.113.5"]:
            assert perm(ip) == 403, ip
        assert perm("203.0.113.77") == 200
        assert perm("198.51.100.20") == 200
        # ChannelBind to a denied peer: 403 as well; a bad channel number: 400.
        tid = os.urandom(12)
        _, cls, _, a = c.authed(9, [(0x000C, b"\x40\x01\0\0"),
                                    (0x0012, xor_addr("10.0.0.1", 9, tid))],
                                user, key, nonce, tid=tid)
        assert cls == 3 and error_code(a) == 403
        tid = os.urandom(12)
        _, cls, _, a = c.authed(9, [(0x000C, b"\x30\x00\0\0"),
                                    (0x0012, xor_addr("198.51.100.20", 9, tid))],
                                user, key, nonce, tid=tid)
        assert cls == 3 and error_code(a) == 400
    finally:
        c.close()
    # coturn's client sees the 403 on its channel bind to the loopback peer.
    rc, out = uclient(port, peer, [], ["-W", SECRET, "-u", "alice"], n=2, m=1, timeout=30)
    assert "403" in out, out[-2000:]


def test_protocol_errors(t9server):
    port, _, args = turn_args(extra=["--user-quota=1"])
    t9server(args)
    c = Client(port)
    try:
        user, pw = rest_credential(SECRET, int(time.time()) + 3600)
        key = ltc_key(user, pw)
        nonce = c.challenge()
        # 420 for an unknown comprehension-required attribute, listing it.
        _, cls, _, a = c.authed(3, [(0x0019, b"\x11\0\0\0"), (0x0031, b"xxxx")], user, key,
                                nonce)
        assert cls == 3 and error_code(a) == 420 and a[0x000A][0] == b"\x00\x31"
        # 400 without REQUESTED-TRANSPORT, 442 for TCP, 440 for a bad family.
        _, cls, _, a = c.authed(3, [], user, key, nonce)
        assert error_code(a) == 400
        _, cls, _, a = c.authed(3, [(0x0019, b"\x06\0\0\0")], user, key, nonce)
        assert error_code(a) == 442
        _, cls, _, a = c.authed(3, [(0x0019, b"\x11\0\0\0"), (0x0017, b"\x07\0\0\0")], user,
                                key, nonce)
        assert error_code(a) == 440
        # 437: Refresh and CreatePermission before any allocation.
        _, cls, _, a = c.authed(4, [], user, key, nonce)
        assert error_code(a) == 437
        # 438: a nonce we never issued.
        _, cls, _, a = c.authed(3, [(0x0019, b"\x11\0\0\0")], user, key,
                                b"0000000000000000000000000000000")
        assert error_code(a) == 438 and 0x0015 in a
        # An allocation, its retransmission (same answer), then 437 for a new one.
        tid = os.urandom(12)
        _, cls, _, a1 = c.authed(3, [(0x0019, b"\x11\0\0\0")], user, key, nonce, tid=tid)
        assert cls == 2
        _, cls, _, a2 = c.authed(3, [(0x0019, b"\x11\0\0\0")], user, key, nonce, tid=tid)
        assert cls == 2 and a2[0x0016] == a1[0x0016]
        _, cls, _, a = c.authed(3, [(0x0019, b"\x11\0\0\0")], user, key, nonce)
        assert error_code(a) == 437
        # 441: another user on the same allocation.
        u2, p2 = rest_credential(SECRET, int(time.time()) + 3600, "bob")
        _, cls, _, a = c.authed(4, [], u2, ltc_key(u2, p2), nonce)
        assert error_code(a) == 441
        # 443: peer family mismatch (IPv6 peer on an IPv4 relay).
        v6 = struct.pack("!BBH", 0, 2, 1) + os.urandom(16)
        _, cls, _, a = c.authed(8, [(0x0012, v6)], user, key, nonce)
        assert error_code(a) == 443
        # 486: user-quota=1, a second allocation from another socket.
        d = Client(port)
        try:
            (_, cls, _, a), _ = d.allocate(user, key)
            assert cls == 3 and error_code(a) == 486
        finally:
            d.close()
        # EVEN-PORT with R: even port and a token; the token allocates port+1
        # (from another socket, as another user: quota is per user).
        e = Client(port)
        try:
            u3, p3 = rest_credential(SECRET, int(time.time()) + 3600, "carol")
            (_, cls, _, a), n3 = e.allocate(u3, ltc_key(u3, p3), [(0x0018, b"\x80")])
            assert cls == 2, error_code(a)
            rport = struct.unpack("!H", a[0x0016][0][2:4])[0] ^ (MAGIC >> 16)
            assert rport % 2 == 0
            token = a[0x0022][0]
            assert len(token) == 8
        finally:
            e.close()
        f = Client(port)
        try:
            u4, p4 = rest_credential(SECRET, int(time.time()) + 3600, "dave")
            (_, cls, _, a), _ = f.allocate(u4, ltc_key(u4, p4), [(0x0022, token)])
            assert cls == 2, error_code(a)
            assert struct.unpack("!H", a[0x0016][0][2:4])[0] ^ (MAGIC >> 16) == rport + 1
            g = Client(port)
            try:
                (_, cls, _, a), _ = g.allocate(u4, ltc_key(u4, p4), [(0x0022, token)])
                assert cls == 3 and error_code(a) in (486, 508)
            finally:
                g.close()
        finally:
            f.close()
        # Refresh with lifetime 0 deletes; then 437.
        _, cls, _, a = c.authed(4, [(0x000D, b"\0\0\0\0")], user, key, nonce)
        assert cls == 2
        _, cls, _, a = c.authed(4, [], user, key, nonce)
        assert error_code(a) == 437
    finally:
        c.close()


def test_stale_nonce_gets_438(t9server):
    port, _, args = turn_args(extra=["--stale-nonce=1"])
    t9server(args)
    c = Client(port)
    try:
        user, pw = rest_credential(SECRET, int(time.time()) + 3600)
        key = ltc_key(user, pw)
        nonce = c.challenge()
        time.sleep(2.5)  # let the nonce age past its 1 s lifetime (not a timing assertion)
        _, cls, _, a = c.authed(3, [(0x0019, b"\x11\0\0\0")], user, key, nonce)
        assert cls == 3 and error_code(a) == 438
        fresh = a[0x0015][0]
        _, cls, _, a = c.authed(3, [(0x0019, b"\x11\0\0\0")], user, key, fresh)
        assert cls == 2
    finally:
        c.close()


def test_spoofed_flood_creates_no_state(t9server):
    """coturn issue #1641: requests from spoofed sources must not create state. Every
    unauthenticated Allocate is answered from the request alone; the server then still
    serves, and no allocation exists for any of the sources."""
    port, _, args = turn_args(extra=["--total-quota=1"])
    srv = t9server(args)
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(50)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
            for _ in range(20):
                s.sendto(build(3, 0, [(0x0019, b"\x11\0\0\0")]), ("127.0.0.1", port))
                s.sendto(b"\x40\x00\x00\x04abcd", ("127.0.0.1", port))  # stray ChannelData
                s.sendto(os.urandom(64), ("127.0.0.1", port))           # junk
    finally:
        for s in socks:
            s.close()
    # total-quota=1: if any of those had created an allocation, this one would get 486.
    c = Client(port)
    try:
        user, pw = rest_credential(SECRET, int(time.time()) + 3600)
        (_, cls, _, a), _ = c.allocate(user, ltc_key(user, pw))
        assert cls == 2, error_code(a)
    finally:
        c.close()
    assert srv.proc.poll() is None


def test_tls_ec_key_and_sighup_reload(t9server, tmp_path, peer):
    tls = make_cert(tmp_path / "tls", "ec", cn="first")
    port, tls_port, args = turn_args(tls, ["--allow-loopback-peers"])
    srv = t9server(args)

    def served_cn():
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", tls_port), timeout=10) as s:
            with ctx.wrap_socket(s) as t:
                der = t.getpeercert(binary_form=True)
                assert t.version() == "TLSv1.2"
        return der

    first = served_cn()
    assert b"first" in first
    rc, out = uclient(tls_port, peer, ["-t", "-S"], ["-W", SECRET, "-u", "alice"], n=10, m=1)
    assert rc == 0 and lost_packets(out) == 0, out[-2000:]
    # New RSA certificate, SIGHUP: new connections get it.
    make_cert(tmp_path / "tls", "rsa", cn="second")
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and b"second" not in served_cn():
        time.sleep(0.1)
    assert b"second" in served_cn()
    assert "TLS certificate reloaded" in srv.log_text()
    # A broken file: the old certificate stays in use.
    (tmp_path / "tls" / "key.pem").write_text("garbage\n")
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and "not reloaded" not in srv.log_text():
        time.sleep(0.1)
    assert "not reloaded" in srv.log_text()
    assert b"second" in served_cn()


@pytest.mark.parametrize("key,needle", [
    ("--no-auth", "no-auth"),
    ("--pkey-pwd=x", "pkey-pwd"),
    ("--userdb=/tmp/x.db", "userdb"),
])
def test_unsupported_coturn_keys_refused(tmp_path, key, needle):
    _, _, args = turn_args()
    r = run_t9(["serve", f"--data-dir={tmp_path}/d", f"--portal-port={free_port()}", key] + args,
               timeout=30)
    assert r.returncode != 0
    assert needle in r.stderr and "not supported" in r.stderr


def test_ignored_coturn_key_is_named(t9server):
    _, _, args = turn_args(extra=["--verbose", "--log-file=/dev/null"])
    srv = t9server(args)
    text = srv.log_text()
    assert "'verbose'" in text and "'log-file'" in text


def test_coturn_config_file_turn_part_works(t9server, peer):
    """The TURN part of a coturn turnserver.conf, unchanged (plus loopback for tests)."""
    port = free_port()
    lo = free_port()
    conf = f"""# coturn style
listening-port={port}
listening-ip=127.0.0.1
relay-ip=127.0.0.1
min-port={lo}
max-port={min(lo + 300, 65535)}
fingerprint
lt-cred-mech
use-auth-secret
static-auth-secret=old-secret
static-auth-secret={SECRET}
rest-api-separator=:
realm={REALM}
total-quota=100
user-quota=12
max-bps=3000000
bps-capacity=0
stale-nonce=600
max-allocate-lifetime=3600
channel-lifetime=600
permission-lifetime=300
no-multicast-peers
allow-loopback-peers
denied-peer-ip=10.0.0.0-10.255.255.255
no-tls
no-dtls
no-cli
no-tlsv1
no-tlsv1_1
no-software-attribute
"""
    srv = t9server(config=conf)
    # The fixture's own --listening-port flag outranks the file: use the one in force.
    port = int([a for a in srv.args if a.startswith("--listening-port=")][-1].split("=", 1)[1])
    rc, out = uclient(port, peer, [], ["-W", SECRET, "-u", "alice"], n=20, m=2)
    assert rc == 0 and lost_packets(out) == 0, out[-2000:]
    c = Client(port)
    try:
        _, cls, _, a = c.request(build(1, 0, []))
        assert cls == 2 and 0x8022 not in a and 0x8028 in a
    finally:
        c.close()
    assert srv.proc.poll() is None


def _has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_relay_and_transport(t9server):
    port, _, args = turn_args(extra=["--listening-ip=::1", "--relay-ip=::1",
                                     "--allow-loopback-peers"])
    t9server(args)
    pport = free_port(socket.SOCK_DGRAM, pair=True)
    p = subprocess.Popen(["timeout", "300", PEER, "-L", "::1", "-p", str(pport)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        # IPv4 client asking for an IPv6 relay (REQUESTED-ADDRESS-FAMILY), and IPv6 clients.
        for server, flags in (("127.0.0.1", ["-x"]), ("::1", ["-x"]), ("::1", ["-x", "-t"])):
            cmd = ["timeout", "120", UCLIENT, *flags, "-p", str(port), "-e", "::1", "-r",
                   str(pport), "-n", "20", "-m", "2", "-z", "10", "-W", SECRET, "-u", "alice",
                   server]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=130)
            out = r.stdout + r.stderr
            assert r.returncode == 0, out[-2000:]
            assert lost_packets(out) == 0, out[-2000:]
    finally:
        p.terminate()
        p.wait(timeout=10)
    c = Client(port)
    try:
        user, pw = rest_credential(SECRET, int(time.time()) + 3600)
        (_, cls, _, a), _ = c.allocate(user, ltc_key(user, pw), [(0x0017, b"\x02\0\0\0")])
        assert cls == 2 and a[0x0016][0][1] == 2  # an IPv6 relayed address
    finally:
        c.close()


def test_max_bps_limits_an_allocation(t9server, peer):
    """max-bps=200 bytes/s per direction: a 160-byte-per-message run cannot get through
    whole (the exact count depends on timing, so only 'some were dropped' is checked)."""
    port, _, args = turn_args(extra=["--allow-loopback-peers", "--max-bps=200"])
    t9server(args)
    rc, out = uclient(port, peer, ["-l", "160"], ["-W", SECRET, "-u", "alice"], n=40, m=1)
    assert rc == 0, out[-2000:]
    assert lost_packets(out) > 0, out[-2000:]


def test_relay_paths_and_expiry(t9server):
    """Send/Data indications and ChannelData both ways with a Python peer; then the
    permission and channel lifetimes (1 s here) run out and the peer is cut off."""
    port, _, args = turn_args(extra=["--allow-loopback-peers", "--permission-lifetime=1",
                                     "--channel-lifetime=1", "--fingerprint"])
    t9server(args)
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(2)
    pip, pport = peer.getsockname()
    c = Client(port)
    try:
        user, pw = rest_credential(SECRET, int(time.time()) + 3600)
        key = ltc_key(user, pw)
        (_, cls, _, a), nonce = c.allocate(user, key)
        assert cls == 2
        v = a[0x0016][0]
        relay = (socket.inet_ntoa(bytes(x ^ y for x, y in zip(v[4:8], struct.pack("!I", MAGIC)))),
                 struct.unpack("!H", v[2:4])[0] ^ (MAGIC >> 16))
        # A peer without a permission is dropped. It sends from another address
        # (127.0.0.2) than the permitted one, before and after the permission exists,
        # so the check does not depend on whether the server reads its datagram before
        # or after the CreatePermission (two sockets' events come in no fixed order).
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stranger.bind(("127.0.0.2", 0))
        stranger.sendto(b"early", relay)
        tid = os.urandom(12)
        _, cls, _, a = c.authed(8, [(0x0012, xor_addr(pip, pport, tid))], user, key, nonce,
                                tid=tid)
        assert cls == 2
        stranger.sendto(b"stranger", relay)
        stranger.close()
        # Send indication -> peer.
        tid = os.urandom(12)
        c.s.sendto(build(6, 1, [(0x0012, xor_addr(pip, pport, tid)), (0x0013, b"hello")],
                         tid=tid), c.addr)
        data, src = peer.recvfrom(2048)
        assert data == b"hello" and src == relay
        # Peer -> Data indication with its address, FINGERPRINT (fingerprint key).
        peer.sendto(b"world!", relay)
        resp, _ = c.s.recvfrom(2048)
        method, cls, tid, a = parse(resp)
        assert (method, cls) == (7, 1) and a[0x0013][0] == b"world!" and 0x8028 in a
        assert a[0x0012][0] == xor_addr(pip, pport, tid)
        # ChannelBind, then ChannelData both ways.
        tid = os.urandom(12)
        _, cls, _, a = c.authed(9, [(0x000C, b"\x40\x00\0\0"),
                                    (0x0012, xor_addr(pip, pport, tid))], user, key, nonce,
                                tid=tid)
        assert cls == 2
        c.s.sendto(b"\x40\x00\x00\x03abc", c.addr)
        data, _ = peer.recvfrom(2048)
        assert data == b"abc"
        peer.sendto(b"xyz12", relay)
        resp, _ = c.s.recvfrom(2048)
        assert resp[:4] == b"\x40\x00\x00\x05" and resp[4:9] == b"xyz12"
        # Unknown channel: dropped silently; the server still answers Binding.
        c.s.sendto(b"\x40\x01\x00\x03abc", c.addr)
        _, cls, _, _ = c.request(build(1, 0, []))
        assert cls == 2
        # Let the permission and channel expire: the peer is cut off both ways.
        time.sleep(2.5)
        peer.sendto(b"late", relay)
        c.s.sendto(b"\x40\x00\x00\x04late", c.addr)
        c.s.settimeout(1)
        with pytest.raises(socket.timeout):
            while True:
                resp, _ = c.s.recvfrom(2048)
                if parse(resp)[0] != 1:
                    raise AssertionError("relayed after expiry: %r" % resp)
        peer.settimeout(1)
        with pytest.raises(socket.timeout):
            peer.recvfrom(2048)
    finally:
        c.close()
        peer.close()


@pytest.mark.release_only
def test_tls_and_relay_in_an_empty_root(tmp_path, peer):
    """FROM scratch: no /dev, no /etc. BearSSL gets its entropy from getentropy(), so the
    TLS handshake works; the relay works too."""
    from conftest import BIN
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy2(BIN, root / "t9phone")
    make_cert(tmp_path / "tls", "ec")
    shutil.copy2(tmp_path / "tls" / "cert.pem", root / "cert.pem")
    shutil.copy2(tmp_path / "tls" / "key.pem", root / "key.pem")
    port, tls_port, args = turn_args(None, ["--allow-loopback-peers", "--cert=/cert.pem",
                                            "--pkey=/key.pem"])
    log = open(tmp_path / "chroot.log", "wb")
    proc = subprocess.Popen([shutil.which("chroot") or "/usr/sbin/chroot", str(root), "/t9phone", "serve", "--data-dir=/data",
                             f"--portal-port={free_port()}"] + args, stderr=log, env={})
    try:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        version = None
        deadline = time.monotonic() + 15
        while version is None and time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "chroot.log").read_text()
            try:
                with socket.create_connection(("127.0.0.1", tls_port), timeout=5) as s:
                    with ctx.wrap_socket(s) as t:
                        version = t.version()
            except OSError:
                time.sleep(0.1)
        assert version == "TLSv1.2", (tmp_path / "chroot.log").read_text()
        rc, out = uclient(tls_port, peer, ["-t", "-S"], ["-W", SECRET, "-u", "alice"], n=10, m=1)
        assert rc == 0 and lost_packets(out) == 0, out[-2000:]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        log.close()
    text = (tmp_path / "chroot.log").read_text()
    assert "127.0.0.1" not in text and "alice" not in text
