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
 * Slow work and the rest of the process (internal.h, portal_job_start):
 *   - at most max_jobs jobs run on the thread pool at once (0: as many as
 *     the machine has CPUs, and no more than libuv's thread pool has
 *     threads, UV_THREADPOOL_SIZE or 4), so bcrypt never holds every
 *     worker and never runs more hashes at once than there are cores;
 *   - up to max_queued more wait in arrival order and are started as
 *     running ones end, with their answers unchanged (a login that waited
 *     gets exactly the answer it would have got at once); one more is
 *     refused with 503 and a Retry-After of the seconds the queue takes to
 *     drain at the measured job time (at least 1);
 *   - each thread-pool thread, before its first job, lowers its own
 *     scheduling priority to nice job_nice and, with job_idle, to the
 *     SCHED_IDLE policy (Linux: setpriority and sched_setscheduler on the
 *     thread id, per-thread values; never raised back, and a thread that
 *     already runs lower stays lower). The event loop thread keeps its own,
 *     so it takes the CPU from a running bcrypt when it wakes (at once
 *     under SCHED_IDLE, within the bcrypt thread's slice at nice 19) and
 *     SIP, TURN and the portal's own short work answer in time while logins
 *     keep every worker busy. The portal is the only user of libuv's thread
 *     pool in T9phone, so the lowered threads run nothing else. On a host
 *     whose CPUs other programs keep busy, logins then wait for spare time.
 *     SCHED_IDLE is off by default: at nice 19 a thread keeps a small share
 *     of a busy CPU, while an idle-class one may wait indefinitely, also
 *     while it holds libuv's thread-pool lock that the loop then waits for
 *     (a moment's inversion that a busy host could stretch); on this
 *     project's benchmark the two gave the same SIP answer times
 *     (tests/bench/README.md).
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
    /* Thread-pool jobs (see above); set before portal_init, which fills
     * in the defaults for 0 (max_queued: 256). */
    unsigned max_jobs, max_queued;
    int job_nice;                /* 0..19; 0 leaves the threads' nice as it is */
    int job_idle;                /* the threads also take SCHED_IDLE */
    int jobs;                    /* jobs in flight: running plus queued */
    unsigned running, queued;
    struct portal_job *queue_head, *queue_tail; /* FIFO of the waiting ones */
    uint64_t job_usec;           /* moving average of a job's run time */
    uint64_t jobs_refused;       /* refused with 503: the queue was full */
    void (*idle)(void *arg);     /* called once jobs reach 0 while stopping */
    void *idle_arg;
    uint64_t denied_csrf, limited; /* counters */
};

/* Prepares p (rl allocated; max_jobs and max_queued defaulted). 0 or
 * -ENOMEM. */
int portal_init(struct portal *p);
/* Frees what portal_init allocated. Call when p->jobs is 0. */
void portal_free(struct portal *p);

/* The default for max_jobs: uv_available_parallelism(), at most the
 * thread pool's size (UV_THREADPOOL_SIZE as libuv reads it, default 4),
 * at least 1. */
unsigned portal_default_max_jobs(void);

/* http_handler_fn for struct portal *ctx. */
void portal_handle(void *ctx, const struct http_request *req, struct http_response *res);

#endif
