/*
 * sip/digest.c - SIP digest: nonces, responses, nonce counts. See digest.h.
 */
#include "sip/digest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bearssl_hash.h>

#include "base/bytes.h"
#include "base/siphash.h"
#include "crypto/hash.h"

static const char hexd[] = "0123456789abcdef";

static void put_hex32(char *out, uint32_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = hexd[(v >> (28 - 4 * i)) & 0xF];
}

static int get_hex32(const char *in, uint32_t *v)
{
    uint32_t x = 0;
    for (int i = 0; i < 8; i++) {
        /* Only what sip_nonce_make writes: lower-case. */
        int d = bytes_hexval((unsigned char)in[i]);
        if (d < 0 || (in[i] >= 'A' && in[i] <= 'F'))
            return -EINVAL;
        x = x << 4 | (uint32_t)d;
    }
    *v = x;
    return 0;
}

void sip_nonce_make(const uint8_t secret[SIP_NONCE_SECRET_LEN], uint32_t now, uint32_t serial,
                    const void *client, size_t clen, char out[SIP_NONCE_LEN])
{
    uint8_t in[8 + 16] = { 0 }, mac[32];
    for (int i = 0; i < 4; i++) {
        in[i] = (uint8_t)(now >> (24 - 8 * i));
        in[4 + i] = (uint8_t)(serial >> (24 - 8 * i));
    }
    if (clen > 16)
        clen = 16;
    if (clen)
        memcpy(in + 8, client, clen);
    crypto_hmac_sha256(secret, SIP_NONCE_SECRET_LEN, in, 8 + clen, mac);
    put_hex32(out, now);
    put_hex32(out + 8, serial);
    for (int i = 0; i < 12; i++) {
        out[16 + 2 * i] = hexd[mac[i] >> 4];
        out[17 + 2 * i] = hexd[mac[i] & 0xF];
    }
}

int sip_nonce_check(const uint8_t secret[SIP_NONCE_SECRET_LEN], uint32_t now, uint32_t lifetime,
                    const void *client, size_t clen, const char *nonce, size_t nlen,
                    uint32_t *serial_out)
{
    uint32_t ts, serial;
    if (nlen != SIP_NONCE_LEN || get_hex32(nonce, &ts) < 0 || get_hex32(nonce + 8, &serial) < 0)
        return -EINVAL;
    char want[SIP_NONCE_LEN];
    sip_nonce_make(secret, ts, serial, client, clen, want);
    if (!crypto_ct_equal(want, nonce, SIP_NONCE_LEN))
        return -EINVAL;
    *serial_out = serial;
    if (lifetime && now > ts && now - ts > lifetime)
        return -ESTALE;
    return 0;
}

static void md5_hex_final(br_md5_context *c, char out[33])
{
    uint8_t d[16];
    br_md5_out(c, d);
    crypto_hex(d, 16, out);
}

void sip_digest_md5(const uint8_t ha1[16], const struct sip_digest_in *in, char out[33])
{
    br_md5_context c;
    char ha1h[33], ha2h[33];
    br_md5_init(&c);
    br_md5_update(&c, in->method, in->mlen);
    br_md5_update(&c, ":", 1);
    br_md5_update(&c, in->uri, in->urilen);
    md5_hex_final(&c, ha2h);
    crypto_hex(ha1, 16, ha1h);
    br_md5_init(&c);
    br_md5_update(&c, ha1h, 32);
    br_md5_update(&c, ":", 1);
    br_md5_update(&c, in->nonce, in->nlen);
    br_md5_update(&c, ":", 1);
    br_md5_update(&c, in->nc, in->nclen);
    br_md5_update(&c, ":", 1);
    br_md5_update(&c, in->cnonce, in->cnlen);
    br_md5_update(&c, ":", 1);
    br_md5_update(&c, in->qop, in->qlen);
    br_md5_update(&c, ":", 1);
    br_md5_update(&c, ha2h, 32);
    md5_hex_final(&c, out);
    crypto_wipe(ha1h, sizeof ha1h);
}

int sip_digest_nc(const char *s, size_t n, uint32_t *nc)
{
    if (n != 8)
        return -EINVAL;
    uint32_t v = 0;
    for (size_t i = 0; i < 8; i++) {
        int d = bytes_hexval((unsigned char)s[i]);
        if (d < 0)
            return -EINVAL;
        v = v << 4 | (uint32_t)d;
    }
    *nc = v;
    return 0;
}

/* ---------------------------------------------------------------- replays */

struct nc_entry {
    uint64_t tag;      /* SipHash of the nonce; 0 = empty */
    uint32_t serial;   /* of the nonce: the order they were issued in */
    uint32_t nc;
    uint32_t txn;      /* the transaction that used nc */
    uint32_t pad;
};

struct sip_nc {
    uint8_t key[16];
    size_t nsets;      /* power of two; 4 entries each */
    uint32_t floor;    /* newest serial of a forgotten nonce */
    int forgot;        /* floor is meaningful */
    struct nc_entry e[];
};

struct sip_nc *sip_nc_new(const uint8_t key[16], size_t entries)
{
    if (entries == 0)
        return NULL;
    size_t sets = 1;
    while (sets * 4 < entries)
        sets *= 2;
    struct sip_nc *t = calloc(1, sizeof *t + sets * 4 * sizeof t->e[0]);
    if (!t)
        return NULL;
    memcpy(t->key, key, 16);
    t->nsets = sets;
    return t;
}

void sip_nc_free(struct sip_nc *t)
{
    free(t);
}

int sip_nc_use(struct sip_nc *t, const char *nonce, size_t nlen, uint32_t serial, uint32_t nc,
               uint32_t txn)
{
    uint64_t tag = siphash24(t->key, nonce, nlen) | 1; /* never 0 */
    struct nc_entry *set = &t->e[(tag >> 1 & (t->nsets - 1)) * 4];
    struct nc_entry *victim = &set[0];
    for (int i = 0; i < 4; i++) {
        if (set[i].tag == tag) {
            if (nc == set[i].nc && txn == set[i].txn)
                return 0;
            if (nc <= set[i].nc)
                return -EALREADY;
            set[i].nc = nc;
            set[i].txn = txn;
            return 0;
        }
        if (set[i].tag == 0)
            victim = &set[i];
        else if (victim->tag != 0 && (int32_t)(set[i].serial - victim->serial) < 0)
            victim = &set[i];
    }
    /* Not remembered: it may have been forgotten after use, so only a nonce
     * younger than everything forgotten is known to be unused. */
    if (t->forgot && (int32_t)(serial - t->floor) <= 0)
        return -ESTALE;
    if (victim->tag != 0) {
        if (!t->forgot || (int32_t)(victim->serial - t->floor) > 0)
            t->floor = victim->serial;
        t->forgot = 1;
        if ((int32_t)(serial - t->floor) <= 0)
            return -ESTALE;
    }
    victim->tag = tag;
    victim->serial = serial;
    victim->nc = nc;
    victim->txn = txn;
    return 0;
}
