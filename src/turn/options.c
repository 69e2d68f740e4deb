/*
 * turn/options.c - the TURN configuration reader. See options.h.
 */
#include "turn/options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_ip(const char *s, union net_addr *out)
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

static const uint8_t *ip_bytes(const union net_addr *a, size_t *n)
{
    if (a->sa.sa_family == AF_INET6) {
        *n = 16;
        return (const uint8_t *)&a->in6.sin6_addr;
    }
    *n = 4;
    return (const uint8_t *)&a->in.sin_addr;
}

static int same_ip(const union net_addr *a, const union net_addr *b)
{
    size_t n1, n2;
    const uint8_t *x = ip_bytes(a, &n1), *y = ip_bytes(b, &n2);
    return a->sa.sa_family == b->sa.sa_family && memcmp(x, y, n1) == 0;
}

static int is_wildcard(const union net_addr *a)
{
    static const uint8_t zero[16];
    size_t n;
    const uint8_t *ip = ip_bytes(a, &n);
    return memcmp(ip, zero, n) == 0;
}

static int is_loopback(const union net_addr *a)
{
    return a->sa.sa_family == AF_INET ? (ntohl(a->in.sin_addr.s_addr) >> 24) == 127
                                      : IN6_IS_ADDR_LOOPBACK(&a->in6.sin6_addr);
}

/* Listening addresses: the configured ones, or every interface address
 * (binding each address, not the wildcard, keeps replies leaving from the
 * address the client used). */
static int read_listen(const config_t *cfg, const union net_addr *ifs, size_t nifs,
                       struct turn_opts *o, char *err, size_t errlen)
{
    size_t given = config_count(cfg, "listening-ip");
    if (given > TURN_MAX_LISTEN_IPS) {
        snprintf(err, errlen, "at most %d listening-ip values", TURN_MAX_LISTEN_IPS);
        return -EINVAL;
    }
    for (size_t i = 0; i < given; i++) {
        if (parse_ip(config_nth(cfg, "listening-ip", i), &o->listen[o->nlisten]) < 0) {
            snprintf(err, errlen, "listening-ip: '%s' is not an address",
                     config_nth(cfg, "listening-ip", i));
            return -EINVAL;
        }
        o->nlisten++;
    }
    for (size_t i = 0; !given && i < nifs && o->nlisten < TURN_MAX_LISTEN_IPS; i++) {
        const union net_addr *a = &ifs[i];
        if (a->sa.sa_family != AF_INET && a->sa.sa_family != AF_INET6)
            continue;
        if (a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&a->in6.sin6_addr))
            continue;
        int dup = 0;
        for (size_t j = 0; j < o->nlisten; j++)
            dup |= same_ip(a, &o->listen[j]);
        if (!dup) {
            memset(&o->listen[o->nlisten], 0, sizeof o->listen[0]);
            o->listen[o->nlisten].sa.sa_family = a->sa.sa_family;
            size_t n;
            const uint8_t *ip = ip_bytes(a, &n);
            if (n == 16)
                memcpy(&o->listen[o->nlisten].in6.sin6_addr, ip, 16);
            else
                memcpy(&o->listen[o->nlisten].in.sin_addr, ip, 4);
            o->nlisten++;
        }
    }
    if (o->nlisten == 0) {
        snprintf(err, errlen, "no listening address: set listening-ip");
        return -EINVAL;
    }
    return 0;
}

