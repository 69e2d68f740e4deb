/*
 * turn/peer.c - peer address policy. See peer.h.
 */
#include "turn/peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* A built-in prefix: family, length, address bytes. Written as bytes at
 * compile time, so a check never parses text (the text forms are in the
 * comments and in tests/unit/test_turn_peer.c). */
struct prefix {
    uint8_t v6, len;
    uint8_t b[16];
};

#define P4(a, b, c, d, len) { 0, len, { a, b, c, d } }
#define G(g) (uint8_t)((g) >> 8), (uint8_t)((g) & 0xFF)
#define P6(g0, g1, g2, g3, g4, g5, g6, g7, len) \
    { 1, len, { G(g0), G(g1), G(g2), G(g3), G(g4), G(g5), G(g6), G(g7) } }

static const struct prefix never[] = {
    P4(0, 0, 0, 0, 8),                        /* this network */
    P6(0, 0, 0, 0, 0, 0, 0, 0, 128),          /* :: */
    P4(169, 254, 169, 254, 32),               /* AWS, GCP, Azure IMDS, ... */
    P6(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x254, 128), /* AWS IMDS over IPv6 */
    P4(100, 100, 100, 200, 32),               /* Alibaba */
    P4(192, 0, 0, 192, 32),                   /* Oracle */
};

static const struct prefix loopback[] = {
    P4(127, 0, 0, 0, 8),
    P6(0, 0, 0, 0, 0, 0, 0, 1, 128),
};

static const struct prefix multicast[] = {
    P4(224, 0, 0, 0, 4),
    P6(0xff00, 0, 0, 0, 0, 0, 0, 0, 8),
};

static const struct prefix defaults[] = {
    P4(10, 0, 0, 0, 8),        P4(172, 16, 0, 0, 12),     P4(192, 168, 0, 0, 16),
    P4(100, 64, 0, 0, 10),     P4(169, 254, 0, 0, 16),    P4(224, 0, 0, 0, 4),
    P4(240, 0, 0, 0, 4),       P4(192, 0, 0, 0, 24),      P4(198, 18, 0, 0, 15),
    P4(192, 0, 2, 0, 24),      P4(198, 51, 100, 0, 24),   P4(203, 0, 113, 0, 24),
    P4(192, 88, 99, 0, 24),    /* 6to4 relay anycast (RFC 7526) */
    P4(168, 63, 129, 16, 32),  /* Azure platform (WireServer): public, but internal */
    P6(0xfe80, 0, 0, 0, 0, 0, 0, 0, 10),       /* link-local */
    P6(0xff00, 0, 0, 0, 0, 0, 0, 0, 8),        /* multicast */
    P6(0xfc00, 0, 0, 0, 0, 0, 0, 0, 7),        /* unique-local */
    P6(0xfec0, 0, 0, 0, 0, 0, 0, 0, 10),       /* site-local (deprecated) */
    P6(0x0100, 0, 0, 0, 0, 0, 0, 0, 64),       /* discard-only */
    P6(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0, 32),  /* documentation */
    P6(0x3fff, 0, 0, 0, 0, 0, 0, 0, 20),       /* documentation (RFC 9637) */
    P6(0x2001, 0x0002, 0, 0, 0, 0, 0, 0, 48),  /* benchmarking */
    P6(0x2001, 0x0010, 0, 0, 0, 0, 0, 0, 28),  /* ORCHID (deprecated) */
    P6(0x2001, 0x0020, 0, 0, 0, 0, 0, 0, 28),  /* ORCHIDv2 */
};

/* IPv6 forms carrying IPv4 (see embedded()). */
static const struct prefix nat64_wkp = P6(0x64, 0xff9b, 0, 0, 0, 0, 0, 0, 96);
static const struct prefix nat64_local = P6(0x64, 0xff9b, 1, 0, 0, 0, 0, 0, 48);
static const struct prefix six_to_four = P6(0x2002, 0, 0, 0, 0, 0, 0, 0, 16);
static const struct prefix teredo = P6(0x2001, 0, 0, 0, 0, 0, 0, 0, 32);
static const struct prefix compat = P6(0, 0, 0, 0, 0, 0, 0, 0, 96);
static const struct prefix translated = P6(0, 0, 0, 0, 0xffff, 0, 0, 0, 96);
static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Address normalized for comparison: family and 16 bytes. */
struct addr {
    uint8_t v6;
    uint8_t b[16];
};

static int cmp(const uint8_t *a, const uint8_t *b, int v6)
{
    return memcmp(a, b, v6 ? 16 : 4);
}

static int in_range(const struct turn_ip_range *r, const struct addr *a)
{
    return r->v6 == a->v6 && cmp(r->lo, a->b, a->v6) <= 0 && cmp(a->b, r->hi, a->v6) <= 0;
}

