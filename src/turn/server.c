/*
 * turn/server.c - STUN/TURN server on libuv. See server.h.
 *
 * Memory: one turn_server holds the shared receive and transmit buffers, so
 * the relay path (ChannelData, Send and Data indications) never allocates:
 * a datagram is received into rx with headroom, the TURN header is written
 * in front of it in place, and it is sent with uv_udp_try_send() or queued in
 * the client connection's fixed output buffers. An allocation has fixed
 * arrays of permissions and channels. Connections have a fixed read buffer.
 */
#include "turn/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bearssl.h>

#include "base/log.h"
#include "net/stream_out.h"
#include "net/tls.h"
#include "turn/auth.h"
#include "turn/peer.h"
#include "turn/stun.h"

#define MAX_LISTEN_IPS 16
#define MAX_PERMS 32          /* per allocation */
#define MAX_CHANNELS 32       /* per allocation */
#define MAX_RESERVATIONS 4096 /* EVEN-PORT R reservations, server-wide */
#define MAX_SECRETS 8
#define CONN_RBUF 16384       /* largest frame accepted over a stream */
#define CONN_OUT_CAP 16384    /* buffered output per connection (x2) */
#define CONN_IDLE_MS 60000    /* a connection without allocation and traffic */
#define RESERVATION_MS 30000
#define DEFAULT_LIFETIME 600
#define HASH_BUCKETS 4096
#define HEADROOM 64           /* room for a Data indication header */
#define TAILROOM 16           /* padding and FINGERPRINT */
#define RX_SIZE (65536 + HEADROOM + TAILROOM)
#define TX_SIZE 2048
#define BIND_TRIES 64

enum { TR_UDP, TR_TCP, TR_TLS };

union sa {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
};

struct listener {
    struct turn_server *ts;
    int kind;
    union {
        uv_udp_t udp;
        uv_tcp_t tcp;
    } h;
};

struct conn {
    struct turn_server *ts;
    uv_tcp_t tcp;
    int tls_mode;
    struct tls_conn *tls;
    struct stream_out out; /* plain TCP only */
    union sa peer;
    struct alloc *alloc;
    uint64_t last_rx;
    size_t rlen;
    int closing;
    struct conn *prev, *next;
    uint8_t rbuf[CONN_RBUF];
};

struct perm {
    uint8_t v6;
    uint8_t ip[16];
    uint64_t expires;
};

struct chan {
    uint16_t num;
    union sa peer;
    uint64_t expires;
};

struct bucket {
    uint64_t tokens, last;
};

struct alloc {
    struct turn_server *ts;
    int transport;
    struct listener *lst; /* UDP clients */
    struct conn *conn;    /* TCP and TLS clients */
    union sa client;
    unsigned bucket;
    struct alloc *hnext, *prev, *next;
    uv_udp_t relay;
    union sa relay_pub; /* advertised relayed address */
    uint16_t port;
    uint64_t expires;
    uint8_t user[32]; /* SHA-256 of the username: quota and 441 checks */
    uint8_t key[16];
    uint8_t alloc_tid[STUN_TID_LEN];
    uint8_t token[8];
    int has_token;
    int closing;
    size_t nperms, nchans;
    struct perm perms[MAX_PERMS];
    struct chan chans[MAX_CHANNELS];
    struct bucket up, down;
};

/* EVEN-PORT R: the next port, bound now (a plain socket, no libuv handle)
 * so that nobody else can take it before the RTCP allocation comes. */
struct reservation {
    uint8_t token[8];
    uint16_t port;
    uint8_t v6;
    int fd;
    uint64_t expires; /* 0: free slot */
};

struct turn_server {
    uv_loop_t *loop;
    struct turn_auth auth;
    char realm[256];
    size_t realm_len;
    /* configuration */
    int listen_port, tls_port;
    unsigned min_port, max_port;
    int use_auth_secret;
    char *secrets[MAX_SECRETS];
    size_t nsecrets;
    char sep;
    long user_quota, total_quota;
    size_t max_conns;
    uint64_t max_bps, bps_capacity;
    uint32_t stale_nonce;
    uint32_t max_lifetime, channel_lifetime, perm_lifetime;
    int default_family; /* AF_INET, AF_INET6, or 0 to keep the client's */
    int fingerprint, no_stun, stun_only, no_software;
    /* addresses */
    union sa relay4, relay6, pub4, pub6;
    int has_relay4, has_relay6;
    struct turn_ip_range *denied, *allowed, *own;
    struct turn_peer_policy policy;
    /* handles */
    struct listener *listeners;
    size_t nlisteners;
    uv_timer_t sweep;
    struct tls_server *tls;
    char cert[512], pkey[512];
    /* state */
    struct alloc *hash[HASH_BUCKETS];
    struct alloc *allocs;
    struct conn *conns;
    size_t nallocs, nconns;
    struct reservation resv[MAX_RESERVATIONS];
    uint8_t ports[65536 / 8];
    uint8_t nonce_secret[TURN_NONCE_SECRET_LEN];
    uint8_t hash_key[16];
    uint64_t rng;
    struct bucket cap_up, cap_down;
    /* shutdown */
    int stopping;
    size_t handles;
    void (*done)(void *);
    void *done_arg;
    /* counters (logged, never per client) */
    uint64_t n_alloc, n_denied, n_auth_fail, n_relayed, n_dropped;
    uint64_t last_stats;
    /* buffers */
    uint8_t tx[TX_SIZE];
    uint8_t rx[RX_SIZE];
};

/* A request being answered. */
struct req {
    struct turn_server *ts;
    int transport;
    struct listener *lst;
    struct conn *conn;
    const union sa *client;
    const struct stun_msg *m;
    const uint8_t *key; /* set once authenticated */
    uint8_t keybuf[16];
    uint8_t user[32];
    int use256;
    int fp;
};

static const char software[] = "T9phone";

/* ------------------------------------------------------------ small helpers */

static uint64_t now_ms(const struct turn_server *ts) { return uv_now(ts->loop); }

