/*
 * test_sip_proxy.c - the stateful proxy on a fake transport and a fake
 * clock, with a real database (users and a group made through core), the
 * real digest verifier and a real location table.
 */
#include "test_core_util.h"

#include "core/groups.h"
#include "core/resolve.h"
#include "core/sipcred.h"
#include "crypto/hash.h"
#include "sip/auth.h"
#include "sip/digest.h"
#include "sip/guard.h"
#include "sip/location.h"
#include "sip/msg.h"
#include "sip/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REALM "t9phone.test"
#define MAXOUT 32

struct out {
    struct sip_flow to;
    char buf[8192];
    size_t len;
};

struct fx {
    struct store *st;
    struct sip_loc *loc;
    struct sip_nc *nc;
    struct sip_guard *guard;
    struct sip_authn auth;
    struct sip_proxy *px;
    struct out out[MAXOUT];
    int nout;
    char caller[CORE_SIP_USER_SIZE], callee[CORE_SIP_USER_SIZE];
    char caller_pw[CORE_SIP_PASS_SIZE];
    char code[CORE_NICK_SIZE];
    struct sip_flow cflow;   /* the caller's UDP flow */
    int64_t now;
};

static struct fx F;
static struct sip_msg M;

static int io_send(void *ctx, const struct sip_flow *to, const char *buf, size_t n)
{
    struct fx *f = ctx;
    if (to->conn_id == 999)
        return -ENOTCONN; /* a stream that closed */
    ASSERT(f->nout < MAXOUT);
    struct out *o = &f->out[f->nout++];
    o->to = *to;
    ASSERT(n < sizeof o->buf);
    memcpy(o->buf, buf, n);
    o->buf[n] = '\0';
    o->len = n;
    return 0;
}

static int io_local(void *ctx, uint16_t l, char host[64], uint16_t *port)
{
    (void)ctx;
    if (l > 1)
        return -ENOENT;
    snprintf(host, 64, "10.0.0.1");
    *port = 5060;
    return 0;
}

static int io_udp(void *ctx, int fam)
{
    (void)ctx;
    return fam == 4 ? 0 : -1;
}

static int io_is_local(void *ctx, const char *h, size_t n, uint16_t port)
{
    (void)ctx;
    return n == 8 && memcmp(h, "10.0.0.1", 8) == 0 && (port == 0 || port == 5060);
}

static int lookup(void *ctx, const char *user, uint8_t ha1[16])
{
    int rc = core_sip_lookup_ha1(ctx, user, ha1);
    return rc == -ENOENT ? -ENOENT : rc < 0 ? -EIO : 0;
}

static struct sip_flow flow(const char *ip, uint16_t port, int tr, uint32_t conn)
{
    struct sip_flow f = { 0 };
    inet_pton(AF_INET, ip, f.ip);
    f.family = 4;
    f.port = port;
    f.transport = (uint8_t)tr;
    f.listener = tr == SIP_TR_UDP ? 0 : 1;
    f.conn_id = conn;
    return f;
}

static void bind_callee(const char *contact, struct sip_flow fl)
{
    struct sip_loc_put p = { 0 };
    p.user = F.callee;
    p.ulen = strlen(F.callee);
    p.contact = contact;
    p.clen = strlen(contact);
    p.callid = "reg1";
    p.cidlen = 4;
    p.cseq = 1;
    p.expires = 600;
    p.q = 1000;
    p.flow = fl;
    ASSERT_EQ(sip_loc_put(F.loc, &p, F.now / 1000), 0);
}

