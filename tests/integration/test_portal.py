"""The portal over plain HTTP, as a browser without JavaScript uses it: every
flow through core/, CSRF, sessions (expiry, fixation, log out everywhere),
lockout, per-address rate limits, invitation states, each form's bad input,
the security headers on every route, and the privacy page against the
schema."""
import html
import http.client
import pathlib
import re
import sqlite3
import time
import urllib.parse

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
FAST = ["--portal-bcrypt-cost=4"]
PASSWORD = "correct horse battery"


class Client:
    """A cookie-keeping HTTP client that reads the CSRF token of each page."""

    def __init__(self, port, host="127.0.0.1", forwarded_for=None):
        self.port = port
        self.host = host
        self.cookies = {}
        self.csrf = None
        self.forwarded_for = forwarded_for

    def request(self, method, path, fields=None, headers=None, body=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        h = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.forwarded_for:
            h["X-Forwarded-For"] = self.forwarded_for
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read().decode("utf-8", "replace")
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, rest = v.split("=", 1)
                value = rest.split(";", 1)[0]
                if "Max-Age=0" in v:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
        m = re.search(r'name="csrf" value="([^"]+)"', data)
        if m:
            self.csrf = m.group(1)
        conn.close()
        r.body = data
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, fields, csrf=True, **kw):
        fields = dict(fields)
        if csrf:
            if self.csrf is None:
                self.get("/login")
            fields["csrf"] = self.csrf
        return self.request("POST", path, fields=fields, **kw)

    def follow(self, r):
        assert r.status in (301, 302, 303, 308), (r.status, r.body[:300])
        return self.get(r.getheader("Location"))


def signup(c, email, nick, password=PASSWORD, invite=None):
    c.get("/signup" + (f"?invite={invite}" if invite else ""))
    fields = {"email": email, "nickname": nick, "password": password}
    if invite:
        fields["invite"] = invite
    r = c.post("/signup", fields)
    assert r.status == 303, r.body[:2000]
    c.get(r.getheader("Location"))  # the session's CSRF token
    return r


def login(c, email, password=PASSWORD, expect=303):
    c.get("/login")
    r = c.post("/login", {"email": email, "password": password, "next": "/account"})
    assert r.status == expect, (r.status, r.body[:2000])
    if r.status == 303:
        c.get(r.getheader("Location"))
    return r


def make_group(c, name):
    c.get("/groups")
    r = c.post("/groups", {"name": name})
    assert r.status == 303, r.body[:1500]
    return r.getheader("Location").split("/g/")[1].split("?")[0]


def make_invite(c, slug, uses=1, email=""):
    c.get(f"/g/{slug}")
    r = c.post(f"/g/{slug}/invites", {"uses": str(uses), "email": email})
    assert r.status == 200, r.body[:1500]
    link = re.search(r'id="invite-link" type="text" readonly value="([^"]+)"', r.body).group(1)
    return html.unescape(link).rsplit("/i/", 1)[1]


def text(body):
    """The visible text of a page, roughly."""
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def db(server):
    return sqlite3.connect(str(server.data_dir / "t9phone.db"), timeout=10)


# ------------------------------------------------------------- the flows

