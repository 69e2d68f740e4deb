/*
 * turn/engine.c - see engine.h.
 */
#include "turn/engine.h"

#include <errno.h>
#include <stdio.h>
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

static void policy_metrics(const struct turn_server *ts, struct metrics_out *m)
{
    int64_t resv = 0;
    uint64_t now = uv_now(ts->loop);
    for (size_t i = 0; i < TURN_MAX_RESERVATIONS; i++)
        resv += ts->resv[i].expires > now;
    metrics_gauge(m, "t9phone_turn_reservations", "EVEN-PORT reservations held now", NULL,
                  resv);
    for (int v = TURN_PEER_OK + 1; v < TURN_PEER_NVERDICTS; v++) {
        char l[48];
        snprintf(l, sizeof l, "reason=\"%s\"", turn_peer_verdict_name(v));
        metrics_counter(m, "t9phone_turn_peer_refusals_total",
                        "peers refused by the peer policy (CreatePermission, ChannelBind, "
                        "Send indications), by reason", l, ts->ref.peer[v]);
    }
    static const char *const send[TURN_SEND_NKINDS] = {
        "error=\"enetunreach\"", "error=\"eperm\"", "error=\"eacces\"", "error=\"other\"",
    };
    for (int i = 0; i < TURN_SEND_NKINDS; i++)
        metrics_counter(m, "t9phone_turn_send_errors_total",
                        "datagrams a relay socket could not send, by error (the allocation "
                        "keeps relaying)", send[i], ts->ref.send[i]);
    static const char help[] = "TURN requests refused by a bound or a rule, by cause";
    metrics_counter(m, "t9phone_turn_policy_refusals_total", help, "cause=\"rest_ttl\"",
                    ts->ref.rest_ttl);
    metrics_counter(m, "t9phone_turn_policy_refusals_total", help,
                    "cause=\"reservation_quota\"", ts->ref.resv_quota);
    metrics_counter(m, "t9phone_turn_policy_refusals_total", help, "cause=\"channel_range\"",
                    ts->ref.chan_range);
    metrics_counter(m, "t9phone_turn_policy_refusals_total", help, "cause=\"channel_held\"",
                    ts->ref.chan_held);
}

/* The server's own families (turn_server_metrics), then issue 12's
 * refusal and error counters, each family written whole. */
static void turn_engine_metrics(void *state, struct metrics_out *m)
{
    const struct turn_server *ts = state;
    turn_server_metrics(ts, m);
    policy_metrics(ts, m);
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