static void setup(void)
{
    memset(&F, 0, sizeof F);
    F.now = 1000000;
    F.st = tc_open();
    int64_t a = tc_user(F.st, "marina@example.org", "marina");
    int64_t b = tc_user(F.st, "oskarov@example.org", "oskarov");
    char slug[CORE_SLUG_SIZE];
    int64_t g;
    ASSERT_EQ(core_groups_create(F.st, a, "Family", 0, TC_NOW, &g, slug), 0);
    ASSERT_EQ(core_groups_add_member(F.st, g, b, TC_NOW), 0);
    int changed;
    ASSERT_EQ(core_sipcred_rehash(F.st, &tc_cfg, &changed), 0); /* as the server does at start */
    ASSERT_EQ(core_sipcred_reveal(F.st, &tc_cfg, a, F.caller, F.caller_pw), 0);
    ASSERT_EQ(core_sipcred_username(F.st, b, F.callee), 0);
    ASSERT_EQ(core_t9_dial_code("oskarov", 7, F.code), 0);
    uint8_t key[16] = { 9 };
    F.loc = sip_loc_new(key, 100, 5);
    F.nc = sip_nc_new(key, 1024);
    struct sip_guard_cfg gc = { 100, 200, 100, 200, 60, 120, 64 };
    F.guard = sip_guard_new(key, &gc);
    ASSERT(F.loc && F.nc && F.guard);
    ASSERT_EQ(sip_authn_init(&F.auth, REALM, 300, F.nc, F.guard, lookup, F.st), 0);
    struct sip_proxy_cfg cfg = { REALM, F.st, F.loc, &F.auth, { 0 } };
    sip_txn_cfg_default(&cfg.txn);
    struct sip_proxy_io io = { io_send, io_local, io_udp, io_is_local, &F };
    F.px = sip_proxy_new(&cfg, &io);
    ASSERT(F.px);
    F.cflow = flow("192.0.2.9", 5070, SIP_TR_UDP, 0);
}

static void teardown(void)
{
    sip_proxy_free(F.px);
    sip_loc_free(F.loc);
    sip_nc_free(F.nc);
    sip_guard_free(F.guard);
    store_close(F.st);
}

static void feed(const char *text, const struct sip_flow *src)
{
    size_t n = strlen(text);
    if (sip_parse(text, n, src->transport == SIP_TR_UDP ? 0 : SIP_PARSE_STREAM, &M) != 0)
        t_fail(__FILE__, __LINE__, "unparsable test message (fault %d):\n%s", M.fault, text);
    if (M.is_request)
        sip_proxy_request(F.px, &M, src, F.now);
    else
        sip_proxy_response(F.px, &M, src, F.now);
}

/* The value of header name in msg ("" when absent), copied into one of
 * eight rotating buffers (so a few may be used in one call). */
static const char *hdr(const char *msg, const char *name)
{
    static char vs[8][2048];
    static int k;
    char *v = vs[k++ % 8];
    char pat[64];
    snprintf(pat, sizeof pat, "\r\n%s: ", name);
    const char *p = strstr(msg, pat);
    if (!p)
        return "";
    p += strlen(pat);
    const char *e = strstr(p, "\r\n");
    snprintf(v, sizeof vs[0], "%.*s", (int)(e - p), p);
    return v;
}

static void invite_text(char *buf, size_t cap, const char *branch, int cseq, const char *auth,
                        const char *extra)
{
    snprintf(buf, cap,
             "INVITE sip:%s@" REALM " SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 192.0.2.9:5070;branch=%s;rport\r\n"
             "Max-Forwards: 70\r\n"
             "From: <sip:%s@" REALM ">;tag=caller1\r\n"
             "To: <sip:%s@" REALM ">\r\n"
             "Call-ID: call1@test\r\n"
             "CSeq: %d INVITE\r\n"
             "Contact: <sip:%s@192.0.2.9:5070>\r\n"
             "P-Asserted-Identity: <sip:forged@" REALM ">\r\n"
             "Remote-Party-ID: <sip:forged@" REALM ">\r\n"
             "%s%s"
             "Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n",
             F.code, branch, F.caller, F.code, cseq, F.caller, auth ? auth : "",
             extra ? extra : "");
}

/* INVITE, 407, ACK, INVITE with credentials: returns the index of the
 * first message sent after the authenticated INVITE (its 100 Trying). */
