/*
 * crypto/hash.c - hashes, HMAC and encodings over BearSSL.
 */
#include "crypto/hash.h"

#include <bearssl.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

void crypto_sha256(const void *data, size_t len, uint8_t out[32])
{
    br_sha256_context ctx;

    br_sha256_init(&ctx);
    br_sha256_update(&ctx, data, len);
    br_sha256_out(&ctx, out);
}

void crypto_sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t h[32];

    crypto_sha256(data, len, h);
    crypto_hex(h, sizeof h, out);
}

void crypto_md5(const void *data, size_t len, uint8_t out[16])
{
    br_md5_context ctx;

    br_md5_init(&ctx);
    br_md5_update(&ctx, data, len);
    br_md5_out(&ctx, out);
}

void crypto_ha1(const char *user, const char *realm, const char *pass, size_t passlen,
                uint8_t out[16])
{
    br_md5_context ctx;

    br_md5_init(&ctx);
    br_md5_update(&ctx, user, strlen(user));
    br_md5_update(&ctx, ":", 1);
    br_md5_update(&ctx, realm, strlen(realm));
    br_md5_update(&ctx, ":", 1);
    br_md5_update(&ctx, pass, passlen);
    br_md5_out(&ctx, out);
    crypto_wipe(&ctx, sizeof ctx);
}

void crypto_hex(const uint8_t *in, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        unsigned hi = in[i] >> 4, lo = in[i] & 15;
        /* 0-9 -> '0'.., 10-15 -> 'a'..: add 39 when the nibble is > 9 */
        out[2 * i] = (char)('0' + hi + (((9u - hi) >> 8) & 39));
        out[2 * i + 1] = (char)('0' + lo + (((9u - lo) >> 8) & 39));
    }
    out[2 * len] = '\0';
}

/* c in [lo, hi] -> all-ones, else 0 (for c, lo, hi < 256); no branches */
static unsigned in_range(unsigned c, unsigned lo, unsigned hi)
{
    uint32_t outside = (((uint32_t)c - lo) | ((uint32_t)hi - c)) >> 31;
    return (unsigned)(outside - 1);
}

/* Hex digit -> 0..15, or a value with bit 8 set for anything else. */
static unsigned unhex_digit(unsigned c)
{
    unsigned num = in_range(c, '0', '9'), low = in_range(c, 'a', 'f');
    unsigned up = in_range(c, 'A', 'F');
    unsigned v = (num & (c - '0')) | (low & (c - 'a' + 10)) | (up & (c - 'A' + 10));
    return (v & 15) | (~(num | low | up) & 0x100);
}

int crypto_unhex(const char *hex, uint8_t *out, size_t outlen)
{
    unsigned bad = 0;
    size_t i;

    /* The length is public: stop early when it is wrong. */
    for (i = 0; i < 2 * outlen; i++)
        if (hex[i] == '\0')
            break;
    if (i != 2 * outlen || hex[i] != '\0') {
        memset(out, 0, outlen);
        return -EINVAL;
    }
    for (i = 0; i < outlen; i++) {
        unsigned hi = unhex_digit((unsigned char)hex[2 * i]);
        unsigned lo = unhex_digit((unsigned char)hex[2 * i + 1]);
        bad |= hi | lo;
        out[i] = (uint8_t)((hi << 4) | (lo & 15));
    }
    if (bad & 0x100) {
        memset(out, 0, outlen);
        return -EINVAL;
    }
    return 0;
}

static void hmac(const br_hash_class *h, const void *key, size_t klen, const void *data,
                 size_t len, void *out)
{
    br_hmac_key_context kc;
    br_hmac_context ctx;

    br_hmac_key_init(&kc, h, key, klen);
    br_hmac_init(&ctx, &kc, 0);
    br_hmac_update(&ctx, data, len);
    br_hmac_out(&ctx, out);
    crypto_wipe(&kc, sizeof kc);
    crypto_wipe(&ctx, sizeof ctx);
}

void crypto_hmac_sha1(const void *key, size_t klen, const void *data, size_t len,
                      uint8_t out[20])
{
    hmac(&br_sha1_vtable, key, klen, data, len, out);
}

void crypto_hmac_sha256(const void *key, size_t klen, const void *data, size_t len,
                        uint8_t out[32])
{
    hmac(&br_sha256_vtable, key, klen, data, len, out);
}

