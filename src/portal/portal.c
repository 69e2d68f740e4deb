/*
 * portal/portal.c - see portal.h: the route table, sessions, CSRF, the
 * security headers, rate limits and thread-pool jobs.
 */
#include "portal/internal.h"
#include "portal/ratelimit.h"

#include "core/portal_support.h"
#include "core/sessions.h"
#include "crypto/hash.h"
#include "crypto/random.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PORTAL_DEFAULT_QUEUE 256 /* portal-job-queue's default */

#define R_SESSION 0x1 /* a logged-in person only */
#define R_CSRF 0x2    /* state-changing: the form's token must match */
#define R_PLAIN 0x4   /* served on plain HTTP even when HTTPS is preferred */

struct route {
    const char *method;
    const char *pattern; /* '*' matches one path segment, kept in pr->param */
    void (*fn)(struct preq *pr);
    unsigned flags;
};

static const struct route portal_routes[] = {
    { "GET", "/", page_home, 0 },
    { "GET", "/healthz", page_healthz, R_PLAIN },
    { "GET", "/assets/*", page_asset, 0 },
    { "GET", "/privacy", page_privacy, 0 },
    { "GET", "/signup", page_signup, 0 },
    { "POST", "/signup", post_signup, R_CSRF },
    { "GET", "/login", page_login, 0 },
    { "POST", "/login", post_login, R_CSRF },
    { "POST", "/logout", post_logout, R_SESSION | R_CSRF },
    { "POST", "/logout-everywhere", post_logout_all, R_SESSION | R_CSRF },
    { "GET", "/verify", page_verify, 0 },
    { "POST", "/verify", post_verify, R_CSRF },
    { "GET", "/forgot", page_forgot, 0 },
    { "POST", "/forgot", post_forgot, R_CSRF },
    { "GET", "/reset", page_reset, 0 },
    { "POST", "/reset", post_reset, R_CSRF },
    { "GET", "/i/*", page_invite, 0 },
    { "POST", "/i/*", post_invite, R_SESSION | R_CSRF },
    { "GET", "/account", page_account, R_SESSION },
    { "POST", "/account/nickname", post_nickname, R_SESSION | R_CSRF },
    { "POST", "/account/password", post_password, R_SESSION | R_CSRF },
    { "POST", "/account/active-group", post_active_group, R_SESSION | R_CSRF },
    { "POST", "/account/sip", post_sip, R_SESSION | R_CSRF },
    { "POST", "/account/delete", post_delete_account, R_SESSION | R_CSRF },
    { "GET", "/groups", page_groups, R_SESSION },
    { "POST", "/groups", post_groups, R_SESSION | R_CSRF },
    { "GET", "/g/*", page_group, R_SESSION },
    { "POST", "/g/*/cap", post_group_cap, R_SESSION | R_CSRF },
    { "POST", "/g/*/invites", post_group_invite, R_SESSION | R_CSRF },
    { "POST", "/g/*/revoke", post_group_revoke, R_SESSION | R_CSRF },
    { "POST", "/g/*/kick", post_group_kick, R_SESSION | R_CSRF },
    { "POST", "/g/*/ban", post_group_ban, R_SESSION | R_CSRF },
    { "POST", "/g/*/unban", post_group_unban, R_SESSION | R_CSRF },
    { "POST", "/g/*/leave", post_group_leave, R_SESSION | R_CSRF },
    { "POST", "/g/*/transfer", post_group_transfer, R_SESSION | R_CSRF },
    { "POST", "/g/*/delete", post_group_delete, R_SESSION | R_CSRF },
};
#define PORTAL_NROUTES (sizeof portal_routes / sizeof portal_routes[0])

int portal_init(struct portal *p)
{
    if (!p->rate_limit)
        p->rate_limit = 20;
    if (!p->max_jobs)
        p->max_jobs = portal_default_max_jobs();
    if (!p->max_queued)
        p->max_queued = PORTAL_DEFAULT_QUEUE;
    return portal_rl_new(&p->rl);
}

void portal_free(struct portal *p)
{
    portal_rl_free(p->rl);
    p->rl = NULL;
}

/* -------------------------------------------------------------- routing */

