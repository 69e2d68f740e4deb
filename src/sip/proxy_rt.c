/*
 * sip/proxy_rt.c - see proxy_rt.h.
 */
#include "sip/proxy_rt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "base/log.h"
#include "sip/proxy.h"
#include "sip/server.h"

struct local_addr {
    char host[64];       /* URI host: IPv6 in brackets */
    uint16_t port;
    uint8_t family, kind;
};

struct sip_proxy_rt {
    struct sip_server *s;
    struct sip_proxy *px;
    uv_timer_t timer;
    size_t nlocal;
    struct local_addr local[SIP_MAX_LISTENERS];
};

static int rt_send(void *ctx, const struct sip_flow *to, const char *buf, size_t n)
{
    struct sip_proxy_rt *rt = ctx;
    return sip__send(rt->s, to, buf, n);
}

static int rt_local(void *ctx, uint16_t listener, char host[64], uint16_t *port)
{
    struct sip_proxy_rt *rt = ctx;
    if (listener >= rt->nlocal || !rt->local[listener].host[0])
        return -ENOENT;
    memcpy(host, rt->local[listener].host, 64);
    *port = rt->local[listener].port;
    return 0;
}

static int rt_udp_listener(void *ctx, int family)
{
    struct sip_proxy_rt *rt = ctx;
    for (size_t i = 0; i < rt->nlocal; i++)
        if (rt->local[i].kind == SIP_TR_UDP && rt->local[i].family == family)
            return (int)i;
    return -1;
}

static int rt_is_local(void *ctx, const char *host, size_t hlen, uint16_t port)
{
    struct sip_proxy_rt *rt = ctx;
    for (size_t i = 0; i < rt->nlocal; i++) {
        const struct local_addr *l = &rt->local[i];
        if (strlen(l->host) == hlen && strncasecmp(l->host, host, hlen) == 0 &&
            (port == 0 || port == l->port))
            return 1;
    }
    return 0;
}

static void rt_fire(uv_timer_t *t);

static void rt_arm(struct sip_proxy_rt *rt)
{
    if (!rt->px || rt->s->stopping)
        return;
    int64_t next = sip_proxy_next(rt->px);
    if (next < 0) {
        uv_timer_stop(&rt->timer);
        return;
    }
    int64_t now = (int64_t)uv_now(rt->s->loop);
    uv_timer_start(&rt->timer, rt_fire, next > now ? (uint64_t)(next - now) : 0, 0);
}

static void rt_fire(uv_timer_t *t)
{
    struct sip_proxy_rt *rt = t->data;
    sip_proxy_tick(rt->px, (int64_t)uv_now(rt->s->loop));
    rt_arm(rt);
}

int sip_proxy_rt_start(struct sip_server *s, const char *realm, uint32_t t1_ms,
                       size_t max_txn, size_t max_txn_bytes, struct sip_proxy_rt **out)
{
    *out = NULL;
    struct sip_proxy_rt *rt = calloc(1, sizeof *rt);
    if (!rt)
        return -ENOMEM;
    rt->s = s;
    for (size_t i = 0; i < s->nlisteners && i < SIP_MAX_LISTENERS; i++) {
        union net_addr a;
        struct local_addr *la = &rt->local[i];
        int kind = net_listener_kind(s->lst[i]);
        la->kind = kind == NET_UDP ? SIP_TR_UDP : kind == NET_TCP ? SIP_TR_TCP : SIP_TR_TLS;
        if (net_listener_addr(s->lst[i], &a) < 0)
            continue;
        char ip[INET6_ADDRSTRLEN];
        if (a.sa.sa_family == AF_INET6) {
            inet_ntop(AF_INET6, &a.in6.sin6_addr, ip, sizeof ip);
            snprintf(la->host, sizeof la->host, "[%s]", ip);
            la->port = ntohs(a.in6.sin6_port);
            la->family = 6;
        } else {
            inet_ntop(AF_INET, &a.in.sin_addr, ip, sizeof ip);
            snprintf(la->host, sizeof la->host, "%s", ip);
            la->port = ntohs(a.in.sin_port);
            la->family = 4;
        }
    }
    rt->nlocal = s->nlisteners;
    struct sip_proxy_cfg cfg = { 0 };
    cfg.realm = realm;
    cfg.st = s->st;
    cfg.loc = s->h.loc;
    cfg.auth = &s->h.auth;
    sip_txn_cfg_default(&cfg.txn);
    if (max_txn)
        cfg.txn.max = max_txn;
    if (max_txn_bytes)
        cfg.txn.max_bytes = max_txn_bytes;
    if (t1_ms) {
        cfg.txn.t1 = t1_ms;
        if (t1_ms < 500) { /* a test clock: keep the RFC's ratios */
            cfg.txn.t2 = 8 * t1_ms;
            cfg.txn.t4 = 10 * t1_ms;
        }
    }
    struct sip_proxy_io io = { rt_send, rt_local, rt_udp_listener, rt_is_local, rt };
    rt->px = sip_proxy_new(&cfg, &io);
    if (!rt->px) {
        free(rt);
        return -ENOMEM;
    }
    uv_timer_init(s->loop, &rt->timer);
    rt->timer.data = rt;
    s->handles++;
    *out = rt;
    return 0;
}

