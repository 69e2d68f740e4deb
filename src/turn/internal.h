/*
 * turn/internal.h - the TURN server's state, shared by the turn/ modules
 * that run it. Not for other engines or main: include turn/server.h.
 *
 * The modules:
 *   server.c     public entry points (turn/server.h): configuration, start,
 *                stop, TLS reload, the sweep timer, handle accounting;
 *   request.c    one STUN message from a client: authentication, replies and
 *                the Binding, Allocate, Refresh, CreatePermission,
 *                ChannelBind and Send handlers (turn/request.h);
 *   alloc.c      allocations: relay sockets and ports, EVEN-PORT
 *                reservations, permissions, channels, lifetimes, bandwidth
 *                buckets, and the relay path in both directions
 *                (turn/alloc.h);
 *   transport.c  client transports: UDP, TCP and TLS listeners, stream
 *                connections and their framing, sending to a client
 *                (turn/transport.h).
 * Functions named turn__* are internal to these modules (libuv's uv__
 * convention); turn_* are the public API.
 *
 * Memory: one turn_server holds the shared receive and transmit buffers, so
 * the relay path (ChannelData, Send and Data indications) never allocates:
 * a datagram is received into rx with headroom, the TURN header is written
 * in front of it in place, and it is sent with uv_udp_try_send() or queued in
 * the client connection's fixed output buffers. An allocation has fixed
 * arrays of permissions and channels. Connections have a fixed read buffer.
 */
#ifndef T9_TURN_INTERNAL_H
#define T9_TURN_INTERNAL_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <uv.h>

#include "turn/auth.h"
#include "turn/peer.h"
#include "turn/server.h"

/* Every fixed bound of the server, in one place. */
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

/* Client transports (the relayed transport is always UDP). */
enum { TR_UDP, TR_TCP, TR_TLS };

union sa {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
};

struct listener; /* turn/transport.h */
struct conn;     /* turn/transport.h */
struct alloc;    /* turn/alloc.h */

/* A token bucket: bytes per second, refilled by elapsed milliseconds. */
struct bucket {
    uint64_t tokens, last;
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

/* ------------------------------------------------------------ small helpers */

static inline uint64_t now_ms(const struct turn_server *ts) { return uv_now(ts->loop); }

static inline int sa_equal(const union sa *a, const union sa *b)
{
    if (a->sa.sa_family != b->sa.sa_family)
        return 0;
    if (a->sa.sa_family == AF_INET)
        return a->in.sin_port == b->in.sin_port && a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
    return a->in6.sin6_port == b->in6.sin6_port &&
           memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
}

static inline void sa_copy(union sa *dst, const struct sockaddr *src)
{
    memset(dst, 0, sizeof *dst);
    if (src->sa_family == AF_INET)
        memcpy(&dst->in, src, sizeof dst->in);
    else if (src->sa_family == AF_INET6)
        memcpy(&dst->in6, src, sizeof dst->in6);
}

/* The IP bytes of an address (4 or 16) and their count. */
static inline const uint8_t *sa_ip(const union sa *a, size_t *n)
{
    if (a->sa.sa_family == AF_INET6) {
        *n = 16;
        return (const uint8_t *)&a->in6.sin6_addr;
    }
    *n = 4;
    return (const uint8_t *)&a->in.sin_addr;
}

static inline void sa_set_port(union sa *a, uint16_t port)
{
    if (a->sa.sa_family == AF_INET6)
        a->in6.sin6_port = htons(port);
    else
        a->in.sin_port = htons(port);
}

/* ------------------------------------------------------------ handles */

/* Called once for every handle of the server (listener, relay socket,
 * connection, timer) when it is closed; the last one, once stopping, frees
 * the server and calls the stop callback. Every uv_*_init() on the server's
 * behalf is matched by ts->handles++. (server.c) */
void turn__handle_closed(struct turn_server *ts);

#endif
