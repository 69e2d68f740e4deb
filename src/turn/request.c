/*
 * turn/request.c - STUN/TURN requests from clients. See request.h.
 */
#include "turn/request.h"

#include <string.h>
#include <time.h>

#include <bearssl.h>

#include "turn/alloc.h"
#include "turn/auth.h"
#include "turn/peer.h"
#include "turn/stun.h"
#include "turn/transport.h"

/* A request being answered. */
struct req {
    struct turn_server *ts;
    const struct net_endpoint *from;
    const union net_addr *client; /* &from->addr */
    const struct stun_msg *m;
    const uint8_t *key; /* set once authenticated */
    uint8_t keybuf[16];
    uint8_t user[32];
    int use256;
    int fp;
};

static const char software[] = "T9phone";

/* ------------------------------------------------------------ small helpers */

static void user_hash(const char *u, size_t n, uint8_t out[32])
{
    br_sha256_context c;
    br_sha256_init(&c);
    br_sha256_update(&c, u, n);
    br_sha256_out(&c, out);
}

/* ------------------------------------------------------------ replies */

static void reply_start(struct req *r, struct stun_builder *b, uint8_t cls)
{
    stun_build_init(b, r->ts->tx, sizeof r->ts->tx, r->m->method, cls, r->m->tid);
}

static void reply_send(struct req *r, struct stun_builder *b)
{
    struct turn_server *ts = r->ts;
    if (!ts->o.no_software)
        stun_put(b, STUN_A_SOFTWARE, software, sizeof software - 1);
    if (r->key) {
        if (r->use256)
            stun_put_integrity_sha256(b, r->key, 16);
        else
            stun_put_integrity(b, r->key, 16);
    }
    if (r->fp || ts->o.fingerprint)
        stun_put_fingerprint(b);
    long n = stun_build_end(b);
    if (n < 0)
        return;
    turn__client_send(r->from, ts->tx, (size_t)n);
}

static void reply_error(struct req *r, int code)
{
    struct stun_builder b;
    reply_start(r, &b, STUN_ERROR);
    stun_put_error(&b, code, stun_reason(code));
    reply_send(r, &b);
}

/* 401 or 438 with a fresh nonce and the realm; never signed. */
static void reply_challenge(struct req *r, int code)
{
    struct turn_server *ts = r->ts;
    char nonce[TURN_NONCE_LEN];
    size_t iplen;
    const uint8_t *ip = sa_ip(r->client, &iplen);
    turn_nonce_make(ts->nonce_secret, (uint32_t)time(NULL), ip, iplen, nonce);
    struct stun_builder b;
    reply_start(r, &b, STUN_ERROR);
    stun_put_error(&b, code, stun_reason(code));
    stun_put(&b, STUN_A_REALM, ts->o.realm, ts->o.realm_len);
    stun_put(&b, STUN_A_NONCE, nonce, sizeof nonce);
    r->key = NULL;
    reply_send(r, &b);
}

/* ------------------------------------------------------------ auth */

static int verify_key(struct req *r, const uint8_t key[16])
{
    if (r->m->mi256_off >= 0)
        return stun_check_integrity_sha256(r->m, key, 16) == 0;
    return stun_check_integrity(r->m, key, 16) == 0;
}

/* Long-term credential check. Returns 0 with r->key set, or -1 after
 * answering the request. */
