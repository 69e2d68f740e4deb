/*
 * test_sip_handler.c - whole requests through the SIP handler: REGISTER
 * with digest, the registrar's rules, answers to the other methods, and
 * that an unknown user, a wrong password and a deleted account cannot be
 * told apart. The digest side is computed independently here from RFC
 * 2617's formula (crypto_md5 over the strings), not with sip/digest.c.
 */
#include "t.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "crypto/hash.h"
#include "sip/handler.h"

#define REALM "t9.test"
#define ALICE "alice2345abcdefg"
#define BOB "bob2345abcdefghi"

struct fixture {
    struct sip_handler h;
    struct sip_flow src;
    uint32_t now;
    int lookups;
};

static int lookup(void *ctx, const char *user, uint8_t ha1[16])
{
    struct fixture *f = ctx;
    f->lookups++;
    if (strcmp(user, ALICE) == 0) {
        crypto_ha1(user, REALM, "alicepw", 7, ha1);
        return 0;
    }
    if (strcmp(user, BOB) == 0) {
        crypto_ha1(user, REALM, "bobpw", 5, ha1);
        return 0;
    }
    return -ENOENT;
}

static struct fixture *setup(void)
{
    struct fixture *f = calloc(1, sizeof *f);
    static const uint8_t key[16] = { 3 };
    static const struct sip_guard_cfg g = { 5, 10, 10, 50, 300, 600, 1024 };
    struct sip_nc *nc = sip_nc_new(key, 1024);
    struct sip_guard *guard = sip_guard_new(key, &g);
    ASSERT(sip_authn_init(&f->h.auth, REALM, 300, nc, guard, lookup, f) == 0);
    f->h.loc = sip_loc_new(key, 1000, 3);
    f->h.lim = (struct sip_reg_limits){ 60, 3600, 1800 };
    f->src = (struct sip_flow){ { 127, 0, 0, 1 }, 5070, 4, SIP_TR_UDP, 0, 0 };
    f->now = 100000;
    return f;
}

static void teardown(struct fixture *f)
{
    sip_nc_free(f->h.auth.nc);
    sip_guard_free(f->h.auth.guard);
    sip_loc_free(f->h.loc);
    free(f);
}

static void md5hex(const char *s, char out[33])
{
    uint8_t d[16];
    crypto_md5(s, strlen(s), d);
    crypto_hex(d, 16, out);
}

/* The Authorization header for user/pass over nonce. */
static void authz(char *out, size_t cap, const char *user, const char *pass, const char *nonce,
                  const char *uri, int nc)
{
    char a1[256], ha1[33], a2[256], ha2[33], r[512], resp[33];
    snprintf(a1, sizeof a1, "%s:%s:%s", user, REALM, pass);
    md5hex(a1, ha1);
    snprintf(a2, sizeof a2, "REGISTER:%s", uri);
    md5hex(a2, ha2);
    snprintf(r, sizeof r, "%s:%s:%08x:c0ffee:auth:%s", ha1, nonce, nc, ha2);
    md5hex(r, resp);
    snprintf(out, cap,
             "Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
             "response=\"%s\", algorithm=MD5, qop=auth, nc=%08x, cnonce=\"c0ffee\"\r\n",
             user, REALM, nonce, uri, resp, nc);
}

struct req {
    const char *to_user;
    const char *contact;   /* full Contact header value, NULL: none */
    const char *expires;   /* Expires header value, NULL: none */
    const char *extra;     /* more header lines */
    const char *callid;
    int cseq;
};

