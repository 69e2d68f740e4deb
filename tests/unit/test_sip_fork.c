/*
 * test_sip_fork.c - best-response selection and CANCEL rules of a forking
 * proxy (RFC 3261 16.7, 16.10, RFC 3326 Reason), with the transactions'
 * timers on a fake clock for Timer C.
 */
#include "t.h"

#include "sip/fork.h"
#include "sip/txn.h"

#include <errno.h>
#include <string.h>

struct log {
    int fwd[16], nfwd;
    int ans[8], nans;
    int can[8], elsewhere[8], ncan;
};

static void l_fwd(void *ctx, struct sip_fork *f, int st, const char *b, size_t n)
{
    struct log *l = ctx;
    (void)f; (void)b; (void)n;
    l->fwd[l->nfwd++] = st;
}

static void l_ans(void *ctx, struct sip_fork *f, int st)
{
    struct log *l = ctx;
    (void)f;
    l->ans[l->nans++] = st;
}

static void l_can(void *ctx, struct sip_fork *f, int i, int e)
{
    struct log *l = ctx;
    (void)f;
    l->elsewhere[l->ncan] = e;
    l->can[l->ncan++] = i;
}

static void mk(struct sip_fork *f, struct log *l, int n)
{
    memset(l, 0, sizeof *l);
    struct sip_fork_ops ops = { l_fwd, l_ans, l_can, l };
    sip_fork_init(f, &ops, 1);
    for (int i = 0; i < n; i++)
        ASSERT_EQ(sip_fork_add(f, NULL), i);
}

TEST(sip_fork_rank_order)
{
    ASSERT(sip_fork_rank(603) < sip_fork_rank(302));
    ASSERT(sip_fork_rank(302) < sip_fork_rank(486));
    ASSERT(sip_fork_rank(486) < sip_fork_rank(503));
    ASSERT_EQ(sip_fork_rank(404), sip_fork_rank(486));
}

TEST(sip_fork_100_kept_180_forwarded)
{
    struct sip_fork f;
    struct log l;
    mk(&f, &l, 2);
    ASSERT_EQ(sip_fork_response(&f, 0, 100, "x", 1), 0);
    ASSERT_EQ(l.nfwd, 0);
    sip_fork_response(&f, 0, 180, "x", 1);
    sip_fork_response(&f, 1, 183, "x", 1);
    ASSERT_EQ(l.nfwd, 2);
    ASSERT_EQ(l.fwd[0], 180);
    ASSERT_EQ(l.fwd[1], 183);
    ASSERT_EQ(sip_fork_finished(&f), 0);
    sip_fork_release(&f);
}

TEST(sip_fork_2xx_forwarded_at_once_cancels_others_with_reason)
{
    struct sip_fork f;
    struct log l;
    mk(&f, &l, 3);
    sip_fork_response(&f, 0, 180, "r", 1);
    sip_fork_response(&f, 2, 180, "r", 1);
    sip_fork_response(&f, 1, 486, "busy", 4); /* kept, not forwarded */
    ASSERT_EQ(l.nfwd, 2);
    sip_fork_response(&f, 2, 200, "ok", 2);
    ASSERT_EQ(l.nfwd, 3);
    ASSERT_EQ(l.fwd[2], 200);
    ASSERT_EQ(l.ncan, 1);
    ASSERT_EQ(l.can[0], 0);
    ASSERT_EQ(l.elsewhere[0], 1);
    /* Branch 0 answers the CANCEL with 487: nothing more to the caller. */
    sip_fork_response(&f, 0, 487, "t", 1);
    ASSERT_EQ(l.nfwd, 3);
    ASSERT_EQ(l.nans, 0);
    ASSERT_EQ(sip_fork_finished(&f), 1);
    /* No branch may start now. */
    ASSERT_EQ(sip_fork_add(&f, NULL), -EALREADY);
    sip_fork_release(&f);
}

TEST(sip_fork_second_2xx_also_forwarded)
{
    struct sip_fork f;
    struct log l;
    mk(&f, &l, 2);
    sip_fork_response(&f, 0, 200, "a", 1);
    sip_fork_response(&f, 1, 200, "b", 1); /* crossed the CANCEL */
    ASSERT_EQ(l.nfwd, 2);
    ASSERT_EQ(l.fwd[1], 200);
    /* branch 1 had no provisional: its CANCEL waited, and is moot now */
    ASSERT_EQ(l.ncan, 0);
    sip_fork_release(&f);
}

