/*
 * turn/server.c - STUN/TURN server on libuv. See server.h; how the work is
 * shared between the turn/ modules is in turn/internal.h.
 */
#include "turn/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "net/tls.h"
#include "turn/alloc.h"
#include "turn/internal.h"
#include "turn/peer.h"
#include "turn/transport.h"

/* ------------------------------------------------------------ handles */

void turn__handle_closed(struct turn_server *ts)
{
    if (--ts->handles > 0 || !ts->stopping)
        return;
    void (*done)(void *) = ts->done;
    void *arg = ts->done_arg;
    log_info("turn", "stopped: %llu allocations served, %llu packets relayed, %llu dropped",
             (unsigned long long)ts->n_alloc, (unsigned long long)ts->n_relayed,
             (unsigned long long)ts->n_dropped);
    for (size_t i = 0; i < ts->nsecrets; i++) {
        explicit_bzero(ts->secrets[i], strlen(ts->secrets[i]));
        free(ts->secrets[i]);
    }
    tls_server_free(ts->tls);
    free(ts->denied);
    free(ts->allowed);
    free(ts->own);
    free(ts->listeners);
    explicit_bzero(ts->nonce_secret, sizeof ts->nonce_secret);
    free(ts);
    if (done)
        done(arg);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct turn_server *ts = h->data;
    turn__handle_closed(ts);
}

/* ------------------------------------------------------------ timers */

static void on_sweep(uv_timer_t *t)
{
    struct turn_server *ts = t->data;
    uint64_t now = now_ms(ts);
    turn__alloc_sweep(ts, now);
    turn__conn_sweep(ts, now);
    turn__resv_sweep(ts, 0);
    if (now - ts->last_stats >= 3600 * 1000ULL) {
        ts->last_stats = now;
        log_info("turn", "%zu allocations, %zu connections; since start: %llu allocations, "
                         "%llu packets relayed, %llu dropped, %llu peers denied, %llu failed "
                         "authentications",
                 ts->nallocs, ts->nconns, (unsigned long long)ts->n_alloc,
                 (unsigned long long)ts->n_relayed, (unsigned long long)ts->n_dropped,
                 (unsigned long long)ts->n_denied, (unsigned long long)ts->n_auth_fail);
    }
}

/* ------------------------------------------------------------ start / stop */

static int parse_ip(const char *s, union sa *out)
{
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, s, &out->in.sin_addr) == 1) {
        out->in.sin_family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, s, &out->in6.sin6_addr) == 1) {
        out->in6.sin6_family = AF_INET6;
        return 0;
    }
    return -EINVAL;
}

static int is_wildcard(const union sa *a)
{
    static const uint8_t zero[16];
    size_t n;
    const uint8_t *ip = sa_ip(a, &n);
    return memcmp(ip, zero, n) == 0;
}

/* Listening addresses: the configured ones, or every interface address
 * (binding each address, not the wildcard, keeps replies leaving from the
 * address the client used). */
static int listen_ips(const config_t *cfg, union sa *ips, size_t max, size_t *count, char *err,
                      size_t errlen)
{
    size_t n = 0;
    size_t given = config_count(cfg, "listening-ip");
    if (given > max) {
        snprintf(err, errlen, "at most %zu listening-ip values", max);
        return -EINVAL;
    }
    for (size_t i = 0; i < given; i++) {
        if (parse_ip(config_nth(cfg, "listening-ip", i), &ips[n]) < 0) {
            snprintf(err, errlen, "listening-ip: '%s' is not an address",
                     config_nth(cfg, "listening-ip", i));
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
        snprintf(err, errlen, "cannot list interface addresses: set listening-ip");
        return -EINVAL;
    }
    for (int i = 0; i < nif && n < max; i++) {
        union sa a;
        sa_copy(&a, (struct sockaddr *)&ifs[i].address);
        if (a.sa.sa_family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&a.in6.sin6_addr))
            continue;
        if (a.sa.sa_family != AF_INET && a.sa.sa_family != AF_INET6)
            continue;
        int dup = 0;
        for (size_t j = 0; j < n; j++) {
            size_t l1, l2;
            const uint8_t *x = sa_ip(&a, &l1), *y = sa_ip(&ips[j], &l2);
            dup |= a.sa.sa_family == ips[j].sa.sa_family && memcmp(x, y, l1) == 0;
        }
        if (!dup)
            ips[n++] = a;
    }
    uv_free_interface_addresses(ifs, nif);
    *count = n;
    return 0;
}