static int authenticated_invite(const char *extra)
{
    char buf[4096], nonce[64], auth[1024];
    invite_text(buf, sizeof buf, "z9hG4bKa1", 1, NULL, extra);
    feed(buf, &F.cflow);
    /* The challenge goes without a transaction: nothing is kept for a
     * request that has not authenticated. */
    ASSERT_EQ(F.nout, 1);
    ASSERT(strncmp(F.out[0].buf, "SIP/2.0 407 ", 12) == 0);
    ASSERT_EQ(sip_proxy_transactions(F.px), 0);
    const char *pa = hdr(F.out[0].buf, "Proxy-Authenticate");
    const char *np = strstr(pa, "nonce=\"");
    ASSERT(np);
    np += 7;
    snprintf(nonce, sizeof nonce, "%.*s", (int)(strchr(np, '"') - np), np);
    /* the ACK of the 407 is absorbed */
    snprintf(buf, sizeof buf,
             "ACK sip:%s@" REALM " SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKa1\r\n"
             "Max-Forwards: 70\r\nFrom: <sip:%s@" REALM ">;tag=caller1\r\nTo: %s\r\n"
             "Call-ID: call1@test\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
             F.code, F.caller, hdr(F.out[0].buf, "To"));
    feed(buf, &F.cflow); /* its ACK matches nothing and goes nowhere */
    ASSERT_EQ(F.nout, 1);
    char uri[128], ha1hex[33], resp[33];
    snprintf(uri, sizeof uri, "sip:%s@" REALM, F.code);
    uint8_t ha1[16];
    crypto_ha1(F.caller, REALM, F.caller_pw, strlen(F.caller_pw), ha1);
    crypto_hex(ha1, 16, ha1hex);
    struct sip_digest_in in = { "INVITE", 6, uri, strlen(uri), nonce, strlen(nonce),
                                "00000001", 8, "abc", 3, "auth", 4 };
    sip_digest_md5(ha1, &in, resp);
    snprintf(auth, sizeof auth,
             "Proxy-Authorization: Digest username=\"%s\", realm=\"" REALM "\", nonce=\"%s\", "
             "uri=\"%s\", response=\"%s\", algorithm=MD5, qop=auth, nc=00000001, "
             "cnonce=\"abc\"\r\n", F.caller, nonce, uri, resp);
    int first = F.nout;
    invite_text(buf, sizeof buf, "z9hG4bKa2", 2, auth, extra);
    feed(buf, &F.cflow);
    return first;
}

static void finish(void)
{
    /* 64*T1 after the last final answer nothing is left. */
    for (int i = 0; i < 1000 && sip_proxy_next(F.px) >= 0; i++) {
        F.now = sip_proxy_next(F.px);
        sip_proxy_tick(F.px, F.now);
    }
    ASSERT_EQ(sip_proxy_transactions(F.px), 0);
    ASSERT_EQ(sip_proxy_calls(F.px), 0);
}

/* A response by the callee to the forwarded request fwd. */
static void respond(const char *fwd, int status, const char *reason, const struct sip_flow *from,
                    const char *extra)
{
    char buf[4096];
    /* the Vias as received */
    char vias[2048] = "";
    const char *p = fwd;
    while ((p = strstr(p, "\r\nVia: ")) != NULL) {
        p += 2;
        const char *e = strstr(p, "\r\n");
        strncat(vias, p, (size_t)(e - p) + 2);
    }
    snprintf(buf, sizeof buf,
             "SIP/2.0 %d %s\r\n%sFrom: %s\r\nTo: %s;tag=callee1\r\nCall-ID: %s\r\nCSeq: %s\r\n"
             "Contact: <sip:%s@192.0.2.5:5062>\r\n%sContent-Length: 0\r\n\r\n",
             status, reason, vias, hdr(fwd, "From"), hdr(fwd, "To"), hdr(fwd, "Call-ID"),
             hdr(fwd, "CSeq"), F.callee, extra ? extra : "");
    feed(buf, from);
}

