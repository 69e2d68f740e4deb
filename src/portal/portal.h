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
 *
 * Routes (portal.c's table; S: needs a session, C: CSRF-checked form):
 *   GET  /                     start page
 *   GET  /healthz              "ok" when the database answers (plain HTTP too)
 *   GET  /assets/NAME          style.css, app.js, logo.svg (ETag, 1 h cache)
 *   GET  /privacy              what is stored, from sql/privacy.tsv
 *   GET  /signup  POST C       sign up (with ?invite=TOKEN when invited)
 *   GET  /login   POST C       log in (?next=/local/path)
 *   POST /logout  S C          end this session
 *   POST /logout-everywhere S C  end every session of the account
 *   GET  /verify?token=T  POST C   verify the email address
 *   GET  /forgot  POST C       ask for a reset link (same answer for any email)
 *   GET  /reset?token=T   POST C   set a new password (ends every session)
 *   GET  /i/TOKEN  POST S C    invitation landing page; join
 *   GET  /account S            the account page
 *   POST /account/nickname S C, /account/password S C, /account/active-group S C,
 *        /account/sip S C (shows the SIP password), /account/delete S C
 *   GET  /groups S  POST S C   my groups; create one
 *   GET  /g/SLUG S             a group: members, invitations, bans, log
 *   POST /g/SLUG/{cap,invites,revoke,kick,ban,unban,leave,transfer,delete} S C
 * Unknown paths get 404, known paths with another method 405 with Allow.
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