static int authenticate(struct req *r)
{
    struct turn_server *ts = r->ts;
    const struct stun_msg *m = r->m;
    if (m->mi_off < 0 && m->mi256_off < 0) {
        reply_challenge(r, 401);
        return -1;
    }
    const struct stun_attr *u = stun_find(m, STUN_A_USERNAME);
    const struct stun_attr *re = stun_find(m, STUN_A_REALM);
    const struct stun_attr *no = stun_find(m, STUN_A_NONCE);
    if (!u || !re || !no || u->len == 0 || u->len > 513) {
        reply_error(r, 400);
        return -1;
    }
    const struct stun_attr *pa = stun_find(m, STUN_A_PASSWORD_ALGORITHM);
    if (pa && (pa->len < 4 || pa->val[0] != 0 || pa->val[1] != 1)) {
        reply_error(r, 400); /* only MD5 keys exist here */
        return -1;
    }
    size_t iplen;
    const uint8_t *ip = sa_ip(r->client, &iplen);
    int nrc = turn_nonce_check(ts->nonce_secret, (uint32_t)time(NULL), ts->o.stale_nonce, ip,
                               iplen, (const char *)no->val, no->len);
    if (nrc < 0) {
        reply_challenge(r, 438);
        return -1;
    }
    if (re->len != ts->o.realm_len || memcmp(re->val, ts->o.realm, ts->o.realm_len) != 0) {
        ts->n_auth_fail++;
        reply_challenge(r, 401);
        return -1;
    }
    char user[514];
    memcpy(user, u->val, u->len);
    user[u->len] = '\0';
    if (strlen(user) != u->len) {
        reply_error(r, 400);
        return -1;
    }
    int ok = 0;
    int64_t expiry;
    if (ts->o.use_auth_secret && turn_rest_expiry(user, u->len, ts->o.sep, &expiry) == 0) {
        for (size_t i = 0; i < ts->o.nsecrets && !ok; i++) {
            char pw[64];
            int pl = turn_rest_password(ts->o.secrets[i], strlen(ts->o.secrets[i]), user, u->len,
                                        pw, sizeof pw);
            if (pl < 0)
                continue;
            turn_ltc_key(user, u->len, ts->o.realm, pw, (size_t)pl, r->keybuf);
            explicit_bzero(pw, sizeof pw);
            if (verify_key(r, r->keybuf))
                ok = expiry >= (int64_t)time(NULL) ? 1 : -1;
        }
    }
    if (!ok && ts->auth.lookup_ha1 && ts->auth.lookup_ha1(ts->auth.ctx, user, r->keybuf) == 0 &&
        verify_key(r, r->keybuf))
        ok = 1;
    if (ok <= 0) {
        ts->n_auth_fail++;
        explicit_bzero(r->keybuf, sizeof r->keybuf);
        reply_challenge(r, 401);
        return -1;
    }
    user_hash(user, u->len, r->user);
    explicit_bzero(user, sizeof user);
    r->key = r->keybuf;
    r->use256 = m->mi256_off >= 0;
    if (r->from->conn)
        net_conn_set_authenticated(r->from->conn); /* the normal deadlines from now on */
    return 0;
}

/* ------------------------------------------------------------ Send indications */

/* The allocation of the request's client, or NULL. */
static struct alloc *alloc_find(struct req *r)
{
    return turn__alloc_find(r->ts, r->from);
}

static void handle_send(struct req *r)
{
    struct alloc *a = alloc_find(r);
    if (!a)
        return;
    const struct stun_attr *pa = stun_find(r->m, STUN_A_XOR_PEER_ADDRESS);
    const struct stun_attr *d = stun_find(r->m, STUN_A_DATA);
    struct sockaddr_storage ss;
    if (!pa || !d || stun_get_xor_addr(r->m, pa, &ss) < 0)
        return;
    union net_addr peer;
    net_addr_copy(&peer, (struct sockaddr *)&ss);
    if (!turn__perm_find(a, &peer, now_ms(r->ts))) {
        r->ts->n_dropped++;
        return;
    }
    turn__alloc_relay(a, &peer, d->val, d->len);
}

/* ------------------------------------------------------------ TURN requests */

static uint32_t lifetime_for(struct turn_server *ts, const struct stun_msg *m, int *zero)
{
    const struct stun_attr *la = stun_find(m, STUN_A_LIFETIME);
    uint32_t want = TURN_DEFAULT_LIFETIME;
    *zero = 0;
    if (la && stun_get_u32(la, &want) == 0 && want == 0) {
        *zero = 1;
        return 0;
    }
    if (want < TURN_DEFAULT_LIFETIME)
        want = TURN_DEFAULT_LIFETIME;
    if (want > ts->o.max_lifetime)
        want = ts->o.max_lifetime;
    return want;
}

