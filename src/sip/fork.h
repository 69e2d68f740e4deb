/*
 * sip/fork.h - the response context of a stateful proxy (RFC 3261 16.7,
 * 16.10): parallel branches of one request, which responses go to the
 * caller and when, which branches get a CANCEL.
 *
 * The fork decides; its owner (sip/proxy.c) does the I/O through struct
 * sip_fork_ops. Rules:
 *  - a 100 is never forwarded (the proxy sent its own at once);
 *  - other 1xx are forwarded at once while no final response went out;
 *  - every 2xx is forwarded at once (16.7 step 5: also after another 2xx);
 *    for INVITE the first one cancels every other unfinished branch with
 *    "Reason: SIP;cause=200;text=\"Call completed elsewhere\"" (RFC 3326);
 *  - a 6xx cancels every other unfinished branch and no new branch starts;
 *    it goes to the caller once all branches are finished;
 *  - otherwise, when every branch is finished, the best final response
 *    goes: a 6xx if there is one, else the lowest class (3xx before 4xx
 *    before 5xx), the first received within a class; a chosen 503 becomes
 *    a locally made 500 (16.7 step 6); a branch that timed out counts as a
 *    408, one whose flow was gone as a 503, and when every branch failed on
 *    its flow the callee counts as unreachable (480);
 *  - after the caller's CANCEL, every unfinished branch is cancelled (one
 *    with no provisional response yet only once a provisional comes, as 9.1
 *    asks) and the caller gets 487 unless a 2xx went out first;
 *  - Timer C on a branch cancels it when it had a provisional, else counts
 *    as a 408.
 * Pure code: no I/O, no clock (timers live in the transactions).
 */
#ifndef T9_SIP_FORK_H
#define T9_SIP_FORK_H

#include <stddef.h>
#include <stdint.h>

#define SIP_FORK_MAX 8 /* branches of one request (contacts of one user) */

enum sip_br_state {
    SIP_BR_CALLING = 0, /* sent, nothing back */
    SIP_BR_PROCEEDING,  /* a provisional came */
    SIP_BR_FINAL,       /* a final response (or a timeout / flow error) */
};

struct sip_fork;

struct sip_fork_ops {
    /* Forward the response buf (already without our Via) to the caller. */
    void (*forward)(void *ctx, struct sip_fork *f, int status, const char *buf, size_t len);
    /* Answer the caller with a locally made response (408, 480, 487, 500). */
    void (*answer)(void *ctx, struct sip_fork *f, int status);
    /* Send a CANCEL on branch i; completed_elsewhere: add Reason cause=200. */
    void (*cancel)(void *ctx, struct sip_fork *f, int i, int completed_elsewhere);
    void *ctx;
};

struct sip_fork_branch {
    uint8_t state;          /* enum sip_br_state */
    uint8_t cancel_pending; /* cancel once a provisional comes */
    uint8_t cancelled;      /* a CANCEL went out */
    uint8_t flow_failed;
    int status;             /* final status (408 / 503 for local failures) */
    void *user;             /* the owner's per-branch data */
};

struct sip_fork {
    struct sip_fork_ops ops;
    int invite;
    int n;
    struct sip_fork_branch br[SIP_FORK_MAX];
    int best_status;        /* 0 while none */
    char *best;             /* bytes of the best received final, or NULL */
    size_t best_len;
    uint8_t final_sent;     /* a final (or a 2xx) went to the caller */
    uint8_t sent_2xx;
    uint8_t got_6xx;
    uint8_t caller_cancelled;
    void *user;             /* the owner's per-fork data */
};

/* Sets up f (caller-allocated) for a request; invite: 1 for INVITE. */
void sip_fork_init(struct sip_fork *f, const struct sip_fork_ops *ops, int invite);
/* Frees the kept best response. f itself is the caller's. */
void sip_fork_release(struct sip_fork *f);

/* Adds a branch (after its request went out). Returns its index, or
 * -ENOSPC past SIP_FORK_MAX, -EALREADY after a 6xx, a 2xx or a CANCEL
 * (16.7 step 5: no new branches). */
int sip_fork_add(struct sip_fork *f, void *user);

/* A response on branch i. buf/len: the response as it is to go to the
 * caller (our Via removed). Returns 0, -ENOMEM (a final could not be
 * kept: the fork answers 500 when it ends), -EINVAL (bad index/status). */
int sip_fork_response(struct sip_fork *f, int i, int status, const char *buf, size_t len);

/* Branch i's transaction timed out (Timer B, or no final after a CANCEL). */
void sip_fork_timeout(struct sip_fork *f, int i);
/* Branch i's flow is gone (the owner drops the binding). */
void sip_fork_flow_failed(struct sip_fork *f, int i);
/* Timer C fired on branch i. */
void sip_fork_timer_c(struct sip_fork *f, int i);
/* The caller cancelled the request. */
void sip_fork_cancel(struct sip_fork *f);

/* 1 when every branch is final (or there is none) and the caller has its
 * final response. */
int sip_fork_finished(const struct sip_fork *f);

/* Rank of a final status for best-response selection: lower is better
 * (6xx first, then 3xx, 4xx, 5xx). Exposed for the unit tests. */
int sip_fork_rank(int status);

#endif
