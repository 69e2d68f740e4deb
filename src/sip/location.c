/*
 * sip/location.c - the in-memory location table. See location.h.
 */
#include "sip/location.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/siphash.h"

#define MALLOC_OVERHEAD 16
#define MIN_BUCKETS 1024

struct binding {
    struct binding *next;  /* the user's bindings, newest first */
    int64_t expires_at;
    uint64_t callid_h;     /* SipHash of the Call-ID: only compared, never shown */
    uint32_t seq;          /* insertion order, for "oldest replaced" */
    uint32_t cseq;
    uint32_t reg_id;
    uint16_t q;
    uint16_t clen, ilen, plen;
    struct sip_flow flow;
    char data[];           /* contact, instance, path */
};

struct rec {
    struct rec *next;      /* bucket chain */
    uint64_t h;
    struct binding *b;
    uint16_t n;
    uint8_t ulen;
    char user[];
};

struct sip_loc {
    uint8_t key[16];
    struct rec **buckets;
    size_t nbuckets;       /* power of two */
    size_t nrecs, nbind, max_bind;
    size_t bytes;
    size_t cursor;         /* next bucket for the sweep */
    unsigned max_per_user;
    uint32_t seq;
};

static size_t binding_size(const struct binding *b)
{
    return sizeof *b + b->clen + b->ilen + b->plen + MALLOC_OVERHEAD;
}

struct sip_loc *sip_loc_new(const uint8_t key[16], size_t max_bindings, unsigned max_per_user)
{
    if (max_bindings == 0 || max_per_user == 0)
        return NULL;
    struct sip_loc *loc = calloc(1, sizeof *loc);
    if (!loc)
        return NULL;
    memcpy(loc->key, key, 16);
    loc->nbuckets = MIN_BUCKETS;
    loc->buckets = calloc(loc->nbuckets, sizeof *loc->buckets);
    if (!loc->buckets) {
        free(loc);
        return NULL;
    }
    loc->max_bind = max_bindings;
    loc->max_per_user = max_per_user;
    loc->bytes = sizeof *loc + loc->nbuckets * sizeof *loc->buckets + 2 * MALLOC_OVERHEAD;
    return loc;
}

void sip_loc_free(struct sip_loc *loc)
{
    if (!loc)
        return;
    for (size_t i = 0; i < loc->nbuckets; i++) {
        for (struct rec *r = loc->buckets[i], *rn; r; r = rn) {
            rn = r->next;
            for (struct binding *b = r->b, *bn; b; b = bn) {
                bn = b->next;
                free(b);
            }
            free(r);
        }
    }
    free(loc->buckets);
    free(loc);
}

static uint64_t hash_user(const struct sip_loc *loc, const char *u, size_t n)
{
    return siphash24(loc->key, u, n);
}

