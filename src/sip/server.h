/*
 * sip/server.h - the SIP engine's running state, shared by sip/engine.c
 * (configuration, start, stop, metrics) and sip/transport.c (sockets).
 * Internal to sip/.
 *
 * Limits every connection is held to (the same semantics the shared
 * connection layer will have; net/conn.h did not exist yet, so this is
 * libuv directly):
 *   - at most max_conns stream connections, and max_per_ip from one
 *     address; more are closed at accept;
 *   - a message must arrive whole within msg_timeout of its first byte
 *     (and the first one within msg_timeout of the accept, TLS handshake
 *     included): a trickle does not keep a slot;
 *   - a connection silent for idle_timeout is closed (phones send CRLF
 *     keep-alives well within it);
 *   - output is bounded (net/stream_out.h, or the TLS layer's buffers): an
 *     answer that does not fit closes the connection.
 */
#ifndef T9_SIP_SERVER_H
#define T9_SIP_SERVER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "net/stream_out.h"
#include "sip/handler.h"
#include "sip/location.h"

struct tls_server;
struct tls_conn;
struct store;

#define SIP_MAX_LISTENERS 48
#define SIP_CONN_OUT_CAP 16384
#define SIP_CONN_BUCKETS 4096
#define SIP_PER_IP_SLOTS 65536
#define SIP_DELAY_SLOTS 256
#define SIP_UDP_RX 65536

union sip_sa {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
};

struct sip_server;

struct sip_listener {
    struct sip_server *s;
    int kind;               /* enum sip_transport */
    uint16_t index;
    union {
        uv_udp_t udp;
        uv_tcp_t tcp;
    } h;
};

struct sip_conn {
    struct sip_server *s;
    uv_tcp_t tcp;
    struct tls_conn *tls;       /* TLS mode */
    struct stream_out out;      /* TCP mode */
    struct sip_conn *prev, *next;  /* all connections */
    struct sip_conn *hnext;        /* bucket of its id */
    struct sip_flow flow;       /* the peer, as bindings remember it */
    uint32_t ip_slot;           /* per-address counter it holds */
    uint8_t tls_mode, closing, counted;
    uint64_t last_rx;           /* ms */
    uint64_t msg_start;         /* ms: first byte of the message being read, 0 when none */
    size_t rlen;
    char rbuf[SIP_MAX_STREAM];
};

/* An answer held back by the guard. */
struct sip_delayed {
    uint64_t due;               /* ms */
    struct sip_flow to;
    size_t len;
    char *buf;                  /* NULL: free slot */
};

struct sip_server {
    uv_loop_t *loop;
    struct store *st;
    struct tls_server *tls;     /* shared, not ours */
    struct sip_handler h;
    struct sip_nc *nc;
    struct sip_guard *guard;
    /* limits */
    size_t max_conns, max_per_ip;
    uint64_t msg_timeout_ms, idle_timeout_ms, delay_ms;
    /* handles */
    struct sip_listener listeners[SIP_MAX_LISTENERS];
    size_t nlisteners;
    uv_timer_t sweep, delay_timer;
    size_t handles;             /* open handles; stop completes at 0 */
    int stopping;
    void (*done)(void *);
    void *done_arg;
    /* connections */
    struct sip_conn *conns;
    size_t nconns;
    struct sip_conn *by_id[SIP_CONN_BUCKETS];
    uint32_t next_id;
    uint16_t per_ip[SIP_PER_IP_SLOTS];
    uint8_t ip_key[16];
    /* delayed answers: a ring, all with the same delay, so in due order */
    struct sip_delayed delayed[SIP_DELAY_SLOTS];
    size_t dhead, dcount;
    /* counters beyond the handler's */
    uint64_t conns_accepted, conns_refused, conns_timed_out, conns_idle, frames_refused;
    uint64_t delayed_dropped, send_failed;
    uint64_t last_log_ms;
    struct sip_answer ans;      /* the answer being made */
    uint8_t rx[SIP_UDP_RX];
};

/* Opens a listener of kind on ip:port. 0 or a negative errno with err. */
int sip__listen(struct sip_server *s, int kind, const union sip_sa *ip, int port, char *err,
                size_t errlen);
/* Sends an answer back over the flow (UDP 5-tuple or stream connection).
 * 0, or a negative errno (the connection is gone or full). */
int sip__send(struct sip_server *s, const struct sip_flow *to, const void *p, size_t n);
/* Queues an answer for later (the guard's delay); dropped when the ring is
 * full. */
void sip__send_later(struct sip_server *s, const struct sip_flow *to, const void *p, size_t n);
/* Closes connections past their deadlines. */
void sip__conn_sweep(struct sip_server *s, uint64_t now);
/* Closes every connection and listener (stop). */
void sip__close_all(struct sip_server *s);
/* A handle is closed: the last one while stopping frees the server. */
void sip__handle_closed(struct sip_server *s);
/* The stream connection with this id, or NULL. */
struct sip_conn *sip__conn_find(struct sip_server *s, uint32_t id);

#endif
