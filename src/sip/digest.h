/*
 * sip/digest.h - SIP digest authentication (RFC 3261 22, RFC 2617 qop=auth,
 * algorithm MD5): stateless nonces, the response computation, and a
 * bounded table of nonce counts that refuses replays.
 *
 * Nonces carry their issue time and an HMAC-SHA256 under a per-process
 * random key over that time and the client's address, as TURN's do: the
 * server keeps no nonce table, a nonce from a previous process is simply
 * not ours, and one copied to another address does not verify. Only the
 * nonce counts of nonces that authenticated a request are remembered
 * (struct sip_nc), in a fixed-size table.
 *
 * SHA-256 (RFC 8760) is not offered: only the MD5 HA1 is stored, and a
 * SHA-256 response needs H(user:realm:password) under SHA-256.
 *
 * Pure code: no libuv, no globals.
 */
#ifndef T9_SIP_DIGEST_H
#define T9_SIP_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define SIP_NONCE_SECRET_LEN 32
#define SIP_NONCE_LEN 40 /* characters, no terminator */

/* A nonce for a client: 8 hex digits of the issue time, 8 of a serial
 * number (so two challenges to one address in one second differ, and their
 * nonce counts are counted apart), then 24 hex digits of
 * HMAC-SHA256(secret, time || serial || client). client is the source
 * address bytes (at most 16 are used). */
void sip_nonce_make(const uint8_t secret[SIP_NONCE_SECRET_LEN], uint32_t now, uint32_t serial,
                    const void *client, size_t clen, char out[SIP_NONCE_LEN]);

/* Checks a nonce. Returns 0 when ours and at most lifetime seconds old
 * (*issued gets its time), -ESTALE when ours but older (*issued set too),
 * -EINVAL when not ours or malformed. A time ahead of now (the clock
 * stepped back) counts as fresh. Time does not depend on where a forged
 * MAC differs. */
int sip_nonce_check(const uint8_t secret[SIP_NONCE_SECRET_LEN], uint32_t now, uint32_t lifetime,
                    const void *client, size_t clen, const char *nonce, size_t nlen,
                    uint32_t *issued);

/* The parts of an Authorization header the response covers (slices, not
 * terminated). */
struct sip_digest_in {
    const char *method; size_t mlen;
    const char *uri; size_t urilen;     /* the uri parameter, as sent */
    const char *nonce; size_t nlen;
    const char *nc; size_t nclen;       /* 8 hex digits */
    const char *cnonce; size_t cnlen;
    const char *qop; size_t qlen;       /* "auth" */
};

/* response = MD5(hex(HA1) ":" nonce ":" nc ":" cnonce ":" qop ":"
 * hex(MD5(method ":" uri))) as 32 lower-case hex digits and a NUL. */
void sip_digest_md5(const uint8_t ha1[16], const struct sip_digest_in *in, char out[33]);

/* Parses an 8-hex-digit nonce count. Returns 0 with *nc, or -EINVAL. */
int sip_digest_nc(const char *s, size_t n, uint32_t *nc);

/* ---------------------------------------------------------------- replays */

struct sip_nc;

/* A table remembering the highest nonce count of up to `entries` nonces
 * (rounded up to a multiple of 4; 16 bytes each), 4-way set associative
 * under SipHash with a 16-byte key. NULL on OOM or 0 entries. */
struct sip_nc *sip_nc_new(const uint8_t key[16], size_t entries);
void sip_nc_free(struct sip_nc *t);

/* Records that nonce (issued at `issued`) authenticated a request with
 * count nc. Returns 0 when nc is higher than any count seen with it;
 * -EALREADY for a replay (nc not higher); -ESTALE when the nonce is not in
 * the table and is not younger than the newest nonce the table had to
 * forget, so a replay cannot be told apart (the client gets a new nonce,
 * stale=true). Call only after the response verified. */
int sip_nc_use(struct sip_nc *t, const char *nonce, size_t nlen, uint32_t issued, uint32_t nc);

#endif
