/*
 * sip/engine.c - the SIP engine: configuration keys, start, stop, metrics.
 * See engine.h; the sockets are in transport.c, the answers in handler.c.
 */
#include "sip/engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "core/core.h"
#include "core/resolve.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "net/conn.h"
#include "sip/proxy_rt.h"
#include "sip/server.h"

#define INT(n, d, lo, hi, h) { n, CONFIG_INT, d, lo, hi, NULL, 0, h }

static const struct config_key sip_keys[] = {
    { "no-sip", CONFIG_BOOL, "false", 0, 0, NULL, 0, "no SIP registrar (no SIP listeners)" },
    { "sip-ip", CONFIG_STRING, NULL, 0, 0, NULL, CONFIG_MULTI,
      "address to listen for SIP on (repeatable); default all IPv4 and IPv6 addresses" },
    INT("sip-port", "5060", 1, 65535, "SIP port for UDP and TCP"),
    INT("sip-tls-port", "5061", 1, 65535,
        "SIP port for TLS (only when cert and pkey are set)"),
    { "no-sip-tls", CONFIG_BOOL, "false", 0, 0, NULL, 0,
      "no SIP TLS listener even when cert and pkey are set" },
    INT("sip-max-connections", "1024", 0, 65535,
        "open SIP TCP and TLS connections at most (about 50 KiB each, 90 KiB with TLS); "
        "more are closed at once"),
    INT("sip-max-connections-per-ip", "32", 1, 65535,
        "open SIP TCP and TLS connections from one address at most"),
    INT("sip-message-timeout", "10", 1, 300,
        "seconds a SIP message may take to arrive whole on TCP/TLS, from its first byte "
        "(the TLS handshake too, from the connection's start)"),
    INT("sip-idle-timeout", "300", 5, 86400,
        "seconds a SIP TCP/TLS connection is kept without a message (phones send CRLF "
        "keep-alives)"),
    INT("sip-unauth-timeout", "60", 0, 86400,
        "seconds a SIP TCP/TLS connection may stay without a REGISTER that authenticated "
        "(0: no limit)"),
    INT("sip-min-expires", "60", 1, 86400, "shortest registration accepted (423 below it)"),
    INT("sip-max-expires", "3600", 1, 604800, "longest registration granted (longer is cut)"),
    INT("sip-default-expires", "3600", 1, 604800,
        "registration time when a REGISTER names none"),
    INT("sip-max-contacts", "5", 1, 10000, "bindings per user; the oldest is replaced beyond"),
    INT("sip-max-bindings", "1000000", 1, 100000000,
        "bindings in the location table at most (about 300 bytes each); 503 beyond"),
    INT("sip-nonce-lifetime", "300", 1, 86400,
        "seconds a digest nonce is good for; older ones are answered stale=true"),
    INT("sip-guard-slow", "5", 1, 1000000,
        "failed authentications from one address after which its answers are delayed"),
    INT("sip-guard-refuse", "20", 1, 1000000,
        "failed authentications from one address after which it is refused (503)"),
    INT("sip-guard-user-slow", "10", 1, 1000000,
        "failed authentications of one username after which failing addresses are delayed"),
    INT("sip-guard-user-refuse", "50", 1, 1000000,
        "failed authentications of one username after which addresses that failed for it "
        "are refused (the phone that authenticates from elsewhere is not)"),
    INT("sip-guard-time", "300", 1, 86400,
        "seconds a refusal lasts; counts are forgotten twice as long after the last failure"),
    INT("sip-guard-delay-ms", "1000", 0, 60000, "delay of a slowed answer in milliseconds"),
    INT("sip-t1-ms", "500", 50, 5000,
        "SIP timer T1 (RFC 3261 round-trip estimate) in milliseconds; transactions last "
        "64*T1 at most after their final answer"),
    INT("sip-max-transactions", "1048576", 16, 16777216,
        "live SIP transactions of the proxy at most (a call holds three for 64*T1 after it "
        "is set up, two for T4; about 200 bytes each once finished, and all of them 128 MiB "
        "at most); 503 beyond"),
    { NULL },
};

/* ------------------------------------------------------------ lifecycle */

