/*
 * turn/alloc.c - TURN allocations and the relay path. See alloc.h.
 */
#include "turn/alloc.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/siphash.h"
#include "turn/transport.h"

/* ------------------------------------------------------------ small helpers */

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

/* ------------------------------------------------------------ bandwidth */

int turn__bucket_take(struct bucket *b, uint64_t rate, uint64_t now, size_t n)
{
    if (!rate)
        return 1;
    if (now > b->last) {
        /* The bucket holds one second at most, so more than a second of
         * idle time adds nothing: clamping keeps rate * elapsed far from
         * overflowing (2e9 B/s x 106 days would). */
        uint64_t elapsed = now - b->last > 1000 ? 1000 : now - b->last;
        uint64_t add = rate * elapsed / 1000;
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
    if (!turn__bucket_take(up ? &a->up : &a->down, ts->o.max_bps, now, n))
        return 0;
    return turn__bucket_take(up ? &ts->cap_up : &ts->cap_down, ts->o.bps_capacity, now, n);
}

/* ------------------------------------------------------------ allocations */

/* SipHash-2-4 under the server's random key (base/siphash.h) of the
 * listener's identity and the client's address: clients choose their
 * addresses, and without the key they cannot aim them at one bucket. */
static unsigned alloc_bucket(const struct turn_server *ts, const struct net_listener *lst,
                             const union net_addr *client)
{
    uint8_t in[sizeof(uintptr_t) + 1 + 16 + 2];
    size_t k = 0;
    uintptr_t l = (uintptr_t)lst;
    memcpy(in, &l, sizeof l);
    k += sizeof l;
    in[k++] = (uint8_t)client->sa.sa_family;
    size_t n;
    const uint8_t *ip = sa_ip(client, &n);
    memcpy(in + k, ip, n);
    k += n;
    uint16_t port = client->sa.sa_family == AF_INET6 ? client->in6.sin6_port : client->in.sin_port;
    memcpy(in + k, &port, 2);
    k += 2;
    return (unsigned)(siphash24(ts->hash_key, in, k) % TURN_HASH_BUCKETS);
}

struct alloc *turn__alloc_find(struct turn_server *ts, const struct net_endpoint *client)
{
    if (client->conn)
        return net_conn_data(client->conn);
    for (struct alloc *a = ts->hash[alloc_bucket(ts, client->lst, &client->addr)]; a;
         a = a->hnext)
        if (!a->client.conn && a->client.lst == client->lst &&
            net_addr_equal(&a->client.addr, &client->addr))
            return a;
    return NULL;
}

static void port_release(struct turn_server *ts, uint16_t port)
{
    ts->ports[port / 8] &= (uint8_t)~(1u << (port % 8));
}

static int port_used(const struct turn_server *ts, unsigned port)
{
    return ts->ports[port / 8] & (1u << (port % 8));
}

int turn__port_live(const void *ts, uint16_t port)
{
    return port_used(ts, port) != 0;
}

static void port_take(struct turn_server *ts, uint16_t port)
{
    ts->ports[port / 8] |= (uint8_t)(1u << (port % 8));
}

static void on_relay_closed(uv_handle_t *h)
{
    struct alloc *a = h->data;
    struct turn_server *ts = a->ts;
    close(a->fd); /* a poll handle leaves its descriptor open */
    free(a->perms);
    free(a->chans);
    free(a);
    turn__handle_unref(ts);
}

static void resv_drop(struct turn_server *ts, struct reservation *rv);

void turn__alloc_close(struct alloc *a)
{
    struct turn_server *ts = a->ts;
    if (a->closing)
        return;
    a->closing = 1;
    if (a->has_token) {
        /* Its RTCP port is of no use without it: free the socket now
         * rather than in 30 s (one credential could otherwise pin a
         * thousand sockets by allocating and deleting in a loop). */
        struct reservation *rv = turn__resv_find(ts, a->token);
        if (rv)
            resv_drop(ts, rv);
    }
    if (!a->client.conn) {
        struct alloc **pp = &ts->hash[a->bucket];
        while (*pp && *pp != a)
            pp = &(*pp)->hnext;
        assert(*pp == a);
        if (*pp)
            *pp = a->hnext;
    } else {
        net_conn_set_data(a->client.conn, NULL);
        net_conn_hold(a->client.conn, 0);
    }
    if (a->prev)
        a->prev->next = a->next;
    else
        ts->allocs = a->next;
    if (a->next)
        a->next->prev = a->prev;
    assert(ts->nallocs > 0);
    ts->nallocs--;
    port_release(ts, a->port);
    uv_close((uv_handle_t *)&a->relay, on_relay_closed);
}

struct perm *turn__perm_find(struct alloc *a, const union net_addr *peer, uint64_t now)
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

int turn__perm_set(struct alloc *a, const union net_addr *peer, uint64_t now)
{
    struct turn_server *ts = a->ts;
    size_t n;
    const uint8_t *ip = sa_ip(peer, &n);
    uint8_t v6 = peer->sa.sa_family == AF_INET6;
    struct perm *p = NULL;
    for (size_t i = 0; i < a->nperms && !p; i++)
        if (a->perms[i].v6 == v6 && memcmp(a->perms[i].ip, ip, n) == 0)
            p = &a->perms[i];
    if (!p && a->nperms < TURN_MAX_PERMS && turn__perm_reserve(a, 1) == 0)
        p = &a->perms[a->nperms++];
    for (size_t i = 0; i < a->nperms && !p; i++)
        if (a->perms[i].expires <= now)
            p = &a->perms[i]; /* expired, not swept yet: reuse */
    if (!p)
        return -ENOSPC;
    if (p->expires <= now || p->v6 != v6 || memcmp(p->ip, ip, n) != 0) {
        memset(p, 0, sizeof *p);
        p->v6 = v6;
        memcpy(p->ip, ip, n);
        p->own = (uint8_t)turn_peer_is_own(&ts->o.policy, &peer->sa);
    }
    p->expires = now + ts->o.perm_lifetime * 1000ULL;
    return 0;
}

/* Grows *arr (of *cap entries of size sz) to hold `want`, doubling from 4,
 * at most max. */
static int grow(void **arr, uint8_t *cap, size_t sz, size_t want, size_t max)
{
    if (want > max)
        want = max;
    if (want <= *cap)
        return 0;
    size_t c = *cap ? *cap : 4;
    while (c < want)
        c *= 2;
    if (c > max)
        c = max;
    void *p = realloc(*arr, c * sz);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = (uint8_t)c;
    return 0;
}

int turn__perm_reserve(struct alloc *a, size_t extra)
{
    return grow((void **)&a->perms, &a->perm_cap, sizeof *a->perms, a->nperms + extra,
                TURN_MAX_PERMS);
}

int turn__chan_reserve(struct alloc *a)
{
    return grow((void **)&a->chans, &a->chan_cap, sizeof *a->chans, a->nchans + 1,
                TURN_MAX_CHANNELS);
}

size_t turn__perm_room(const struct alloc *a, uint64_t now)
{
    size_t room = TURN_MAX_PERMS - a->nperms;
    for (size_t i = 0; i < a->nperms; i++)
        room += a->perms[i].expires <= now;
    return room;
}

struct chan *turn__chan_by_num(struct alloc *a, uint16_t num, uint64_t now)
{
    for (size_t i = 0; i < a->nchans; i++)
        if (a->chans[i].num == num && a->chans[i].expires > now)
            return &a->chans[i];
    return NULL;
}

struct chan *turn__chan_by_peer(struct alloc *a, const union net_addr *peer, uint64_t now)
{
    for (size_t i = 0; i < a->nchans; i++)
        if (a->chans[i].expires > now && net_addr_equal(&a->chans[i].peer, peer))
            return &a->chans[i];
    return NULL;
}

int turn__chan_bind(struct alloc *a, uint16_t num, const union net_addr *peer, uint64_t now,
                    uint64_t life_ms)
{
    struct chan *same = NULL, *free_slot = NULL;
    for (size_t i = 0; i < a->nchans; i++) {
        struct chan *c = &a->chans[i];
        int live = c->expires > now, held = !live && c->expires + TURN_CHANNEL_HOLD_MS > now;
        int num_eq = c->num == num, peer_eq = net_addr_equal(&c->peer, peer);
        if ((live || held) && num_eq && peer_eq) {
            same = c; /* a refresh, or the same pair bound again: allowed */
            break;
        }
        if ((live || held) && (num_eq || peer_eq))
            return live ? -EEXIST : -EBUSY;
        if (!live && !held && !free_slot)
            free_slot = c;
    }
    struct chan *c = same ? same : free_slot;
    if (!c) {
        if (a->nchans >= TURN_MAX_CHANNELS)
            return -ENOSPC;
        if (turn__chan_reserve(a) < 0)
            return -ENOMEM;
        c = &a->chans[a->nchans++];
    }
    c->num = num;
    c->peer = *peer;
    c->expires = now + life_ms;
    return 0;
}

/* ------------------------------------------------------------ relay-to-relay behind NAT */

static int ip_is(const union net_addr *a, const union net_addr *b)
{
    size_t n, m;
    const uint8_t *x = sa_ip(a, &n), *y = sa_ip(b, &m);
    return a->sa.sa_family == b->sa.sa_family && memcmp(x, y, n) == 0;
}

static int in_relay_range(const struct turn_server *ts, const union net_addr *a)
{
    unsigned port = ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port : a->in.sin_port);
    return port >= ts->o.min_port && port <= ts->o.max_port;
}

