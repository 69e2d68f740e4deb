/*
 * portal/ratelimit.c - see ratelimit.h.
 */
#include "portal/ratelimit.h"
#include "crypto/hash.h"
#include "crypto/random.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RL_PROBE 8

struct rl_slot {
    uint64_t tag;   /* 0: free */
    int64_t start;  /* window start */
    unsigned count;
};

struct portal_ratelimit {
    uint8_t key[32];
    struct rl_slot slot[PORTAL_RL_SLOTS];
};

int portal_rl_new(struct portal_ratelimit **out)
{
    struct portal_ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return -ENOMEM;
    int rc = crypto_random_bytes(rl->key, sizeof rl->key);
    if (rc < 0) {
        free(rl);
        return rc;
    }
    *out = rl;
    return 0;
}

void portal_rl_free(struct portal_ratelimit *rl)
{
    if (!rl)
        return;
    crypto_wipe(rl, sizeof *rl);
    free(rl);
}

static uint64_t rl_tag(const struct portal_ratelimit *rl, int action, const void *addr,
                       size_t addrlen)
{
    uint8_t in[1 + 32], mac[32];
    if (addrlen > 32)
        addrlen = 32;
    in[0] = (uint8_t)action;
    memcpy(in + 1, addr, addrlen);
    crypto_hmac_sha256(rl->key, sizeof rl->key, in, 1 + addrlen, mac);
    uint64_t t;
    memcpy(&t, mac, sizeof t);
    return t ? t : 1;
}

static struct rl_slot *rl_find(struct portal_ratelimit *rl, uint64_t tag, int64_t now,
                               int create)
{
    size_t base = (size_t)(tag % PORTAL_RL_SLOTS);
    struct rl_slot *oldest = NULL, *free_slot = NULL;
    for (size_t i = 0; i < RL_PROBE; i++) {
        struct rl_slot *s = &rl->slot[(base + i) % PORTAL_RL_SLOTS];
        if (s->tag && now - s->start >= PORTAL_RL_WINDOW)
            memset(s, 0, sizeof *s); /* window over: forget it */
        if (s->tag == tag)
            return s;
        if (!s->tag && !free_slot)
            free_slot = s;
        if (s->tag && (!oldest || s->start < oldest->start))
            oldest = s;
    }
    if (!create)
        return NULL;
    struct rl_slot *s = free_slot ? free_slot : oldest;
    s->tag = tag;
    s->start = now;
    s->count = 0;
    return s;
}

unsigned portal_rl_hit(struct portal_ratelimit *rl, int action, const void *addr,
                       size_t addrlen, int64_t now)
{
    struct rl_slot *s = rl_find(rl, rl_tag(rl, action, addr, addrlen), now, 1);
    if (s->count < 0xffffffffu)
        s->count++;
    return s->count;
}

unsigned portal_rl_peek(struct portal_ratelimit *rl, int action, const void *addr,
                        size_t addrlen, int64_t now)
{
    struct rl_slot *s = rl_find(rl, rl_tag(rl, action, addr, addrlen), now, 0);
    return s ? s->count : 0;
}
