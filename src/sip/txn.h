/*
 * sip/txn.h - SIP transactions (RFC 3261 section 17, with RFC 6026's
 * Accepted state): client and server, INVITE and non-INVITE, timers A to M
 * over unreliable transports and their reliable (stream) variants, and the
 * proxy's Timer C (RFC 3261 16.6 step 11) on INVITE client transactions.
 *
 * The layer is parse-free: the caller (the proxy) hands in the keys it
 * already parsed (branch, sent-by, method) and the bytes to send, and the
 * layer keeps a private copy of what it may have to retransmit. So it can be
 * driven by a unit test with plain strings and a fake clock.
 *
 * Time is an explicit `now` in milliseconds (any monotonic origin). The
 * owner arms one timer for sip_txn_next() and calls sip_txn_tick() when it
 * fires (and after each event, since events change the deadlines).
 *
 * Memory: a table holds at most `max` live transactions and at most
 * `max_bytes` of them (-ENOSPC beyond either), each one heap block sized to
 * its key plus what it may have to send again; a finished one keeps only
 * its key and its final response or ACK (about 200 bytes plus that
 * message), and is freed the moment it terminates (the `done` callback
 * tells its owner first). Holds after the final response (RFC 3261
 * 17.1.1.2, 17.1.2.2, 17.2.2; RFC 6026 for 2xx to INVITE): client INVITE
 * Timer D 64*T1 over UDP, 0 over streams; client non-INVITE Timer K T4
 * over UDP, 0 over streams; server non-INVITE Timer J 64*T1 over UDP, 0
 * over streams; server INVITE Timer I T4 after the ACK of a non-2xx (0 on
 * streams); Timers L and M 64*T1 after a 2xx (on every transport: they
 * absorb retransmitted INVITEs and pass on retransmitted 2xx). Nothing about a
 * transaction outlives it: no counters name a caller, only totals.
 *
 * Matching (17.1.3, 17.2.3): client transactions by (our branch, CSeq
 * method); server transactions by (branch, sent-by, method) where ACK
 * matches INVITE. Only RFC 3261 branches (magic cookie "z9hG4bK") can be
 * matched: the proxy refuses requests without one (see proxy.h).
 *
 * Return codes: 0 or a positive SIP_TXN_* verdict, else a negative errno:
 * -ENOSPC (table full), -ENOMEM, -EINVAL (bad argument), -ENOENT (no match).
 */
#ifndef T9_SIP_TXN_H
#define T9_SIP_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "sip/location.h" /* struct sip_flow */

/* Timer base values (RFC 3261 table 4), milliseconds. */
struct sip_txn_cfg {
    uint32_t t1;      /* RTT estimate, 500 */
    uint32_t t2;      /* max retransmit interval for non-INVITE, 4000 */
    uint32_t t4;      /* max time a message stays in the network, 5000 */
    uint32_t timer_c; /* proxy INVITE timer, > 3 minutes: 181000 */
    size_t max;       /* live transactions at most (at most 2^24) */
    size_t max_bytes; /* sip_txn_bytes() at most before new ones are
                         refused (0: only max bounds them) */
};

enum sip_txn_kind {
    SIP_TXN_CLIENT_INVITE = 1,
    SIP_TXN_CLIENT_NONINVITE,
    SIP_TXN_SERVER_INVITE,
    SIP_TXN_SERVER_NONINVITE,
};

enum sip_txn_state {
    SIP_TS_CALLING = 1, /* client INVITE, nothing received yet */
    SIP_TS_TRYING,      /* non-INVITE, nothing received / sent yet */
    SIP_TS_PROCEEDING,  /* a provisional response was received / sent */
    SIP_TS_COMPLETED,   /* a final non-2xx (INVITE) or any final (non-INVITE) */
    SIP_TS_ACCEPTED,    /* INVITE, a 2xx passed (RFC 6026) */
    SIP_TS_CONFIRMED,   /* server INVITE, the ACK for a non-2xx arrived */
    SIP_TS_TERMINATED,  /* only seen inside the done callback */
};