static void answer(struct fixture *f, const struct req *q, const char *auth,
                   struct sip_answer *ans)
{
    char msg[4096];
    snprintf(msg, sizeof msg,
             "REGISTER sip:" REALM " SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 10.0.0.2:5070;branch=z9hG4bK-%d;rport\r\n"
             "Max-Forwards: 70\r\n"
             "From: <sip:%s@" REALM ">;tag=ft\r\n"
             "To: <sip:%s@" REALM ">\r\n"
             "Call-ID: %s\r\n"
             "CSeq: %d REGISTER\r\n"
             "%s%s%s%s%s%s%s"
             "Content-Length: 0\r\n\r\n",
             q->cseq, q->to_user, q->to_user, q->callid ? q->callid : "cid-1", q->cseq,
             q->contact ? "Contact: " : "", q->contact ? q->contact : "", q->contact ? "\r\n" : "",
             q->expires ? "Expires: " : "", q->expires ? q->expires : "", q->expires ? "\r\n" : "",
             auth ? auth : "");
    if (q->extra) {
        char *end = strstr(msg, "Content-Length");
        char tail[64];
        snprintf(tail, sizeof tail, "%s", end);
        snprintf(end, sizeof msg - (size_t)(end - msg), "%s%s", q->extra, tail);
    }
    sip_handle(&f->h, msg, strlen(msg), 0, &f->src, f->now, ans);
    ASSERT(ans->len > 0);
    ans->buf[ans->len < sizeof ans->buf ? ans->len : sizeof ans->buf - 1] = '\0';
}

static int status_of(const struct sip_answer *a)
{
    return atoi(a->buf + 8);
}

static void nonce_of(const struct sip_answer *a, char out[64])
{
    const char *p = strstr(a->buf, "nonce=\"");
    ASSERT(p);
    p += 7;
    size_t n = strcspn(p, "\"");
    ASSERT(n < 64);
    memcpy(out, p, n);
    out[n] = '\0';
}

/* REGISTER as a phone does: unauthenticated, challenged, then with
 * credentials. Returns the final answer's status. */
static int do_register(struct fixture *f, const char *user, const char *pass, struct req q,
                       struct sip_answer *ans)
{
    answer(f, &q, NULL, ans);
    ASSERT_EQ(status_of(ans), 401);
    char nonce[64], hdr[1024];
    nonce_of(ans, nonce);
    authz(hdr, sizeof hdr, user, pass, nonce, "sip:" REALM, 1);
    q.cseq++;
    answer(f, &q, hdr, ans);
    return status_of(ans);
}

TEST(sip_handler_register_digest_and_bindings)
{
    struct fixture *f = setup();
    static struct sip_answer a;
    struct req q = { ALICE, "<sip:" ALICE "@10.0.0.2:5070>", "600", NULL, "c1", 1 };
    answer(f, &q, NULL, &a);
    ASSERT_EQ(status_of(&a), 401);
    ASSERT(strstr(a.buf, "WWW-Authenticate: Digest realm=\"t9.test\""));
    ASSERT(strstr(a.buf, "qop=\"auth\""));
    /* RFC 3581 on the challenge too. */
    ASSERT(strstr(a.buf, ";rport=5070;received=127.0.0.1") ||
           strstr(a.buf, ";received=127.0.0.1;rport=5070") ||
           (strstr(a.buf, "received=127.0.0.1") && strstr(a.buf, "rport=5070")));
    ASSERT(strstr(a.buf, "To: <sip:" ALICE "@t9.test>;tag="));
    ASSERT_EQ(do_register(f, ALICE, "alicepw", q, &a), 200);
    ASSERT(strstr(a.buf, "Contact: <sip:" ALICE "@10.0.0.2:5070>;expires=600"));
    ASSERT_EQ(sip_loc_count(f->h.loc), 1);
    ASSERT_EQ(f->h.st.bindings_added, 1);
    teardown(f);
}