static void on_rt_closed(uv_handle_t *h)
{
    struct sip_proxy_rt *rt = h->data;
    struct sip_server *s = rt->s;
    sip_proxy_free(rt->px);
    free(rt);
    sip__handle_closed(s);
}

void sip_proxy_rt_stop(struct sip_proxy_rt *rt)
{
    uv_timer_stop(&rt->timer);
    uv_close((uv_handle_t *)&rt->timer, on_rt_closed);
}

int sip_proxy_rt_wants(const struct sip_msg *m) { return sip_proxy_wants(m); }

int sip_proxy_rt_request(struct sip_proxy_rt *rt, const struct sip_msg *m,
                         const struct sip_flow *src)
{
    if (rt->s->stopping)
        return 0;
    int authed = sip_proxy_request(rt->px, m, src, (int64_t)uv_now(rt->s->loop));
    rt_arm(rt);
    return authed;
}

void sip_proxy_rt_response(struct sip_proxy_rt *rt, const struct sip_msg *m,
                           const struct sip_flow *src)
{
    if (rt->s->stopping)
        return;
    sip_proxy_response(rt->px, m, src, (int64_t)uv_now(rt->s->loop));
    rt_arm(rt);
}

void sip_proxy_rt_metrics(const struct sip_proxy_rt *rt, struct metrics_out *m)
{
    const struct sip_proxy_stats *st = sip_proxy_stats(rt->px);
    metrics_gauge(m, "t9phone_sip_transactions", "live SIP transactions (0 once calls end)",
                  NULL, (int64_t)sip_proxy_transactions(rt->px));
    metrics_gauge(m, "t9phone_sip_transaction_bytes",
                  "heap bytes held by live SIP transactions", NULL,
                  (int64_t)sip_proxy_transaction_bytes(rt->px));
    metrics_gauge(m, "t9phone_sip_proxy_context_bytes",
                  "heap bytes of the live proxy contexts of calls (their blocks)", NULL,
                  (int64_t)sip_proxy_call_bytes(rt->px));
    metrics_gauge(m, "t9phone_sip_proxy_contexts", "live proxy contexts (forks) of calls",
                  NULL, (int64_t)sip_proxy_calls(rt->px));
    metrics_counter(m, "t9phone_sip_calls_total", "initial INVITEs proxied, by outcome",
                    "outcome=\"setup\"", st->calls_setup);
    metrics_counter(m, "t9phone_sip_calls_total", NULL, "outcome=\"cancelled\"",
                    st->calls_cancelled);
    metrics_counter(m, "t9phone_sip_calls_total", NULL, "outcome=\"failed\"", st->calls_failed);
    metrics_counter(m, "t9phone_sip_proxy_forwarded_total", "requests forwarded (each branch)",
                    NULL, st->forwarded);
    metrics_counter(m, "t9phone_sip_proxy_in_dialog_total",
                    "in-dialog requests routed by Route", NULL, st->in_dialog);
    metrics_counter(m, "t9phone_sip_proxy_flows_gone_total",
                    "bindings dropped because their flow was gone", NULL, st->flows_gone);
    metrics_counter(m, "t9phone_sip_proxy_refused_total",
                    "requests refused because the transaction table was full", NULL,
                    st->refused_full);
    static const struct { const char *code; size_t off; } codes[] = {
        { "403", offsetof(struct sip_proxy_stats, code_403) },
        { "404", offsetof(struct sip_proxy_stats, code_404) },
        { "407", offsetof(struct sip_proxy_stats, code_407) },
        { "480", offsetof(struct sip_proxy_stats, code_480) },
        { "482", offsetof(struct sip_proxy_stats, code_482) },
        { "483", offsetof(struct sip_proxy_stats, code_483) },
        { "485", offsetof(struct sip_proxy_stats, code_485) },
    };
    char lab[32];
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        snprintf(lab, sizeof lab, "code=\"%s\"", codes[i].code);
        metrics_counter(m, "t9phone_sip_proxy_answers_by_code_total",
                        i ? NULL : "answers the proxy made itself, by status code", lab,
                        *(const uint64_t *)((const char *)st + codes[i].off));
    }
}

void sip_proxy_rt_log(const struct sip_proxy_rt *rt)
{
    const struct sip_proxy_stats *st = sip_proxy_stats(rt->px);
    log_info("sip", "%llu calls set up, %llu cancelled, %llu failed; %zu live transactions",
             (unsigned long long)st->calls_setup, (unsigned long long)st->calls_cancelled,
             (unsigned long long)st->calls_failed, sip_proxy_transactions(rt->px));
}