static int parse_ranges(const config_t *cfg, const char *key, struct turn_ip_range **out,
                        size_t *n, char *err, size_t errlen)
{
    size_t c = config_count(cfg, key);
    *out = calloc(c ? c : 1, sizeof **out);
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
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

static int read_basics(const config_t *cfg, struct turn_opts *o, char *err, size_t errlen)
{
    const char *realm = config_str(cfg, "realm");
    o->realm_len = realm ? strlen(realm) : 0;
    if (o->realm_len == 0 || o->realm_len >= sizeof o->realm) {
        snprintf(err, errlen, "realm must be 1 to 255 bytes");
        return -EINVAL;
    }
    memcpy(o->realm, realm, o->realm_len);
    o->listen_port = (int)config_int(cfg, "listening-port");
    o->tls_port = (int)config_int(cfg, "tls-listening-port");
    o->min_port = (unsigned)config_int(cfg, "min-port");
    o->max_port = (unsigned)config_int(cfg, "max-port");
    if (o->min_port > o->max_port) {
        snprintf(err, errlen, "min-port is above max-port");
        return -EINVAL;
    }
    o->want_udp = !config_bool(cfg, "no-udp");
    o->want_tcp = !config_bool(cfg, "no-tcp");
    o->want_tls = !config_bool(cfg, "no-tls");
    const char *cert = config_str(cfg, "cert"), *pkey = config_str(cfg, "pkey");
    if ((cert && strlen(cert) >= sizeof o->cert) || (pkey && strlen(pkey) >= sizeof o->pkey)) {
        snprintf(err, errlen, "cert and pkey paths must be shorter than %zu bytes",
                 sizeof o->cert);
        return -EINVAL;
    }
    snprintf(o->cert, sizeof o->cert, "%s", cert ? cert : "");
    snprintf(o->pkey, sizeof o->pkey, "%s", pkey ? pkey : "");
    o->user_quota = config_int(cfg, "user-quota");
    o->total_quota = config_int(cfg, "total-quota");
    o->max_bps = (uint64_t)config_int(cfg, "max-bps");
    o->bps_capacity = (uint64_t)config_int(cfg, "bps-capacity");
    o->stale_nonce = (uint32_t)config_int(cfg, "stale-nonce");
    o->max_lifetime = (uint32_t)config_int(cfg, "max-allocate-lifetime");
    o->channel_lifetime = (uint32_t)config_int(cfg, "channel-lifetime");
    o->perm_lifetime = (uint32_t)config_int(cfg, "permission-lifetime");
    const char *fam = config_str(cfg, "allocation-default-address-family");
    o->default_family = !fam || strcmp(fam, "ipv4") == 0 ? AF_INET
                        : strcmp(fam, "ipv6") == 0       ? AF_INET6
                                                         : 0;
    o->fingerprint = config_bool(cfg, "fingerprint");
    o->no_stun = config_bool(cfg, "no-stun");
    o->stun_only = config_bool(cfg, "stun-only");
    o->no_software = config_bool(cfg, "no-software-attribute");
    if (o->no_stun && o->stun_only) {
        snprintf(err, errlen, "no-stun and stun-only together leave nothing to serve");
        return -EINVAL;
    }
    /* Stream connections: caps and deadlines (net/conn.h). */
    o->conn = (struct net_conn_limits){
        .max_conns = (size_t)config_int(cfg, "turn-max-connections"),
        .max_per_source = (size_t)config_int(cfg, "turn-max-connections-per-ip"),
        .rbuf = TURN_CONN_RBUF,
        .out_cap = TURN_CONN_OUT_CAP,
        .out_pause = TURN_CONN_OUT_CAP,
        .frame_ms = (uint32_t)config_int(cfg, "turn-frame-timeout") * 1000u,
        .idle_ms = (uint32_t)config_int(cfg, "turn-idle-timeout") * 1000u,
        .handshake_ms = (uint32_t)config_int(cfg, "turn-handshake-timeout") * 1000u,
        .unauth_ms = (uint32_t)config_int(cfg, "turn-unauthenticated-timeout") * 1000u,
    };
    return 0;
}

static int read_secrets(const config_t *cfg, struct turn_opts *o, char *err, size_t errlen)
{
    o->use_auth_secret = config_bool(cfg, "use-auth-secret");
    size_t n = config_count(cfg, "static-auth-secret");
    if (n > TURN_MAX_SECRETS) {
        snprintf(err, errlen, "at most %d static-auth-secret values", TURN_MAX_SECRETS);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(o->secrets[i] = strdup(config_nth(cfg, "static-auth-secret", i)))) {
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
        o->nsecrets++;
    }
    if (o->use_auth_secret && o->nsecrets == 0) {
        snprintf(err, errlen, "use-auth-secret needs at least one static-auth-secret");
        return -EINVAL;
    }
    const char *sep = config_str(cfg, "rest-api-separator");
    if (!sep || strlen(sep) != 1) {
        snprintf(err, errlen, "rest-api-separator must be one character");
        return -EINVAL;
    }
    o->sep = sep[0];
    return 0;
}

/* Relay addresses: relay-ip, else the listening addresses; a non-loopback
 * one of each family preferred. Then external-ip. Fills relays[] for the
 * own-address list. */
static int read_relay(const config_t *cfg, struct turn_opts *o, union net_addr *relays,
                      size_t *nrel_out, union net_addr *exts, size_t *next_out, char *err,
                      size_t errlen)
{
    size_t nrel = 0;
    for (size_t i = 0; i < config_count(cfg, "relay-ip") && nrel < TURN_MAX_LISTEN_IPS; i++) {
        if (parse_ip(config_nth(cfg, "relay-ip", i), &relays[nrel]) < 0) {
            snprintf(err, errlen, "relay-ip: '%s' is not an address",
                     config_nth(cfg, "relay-ip", i));
            return -EINVAL;
        }
        nrel++;
    }
    if (nrel == 0)
        for (size_t i = 0; i < o->nlisten; i++)
            if (!is_wildcard(&o->listen[i]))
                relays[nrel++] = o->listen[i];
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < nrel; i++) {
            if (pass == 0 && is_loopback(&relays[i]))
                continue;
            if (relays[i].sa.sa_family == AF_INET && !o->has_relay4) {
                o->relay4 = relays[i];
                o->has_relay4 = 1;
            } else if (relays[i].sa.sa_family == AF_INET6 && !o->has_relay6) {
                o->relay6 = relays[i];
                o->has_relay6 = 1;
            }
        }
    }
    if (!o->has_relay4 && !o->has_relay6 && !o->stun_only) {
        snprintf(err, errlen, "no relay address: set relay-ip");
        return -EINVAL;
    }
    o->pub4 = o->relay4;
    o->pub6 = o->relay6;
    /* external-ip: `public` or `public/private`. */
    size_t nexts = 0;
    for (size_t i = 0; i < config_count(cfg, "external-ip"); i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", config_nth(cfg, "external-ip", i));
        char *slash = strchr(buf, '/');
        union net_addr pub, priv;
        if (slash)
            *slash = '\0';
        if (parse_ip(buf, &pub) < 0 || (slash && parse_ip(slash + 1, &priv) < 0)) {
            snprintf(err, errlen, "external-ip: '%s' is not `public` or `public/private`",
                     config_nth(cfg, "external-ip", i));
            return -EINVAL;
        }
        if (nexts < TURN_MAX_LISTEN_IPS)
            exts[nexts++] = pub;
        int v6 = pub.sa.sa_family == AF_INET6;
        union net_addr *relay = v6 ? &o->relay6 : &o->relay4;
        if (slash && !same_ip(&priv, relay))
            continue;
        *(v6 ? &o->pub6 : &o->pub4) = pub;
    }
    *nrel_out = nrel;
    *next_out = nexts;
    return 0;
}

