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
 * (*serial gets its serial number), -ESTALE when ours but older (*serial
 * set too),
 * -EINVAL when not ours or malformed. A time ahead of now (the clock
 * stepped back) counts as fresh. Time does not depend on where a forged
 * MAC differs. */
int sip_nonce_check(const uint8_t secret[SIP_NONCE_SECRET_LEN], uint32_t now, uint32_t lifetime,
                    const void *client, size_t clen, const char *nonce, size_t nlen,
                    uint32_t *serial);

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
 * (rounded up to a multiple of 4; 24 bytes each), 4-way set associative
 * under SipHash with a 16-byte key. NULL on OOM or 0 entries. */
struct sip_nc *sip_nc_new(const uint8_t key[16], size_t entries);
void sip_nc_free(struct sip_nc *t);

/* Records that nonce (with serial number `serial`, which orders nonces by
 * issue) authenticated a request with count nc; txn identifies the request's transaction (a hash of its Via
 * branch, Call-ID and CSeq). Returns 0 when nc is higher than any count
 * seen with the nonce, or equal to the highest and from the same
 * transaction (a UDP retransmission: the phone did not get our answer);
 * -EALREADY for a replay (a lower count, or the same count in another
 * request); -ESTALE when the nonce is not in the table and was not issued
 * after the newest nonce the table had to forget, so a replay cannot be
 * told apart (the client gets a new nonce, stale=true). Serials, not times:
 * a phone answering a challenge within the second the table forgot a
 * nonce of must not be turned away. Call only after the
 * response verified. */
int sip_nc_use(struct sip_nc *t, const char *nonce, size_t nlen, uint32_t serial, uint32_t nc,
               uint32_t txn);

#endif
