/*
 * portal/engine.c - see engine.h.
 */
#include "portal/engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "core/core.h"
#include "net/conn.h"
#include "net/http.h"
#include "portal/internal.h"

static const struct config_key portal_config_keys[] = {
    { "portal-ip", CONFIG_STRING, "127.0.0.1", 0, 0, NULL, 0, "portal listen address" },
    { "portal-port", CONFIG_INT, "8080", 1, 65535, NULL, 0,
      "portal HTTP port (also serves /healthz when HTTPS is on)" },
    { "portal-max-connections", CONFIG_INT, "512", 1, 65535, NULL, 0,
      "open portal connections at most, per listener; more are closed at once" },
    { "portal-max-connections-per-address", CONFIG_INT, "32", 0, 65535, NULL, 0,
      "open portal connections from one address (IPv6: one /64) at most; 0: no cap "
      "(always off with trusted-proxy)" },
    { "portal-tls-port", CONFIG_INT, "0", 0, 65535, NULL, 0,
      "portal HTTPS port with the shared cert/pkey (0: off); plain HTTP then redirects to it" },
    { "trusted-proxy", CONFIG_STRING, "", 0, 0, NULL, 0,
      "address of a reverse proxy whose X-Forwarded-Proto and X-Forwarded-For are believed" },
    { "registration", CONFIG_ENUM, "open", 0, 0, "open|invite|closed", 0,
      "who may sign up on the portal: anyone, holders of an invitation link, nobody" },
    { "portal-request-timeout", CONFIG_INT, "10", 1, 300, NULL, 0,
      "seconds a request may take to arrive whole after its first byte (then 408)" },
    { "portal-idle-timeout", CONFIG_INT, "30", 1, 3600, NULL, 0,
      "seconds a keep-alive connection may stay idle, or an answer unread" },
    { "portal-rate-limit", CONFIG_INT, "20", 1, 100000, NULL, 0,
      "sign-up, login, reset and invitation attempts per address and 10 minutes, each" },
    { "portal-bcrypt-cost", CONFIG_INT, "12", 4, 31, NULL, 0,
      "bcrypt cost of portal passwords hashed by the portal (lower only for tests)" },
    { "portal-max-jobs", CONFIG_INT, "0", 0, 1024, NULL, 0,
      "password checks and hashes (bcrypt) run at once on the thread pool; more wait in "
      "order (0: one per CPU, at most UV_THREADPOOL_SIZE, default 4)" },
    { "portal-job-queue", CONFIG_INT, "256", 1, 65535, NULL, 0,
      "password checks and hashes waiting beyond portal-max-jobs; one more is answered "
      "503 with Retry-After" },
    { "portal-job-nice", CONFIG_INT, "19", 0, 19, NULL, 0,
      "nice value each thread-pool thread lowers itself to before its first bcrypt, so "
      "the event loop preempts it and SIP answers stay prompt (0: unchanged)" },
    { "portal-job-idle", CONFIG_BOOL, "false", 0, 0, NULL, 0,
      "thread-pool threads also take the SCHED_IDLE policy before their first bcrypt (the "
      "loop then preempts them the moment it wakes; on a host kept busy by other programs "
      "logins may starve)" },
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};

struct portal_engine_state {
    struct portal portal;
    struct http_server *http, *https;
    int closing; /* handles still closing, plus 1 while jobs run */
    struct engine_done done;
};

static int portal_engine_servers(const struct engine_env *env, struct portal_engine_state *pe,
                                 char *err, size_t errlen)
{
    const config_t *cfg = env->cfg;
    unsigned request_ms = (unsigned)config_int(cfg, "portal-request-timeout") * 1000;
    unsigned idle_ms = (unsigned)config_int(cfg, "portal-idle-timeout") * 1000;
    struct http_server_opts ho = {
        .ip = config_str(cfg, "portal-ip"),
        .port = (int)config_int(cfg, "portal-port"),
        .max_conns = (int)config_int(cfg, "portal-max-connections"),
        .max_per_source = pe->portal.trusted_proxy[0]
                              ? 0
                              : (int)config_int(cfg, "portal-max-connections-per-address"),
        .idle_ms = idle_ms,
        .request_ms = request_ms,
        .handler = portal_handle,
        .ctx = &pe->portal,
    };
    int rc = http_server_start(env->loop, &ho, &pe->http, err, errlen);
    if (rc < 0)
        return rc;
    log_info("portal", "listening for HTTP on port %d", ho.port);
    int tls_port = (int)config_int(cfg, "portal-tls-port");
    if (!tls_port)
        return 0;
    if (!env->tls) {
        snprintf(err, errlen, "portal: portal-tls-port needs cert and pkey");
        return -EINVAL;
    }
    ho.port = tls_port;
    ho.tls = env->tls;
    if ((rc = http_server_start(env->loop, &ho, &pe->https, err, errlen)) < 0)
        return rc;
    pe->portal.tls_port = tls_port;
    pe->portal.redirect_https = 1;
    log_info("portal", "listening for HTTPS on port %d", tls_port);
    return 0;
}

static void portal_engine_free(struct portal_engine_state *pe)
{
    struct engine_done d = pe->done;
    portal_free(&pe->portal);
    free(pe);
    engine_done_run(d);
}