static uint64_t rng_next(struct turn_server *ts)
{
    /* xorshift64*: transaction ids of Data indications and port choice;
     * secrets come from getentropy(). */
    uint64_t x = ts->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    ts->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static int sa_equal(const union sa *a, const union sa *b)
{
    if (a->sa.sa_family != b->sa.sa_family)
        return 0;
    if (a->sa.sa_family == AF_INET)
        return a->in.sin_port == b->in.sin_port && a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
    return a->in6.sin6_port == b->in6.sin6_port &&
           memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
}

static void sa_copy(union sa *dst, const struct sockaddr *src)
{
    memset(dst, 0, sizeof *dst);
    if (src->sa_family == AF_INET)
        memcpy(&dst->in, src, sizeof dst->in);
    else if (src->sa_family == AF_INET6)
        memcpy(&dst->in6, src, sizeof dst->in6);
}

/* The IP bytes of an address (4 or 16) and their count. */
static const uint8_t *sa_ip(const union sa *a, size_t *n)
{
    if (a->sa.sa_family == AF_INET6) {
        *n = 16;
        return (const uint8_t *)&a->in6.sin6_addr;
    }
    *n = 4;
    return (const uint8_t *)&a->in.sin_addr;
}

static void sa_set_port(union sa *a, uint16_t port)
{
    if (a->sa.sa_family == AF_INET6)
        a->in6.sin6_port = htons(port);
    else
        a->in.sin_port = htons(port);
}

static void user_hash(const char *u, size_t n, uint8_t out[32])
{
    br_sha256_context c;
    br_sha256_init(&c);
    br_sha256_update(&c, u, n);
    br_sha256_out(&c, out);
}

static int bucket_take(struct bucket *b, uint64_t rate, uint64_t now, size_t n)
{
    if (!rate)
        return 1;
    if (now > b->last) {
        uint64_t add = rate * (now - b->last) / 1000;
        b->tokens = b->tokens + add > rate ? rate : b->tokens + add;
        b->last = now;
    }
    if (b->tokens < n)
        return 0;
    b->tokens -= n;
    return 1;
}

/* Both the allocation's and the server's budget for one direction. */
static int bps_ok(struct alloc *a, int up, size_t n)
{
    struct turn_server *ts = a->ts;
    uint64_t now = now_ms(ts);
    if (!bucket_take(up ? &a->up : &a->down, ts->max_bps, now, n))
        return 0;
    return bucket_take(up ? &ts->cap_up : &ts->cap_down, ts->bps_capacity, now, n);
}

/* ------------------------------------------------------------ handles */

static void handle_closed(struct turn_server *ts)
{
    if (--ts->handles > 0 || !ts->stopping)
        return;
    void (*done)(void *) = ts->done;
    void *arg = ts->done_arg;
    log_info("turn", "stopped: %llu allocations served, %llu packets relayed, %llu dropped",
             (unsigned long long)ts->n_alloc, (unsigned long long)ts->n_relayed,
             (unsigned long long)ts->n_dropped);
    for (size_t i = 0; i < ts->nsecrets; i++) {
        explicit_bzero(ts->secrets[i], strlen(ts->secrets[i]));
        free(ts->secrets[i]);
    }
    tls_server_free(ts->tls);
    free(ts->denied);
    free(ts->allowed);
    free(ts->own);
    free(ts->listeners);
    explicit_bzero(ts->nonce_secret, sizeof ts->nonce_secret);
    free(ts);
    if (done)
        done(arg);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct turn_server *ts = h->data;
    handle_closed(ts);
}

/* ------------------------------------------------------------ sending */

static void conn_close(struct conn *c);

static int conn_send(struct conn *c, const uint8_t *p, size_t n)
{
    if (c->closing)
        return -EPIPE;
    int rc = c->tls_mode ? tls_conn_write(c->tls, p, n) : stream_out_write(&c->out, p, n);
    if (rc == -EPIPE)
        conn_close(c);
    return rc;
}

/* Sends to a client over the transport the request or allocation uses. */
static int send_client(struct turn_server *ts, int transport, struct listener *lst,
                       struct conn *conn, const union sa *to, const uint8_t *p, size_t n)
{
    (void)ts;
    if (transport == TR_UDP) {
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
        int rc = uv_udp_try_send(&lst->h.udp, &b, 1, &to->sa);
        return rc < 0 ? rc : 0;
    }
    return conn_send(conn, p, n);
}

/* ------------------------------------------------------------ replies */

static void reply_start(struct req *r, struct stun_builder *b, uint8_t cls)
{
    stun_build_init(b, r->ts->tx, sizeof r->ts->tx, r->m->method, cls, r->m->tid);
}

static void reply_send(struct req *r, struct stun_builder *b)
{
    struct turn_server *ts = r->ts;
    if (!ts->no_software)
        stun_put(b, STUN_A_SOFTWARE, software, sizeof software - 1);
    if (r->key) {
        if (r->use256)
            stun_put_integrity_sha256(b, r->key, 16);
        else
            stun_put_integrity(b, r->key, 16);
    }
    if (r->fp || ts->fingerprint)
        stun_put_fingerprint(b);
    long n = stun_build_end(b);
    if (n < 0)
        return;
    send_client(ts, r->transport, r->lst, r->conn, r->client, ts->tx, (size_t)n);
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
    stun_put(&b, STUN_A_REALM, ts->realm, ts->realm_len);
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
    int nrc = turn_nonce_check(ts->nonce_secret, (uint32_t)time(NULL), ts->stale_nonce, ip,
                               iplen, (const char *)no->val, no->len);
    if (nrc < 0) {
        reply_challenge(r, 438);
        return -1;
    }
    if (re->len != ts->realm_len || memcmp(re->val, ts->realm, ts->realm_len) != 0) {
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
    if (ts->use_auth_secret && turn_rest_expiry(user, u->len, ts->sep, &expiry) == 0) {
        for (size_t i = 0; i < ts->nsecrets && !ok; i++) {
            char pw[64];
            int pl = turn_rest_password(ts->secrets[i], strlen(ts->secrets[i]), user, u->len,
                                        pw, sizeof pw);
            if (pl < 0)
                continue;
            turn_ltc_key(user, u->len, ts->realm, pw, (size_t)pl, r->keybuf);
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
    return 0;
}

/* ------------------------------------------------------------ allocations */

static unsigned alloc_bucket(const struct turn_server *ts, const struct listener *lst,
                             const union sa *client)
{
    /* Keyed hash (SipHash would do; a keyed FNV over a random key is
     * enough against collisions chosen by clients who cannot see it). */
    uint64_t h = 0xcbf29ce484222325ULL;
    const uint8_t *k = ts->hash_key;
    for (int i = 0; i < 16; i++)
        h = (h ^ k[i]) * 0x100000001b3ULL;
    uintptr_t l = (uintptr_t)lst;
    for (size_t i = 0; i < sizeof l; i++)
        h = (h ^ ((l >> (8 * i)) & 0xFF)) * 0x100000001b3ULL;
    size_t n;
    const uint8_t *ip = sa_ip(client, &n);
    for (size_t i = 0; i < n; i++)
        h = (h ^ ip[i]) * 0x100000001b3ULL;
    uint16_t port = client->sa.sa_family == AF_INET6 ? client->in6.sin6_port : client->in.sin_port;
    h = (h ^ (port & 0xFF)) * 0x100000001b3ULL;
    h = (h ^ (port >> 8)) * 0x100000001b3ULL;
    return (unsigned)(h ^ (h >> 32)) % HASH_BUCKETS;
}

static struct alloc *alloc_find_udp(struct turn_server *ts, struct listener *lst,
                                    const union sa *client)
{
    for (struct alloc *a = ts->hash[alloc_bucket(ts, lst, client)]; a; a = a->hnext)
        if (a->lst == lst && sa_equal(&a->client, client))
            return a;
    return NULL;
}

static struct alloc *alloc_find(struct req *r)
{
    if (r->transport == TR_UDP)
        return alloc_find_udp(r->ts, r->lst, r->client);
    return r->conn->alloc;
}

static void port_release(struct turn_server *ts, uint16_t port)
{
    ts->ports[port / 8] &= (uint8_t)~(1u << (port % 8));
}

static int port_used(const struct turn_server *ts, unsigned port)
{
    return ts->ports[port / 8] & (1u << (port % 8));
}

static void port_take(struct turn_server *ts, uint16_t port)
{
    ts->ports[port / 8] |= (uint8_t)(1u << (port % 8));
}

static void on_relay_closed(uv_handle_t *h)
{
    struct alloc *a = h->data;
    struct turn_server *ts = a->ts;
    free(a);
    handle_closed(ts);
}

/* Unlinks the allocation, releases its port and closes its relay socket;
 * the memory goes when the handle is closed. */
static void alloc_close(struct alloc *a)
{
    struct turn_server *ts = a->ts;
    if (a->closing)
        return;
    a->closing = 1;
    if (a->transport == TR_UDP) {
        struct alloc **pp = &ts->hash[a->bucket];
        while (*pp && *pp != a)
            pp = &(*pp)->hnext;
        if (*pp)
            *pp = a->hnext;
    } else if (a->conn) {
        a->conn->alloc = NULL;
    }
    if (a->prev)
        a->prev->next = a->next;
    else
        ts->allocs = a->next;
    if (a->next)
        a->next->prev = a->prev;
    ts->nallocs--;
    port_release(ts, a->port);
    explicit_bzero(a->key, sizeof a->key);
    uv_close((uv_handle_t *)&a->relay, on_relay_closed);
}

static struct perm *perm_find(struct alloc *a, const union sa *peer, uint64_t now)
{
    size_t n;
    const uint8_t *ip = sa_ip(peer, &n);
    uint8_t v6 = peer->sa.sa_family == AF_INET6;
    for (size_t i = 0; i < a->nperms; i++) {
        struct perm *p = &a->perms[i];
        if (p->v6 == v6 && memcmp(p->ip, ip, n) == 0 && p->expires > now)
            return p;
    }
    return NULL;
}

/* Installs or refreshes a permission. Returns 0 or -ENOSPC. */
static int perm_set(struct alloc *a, const union sa *peer, uint64_t now)
{
    struct turn_server *ts = a->ts;
    size_t n;
    const uint8_t *ip = sa_ip(peer, &n);
    uint8_t v6 = peer->sa.sa_family == AF_INET6;
    for (size_t i = 0; i < a->nperms; i++) {
        struct perm *p = &a->perms[i];
        if (p->v6 == v6 && memcmp(p->ip, ip, n) == 0) {
            p->expires = now + ts->perm_lifetime * 1000ULL;
            return 0;
        }
    }
    if (a->nperms == MAX_PERMS)
        return -ENOSPC;
    struct perm *p = &a->perms[a->nperms++];
    memset(p, 0, sizeof *p);
    p->v6 = v6;
    memcpy(p->ip, ip, n);
    p->expires = now + ts->perm_lifetime * 1000ULL;
    return 0;
}

static struct chan *chan_by_num(struct alloc *a, uint16_t num, uint64_t now)
{
    for (size_t i = 0; i < a->nchans; i++)
        if (a->chans[i].num == num && a->chans[i].expires > now)
            return &a->chans[i];
    return NULL;
}

static struct chan *chan_by_peer(struct alloc *a, const union sa *peer, uint64_t now)
{
    for (size_t i = 0; i < a->nchans; i++)
        if (a->chans[i].expires > now && sa_equal(&a->chans[i].peer, peer))
            return &a->chans[i];
    return NULL;
}

/* ------------------------------------------------------------ relay path */

/* Peer -> client. The datagram sits at ts->rx + HEADROOM. */
static void on_relay_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct alloc *a = h->data;
    (void)hint;
    *buf = uv_buf_init((char *)a->ts->rx + HEADROOM, RX_SIZE - HEADROOM - TAILROOM);
}

static void on_relay_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                          const struct sockaddr *from, unsigned flags)
{
    struct alloc *a = h->data;
    struct turn_server *ts = a->ts;
    (void)flags;
    if (nread <= 0 || !from || a->closing)
        return;
    union sa peer;
    sa_copy(&peer, from);
    uint64_t now = now_ms(ts);
    size_t n = (size_t)nread;
    if (!perm_find(a, &peer, now) || !bps_ok(a, 0, n)) {
        ts->n_dropped++;
        return;
    }
    uint8_t *data = (uint8_t *)buf->base;
    int stream = a->transport != TR_UDP;
    uint8_t *start;
    size_t len;
    struct chan *ch = chan_by_peer(a, &peer, now);
    if (ch && n <= 0xFFFF) {
        start = data - 4;
        wr16(start, ch->num);
        wr16(start + 2, (uint16_t)n);
        len = 4 + n;
        if (stream) {
            size_t pad = (4 - n % 4) % 4;
            memset(data + n, 0, pad);
            len += pad;
        }
    } else {
        /* Data indication: header, XOR-PEER-ADDRESS, DATA header, then
         * the data already in place, padding, FINGERPRINT if asked. */
        size_t xlen = peer.sa.sa_family == AF_INET6 ? 20 : 8;
        size_t hlen = STUN_HEADER_LEN + 4 + xlen + 4;
        size_t pad = (4 - n % 4) % 4;
        if (n + pad + hlen - STUN_HEADER_LEN + 8 > 0xFFFF) {
            ts->n_dropped++;
            return;
        }
        start = data - hlen;
        uint8_t tid[STUN_TID_LEN];
        uint64_t r1 = rng_next(ts), r2 = rng_next(ts);
        memcpy(tid, &r1, 8);
        memcpy(tid + 8, &r2, 4);
        struct stun_builder b;
        stun_build_init(&b, start, hlen - 4, TURN_DATA, STUN_INDICATION, tid);
        stun_put_xor_addr(&b, STUN_A_XOR_PEER_ADDRESS, &peer.sa);
        if (stun_build_end(&b) != (long)(hlen - 4))
            return;
        wr16(start + hlen - 4, STUN_A_DATA);
        wr16(start + hlen - 2, (uint16_t)n);
        memset(data + n, 0, pad);
        len = hlen + n + pad;
        wr16(start + 2, (uint16_t)(len - STUN_HEADER_LEN));
        if (ts->fingerprint) {
            wr16(start + 2, (uint16_t)(len + 8 - STUN_HEADER_LEN));
            uint32_t crc = stun_crc32(start, len) ^ STUN_FINGERPRINT_XOR;
            uint8_t *f = start + len;
            wr16(f, STUN_A_FINGERPRINT);
            wr16(f + 2, 4);
            f[4] = (uint8_t)(crc >> 24);
            f[5] = (uint8_t)(crc >> 16);
            f[6] = (uint8_t)(crc >> 8);
            f[7] = (uint8_t)crc;
            len += 8;
        }
    }
    if (send_client(ts, a->transport, a->lst, a->conn, &a->client, start, len) == 0)
        ts->n_relayed++;
    else
        ts->n_dropped++;
}

/* Client -> peer. */
static void relay_to_peer(struct alloc *a, const union sa *peer, const uint8_t *p, size_t n)
{
    struct turn_server *ts = a->ts;
    if (!bps_ok(a, 1, n)) {
        ts->n_dropped++;
        return;
    }
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    if (uv_udp_try_send(&a->relay, &b, 1, &peer->sa) >= 0)
        ts->n_relayed++;
    else
        ts->n_dropped++;
}

static void handle_channeldata(struct alloc *a, const uint8_t *p, size_t n)
{
    uint16_t num;
    const uint8_t *data;
    size_t dlen;
    if (!a || stun_parse_channeldata(p, n, &num, &data, &dlen) < 0)
        return;
    uint64_t now = now_ms(a->ts);
    struct chan *ch = chan_by_num(a, num, now);
    if (!ch || !perm_find(a, &ch->peer, now)) {
        a->ts->n_dropped++;
        return;
    }
    relay_to_peer(a, &ch->peer, data, dlen);
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
    union sa peer;
    sa_copy(&peer, (struct sockaddr *)&ss);
    if (!perm_find(a, &peer, now_ms(r->ts))) {
        r->ts->n_dropped++;
        return;
    }
    relay_to_peer(a, &peer, d->val, d->len);
}

/* ------------------------------------------------------------ TURN requests */

static uint32_t lifetime_for(struct turn_server *ts, const struct stun_msg *m, int *zero)
{
    const struct stun_attr *la = stun_find(m, STUN_A_LIFETIME);
    uint32_t want = DEFAULT_LIFETIME;
    *zero = 0;
    if (la && stun_get_u32(la, &want) == 0 && want == 0) {
        *zero = 1;
        return 0;
    }
    if (want < DEFAULT_LIFETIME)
        want = DEFAULT_LIFETIME;
    if (want > ts->max_lifetime)
        want = ts->max_lifetime;
    return want;
}

static struct reservation *resv_find(struct turn_server *ts, const uint8_t *token)
{
    uint64_t now = now_ms(ts);
    for (size_t i = 0; i < MAX_RESERVATIONS; i++)
        if (ts->resv[i].expires > now && memcmp(ts->resv[i].token, token, 8) == 0)
            return &ts->resv[i];
    return NULL;
}

static void resv_drop(struct turn_server *ts, struct reservation *rv)
{
    if (!rv->expires)
        return;
    close(rv->fd);
    port_release(ts, rv->port);
    rv->expires = 0;
}

/* Drops expired reservations (all of them when `all`). */
static void resv_sweep(struct turn_server *ts, int all)
{
    uint64_t now = now_ms(ts);
    for (size_t i = 0; i < MAX_RESERVATIONS; i++)
        if (ts->resv[i].expires && (all || ts->resv[i].expires <= now))
            resv_drop(ts, &ts->resv[i]);
}

static struct reservation *resv_slot(struct turn_server *ts)
{
    uint64_t now = now_ms(ts);
    for (size_t i = 0; i < MAX_RESERVATIONS; i++) {
        if (ts->resv[i].expires && ts->resv[i].expires <= now)
            resv_drop(ts, &ts->resv[i]);
        if (!ts->resv[i].expires)
            return &ts->resv[i];
    }
    return NULL;
}

/* A UDP socket bound to the relay address of the family and port, or -1. */
static int bind_port(struct turn_server *ts, int v6, unsigned port)
{
    union sa addr = v6 ? ts->relay6 : ts->relay4;
    sa_set_port(&addr, (uint16_t)port);
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    if (v6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, &addr.sa, v6 ? sizeof addr.in6 : sizeof addr.in) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Finds and binds a free relay port from a random start: an even one when
 * asked, and with *pair_fd also its successor, bound too. Sockets are bound
 * before libuv sees them, so a port taken by another process costs nothing.
 * Returns the socket or -1 when the range is exhausted. */
static int relay_port(struct turn_server *ts, int v6, int even, int *pair_fd, unsigned *port_out)
{
    unsigned span = ts->max_port - ts->min_port + 1;
    unsigned start = (unsigned)(rng_next(ts) % span);
    int tries = 0;
    for (unsigned i = 0; i < span && tries < BIND_TRIES; i++) {
        unsigned port = ts->min_port + (start + i) % span;
        if (port_used(ts, port) || (even && port % 2))
            continue;
        if (pair_fd && (port + 1 > ts->max_port || port_used(ts, port + 1)))
            continue;
        tries++;
        int fd = bind_port(ts, v6, port);
        if (fd < 0)
            continue;
        if (pair_fd) {
            int fd2 = bind_port(ts, v6, port + 1);
            if (fd2 < 0) {
                close(fd);
                continue;
            }
            *pair_fd = fd2;
        }
        *port_out = port;
        return fd;
    }
    return -1;
}

/* Gives the bound socket to libuv as a's relay. Returns 0, or -1 with the
 * socket closed (the handle, if initialized, is for the caller to close). */
static int relay_open(struct turn_server *ts, struct alloc *a, int fd, unsigned port)
{
    uv_udp_init(ts->loop, &a->relay);
    a->relay.data = a;
    ts->handles++;
    if (uv_udp_open(&a->relay, fd) != 0) {
        close(fd);
        return -1;
    }
    a->port = (uint16_t)port;
    port_take(ts, (uint16_t)port);
    return 0;
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
    } else if (ts->default_family) {
        v6 = ts->default_family == AF_INET6;
    } else {
        v6 = r->client->sa.sa_family == AF_INET6;
    }
    struct reservation *rv = NULL;
    if (tok) {
        rv = resv_find(ts, tok->val);
        if (!rv) {
            reply_error(r, 508);
            return;
        }
        v6 = rv->v6;
    }
    if ((v6 && !ts->has_relay6) || (!v6 && !ts->has_relay4)) {
        reply_error(r, 440);
        return;
    }
    if (ts->total_quota && (long)ts->nallocs >= ts->total_quota) {
        reply_error(r, 486);
        return;
    }
    if (ts->user_quota) {
        long n = 0;
        for (struct alloc *x = ts->allocs; x; x = x->next)
            n += memcmp(x->user, r->user, 32) == 0;
        if (n >= ts->user_quota) {
            reply_error(r, 486);
            return;
        }
    }
    int zero;
    uint32_t life = lifetime_for(ts, m, &zero);
    if (zero)
        life = DEFAULT_LIFETIME < ts->max_lifetime ? DEFAULT_LIFETIME : ts->max_lifetime;
    struct alloc *a = calloc(1, sizeof *a);
    if (!a) {
        reply_error(r, 508);
        return;
    }
    a->ts = ts;
    int even = ep != NULL, reserve = ep && (ep->val[0] & 0x80);
    struct reservation *slot = NULL;
    if (reserve && !(slot = resv_slot(ts))) {
        free(a);
        reply_error(r, 508);
        return;
    }
    int fd, fd2 = -1;
    unsigned port;
    if (rv) {
        /* The reserved socket becomes the relay; its port stays taken. */
        fd = rv->fd;
        port = rv->port;
        rv->expires = 0;
    } else {
        fd = relay_port(ts, v6, even, reserve ? &fd2 : NULL, &port);
    }
    if (fd < 0 || relay_open(ts, a, fd, port) < 0) {
        if (fd2 >= 0)
            close(fd2);
        if (rv && fd >= 0)
            port_release(ts, (uint16_t)port);
        if (a->relay.loop) {
            a->closing = 1;
            uv_close((uv_handle_t *)&a->relay, on_relay_closed);
        } else {
            free(a);
        }
        reply_error(r, 508);
        return;
    }
    if (fd2 >= 0) {
        uint8_t t[8];
        if (getentropy(t, sizeof t) == 0) {
            memcpy(slot->token, t, 8);
            slot->port = (uint16_t)(port + 1);
            slot->v6 = (uint8_t)v6;
            slot->fd = fd2;
            slot->expires = now_ms(ts) + RESERVATION_MS;
            port_take(ts, slot->port);
            memcpy(a->token, t, 8);
            a->has_token = 1;
        } else {
            close(fd2);
        }
    }
    if (stun_find(m, STUN_A_DONT_FRAGMENT)) {
        int v = IP_PMTUDISC_DO;
        if (v6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof v);
        else
            setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof v);
    }
    uv_udp_recv_start(&a->relay, on_relay_alloc, on_relay_recv);
    a->transport = r->transport;
    a->lst = r->lst;
    a->conn = r->conn;
    a->client = *r->client;
    a->relay_pub = v6 ? ts->pub6 : ts->pub4;
    sa_set_port(&a->relay_pub, a->port);
    a->expires = now_ms(ts) + life * 1000ULL;
    memcpy(a->user, r->user, 32);
    memcpy(a->key, r->key, 16);
    memcpy(a->alloc_tid, m->tid, STUN_TID_LEN);
    a->up.last = a->down.last = now_ms(ts);
    a->up.tokens = a->down.tokens = ts->max_bps;
    if (a->transport == TR_UDP) {
        a->bucket = alloc_bucket(ts, a->lst, &a->client);
        a->hnext = ts->hash[a->bucket];
        ts->hash[a->bucket] = a;
    } else {
        a->conn->alloc = a;
    }
    a->next = ts->allocs;
    if (ts->allocs)
        ts->allocs->prev = a;
    ts->allocs = a;
    ts->nallocs++;
    ts->n_alloc++;

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
        alloc_close(a);
    else
        a->expires = now_ms(ts) + life * 1000ULL;
}

/* Decodes a peer address and applies family and policy checks; answers
 * 400, 443 or 403 itself. */
static int peer_check(struct req *r, struct alloc *a, const struct stun_attr *pa, union sa *peer)
{
    struct sockaddr_storage ss;
    if (!pa || stun_get_xor_addr(r->m, pa, &ss) < 0) {
        reply_error(r, 400);
        return -1;
    }
    sa_copy(peer, (struct sockaddr *)&ss);
    if (peer->sa.sa_family != a->relay_pub.sa.sa_family) {
        reply_error(r, 443);
        return -1;
    }
    if (!turn_peer_allowed(&r->ts->policy, &peer->sa)) {
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
    union sa peers[MAX_PERMS];
    size_t n = 0;
    const struct stun_attr *pa = stun_find(r->m, STUN_A_XOR_PEER_ADDRESS);
    if (!pa) {
        reply_error(r, 400);
        return;
    }
    for (; pa; pa = stun_find_next(r->m, STUN_A_XOR_PEER_ADDRESS, pa)) {
        if (n == MAX_PERMS) {
            reply_error(r, 508);
            return;
        }
        if (peer_check(r, a, pa, &peers[n]) < 0)
            return;
        n++;
    }
    uint64_t now = now_ms(r->ts);
    /* All or nothing: count the new ones first. */
    size_t fresh = 0;
    for (size_t i = 0; i < n; i++)
        fresh += perm_find(a, &peers[i], 0) == NULL;
    if (a->nperms + fresh > MAX_PERMS) {
        reply_error(r, 508);
        return;
    }
    for (size_t i = 0; i < n; i++)
        perm_set(a, &peers[i], now);
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
    union sa peer;
    if (peer_check(r, a, stun_find(r->m, STUN_A_XOR_PEER_ADDRESS), &peer) < 0)
        return;
    uint64_t now = now_ms(r->ts);
    struct chan *by_num = chan_by_num(a, num, now);
    struct chan *by_peer = chan_by_peer(a, &peer, now);
    if ((by_num && !sa_equal(&by_num->peer, &peer)) || (by_peer && by_peer->num != num)) {
        reply_error(r, 400);
        return;
    }
    struct chan *ch = by_num;
    if (!ch) {
        /* Reuse an expired slot before growing. */
        for (size_t i = 0; i < a->nchans && !ch; i++)
            if (a->chans[i].expires <= now)
                ch = &a->chans[i];
        if (!ch && a->nchans < MAX_CHANNELS)
            ch = &a->chans[a->nchans++];
    }
    if (!ch || (!perm_find(a, &peer, now) && a->nperms == MAX_PERMS)) {
        reply_error(r, 508);
        return;
    }
    ch->num = num;
    ch->peer = peer;
    ch->expires = now + r->ts->channel_lifetime * 1000ULL;
    perm_set(a, &peer, now);
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
static void handle_stun(struct turn_server *ts, int transport, struct listener *lst,
                        struct conn *conn, const union sa *client, const uint8_t *p, size_t n)
{
    struct stun_msg m;
    if (stun_parse(p, n, &m) < 0 || stun_check_fingerprint(&m) < 0)
        return; /* malformed: silently discarded (RFC 8489 section 6.3) */
    struct req r = { .ts = ts, .transport = transport, .lst = lst, .conn = conn,
                     .client = client, .m = &m, .fp = m.fp_off >= 0 };
    if (m.cls == STUN_INDICATION) {
        if (m.method == TURN_SEND && !ts->stun_only)
            handle_send(&r);
        return;
    }
    if (m.cls != STUN_REQUEST)
        return;
    if (m.method == STUN_BINDING ? ts->no_stun : ts->stun_only)
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

/* ------------------------------------------------------------ UDP clients */

static void on_udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct listener *l = h->data;
    (void)hint;
    *buf = uv_buf_init((char *)l->ts->rx + HEADROOM, RX_SIZE - HEADROOM - TAILROOM);
}

static void on_udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *from, unsigned flags)
{
    struct listener *l = h->data;
    struct turn_server *ts = l->ts;
    (void)flags;
    if (nread <= 0 || !from || ts->stopping)
        return;
    union sa client;
    sa_copy(&client, from);
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t n = (size_t)nread;
    if (stun_is_channeldata(p, n)) {
        struct alloc *a = alloc_find_udp(ts, l, &client);
        handle_channeldata(a, p, n);
    } else if (stun_is_stun(p, n)) {
        handle_stun(ts, TR_UDP, l, NULL, &client, p, n);
    }
}

/* ------------------------------------------------------------ stream clients */

static void conn_free(struct conn *c)
{
    struct turn_server *ts = c->ts;
    if (!c->tls_mode)
        stream_out_free(&c->out);
    free(c);
    handle_closed(ts);
}

static void on_conn_closed(uv_handle_t *h)
{
    conn_free(h->data);
}

/* Takes the connection out of the server's books and drops its allocation. */
static void conn_unlink(struct conn *c)
{
    struct turn_server *ts = c->ts;
    c->closing = 1;
    if (c->alloc)
        alloc_close(c->alloc);
    if (c->prev)
        c->prev->next = c->next;
    else
        ts->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    ts->nconns--;
}

/* The TLS layer closed the handle, on our request or on its own (peer gone,
 * handshake failure). */
static void on_tls_closed(void *arg)
{
    struct conn *c = arg;
    if (!c->closing)
        conn_unlink(c);
    conn_free(c);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    conn_unlink(c);
    if (c->tls_mode && c->tls) {
        tls_conn_close(c->tls);
    } else {
        uv_read_stop((uv_stream_t *)&c->tcp);
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    }
}

/* Cuts complete frames out of the read buffer and handles them. */
static void conn_frames(struct conn *c)
{
    size_t off = 0;
    while (!c->closing && c->rlen - off >= 4) {
        long fl = stun_frame_len(c->rbuf + off, c->rlen - off);
        if (fl < 0 || fl > CONN_RBUF) {
            conn_close(c);
            return;
        }
        if ((size_t)fl > c->rlen - off)
            break;
        const uint8_t *p = c->rbuf + off;
        if (stun_is_channeldata(p, (size_t)fl))
            handle_channeldata(c->alloc, p, (size_t)fl);
        else
            handle_stun(c->ts, c->tls_mode ? TR_TLS : TR_TCP, NULL, c, &c->peer, p, (size_t)fl);
        off += (size_t)fl;
    }
    if (c->closing)
        return;
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
}

static void on_tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)hint;
    *buf = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(CONN_RBUF - c->rlen));
}

