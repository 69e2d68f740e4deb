/*
 * core/sipcred.h - each user's SIP (and TURN) credentials, and the
 * one-time tokens that provision a phone with them.
 *
 * A user has exactly one credential: a random username (16 characters of
 * [a-z2-7], 80 bits; the AOR is sip:<username>@<realm>) and a random
 * password (24 base64url characters, 144 bits). The database keeps the
 * password only as a secret box (AES-256-GCM, crypto/secretbox.h) under
 * the server key, and HA1 = MD5(username:realm:password), which is both the
 * SIP digest key and the TURN long-term credential key (RFC 8489 9.2), only
 * as another box bound to the username and realm, beside the realm it was
 * made for. So a copy of the database without the key can neither read a
 * password nor authenticate to SIP or TURN. The plaintext password exists
 * only in memory while a provisioning document (or the admin's `user sip
 * --show-password`) is made, and at the first start after a realm change.
 * Decrypted HA1s live in a bounded in-memory cache (core/mem.h).
 */
#ifndef T9_CORE_SIPCRED_H
#define T9_CORE_SIPCRED_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "store/db.h"

#define CORE_SIP_USER_LEN 16
#define CORE_SIP_USER_SIZE 65  /* usernames in the schema are 8-64 characters */
#define CORE_SIP_PASS_SIZE 64
#define CORE_PROVISION_TTL (15 * 60)

/* Replaces the user's credentials with new random ones (the phone must be
 * provisioned again). 0, -ENOENT, -EINVAL (no secret key or realm). */
int core_sipcred_regenerate(struct store *st, const struct core_cfg *cfg, int64_t uid);

/* The user's SIP username. 0 or -ENOENT. */
int core_sipcred_username(struct store *st, int64_t uid, char user[CORE_SIP_USER_SIZE]);

/* Decrypts the user's credentials for a provisioning document (or the admin
 * CLI). The caller wipes pass (crypto_wipe) as soon as it is used.
 * 0, -ENOENT, -EINVAL (no key), -EBADMSG (wrong secret key: never garbage). */
int core_sipcred_reveal(struct store *st, const struct core_cfg *cfg, int64_t uid,
                        char user[CORE_SIP_USER_SIZE], char pass[CORE_SIP_PASS_SIZE]);

/* Prepares the credentials for serving, at start-up (the server calls it
 * before any engine): checks the key on one sealed HA1 (no password is
 * decrypted for that), reseals the HA1 of every credential made for
 * another realm (after the realm in the configuration changed, or the
 * first start after migration 003) from its decrypted password, and
 * installs cfg's key and realm for core_sip_lookup_ha1() in the store's
 * memory (wiped by store_close()). *changed gets the number of credentials
 * rewritten. 0, -EINVAL (no key or realm, or a realm over 255 bytes),
 * -EBADMSG (wrong key for this database: nothing is changed), -ENOMEM,
 * -EIO. */
int core_sipcred_rehash(struct store *st, const struct core_cfg *cfg, int *changed);

/* The sealed form of a HA1 (secretbox bound to username and realm). */
#define CORE_HA1_BOX (16 + 29)
#define CORE_HA1_AD_MAX (15 + CORE_SIP_USER_SIZE + 256)

/* Seals ha1 for user@realm into box; 0 or a negative errno. Pure apart
 * from the random nonce. */
int core_ha1_seal(const uint8_t key[32], const char *user, const char *realm,
                  const uint8_t ha1[16], uint8_t box[CORE_HA1_BOX]);

/* Opens a box made by core_ha1_seal() for the same user and realm.
 * 0 or -EBADMSG (wrong key, user, realm, or any changed byte). Pure. */
int core_ha1_open(const uint8_t key[32], const char *user, const char *realm,
                  const uint8_t *box, size_t len, uint8_t ha1[16]);

/* A one-time provisioning token for the user, valid CORE_PROVISION_TTL;
 * earlier unused tokens of the user stay valid until they expire. 0,
 * -ENOENT. */
int core_sipcred_provision_token(struct store *st, int64_t uid, int64_t now,
                                 char token[CORE_TOKEN_SIZE]);

/* Uses a provisioning token (it is deleted, whatever follows) and reveals
 * the credentials of its user. 0 with *uid, user and pass; -ENOENT (unknown
 * or already used), CORE_E_EXPIRED, -EBADMSG. */
int core_sipcred_provision_redeem(struct store *st, const struct core_cfg *cfg,
                                  const char *token, int64_t now, int64_t *uid,
                                  char user[CORE_SIP_USER_SIZE],
                                  char pass[CORE_SIP_PASS_SIZE]);

#endif