/* Peer policy. Own addresses: listening, relay and external. */
static int read_peers(const config_t *cfg, struct turn_opts *o, const union net_addr *relays,
                      size_t nrel, const union net_addr *exts, size_t nexts, char *err,
                      size_t errlen)
{
    int rc;
    size_t nd = 0, na = 0;
    if ((rc = parse_ranges(cfg, "denied-peer-ip", &o->denied, &nd, err, errlen)) < 0 ||
        (rc = parse_ranges(cfg, "allowed-peer-ip", &o->allowed, &na, err, errlen)) < 0)
        return rc;
    o->own = calloc(o->nlisten + nrel + nexts + 1, sizeof *o->own);
    if (!o->own) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    size_t no = 0;
    for (size_t i = 0; i < o->nlisten; i++)
        if (!is_wildcard(&o->listen[i]))
            turn_range_from_sockaddr(&o->listen[i].sa, &o->own[no++]);
    for (size_t i = 0; i < nrel; i++)
        turn_range_from_sockaddr(&relays[i].sa, &o->own[no++]);
    for (size_t i = 0; i < nexts; i++)
        turn_range_from_sockaddr(&exts[i].sa, &o->own[no++]);
    /* Relayed transport addresses (private and advertised): relay-to-relay. */
    size_t nr = 0;
    const union net_addr *rel[4] = { o->has_relay4 ? &o->relay4 : NULL,
                                     o->has_relay6 ? &o->relay6 : NULL,
                                     o->has_relay4 ? &o->pub4 : NULL,
                                     o->has_relay6 ? &o->pub6 : NULL };
    for (size_t i = 0; i < 4; i++)
        if (rel[i] && turn_range_from_sockaddr(&rel[i]->sa, &o->relayed[nr]) == 0)
            nr++;
    o->policy = (struct turn_peer_policy){
        .denied = o->denied, .ndenied = nd, .allowed = o->allowed, .nallowed = na,
        .own = o->own, .nown = no, .relay = o->relayed, .nrelay = nr,
        .min_port = (uint16_t)o->min_port, .max_port = (uint16_t)o->max_port,
        .allow_loopback = config_bool(cfg, "allow-loopback-peers"),
        .no_multicast = config_bool(cfg, "no-multicast-peers"),
    };
    o->max_rest_ttl = config_int(cfg, "max-rest-ttl");
    o->rfc5766_channels = config_bool(cfg, "rfc5766-channel-numbers");
    o->coalesce_us = (uint32_t)config_int(cfg, "relay-coalesce-us");
    return 0;
}

int turn_opts_read(const config_t *cfg, const union net_addr *ifs, size_t nifs,
                   struct turn_opts *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    union net_addr relays[TURN_MAX_LISTEN_IPS], exts[TURN_MAX_LISTEN_IPS];
    size_t nrel = 0, nexts = 0;
    int rc;
    if ((rc = read_basics(cfg, o, err, errlen)) < 0 ||
        (rc = read_secrets(cfg, o, err, errlen)) < 0 ||
        (rc = read_listen(cfg, ifs, nifs, o, err, errlen)) < 0 ||
        (rc = read_relay(cfg, o, relays, &nrel, exts, &nexts, err, errlen)) < 0 ||
        (rc = read_peers(cfg, o, relays, nrel, exts, nexts, err, errlen)) < 0)
        return rc;
    return 0;
}

void turn_opts_free(struct turn_opts *o)
{
    for (size_t i = 0; i < o->nsecrets; i++) {
        if (o->secrets[i]) {
            explicit_bzero(o->secrets[i], strlen(o->secrets[i]));
            free(o->secrets[i]);
        }
        o->secrets[i] = NULL;
    }
    o->nsecrets = 0;
    free(o->denied);
    free(o->allowed);
    free(o->own);
    o->denied = o->allowed = o->own = NULL;
}
