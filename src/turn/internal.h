/*
 * turn/internal.h - the TURN server's state, shared by the turn/ modules
 * that run it. Not for other engines or main: include turn/server.h.
 *
 * The modules, bottom up; each calls only the ones below it, and upward
 * only through the callbacks server.c wires at start (struct turn_io, and
 * the handle count's `last` callback below):
 *   options.c    the configuration read into a struct turn_opts (pure);
 *   transport.c  client transports on net/conn.h: UDP, TCP and TLS
 *                listeners, stream framing, caps and deadlines, sending to
 *                a client (turn/transport.h). Knows no STUN semantics and
 *                no allocations: it hands messages up through io.on_message
 *                and gone connections through io.on_gone;
 *   alloc.c      allocations: relay sockets and ports, EVEN-PORT
 *                reservations, permissions, channels, lifetimes, bandwidth
 *                buckets, and the relay path in both directions
 *                (turn/alloc.h);
 *   request.c    one message from a client (io.on_message): ChannelData to
 *                alloc, STUN requests authenticated and answered
 *                (turn/request.h);
 *   server.c     public entry points (turn/server.h): start, stop, reload,
 *                metrics, the sweep timer; wires the callbacks.
 * Functions named turn__* are internal to these modules (libuv's uv__
 * convention); turn_* are the public API. Macros are TURN_*.
 *
 * Memory: one turn_server holds the shared receive and transmit buffers, so
 * the relay path (ChannelData, Send and Data indications) never allocates:
 * a datagram is received into rx (one slot per datagram of a recvmmsg batch) with headroom, the TURN header is written
 * in front of it in place, and it is sent with uv_udp_try_send() or queued in
 * the client connection's fixed output buffers. An allocation's
 * permissions and channels are small tables grown on demand up to their
 * bounds and given back when empty (an idle allocation is about 530 bytes).
 * Connections have a fixed read buffer.
 */
#ifndef T9_TURN_INTERNAL_H
#define T9_TURN_INTERNAL_H

#include <assert.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <uv.h>

#include "net/conn.h"
#include "turn/auth.h"
#include "turn/options.h"
#include "turn/peer.h"
#include "turn/server.h"

/* Every fixed bound of the server, in one place. */
#define TURN_MAX_PERMS 32          /* per allocation */
#define TURN_MAX_CHANNELS 32       /* per allocation */
#define TURN_MAX_RESERVATIONS 4096 /* EVEN-PORT R reservations, server-wide */
#define TURN_RESERVATION_MS 30000
#define TURN_DEFAULT_LIFETIME 600
#define TURN_HASH_BUCKETS 4096
#define TURN_HEADROOM 64           /* room for a Data indication header */
#define TURN_TAILROOM 16           /* padding and FINGERPRINT */
#define TURN_RX_SIZE (65536 + TURN_HEADROOM + TURN_TAILROOM)
/* Datagrams per recvmmsg on a relay socket: net_udp_recv_batch()'s. */
#define TURN_RELAY_BATCH NET_UDP_RECV_BATCH
#define TURN_TX_SIZE 2048
#define TURN_BIND_TRIES 64
#define TURN_OWN_REFRESH_MS 60000  /* the host's addresses re-read */
#define TURN_CHANNEL_MAX_RFC8656 0x4FFF /* TURN_CHANNEL_MAX (stun.h) is RFC 5766's */
#define TURN_CHANNEL_HOLD_MS 300000 /* RFC 8656: an expired binding's number
                                     * and peer are not rebound for 5 min */
#define TURN_UDP_SOCKET_BUF (4 << 20) /* client-facing UDP socket buffers */
#define TURN_UDP_ROUNDS 16         /* recvmmsg calls per readiness of a listener */
#define TURN_COALESCE_ENOUGH 32    /* packets of a loop turn that need no pause after it */

struct alloc; /* turn/alloc.h */

/* Upward calls of the transport, wired by server.c. */
struct turn_io {
    /* A STUN message or a ChannelData message from a client (a datagram,
     * or a frame cut from a stream); p[n] is writable and valid during the
     * call only. */
    void (*on_message)(struct turn_server *ts, const struct net_endpoint *from, uint8_t *p,
                       size_t n);
    /* A stream connection closed: drop what hangs off it. */
    void (*on_gone)(struct turn_server *ts, struct net_conn *c);
};

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
    uint8_t user[32]; /* whose quota it counts against (SHA-256 of the username) */
};

