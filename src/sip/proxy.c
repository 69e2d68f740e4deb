/*
 * sip/proxy.c - see proxy.h.
 *
 * A call (struct px_call) is the fork context of one proxied request: the
 * server transaction towards the caller, one client transaction per
 * branch, and the fork's decisions (sip/fork.h). It lives exactly as long
 * as one of its transactions does and holds no more than what they need:
 * the request (for answers the proxy makes itself) and per branch the
 * CANCEL it may have to send. Nothing about a call is kept once its
 * transactions end.
 */
#include "sip/proxy.h"

#include "base/siphash.h"
#include "core/resolve.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/secretbox.h"
#include "sip/fork.h"
#include "sip/route.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COOKIE "z9hG4bK"
#define PREFIX "z9hG4bKt9"        /* our branches: PREFIX, 16 hex loop hash, '.', 16 hex */
#define PREFIX_LEN 9
#define BRANCH_MAX 48
#define FLOW_PACKED 26
#define TOKEN_BYTES (2 * FLOW_PACKED + SECRETBOX_OVERHEAD)
#define TOKEN_HEX (2 * TOKEN_BYTES)
#define OUT_CAP (SIP_MAX_STREAM + 4096)

struct px_call;

struct px_branch {
    struct px_call *call;
    int idx;
    struct sip_txn *txn;
    struct sip_flow flow;
    char branch[BRANCH_MAX];
    char *cancel;                 /* the CANCEL up to its last header line */
    size_t cancel_len;
    char *user;                   /* binding owner and contact, for dropping it */
    char *contact;
};

struct px_call {
    struct sip_fork f;            /* first: the fork ops get &call->f */
    struct sip_proxy *px;
    struct sip_txn *server;
    struct sip_flow caller;
    int refs;
    uint8_t initial, counted;
    char *callee_pai;             /* initial INVITE: who answers, for the caller */
    char *callee_display;
    char *req;
    size_t req_len;
    int nbr;                      /* room in br[]: the targets of the request */
    struct px_branch br[];        /* sized at call_new: a call holds ~1.4 KiB
                                     less than with SIP_FORK_MAX in place */
};

struct sip_proxy {
    struct sip_proxy_cfg cfg;
    struct sip_proxy_io io;
    struct sip_txn_tab *txn;
    uint8_t loop_key[16];
    uint8_t tag_key[16];
    uint8_t box_key[32];
    uint64_t seq;
    uint64_t salt;
    size_t ncalls;
    size_t call_bytes;            /* the calls' blocks */
    int64_t now;
    struct sip_proxy_stats st;
    struct sip_msg scratch;       /* our own output, parsed again */
    struct sip_route_result route;
    char out[OUT_CAP];            /* a forwarded message */
    char abuf[SIP_MAX_DGRAM];     /* an answer of our own */
    char cbuf[4096];              /* a CANCEL */
};

/* ---------------------------------------------------------------- small */

static const char *tr_name(int t)
{
    return t == SIP_TR_TCP ? "TCP" : t == SIP_TR_TLS ? "TLS" : "UDP";
}

static void ip_text(const struct sip_flow *f, char out[48])
{
    if (!inet_ntop(f->family == 6 ? AF_INET6 : AF_INET, f->ip, out, 48))
        out[0] = '\0';
}

static int flow_eq(const struct sip_flow *a, const struct sip_flow *b)
{
    if (a->transport != b->transport || a->family != b->family)
        return 0;
    if (a->transport != SIP_TR_UDP)
        return a->conn_id == b->conn_id;
    return a->port == b->port && a->listener == b->listener &&
           memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4) == 0;
}

static int ip_eq(const struct sip_flow *a, const struct sip_flow *b)
{
    return a->family == b->family && memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4) == 0;
}

static void hex64(uint64_t v, char out[17])
{
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++)
        out[i] = d[(v >> (60 - 4 * i)) & 0xF];
    out[16] = '\0';
}

/* Feeds a slice into a hash buffer with its length, so fields cannot run
 * into each other. */
static size_t put_field(uint8_t *buf, size_t n, size_t cap, struct sip_str s)
{
    size_t k = s.n;
    if (n + 2 + k > cap)
        k = cap > n + 2 ? cap - n - 2 : 0;
    if (n + 2 > cap)
        return n;
    buf[n++] = (uint8_t)(k >> 8);
    buf[n++] = (uint8_t)k;
    if (k)
        memcpy(buf + n, s.p, k);
    return n + k;
}

/* The loop hash of 16.6 step 8: Request-URI as received, From and To
 * tags, Call-ID and CSeq number, under a per-process key. */
static uint64_t loop_hash(const struct sip_proxy *px, const struct sip_msg *m)
{
    uint8_t buf[2048];
    size_t n = 0;
    n = put_field(buf, n, sizeof buf, m->ruri.text);
    n = put_field(buf, n, sizeof buf, m->from.tag);
    n = put_field(buf, n, sizeof buf, m->to.tag);
    n = put_field(buf, n, sizeof buf, m->call_id);
    if (n + 4 <= sizeof buf) {
        memcpy(buf + n, &m->cseq, 4);
        n += 4;
    }
    return siphash24(px->loop_key, buf, n);
}

static void branch_make(struct sip_proxy *px, const struct sip_msg *m, char out[BRANCH_MAX])
{
    char h[17], u[17];
    hex64(loop_hash(px, m), h);
    hex64(siphash24(px->loop_key, &(uint64_t[2]){ px->salt, ++px->seq }, 16), u);
    snprintf(out, BRANCH_MAX, PREFIX "%s.%s", h, u);
}

/* 1 when a Via of m carries one of our branches with m's own loop hash:
 * the request was here before, unchanged, so it loops (16.3 step 4). */
