/*
 * sip/guard.c - failure counters per address and per username. See guard.h.
 */
#include "sip/guard.h"

#include <stdlib.h>
#include <string.h>

#include "base/siphash.h"

struct slot {
    uint64_t tag;        /* 0 = empty */
    uint32_t fails;
    uint32_t last;       /* time of the last failure */
    uint32_t until;      /* refused until, 0 = not refused */
    uint32_t pad;
};

struct table {
    size_t nsets;
    struct slot *s;
};

struct sip_guard {
    uint8_t key[16];
    struct sip_guard_cfg cfg;
    struct table addr, user;
};

static int table_init(struct table *t, size_t entries)
{
    t->nsets = 1;
    while (t->nsets * 4 < entries)
        t->nsets *= 2;
    t->s = calloc(t->nsets * 4, sizeof *t->s);
    return t->s ? 0 : -1;
}

struct sip_guard *sip_guard_new(const uint8_t key[16], const struct sip_guard_cfg *cfg)
{
    if (cfg->entries == 0 || cfg->addr_refuse < cfg->addr_slow ||
        cfg->user_refuse < cfg->user_slow)
        return NULL;
    struct sip_guard *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    memcpy(g->key, key, 16);
    g->cfg = *cfg;
    if (table_init(&g->addr, cfg->entries) < 0 || table_init(&g->user, cfg->entries) < 0) {
        sip_guard_free(g);
        return NULL;
    }
    return g;
}

void sip_guard_free(struct sip_guard *g)
{
    if (!g)
        return;
    free(g->addr.s);
    free(g->user.s);
    free(g);
}

static uint64_t tag_of(const struct sip_guard *g, char kind, const void *p, size_t n)
{
    uint8_t buf[1 + 256];
    if (n > 256)
        n = 256;
    buf[0] = (uint8_t)kind;
    if (n)
        memcpy(buf + 1, p, n);
    return siphash24(g->key, buf, n + 1) | 1;
}

/* The slot of tag, forgotten counts cleared; NULL when absent and !make. */
static struct slot *lookup(const struct sip_guard *g, const struct table *t, uint64_t tag,
                           uint32_t now, int make)
{
    struct slot *set = &t->s[(tag >> 1 & (t->nsets - 1)) * 4];
    struct slot *victim = &set[0];
    for (int i = 0; i < 4; i++) {
        struct slot *s = &set[i];
        if (s->tag && now - s->last > g->cfg.forget_secs && (!s->until || now >= s->until))
            memset(s, 0, sizeof *s);
        if (s->tag == tag)
            return s;
        if (s->tag == 0 || (victim->tag != 0 && s->fails < victim->fails))
            victim = s;
    }
    if (!make)
        return NULL;
    memset(victim, 0, sizeof *victim);
    victim->tag = tag;
    victim->last = now;
    return victim;
}

static int refused(const struct slot *s, uint32_t now, uint32_t *left)
{
    if (!s || !s->until || now >= s->until)
        return 0;
    *left = s->until - now;
    if (*left == 0)
        *left = 1;
    return 1;
}

enum sip_guard_verdict sip_guard_check(struct sip_guard *g, const void *addr, size_t alen,
                                       const char *user, size_t ulen, uint32_t now,
                                       uint32_t *retry_after)
{
    struct slot *a = lookup(g, &g->addr, tag_of(g, 'a', addr, alen), now, 0);
    struct slot *u = lookup(g, &g->user, tag_of(g, 'u', user, ulen), now, 0);
    *retry_after = 0;
    if (refused(a, now, retry_after))
        return SIP_GUARD_REFUSE;
    /* The username's count only weighs on addresses that have failed. */
    if (a && a->fails && refused(u, now, retry_after))
        return SIP_GUARD_REFUSE;
    if (a && (a->fails >= g->cfg.addr_slow || (u && u->fails >= g->cfg.user_slow)))
        return SIP_GUARD_SLOW;
    return SIP_GUARD_OK;
}

static void bump(struct sip_guard *g, struct slot *s, uint32_t limit, uint32_t now)
{
    if (s->fails < UINT32_MAX)
        s->fails++;
    s->last = now;
    if (s->fails >= limit)
        s->until = now + g->cfg.refuse_secs;
}

void sip_guard_fail(struct sip_guard *g, const void *addr, size_t alen, const char *user,
                    size_t ulen, uint32_t now)
{
    bump(g, lookup(g, &g->addr, tag_of(g, 'a', addr, alen), now, 1), g->cfg.addr_refuse, now);
    bump(g, lookup(g, &g->user, tag_of(g, 'u', user, ulen), now, 1), g->cfg.user_refuse, now);
}

size_t sip_guard_bytes(const struct sip_guard *g)
{
    return sizeof *g + (g->addr.nsets + g->user.nsets) * 4 * sizeof(struct slot);
}
