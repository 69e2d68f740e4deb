/*
 * turn/auth.c - stateless nonces and TURN REST credentials. See auth.h.
 */
#include "turn/auth.h"

#include <errno.h>
#include <string.h>

#include "base/bytes.h"
#include "crypto/hash.h"

static const char hexd[] = "0123456789abcdef";

static void nonce_mac(const uint8_t *secret, uint32_t ts, const void *client, size_t clen,
                      uint8_t mac[32])
{
    uint8_t in[4 + 16];
    bytes_wr32be(in, ts);
    if (clen > 16)
        clen = 16;
    memcpy(in + 4, client, clen);
    crypto_hmac_sha256(secret, TURN_NONCE_SECRET_LEN, in, 4 + clen, mac);
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
    if (!crypto_ct_equal(want, nonce, TURN_NONCE_LEN))
        return -EINVAL;
    /* A time in the future cannot come from us unless the clock stepped
     * back; treat it as fresh rather than locking clients out. */
    if (lifetime && now > ts && now - ts > lifetime)
        return -ESTALE;
    return 0;
}

int turn_rest_password(const char *secret, size_t slen, const char *user, size_t ulen,
                       char *out, size_t outlen)
{
    uint8_t mac[20];
    crypto_hmac_sha1(secret, slen, user, ulen, mac);
    return crypto_base64_encode(mac, sizeof mac, out, outlen);
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
    /* crypto_ha1 wants a terminated user name; REST names are short. */
    char u[514];
    if (ulen >= sizeof u)
        ulen = sizeof u - 1;
    memcpy(u, user, ulen);
    u[ulen] = '\0';
    crypto_ha1(u, realm, pass, plen, key);
}
