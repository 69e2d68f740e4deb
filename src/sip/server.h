/*
 * sip/server.h - the SIP engine's running state, shared by sip/engine.c
 * (configuration, start, stop, metrics) and sip/transport.c (sockets).
 * Internal to sip/.
 *
 * Sockets are net/conn.h's: listeners on every address, stream connections
 * with their caps (in total and per source), real deadlines (a message
 * whole within sip-message-timeout of its first byte, a TLS handshake
 * within it of the accept, sip-idle-timeout without a message, and
 * sip-unauth-timeout to authenticate), bounded output with back-pressure.
 * This file adds what SIP needs on top: a flow id per stream connection that
 * bindings keep (so part 2 can send back over the very connection), and the
 * guard's delayed answers.
 */
#ifndef T9_SIP_SERVER_H
#define T9_SIP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "net/conn.h"
#include "sip/handler.h"
#include "sip/location.h"

struct tls_server;
struct store;

#define SIP_MAX_LISTENERS 48
#define SIP_CONN_OUT_CAP 16384
#define SIP_CONN_BUCKETS 4096
#define SIP_DELAY_SLOTS 256
#define SIP_UDP_RX 65536
#define SIP_UDP_SOCKBUF (2 << 20) /* asked of the kernel (net.core.rmem_max caps it) */

/* What SIP keeps about one stream connection of the set. */
struct sip_conn {
    struct net_conn *c;
    struct sip_conn *hnext;     /* bucket of its id */
    struct sip_flow flow;       /* the peer, as bindings remember it */
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
    struct net_conn_limits limits;
    uint64_t delay_ms;
    /* handles */
    struct net_conns *net;
    struct net_listener *lst[SIP_MAX_LISTENERS];
    size_t nlisteners;
    uv_timer_t sweep, delay_timer;
    size_t handles;             /* open handles and the set; stop completes at 0 */
    int stopping;
    void (*done)(void *);
    void *done_arg;
    /* stream connections by flow id */
    struct sip_conn *by_id[SIP_CONN_BUCKETS];
    size_t nconns;
    uint32_t next_id;
    /* delayed answers: a ring, all with the same delay, so in due order */
    struct sip_delayed delayed[SIP_DELAY_SLOTS];
    size_t dhead, dcount;
    uint64_t delayed_dropped, out_dropped;
    uint64_t last_log_ms;
    struct sip_answer ans;      /* the answer being made */
    uint8_t rx[SIP_UDP_RX];
};

/* Creates the connection set and opens a listener of kind (NET_UDP,
 * NET_TCP, NET_TLS) on ip:port. 0 or a negative errno with err. */
int sip__listen(struct sip_server *s, int kind, const union net_addr *ip, int port, char *err,
                size_t errlen);
/* Sends an answer back over the flow (UDP 5-tuple or stream connection).
 * 0, or a negative errno (the connection is gone or full). */
int sip__send(struct sip_server *s, const struct sip_flow *to, const void *p, size_t n);
/* Queues an answer for later (the guard's delay); dropped when the ring is
 * full. */
void sip__send_later(struct sip_server *s, const struct sip_flow *to, const void *p, size_t n);
/* Closes every connection and listener (stop). */
void sip__close_all(struct sip_server *s);
/* A handle is closed: the last one while stopping frees the server. */
void sip__handle_closed(struct sip_server *s);
/* The stream connection with this flow id, or NULL. */
struct sip_conn *sip__conn_find(struct sip_server *s, uint32_t id);

#endif