/* 1 when path matches pattern; the '*' segment goes to param. */
static int route_match(const char *pattern, const char *path, char *param, size_t plen)
{
    while (*pattern) {
        if (*pattern == '*') {
            size_t n = strcspn(path, "/");
            if (n == 0 || n >= plen)
                return 0;
            memcpy(param, path, n);
            param[n] = '\0';
            path += n;
            pattern++;
            continue;
        }
        if (*pattern++ != *path++)
            return 0;
    }
    return *path == '\0';
}

/* ------------------------------------------------------------- answers */

void portal_finish(struct preq *pr)
{
    struct http_response *res = pr->res;
    int deferred = pr->deferred;
    portal_form_free(&pr->q);
    portal_form_free(&pr->form);
    crypto_wipe(pr, sizeof *pr);
    free(pr);
    if (deferred)
        http_response_send(res);
}

void portal_redirect(struct preq *pr, const char *location)
{
    pr->res->status = 303;
    http_response_header(pr->res, "Location", "%s", location);
    http_response_printf(pr->res, "See %s\n", location);
}

void portal_simple(struct preq *pr, int status, const char *title, const char *text)
{
    pr->res->status = status;
    page_begin(pr, title);
    http_html_printf(pr->res, "<h1>%s</h1><div class=\"card\"><p>%s</p>", title, text);
    http_html_printf(pr->res, "<p><a href=\"/\">Back to the start page</a></p></div>");
    page_end(pr);
}

static const char *cookie_name(const struct preq *pr, int session)
{
    if (session)
        return pr->https ? "__Host-t9s" : "t9s";
    return pr->https ? "__Host-t9c" : "t9c";
}

static void set_cookie(struct preq *pr, const char *name, const char *value, long max_age)
{
    http_response_header(pr->res, "Set-Cookie", "%s=%s; Path=/; Max-Age=%ld; HttpOnly; "
                         "SameSite=Lax%s", name, value, max_age,
                         pr->https ? "; Secure" : "");
}

void portal_set_session_cookie(struct preq *pr, const char *sid)
{
    if (sid)
        set_cookie(pr, cookie_name(pr, 1), sid, CORE_SESSION_IDLE + CORE_DAY);
    else
        set_cookie(pr, cookie_name(pr, 1), "", 0);
}

int portal_login_session(struct preq *pr, int64_t uid)
{
    char sid[CORE_TOKEN_SIZE], csrf[CORE_TOKEN_SIZE];
    int rc = core_sessions_create(pr->p->st, uid, pr->now, sid, csrf);
    if (rc < 0)
        return rc;
    /* An old session of this browser ends: a new id at every login. */
    if (pr->sid[0])
        core_sessions_end(pr->p->st, pr->sid);
    portal_set_session_cookie(pr, sid);
    memcpy(pr->sid, sid, sizeof sid);
    memcpy(pr->csrf, csrf, sizeof csrf);
    pr->uid = uid;
    crypto_wipe(sid, sizeof sid);
    return 0;
}

/* ---------------------------------------------------------- addresses */

/* The address bytes used for rate limits: the peer's, or with a trusted
 * proxy the last address of its X-Forwarded-For. */
static size_t peer_key(const struct preq *pr, uint8_t out[16], int *is_proxy)
{
    const struct sockaddr_storage *ss = &pr->req->peer;
    size_t n = 0;
    *is_proxy = 0;
    if (ss->ss_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
        n = 4;
    } else if (ss->ss_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
        n = 16;
        /* An IPv6 client is counted by its /64: one host holds many addresses. */
        memset(out + 8, 0, 8);
    }
    if (n && pr->p->trusted_proxy[0]) {
        char ip[INET6_ADDRSTRLEN];
        if (ss->ss_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof ip);
        else
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof ip);
        if (strcmp(ip, pr->p->trusted_proxy) == 0)
            *is_proxy = 1;
    }
    if (*is_proxy) {
        const char *xff = http_request_header(pr->req, "X-Forwarded-For");
        if (xff) {
            const char *last = strrchr(xff, ',');
            last = last ? last + 1 : xff;
            while (*last == ' ')
                last++;
            char ip[INET6_ADDRSTRLEN];
            size_t l = strcspn(last, " ");
            if (l < sizeof ip) {
                memcpy(ip, last, l);
                ip[l] = '\0';
                if (inet_pton(AF_INET, ip, out) == 1)
                    return 4;
                if (inet_pton(AF_INET6, ip, out) == 1) {
                    memset(out + 8, 0, 8);
                    return 16;
                }
            }
        }
    }
    return n;
}

