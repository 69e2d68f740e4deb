/*
 * portal/portal.h - the web portal: sign-up, login, account, groups and
 * invites, the privacy page, the health check and the static assets, all
 * through core/.
 *
 * portal_handle() is the http_handler_fn of every portal listener. It
 * routes through one table (method, path, handler, session needed, CSRF
 * needed), sets the security headers on every answer, and runs anything
 * slow (bcrypt) on the libuv thread pool with a deferred answer: the loop
 * never waits. Rate limits are kept in memory only (portal/ratelimit.h).
 */
#ifndef T9_PORTAL_PORTAL_H
#define T9_PORTAL_PORTAL_H

#include <stdint.h>

#include <uv.h>

#include "core/core.h"
#include "net/http.h"
#include "store/db.h"

struct portal_ratelimit;

struct portal {
    struct store *st;
    uv_loop_t *loop;             /* NULL: no thread pool (health check only) */
    struct core_cfg core;        /* realm, secret key, bcrypt cost */
    int registration;            /* enum portal_reg */
    int tls_port;                /* the HTTPS listener's port, 0 when none */
    int redirect_https;          /* plain requests are sent to HTTPS */
    char trusted_proxy[64];      /* believe X-Forwarded-* from this address only */
    unsigned rate_limit;         /* attempts per address and window, per action */
    struct portal_ratelimit *rl;
    int jobs;                    /* thread-pool jobs in flight */
    void (*idle)(void *arg);     /* called once jobs reach 0 while stopping */
    void *idle_arg;
    uint64_t denied_csrf, limited; /* counters */
};

/* Prepares p (rl allocated). 0 or -ENOMEM. */
int portal_init(struct portal *p);
/* Frees what portal_init allocated. Call when p->jobs is 0. */
void portal_free(struct portal *p);

/* http_handler_fn for struct portal *ctx. */
void portal_handle(void *ctx, const struct http_request *req, struct http_response *res);

#endif