static int parse_ranges(const config_t *cfg, const char *key, struct turn_ip_range **out,
                        size_t *n, char *err, size_t errlen)
{
    size_t c = config_count(cfg, key);
    *out = calloc(c ? c : 1, sizeof **out);
    if (!*out)
        return -ENOMEM;
    for (size_t i = 0; i < c; i++) {
        if (turn_range_parse(config_nth(cfg, key, i), &(*out)[i]) < 0) {
            snprintf(err, errlen, "%s: '%s' is not an address or range", key,
                     config_nth(cfg, key, i));
            return -EINVAL;
        }
    }
    *n = c;
    return 0;
}

static int configure(struct turn_server *ts, const config_t *cfg, union sa *ips, size_t nips,
                     char *err, size_t errlen)
{
    const char *realm = config_str(cfg, "realm");
    ts->realm_len = strlen(realm);
    if (ts->realm_len == 0 || ts->realm_len >= sizeof ts->realm) {
        snprintf(err, errlen, "realm must be 1 to 255 bytes");
        return -EINVAL;
    }
    memcpy(ts->realm, realm, ts->realm_len);
    ts->listen_port = (int)config_int(cfg, "listening-port");
    ts->tls_port = (int)config_int(cfg, "tls-listening-port");
    ts->min_port = (unsigned)config_int(cfg, "min-port");
    ts->max_port = (unsigned)config_int(cfg, "max-port");
    if (ts->min_port > ts->max_port) {
        snprintf(err, errlen, "min-port is above max-port");
        return -EINVAL;
    }
    ts->use_auth_secret = config_bool(cfg, "use-auth-secret");
    ts->nsecrets = config_count(cfg, "static-auth-secret");
    if (ts->nsecrets > MAX_SECRETS) {
        snprintf(err, errlen, "at most %d static-auth-secret values", MAX_SECRETS);
        return -EINVAL;
    }
    for (size_t i = 0; i < ts->nsecrets; i++)
        if (!(ts->secrets[i] = strdup(config_nth(cfg, "static-auth-secret", i))))
            return -ENOMEM;
    if (ts->use_auth_secret && ts->nsecrets == 0) {
        snprintf(err, errlen, "use-auth-secret needs at least one static-auth-secret");
        return -EINVAL;
    }
    const char *sep = config_str(cfg, "rest-api-separator");
    if (!sep || strlen(sep) != 1) {
        snprintf(err, errlen, "rest-api-separator must be one character");
        return -EINVAL;
    }
    ts->sep = sep[0];
    ts->user_quota = config_int(cfg, "user-quota");
    ts->max_conns = (size_t)config_int(cfg, "turn-max-connections");
    ts->total_quota = config_int(cfg, "total-quota");
    ts->max_bps = (uint64_t)config_int(cfg, "max-bps");
    ts->bps_capacity = (uint64_t)config_int(cfg, "bps-capacity");
    ts->stale_nonce = (uint32_t)config_int(cfg, "stale-nonce");
    ts->max_lifetime = (uint32_t)config_int(cfg, "max-allocate-lifetime");
    ts->channel_lifetime = (uint32_t)config_int(cfg, "channel-lifetime");
    ts->perm_lifetime = (uint32_t)config_int(cfg, "permission-lifetime");
    const char *fam = config_str(cfg, "allocation-default-address-family");
    ts->default_family = !fam || strcmp(fam, "ipv4") == 0 ? AF_INET
                         : strcmp(fam, "ipv6") == 0       ? AF_INET6
                                                          : 0;
    ts->fingerprint = config_bool(cfg, "fingerprint");
    ts->no_stun = config_bool(cfg, "no-stun");
    ts->stun_only = config_bool(cfg, "stun-only");
    ts->no_software = config_bool(cfg, "no-software-attribute");
    if (ts->no_stun && ts->stun_only) {
        snprintf(err, errlen, "no-stun and stun-only together leave nothing to serve");
        return -EINVAL;
    }

    /* Relay addresses: relay-ip, else the listening addresses. */
    union sa relays[MAX_LISTEN_IPS];
    size_t nrel = 0;
    for (size_t i = 0; i < config_count(cfg, "relay-ip") && nrel < MAX_LISTEN_IPS; i++) {
        if (parse_ip(config_nth(cfg, "relay-ip", i), &relays[nrel]) < 0) {
            snprintf(err, errlen, "relay-ip: '%s' is not an address",
                     config_nth(cfg, "relay-ip", i));
            return -EINVAL;
        }
        nrel++;
    }
    if (!nrel) {
        for (size_t i = 0; i < nips; i++) {
            if (is_wildcard(&ips[i]))
                continue;
            relays[nrel++] = ips[i];
        }
    }
    /* Prefer a non-loopback relay address of each family. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < nrel; i++) {
            int loop = relays[i].sa.sa_family == AF_INET
                           ? (ntohl(relays[i].in.sin_addr.s_addr) >> 24) == 127
                           : IN6_IS_ADDR_LOOPBACK(&relays[i].in6.sin6_addr);
            if (pass == 0 && loop)
                continue;
            if (relays[i].sa.sa_family == AF_INET && !ts->has_relay4) {
                ts->relay4 = relays[i];
                ts->has_relay4 = 1;
            } else if (relays[i].sa.sa_family == AF_INET6 && !ts->has_relay6) {
                ts->relay6 = relays[i];
                ts->has_relay6 = 1;
            }
        }
    }
    if (!ts->has_relay4 && !ts->has_relay6 && !ts->stun_only) {
        snprintf(err, errlen, "no relay address: set relay-ip");
        return -EINVAL;
    }
    ts->pub4 = ts->relay4;
    ts->pub6 = ts->relay6;
    /* external-ip: `public` or `public/private`. */
    size_t next = config_count(cfg, "external-ip");
    union sa exts[MAX_LISTEN_IPS];
    size_t nexts = 0;
    for (size_t i = 0; i < next; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", config_nth(cfg, "external-ip", i));
        char *slash = strchr(buf, '/');
        union sa pub, priv;
        if (slash)
            *slash = '\0';
        if (parse_ip(buf, &pub) < 0 || (slash && parse_ip(slash + 1, &priv) < 0)) {
            snprintf(err, errlen, "external-ip: '%s' is not `public` or `public/private`",
                     config_nth(cfg, "external-ip", i));
            return -EINVAL;
        }
        if (nexts < MAX_LISTEN_IPS)
            exts[nexts++] = pub;
        int v6 = pub.sa.sa_family == AF_INET6;
        union sa *relay = v6 ? &ts->relay6 : &ts->relay4;
        union sa *out = v6 ? &ts->pub6 : &ts->pub4;
        if (slash) {
            size_t l1, l2;
            const uint8_t *x = sa_ip(&priv, &l1), *y = sa_ip(relay, &l2);
            if (priv.sa.sa_family != relay->sa.sa_family || memcmp(x, y, l1) != 0)
                continue;
        }
        *out = pub;
    }

    /* Peer policy. Own addresses: listening, relay and external. */
    int rc;
    size_t nd = 0, na = 0;
    if ((rc = parse_ranges(cfg, "denied-peer-ip", &ts->denied, &nd, err, errlen)) < 0 ||
        (rc = parse_ranges(cfg, "allowed-peer-ip", &ts->allowed, &na, err, errlen)) < 0)
        return rc;
    ts->own = calloc(nips + nrel + nexts + 1, sizeof *ts->own);
    if (!ts->own)
        return -ENOMEM;
    size_t no = 0;
    for (size_t i = 0; i < nips; i++)
        if (!is_wildcard(&ips[i]))
            turn_range_from_sockaddr(&ips[i].sa, &ts->own[no++]);
    for (size_t i = 0; i < nrel; i++)
        turn_range_from_sockaddr(&relays[i].sa, &ts->own[no++]);
    for (size_t i = 0; i < nexts; i++)
        turn_range_from_sockaddr(&exts[i].sa, &ts->own[no++]);
    ts->policy = (struct turn_peer_policy){
        .denied = ts->denied, .ndenied = nd, .allowed = ts->allowed, .nallowed = na,
        .own = ts->own, .nown = no, .allow_loopback = config_bool(cfg, "allow-loopback-peers"),
        .no_multicast = config_bool(cfg, "no-multicast-peers"),
    };
    return 0;
}