TEST(sip_handler_expiry_rules)
{
    struct fixture *f = setup();
    static struct sip_answer a;
    /* Below the minimum: 423 with Min-Expires, nothing stored. */
    struct req q = { ALICE, "<sip:a@10.0.0.2>", "30", NULL, "c2", 1 };
    ASSERT_EQ(do_register(f, ALICE, "alicepw", q, &a), 423);
    ASSERT(strstr(a.buf, "Min-Expires: 60\r\n"));
    ASSERT_EQ(sip_loc_count(f->h.loc), 0);
    /* Above the maximum: cut. No expiry at all: the default. */
    q = (struct req){ ALICE, "<sip:a@10.0.0.2>;expires=99999", NULL, NULL, "c3", 1 };
    ASSERT_EQ(do_register(f, ALICE, "alicepw", q, &a), 200);
    ASSERT(strstr(a.buf, "Contact: <sip:a@10.0.0.2>;expires=3600"));
    q = (struct req){ ALICE, "<sip:b@10.0.0.3>", NULL, NULL, "c4", 1 };
    ASSERT_EQ(do_register(f, ALICE, "alicepw", q, &a), 200);
    ASSERT(strstr(a.buf, "Contact: <sip:b@10.0.0.3>;expires=1800"));
    ASSERT(strstr(a.buf, "Contact: <sip:a@10.0.0.2>;expires=3600"));
    /* Expires 0 removes one. */
    q = (struct req){ ALICE, "<sip:a@10.0.0.2>", "0", NULL, "c3", 10 };
    ASSERT_EQ(do_register(f, ALICE, "alicepw", q, &a), 200);
    ASSERT(!strstr(a.buf, "sip:a@10.0.0.2"));
    ASSERT_EQ(sip_loc_count(f->h.loc), 1);
    /* "*" needs Expires: 0 ... */
    q = (struct req){ ALICE, "*", "60", NULL, "c9", 1 };
    ASSERT_EQ(do_register(f, ALICE, "alicepw", q, &a), 400);
    q = (struct req){ ALICE, "*", "0", NULL, "c9", 3 };
    ASSERT_EQ(do_register(f, ALICE, "alicepw", q, &a), 200);
    ASSERT(!strstr(a.buf, "Contact:"));
    ASSERT_EQ(sip_loc_count(f->h.loc), 0);
    /* A query (no Contact) lists and changes nothing. */
    q = (struct req){ ALICE, NULL, NULL, NULL, "c10", 1 };
    ASSERT_EQ(do_register(f, ALICE, "alicepw", q, &a), 200);
    teardown(f);
}

TEST(sip_handler_instance_path_and_limits)
{
    struct fixture *f = setup();
    static struct sip_answer a;
    struct req q = { BOB,
                     "<sip:bob@192.168.1.2:5060;transport=tcp>;+sip.instance="
                     "\"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\";reg-id=1",
                     "600", "Supported: path, outbound\r\nPath: <sip:edge.example;lr>\r\n",
                     "wifi", 1 };
    ASSERT_EQ(do_register(f, BOB, "bobpw", q, &a), 200);
    ASSERT(strstr(a.buf, "Path: <sip:edge.example;lr>\r\n"));
    ASSERT(strstr(a.buf, "Require: outbound\r\n"));
    ASSERT(strstr(a.buf, "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\""));
    /* Network change: new Contact and Call-ID, same instance: replaced. */
    q.contact = "<sip:bob@10.20.30.40:40000;transport=tcp>;+sip.instance="
                "\"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\";reg-id=1";
    q.callid = "lte";
    ASSERT_EQ(do_register(f, BOB, "bobpw", q, &a), 200);
    ASSERT(strstr(a.buf, "10.20.30.40:40000"));
    ASSERT(!strstr(a.buf, "192.168.1.2"));
    ASSERT_EQ(sip_loc_count(f->h.loc), 1);
    /* More contacts than allowed: the oldest goes. */
    char c[64];
    for (int i = 0; i < 4; i++) {
        snprintf(c, sizeof c, "<sip:bob@10.0.9.%d>", i);
        q = (struct req){ BOB, c, "600", NULL, "many", 1 + 2 * i };
        ASSERT_EQ(do_register(f, BOB, "bobpw", q, &a), 200);
    }
    ASSERT_EQ(sip_loc_count(f->h.loc), 3);
    ASSERT(!strstr(a.buf, "10.20.30.40"));
    teardown(f);
}

