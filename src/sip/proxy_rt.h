/*
 * sip/proxy_rt.h - the proxy (sip/proxy.h) on the SIP engine's sockets and
 * loop: sends through the engine's transports (sip__send), knows the
 * listeners' addresses for Via and Record-Route, and runs one libuv timer
 * for every transaction deadline. Internal to sip/.
 */
#ifndef T9_SIP_PROXY_RT_H
#define T9_SIP_PROXY_RT_H

#include "net/metrics.h"
#include "sip/location.h"
#include "sip/msg.h"

struct sip_server;
struct sip_proxy_rt;

/* Starts the proxy on server s (after its listeners are open), with timer
 * T1 of t1_ms (T2 and T4 scale with it when it is below 500) and at most
 * max_txn live transactions holding at most max_txn_bytes (0 for either:
 * sip_txn_cfg_default's). 0 with *out, or -ENOMEM. One handle (the timer) is added to s->handles. */
int sip_proxy_rt_start(struct sip_server *s, const char *realm, uint32_t t1_ms,
                       size_t max_txn, size_t max_txn_bytes, struct sip_proxy_rt **out);
/* Closes the timer; the proxy and every transaction are freed when it has
 * closed (then s's handle count drops). */
void sip_proxy_rt_stop(struct sip_proxy_rt *rt);

/* 1 when the proxy takes this request (sip_proxy_wants). */
int sip_proxy_rt_wants(const struct sip_msg *m);
/* Returns 1 when the request's digest credentials were good (a stream
 * connection then counts as authenticated, as after a REGISTER). */
int sip_proxy_rt_request(struct sip_proxy_rt *rt, const struct sip_msg *m,
                         const struct sip_flow *src);
void sip_proxy_rt_response(struct sip_proxy_rt *rt, const struct sip_msg *m,
                           const struct sip_flow *src);

/* The proxy's counters and the live-transaction gauge. */
void sip_proxy_rt_metrics(const struct sip_proxy_rt *rt, struct metrics_out *m);
/* The once-an-hour counters line for the log ("42 calls set up, 3
 * cancelled"): counters only. */
void sip_proxy_rt_log(const struct sip_proxy_rt *rt);

#endif