static void on_tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    (void)buf;
    if (c->closing)
        return;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    c->rlen += (size_t)nread;
    c->last_rx = now_ms(c->ts);
    conn_frames(c);
}

static void on_tls_data(void *arg, const uint8_t *p, size_t n)
{
    struct conn *c = arg;
    c->last_rx = now_ms(c->ts);
    while (n && !c->closing) {
        size_t k = CONN_RBUF - c->rlen;
        if (k == 0) {
            conn_close(c); /* a frame larger than we accept */
            return;
        }
        if (k > n)
            k = n;
        memcpy(c->rbuf + c->rlen, p, k);
        c->rlen += k;
        p += k;
        n -= k;
        conn_frames(c);
    }
}

static void on_out_event(struct stream_out *o, int status)
{
    if (status < 0)
        conn_close(o->data);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct listener *l = server->data;
    struct turn_server *ts = l->ts;
    if (status < 0 || ts->stopping)
        return;
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->ts = ts;
    uv_tcp_init(ts->loop, &c->tcp);
    c->tcp.data = c;
    ts->handles++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 || ts->nconns >= ts->max_conns) {
        c->tls_mode = 1; /* nothing to free but the connection */
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    int len = sizeof c->peer;
    uv_tcp_getpeername(&c->tcp, &c->peer.sa, &len);
    uv_tcp_nodelay(&c->tcp, 1);
    c->last_rx = now_ms(ts);
    int rc;
    if (l->kind == TR_TLS) {
        static const struct tls_conn_cbs cbs = { on_tls_data, on_tls_closed };
        c->tls_mode = 1;
        rc = tls_conn_new(ts->tls, (uv_stream_t *)&c->tcp, CONN_OUT_CAP, &cbs, c, &c->tls);
    } else {
        rc = stream_out_init(&c->out, (uv_stream_t *)&c->tcp, CONN_OUT_CAP);
        if (rc == 0) {
            c->out.notify = on_out_event;
            c->out.data = c;
            rc = uv_read_start((uv_stream_t *)&c->tcp, on_tcp_alloc, on_tcp_read);
            if (rc < 0)
                stream_out_free(&c->out);
        }
    }
    if (rc < 0) {
        c->tls_mode = 1;
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    c->next = ts->conns;
    if (ts->conns)
        ts->conns->prev = c;
    ts->conns = c;
    ts->nconns++;
}

/* ------------------------------------------------------------ timers */

static void on_sweep(uv_timer_t *t)
{
    struct turn_server *ts = t->data;
    uint64_t now = now_ms(ts);
    for (struct alloc *a = ts->allocs, *next; a; a = next) {
        next = a->next;
        if (a->expires <= now) {
            alloc_close(a);
            continue;
        }
        size_t k = 0;
        for (size_t i = 0; i < a->nperms; i++)
            if (a->perms[i].expires > now)
                a->perms[k++] = a->perms[i];
        a->nperms = k;
        k = 0;
        for (size_t i = 0; i < a->nchans; i++)
            if (a->chans[i].expires > now)
                a->chans[k++] = a->chans[i];
        a->nchans = k;
    }
    for (struct conn *c = ts->conns, *next; c; c = next) {
        next = c->next;
        if (!c->alloc && now - c->last_rx > CONN_IDLE_MS)
            conn_close(c);
    }
    resv_sweep(ts, 0);
    if (now - ts->last_stats >= 3600 * 1000ULL) {
        ts->last_stats = now;
        log_info("turn", "%zu allocations, %zu connections; since start: %llu allocations, "
                         "%llu packets relayed, %llu dropped, %llu peers denied, %llu failed "
                         "authentications",
                 ts->nallocs, ts->nconns, (unsigned long long)ts->n_alloc,
                 (unsigned long long)ts->n_relayed, (unsigned long long)ts->n_dropped,
                 (unsigned long long)ts->n_denied, (unsigned long long)ts->n_auth_fail);
    }
}

/* ------------------------------------------------------------ start / stop */

static int parse_ip(const char *s, union sa *out)
{
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, s, &out->in.sin_addr) == 1) {
        out->in.sin_family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, s, &out->in6.sin6_addr) == 1) {
        out->in6.sin6_family = AF_INET6;
        return 0;
    }
    return -EINVAL;
}