static void handle_allocate(struct req *r)
{
    struct turn_server *ts = r->ts;
    const struct stun_msg *m = r->m;
    if (authenticate(r) < 0)
        return;
    struct alloc *old = alloc_find(r);
    if (old) {
        if (memcmp(old->alloc_tid, m->tid, STUN_TID_LEN) == 0 &&
            memcmp(old->user, r->user, 32) == 0) {
            /* A retransmission: answer it again. */
            struct stun_builder b;
            reply_start(r, &b, STUN_SUCCESS);
            stun_put_xor_addr(&b, STUN_A_XOR_RELAYED_ADDRESS, &old->relay_pub.sa);
            uint64_t left = old->expires > now_ms(ts) ? (old->expires - now_ms(ts)) / 1000 : 0;
            stun_put_u32(&b, STUN_A_LIFETIME, (uint32_t)left);
            if (old->has_token)
                stun_put(&b, STUN_A_RESERVATION_TOKEN, old->token, 8);
            stun_put_xor_addr(&b, STUN_A_XOR_MAPPED_ADDRESS, &r->client->sa);
            reply_send(r, &b);
        } else {
            reply_error(r, 437);
        }
        return;
    }
    const struct stun_attr *rt = stun_find(m, STUN_A_REQUESTED_TRANSPORT);
    if (!rt || rt->len != 4) {
        reply_error(r, 400);
        return;
    }
    if (rt->val[0] != STUN_TRANSPORT_UDP) {
        reply_error(r, 442);
        return;
    }
    const struct stun_attr *ep = stun_find(m, STUN_A_EVEN_PORT);
    const struct stun_attr *tok = stun_find(m, STUN_A_RESERVATION_TOKEN);
    const struct stun_attr *raf = stun_find(m, STUN_A_REQUESTED_ADDRESS_FAMILY);
    if ((tok && (ep || raf)) || (tok && tok->len != 8) || (ep && ep->len < 1)) {
        reply_error(r, 400);
        return;
    }
    int v6;
    if (raf) {
        if (raf->len != 4 || (raf->val[0] != STUN_FAMILY_IPV4 && raf->val[0] != STUN_FAMILY_IPV6)) {
            reply_error(r, 440);
            return;
        }
        v6 = raf->val[0] == STUN_FAMILY_IPV6;
    } else if (ts->o.default_family) {
        v6 = ts->o.default_family == AF_INET6;
    } else {
        v6 = r->client->sa.sa_family == AF_INET6;
    }
    struct reservation *rv = NULL;
    if (tok) {
        rv = turn__resv_find(ts, tok->val);
        if (!rv) {
            reply_error(r, 508);
            return;
        }
        v6 = rv->v6;
    }
    if ((v6 && !ts->o.has_relay6) || (!v6 && !ts->o.has_relay4)) {
        reply_error(r, 440);
        return;
    }
    if (ts->o.total_quota && (long)ts->nallocs >= ts->o.total_quota) {
        reply_error(r, 486);
        return;
    }
    if (ts->o.user_quota) {
        long n = 0;
        for (struct alloc *x = ts->allocs; x; x = x->next)
            n += memcmp(x->user, r->user, 32) == 0;
        if (n >= ts->o.user_quota) {
            reply_error(r, 486);
            return;
        }
    }
    int zero;
    uint32_t life = lifetime_for(ts, m, &zero);
    if (zero)
        life = TURN_DEFAULT_LIFETIME < ts->o.max_lifetime ? TURN_DEFAULT_LIFETIME
                                                          : ts->o.max_lifetime;
    int even = ep != NULL, reserve = ep && (ep->val[0] & 0x80);
    struct alloc *a =
        turn__alloc_new(ts, v6, even, reserve, rv, stun_find(m, STUN_A_DONT_FRAGMENT) != NULL);
    if (!a) {
        reply_error(r, 508);
        return;
    }
    a->client = *r->from;
    a->expires = now_ms(ts) + life * 1000ULL;
    memcpy(a->user, r->user, 32);
    memcpy(a->alloc_tid, m->tid, STUN_TID_LEN);
    turn__alloc_link(a);

    struct stun_builder b;
    reply_start(r, &b, STUN_SUCCESS);
    stun_put_xor_addr(&b, STUN_A_XOR_RELAYED_ADDRESS, &a->relay_pub.sa);
    stun_put_u32(&b, STUN_A_LIFETIME, life);
    if (a->has_token)
        stun_put(&b, STUN_A_RESERVATION_TOKEN, a->token, 8);
    stun_put_xor_addr(&b, STUN_A_XOR_MAPPED_ADDRESS, &r->client->sa);
    reply_send(r, &b);
}

/* The allocation a later request refers to, checked against its
 * credentials; answers 437 or 441 itself. */
static struct alloc *alloc_for_request(struct req *r)
{
    struct alloc *a = alloc_find(r);
    if (!a) {
        reply_error(r, 437);
        return NULL;
    }
    if (memcmp(a->user, r->user, 32) != 0) {
        reply_error(r, 441);
        return NULL;
    }
    return a;
}

static void handle_refresh(struct req *r)
{
    struct turn_server *ts = r->ts;
    if (authenticate(r) < 0)
        return;
    struct alloc *a = alloc_for_request(r);
    if (!a)
        return;
    const struct stun_attr *raf = stun_find(r->m, STUN_A_REQUESTED_ADDRESS_FAMILY);
    if (raf) {
        int v6 = a->relay_pub.sa.sa_family == AF_INET6;
        if (raf->len != 4 || raf->val[0] != (v6 ? STUN_FAMILY_IPV6 : STUN_FAMILY_IPV4)) {
            reply_error(r, 443);
            return;
        }
    }
    int zero;
    uint32_t life = lifetime_for(ts, r->m, &zero);
    struct stun_builder b;
    reply_start(r, &b, STUN_SUCCESS);
    stun_put_u32(&b, STUN_A_LIFETIME, life);
    reply_send(r, &b);
    if (zero)
        turn__alloc_close(a);
    else
        a->expires = now_ms(ts) + life * 1000ULL;
}