TEST(sip_proxy_call_by_dial_code_end_to_end)
{
    setup();
    struct sip_flow bf = flow("192.0.2.5", 5062, SIP_TR_UDP, 0);
    bind_callee("sip:callee@192.0.2.5:5062", bf);
    int i = authenticated_invite(NULL);
    ASSERT_EQ(F.nout, i + 2);
    ASSERT(strncmp(F.out[i].buf, "SIP/2.0 100 ", 12) == 0);
    const char *fwd = F.out[i + 1].buf;
    ASSERT(F.out[i + 1].to.port == 5062);
    ASSERT(strncmp(fwd, "INVITE sip:callee@192.0.2.5:5062 SIP/2.0\r\n", 42) == 0);
    ASSERT(strstr(fwd, "\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKt9"));
    ASSERT(strstr(fwd, "branch=z9hG4bKa2;rport=5070;received=192.0.2.9") ||
           strstr(fwd, "branch=z9hG4bKa2;received=192.0.2.9;rport=5070"));
    ASSERT_STR_EQ(hdr(fwd, "Max-Forwards"), "69");
    char want[256];
    snprintf(want, sizeof want, "\"marina\" <sip:627462@" REALM ">");
    ASSERT_STR_EQ(hdr(fwd, "P-Asserted-Identity"), want);
    snprintf(want, sizeof want, "\"marina (627462)\" <sip:%s@" REALM ">;tag=caller1", F.caller);
    ASSERT_STR_EQ(hdr(fwd, "From"), want);
    ASSERT(!strstr(fwd, "forged") && !strstr(fwd, "Remote-Party-ID") &&
           !strstr(fwd, "Proxy-Authorization"));
    const char *rr = hdr(fwd, "Record-Route");
    ASSERT(strncmp(rr, "<sip:10.0.0.1:5060;lr;t9=", 25) == 0);
    ASSERT(!strstr(fwd + (strstr(fwd, "Record-Route") - fwd) + 14, "Record-Route"));
    ASSERT(strstr(fwd, "\r\n\r\nv=0\n")); /* the body byte for byte */
    char route[1024];
    snprintf(route, sizeof route, "%s", rr);

    /* 180 and 200 go to the caller without our Via. */
    char fwdc[8192];
    snprintf(fwdc, sizeof fwdc, "%s", fwd);
    respond(fwdc, 180, "Ringing", &bf, NULL);
    ASSERT_EQ(F.nout, i + 3);
    ASSERT(strncmp(F.out[i + 2].buf, "SIP/2.0 180 ", 12) == 0);
    ASSERT(!strstr(F.out[i + 2].buf, "10.0.0.1"));
    ASSERT(F.out[i + 2].to.port == 5070);
    char rrh[1200];
    snprintf(rrh, sizeof rrh, "Record-Route: %s\r\n", route);
    respond(fwdc, 200, "OK", &bf, rrh);
    ASSERT_EQ(F.nout, i + 4);
    ASSERT(strncmp(F.out[i + 3].buf, "SIP/2.0 200 ", 12) == 0);
    ASSERT_EQ(sip_proxy_stats(F.px)->calls_setup, 1);

    /* ACK and BYE of the caller go by the Route to the callee's flow. */
    char buf[4096];
    snprintf(buf, sizeof buf,
             "ACK sip:callee@192.0.2.5:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKa3\r\n"
             "Route: %s\r\nMax-Forwards: 70\r\nFrom: <sip:%s@" REALM ">;tag=caller1\r\n"
             "To: <sip:%s@" REALM ">;tag=callee1\r\nCall-ID: call1@test\r\nCSeq: 2 ACK\r\n"
             "Content-Length: 0\r\n\r\n", route, F.caller, F.code);
    feed(buf, &F.cflow);
    ASSERT_EQ(F.nout, i + 5);
    ASSERT(strncmp(F.out[i + 4].buf, "ACK sip:callee@192.0.2.5:5062 ", 30) == 0);
    ASSERT(F.out[i + 4].to.port == 5062);
    ASSERT(!strstr(F.out[i + 4].buf, "\r\nRoute:"));
    /* The callee hangs up: its BYE goes to the caller's flow. */
    snprintf(buf, sizeof buf,
             "BYE sip:%s@192.0.2.9:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.5:5062;branch=z9hG4bKb1\r\n"
             "Route: %s\r\nMax-Forwards: 70\r\nFrom: <sip:%s@" REALM ">;tag=callee1\r\n"
             "To: <sip:%s@" REALM ">;tag=caller1\r\nCall-ID: call1@test\r\nCSeq: 1 BYE\r\n"
             "Content-Length: 0\r\n\r\n", F.caller, route, F.code, F.caller);
    feed(buf, &bf);
    ASSERT_EQ(F.nout, i + 6);
    ASSERT(strncmp(F.out[i + 5].buf, "BYE sip:", 8) == 0);
    ASSERT(F.out[i + 5].to.port == 5070);
    char bye[8192];
    snprintf(bye, sizeof bye, "%s", F.out[i + 5].buf);
    respond(bye, 200, "OK", &F.cflow, NULL);
    ASSERT_EQ(F.nout, i + 7);
    ASSERT(strncmp(F.out[i + 6].buf, "SIP/2.0 200 ", 12) == 0);
    ASSERT(F.out[i + 6].to.port == 5062);
    ASSERT_EQ(sip_proxy_stats(F.px)->in_dialog, 2);
    /* The BYE's fork is over: its context is released at once, and its
     * transactions go on alone. The set-up INVITE keeps its context (for
     * 2xx retransmissions) until Timers L and M. */
    ASSERT_EQ(sip_proxy_calls(F.px), 1);
    /* A retransmitted BYE gets the 200 again from its server transaction. */
    feed(buf, &bf);
    ASSERT_EQ(F.nout, i + 8);
    ASSERT(strncmp(F.out[i + 7].buf, "SIP/2.0 200 ", 12) == 0);
    ASSERT(F.out[i + 7].to.port == 5062);
    /* A retransmitted 200 of the INVITE still reaches the caller, with the
     * callee's identity (RFC 6026: the Accepted client transaction). */
    respond(fwdc, 200, "OK", &bf, rrh);
    ASSERT_EQ(F.nout, i + 9);
    ASSERT(strncmp(F.out[i + 8].buf, "SIP/2.0 200 ", 12) == 0);
    ASSERT(F.out[i + 8].to.port == 5070);
    ASSERT(strstr(F.out[i + 8].buf, "\r\nP-Asserted-Identity: \""));
    ASSERT_STR_EQ(hdr(F.out[i + 8].buf, "P-Asserted-Identity"),
                  hdr(F.out[i + 3].buf, "P-Asserted-Identity"));
    ASSERT_EQ(sip_proxy_calls(F.px), 1);
    finish();
    teardown();
}

