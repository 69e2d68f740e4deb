/*
 * core/maint.h - housekeeping that keeps retention as the privacy page
 * says (sql/privacy.tsv).
 */
#ifndef T9_CORE_MAINT_H
#define T9_CORE_MAINT_H

#include <stdint.h>

#include "store/db.h"

/* Deletes what has outlived its retention (sql/privacy.tsv): sessions idle
 * for 30 days, expired password-reset and provisioning tokens, expired
 * invites, lockouts that have passed (their end and count), and accounts
 * never verified CORE_UNVERIFIED_GRACE after their verification link
 * expired (deleted like core_accounts_delete(), one transaction each).
 * Then checkpoints the WAL when anything was deleted. Run it at start-up
 * and whenever core_maint_next_expiry() says something is due. Returns the
 * number of rows changed, or a negative code. */
int core_maint_purge(struct store *st, int64_t now);

/* When the next row falls due for core_maint_purge(): the earliest expiry
 * of a reset or provisioning token, an invite, a session, a lockout or an
 * unverified account's grace, so the loop can run the purge at that second
 * instead of up to an hour later. Writes it to *when (a time <= now when
 * something is already due; 0 when nothing is pending). 0 or -EIO. */
int core_maint_next_expiry(struct store *st, int64_t now, int64_t *when);

#endif