static int loop_detect(const struct sip_proxy *px, const struct sip_msg *m)
{
    char h[17];
    hex64(loop_hash(px, m), h);
    for (size_t i = 0; i < m->nvia; i++) {
        struct sip_str b = m->via[i].branch;
        if (b.p && b.n > PREFIX_LEN + 16 && memcmp(b.p, PREFIX, PREFIX_LEN) == 0 &&
            memcmp(b.p + PREFIX_LEN, h, 16) == 0)
            return 1;
    }
    return 0;
}

static void make_tag(const struct sip_proxy *px, const struct sip_msg *m, char out[17])
{
    uint8_t buf[1024];
    size_t n = 0;
    n = put_field(buf, n, sizeof buf, m->call_id);
    n = put_field(buf, n, sizeof buf, m->from.tag);
    n = put_field(buf, n, sizeof buf, m->via[0].branch);
    hex64(siphash24(px->tag_key, buf, n), out);
}

/* ---------------------------------------------------------------- flow tokens */

static void flow_pack(const struct sip_flow *f, uint8_t *p)
{
    memcpy(p, f->ip, 16);
    p[16] = (uint8_t)(f->port >> 8);
    p[17] = (uint8_t)f->port;
    p[18] = f->family;
    p[19] = f->transport;
    p[20] = (uint8_t)(f->listener >> 8);
    p[21] = (uint8_t)f->listener;
    for (int i = 0; i < 4; i++)
        p[22 + i] = (uint8_t)(f->conn_id >> (24 - 8 * i));
}

static void flow_unpack(const uint8_t *p, struct sip_flow *f)
{
    memset(f, 0, sizeof *f);
    memcpy(f->ip, p, 16);
    f->port = (uint16_t)(p[16] << 8 | p[17]);
    f->family = p[18];
    f->transport = p[19];
    f->listener = (uint16_t)(p[20] << 8 | p[21]);
    f->conn_id = (uint32_t)p[22] << 24 | (uint32_t)p[23] << 16 | (uint32_t)p[24] << 8 | p[25];
}

/* The token of a dialog's two flows (caller a, callee b): sealed, so
 * neither phone learns the other's address from the Record-Route and
 * nobody can forge a flow for the proxy to send to. */
static int token_make(const struct sip_proxy *px, const struct sip_flow *a,
                      const struct sip_flow *b, char out[TOKEN_HEX + 1])
{
    uint8_t pt[2 * FLOW_PACKED], box[TOKEN_BYTES];
    flow_pack(a, pt);
    flow_pack(b, pt + FLOW_PACKED);
    if (secretbox_seal(px->box_key, pt, sizeof pt, box, sizeof box) != TOKEN_BYTES)
        return -EIO;
    crypto_hex(box, sizeof box, out);
    out[TOKEN_HEX] = '\0';
    return 0;
}

static int token_open(const struct sip_proxy *px, struct sip_str hex, struct sip_flow *a,
                      struct sip_flow *b)
{
    char tmp[TOKEN_HEX + 1];
    uint8_t box[TOKEN_BYTES], pt[2 * FLOW_PACKED];
    if (!hex.p || hex.n != TOKEN_HEX)
        return -EBADMSG;
    memcpy(tmp, hex.p, TOKEN_HEX);
    tmp[TOKEN_HEX] = '\0';
    if (crypto_unhex(tmp, box, sizeof box) < 0)
        return -EBADMSG;
    if (secretbox_open(px->box_key, box, sizeof box, pt, sizeof pt) != (int)sizeof pt)
        return -EBADMSG;
    flow_unpack(pt, a);
    flow_unpack(pt + FLOW_PACKED, b);
    return 0;
}

/* ---------------------------------------------------------------- routes */

struct route_info {
    size_t npop;       /* our entries at the top of Route */
    int token;         /* a valid flow token was among them */
    struct sip_flow a, b;
};

static int uri_is_ours(const struct sip_proxy *px, const struct sip_uri *u)
{
    if (u->scheme != SIP_SCHEME_SIP && u->scheme != SIP_SCHEME_SIPS)
        return 0;
    if (u->host.n == strlen(px->cfg.realm) && sip_str_ieq(u->host, px->cfg.realm))
        return 1;
    return px->io.is_local(px->io.ctx, u->host.p, u->host.n, u->port);
}

/* Pops the Route entries that name us (16.4): ours carry a t9 token; a
 * phone's configured outbound proxy (a preloaded Route) names our address
 * or realm. */
static void routes_pop(const struct sip_proxy *px, const struct sip_msg *m, struct route_info *ri)
{
    memset(ri, 0, sizeof *ri);
    for (size_t i = 0; i < m->nroute; i++) {
        const struct sip_uri *u = &m->route[i].uri;
        struct sip_str tok;
        int has = sip_param_find(u->params, "t9", &tok) == 1;
        if (has) {
            struct sip_flow a, b;
            if (token_open(px, tok, &a, &b) < 0)
                break; /* not ours after all (or forged): stop popping */
            ri->token = 1;
            ri->a = a;
            ri->b = b;
        } else if (!uri_is_ours(px, u)) {
            break;
        }
        ri->npop++;
    }
}

/* The remaining Route values after our own, comma-joined, into out; 0
 * when there are none. */
static int routes_rest(const struct sip_msg *m, size_t from, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = from; i < m->nroute; i++) {
        const struct sip_str t = m->route[i].text;
        if (len + t.n + 3 >= cap)
            return -ENOSPC;
        if (len) {
            out[len++] = ',';
            out[len++] = ' ';
        }
        memcpy(out + len, t.p, t.n);
        len += t.n;
        out[len] = '\0';
    }
    return len ? 1 : 0;
}

/* ---------------------------------------------------------------- answers */

static void count_answer(struct sip_proxy *px, int status)
{
    px->st.answers[status / 100 % 7]++;
    switch (status) {
    case 403: px->st.code_403++; break;
    case 404: px->st.code_404++; break;
    case 407: px->st.code_407++; break;
    case 480: px->st.code_480++; break;
    case 482: px->st.code_482++; break;
    case 483: px->st.code_483++; break;
    case 485: px->st.code_485++; break;
    default: break;
    }
}

