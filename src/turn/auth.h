/*
 * turn/auth.h - TURN credential helpers: stateless nonces and coturn's TURN
 * REST API credentials. Pure code (no libuv, no globals).
 */
#ifndef T9_TURN_AUTH_H
#define T9_TURN_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TURN_NONCE_SECRET_LEN 32
#define TURN_NONCE_LEN 32 /* characters, no terminator */

/* Makes a nonce for a client: 8 hex digits of the issue time, then 24 hex
 * digits of HMAC-SHA256(secret, time || client). `client` is whatever binds
 * the nonce (the client's IP address bytes, at most 16). The server keeps no table: the
 * MAC proves it issued the nonce, the time says how old it is. */
void turn_nonce_make(const uint8_t secret[TURN_NONCE_SECRET_LEN], uint32_t now,
                     const void *client, size_t clen, char out[TURN_NONCE_LEN]);

/* Checks a nonce from a request. Returns 0 when it is ours and fresh,
 * -ESTALE when ours but issued more than `lifetime` seconds ago (0: never
 * stale), -EINVAL when not ours or malformed. */
int turn_nonce_check(const uint8_t secret[TURN_NONCE_SECRET_LEN], uint32_t now,
                     uint32_t lifetime, const void *client, size_t clen, const char *nonce,
                     size_t nlen);

/* TURN REST API password: base64(HMAC-SHA1(secret, username)), written with
 * a terminator into out (at least 29 bytes). Returns its length or -ENOSPC. */
int turn_rest_password(const char *secret, size_t slen, const char *user, size_t ulen,
                       char *out, size_t outlen);

/* The expiry time of a REST username, as coturn reads it: "expiry" alone,
 * "expiry<sep>name", or "name<sep>expiry" (the part before the separator is
 * used when it is all digits, otherwise the part after). Returns 0 and sets
 * *expiry, or -EINVAL when there is no timestamp. */
int turn_rest_expiry(const char *user, size_t ulen, char sep, int64_t *expiry);

/* Judges the expiry of a REST username at time `now`: 0 when usable,
 * -EKEYEXPIRED when it lies in the past, -ERANGE when it lies more than
 * max_ttl seconds ahead (max-rest-ttl: a leaked credential with an expiry
 * far in the future would otherwise work for ever). max_ttl 0: no bound. */
int turn_rest_check(int64_t expiry, int64_t now, int64_t max_ttl);

/* Long-term key MD5(user ":" realm ":" pass) into key[16]. */
void turn_ltc_key(const char *user, size_t ulen, const char *realm, const char *pass,
                  size_t plen, uint8_t key[16]);

#endif