def test_signup_group_invite_join_and_owner_actions(t9server):
    s = t9server(args=FAST)
    s.forbid("marina@example.org", "ivan@example.org")
    a, b = Client(s.portal_port), Client(s.portal_port)
    r = a.follow(signup(a, "marina@example.org", "Marina"))
    assert r.status == 200 and "Welcome" in r.body
    assert 'aria-label="dial code 627462"' in r.body
    assert r.getheader("Cache-Control") == "no-store"
    slug = make_group(a, "Family Ring")
    token = make_invite(a, slug, uses=2)
    page = b.get(f"/i/{token}")
    assert page.status == 200 and "Family Ring" in page.body
    r = signup(b, "ivan@example.org", "Ivanov", invite=token)
    assert r.getheader("Location") == f"/i/{token}"
    r = b.post(f"/i/{token}", {})
    assert r.status == 303 and r.getheader("Location") == f"/g/{slug}?m=joined"
    # Both see each other's dial codes.
    for c in (a, b):
        g = c.get(f"/g/{slug}")
        assert 'data-nick="marina" data-dial="627462"' in g.body
        assert 'data-nick="ivanov" data-dial="482668"' in g.body
    # The owner changes the cap, kicks, bans, unbans and hands over the group.
    assert a.post(f"/g/{slug}/cap", {"cap": "1"}).status == 422
    assert a.post(f"/g/{slug}/cap", {"cap": "5"}).status == 303
    assert a.post(f"/g/{slug}/kick", {"who": "482668"}).status == 303
    assert b.get(f"/g/{slug}").status == 404
    assert b.post(f"/i/{token}", {}).status == 303  # back with the same link
    assert a.post(f"/g/{slug}/ban", {"who": "482668"}).status == 303
    token2 = make_invite(a, slug)
    r = b.post(f"/i/{token2}", {})
    assert r.status == 403 and "cannot join" in r.body
    assert a.post(f"/g/{slug}/unban", {"who": "ivanov"}).status == 303
    r = b.post(f"/i/{token}", {})
    assert r.status == 410 and "used as often" in text(r.body)
    assert b.post(f"/i/{token2}", {}).status == 303
    assert a.post(f"/g/{slug}/transfer", {"who": "482668"}).status == 303
    g = b.get(f"/g/{slug}")
    assert "You are its owner" in g.body
    log = text(g.body.split('id="log"')[1].split("</ul>")[0])
    log = re.sub(r"\s+", " ", log)
    # The log names current members only: ivanov's entries from before the
    # kick and the ban name "a former member" (core/groups.h).
    for line in ("marina joined", "marina invited someone", "A former member joined",
                 "A former member accepted an invitation", "marina changed the member limit",
                 "marina removed a former member", "marina banned a former member",
                 "marina lifted the ban on a former member", "ivanov joined",
                 "ivanov accepted an invitation", "marina made ivanov the owner"):
        assert line in log, (line, log)
    # The old owner may leave now; the new one may not.
    assert b.post(f"/g/{slug}/leave", {}).status == 422
    assert a.post(f"/g/{slug}/leave", {}).status == 303
    r = b.post(f"/g/{slug}/delete", {})
    assert r.status == 422
    assert b.post(f"/g/{slug}/delete", {"confirm": "yes"}).status == 303
    assert b.get(f"/g/{slug}").status == 404


def test_nickname_change_collision_names_the_group_and_keeps_input(t9server):
    s = t9server(args=FAST)
    a, b = Client(s.portal_port), Client(s.portal_port)
    signup(a, "anna@example.org", "Marina")
    signup(b, "bert@example.org", "Bertram")
    slug = make_group(a, "Choir")
    b.post(f"/i/{make_invite(a, slug)}", {})
    b.get("/account")
    # "marina" and "paprika"? no: a nickname with the same keys as marina's.
    r = b.post("/account/nickname", {"nickname": "Mapina"})
    assert r.status == 422
    t = text(r.body)
    assert "Choir" in t and "627462" in t
    assert 'value="Mapina"' in r.body
    r = b.post("/account/nickname", {"nickname": "no"})
    assert r.status == 422 and "6 to 12 letters" in r.body
    r = b.post("/account/nickname", {"nickname": "Berthold"})
    assert r.status == 303
    assert "berthold" in b.get("/account").body
    assert "berthold took a new nickname" in text(a.get(f"/g/{slug}").body)


def test_active_group_and_sip_section(t9server):
    s = t9server(args=FAST)
    a = Client(s.portal_port)
    signup(a, "carla@example.org", "Carlota")
    slug = make_group(a, "Work")
    r = a.post("/account/active-group", {"group": slug})
    assert r.status == 303
    assert f'value="{slug}" selected' in a.get("/account").body
    assert a.post("/account/active-group", {"group": "nope"}).status == 422
    page = a.get("/account")
    assert 'id="sip-pass"' not in page.body
    user = re.search(r'id="sip-user">([a-z2-7]{16})<', page.body).group(1)
    r = a.post("/account/sip", {"password": "wrong password!"})
    assert r.status == 403 and 'id="sip-pass"' not in r.body
    r = a.post("/account/sip", {"password": PASSWORD})
    assert r.status == 200
    assert re.search(r'id="sip-pass">[A-Za-z0-9_-]{24}<', r.body)
    assert user in r.body
    s.forbid(user)


