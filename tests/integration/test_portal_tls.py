"""The portal over HTTPS with the shared cert/pkey: TLS 1.2+ with ECDHE,
HSTS and __Host- cookies, plain HTTP redirected (except /healthz), the
trusted proxy's X-Forwarded-Proto, back-pressure and deadlines over TLS, and
a SIGHUP certificate reload that keeps an open keep-alive connection."""
import http.client
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.parse

from conftest import free_port

OPENSSL = shutil.which("openssl") or "openssl"
FAST = ["--portal-bcrypt-cost=4"]


def make_cert(d, cn):
    d.mkdir(parents=True, exist_ok=True)
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(d / "key.pem"),
                    "-out", str(d / "cert.pem"), "-days", "2", "-subj", f"/CN={cn}"],
                   check=True, capture_output=True, timeout=60)
    return d


def tls_server(t9server, tmp_path, extra=()):
    certs = make_cert(tmp_path / "certs", "portal-one")
    tls_port = free_port()
    s = t9server(args=FAST + [f"--cert={certs / 'cert.pem'}", f"--pkey={certs / 'key.pem'}",
                              f"--portal-tls-port={tls_port}", *extra])
    s.tls_port = tls_port
    s.certs = certs
    return s


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def https(port, method="GET", path="/", headers=None, body=None, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPSConnection("127.0.0.1", port, context=ctx(), timeout=30)
    h = {"Host": f"127.0.0.1:{port}"}
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    r.body = r.read().decode("utf-8", "replace")
    if own:
        conn.close()
    return r


def peer_cn(conn):
    der = conn.sock.getpeercert(binary_form=True)
    out = subprocess.run([OPENSSL, "x509", "-inform", "DER", "-noout", "-subject"], input=der,
                         capture_output=True, check=True, timeout=30).stdout.decode()
    return out.strip()


def test_https_pages_headers_cookies_and_redirect(t9server, tmp_path):
    s = tls_server(t9server, tmp_path)
    r = https(s.tls_port, path="/signup")
    assert r.status == 200
    assert r.getheader("Strict-Transport-Security", "").startswith("max-age=")
    cookie = r.getheader("Set-Cookie")
    assert cookie.startswith("__Host-t9c=") and "; Secure" in cookie and "HttpOnly" in cookie
    assert "Path=/" in cookie and "Domain" not in cookie and "SameSite=Lax" in cookie
    # Sign up over HTTPS: the session cookie is __Host- and Secure too.
    token = cookie.split("=", 1)[1].split(";")[0]
    body = urllib.parse.urlencode({"csrf": token, "email": "tls@example.org",
                                   "nickname": "Secured", "password": "correct horse battery"})
    r = https(s.tls_port, "POST", "/signup", body=body, headers={
        "Cookie": f"__Host-t9c={token}", "Content-Type": "application/x-www-form-urlencoded",
        "Origin": f"https://127.0.0.1:{s.tls_port}"})
    assert r.status == 303, r.body[:500]
    sess = [v for k, v in r.getheaders() if k.lower() == "set-cookie" and v.startswith("__Host-t9s=")]
    assert sess and "; Secure" in sess[0]
    # Plain HTTP: /healthz is served, the rest goes to HTTPS.
    c = http.client.HTTPConnection("127.0.0.1", s.portal_port, timeout=10)
    c.request("GET", "/login?next=/groups", headers={"Host": f"127.0.0.1:{s.portal_port}"})
    r = c.getresponse()
    r.read()
    assert r.status == 308
    assert r.getheader("Location") == f"https://127.0.0.1:{s.tls_port}/login?next=/groups"
    c.request("GET", "/healthz", headers={"Host": "x"})
    r = c.getresponse()
    assert r.status == 200 and r.read() == b"ok\n"
    c.close()
    s.forbid("tls@example.org")


def test_tls_versions_and_suites(t9server, tmp_path):
    s = tls_server(t9server, tmp_path)
    c = ctx()
    c.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", s.tls_port), timeout=10) as raw:
        with c.wrap_socket(raw) as t:
            assert t.version() == "TLSv1.2"
            name = t.cipher()[0]
            assert "ECDHE" in name and ("GCM" in name or "CHACHA20" in name), name


def test_trusted_proxy_decides_about_forwarded_proto(t9server, tmp_path):
    s = tls_server(t9server, tmp_path, extra=["--trusted-proxy=127.0.0.1"])
    c = http.client.HTTPConnection("127.0.0.1", s.portal_port, timeout=10)
    c.request("GET", "/login", headers={"Host": "portal.example", "X-Forwarded-Proto": "https"})
    r = c.getresponse()
    r.read()
    assert r.status == 200
    assert r.getheader("Set-Cookie").startswith("__Host-t9c=")
    assert r.getheader("Strict-Transport-Security")
    c.close()
    untrusted = tls_server(t9server, tmp_path / "u", extra=["--trusted-proxy=192.0.2.1"])
    c = http.client.HTTPConnection("127.0.0.1", untrusted.portal_port, timeout=10)
    c.request("GET", "/login", headers={"Host": "portal.example", "X-Forwarded-Proto": "https"})
    r = c.getresponse()
    r.read()
    assert r.status == 308 and r.getheader("Location").startswith("https://portal.example:")
    c.close()


def test_sighup_reload_keeps_keepalive_connection(t9server, tmp_path):
    s = tls_server(t9server, tmp_path)
    conn = http.client.HTTPSConnection("127.0.0.1", s.tls_port, context=ctx(), timeout=30)
    assert https(s.tls_port, path="/healthz", conn=conn).status == 200
    assert "portal-one" in peer_cn(conn)
    sock_before = conn.sock
    fresh = make_cert(tmp_path / "new", "portal-two")
    shutil.copy(fresh / "cert.pem", s.certs / "cert.pem")
    shutil.copy(fresh / "key.pem", s.certs / "key.pem")
    s.proc.send_signal(signal.SIGHUP)
    end = time.monotonic() + 20
    while "reloaded" not in s.log_text() and time.monotonic() < end:
        time.sleep(0.1)
    assert "reloaded" in s.log_text()
    # The open connection keeps working with what it started with...
    r = https(s.tls_port, path="/privacy", conn=conn)
    assert r.status == 200 and conn.sock is sock_before
    assert "portal-one" in peer_cn(conn)
    conn.close()
    # ...and new ones get the new certificate.
    conn2 = http.client.HTTPSConnection("127.0.0.1", s.tls_port, context=ctx(), timeout=30)
    assert https(s.tls_port, path="/healthz", conn=conn2).status == 200
    assert "portal-two" in peer_cn(conn2)
    conn2.close()


def vmrss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_tls_flood_and_trickle_are_bounded(t9server, tmp_path):
    s = tls_server(t9server, tmp_path, extra=["--portal-request-timeout=2",
                                              "--portal-idle-timeout=3"])
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", s.tls_port))
    t = ctx().wrap_socket(raw)
    t.settimeout(0.5)
    burst = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 400
    before = None
    end = time.monotonic() + 6
    closed = False
    while time.monotonic() < end:
        try:
            t.sendall(burst)
        except socket.timeout:
            pass
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            closed = True
            break
        if before is None and time.monotonic() > end - 4:
            before = vmrss_kib(s.proc.pid)
    after = vmrss_kib(s.proc.pid)
    t.close()
    if before is not None:
        assert after - before < 16 * 1024, (before, after)
    s.wait_healthy()
    # A trickle over TLS gets its 408 too.
    t = ctx().wrap_socket(socket.create_connection(("127.0.0.1", s.tls_port), timeout=10))
    t.settimeout(1)
    data = b""
    start = time.monotonic()
    for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40:
        try:
            t.send(bytes([b]))
            chunk = t.recv(4096)
            if not chunk:
                break
            data += chunk
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            break
        if time.monotonic() - start > 20:
            break
    t.close()
    assert data.startswith(b"HTTP/1.1 408 "), data[:80]
    assert time.monotonic() - start < 20


def test_tls_connection_close_and_pipelining(t9server, tmp_path):
    s = tls_server(t9server, tmp_path, extra=["--portal-idle-timeout=120"])
    t = ctx().wrap_socket(socket.create_connection(("127.0.0.1", s.tls_port), timeout=10))
    t.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 50 +
              b"GET /privacy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    t.settimeout(1)
    data = b""
    end = time.monotonic() + 60
    closed = False
    while time.monotonic() < end:
        try:
            chunk = t.recv(65536)
        except socket.timeout:
            continue
        except (ssl.SSLError, ConnectionResetError, OSError):
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
    t.close()
    # Closed because it was asked to, long before the 120 s idle deadline.
    assert closed
    assert data.count(b"HTTP/1.1 200 OK") == 51
    assert data.rstrip().endswith(b"</html>")


def test_tls_handshake_has_a_deadline(t9server, tmp_path):
    s = tls_server(t9server, tmp_path, extra=["--portal-request-timeout=2",
                                              "--portal-idle-timeout=60"])
    c = socket.create_connection(("127.0.0.1", s.tls_port), timeout=10)
    c.sendall(b"\x16\x03\x01")  # the start of a ClientHello, and nothing more
    c.settimeout(1)
    start = time.monotonic()
    closed = False
    while time.monotonic() - start < 30:
        try:
            if c.recv(4096) == b"":
                closed = True
                break
        except socket.timeout:
            continue
        except ConnectionResetError:
            closed = True
            break
    c.close()
    # Well before the 60 s idle deadline.
    assert closed and time.monotonic() - start < 30
    s.wait_healthy()