void sip__handle_closed(struct sip_server *s)
{
    if (--s->handles > 0 || !s->stopping)
        return;
    void (*done)(void *) = s->done;
    void *arg = s->done_arg;
    log_info("sip", "stopped: %zu bindings dropped", sip_loc_count(s->h.loc));
    sip_loc_free(s->h.loc);
    sip_nc_free(s->nc);
    sip_guard_free(s->guard);
    sip_authn_wipe(&s->h.auth);
    crypto_wipe(s->h.tag_key, sizeof s->h.tag_key);
    free(s);
    if (done)
        done(arg);
}

static void on_timer_closed(uv_handle_t *h)
{
    sip__handle_closed(h->data);
}

static void on_sweep(uv_timer_t *t)
{
    struct sip_server *s = t->data;
    uint64_t now = uv_now(s->loop);
    /* One eighth of the buckets a second: every binding within 8 s of its
     * expiry is freed (lookups never return an expired one anyway). */
    size_t n = sip_loc_expire(s->h.loc, (int64_t)(now / 1000),
                              1 + sip_loc_buckets(s->h.loc) / 8);
    s->h.st.bindings_expired += n;
    if (now - s->last_log_ms >= 3600 * 1000ULL) {
        s->last_log_ms = now;
        log_info("sip", "%zu bindings, %llu expired, %zu connections; since start: %llu "
                        "registrations, %llu failed authentications, %llu refused",
                 sip_loc_count(s->h.loc), (unsigned long long)s->h.st.bindings_expired,
                 s->nconns, (unsigned long long)s->h.st.auth_ok,
                 (unsigned long long)s->h.st.auth_failed,
                 (unsigned long long)s->h.st.guard_refused);
        if (s->h.proxy)
            sip_proxy_rt_log(s->h.proxy);
    }
}

static int lookup_ha1(void *ctx, const char *user, uint8_t ha1[16])
{
    int rc = core_sip_lookup_ha1(ctx, user, ha1);
    return rc == -ENOENT ? -ENOENT : rc < 0 ? -EIO : 0;
}

static int parse_ip(const char *t, union net_addr *out)
{
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, t, &out->in.sin_addr) == 1) {
        out->in.sin_family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, t, &out->in6.sin6_addr) == 1) {
        out->in6.sin6_family = AF_INET6;
        return 0;
    }
    return -EINVAL;
}

/* The configured addresses, or every interface address (each bound on its
 * own, not the wildcard, so answers leave from the address the phone
 * used). */
static int listen_ips(const config_t *cfg, union net_addr *ips, size_t max, size_t *count,
                      char *err, size_t errlen)
{
    size_t n = 0, given = config_count(cfg, "sip-ip");
    if (given > max) {
        snprintf(err, errlen, "at most %zu sip-ip values", max);
        return -EINVAL;
    }
    for (size_t i = 0; i < given; i++) {
        if (parse_ip(config_nth(cfg, "sip-ip", i), &ips[n]) < 0) {
            snprintf(err, errlen, "sip-ip: '%s' is not an address", config_nth(cfg, "sip-ip", i));
            return -EINVAL;
        }
        n++;
    }
    if (given) {
        *count = n;
        return 0;
    }
    uv_interface_address_t *ifs;
    int nif;
    if (uv_interface_addresses(&ifs, &nif) < 0) {
        snprintf(err, errlen, "cannot list interface addresses: set sip-ip");
        return -EINVAL;
    }
    for (int i = 0; i < nif && n < max; i++) {
        union net_addr a;
        memset(&a, 0, sizeof a);
        int fam = ifs[i].address.address4.sin_family;
        if (fam == AF_INET)
            memcpy(&a.in, &ifs[i].address.address4, sizeof a.in);
        else if (fam == AF_INET6)
            memcpy(&a.in6, &ifs[i].address.address6, sizeof a.in6);
        else
            continue;
        if (fam == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&a.in6.sin6_addr))
            continue;
        int dup = 0;
        for (size_t j = 0; j < n; j++) {
            if (ips[j].sa.sa_family != fam)
                continue;
            dup |= fam == AF_INET ? ips[j].in.sin_addr.s_addr == a.in.sin_addr.s_addr
                                  : memcmp(&ips[j].in6.sin6_addr, &a.in6.sin6_addr, 16) == 0;
        }
        if (!dup)
            ips[n++] = a;
    }
    uv_free_interface_addresses(ifs, nif);
    *count = n;
    return 0;
}

