/*
 * portal/engine.c - see engine.h.
 */
#include "portal/engine.h"

#include <errno.h>
#include <stdlib.h>

#include "base/log.h"
#include "net/http.h"
#include "portal/portal.h"

static const struct config_key portal_config_keys[] = {
    { "portal-ip", CONFIG_STRING, "127.0.0.1", 0, 0, NULL, 0, "portal listen address" },
    { "portal-port", CONFIG_INT, "8080", 1, 65535, NULL, 0, "portal HTTP port" },
    { "portal-max-connections", CONFIG_INT, "512", 1, 65535, NULL, 0,
      "open portal connections at most; more are closed at once" },
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};

struct portal_engine_state {
    struct portal portal;
    struct http_server *http;
    void (*done)(void *arg);
    void *done_arg;
};

static int portal_engine_start(const struct engine_env *env, void **state, char *err,
                               size_t errlen)
{
    struct portal_engine_state *pe = calloc(1, sizeof *pe);
    if (!pe)
        return -ENOMEM;
    pe->portal.st = env->st;
    struct http_server_opts ho = {
        .ip = config_str(env->cfg, "portal-ip"),
        .port = (int)config_int(env->cfg, "portal-port"),
        .max_conns = (int)config_int(env->cfg, "portal-max-connections"),
        .idle_ms = 30000,
        .handler = portal_handle,
        .ctx = &pe->portal,
    };
    int rc = http_server_start(env->loop, &ho, &pe->http, err, errlen);
    if (rc < 0) {
        free(pe);
        return rc;
    }
    log_info("portal", "listening for HTTP on port %d", ho.port);
    *state = pe;
    return 0;
}

static void portal_engine_closed(void *arg)
{
    struct portal_engine_state *pe = arg;
    void (*done)(void *) = pe->done;
    void *done_arg = pe->done_arg;
    free(pe);
    if (done)
        done(done_arg);
}

static void portal_engine_stop(void *state, void (*done)(void *arg), void *arg)
{
    struct portal_engine_state *pe = state;
    pe->done = done;
    pe->done_arg = arg;
    http_server_stop(pe->http, portal_engine_closed, pe);
}

const struct engine portal_engine = {
    .name = "portal",
    .keys = portal_config_keys,
    .start = portal_engine_start,
    .stop = portal_engine_stop,
    .reload = NULL,
    .metrics = NULL,
};
