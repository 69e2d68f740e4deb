/*
 * core/resolve.h - who a call goes to, for the SIP proxy; credentials for
 * the SIP registrar and the TURN relay.
 *
 * A caller reaches only people who share at least one group with them
 * (banned users are not members, so a ban cuts the path too). A stranger,
 * and a dial code or username nobody in the caller's groups has, both get
 * -ENOENT: the proxy answers them identically. Callers can always reach
 * themselves (their own other phones).
 */
#ifndef T9_CORE_RESOLVE_H
#define T9_CORE_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "core/sipcred.h"
#include "store/db.h"

struct core_callee {
    int64_t user_id;
    char sip_username[CORE_SIP_USER_SIZE]; /* the AOR is sip:<this>@<realm> */
};

/* Resolves dialed digits for caller_uid over the groups caller and callee
 * share. Dial codes are unique inside a group, so several matches mean
 * several groups: the caller's active group decides when exactly one match
 * is in it. Returns 0 with *out, -ENOENT (no one, or not a dial code),
 * CORE_E_AMBIGUOUS (several people and no decision: SIP 485). */
int core_resolve_dial(struct store *st, int64_t caller_uid, const char *digits, size_t len,
                      struct core_callee *out);

/* Resolves a SIP username for caller_uid: 0 with *out only when the two
 * share a group (or it is the caller's own), else -ENOENT. */
int core_resolve_sip_username(struct store *st, int64_t caller_uid, const char *username,
                              struct core_callee *out);

/* The account of an authenticated SIP username. 0 with *uid, -ENOENT. */
int core_resolve_caller(struct store *st, const char *sip_username, int64_t *uid);

/* The digest HA1 (MD5(username:realm:password), 16 raw bytes) of a SIP
 * username, for the SIP registrar and the TURN relay's long-term
 * credentials. The database holds it only sealed: it is opened with the
 * key and realm core_sipcred_rehash() installed at start, through a
 * bounded cache of opened keys (core/mem.h), so a call costs one indexed
 * read and, on a miss, one 16-byte AES-GCM open. 0 or -ENOENT (also for
 * malformed usernames, before the key is installed, and for a box the key
 * does not open: a copied database under another key authenticates
 * nobody); -EIO on a database error. */
int core_sip_lookup_ha1(struct store *st, const char *sip_username, uint8_t ha1[16]);

#endif