/* Behind 1:1 NAT (external-ip) clients know the public relayed addresses, so
 * two relayed phones of one call name each other by them. Few NATs hairpin:
 * such a datagram goes to the private relay address directly, and one
 * arriving from another allocation is shown with the public address the
 * permission was made for. `to_private` picks the direction; returns 1 when
 * *addr was rewritten. */
static int nat_rewrite(const struct turn_server *ts, union net_addr *addr, int to_private)
{
    const struct turn_opts *o = &ts->o;
    int v6 = addr->sa.sa_family == AF_INET6;
    if (v6 ? !o->has_relay6 : !o->has_relay4)
        return 0;
    const union net_addr *priv = v6 ? &o->relay6 : &o->relay4;
    const union net_addr *pub = v6 ? &o->pub6 : &o->pub4;
    if (ip_is(priv, pub) || !ip_is(addr, to_private ? pub : priv) || !in_relay_range(ts, addr))
        return 0;
    uint16_t port = v6 ? addr->in6.sin6_port : addr->in.sin_port;
    *addr = to_private ? *priv : *pub;
    if (v6)
        addr->in6.sin6_port = port;
    else
        addr->in.sin_port = port;
    return 1;
}

/* ------------------------------------------------------------ relay path */

/* Peer -> client: one datagram of n bytes at data, with TURN_HEADROOM
 * writable bytes before it and TURN_TAILROOM after. */