TEST(sip_proxy_forged_or_missing_token_is_403)
{
    setup();
    const char *t = "BYE sip:x@192.0.2.5:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKf1\r\n"
                    "Route: <sip:10.0.0.1:5060;lr;t9=00112233>\r\nMax-Forwards: 70\r\n"
                    "From: <sip:a@" REALM ">;tag=1\r\nTo: <sip:b@" REALM ">;tag=2\r\n"
                    "Call-ID: f1\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n";
    feed(t, &F.cflow);
    ASSERT_EQ(F.nout, 1);
    ASSERT(strncmp(F.out[0].buf, "SIP/2.0 403 ", 12) == 0);
    /* a retransmission gets the same answer from the transaction */
    feed(t, &F.cflow);
    ASSERT_EQ(F.nout, 2);
    ASSERT_STR_EQ(F.out[0].buf, F.out[1].buf);
    /* A new request (no To tag) is never relayed by a Route past us. */
    feed("OPTIONS sip:x@192.0.2.5:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKf2\r\n"
         "Route: <sip:10.0.0.1:5060;lr;t9=00112233>\r\nMax-Forwards: 70\r\n"
         "From: <sip:a@" REALM ">;tag=1\r\nTo: <sip:b@" REALM ">\r\n"
         "Call-ID: f2\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", &F.cflow);
    ASSERT_EQ(F.nout, 3);
    ASSERT(strncmp(F.out[2].buf, "SIP/2.0 403 No Relaying\r\n", 25) == 0);
    finish();
    teardown();
}

TEST(sip_proxy_max_forwards_zero_and_missing_cookie)
{
    setup();
    feed("OPTIONS sip:x@" REALM " SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKm0\r\n"
         "Max-Forwards: 0\r\nFrom: <sip:a@" REALM ">;tag=1\r\nTo: <sip:x@" REALM ">\r\n"
         "Call-ID: m0\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", &F.cflow);
    ASSERT_EQ(F.nout, 1);
    ASSERT(strncmp(F.out[0].buf, "SIP/2.0 483 ", 12) == 0);
    feed("OPTIONS sip:x@" REALM " SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5070;branch=old1\r\n"
         "Max-Forwards: 70\r\nFrom: <sip:a@" REALM ">;tag=1\r\nTo: <sip:x@" REALM ">\r\n"
         "Call-ID: m1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", &F.cflow);
    ASSERT_EQ(F.nout, 2);
    ASSERT(strncmp(F.out[1].buf, "SIP/2.0 400 ", 12) == 0);
    ASSERT_EQ(sip_proxy_stats(F.px)->code_483, 1);
    finish();
    teardown();
}

