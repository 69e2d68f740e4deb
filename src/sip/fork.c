/*
 * sip/fork.c - see fork.h.
 */
#include "sip/fork.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void sip_fork_init(struct sip_fork *f, const struct sip_fork_ops *ops, int invite)
{
    memset(f, 0, sizeof *f);
    f->ops = *ops;
    f->invite = invite ? 1 : 0;
}

void sip_fork_release(struct sip_fork *f)
{
    free(f->best);
    f->best = NULL;
    f->best_len = 0;
}

int sip_fork_rank(int status)
{
    if (status >= 600)
        return 0;
    if (status >= 300 && status < 600)
        return status / 100; /* 3, 4, 5 */
    return 9;
}

int sip_fork_add(struct sip_fork *f, void *user)
{
    if (f->got_6xx || f->sent_2xx || f->caller_cancelled || f->final_sent)
        return -EALREADY;
    if (f->n >= SIP_FORK_MAX)
        return -ENOSPC;
    struct sip_fork_branch *b = &f->br[f->n];
    memset(b, 0, sizeof *b);
    b->user = user;
    return f->n++;
}

int sip_fork_finished(const struct sip_fork *f)
{
    if (!f->final_sent)
        return 0;
    for (int i = 0; i < f->n; i++)
        if (f->br[i].state != SIP_BR_FINAL)
            return 0;
    return 1;
}

/* Cancels every unfinished branch but `except` (-1: all). */
static void cancel_others(struct sip_fork *f, int except, int elsewhere)
{
    for (int i = 0; i < f->n; i++) {
        struct sip_fork_branch *b = &f->br[i];
        if (i == except || b->state == SIP_BR_FINAL || b->cancelled)
            continue;
        if (b->state == SIP_BR_PROCEEDING) {
            b->cancelled = 1;
            b->cancel_pending = 0;
            f->ops.cancel(f->ops.ctx, f, i, elsewhere);
        } else {
            b->cancel_pending = (uint8_t)(elsewhere ? 2 : 1);
        }
    }
}

/* When every branch is final and the caller has nothing final yet, the
 * best response goes. */
static void maybe_finish(struct sip_fork *f)
{
    if (f->final_sent)
        return;
    int all_flow_failed = f->n > 0;
    for (int i = 0; i < f->n; i++) {
        if (f->br[i].state != SIP_BR_FINAL)
            return;
        if (!f->br[i].flow_failed)
            all_flow_failed = 0;
    }
    f->final_sent = 1;
    if (f->caller_cancelled) {
        f->ops.answer(f->ops.ctx, f, 487);
    } else if (f->n == 0 || all_flow_failed) {
        f->ops.answer(f->ops.ctx, f, 480);
    } else if (f->best_status == 503 || (f->best_status >= 300 && !f->best)) {
        /* 503 chosen: 500 (16.7 step 6); a local failure: its own code;
         * a final we could not keep: 500. */
        int st = f->best_status == 503 || f->best_status == 0 ? 500 : f->best_status;
        f->ops.answer(f->ops.ctx, f, st);
    } else if (f->best) {
        f->ops.forward(f->ops.ctx, f, f->best_status, f->best, f->best_len);
    } else {
        f->ops.answer(f->ops.ctx, f, 500);
    }
}

/* A final status for branch i that may become the best. */
static void take_final(struct sip_fork *f, int i, int status, const char *buf, size_t len)
{
    struct sip_fork_branch *b = &f->br[i];
    b->state = SIP_BR_FINAL;
    b->status = status;
    if (f->best_status && sip_fork_rank(status) >= sip_fork_rank(f->best_status))
        return;
    f->best_status = status;
    free(f->best);
    f->best = NULL;
    f->best_len = 0;
    if (buf) {
        f->best = malloc(len ? len : 1);
        if (f->best) {
            memcpy(f->best, buf, len);
            f->best_len = len;
        } else {
            f->best_status = 500; /* answered as a local 500 */
        }
    }
}

int sip_fork_response(struct sip_fork *f, int i, int status, const char *buf, size_t len)
{
    if (i < 0 || i >= f->n || status < 100 || status > 699)
        return -EINVAL;
    struct sip_fork_branch *b = &f->br[i];
    if (status < 200) {
        if (b->state == SIP_BR_FINAL)
            return 0;
        b->state = SIP_BR_PROCEEDING;
        if (b->cancel_pending && !b->cancelled) {
            int elsewhere = b->cancel_pending == 2;
            b->cancelled = 1;
            b->cancel_pending = 0;
            f->ops.cancel(f->ops.ctx, f, i, elsewhere);
            return 0;
        }
        if (status > 100 && !f->final_sent && !b->cancelled)
            f->ops.forward(f->ops.ctx, f, status, buf, len);
        return 0;
    }
    if (status < 300) {
        /* Every 2xx goes up, even a late one: the caller's UA must see it to
         * ACK and BYE it (RFC 3261 13.2.2.4). */
        b->state = SIP_BR_FINAL;
        b->status = status;
        if (!f->final_sent || f->sent_2xx)
            f->ops.forward(f->ops.ctx, f, status, buf, len);
        if (!f->sent_2xx && !f->final_sent) {
            f->sent_2xx = 1;
            f->final_sent = 1;
            if (f->invite)
                cancel_others(f, i, 1);
        }
        return 0;
    }
    if (b->state == SIP_BR_FINAL)
        return 0;
    take_final(f, i, status, buf, len);
    if (status >= 600 && !f->got_6xx) {
        f->got_6xx = 1;
        cancel_others(f, i, 0);
    }
    maybe_finish(f);
    return f->best_status == 500 && !f->best ? -ENOMEM : 0;
}

void sip_fork_timeout(struct sip_fork *f, int i)
{
    if (i < 0 || i >= f->n || f->br[i].state == SIP_BR_FINAL)
        return;
    take_final(f, i, 408, NULL, 0);
    maybe_finish(f);
}

void sip_fork_flow_failed(struct sip_fork *f, int i)
{
    if (i < 0 || i >= f->n || f->br[i].state == SIP_BR_FINAL)
        return;
    f->br[i].flow_failed = 1;
    take_final(f, i, 503, NULL, 0);
    maybe_finish(f);
}

void sip_fork_timer_c(struct sip_fork *f, int i)
{
    if (i < 0 || i >= f->n)
        return;
    struct sip_fork_branch *b = &f->br[i];
    if (b->state == SIP_BR_PROCEEDING) {
        if (!b->cancelled) {
            b->cancelled = 1;
            f->ops.cancel(f->ops.ctx, f, i, 0);
        }
        return;
    }
    sip_fork_timeout(f, i);
}

void sip_fork_cancel(struct sip_fork *f)
{
    if (f->caller_cancelled)
        return;
    f->caller_cancelled = 1;
    if (f->final_sent)
        return;
    cancel_others(f, -1, 0);
    maybe_finish(f);
}