static void relay_deliver(struct alloc *a, uint8_t *data, size_t n, const struct sockaddr *from)
{
    struct turn_server *ts = a->ts;
    union net_addr peer;
    net_addr_copy(&peer, from);
    nat_rewrite(ts, &peer, 0);
    uint64_t now = now_ms(ts);
    if (!turn__perm_find(a, &peer, now) || !bps_ok(a, 0, n)) {
        ts->n_dropped++;
        return;
    }
    int stream = a->client.conn != NULL;
    uint8_t *start;
    size_t len;
    struct chan *ch = turn__chan_by_peer(a, &peer, now);
    if (ch && n <= 0xFFFF) {
        start = data - 4;
        bytes_wr16be(start, ch->num);
        bytes_wr16be(start + 2, (uint16_t)n);
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
        bytes_wr16be(start + hlen - 4, STUN_A_DATA);
        bytes_wr16be(start + hlen - 2, (uint16_t)n);
        memset(data + n, 0, pad);
        len = hlen + n + pad;
        bytes_wr16be(start + 2, (uint16_t)(len - STUN_HEADER_LEN));
        if (ts->o.fingerprint) {
            bytes_wr16be(start + 2, (uint16_t)(len + 8 - STUN_HEADER_LEN));
            uint32_t crc = stun_crc32(start, len) ^ STUN_FINGERPRINT_XOR;
            uint8_t *f = start + len;
            bytes_wr16be(f, STUN_A_FINGERPRINT);
            bytes_wr16be(f + 2, 4);
            bytes_wr32be(f + 4, crc);
            len += 8;
        }
    }
    if (turn__client_send(&a->client, start, len) == 0) {
        ts->n_relayed++;
        ts->n_relayed_bytes += n;
    } else
        ts->n_dropped++;
}

/* Batches read per wake-up at most before the loop's other work. */
#define TURN_RELAY_ROUNDS 16 /* 128 datagrams: enough for a turn of relay-coalesce-us */

/* The relay socket is readable: one recvmmsg into the server's rx slots per
 * batch, and another only when the batch came back full. A short batch
 * means the socket is empty, so no call is spent just to see EAGAIN; the
 * rounds are bounded so that one busy peer cannot starve the loop (the poll
 * is level-triggered: what is left wakes it again). */