static int setup(struct sip_server *s, const struct engine_env *env, char *err, size_t errlen)
{
    const config_t *cfg = env->cfg;
    uint8_t key[16];
    int rc = crypto_random_bytes(s->h.tag_key, sizeof s->h.tag_key);
    if (rc == 0)
        rc = crypto_random_bytes(key, sizeof key);
    if (rc < 0) {
        snprintf(err, errlen, "no randomness for the SIP keys");
        return rc;
    }
    s->h.lim.min_expires = (uint32_t)config_int(cfg, "sip-min-expires");
    s->h.lim.max_expires = (uint32_t)config_int(cfg, "sip-max-expires");
    s->h.lim.default_expires = (uint32_t)config_int(cfg, "sip-default-expires");
    if (s->h.lim.min_expires > s->h.lim.max_expires) {
        snprintf(err, errlen, "sip-min-expires is above sip-max-expires");
        return -EINVAL;
    }
    if (s->h.lim.default_expires < s->h.lim.min_expires)
        s->h.lim.default_expires = s->h.lim.min_expires;
    if (s->h.lim.default_expires > s->h.lim.max_expires)
        s->h.lim.default_expires = s->h.lim.max_expires;
    uint32_t msg_ms = 1000u * (uint32_t)config_int(cfg, "sip-message-timeout");
    s->limits = (struct net_conn_limits){
        .max_conns = (size_t)config_int(cfg, "sip-max-connections"),
        .max_per_source = (size_t)config_int(cfg, "sip-max-connections-per-ip"),
        .rbuf = SIP_MAX_STREAM,
        .out_cap = SIP_CONN_OUT_CAP,
        .out_pause = SIP_CONN_OUT_CAP / 2,
        .frame_ms = msg_ms,
        .idle_ms = 1000u * (uint32_t)config_int(cfg, "sip-idle-timeout"),
        .handshake_ms = msg_ms,
        .unauth_ms = 1000u * (uint32_t)config_int(cfg, "sip-unauth-timeout"),
        .sweep_ms = 1000,
    };
    s->delay_ms = (uint64_t)config_int(cfg, "sip-guard-delay-ms");
    struct sip_guard_cfg g = {
        (uint32_t)config_int(cfg, "sip-guard-slow"), (uint32_t)config_int(cfg, "sip-guard-refuse"),
        (uint32_t)config_int(cfg, "sip-guard-user-slow"),
        (uint32_t)config_int(cfg, "sip-guard-user-refuse"),
        (uint32_t)config_int(cfg, "sip-guard-time"),
        2 * (uint32_t)config_int(cfg, "sip-guard-time"), 1 << 14,
    };
    if (g.addr_refuse < g.addr_slow || g.user_refuse < g.user_slow) {
        snprintf(err, errlen, "sip-guard-refuse values must not be below their -slow values");
        return -EINVAL;
    }
    s->guard = sip_guard_new(key, &g);
    key[0] ^= 1;
    s->nc = sip_nc_new(key, 1 << 17);
    key[0] ^= 2;
    s->h.loc = sip_loc_new(key, (size_t)config_int(cfg, "sip-max-bindings"),
                           (unsigned)config_int(cfg, "sip-max-contacts"));
    crypto_wipe(key, sizeof key);
    if (!s->guard || !s->nc || !s->h.loc) {
        snprintf(err, errlen, "out of memory for the SIP tables");
        return -ENOMEM;
    }
    const char *realm = env->core && env->core->realm ? env->core->realm : NULL;
    rc = sip_authn_init(&s->h.auth, realm, (uint32_t)config_int(cfg, "sip-nonce-lifetime"),
                        s->nc, s->guard, lookup_ha1, env->st);
    if (rc < 0) {
        snprintf(err, errlen, "realm must be 1 to 255 bytes without quotes for SIP");
        return rc;
    }
    return 0;
}

static void sip_stop(void *state, void (*done)(void *arg), void *arg);

static const char *realm_of(const struct engine_env *env)
{
    return env->core && env->core->realm ? env->core->realm : "";
}