int crypto_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a, *y = b;
    unsigned d = 0;

    for (size_t i = 0; i < n; i++)
        d |= (unsigned)(x[i] ^ y[i]);
    return (int)(1 & ((d - 1) >> 8));
}

void crypto_wipe(void *p, size_t n)
{
    if (n > 0)
        explicit_bzero(p, n);
}

/* 6-bit value -> standard base64 character, without lookups or branches. */
static char b64_char(unsigned v)
{
    unsigned c = v + 'A';
    c += ((25u - v) >> 8) & 6;   /* v >= 26: lower case */
    c -= ((51u - v) >> 8) & 75;  /* v >= 52: digits */
    c -= ((61u - v) >> 8) & 15;  /* v == 62: '+' */
    c += ((62u - v) >> 8) & 3;   /* v == 63: '/' */
    return (char)c;
}

int crypto_base64_encode(const void *in, size_t len, char *out, size_t outlen)
{
    const uint8_t *p = in;
    size_t o = 0, i;

    if (len > ((size_t)INT_MAX / 4) * 3 - 3 || outlen < CRYPTO_BASE64_LEN(len) + 1) {
        if (outlen > 0)
            out[0] = '\0';
        return -ENOSPC;
    }
    for (i = 0; i + 3 <= len; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64_char(w >> 18);
        out[o++] = b64_char((w >> 12) & 63);
        out[o++] = b64_char((w >> 6) & 63);
        out[o++] = b64_char(w & 63);
    }
    if (len - i == 1) {
        uint32_t w = (uint32_t)p[i] << 16;
        out[o++] = b64_char(w >> 18);
        out[o++] = b64_char((w >> 12) & 63);
        out[o++] = '=';
        out[o++] = '=';
    } else if (len - i == 2) {
        uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = b64_char(w >> 18);
        out[o++] = b64_char((w >> 12) & 63);
        out[o++] = b64_char((w >> 6) & 63);
        out[o++] = '=';
    }
    out[o] = '\0';
    return (int)o;
}

/* Standard base64 character -> 0..63, or 0x100 set for anything else. */
static unsigned b64_value(unsigned c)
{
    unsigned up = in_range(c, 'A', 'Z'), low = in_range(c, 'a', 'z');
    unsigned dig = in_range(c, '0', '9'), plus = in_range(c, '+', '+');
    unsigned slash = in_range(c, '/', '/');
    unsigned v = (up & (c - 'A')) | (low & (c - 'a' + 26)) | (dig & (c - '0' + 52)) |
                 (plus & 62) | (slash & 63);
    unsigned ok = up | low | dig | plus | slash;
    return (v & 63) | (~ok & 0x100);
}

int crypto_base64_decode(const char *in, size_t len, uint8_t *out, size_t outlen)
{
    size_t pad = 0, n, i, o = 0;
    unsigned bad = 0;

    if (len % 4 != 0)
        return -EINVAL;
    if (len == 0)
        return 0;
    if (in[len - 1] == '=')
        pad = in[len - 2] == '=' ? 2 : 1;
    n = len / 4 * 3 - pad;
    if (n > INT_MAX)
        return -EINVAL;
    if (outlen < n)
        return -ENOSPC;
    for (i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        unsigned a = b64_value((unsigned char)in[i]);
        unsigned b = b64_value((unsigned char)in[i + 1]);
        unsigned c = last && pad == 2 ? 0 : b64_value((unsigned char)in[i + 2]);
        unsigned d = last && pad >= 1 ? 0 : b64_value((unsigned char)in[i + 3]);
        uint32_t w = (uint32_t)(a & 63) << 18 | (uint32_t)(b & 63) << 12 |
                     (uint32_t)(c & 63) << 6 | (d & 63);
        bad |= a | b | c | d;
        out[o++] = (uint8_t)(w >> 16);
        if (last && pad == 2) {
            bad |= (((w & 0xffff) + 0xffff) >> 8) & 0x100; /* non-zero unused bits */
            break;
        }
        out[o++] = (uint8_t)(w >> 8);
        if (last && pad == 1) {
            bad |= ((w & 0xff) + 0xff) & 0x100;
            break;
        }
        out[o++] = (uint8_t)w;
    }
    if (bad & 0x100) {
        memset(out, 0, n);
        return -EINVAL;
    }
    return (int)n;
}
