"""TURN hardening (issue 12): the peer policy through real Allocate and CreatePermission
requests (every IPv6 form that carries IPv4, the special-purpose ranges, allowed-peer-ip's
precedence), relay-to-relay between two allocations of one server, max-rest-ttl, and TLS
renegotiation refused (openssl s_client's `R` command).

CreatePermission sends nothing to the peer, so the public and documentation addresses
below are only judged, never contacted. Loopback only; every process is time-limited.
"""
import os
import socket
import struct
import sys
import subprocess
import time

import pytest

from test_turn import (MAGIC, OPENSSL, REALM, SECRET, Client, build, error_code,
                       ltc_key, make_cert, parse, rest_credential, turn_args, xor_addr,
                       _has_ipv6_loopback)


def policy_args(tls_dir=None, extra=()):
    """turn_args() without its --metrics-port, so that the fixture's own (which
    server.metrics() reads) is the one used."""
    port, tls_port, args = turn_args(tls_dir=tls_dir, extra=extra)
    return port, tls_port, [a for a in args if not a.startswith("--metrics-port=")]


def peer_refusals(srv):
    m = srv.metrics()
    return {k.split('reason="')[1].rstrip('"}'): int(v) for k, v in m.items()
            if k.startswith("t9phone_turn_peer_refusals_total{")}


def xor_addr6(ip, port, tid):
    raw = socket.inet_pton(socket.AF_INET6, ip)
    key = struct.pack("!I", MAGIC) + tid
    return struct.pack("!BBH", 0, 2, port ^ (MAGIC >> 16)) + bytes(a ^ b for a, b in zip(raw, key))


def xor_peer(ip, port, tid):
    return xor_addr6(ip, port, tid) if ":" in ip else xor_addr(ip, port, tid)


def relayed(a):
    """The XOR-RELAYED-ADDRESS of an Allocate answer as (ip, port)."""
    v = a[0x0016][0]
    port = struct.unpack("!H", v[2:4])[0] ^ (MAGIC >> 16)
    ip = socket.inet_ntoa(bytes(x ^ y for x, y in zip(v[4:8], struct.pack("!I", MAGIC))))
    return ip, port


class Session:
    """One authenticated allocation over UDP."""

    def __init__(self, port, family=1, user="alice", ttl=3600):
        self.c = Client(port)
        self.user, pw = rest_credential(SECRET, int(time.time()) + ttl, name=user)
        self.key = ltc_key(self.user, pw)
        extra = [(0x0017, bytes([family, 0, 0, 0]))] if family == 2 else []
        (_, cls, _, self.alloc_attrs), self.nonce = self.c.allocate(self.user, self.key, extra)
        assert cls == 2, error_code(self.alloc_attrs)

    def perm(self, ip, port=5000):
        tid = os.urandom(12)
        _, cls, _, a = self.c.authed(8, [(0x0012, xor_peer(ip, port, tid))], self.user,
                                     self.key, self.nonce, tid=tid)
        return 200 if cls == 2 else error_code(a)

    def close(self):
        self.c.close()


# Addresses refused by default (issue 12 and the security review's SSRF table).
DENIED_V4 = ["192.0.2.1", "198.51.100.1", "203.0.113.1", "192.88.99.1", "168.63.129.16",
             "127.0.0.1", "10.0.0.1", "169.254.169.254"]