static int sip_start(const struct engine_env *env, void **state, char *err, size_t errlen)
{
    *state = NULL;
    if (config_bool(env->cfg, "no-sip"))
        return 0;
    struct sip_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory for SIP");
        return -ENOMEM;
    }
    s->loop = env->loop;
    s->st = env->st;
    s->tls = config_bool(env->cfg, "no-sip-tls") ? NULL : env->tls;
    int rc = setup(s, env, err, errlen);
    if (rc < 0) {
        sip_loc_free(s->h.loc);
        sip_nc_free(s->nc);
        sip_guard_free(s->guard);
        free(s);
        return rc;
    }
    uv_timer_init(s->loop, &s->sweep);
    s->sweep.data = s;
    uv_timer_init(s->loop, &s->delay_timer);
    s->delay_timer.data = s;
    s->handles = 2;
    s->last_log_ms = uv_now(s->loop);
    union net_addr ips[SIP_MAX_LISTENERS / 3];
    size_t nips = 0;
    int port = (int)config_int(env->cfg, "sip-port");
    int tport = (int)config_int(env->cfg, "sip-tls-port");
    rc = listen_ips(env->cfg, ips, sizeof ips / sizeof ips[0], &nips, err, errlen);
    for (size_t i = 0; rc == 0 && i < nips; i++) {
        rc = sip__listen(s, NET_UDP, &ips[i], port, err, errlen);
        if (rc == 0)
            rc = sip__listen(s, NET_TCP, &ips[i], port, err, errlen);
        if (rc == 0 && s->tls)
            rc = sip__listen(s, NET_TLS, &ips[i], tport, err, errlen);
    }
    if (rc == 0 && nips == 0) {
        snprintf(err, errlen, "no address to listen for SIP on: set sip-ip");
        rc = -EINVAL;
    }
    if (rc < 0) {
        sip_stop(s, NULL, NULL);
        return rc;
    }
    if (sip_proxy_rt_start(s, realm_of(env), (uint32_t)config_int(env->cfg, "sip-t1-ms"),
                           (size_t)config_int(env->cfg, "sip-max-transactions"), 0,
                           &s->h.proxy) < 0) {
        snprintf(err, errlen, "out of memory for the SIP proxy");
        sip_stop(s, NULL, NULL);
        return -ENOMEM;
    }
    uv_timer_start(&s->sweep, on_sweep, 1000, 1000);
    if (s->tls)
        log_info("sip", "listening on %zu addresses: UDP and TCP port %d, TLS port %d", nips,
                 port, tport);
    else
        log_info("sip", "listening on %zu addresses: UDP and TCP port %d (no TLS: cert and "
                        "pkey are not set)", nips, port);
    *state = s;
    return 0;
}

static void sip_stop(void *state, void (*done)(void *arg), void *arg)
{
    struct sip_server *s = state;
    s->stopping = 1;
    s->done = done;
    s->done_arg = arg;
    uv_timer_stop(&s->sweep);
    uv_timer_stop(&s->delay_timer);
    if (s->h.proxy)
        sip_proxy_rt_stop(s->h.proxy);
    s->h.proxy = NULL;
    sip__close_all(s);
    uv_close((uv_handle_t *)&s->sweep, on_timer_closed);
    uv_close((uv_handle_t *)&s->delay_timer, on_timer_closed);
}

/* ------------------------------------------------------------ metrics */

static const char *const method_names[SIP_M_REFER + 1] = {
    "other", "INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "INFO",
    "PRACK", "UPDATE", "SUBSCRIBE", "NOTIFY", "PUBLISH", "MESSAGE", "REFER",
};

static const char *const fault_names[SIP_F_BODY_TOO_BIG + 1] = {
    "none", "start_line", "version", "request_uri", "too_big", "line_too_long",
    "too_many_headers", "header_line", "bad_header", "too_many", "duplicate", "missing",
    "cseq_method", "body", "body_too_big",
};