static int is_wildcard(const union sa *a)
{
    static const uint8_t zero[16];
    size_t n;
    const uint8_t *ip = sa_ip(a, &n);
    return memcmp(ip, zero, n) == 0;
}

static int add_listener(struct turn_server *ts, int kind, const union sa *ip, int port,
                        char *err, size_t errlen)
{
    struct listener *l = &ts->listeners[ts->nlisteners];
    union sa addr = *ip;
    sa_set_port(&addr, (uint16_t)port);
    int v6 = addr.sa.sa_family == AF_INET6;
    int rc;
    l->ts = ts;
    l->kind = kind;
    const char *what = kind == TR_UDP ? "UDP" : kind == TR_TCP ? "TCP" : "TLS";
    if (kind == TR_UDP) {
        uv_udp_init(ts->loop, &l->h.udp);
        l->h.udp.data = l;
        ts->handles++;
        ts->nlisteners++;
        rc = uv_udp_bind(&l->h.udp, &addr.sa, v6 ? UV_UDP_IPV6ONLY : 0);
        if (rc == 0)
            rc = uv_udp_recv_start(&l->h.udp, on_udp_alloc, on_udp_recv);
    } else {
        uv_tcp_init(ts->loop, &l->h.tcp);
        l->h.tcp.data = l;
        ts->handles++;
        ts->nlisteners++;
        rc = uv_tcp_bind(&l->h.tcp, &addr.sa, v6 ? UV_TCP_IPV6ONLY : 0);
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)&l->h.tcp, 128, on_connection);
    }
    if (rc < 0)
        snprintf(err, errlen, "cannot listen for %s on port %d: %s", what, port, uv_strerror(rc));
    return rc;
}

