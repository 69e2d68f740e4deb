/*
 * turn/transport.h - the TURN server's client transports (internal to
 * turn/, see turn/internal.h): UDP, TCP and TLS listeners, stream
 * connections with their framing, and sending to a client.
 *
 * A connection has a fixed read buffer of CONN_RBUF bytes, so the largest
 * frame accepted over a stream is that big; anything larger closes it.
 */
#ifndef T9_TURN_TRANSPORT_H
#define T9_TURN_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "net/stream_out.h"
#include "turn/internal.h"

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

/* Opens the next listener of ts->listeners: kind (TR_UDP, TR_TCP or TR_TLS)
 * on ip and port. Returns 0, or a negative errno with a message in err (the
 * handle is counted and left for turn_server_stop() to close). */
int turn__transport_listen(struct turn_server *ts, int kind, const union sa *ip, int port,
                           char *err, size_t errlen);

/* Sends to a client over the transport the request or allocation uses:
 * lst and to for UDP, conn for TCP and TLS. Returns 0 or a negative errno. */
int turn__transport_send(struct turn_server *ts, int transport, struct listener *lst,
                         struct conn *conn, const union sa *to, const uint8_t *p, size_t n);

/* Closes a connection and its allocation; the memory goes when the handle
 * is closed. */
void turn__conn_close(struct conn *c);

/* Closes connections idle for CONN_IDLE_MS without an allocation. */
void turn__conn_sweep(struct turn_server *ts, uint64_t now);

#endif