int turn_server_start(uv_loop_t *loop, const config_t *cfg, const struct turn_auth *auth,
                      struct turn_server **out, char *err, size_t errlen)
{
    struct turn_server *ts = calloc(1, sizeof *ts);
    if (!ts) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    ts->loop = loop;
    if (auth)
        ts->auth = *auth;
    if (getentropy(ts->nonce_secret, sizeof ts->nonce_secret) < 0 ||
        getentropy(ts->hash_key, sizeof ts->hash_key) < 0 ||
        getentropy(&ts->rng, sizeof ts->rng) < 0) {
        snprintf(err, errlen, "no entropy: %s", strerror(errno));
        free(ts);
        return -EIO;
    }
    ts->rng |= 1;
    union sa ips[MAX_LISTEN_IPS];
    size_t nips = 0;
    int rc = listen_ips(cfg, ips, MAX_LISTEN_IPS, &nips, err, errlen);
    if (rc < 0)
        goto fail_early;
    if (nips == 0) {
        snprintf(err, errlen, "no listening address: set listening-ip");
        rc = -EINVAL;
        goto fail_early;
    }
    if ((rc = configure(ts, cfg, ips, nips, err, errlen)) < 0)
        goto fail_early;

    const char *cert = config_str(cfg, "cert"), *pkey = config_str(cfg, "pkey");
    int want_tls = !config_bool(cfg, "no-tls");
    if (want_tls && cert && pkey) {
        snprintf(ts->cert, sizeof ts->cert, "%s", cert);
        snprintf(ts->pkey, sizeof ts->pkey, "%s", pkey);
        if ((rc = tls_server_new(cert, pkey, &ts->tls, err, errlen)) < 0)
            goto fail_early;
    } else if (want_tls) {
        log_warn("turn", "no TLS listener: cert and pkey are not both set");
        want_tls = 0;
    }
    int want_udp = !config_bool(cfg, "no-udp"), want_tcp = !config_bool(cfg, "no-tcp");
    ts->listeners = calloc(nips * 3, sizeof *ts->listeners);
    if (!ts->listeners) {
        rc = -ENOMEM;
        goto fail_early;
    }

