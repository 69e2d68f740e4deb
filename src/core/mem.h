/*
 * core/mem.h - what core/ keeps in memory beside a store, never on disk:
 * the login guard and the cache of decrypted SIP/TURN keys. Internal to
 * core/ (engines use accounts.h and resolve.h).
 *
 * The state hangs off the store (store_set_ext), is made on first use and
 * is wiped and freed by store_close(). Everything in it is bounded.
 *
 * Login guard: failed logins are counted per (email, source) pair, where
 * the source is whatever the caller identifies the client by (the portal:
 * the peer address; NULL: one shared source). Pairs are named by a keyed
 * hash (HMAC-SHA256 under a random key made at start, truncated to 128
 * bits), so the table holds neither emails nor addresses, and unknown
 * emails are counted exactly like real ones. CORE_LOGIN_MAX_FAILS failures
 * lock that pair for CORE_LOCKOUT_SECS; once the lockout has passed the
 * pair starts from zero. Someone who types another person's email locks
 * out only themselves.
 *
 * Key cache: the server key and realm installed by core_sipcred_rehash()
 * at start, and up to CORE_HA1_CACHE decrypted HA1s, each keyed by the
 * exact sealed box it came from, so a regenerated credential (a new box)
 * never hits an old entry and a deleted one is never read from the
 * database in the first place. A miss costs one AES-GCM open of 16 bytes.
 */
#ifndef T9_CORE_MEM_H
#define T9_CORE_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

#define CORE_GUARD_SLOTS 4096 /* pairs remembered; the oldest unlocked goes first */
#define CORE_GUARD_TAG 16

struct core_mem;

/* The store's in-memory state, made on first use; NULL when out of memory
 * or when no random key could be drawn (callers then go without). */
struct core_mem *core_mem(struct store *st);

/* The guard's names for one attempt: the (email, source) pair and the
 * email alone (the admin's unlock clears every pair of an email). */
void core_guard_tags(struct core_mem *m, const char *email, size_t elen, const void *src,
                     size_t srclen, uint8_t pair[CORE_GUARD_TAG],
                     uint8_t mail[CORE_GUARD_TAG]);

/* 1 while the pair is locked at now, else 0 (a lockout that has passed
 * is cleared with its count). */
int core_guard_locked(struct core_mem *m, const uint8_t pair[CORE_GUARD_TAG], int64_t now);

/* Counts a failure of the pair; returns 1 when this failure starts a
 * lockout. */
int core_guard_fail(struct core_mem *m, const uint8_t pair[CORE_GUARD_TAG],
                    const uint8_t mail[CORE_GUARD_TAG], int64_t now);

/* A successful login: the pair is forgotten. */
void core_guard_ok(struct core_mem *m, const uint8_t pair[CORE_GUARD_TAG]);

/* Forgets every pair of one email (core_accounts_unlock). */
void core_guard_clear_mail(struct core_mem *m, const uint8_t mail[CORE_GUARD_TAG]);

#define CORE_HA1_CACHE 1024

/* Installs the key (copied; wiped with the rest at store_close()) and the
 * realm lookups use. 0, -EINVAL (realm too long), -ENOMEM. */
int core_keys_install(struct store *st, const uint8_t key[32], const char *realm);

/* The installed key and realm, or NULL before core_keys_install(). */
const uint8_t *core_keys_key(struct core_mem *m);
const char *core_keys_realm(struct core_mem *m);

/* 1 with ha1 when box (len bytes) was opened before and is still cached. */
int core_keys_cached(struct core_mem *m, const uint8_t *box, size_t len, uint8_t ha1[16]);

/* Remembers the HA1 a box opened to, replacing whatever shared its slot. */
void core_keys_remember(struct core_mem *m, const uint8_t *box, size_t len,
                        const uint8_t ha1[16]);

#endif