/* Listening addresses: the configured ones, or every interface address
 * (binding each address, not the wildcard, keeps replies leaving from the
 * address the client used). */
static int listen_ips(const config_t *cfg, union sa *ips, size_t max, size_t *count, char *err,
                      size_t errlen)
{
    size_t n = 0;
    size_t given = config_count(cfg, "listening-ip");
    if (given > max) {
        snprintf(err, errlen, "at most %zu listening-ip values", max);
        return -EINVAL;
    }
    for (size_t i = 0; i < given; i++) {
        if (parse_ip(config_nth(cfg, "listening-ip", i), &ips[n]) < 0) {
            snprintf(err, errlen, "listening-ip: '%s' is not an address",
                     config_nth(cfg, "listening-ip", i));
            return -EINVAL;
        }
        n++;
    }
    if (given) {
        *count = n;
        return 0;
    }
    uv_interface_address_t *ifs;
    int nif;
    if (uv_interface_addresses(&ifs, &nif) < 0) {
        snprintf(err, errlen, "cannot list interface addresses: set listening-ip");
        return -EINVAL;
    }
    for (int i = 0; i < nif && n < max; i++) {
        union sa a;
        sa_copy(&a, (struct sockaddr *)&ifs[i].address);
        if (a.sa.sa_family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&a.in6.sin6_addr))
            continue;
        if (a.sa.sa_family != AF_INET && a.sa.sa_family != AF_INET6)
            continue;
        int dup = 0;
        for (size_t j = 0; j < n; j++) {
            size_t l1, l2;
            const uint8_t *x = sa_ip(&a, &l1), *y = sa_ip(&ips[j], &l2);
            dup |= a.sa.sa_family == ips[j].sa.sa_family && memcmp(x, y, l1) == 0;
        }
        if (!dup)
            ips[n++] = a;
    }
    uv_free_interface_addresses(ifs, nif);
    *count = n;
    return 0;
}

