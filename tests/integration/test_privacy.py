"""Promises of "What we store" (sql/privacy.tsv) against the real binary.

The copied-volume attack: a copy of the data volume without the secret key
(a backup, a snapshot) must not let anyone relay or register as a user. The
database holds the TURN/SIP key (HA1) only sealed, so nothing in the copy
works as a key against the running server, and a server started on the copy
with another key refuses to start. coturn's turnutils_uclient shows the real
credentials relay; a raw STUN client tries every candidate key in the copy.

Loopback only; every server is stopped by the t9server fixture, which also
checks its log and database files for the registered names (forbid()).
"""
import hashlib
import shutil
import sqlite3
import subprocess

from conftest import free_port, run_t9
from test_turn import REALM, Client, error_code, ltc_key, lost_packets, peer, turn_args, uclient

PW = "correct horse battery staple\n"

__all__ = ["peer"]  # the fixture, imported for this module's tests


def sip_credentials(srv, email):
    r = srv.cli("user", "sip", email, "--show-password")
    assert r.returncode == 0, r.stderr
    assert "because --show-password was given" in r.stderr
    kv = dict(l.split("=", 1) for l in r.stdout.splitlines())
    return kv["sip-username"], kv["sip-password"]


def candidate_keys(db_path):
    """Every 16 bytes the copied database could offer as a TURN key: each
    16-byte window of every blob and text value of sip_credentials, and
    each 32-hex-digit text value decoded."""
    keys = set()
    with sqlite3.connect(db_path) as db:
        for row in db.execute("SELECT * FROM sip_credentials"):
            for v in row:
                if isinstance(v, str):
                    if len(v) == 32:
                        try:
                            keys.add(bytes.fromhex(v))
                        except ValueError:
                            pass
                    v = v.encode()
                if isinstance(v, bytes):
                    for i in range(0, max(0, len(v) - 15)):
                        keys.add(v[i:i + 16])
    return keys


def allocate_status(port, user, key):
    c = Client(port)
    try:
        (_, cls, _, a), _ = c.allocate(user, key)
        return "ok" if cls == 2 else error_code(a)
    finally:
        c.close()


def test_copied_volume_without_the_key_cannot_relay(t9server, peer, tmp_path):
    port, _, args = turn_args(extra=["--allow-loopback-peers"])
    srv = t9server(args)
    r = srv.cli("user", "add", "--email", "copy@example.org", "--nickname", "copier", input=PW)
    assert r.returncode == 0, r.stderr
    user, pw = sip_credentials(srv, "copy@example.org")
    srv.forbid(user, "copy@example.org", "copier")
    # The real credentials relay (coturn's client), and so does their key.
    rc, out = uclient(port, peer, [], ["-u", user, "-w", pw])
    assert rc == 0, out[-3000:]
    assert lost_packets(out) == 0, out[-3000:]
    real = ltc_key(user, pw)
    assert allocate_status(port, user, real) == "ok"

    # The volume, copied while the server runs (a consistent snapshot).
    copy = tmp_path / "copy"
    copy.mkdir()
    r = run_t9(["backup", str(copy / "t9phone.db"), f"--data-dir={srv.data_dir}"])
    assert r.returncode == 0, r.stderr
    blob = b"".join(p.read_bytes() for p in copy.iterdir())
    assert real not in blob and real.hex().encode() not in blob
    assert pw.encode() not in blob
    # Nothing in it works as the key against the running server.
    keys = candidate_keys(copy / "t9phone.db")
    assert len(keys) > 50
    assert real not in keys
    refused = [allocate_status(port, user, k) for k in sorted(keys)]
    assert refused == [401] * len(keys)

    # A server on the copy with another secret key refuses to start.
    other_key = tmp_path / "other.key"
    other_key.write_text("42" * 32 + "\n")
    other_key.chmod(0o600)
    p2, _, args2 = turn_args()
    proc = subprocess.run(
        [shutil.which("timeout") or "timeout", "30", str(srv_binary()), "serve",
         f"--data-dir={copy}", f"--secret-key-file={other_key}", f"--portal-port={free_port()}",
         *args2],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "wrong key" in proc.stdout + proc.stderr
    # The same copy with the right key is a working backup.
    r = run_t9(["user", "sip", "copy@example.org", "--show-password", f"--data-dir={copy}",
                f"--secret-key-file={srv.data_dir / 'secret.key'}"])
    assert r.returncode == 0 and f"sip-password={pw}" in r.stdout, r.stderr


def srv_binary():
    import conftest
    return conftest.BIN


def test_sip_password_is_shown_only_on_request(t9server):
    srv = t9server()
    r = srv.cli("user", "add", "--email", "shy@example.org", "--nickname", "shyone", input=PW)
    assert r.returncode == 0, r.stderr
    r = srv.cli("user", "sip", "shy@example.org")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("sip-username=") and "sip-password" not in r.stdout
    assert "--show-password" in r.stderr
    user, pw = sip_credentials(srv, "shy@example.org")
    assert pw not in r.stdout + r.stderr
    srv.forbid(user, pw, "shy@example.org", "shyone")


def test_cli_password_with_a_nul_is_refused(tmp_path):
    data = tmp_path / "data"
    import conftest
    r = subprocess.run([conftest.BIN, f"--data-dir={data}", "user", "add", "--email",
                        "nul@example.org", "--nickname", "nulnul"],
                       input=b"correct horse\0battery staple\n", capture_output=True,
                       timeout=60)
    assert r.returncode == 1, r.stderr
    assert b"NUL" in r.stderr
    r = run_t9([f"--data-dir={data}", "user", "list"])
    assert r.returncode == 0 and r.stdout == "", r.stderr


def test_unicode_twins_are_one_account(tmp_path):
    data = tmp_path / "data"
    base = [f"--data-dir={data}", "user", "add", "--nickname"]
    r = run_t9(base + ["penaaa", "--email", "pe\u00f1a@Ejemplo.ES"], input=PW)
    assert r.returncode == 0, r.stderr
    r = run_t9(base + ["penabb", "--email", "pen\u0303a@ejemplo.es"], input=PW)
    assert r.returncode == 1 and "already registered" in r.stderr, r.stderr
    r = run_t9(base + ["evilrt", "--email", "evil\u202eabc@example.org"], input=PW)
    assert r.returncode == 1, r.stderr
    r = run_t9([f"--data-dir={data}", "user", "list"])
    assert r.stdout.split("\t")[0] == "pe\u00f1a@ejemplo.es"
    with sqlite3.connect(data / "t9phone.db") as db:
        (email,) = db.execute("SELECT email FROM users").fetchone()
    assert email.encode() == "pe\u00f1a@ejemplo.es".encode()