TEST(sip_proxy_unknown_proxy_require_is_420)
{
    setup();
    feed("OPTIONS sip:x@" REALM " SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKr1\r\n"
         "Max-Forwards: 70\r\nProxy-Require: foo\r\nFrom: <sip:a@" REALM ">;tag=1\r\n"
         "To: <sip:x@" REALM ">\r\nCall-ID: r1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
         &F.cflow);
    ASSERT_EQ(F.nout, 1);
    ASSERT(strncmp(F.out[0].buf, "SIP/2.0 420 ", 12) == 0);
    ASSERT_STR_EQ(hdr(F.out[0].buf, "Unsupported"), "foo");
    finish();
    teardown();
}

TEST(sip_proxy_gone_flow_drops_binding_and_tries_the_next)
{
    setup();
    bind_callee("sip:callee@192.0.2.5:5063;transport=tcp", flow("192.0.2.5", 5063, SIP_TR_TCP, 999));
    bind_callee("sip:callee@192.0.2.5:5062", flow("192.0.2.5", 5062, SIP_TR_UDP, 0));
    ASSERT_EQ(sip_loc_count(F.loc), 2);
    int i = authenticated_invite(NULL);
    ASSERT_EQ(F.nout, i + 2); /* 100, and the INVITE over UDP */
    ASSERT(F.out[i + 1].to.port == 5062);
    ASSERT_EQ(sip_loc_count(F.loc), 1);
    ASSERT_EQ(sip_proxy_stats(F.px)->flows_gone, 1);
    teardown();
}

TEST(sip_proxy_only_gone_flows_is_480)
{
    setup();
    bind_callee("sip:callee@192.0.2.5:5063;transport=tcp", flow("192.0.2.5", 5063, SIP_TR_TCP, 999));
    int i = authenticated_invite(NULL);
    ASSERT_EQ(F.nout, i + 2);
    ASSERT(strncmp(F.out[i + 1].buf, "SIP/2.0 480 ", 12) == 0);
    ASSERT_EQ(sip_loc_count(F.loc), 0);
    finish();
    teardown();
}

TEST(sip_proxy_not_registered_is_480_unknown_is_404)
{
    setup();
    int i = authenticated_invite(NULL);
    ASSERT_EQ(F.nout, i + 2);
    ASSERT(strncmp(F.out[i + 1].buf, "SIP/2.0 480 ", 12) == 0);
    finish();
    teardown();
}

TEST(sip_proxy_tcp_callee_gets_double_record_route)
{
    setup();
    bind_callee("sip:callee@192.0.2.5:5063;transport=tcp", flow("192.0.2.5", 5063, SIP_TR_TCP, 7));
    int i = authenticated_invite(NULL);
    ASSERT_EQ(F.nout, i + 2);
    const char *fwd = F.out[i + 1].buf;
    ASSERT(F.out[i + 1].to.conn_id == 7);
    ASSERT(strstr(fwd, "\r\nVia: SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bKt9"));
    const char *r1 = strstr(fwd, "\r\nRecord-Route: <sip:10.0.0.1:5060;transport=tcp;lr;t9=");
    ASSERT(r1);
    ASSERT(strstr(r1 + 10, "\r\nRecord-Route: <sip:10.0.0.1:5060;lr;t9="));
    ASSERT(strstr(fwd, "Content-Length: 4\r\n"));
    teardown();
}

TEST(sip_proxy_fork_cancels_the_other_phone_with_reason)
{
    setup();
    struct sip_flow b1 = flow("192.0.2.5", 5062, SIP_TR_UDP, 0);
    struct sip_flow b2 = flow("192.0.2.6", 5062, SIP_TR_UDP, 0);
    bind_callee("sip:callee@192.0.2.5:5062", b1);
    bind_callee("sip:callee@192.0.2.6:5062", b2);
    int i = authenticated_invite(NULL);
    ASSERT_EQ(F.nout, i + 3);
    char f1[8192], f2[8192];
    int k1 = F.out[i + 1].to.ip[3] == 5 ? i + 1 : i + 2;
    snprintf(f1, sizeof f1, "%s", F.out[k1].buf);
    snprintf(f2, sizeof f2, "%s", F.out[k1 == i + 1 ? i + 2 : i + 1].buf);
    respond(f2, 180, "Ringing", &b2, NULL);
    respond(f1, 200, "OK", &b1, NULL);
    /* 180 and 200 to the caller, then a CANCEL to the other phone */
    ASSERT_EQ(F.nout, i + 6);
    ASSERT(strncmp(F.out[i + 4].buf, "SIP/2.0 200 ", 12) == 0);
    const char *c = F.out[i + 5].buf;
    ASSERT(strncmp(c, "CANCEL sip:callee@192.0.2.6:5062 SIP/2.0\r\n", 42) == 0);
    ASSERT_STR_EQ(hdr(c, "Reason"), "SIP;cause=200;text=\"Call completed elsewhere\"");
    ASSERT_STR_EQ(hdr(c, "CSeq"), "2 CANCEL");
    /* its Via is the INVITE's top Via */
    char v1[256];
    snprintf(v1, sizeof v1, "%s", hdr(f2, "Via"));
    ASSERT_STR_EQ(hdr(c, "Via"), v1);
    teardown();
}