/* Issue 12's aggregate counters: every refusal by reason and every send
 * error of a relay socket (never per client). */
enum { TURN_SEND_ENETUNREACH, TURN_SEND_EPERM, TURN_SEND_EACCES, TURN_SEND_OTHER,
       TURN_SEND_NKINDS };
struct turn_refusals {
    uint64_t peer[TURN_PEER_NVERDICTS]; /* by enum turn_peer_verdict */
    uint64_t send[TURN_SEND_NKINDS];
    uint64_t rest_ttl;    /* REST expiry beyond max-rest-ttl */
    uint64_t resv_quota;  /* EVEN-PORT R over user-quota */
    uint64_t chan_range;  /* channel number outside the accepted range */
    uint64_t chan_held;   /* channel number or peer still held after expiry */
};

struct turn_server {
    uv_loop_t *loop;
    struct turn_auth auth;
    struct turn_opts o;
    struct turn_io io;
    /* handles */
    struct net_conns *net;
    struct tls_server *tls;
    int own_tls; /* tls was made from cert/pkey here, not handed in */
    uv_timer_t sweep;
    uv_prepare_t coalesce; /* relay-coalesce-us: the pause before the poll */
    /* state */
    struct alloc *hash[TURN_HASH_BUCKETS];
    struct alloc *allocs;
    size_t nallocs;
    struct reservation resv[TURN_MAX_RESERVATIONS];
    uint8_t ports[65536 / 8];
    uint8_t nonce_secret[TURN_NONCE_SECRET_LEN];
    uint8_t hash_key[16];
    uint64_t rng;
    struct bucket cap_up, cap_down;
    /* shutdown */
    int stopping;
    size_t handles;
    void (*last)(struct turn_server *ts); /* the last handle closed */
    void (*done)(void *);
    void *done_arg;
    /* counters (logged and in /metrics, never per client) */
    uint64_t n_alloc, n_denied, n_auth_fail, n_relayed, n_dropped, n_quota, n_nocap;
    uint64_t n_relayed_bytes; /* payload bytes, both directions */
    uint64_t n_key_cached; /* requests on an allocation checked against its key */
    uint64_t n_coalesced;  /* loop turns delayed by relay-coalesce-us */
    uint64_t coalesce_seen; /* n_relayed at the last pause decision */
    uint64_t coalesce_last; /* uv_hrtime() after the last pause decision */
    struct turn_refusals ref;
    /* own addresses: the configured ones (o.own, o.policy.nown at start)
     * and the host's interfaces, re-read every TURN_OWN_REFRESH_MS */
    struct turn_ip_range *own_all;
    size_t nown_cfg;
    uint64_t own_read;
    uint64_t last_stats;
    /* buffers */
    uint8_t tx[TURN_TX_SIZE];
    uint8_t rx[TURN_RELAY_BATCH][TURN_RX_SIZE]; /* [0]: client datagrams too */
};

/* ------------------------------------------------------------ small helpers */

static inline uint64_t now_ms(const struct turn_server *ts) { return uv_now(ts->loop); }

/* The IP bytes of an address (4 or 16) and their count. */
static inline const uint8_t *sa_ip(const union net_addr *a, size_t *n)
{
    if (a->sa.sa_family == AF_INET6) {
        *n = 16;
        return (const uint8_t *)&a->in6.sin6_addr;
    }
    *n = 4;
    return (const uint8_t *)&a->in.sin_addr;
}

static inline void sa_set_port(union net_addr *a, uint16_t port)
{
    if (a->sa.sa_family == AF_INET6)
        a->in6.sin6_port = htons(port);
    else
        a->in.sin_port = htons(port);
}

/* ------------------------------------------------------------ handles */

/* Every uv_*_init() on the server's behalf (relay socket, timer, the
 * connection set) is matched by turn__handle_ref(), and its close callback
 * by turn__handle_unref(); the last unref, once stopping, runs ts->last
 * (server.c frees the server there). */
static inline void turn__handle_ref(struct turn_server *ts) { ts->handles++; }

static inline void turn__handle_unref(struct turn_server *ts)
{
    assert(ts->handles > 0);
    if (--ts->handles == 0 && ts->stopping)
        ts->last(ts);
}

#endif
