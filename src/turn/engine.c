/*
 * turn/engine.c - see engine.h.
 */
#include "turn/engine.h"

#include <errno.h>
#include <stdlib.h>

#include "core/resolve.h"
#include "turn/config.h"
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
    struct tls_server *tls = config_bool(env->cfg, "no-tls") ? NULL : env->tls;
    int rc = turn_server_start_tls(env->loop, env->cfg, &ta, tls, &ts, err, errlen);
    if (rc < 0)
        return rc;
    *state = ts;
    return 0;
}

static void turn_engine_stop(void *state, void (*done)(void *arg), void *arg)
{
    turn_server_stop(state, done, arg);
}

static void turn_engine_metrics(void *state, struct metrics_out *m)
{
    turn_server_metrics(state, m);
}

/* The shared TLS context is reloaded by main before engines hear of a
 * SIGHUP, so TURN has nothing of its own to re-read. */
const struct engine turn_engine = {
    .name = "turn",
    .keys = turn_config_keys,
    .start = turn_engine_start,
    .stop = turn_engine_stop,
    .reload = NULL,
    .metrics = turn_engine_metrics,
    .fd_uses = turn_fd_uses,
};
