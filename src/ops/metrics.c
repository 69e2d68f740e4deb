/*
 * ops/metrics.c - see metrics.h.
 */
#include "ops/metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "net/http.h"

static const struct config_key metrics_config_keys[] = {
    { "metrics-ip", CONFIG_STRING, "127.0.0.1", 0, 0, NULL, 0,
      "address of the Prometheus /metrics listener (keep it on loopback or a private network)" },
    { "metrics-port", CONFIG_INT, "9641", 0, 65535, NULL, 0,
      "port of the /metrics listener; 0 turns it off" },
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};

struct metrics_state {
    const struct engine_env *env;
    struct http_server *http;
    uint64_t scrapes;
    struct engine_done done;
};

static int metrics_path_is(const char *path, const char *want)
{
    size_t n = strlen(want);
    return strncmp(path, want, n) == 0 && (path[n] == '\0' || path[n] == '?');
}

static void metrics_handle(void *ctx, const struct http_request *req, struct http_response *res)
{
    struct metrics_state *ms = ctx;
    if (!metrics_path_is(req->path, "/metrics")) {
        res->status = 404;
        http_response_printf(res, "404 Not Found: the counters are at /metrics\n");
        return;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        res->status = 405;
        snprintf(res->extra_headers, sizeof res->extra_headers, "Allow: GET, HEAD\r\n");
        http_response_printf(res, "405 Method Not Allowed: use GET\n");
        return;
    }
    ms->scrapes++;
    struct metrics_out m;
    metrics_out_init(&m, res->body, res->body_cap);
    const struct engine_env *env = ms->env;
    for (size_t i = 0; i < env->nengines; i++) {
        const struct engine *e = env->engines[i];
        void *st = env->states[i];
        int up = st != NULL;
        char label[64];
        snprintf(label, sizeof label, "engine=\"%s\"", e->name);
        metrics_gauge(&m, "t9phone_engine_up", "1 when the engine is running", label, up);
    }
    metrics_counter(&m, "t9phone_metrics_scrapes_total", "scrapes of /metrics", NULL,
                    ms->scrapes);
    for (size_t i = 0; i < env->nengines; i++) {
        const struct engine *e = env->engines[i];
        if (e->metrics && env->states[i])
            e->metrics(env->states[i], &m);
    }
    res->body_len = m.len;
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
    if (metrics_out_overflowed(&m))
        log_warn("metrics", "counters cut at %zu bytes", m.len);
}

static int metrics_start(const struct engine_env *env, void **state, char *err, size_t errlen)
{
    int port = (int)config_int(env->cfg, "metrics-port");
    if (port == 0) {
        *state = NULL;
        return 0;
    }
    struct metrics_state *ms = calloc(1, sizeof *ms);
    if (!ms)
        return -ENOMEM;
    ms->env = env;
    struct http_server_opts ho = {
        .ip = config_str(env->cfg, "metrics-ip"),
        .port = port,
        .max_conns = 16,
        .idle_ms = 10000,
        .handler = metrics_handle,
        .ctx = ms,
    };
    int rc = http_server_start(env->loop, &ho, &ms->http, err, errlen);
    if (rc < 0) {
        free(ms);
        return rc;
    }
    log_info("metrics", "serving /metrics on port %d", port);
    *state = ms;
    return 0;
}

static void metrics_closed(void *arg)
{
    struct metrics_state *ms = arg;
    struct engine_done d = ms->done;
    free(ms);
    engine_done_run(d);
}

static void metrics_stop(void *state, void (*done)(void *arg), void *arg)
{
    struct metrics_state *ms = state;
    ms->done = (struct engine_done){ done, arg };
    http_server_stop(ms->http, metrics_closed, ms);
}

const struct engine metrics_engine = {
    .name = "metrics",
    .keys = metrics_config_keys,
    .start = metrics_start,
    .stop = metrics_stop,
    .reload = NULL,
    .metrics = NULL,
};
