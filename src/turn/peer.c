/*
 * turn/peer.c - peer address policy. See peer.h.
 */
#include "turn/peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A built-in range: family, first address (network order, the rest
 * zero), prefix length. Bytes, not text, so a check parses nothing. */
struct prefix {
    uint8_t v6;
    uint8_t base[16];
    int len;
};

static const struct prefix never[] = {
    { 0, { 0 }, 8 }, /* 0.0.0.0/8 */
    { 1, { 0 }, 128 }, /* ::/128 */
    { 0, { 0xa9, 0xfe, 0xa9, 0xfe }, 32 }, /* 169.254.169.254/32 */
    { 1, { 0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54 }, 128 }, /* fd00:ec2::254/128 */
    { 0, { 0x64, 0x64, 0x64, 0xc8 }, 32 }, /* 100.100.100.200/32 */
    { 0, { 0xc0, 0x00, 0x00, 0xc0 }, 32 }, /* 192.0.0.192/32 */
};

static const struct prefix loopback[] = {
    { 0, { 0x7f }, 8 }, /* 127.0.0.0/8 */
    { 1, { [15] = 0x01 }, 128 }, /* ::1/128 */
};

static const struct prefix multicast[] = {
    { 0, { 0xe0 }, 4 }, /* 224.0.0.0/4 */
    { 1, { 0xff }, 8 }, /* ff00::/8 */
};

static const struct prefix defaults[] = {
    { 0, { 0x0a }, 8 }, /* 10.0.0.0/8 */
    { 0, { 0xac, 0x10 }, 12 }, /* 172.16.0.0/12 */
    { 0, { 0xc0, 0xa8 }, 16 }, /* 192.168.0.0/16 */
    { 0, { 0x64, 0x40 }, 10 }, /* 100.64.0.0/10 */
    { 0, { 0xa9, 0xfe }, 16 }, /* 169.254.0.0/16 */
    { 0, { 0xe0 }, 4 }, /* 224.0.0.0/4 */
    { 0, { 0xf0 }, 4 }, /* 240.0.0.0/4 */
    { 0, { 0xc0 }, 24 }, /* 192.0.0.0/24 */
    { 0, { 0xc6, 0x12 }, 15 }, /* 198.18.0.0/15 */
    { 1, { 0xfe, 0x80 }, 10 }, /* fe80::/10 */
    { 1, { 0xff }, 8 }, /* ff00::/8 */
    { 1, { 0xfc }, 7 }, /* fc00::/7 */
    { 1, { 0x01 }, 64 }, /* 100::/64 */
};

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
    const uint8_t *base = p->base;
    int full = p->len / 8, rest = p->len % 8;
    if (memcmp(base, a->b, (size_t)full) != 0)
        return 0;
    if (rest) {
        uint8_t mask = (uint8_t)(0xFF << (8 - rest));
        if ((base[full] & mask) != (a->b[full] & mask))
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
    for (size_t i = 0; i < n; i++)
        if (in_range(&r[i], a))
            return 1;
    return 0;
}

static int to_addr(const struct sockaddr *sa, struct addr *a)
{
    memset(a, 0, sizeof *a);
    if (sa->sa_family == AF_INET) {
        memcpy(a->b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family != AF_INET6)
        return -EAFNOSUPPORT;
    const uint8_t *b = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };
    static const uint8_t nat64[12] = { 0, 0x64, 0xFF, 0x9B };
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0) {
        memcpy(a->b, b + 12, 4);
        return 0;
    }
    a->v6 = 1;
    memcpy(a->b, b, 16);
    return 0;
}

int turn_range_from_sockaddr(const struct sockaddr *sa, struct turn_ip_range *out)
{
    struct addr a;
    int rc = to_addr(sa, &a);
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

#define N(a) (sizeof(a) / sizeof((a)[0]))

int turn_peer_allowed(const struct turn_peer_policy *p, const struct sockaddr *sa)
{
    struct addr a;
    if (to_addr(sa, &a) < 0)
        return 0;
    if (in_prefixes(never, N(never), &a))
        return 0;
    int is_loop = in_prefixes(loopback, N(loopback), &a);
    if (is_loop && !p->allow_loopback)
        return 0;
    if (p->no_multicast && in_prefixes(multicast, N(multicast), &a))
        return 0;
    if (in_ranges(p->allowed, p->nallowed, &a))
        return 1;
    if (in_ranges(p->denied, p->ndenied, &a))
        return 0;
    if (in_prefixes(defaults, N(defaults), &a))
        return 0;
    if (!is_loop && in_ranges(p->own, p->nown, &a))
        return 0;
    return 1;
}