static int parse_ranges(const config_t *cfg, const char *key, struct turn_ip_range **out,
                        size_t *n, char *err, size_t errlen)
{
    size_t c = config_count(cfg, key);
    *out = calloc(c ? c : 1, sizeof **out);
    if (!*out)
        return -ENOMEM;
    for (size_t i = 0; i < c; i++) {
        if (turn_range_parse(config_nth(cfg, key, i), &(*out)[i]) < 0) {
            snprintf(err, errlen, "%s: '%s' is not an address or range", key,
                     config_nth(cfg, key, i));
            return -EINVAL;
        }
    }
    *n = c;
    return 0;
}

static int configure(struct turn_server *ts, const config_t *cfg, union sa *ips, size_t nips,
                     char *err, size_t errlen)
{
    const char *realm = config_str(cfg, "realm");
    ts->realm_len = strlen(realm);
    if (ts->realm_len == 0 || ts->realm_len >= sizeof ts->realm) {
        snprintf(err, errlen, "realm must be 1 to 255 bytes");
        return -EINVAL;
    }
    memcpy(ts->realm, realm, ts->realm_len);
    ts->listen_port = (int)config_int(cfg, "listening-port");
    ts->tls_port = (int)config_int(cfg, "tls-listening-port");
    ts->min_port = (unsigned)config_int(cfg, "min-port");
    ts->max_port = (unsigned)config_int(cfg, "max-port");
    if (ts->min_port > ts->max_port) {
        snprintf(err, errlen, "min-port is above max-port");
        return -EINVAL;
    }
    ts->use_auth_secret = config_bool(cfg, "use-auth-secret");
    ts->nsecrets = config_count(cfg, "static-auth-secret");
    if (ts->nsecrets > MAX_SECRETS) {
        snprintf(err, errlen, "at most %d static-auth-secret values", MAX_SECRETS);
        return -EINVAL;
    }
    for (size_t i = 0; i < ts->nsecrets; i++)
        if (!(ts->secrets[i] = strdup(config_nth(cfg, "static-auth-secret", i))))
            return -ENOMEM;
    if (ts->use_auth_secret && ts->nsecrets == 0) {
        snprintf(err, errlen, "use-auth-secret needs at least one static-auth-secret");
        return -EINVAL;
    }
    const char *sep = config_str(cfg, "rest-api-separator");
    if (!sep || strlen(sep) != 1) {
        snprintf(err, errlen, "rest-api-separator must be one character");
        return -EINVAL;
    }
    ts->sep = sep[0];
    ts->user_quota = config_int(cfg, "user-quota");
    ts->max_conns = (size_t)config_int(cfg, "turn-max-connections");
    ts->total_quota = config_int(cfg, "total-quota");
    ts->max_bps = (uint64_t)config_int(cfg, "max-bps");
    ts->bps_capacity = (uint64_t)config_int(cfg, "bps-capacity");
    ts->stale_nonce = (uint32_t)config_int(cfg, "stale-nonce");
    ts->max_lifetime = (uint32_t)config_int(cfg, "max-allocate-lifetime");
    ts->channel_lifetime = (uint32_t)config_int(cfg, "channel-lifetime");
    ts->perm_lifetime = (uint32_t)config_int(cfg, "permission-lifetime");
    const char *fam = config_str(cfg, "allocation-default-address-family");
    ts->default_family = !fam || strcmp(fam, "ipv4") == 0 ? AF_INET
                         : strcmp(fam, "ipv6") == 0       ? AF_INET6
                                                          : 0;
    ts->fingerprint = config_bool(cfg, "fingerprint");
    ts->no_stun = config_bool(cfg, "no-stun");
    ts->stun_only = config_bool(cfg, "stun-only");
    ts->no_software = config_bool(cfg, "no-software-attribute");
    if (ts->no_stun && ts->stun_only) {
        snprintf(err, errlen, "no-stun and stun-only together leave nothing to serve");
        return -EINVAL;
    }

    /* Relay addresses: relay-ip, else the listening addresses. */
    union sa relays[MAX_LISTEN_IPS];
    size_t nrel = 0;
    for (size_t i = 0; i < config_count(cfg, "relay-ip") && nrel < MAX_LISTEN_IPS; i++) {
        if (parse_ip(config_nth(cfg, "relay-ip", i), &relays[nrel]) < 0) {
            snprintf(err, errlen, "relay-ip: '%s' is not an address",
                     config_nth(cfg, "relay-ip", i));
            return -EINVAL;
        }
        nrel++;
    }
    if (!nrel) {
        for (size_t i = 0; i < nips; i++) {
            if (is_wildcard(&ips[i]))
                continue;
            relays[nrel++] = ips[i];
        }
    }
    /* Prefer a non-loopback relay address of each family. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < nrel; i++) {
            int loop = relays[i].sa.sa_family == AF_INET
                           ? (ntohl(relays[i].in.sin_addr.s_addr) >> 24) == 127
                           : IN6_IS_ADDR_LOOPBACK(&relays[i].in6.sin6_addr);
            if (pass == 0 && loop)
                continue;
            if (relays[i].sa.sa_family == AF_INET && !ts->has_relay4) {
                ts->relay4 = relays[i];
                ts->has_relay4 = 1;
            } else if (relays[i].sa.sa_family == AF_INET6 && !ts->has_relay6) {
                ts->relay6 = relays[i];
                ts->has_relay6 = 1;
            }
        }
    }
    if (!ts->has_relay4 && !ts->has_relay6 && !ts->stun_only) {
        snprintf(err, errlen, "no relay address: set relay-ip");
        return -EINVAL;
    }
    ts->pub4 = ts->relay4;
    ts->pub6 = ts->relay6;
    /* external-ip: `public` or `public/private`. */
    size_t next = config_count(cfg, "external-ip");
    union sa exts[MAX_LISTEN_IPS];
    size_t nexts = 0;
    for (size_t i = 0; i < next; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", config_nth(cfg, "external-ip", i));
        char *slash = strchr(buf, '/');
        union sa pub, priv;
        if (slash)
            *slash = '\0';
        if (parse_ip(buf, &pub) < 0 || (slash && parse_ip(slash + 1, &priv) < 0)) {
            snprintf(err, errlen, "external-ip: '%s' is not `public` or `public/private`",
                     config_nth(cfg, "external-ip", i));
            return -EINVAL;
        }
        if (nexts < MAX_LISTEN_IPS)
            exts[nexts++] = pub;
        int v6 = pub.sa.sa_family == AF_INET6;
        union sa *relay = v6 ? &ts->relay6 : &ts->relay4;
        union sa *out = v6 ? &ts->pub6 : &ts->pub4;
        if (slash) {
            size_t l1, l2;
            const uint8_t *x = sa_ip(&priv, &l1), *y = sa_ip(relay, &l2);
            if (priv.sa.sa_family != relay->sa.sa_family || memcmp(x, y, l1) != 0)
                continue;
        }
        *out = pub;
    }

    /* Peer policy. Own addresses: listening, relay and external. */
    int rc;
    size_t nd = 0, na = 0;
    if ((rc = parse_ranges(cfg, "denied-peer-ip", &ts->denied, &nd, err, errlen)) < 0 ||
        (rc = parse_ranges(cfg, "allowed-peer-ip", &ts->allowed, &na, err, errlen)) < 0)
        return rc;
    ts->own = calloc(nips + nrel + nexts + 1, sizeof *ts->own);
    if (!ts->own)
        return -ENOMEM;
    size_t no = 0;
    for (size_t i = 0; i < nips; i++)
        if (!is_wildcard(&ips[i]))
            turn_range_from_sockaddr(&ips[i].sa, &ts->own[no++]);
    for (size_t i = 0; i < nrel; i++)
        turn_range_from_sockaddr(&relays[i].sa, &ts->own[no++]);
    for (size_t i = 0; i < nexts; i++)
        turn_range_from_sockaddr(&exts[i].sa, &ts->own[no++]);
    ts->policy = (struct turn_peer_policy){
        .denied = ts->denied, .ndenied = nd, .allowed = ts->allowed, .nallowed = na,
        .own = ts->own, .nown = no, .allow_loopback = config_bool(cfg, "allow-loopback-peers"),
        .no_multicast = config_bool(cfg, "no-multicast-peers"),
    };
    return 0;
}