/* Builds our own answer to req from src into px->abuf. Returns its length
 * or < 0. */
static long build_answer(struct sip_proxy *px, const struct sip_msg *req,
                         const struct sip_flow *src, int status, const char *reason,
                         const char *extra)
{
    char ip[48], tag[17];
    ip_text(src, ip);
    make_tag(px, req, tag);
    struct sip_resp_opts o = { 0 };
    o.to_tag = tag;
    o.received = ip;
    o.rport = src->port;
    o.extra = extra;
    long n = sip_build_response(req, status, reason, &o, px->abuf, sizeof px->abuf);
    if (n < 0 && extra) {
        o.extra = NULL;
        status = 500;
        n = sip_build_response(req, 500, "Response Too Large", &o, px->abuf, sizeof px->abuf);
    }
    if (n >= 0)
        count_answer(px, status);
    return n;
}

/* Answers req on its server transaction t (or without one when t is
 * NULL: nothing could be kept). */
static void answer(struct sip_proxy *px, const struct sip_msg *req, const struct sip_flow *src,
                   struct sip_txn *t, int status, const char *reason, const char *extra)
{
    long n = build_answer(px, req, src, status, reason, extra);
    if (n < 0)
        return;
    if (t)
        sip_txn_server_respond(px->txn, t, status, px->abuf, (size_t)n, px->now);
    else
        px->io.send(px->io.ctx, src, px->abuf, (size_t)n);
}

/* ---------------------------------------------------------------- calls */

static struct px_call *call_new(struct sip_proxy *px, const struct sip_msg *m,
                                const struct sip_flow *src, struct sip_txn *server, int initial,
                                size_t nbr);

/* The heap block of a call with room for nbr branches, and what the
 * allocator adds to it, as t9phone_sip_proxy_context_bytes counts it. */
static size_t call_size(size_t nbr)
{
    return sizeof(struct px_call) + nbr * sizeof(struct px_branch);
}
#define CALL_BLOCK_OVERHEAD 16

/* Frees the copies a branch keeps for its CANCEL and its binding. */
static void branch_free_copies(struct px_branch *b)
{
    free(b->cancel);
    free(b->user);
    free(b->contact);
    b->cancel = b->user = b->contact = NULL;
    b->cancel_len = 0;
}

static void call_unref(struct px_call *c)
{
    if (--c->refs > 0)
        return;
    for (int i = 0; i < c->nbr; i++)
        branch_free_copies(&c->br[i]);
    sip_fork_release(&c->f);
    free(c->callee_pai);
    free(c->callee_display);
    free(c->req);
    c->px->ncalls--;
    c->px->call_bytes -= call_size((size_t)c->nbr) + CALL_BLOCK_OVERHEAD;
    free(c);
}

/* The request copy serves only the answers the proxy makes itself; once
 * the caller has its final answer it is not needed. */
static void drop_request(struct px_call *c)
{
    free(c->req);
    c->req = NULL;
    c->req_len = 0;
}

/* A fork that is over lets its transactions go on alone: a non-INVITE's or
 * a failed INVITE's server transaction resends its final response by
 * itself, and its client transactions absorb or re-ACK theirs, so the call
 * (about 1.4 KiB) is released now rather than when the last of them ends
 * 64*T1 later. A set-up INVITE keeps its call: retransmitted 2xx from the
 * callee (the Accepted client transaction passes them on) are forwarded
 * through it with the callee's identity; it keeps only that. */
static void call_settle(struct px_call *c)
{
    if (!sip_fork_finished(&c->f))
        return;
    if (c->f.invite && c->f.sent_2xx) {
        for (int i = 0; i < c->nbr; i++)
            branch_free_copies(&c->br[i]);
        return;
    }
    c->refs++; /* c stays until the end of this function */
    for (int i = 0; i < c->nbr; i++) {
        struct px_branch *b = &c->br[i];
        if (!b->txn)
            continue;
        sip_txn_set_user(b->txn, NULL);
        b->txn = NULL;
        call_unref(c);
    }
    if (c->server) {
        sip_txn_set_user(c->server, NULL);
        c->server = NULL;
        call_unref(c);
    }
    call_unref(c);
}

static void count_final(struct px_call *c, int status)
{
    if (!c->initial || c->counted)
        return;
    c->counted = 1;
    if (status < 300)
        c->px->st.calls_setup++;
    else if (c->f.caller_cancelled)
        c->px->st.calls_cancelled++;
    else
        c->px->st.calls_failed++;
}

/* fork ops */
static void op_forward(void *ctx, struct sip_fork *f, int status, const char *buf, size_t len)
{
    struct sip_proxy *px = ctx;
    struct px_call *c = (struct px_call *)f;
    if (status >= 200)
        count_final(c, status);
    if (c->server)
        sip_txn_server_respond(px->txn, c->server, status, buf, len, px->now);
    if (status >= 200)
        drop_request(c);
}

static void op_answer(void *ctx, struct sip_fork *f, int status)
{
    struct sip_proxy *px = ctx;
    struct px_call *c = (struct px_call *)f;
    count_final(c, status);
    if (c->server && c->req && sip_parse(c->req, c->req_len, 0, &px->scratch) == 0)
        answer(px, &px->scratch, &c->caller, c->server, status, NULL, NULL);
    drop_request(c);
}

static void op_cancel(void *ctx, struct sip_fork *f, int i, int elsewhere)
{
    struct sip_proxy *px = ctx;
    struct px_call *c = (struct px_call *)f;
    struct px_branch *b = &c->br[i];
    if (!b->txn || !b->cancel)
        return;
    int n = snprintf(px->cbuf, sizeof px->cbuf, "%.*s%sContent-Length: 0\r\n\r\n",
                     (int)b->cancel_len, b->cancel,
                     elsewhere ? "Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n"
                               : "");
    if (n > 0 && (size_t)n < sizeof px->cbuf) {
        struct sip_txn_req q = { 0 };
        q.buf = px->cbuf;
        q.len = (size_t)n;
        q.branch = b->branch;
        q.blen = strlen(b->branch);
        q.method = SIP_M_CANCEL;
        q.flow = b->flow;
        q.reliable = b->flow.transport != SIP_TR_UDP;
        struct sip_txn *t;
        sip_txn_client_new(px->txn, &q, NULL, px->now, &t);
    }
    sip_txn_client_cancelled(px->txn, b->txn, px->now);
}

