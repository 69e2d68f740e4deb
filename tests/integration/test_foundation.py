"""The binary itself: commands, configuration, signals, health, backup, HTTP limits."""
import json
import pathlib
import re
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import BIN, Server, free_port, run_t9, turn_flags

CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"


def http_raw(port, data, timeout=5):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except socket.timeout:
            pass
    return b"".join(chunks)


@pytest.mark.release_only
def test_binary_is_static():
    out = subprocess.run(["file", BIN], capture_output=True, text=True).stdout
    assert "statically linked" in out or "static-pie linked" in out, out


def test_version_names_every_library():
    r = run_t9(["version"])
    assert r.returncode == 0, r.stderr
    for lib in ("t9phone 0.1.0", "libuv 1.44.2", "BearSSL 0.6", "SQLite 3.40.1", "llhttp 8.1.0"):
        assert lib in r.stdout, r.stdout


def test_serve_healthcheck_and_clean_stop(t9server):
    s = t9server()
    r = run_t9(["healthcheck", f"--portal-port={s.portal_port}"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "healthy"
    assert s.stop() == 0
    assert "stopped cleanly" in s.log_text()
    # The WAL was checkpointed into the database and truncated on the way out.
    wal = s.data_dir / "t9phone.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    # Once stopped, the health check says so.
    r = run_t9(["healthcheck", f"--portal-port={s.portal_port}"])
    assert r.returncode != 0
    assert "cannot connect" in r.stderr


def test_sigint_stops_cleanly(t9server):
    s = t9server()
    assert s.stop(signal.SIGINT) == 0


def test_sighup_keeps_serving(t9server):
    s = t9server()
    s.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    assert s.proc.poll() is None
    s.wait_healthy()
    assert "reloading" in s.log_text()


def test_database_is_wal_with_schema(t9server):
    s = t9server()
    db = sqlite3.connect(s.data_dir / "t9phone.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] >= 0
    db.close()
    mode = (s.data_dir / "t9phone.db").stat().st_mode & 0o777
    assert mode == 0o600, oct(mode)


def test_refuses_database_from_newer_version(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    db = sqlite3.connect(data / "t9phone.db")
    db.execute("PRAGMA user_version = 9999")
    db.close()
    r = run_t9(["serve", f"--data-dir={data}", f"--portal-port={free_port()}"], timeout=20)
    assert r.returncode != 0
    assert "newer than this t9phone knows" in r.stderr


def test_config_precedence_file_env_flag(tmp_path):
    """File is weakest, environment beats the file, a flag beats both."""
    p_file, p_env, p_flag = free_port(), free_port(), free_port()
    conf = tmp_path / "t.conf"
    conf.write_text(f"# comment\nportal-port={p_file}\nlog-format json\n")
    data = tmp_path / "data"

    def healthy(port):
        return run_t9(["healthcheck", f"--portal-port={port}"]).returncode == 0

    for env, flags, want in (({}, [], p_file),
                             ({"T9PHONE_PORTAL_PORT": str(p_env)}, [], p_env),
                             ({"T9PHONE_PORTAL_PORT": str(p_env)}, [f"--portal-port={p_flag}"], p_flag)):
        e = {k: v for k, v in os.environ.items() if not k.startswith("T9PHONE_")}
        e.update(env)
        log = open(tmp_path / "log", "wb")
        proc = subprocess.Popen([BIN, "serve", "--config", str(conf), f"--data-dir={data}"] + turn_flags() + flags,
                                env=e, stderr=log)
        try:
            deadline = time.monotonic() + 10
            while not healthy(want) and time.monotonic() < deadline:
                assert proc.poll() is None
                time.sleep(0.05)
            assert healthy(want)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
            log.close()
        # log-format from the file applies: every line is JSON.
        lines = (tmp_path / "log").read_text().splitlines()
        assert lines and all(json.loads(l)["component"] for l in lines)


@pytest.mark.parametrize("conf,needle", [
    ("portal-port=8080\nno-such-key=1\n", "t.conf:2: unknown key 'no-such-key'"),
    ("portal-port=99999\n", "t.conf:1: 'portal-port' must be between 1 and 65535"),
    ("portal-port=eighty\n", "'portal-port' must be a whole number"),
    ("log-format=xml\n", "'log-format' must be one of text|json"),
    ("portal-port=1\nportal-port=2\n", "t.conf:2: 'portal-port' is given twice"),
])
def test_bad_config_file_stops_startup(tmp_path, conf, needle):
    f = tmp_path / "t.conf"
    f.write_text(conf)
    r = run_t9(["serve", "--config", str(f), f"--data-dir={tmp_path}/d"], timeout=20)
    assert r.returncode != 0
    assert needle in r.stderr, r.stderr


def test_bad_flag_and_env_stop_startup(tmp_path):
    r = run_t9(["serve", "--bogus=1", f"--data-dir={tmp_path}/d"], timeout=20)
    assert r.returncode != 0 and "unknown key 'bogus'" in r.stderr
    r = run_t9(["serve", f"--data-dir={tmp_path}/d"], env={"T9PHONE_BOGUS_KEY": "x"}, timeout=20)
    assert r.returncode != 0 and "T9PHONE_BOGUS_KEY" in r.stderr
    r = run_t9(["serve", "--config", str(tmp_path / "missing.conf")], timeout=20)
    assert r.returncode != 0 and "missing.conf" in r.stderr


def test_backup_of_running_instance(t9server, tmp_path):
    s = t9server()
    dst = tmp_path / "backup.db"
    r = s.cli("backup", str(dst))
    assert r.returncode == 0, r.stderr
    live = sqlite3.connect(s.data_dir / "t9phone.db")
    copy = sqlite3.connect(dst)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("PRAGMA user_version").fetchone() == live.execute("PRAGMA user_version").fetchone()
    tables = "SELECT name, sql FROM sqlite_schema ORDER BY name"
    assert copy.execute(tables).fetchall() == live.execute(tables).fetchall()
    # Never overwrites an existing file.
    r = s.cli("backup", str(dst))
    assert r.returncode != 0 and "refusing to overwrite" in r.stderr


def test_http_answers_bad_input_with_400(t9server):
    s = t9server()
    resp = http_raw(s.portal_port, b"GARBAGE\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 400 Bad Request"), resp
    resp = http_raw(s.portal_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 431 "), resp[:80]
    resp = http_raw(s.portal_port, b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 413 "), resp[:80]
    resp = http_raw(s.portal_port, b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 404 "), resp[:80]
    # Keep-alive: two requests on one connection, both answered.
    resp = http_raw(s.portal_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                    b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert resp.count(b"HTTP/1.1 200 OK") == 2, resp
    # Still healthy after all of that.
    s.wait_healthy()


@pytest.mark.release_only
def test_runs_alone_in_an_empty_root(tmp_path):
    """What the FROM scratch image holds: the binary and nothing else."""
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy2(BIN, root / "t9phone")
    assert sorted(p.name for p in root.iterdir()) == ["t9phone"]
    r = subprocess.run([CHROOT, str(root), "/t9phone", "version"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert "SQLite 3.40.1" in r.stdout
    port = free_port()
    log = open(tmp_path / "chroot.log", "wb")
    proc = subprocess.Popen([CHROOT, str(root), "/t9phone", "serve", "--data-dir=/data",
                             f"--portal-port={port}"] + turn_flags(), stderr=log, env={})
    try:
        ok = False
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not ok:
            assert proc.poll() is None, (tmp_path / "chroot.log").read_text()
            ok = subprocess.run([CHROOT, str(root), "/t9phone", "healthcheck", f"--portal-port={port}"],
                                capture_output=True, timeout=10, env={}).returncode == 0
            time.sleep(0.05)
        assert ok, (tmp_path / "chroot.log").read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        log.close()
    assert (root / "data" / "t9phone.db").exists()


def test_secret_key_created_private_on_first_start(t9server):
    s = t9server()
    key = s.data_dir / "secret.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert len(bytes.fromhex(key.read_text().strip())) == 32
    assert "keep it outside the data volume" in s.log_text()


def test_bad_secret_key_stops_startup(tmp_path):
    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n")
    bad.chmod(0o600)
    r = run_t9(["serve", f"--data-dir={tmp_path}/d", f"--secret-key-file={bad}",
                f"--portal-port={free_port()}"], timeout=20)
    assert r.returncode != 0
    assert "is not a 32-byte key" in r.stderr


def test_readme_documents_every_config_key():
    """Each key the binary knows has a row in a README table, with its status."""
    readme = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = {}
    for line in readme.splitlines():
        m = re.match(r"^\| `([a-zA-Z0-9_-]+)` \|([^|]*)\|", line)
        if m:
            rows[m.group(1)] = m.group(2).strip()
    r = run_t9(["keys"])
    assert r.returncode == 0, r.stderr
    keys = [l.split("\t") for l in r.stdout.splitlines()]
    assert len(keys) > 100
    missing = [k for k, *_ in keys if k not in rows]
    assert not missing, f"README has no row for {missing}"
    for name, status, *_ in keys:
        if status == "refused":
            assert rows[name] == "refused at start-up", name
        elif status == "no-effect":
            assert rows[name].startswith("accepted, no effect"), name
        else:
            assert not rows[name].startswith(("refused", "accepted, no effect")), name
    names = {k for k, *_ in keys}
    # Rows in the coturn table name only keys that exist.
    coturn = readme[readme.index("### coturn configuration keys"):]
    for line in coturn.splitlines():
        m = re.match(r"^\| `([a-zA-Z0-9_-]+)` \|", line)
        if m:
            assert m.group(1) in names, f"README lists unknown key {m.group(1)}"
