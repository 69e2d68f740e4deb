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
