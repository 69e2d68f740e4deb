/*
 * ops/maint.c - see maint.h.
 */
#include "ops/maint.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "base/log.h"
#include "core/errors.h"
#include "core/maint.h"

#define MAINT_PERIOD_MS (3600 * 1000)

struct maint_state {
    struct store *st;
    uv_timer_t timer;
    uint64_t runs, purged, failures;
    void (*done)(void *arg);
    void *done_arg;
};

static void maint_run(struct maint_state *ms)
{
    int n = core_maint_purge(ms->st, (int64_t)time(NULL));
    ms->runs++;
    if (n > 0) {
        ms->purged += (uint64_t)n;
        log_info("core", "purged %d expired rows", n);
    } else if (n < 0) {
        ms->failures++;
        log_error("core", "purge failed: %s", core_strerror(n));
    }
}

static void maint_on_timer(uv_timer_t *t)
{
    maint_run(t->data);
}

static int maint_start(const struct engine_env *env, void **state, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct maint_state *ms = calloc(1, sizeof *ms);
    if (!ms)
        return -ENOMEM;
    ms->st = env->st;
    maint_run(ms);
    uv_timer_init(env->loop, &ms->timer);
    ms->timer.data = ms;
    uv_timer_start(&ms->timer, maint_on_timer, MAINT_PERIOD_MS, MAINT_PERIOD_MS);
    *state = ms;
    return 0;
}

static void maint_closed(uv_handle_t *h)
{
    struct maint_state *ms = h->data;
    void (*done)(void *) = ms->done;
    void *done_arg = ms->done_arg;
    free(ms);
    if (done)
        done(done_arg);
}

static void maint_stop(void *state, void (*done)(void *arg), void *arg)
{
    struct maint_state *ms = state;
    ms->done = done;
    ms->done_arg = arg;
    uv_close((uv_handle_t *)&ms->timer, maint_closed);
}

static void maint_metrics(void *state, struct metrics_out *m)
{
    const struct maint_state *ms = state;
    metrics_counter(m, "t9phone_maint_runs_total", "retention purges run", NULL, ms->runs);
    metrics_counter(m, "t9phone_maint_purged_rows_total", "expired rows deleted", NULL,
                    ms->purged);
    metrics_counter(m, "t9phone_maint_failures_total", "retention purges that failed", NULL,
                    ms->failures);
}

const struct engine maint_engine = {
    .name = "maint",
    .keys = NULL,
    .start = maint_start,
    .stop = maint_stop,
    .reload = NULL,
    .metrics = maint_metrics,
};
