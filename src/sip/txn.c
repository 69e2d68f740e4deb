/*
 * sip/txn.c - see txn.h.
 *
 * Layout: one heap block per transaction (struct, then its key bytes),
 * plus one block for the message it may retransmit (the request of a
 * client, the last response of a server) and, for a client INVITE, one for
 * the ACK template that becomes the ACK of a non-2xx. Transactions are found
 * through a chained hash table keyed by SipHash, and their deadlines sit in
 * a binary min-heap so a tick costs O(log n) per timer that fires.
 *
 * Holding: a finished transaction keeps only what it must still send or
 * match: its key, and the final response (server non-INVITE, Timer J) or
 * the ACK of a non-2xx (client INVITE, Timer D). The request copy goes with
 * the first final response, the ACK template once the ACK is made or a 2xx
 * makes it needless. So the many transactions a busy proxy holds through
 * Timers J, L and M (64*T1) cost about 200 bytes each, plus the response a
 * server non-INVITE resends; sip_txn_bytes() counts them and
 * sip_txn_cfg.max_bytes bounds them.
 *
 * Ending: a transaction that terminates is given a deadline of `now` and is
 * freed by the next tick, never inside a call that handed it out, so a
 * caller holding the pointer after SIP_TXN_PASS is safe until it returns to
 * the loop.
 */
#include "sip/txn.h"

#include "base/siphash.h"
#include "sip/msg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE (-1)
#define BLOCK_OVERHEAD 16
#define OUT_OF_HEAP UINT32_MAX

struct sip_txn {
    struct sip_txn *hnext;
    uint64_t hash;
    int64_t t_retx;          /* A, E, G: next retransmission, NONE */
    int64_t t_end;           /* B, D, F, H, I, J, K, L, M and the CANCEL wait */
    int64_t t_c;             /* Timer C */
    void *user;
    char *msg;               /* request (client) or last response (server) */
    char *ack;               /* client INVITE: the ACK template (ruri, then
                                lines) until the final, then the ACK of a
                                non-2xx; NULL once neither is needed */
    uint32_t heap_i;         /* index in tab->heap, OUT_OF_HEAP when out */
    uint32_t iv;             /* current retransmission interval */
    uint32_t mlen, acklen;
    uint32_t cseq;
    uint16_t rulen, alen;    /* the template's parts while it is kept */
    int16_t status;
    uint8_t kind, state, reliable, method, dead, has_c, is_tmpl;
    uint8_t blen, slen;      /* key parts (at most 255 bytes each) */
    struct sip_flow flow;
    char key[];              /* branch, sent-by */
};

struct sip_txn_tab {
    struct sip_txn_cfg cfg;
    struct sip_txn_ops ops;
    uint8_t key[16];
    struct sip_txn **bucket;
    size_t nbucket;          /* power of two */
    struct sip_txn **heap;
    size_t nheap;
    size_t count;
    size_t bytes;
};

void sip_txn_cfg_default(struct sip_txn_cfg *cfg)
{
    cfg->t1 = 500;
    cfg->t2 = 4000;
    cfg->t4 = 5000;
    cfg->timer_c = 181000;
    cfg->max = 1u << 20;
    cfg->max_bytes = (size_t)128 << 20;
}

/* ---------------------------------------------------------------- heap */

static int64_t deadline(const struct sip_txn *t)
{
    int64_t d = NONE;
    const int64_t v[3] = { t->t_retx, t->t_end, t->t_c };
    for (int i = 0; i < 3; i++)
        if (v[i] != NONE && (d == NONE || v[i] < d))
            d = v[i];
    return d;
}

static void heap_swap(struct sip_txn_tab *tab, size_t a, size_t b)
{
    struct sip_txn *x = tab->heap[a];
    tab->heap[a] = tab->heap[b];
    tab->heap[b] = x;
    tab->heap[a]->heap_i = a;
    tab->heap[b]->heap_i = b;
}

static void heap_up(struct sip_txn_tab *tab, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (deadline(tab->heap[p]) <= deadline(tab->heap[i]))
            break;
        heap_swap(tab, p, i);
        i = p;
    }
}

