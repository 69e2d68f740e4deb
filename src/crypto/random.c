/*
 * crypto/random.c - getentropy() wrapper and random tokens.
 */
#include "crypto/random.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define ENTROPY_CHUNK 256 /* getentropy() refuses longer requests */

int crypto_random_bytes(void *buf, size_t len)
{
    uint8_t *p = buf;
    size_t done = 0;

    while (done < len) {
        size_t n = len - done;
        if (n > ENTROPY_CHUNK)
            n = ENTROPY_CHUNK;
        if (getentropy(p + done, n) != 0) {
            int err = errno;
            if (err == EINTR)
                continue;
            memset(buf, 0, len);
            return err > 0 ? -err : -EIO;
        }
        done += n;
    }
    return 0;
}

/* 6-bit value -> base64url character, without table lookups or branches. */
static char b64url_char(unsigned v)
{
    unsigned c = v + 'A';
    c += ((25u - v) >> 8) & 6;   /* v >= 26: 'a' - 26 - 'A' */
    c -= ((51u - v) >> 8) & 75;  /* v >= 52: '0' - 52 - ('a' - 26) */
    c -= ((61u - v) >> 8) & 13;  /* v == 62: '-' */
    c += ((62u - v) >> 8) & 49;  /* v == 63: '_' */
    return (char)c;
}

int crypto_base64url_encode(const void *in, size_t len, char *out, size_t outlen)
{
    const uint8_t *p = in;
    size_t need, o = 0, i;

    if (len > ((size_t)INT_MAX / 4) * 3 - 3) {
        if (outlen > 0)
            out[0] = '\0';
        return -ENOSPC;
    }
    need = CRYPTO_TOKEN_LEN(len);
    if (outlen < need + 1) {
        if (outlen > 0)
            out[0] = '\0';
        return -ENOSPC;
    }
    for (i = 0; i + 3 <= len; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64url_char(w >> 18);
        out[o++] = b64url_char((w >> 12) & 63);
        out[o++] = b64url_char((w >> 6) & 63);
        out[o++] = b64url_char(w & 63);
    }
    if (len - i == 1) {
        uint32_t w = (uint32_t)p[i] << 16;
        out[o++] = b64url_char(w >> 18);
        out[o++] = b64url_char((w >> 12) & 63);
    } else if (len - i == 2) {
        uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = b64url_char(w >> 18);
        out[o++] = b64url_char((w >> 12) & 63);
        out[o++] = b64url_char((w >> 6) & 63);
    }
    out[o] = '\0';
    return (int)o;
}

int crypto_random_token(char *out, size_t outlen, size_t nbytes)
{
    /* 48 bytes (a multiple of 3) per round, so the chunks encode independently. */
    uint8_t raw[48];
    size_t done = 0, o = 0;
    int rc;

    if (nbytes > ((size_t)INT_MAX / 4) * 3 - 3 || outlen < CRYPTO_TOKEN_LEN(nbytes) + 1) {
        if (outlen > 0)
            out[0] = '\0';
        return -ENOSPC;
    }
    while (done < nbytes) {
        size_t n = nbytes - done;
        if (n > sizeof raw)
            n = sizeof raw;
        rc = crypto_random_bytes(raw, n);
        if (rc < 0) {
            memset(out, 0, o + 1);
            return rc;
        }
        rc = crypto_base64url_encode(raw, n, out + o, outlen - o);
        if (rc < 0) { /* cannot happen: the size was checked above */
            memset(out, 0, o + 1);
            explicit_bzero(raw, sizeof raw);
            return rc;
        }
        o += (size_t)rc;
        done += n;
    }
    explicit_bzero(raw, sizeof raw);
    out[o] = '\0';
    return 0;
}