TEST(sip_handler_wrong_user_and_replay)
{
    struct fixture *f = setup();
    static struct sip_answer a;
    /* Authenticated as bob, registering alice: 403. */
    struct req q = { ALICE, "<sip:x@10.0.0.2>", "600", NULL, "w", 1 };
    answer(f, &q, NULL, &a);
    char nonce[64], hdr[1024];
    nonce_of(&a, nonce);
    authz(hdr, sizeof hdr, BOB, "bobpw", nonce, "sip:" REALM, 1);
    q.cseq = 2;
    answer(f, &q, hdr, &a);
    ASSERT_EQ(status_of(&a), 403);
    ASSERT_EQ(sip_loc_count(f->h.loc), 0);
    /* bob's nonce count 1 is used; alice's own credentials over the same
     * nonce count on from 2, and a count used once is refused. */
    authz(hdr, sizeof hdr, ALICE, "alicepw", nonce, "sip:" REALM, 1);
    q.cseq = 3;
    answer(f, &q, hdr, &a);
    ASSERT_EQ(status_of(&a), 401);
    ASSERT(strstr(a.buf, "stale=true"));
    authz(hdr, sizeof hdr, ALICE, "alicepw", nonce, "sip:" REALM, 2);
    q.cseq = 4;
    answer(f, &q, hdr, &a);
    ASSERT_EQ(status_of(&a), 200);
    q.cseq = 5;
    answer(f, &q, hdr, &a);
    ASSERT_EQ(status_of(&a), 401);
    ASSERT(strstr(a.buf, "stale=true"));
    authz(hdr, sizeof hdr, ALICE, "alicepw", nonce, "sip:" REALM, 3);
    q.cseq = 6;
    answer(f, &q, hdr, &a);
    ASSERT_EQ(status_of(&a), 200);
    /* An old nonce: stale=true, only with the right password. */
    f->now += 301;
    authz(hdr, sizeof hdr, ALICE, "alicepw", nonce, "sip:" REALM, 4);
    q.cseq = 7;
    answer(f, &q, hdr, &a);
    ASSERT_EQ(status_of(&a), 401);
    ASSERT(strstr(a.buf, "stale=true"));
    authz(hdr, sizeof hdr, ALICE, "wrong", nonce, "sip:" REALM, 5);
    q.cseq = 8;
    answer(f, &q, hdr, &a);
    ASSERT_EQ(status_of(&a), 401);
    ASSERT(!strstr(a.buf, "stale=true"));
    teardown(f);
}

/* Everything but the nonce must be byte-identical between an unknown user
 * and a known one with a wrong password; both are looked up. */
TEST(sip_handler_unknown_user_looks_like_wrong_password)
{
    struct fixture *f = setup();
    static struct sip_answer a1, a2;
    char nonce[64], hdr[1024];
    struct req q = { ALICE, "<sip:x@10.0.0.2>", "600", NULL, "same", 1 };
    answer(f, &q, NULL, &a1);
    nonce_of(&a1, nonce);
    authz(hdr, sizeof hdr, ALICE, "wrong", nonce, "sip:" REALM, 1);
    q.cseq = 2;
    answer(f, &q, hdr, &a1);
    int before = f->lookups;
    struct req q2 = { "nobody2345abcdef", "<sip:x@10.0.0.2>", "600", NULL, "same", 1 };
    authz(hdr, sizeof hdr, "nobody2345abcdef", "wrong", nonce, "sip:" REALM, 1);
    q2.cseq = 2;
    answer(f, &q2, hdr, &a2);
    ASSERT_EQ(f->lookups, before + 1);
    ASSERT_EQ(status_of(&a1), 401);
    ASSERT_EQ(status_of(&a2), 401);
    /* Same shape: the same length and the same text around the nonce and
     * the user names. */
    ASSERT_EQ(a1.len - strlen(ALICE) * 2, a2.len - strlen("nobody2345abcdef") * 2);
    ASSERT(strstr(a2.buf, "WWW-Authenticate: Digest realm=\"t9.test\""));
    ASSERT_EQ(f->h.st.auth_failed, 2);
    teardown(f);
}

