/*
 * net/conn.h - the one connection layer of every engine: listeners for UDP,
 * TCP and TLS on several addresses, stream connections with a read buffer,
 * protocol framing, caps, bounded output with back-pressure, and deadlines.
 *
 * A `struct net_conns` is one engine's set of listeners and connections
 * (TURN has one, SIP another, the portal a third). The engine gives it a
 * framing callback and receives whole frames, datagrams and close events;
 * the layer knows no protocol. Everything runs on the loop thread.
 *
 * Streams (TCP, and TLS through net/tls.h):
 *   - Each connection has a fixed read buffer of limits.rbuf bytes: the
 *     largest frame accepted. frame_len() tells where a frame ends; a frame
 *     larger than the buffer, or bytes frame_len() calls malformed, close
 *     the connection (counted).
 *   - Output goes through net/stream_out.h (TCP) or the TLS connection's own
 *     bounded buffers: a send fits whole or is refused with -ENOBUFS
 *     (counted), never half a frame, never unbounded memory.
 *   - Back-pressure: while unsent output exceeds limits.out_pause, the
 *     connection is not read and no further frames are cut from its read
 *     buffer; reading resumes when the output has drained. A peer that
 *     pipelines requests and never reads its answers costs a bounded amount
 *     of memory and no CPU.
 *   - Caps: limits.max_conns stream connections at once in the set, and
 *     limits.max_per_source from one source IP address (IPv6 per address,
 *     not per prefix). A connection over a cap is accepted and closed at
 *     once (counted).
 *   - Deadlines are real, not idle timers that every byte re-arms. The sweep
 *     (every limits.sweep_ms, or net_conns_sweep() with an explicit `now`)
 *     closes a connection when
 *       frame_ms      a frame's first byte arrived longer ago than this and
 *                     the frame is still incomplete (a trickle of 1 byte a
 *                     second does not keep a slot);
 *       idle_ms       no complete frame (or, before the first, the accept)
 *                     for this long, unless the owner holds the connection
 *                     (net_conn_hold(): e.g. TURN while it carries an
 *                     allocation, which has a lifetime of its own);
 *       handshake_ms  a TLS handshake is not finished this long after the
 *                     accept;
 *       unauth_ms     the owner has not marked the connection authenticated
 *                     (net_conn_set_authenticated()) this long after the
 *                     accept: strangers get a short slot, clients that
 *                     proved who they are get the normal limits;
 *       max_frames    after this many frames the connection stops reading
 *                     and closes once its output is sent.
 *     Zero turns a limit off. Deadlines are checked at sweep granularity, so
 *     a connection lives at most one sweep interval past its deadline.
 *   - A connection callback that cannot allocate still accepts the socket
 *     (into a spare handle) and closes it: a listener whose connection is
 *     left unaccepted is never polled again by libuv.
 *
 * Datagrams (UDP): each datagram is handed to on_datagram() in the
 * caller-owned buffer given at creation (so the caller can keep headroom in
 * front of it); replies leave the listener it came in on (net_udp_send()).
 *
 * Counters (struct net_conn_stats) are aggregate only: never an address, a
 * port or a user. net_conns_metrics() writes them in Prometheus text.
 *
 * Lifetime: net_conns_new() ... net_conns_close(); on_close() is called once
 * for every stream connection that on_frame() could have seen, when it
 * leaves the set, whatever the cause (peer, deadline, cap, owner, shutdown).
 */
#ifndef T9_NET_CONN_H
#define T9_NET_CONN_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "net/metrics.h"

struct tls_server;
struct net_conns;
struct net_conn;
struct net_listener;

/* Listener kinds. */
enum net_kind { NET_UDP, NET_TCP, NET_TLS };

/* An IPv4 or IPv6 socket address. */
union net_addr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
};

/* One client as an engine addresses it: the listener its traffic came in on,
 * its stream connection (NULL for UDP), and its address. */
struct net_endpoint {
    struct net_listener *lst;
    struct net_conn *conn;
    union net_addr addr;
};