static const struct sip_fork_ops fork_ops = { op_forward, op_answer, op_cancel, NULL };

/* txn ops */
static int tx_send(void *ctx, const struct sip_flow *flow, const char *buf, size_t n)
{
    struct sip_proxy *px = ctx;
    int rc = px->io.send(px->io.ctx, flow, buf, n);
    /* A datagram that could not go out now (a full socket buffer) is a lost
     * datagram, which the retransmission timers cover; only a stream that
     * is gone means the flow is. */
    return rc < 0 && flow->transport == SIP_TR_UDP ? 0 : rc;
}

static void drop_binding(struct sip_proxy *px, struct px_branch *b)
{
    if (!b->user || !b->contact)
        return;
    struct sip_loc_put p = { 0 };
    p.user = b->user;
    p.ulen = strlen(b->user);
    p.contact = b->contact;
    p.clen = strlen(b->contact);
    p.callid = "";
    sip_loc_remove(px->cfg.loc, &p);
    px->st.flows_gone++;
}

static void tx_event(void *ctx, struct sip_txn *t, void *user, enum sip_txn_event ev)
{
    struct sip_proxy *px = ctx;
    if (!user)
        return;
    if (sip_txn_kind(t) == SIP_TXN_CLIENT_INVITE || sip_txn_kind(t) == SIP_TXN_CLIENT_NONINVITE) {
        struct px_branch *b = user;
        switch (ev) {
        case SIP_TE_TIMEOUT:
            sip_fork_timeout(&b->call->f, b->idx);
            break;
        case SIP_TE_TRANSPORT:
            drop_binding(px, b);
            sip_fork_flow_failed(&b->call->f, b->idx);
            break;
        case SIP_TE_TIMER_C:
            sip_fork_timer_c(&b->call->f, b->idx);
            break;
        }
        return;
    }
    struct px_call *c = user;
    if (ev == SIP_TE_TRANSPORT)
        sip_fork_cancel(&c->f); /* the caller is gone: stop ringing */
}

static void tx_done(void *ctx, struct sip_txn *t, void *user)
{
    (void)ctx;
    if (!user)
        return;
    if (sip_txn_kind(t) == SIP_TXN_CLIENT_INVITE || sip_txn_kind(t) == SIP_TXN_CLIENT_NONINVITE) {
        struct px_branch *b = user;
        b->txn = NULL;
        call_unref(b->call);
        return;
    }
    struct px_call *c = user;
    c->server = NULL;
    call_unref(c);
}

/* A call for request m with room for nbr branches (1 to SIP_FORK_MAX). */
static struct px_call *call_new(struct sip_proxy *px, const struct sip_msg *m,
                                const struct sip_flow *src, struct sip_txn *server, int initial,
                                size_t nbr)
{
    if (nbr < 1)
        nbr = 1;
    if (nbr > SIP_FORK_MAX)
        nbr = SIP_FORK_MAX;
    size_t size = call_size(nbr);
    struct px_call *c = calloc(1, size);
    if (!c)
        return NULL;
    c->nbr = (int)nbr;
    c->req = malloc(m->len ? m->len : 1);
    if (!c->req) {
        free(c);
        return NULL;
    }
    memcpy(c->req, m->buf, m->len);
    c->req_len = m->len;
    struct sip_fork_ops ops = fork_ops;
    ops.ctx = px;
    sip_fork_init(&c->f, &ops, m->method_id == SIP_M_INVITE);
    c->px = px;
    c->server = server;
    c->caller = *src;
    c->initial = (uint8_t)initial;
    c->refs = 1;
    sip_txn_set_user(server, c);
    px->ncalls++;
    px->call_bytes += size + CALL_BLOCK_OVERHEAD;
    return c;
}

/* ---------------------------------------------------------------- forwarding */

struct fwd {
    const char *ruri;         /* new Request-URI, or NULL */
    const char *route;        /* Route value to set, or NULL to remove every Route */
    int record_route;         /* initial INVITE */
    const char *pai, *display;
    struct sip_flow out;      /* where it goes */
    const struct sip_flow *a, *b; /* the dialog's flows for the token */
};

/* Writes the forwarded copy of m into px->out with our Via (branch into
 * branch). Returns its length or < 0. */
