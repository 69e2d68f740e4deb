/*
 * turn/engine.c - see engine.h.
 */
#include "turn/engine.h"

#include <errno.h>
#include <stdlib.h>

#include "core/resolve.h"
#include "turn/config.h"
#include "turn/internal.h"
#include "turn/server.h"

/* A missing user and a failed lookup look alike to the relay: either way
 * the request is answered 401, never with a reason. */
static int turn_engine_ha1(void *ctx, const char *username, uint8_t key[16])
{
    return core_sip_lookup_ha1(ctx, username, key) == 0 ? 0 : -ENOENT;
}

static int turn_engine_start(const struct engine_env *env, void **state, char *err,
                             size_t errlen)
{
    struct turn_auth ta = { turn_engine_ha1, env->st };
    struct turn_server *ts = NULL;
    int rc = turn_server_start(env->loop, env->cfg, &ta, &ts, err, errlen);
    if (rc < 0)
        return rc;
    *state = ts;
    return 0;
}

static void turn_engine_stop(void *state, void (*done)(void *arg), void *arg)
{
    turn_server_stop(state, done, arg);
}

static void turn_engine_reload(void *state)
{
    turn_server_reload_tls(state);
}

static void turn_engine_metrics(void *state, struct metrics_out *m)
{
    const struct turn_server *ts = state;
    metrics_gauge(m, "t9phone_turn_allocations", "TURN allocations open now", NULL,
                  (int64_t)ts->nallocs);
    metrics_gauge(m, "t9phone_turn_connections", "TURN TCP and TLS client connections open now",
                  NULL, (int64_t)ts->nconns);
    metrics_counter(m, "t9phone_turn_allocations_total", "TURN allocations made since start",
                    NULL, ts->n_alloc);
    metrics_counter(m, "t9phone_turn_relayed_packets_total",
                    "packets relayed in either direction", NULL, ts->n_relayed);
    metrics_counter(m, "t9phone_turn_dropped_packets_total",
                    "relayed packets dropped (no permission, full buffer, rate limit)", NULL,
                    ts->n_dropped);
    metrics_counter(m, "t9phone_turn_refusals_total", "requests refused, by cause",
                    "cause=\"auth\"", ts->n_auth_fail);
    metrics_counter(m, "t9phone_turn_refusals_total", "requests refused, by cause",
                    "cause=\"peer\"", ts->n_denied);
}

const struct engine turn_engine = {
    .name = "turn",
    .keys = turn_config_keys,
    .start = turn_engine_start,
    .stop = turn_engine_stop,
    .reload = turn_engine_reload,
    .metrics = turn_engine_metrics,
};