static int in_prefix(const struct prefix *p, const struct addr *a)
{
    if (p->v6 != a->v6)
        return 0;
    int full = p->len / 8, rest = p->len % 8;
    if (memcmp(p->b, a->b, (size_t)full) != 0)
        return 0;
    if (rest) {
        uint8_t mask = (uint8_t)(0xFF << (8 - rest));
        if ((p->b[full] & mask) != (a->b[full] & mask))
            return 0;
    }
    return 1;
}

static int in_prefixes(const struct prefix *p, size_t n, const struct addr *a)
{
    for (size_t i = 0; i < n; i++)
        if (in_prefix(&p[i], a))
            return 1;
    return 0;
}

static int in_ranges(const struct turn_ip_range *r, size_t n, const struct addr *a)
{
    for (size_t i = 0; r && i < n; i++)
        if (in_range(&r[i], a))
            return 1;
    return 0;
}

/* The address of sa, an IPv4-mapped one as IPv4; its port into *port. */
static int to_addr(const struct sockaddr *sa, struct addr *a, uint16_t *port)
{
    memset(a, 0, sizeof *a);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        memcpy(a->b, &in->sin_addr, 4);
        *port = ntohs(in->sin_port);
        return 0;
    }
    if (sa->sa_family != AF_INET6)
        return -EAFNOSUPPORT;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    const uint8_t *b = (const uint8_t *)&in6->sin6_addr;
    *port = ntohs(in6->sin6_port);
    if (memcmp(b, mapped, 12) == 0) {
        memcpy(a->b, b + 12, 4);
        return 0;
    }
    a->v6 = 1;
    memcpy(a->b, b, 16);
    return 0;
}

enum form { F_NONE, F_JUDGED, F_REFUSED };

/* Whether an IPv6 address carries IPv4, and which IPv4 addresses (at most
 * two, into v4[], count in *n4) it names. */
static enum form embedded(const struct addr *a, struct addr v4[2], size_t *n4)
{
    *n4 = 0;
    memset(v4, 0, 2 * sizeof *v4);
    if (!a->v6)
        return F_NONE;
    if (in_prefix(&nat64_wkp, a)) {
        memcpy(v4[(*n4)++].b, a->b + 12, 4);
        return F_JUDGED;
    }
    if (in_prefix(&six_to_four, a)) {
        memcpy(v4[(*n4)++].b, a->b + 2, 4);
        return F_JUDGED;
    }
    /* ::/96 holds :: and ::1 too, which are no IPv4 addresses. */
    static const uint8_t one[4] = { 0, 0, 0, 1 };
    if ((in_prefix(&compat, a) && memcmp(a->b + 12, one, 4) > 0) ||
        in_prefix(&translated, a)) {
        memcpy(v4[(*n4)++].b, a->b + 12, 4);
        return F_REFUSED;
    }
    if (in_prefix(&teredo, a)) {
        /* Teredo server, then the client's address (stored inverted). */
        memcpy(v4[(*n4)++].b, a->b + 4, 4);
        for (int i = 0; i < 4; i++)
            v4[*n4].b[i] = (uint8_t)~a->b[12 + i];
        (*n4)++;
        return F_REFUSED;
    }
    if (in_prefix(&nat64_local, a))
        return F_REFUSED;
    return F_NONE;
}

/* Steps 1 to 3 for one address; `inner` for an IPv4 address carried in an
 * IPv6 form, whose loopback can never be this host's. */
static enum turn_peer_verdict hard_checks(const struct turn_peer_policy *p,
                                          const struct addr *a, int inner)
{
    if (in_prefixes(never, N(never), a))
        return TURN_PEER_NEVER;
    if (in_prefixes(loopback, N(loopback), a) && (inner || !p->allow_loopback))
        return TURN_PEER_LOOPBACK;
    if (p->no_multicast && in_prefixes(multicast, N(multicast), a))
        return TURN_PEER_MULTICAST;
    return TURN_PEER_OK;
}

/* Steps 4 to 9 (the hard checks are done). */
static enum turn_peer_verdict soft_checks(const struct turn_peer_policy *p,
                                          const struct addr *a, enum form f,
                                          const struct addr *v4)
{
    if (in_ranges(p->allowed, p->nallowed, a))
        return TURN_PEER_OK;
    if (in_ranges(p->denied, p->ndenied, a))
        return TURN_PEER_DENIED;
    if (f == F_REFUSED)
        return TURN_PEER_EMBEDDED;
    if (f == F_JUDGED) {
        enum turn_peer_verdict v = soft_checks(p, v4, F_NONE, NULL);
        if (v != TURN_PEER_OK)
            return v;
    }
    if (in_prefixes(defaults, N(defaults), a))
        return TURN_PEER_SPECIAL;
    int loop = in_prefixes(loopback, N(loopback), a);
    if (!loop && (in_ranges(p->own, p->nown, a) || in_ranges(p->relay, p->nrelay, a)))
        return TURN_PEER_OWN;
    return TURN_PEER_OK;
}