static long build_forward(struct sip_proxy *px, const struct sip_msg *m,
                          const struct sip_flow *src, const struct fwd *w, char branch[BRANCH_MAX])
{
    struct sip_edit e;
    char host[64], via[160], ip[48];
    uint16_t port;
    if (px->io.local(px->io.ctx, w->out.listener, host, &port) < 0)
        return -ENOENT;
    branch_make(px, m, branch);
    sip_edit_init(&e, m);
    if (w->ruri)
        sip_edit_ruri(&e, w->ruri);
    ip_text(src, ip);
    sip_edit_via_received(&e, ip, src->port);
    snprintf(via, sizeof via, "SIP/2.0/%s %s:%u;branch=%s;rport", tr_name(w->out.transport),
             host, port, branch);
    sip_edit_list_prepend(&e, SIP_H_VIA, via);
    sip_edit_max_forwards(&e, m->max_forwards < 0 ? 70 : m->max_forwards - 1);
    sip_edit_header_set(&e, "Route", w->route);
    if (w->record_route) {
        char tok[TOKEN_HEX + 1], rr[TOKEN_HEX + 200];
        if (token_make(px, w->a, w->b, tok) < 0)
            return -EIO;
        const struct sip_flow *in = src, *out = &w->out;
        int twice = in->transport != out->transport || in->family != out->family;
        if (twice) { /* the callee-facing entry on top (RFC 5658) */
            snprintf(rr, sizeof rr, "<sip:%s:%u%s;lr;t9=%s>", host, port,
                     out->transport == SIP_TR_TCP ? ";transport=tcp"
                     : out->transport == SIP_TR_TLS ? ";transport=tls" : "", tok);
            sip_edit_list_prepend(&e, SIP_H_RECORD_ROUTE, rr);
        }
        char ihost[64];
        uint16_t iport;
        if (px->io.local(px->io.ctx, in->listener, ihost, &iport) < 0)
            return -ENOENT;
        snprintf(rr, sizeof rr, "<sip:%s:%u%s;lr;t9=%s>", ihost, iport,
                 in->transport == SIP_TR_TCP ? ";transport=tcp"
                 : in->transport == SIP_TR_TLS ? ";transport=tls" : "", tok);
        sip_edit_list_prepend(&e, SIP_H_RECORD_ROUTE, rr);
    }
    if (w->pai) {
        /* RFC 3325: only what this proxy asserts is trusted. */
        sip_edit_header_set(&e, "P-Asserted-Identity", w->pai);
        sip_edit_header_set(&e, "Remote-Party-ID", NULL);
        sip_edit_header_set(&e, "P-Preferred-Identity", NULL);
        sip_edit_display(&e, SIP_H_FROM, w->display);
    }
    /* Credentials for our realm end here (RFC 3261 22.3). */
    sip_edit_header_set(&e, "Proxy-Authorization", NULL);
    sip_edit_fix_length(&e);
    return sip_edit_write(&e, px->out, sizeof px->out);
}

/* Header lines of the parsed message s with id, appended to out. */
static size_t lines(const struct sip_msg *s, enum sip_hdr_id id, int first_only, char *out,
                    size_t len, size_t cap)
{
    for (const struct sip_hdr *h = sip_msg_find(s, id, NULL); h; h = sip_msg_find(s, id, h)) {
        if (len + h->len < cap) {
            memcpy(out + len, s->buf + h->off, h->len);
            len += h->len;
        }
        if (first_only)
            break;
    }
    return len;
}

/* Sends the forwarded request in px->out (n bytes) as branch i of call c;
 * m is the request as received (same method and CSeq). Only an INVITE's
 * output is parsed again, for the lines of its ACK and CANCEL. */
static int start_branch(struct sip_proxy *px, struct px_call *c, const struct sip_msg *m,
                        long n, const char *branch, const struct sip_flow *out,
                        const char *user, const char *contact)
{
    struct sip_msg *s = &px->scratch;
    int invite = m->method_id == SIP_M_INVITE;
    if (n < 0 || (invite && sip_parse(px->out, (size_t)n, 0, s) < 0))
        return -EINVAL;
    char ackl[4096];
    size_t al = 0;
    struct sip_txn_req q = { 0 };
    if (invite) {
        al = lines(s, SIP_H_VIA, 1, ackl, al, sizeof ackl);
        al = lines(s, SIP_H_FROM, 1, ackl, al, sizeof ackl);
        al = lines(s, SIP_H_CALL_ID, 1, ackl, al, sizeof ackl);
        al = lines(s, SIP_H_ROUTE, 0, ackl, al, sizeof ackl);
        q.ruri = s->ruri.text.p;
        q.rulen = s->ruri.text.n;
        q.ack_lines = ackl;
        q.alen = al;
    }
    q.buf = px->out;
    q.len = (size_t)n;
    q.branch = branch;
    q.blen = strlen(branch);
    q.method = m->method_id;
    q.flow = *out;
    q.reliable = out->transport != SIP_TR_UDP;
    q.cseq = m->cseq;
    q.timer_c = invite;
    int i = c->f.n;
    if (i >= c->nbr)
        return -ENOSPC;
    struct px_branch *b = &c->br[i];
    memset(b, 0, sizeof *b);
    b->call = c;
    b->idx = i;
    b->flow = *out;
    snprintf(b->branch, sizeof b->branch, "%s", branch);
    if (invite) {
        char can[4096];
        int k = snprintf(can, sizeof can, "CANCEL %.*s SIP/2.0\r\n", (int)s->ruri.text.n,
                         s->ruri.text.p);
        size_t cl = k > 0 ? (size_t)k : 0;
        cl = lines(s, SIP_H_VIA, 1, can, cl, sizeof can);
        cl = lines(s, SIP_H_FROM, 1, can, cl, sizeof can);
        cl = lines(s, SIP_H_TO, 1, can, cl, sizeof can);
        cl = lines(s, SIP_H_CALL_ID, 1, can, cl, sizeof can);
        cl = lines(s, SIP_H_ROUTE, 0, can, cl, sizeof can);
        k = snprintf(can + cl, sizeof can - cl, "CSeq: %u CANCEL\r\nMax-Forwards: 70\r\n",
                     (unsigned)s->cseq);
        if (k > 0 && (size_t)k < sizeof can - cl)
            cl += (size_t)k;
        b->cancel = malloc(cl);
        if (!b->cancel)
            return -ENOMEM;
        memcpy(b->cancel, can, cl);
        b->cancel_len = cl;
    }
    if (user && contact) {
        b->user = strdup(user);
        b->contact = strdup(contact);
    }
    struct sip_txn *t;
    int rc = sip_txn_client_new(px->txn, &q, b, px->now, &t);
    if (rc < 0) {
        free(b->cancel);
        free(b->user);
        free(b->contact);
        memset(b, 0, sizeof *b);
        return rc;
    }
    b->txn = t;
    if (sip_fork_add(&c->f, b) != i) { /* cannot happen: checked above */
        b->txn = NULL;
        return -EIO;
    }
    c->refs++;
    px->st.forwarded++;
    return 0;
}

/* ---------------------------------------------------------------- requests */