TEST(sip_fork_lowest_class_wins_first_in_class)
{
    struct sip_fork f;
    struct log l;
    mk(&f, &l, 4);
    sip_fork_response(&f, 0, 503, "a", 1);
    sip_fork_response(&f, 1, 486, "b", 1);
    sip_fork_response(&f, 2, 302, "c", 1);
    ASSERT_EQ(l.nfwd, 0);
    sip_fork_response(&f, 3, 404, "d", 1);
    ASSERT_EQ(l.nfwd, 1);
    ASSERT_EQ(l.fwd[0], 302);
    ASSERT_EQ(l.nans, 0);
    ASSERT(f.best && f.best[0] == 'c');
    ASSERT_EQ(sip_fork_finished(&f), 1);
    sip_fork_release(&f);

    mk(&f, &l, 2);
    sip_fork_response(&f, 0, 486, "first", 5);
    sip_fork_response(&f, 1, 404, "second", 6);
    ASSERT_EQ(l.fwd[0], 486);
    ASSERT(f.best && f.best[0] == 'f');
    sip_fork_release(&f);
}

TEST(sip_fork_6xx_cancels_and_wins)
{
    struct sip_fork f;
    struct log l;
    mk(&f, &l, 3);
    sip_fork_response(&f, 0, 180, "r", 1);
    sip_fork_response(&f, 1, 302, "m", 1);
    sip_fork_response(&f, 2, 603, "decline", 7);
    ASSERT_EQ(l.ncan, 1);
    ASSERT_EQ(l.can[0], 0);
    ASSERT_EQ(l.elsewhere[0], 0); /* no cause=200 for a 6xx */
    ASSERT_EQ(l.nfwd, 1);         /* only the 180 so far */
    ASSERT_EQ(sip_fork_add(&f, NULL), -EALREADY);
    sip_fork_response(&f, 0, 487, "t", 1);
    ASSERT_EQ(l.nfwd, 2);
    ASSERT_EQ(l.fwd[1], 603);
    sip_fork_release(&f);
}

TEST(sip_fork_503_becomes_500)
{
    struct sip_fork f;
    struct log l;
    mk(&f, &l, 1);
    sip_fork_response(&f, 0, 503, "u", 1);
    ASSERT_EQ(l.nfwd, 0);
    ASSERT_EQ(l.nans, 1);
    ASSERT_EQ(l.ans[0], 500);
    sip_fork_release(&f);
}

TEST(sip_fork_timeout_is_408_flow_failure_is_480)
{
    struct sip_fork f;
    struct log l;
    mk(&f, &l, 2);
    sip_fork_timeout(&f, 0);
    sip_fork_flow_failed(&f, 1);
    ASSERT_EQ(l.nans, 1);
    ASSERT_EQ(l.ans[0], 408);
    sip_fork_release(&f);

    mk(&f, &l, 2);
    sip_fork_flow_failed(&f, 0);
    sip_fork_flow_failed(&f, 1);
    ASSERT_EQ(l.ans[0], 480); /* every binding's flow gone: unreachable */
    sip_fork_release(&f);

    mk(&f, &l, 2); /* a real answer beats the local 408 of the same class */
    sip_fork_response(&f, 0, 486, "b", 1);
    sip_fork_timeout(&f, 1);
    ASSERT_EQ(l.nfwd, 1);
    ASSERT_EQ(l.fwd[0], 486);
    sip_fork_release(&f);
}

TEST(sip_fork_caller_cancel_waits_for_provisional_then_487)
{
    struct sip_fork f;
    struct log l;
    mk(&f, &l, 2);
    sip_fork_response(&f, 0, 180, "r", 1);
    sip_fork_cancel(&f);
    ASSERT_EQ(l.ncan, 1); /* branch 1 has no provisional yet: 9.1 */
    ASSERT_EQ(l.can[0], 0);
    sip_fork_response(&f, 1, 100, "t", 1);
    ASSERT_EQ(l.ncan, 2);
    ASSERT_EQ(l.can[1], 1);
    sip_fork_response(&f, 1, 180, "r", 1); /* not forwarded after CANCEL */
    ASSERT_EQ(l.nfwd, 1);
    sip_fork_response(&f, 0, 487, "t", 1);
    ASSERT_EQ(l.nans, 0);
    sip_fork_response(&f, 1, 487, "t", 1);
    ASSERT_EQ(l.nans, 1);
    ASSERT_EQ(l.ans[0], 487);
    ASSERT_EQ(sip_fork_finished(&f), 1);
    sip_fork_release(&f);
}