DENIED_V6 = [
    "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",   # IPv4-mapped
    "::127.0.0.1", "::10.0.0.1", "::169.254.169.254", "::8.8.8.8",     # IPv4-compatible
    "::ffff:0:7f00:1", "::ffff:0:a00:1", "::ffff:0:808:808",           # IPv4-translated
    "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe",         # NAT64 well-known
    "64:ff9b:1::a00:1", "64:ff9b:1::808:808",                          # NAT64 local-use
    "2002:7f00:1::1", "2002:a00:1::1", "2002:a9fe:a9fe::1",            # 6to4
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",                            # Teredo
    "fec0::1", "2001:20::1", "2001:10::1", "2001:db8::1", "3fff::1", "2001:2::1",
    "::1", "fe80::1", "fd00:ec2::254",
]
ALLOWED_V4 = ["8.8.8.8", "93.184.216.34"]
ALLOWED_V6 = ["2001:4860:4860::8888", "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback")
def test_peer_forms_and_special_ranges(t9server):
    port, _, args = policy_args(extra=["--relay-ip=::1"])
    srv = t9server(args)
    s4, s6 = Session(port), Session(port, family=2)
    try:
        for ip in DENIED_V4:
            assert s4.perm(ip) == 403, ip
        for ip in DENIED_V6:
            assert s6.perm(ip) == 403, ip
        for ip in ALLOWED_V4:
            assert s4.perm(ip) == 200, ip
        for ip in ALLOWED_V6:
            assert s6.perm(ip) == 200, ip
    finally:
        s4.close()
        s6.close()
    # Every refusal is counted by reason: seven are the refused IPv6 forms themselves
    # (the others carry loopback or metadata, or are special-purpose ranges).
    r = peer_refusals(srv)
    assert sum(r.values()) == len(DENIED_V4) + len(DENIED_V6), r
    assert r["embedded"] == 7, r
    assert r["loopback"] >= 1 and r["never"] >= 1 and r["special"] >= 1, r


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback")
def test_allowed_peer_ip_reallows_with_coturn_precedence(t9server):
    port, _, args = policy_args(extra=[
        "--relay-ip=::1", "--allowed-peer-ip=192.0.2.0/24", "--allowed-peer-ip=::/96",
        "--allowed-peer-ip=64:ff9b:1::/48", "--allowed-peer-ip=2001::/32",
        "--allowed-peer-ip=fec0::/10", "--allowed-peer-ip=168.63.129.16",
        "--denied-peer-ip=192.0.2.7", "--denied-peer-ip=2002::/16"])
    t9server(args)
    s4, s6 = Session(port), Session(port, family=2)
    try:
        assert s4.perm("192.0.2.1") == 200
        assert s4.perm("192.0.2.7") == 200   # allowed and denied: allowed
        assert s4.perm("168.63.129.16") == 200
        assert s4.perm("198.51.100.1") == 403  # not re-allowed
        for ip in ["::8.8.8.8", "::10.0.0.1", "64:ff9b:1::a00:1",
                   "2001:0:4136:e378:8000:63bf:3fff:fdd2", "fec0::1"]:
            assert s6.perm(ip) == 200, ip
        # Never re-allowed: loopback and metadata inside the forms; and denied-peer-ip
        # on the 6to4 prefix itself.
        for ip in ["::127.0.0.1", "::169.254.169.254", "2002:808:808::1"]:
            assert s6.perm(ip) == 403, ip
    finally:
        s4.close()
        s6.close()


