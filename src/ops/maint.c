/*
 * ops/maint.c - see maint.h.
 *
 * One timer ticks every second. Each tick
 *   - checkpoints the WAL when a write removed or replaced personal data
 *     (store_checkpoint_if_dirty), so old bytes leave the files within about
 *     a second and many such writes share one checkpoint;
 *   - runs the retention purge when core_maint_next_expiry() says a row is
 *     due, so a one-time token goes the second it expires, not up to an
 *     hour later.
 * Both are a few indexed queries when there is nothing to do.
 */
#include "ops/maint.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "base/log.h"
#include "core/errors.h"
#include "core/maint.h"
#include "store/db.h"

#define MAINT_TICK_MS 1000

struct maint_state {
    struct store *st;
    uv_timer_t timer;
    uint64_t runs, purged, failures;
    struct engine_done done;
};

static void maint_purge(struct maint_state *ms, int64_t now)
{
    int n = core_maint_purge(ms->st, now);
    ms->runs++;
    if (n > 0) {
        ms->purged += (uint64_t)n;
        log_info("core", "purged %d expired rows", n);
    } else if (n < 0) {
        ms->failures++;
        log_error("core", "purge failed: %s", core_strerror(n));
    }
}

static void maint_tick(struct maint_state *ms)
{
    int64_t now = (int64_t)time(NULL), due = 0;
    if (core_maint_next_expiry(ms->st, now, &due) == 0 && due != 0 && due <= now)
        maint_purge(ms, now);
    int rc = store_checkpoint_if_dirty(ms->st);
    if (rc < 0 && rc != -EBUSY)
        log_error("store", "checkpoint failed: %s", core_strerror(rc));
}

static void maint_on_timer(uv_timer_t *t)
{
    maint_tick(t->data);
}

static int maint_start(const struct engine_env *env, void **state, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct maint_state *ms = calloc(1, sizeof *ms);
    if (!ms)
        return -ENOMEM;
    ms->st = env->st;
    maint_purge(ms, (int64_t)time(NULL));
    uv_timer_init(env->loop, &ms->timer);
    ms->timer.data = ms;
    uv_timer_start(&ms->timer, maint_on_timer, MAINT_TICK_MS, MAINT_TICK_MS);
    *state = ms;
    return 0;
}

static void maint_closed(uv_handle_t *h)
{
    struct maint_state *ms = h->data;
    struct engine_done d = ms->done;
    /* What the last second marked dirty is checkpointed before the loop
     * ends (main's store_close checkpoints too; this keeps the count). */
    store_checkpoint_if_dirty(ms->st);
    free(ms);
    engine_done_run(d);
}

static void maint_stop(void *state, void (*done)(void *arg), void *arg)
{
    struct maint_state *ms = state;
    ms->done = (struct engine_done){ done, arg };
    uv_close((uv_handle_t *)&ms->timer, maint_closed);
}

static void maint_metrics(void *state, struct metrics_out *m)
{
    const struct maint_state *ms = state;
    const struct store_stats *ss = store_stats(ms->st);
    metrics_counter(m, "t9phone_maint_runs_total", "retention purges run", NULL, ms->runs);
    metrics_counter(m, "t9phone_maint_purged_rows_total", "expired rows deleted", NULL,
                    ms->purged);
    metrics_counter(m, "t9phone_maint_failures_total", "retention purges that failed", NULL,
                    ms->failures);
    metrics_counter(m, "t9phone_store_commits_total", "database transactions committed", NULL,
                    ss->commits);
    metrics_counter(m, "t9phone_store_rollbacks_total",
                    "database transactions rolled back (refusals included)", NULL,
                    ss->rollbacks);
    metrics_counter(m, "t9phone_store_busy_total", "transactions that found the database locked",
                    NULL, ss->busy);
    metrics_counter(m, "t9phone_store_checkpoints_total", "WAL checkpoints, by result",
                    "result=\"done\"", ss->checkpoints);
    metrics_counter(m, "t9phone_store_checkpoints_total", "WAL checkpoints, by result",
                    "result=\"busy\"", ss->checkpoints_busy);
    metrics_counter(m, "t9phone_store_checkpoints_total", "WAL checkpoints, by result",
                    "result=\"failed\"", ss->checkpoints_failed);
}

const struct engine maint_engine = {
    .name = "maint",
    .keys = NULL,
    .start = maint_start,
    .stop = maint_stop,
    .reload = NULL,
    .metrics = maint_metrics,
};