def test_password_change_ends_other_sessions_and_rotates_own(t9server):
    s = t9server(args=FAST)
    a, other = Client(s.portal_port), Client(s.portal_port)
    signup(a, "dora@example.org", "Dorothea")
    login(other, "dora@example.org")
    assert other.get("/account").status == 200
    old = a.cookies["t9s"]
    a.get("/account")
    r = a.post("/account/password", {"current": "not it at all", "new": "another long secret"})
    assert r.status == 403 and "not your password" in r.body
    r = a.post("/account/password", {"current": PASSWORD, "new": "short"})
    assert r.status == 422
    r = a.post("/account/password", {"current": PASSWORD, "new": "another long secret"})
    assert r.status == 303, r.body[:1000]
    assert a.cookies["t9s"] != old
    assert a.get("/account").status == 200
    assert other.get("/account").status == 303  # to /login
    stale = Client(s.portal_port)
    stale.cookies["t9s"] = old
    assert stale.get("/account").status == 303
    login(a, "dora@example.org", "another long secret")


def test_logout_and_logout_everywhere(t9server):
    s = t9server(args=FAST)
    a, b = Client(s.portal_port), Client(s.portal_port)
    signup(a, "eve@example.org", "Evelina")
    login(b, "eve@example.org")
    a.get("/account")
    r = a.post("/logout", {})
    assert r.status == 303 and "t9s" not in a.cookies
    assert b.get("/account").status == 200
    login(a, "eve@example.org")
    a.get("/account")
    assert a.post("/logout-everywhere", {}).status == 303
    assert b.get("/account").status == 303


def test_account_deletion_erases_person_and_owned_groups(t9server):
    s = t9server(args=FAST)
    a, b = Client(s.portal_port), Client(s.portal_port)
    signup(a, "gone@example.org", "Vanishing")
    signup(b, "stay@example.org", "Remaining")
    slug = make_group(a, "Ephemeral Club")
    b.post(f"/i/{make_invite(a, slug)}", {})
    page = a.get("/account")
    assert "Ephemeral Club" in page.body.split('id="s-del"')[1]
    r = a.post("/account/delete", {"delpassword": "wrong wrong wrong"})
    assert r.status == 403
    r = a.post("/account/delete", {"delpassword": PASSWORD})
    assert r.status == 303 and r.getheader("Location") == "/?m=deleted"
    assert a.get("/account").status == 303
    assert b.get(f"/g/{slug}").status == 404
    login(Client(s.portal_port), "gone@example.org", expect=403)
    s.forbid_stored("gone@example.org", "vanishing", "Ephemeral Club")


# ------------------------------------------------------ security plumbing

EVERY_GET = ["/", "/healthz", "/privacy", "/signup", "/login", "/forgot", "/reset?token=x",
             "/verify?token=x", "/i/unknown", "/account", "/groups", "/g/nope",
             "/assets/style.css", "/assets/app.js", "/assets/logo.svg", "/nope"]
EVERY_POST = ["/signup", "/login", "/logout", "/logout-everywhere", "/verify", "/forgot",
              "/reset", "/i/x", "/account/nickname", "/account/password",
              "/account/active-group", "/account/sip", "/account/delete", "/groups",
              "/g/x/cap", "/g/x/invites", "/g/x/revoke", "/g/x/kick", "/g/x/ban",
              "/g/x/unban", "/g/x/leave", "/g/x/transfer", "/g/x/delete"]


def check_headers(r, path):
    csp = r.getheader("Content-Security-Policy") or ""
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
    assert "unsafe-inline" not in csp, path
    assert r.getheader("X-Content-Type-Options") == "nosniff", path
    assert r.getheader("Referrer-Policy") == "no-referrer", path
    assert r.getheader("X-Frame-Options") == "DENY", path
    assert r.getheader("Strict-Transport-Security") is None, path  # plain HTTP