/* ---------------------------------------------------------------- route.c */

#include "sip/route.h"

TEST(sip_route_ambiguous_stranger_kicked)
{
    setup();
    static struct sip_route_result r;
    int64_t me, marina, narina, zed, g1, g2, g3;
    ASSERT_EQ(core_resolve_caller(F.st, F.caller, &me), 0);
    marina = me; /* the fixture's caller is marina */
    narina = tc_user(F.st, "narina@example.org", "narina");
    zed = tc_user(F.st, "zebulon@example.org", "zebulon");
    int64_t oskar = tc_user(F.st, "oskarrr@example.org", "oskarrr");
    char slug[CORE_SLUG_SIZE];
    ASSERT_EQ(core_groups_create(F.st, oskar, "One", 0, TC_NOW, &g1, slug), 0);
    ASSERT_EQ(core_groups_create(F.st, oskar, "Two", 0, TC_NOW, &g2, slug), 0);
    ASSERT_EQ(core_groups_create(F.st, zed, "Zed", 0, TC_NOW, &g3, slug), 0);
    ASSERT_EQ(core_groups_add_member(F.st, g1, marina, TC_NOW), 0);
    ASSERT_EQ(core_groups_add_member(F.st, g2, narina, TC_NOW), 0);
    /* oskarrr shares a group with marina and one with narina: 627462 is
     * ambiguous, answered with one Contact per candidate. */
    int64_t caller;
    char osk[CORE_SIP_USER_SIZE], nar[CORE_SIP_USER_SIZE];
    ASSERT_EQ(core_sipcred_username(F.st, oskar, osk), 0);
    ASSERT_EQ(core_sipcred_username(F.st, narina, nar), 0);
    ASSERT_EQ(core_resolve_caller(F.st, osk, &caller), 0);
    ASSERT_EQ(sip_route_resolve(F.st, F.loc, REALM, caller, "627462", 6, F.now / 1000, &r), 485);
    char want[512];
    snprintf(want, sizeof want, "Contact: \"marina\" <sip:%s@" REALM ">\r\n"
             "Contact: \"narina\" <sip:%s@" REALM ">\r\n", F.caller, nar);
    ASSERT_STR_EQ(r.contacts, want);
    /* A stranger's code (zebulon: 9328566) and a code nobody has: 404 both. */
    ASSERT_EQ(sip_route_resolve(F.st, F.loc, REALM, caller, "9328566", 7, F.now / 1000, &r), 404);
    ASSERT_EQ(sip_route_resolve(F.st, F.loc, REALM, caller, "2222222", 7, F.now / 1000, &r), 404);
    /* By SIP username: within shared groups only. */
    ASSERT_EQ(sip_route_resolve(F.st, F.loc, REALM, caller, nar, strlen(nar), F.now / 1000, &r),
              480);
    char zu[CORE_SIP_USER_SIZE];
    ASSERT_EQ(core_sipcred_username(F.st, zed, zu), 0);
    ASSERT_EQ(sip_route_resolve(F.st, F.loc, REALM, caller, zu, strlen(zu), F.now / 1000, &r),
              404);
    /* Kicked from group Two: narina is out of reach at once, and the code
     * is no longer ambiguous. */
    ASSERT_EQ(core_groups_kick(F.st, g2, oskar, narina, TC_NOW), 0);
    ASSERT_EQ(sip_route_resolve(F.st, F.loc, REALM, caller, nar, strlen(nar), F.now / 1000, &r),
              404);
    ASSERT_EQ(sip_route_resolve(F.st, F.loc, REALM, caller, "627462", 6, F.now / 1000, &r), 480);
    ASSERT_STR_EQ(r.callee, F.caller);
    teardown();
}