def test_tls_renegotiation_refused(t9server, tmp_path):
    d = make_cert(tmp_path / "tls")
    port, tls_port, args = policy_args(tls_dir=d)
    srv = t9server(args)
    # `R` on s_client's stdin asks for a renegotiation; the server answers the new
    # ClientHello with a no_renegotiation alert and OpenSSL gives up on it.
    p = subprocess.Popen([OPENSSL, "s_client", "-connect", f"127.0.0.1:{tls_port}", "-tls1_2"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        time.sleep(1.0)
        p.stdin.write(b"R\n")
        p.stdin.flush()
        out, _ = p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    text = out.decode(errors="replace")
    assert "BEGIN CERTIFICATE" in text, text[-2000:]  # the first handshake worked
    assert "RENEGOTIATING" in text, text[-2000:]
    assert "no renegotiation" in text, text[-2000:]
    assert srv.proc.poll() is None
    # The server still serves TLS afterwards.
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", tls_port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as t:
            assert t.version() == "TLSv1.2"


# ----------------------------------------------------------------- relay-to-relay


def counters(srv, family, label):
    """{label value: count} of one labelled counter family in /metrics."""
    out = {}
    for k, v in srv.metrics().items():
        if k.startswith(family + "{"):
            out[k.split(f'{label}="')[1].split('"')[0]] = int(v)
    return out


def sync(s):
    """A Binding round trip on the session's socket: the server has handled
    everything this socket sent before (one socket, one loop, in order)."""
    _, cls, _, _ = s.c.request(build(1, 0, []))
    assert cls == 2


def recv_data_indication(s):
    """The next Data indication on a session's socket (other messages skipped)."""
    for _ in range(20):
        resp, _ = s.c.s.recvfrom(4096)
        if resp[0] & 0xC0:  # ChannelData
            return "chan", resp[4:4 + struct.unpack("!H", resp[2:4])[0]], None
        method, cls, tid, a = parse(resp)
        if (method, cls) == (7, 1):
            return "data", a[0x0013][0], a[0x0012][0]
    raise AssertionError("no Data indication")


def relay_args(extra=()):
    """Relay on 127.0.0.1 without allow-loopback-peers, the listening port outside
    the relay range."""
    while True:
        port, tls_port, args = policy_args(extra=extra)
        lo = int(next(a for a in args if a.startswith("--min-port=")).split("=")[1])
        if not lo <= port <= lo + 400 and not lo <= tls_port <= lo + 400:
            return port, tls_port, lo, args


def test_relay_to_relay_between_two_allocations(t9server):
    port, _, lo, args = relay_args()
    srv = t9server(args)
    a, b = Session(port, user="alice"), Session(port, user="bob")
    victim = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    victim.bind(("127.0.0.1", 0))
    vport = victim.getsockname()[1]
    try:
        ra, rb = relayed(a.alloc_attrs), relayed(b.alloc_attrs)
        assert ra[0] == rb[0] == "127.0.0.1" and lo <= ra[1] <= lo + 400
        # Each creates a permission for the other's relayed address (loopback and own,
        # allowed only as a relayed transport address of this server).
        assert a.perm(*rb) == 200
        assert b.perm(*ra) == 200
        # Nothing else of the server's own: its TURN port, a port outside the range.
        assert a.perm("127.0.0.1", port) == 403
        if not lo <= vport <= lo + 400:
            assert a.perm("127.0.0.1", vport) == 403
        # A port of the relay range that no allocation holds (here another process's
        # socket inside the range) is not a relayed transport address.
        inside = None
        for p in range(lo + 200, lo + 400):
            try:
                inside = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                inside.bind(("127.0.0.1", p))
                break
            except OSError:
                inside.close()
                inside = None
        assert inside is not None
        try:
            assert a.perm(*inside.getsockname()) == 403
        finally:
            inside.close()
        # A -> B by Send indication: B gets a Data indication from A's relayed address.
        tid = os.urandom(12)
        a.c.s.sendto(build(6, 1, [(0x0012, xor_addr(*rb, tid)), (0x0013, b"a-to-b")],
                           tid=tid), a.c.addr)
        kind, data, _ = recv_data_indication(b)
        assert (kind, data) == ("data", b"a-to-b")
        # B -> A over a channel: A gets it.
        tid = os.urandom(12)
        _, cls, _, at = b.c.authed(9, [(0x000C, b"\x40\x00\0\0"), (0x0012, xor_addr(*ra, tid))],
                                   b.user, b.key, b.nonce, tid=tid)
        assert cls == 2, error_code(at)
        b.c.s.sendto(b"\x40\x00\x00\x06b-to-a", b.c.addr)
        kind, data, _ = recv_data_indication(a)
        assert (kind, data) == ("data", b"b-to-a")
        # A's permission for 127.0.0.1 (B's relayed address) does not reach a port
        # outside the relay range: the Send indication is dropped and counted.
        before = peer_refusals(srv)
        if not lo <= vport <= lo + 400:
            tid = os.urandom(12)
            a.c.s.sendto(build(6, 1, [(0x0012, xor_addr("127.0.0.1", vport, tid)),
                                      (0x0013, b"probe")], tid=tid), a.c.addr)
            sync(a)
            victim.settimeout(0.3)
            with pytest.raises(socket.timeout):
                victim.recvfrom(2048)
            after = peer_refusals(srv)
            assert sum(after.values()) == sum(before.values()) + 1, (before, after)
        # A's allocation deleted: its port is no longer a relayed transport address, so
        # B's channel to it stops relaying (counted) although B's permission lives on.
        _, cls, _, _ = a.c.authed(4, [(0x000D, b"\0\0\0\0")], a.user, a.key, a.nonce)
        assert cls == 2
        before = peer_refusals(srv)
        b.c.s.sendto(b"\x40\x00\x00\x04gone", b.c.addr)
        sync(b)
        after = peer_refusals(srv)
        assert sum(after.values()) == sum(before.values()) + 1, (before, after)
    finally:
        a.close()
        b.close()
        victim.close()


# ----------------------------------------------------------------- max-rest-ttl


def test_max_rest_ttl_refuses_far_expiry(t9server):
    port, _, args = policy_args(extra=["--max-rest-ttl=3600"])
    srv = t9server(args)
    ok = Session(port, ttl=600)  # within the bound
    ok.close()
    for expiry in (int(time.time()) + 7200, 999999999999999999):
        c = Client(port)
        try:
            user, pw = rest_credential(SECRET, expiry)
            (_, cls, _, a), _ = c.allocate(user, ltc_key(user, pw))
            assert cls == 3 and error_code(a) == 401, expiry
        finally:
            c.close()
    assert counters(srv, "t9phone_turn_policy_refusals_total", "cause")["rest_ttl"] == 2


def test_without_max_rest_ttl_far_expiry_works(t9server):
    """The default keeps coturn's behaviour."""
    port, _, args = policy_args()
    t9server(args)
    c = Client(port)
    try:
        user, pw = rest_credential(SECRET, 999999999999999999)
        (_, cls, _, a), _ = c.allocate(user, ltc_key(user, pw))
        assert cls == 2, error_code(a)
    finally:
        c.close()


# ----------------------------------------------------------------- send errors


def test_send_error_counted_and_allocation_keeps_relaying(t9server):
    """A datagram to the broadcast address fails in the kernel (EACCES: the relay
    socket has no SO_BROADCAST; nothing leaves the host); the same allocation then
    relays to its other peer both ways."""
    port, _, args = policy_args(extra=["--allow-loopback-peers",
                                       "--allowed-peer-ip=255.255.255.255"])
    srv = t9server(args)
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(2)
    pip, pport = peer.getsockname()
    s = Session(port)
    try:
        relay = relayed(s.alloc_attrs)
        assert s.perm("255.255.255.255", 9) == 200
        assert s.perm(pip, pport) == 200
        for i in range(3):
            tid = os.urandom(12)
            s.c.s.sendto(build(6, 1, [(0x0012, xor_addr("255.255.255.255", 9, tid)),
                                      (0x0013, b"lost")], tid=tid), s.c.addr)
        sync(s)
        errs = counters(srv, "t9phone_turn_send_errors_total", "error")
        assert sum(errs.values()) == 3, errs
        assert errs["eacces"] == 3, errs
        tid = os.urandom(12)
        s.c.s.sendto(build(6, 1, [(0x0012, xor_addr(pip, pport, tid)), (0x0013, b"still")],
                           tid=tid), s.c.addr)
        data, src = peer.recvfrom(2048)
        assert data == b"still" and src == relay
        peer.sendto(b"back", relay)
        kind, data, _ = recv_data_indication(s)
        assert data == b"back"
    finally:
        s.close()
        peer.close()


# ----------------------------------------------------------------- channels


def chan_bind(s, num, ip, port):
    tid = os.urandom(12)
    _, cls, _, a = s.c.authed(9, [(0x000C, struct.pack("!HH", num, 0)),
                                  (0x0012, xor_peer(ip, port, tid))],
                              s.user, s.key, s.nonce, tid=tid)
    return 200 if cls == 2 else error_code(a)


def test_channel_numbers_rfc8656_range_and_hold(t9server):
    port, _, args = policy_args(extra=["--channel-lifetime=1"])
    args = [x for x in args if x != "--rfc5766-channel-numbers"]
    srv = t9server(args)
    s = Session(port)
    try:
        assert chan_bind(s, 0x3FFF, "93.184.216.1", 5000) == 400
        assert chan_bind(s, 0x5000, "93.184.216.1", 5000) == 400
        assert chan_bind(s, 0x7FFF, "93.184.216.1", 5000) == 400
        assert chan_bind(s, 0x4FFF, "93.184.216.1", 5000) == 200
        assert chan_bind(s, 0x4000, "93.184.216.2", 5000) == 200
        # Live: the number or the peer in another binding.
        assert chan_bind(s, 0x4000, "93.184.216.3", 5000) == 400
        assert chan_bind(s, 0x4001, "93.184.216.2", 5000) == 400
        time.sleep(2.5)  # both bindings expired (lifetime 1 s), the 5-minute hold runs
        assert chan_bind(s, 0x4000, "93.184.216.3", 5000) == 400
        assert chan_bind(s, 0x4001, "93.184.216.2", 5000) == 400
        assert chan_bind(s, 0x4000, "93.184.216.2", 5000) == 200  # the same pair again
        assert chan_bind(s, 0x4002, "93.184.216.4", 5000) == 200  # new number, new peer
    finally:
        s.close()
    c = counters(srv, "t9phone_turn_policy_refusals_total", "cause")
    assert c["channel_range"] == 3 and c["channel_held"] == 2, c


def test_channel_numbers_rfc5766_key(t9server):
    port, _, args = policy_args()  # turn_args() gives --rfc5766-channel-numbers
    assert "--rfc5766-channel-numbers" in args
    t9server(args)
    s = Session(port)
    try:
        assert chan_bind(s, 0x7FFF, "93.184.216.1", 5000) == 200
        assert chan_bind(s, 0x5000, "93.184.216.2", 5000) == 200
        assert chan_bind(s, 0x8000, "93.184.216.3", 5000) == 400
    finally:
        s.close()


# ----------------------------------------------------------------- EVEN-PORT


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_even_port_reservations_bounded(t9server):
    """Security review M5: reservations count against user-quota, go with the
    allocation that made them, and one user cannot pin sockets by Allocate(R)+delete."""
    port, _, args = policy_args(extra=["--user-quota=2"])
    srv = t9server(args)
    s = Session(port, user="carol")
    s.c.close()
    # Allocate with EVEN-PORT R: an even port and a token for port+1.
    c = Client(port)
    user, pw = rest_credential(SECRET, int(time.time()) + 3600, "carol")
    key = ltc_key(user, pw)
    try:
        (_, cls, _, a), nonce = c.allocate(user, key, [(0x0018, b"\x80")])
        # carol holds one allocation already: with the reservation that is 3 > 2.
        assert cls == 3 and error_code(a) == 486
    finally:
        c.close()
    assert counters(srv, "t9phone_turn_policy_refusals_total", "cause")["reservation_quota"] == 1
    dave_user, dave_pw = rest_credential(SECRET, int(time.time()) + 3600, "dave")
    dave_key = ltc_key(dave_user, dave_pw)
    c = Client(port)
    try:
        (_, cls, _, a), nonce = c.allocate(dave_user, dave_key, [(0x0018, b"\x80")])
        assert cls == 2, error_code(a)
        rport = relayed(a)[1]
        assert rport % 2 == 0
        token = a[0x0022][0]
        assert srv.metrics()["t9phone_turn_reservations"] == 1
        # dave is at his quota (1 allocation + 1 reservation).
        d = Client(port)
        try:
            (_, cls, _, a2), _ = d.allocate(dave_user, dave_key)
            assert cls == 3 and error_code(a2) == 486
        finally:
            d.close()
        # The token, used by another user, allocates port+1; the reservation is gone.
        e = Client(port)
        try:
            eu, ep = rest_credential(SECRET, int(time.time()) + 3600, "erin")
            (_, cls, _, a3), _ = e.allocate(eu, ltc_key(eu, ep), [(0x0022, token)])
            assert cls == 2 and relayed(a3)[1] == rport + 1
        finally:
            e.close()
        assert srv.metrics()["t9phone_turn_reservations"] == 0
        # Delete dave's allocation (Refresh 0).
        _, cls, _, _ = c.authed(4, [(0x000D, b"\0\0\0\0")], dave_user, dave_key, nonce)
        assert cls == 2
    finally:
        c.close()
    # M5: Allocate(R) then delete, 200 times by one user: the reservation goes with
    # each allocation, so nothing is pinned.
    fds_before = open_fds(srv.proc.pid)
    c = Client(port)
    try:
        nonce = c.challenge()
        for i in range(200):
            _, cls, _, a = c.authed(3, [(0x0019, b"\x11\0\0\0"), (0x0018, b"\x80")],
                                    dave_user, dave_key, nonce)
            assert cls == 2, (i, error_code(a))
            _, cls, _, _ = c.authed(4, [(0x000D, b"\0\0\0\0")], dave_user, dave_key, nonce)
            assert cls == 2
    finally:
        c.close()
    assert srv.metrics()["t9phone_turn_reservations"] == 0
    assert open_fds(srv.proc.pid) <= fds_before + 4


def test_relay_to_relay_behind_nat(t9server):
    """external-ip=public/private: the clients see public relayed addresses and name
    each other by them; the server delivers between its own allocations directly
    (no NAT hairpin needed) and shows the public address as the peer."""
    port, _, lo, args = relay_args(extra=["--external-ip=203.0.113.9/127.0.0.1"])
    t9server(args)
    a, b = Session(port, user="alice"), Session(port, user="bob")
    try:
        ra, rb = relayed(a.alloc_attrs), relayed(b.alloc_attrs)
        assert ra[0] == rb[0] == "203.0.113.9"
        assert a.perm(*rb) == 200 and b.perm(*ra) == 200
        assert a.perm("203.0.113.9", port) == 403  # the public address, not a relay port
        tid = os.urandom(12)
        a.c.s.sendto(build(6, 1, [(0x0012, xor_addr(*rb, tid)), (0x0013, b"via-nat")],
                           tid=tid), a.c.addr)
        resp, _ = b.c.s.recvfrom(4096)
        method, cls, tid2, at = parse(resp)
        assert (method, cls) == (7, 1) and at[0x0013][0] == b"via-nat"
        assert at[0x0012][0] == xor_addr(*ra, tid2)  # from A's public relayed address
    finally:
        a.close()
        b.close()


# ----------------------------------------------------------------- own addresses (netns)

SECOND = "93.184.216.77"  # the host's second address, inside a private network namespace


def _netns_main(data_dir, mode):
    """Runs inside `unshare -n` (see run_in_netns): a server listening and relaying
    on 127.0.0.1 only, in a namespace whose only interface is loopback, which also
    carries SECOND. Prints one JSON line."""
    import json
    from conftest import Server
    extra = ["--allow-loopback-peers"] if mode == "unreach" else []
    port, _, args = policy_args(extra=extra)
    os.makedirs(data_dir, exist_ok=True)
    srv = Server(data_dir, args)
    out = {}
    try:
        s = Session(port)
        try:
            if mode == "own":
                out["second"] = s.perm(SECOND)
                out["neighbour"] = s.perm("93.184.216.78")
            else:
                # No route out of the namespace: sending to a public peer fails with
                # ENETUNREACH; the same allocation still relays to a loopback peer.
                peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                peer.bind(("127.0.0.1", 0))
                peer.settimeout(2)
                pip, pport = peer.getsockname()
                out["perms"] = [s.perm("93.184.216.99", 9), s.perm(pip, pport)]
                for i in range(2):
                    tid = os.urandom(12)
                    s.c.s.sendto(build(6, 1, [(0x0012, xor_addr("93.184.216.99", 9, tid)),
                                              (0x0013, b"lost")], tid=tid), s.c.addr)
                sync(s)
                out["errors"] = counters(srv, "t9phone_turn_send_errors_total", "error")
                tid = os.urandom(12)
                s.c.s.sendto(build(6, 1, [(0x0012, xor_addr(pip, pport, tid)),
                                          (0x0013, b"still")], tid=tid), s.c.addr)
                out["delivered"] = peer.recvfrom(2048)[0].decode()
                peer.close()
        finally:
            s.close()
        out["refusals"] = peer_refusals(srv)
        out["log"] = srv.log_text()[-2000:]
    finally:
        srv.stop()
    print("RESULT " + json.dumps(out))


def run_in_netns(tmp_path, mode):
    """_netns_main(mode) in a network namespace of its own (nothing leaves it)."""
    import json
    here = os.path.dirname(os.path.abspath(__file__))
    code = ("import sys; sys.path.insert(0, %r); import test_turn_policy as t; "
            "t._netns_main(%r, %r)" % (here, str(tmp_path / "srv"), mode))
    script = ("ip link set lo up && ip addr add %s/32 dev lo && exec %s -c \"%s\""
              % (SECOND, sys.executable, code))
    r = subprocess.run(["timeout", "120", "unshare", "-n", "--", "sh", "-c", script],
                       capture_output=True, text=True, timeout=130)
    line = [x for x in r.stdout.splitlines() if x.startswith("RESULT ")]
    assert r.returncode == 0 and line, (r.stdout + r.stderr)[-3000:]
    return json.loads(line[0][7:])


def test_own_addresses_are_every_interface_address(tmp_path):
    """Security review M2: with listening-ip and relay-ip naming 127.0.0.1 only, the
    host's other address is still refused as "own" (it comes from the interface list),
    while its public neighbour is allowed."""
    res = run_in_netns(tmp_path, "own")
    assert res["second"] == 403, res
    assert res["neighbour"] == 200, res
    assert res["refusals"]["own"] == 1, res
    assert SECOND not in res["log"]  # counters only, never an address


def test_unreachable_peer_counted_and_allocation_keeps_relaying(tmp_path):
    """The e2e lab's pitfall (coturn 4.6.1 stops relaying for an allocation after
    `udp send: Network is unreachable`): here the error is counted and the allocation
    goes on relaying to its other peer."""
    res = run_in_netns(tmp_path, "unreach")
    assert res["perms"] == [200, 200], res
    assert res["errors"]["enetunreach"] == 2 and sum(res["errors"].values()) == 2, res
    assert res["delivered"] == "still", res