static void sip_metrics(void *state, struct metrics_out *m)
{
    struct sip_server *s = state;
    const struct sip_stats *st = &s->h.st;
    char lab[64];
    for (int i = 0; i <= SIP_M_REFER; i++) {
        snprintf(lab, sizeof lab, "method=\"%s\"", method_names[i]);
        metrics_counter(m, "t9phone_sip_requests_total", "SIP requests received, by method",
                        lab, st->requests[i]);
    }
    metrics_counter(m, "t9phone_sip_responses_received_total",
                    "SIP responses received (dropped: nothing is proxied yet)", NULL,
                    st->responses_in);
    for (int i = 1; i <= 6; i++) {
        snprintf(lab, sizeof lab, "class=\"%dxx\"", i);
        metrics_counter(m, "t9phone_sip_answers_total", "SIP answers sent, by status class",
                        lab, st->answers_class[i]);
    }
    for (int i = 0; i < SIP_STATS_CODES; i++) {
        snprintf(lab, sizeof lab, "code=\"%d\"", sip_stats_codes[i]);
        metrics_counter(m, "t9phone_sip_answers_by_code_total",
                        "SIP answers sent, by status code", lab, st->answers_code[i]);
    }
    for (int i = 1; i <= SIP_F_BODY_TOO_BIG; i++) {
        snprintf(lab, sizeof lab, "cause=\"%s\"", fault_names[i]);
        metrics_counter(m, "t9phone_sip_parse_refused_total",
                        "SIP messages refused by the parser or the framer, by cause", lab,
                        st->parse_refused[i]);
    }
    metrics_gauge(m, "t9phone_sip_bindings", "registered contacts in the location table",
                  NULL, (int64_t)sip_loc_count(s->h.loc));
    metrics_gauge(m, "t9phone_sip_location_bytes", "heap bytes of the location table", NULL,
                  (int64_t)sip_loc_bytes(s->h.loc));
    metrics_counter(m, "t9phone_sip_bindings_added_total", "bindings added", NULL,
                    st->bindings_added);
    metrics_counter(m, "t9phone_sip_bindings_refreshed_total", "bindings refreshed", NULL,
                    st->bindings_refreshed);
    metrics_counter(m, "t9phone_sip_bindings_removed_total", "bindings removed by REGISTER",
                    NULL, st->bindings_removed);
    metrics_counter(m, "t9phone_sip_bindings_expired_total", "bindings expired", NULL,
                    st->bindings_expired);
    if (s->net)
        net_conns_metrics(s->net, m, "t9phone_sip");
    metrics_counter(m, "t9phone_sip_answers_dropped_total",
                    "answers to a stream whose output was full (back-pressure)", NULL,
                    s->out_dropped);
    metrics_counter(m, "t9phone_sip_auth_total", "digest authentications, by result",
                    "result=\"ok\"", st->auth_ok);
    metrics_counter(m, "t9phone_sip_auth_total", NULL, "result=\"failed\"", st->auth_failed);
    metrics_counter(m, "t9phone_sip_auth_total", NULL, "result=\"stale\"", st->auth_stale);
    metrics_counter(m, "t9phone_sip_auth_total", NULL, "result=\"challenged\"",
                    st->auth_challenge);
    metrics_counter(m, "t9phone_sip_guard_total", "answers slowed or refused by the failure "
                    "guard", "action=\"slowed\"", st->guard_slowed);
    metrics_counter(m, "t9phone_sip_guard_total", NULL, "action=\"refused\"", st->guard_refused);
    metrics_counter(m, "t9phone_sip_guard_total", NULL, "action=\"dropped\"",
                    s->delayed_dropped);
    metrics_counter(m, "t9phone_sip_keepalives_total", "keep-alives answered or dropped",
                    "kind=\"crlf\"", st->keepalives);
    metrics_counter(m, "t9phone_sip_keepalives_total", NULL, "kind=\"stun\"", st->stun_bindings);
    if (s->h.proxy)
        sip_proxy_rt_metrics(s->h.proxy, m);
}

/* Stream connections are the only descriptors that grow with load. */
static size_t sip_fd_uses(const config_t *cfg, struct net_fd_use *uses, size_t max)
{
    if (config_bool(cfg, "no-sip"))
        return 0;
    if (max > 0)
        uses[0] = (struct net_fd_use){ "sip-max-connections",
                                       (uint64_t)config_int(cfg, "sip-max-connections") };
    return 1;
}

const struct engine sip_engine = {
    .name = "sip",
    .keys = sip_keys,
    .start = sip_start,
    .stop = sip_stop,
    .reload = NULL,
    .metrics = sip_metrics,
    .fd_uses = sip_fd_uses,
};
