/*
 * core/maint.h - housekeeping that keeps retention as the privacy page
 * says (sql/privacy.tsv).
 */
#ifndef T9_CORE_MAINT_H
#define T9_CORE_MAINT_H

#include <stdint.h>

#include "store/db.h"

/* Deletes what has outlived its retention: sessions idle for 30 days,
 * expired password-reset and provisioning tokens, and invites expired more
 * than CORE_INVITE_KEEP ago. (Expired verification tokens stay: they mark
 * the account unverified until it verifies or asks again.) Then
 * checkpoints the WAL when anything was deleted. Run it periodically (the
 * server: hourly) and at start-up. Returns the number of rows deleted, or
 * a negative code. */
int core_maint_purge(struct store *st, int64_t now);

#endif
