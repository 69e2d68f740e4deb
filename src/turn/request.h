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

/* A message from a client (struct turn_io's on_message, wired by server.c):
 * ChannelData goes to the client's allocation, STUN messages are handled
 * here; anything else and malformed messages are silently discarded. */
void turn__dispatch(struct turn_server *ts, const struct net_endpoint *from, uint8_t *p,
                    size_t n);

#endif