def test_security_headers_on_every_route(t9server):
    s = t9server(args=FAST)
    anon, user = Client(s.portal_port), Client(s.portal_port)
    signup(user, "hdr@example.org", "Headers")
    for c in (anon, user):
        for path in EVERY_GET:
            r = c.get(path)
            check_headers(r, path)
            if not path.startswith("/assets/"):
                assert r.getheader("Cache-Control") == "no-store", path
            if r.getheader("Content-Type", "").startswith("text/html"):
                assert "<script>" not in r.body and " style=" not in r.body, path
        for path in EVERY_POST:
            r = c.post(path, {}, csrf=False)
            check_headers(r, path)
            assert r.status in (403, 404), (path, r.status)
    r = anon.request("DELETE", "/account")
    assert r.status == 405 and "GET" in r.getheader("Allow")
    check_headers(r, "DELETE")
    r = anon.get("/assets/style.css")
    assert r.getheader("Cache-Control").startswith("public") and r.getheader("ETag")
    r2 = anon.get("/assets/style.css", headers={"If-None-Match": r.getheader("ETag")})
    assert r2.status == 304


def test_csrf_refusals(t9server):
    s = t9server(args=FAST)
    a = Client(s.portal_port)
    signup(a, "csrf@example.org", "Csrfcheck")
    a.get("/account")
    good = a.csrf
    r = a.post("/account/nickname", {"nickname": "Changedname"}, csrf=False)
    assert r.status == 403 and "Form expired" in r.body
    r = a.request("POST", "/account/nickname", fields={"nickname": "Changedname", "csrf": "x" * 43})
    assert r.status == 403
    r = a.request("POST", "/account/nickname", fields={"nickname": "Changedname", "csrf": good},
                  headers={"Origin": "https://evil.example"})
    assert r.status == 403
    r = a.request("POST", "/account/nickname", fields={"nickname": "Changedname", "csrf": good},
                  headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status == 403
    # Before login: the form token must match the browser's cookie.
    fresh = Client(s.portal_port)
    r = fresh.request("POST", "/login", fields={"email": "csrf@example.org", "password": PASSWORD,
                                                "csrf": good})
    assert r.status == 403
    assert "csrfcheck" in a.get("/account").body
    r = a.request("POST", "/account/nickname", fields={"nickname": "Changedname", "csrf": good},
                  headers={"Origin": f"http://127.0.0.1:{s.portal_port}"})
    assert r.status == 303
    m = s.metrics()
    assert m["t9phone_portal_csrf_refused_total"] >= 5
    r = a.request("POST", "/account/nickname", body="nickname=x", headers={
        "Content-Type": "text/plain"})
    assert r.status == 415


def test_session_fixation_and_expiry(t9server):
    s = t9server(args=FAST)
    a = Client(s.portal_port)
    signup(a, "fix@example.org", "Fixation")
    first = a.cookies["t9s"]
    login(a, "fix@example.org")
    second = a.cookies["t9s"]
    assert second != first
    planted = Client(s.portal_port)
    planted.cookies["t9s"] = first
    assert planted.get("/account").status == 303  # the old id ended at the new login
    # A session id chosen by an attacker is never adopted.
    evil = Client(s.portal_port)
    evil.cookies["t9s"] = "A" * 43
    login(evil, "fix@example.org")
    assert evil.cookies["t9s"] != "A" * 43
    # 31 days without use end the session.
    assert a.get("/account").status == 200
    with db(s) as d:
        d.execute("UPDATE sessions SET last_active = last_active - 31 * 86400")
    assert a.get("/account").status == 303
    assert a.get("/account").status == 303


def test_lockout_is_told_only_to_the_source_that_failed(t9server):
    """core locks an (email, source) pair: the failing address is told it is
    locked, everybody else sees a wrong password, and the owner elsewhere
    still logs in."""
    s = t9server(args=FAST + ["--trusted-proxy=127.0.0.1", "--portal-rate-limit=50"])
    owner = Client(s.portal_port, forwarded_for="192.0.2.10")
    signup(owner, "lock@example.org", "Lockable")
    attacker = Client(s.portal_port, forwarded_for="198.51.100.7")
    for _ in range(4):
        r = login(attacker, "lock@example.org", "guess guess guess", expect=403)
        assert "Wrong email or password" in r.body
    r = login(attacker, "lock@example.org", "guess guess guess", expect=403)
    assert "locked for 15 minutes" in r.body  # the fifth wrong password locks
    r = login(attacker, "lock@example.org", PASSWORD, expect=403)
    assert "locked for 15 minutes" in r.body  # even with the right password
    # Unknown emails lock the same way: the answers never tell which exist.
    for _ in range(4):
        r = login(attacker, "nobody@example.org", "guess guess guess", expect=403)
        assert "Wrong email or password" in r.body
    r = login(attacker, "nobody@example.org", "guess guess guess", expect=403)
    assert "locked for 15 minutes" in r.body
    bystander = Client(s.portal_port, forwarded_for="203.0.113.5")
    r = login(bystander, "lock@example.org", "another guess!!", expect=403)
    assert "Wrong email or password" in r.body and "locked" not in r.body
    login(Client(s.portal_port, forwarded_for="192.0.2.10"), "lock@example.org", PASSWORD)


def test_rate_limits_per_address(t9server):
    s = t9server(args=FAST + ["--trusted-proxy=127.0.0.1", "--portal-rate-limit=3"])
    a = Client(s.portal_port, forwarded_for="192.0.2.1")
    for _ in range(3):
        login(a, "x@example.org", "wrong password", expect=403)
    r = login(a, "x@example.org", "wrong password", expect=429)
    assert "Too many" in r.body
    b = Client(s.portal_port, forwarded_for="192.0.2.2")
    login(b, "x@example.org", "wrong password", expect=403)
    for i in range(3):
        a.get("/forgot")
        assert a.post("/forgot", {"email": f"x{i}@example.org"}).status == 303
    assert a.post("/forgot", {"email": "y@example.org"}).status == 429
    for i in range(3):
        signup(a, f"s{i}@example.org", f"Signer{'abc'[i]}ab")
    a.get("/signup")
    r = a.post("/signup", {"email": "s9@example.org", "nickname": "Signerzz", "password": PASSWORD})
    assert r.status == 429
    assert s.metrics()["t9phone_portal_rate_limited_total"] >= 3


def test_invite_states(t9server):
    s = t9server(args=FAST)
    a, b = Client(s.portal_port), Client(s.portal_port)
    signup(a, "own@example.org", "Ownerly")
    signup(b, "join@example.org", "Joiner")
    slug = make_group(a, "States")
    unknown = b.get("/i/" + "x" * 43)
    assert unknown.status == 404 and "not known" in text(unknown.body)
    revoked = make_invite(a, slug)
    page = a.get(f"/g/{slug}")
    iid = re.search(r'name="invite" value="(\d+)"', page.body).group(1)
    assert a.post(f"/g/{slug}/revoke", {"invite": iid}).status == 303
    r = b.get(f"/i/{revoked}")
    assert r.status == 410 and "withdrawn" in text(r.body)
    expired = make_invite(a, slug)
    with db(s) as d:
        d.execute("UPDATE invites SET expires = 1 WHERE revoked = 0")
    r = b.get(f"/i/{expired}")
    # core answers "expired" once and then forgets the row, which the
    # once-a-second purge may also have done first.
    assert (r.status, "expired" in text(r.body)) in ((410, True), (404, False)), r.status
    assert b.get(f"/i/{expired}").status == 404
    bound = make_invite(a, slug, email="someone.else@example.org")
    r = b.get(f"/i/{bound}")
    assert r.status == 200 and "particular email" in r.body
    assert "someone.else" not in r.body
    r = b.post(f"/i/{bound}", {})
    assert r.status == 403 and "different email" in text(r.body)
    cap = make_invite(a, slug, uses=5)
    assert a.post(f"/g/{slug}/cap", {"cap": "1"}).status == 303
    r = b.post(f"/i/{cap}", {})
    assert r.status == 409 and "full" in r.body
    page = a.get(f"/g/{slug}")
    assert f'name="invite" value="{iid}"' not in page.body  # nothing left to withdraw
    r = a.post(f"/g/{slug}/invites", {"uses": "0"})
    assert r.status == 422
    r = a.post(f"/g/{slug}/invites", {"uses": "1", "email": "not-an-email"})
    assert r.status == 422 and "email address" in r.body


@pytest.mark.parametrize("fields,field,needle", [
    ({"email": "bad", "nickname": "Goodname", "password": PASSWORD}, "email", "email address"),
    ({"email": "ok@example.org", "nickname": "no", "password": PASSWORD}, "nickname", "6 to 12"),
    ({"email": "ok@example.org", "nickname": "Nick1234", "password": PASSWORD}, "nickname",
     "6 to 12"),
    ({"email": "ok@example.org", "nickname": "Goodname", "password": "short"}, "password",
     "at least 10"),
    ({"email": "ok@example.org", "nickname": "Goodname", "password": "ok@example.org"}, "password",
     "at least 10"),
])
def test_signup_bad_input_is_explained_next_to_the_field(t9server, fields, field, needle):
    s = t9server(args=FAST)
    c = Client(s.portal_port)
    c.get("/signup")
    r = c.post("/signup", fields)
    assert r.status == 422
    err = re.search(r'<p class="error" id="e-%s">([^<]+)</p>' % field, r.body)
    assert err and needle in err.group(1), r.body[:3000]
    assert f'id="f-{field}"' in r.body and 'aria-invalid="true"' in r.body
    if fields["email"] != "bad":
        assert 'value="ok@example.org"' in r.body  # what was typed is kept
    assert fields["password"] not in r.body.replace('value="ok@example.org"', "") or \
        fields["password"] == "ok@example.org"
    assert "CORE_E" not in r.body and "sqlite" not in r.body.lower()


def test_signup_email_taken_and_other_forms(t9server):
    s = t9server(args=FAST)
    c = Client(s.portal_port)
    signup(c, "taken@example.org", "Takenname")
    d = Client(s.portal_port)
    d.get("/signup")
    r = d.post("/signup", {"email": "Taken@Example.org", "nickname": "Othername", "password": PASSWORD})
    assert r.status == 422 and "exists already" in r.body and 'value="Othername"' in r.body
    d.get("/groups")
    c.get("/groups")
    r = c.post("/groups", {"name": ""})
    assert r.status == 422 and "1 to 64" in r.body
    c.get("/forgot")
    assert c.post("/forgot", {"email": "nope"}).status == 422
    r = c.post("/forgot", {"email": "unknown@example.org"})
    assert r.status == 303 and r.getheader("Location") == "/login?m=sent"
    r = c.post("/forgot", {"email": "taken@example.org"})
    assert r.getheader("Location") == "/login?m=sent"  # the same answer
    r = c.post("/reset", {"token": "x" * 43, "password": "a brand new secret"})
    assert r.status == 404 and "unknown" in r.body
    r = c.post("/verify", {"token": "x" * 43})
    assert r.status == 404


def test_registration_modes(t9server):
    closed = t9server(args=FAST + ["--registration=closed"])
    c = Client(closed.portal_port)
    assert c.get("/signup").status == 403
    assert c.post("/signup", {"email": "a@example.org", "nickname": "Closedd",
                              "password": PASSWORD}).status == 403
    inv = t9server(args=FAST + ["--registration=invite"])
    r = inv.cli("user", "add", "--email", "first@example.org", "--nickname", "Firstly",
                input=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    c = Client(inv.portal_port)
    assert c.get("/signup").status == 403
    owner = Client(inv.portal_port)
    login(owner, "first@example.org")
    slug = make_group(owner, "Invited Only")
    token = make_invite(owner, slug)
    assert c.get(f"/signup?invite={token}").status == 200
    signup(c, "second@example.org", "Secondly", invite=token)
    assert c.post(f"/i/{token}", {}).status == 303


def test_privacy_page_matches_inventory_and_schema(t9server):
    s = t9server(args=FAST)
    page = Client(s.portal_port).get("/privacy")
    assert page.status == 200
    shown = set(re.findall(r'<tr data-col="([a-z0-9_]+\.[a-z0-9_]+)">', page.body))
    lines = [l for l in (REPO / "sql" / "privacy.tsv").read_text().splitlines()
             if l and not l.startswith("#")]
    header = lines[0].split("\t")
    ti, ci = header.index("table"), header.index("column")
    rows = [l.split("\t") for l in lines[1:]]
    # Rows whose table is "-" are the page's statements, not columns.
    inventory = {f"{r[ti]}.{r[ci]}" for r in rows if r[ti] != "-"}
    statements = {r[ci] for r in rows if r[ti] == "-"}
    assert statements == set(re.findall(r'<p data-statement="([a-z0-9_]+)">', page.body))
    with db(s) as d:
        tables = [r[0] for r in d.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        schema = {f"{t}.{row[1]}" for t in tables
                  for row in d.execute(f"PRAGMA table_xinfo({t})")}
    assert schema, "no tables"
    assert schema - shown == set(), "stored but not on the page"
    assert shown - schema == set(), "on the page but not stored"
    assert inventory == shown
    assert "What we never collect" in page.body


def test_html_is_escaped(t9server):
    s = t9server(args=FAST)
    a = Client(s.portal_port)
    signup(a, "esc@example.org", "Escaper")
    slug = make_group(a, '<script>alert("x")</script> & co')
    page = a.get(f"/g/{slug}")
    assert "<script>alert" not in page.body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page.body
    r = Client(s.portal_port).get('/login?next="><script>x</script>')
    assert "<script>x" not in r.body


def plant_token(server, email, purpose, token, expires=None):
    """Stands in for the mail the next issue sends: the database keeps only a
    token's SHA-256, so a test that knows a token plants its hash."""
    import hashlib
    with db(server) as d:
        uid = d.execute("SELECT id FROM users WHERE email = ?", (email,)).fetchone()[0]
        d.execute("DELETE FROM email_tokens WHERE user_id = ? AND purpose = ?", (uid, purpose))
        d.execute("INSERT INTO email_tokens (token_hash, user_id, purpose, expires) "
                  "VALUES (?, ?, ?, ?)", (hashlib.sha256(token.encode()).digest(), uid, purpose,
                                          expires if expires is not None else int(time.time()) + 3600))


def test_verify_and_reset_pages_redeem_tokens(t9server):
    s = t9server(args=FAST)
    a = Client(s.portal_port)
    signup(a, "ver@example.org", "Verifier")
    assert "not verified yet" in a.get("/account").body
    plant_token(s, "ver@example.org", "verify", "v" * 43)
    page = a.get("/verify?token=" + "v" * 43)
    assert page.status == 200 and 'value="' + "v" * 43 + '"' in page.body
    r = a.post("/verify", {"token": "v" * 43})
    assert r.status == 303 and r.getheader("Location") == "/account?m=verified"
    assert "not verified yet" not in a.get("/account").body
    assert a.post("/verify", {"token": "v" * 43}).status == 404  # used once
    # Reset: an expired link says so; a good one sets the password and ends sessions.
    plant_token(s, "ver@example.org", "reset", "e" * 43, expires=1)
    b = Client(s.portal_port)
    b.get("/reset?token=" + "e" * 43)
    r = b.post("/reset", {"token": "e" * 43, "password": "a fresh passphrase"})
    assert r.status == 410 and "expired" in r.body
    plant_token(s, "ver@example.org", "reset", "r" * 43)
    b.get("/reset?token=" + "r" * 43)
    r = b.post("/reset", {"token": "r" * 43, "password": "short"})
    assert r.status == 422 and "at least 10" in r.body
    r = b.post("/reset", {"token": "r" * 43, "password": "a fresh passphrase"})
    assert r.status == 303 and r.getheader("Location") == "/login?m=reset"
    assert a.get("/account").status == 303  # every session ended
    login(b, "ver@example.org", "a fresh passphrase")
    login(Client(s.portal_port), "ver@example.org", PASSWORD, expect=403)


def test_answers_are_counted_by_status(t9server):
    s = t9server(args=FAST)
    before = s.metrics()
    c = Client(s.portal_port)
    for path in ("/nope", "/nope", "/privacy"):
        c.get(path)
    c.request("DELETE", "/privacy")
    after = s.metrics()
    key = 't9phone_portal_http_answers_total{status="%s"}'
    assert after[key % "404"] - before[key % "404"] == 2
    assert after[key % "405"] - before[key % "405"] == 1
    assert after[key % "200"] - before[key % "200"] >= 1