/* Decodes a peer address and applies family and policy checks; answers
 * 400, 443 or 403 itself. */
static int peer_check(struct req *r, struct alloc *a, const struct stun_attr *pa,
                      union net_addr *peer)
{
    struct sockaddr_storage ss;
    if (!pa || stun_get_xor_addr(r->m, pa, &ss) < 0) {
        reply_error(r, 400);
        return -1;
    }
    net_addr_copy(peer, (struct sockaddr *)&ss);
    if (peer->sa.sa_family != a->relay_pub.sa.sa_family) {
        reply_error(r, 443);
        return -1;
    }
    if (!turn_peer_allowed(&r->ts->o.policy, &peer->sa)) {
        r->ts->n_denied++;
        reply_error(r, 403);
        return -1;
    }
    return 0;
}

static void handle_create_permission(struct req *r)
{
    if (authenticate(r) < 0)
        return;
    struct alloc *a = alloc_for_request(r);
    if (!a)
        return;
    union net_addr peers[TURN_MAX_PERMS];
    size_t n = 0;
    const struct stun_attr *pa = stun_find(r->m, STUN_A_XOR_PEER_ADDRESS);
    if (!pa) {
        reply_error(r, 400);
        return;
    }
    for (; pa; pa = stun_find_next(r->m, STUN_A_XOR_PEER_ADDRESS, pa)) {
        if (n == TURN_MAX_PERMS) {
            reply_error(r, 508);
            return;
        }
        if (peer_check(r, a, pa, &peers[n]) < 0)
            return;
        n++;
    }
    uint64_t now = now_ms(r->ts);
    /* All or nothing: count the slots the new peers need first. A peer
     * listed twice needs one; a peer with an entry (live, or expired and
     * not swept yet) is refreshed in place; expired entries of other peers
     * are reusable room. */
    size_t need = 0;
    for (size_t i = 0; i < n; i++) {
        int seen = turn__perm_find(a, &peers[i], 0) != NULL;
        for (size_t j = 0; j < i && !seen; j++) {
            size_t l1, l2;
            const uint8_t *x = sa_ip(&peers[i], &l1), *y = sa_ip(&peers[j], &l2);
            seen = peers[i].sa.sa_family == peers[j].sa.sa_family && memcmp(x, y, l1) == 0;
        }
        need += !seen;
    }
    /* Refresh the known ones first, so that expired slots reused for new
     * peers are never the ones a listed peer still has. */
    for (size_t i = 0; i < n; i++)
        if (turn__perm_find(a, &peers[i], 0))
            turn__perm_set(a, &peers[i], now);
    if (need > turn__perm_room(a, now)) {
        reply_error(r, 508);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (turn__perm_set(a, &peers[i], now) < 0) {
            reply_error(r, 508); /* cannot happen: counted above */
            return;
        }
    struct stun_builder b;
    reply_start(r, &b, STUN_SUCCESS);
    reply_send(r, &b);
}

static void handle_channel_bind(struct req *r)
{
    if (authenticate(r) < 0)
        return;
    struct alloc *a = alloc_for_request(r);
    if (!a)
        return;
    const struct stun_attr *cn = stun_find(r->m, STUN_A_CHANNEL_NUMBER);
    uint32_t v;
    if (!cn || stun_get_u32(cn, &v) < 0) {
        reply_error(r, 400);
        return;
    }
    uint16_t num = (uint16_t)(v >> 16);
    if (num < TURN_CHANNEL_MIN || num > TURN_CHANNEL_MAX) {
        reply_error(r, 400);
        return;
    }
    union net_addr peer;
    if (peer_check(r, a, stun_find(r->m, STUN_A_XOR_PEER_ADDRESS), &peer) < 0)
        return;
    uint64_t now = now_ms(r->ts);
    struct chan *by_num = turn__chan_by_num(a, num, now);
    struct chan *by_peer = turn__chan_by_peer(a, &peer, now);
    if ((by_num && !net_addr_equal(&by_num->peer, &peer)) || (by_peer && by_peer->num != num)) {
        reply_error(r, 400);
        return;
    }
    /* Check every refusal before changing anything. */
    struct chan *ch = by_num;
    int grow = 0;
    for (size_t i = 0; i < a->nchans && !ch; i++)
        if (a->chans[i].expires <= now)
            ch = &a->chans[i]; /* reuse an expired slot before growing */
    if (!ch && a->nchans < TURN_MAX_CHANNELS)
        grow = 1;
    int perm_ok = turn__perm_find(a, &peer, 0) != NULL || turn__perm_room(a, now) > 0;
    if ((!ch && !grow) || !perm_ok) {
        reply_error(r, 508);
        return;
    }
    if (grow)
        ch = &a->chans[a->nchans++];
    ch->num = num;
    ch->peer = peer;
    ch->expires = now + r->ts->o.channel_lifetime * 1000ULL;
    turn__perm_set(a, &peer, now);
    struct stun_builder b;
    reply_start(r, &b, STUN_SUCCESS);
    reply_send(r, &b);
}

static void handle_binding(struct req *r)
{
    struct stun_builder b;
    reply_start(r, &b, STUN_SUCCESS);
    stun_put_xor_addr(&b, STUN_A_XOR_MAPPED_ADDRESS, &r->client->sa);
    reply_send(r, &b);
}

static int attr_known(uint16_t t)
{
    switch (t) {
    case STUN_A_MAPPED_ADDRESS: case STUN_A_CHANGE_REQUEST: case STUN_A_USERNAME:
    case STUN_A_MESSAGE_INTEGRITY: case STUN_A_ERROR_CODE: case STUN_A_UNKNOWN_ATTRIBUTES:
    case STUN_A_CHANNEL_NUMBER: case STUN_A_LIFETIME: case STUN_A_XOR_PEER_ADDRESS:
    case STUN_A_DATA: case STUN_A_REALM: case STUN_A_NONCE: case STUN_A_XOR_RELAYED_ADDRESS:
    case STUN_A_REQUESTED_ADDRESS_FAMILY: case STUN_A_EVEN_PORT:
    case STUN_A_REQUESTED_TRANSPORT: case STUN_A_DONT_FRAGMENT:
    case STUN_A_MESSAGE_INTEGRITY_SHA256: case STUN_A_PASSWORD_ALGORITHM:
    case STUN_A_XOR_MAPPED_ADDRESS: case STUN_A_RESERVATION_TOKEN: case STUN_A_PRIORITY:
    case STUN_A_USE_CANDIDATE: case STUN_A_PADDING: case STUN_A_RESPONSE_PORT:
        return 1;
    default:
        return t >= 0x8000; /* comprehension-optional */
    }
}

/* One STUN message from a client. */
static void request_handle(struct turn_server *ts, const struct net_endpoint *from,
                           const uint8_t *p, size_t n)
{
    struct stun_msg m;
    if (stun_parse(p, n, &m) < 0 || stun_check_fingerprint(&m) < 0)
        return; /* malformed: silently discarded (RFC 8489 section 6.3) */
    struct req r = { .ts = ts, .from = from, .client = &from->addr, .m = &m,
                     .fp = m.fp_off >= 0 };
    if (m.cls == STUN_INDICATION) {
        if (m.method == TURN_SEND && !ts->o.stun_only)
            handle_send(&r);
        return;
    }
    if (m.cls != STUN_REQUEST)
        return;
    if (m.method == STUN_BINDING ? ts->o.no_stun : ts->o.stun_only)
        return;
    uint16_t unknown[16];
    size_t nu = 0;
    for (size_t i = 0; i < m.nattrs && nu < 16; i++)
        if (!attr_known(m.attrs[i].type))
            unknown[nu++] = m.attrs[i].type;
    if (nu) {
        struct stun_builder b;
        reply_start(&r, &b, STUN_ERROR);
        stun_put_error(&b, 420, stun_reason(420));
        stun_put_unknown(&b, unknown, nu);
        reply_send(&r, &b);
        return;
    }
    switch (m.method) {
    case STUN_BINDING: handle_binding(&r); break;
    case TURN_ALLOCATE: handle_allocate(&r); break;
    case TURN_REFRESH: handle_refresh(&r); break;
    case TURN_CREATE_PERMISSION: handle_create_permission(&r); break;
    case TURN_CHANNEL_BIND: handle_channel_bind(&r); break;
    default: reply_error(&r, 400); break;
    }
    explicit_bzero(r.keybuf, sizeof r.keybuf);
}

void turn__dispatch(struct turn_server *ts, const struct net_endpoint *from, uint8_t *p,
                    size_t n)
{
    if (stun_is_channeldata(p, n))
        turn__alloc_channeldata(turn__alloc_find(ts, from), p, n);
    else if (stun_is_stun(p, n))
        request_handle(ts, from, p, n);
}
