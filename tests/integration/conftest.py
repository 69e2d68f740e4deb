"""Fixtures for integration tests: they drive the real t9phone binary on loopback.

Every server a test starts is stopped at teardown with SIGTERM and must exit 0
within the time limit. At stop, its log, database and WAL are searched for
loopback addresses; its log for every string the test registered with
``server.forbid(...)`` (emails, nicknames, usernames the server legitimately
stores but must never log); and log, database and WAL for every string
registered with ``server.forbid_stored(...)`` (data of deleted accounts).
The privacy rules of DESIGN.md are checked on every run, not in one test.
"""
import os
import pathlib
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
# Not T9PHONE_*: that prefix is the server's own configuration namespace.
BIN = os.environ.get("T9_TEST_BIN", str(REPO / "out" / "t9phone"))

# Addresses that must never reach a log line or a database page.
PRIVATE_NEEDLES = [b"127.0.0.1"]
# Checked in logs only: in binary database pages three random bytes could match.
LOG_NEEDLES = [b"::1", b"[::1]"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "release_only: needs the static release binary (static linking, an empty "
        "root, the fuzzers); left out of the pass over the ASan build")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """One machine line for build.sh's summary: `integration: N passed, N failed`.
    Errors count as failures; skips are reported apart and never as passes."""
    st = terminalreporter.stats
    passed = len([r for r in st.get("passed", []) if getattr(r, "when", "call") == "call"])
    failed = len(st.get("failed", [])) + len(st.get("error", []))
    skipped = len(st.get("skipped", []))
    terminalreporter.write_line(f"integration: {passed} passed, {failed} failed, {skipped} skipped")


# Ports handed out by free_port() in this run: the kernel may offer a port
# again as soon as the probe socket is closed, so two calls in a row (the
# portal's and the metrics port of one server) could get the same one.
_GIVEN = set()


def free_port(kind=socket.SOCK_STREAM, pair=False):
    """A port free for both TCP and UDP on 127.0.0.1 (and port+1 when pair),
    never one this run has handed out before."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        ports = [port, port + 1] if pair else [port]
        ok = not any(p in _GIVEN for p in ports)
        for p in ports:
            for k in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                try:
                    with socket.socket(socket.AF_INET, k) as t:
                        t.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
        if ok and port < 65000:
            _GIVEN.update(ports)
            return port
    raise RuntimeError("no free port")


def turn_flags():
    """Loopback and free ports for the TURN listeners of a server a test starts by hand."""
    return [f"--listening-port={free_port()}", f"--tls-listening-port={free_port()}",
            "--listening-ip=127.0.0.1", f"--metrics-port={free_port()}"] + sip_flags()


def sip_flags():
    """Loopback and free ports for the SIP listeners (5060/5061 on every address otherwise)."""
    return [f"--sip-port={free_port()}", f"--sip-tls-port={free_port()}", "--sip-ip=127.0.0.1"]


def run_t9(args, input=None, cwd=None, env=None, timeout=60, binary=None):
    """Runs a t9phone command to completion; returns CompletedProcess (text)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("T9PHONE_")}
    if env:
        e.update(env)
    return subprocess.run([binary or BIN] + list(args), input=input, cwd=cwd, env=e,
                          capture_output=True, text=True, timeout=timeout)


class Server:
    def __init__(self, tmp, args=(), env=None, config=None, binary=None, wait=True):
        self.tmp = pathlib.Path(tmp)
        self.data_dir = self.tmp / "data"
        self.portal_port = free_port()
        self.metrics_port = free_port()
        self.log_path = self.tmp / f"server-{self.portal_port}.log"
        self.forbidden = list(PRIVATE_NEEDLES)  # log and database files
        self.forbidden_log = list(LOG_NEEDLES)  # log only
        args = list(args)
        # Loopback only, and free ports for TURN too, so tests never collide with
        # another instance (a test's own flags, given later, win).
        base = [f"--data-dir={self.data_dir}", f"--portal-port={self.portal_port}",
                f"--metrics-port={self.metrics_port}", "--log-level=debug", f"--listening-port={free_port()}",
                f"--tls-listening-port={free_port()}"]
        if not any(a.startswith("--listening-ip") for a in args):
            base.append("--listening-ip=127.0.0.1")
        base += [f for f in sip_flags() if not (f.startswith("--sip-ip") and
                                                 any(a.startswith("--sip-ip") for a in args))]
        self.args = base + args
        if config is not None:
            cf = self.tmp / "t9phone.conf"
            cf.write_text(config)
            self.args += ["--config", str(cf)]
        e = {k: v for k, v in os.environ.items() if not k.startswith("T9PHONE_")}
        e.update(env or {})
        self.env = e
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary or BIN, "serve"] + self.args, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=e)
        if wait:
            self.wait_healthy()

    def url(self, path):
        return f"http://127.0.0.1:{self.portal_port}{path}"

    def wait_healthy(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("server did not become healthy:\n" + self.log_text())

    def metrics(self):
        """The server's /metrics, as {"name{labels}": value} (labels as written)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            assert r.status == 200
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
        return out

    def forbid(self, *needles):
        """Strings that must never appear in the server's log."""
        for n in needles:
            self.forbidden_log.append(n.encode() if isinstance(n, str) else n)

    def forbid_stored(self, *needles):
        """Strings that must appear in neither the log nor the database files."""
        for n in needles:
            self.forbidden.append(n.encode() if isinstance(n, str) else n)

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def cli(self, *args, input=None, timeout=60):
        return run_t9(list(args) + [f"--data-dir={self.data_dir}"], input=input, timeout=timeout)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server did not stop within the time limit")
        self.log.close()
        return self.proc.returncode

    def privacy_violations(self):
        found = []
        files = [self.log_path]
        if self.data_dir.exists():
            files += [p for p in self.data_dir.iterdir() if p.name.startswith("t9phone.db")]
        for f in files:
            blob = f.read_bytes()
            needles = self.forbidden + (self.forbidden_log if f == self.log_path else [])
            for n in needles:
                if n in blob:
                    found.append(f"{f.name} contains {n!r}")
        return found


@pytest.fixture
def t9server(tmp_path):
    """Factory: t9server(args=[...], env={...}, config="...") -> running Server."""
    servers = []

    def start(*a, **kw):
        d = tmp_path / f"s{len(servers)}"
        d.mkdir()
        s = Server(d, *a, **kw)
        servers.append(s)
        return s

    yield start
    problems = []
    for s in servers:
        running = s.proc.poll() is None
        rc = s.stop()
        if running and rc != 0:
            problems.append(f"server exited with {rc} on SIGTERM:\n{s.log_text()}")
        problems += s.privacy_violations()
    assert not problems, "\n".join(problems)