static void heap_down(struct sip_txn_tab *tab, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < tab->nheap && deadline(tab->heap[l]) < deadline(tab->heap[m]))
            m = l;
        if (r < tab->nheap && deadline(tab->heap[r]) < deadline(tab->heap[m]))
            m = r;
        if (m == i)
            return;
        heap_swap(tab, i, m);
        i = m;
    }
}

static void heap_remove(struct sip_txn_tab *tab, struct sip_txn *t)
{
    size_t i = t->heap_i;
    if (i == OUT_OF_HEAP)
        return;
    t->heap_i = OUT_OF_HEAP;
    tab->nheap--;
    if (i == tab->nheap)
        return;
    tab->heap[i] = tab->heap[tab->nheap];
    tab->heap[i]->heap_i = i;
    heap_up(tab, i);
    heap_down(tab, tab->heap[i]->heap_i);
}

/* Puts t where its deadlines say (after any change of them). */
static void resched(struct sip_txn_tab *tab, struct sip_txn *t)
{
    heap_remove(tab, t);
    if (deadline(t) == NONE)
        return;
    t->heap_i = (uint32_t)tab->nheap;
    tab->heap[tab->nheap++] = t; /* room: the heap holds at most max */
    heap_up(tab, t->heap_i);
}

/* ---------------------------------------------------------------- hash */

static int is_client(int kind)
{
    return kind == SIP_TXN_CLIENT_INVITE || kind == SIP_TXN_CLIENT_NONINVITE;
}

static uint64_t key_hash(const struct sip_txn_tab *tab, int client, int method, const char *b,
                         size_t bl, const char *s, size_t sl)
{
    /* client/server and method first, then the strings with their lengths
     * (so "ab"+"c" and "a"+"bc" differ). */
    uint8_t tmp[8 + 512];
    size_t n = 0;
    tmp[n++] = (uint8_t)client;
    tmp[n++] = (uint8_t)method;
    tmp[n++] = (uint8_t)bl;
    tmp[n++] = (uint8_t)sl;
    memcpy(tmp + n, b, bl);
    n += bl;
    if (sl)
        memcpy(tmp + n, s, sl);
    n += sl;
    return siphash24(tab->key, tmp, n);
}

static struct sip_txn *hash_find(const struct sip_txn_tab *tab, int client, int method,
                                 const char *b, size_t bl, const char *s, size_t sl)
{
    if (bl > 255 || sl > 255)
        return NULL;
    uint64_t h = key_hash(tab, client, method, b, bl, s, sl);
    for (struct sip_txn *t = tab->bucket[h & (tab->nbucket - 1)]; t; t = t->hnext) {
        if (t->hash != h || t->dead || is_client(t->kind) != client || t->method != method)
            continue;
        if (t->blen == bl && t->slen == sl && memcmp(t->key, b, bl) == 0 &&
            (sl == 0 || memcmp(t->key + bl, s, sl) == 0))
            return t;
    }
    return NULL;
}

static void hash_unlink(struct sip_txn_tab *tab, struct sip_txn *t)
{
    struct sip_txn **pp = &tab->bucket[t->hash & (tab->nbucket - 1)];
    while (*pp && *pp != t)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = t->hnext;
}

/* ---------------------------------------------------------------- table */

struct sip_txn_tab *sip_txn_tab_new(const struct sip_txn_cfg *cfg, const struct sip_txn_ops *ops,
                                    const uint8_t key[16])
{
    if (!cfg || !ops || !ops->send || cfg->max == 0 || cfg->t1 == 0 || cfg->max > (1u << 24))
        return NULL;
    struct sip_txn_tab *tab = calloc(1, sizeof *tab);
    if (!tab)
        return NULL;
    tab->cfg = *cfg;
    tab->ops = *ops;
    memcpy(tab->key, key, 16);
    tab->nbucket = 16;
    while (tab->nbucket < cfg->max)
        tab->nbucket <<= 1;
    tab->bucket = calloc(tab->nbucket, sizeof *tab->bucket);
    tab->heap = calloc(cfg->max, sizeof *tab->heap);
    if (!tab->bucket || !tab->heap) {
        free(tab->bucket);
        free(tab->heap);
        free(tab);
        return NULL;
    }
    return tab;
}

