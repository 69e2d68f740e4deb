#!/usr/bin/env python3
"""tests/bench/alloc_memory.py - memory per idle TURN allocation: N UDP clients each
make one allocation (TURN REST credentials) and keep it; the server's resident memory
before and after, divided by N, for t9phone and for coturn's turnserver in the same
run. Loopback only; both servers are stopped by this script.

    tests/bench/alloc_memory.py [BIN] [N]      BIN defaults to out/t9phone, N to 10000

Needs N + a few hundred file descriptors here and in each server (ulimit -n)."""
import base64
import hashlib
import hmac
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

MAGIC = 0x2112A442
REALM = "t9phone.local"
SECRET = "bench-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def attr(t, v):
    return struct.pack("!HH", t, len(v)) + v + b"\0" * ((4 - len(v) % 4) % 4)


def build(method, attrs, key=None):
    tid = os.urandom(12)
    body = b"".join(attr(t, v) for t, v in attrs)
    t = (method & 0xF) | ((method & 0x70) << 1) | ((method & 0xF80) << 2)
    if key is not None:
        hdr = struct.pack("!HHI", t, len(body) + 24, MAGIC) + tid
        body += attr(0x0008, hmac.new(key, hdr + body, hashlib.sha1).digest())
    return struct.pack("!HHI", t, len(body), MAGIC) + tid + body


def attrs_of(data):
    out, off = {}, 20
    while off + 4 <= len(data):
        t, n = struct.unpack("!HH", data[off:off + 4])
        out.setdefault(t, data[off + 4:off + 4 + n])
        off += 4 + n + (4 - n % 4) % 4
    return out


def cls_of(data):
    t = struct.unpack("!H", data[:2])[0]
    return ((t & 0x10) >> 4) | ((t & 0x100) >> 7)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def exchange(socks, port, make, timeout=10):
    """Sends make(i) from every socket and returns the first answer of each."""
    answers = [None] * len(socks)
    for i, s in enumerate(socks):
        s.sendto(make(i), ("127.0.0.1", port))
    index = {s.fileno(): i for i, s in enumerate(socks)}
    poller = select.epoll()
    for s in socks:
        poller.register(s.fileno(), select.EPOLLIN)
    deadline = time.monotonic() + timeout
    left = len(socks)
    while left and time.monotonic() < deadline:
        for fd, _ in poller.poll(0.5):
            i = index[fd]
            data = socks[i].recv(2048)
            if answers[i] is None:
                answers[i] = data
                left -= 1
    poller.close()
    return answers


def allocate_all(port, n):
    expiry = int(time.time()) + 3600
    user = f"{expiry}:bench"
    pw = base64.b64encode(hmac.new(SECRET.encode(), user.encode(), hashlib.sha1).digest())
    key = hashlib.md5(f"{user}:{REALM}:{pw.decode()}".encode()).digest()
    socks, ok = [], 0
    for start in range(0, n, 500):
        batch = []
        for _ in range(min(500, n - start)):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
            batch.append(s)
        first = exchange(batch, port, lambda i: build(3, [(0x0019, b"\x11\0\0\0")]))
        nonces = [attrs_of(a).get(0x0015, b"") if a else b"" for a in first]
        second = exchange(batch, port, lambda i: build(
            3, [(0x0019, b"\x11\0\0\0"), (0x0006, user.encode()), (0x0014, REALM.encode()),
                (0x0015, nonces[i])], key=key))
        ok += sum(1 for a in second if a and cls_of(a) == 2)
        socks += batch
    return socks, ok


def measure(name, cmd, port, n, settle=1.0):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(settle)
        if p.poll() is not None:
            print(f"{name:8s} did not start")
            return None
        before = rss_kib(p.pid)
        socks, ok = allocate_all(port, n)
        time.sleep(0.5)
        after = rss_kib(p.pid)
        per = (after - before) * 1024 / ok if ok else 0
        print(f"{name:8s} allocations={ok}/{n} rss before={before} kB after={after} kB "
              f"per allocation={per:.0f} bytes")
        for s in socks:
            s.close()
        return per
    finally:
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(top, "out", "t9phone")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    work = tempfile.mkdtemp()
    try:
        port = free_port()
        t9 = measure("t9phone", [
            binary, "serve", f"--data-dir={work}/t9", f"--portal-port={free_port()}",
            "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
            f"--tls-listening-port={free_port()}", "--min-port=20000",
            f"--max-port={20000 + n + 100}", "--use-auth-secret",
            f"--static-auth-secret={SECRET}", "--log-level=warn"], port, n)
        co = None
        if shutil.which("turnserver"):
            port = free_port()
            co = measure("coturn", [
                "turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
                f"--listening-port={port}", "--min-port=20000", f"--max-port={20000 + n + 100}",
                "--use-auth-secret", f"--static-auth-secret={SECRET}", f"--realm={REALM}",
                "--no-cli", "--no-tls", "--no-dtls", "--no-stdout-log", "--log-file=/dev/null",
                f"--userdb={work}/coturn.db", f"--pidfile={work}/coturn.pid"], port, n)
        if t9 and co:
            print(f"ratio    bytes per allocation t9phone/coturn = {t9 / co:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