int sip_proxy_wants(const struct sip_msg *m)
{
    switch (m->method_id) {
    case SIP_M_INVITE: case SIP_M_ACK: case SIP_M_CANCEL: case SIP_M_BYE: case SIP_M_PRACK:
    case SIP_M_UPDATE: case SIP_M_INFO: case SIP_M_NOTIFY: case SIP_M_REFER:
        return 1;
    case SIP_M_OPTIONS:
        return m->ruri.user.p != NULL || m->to.tag.p != NULL;
    default:
        return 0;
    }
}

/* The flow an in-dialog request goes to: the other side of the token's
 * dialog from where it came. */
static const struct sip_flow *other_side(const struct route_info *ri, const struct sip_flow *src)
{
    if (flow_eq(src, &ri->b))
        return &ri->a;
    if (flow_eq(src, &ri->a))
        return &ri->b;
    return ip_eq(src, &ri->a) ? &ri->b : &ri->a;
}

static void forward_ack(struct sip_proxy *px, const struct sip_msg *m, const struct sip_flow *src)
{
    struct route_info ri;
    routes_pop(px, m, &ri);
    if (!ri.token || m->max_forwards == 0)
        return; /* an ACK with nowhere of ours to go: dropped (no answers to ACK) */
    char rest[2048], branch[BRANCH_MAX];
    int more = routes_rest(m, ri.npop, rest, sizeof rest);
    if (more < 0)
        return;
    struct fwd w = { 0 };
    w.route = more ? rest : NULL;
    w.out = *other_side(&ri, src);
    long n = build_forward(px, m, src, &w, branch);
    if (n > 0) {
        px->io.send(px->io.ctx, &w.out, px->out, (size_t)n);
        px->st.in_dialog++;
    }
}

static void handle_cancel(struct sip_proxy *px, const struct sip_msg *m,
                          const struct sip_flow *src, const struct sip_txn_key *k)
{
    struct sip_txn *t = NULL;
    if (sip_txn_server_new(px->txn, k, src, src->transport != SIP_TR_UDP, NULL, px->now, &t) < 0)
        t = NULL;
    struct sip_txn_key ki = *k;
    ki.method = SIP_M_INVITE;
    struct sip_txn *inv = sip_txn_server_find(px->txn, &ki);
    if (!inv) {
        answer(px, m, src, t, 481, NULL, NULL);
        return;
    }
    answer(px, m, src, t, 200, NULL, NULL);
    struct px_call *c = sip_txn_user(inv);
    if (c)
        sip_fork_cancel(&c->f);
}

static void forward_in_dialog(struct sip_proxy *px, const struct sip_msg *m,
                              const struct sip_flow *src, struct sip_txn *t,
                              const struct route_info *ri)
{
    char rest[2048], branch[BRANCH_MAX];
    int more = routes_rest(m, ri->npop, rest, sizeof rest);
    if (more < 0) {
        answer(px, m, src, t, 500, NULL, NULL);
        return;
    }
    struct px_call *c = call_new(px, m, src, t, 0, 1);
    if (!c) {
        answer(px, m, src, t, 500, NULL, NULL);
        return;
    }
    struct fwd w = { 0 };
    w.route = more ? rest : NULL;
    w.out = *other_side(ri, src);
    long n = build_forward(px, m, src, &w, branch);
    if (start_branch(px, c, m, n, branch, &w.out, NULL, NULL) < 0) {
        /* The dialog's other side is gone (its connection closed). */
        c->f.final_sent = 1;
        answer(px, m, src, t, n < 0 ? 500 : 480, NULL, NULL);
        return;
    }
    px->st.in_dialog++;
}

/* The credentials check of an out-of-dialog request: 1 with the user, or 0
 * when the answer went out. */
static int authenticate(struct sip_proxy *px, const struct sip_msg *m, const struct sip_flow *src,
                        struct sip_txn *t, struct sip_auth_result *r)
{
    uint32_t now_s = (uint32_t)(px->now / 1000);
    enum sip_auth_rc rc = sip_auth_check(px->cfg.auth, m, 1, src, now_s, r);
    char hdr[600];
    switch (rc) {
    case SIP_AUTH_OK:
        return 1;
    case SIP_AUTH_CHALLENGE:
    case SIP_AUTH_STALE:
    case SIP_AUTH_FAILED:
        if (sip_auth_challenge(px->cfg.auth, 1, rc == SIP_AUTH_STALE, src, now_s, hdr,
                               sizeof hdr) < 0)
            hdr[0] = '\0';
        answer(px, m, src, t, 407, NULL, hdr);
        return 0;
    case SIP_AUTH_REFUSED:
        snprintf(hdr, sizeof hdr, "Retry-After: %u\r\n", (unsigned)r->retry_after);
        answer(px, m, src, t, 503, NULL, hdr);
        return 0;
    default:
        answer(px, m, src, t, 500, NULL, NULL);
        return 0;
    }
}

/* An authenticated out-of-dialog request (caller r->user) on its server
 * transaction t: From check, resolution, fork. */
