/*
 * core/core.h - what every core/ module shares: the configuration that
 * needs secrets, token sizes and the admin actor.
 *
 * core/ is the domain: the only code that reads or writes the accounts
 * tables. The portal, the SIP proxy, the TURN relay and the admin CLI all
 * call these functions; none of them runs SQL on those tables itself.
 *
 * Conventions for every core_* function:
 *   - the first argument is the store (one connection, used from one thread);
 *   - returns 0 (or a count) on success, a negative code from core/errors.h
 *     on failure; on failure no output is meaningful and nothing was written;
 *   - every change and its group event-log entry are written in one
 *     BEGIN IMMEDIATE transaction, so concurrent writers serialise;
 *   - time comes in as `now` (unix seconds), never from the clock, so tests
 *     can move it;
 *   - output buffers are the caller's, with the sizes named in the headers;
 *   - tokens handed out (sessions, invites, email and provisioning tokens)
 *     are CORE_TOKEN_SIZE strings (base64url) that are never stored: the
 *     database holds only their SHA-256.
 */
#ifndef T9_CORE_CORE_H
#define T9_CORE_CORE_H

#include <stdint.h>

/* Settings the domain needs beyond the database. */
struct core_cfg {
    const char *realm;         /* SIP and TURN realm, part of every HA1 */
    const uint8_t *secret_key; /* SECRETBOX_KEY_LEN bytes encrypting SIP passwords;
                                * NULL: SIP credentials can be neither made nor read */
    int bcrypt_cost;           /* 4..31; 0 means BCRYPT_DEFAULT_COST (12) */
};

/* Returns cfg's bcrypt cost, BCRYPT_DEFAULT_COST when unset or out of range. */
int core_cfg_cost(const struct core_cfg *cfg);

/* Random bytes in each token (256 bits) and the buffer size of its text. */
#define CORE_TOKEN_BYTES 32
#define CORE_TOKEN_SIZE 48 /* 43 base64url characters + NUL, rounded up */
/* Tokens presented longer than this are refused without hashing. */
#define CORE_TOKEN_MAX 256

/* The actor of administrative actions (the admin CLI): owner checks are
 * skipped and the event log records no actor. User ids are always > 0. */
#define CORE_ACTOR_ADMIN 0

#endif