static void portal_engine_part_done(void *arg)
{
    struct portal_engine_state *pe = arg;
    if (--pe->closing == 0)
        portal_engine_free(pe);
}

static void portal_engine_stop(void *state, void (*done)(void *arg), void *arg)
{
    struct portal_engine_state *pe = state;
    pe->done = (struct engine_done){ done, arg };
    pe->closing = 1; /* held until this function has started every close */
    if (pe->http) {
        pe->closing++;
        http_server_stop(pe->http, portal_engine_part_done, pe);
        pe->http = NULL;
    }
    if (pe->https) {
        pe->closing++;
        http_server_stop(pe->https, portal_engine_part_done, pe);
        pe->https = NULL;
    }
    /* Thread-pool jobs still reference the portal: wait for them. */
    if (pe->portal.jobs > 0) {
        pe->closing++;
        pe->portal.idle = portal_engine_part_done;
        pe->portal.idle_arg = pe;
    }
    portal_engine_part_done(pe);
}

static int portal_engine_start(const struct engine_env *env, void **state, char *err,
                               size_t errlen)
{
    struct portal_engine_state *pe = calloc(1, sizeof *pe);
    if (!pe)
        return -ENOMEM;
    struct portal *p = &pe->portal;
    const config_t *cfg = env->cfg;
    p->st = env->st;
    p->loop = env->loop;
    p->core = *env->core;
    p->core.bcrypt_cost = (int)config_int(cfg, "portal-bcrypt-cost");
    p->rate_limit = (unsigned)config_int(cfg, "portal-rate-limit");
    p->max_jobs = (unsigned)config_int(cfg, "portal-max-jobs");
    p->max_queued = (unsigned)config_int(cfg, "portal-job-queue");
    p->job_nice = (int)config_int(cfg, "portal-job-nice");
    p->job_idle = config_bool(cfg, "portal-job-idle");
    const char *reg = config_str(cfg, "registration");
    p->registration = strcmp(reg, "closed") == 0   ? PORTAL_REG_CLOSED
                      : strcmp(reg, "invite") == 0 ? PORTAL_REG_INVITE
                                                   : PORTAL_REG_OPEN;
    const char *proxy = config_str(cfg, "trusted-proxy");
    if (proxy && proxy[0]) {
        unsigned char buf[16];
        if (strlen(proxy) >= sizeof p->trusted_proxy ||
            (inet_pton(AF_INET, proxy, buf) != 1 && inet_pton(AF_INET6, proxy, buf) != 1)) {
            snprintf(err, errlen, "trusted-proxy: '%s' is not an IP address", proxy);
            free(pe);
            return -EINVAL;
        }
        snprintf(p->trusted_proxy, sizeof p->trusted_proxy, "%s", proxy);
    }
    int rc = portal_init(p);
    if (rc < 0) {
        snprintf(err, errlen, "portal: cannot set up rate limits");
        free(pe);
        return rc;
    }
    if ((rc = portal_engine_servers(env, pe, err, errlen)) < 0) {
        portal_engine_stop(pe, NULL, NULL);
        return rc;
    }
    *state = pe;
    return 0;
}

static void portal_engine_metrics(void *state, struct metrics_out *m)
{
    struct portal_engine_state *pe = state;
    if (pe->http)
        http_server_metrics(pe->http, "portal_http", m);
    if (pe->https)
        http_server_metrics(pe->https, "portal_https", m);
    metrics_counter(m, "t9phone_portal_csrf_refused_total",
                    "state-changing requests refused for a missing or wrong CSRF token", NULL,
                    pe->portal.denied_csrf);
    metrics_counter(m, "t9phone_portal_rate_limited_total",
                    "attempts refused by the per-address rate limits", NULL,
                    pe->portal.limited);
    metrics_gauge(m, "t9phone_portal_jobs",
                  "password checks and hashes in flight (on the thread pool or queued)", NULL,
                  pe->portal.jobs);
    metrics_gauge(m, "t9phone_portal_jobs_queued",
                  "password checks and hashes waiting for portal-max-jobs", NULL,
                  pe->portal.queued);
    metrics_counter(m, "t9phone_portal_jobs_refused_total",
                    "password checks and hashes refused with 503: portal-job-queue was full",
                    NULL, pe->portal.jobs_refused);
}

/* Each listener holds up to portal-max-connections sockets. */
static size_t portal_fd_uses(const config_t *cfg, struct net_fd_use *uses, size_t max)
{
    uint64_t per = (uint64_t)config_int(cfg, "portal-max-connections");
    int tls = config_int(cfg, "portal-tls-port") != 0;
    struct net_fd_use u = { tls ? "portal-max-connections (x2: HTTP and HTTPS)"
                                : "portal-max-connections",
                            tls ? 2 * per : per };
    if (max >= 1)
        uses[0] = u;
    return 1;
}

const struct engine portal_engine = {
    .name = "portal",
    .keys = portal_config_keys,
    .start = portal_engine_start,
    .stop = portal_engine_stop,
    .reload = NULL,
    .metrics = portal_engine_metrics,
    .fd_uses = portal_fd_uses,
};
