/*
 * core/sip_support.h - what the SIP proxy needs from core beyond
 * core/resolve.h: the caller's own nickname and dial code (for
 * P-Asserted-Identity and the From display name) and the people an
 * ambiguous dial code could mean (for the Contacts of a 485).
 *
 * Like resolve.h, these answer from the database at the time of the call:
 * nothing is cached, so a ban, a kick or a deletion takes effect on the
 * next request.
 */
#ifndef T9_CORE_SIP_SUPPORT_H
#define T9_CORE_SIP_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/sipcred.h"
#include "core/t9.h"
#include "store/db.h"

/* The nickname and dial code of user uid. 0, -ENOENT, -EIO. */
int core_sip_identity(struct store *st, int64_t uid, char nickname[CORE_NICK_SIZE],
                      char dial_code[CORE_NICK_SIZE]);

/* One person a dial code could mean. */
struct core_sip_candidate {
    char sip_username[CORE_SIP_USER_SIZE];
    char nickname[CORE_NICK_SIZE];
};

/* Everyone sharing a group with caller_uid (or the caller) whose dial code
 * is digits, in a stable order (by account), up to cap of them into out.
 * Returns how many there are (may exceed cap; 0 for none or for text that
 * is not a dial code), or -EIO. */
int core_sip_dial_candidates(struct store *st, int64_t caller_uid, const char *digits,
                             size_t len, struct core_sip_candidate *out, size_t cap);

#endif