int turn_server_start(uv_loop_t *loop, const config_t *cfg, const struct turn_auth *auth,
                      struct turn_server **out, char *err, size_t errlen)
{
    struct turn_server *ts = calloc(1, sizeof *ts);
    if (!ts) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    ts->loop = loop;
    if (auth)
        ts->auth = *auth;
    if (getentropy(ts->nonce_secret, sizeof ts->nonce_secret) < 0 ||
        getentropy(ts->hash_key, sizeof ts->hash_key) < 0 ||
        getentropy(&ts->rng, sizeof ts->rng) < 0) {
        snprintf(err, errlen, "no entropy: %s", strerror(errno));
        free(ts);
        return -EIO;
    }
    ts->rng |= 1;
    union sa ips[MAX_LISTEN_IPS];
    size_t nips = 0;
    int rc = listen_ips(cfg, ips, MAX_LISTEN_IPS, &nips, err, errlen);
    if (rc < 0)
        goto fail_early;
    if (nips == 0) {
        snprintf(err, errlen, "no listening address: set listening-ip");
        rc = -EINVAL;
        goto fail_early;
    }
    if ((rc = configure(ts, cfg, ips, nips, err, errlen)) < 0)
        goto fail_early;

    const char *cert = config_str(cfg, "cert"), *pkey = config_str(cfg, "pkey");
    int want_tls = !config_bool(cfg, "no-tls");
    if (want_tls && cert && pkey) {
        snprintf(ts->cert, sizeof ts->cert, "%s", cert);
        snprintf(ts->pkey, sizeof ts->pkey, "%s", pkey);
        if ((rc = tls_server_new(cert, pkey, &ts->tls, err, errlen)) < 0)
            goto fail_early;
    } else if (want_tls) {
        log_warn("turn", "no TLS listener: cert and pkey are not both set");
        want_tls = 0;
    }
    int want_udp = !config_bool(cfg, "no-udp"), want_tcp = !config_bool(cfg, "no-tcp");
    ts->listeners = calloc(nips * 3, sizeof *ts->listeners);
    if (!ts->listeners) {
        rc = -ENOMEM;
        goto fail_early;
    }