enum turn_peer_verdict turn_peer_check(const struct turn_peer_policy *p,
                                       const struct sockaddr *sa)
{
    struct addr a, v4[2];
    uint16_t port;
    if (to_addr(sa, &a, &port) < 0)
        return TURN_PEER_FAMILY;
    if (port && port >= p->min_port && port <= p->max_port &&
        in_ranges(p->relay, p->nrelay, &a) && !in_prefixes(never, N(never), &a) &&
        (!p->relay_port_live || p->relay_port_live(p->ctx, port)))
        return TURN_PEER_OK;
    enum turn_peer_verdict v = hard_checks(p, &a, 0);
    if (v != TURN_PEER_OK)
        return v;
    size_t n4;
    enum form f = embedded(&a, v4, &n4);
    for (size_t i = 0; i < n4; i++)
        if ((v = hard_checks(p, &v4[i], 1)) != TURN_PEER_OK)
            return v;
    return soft_checks(p, &a, f, &v4[0]);
}

int turn_peer_allowed(const struct turn_peer_policy *p, const struct sockaddr *sa)
{
    return turn_peer_check(p, sa) == TURN_PEER_OK;
}

int turn_peer_is_own(const struct turn_peer_policy *p, const struct sockaddr *sa)
{
    struct addr a;
    uint16_t port;
    if (to_addr(sa, &a, &port) < 0)
        return 0;
    return in_ranges(p->own, p->nown, &a) || in_ranges(p->relay, p->nrelay, &a);
}

const char *turn_peer_verdict_name(int v)
{
    static const char *const names[TURN_PEER_NVERDICTS] = {
        "ok", "never", "loopback", "multicast", "denied", "embedded", "special", "own", "family",
    };
    return v >= 0 && v < TURN_PEER_NVERDICTS ? names[v] : "unknown";
}

size_t turn_peer_own_from_ifaddrs(const struct ifaddrs *list, struct turn_ip_range *out,
                                  size_t max)
{
    size_t n = 0;
    for (const struct ifaddrs *i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr ||
            (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
            continue;
        if (n < max)
            turn_range_from_sockaddr(i->ifa_addr, &out[n]);
        n++;
    }
    return n;
}

int turn_range_from_sockaddr(const struct sockaddr *sa, struct turn_ip_range *out)
{
    struct addr a;
    uint16_t port;
    int rc = to_addr(sa, &a, &port);
    if (rc < 0)
        return rc;
    out->v6 = a.v6;
    memcpy(out->lo, a.b, 16);
    memcpy(out->hi, a.b, 16);
    return 0;
}
static int parse_one(const char *s, size_t n, struct addr *a)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, buf, a->b) == 1)
        return 0;
    if (inet_pton(AF_INET6, buf, a->b) == 1) {
        a->v6 = 1;
        return 0;
    }
    return -EINVAL;
}

int turn_range_parse(const char *s, struct turn_ip_range *out)
{
    struct addr lo, hi;
    const char *dash = strchr(s, '-'), *slash = strchr(s, '/');
    memset(out, 0, sizeof *out);
    if (dash && !slash) {
        if (parse_one(s, (size_t)(dash - s), &lo) < 0 ||
            parse_one(dash + 1, strlen(dash + 1), &hi) < 0 || lo.v6 != hi.v6 ||
            cmp(lo.b, hi.b, lo.v6) > 0)
            return -EINVAL;
    } else if (slash && !dash) {
        if (parse_one(s, (size_t)(slash - s), &lo) < 0)
            return -EINVAL;
        char *end;
        long len = strtol(slash + 1, &end, 10);
        int bits = lo.v6 ? 128 : 32;
        if (end == slash + 1 || *end || len < 0 || len > bits)
            return -EINVAL;
        hi = lo;
        for (int i = 0; i < bits; i++) {
            uint8_t bit = (uint8_t)(0x80 >> (i % 8));
            if (i < len)
                continue;
            lo.b[i / 8] &= (uint8_t)~bit;
            hi.b[i / 8] |= bit;
        }
    } else if (!dash && !slash) {
        if (parse_one(s, strlen(s), &lo) < 0)
            return -EINVAL;
        hi = lo;
    } else {
        return -EINVAL;
    }
    out->v6 = lo.v6;
    memcpy(out->lo, lo.b, 16);
    memcpy(out->hi, hi.b, 16);
    return 0;
}