static void on_relay_readable(uv_poll_t *h, int status, int events)
{
    struct alloc *a = h->data;
    struct turn_server *ts = a->ts;
    if (status < 0 || !(events & UV_READABLE))
        return;
    struct net_udp_batch b;
    for (int round = 0; round < TURN_RELAY_ROUNDS && !a->closing; round++) {
        int r = net_udp_recv_batch(a->fd, &b, ts->rx[0] + TURN_HEADROOM, TURN_RX_SIZE,
                                   TURN_RX_SIZE - TURN_HEADROOM - TURN_TAILROOM);
        if (r < 0)
            return; /* EAGAIN (a spurious wake-up) or a socket error */
        for (int i = 0; i < r && !a->closing; i++) {
            if (b.m[i].msg_hdr.msg_flags & MSG_TRUNC) {
                ts->n_dropped++;
                continue;
            }
            relay_deliver(a, ts->rx[i] + TURN_HEADROOM, b.m[i].msg_len,
                          (const struct sockaddr *)&b.from[i]);
        }
        if (r < TURN_RELAY_BATCH)
            return;
    }
}

/* Client -> peer. */
void turn__alloc_relay(struct alloc *a, const union net_addr *peer, const uint8_t *p, size_t n)
{
    struct turn_server *ts = a->ts;
    if (!bps_ok(a, 1, n)) {
        ts->n_dropped++;
        return;
    }
    union net_addr to = *peer;
    nat_rewrite(ts, &to, 1);
    socklen_t tolen = to.sa.sa_family == AF_INET6 ? sizeof to.in6 : sizeof to.in;
    ssize_t sr;
    do
        sr = sendto(a->fd, p, n, MSG_DONTWAIT, &to.sa, tolen);
    while (sr < 0 && errno == EINTR);
    int rc = sr >= 0 ? 0 : -errno;
    if (rc >= 0) {
        ts->n_relayed++;
        ts->n_relayed_bytes += n;
        return;
    }
    /* One path failing (no route, a firewall, a broadcast address) is
     * counted and nothing else changes: the allocation keeps relaying to
     * its other peers (coturn stops relaying for the whole allocation). */
    ts->n_dropped++;
    if (rc != UV_EAGAIN)
        ts->ref.send[rc == UV_ENETUNREACH ? TURN_SEND_ENETUNREACH
                     : rc == UV_EPERM     ? TURN_SEND_EPERM
                     : rc == UV_EACCES    ? TURN_SEND_EACCES
                                          : TURN_SEND_OTHER]++;
}

void turn__alloc_channeldata(struct alloc *a, const uint8_t *p, size_t n)
{
    uint16_t num;
    const uint8_t *data;
    size_t dlen;
    if (!a || stun_parse_channeldata(p, n, &num, &data, &dlen) < 0)
        return;
    uint64_t now = now_ms(a->ts);
    struct chan *ch = turn__chan_by_num(a, num, now);
    struct perm *pm = ch ? turn__perm_find(a, &ch->peer, now) : NULL;
    if (!pm) {
        a->ts->n_dropped++;
        return;
    }
    /* A channel to one of the server's own addresses (relay-to-relay) keeps
     * relaying only while its port is still held by an allocation. */
    enum turn_peer_verdict v = pm->own ? turn_peer_check(&a->ts->o.policy, &ch->peer.sa)
                                       : TURN_PEER_OK;
    if (v != TURN_PEER_OK) {
        a->ts->n_dropped++;
        a->ts->ref.peer[v]++;
        return;
    }
    turn__alloc_relay(a, &ch->peer, data, dlen);
}

/* ------------------------------------------------------------ relay ports, reservations */

