/*
 * turn/request.h - one STUN message from a client (internal to turn/, see
 * turn/internal.h): authentication, replies, and the Binding, Allocate,
 * Refresh, CreatePermission, ChannelBind requests and Send indications.
 *
 * Nothing is created for a request before it has been authenticated:
 * unauthenticated requests are answered from the request alone, with nonces
 * that carry their own time and MAC (turn/auth.h).
 */
#ifndef T9_TURN_REQUEST_H
#define T9_TURN_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "turn/internal.h"

/* Handles the STUN message p[n] that client sent over transport: lst for
 * UDP, conn for TCP and TLS. Malformed messages are silently discarded. */
void turn__request_handle(struct turn_server *ts, int transport, struct listener *lst,
                          struct conn *conn, const union sa *client, const uint8_t *p, size_t n);

#endif
