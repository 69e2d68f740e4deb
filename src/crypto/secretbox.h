/*
 * crypto/secretbox.h - authenticated encryption of small secrets at rest.
 *
 * Used for the SIP passwords in the database: the key lives in a file (or a
 * container secret) outside the database, so a stolen database file alone
 * does not reveal them.
 *
 * AES-256-GCM (NIST SP 800-38D) over BearSSL's constant-time br_aes_ct64 and
 * br_gcm, with a 96-bit random nonce per message. Box format, version 1:
 *
 *     0x01 | nonce (12 bytes) | ciphertext (same length as plaintext) | tag (16)
 *
 * The version byte is the GCM additional authenticated data, so it cannot be
 * changed without failing authentication. Random 96-bit nonces keep the
 * collision probability below 2^-32 for up to 2^32 boxes under one key (SP
 * 800-38D section 8.3), far beyond what this service seals.
 *
 * All memory is caller-owned; nothing allocates; errors are negative errno
 * values. Functions are thread-safe (no globals).
 */
#ifndef T9_CRYPTO_SECRETBOX_H
#define T9_CRYPTO_SECRETBOX_H

#include <stddef.h>
#include <stdint.h>

#define SECRETBOX_KEY_LEN 32
#define SECRETBOX_NONCE_LEN 12
#define SECRETBOX_TAG_LEN 16
#define SECRETBOX_VERSION 0x01
#define SECRETBOX_OVERHEAD 29 /* version + nonce + tag */

/*
 * Seals len bytes of plaintext (pt may be NULL when len is 0) into out:
 * len + SECRETBOX_OVERHEAD bytes with a fresh random nonce. pt and out may be
 * the same buffer shifted by 13 bytes (pt == out + 13) or not overlap at all;
 * other overlaps are not supported.
 * Returns the number of bytes written; -ENOSPC when outcap is smaller than
 * len + SECRETBOX_OVERHEAD or that size exceeds INT_MAX (nothing written);
 * or -errno from crypto_random_bytes().
 */
int secretbox_seal(const uint8_t key[32], const void *pt, size_t len, uint8_t *out,
                   size_t outcap);

/*
 * Opens a box of len bytes made by secretbox_seal() under the same key,
 * writing the plaintext (len - SECRETBOX_OVERHEAD bytes) to out. in and out
 * may be the same buffer shifted by 13 bytes (out == in + 13) or not overlap.
 * Returns the plaintext length; -EBADMSG when the box is shorter than
 * SECRETBOX_OVERHEAD, has an unknown version byte, or fails authentication
 * (wrong key, any modified or truncated byte) - out is then zeroed up to the
 * plaintext length, so no unauthenticated plaintext is ever released;
 * -ENOSPC when outcap is smaller than the plaintext (checked first; the
 * plaintext length is public).
 */
int secretbox_open(const uint8_t key[32], const uint8_t *in, size_t len, void *out,
                   size_t outcap);

/*
 * secretbox_seal() and secretbox_open() with associated data: ad (adlen
 * bytes, ad may be NULL when adlen is 0) is authenticated after the
 * version byte but not stored, so the box opens only with the same ad. Use
 * it to bind a box to what it belongs to (the SIP digest key to its
 * username and realm), so a box copied onto another row fails to open.
 * With adlen 0 these are exactly secretbox_seal() and secretbox_open().
 * Same returns as those.
 */
int secretbox_seal_ad(const uint8_t key[32], const void *ad, size_t adlen, const void *pt,
                      size_t len, uint8_t *out, size_t outcap);
int secretbox_open_ad(const uint8_t key[32], const void *ad, size_t adlen, const uint8_t *in,
                      size_t len, void *out, size_t outcap);

/*
 * FOR TESTS ONLY: secretbox_seal() with a caller-chosen nonce, so that known
 * answers can be checked. Reusing a nonce under one key destroys GCM's
 * security; production code must call secretbox_seal().
 * Same returns as secretbox_seal(), minus the random-source errors.
 */
int secretbox_seal_nonce(const uint8_t key[32], const uint8_t nonce[12], const void *pt,
                         size_t len, uint8_t *out, size_t outcap);

/*
 * FOR TESTS ONLY: raw AES-256-GCM encryption in place of len bytes of data
 * with a 96-bit IV and aadlen bytes of additional data (aad and data may be
 * NULL when their lengths are 0), writing the 16-byte tag. This is the
 * primitive secretbox_seal_nonce() runs with aad = the version byte; it
 * exists to check the NIST / McGrew-Viega GCM test vectors.
 */
void secretbox_aes256gcm_encrypt(const uint8_t key[32], const uint8_t iv[12],
                                 const void *aad, size_t aadlen, void *data, size_t len,
                                 uint8_t tag[16]);

/*
 * Loads a 32-byte key from the file at path. The file holds either exactly
 * 32 raw bytes, or exactly 64 hex digits (either case) optionally followed
 * by one "\n" or "\r\n"; anything else (other sizes, non-hex characters,
 * spaces) is -EINVAL. Symlinks are followed (container secrets are often
 * symlinks); the file's permissions are not checked.
 *
 * When path does not exist, a new key is made with crypto_random_bytes() and
 * written as 64 lower-case hex digits and "\n" to a new file with mode 0600
 * (regardless of the umask), and *created is set to 1; otherwise *created is
 * set to 0 (created may be NULL). The new file is written and fsync()ed
 * under a unique temporary name beside path (mkostemp(), removed afterwards)
 * and then hard-linked into place, and the directory is fsync()ed, so a
 * crash never leaves a partial key at path and a key that was returned
 * survives power loss. If another process creates path first, its key is
 * loaded instead. The parent directory must exist and allow hard links
 * (any local file system).
 *
 * Returns 0 with the key in key; -EINVAL for a malformed file;
 * -ENAMETOOLONG when path + ".XXXXXX" does not fit in PATH_MAX; or another
 * -errno from open/read/write/link/fsync (e.g. -EACCES, -ENOENT when the
 * directory does not exist, -EISDIR). On error key is zeroed.
 */
int secretbox_key_load(const char *path, uint8_t key[32], int *created);

#endif