/* Events the owner hears about (struct sip_txn_ops.event). */
enum sip_txn_event {
    SIP_TE_TIMEOUT = 1,  /* client: Timer B or F fired (act as on a 408);
                            server INVITE: Timer H fired (the ACK never came) */
    SIP_TE_TRANSPORT,    /* a send failed (the flow is gone): act as on a 503 */
    SIP_TE_TIMER_C,      /* client INVITE: Timer C fired (16.7 step 2: CANCEL
                            it after a provisional, else act as on a 408) */
};

/* Verdicts of sip_txn_client_response and sip_txn_server_request. */
#define SIP_TXN_PASS 1     /* new for the transaction user: process it */
#define SIP_TXN_ABSORBED 2 /* a retransmission, handled here: drop it */

struct sip_txn;
struct sip_txn_tab;

struct sip_txn_ops {
    /* Sends n bytes over flow. Returns 0, or < 0 when the flow is gone (the
     * transaction then reports SIP_TE_TRANSPORT and ends). */
    int (*send)(void *ctx, const struct sip_flow *flow, const char *buf, size_t n);
    /* A timeout or transport event of transaction t, whose owner pointer is
     * user. The transaction is still alive during the call; it ends right
     * after for TIMEOUT and TRANSPORT (not for TIMER_C). */
    void (*event)(void *ctx, struct sip_txn *t, void *user, enum sip_txn_event ev);
    /* t is about to be freed: the owner forgets it. May be NULL. */
    void (*done)(void *ctx, struct sip_txn *t, void *user);
    void *ctx;
};

/* Defaults of RFC 3261: T1 500 ms, T2 4 s, T4 5 s, Timer C 181 s; at most
 * 2^20 live transactions and 128 MiB held by them. */
void sip_txn_cfg_default(struct sip_txn_cfg *cfg);

/* A new empty table. NULL on OOM, max 0 or t1 0. */
struct sip_txn_tab *sip_txn_tab_new(const struct sip_txn_cfg *cfg, const struct sip_txn_ops *ops,
                                    const uint8_t key[16]);
/* Frees every transaction (calling done for each) and the table. */
void sip_txn_tab_free(struct sip_txn_tab *tab);

/* Live transactions (the metric a test reads to prove nothing stays). */
size_t sip_txn_count(const struct sip_txn_tab *tab);
/* Bytes held by live transactions (blocks, estimated allocator overhead). */
size_t sip_txn_bytes(const struct sip_txn_tab *tab);

/* Earliest deadline of any transaction, or -1 when none. */
int64_t sip_txn_next(const struct sip_txn_tab *tab);
/* Fires every timer due at now: retransmissions, Timer C events,
 * timeouts, terminations. Returns the number of timers fired. */
int sip_txn_tick(struct sip_txn_tab *tab, int64_t now);

/* ---------------------------------------------------------------- client */

/* A request to send as a client transaction. */
struct sip_txn_req {
    const char *buf; size_t len;   /* the whole request as it goes out */
    const char *branch; size_t blen; /* the branch of the top Via we added */
    int method;                    /* enum sip_method of the request */
    struct sip_flow flow;          /* where it goes */
    int reliable;                  /* 1 over TCP/TLS: no retransmission */
    /* INVITE only, for the ACK of a non-2xx (17.1.1.3): the lines of the
     * request other than To, each "Name: value\r\n", exactly as sent:
     * start line with "ACK" in place of "INVITE" is made here, so give the
     * Request-URI, and the Via, From, Call-ID, Route lines and the CSeq
     * number. May be NULL for non-INVITE. */
    const char *ruri; size_t rulen;
    const char *ack_lines; size_t alen; /* Via, From, Call-ID, Route lines */
    uint32_t cseq;
    int timer_c;                   /* 1: arm Timer C (proxied INVITE) */
};

/* Creates a client transaction owned by user and sends the request.
 * Returns 0 with *out; -ENOSPC, -ENOMEM, -EINVAL; -ENOTCONN when the first
 * send failed (nothing is kept: the caller tries another flow). */