struct reservation *turn__resv_find(struct turn_server *ts, const uint8_t *token)
{
    uint64_t now = now_ms(ts);
    for (size_t i = 0; i < TURN_MAX_RESERVATIONS; i++)
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

long turn__user_count(struct turn_server *ts, const uint8_t user[32])
{
    long n = 0;
    uint64_t now = now_ms(ts);
    for (struct alloc *x = ts->allocs; x; x = x->next)
        n += memcmp(x->user, user, 32) == 0;
    for (size_t i = 0; i < TURN_MAX_RESERVATIONS; i++)
        n += ts->resv[i].expires > now && memcmp(ts->resv[i].user, user, 32) == 0;
    return n;
}

/* Drops expired reservations (all of them when `all`). */
void turn__resv_sweep(struct turn_server *ts, int all)
{
    uint64_t now = now_ms(ts);
    for (size_t i = 0; i < TURN_MAX_RESERVATIONS; i++)
        if (ts->resv[i].expires && (all || ts->resv[i].expires <= now))
            resv_drop(ts, &ts->resv[i]);
}

static struct reservation *resv_slot(struct turn_server *ts)
{
    uint64_t now = now_ms(ts);
    for (size_t i = 0; i < TURN_MAX_RESERVATIONS; i++) {
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
    union net_addr addr = v6 ? ts->o.relay6 : ts->o.relay4;
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
    unsigned span = ts->o.max_port - ts->o.min_port + 1;
    unsigned start = (unsigned)(rng_next(ts) % span);
    int tries = 0;
    for (unsigned i = 0; i < span && tries < TURN_BIND_TRIES; i++) {
        unsigned port = ts->o.min_port + (start + i) % span;
        if (port_used(ts, port) || (even && port % 2))
            continue;
        if (pair_fd && (port + 1 > ts->o.max_port || port_used(ts, port + 1)))
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
    if (uv_poll_init(ts->loop, &a->relay, fd) != 0) {
        close(fd);
        return -1;
    }
    a->relay.data = a;
    a->fd = fd;
    turn__handle_ref(ts);
    a->port = (uint16_t)port;
    port_take(ts, (uint16_t)port);
    return 0;
}


/* ------------------------------------------------------------ life cycle */

struct alloc *turn__alloc_new(struct turn_server *ts, int v6, int even, int reserve,
                              struct reservation *rv, int dont_fragment,
                              const uint8_t user[32])
{
    struct alloc *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->ts = ts;
    struct reservation *slot = NULL;
    if (reserve && !(slot = resv_slot(ts))) {
        free(a);
        return NULL;
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
        return NULL;
    }
    if (fd2 >= 0) {
        uint8_t t[8];
        if (getentropy(t, sizeof t) == 0) {
            memcpy(slot->token, t, 8);
            memcpy(slot->user, user, 32);
            slot->port = (uint16_t)(port + 1);
            slot->v6 = (uint8_t)v6;
            slot->fd = fd2;
            slot->expires = now_ms(ts) + TURN_RESERVATION_MS;
            port_take(ts, slot->port);
            memcpy(a->token, t, 8);
            a->has_token = 1;
        } else {
            close(fd2);
        }
    }
    if (dont_fragment) {
        int v = IP_PMTUDISC_DO;
        if (v6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof v);
        else
            setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof v);
    }
    uv_poll_start(&a->relay, UV_READABLE, on_relay_readable);
    a->relay_pub = v6 ? ts->o.pub6 : ts->o.pub4;
    sa_set_port(&a->relay_pub, a->port);
    a->up.last = a->down.last = now_ms(ts);
    a->up.tokens = a->down.tokens = ts->o.max_bps;
    return a;
}

void turn__alloc_link(struct alloc *a)
{
    struct turn_server *ts = a->ts;
    assert(!a->closing);
    if (!a->client.conn) {
        a->bucket = alloc_bucket(ts, a->client.lst, &a->client.addr);
        a->hnext = ts->hash[a->bucket];
        ts->hash[a->bucket] = a;
    } else {
        assert(net_conn_data(a->client.conn) == NULL);
        net_conn_set_data(a->client.conn, a);
        net_conn_hold(a->client.conn, 1);
    }
    a->next = ts->allocs;
    if (ts->allocs)
        ts->allocs->prev = a;
    ts->allocs = a;
    ts->nallocs++;
    ts->n_alloc++;
}

void turn__alloc_sweep(struct turn_server *ts, uint64_t now)
{
    for (struct alloc *a = ts->allocs, *next; a; a = next) {
        next = a->next;
        if (a->expires <= now) {
            turn__alloc_close(a);
            continue;
        }
        size_t k = 0;
        for (size_t i = 0; i < a->nperms; i++)
            if (a->perms[i].expires > now)
                a->perms[k++] = a->perms[i];
        a->nperms = k;
        k = 0;
        /* Expired channels stay, unusable, for the hold (turn__chan_bind). */
        for (size_t i = 0; i < a->nchans; i++)
            if (a->chans[i].expires + TURN_CHANNEL_HOLD_MS > now)
                a->chans[k++] = a->chans[i];
        a->nchans = k;
        /* Give back the memory of an allocation whose call has ended. */
        if (a->nperms == 0 && a->perms) {
            free(a->perms);
            a->perms = NULL;
            a->perm_cap = 0;
        }
        if (a->nchans == 0 && a->chans) {
            free(a->chans);
            a->chans = NULL;
            a->chan_cap = 0;
        }
    }
}