static struct rec **find_rec(const struct sip_loc *loc, const char *u, size_t n, uint64_t h)
{
    struct rec **pp = &loc->buckets[h & (loc->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->h == h && (*pp)->ulen == n && memcmp((*pp)->user, u, n) == 0)
            return pp;
    return pp;
}

/* Doubles the bucket array when there are more users than buckets; on OOM
 * the table keeps working with longer chains. */
static void maybe_grow(struct sip_loc *loc)
{
    if (loc->nrecs < loc->nbuckets)
        return;
    size_t nn = loc->nbuckets * 2;
    struct rec **nb = calloc(nn, sizeof *nb);
    if (!nb)
        return;
    for (size_t i = 0; i < loc->nbuckets; i++) {
        for (struct rec *r = loc->buckets[i], *rn; r; r = rn) {
            rn = r->next;
            struct rec **slot = &nb[r->h & (nn - 1)];
            r->next = *slot;
            *slot = r;
        }
    }
    loc->bytes += (nn - loc->nbuckets) * sizeof *nb;
    free(loc->buckets);
    loc->buckets = nb;
    loc->nbuckets = nn;
    loc->cursor = 0;
}

static const char *b_contact(const struct binding *b) { return b->data; }
static const char *b_instance(const struct binding *b) { return b->data + b->clen; }
static const char *b_path(const struct binding *b) { return b->data + b->clen + b->ilen; }

/* Same binding: RFC 5626 4.2 (instance and reg-id) when the request has an
 * instance, else RFC 3261 10.3 (the contact URI; compared byte for byte,
 * as phones repeat their own Contact exactly). */
static int same_binding(const struct binding *b, const struct sip_loc_put *p)
{
    if (p->ilen)
        return b->ilen == p->ilen && b->reg_id == p->reg_id &&
               memcmp(b_instance(b), p->instance, p->ilen) == 0;
    return b->ilen == 0 && b->clen == p->clen && memcmp(b_contact(b), p->contact, p->clen) == 0;
}

static int check_order(const struct sip_loc *loc, const struct binding *b,
                       const struct sip_loc_put *p)
{
    uint64_t ch = siphash24(loc->key, p->callid, p->cidlen);
    if (ch == b->callid_h && p->cseq < b->cseq)
        return -EALREADY;
    return 0;
}

static void unlink_binding(struct sip_loc *loc, struct rec *r, struct binding **pp)
{
    struct binding *b = *pp;
    *pp = b->next;
    r->n--;
    loc->nbind--;
    loc->bytes -= binding_size(b);
    free(b);
}

static void drop_rec_if_empty(struct sip_loc *loc, struct rec **rp)
{
    struct rec *r = *rp;
    if (r->b)
        return;
    *rp = r->next;
    loc->nrecs--;
    loc->bytes -= sizeof *r + r->ulen + MALLOC_OVERHEAD;
    free(r);
}

static int put_ok(const struct sip_loc_put *p)
{
    return p->ulen > 0 && p->ulen <= SIP_LOC_USER_MAX && p->clen > 0 &&
           p->clen <= SIP_LOC_CONTACT_MAX && p->ilen <= SIP_LOC_INSTANCE_MAX &&
           p->plen <= SIP_LOC_PATH_MAX;
}

int sip_loc_put(struct sip_loc *loc, const struct sip_loc_put *p, int64_t now)
{
    if (!put_ok(p) || p->expires == 0)
        return -EINVAL;
    uint64_t h = hash_user(loc, p->user, p->ulen);
    struct rec **rp = find_rec(loc, p->user, p->ulen, h);
    struct rec *r = *rp;
    struct binding **old = NULL;
    if (r) {
        for (struct binding **bp = &r->b; *bp; bp = &(*bp)->next) {
            if (same_binding(*bp, p)) {
                old = bp;
                break;
            }
        }
        if (old && check_order(loc, *old, p) < 0)
            return -EALREADY;
    }
    /* Make the new binding before touching anything, so a failure leaves
     * the table as it was. */
    if (!old && loc->nbind >= loc->max_bind && !(r && r->n >= loc->max_per_user))
        return -ENOSPC;
    struct binding *nb = malloc(sizeof *nb + p->clen + p->ilen + p->plen);
    if (!nb)
        return -ENOMEM;
    memset(nb, 0, sizeof *nb);
    nb->expires_at = now + p->expires;
    nb->callid_h = siphash24(loc->key, p->callid, p->cidlen);
    nb->seq = ++loc->seq;
    nb->cseq = p->cseq;
    nb->reg_id = p->reg_id;
    nb->q = p->q;
    nb->clen = (uint16_t)p->clen;
    nb->ilen = (uint16_t)p->ilen;
    nb->plen = (uint16_t)p->plen;
    nb->flow = p->flow;
    memcpy(nb->data, p->contact, p->clen);
    if (p->ilen)
        memcpy(nb->data + p->clen, p->instance, p->ilen);
    if (p->plen)
        memcpy(nb->data + p->clen + p->ilen, p->path, p->plen);
    if (!r) {
        r = malloc(sizeof *r + p->ulen);
        if (!r) {
            free(nb);
            return -ENOMEM;
        }
        r->h = h;
        r->b = NULL;
        r->n = 0;
        r->ulen = (uint8_t)p->ulen;
        memcpy(r->user, p->user, p->ulen);
        r->next = NULL;
        *rp = r;
        loc->nrecs++;
        loc->bytes += sizeof *r + r->ulen + MALLOC_OVERHEAD;
    }
    if (old) {
        unlink_binding(loc, r, old);
    } else if (r->n >= loc->max_per_user) {
        /* Full: the binding refreshed longest ago gives way. */
        struct binding **oldest = &r->b;
        for (struct binding **bp = &r->b; *bp; bp = &(*bp)->next)
            if ((int32_t)((*bp)->seq - (*oldest)->seq) < 0)
                oldest = bp;
        unlink_binding(loc, r, oldest);
    }
    nb->next = r->b;
    r->b = nb;
    r->n++;
    loc->nbind++;
    loc->bytes += binding_size(nb);
    maybe_grow(loc);
    return 0;
}

int sip_loc_remove(struct sip_loc *loc, const struct sip_loc_put *p)
{
    if (p->ulen == 0 || p->ulen > SIP_LOC_USER_MAX)
        return 0;
    uint64_t h = hash_user(loc, p->user, p->ulen);
    struct rec **rp = find_rec(loc, p->user, p->ulen, h);
    if (!*rp)
        return 0;
    for (struct binding **bp = &(*rp)->b; *bp; bp = &(*bp)->next) {
        if (!same_binding(*bp, p))
            continue;
        if (check_order(loc, *bp, p) < 0)
            return -EALREADY;
        unlink_binding(loc, *rp, bp);
        drop_rec_if_empty(loc, rp);
        return 0;
    }
    return 0;
}

int sip_loc_remove_all(struct sip_loc *loc, const char *user, size_t ulen, const char *callid,
                       size_t cidlen, uint32_t cseq)
{
    if (ulen == 0 || ulen > SIP_LOC_USER_MAX)
        return 0;
    uint64_t h = hash_user(loc, user, ulen);
    struct rec **rp = find_rec(loc, user, ulen, h);
    if (!*rp)
        return 0;
    uint64_t ch = siphash24(loc->key, callid, cidlen);
    int n = 0;
    for (struct binding **bp = &(*rp)->b; *bp;) {
        if ((*bp)->callid_h == ch && (*bp)->cseq >= cseq) {
            bp = &(*bp)->next;
            continue;
        }
        unlink_binding(loc, *rp, bp);
        n++;
    }
    drop_rec_if_empty(loc, rp);
    return n;
}

int sip_loc_each(const struct sip_loc *loc, const char *user, size_t ulen, int64_t now,
                 int (*fn)(void *ctx, const struct sip_loc_binding *b), void *ctx)
{
    if (ulen == 0 || ulen > SIP_LOC_USER_MAX)
        return 0;
    uint64_t h = hash_user(loc, user, ulen);
    struct rec *r = *find_rec(loc, user, ulen, h);
    int n = 0;
    for (struct binding *b = r ? r->b : NULL; b; b = b->next) {
        if (b->expires_at <= now)
            continue;
        struct sip_loc_binding out = {
            b_contact(b), b->clen, b_instance(b), b->ilen, b_path(b), b->plen,
            b->reg_id, (uint32_t)(b->expires_at - now), b->q, &b->flow,
        };
        n++;
        if (fn(ctx, &out))
            break;
    }
    return n;
}

size_t sip_loc_expire(struct sip_loc *loc, int64_t now, size_t buckets)
{
    size_t freed = 0;
    if (buckets > loc->nbuckets)
        buckets = loc->nbuckets;
    for (size_t k = 0; k < buckets; k++) {
        size_t i = loc->cursor;
        loc->cursor = (loc->cursor + 1) & (loc->nbuckets - 1);
        for (struct rec **rp = &loc->buckets[i]; *rp;) {
            struct rec *r = *rp;
            for (struct binding **bp = &r->b; *bp;) {
                if ((*bp)->expires_at <= now) {
                    unlink_binding(loc, r, bp);
                    freed++;
                } else {
                    bp = &(*bp)->next;
                }
            }
            if (!r->b)
                drop_rec_if_empty(loc, rp);
            else
                rp = &r->next;
        }
    }
    return freed;
}

size_t sip_loc_count(const struct sip_loc *loc) { return loc->nbind; }
size_t sip_loc_users(const struct sip_loc *loc) { return loc->nrecs; }
size_t sip_loc_bytes(const struct sip_loc *loc) { return loc->bytes; }
size_t sip_loc_buckets(const struct sip_loc *loc) { return loc->nbuckets; }
