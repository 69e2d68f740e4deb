/*
 * crypto/random.h - randomness from the kernel.
 *
 * Everything here draws from getentropy(2) (the getrandom syscall on Linux,
 * which never needs /dev/urandom and so works inside an empty FROM scratch
 * container root). There is no user-space generator and no state: each call
 * asks the kernel. getentropy() blocks only before the kernel pool has been
 * initialised once after boot, and never fails short afterwards.
 *
 * Memory is caller-owned; nothing allocates. Errors are negative errno values.
 */
#ifndef T9_CRYPTO_RANDOM_H
#define T9_CRYPTO_RANDOM_H

#include <stddef.h>

/*
 * Fills buf with len random bytes, asking getentropy() for at most 256 bytes
 * at a time (its per-call limit) and retrying a chunk interrupted by a signal.
 *
 * len == 0 succeeds without touching buf (buf may then be NULL).
 * Returns 0, or -errno from getentropy() (-ENOSYS on a kernel without
 * getrandom, -EFAULT for a bad buffer). On failure buf is zeroed, so a caller
 * that ignores the error still never uses stale memory as a secret.
 */
int crypto_random_bytes(void *buf, size_t len);

/*
 * Writes a random token: nbytes random bytes encoded as base64url (RFC 4648
 * section 5, alphabet A-Z a-z 0-9 '-' '_', no '=' padding), NUL-terminated.
 * The token is ceil(4 * nbytes / 3) characters, so it needs
 * outlen >= CRYPTO_TOKEN_LEN(nbytes) + 1; e.g. 32 bytes -> 43 chars + NUL.
 * Tokens are safe in URLs, cookies and file names without escaping.
 *
 * nbytes == 0 writes the empty string. Returns 0; -ENOSPC when out cannot
 * hold the token and its NUL (out[0] is then set to NUL when outlen > 0);
 * or -errno from crypto_random_bytes() (out[0] is then NUL).
 */
int crypto_random_token(char *out, size_t outlen, size_t nbytes);

/* Characters (excluding the NUL) of a token made from n random bytes. */
#define CRYPTO_TOKEN_LEN(n) (((n) / 3) * 4 + (((n) % 3) ? ((n) % 3) + 1 : 0))

/*
 * Encodes len bytes as base64url without padding (the token alphabet above),
 * NUL-terminated. Needs outlen >= CRYPTO_TOKEN_LEN(len) + 1.
 * Returns the number of characters written (excluding the NUL), or -ENOSPC
 * when out is too small or the result would not fit in an int (out[0] is then
 * NUL when outlen > 0). Runs in time independent of the byte values.
 */
int crypto_base64url_encode(const void *in, size_t len, char *out, size_t outlen);

#endif
