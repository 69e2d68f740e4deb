/*
 * turn/server.h - the STUN/TURN server (RFC 8489, RFC 8656; RFC 5389/5766
 * compatible) on the process's libuv loop.
 *
 * Client transports UDP, TCP and TLS; relayed transport UDP. Allocations,
 * permissions and channels live in memory only, with fixed per-allocation
 * bounds. Nothing is created for a request before it has been authenticated:
 * unauthenticated requests are answered from the request alone, with nonces
 * that carry their own time and MAC (turn/auth.h).
 *
 * Logging: counters only, never an address or a username.
 */
#ifndef T9_TURN_SERVER_H
#define T9_TURN_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/config.h"
#include "net/conn.h"
#include "net/metrics.h"

struct tls_server;

/* Where long-term keys come from (T9phone accounts). lookup_ha1 returns 0 and
 * the 16-byte key MD5(username:realm:password) (RFC 8489 section 9.2), or
 * -ENOENT. It runs on the loop and must be quick. TURN REST credentials
 * (use-auth-secret) are checked by the server itself, before this. */
struct turn_auth {
    int (*lookup_ha1)(void *ctx, const char *username, uint8_t key[16]);
    void *ctx;
};

struct turn_server;

/* Reads the TURN keys of cfg (turn/config.h, plus `realm`), opens the
 * listeners and starts serving. The file-descriptor budget is the caller's
 * to check first (turn_fd_uses() with every other engine's, as main does). auth may be
 * NULL (REST credentials only); it is copied. TLS: with cert and pkey set
 * (and no no-tls) the server loads its own credentials from them and
 * reloads them in turn_server_reload_tls(). Returns 0, or a negative errno
 * with a message in err (which never names a client). */
int turn_server_start(uv_loop_t *loop, const config_t *cfg, const struct turn_auth *auth,
                      struct turn_server **out, char *err, size_t errlen);

/* The same with TLS credentials owned by the caller (the process's one
 * shared context, net/tls.h): tls is used, never freed or reloaded here,
 * and must outlive the server; NULL means no TLS listener. cert and pkey
 * are then not read. */
int turn_server_start_tls(uv_loop_t *loop, const config_t *cfg, const struct turn_auth *auth,
                          struct tls_server *tls, struct turn_server **out, char *err,
                          size_t errlen);

/* Closes every listener, allocation and connection; done(arg) is called once
 * all handles are closed and the server is freed. */
void turn_server_stop(struct turn_server *ts, void (*done)(void *arg), void *arg);

/* Re-reads cert and pkey; new TLS connections use them. Returns 0, -ENOENT
 * when TLS is not configured or the credentials are the caller's (shared:
 * the caller reloads them), or the load error (the old certificate stays). */
int turn_server_reload_tls(struct turn_server *ts);

/* Appends TURN's aggregate counters in Prometheus text (t9phone_turn_*):
 * allocations, relayed packets and bytes, drops and refusals by cause,
 * authentication failures, and the connection layer's counters. */
void turn_server_metrics(const struct turn_server *ts, struct metrics_out *m);

/* The file descriptors TURN may hold at most, for net_fd_budget(): its
 * stream connection cap (turn-max-connections) and its relay sockets (the
 * port range, or twice total-quota when that is smaller, as EVEN-PORT
 * reservations hold a second socket). Fills up to max entries of uses and
 * returns how many (2). */
size_t turn_fd_uses(const config_t *cfg, struct net_fd_use *uses, size_t max);

#endif
