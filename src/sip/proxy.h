/*
 * sip/proxy.h - the stateful proxy (RFC 3261 section 16) that connects
 * calls between registered phones.
 *
 * Out of dialog (no To tag) to our domain: the caller authenticates with
 * digest (407, sip/auth.h: the same enumeration-proof answers as the
 * registrar), must be the From user (else 403), and the Request-URI's user
 * (a dial code or a SIP username) is resolved by sip/route.h; the request
 * forks to every binding of the callee (sip/fork.h) over the flow the
 * binding registered from. The callee sees the caller as P-Asserted-
 * Identity "<nickname>" <sip:<dial code>@<realm>> and as the From display
 * name "<nickname> (<dial code>)"; any P-Asserted-Identity or
 * Remote-Party-ID the caller sent, and its Proxy-Authorization, are
 * removed. The caller, in turn, gets the callee's P-Asserted-Identity and To
 * display name the same way in the 1xx and 2xx of an initial INVITE (the
 * To URI and tag stay, so the dialog still matches). GRUUs (RFC 5627) are
 * not handed out by the registrar, so none needs routing.
 *
 * State only after authentication: challenges and every refusal before
 * it are answered without a transaction, so traffic that never
 * authenticates cannot fill the (bounded) transaction table.
 *
 * Every request: Max-Forwards 0 is answered 483 (one is added when absent);
 * a request that has been here before with the same Request-URI, tags,
 * Call-ID and CSeq is a loop (482: the loop hash of 16.6 step 8 is in our
 * branch); an unknown Proxy-Require gets 420. Requests without an RFC 3261
 * branch (magic cookie) are refused with 400.
 *
 * Record-Route: initial INVITEs are record-routed, twice when the flow out
 * differs in transport or address family from the flow in (RFC 5658).
 * Each Record-Route URI carries an encrypted, authenticated flow token
 * naming the caller's and the callee's flows (RFC 5626 5.3), so in-dialog
 * requests (ACK, BYE, re-INVITE, UPDATE, INFO, PRACK, NOTIFY) are routed by
 * their Route header alone and reach a phone over the flow it registered
 * from: the proxy keeps no dialog state and cannot tell how long a call
 * lasted. An in-dialog request without a valid token of ours is refused
 * (403): the proxy is no open relay.
 *
 * Privacy: only aggregate counters (calls set up, cancelled, answers by
 * code, live transactions); no log line, no record of any call.
 */
#ifndef T9_SIP_PROXY_H
#define T9_SIP_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "sip/auth.h"
#include "sip/location.h"
#include "sip/msg.h"
#include "sip/txn.h"

struct store;
struct sip_proxy;

/* What the proxy needs from the transports. */
struct sip_proxy_io {
    /* Sends n bytes over flow. 0, or < 0 when the flow is gone. */
    int (*send)(void *ctx, const struct sip_flow *to, const char *buf, size_t n);
    /* The address of local socket `listener` as a URI host (IPv6 in
     * brackets) and its port. 0 or -ENOENT. */
    int (*local)(void *ctx, uint16_t listener, char host[64], uint16_t *port);
    /* A UDP listener for family 4 or 6, or -1. */
    int (*udp_listener)(void *ctx, int family);
    /* 1 when host:port (port 0: the default) names one of our sockets. */
    int (*is_local)(void *ctx, const char *host, size_t hlen, uint16_t port);
    void *ctx;
};

struct sip_proxy_cfg {
    const char *realm;
    struct store *st;
    struct sip_loc *loc;
    struct sip_authn *auth;
    struct sip_txn_cfg txn;
};

/* Aggregate counters only. */
struct sip_proxy_stats {
    uint64_t calls_setup;      /* initial INVITEs answered 2xx */
    uint64_t calls_cancelled;  /* initial INVITEs the caller cancelled */
    uint64_t calls_failed;     /* initial INVITEs answered 3xx-6xx after forking */
    uint64_t forwarded;        /* requests forwarded (every branch) */
    uint64_t in_dialog;        /* requests routed by Route */
    uint64_t answers[7];       /* by class, answered by the proxy itself */
    uint64_t code_404, code_480, code_485, code_482, code_483, code_403, code_407;
    uint64_t flows_gone;       /* bindings dropped because their flow was gone */
    uint64_t refused_full;     /* 503: the transaction table was full */
};

/* A new proxy. cfg's pointers must outlive it; io is copied. NULL on OOM
 * or a missing field. */
struct sip_proxy *sip_proxy_new(const struct sip_proxy_cfg *cfg, const struct sip_proxy_io *io);
/* Ends every transaction (no message is sent) and frees the proxy. */
void sip_proxy_free(struct sip_proxy *px);

/* 1 when the proxy handles requests of this method (INVITE, ACK, CANCEL,
 * BYE, PRACK, UPDATE, INFO, NOTIFY, REFER, and OPTIONS to a user). */
int sip_proxy_wants(const struct sip_msg *m);

/* Handles a parsed request m that came from src at now_ms (the clock of
 * the transactions; the location table and nonces use now_ms / 1000).
 * Returns 1 when it carried good digest credentials, else 0. */
int sip_proxy_request(struct sip_proxy *px, const struct sip_msg *m,
                       const struct sip_flow *src, int64_t now_ms);
/* Handles a parsed response. */
void sip_proxy_response(struct sip_proxy *px, const struct sip_msg *m,
                        const struct sip_flow *src, int64_t now_ms);

/* Timers: the earliest deadline (-1 none), and firing what is due. */
int64_t sip_proxy_next(const struct sip_proxy *px);
void sip_proxy_tick(struct sip_proxy *px, int64_t now_ms);

const struct sip_proxy_stats *sip_proxy_stats(const struct sip_proxy *px);
/* Live transactions and the calls (fork contexts) holding them. */
size_t sip_proxy_transactions(const struct sip_proxy *px);
/* Heap bytes the live transactions hold (sip_txn_bytes), and those of the
 * live calls' blocks (the few strings a call keeps are not counted). */
size_t sip_proxy_transaction_bytes(const struct sip_proxy *px);
size_t sip_proxy_call_bytes(const struct sip_proxy *px);
size_t sip_proxy_calls(const struct sip_proxy *px);

#endif
