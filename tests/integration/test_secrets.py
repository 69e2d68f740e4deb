"""Secrets handled like secrets: masked in the process list, no core dumps,
and a key file that others can read is refused."""
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
import urllib.request

from conftest import BIN, free_port, run_t9, turn_flags

SECRET = "cmdline-secret-3f9a1c"


def proc_cmdline(pid):
    return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()


def proc_status(pid, field):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def test_secret_on_command_line_is_masked_and_warned(t9server):
    s = t9server(["--use-auth-secret", f"--static-auth-secret={SECRET}"])
    s.forbid(SECRET)
    cmd = proc_cmdline(s.proc.pid)
    assert SECRET.encode() not in cmd
    assert b"--static-auth-secret=" + b"*" * len(SECRET) in cmd
    assert "secret(s) given on the command line" in s.log_text()


def test_secret_in_environment_is_not_warned(t9server):
    s = t9server(["--use-auth-secret"], env={"T9PHONE_STATIC_AUTH_SECRET": SECRET})
    s.forbid(SECRET)
    assert SECRET.encode() not in proc_cmdline(s.proc.pid)
    assert "given on the command line" not in s.log_text()


def test_serve_is_not_dumpable_and_writes_no_core():
    # Run as an unprivileged user: the kernel hands /proc/PID of a process
    # that is not dumpable to root, and leaves a dumpable one to its owner.
    # (pytest's tmp_path sits under a 0700 folder nobody cannot enter.)
    top = pathlib.Path(tempfile.mkdtemp(prefix="t9dump."))
    top.chmod(0o755)
    data = top / "d"
    data.mkdir()
    os.chown(data, 65534, 65534)
    # The checkout may sit where nobody cannot enter (/root): run a copy.
    binary = top / "t9phone"
    shutil.copy2(BIN, binary)
    binary.chmod(0o755)
    port = free_port()
    proc = subprocess.Popen([str(binary), "serve", f"--data-dir={data}", f"--portal-port={port}"] +
                            turn_flags(), user=65534, group=65534, extra_groups=[],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.05)
        limits = pathlib.Path(f"/proc/{proc.pid}/limits").read_text()
        core = [l for l in limits.splitlines() if l.startswith("Max core file size")]
        assert core and core[0].split()[4:6] == ["0", "0"], core
        assert proc_status(proc.pid, "Uid").split()[0] == "65534"
        assert pathlib.Path(f"/proc/{proc.pid}/mem").stat().st_uid == 0, "still dumpable"
    finally:
        proc.terminate()
        rc = proc.wait(timeout=20)
        err = proc.stderr.read().decode()
        proc.stderr.close()
        shutil.rmtree(top)
        assert rc == 0, err


def test_key_file_readable_by_others_is_refused(tmp_path):
    key = tmp_path / "secret.key"
    key.write_text("ab" * 32 + "\n")
    key.chmod(0o644)
    r = run_t9(["serve", f"--data-dir={tmp_path}/d", f"--secret-key-file={key}",
                f"--portal-port={free_port()}"] + turn_flags(), timeout=20)
    assert r.returncode == 1
    assert "has mode 0644" in r.stderr and "chmod 600" in r.stderr, r.stderr
    key.chmod(0o640)
    r = run_t9(["user", "list", f"--data-dir={tmp_path}/d", f"--secret-key-file={key}"])
    assert r.returncode == 3 and "has mode 0640" in r.stderr, r.stderr
    key.chmod(0o600)
    r = run_t9(["user", "list", f"--data-dir={tmp_path}/d", f"--secret-key-file={key}"])
    assert r.returncode == 0, r.stderr
