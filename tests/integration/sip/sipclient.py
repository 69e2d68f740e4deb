"""A small SIP client for the tests: UDP, TCP or TLS, digest (RFC 2617
qop=auth, MD5) computed here from the RFC's formula, responses framed by
Content-Length on streams. Every wait is bounded."""
import hashlib
import os
import re
import socket
import ssl
import time


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


class Response:
    def __init__(self, raw):
        self.raw = raw
        text = raw.decode(errors="replace")
        head = text.split("\r\n\r\n", 1)[0]
        lines = head.split("\r\n")
        self.status_line = lines[0]
        parts = lines[0].split(" ", 2)
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ""
        self.headers = []
        for l in lines[1:]:
            if ":" in l:
                k, v = l.split(":", 1)
                self.headers.append((k.strip().lower(), v.strip()))

    def all(self, name):
        return [v for k, v in self.headers if k == name.lower()]

    def get(self, name):
        v = self.all(name)
        return v[0] if v else None

    def challenge(self):
        h = self.get("www-authenticate") or self.get("proxy-authenticate")
        if not h:
            return None
        return dict(re.findall(r'(\w+)="?([^",]*)"?', h))

    def __repr__(self):
        return f"<{self.status_line}>"


class Client:
    def __init__(self, transport, port, host="127.0.0.1", tls_ctx=None, timeout=5, bind=None):
        self.transport = transport
        self.host = host
        self.port = port
        self.timeout = timeout
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        if transport == "udp":
            self.s = socket.socket(fam, socket.SOCK_DGRAM)
            self.s.bind((bind or host, 0))
            self.s.connect((host, port))
        else:
            s = socket.create_connection((host, port), timeout=timeout,
                                         source_address=(bind, 0) if bind else None)
            if transport == "tls":
                ctx = tls_ctx or ssl.create_default_context()
                if tls_ctx is None:
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                s = ctx.wrap_socket(s, server_hostname=None)
            self.s = s
        self.s.settimeout(timeout)
        self.local = self.s.getsockname()
        self.buf = b""
        self.cseq = 0
        self.callid = os.urandom(8).hex() + "@t9test"
        self.tag = os.urandom(4).hex()

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        if self.transport == "udp":
            self.s.send(data)
        else:
            self.s.sendall(data)

    def recv(self, timeout=None):
        """The next message, or None when nothing came in time (or the stream
        was closed)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        if self.transport == "udp":
            while time.monotonic() < deadline:
                self.s.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    return Response(self.s.recv(65536))
                except socket.timeout:
                    return None
            return None
        while True:
            m = re.search(rb"\r\n\r\n", self.buf)
            if m:
                head = self.buf[:m.end()]
                cl = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
                n = m.end() + (int(cl.group(1)) if cl else 0)
                if len(self.buf) >= n:
                    msg, self.buf = self.buf[:n], self.buf[n:]
                    return Response(msg)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return None
            except (ConnectionError, ssl.SSLError, OSError):
                return None
            if not d:
                return None
            self.buf += d

    def closed(self, timeout=None):
        """True once the server closes the stream (within the time limit)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            self.s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionError, ssl.SSLError, OSError):
                return True
            if not d:
                return True
        return False

    def via(self):
        t = self.transport.upper()
        h, p = self.local[0], self.local[1]
        if ":" in h:
            h = f"[{h}]"
        return f"Via: SIP/2.0/{t} {h}:{p};branch=z9hG4bK{os.urandom(6).hex()};rport"

    def request(self, method, ruri, to, extra=(), body=b"", cseq=None, callid=None):
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        lines = [f"{method} {ruri} SIP/2.0", self.via(), "Max-Forwards: 70",
                 f"From: <{to}>;tag={self.tag}", f"To: <{to}>",
                 f"Call-ID: {callid or self.callid}", f"CSeq: {cseq} {method}"]
        lines += list(extra)
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    @staticmethod
    def authorization(user, password, realm, nonce, method, uri, nc=1, cnonce="0a4f113b"):
        ha1 = md5(f"{user}:{realm}:{password}")
        ha2 = md5(f"{method}:{uri}")
        resp = md5(f"{ha1}:{nonce}:{nc:08x}:{cnonce}:auth:{ha2}")
        return (f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", '
                f'uri="{uri}", response="{resp}", algorithm=MD5, qop=auth, nc={nc:08x}, '
                f'cnonce="{cnonce}"')

    def register(self, user, password, domain, contact=None, expires=None, extra=(),
                 to_user=None, keep_nonce=None):
        """The whole REGISTER exchange: returns (final response, nonce used)."""
        aor = f"sip:{to_user or user}@{domain}"
        ruri = f"sip:{domain}"
        hdrs = list(extra)
        if contact:
            hdrs.append(f"Contact: {contact}")
        if expires is not None:
            hdrs.append(f"Expires: {expires}")
        nonce, realm = keep_nonce or (None, None)
        if nonce is None:
            self.send(self.request("REGISTER", ruri, aor, hdrs))
            r = self.recv()
            assert r is not None, "no answer to REGISTER"
            if r.status != 401:
                return r, None
            ch = r.challenge()
            nonce, realm = ch["nonce"], ch["realm"]
        auth = self.authorization(user, password, realm, nonce, "REGISTER", ruri)
        self.send(self.request("REGISTER", ruri, aor, hdrs + [auth]))
        r = self.recv()
        assert r is not None, "no answer to authenticated REGISTER"
        return r, (nonce, realm)