    uv_timer_init(loop, &ts->sweep);
    ts->sweep.data = ts;
    ts->handles++;
    uv_timer_start(&ts->sweep, on_sweep, 1000, 1000);
    ts->last_stats = now_ms(ts);

    size_t nudp = 0, ntcp = 0, ntls = 0;
    for (size_t i = 0; i < nips; i++) {
        if (want_udp) {
            if ((rc = add_listener(ts, TR_UDP, &ips[i], ts->listen_port, err, errlen)) < 0)
                goto fail;
            nudp++;
        }
        if (want_tcp) {
            if ((rc = add_listener(ts, TR_TCP, &ips[i], ts->listen_port, err, errlen)) < 0)
                goto fail;
            ntcp++;
        }
        if (want_tls) {
            if ((rc = add_listener(ts, TR_TLS, &ips[i], ts->tls_port, err, errlen)) < 0)
                goto fail;
            ntls++;
        }
    }
    if (nudp + ntcp + ntls == 0) {
        snprintf(err, errlen, "no-udp, no-tcp and no-tls leave no listener");
        rc = -EINVAL;
        goto fail;
    }
    log_info("turn", "listening: %zu UDP and %zu TCP sockets on port %d, %zu TLS on port %d; "
                     "relay ports %u-%u",
             nudp, ntcp, ts->listen_port, ntls, ts->tls_port, ts->min_port, ts->max_port);
    log_info("turn", "credentials: %s%s; peers: %zu denied and %zu allowed ranges%s",
             ts->auth.lookup_ha1 ? "T9phone accounts" : "no accounts",
             ts->use_auth_secret ? ", TURN REST API" : "", ts->policy.ndenied,
             ts->policy.nallowed, ts->policy.allow_loopback ? ", loopback allowed (tests only)" : "");
    *out = ts;
    return 0;

fail:
    /* Close what was opened; the loop finishes the closing. */
    turn_server_stop(ts, NULL, NULL);
    return rc;
fail_early:
    for (size_t i = 0; i < ts->nsecrets; i++)
        free(ts->secrets[i]);
    tls_server_free(ts->tls);
    free(ts->denied);
    free(ts->allowed);
    free(ts->own);
    free(ts->listeners);
    free(ts);
    return rc;
}

void turn_server_stop(struct turn_server *ts, void (*done)(void *arg), void *arg)
{
    if (ts->stopping)
        return;
    ts->stopping = 1;
    ts->done = done;
    ts->done_arg = arg;
    ts->handles++; /* held while closing everything */
    while (ts->conns)
        conn_close(ts->conns);
    while (ts->allocs)
        alloc_close(ts->allocs);
    resv_sweep(ts, 1);
    for (size_t i = 0; i < ts->nlisteners; i++) {
        uv_handle_t *h = (uv_handle_t *)&ts->listeners[i].h;
        h->data = ts;
        uv_close(h, on_handle_closed);
    }
    ts->sweep.data = ts;
    uv_close((uv_handle_t *)&ts->sweep, on_handle_closed);
    handle_closed(ts);
}

int turn_server_reload_tls(struct turn_server *ts)
{
    if (!ts->tls)
        return -ENOENT;
    char err[256];
    int rc = tls_server_reload(ts->tls, err, sizeof err);
    if (rc < 0)
        log_error("turn", "TLS certificate not reloaded: %s", err);
    else
        log_info("turn", "TLS certificate reloaded");
    return rc;
}
