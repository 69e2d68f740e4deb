/*
 * turn/auth.c - stateless nonces and TURN REST credentials. See auth.h.
 */
#include "turn/auth.h"

#include <errno.h>
#include <string.h>

#include <bearssl.h>

static const char hexd[] = "0123456789abcdef";

static void nonce_mac(const uint8_t *secret, uint32_t ts, const void *client, size_t clen,
                      uint8_t mac[32])
{
    br_hmac_key_context kc;
    br_hmac_context hc;
    uint8_t t[4] = { (uint8_t)(ts >> 24), (uint8_t)(ts >> 16), (uint8_t)(ts >> 8), (uint8_t)ts };
    br_hmac_key_init(&kc, &br_sha256_vtable, secret, TURN_NONCE_SECRET_LEN);
    br_hmac_init(&hc, &kc, 0);
    br_hmac_update(&hc, t, 4);
    br_hmac_update(&hc, client, clen);
    br_hmac_out(&hc, mac);
}

void turn_nonce_make(const uint8_t secret[TURN_NONCE_SECRET_LEN], uint32_t now,
                     const void *client, size_t clen, char out[TURN_NONCE_LEN])
{
    uint8_t mac[32];
    nonce_mac(secret, now, client, clen, mac);
    for (int i = 0; i < 8; i++)
        out[i] = hexd[(now >> (28 - 4 * i)) & 0xF];
    for (int i = 0; i < 12; i++) {
        out[8 + 2 * i] = hexd[mac[i] >> 4];
        out[9 + 2 * i] = hexd[mac[i] & 0xF];
    }
}

int turn_nonce_check(const uint8_t secret[TURN_NONCE_SECRET_LEN], uint32_t now,
                     uint32_t lifetime, const void *client, size_t clen, const char *nonce,
                     size_t nlen)
{
    if (nlen != TURN_NONCE_LEN)
        return -EINVAL;
    uint32_t ts = 0;
    for (int i = 0; i < 8; i++) {
        const char *p = strchr(hexd, nonce[i]);
        if (!p || !*p)
            return -EINVAL;
        ts = ts << 4 | (uint32_t)(p - hexd);
    }
    char want[TURN_NONCE_LEN];
    turn_nonce_make(secret, ts, client, clen, want);
    uint8_t d = 0;
    for (size_t i = 0; i < TURN_NONCE_LEN; i++)
        d |= (uint8_t)(want[i] ^ nonce[i]);
    if (d)
        return -EINVAL;
    /* A time in the future cannot come from us unless the clock stepped
     * back; treat it as fresh rather than locking clients out. */
    if (lifetime && now > ts && now - ts > lifetime)
        return -ESTALE;
    return 0;
}

static int b64(const uint8_t *in, size_t n, char *out, size_t outlen)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t need = (n + 2) / 3 * 4;
    if (outlen < need + 1)
        return -ENOSPC;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    out[o] = '\0';
    return (int)o;
}

int turn_rest_password(const char *secret, size_t slen, const char *user, size_t ulen,
                       char *out, size_t outlen)
{
    br_hmac_key_context kc;
    br_hmac_context hc;
    uint8_t mac[20];
    br_hmac_key_init(&kc, &br_sha1_vtable, secret, slen);
    br_hmac_init(&hc, &kc, 0);
    br_hmac_update(&hc, user, ulen);
    br_hmac_out(&hc, mac);
    return b64(mac, sizeof mac, out, outlen);
}

static int digits(const char *s, size_t n, int64_t *v)
{
    if (n == 0 || n > 18)
        return -EINVAL;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

int turn_rest_expiry(const char *user, size_t ulen, char sep, int64_t *expiry)
{
    const char *col = memchr(user, sep, ulen);
    if (!col)
        return digits(user, ulen, expiry);
    if (digits(user, (size_t)(col - user), expiry) == 0)
        return 0;
    /* "name:expiry": the timestamp is whatever follows the separator. */
    const char *t = col + 1;
    return digits(t, ulen - (size_t)(t - user), expiry);
}

void turn_ltc_key(const char *user, size_t ulen, const char *realm, const char *pass,
                  size_t plen, uint8_t key[16])
{
    br_md5_context c;
    br_md5_init(&c);
    br_md5_update(&c, user, ulen);
    br_md5_update(&c, ":", 1);
    br_md5_update(&c, realm, strlen(realm));
    br_md5_update(&c, ":", 1);
    br_md5_update(&c, pass, plen);
    br_md5_out(&c, key);
}
