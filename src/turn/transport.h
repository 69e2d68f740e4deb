/*
 * turn/transport.h - the TURN server's client transports (internal to
 * turn/, see turn/internal.h): the bottom of src/turn/.
 *
 * UDP, TCP and TLS listeners on every listening address through one
 * net/conn.h connection set, with STUN framing (stun_frame_len()) for
 * streams, the caps and deadlines of ts->o.conn, and bounded output.
 * Messages go up through ts->io.on_message, closed connections through
 * ts->io.on_gone; nothing here knows allocations or STUN methods.
 */
#ifndef T9_TURN_TRANSPORT_H
#define T9_TURN_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "turn/internal.h"

/* Creates the connection set (counted as one handle of ts) and opens the
 * listeners ts->o asks for: UDP and TCP on listen_port, TLS on tls_port
 * when ts->tls is set. Counts them in *nudp, *ntcp, *ntls. Returns 0, or a
 * negative errno with a message in err (the set is closed by
 * turn__transport_stop()). */
int turn__transport_start(struct turn_server *ts, size_t *nudp, size_t *ntcp, size_t *ntls,
                          char *err, size_t errlen);

/* Closes every listener and connection (io.on_gone for each connection);
 * the set's handle is released once everything is closed. */
void turn__transport_stop(struct turn_server *ts);

/* Sends to a client over the transport it used. Returns 0 or a negative
 * errno (see net_conn_send(), net_udp_send()). */
static inline int turn__client_send(const struct net_endpoint *to, const uint8_t *p, size_t n)
{
    return net_endpoint_send(to, p, n);
}

#endif