#define NET_UDP_RECV_BATCH 8      /* datagrams per recvmmsg */
#define NET_UDP_SEND_BATCH 32     /* datagrams per sendmmsg */
#define NET_UDP_SEND_ARENA 65536  /* bytes queued per listener at most */

/* What frame_len() may return besides a length. */
#define NET_FRAME_MORE 0L /* not enough bytes yet to tell */

struct net_conn_ops {
    /* Framing of a stream: p[n] (n >= 1) starts with a frame. Returns its
     * total length (which may exceed n: the layer waits for the rest),
     * NET_FRAME_MORE, or a negative errno when the bytes cannot start a
     * frame (the connection is closed, counted as malformed). Must be pure.
     * STUN: stun_frame_len(); SIP: the head up to CRLFCRLF plus
     * Content-Length. */
    long (*frame_len)(void *ctx, const uint8_t *p, size_t n);
    /* One whole frame from a stream connection; p[n] is valid during the
     * call only. The owner may send, close, hold or mark the connection
     * from here. */
    void (*on_frame)(void *ctx, struct net_conn *c, const uint8_t *p, size_t n);
    /* A datagram from a UDP listener; p[n] lies in the buffer given at
     * creation (writable, valid during the call only). May be NULL when the
     * set has no UDP listener. */
    void (*on_datagram)(void *ctx, struct net_listener *l, const union net_addr *from,
                        uint8_t *p, size_t n);
    /* The connection left the set; c is invalid once this returns. The
     * owner drops what it keeps about c here (e.g. TURN closes the
     * allocation). May be NULL. */
    void (*on_close)(void *ctx, struct net_conn *c);
};

struct net_conn_limits {
    size_t max_conns;      /* stream connections at once (0: none) */
    size_t max_per_source; /* from one source IP address (0: no cap) */
    size_t rbuf;           /* read buffer per connection = largest frame (> 0) */
    size_t out_cap;        /* stream output bound, twice this at most (> 0) */
    size_t out_pause;      /* stop reading while unsent output exceeds this
                              (0: as soon as anything is unsent) */
    uint32_t frame_ms;     /* whole frame within this of its first byte */
    uint32_t idle_ms;      /* close after this long without a complete frame */
    uint32_t handshake_ms; /* TLS handshake within this of the accept */
    uint32_t unauth_ms;    /* authenticated within this of the accept */
    uint32_t max_frames;   /* frames per connection */
    uint32_t sweep_ms;     /* sweep period (0: 1000; UINT32_MAX: never, the
                              owner calls net_conns_sweep()) */
};

struct net_conns_config {
    struct net_conn_limits limits;
    const struct net_conn_ops *ops;
    void *ctx;             /* first argument of every callback */
    /* Where datagrams are received (caller-owned, outlives the set), unless
     * udp_batch is set. */
    uint8_t *udp_buf;
    size_t udp_buf_len;
    /* Socket buffer sizes for UDP listeners (0: the kernel's default). The
     * size is forced past net.core.[rw]mem_max when the process may
     * (CAP_NET_ADMIN), else capped there by the kernel. */
    int udp_rcvbuf, udp_sndbuf;
    /* Batch the system calls of UDP listeners: receive with recvmmsg (up to
     * NET_UDP_RECV_BATCH datagrams a call, into a buffer of the set's own),
     * and queue net_udp_send() datagrams of one loop turn (up to
     * NET_UDP_SEND_BATCH, NET_UDP_SEND_ARENA bytes) to leave in one
     * sendmmsg at the end of the turn or when the queue is full. */
    int udp_batch;
    /* udp_batch: recvmmsg calls per readiness at most while they come back
     * full (0: 4). A caller that spaces its loop turns out (TURN's
     * relay-coalesce-us) needs more, or the socket fills between turns. */
    int udp_rounds;
    /* The clock deadlines are measured with, in ms (NULL: uv_now()). */
    uint64_t (*clock)(void *ctx);
};