int portal_rate_ok(struct preq *pr, enum portal_rl_action a)
{
    uint8_t key[16];
    int proxy;
    size_t n = peer_key(pr, key, &proxy);
    unsigned c = portal_rl_hit(pr->p->rl, (int)a, key, n, pr->now);
    crypto_wipe(key, sizeof key);
    if (c > pr->p->rate_limit) {
        pr->p->limited++;
        return 0;
    }
    return 1;
}

size_t portal_source(const struct preq *pr, uint8_t out[16])
{
    int proxy;
    return peer_key(pr, out, &proxy);
}

unsigned portal_rate_count(struct preq *pr, enum portal_rl_action a)
{
    uint8_t key[16];
    int proxy;
    size_t n = peer_key(pr, key, &proxy);
    unsigned c = portal_rl_peek(pr->p->rl, (int)a, key, n, pr->now);
    crypto_wipe(key, sizeof key);
    return c;
}

/* A Host header we are willing to put into a link: a name or address of
 * letters, digits, '.', '-', ':', '[' and ']' only. */
static int host_ok(const char *h)
{
    if (!h || !*h || strlen(h) > 255)
        return 0;
    for (const char *c = h; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '-' || *c == ':' || *c == '[' || *c == ']'))
            return 0;
    return 1;
}

int portal_origin(struct preq *pr, char *out, size_t outlen)
{
    const char *host = http_request_header(pr->req, "Host");
    if (!host_ok(host))
        return -EINVAL;
    int n = snprintf(out, outlen, "%s://%s", pr->https ? "https" : "http", host);
    return n < 0 || (size_t)n >= outlen ? -ENOSPC : 0;
}

/* The host name of the Host header without its port, for the redirect. */
static int host_name(const char *host, char *out, size_t outlen)
{
    if (!host_ok(host))
        return -EINVAL;
    size_t n;
    if (host[0] == '[') {
        const char *e = strchr(host, ']');
        if (!e)
            return -EINVAL;
        n = (size_t)(e - host) + 1;
    } else {
        n = strcspn(host, ":");
    }
    if (n == 0 || n >= outlen)
        return -EINVAL;
    memcpy(out, host, n);
    out[n] = '\0';
    return 0;
}

/* --------------------------------------------------------------- jobs */

#define PORTAL_UV_THREADPOOL_MAX 1024 /* libuv's own cap (src/threadpool.c) */

unsigned portal_default_max_jobs(void)
{
    /* libuv reads UV_THREADPOOL_SIZE the same way: atoi, 0 means 1. */
    unsigned pool = 4;
    const char *env = getenv("UV_THREADPOOL_SIZE");
    if (env && *env) {
        long n = strtol(env, NULL, 10);
        pool = n < 1 ? 1 : n > PORTAL_UV_THREADPOOL_MAX ? PORTAL_UV_THREADPOOL_MAX : (unsigned)n;
    }
    unsigned cpus = uv_available_parallelism();
    unsigned n = cpus < pool ? cpus : pool;
    return n ? n : 1;
}

#define container_of_job(w) \
    ((struct portal_job *)(void *)((char *)(w) - offsetof(struct portal_job, work)))

/* 1 once this thread-pool thread has lowered itself (before its first
 * portal job). Scheduling priority is a per-thread attribute on Linux:
 * setpriority() with PRIO_PROCESS and sched_setscheduler() with a thread id
 * change that thread only. */
static _Thread_local int job_thread_lowered;

/* Lowers the calling thread, once: to nice (never raising a thread that
 * already runs lower) and, with idle, to SCHED_IDLE, which the kernel
 * preempts at once for any normal thread that wakes (a nice 19 thread may
 * first finish its slice, about a millisecond). A bcrypt that keeps the
 * CPU from the event loop delays every SIP answer (portal.h). A failure is
 * not retried and leaves the thread as it was: the job still runs. */
static void job_lower_thread(int nice, int idle)
{
    if (job_thread_lowered)
        return;
    job_thread_lowered = 1;
    id_t tid = (id_t)syscall(SYS_gettid);
    if (nice > 0) {
        errno = 0;
        int cur = getpriority(PRIO_PROCESS, tid);
        if (!(cur == -1 && errno) && cur < nice)
            (void)setpriority(PRIO_PROCESS, tid, nice);
    }
    if (idle) {
        /* The system call itself: musl's sched_setscheduler() is a stub
         * (POSIX makes the policy per process; Linux keeps it per thread). */
        struct sched_param sp = { .sched_priority = 0 };
        (void)syscall(SYS_sched_setscheduler, (pid_t)tid, SCHED_IDLE, &sp);
    }
}

