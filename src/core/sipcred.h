/*
 * core/sipcred.h - each user's SIP (and TURN) credentials, and the
 * one-time tokens that provision a phone with them.
 *
 * A user has exactly one credential: a random username (16 characters of
 * [a-z2-7], 80 bits; the AOR is sip:<username>@<realm>) and a random
 * password (24 base64url characters, 144 bits). The database keeps the
 * password only as a secret box (AES-256-GCM, crypto/secretbox.h) under
 * the server key, and HA1 = MD5(username:realm:password), which is both the
 * SIP digest key and the TURN long-term credential key (RFC 8489 9.2). The
 * plaintext exists only in memory while a provisioning document is made.
 */
#ifndef T9_CORE_SIPCRED_H
#define T9_CORE_SIPCRED_H

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

/* Recomputes every HA1 whose realm is not cfg->realm (after the realm in
 * the configuration changed), from the decrypted passwords. *changed gets
 * the number of credentials rewritten. Run at start-up. 0, -EBADMSG (wrong
 * key: nothing is changed), -EIO. */
int core_sipcred_rehash(struct store *st, const struct core_cfg *cfg, int *changed);

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
