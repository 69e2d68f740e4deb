#!/usr/bin/env python3
"""tests/bench/turn_mem.py - memory per idle TURN allocation.

Starts the relay (t9phone, and coturn's turnserver with --coturn), makes N
authenticated UDP allocations from N client sockets on loopback (TURN REST
credentials, no permissions, no traffic), and reports the growth of the server's
resident set (VmRSS) divided by N: user-space bytes per idle allocation (kernel
socket memory is not in VmRSS and is the same for both servers).

    tests/bench/turn_mem.py [--bin out/t9phone] [-n 10000] [--coturn] [--busy]

--busy gives every allocation one channel to one peer (a ChannelBind: one
permission and one channel, as a call has), still without traffic.

Both servers and every socket are loopback only; servers are killed at the end.
"""
import argparse
import base64
import hashlib
import hmac
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

MAGIC = 0x2112A442
SECRET = "mem-bench-secret"
REALM = "t9phone.local"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def msg(method, attrs, key=None):
    tid = os.urandom(12)
    t = (method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2)
    body = b"".join(struct.pack("!HH", a, len(v)) + v + b"\0" * ((4 - len(v) % 4) % 4)
                    for a, v in attrs)
    if key is not None:
        hdr = struct.pack("!HHI", t, len(body) + 24, MAGIC) + tid
        mac = hmac.new(key, hdr + body, hashlib.sha1).digest()
        body += struct.pack("!HH", 0x0008, 20) + mac
    return struct.pack("!HHI", t, len(body), MAGIC) + tid + body, tid


def attrs_of(data):
    out, off = {}, 20
    while off + 4 <= len(data):
        at, al = struct.unpack("!HH", data[off:off + 4])
        out.setdefault(at, data[off + 4:off + 4 + al])
        off += 4 + al + (4 - al % 4) % 4
    return out


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, n)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def wait_stun(port, timeout=20):
    end = time.time() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        while time.time() < end:
            m, _ = msg(1, [])
            s.sendto(m, ("127.0.0.1", port))
            try:
                s.recvfrom(2048)
                return
            except socket.timeout:
                pass
    raise RuntimeError("server does not answer STUN")


def xor_peer(ip, port, tid):
    raw = socket.inet_aton(ip)
    return struct.pack("!BBH", 0, 1, port ^ (MAGIC >> 16)) + bytes(
        a ^ b for a, b in zip(raw, struct.pack("!I", MAGIC)))


def allocate_all(port, n, window=256, timeout=120, busy=False):
    """n allocations from n sockets; returns the sockets (kept open: an allocation
    lives as long as its lifetime, the sockets only keep the 5-tuples unique)."""
    expiry = int(time.time()) + 3600
    user = f"{expiry}:bench"
    pw = base64.b64encode(hmac.new(SECRET.encode(), user.encode(), hashlib.sha1).digest())
    key = hashlib.md5(f"{user}:{REALM}:{pw.decode()}".encode()).digest()
    socks, done = [], 0
    end = time.time() + timeout
    transport = [(0x0019, b"\x11\0\0\0"), (0x000D, struct.pack("!I", 3600))]
    while done < n:
        if time.time() > end:
            raise RuntimeError(f"only {done} of {n} allocations in {timeout}s")
        batch = []
        for _ in range(min(window, n - done)):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.settimeout(2)
            batch.append(s)
        # Step 1: the 401 with a nonce; step 2: the authenticated Allocate.
        nonces = []
        for s in batch:
            m, _ = msg(3, transport)
            s.sendto(m, ("127.0.0.1", port))
        for s in batch:
            a = attrs_of(s.recvfrom(4096)[0])
            nonces.append(a[0x0015])
        for s, nonce in zip(batch, nonces):
            m, _ = msg(3, transport + [(0x0006, user.encode()), (0x0014, REALM.encode()),
                                       (0x0015, nonce)], key=key)
            s.sendto(m, ("127.0.0.1", port))
        for s in batch:
            data = s.recvfrom(4096)[0]
            t = struct.unpack("!H", data[:2])[0]
            if t != 0x0103:
                raise RuntimeError(f"Allocate failed: type {t:#x} error "
                                   f"{attrs_of(data).get(0x0009, b'')!r}")
        if busy:
            # One channel (and so one permission) to a peer that is never sent to.
            for s, nonce in zip(batch, nonces):
                peer = xor_peer("93.184.216.34", 5000, None)
                m, _ = msg(9, [(0x000C, b"\x40\x00\0\0"), (0x0012, peer),
                               (0x0006, user.encode()), (0x0014, REALM.encode()),
                               (0x0015, nonce)], key=key)
                s.sendto(m, ("127.0.0.1", port))
            for s in batch:
                data = s.recvfrom(4096)[0]
                t = struct.unpack("!H", data[:2])[0]
                if t != 0x0109:
                    raise RuntimeError(f"ChannelBind failed: type {t:#x}")
        socks += batch
        done += len(batch)
    return socks


def measure(name, cmd, port, n, warm=200, busy=False):
    raise_nofile(n + warm + 4096)
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         preexec_fn=lambda: raise_nofile(n + warm + 4096))
    socks = []
    try:
        wait_stun(port)
        socks += allocate_all(port, warm)  # first-use growth (tables, arenas) settles
        time.sleep(0.5)
        before = rss(p.pid)
        t0 = time.time()
        socks += allocate_all(port, n, busy=busy)
        secs = time.time() - t0
        time.sleep(0.5)
        after = rss(p.pid)
        per = (after - before) / n
        kind = "allocations with a channel" if busy else "idle allocations"
        print(f"{name}: {n} {kind}: RSS {before / 1e6:.1f} MB -> "
              f"{after / 1e6:.1f} MB, {per:.0f} bytes per allocation "
              f"({n / secs:.0f} allocations/s)")
        return per
    finally:
        for s in socks:
            s.close()
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "../../out/t9phone"))
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--coturn", action="store_true", help="also measure coturn's turnserver")
    ap.add_argument("--busy", action="store_true", help="one channel per allocation")
    a = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as work:
        port, lo = free_port(), 20000
        hi = lo + a.n + 2000
        cmd = [a.bin, "serve", f"--data-dir={work}/data", f"--portal-port={free_port()}",
               f"--metrics-port={free_port()}", f"--listening-port={port}",
               f"--tls-listening-port={free_port()}", "--listening-ip=127.0.0.1",
               "--relay-ip=127.0.0.1", f"--min-port={lo}", f"--max-port={hi}",
               "--use-auth-secret", f"--static-auth-secret={SECRET}", f"--realm={REALM}",
               "--no-tcp", "--no-tls"]
        results["t9phone"] = measure("t9phone", cmd, port, a.n, busy=a.busy)
        if a.coturn:
            ts = shutil.which("turnserver")
            if not ts:
                print("turnserver missing (apt-get install coturn)", file=sys.stderr)
                return 2
            port = free_port()
            cmd = [ts, "-n", "--log-file=stdout", "--no-cli", "--no-tcp", "--no-tls",
                   "--no-dtls", "-L", "127.0.0.1", "-E", "127.0.0.1", "-p", str(port),
                   "--min-port", str(lo), "--max-port", str(hi), "--use-auth-secret",
                   f"--static-auth-secret={SECRET}", f"--realm={REALM}",
                   f"--pidfile={work}/turn.pid", f"--userdb={work}/turn.db",
                   "--relay-threads=1", "--no-tcp-relay"]
            results["coturn"] = measure("coturn", cmd, port, a.n, busy=a.busy)
            print(f"ratio t9phone/coturn: {results['t9phone'] / results['coturn']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
