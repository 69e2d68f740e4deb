/*
 * core/resolve.c - see resolve.h.
 */
#include "core/resolve.h"
#include "core/errors.h"
#include "core/internal.h"
#include "core/mem.h"
#include "core/t9.h"

#include <errno.h>
#include <string.h>

/* Usernames in the schema are 8-64 characters of [a-z0-9]; anything else
 * cannot match and is not worth a query. */
static int username_ok(const char *u)
{
    if (!u)
        return 0;
    size_t n = strnlen(u, CORE_SIP_USER_SIZE);
    if (n < 8 || n >= CORE_SIP_USER_SIZE)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((u[i] >= 'a' && u[i] <= 'z') || (u[i] >= '0' && u[i] <= '9')))
            return 0;
    return 1;
}

int core_resolve_dial(struct store *st, int64_t caller_uid, const char *digits, size_t len,
                      struct core_callee *out)
{
    char glob[CORE_T9_GLOB_SIZE];
    memset(out, 0, sizeof *out);
    if (core_t9_dial_glob(digits, len, glob) < 0)
        return -ENOENT;
    /* The nickname is compared with the code's GLOB pattern (t9.h), not
     * users.dial_code with the code: the same rows, without the 26 nested
     * replace() calls per member that made this query most of a call's CPU.
     * The pattern is an expression, not a bare parameter: SQLite's LIKE/GLOB
     * optimisation would otherwise look at the bound value and re-prepare
     * the statement every time the pattern changes (every call).
     * One row per match: a member of one of the caller's groups (with
     * whether the group is the caller's active one), and the caller. The
     * GLOB filters before anything is grouped or sorted, so the few matches
     * are reduced here rather than by GROUP BY/ORDER BY over a materialised
     * member list. Dial codes are unique per group, so there are at most as
     * many rows as the caller has groups, plus one, and at most one callee
     * in the active group. */
    sqlite3_stmt *s = core_stmt(st,
        "SELECT u.id, c.username, coalesce(m2.group_id = me.active_group_id, 0) "
        "FROM users me "
        "JOIN memberships m1 ON m1.user_id = me.id "
        "JOIN memberships m2 ON m2.group_id = m1.group_id "
        "JOIN users u ON u.id = m2.user_id "
        "JOIN sip_credentials c ON c.user_id = u.id "
        "WHERE me.id = ?1 AND u.nickname GLOB (?2 || '') "
        "UNION ALL "
        "SELECT u.id, c.username, 1 FROM users u "
        "JOIN sip_credentials c ON c.user_id = u.id "
        "WHERE u.id = ?1 AND u.nickname GLOB (?2 || '')");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, caller_uid);
    sqlite3_bind_text(s, 2, glob, -1, SQLITE_STATIC);
    /* The answer of "GROUP BY id ORDER BY max(active) DESC, id": the lowest
     * id in the active group (or the caller), else the one callee when all
     * matches are the same person, else ambiguous. */
    int n = 0, multi = 0, step;
    struct core_callee first = { 0 }, active = { 0 };
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        if (n++ == 0) {
            first.user_id = id;
            core_col_text(s, 1, first.sip_username, sizeof first.sip_username);
        } else if (id != first.user_id) {
            multi = 1;
        }
        if (sqlite3_column_int(s, 2) && (!active.user_id || id < active.user_id)) {
            active.user_id = id;
            core_col_text(s, 1, active.sip_username, sizeof active.sip_username);
        }
    }
    sqlite3_reset(s);
    if (step != SQLITE_DONE)
        return core_sql_err(st, step);
    if (n == 0)
        return -ENOENT;
    if (active.user_id) {
        *out = active;
        return 0;
    }
    if (multi)
        return CORE_E_AMBIGUOUS;
    *out = first;
    return 0;
}

int core_resolve_sip_username(struct store *st, int64_t caller_uid, const char *username,
                              struct core_callee *out)
{
    memset(out, 0, sizeof *out);
    if (!username_ok(username))
        return -ENOENT;
    sqlite3_stmt *s = core_stmt(st,
        "SELECT c.user_id, c.username FROM sip_credentials c "
        "WHERE c.username = ?2 AND (c.user_id = ?1 OR EXISTS ("
        "  SELECT 1 FROM memberships a JOIN memberships b ON b.group_id = a.group_id "
        "  WHERE a.user_id = ?1 AND b.user_id = c.user_id))");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, caller_uid);
    sqlite3_bind_text(s, 2, username, -1, SQLITE_STATIC);
    int rc = core_row(st, s);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    out->user_id = sqlite3_column_int64(s, 0);
    core_col_text(s, 1, out->sip_username, sizeof out->sip_username);
    sqlite3_reset(s);
    return 0;
}

int core_resolve_caller(struct store *st, const char *sip_username, int64_t *uid)
{
    *uid = 0;
    if (!username_ok(sip_username))
        return -ENOENT;
    sqlite3_stmt *s = core_stmt(st, "SELECT user_id FROM sip_credentials WHERE username = ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, sip_username, -1, SQLITE_STATIC);
    int rc = core_row(st, s);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    *uid = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return 0;
}

int core_sip_lookup_ha1(struct store *st, const char *sip_username, uint8_t ha1[16])
{
    memset(ha1, 0, 16);
    if (!username_ok(sip_username))
        return -ENOENT;
    struct core_mem *m = core_mem(st);
    const uint8_t *key = m ? core_keys_key(m) : NULL;
    if (!key)
        return -ENOENT; /* no key installed: nothing can be opened */
    sqlite3_stmt *s = core_stmt(st,
        "SELECT ha1_enc FROM sip_credentials WHERE username = ?1 AND realm = ?2");
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, sip_username, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, core_keys_realm(m), -1, SQLITE_STATIC);
    int rc = core_row(st, s);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    const uint8_t *box = sqlite3_column_blob(s, 0);
    size_t len = (size_t)sqlite3_column_bytes(s, 0);
    rc = 0;
    if (!box || len != CORE_HA1_BOX) {
        rc = -ENOENT; /* not sealed yet (before the start-up rehash) */
    } else if (!core_keys_cached(m, box, len, ha1)) {
        if (core_ha1_open(key, sip_username, core_keys_realm(m), box, len, ha1) == 0)
            core_keys_remember(m, box, len, ha1);
        else
            rc = -ENOENT; /* another key's box: it cannot authenticate anyone */
    }
    sqlite3_reset(s);
    if (rc < 0)
        memset(ha1, 0, 16);
    return rc;
}