int sip_txn_client_new(struct sip_txn_tab *tab, const struct sip_txn_req *r, void *user,
                       int64_t now, struct sip_txn **out);

/* A response arrived: finds its client transaction by (branch, CSeq
 * method) and runs the state machine. to_line is the response's To header
 * line ("To: ...\r\n", for the ACK of a non-2xx INVITE response).
 * Returns SIP_TXN_PASS with *t and *user set (process the response),
 * SIP_TXN_ABSORBED (a retransmission: the ACK was resent if needed), or
 * -ENOENT (no transaction: a stateless proxy forwards 2xx by Via, see
 * 16.7 step 0; anything else is dropped). A 1xx re-arms Timer C. */
int sip_txn_client_response(struct sip_txn_tab *tab, const char *branch, size_t blen,
                            int cseq_method, int status, const char *to_line, size_t tolen,
                            int64_t now, struct sip_txn **t, void **user);

/* Stops Timer C of t and gives the transaction 64*T1 from now to see its
 * final response after a CANCEL (9.1); when none comes, SIP_TE_TIMEOUT. */
void sip_txn_client_cancelled(struct sip_txn_tab *tab, struct sip_txn *t, int64_t now);

/* ---------------------------------------------------------------- server */

/* The key of a received request. */
struct sip_txn_key {
    const char *branch; size_t blen;  /* top Via branch (with magic cookie) */
    const char *sentby; size_t slen;  /* top Via sent-by (host[:port]) */
    int method;                       /* enum sip_method; ACK finds INVITE */
};

/* A request arrived: is it a retransmission of a live server transaction?
 * Returns SIP_TXN_ABSORBED (the last response was resent, or an ACK
 * confirmed a non-2xx: drop it), SIP_TXN_PASS with *t for an ACK that
 * matched an INVITE transaction in Accepted state (RFC 6026: the ACK of a
 * 2xx is forwarded by the proxy core), or -ENOENT (a new request). */
int sip_txn_server_request(struct sip_txn_tab *tab, const struct sip_txn_key *k, int64_t now,
                           struct sip_txn **t);

/* Finds the live server transaction with key k (used to find the INVITE a
 * CANCEL is about: pass method INVITE). NULL when none. */
struct sip_txn *sip_txn_server_find(struct sip_txn_tab *tab, const struct sip_txn_key *k);

/* Creates a server transaction for a new request (ACK never has one).
 * flow is where responses go. Returns 0 with *out, -ENOSPC, -ENOMEM,
 * -EINVAL. */
int sip_txn_server_new(struct sip_txn_tab *tab, const struct sip_txn_key *k,
                       const struct sip_flow *flow, int reliable, void *user, int64_t now,
                       struct sip_txn **out);

/* The transaction user answers: sends the response of len bytes with
 * status and moves the state machine (17.2.1, 17.2.2; RFC 6026 for 2xx to
 * INVITE). A response given in a state that cannot take it (a second final
 * non-2xx, anything after Completed) is refused with -EALREADY. A 2xx in
 * Accepted is sent again (the proxy forwards every 2xx). Returns 0,
 * -EALREADY, -ENOMEM; on a failed send the transaction ends as on
 * SIP_TE_TRANSPORT and the call returns -ENOTCONN. */
int sip_txn_server_respond(struct sip_txn_tab *tab, struct sip_txn *t, int status,
                           const char *buf, size_t len, int64_t now);

/* ---------------------------------------------------------------- access */

enum sip_txn_kind sip_txn_kind(const struct sip_txn *t);
enum sip_txn_state sip_txn_state(const struct sip_txn *t);
void *sip_txn_user(const struct sip_txn *t);
void sip_txn_set_user(struct sip_txn *t, void *user);
/* Highest status sent (server) or received (client), 0 when none. */
int sip_txn_status(const struct sip_txn *t);
/* The flow the transaction sends to. */
const struct sip_flow *sip_txn_flow(const struct sip_txn *t);

#endif