static uint64_t job_clock_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void job_run(uv_work_t *w)
{
    struct portal_job *job = container_of_job(w);
    job_lower_thread(job->p->job_nice, job->p->job_idle);
    uint64_t t0 = job_clock_usec();
    job->run(job);
    job->run_usec = job_clock_usec() - t0;
}

static void job_after(uv_work_t *w, int status);

/* Hands job to the thread pool (the caller counted it in p->jobs).
 * uv_queue_work() refuses only a NULL work callback (libuv's
 * src/threadpool.c), so with job_run it cannot fail. */
static void job_submit(struct portal *p, struct portal_job *job)
{
    p->running++;
    (void)uv_queue_work(p->loop, &job->work, job_run, job_after);
}

static void job_after(uv_work_t *w, int status)
{
    struct portal_job *job = container_of_job(w);
    struct portal *p = job->p;
    (void)status;
    /* A moving average (1/8 weight) of the run time, for Retry-After. */
    p->job_usec = p->job_usec ? p->job_usec - p->job_usec / 8 + job->run_usec / 8
                              : job->run_usec;
    job->after(job);
    crypto_wipe(job, job->size);
    free(job);
    p->running--;
    /* The longest-waiting job takes the freed place. */
    if (p->queue_head && p->running < p->max_jobs) {
        struct portal_job *next = p->queue_head;
        p->queue_head = next->next;
        if (!p->queue_head)
            p->queue_tail = NULL;
        next->next = NULL;
        p->queued--;
        job_submit(p, next);
    }
    p->jobs--;
    if (p->jobs == 0 && p->idle) {
        void (*idle)(void *) = p->idle;
        p->idle = NULL;
        idle(p->idle_arg);
    }
}

/* Seconds until the queue has drained, at the measured job time: at least 1. */
static unsigned job_retry_after(const struct portal *p)
{
    uint64_t usec = p->job_usec ? p->job_usec : 250000; /* bcrypt cost 12 */
    uint64_t s = ((uint64_t)p->queued + p->max_jobs) * usec / (p->max_jobs ? p->max_jobs : 1);
    s = (s + 999999) / 1000000;
    return s < 1 ? 1 : s > 3600 ? 3600 : (unsigned)s;
}

int portal_job_submit(struct portal *p, struct portal_job *job)
{
    if (!p->loop)
        return -EAGAIN;
    if (p->running >= p->max_jobs && p->queued >= p->max_queued)
        return -EBUSY;
    job->p = p;
    job->next = NULL;
    p->jobs++;
    if (p->running < p->max_jobs) {
        job_submit(p, job);
        return 0;
    }
    if (p->queue_tail)
        p->queue_tail->next = job;
    else
        p->queue_head = job;
    p->queue_tail = job;
    p->queued++;
    return 0;
}

int portal_job_start(struct preq *pr, struct portal_job *job, size_t size, portal_job_fn run,
                     portal_job_fn after)
{
    struct portal *p = pr->p;
    job->pr = pr;
    job->run = run;
    job->after = after;
    job->size = size;
    int rc = !p->loop ? -EAGAIN
             : p->running >= p->max_jobs && p->queued >= p->max_queued ? -EBUSY
                                                                        : 0;
    if (rc < 0) {
        if (rc == -EBUSY) {
            p->jobs_refused++;
            http_response_header(pr->res, "Retry-After", "%u", job_retry_after(p));
        }
        crypto_wipe(job, size);
        free(job);
        return rc;
    }
    /* Deferred first: after() ends the request with portal_finish(). */
    pr->deferred = 1;
    http_response_defer(pr->res);
    return portal_job_submit(p, job);
}

/* ------------------------------------------------------------ handling */

