"""The portal's bcrypt jobs through the real binary (src/portal/portal.h):
logins past portal-max-jobs wait and still get the answer their password
deserves, a full portal-job-queue answers 503 with Retry-After, and the
thread-pool threads that ran bcrypt have lowered their own priority
(portal-job-nice, and portal-job-idle when asked) while the event loop's
thread has not. The users are made
with the admin CLI (bcrypt cost 12, so each check takes a while and logins
sent together pile up behind the bound)."""
import http.client
import os
import re
import threading
import urllib.parse

import pytest

PASSWORD = "correct horse battery"


def make_user(s, email, nick):
    r = s.cli("user", "add", "--email", email, "--nickname", nick, input=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr


def login_form(port):
    """A connection with the pre-session CSRF cookie and token of /login."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/login")
    r = conn.getresponse()
    page = r.read().decode()
    cookie = re.search(r"t9c=([^;]+)", r.getheader("Set-Cookie")).group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    return conn, cookie, csrf


def burst(port, attempts):
    """Posts every (email, password) of attempts at once, each on its own
    connection made beforehand; returns [(status, Retry-After, body)]."""
    forms = [login_form(port) for _ in attempts]
    go = threading.Barrier(len(attempts))
    out = [None] * len(attempts)

    def one(i):
        conn, cookie, csrf = forms[i]
        email, pw = attempts[i]
        body = urllib.parse.urlencode({"csrf": csrf, "email": email, "password": pw,
                                       "next": "/account"})
        go.wait(timeout=30)
        conn.request("POST", "/login", body, {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": "t9c=" + cookie})
        r = conn.getresponse()
        out[i] = (r.status, r.getheader("Retry-After"), r.read().decode("utf-8", "replace"))
        conn.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(attempts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(o is not None for o in out), "a login was never answered"
    return out


SCHED_IDLE = 5  # linux/sched.h


def thread_sched(pid):
    """{tid: (nice, policy)} of every thread of pid, from /proc/PID/task/TID/stat."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        stat = open(f"/proc/{pid}/task/{tid}/stat").read()
        fields = stat[stat.rindex(")") + 2:].split()  # fields[0] is field 3
        out[int(tid)] = (int(fields[16]), int(fields[38]))  # fields 19 and 41
    return out


def test_logins_past_the_bound_wait_and_get_their_own_answers(t9server):
    s = t9server(args=["--portal-max-jobs=1", "--portal-job-queue=64",
                       "--portal-rate-limit=1000"])
    make_user(s, "right@example.org", "Rightly")
    make_user(s, "wrong@example.org", "Wrongly")
    attempts = [("right@example.org", PASSWORD), ("wrong@example.org", "not the password")] * 5
    answers = burst(s.portal_port, attempts)
    for (email, pw), (status, _, body) in zip(attempts, answers):
        if pw == PASSWORD:
            assert status == 303, (email, status, body[:500])
        else:
            # Wrong, or locked once the pair has failed 5 times: both refusals.
            assert status == 403, (email, status, body[:500])
            assert "Wrong email or password" in body or "locked" in body
    m = s.metrics()
    assert m["t9phone_portal_jobs_refused_total"] == 0
    assert m["t9phone_portal_jobs"] == 0
    assert m["t9phone_portal_jobs_queued"] == 0


def test_a_full_queue_answers_503_with_retry_after(t9server):
    s = t9server(args=["--portal-max-jobs=1", "--portal-job-queue=1",
                       "--portal-rate-limit=1000"])
    make_user(s, "right@example.org", "Rightly")
    # One check runs and one waits; of 8 sent together the rest find the
    # queue full (each check is a bcrypt at cost 12). Bounded retries, so a
    # machine that answers every check before the next request arrives
    # cannot make this pass without a refusal.
    refused = 0
    for _ in range(5):
        for status, retry, body in burst(s.portal_port, [("right@example.org", PASSWORD)] * 8):
            assert status in (303, 503), (status, body[:500])
            if status == 503:
                refused += 1
                assert retry is not None and retry.isdigit() and int(retry) >= 1, retry
                assert "try again" in body
        if refused:
            break
    assert refused > 0, "no login was refused with the queue full"
    m = s.metrics()
    assert m["t9phone_portal_jobs_refused_total"] == refused
    assert m["t9phone_portal_jobs"] == 0
    # Refused logins were not counted anywhere: the owner still logs in.
    status, _, body = burst(s.portal_port, [("right@example.org", PASSWORD)])[0]
    assert status == 303, body[:500]


@pytest.mark.parametrize("flags,nice,idle", [([], 19, False),
                                              (["--portal-job-idle"], 19, True),
                                              (["--portal-job-nice=5", "--portal-job-idle=true"],
                                               5, True)])
def test_bcrypt_threads_lower_their_priority_and_the_loop_keeps_its_own(t9server, flags, nice,
                                                                         idle):
    s = t9server(args=flags + ["--portal-rate-limit=1000"])
    make_user(s, "right@example.org", "Rightly")
    pid = s.proc.pid
    loop_nice, loop_policy = thread_sched(pid)[pid]
    assert loop_policy != SCHED_IDLE
    answers = burst(s.portal_port, [("right@example.org", PASSWORD)] * 2 +
                    [("nobody@example.org", PASSWORD)] * 2)
    assert [a[0] for a in answers] == [303, 303, 403, 403]
    after = thread_sched(pid)
    assert after[pid] == (loop_nice, loop_policy)  # the event loop's thread (the main one)
    want = (max(nice, loop_nice), SCHED_IDLE if idle else loop_policy)
    lowered = [tid for tid, v in after.items() if tid != pid and v == want]
    assert lowered, after  # the threads that ran the checks


def test_priority_lowering_can_be_turned_off(t9server):
    s = t9server(args=["--portal-job-nice=0", "--portal-rate-limit=1000"])
    make_user(s, "right@example.org", "Rightly")
    pid = s.proc.pid
    loop = thread_sched(pid)[pid]
    assert [a[0] for a in burst(s.portal_port, [("right@example.org", PASSWORD)] * 2)] == [303, 303]
    assert set(thread_sched(pid).values()) == {loop}
