/*
 * core/maint.c - see maint.h.
 */
#include "core/maint.h"
#include "core/errors.h"
#include "core/internal.h"
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

int core_maint_purge(struct store *st, int64_t now)
{
    int total = 0, rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = core_sessions_expire(st, now);
    if (rc >= 0) {
        total += rc;
        rc = purge(st, core_stmt(st, "DELETE FROM email_tokens WHERE purpose = 'reset' AND expires <= ?1"), now);
    }
    if (rc >= 0) {
        total += rc;
        rc = purge(st, core_stmt(st, "DELETE FROM provision_tokens WHERE expires <= ?1"), now);
    }
    if (rc >= 0) {
        total += rc;
        rc = purge(st, core_stmt(st, "DELETE FROM invites WHERE expires <= ?1"), now - CORE_INVITE_KEEP);
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
    if (total > 0) {
        log_info("core", "purged %d expired rows", total);
        int c = store_checkpoint(st);
        if (c < 0)
            log_warn("core", "WAL checkpoint deferred (%s)", core_strerror(c));
    }
    return total;
}