/* Aggregate counters of one set. */
struct net_conn_stats {
    uint64_t open;            /* stream connections now (a gauge) */
    uint64_t accepted;        /* stream connections taken into the set */
    uint64_t refused_cap;     /* over max_conns */
    uint64_t refused_source;  /* over max_per_source */
    uint64_t refused_nomem;   /* no memory for the connection */
    uint64_t accept_errors;   /* accept() failed (EMFILE, ENFILE, ...) */
    uint64_t closed_peer;     /* the peer closed, reset or the TLS layer failed */
    uint64_t closed_frame;    /* frame_ms passed */
    uint64_t closed_idle;     /* idle_ms passed */
    uint64_t closed_handshake;/* handshake_ms passed */
    uint64_t closed_unauth;   /* unauth_ms passed */
    uint64_t closed_frames;   /* max_frames reached */
    uint64_t closed_malformed;/* frame_len() refused the bytes */
    uint64_t closed_oversize; /* a frame larger than rbuf */
    uint64_t closed_write;    /* a write failed */
    uint64_t closed_owner;    /* net_conn_close() */
    uint64_t out_dropped;     /* sends refused with -ENOBUFS */
    uint64_t paused;          /* times reading stopped for back-pressure */
    uint64_t udp_in, udp_send_errors;
    uint64_t udp_send_calls;  /* sendmmsg calls (udp_batch), for batching ratios */
};

/* Creates an empty set on loop. cfg is copied (ops and the buffers must
 * outlive the set). Returns 0, -EINVAL for an invalid limit, or -ENOMEM. */
int net_conns_new(uv_loop_t *loop, const struct net_conns_config *cfg, struct net_conns **out);

/* Opens a listener of kind on addr (its port included). tls is required for
 * NET_TLS (not owned; it must outlive the set) and ignored otherwise.
 * backlog 0 means 128. IPv6 listeners are IPv6-only. Returns 0 with *out
 * set (out may be NULL), or a negative errno with a message in err naming
 * the kind and port (never a client). A failed listener is closed with the
 * set. */
int net_listen(struct net_conns *s, int kind, const union net_addr *addr,
               struct tls_server *tls, int backlog, struct net_listener **out, char *err,
               size_t errlen);

/* Stops accepting and receiving, closes every connection (on_close for
 * each, now) and listener, and frees the set once every handle is closed;
 * done(arg) then runs (done may be NULL). Call once. */
void net_conns_close(struct net_conns *s, void (*done)(void *arg), void *arg);

/* Applies the deadlines at time now (the clock's ms). The set calls it from
 * its own timer; tests call it with a fake clock. */
void net_conns_sweep(struct net_conns *s, uint64_t now);

/* The set's counters (valid until the set is closed). */
const struct net_conn_stats *net_conns_stats(const struct net_conns *s);

/* Writes the counters as <prefix>_connections_open (gauge),
 * <prefix>_connections_accepted_total, <prefix>_connections_refused_total
 * {cause="cap|per_source|nomem|accept_error"},
 * <prefix>_connections_closed_total{cause="peer|frame_deadline|idle|
 * handshake|unauthenticated|max_frames|malformed|oversize|write_error|
 * owner"}, <prefix>_output_dropped_total and <prefix>_backpressure_total.
 * prefix is a constant such as "t9phone_turn" (at most 48 bytes). */
void net_conns_metrics(const struct net_conns *s, struct metrics_out *m, const char *prefix);

/* ------------------------------------------------------------ listeners */

int net_listener_kind(const struct net_listener *l);

/* The address l is bound to (its port, when it was bound to port 0).
 * Returns 0 or a negative errno. */
int net_listener_addr(const struct net_listener *l, union net_addr *out);

/* One recvmmsg batch of a non-blocking UDP socket: the headers, and the
 * senders' addresses (sa_family 0 when the kernel gave none). */
struct net_udp_batch {
    struct mmsghdr m[NET_UDP_RECV_BATCH];
    struct iovec iov[NET_UDP_RECV_BATCH];
    union net_addr from[NET_UDP_RECV_BATCH];
};