TEST(sip_fork_cancel_after_2xx_changes_nothing)
{
    struct sip_fork f;
    struct log l;
    mk(&f, &l, 1);
    sip_fork_response(&f, 0, 200, "ok", 2);
    sip_fork_cancel(&f);
    ASSERT_EQ(l.ncan, 0);
    ASSERT_EQ(l.nans, 0);
    sip_fork_release(&f);
}

TEST(sip_fork_cancel_without_branches_is_487)
{
    struct sip_fork f;
    struct log l;
    mk(&f, &l, 0);
    sip_fork_cancel(&f); /* nothing to wait for */
    ASSERT_EQ(l.nans, 1);
    ASSERT_EQ(l.ans[0], 487);
    sip_fork_release(&f);
}

TEST(sip_fork_bounded_branches)
{
    struct sip_fork f;
    struct log l;
    mk(&f, &l, SIP_FORK_MAX);
    ASSERT_EQ(sip_fork_add(&f, NULL), -ENOSPC);
    ASSERT_EQ(sip_fork_response(&f, SIP_FORK_MAX, 180, "", 0), -EINVAL);
    sip_fork_release(&f);
}

/* Timer C through a real client transaction on a fake clock: after a 180
 * and 181 s of silence the branch is cancelled; 64*T1 later with no final
 * response it counts as 408. */
struct tc {
    struct sip_fork f;
    struct log l;
    struct sip_txn_tab *tab;
    int64_t now;
};

static int tc_send(void *ctx, const struct sip_flow *fl, const char *b, size_t n)
{
    (void)ctx; (void)fl; (void)b; (void)n;
    return 0;
}

static void tc_event(void *ctx, struct sip_txn *t, void *user, enum sip_txn_event ev)
{
    struct tc *c = ctx;
    (void)user;
    if (ev == SIP_TE_TIMER_C) {
        sip_fork_timer_c(&c->f, 0);
        sip_txn_client_cancelled(c->tab, t, c->now);
    } else if (ev == SIP_TE_TIMEOUT) {
        sip_fork_timeout(&c->f, 0);
    }
}

TEST(sip_fork_timer_c_cancels_then_408)
{
    static struct tc c;
    memset(&c, 0, sizeof c);
    struct sip_fork_ops ops = { l_fwd, l_ans, l_can, &c.l };
    sip_fork_init(&c.f, &ops, 1);
    struct sip_txn_cfg cfg;
    sip_txn_cfg_default(&cfg);
    struct sip_txn_ops tops = { tc_send, tc_event, NULL, &c };
    uint8_t key[16] = { 0 };
    c.tab = sip_txn_tab_new(&cfg, &tops, key);
    struct sip_txn_req q = { .buf = "INVITE", .len = 6, .branch = "z9hG4bKb", .blen = 8,
                             .method = 1 /* INVITE */, .reliable = 1, .ruri = "sip:x@y",
                             .rulen = 7, .timer_c = 1 };
    struct sip_txn *t;
    ASSERT_EQ(sip_txn_client_new(c.tab, &q, NULL, 0, &t), 0);
    ASSERT_EQ(sip_fork_add(&c.f, t), 0);
    void *u;
    ASSERT_EQ(sip_txn_client_response(c.tab, "z9hG4bKb", 8, 1, 180, "", 0, 1000, &t, &u),
              SIP_TXN_PASS);
    sip_fork_response(&c.f, 0, 180, "r", 1);
    while (sip_txn_count(c.tab)) {
        c.now = sip_txn_next(c.tab);
        ASSERT(c.now >= 0 && c.now < 1000000);
        sip_txn_tick(c.tab, c.now);
        if (c.l.ncan == 1 && c.l.nans == 0)
            ASSERT_EQ(c.now, 182000);
    }
    ASSERT_EQ(c.l.ncan, 1);
    ASSERT_EQ(c.l.nans, 1);
    ASSERT_EQ(c.l.ans[0], 408);
    ASSERT_EQ(c.now, 182000 + 32000);
    sip_txn_tab_free(c.tab);
    sip_fork_release(&c.f);
}