static void txn_free(struct sip_txn_tab *tab, struct sip_txn *t)
{
    t->state = SIP_TS_TERMINATED;
    if (tab->ops.done)
        tab->ops.done(tab->ops.ctx, t, t->user);
    heap_remove(tab, t);
    hash_unlink(tab, t);
    tab->count--;
    tab->bytes -= sizeof *t + t->blen + t->slen + BLOCK_OVERHEAD;
    if (t->msg)
        tab->bytes -= t->mlen + BLOCK_OVERHEAD;
    if (t->ack)
        tab->bytes -= t->acklen + BLOCK_OVERHEAD;
    free(t->msg);
    free(t->ack);
    free(t);
}

void sip_txn_tab_free(struct sip_txn_tab *tab)
{
    if (!tab)
        return;
    for (size_t i = 0; i < tab->nbucket; i++)
        while (tab->bucket[i])
            txn_free(tab, tab->bucket[i]);
    free(tab->bucket);
    free(tab->heap);
    free(tab);
}

size_t sip_txn_count(const struct sip_txn_tab *tab) { return tab->count; }
size_t sip_txn_bytes(const struct sip_txn_tab *tab) { return tab->bytes; }

int64_t sip_txn_next(const struct sip_txn_tab *tab)
{
    return tab->nheap ? deadline(tab->heap[0]) : NONE;
}

/* 1 when a new transaction of about need bytes stays within the caps. */
static int room_for(const struct sip_txn_tab *tab, size_t need)
{
    return tab->count < tab->cfg.max &&
           (tab->cfg.max_bytes == 0 || tab->bytes + need <= tab->cfg.max_bytes);
}

static struct sip_txn *txn_alloc(struct sip_txn_tab *tab, int kind, int method, const char *b,
                                 size_t bl, const char *s, size_t sl, const char *ru, size_t rul,
                                 const char *al, size_t all)
{
    if (tab->count >= tab->cfg.max)
        return NULL;
    size_t extra = bl + sl;
    struct sip_txn *t = calloc(1, sizeof *t + extra);
    if (!t)
        return NULL;
    if (rul + all) {
        t->ack = malloc(rul + all);
        if (!t->ack) {
            free(t);
            return NULL;
        }
        memcpy(t->ack, ru, rul);
        if (all)
            memcpy(t->ack + rul, al, all);
        t->acklen = (uint32_t)(rul + all);
        t->rulen = (uint16_t)rul;
        t->alen = (uint16_t)all;
        t->is_tmpl = 1;
        tab->bytes += rul + all + BLOCK_OVERHEAD;
    }
    t->kind = (uint8_t)kind;
    t->method = (uint8_t)method;
    t->heap_i = OUT_OF_HEAP;
    t->t_retx = t->t_end = t->t_c = NONE;
    t->blen = (uint8_t)bl;
    t->slen = (uint8_t)sl;
    memcpy(t->key, b, bl);
    if (sl)
        memcpy(t->key + bl, s, sl);
    t->hash = key_hash(tab, is_client(kind), method, b, bl, s, sl);
    size_t i = t->hash & (tab->nbucket - 1);
    t->hnext = tab->bucket[i];
    tab->bucket[i] = t;
    tab->count++;
    tab->bytes += sizeof *t + extra + BLOCK_OVERHEAD;
    return t;
}

/* Keeps a copy of the message t may have to send again. */
static int keep_msg(struct sip_txn_tab *tab, struct sip_txn *t, const char *buf, size_t len)
{
    char *p = malloc(len ? len : 1);
    if (!p)
        return -ENOMEM;
    memcpy(p, buf, len);
    if (t->msg)
        tab->bytes -= t->mlen + BLOCK_OVERHEAD;
    free(t->msg);
    t->msg = p;
    t->mlen = (uint32_t)len;
    tab->bytes += len + BLOCK_OVERHEAD;
    return 0;
}

/* A client transaction with its final response sends its request no more:
 * the copy goes at once (a busy proxy holds many finished transactions
 * through Timers D, K and M). */
static void drop_msg(struct sip_txn_tab *tab, struct sip_txn *t)
{
    if (!t->msg)
        return;
    tab->bytes -= t->mlen + BLOCK_OVERHEAD;
    free(t->msg);
    t->msg = NULL;
    t->mlen = 0;
}