static void request(struct fixture *f, const char *method, const char *ruri, const char *extra,
                    struct sip_answer *a)
{
    char msg[2048];
    snprintf(msg, sizeof msg,
             "%s %s SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 10.0.0.2:5070;branch=z9hG4bK-x\r\n"
             "From: <sip:someone@" REALM ">;tag=1\r\n"
             "To: <%s>\r\n"
             "Call-ID: o1\r\n"
             "CSeq: 1 %s\r\n%s"
             "Content-Length: 0\r\n\r\n",
             method, ruri, ruri, method, extra ? extra : "");
    sip_handle(&f->h, msg, strlen(msg), 0, &f->src, f->now, a);
    a->buf[a->len < sizeof a->buf ? a->len : sizeof a->buf - 1] = '\0';
}

TEST(sip_handler_other_methods)
{
    struct fixture *f = setup();
    static struct sip_answer a;
    request(f, "OPTIONS", "sip:" REALM, NULL, &a);
    ASSERT_EQ(status_of(&a), 200);
    ASSERT(strstr(a.buf, "Allow: REGISTER, OPTIONS"));
    ASSERT(strstr(a.buf, "Supported: path, outbound"));
    request(f, "OPTIONS", "sip:" ALICE "@" REALM, NULL, &a);
    ASSERT_EQ(status_of(&a), 480);
    request(f, "MESSAGE", "sip:" ALICE "@" REALM, NULL, &a);
    ASSERT_EQ(status_of(&a), 405);
    ASSERT(strstr(a.buf, "Allow: "));
    request(f, "SUBSCRIBE", "sip:" ALICE "@" REALM, NULL, &a);
    ASSERT_EQ(status_of(&a), 405);
    request(f, "PUBLISH", "sip:" ALICE "@" REALM, NULL, &a);
    ASSERT_EQ(status_of(&a), 405);
    request(f, "FROBNICATE", "sip:" REALM, NULL, &a);
    ASSERT_EQ(status_of(&a), 501);
    request(f, "INVITE", "sip:" ALICE "@" REALM, NULL, &a);
    ASSERT_EQ(status_of(&a), 480);
    request(f, "INVITE", "sip:nobody2345abcdef@" REALM, NULL, &a);
    ASSERT_EQ(status_of(&a), 480);
    request(f, "BYE", "sip:" ALICE "@" REALM, NULL, &a);
    ASSERT_EQ(status_of(&a), 481);
    request(f, "ACK", "sip:" ALICE "@" REALM, NULL, &a);
    ASSERT_EQ(a.len, 0);
    request(f, "OPTIONS", "sip:" REALM, "Require: 100rel, foo\r\n", &a);
    ASSERT_EQ(status_of(&a), 420);
    ASSERT(strstr(a.buf, "Unsupported: 100rel, foo\r\n"));
    request(f, "REGISTER", "sip:" REALM, "Require: path\r\n", &a);
    ASSERT_EQ(status_of(&a), 401);
    teardown(f);
}

TEST(sip_handler_malformed_gets_400_and_responses_dropped)
{
    struct fixture *f = setup();
    static struct sip_answer a;
    const char *bad = "OPTIONS sip:" REALM " SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP 10.0.0.2:5070;branch=z9hG4bK-x\r\n"
                      "From: <sip:x@" REALM ">;tag=1\r\nTo: <sip:" REALM ">\r\n"
                      "Call-ID: b1\r\nCSeq: one OPTIONS\r\nContent-Length: 0\r\n\r\n";
    sip_handle(&f->h, bad, strlen(bad), 0, &f->src, f->now, &a);
    ASSERT(a.len > 0);
    ASSERT_EQ(atoi(a.buf + 8), 400);
    const char *resp = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK-y\r\n"
                       "From: <sip:x@h>;tag=1\r\nTo: <sip:y@h>;tag=2\r\nCall-ID: r\r\n"
                       "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    sip_handle(&f->h, resp, strlen(resp), 0, &f->src, f->now, &a);
    ASSERT_EQ(a.len, 0);
    ASSERT_EQ(f->h.st.responses_in, 1);
    sip_handle(&f->h, "\x01\x02garbage", 9, 0, &f->src, f->now, &a);
    ASSERT_EQ(a.len, 0);
    teardown(f);
}