/* Reads up to NET_UDP_RECV_BATCH datagrams from fd with one recvmmsg
 * (MSG_DONTWAIT, retried on EINTR), datagram k into base + k * stride, cap
 * bytes at most (a longer one has MSG_TRUNC in b->m[k].msg_hdr.msg_flags).
 * Returns how many came (b->m[k].msg_len their lengths): fewer than
 * NET_UDP_RECV_BATCH means the socket is empty, so a caller need not call
 * again just to see EAGAIN. Or a negative errno: -EAGAIN on a spurious
 * wake-up, or a pending socket error. */
int net_udp_recv_batch(int fd, struct net_udp_batch *b, uint8_t *base, size_t stride,
                       size_t cap);

/* Sends one datagram from UDP listener l to `to`, now or not at all
 * (uv_udp_try_send), or with udp_batch queued for this loop turn's
 * sendmmsg (a datagram the kernel then refuses is counted in
 * udp_send_errors). Returns 0 or a negative errno (counted). */
int net_udp_send(struct net_listener *l, const union net_addr *to, const void *p, size_t n);

/* ------------------------------------------------------------ connections */

/* Queues n bytes, whole or not at all: 0, -ENOBUFS when the output bound is
 * reached (nothing queued, counted), -EAGAIN while a TLS handshake is still
 * running, -EPIPE when the connection is closing or failed (it is then being
 * closed). May stop reading the connection (back-pressure). */
int net_conn_send(struct net_conn *c, const void *p, size_t n);

/* Closes the connection now (unsent output is dropped): on_close runs before
 * this returns, unless the connection is already closing. Idempotent. */
void net_conn_close(struct net_conn *c);

/* Stops reading and closes the connection once its output is sent (or at
 * the frame deadline, whichever comes first). Idempotent. */
void net_conn_finish(struct net_conn *c);

/* The owner's verdict: the peer proved who it is (unauth_ms no longer
 * applies). Sticky. */
void net_conn_set_authenticated(struct net_conn *c);

/* While held (on != 0), idle_ms does not apply; frame_ms still does. */
void net_conn_hold(struct net_conn *c, int on);

/* Owner-requested pause of reading (e.g. an answer computed off the loop),
 * counted separately from back-pressure: reading resumes when both allow. */
void net_conn_pause(struct net_conn *c, int on);

/* The owner's pointer for the connection (NULL at first). */
void net_conn_set_data(struct net_conn *c, void *data);
void *net_conn_data(const struct net_conn *c);

/* The peer's address, the listener it came in on, and NET_TCP or NET_TLS. */
const union net_addr *net_conn_peer(const struct net_conn *c);
struct net_listener *net_conn_listener(const struct net_conn *c);
int net_conn_kind(const struct net_conn *c);

/* 1 once net_conn_close/finish, a deadline or the peer started closing it. */
int net_conn_closing(const struct net_conn *c);

/* ------------------------------------------------------------ endpoints */

/* Sends to a client: over its connection when it has one, else as a
 * datagram from its listener. Returns what net_conn_send() or
 * net_udp_send() return. */
int net_endpoint_send(const struct net_endpoint *e, const void *p, size_t n);

/* ------------------------------------------------------------ addresses */

/* 1 when a and b have the same family, address and port. */
int net_addr_equal(const union net_addr *a, const union net_addr *b);

/* Copies a sockaddr of family AF_INET or AF_INET6 (anything else gives a
 * zeroed address with family 0). */
void net_addr_copy(union net_addr *dst, const struct sockaddr *src);

/* ------------------------------------------------------------ descriptors */

/* One consumer of file descriptors, for net_fd_budget(): the keys that set
 * it (as the operator spells them, e.g. "turn-max-connections" or
 * "min-port..max-port") and how many descriptors it may hold at most. */
struct net_fd_use {
    const char *keys;
    uint64_t count;
};

/* Raises the soft RLIMIT_NOFILE to the hard limit, then checks that the
 * uses plus reserve (files, the database, listeners, timers) fit under it.
 * Returns 0, or -EMFILE with a message in err naming every key with its
 * count, the sum and the limit (so the operator knows what to lower or
 * raise). *limit (may be NULL) gets the soft limit in force afterwards. */
int net_fd_budget(const struct net_fd_use *uses, size_t n, uint64_t reserve, uint64_t *limit,
                  char *err, size_t errlen);

#endif
