/*
 * core/mem.c - see mem.h.
 */
#include "core/mem.h"
#include "core/accounts.h"
#include "crypto/hash.h"
#include "crypto/random.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct guard_slot {
    uint8_t pair[CORE_GUARD_TAG];
    uint8_t mail[CORE_GUARD_TAG];
    int fails;            /* 0: the slot is free */
    int64_t locked_until; /* 0 when not locked */
    int64_t last;         /* time of the last failure, for eviction */
};

#define HA1_BOX 45 /* core/sipcred.h CORE_HA1_BOX */

struct key_slot {
    uint8_t box[HA1_BOX];
    uint8_t ha1[16];
    uint8_t used;
};

struct core_mem {
    uint8_t guard_key[32];
    struct guard_slot guard[CORE_GUARD_SLOTS];
    int have_key;
    uint8_t key[32];
    char realm[256];
    struct key_slot keys[CORE_HA1_CACHE];
};

static void mem_release(void *p)
{
    struct core_mem *m = p;
    crypto_wipe(m, sizeof *m);
    free(m);
}

struct core_mem *core_mem(struct store *st)
{
    struct core_mem *m = store_ext(st);
    if (m)
        return m;
    m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    if (crypto_random_bytes(m->guard_key, sizeof m->guard_key) < 0) {
        free(m);
        return NULL;
    }
    store_set_ext(st, m, mem_release);
    return m;
}

void core_guard_tags(struct core_mem *m, const char *email, size_t elen, const void *src,
                     size_t srclen, uint8_t pair[CORE_GUARD_TAG],
                     uint8_t mail[CORE_GUARD_TAG])
{
    /* email || 0x00 || source: an email never holds a NUL, so two pairs
     * cannot name the same bytes. */
    uint8_t buf[CORE_EMAIL_SIZE + 1 + 64], mac[32];
    size_t n = elen < CORE_EMAIL_SIZE ? elen : CORE_EMAIL_SIZE;
    size_t sn = srclen < 64 ? srclen : 64;
    memcpy(buf, email, n);
    buf[n] = 0;
    crypto_hmac_sha256(m->guard_key, sizeof m->guard_key, buf, n, mac);
    memcpy(mail, mac, CORE_GUARD_TAG);
    if (src && sn)
        memcpy(buf + n + 1, src, sn);
    crypto_hmac_sha256(m->guard_key, sizeof m->guard_key, buf, n + 1 + (src ? sn : 0), mac);
    memcpy(pair, mac, CORE_GUARD_TAG);
    crypto_wipe(buf, sizeof buf);
    crypto_wipe(mac, sizeof mac);
}

static struct guard_slot *guard_find(struct core_mem *m, const uint8_t pair[CORE_GUARD_TAG])
{
    for (size_t i = 0; i < CORE_GUARD_SLOTS; i++)
        if (m->guard[i].fails && memcmp(m->guard[i].pair, pair, CORE_GUARD_TAG) == 0)
            return &m->guard[i];
    return NULL;
}

int core_guard_locked(struct core_mem *m, const uint8_t pair[CORE_GUARD_TAG], int64_t now)
{
    struct guard_slot *g = guard_find(m, pair);
    if (!g)
        return 0;
    if (g->locked_until > now)
        return 1;
    if (g->locked_until)
        memset(g, 0, sizeof *g); /* the lockout has passed: start from zero */
    return 0;
}

int core_guard_fail(struct core_mem *m, const uint8_t pair[CORE_GUARD_TAG],
                    const uint8_t mail[CORE_GUARD_TAG], int64_t now)
{
    struct guard_slot *g = guard_find(m, pair);
    if (!g) {
        /* A free slot, else the unlocked one failed longest ago, else the
         * lockout that ends first: the table never grows. */
        struct guard_slot *free_slot = NULL, *old = NULL, *locked = NULL;
        for (size_t i = 0; i < CORE_GUARD_SLOTS && !free_slot; i++) {
            struct guard_slot *s = &m->guard[i];
            if (!s->fails || (s->locked_until && s->locked_until <= now))
                free_slot = s;
            else if (!s->locked_until && (!old || s->last < old->last))
                old = s;
            else if (s->locked_until && (!locked || s->locked_until < locked->locked_until))
                locked = s;
        }
        g = free_slot ? free_slot : old ? old : locked;
        memset(g, 0, sizeof *g);
        memcpy(g->pair, pair, CORE_GUARD_TAG);
        memcpy(g->mail, mail, CORE_GUARD_TAG);
    }
    g->last = now;
    if (g->fails < CORE_LOGIN_MAX_FAILS)
        g->fails++;
    if (g->fails >= CORE_LOGIN_MAX_FAILS && g->locked_until <= now) {
        g->locked_until = now + CORE_LOCKOUT_SECS;
        return 1;
    }
    return 0;
}

void core_guard_ok(struct core_mem *m, const uint8_t pair[CORE_GUARD_TAG])
{
    struct guard_slot *g = guard_find(m, pair);
    if (g)
        memset(g, 0, sizeof *g);
}

void core_guard_clear_mail(struct core_mem *m, const uint8_t mail[CORE_GUARD_TAG])
{
    for (size_t i = 0; i < CORE_GUARD_SLOTS; i++)
        if (m->guard[i].fails && memcmp(m->guard[i].mail, mail, CORE_GUARD_TAG) == 0)
            memset(&m->guard[i], 0, sizeof m->guard[i]);
}

int core_keys_install(struct store *st, const uint8_t key[32], const char *realm)
{
    struct core_mem *m = core_mem(st);
    if (!m)
        return -ENOMEM;
    if (strlen(realm) >= sizeof m->realm)
        return -EINVAL;
    /* Another key or realm: nothing cached under the old one may answer. */
    crypto_wipe(m->keys, sizeof m->keys);
    memcpy(m->key, key, sizeof m->key);
    snprintf(m->realm, sizeof m->realm, "%s", realm);
    m->have_key = 1;
    return 0;
}

const uint8_t *core_keys_key(struct core_mem *m)
{
    return m->have_key ? m->key : NULL;
}

const char *core_keys_realm(struct core_mem *m)
{
    return m->have_key ? m->realm : NULL;
}

/* The slot of a box: its nonce is random, so its first bytes spread. */
static struct key_slot *key_slot(struct core_mem *m, const uint8_t *box)
{
    unsigned idx = ((unsigned)box[1] | (unsigned)box[2] << 8 | (unsigned)box[3] << 16) %
                   CORE_HA1_CACHE;
    return &m->keys[idx];
}

int core_keys_cached(struct core_mem *m, const uint8_t *box, size_t len, uint8_t ha1[16])
{
    if (len != HA1_BOX)
        return 0;
    struct key_slot *k = key_slot(m, box);
    if (!k->used || !crypto_ct_equal(k->box, box, HA1_BOX))
        return 0;
    memcpy(ha1, k->ha1, 16);
    return 1;
}

void core_keys_remember(struct core_mem *m, const uint8_t *box, size_t len,
                        const uint8_t ha1[16])
{
    if (len != HA1_BOX)
        return;
    struct key_slot *k = key_slot(m, box);
    memcpy(k->box, box, HA1_BOX);
    memcpy(k->ha1, ha1, 16);
    k->used = 1;
}
