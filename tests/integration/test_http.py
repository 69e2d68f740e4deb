"""net/http.c against plain sockets: deadlines that bytes do not push back,
back-pressure for a client that pipelines without reading, in-order
answers, clean error answers, and the per-connection request cap."""
import re
import socket
import time

import pytest

# A small configured deadline; assertions allow a generous margin and never
# assert that something was fast.
DEADLINE = ["--portal-request-timeout=2", "--portal-idle-timeout=3"]


def connect(port, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return s


def read_until_closed(s, limit=30):
    """Everything the server sends until it closes; fails after limit seconds."""
    s.settimeout(1)
    data = b""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def vmrss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_trickled_request_gets_408_and_close_on_time(t9server):
    s = t9server(args=DEADLINE)
    c = connect(s.portal_port)
    start = time.monotonic()
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40
    closed = False
    data = b""
    # One byte a second: the whole request would need about 60 s.
    for b in request:
        try:
            c.send(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        c.settimeout(1)
        try:
            chunk = c.recv(4096)
            if not chunk:
                closed = True
                break
            data += chunk
        except socket.timeout:
            pass
        if time.monotonic() - start > 20:
            break
    if not closed:
        more, closed = read_until_closed(c, limit=10)
        data += more
    elapsed = time.monotonic() - start
    c.close()
    assert closed, "a trickling client kept its slot"
    assert elapsed < 20, f"closed only after {elapsed:.1f} s with a 2 s deadline"
    assert data.startswith(b"HTTP/1.1 408 Request Timeout"), data[:100]
    assert b"Connection: close" in data
    s.wait_healthy()


def test_idle_keepalive_connection_closes(t9server):
    s = t9server(args=DEADLINE)
    c = connect(s.portal_port)
    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    data, closed = read_until_closed(c, limit=20)
    c.close()
    assert data.startswith(b"HTTP/1.1 200 OK")
    assert closed, "an idle keep-alive connection stayed open"


def test_pipelined_requests_answered_in_order(t9server):
    s = t9server()
    c = connect(s.portal_port)
    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /assets/style.css HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data, closed = read_until_closed(c)
    c.close()
    assert closed
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", data)
    assert statuses == [b"200", b"404", b"200", b"200"], statuses


def test_requests_per_connection_are_capped(t9server):
    s = t9server()
    c = connect(s.portal_port)
    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 1100)
    data, closed = read_until_closed(c)
    c.close()
    assert closed
    # HTTP_DEFAULT_MAX_REQUESTS answers, the last one saying it closes.
    assert data.count(b"HTTP/1.1 200 OK") == 1000
    assert data.count(b"Connection: close") == 1


def test_pipelining_without_reading_keeps_memory_flat(t9server):
    """security-review H1: 2000 pipelined GET /healthz per send(), never read."""
    s = t9server(args=DEADLINE)
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.connect(("127.0.0.1", s.portal_port))
    c.settimeout(0.5)
    burst = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 2000
    warm = 0
    # Warm up until the socket buffers are full, then measure.
    end = time.monotonic() + 10
    while time.monotonic() < end and warm < 4 * 1024 * 1024:
        try:
            warm += c.send(burst)
        except socket.timeout:
            break
        except (BrokenPipeError, ConnectionResetError):
            break
    before = vmrss_kib(s.proc.pid)
    sent = 0
    end = time.monotonic() + 4
    while time.monotonic() < end:
        try:
            sent += c.send(burst)
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
    after = vmrss_kib(s.proc.pid)
    c.close()
    # Without back-pressure the server grew by about 100 MB/s here.
    assert after - before < 16 * 1024, f"RSS {before} -> {after} KiB after {warm + sent} bytes"
    s.wait_healthy()
    m = s.metrics()
    assert m['t9phone_portal_http_answers_total{status="200"}'] >= 1


@pytest.mark.parametrize("request_bytes,status", [
    (b"GARBAGE\r\n\r\n", b"400"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", b"431"),
    (b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(60)) + b"\r\n",
     b"431"),
    (b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", b"413"),
    (b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"10000\r\n" + b"a" * 0x10000 + b"\r\n10\r\n" + b"a" * 16 + b"\r\n0\r\n\r\n", b"413"),
    (b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", b"505"),
])
def test_bad_requests_get_clean_answers(t9server, request_bytes, status):
    s = t9server()
    c = connect(s.portal_port)
    try:
        c.sendall(request_bytes)
    except (BrokenPipeError, ConnectionResetError):
        pass
    data, closed = read_until_closed(c)
    c.close()
    assert data.startswith(b"HTTP/1.1 " + status + b" "), data[:120]
    assert b"Connection: close" in data.split(b"\r\n\r\n")[0]
    body = data.split(b"\r\n\r\n", 1)[1]
    assert body.startswith(status), body[:80]
    assert closed
    s.wait_healthy()


def test_connection_closed_while_a_password_is_checked(t9server):
    """A deferred answer whose connection has gone is freed, not sent."""
    s = t9server(args=["--portal-bcrypt-cost=10"])
    for _ in range(5):
        c = connect(s.portal_port)
        c.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b""
        while b"</html>" not in head:
            chunk = c.recv(65536)
            assert chunk
            head += chunk
        cookie = head.split(b"Set-Cookie: t9c=")[1].split(b";")[0]
        body = b"csrf=" + cookie + b"&email=a%40example.org&password=0123456789abc&next=%2F"
        c.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nCookie: t9c=" + cookie +
                  b"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                  str(len(body)).encode() + b"\r\n\r\n" + body)
        c.close()
    s.wait_healthy()
    # Every check finished on the pool and none is left behind.
    end = time.monotonic() + 30
    while time.monotonic() < end and s.metrics()["t9phone_portal_jobs"] != 0:
        time.sleep(0.2)
    assert s.metrics()["t9phone_portal_jobs"] == 0


def test_connection_cap_refuses_and_recovers(t9server):
    s = t9server(args=["--portal-max-connections=4"])
    held = [connect(s.portal_port) for _ in range(4)]
    extra = connect(s.portal_port)
    data, closed = read_until_closed(extra, limit=10)
    extra.close()
    assert closed and data == b""
    for h in held:
        h.close()
    s.wait_healthy()
    assert s.metrics()["t9phone_portal_http_refused_connections_total"] >= 1


def test_connections_per_address_are_capped(t9server):
    s = t9server(args=["--portal-max-connections-per-address=3"])
    held = [connect(s.portal_port) for _ in range(3)]
    for h in held:  # each is served: the server has accepted all three
        h.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert h.recv(4096).startswith(b"HTTP/1.1 200 OK")
    extra = connect(s.portal_port)
    data, closed = read_until_closed(extra, limit=10)
    extra.close()
    assert closed and data == b""
    assert s.metrics()["t9phone_portal_http_refused_per_source_total"] == 1
    for h in held:
        h.close()
    s.wait_healthy()  # the slots come back


def test_deferred_answer_keeps_pipelined_order(t9server):
    """A login (bcrypt on the thread pool) pipelined before two quick GETs is
    answered first, then the GETs, on the same connection."""
    s = t9server(args=["--portal-bcrypt-cost=8"])
    c = connect(s.portal_port)
    c.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n")
    head = b""
    while b"</html>" not in head:
        chunk = c.recv(65536)
        assert chunk
        head += chunk
    cookie = head.split(b"Set-Cookie: t9c=")[1].split(b";")[0]
    body = b"csrf=" + cookie + b"&email=a%40example.org&password=0123456789abc&next=%2F"
    c.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nCookie: t9c=" + cookie +
              b"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
              str(len(body)).encode() + b"\r\n\r\n" + body +
              b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data, closed = read_until_closed(c)
    c.close()
    assert closed
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", data) == [b"403", b"200", b"404"], data[:300]
    assert b"Wrong email or password" in data.split(b"HTTP/1.1 200 OK")[0]