/* A client INVITE with a 2xx never builds an ACK (the ACK of a 2xx is the
 * caller's, end to end): the template goes. */
static void drop_template(struct sip_txn_tab *tab, struct sip_txn *t)
{
    if (!t->ack || !t->is_tmpl)
        return;
    tab->bytes -= t->acklen + BLOCK_OVERHEAD;
    free(t->ack);
    t->ack = NULL;
    t->acklen = 0;
    t->is_tmpl = 0;
}

/* Ends t: it is freed by the next tick (see the top of this file). */
static void txn_end(struct sip_txn_tab *tab, struct sip_txn *t, int64_t now)
{
    t->dead = 1;
    t->t_retx = t->t_c = NONE;
    t->t_end = now;
    resched(tab, t);
}

/* A send failed: the owner hears SIP_TE_TRANSPORT, then t ends. */
static void txn_transport_error(struct sip_txn_tab *tab, struct sip_txn *t, int64_t now)
{
    if (t->dead)
        return;
    tab->ops.event(tab->ops.ctx, t, t->user, SIP_TE_TRANSPORT);
    txn_end(tab, t, now);
}

static int txn_send(struct sip_txn_tab *tab, struct sip_txn *t, const char *buf, size_t len,
                    int64_t now)
{
    if (tab->ops.send(tab->ops.ctx, &t->flow, buf, len) < 0) {
        txn_transport_error(tab, t, now);
        return -ENOTCONN;
    }
    return 0;
}

/* ---------------------------------------------------------------- timers */

static uint32_t t64(const struct sip_txn_tab *tab) { return 64 * tab->cfg.t1; }

static void fire_retx(struct sip_txn_tab *tab, struct sip_txn *t, int64_t now)
{
    t->t_retx = NONE;
    if (!t->msg || txn_send(tab, t, t->msg, t->mlen, now) < 0)
        return;
    switch (t->kind) {
    case SIP_TXN_CLIENT_INVITE: /* Timer A doubles without a cap (until B) */
        t->iv *= 2;
        break;
    case SIP_TXN_CLIENT_NONINVITE: /* Timer E: doubles up to T2; T2 once proceeding */
        t->iv = t->state == SIP_TS_PROCEEDING ? tab->cfg.t2
                : (t->iv * 2 < tab->cfg.t2 ? t->iv * 2 : tab->cfg.t2);
        break;
    case SIP_TXN_SERVER_INVITE: /* Timer G: doubles up to T2 */
        t->iv = t->iv * 2 < tab->cfg.t2 ? t->iv * 2 : tab->cfg.t2;
        break;
    default:
        return;
    }
    t->t_retx = now + t->iv;
}

static void fire_end(struct sip_txn_tab *tab, struct sip_txn *t)
{
    t->t_end = NONE;
    if (t->dead) {
        txn_free(tab, t);
        return;
    }
    /* Timer B, F (client, nothing final yet), H (server INVITE in
     * Completed: no ACK), the CANCEL wait: a timeout for the owner. Timers
     * D, K, I, J, L, M just end the transaction. */
    int timeout = 0;
    if (is_client(t->kind))
        timeout = t->state == SIP_TS_CALLING || t->state == SIP_TS_TRYING ||
                  t->state == SIP_TS_PROCEEDING;
    else if (t->kind == SIP_TXN_SERVER_INVITE)
        timeout = t->state == SIP_TS_COMPLETED;
    if (timeout)
        tab->ops.event(tab->ops.ctx, t, t->user, SIP_TE_TIMEOUT);
    txn_free(tab, t);
}

int sip_txn_tick(struct sip_txn_tab *tab, int64_t now)
{
    int fired = 0;
    while (tab->nheap && deadline(tab->heap[0]) <= now) {
        struct sip_txn *t = tab->heap[0];
        heap_remove(tab, t);
        fired++;
        if (t->t_end != NONE && t->t_end <= now) {
            fire_end(tab, t); /* t is freed */
            continue;
        }
        if (t->t_retx != NONE && t->t_retx <= now)
            fire_retx(tab, t, now);
        if (t->t_c != NONE && t->t_c <= now && !t->dead) {
            t->t_c = NONE;
            tab->ops.event(tab->ops.ctx, t, t->user, SIP_TE_TIMER_C);
        }
        resched(tab, t);
    }
    return fired;
}

