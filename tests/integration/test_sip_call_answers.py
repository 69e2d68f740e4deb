"""The proxy's own answers through the real binary, from a small raw SIP agent
over UDP (and TCP where the transport matters): 404 for an unknown code and
for a stranger's code, byte for byte the same less tags and branches; 403 for
a From that is not the authenticated user; 483 at Max-Forwards 0; 482 for a
request that loops back; the live-transaction gauge back at 0 afterwards, and
nothing of the calls in the log, the database or its WAL.
"""
import hashlib
import os
import re
import socket
import time

import pytest

from test_sip_call import (REALM, group, no_transactions_left, server, user, wait_bindings,
                           wait_metric)


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


class Agent:
    """A raw SIP endpoint on one UDP socket or TCP connection to the server."""

    def __init__(self, port, transport="udp"):
        self.transport = transport
        if transport == "udp":
            self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.s.bind(("127.0.0.1", 0))
            self.s.connect(("127.0.0.1", port))
        else:
            self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.local = self.s.getsockname()
        self.buf = b""
        self.tag = os.urandom(4).hex()

    def close(self):
        self.s.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data) if self.transport != "udp" else self.s.send(data)

    def recv(self, timeout=5.0):
        """The next whole message (bytes), or None in time."""
        deadline = time.monotonic() + timeout
        while True:
            if self.transport == "udp":
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.s.settimeout(left)
                try:
                    return self.s.recv(65536)
                except socket.timeout:
                    return None
            m = re.search(rb"\r\n\r\n", self.buf)
            if m:
                cl = re.search(rb"(?im)^content-length\s*:\s*(\d+)", self.buf[:m.end()])
                n = m.end() + (int(cl.group(1)) if cl else 0)
                if len(self.buf) >= n:
                    msg, self.buf = self.buf[:n], self.buf[n:]
                    return msg
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return None
            if not d:
                return None
            self.buf += d

    def final(self, timeout=5.0):
        """The next final response (provisional ones skipped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.recv(deadline - time.monotonic())
            if m is None:
                return None
            if m.startswith(b"SIP/2.0 ") and int(m[8:11]) >= 200:
                return m
        return None

    def via(self, branch):
        return (f"Via: SIP/2.0/{self.transport.upper()} {self.local[0]}:{self.local[1]}"
                f";branch={branch};rport")

    def invite(self, ruri, from_user, to_user, callid, branch, cseq=1, extra=()):
        lines = [f"INVITE {ruri} SIP/2.0", self.via(branch), "Max-Forwards: 70",
                 f"From: <sip:{from_user}@{REALM}>;tag={self.tag}",
                 f"To: <sip:{to_user}@{REALM}>", f"Call-ID: {callid}",
                 f"CSeq: {cseq} INVITE",
                 f"Contact: <sip:{from_user}@{self.local[0]}:{self.local[1]}>"]
        lines += list(extra)
        lines.append("Content-Length: 0")
        return "\r\n".join(lines) + "\r\n\r\n"

    def ack(self, ruri, from_user, resp, callid, branch, cseq=1):
        to = re.search(rb"(?m)^To: (.*)\r$", resp).group(1).decode()
        return (f"ACK {ruri} SIP/2.0\r\n{self.via(branch)}\r\nMax-Forwards: 70\r\n"
                f"From: <sip:{from_user}@{REALM}>;tag={self.tag}\r\nTo: {to}\r\n"
                f"Call-ID: {callid}\r\nCSeq: {cseq} ACK\r\nContent-Length: 0\r\n\r\n")

    def call(self, u, target, from_user=None, extra=()):
        """INVITE sip:target@realm as u with digest: the final answer after
        the 407 (both ACKed)."""
        ruri = f"sip:{target}@{REALM}"
        fu = from_user or u.sip
        callid = os.urandom(8).hex() + "@t9test"
        b1 = "z9hG4bK" + os.urandom(6).hex()
        self.send(self.invite(ruri, fu, target, callid, b1, 1, extra))
        r = self.final()
        assert r is not None and r.startswith(b"SIP/2.0 407"), r
        self.send(self.ack(ruri, fu, r, callid, b1, 1))
        ch = dict(re.findall(r'(\w+)="?([^",]*)"?',
                             re.search(rb"(?m)^Proxy-Authenticate: (.*)\r$", r).group(1).decode()))
        ha1 = md5(f"{u.sip}:{REALM}:{u.pw}")
        resp = md5(f"{ha1}:{ch['nonce']}:00000001:0a4f113b:auth:{md5('INVITE:' + ruri)}")
        auth = (f'Proxy-Authorization: Digest username="{u.sip}", realm="{REALM}", '
                f'nonce="{ch["nonce"]}", uri="{ruri}", response="{resp}", algorithm=MD5, '
                f'qop=auth, nc=00000001, cnonce="0a4f113b"')
        b2 = "z9hG4bK" + os.urandom(6).hex()
        self.send(self.invite(ruri, fu, target, callid, b2, 2, list(extra) + [auth]))
        r = self.final()
        assert r is not None, "no final answer"
        if int(r[8:11]) >= 300:
            self.send(self.ack(ruri, fu, r, callid, b2, 2))
        return r, callid

    def register(self, u, instance=None):
        ruri = f"sip:{REALM}"
        callid = os.urandom(8).hex() + "@t9reg"
        contact = f"<sip:{u.sip}@{self.local[0]}:{self.local[1]}>"

        def req(cseq, extra=""):
            return (f"REGISTER {ruri} SIP/2.0\r\n{self.via('z9hG4bK' + os.urandom(6).hex())}\r\n"
                    f"Max-Forwards: 70\r\nFrom: <sip:{u.sip}@{REALM}>;tag={self.tag}\r\n"
                    f"To: <sip:{u.sip}@{REALM}>\r\nCall-ID: {callid}\r\nCSeq: {cseq} REGISTER\r\n"
                    f"Contact: {contact}\r\nExpires: 600\r\n{extra}Content-Length: 0\r\n\r\n")
        self.send(req(1))
        r = self.final()
        assert r and r.startswith(b"SIP/2.0 401"), r
        ch = dict(re.findall(r'(\w+)="?([^",]*)"?',
                             re.search(rb"(?m)^WWW-Authenticate: (.*)\r$", r).group(1).decode()))
        ha1 = md5(f"{u.sip}:{REALM}:{u.pw}")
        resp = md5(f"{ha1}:{ch['nonce']}:00000001:0a4f113b:auth:{md5('REGISTER:' + ruri)}")
        self.send(req(2, f'Authorization: Digest username="{u.sip}", realm="{REALM}", '
                         f'nonce="{ch["nonce"]}", uri="{ruri}", response="{resp}", '
                         f'algorithm=MD5, qop=auth, nc=00000001, cnonce="0a4f113b"\r\n'))
        r = self.final()
        assert r and r.startswith(b"SIP/2.0 200"), r


def normalise(resp, *codes):
    """A response less its tags and branches (and the dialled user)."""
    s = resp.decode()
    s = re.sub(r";tag=[^;>\r\n]+", ";tag=X", s)
    s = re.sub(r";branch=[^;\r\n,]+", ";branch=X", s)
    s = re.sub(r"Call-ID: \S+", "Call-ID: X", s)
    for c in codes:
        s = s.replace(c, "DIALLED")
    return s


def trio(t9server):
    srv = server(t9server)
    a, b, stranger = user(srv, "marina"), user(srv, "oskarov"), user(srv, "zebulon")
    group(srv, "Family", a, b)
    group(srv, "Elsewhere", stranger)
    return srv, a, b, stranger


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_stranger_and_unknown_code_get_the_same_404(t9server, transport):
    srv, a, b, stranger = trio(t9server)
    ag = Agent(srv.sip_port, transport)
    try:
        unknown = "2" * len(stranger.code)
        assert unknown != stranger.code
        r1, c1 = ag.call(a, unknown)
        r2, c2 = ag.call(a, stranger.code)
        assert r1.startswith(b"SIP/2.0 404 Not Found\r\n"), r1
        assert normalise(r1, unknown) == normalise(r2, stranger.code), (r1, r2)
        # By SIP username too: a stranger's and one that exists nowhere.
        nobody = "a" * len(stranger.sip)
        r3, _ = ag.call(a, nobody)
        r4, _ = ag.call(a, stranger.sip)
        assert normalise(r3, nobody) == normalise(r4, stranger.sip) == normalise(r1, unknown)
        for cid in (c1, c2):
            srv.forbid_stored(cid)
    finally:
        ag.close()
    no_transactions_left(srv)


def test_from_not_the_authenticated_user_is_403(t9server):
    srv, a, b, _ = trio(t9server)
    ag = Agent(srv.sip_port)
    try:
        r, _ = ag.call(a, b.code, from_user=b.sip)
        assert r.startswith(b"SIP/2.0 403"), r
    finally:
        ag.close()
    assert srv.metrics()['t9phone_sip_proxy_answers_by_code_total{code="403"}'] == 1
    no_transactions_left(srv)


def test_max_forwards_zero_is_483(t9server):
    srv, a, b, _ = trio(t9server)
    ag = Agent(srv.sip_port)
    try:
        ruri = f"sip:{b.code}@{REALM}"
        msg = ag.invite(ruri, a.sip, b.code, "mf0@t9test", "z9hG4bKmf0").replace(
            "Max-Forwards: 70", "Max-Forwards: 0")
        ag.send(msg)
        r = ag.final()
        assert r is not None and r.startswith(b"SIP/2.0 483"), r
        ag.send(ag.ack(ruri, a.sip, r, "mf0@t9test", "z9hG4bKmf0"))
        srv.forbid_stored("mf0@t9test")
    finally:
        ag.close()
    no_transactions_left(srv)


def response_to(req, status, reason, tag):
    """A UAS response to raw request bytes: its Vias, From, To (+tag), Call-ID, CSeq."""
    head = req.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
    keep = [l for l in head[1:] if re.match(r"(?i)(via|from|call-id|cseq):", l)]
    to = [l for l in head[1:] if re.match(r"(?i)to:", l)][0]
    return (f"SIP/2.0 {status} {reason}\r\n" + "\r\n".join(keep) + f"\r\n{to};tag={tag}\r\n"
            "Content-Length: 0\r\n\r\n")


def test_request_that_loops_back_is_482(t9server):
    """The callee's phone sends the proxied INVITE straight back (same
    Request-URI, tags, Call-ID and CSeq): the proxy finds its own branch's
    loop hash in the Via and answers 482."""
    srv, a, b, _ = trio(t9server)
    caller, callee = Agent(srv.sip_port), Agent(srv.sip_port)
    try:
        callee.register(b)
        wait_bindings(srv, 1)
        # The caller's INVITE, authenticated, reaches the callee.
        ruri = f"sip:{b.code}@{REALM}"
        callid = "loop1@t9test"
        srv.forbid_stored(callid)
        b1 = "z9hG4bKloop1"
        caller.send(caller.invite(ruri, a.sip, b.code, callid, b1))
        r = caller.final()
        assert r.startswith(b"SIP/2.0 407"), r
        caller.send(caller.ack(ruri, a.sip, r, callid, b1))
        ch = dict(re.findall(r'(\w+)="?([^",]*)"?',
                             re.search(rb"(?m)^Proxy-Authenticate: (.*)\r$", r).group(1).decode()))
        ha1 = md5(f"{a.sip}:{REALM}:{a.pw}")
        resp = md5(f"{ha1}:{ch['nonce']}:00000001:0a4f113b:auth:{md5('INVITE:' + ruri)}")
        auth = (f'Proxy-Authorization: Digest username="{a.sip}", realm="{REALM}", '
                f'nonce="{ch["nonce"]}", uri="{ruri}", response="{resp}", algorithm=MD5, '
                f'qop=auth, nc=00000001, cnonce="0a4f113b"')
        caller.send(caller.invite(ruri, a.sip, b.code, callid, "z9hG4bKloop2", 2, [auth]))
        got = callee.recv()
        assert got is not None and got.startswith(b"INVITE "), got
        # ... which sends it back as it came, with its own Via on top and the
        # original Request-URI.
        lines = got.decode().split("\r\n")
        lines[0] = f"INVITE {ruri} SIP/2.0"
        lines.insert(1, callee.via("z9hG4bKback1"))
        callee.send("\r\n".join(lines))
        r = callee.final()
        assert r is not None and r.startswith(b"SIP/2.0 482"), r
        callee.send(f"ACK {ruri} SIP/2.0\r\n{callee.via('z9hG4bKback1')}\r\n"
                    + "\r\n".join(l for l in lines if re.match(r"(?i)(from|call-id):", l))
                    + "\r\n" + re.search(rb"(?m)^To: .*\r$", r).group(0).decode()
                    + "\nCSeq: 2 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        # The callee turns the real call down; the caller hears it.
        callee.send(response_to(got, 486, "Busy Here", "calleetag"))
        r = caller.final()
        assert r is not None and r.startswith(b"SIP/2.0 486"), r
        caller.send(caller.ack(ruri, a.sip, r, callid, "z9hG4bKloop2", 2))
    finally:
        caller.close()
        callee.close()
    m = srv.metrics()
    assert m['t9phone_sip_proxy_answers_by_code_total{code="482"}'] == 1
    assert m['t9phone_sip_calls_total{outcome="failed"}'] == 1
    no_transactions_left(srv)


def test_callee_whose_connection_closed_is_unreachable_and_its_binding_goes(t9server):
    """A phone registered over TCP closes its connection: the next call finds
    the flow gone, drops the binding, and (no other contact) answers 480."""
    srv, a, b, _ = trio(t9server)
    callee = Agent(srv.sip_port, "tcp")
    try:
        callee.register(b)
        wait_bindings(srv, 1)
    finally:
        callee.close()
    wait_metric(srv, "t9phone_sip_connections_open", 0)
    caller = Agent(srv.sip_port)
    try:
        r, _ = caller.call(a, b.code)
        assert r.startswith(b"SIP/2.0 480"), r
    finally:
        caller.close()
    m = srv.metrics()
    assert m["t9phone_sip_bindings"] == 0
    assert m["t9phone_sip_proxy_flows_gone_total"] == 1
    no_transactions_left(srv)