static void forward_initial(struct sip_proxy *px, const struct sip_msg *m,
                            const struct sip_flow *src, struct sip_txn *t,
                            const struct sip_auth_result *r)
{
    /* 3261 22.1 and issue 8: the caller is who authenticated. */
    char fu[SIP_AUTH_USER_MAX + 1];
    long fl = m->from.uri.user.p ? sip_unescape(m->from.uri.user, fu, sizeof fu - 1) : -1;
    if (fl < 0 || (size_t)fl != strlen(r->user) || memcmp(fu, r->user, (size_t)fl) != 0) {
        answer(px, m, src, t, 403, NULL, NULL);
        return;
    }
    int64_t uid;
    char ru[128];
    long rl = m->ruri.user.p ? sip_unescape(m->ruri.user, ru, sizeof ru - 1) : -1;
    if (!uri_is_ours(px, &m->ruri) || rl <= 0) {
        answer(px, m, src, t, 404, NULL, NULL);
        return;
    }
    int rc = core_resolve_caller(px->cfg.st, r->user, &uid);
    if (rc < 0) {
        answer(px, m, src, t, rc == -ENOENT ? 403 : 500, NULL, NULL);
        return;
    }
    struct sip_route_result *rt = &px->route;
    int st = sip_route_resolve(px->cfg.st, px->cfg.loc, px->cfg.realm, uid, ru, (size_t)rl,
                               px->now / 1000, rt);
    if (st) {
        answer(px, m, src, t, st, NULL, st == 485 ? rt->contacts : NULL);
        return;
    }
    char pai[256], disp[64];
    if (sip_route_identity(px->cfg.st, uid, px->cfg.realm, pai, sizeof pai, disp,
                           sizeof disp) < 0) {
        answer(px, m, src, t, 500, NULL, NULL);
        return;
    }
    struct px_call *c = call_new(px, m, src, t, m->method_id == SIP_M_INVITE, rt->ntarget);
    if (!c) {
        answer(px, m, src, t, 500, NULL, NULL);
        return;
    }
    /* The caller is shown who it reached, the same way (RFC 3325 allows
     * P-Asserted-Identity in responses). */
    char cpai[256], cdisp[64];
    if (sip_route_identity(px->cfg.st, rt->callee_uid, px->cfg.realm, cpai, sizeof cpai, cdisp,
                           sizeof cdisp) == 0) {
        c->callee_pai = strdup(cpai);
        c->callee_display = strdup(cdisp);
    }
    for (size_t i = 0; i < rt->ntarget; i++) {
        struct sip_route_target *tg = &rt->target[i];
        char branch[BRANCH_MAX];
        struct fwd w = { 0 };
        char uri[SIP_LOC_CONTACT_MAX + 1];
        snprintf(uri, sizeof uri, "%s", tg->contact);
        w.ruri = uri;
        w.route = tg->path[0] ? tg->path : NULL;
        w.record_route = m->method_id == SIP_M_INVITE;
        w.pai = pai;
        w.display = disp;
        w.out = tg->flow;
        w.a = src;
        w.b = &tg->flow;
        long n = build_forward(px, m, src, &w, branch);
        rc = start_branch(px, c, m, n, branch, &tg->flow, rt->callee, tg->contact);
        if (rc == -ENOTCONN) {
            /* The flow the phone registered from is gone: so is the
             * binding; the next contact is tried. */
            struct px_branch tmp = { 0 };
            tmp.user = rt->callee;
            tmp.contact = tg->contact;
            drop_binding(px, &tmp);
        }
    }
    if (c->f.n == 0) {
        c->f.final_sent = 1;
        count_final(c, 480);
        answer(px, m, src, t, 480, NULL, NULL);
    }
}

static int proxy_require_ok(struct sip_proxy *px, const struct sip_msg *m,
                            const struct sip_flow *src, struct sip_txn *t)
{
    if (m->nproxy_require == 0)
        return 1;
    /* No extension is needed of this proxy: every one listed is unknown. */
    char extra[600];
    size_t len = (size_t)snprintf(extra, sizeof extra, "Unsupported: ");
    for (size_t i = 0; i < m->nproxy_require && i < 8; i++) {
        struct sip_str o = m->proxy_require[i];
        if (o.n > 40 || len + o.n + 4 >= sizeof extra)
            break;
        len += (size_t)snprintf(extra + len, sizeof extra - len, "%s%.*s", i ? ", " : "",
                                (int)o.n, o.p);
    }
    snprintf(extra + len, sizeof extra - len, "\r\n");
    answer(px, m, src, t, 420, NULL, extra);
    return 0;
}

/* The server transaction of a request the proxy takes on, with its 100
 * Trying at once for an INVITE (17.2.1: the phone stops retransmitting);
 * NULL when the table is full (503 went out). */
static struct sip_txn *server_txn(struct sip_proxy *px, const struct sip_msg *m,
                                  const struct sip_flow *src, const struct sip_txn_key *k)
{
    struct sip_txn *t;
    if (sip_txn_server_new(px->txn, k, src, src->transport != SIP_TR_UDP, NULL, px->now, &t) < 0) {
        px->st.refused_full++;
        answer(px, m, src, NULL, 503, "Too Many Transactions", "Retry-After: 5\r\n");
        return NULL;
    }
    if (m->method_id == SIP_M_INVITE)
        answer(px, m, src, t, 100, NULL, NULL);
    return t;
}

int sip_proxy_request(struct sip_proxy *px, const struct sip_msg *m, const struct sip_flow *src,
                      int64_t now_ms)
{
    px->now = now_ms;
    const struct sip_via *v = &m->via[0];
    if (m->nvia == 0)
        return 0;
    if (!v->branch.p || v->branch.n < 8 || memcmp(v->branch.p, COOKIE, 7) != 0 ||
        v->branch.n > 255) {
        if (m->method_id != SIP_M_ACK)
            answer(px, m, src, NULL, 400, "Via Branch Without Magic Cookie", NULL);
        return 0;
    }
    char sentby[300];
    int sl = v->port ? snprintf(sentby, sizeof sentby, "%.*s:%u", (int)v->host.n, v->host.p,
                                (unsigned)v->port)
                     : snprintf(sentby, sizeof sentby, "%.*s", (int)v->host.n, v->host.p);
    if (sl < 0 || (size_t)sl >= sizeof sentby)
        return 0;
    struct sip_txn_key k = { v->branch.p, v->branch.n, sentby, (size_t)sl, m->method_id };
    struct sip_txn *t = NULL;
    int rc = sip_txn_server_request(px->txn, &k, now_ms, &t);
    if (rc == SIP_TXN_ABSORBED)
        return 0;
    if (m->method_id == SIP_M_ACK) {
        forward_ack(px, m, src);
        return 0;
    }
    if (m->method_id == SIP_M_CANCEL) {
        handle_cancel(px, m, src, &k);
        return 0;
    }
    /* Refusals come before any state: they are answered without a
     * transaction, so traffic that never authenticates cannot fill the
     * table (a retransmission simply gets the same answer again). */
    if (m->max_forwards == 0) {
        answer(px, m, src, NULL, 483, NULL, NULL);
        return 0;
    }
    if (loop_detect(px, m)) {
        answer(px, m, src, NULL, 482, NULL, NULL);
        return 0;
    }
    if (!proxy_require_ok(px, m, src, NULL))
        return 0;
    struct route_info ri;
    routes_pop(px, m, &ri);
    /* Only a request inside a dialog (a To tag) is routed by a token: a new
     * request is authenticated and resolved again even when it carries an
     * old Record-Route, so a ban or a kick cannot be stepped around. */
    if (m->to.tag.p) {
        if (!ri.token) {
            answer(px, m, src, NULL, 403, "No Route Of Ours", NULL);
            return 0;
        }
        if ((t = server_txn(px, m, src, &k)) != NULL)
            forward_in_dialog(px, m, src, t, &ri);
        return 0;
    }
    if (ri.npop < m->nroute) { /* a preloaded route past us: no relaying */
        answer(px, m, src, NULL, 403, "No Relaying", NULL);
        return 0;
    }
    struct sip_auth_result r;
    if (!authenticate(px, m, src, NULL, &r))
        return 0;
    if ((t = server_txn(px, m, src, &k)) != NULL)
        forward_initial(px, m, src, t, &r);
    return 1;
}