static void security_headers(struct preq *pr)
{
    struct http_response *res = pr->res;
    http_response_header(res, "Content-Security-Policy",
                         "default-src 'self'; script-src 'self'; style-src 'self'; "
                         "img-src 'self'; object-src 'none'; base-uri 'none'; "
                         "form-action 'self'; frame-ancestors 'none'");
    http_response_header(res, "X-Frame-Options", "DENY");
    http_response_header(res, "Referrer-Policy", "no-referrer");
    http_response_header(res, "Cross-Origin-Opener-Policy", "same-origin");
    http_response_header(res, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
    if (pr->https)
        http_response_header(res, "Strict-Transport-Security", "max-age=31536000");
}

/* The session of the request's cookie, if any, with its user. */
static void load_session(struct preq *pr)
{
    const char *cookies = http_request_header(pr->req, "Cookie");
    char sid[CORE_TOKEN_MAX + 1];
    if (portal_cookie_get(cookies, cookie_name(pr, 1), sid, sizeof sid) == 0 && sid[0] &&
        strlen(sid) < CORE_TOKEN_SIZE) {
        int64_t uid;
        if (core_sessions_lookup(pr->p->st, sid, pr->now, &uid, pr->csrf) == 0 &&
            core_accounts_get(pr->p->st, uid, &pr->user) == 0) {
            pr->uid = uid;
            memcpy(pr->sid, sid, CORE_TOKEN_SIZE);
        }
    }
    crypto_wipe(sid, sizeof sid);
    if (pr->uid)
        return;
    memset(pr->csrf, 0, sizeof pr->csrf);
    /* Before login, forms carry a token that must equal a cookie's
     * (double submit), so another site cannot post them for the browser. */
    char c[CORE_TOKEN_SIZE + 8];
    if (portal_cookie_get(cookies, cookie_name(pr, 0), c, sizeof c) == 0 &&
        strlen(c) == CORE_TOKEN_SIZE - 5) {
        memcpy(pr->csrf, c, strlen(c) + 1);
        return;
    }
    if (crypto_random_token(pr->csrf, sizeof pr->csrf, CORE_TOKEN_BYTES) == 0)
        pr->csrf_new = 1;
}

/* 1 when a state-changing request comes from our own pages. */
static int csrf_ok(struct preq *pr)
{
    const char *site = http_request_header(pr->req, "Sec-Fetch-Site");
    if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
        return 0;
    const char *origin = http_request_header(pr->req, "Origin");
    if (origin && strcmp(origin, "null") != 0) {
        char mine[300];
        if (portal_origin(pr, mine, sizeof mine) < 0 || strcasecmp(origin, mine) != 0)
            return 0;
    }
    if (pr->csrf_new || !pr->csrf[0])
        return 0; /* no cookie: the form did not come from us */
    size_t len;
    const char *tok = portal_form_get(&pr->form, "csrf", &len);
    size_t want = strlen(pr->csrf);
    return len == want && crypto_ct_equal(tok, pr->csrf, want);
}

static void method_not_allowed(struct preq *pr)
{
    char allow[64] = "";
    for (size_t i = 0; i < PORTAL_NROUTES; i++) {
        char param[sizeof pr->param];
        if (route_match(portal_routes[i].pattern, pr->path, param, sizeof param)) {
            if (allow[0])
                strcat(allow, ", ");
            strcat(allow, portal_routes[i].method);
            if (strcmp(portal_routes[i].method, "GET") == 0)
                strcat(allow, ", HEAD");
        }
    }
    http_response_header(pr->res, "Allow", "%s", allow);
    portal_simple(pr, 405, "Not allowed", "This address does not take that kind of request.");
}

static int https_redirect(struct preq *pr)
{
    char name[260], loc[900];
    if (host_name(http_request_header(pr->req, "Host"), name, sizeof name) < 0) {
        portal_simple(pr, 400, "Bad request", "The request named no valid host.");
        return 1;
    }
    if (pr->p->tls_port == 443)
        snprintf(loc, sizeof loc, "https://%s%s", name, pr->req->path);
    else
        snprintf(loc, sizeof loc, "https://%s:%d%s", name, pr->p->tls_port, pr->req->path);
    pr->res->status = 308;
    http_response_header(pr->res, "Location", "%s", loc);
    http_response_printf(pr->res, "This site is served over HTTPS.\n");
    return 1;
}

/* Splits the target into path and query and works out the scheme the
 * browser used. 0, or an answer was written (bad target, no memory). */
static int portal_request_parse(struct preq *pr)
{
    const struct http_request *req = pr->req;
    const char *target = req->path;
    size_t plen = strcspn(target, "?");
    if (plen >= sizeof pr->path || target[0] != '/') {
        portal_simple(pr, plen >= sizeof pr->path ? 414 : 400, "Bad request",
                      "That address is not one of ours.");
        return -EINVAL;
    }
    memcpy(pr->path, target, plen);
    pr->path[plen] = '\0';
    const char *query = target[plen] == '?' ? target + plen + 1 : "";
    if (portal_form_parse(&pr->q, query, strlen(query)) < 0) {
        pr->res->status = 503;
        return -ENOMEM;
    }
    pr->https = req->tls;
    int proxied = 0;
    uint8_t key[16];
    peer_key(pr, key, &proxied);
    if (proxied) {
        const char *xfp = http_request_header(req, "X-Forwarded-Proto");
        if (xfp && strcasecmp(xfp, "https") == 0)
            pr->https = 1;
    }
    return 0;
}

/* The route for the request, or NULL with 404 or 405 written. HEAD is
 * served by the GET route. */
static const struct route *portal_route(struct preq *pr)
{
    const char *method = pr->req->method;
    int head = strcmp(method, "HEAD") == 0;
    int path_known = 0;
    for (size_t i = 0; i < PORTAL_NROUTES; i++) {
        if (!route_match(portal_routes[i].pattern, pr->path, pr->param, sizeof pr->param))
            continue;
        path_known = 1;
        if (strcmp(portal_routes[i].method, method) == 0 ||
            (head && strcmp(portal_routes[i].method, "GET") == 0))
            return &portal_routes[i];
    }
    if (path_known)
        method_not_allowed(pr);
    else
        portal_simple(pr, 404, "Not found", "There is no page at this address.");
    return NULL;
}

/* Session, login requirement, form body and CSRF for a page route.
 * 0 when the handler may run, or a refusal was written. */
static int portal_admit(struct preq *pr, const struct route *rt)
{
    load_session(pr);
    if (pr->csrf_new)
        set_cookie(pr, cookie_name(pr, 0), pr->csrf, 12 * 3600);
    if ((rt->flags & R_SESSION) && !pr->uid) {
        if (strcmp(rt->method, "GET") == 0) {
            char loc[600];
            snprintf(loc, sizeof loc, "/login?next=%s", pr->path);
            portal_redirect(pr, loc);
        } else {
            portal_simple(pr, 403, "Please log in again",
                          "Your session has ended. Log in and try once more.");
        }
        return -EACCES;
    }
    if (strcmp(rt->method, "POST") == 0) {
        const char *ct = http_request_header(pr->req, "Content-Type");
        if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
            portal_simple(pr, 415, "Unsupported form", "Send the form from our page.");
            return -EINVAL;
        }
        if (portal_form_parse(&pr->form, (const char *)pr->req->body, pr->req->body_len) < 0) {
            pr->res->status = 503;
            return -ENOMEM;
        }
        if ((rt->flags & R_CSRF) && !csrf_ok(pr)) {
            pr->p->denied_csrf++;
            portal_simple(pr, 403, "Form expired",
                          "This form was not sent from our page, or it is too old. "
                          "Go back, reload the page and send it again.");
            return -EACCES;
        }
    }
    if (pr->uid)
        http_response_header(pr->res, "Cache-Control", "no-store");
    return 0;
}