/* ---------------------------------------------------------------- client */

int sip_txn_client_new(struct sip_txn_tab *tab, const struct sip_txn_req *r, void *user,
                       int64_t now, struct sip_txn **out)
{
    *out = NULL;
    if (!r->buf || !r->len || !r->branch || !r->blen || r->blen > 255 ||
        r->method == SIP_M_ACK)
        return -EINVAL;
    int invite = r->method == SIP_M_INVITE;
    if (invite && (!r->ruri || !r->rulen || r->rulen > UINT16_MAX || r->alen > UINT16_MAX))
        return -EINVAL;
    if (r->len > UINT32_MAX)
        return -EINVAL;
    if (!room_for(tab, sizeof(struct sip_txn) + r->blen + (invite ? r->rulen + r->alen : 0) +
                           (r->reliable ? 0 : r->len) + 3 * BLOCK_OVERHEAD))
        return -ENOSPC;
    if (tab->ops.send(tab->ops.ctx, &r->flow, r->buf, r->len) < 0)
        return -ENOTCONN;
    struct sip_txn *t = txn_alloc(tab, invite ? SIP_TXN_CLIENT_INVITE : SIP_TXN_CLIENT_NONINVITE,
                                  r->method, r->branch, r->blen, NULL, 0,
                                  invite ? r->ruri : NULL, invite ? r->rulen : 0,
                                  invite ? r->ack_lines : NULL, invite ? r->alen : 0);
    if (!t)
        return -ENOMEM;
    t->flow = r->flow;
    t->reliable = r->reliable ? 1 : 0;
    t->user = user;
    t->cseq = r->cseq;
    t->state = invite ? SIP_TS_CALLING : SIP_TS_TRYING;
    if (!t->reliable) {
        if (keep_msg(tab, t, r->buf, r->len) < 0) {
            txn_free(tab, t);
            return -ENOMEM;
        }
        t->iv = tab->cfg.t1;
        t->t_retx = now + t->iv; /* Timer A or E */
    }
    t->t_end = now + t64(tab);   /* Timer B or F */
    if (invite && r->timer_c) {
        t->has_c = 1;
        t->t_c = now + tab->cfg.timer_c;
    }
    resched(tab, t);
    *out = t;
    return 0;
}