/* ---------------------------------------------------------------- responses */

void sip_proxy_response(struct sip_proxy *px, const struct sip_msg *m, const struct sip_flow *src,
                        int64_t now_ms)
{
    (void)src;
    px->now = now_ms;
    if (m->nvia == 0)
        return;
    struct sip_str b = m->via[0].branch;
    if (!b.p || b.n <= PREFIX_LEN || memcmp(b.p, PREFIX, PREFIX_LEN) != 0)
        return;
    const struct sip_hdr *to = sip_msg_find(m, SIP_H_TO, NULL);
    struct sip_txn *t;
    void *user;
    int rc = sip_txn_client_response(px->txn, b.p, b.n, m->cseq_method_id, m->status,
                                     to ? m->buf + to->off : "", to ? to->len : 0, now_ms, &t,
                                     &user);
    /* A CANCEL's answer (user NULL) ends here. */
    if (rc != SIP_TXN_PASS || !user)
        return;
    struct px_branch *br = user;
    if (m->nvia < 2) {
        /* No Via left to go back by (a UAS that copied the wrong Vias): the
         * status still counts, and a final one is answered as our own. */
        if (m->status >= 300) {
            sip_fork_response(&br->call->f, br->idx, m->status, NULL, 0);
            call_settle(br->call);
        }
        return;
    }
    struct sip_edit e;
    sip_edit_init(&e, m);
    sip_edit_list_remove_top(&e, SIP_H_VIA);
    const struct px_call *c = br->call;
    if (c->callee_pai && m->status > 100 && m->status < 300 &&
        m->cseq_method_id == SIP_M_INVITE) {
        sip_edit_header_set(&e, "P-Asserted-Identity", c->callee_pai);
        sip_edit_header_set(&e, "Remote-Party-ID", NULL);
        sip_edit_display(&e, SIP_H_TO, c->callee_display); /* display only: URI and tag stay */
    }
    sip_edit_fix_length(&e);
    long n = sip_edit_write(&e, px->out, sizeof px->out);
    if (n < 0)
        return;
    struct px_call *call = br->call;
    sip_fork_response(&call->f, br->idx, m->status, px->out, (size_t)n);
    if (m->status >= 200)
        call_settle(call);
}

/* ---------------------------------------------------------------- lifecycle */

struct sip_proxy *sip_proxy_new(const struct sip_proxy_cfg *cfg, const struct sip_proxy_io *io)
{
    if (!cfg || !io || !cfg->realm || !cfg->loc || !cfg->auth || !io->send || !io->local ||
        !io->is_local)
        return NULL;
    struct sip_proxy *px = calloc(1, sizeof *px);
    if (!px)
        return NULL;
    px->cfg = *cfg;
    px->io = *io;
    uint8_t tkey[16];
    if (crypto_random_bytes(px->loop_key, sizeof px->loop_key) < 0 ||
        crypto_random_bytes(px->tag_key, sizeof px->tag_key) < 0 ||
        crypto_random_bytes(px->box_key, sizeof px->box_key) < 0 ||
        crypto_random_bytes(&px->salt, sizeof px->salt) < 0 ||
        crypto_random_bytes(tkey, sizeof tkey) < 0) {
        free(px);
        return NULL;
    }
    struct sip_txn_ops ops = { tx_send, tx_event, tx_done, px };
    px->txn = sip_txn_tab_new(&cfg->txn, &ops, tkey);
    if (!px->txn) {
        free(px);
        return NULL;
    }
    return px;
}

void sip_proxy_free(struct sip_proxy *px)
{
    if (!px)
        return;
    sip_txn_tab_free(px->txn); /* done() releases every call */
    crypto_wipe(px->box_key, sizeof px->box_key);
    crypto_wipe(px->loop_key, sizeof px->loop_key);
    free(px);
}

int64_t sip_proxy_next(const struct sip_proxy *px) { return sip_txn_next(px->txn); }

void sip_proxy_tick(struct sip_proxy *px, int64_t now_ms)
{
    px->now = now_ms;
    sip_txn_tick(px->txn, now_ms);
}

const struct sip_proxy_stats *sip_proxy_stats(const struct sip_proxy *px) { return &px->st; }
size_t sip_proxy_transactions(const struct sip_proxy *px) { return sip_txn_count(px->txn); }
size_t sip_proxy_transaction_bytes(const struct sip_proxy *px) { return sip_txn_bytes(px->txn); }
size_t sip_proxy_call_bytes(const struct sip_proxy *px) { return px->call_bytes; }
size_t sip_proxy_calls(const struct sip_proxy *px) { return px->ncalls; }
