/*
 * crypto/bcrypt.h - bcrypt password hashing (Provos & Mazieres, 1999).
 *
 * A self-contained Blowfish / EksBlowfish implementation that reproduces
 * Openwall's crypt_blowfish 1.3 (the bcrypt inside libxcrypt's crypt(3),
 * PHP and Apache's APR/htpasswd) byte for byte, and so OpenBSD's bcrypt and
 * pyca/bcrypt for every input where those agree with it (see $2a$ below). Hashes look like
 *
 *     $2b$12$ssssssssssssssssssssssHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHH
 *     |  |  |<- 22 salt chars ->|<------- 31 hash chars -------->
 *     |  |  cost: 2^cost EksBlowfish rounds, two decimal digits, 04..31
 *     |  minor version: a, b, x or y
 *
 * in bcrypt's own base64 alphabet ./A-Za-z0-9. New hashes are always $2b$.
 *
 * The 72-byte limit. The Blowfish key is the password followed by one NUL
 * byte, repeated cyclically, and bcrypt uses exactly the first 72 bytes of
 * that stream (18 32-bit words). Hence:
 *   - a password of up to 71 bytes is used whole, with its NUL terminator;
 *   - a 72-byte password is used whole and its terminator is not used;
 *   - bytes past the 72nd are ignored: every password that shares the first
 *     72 bytes of another has the same hash. Nothing here rejects or reports
 *     long passwords; the caller's password policy must (a limit of 72 bytes,
 *     counted in bytes, not characters: 18 four-byte UTF-8 characters fill it).
 * This is the $2b$ rule ("cap the length at 72"). OpenBSD's original $2a$
 * code kept the length in an 8-bit counter, so a password of 255 or more
 * bytes wrapped around to a short key; $2b$ was introduced in 2014 to mark
 * hashes made by fixed code. crypt_blowfish never had that bug, and neither
 * does this code: $2a$ hashes of long passwords are computed like $2b$ (the
 * first 72 bytes), which is what libxcrypt, PHP and pyca/bcrypt produce.
 *
 * NUL bytes. Passwords are (pointer, length) byte strings and an embedded NUL
 * is hashed as data, as pyca/bcrypt >= 4 and passlib's raw API do (crypt(3)
 * and OpenBSD's bcrypt() take C strings and would stop at the first NUL).
 * Because the key stream itself uses NUL as the separator, passwords with
 * embedded NULs can collide: "" and "\0", or "a" and "a\0a", give the same
 * hash. Callers hashing user input should refuse passwords containing NUL.
 *
 * Minor versions, all accepted when hashing with a setting and verifying:
 *   $2b$, $2y$  current bcrypt: the password bytes as unsigned chars.
 *   $2a$        the same, plus crypt_blowfish's countermeasure (1.1, 2011):
 *               for the rare 8-bit passwords on which the sign-extension
 *               bug below changes nothing, one key bit is flipped so that
 *               such a $2a$ hash can never equal the buggy one. OpenBSD's
 *               $2a$ lacks it, so for those passwords (e.g. "\xff\xff\xa3")
 *               an OpenBSD-made $2a$ hash does not verify here; htpasswd and
 *               libxcrypt agree with this code.
 *   $2x$        crypt_blowfish's bug-compatible mode for hashes made before
 *               2011 by code that sign-extended 8-bit password bytes (so
 *               "\xa3" and "\xff\xff\xa3" collide). Only for verifying old
 *               hashes; never generated.
 * The original "$2$" and every other minor letter are rejected.
 *
 * Cost 12 takes roughly a quarter of a second on a current x86-64 core, and
 * each step up doubles it. All functions are pure, allocation-free and
 * thread-safe (no globals: the initial Blowfish state is const data); run
 * them off the event loop. The Blowfish S-box lookups depend on the password,
 * as in every bcrypt implementation (cache-timing resistance would cost most
 * of the work factor); the final comparison is constant-time.
 */
#ifndef T9_CRYPTO_BCRYPT_H
#define T9_CRYPTO_BCRYPT_H

#include <stddef.h>

#define BCRYPT_HASH_SIZE 61      /* 60 chars + NUL */
#define BCRYPT_SETTING_LEN 29    /* "$2b$NN$" + 22 salt chars */
#define BCRYPT_DEFAULT_COST 12
#define BCRYPT_MIN_COST 4
#define BCRYPT_MAX_COST 31
#define BCRYPT_MAX_PASSWORD 72   /* bytes; later bytes are ignored */

/*
 * Hashes pwlen bytes at pw (NULL allowed when pwlen is 0) with a fresh
 * 16-byte random salt from crypto_random_bytes(), as a $2b$ hash with the
 * given cost (BCRYPT_MIN_COST..BCRYPT_MAX_COST; BCRYPT_DEFAULT_COST for
 * portal passwords), written to out with its NUL.
 * Returns 0; -EINVAL for a cost out of range or pw NULL with pwlen > 0; or
 * -errno from crypto_random_bytes(). On error out is the empty string.
 */
int bcrypt_hash(const void *pw, size_t pwlen, int cost, char out[BCRYPT_HASH_SIZE]);

/*
 * Hashes pw with an explicit setting: exactly "$2<m>$<NN>$" followed by 22
 * salt characters (29 characters), or a complete 60-character hash whose
 * salt (and version and cost) is reused and whose last 31 characters must be
 * in the bcrypt alphabet but are otherwise ignored. <m> is a, b, x or y; NN
 * is two decimal digits 04..31. The 22nd salt character carries only 2 bits;
 * its 4 low bits are dropped and the output spells the salt canonically (as
 * crypt_blowfish does), so the output may differ from the setting there.
 * Returns 0 with the 60-character hash and its NUL in out, or -EINVAL for
 * any other setting (wrong length, unknown minor version, cost 00-03 or
 * 32-99, a character outside the alphabet, crypt(3)'s "*0"/"*1" failure
 * tokens...) or pw NULL with pwlen > 0; out is then the empty string.
 */
int bcrypt_hash_setting(const void *pw, size_t pwlen, const char *setting,
                        char out[BCRYPT_HASH_SIZE]);

/*
 * Checks pw against a stored 60-character hash (any minor version above).
 * The recomputed hash is compared in constant time.
 * Returns 0 when pw matches, -EACCES when it does not, -EINVAL when hash is
 * NULL, not exactly 60 characters, or otherwise malformed (see
 * bcrypt_hash_setting), or pw is NULL with pwlen > 0. Takes as long as
 * hashing with the stored cost (up to 2^31 rounds for an attacker-chosen
 * cost: only verify hashes this server wrote).
 * A login for an unknown account should still verify against a fixed dummy
 * hash of the current cost, so that response time does not reveal which
 * accounts exist.
 */
int bcrypt_verify(const void *pw, size_t pwlen, const char *hash);

/*
 * Returns the cost of a well-formed setting or hash (4..31), or -EINVAL.
 * Lets a caller rehash on login when the stored cost is below the current
 * default.
 */
int bcrypt_cost(const char *hash);

#endif