/* The ACK of a non-2xx final response (17.1.1.3). */
static void client_ack(struct sip_txn_tab *tab, struct sip_txn *t, const char *to, size_t tolen,
                       int64_t now)
{
    if (!t->ack)
        return;
    if (t->is_tmpl) {
        const char *ru = t->ack, *al = ru + t->rulen;
        size_t cap = 32 + t->rulen + t->alen + tolen + 64;
        char *a = malloc(cap);
        if (!a)
            return;
        int n = snprintf(a, cap, "ACK %.*s SIP/2.0\r\n%.*s%.*sCSeq: %u ACK\r\n"
                         "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                         (int)t->rulen, ru, (int)t->alen, al, (int)tolen, to, t->cseq);
        if (n < 0 || (size_t)n >= cap) {
            free(a);
            return;
        }
        drop_template(tab, t); /* the ACK replaces it */
        t->ack = a;
        t->acklen = (uint32_t)n;
        tab->bytes += (size_t)n + BLOCK_OVERHEAD; /* counted as the used part */
    }
    /* An ACK that cannot be sent is not a transport error of the INVITE:
     * the final response is already in hand. */
    tab->ops.send(tab->ops.ctx, &t->flow, t->ack, t->acklen);
    (void)now;
}

int sip_txn_client_response(struct sip_txn_tab *tab, const char *branch, size_t blen,
                            int cseq_method, int status, const char *to_line, size_t tolen,
                            int64_t now, struct sip_txn **tp, void **user)
{
    *tp = NULL;
    *user = NULL;
    /* A CANCEL's response carries the CANCEL method and its own txn; an
     * ACK never has responses. */
    struct sip_txn *t = hash_find(tab, 1, cseq_method, branch, blen, NULL, 0);
    if (!t || status < 100 || status > 699)
        return -ENOENT;
    int prov = status < 200, ok = status >= 200 && status < 300;
    int rc = SIP_TXN_ABSORBED;
    if (t->kind == SIP_TXN_CLIENT_INVITE) {
        switch (t->state) {
        case SIP_TS_CALLING:
        case SIP_TS_PROCEEDING:
            rc = SIP_TXN_PASS;
            t->t_retx = NONE;
            if (prov) {
                if (t->state == SIP_TS_CALLING)
                    t->t_end = NONE; /* Timer B stops; Timer C covers the wait */
                t->state = SIP_TS_PROCEEDING;
                if (t->has_c && t->t_c != NONE && status > 100)
                    t->t_c = now + tab->cfg.timer_c; /* 16.7 step 2 */
            } else if (ok) {
                drop_msg(tab, t);
                drop_template(tab, t);
                t->state = SIP_TS_ACCEPTED;
                t->t_c = NONE;
                t->t_end = now + t64(tab); /* Timer M */
            } else {
                drop_msg(tab, t);
                t->state = SIP_TS_COMPLETED;
                t->t_c = NONE;
                client_ack(tab, t, to_line, tolen, now);
                t->t_end = now + (t->reliable ? 0 : t64(tab)); /* Timer D: 32 s at T1 500 ms */
            }
            break;
        case SIP_TS_COMPLETED:
            if (!prov && !ok)
                client_ack(tab, t, to_line, tolen, now);
            break;
        case SIP_TS_ACCEPTED:
            if (ok)
                rc = SIP_TXN_PASS;
            break;
        default:
            break;
        }
    } else {
        if (t->state == SIP_TS_TRYING || t->state == SIP_TS_PROCEEDING) {
            rc = SIP_TXN_PASS;
            if (prov) {
                t->state = SIP_TS_PROCEEDING;
            } else {
                drop_msg(tab, t);
                t->state = SIP_TS_COMPLETED;
                t->t_retx = NONE;
                t->t_end = now + (t->reliable ? 0 : tab->cfg.t4); /* Timer K */
            }
        }
    }
    if (rc == SIP_TXN_PASS) {
        t->status = (int16_t)status;
        *tp = t;
        *user = t->user;
    }
    resched(tab, t);
    return rc;
}

void sip_txn_client_cancelled(struct sip_txn_tab *tab, struct sip_txn *t, int64_t now)
{
    if (t->dead || t->kind != SIP_TXN_CLIENT_INVITE)
        return;
    t->t_c = NONE;
    if (t->state == SIP_TS_CALLING || t->state == SIP_TS_PROCEEDING) {
        int64_t end = now + t64(tab);
        if (t->t_end == NONE || t->t_end > end)
            t->t_end = end;
    }
    resched(tab, t);
}

/* ---------------------------------------------------------------- server */

static int ack_method(int m) { return m == SIP_M_ACK ? SIP_M_INVITE : m; }

struct sip_txn *sip_txn_server_find(struct sip_txn_tab *tab, const struct sip_txn_key *k)
{
    return hash_find(tab, 0, ack_method(k->method), k->branch, k->blen, k->sentby, k->slen);
}

int sip_txn_server_request(struct sip_txn_tab *tab, const struct sip_txn_key *k, int64_t now,
                           struct sip_txn **tp)
{
    *tp = NULL;
    struct sip_txn *t = sip_txn_server_find(tab, k);
    if (!t)
        return -ENOENT;
    int rc = SIP_TXN_ABSORBED;
    if (k->method == SIP_M_ACK) {
        if (t->kind != SIP_TXN_SERVER_INVITE)
            return -ENOENT;
        if (t->state == SIP_TS_COMPLETED) {
            t->state = SIP_TS_CONFIRMED;
            drop_msg(tab, t); /* Confirmed only absorbs ACKs: nothing to resend */
            t->t_retx = NONE;
            t->t_end = now + (t->reliable ? 0 : tab->cfg.t4); /* Timer I */
            resched(tab, t);
        } else if (t->state == SIP_TS_ACCEPTED) {
            rc = SIP_TXN_PASS;
            *tp = t;
        }
        return rc;
    }
    /* A retransmitted request: resend the last response, if any and if the
     * state resends (17.2.1: Proceeding and Completed; 17.2.2: Proceeding
     * and Completed; RFC 6026: Accepted absorbs without resending). */
    if (t->msg && (t->state == SIP_TS_PROCEEDING || t->state == SIP_TS_COMPLETED))
        txn_send(tab, t, t->msg, t->mlen, now);
    return rc;
}

int sip_txn_server_new(struct sip_txn_tab *tab, const struct sip_txn_key *k,
                       const struct sip_flow *flow, int reliable, void *user, int64_t now,
                       struct sip_txn **out)
{
    (void)now;
    *out = NULL;
    if (!k->branch || !k->blen || k->blen > 255 || k->slen > 255 || k->method == SIP_M_ACK)
        return -EINVAL;
    if (!room_for(tab, sizeof(struct sip_txn) + k->blen + k->slen + BLOCK_OVERHEAD))
        return -ENOSPC;
    int invite = k->method == SIP_M_INVITE;
    struct sip_txn *t = txn_alloc(tab, invite ? SIP_TXN_SERVER_INVITE : SIP_TXN_SERVER_NONINVITE,
                                  k->method, k->branch, k->blen, k->sentby, k->slen, NULL, 0,
                                  NULL, 0);
    if (!t)
        return -ENOMEM;
    t->flow = *flow;
    t->reliable = reliable ? 1 : 0;
    t->user = user;
    t->state = invite ? SIP_TS_PROCEEDING : SIP_TS_TRYING;
    *out = t;
    return 0;
}

int sip_txn_server_respond(struct sip_txn_tab *tab, struct sip_txn *t, int status,
                           const char *buf, size_t len, int64_t now)
{
    if (t->dead || status < 100 || status > 699)
        return -EALREADY;
    int prov = status < 200, ok = status >= 200 && status < 300;
    if (t->kind == SIP_TXN_SERVER_INVITE) {
        if (t->state == SIP_TS_ACCEPTED && !ok)
            return -EALREADY;
        if (t->state != SIP_TS_PROCEEDING && t->state != SIP_TS_ACCEPTED)
            return -EALREADY;
    } else if (t->state != SIP_TS_TRYING && t->state != SIP_TS_PROCEEDING) {
        return -EALREADY;
    }
    /* Keep what a retransmitted request must get again (2xx to INVITE is
     * the UAS's to retransmit, not ours). */
    if (!(t->kind == SIP_TXN_SERVER_INVITE && ok) && keep_msg(tab, t, buf, len) < 0)
        return -ENOMEM;
    if (txn_send(tab, t, buf, len, now) < 0)
        return -ENOTCONN;
    t->status = (int16_t)status;
    if (t->kind == SIP_TXN_SERVER_INVITE) {
        if (ok) {
            if (t->state != SIP_TS_ACCEPTED) {
                drop_msg(tab, t); /* the provisional: retransmissions are absorbed now */
                t->state = SIP_TS_ACCEPTED;
                t->t_end = now + t64(tab); /* Timer L */
            }
        } else if (!prov) {
            t->state = SIP_TS_COMPLETED;
            if (!t->reliable) {
                t->iv = tab->cfg.t1;
                t->t_retx = now + t->iv; /* Timer G */
            }
            t->t_end = now + t64(tab); /* Timer H */
        }
    } else {
        if (prov) {
            t->state = SIP_TS_PROCEEDING;
        } else {
            t->state = SIP_TS_COMPLETED;
            t->t_end = now + (t->reliable ? 0 : t64(tab)); /* Timer J */
        }
    }
    resched(tab, t);
    return 0;
}

/* ---------------------------------------------------------------- access */

enum sip_txn_kind sip_txn_kind(const struct sip_txn *t) { return (enum sip_txn_kind)t->kind; }
enum sip_txn_state sip_txn_state(const struct sip_txn *t) { return (enum sip_txn_state)t->state; }
void *sip_txn_user(const struct sip_txn *t) { return t->user; }
void sip_txn_set_user(struct sip_txn *t, void *user) { t->user = user; }
int sip_txn_status(const struct sip_txn *t) { return t->status; }
const struct sip_flow *sip_txn_flow(const struct sip_txn *t) { return &t->flow; }
