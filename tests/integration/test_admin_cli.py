"""The admin CLI (`t9phone user ...`, `t9phone group ...`) on a real database,
of a stopped instance and of a running one.

Output contract (src/cli/admin.h): one TAB-separated record per line, no
header; errors are one line on stderr; exit 0 done, 1 refused, 2 usage
error, 3 internal error.
"""
import hashlib
import sqlite3

import pytest

from conftest import free_port, run_t9

PW = "correct horse battery\n"


def t9(data, *args, input=None, extra=()):
    # Configuration flags first: an option missing its value must not take one.
    return run_t9([f"--data-dir={data}"] + list(extra) + list(args), input=input)


def add_user(data, email, nick, pw=PW, extra=()):
    r = t9(data, "user", "add", "--email", email, "--nickname", nick, input=pw, extra=extra)
    assert r.returncode == 0, r.stderr
    return r.stdout.rstrip("\n").split("\t")


def lines(out):
    return [l.split("\t") for l in out.splitlines()]


def db_files(data):
    return [p for p in data.iterdir() if p.name.startswith("t9phone.db")]


def test_user_add_and_list(tmp_path):
    data = tmp_path / "data"
    email, nick, code, sip = add_user(data, " Marina@Example.ORG ", "Marina")
    assert (email, nick, code) == ("Marina@example.org", "marina", "627462")
    assert len(sip) == 16 and sip.isalnum() and sip.islower()
    add_user(data, "bob@example.org", "bobbybob", pw="another password\r\n")
    r = t9(data, "user", "list")
    assert r.returncode == 0, r.stderr
    rows = lines(r.stdout)
    assert [row[:3] for row in rows] == [["Marina@example.org", "marina", "627462"],
                                         ["bob@example.org", "bobbybob", "26229262"]]
    for row in rows:
        assert len(row) == 5
        assert row[3].endswith("Z") and row[3][4] == "-"  # ISO 8601, UTC
        assert row[4] == "ok"  # made by an admin: verified, not locked
    # The password is stored only as a bcrypt hash.
    with sqlite3.connect(data / "t9phone.db") as db:
        hashes = [h for (h,) in db.execute("SELECT password_hash FROM users")]
    assert all(h.startswith("$2b$12$") and len(h) == 60 for h in hashes)
    for f in db_files(data):
        assert b"correct horse battery" not in f.read_bytes()


@pytest.mark.parametrize("args,stdin,status,needle", [
    (["--email", "marina@example.org", "--nickname", "marina"], PW, 1, "email already registered"),
    (["--email", "MARINA@example.org", "--nickname", "another"], PW, 1,
     "email already registered"),
    (["--email", "x@example.org", "--nickname", "abc"], PW, 1, "nickname"),
    (["--email", "x@example.org", "--nickname", "marina1"], PW, 1, "nickname"),
    (["--email", "not-an-email", "--nickname", "xavier"], PW, 1, "email"),
    (["--email", "x@example.org", "--nickname", "xavier"], "short\n", 1, "password"),
    (["--email", "x@example.org", "--nickname", "xavier"], "x@example.org\n", 1, "password"),
    (["--email", "x@example.org", "--nickname", "xavier"], "", 2, "stdin"),
    (["--email", "x@example.org"], PW, 2, "--nickname"),
    (["--email"], PW, 2, "needs a value"),
    (["--email", "x@example.org", "--nickname", "xavier", "extra"], PW, 2, "unexpected"),
])
def test_user_add_refusals(tmp_path, args, stdin, status, needle):
    data = tmp_path / "data"
    add_user(data, "marina@example.org", "marina")
    r = t9(data, "user", "add", *args, input=stdin)
    assert r.returncode == status, r.stderr
    assert r.stdout == ""
    errs = [l for l in r.stderr.splitlines() if l.startswith("t9phone user")]
    assert errs and needle in errs[0]
    assert len(lines(t9(data, "user", "list").stdout)) == 1