void portal_handle(void *ctx, const struct http_request *req, struct http_response *res)
{
    struct portal *p = ctx;
    struct preq *pr = calloc(1, sizeof *pr);
    if (!pr) {
        res->status = 503;
        http_response_printf(res, "503 Service Unavailable: out of memory\n");
        return;
    }
    pr->p = p;
    pr->req = req;
    pr->res = res;
    pr->now = (int64_t)time(NULL);
    pr->https = req->tls;
    if (portal_request_parse(pr) < 0) {
        security_headers(pr);
        portal_finish(pr);
        return;
    }
    security_headers(pr);
    if (!pr->https && p->redirect_https && strcmp(pr->path, "/healthz") != 0) {
        https_redirect(pr);
        portal_finish(pr);
        return;
    }
    const struct route *rt = portal_route(pr);
    if (!rt) {
        portal_finish(pr);
        return;
    }
    /* The health check and the assets need no session. */
    if (rt->fn != page_healthz && rt->fn != page_asset && portal_admit(pr, rt) < 0) {
        portal_finish(pr);
        return;
    }
    rt->fn(pr);
    if (!pr->deferred)
        portal_finish(pr);
}

void page_healthz(struct preq *pr)
{
    if (core_health(pr->p->st) < 0) {
        pr->res->status = 503;
        http_response_printf(pr->res, "database unavailable\n");
        return;
    }
    http_response_printf(pr->res, "ok\n");
}