    uv_timer_init(loop, &ts->sweep);
    ts->sweep.data = ts;
    ts->handles++;
    uv_timer_start(&ts->sweep, on_sweep, 1000, 1000);
    ts->last_stats = now_ms(ts);

    size_t nudp = 0, ntcp = 0, ntls = 0;
    for (size_t i = 0; i < nips; i++) {
        if (want_udp) {
            rc = turn__transport_listen(ts, TR_UDP, &ips[i], ts->listen_port, err, errlen);
            if (rc < 0)
                goto fail;
            nudp++;
        }
        if (want_tcp) {
            rc = turn__transport_listen(ts, TR_TCP, &ips[i], ts->listen_port, err, errlen);
            if (rc < 0)
                goto fail;
            ntcp++;
        }
        if (want_tls) {
            rc = turn__transport_listen(ts, TR_TLS, &ips[i], ts->tls_port, err, errlen);
            if (rc < 0)
                goto fail;
            ntls++;
        }
    }
    if (nudp + ntcp + ntls == 0) {
        snprintf(err, errlen, "no-udp, no-tcp and no-tls leave no listener");
        rc = -EINVAL;
        goto fail;
    }
    log_info("turn", "listening: %zu UDP and %zu TCP sockets on port %d, %zu TLS on port %d; "
                     "relay ports %u-%u",
             nudp, ntcp, ts->listen_port, ntls, ts->tls_port, ts->min_port, ts->max_port);
    log_info("turn", "credentials: %s%s; peers: %zu denied and %zu allowed ranges%s",
             ts->auth.lookup_ha1 ? "T9phone accounts" : "no accounts",
             ts->use_auth_secret ? ", TURN REST API" : "", ts->policy.ndenied,
             ts->policy.nallowed, ts->policy.allow_loopback ? ", loopback allowed (tests only)" : "");
    *out = ts;
    return 0;

fail:
    /* Close what was opened; the loop finishes the closing. */
    turn_server_stop(ts, NULL, NULL);
    return rc;
fail_early:
    for (size_t i = 0; i < ts->nsecrets; i++)
        free(ts->secrets[i]);
    tls_server_free(ts->tls);
    free(ts->denied);
    free(ts->allowed);
    free(ts->own);
    free(ts->listeners);
    free(ts);
    return rc;
}

void turn_server_stop(struct turn_server *ts, void (*done)(void *arg), void *arg)
{
    if (ts->stopping)
        return;
    ts->stopping = 1;
    ts->done = done;
    ts->done_arg = arg;
    ts->handles++; /* held while closing everything */
    while (ts->conns)
        turn__conn_close(ts->conns);
    while (ts->allocs)
        turn__alloc_close(ts->allocs);
    turn__resv_sweep(ts, 1);
    for (size_t i = 0; i < ts->nlisteners; i++) {
        uv_handle_t *h = (uv_handle_t *)&ts->listeners[i].h;
        h->data = ts;
        uv_close(h, on_handle_closed);
    }
    ts->sweep.data = ts;
    uv_close((uv_handle_t *)&ts->sweep, on_handle_closed);
    turn__handle_closed(ts);
}

int turn_server_reload_tls(struct turn_server *ts)
{
    if (!ts->tls)
        return -ENOENT;
    char err[256];
    int rc = tls_server_reload(ts->tls, err, sizeof err);
    if (rc < 0)
        log_error("turn", "TLS certificate not reloaded: %s", err);
    else
        log_info("turn", "TLS certificate reloaded");
    return rc;
}