@pytest.mark.parametrize("args", [
    ["user"], ["user", "frobnicate"], ["group", "frobnicate"], ["user", "list", "extra"],
    ["user", "delete"], ["group", "join", "slug"], ["group", "add", "Name"],
    ["user", "list", "--email=x@example.org"],
])
def test_usage_errors_exit_2(tmp_path, args):
    r = t9(tmp_path / "data", *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stdout == ""
    assert "usage" in r.stderr


def test_user_delete_leaves_no_trace(tmp_path):
    data = tmp_path / "data"
    add_user(data, "owner@example.org", "ownerr")
    _, _, _, sip = add_user(data, "Zed.Deleted@example.org", "zzzdeleted")
    r = t9(data, "group", "add", "Zed's own group", "--owner", "zed.deleted@example.org")
    assert r.returncode == 0 and r.stdout == "zed-s-own-group\n"
    assert t9(data, "group", "add", "Shared", "--owner", "owner@example.org").returncode == 0
    assert t9(data, "group", "join", "shared", "zed.deleted@example.org").returncode == 0
    assert t9(data, "group", "join", "zed-s-own-group", "owner@example.org").returncode == 0
    assert any(b"Zed.Deleted@example.org" in f.read_bytes() for f in db_files(data))

    r = t9(data, "user", "delete", "ZED.deleted@example.org")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    for f in db_files(data):
        blob = f.read_bytes()
        for needle in (b"Zed.Deleted@example.org", b"zzzdeleted", sip.encode(),
                       b"Zed's own group"):
            assert needle not in blob, f"{f.name} still holds {needle!r}"
    assert [row[0] for row in lines(t9(data, "user", "list").stdout)] == ["owner@example.org"]
    assert lines(t9(data, "group", "list").stdout) == [["shared", "Shared", "1", "50",
                                                        "owner@example.org"]]
    r = t9(data, "user", "delete", "zed.deleted@example.org")
    assert r.returncode == 1
    assert "not found" in r.stderr


def test_user_unlock(tmp_path):
    data = tmp_path / "data"
    add_user(data, "marina@example.org", "marina")
    # Lock the account the way five wrong passwords would.
    with sqlite3.connect(data / "t9phone.db") as db:
        db.execute("UPDATE users SET failed_logins = 5, locked_until = 4102444800")
    assert lines(t9(data, "user", "list").stdout)[0][4] == "locked"
    r = t9(data, "user", "unlock", "Marina@example.org")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert lines(t9(data, "user", "list").stdout)[0][4] == "ok"
    with sqlite3.connect(data / "t9phone.db") as db:
        assert db.execute("SELECT failed_logins, locked_until FROM users").fetchone() == (0, None)
    assert t9(data, "user", "unlock", "nobody@example.org").returncode == 1


def test_user_sip_credentials_match_the_stored_digest(tmp_path):
    data = tmp_path / "data"
    realm = ["--realm=calls.example.org"]
    _, _, _, sip = add_user(data, "marina@example.org", "marina", extra=realm)
    # Without the switch: the username only, and why the password is not shown.
    r = t9(data, "user", "sip", "marina@example.org", extra=realm)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"sip-username={sip}\n"
    assert "--show-password" in r.stderr
    r = t9(data, "user", "sip", "marina@example.org", "--show-password", extra=realm)
    assert r.returncode == 0, r.stderr
    assert "because --show-password was given" in r.stderr
    kv = dict(l.split("=", 1) for l in r.stdout.splitlines())
    assert set(kv) == {"sip-username", "sip-password"}
    assert kv["sip-username"] == sip
    ha1 = hashlib.md5(f"{sip}:calls.example.org:{kv['sip-password']}".encode()).digest()
    # The digest key is stored only sealed, beside the realm it was made for.
    with sqlite3.connect(data / "t9phone.db") as db:
        cols = [c[1] for c in db.execute("PRAGMA table_xinfo(sip_credentials)")]
        (box, stored_realm) = db.execute(
            "SELECT ha1_enc, realm FROM sip_credentials WHERE username = ?", (sip,)).fetchone()
    assert "ha1" not in cols
    assert stored_realm == "calls.example.org" and len(box) == 45 and ha1 not in box
    # Neither the plaintext nor the digest key is ever in the database.
    for f in db_files(data):
        blob = f.read_bytes()
        assert kv["sip-password"].encode() not in blob
        assert ha1 not in blob and ha1.hex().encode() not in blob
    assert t9(data, "user", "sip", "nobody@example.org").returncode == 1


def test_user_sip_with_the_wrong_key_is_an_error(tmp_path):
    data = tmp_path / "data"
    key1, key2 = tmp_path / "k1", tmp_path / "k2"
    key1.write_text("11" * 32 + "\n")
    key2.write_text("22" * 32 + "\n")
    key1.chmod(0o600)
    key2.chmod(0o600)
    add_user(data, "marina@example.org", "marina", extra=[f"--secret-key-file={key1}"])
    r = t9(data, "user", "sip", "marina@example.org", "--show-password",
           extra=[f"--secret-key-file={key2}"])
    assert r.returncode == 3
    assert r.stdout == ""
    assert "decrypt" in r.stderr
    r = t9(data, "user", "sip", "marina@example.org", "--show-password",
           extra=[f"--secret-key-file={key1}"])
    assert r.returncode == 0 and "sip-password=" in r.stdout


def test_groups(tmp_path):
    data = tmp_path / "data"
    add_user(data, "owner@example.org", "ownerr")
    add_user(data, "marina@example.org", "marina")
    add_user(data, "narina@example.org", "narina")  # dials 627462 like marina
    add_user(data, "dave@example.org", "davedave")
    r = t9(data, "group", "add", "The Family", "--owner", "owner@example.org", "--cap", "3")
    assert (r.returncode, r.stdout) == (0, "the-family\n"), r.stderr
    r = t9(data, "group", "add", "the family", "--owner=OWNER@example.org")
    assert (r.returncode, r.stdout) == (0, "the-family-2\n"), r.stderr

    r = t9(data, "group", "join", "the-family", "marina@example.org")
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    for slug, email, reason in [
        ("the-family", "marina@example.org", "already a member"),
        ("the-family", "narina@example.org", "dial code"),
        ("no-such-group", "dave@example.org", "not found"),
        ("the-family", "nobody@example.org", "not found"),
    ]:
        r = t9(data, "group", "join", slug, email)
        assert r.returncode == 1, (slug, email, r.stderr)
        assert reason in r.stderr
    assert t9(data, "group", "join", "the-family", "dave@example.org").returncode == 0
    r = t9(data, "group", "join", "the-family", "narina@example.org")
    assert r.returncode == 1 and "full" in r.stderr

    assert lines(t9(data, "group", "list").stdout) == [
        ["the-family", "The Family", "3", "3", "owner@example.org"],
        ["the-family-2", "the family", "1", "50", "owner@example.org"],
    ]
    for args, status in [(["X", "--owner", "nobody@example.org"], 1),
                         (["X", "--owner", "owner@example.org", "--cap", "0"], 1),
                         (["X", "--owner", "owner@example.org", "--cap", "many"], 1),
                         (["", "--owner", "owner@example.org"], 1),
                         (["X"], 2)]:
        r = t9(data, "group", "add", *args)
        assert r.returncode == status, (args, r.stderr)
    # The event log recorded the joins (and nothing about calls).
    with sqlite3.connect(data / "t9phone.db") as db:
        types = [t for (t,) in db.execute("SELECT type FROM group_events ORDER BY id")]
    assert types == ["join", "join", "join", "join"]


def test_cli_on_a_running_instance(t9server):
    # Its own TURN port: other instances may be running on this machine.
    s = t9server([f"--listening-port={free_port()}"])
    r = s.cli("user", "add", "--email", "alice@example.org", "--nickname", "alicea", input=PW)
    assert r.returncode == 0, r.stderr
    r = s.cli("user", "add", "--email", "gone.soon@example.org", "--nickname", "gonesoon",
              input=PW)
    assert r.returncode == 0, r.stderr
    sip = r.stdout.rstrip("\n").split("\t")[3]
    assert s.cli("group", "add", "Friends", "--owner", "alice@example.org").returncode == 0
    assert s.cli("group", "join", "friends", "gone.soon@example.org").returncode == 0
    assert lines(s.cli("group", "list").stdout) == [
        ["friends", "Friends", "2", "50", "alice@example.org"]]
    r = s.cli("user", "delete", "gone.soon@example.org")
    assert r.returncode == 0, r.stderr
    # Checked when the server stops: neither its log nor its database files
    # (main file and WAL) may hold anything of the deleted account.
    s.forbid_stored("gone.soon@example.org", "gonesoon", sip)
    assert [row[0] for row in lines(s.cli("user", "list").stdout)] == ["alice@example.org"]
    assert s.proc.poll() is None


def test_user_unverified_lists_accounts_and_when_they_go(tmp_path):
    data = tmp_path / "data"
    add_user(data, "verified@example.org", "verifd")
    add_user(data, "typo@example.org", "typoed")
    # An account whose verification link (made like a sign-up's) expired on
    # 2 January 2100; the purge deletes it 7 days later.
    with sqlite3.connect(data / "t9phone.db") as db:
        db.execute("INSERT INTO email_tokens SELECT randomblob(32), id, 'verify', 4102531200 "
                   "FROM users WHERE email = 'typo@example.org'")
    r = t9(data, "user", "unverified")
    assert r.returncode == 0, r.stderr
    rows = lines(r.stdout)
    assert [row[:2] for row in rows] == [["typo@example.org", "typoed"]]
    assert rows[0][3] == "2100-01-09T00:00:00Z"
    assert [row[4] for row in lines(t9(data, "user", "list").stdout)] == ["ok", "unverified"]
    assert t9(data, "user", "unverified", "extra").returncode == 2
