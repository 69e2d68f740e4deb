/*
 * crypto/hash.h - hashes, MACs, hex and base64, constant-time helpers.
 *
 * Thin, allocation-free wrappers over BearSSL's hash and HMAC code, plus the
 * encodings the protocols need:
 *
 *   - SHA-256: tokens are stored as SHA-256 hashes; RFC 7616 digest.
 *   - MD5: SIP digest (RFC 2617/3261) and the TURN long-term credential key
 *     (RFC 8489 section 9.2), both built on HA1 = MD5(user:realm:password).
 *   - HMAC-SHA1: STUN MESSAGE-INTEGRITY and coturn's TURN REST API passwords
 *     (base64(HMAC-SHA1(secret, "expiry:name"))).
 *   - HMAC-SHA256: STUN MESSAGE-INTEGRITY-SHA256.
 *
 * All memory is caller-owned. Functions that cannot fail return void; the
 * others return a negative errno value on failure. Pointers may be NULL only
 * where their length is 0.
 */
#ifndef T9_CRYPTO_HASH_H
#define T9_CRYPTO_HASH_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_MD5_LEN 16
#define CRYPTO_SHA1_LEN 20

/* SHA-256 (FIPS 180-4) of len bytes. */
void crypto_sha256(const void *data, size_t len, uint8_t out[32]);

/* SHA-256 of len bytes as 64 lower-case hex characters plus a NUL. */
void crypto_sha256_hex(const void *data, size_t len, char out[65]);

/* MD5 (RFC 1321) of len bytes. Only for the protocols that mandate it. */
void crypto_md5(const void *data, size_t len, uint8_t out[16]);

/*
 * HA1 = MD5(user ":" realm ":" pass): the digest "A1" hash of RFC 2617
 * section 3.2.2.2 / RFC 7616 section 3.4.2 (algorithm MD5), which RFC 3261
 * uses for SIP, and the TURN long-term credential key of RFC 8489 section 9.2
 * (RFC 5389 section 15.4). user and realm are NUL-terminated and hashed as
 * raw bytes (no SASLprep / OpaqueString processing: callers pass the exact
 * strings the phone will use). pass is passlen raw bytes and may contain NULs.
 * The result is binary; crypto_hex() it for the digest computation.
 */
void crypto_ha1(const char *user, const char *realm, const char *pass, size_t passlen,
                uint8_t out[16]);

/* Writes len bytes as 2*len lower-case hex characters followed by a NUL
 * (out needs 2*len + 1 bytes). Time does not depend on the byte values. */
void crypto_hex(const uint8_t *in, size_t len, char *out);

/*
 * Decodes the NUL-terminated hex string into exactly outlen bytes: hex must be
 * exactly 2*outlen characters of 0-9, a-f or A-F (no prefix, no whitespace).
 * Returns 0, or -EINVAL for a wrong length or a non-hex character; out is
 * then all zero. Time depends only on the length, not on the digits (safe
 * for keys).
 */
int crypto_unhex(const char *hex, uint8_t *out, size_t outlen);

/* HMAC-SHA1 (RFC 2104) of len bytes under a klen-byte key of any length. */
void crypto_hmac_sha1(const void *key, size_t klen, const void *data, size_t len,
                      uint8_t out[20]);

/* HMAC-SHA256 (RFC 2104, RFC 4231) of len bytes under a klen-byte key. */
void crypto_hmac_sha256(const void *key, size_t klen, const void *data, size_t len,
                        uint8_t out[32]);

/*
 * Returns 1 when the n bytes at a and b are equal, 0 otherwise, in time that
 * depends only on n (never on where the first difference is). n == 0 gives 1.
 * Use it for every comparison of a MAC, digest response or token hash.
 */
int crypto_ct_equal(const void *a, const void *b, size_t n);

/* Overwrites n bytes with zeros in a way the compiler may not remove (for
 * secrets about to go out of scope). */
void crypto_wipe(void *p, size_t n);

/* Characters (excluding the NUL) of the padded base64 encoding of n bytes. */
#define CRYPTO_BASE64_LEN(n) ((((n) + 2) / 3) * 4)

/*
 * Standard base64 (RFC 4648 section 4: A-Z a-z 0-9 + /, '=' padding, no line
 * breaks), as coturn's TURN REST API uses for passwords. Writes
 * CRYPTO_BASE64_LEN(len) characters and a NUL, so outlen must be at least
 * CRYPTO_BASE64_LEN(len) + 1. len == 0 writes "".
 * Returns the number of characters written excluding the NUL, or -ENOSPC when
 * out is too small or the result would exceed INT_MAX (out[0] is then NUL
 * when outlen > 0). Time does not depend on the byte values.
 */
int crypto_base64_encode(const void *in, size_t len, char *out, size_t outlen);

/*
 * Decodes len characters of standard padded base64 (in need not be
 * NUL-terminated). Strict: len must be a multiple of 4; only the alphabet
 * above; '=' only as one or two final padding characters; the unused bits
 * before the padding must be zero (the canonical encoding, RFC 4648 section
 * 3.5); no whitespace or line breaks. "" decodes to 0 bytes.
 * Returns the number of bytes written, -EINVAL for malformed input, or
 * -ENOSPC when outlen is smaller than the decoded length (checked before
 * decoding). On error out holds no partial result (it is zeroed up to the
 * smaller of outlen and the decoded length). Time depends only on len.
 */
int crypto_base64_decode(const char *in, size_t len, uint8_t *out, size_t outlen);

#endif
