/*
 * core/maint.c - see maint.h.
 */
#include "core/maint.h"
#include "core/errors.h"
#include "core/internal.h"
#include "core/accounts.h"
#include "core/invites.h"
#include "core/sessions.h"
#include "base/log.h"

#include <errno.h>

static int purge(struct store *st, sqlite3_stmt *s, int64_t cutoff)
{
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, cutoff);
    int rc = core_exec(st, s);
    return rc < 0 ? rc : sqlite3_changes(store_db(st));
}

/* Deletes the unverified accounts whose grace has passed, one at a time
 * (each in its own transaction: owned groups go first). */
static int purge_unverified(struct store *st, int64_t now)
{
    int n = 0;
    for (int guard = 0; guard < 100000; guard++) {
        sqlite3_stmt *s = core_stmt(st,
            "SELECT user_id FROM email_tokens WHERE purpose = 'verify' AND expires <= ?1 "
            "LIMIT 1");
        if (!s)
            return -EIO;
        sqlite3_bind_int64(s, 1, now - CORE_UNVERIFIED_GRACE);
        int rc = core_row(st, s);
        if (rc <= 0)
            return rc < 0 ? rc : n;
        int64_t uid = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
        if ((rc = core_accounts_delete(st, uid, now)) < 0)
            return rc;
        n++;
    }
    return n;
}

int core_maint_purge(struct store *st, int64_t now)
{
    int total = 0, rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = core_sessions_expire(st, now);
    if (rc >= 0) {
        total += rc;
        rc = purge(st, core_stmt(st, "DELETE FROM email_tokens WHERE purpose = 'reset' "
                                     "AND expires <= ?1"), now);
    }
    if (rc >= 0) {
        total += rc;
        rc = purge(st, core_stmt(st, "DELETE FROM provision_tokens WHERE expires <= ?1"), now);
    }
    if (rc >= 0) {
        total += rc;
        rc = purge(st, core_stmt(st, "DELETE FROM invites WHERE expires <= ?1"), now);
    }
    if (rc >= 0) {
        total += rc;
        /* A lockout that has passed leaves neither its end nor its count. */
        rc = purge(st, core_stmt(st, "UPDATE users SET failed_logins = 0, locked_until = NULL "
                                     "WHERE locked_until <= ?1"), now);
    }
    if (rc >= 0) {
        total += rc;
        rc = 0;
    }
    rc = core_txn_end(st, rc);
    if (rc < 0)
        return rc;
    rc = purge_unverified(st, now);
    if (rc < 0)
        return rc;
    total += rc;
    if (total > 0) {
        log_info("core", "purged %d expired rows", total);
        int c = store_checkpoint(st);
        if (c < 0) {
            store_mark_dirty(st); /* the loop's next store_checkpoint_if_dirty() */
            log_warn("core", "WAL checkpoint deferred (%s)", core_strerror(c));
        }
    }
    return total;
}

int core_maint_next_expiry(struct store *st, int64_t now, int64_t *when)
{
    (void)now;
    *when = 0;
    sqlite3_stmt *s = core_stmt(st,
        "SELECT min(t) FROM ("
        " SELECT min(expires) AS t FROM email_tokens WHERE purpose = 'reset'"
        " UNION ALL SELECT min(expires) + ?1 FROM email_tokens WHERE purpose = 'verify'"
        " UNION ALL SELECT min(expires) FROM provision_tokens"
        " UNION ALL SELECT min(expires) FROM invites"
        " UNION ALL SELECT min(last_active) + ?2 FROM sessions"
        " UNION ALL SELECT min(locked_until) FROM users WHERE locked_until IS NOT NULL)");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, CORE_UNVERIFIED_GRACE);
    sqlite3_bind_int64(s, 2, CORE_SESSION_IDLE + CORE_DAY);
    int rc = core_row(st, s);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        *when = sqlite3_column_int64(s, 0); /* NULL (nothing pending) reads as 0 */
        sqlite3_reset(s);
    }
    return 0;
}
