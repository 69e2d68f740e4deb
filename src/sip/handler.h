/*
 * sip/handler.h - what the SIP engine answers to one message, apart from
 * any socket: parse, dispatch by method, REGISTER through the registrar,
 * and the answer's bytes. The transports (sip/transport.c) feed it whole
 * messages and send back what it writes.
 *
 * Answers, by request:
 *   REGISTER                 the registrar (sip/registrar.h), digest first
 *   OPTIONS to the server    200 with Allow, Supported, Accept
 *   OPTIONS to a user        480, the same for every user (part 2 will proxy)
 *   INVITE                   480 Temporarily Unavailable: calls are SIP part 2;
 *                            the same for every callee, so it tells nothing
 *   BYE CANCEL PRACK UPDATE  481: there is no dialog or transaction yet
 *   INFO NOTIFY REFER
 *   MESSAGE SUBSCRIBE        405 with Allow: T9phone keeps no messages and no
 *   PUBLISH                  presence
 *   ACK                      nothing
 *   any other method         501 with Allow
 *   unknown Require /        420 with Unsupported (before anything else but the
 *   Proxy-Require            method check, RFC 3261 8.2.2.3)
 *   malformed                400/413/505/513 with a reason naming the fault
 * Responses are never answered. Every answer carries received= and, when
 * asked, rport= in the top Via (RFC 3581), challenges included.
 *
 * No content of a message is ever logged: only counters (struct
 * sip_stats) change.
 */
#ifndef T9_SIP_HANDLER_H
#define T9_SIP_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include "sip/auth.h"
#include "sip/location.h"
#include "sip/msg.h"

/* Status codes counted one by one; others by class only. */
#define SIP_STATS_CODES 17
extern const int sip_stats_codes[SIP_STATS_CODES];

/* Aggregate counters: never per user, address or call. */
struct sip_stats {
    uint64_t requests[SIP_M_REFER + 1];   /* by enum sip_method, 0 other */
    uint64_t responses_in;                /* responses received (dropped) */
    uint64_t answers_class[7];            /* [1..6]: 1xx..6xx sent */
    uint64_t answers_code[SIP_STATS_CODES];
    uint64_t parse_refused[SIP_F_BODY_TOO_BIG + 1]; /* by enum sip_fault */
    uint64_t auth_ok, auth_failed, auth_stale, auth_challenge;
    uint64_t guard_slowed, guard_refused;
    uint64_t bindings_added, bindings_refreshed, bindings_removed, bindings_expired;
    uint64_t stun_bindings, keepalives;
};

struct sip_reg_limits {
    uint32_t min_expires, max_expires, default_expires;
};

struct sip_proxy_rt; /* sip/proxy_rt.h: calls (SIP part 2) */

struct sip_handler {
    struct sip_proxy_rt *proxy; /* NULL: requests are answered as below */
    struct sip_authn auth;
    struct sip_loc *loc;
    struct sip_reg_limits lim;
    uint8_t tag_key[16];       /* To tags: a keyed hash of the request's ids */
    struct sip_stats st;
    struct sip_msg msg;        /* the message being handled (25 KiB) */
};

/* An answer: len bytes in buf (0: nothing to send). delay asks the
 * transport to hold it (the guard slows this source down). */
struct sip_answer {
    char buf[SIP_MAX_DGRAM];
    size_t len;
    int delay;
    int authenticated;         /* the request's digest credentials were good */
};

/* Handles one message of len bytes (a datagram, or a stream frame with
 * stream = 1) from src at time now (seconds), writing the answer into
 * *ans. */
void sip_handle(struct sip_handler *h, const char *buf, size_t len, int stream,
                const struct sip_flow *src, uint32_t now, struct sip_answer *ans);

/* The source address as text for received= (IPv6 without brackets). */
void sip_flow_ip_text(const struct sip_flow *f, char out[48]);

/* Used by the registrar: answers req with status (reason NULL: standard)
 * and extra header lines, counting it. */
void sip__answer(struct sip_handler *h, const struct sip_msg *req, const struct sip_flow *src,
                 int status, const char *reason, const char *extra, struct sip_answer *ans);

#endif
