"""The engine table: every engine starts, serves its counters at /metrics,
stops on SIGTERM, and a failed start takes the started ones down cleanly."""
import re
import socket
import subprocess
import urllib.error
import urllib.request

from conftest import BIN, free_port, run_t9, turn_flags

# Sample names the scrape may carry: engine, cause, status and transport
# labels only. A label value that is not one of these words would be the
# first step towards a per-user or per-address series.
LABEL_RE = re.compile(r'^[a-z_]+="[A-Za-z0-9_.-]{1,32}"$')


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def test_metrics_lists_every_engine_with_aggregate_labels_only(t9server):
    s = t9server()
    status, ctype, text = scrape(s.metrics_port)
    assert status == 200
    assert ctype.startswith("text/plain; version=0.0.4")
    m = s.metrics()
    for engine in ("maint", "portal", "turn", "metrics"):
        assert m[f't9phone_engine_up{{engine="{engine}"}}'] == 1, text
    assert m["t9phone_maint_runs_total"] >= 1
    for result in ("done", "busy", "failed"):
        assert f't9phone_store_checkpoints_total{{result="{result}"}}' in m
    assert "t9phone_store_commits_total" in m
    assert "t9phone_turn_allocations" in m
    families = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert name not in families, f"family {name} announced twice"
            families.add(name)
            continue
        if not line or line.startswith("#"):
            continue
        name, value = line.rsplit(" ", 1)
        float(value)
        if "{" in name:
            for label in name[name.index("{") + 1:-1].split(","):
                assert LABEL_RE.match(label), line
    assert "127.0.0.1" not in text


def test_metrics_counts_scrapes_and_refuses_other_paths(t9server):
    s = t9server()
    first = s.metrics()["t9phone_metrics_scrapes_total"]
    second = s.metrics()["t9phone_metrics_scrapes_total"]
    assert second == first + 1
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{s.metrics_port}/healthz", timeout=5)
        raise AssertionError("the metrics listener answered a portal path")
    except urllib.error.HTTPError as e:
        assert e.code == 404


def test_metrics_off_with_port_zero(t9server):
    s = t9server(["--metrics-port=0"])
    try:
        scrape(s.metrics_port)
        raise AssertionError("metrics answered with metrics-port=0")
    except OSError:
        pass
    assert "metrics" not in [l for l in s.log_text().splitlines() if "serving /metrics" in l]


def _serve_expecting_failure(tmp_path, args):
    r = run_t9(["serve", f"--data-dir={tmp_path}/d", f"--portal-port={free_port()}"] +
               turn_flags() + args, timeout=30)
    return r


def test_failed_engine_start_stops_the_started_ones(tmp_path):
    # The metrics engine starts last: its port taken makes the start fail after
    # maint, portal and TURN are up, and all of them must close for the process
    # to exit (a handle left open would keep uv_run going until the time limit).
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        r = _serve_expecting_failure(tmp_path, [f"--metrics-port={port}"])
    assert r.returncode == 1, r.stderr
    assert "metrics:" in r.stderr and "address already in use" in r.stderr.lower(), r.stderr
    assert "turn: stopped" in r.stderr, r.stderr
    assert "loop closed with handles open" not in r.stderr, r.stderr


def test_failed_portal_start_exits_before_turn(tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        r = run_t9(["serve", f"--data-dir={tmp_path}/d", f"--portal-port={port}"] + turn_flags(),
                   timeout=30)
    assert r.returncode == 1, r.stderr
    assert "portal:" in r.stderr, r.stderr
    assert "turn: listening" not in r.stderr, r.stderr


def test_keys_lists_every_engine_key():
    r = run_t9(["keys"])
    names = [l.split("\t")[0] for l in r.stdout.splitlines()]
    for key in ("data-dir", "portal-port", "listening-port", "metrics-port"):
        assert key in names
    assert len(names) == len(set(names)), "a key is declared by two engines"


def _served_cert(port):
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s) as t:
            return t.getpeercert(binary_form=True)


def test_one_sighup_reloads_every_tls_listener_from_one_context(t9server, tmp_path):
    """TURN over TLS and the portal's HTTPS share one certificate context:
    one SIGHUP reads the files once, and both listeners hand out the new
    certificate; a broken file keeps the old pair for both."""
    import signal
    import time
    from test_turn import make_cert
    tls = make_cert(tmp_path / "tls", "ec", cn="first")
    turn_tls, portal_tls = free_port(), free_port()
    s = t9server([f"--cert={tls}/cert.pem", f"--pkey={tls}/key.pem",
                  f"--tls-listening-port={turn_tls}", f"--portal-tls-port={portal_tls}"])
    assert b"first" in _served_cert(turn_tls) and b"first" in _served_cert(portal_tls)
    make_cert(tmp_path / "tls", "rsa", cn="second")
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and "reloaded for every listener" not in s.log_text():
        time.sleep(0.05)
    assert s.log_text().count("TLS certificate reloaded for every listener") == 1
    assert b"second" in _served_cert(turn_tls)
    assert b"second" in _served_cert(portal_tls)
    (tls / "key.pem").write_text("garbage\n")
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and "the old one stays" not in s.log_text():
        time.sleep(0.05)
    assert "the old one stays" in s.log_text()
    assert b"second" in _served_cert(turn_tls) and b"second" in _served_cert(portal_tls)
