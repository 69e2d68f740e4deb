/*
 * core/internal.c - see internal.h.
 */
#include "core/internal.h"
#include "core/errors.h"
#include "base/log.h"
#include "crypto/bcrypt.h"
#include "crypto/hash.h"
#include "crypto/random.h"

#include <errno.h>
#include <string.h>

int core_cfg_cost(const struct core_cfg *cfg)
{
    if (!cfg || cfg->bcrypt_cost < BCRYPT_MIN_COST || cfg->bcrypt_cost > BCRYPT_MAX_COST)
        return BCRYPT_DEFAULT_COST;
    return cfg->bcrypt_cost;
}

int core_prepare(struct store *st, const char *sql, sqlite3_stmt **out)
{
    *out = NULL;
    if (sqlite3_prepare_v2(store_db(st), sql, -1, out, NULL) != SQLITE_OK) {
        log_error("core", "prepare failed: %s", sqlite3_errmsg(store_db(st)));
        return -EIO;
    }
    return 0;
}

int core_sql_err(struct store *st, int rc)
{
    const char *msg = sqlite3_errmsg(store_db(st));
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_CONSTRAINT:
        /* Trigger messages are fixed strings from sql/001_accounts.sql;
         * constraint messages name the column, never a value. */
        if (strcmp(msg, "banned") == 0)
            return CORE_E_BANNED;
        if (strcmp(msg, "group full") == 0)
            return CORE_E_FULL;
        if (strcmp(msg, "dial code collision") == 0)
            return CORE_E_COLLISION;
        if (strcmp(msg, "member cap below member count") == 0)
            return CORE_E_CAP_TOO_LOW;
        if (strcmp(msg, "owner must transfer ownership or delete the group") == 0 ||
            strcmp(msg, "cannot ban the owner") == 0)
            return CORE_E_IS_OWNER;
        if (strcmp(msg, "already a member") == 0)
            return CORE_E_ALREADY_MEMBER;
        if (strcmp(msg, "active group: not a member") == 0)
            return CORE_E_NOT_MEMBER;
        if (strstr(msg, "users.email"))
            return CORE_E_EMAIL_TAKEN;
        if (strstr(msg, "groups.slug"))
            return CORE_E_SLUG_TAKEN;
        if (strstr(msg, "memberships.group_id"))
            return CORE_E_ALREADY_MEMBER;
        log_warn("core", "constraint refused a write: %s", msg);
        return -EINVAL;
    default:
        log_error("core", "database error: %s", msg);
        return -EIO;
    }
}

int core_exec(struct store *st, sqlite3_stmt *s)
{
    if (!s)
        return -EIO;
    int rc = sqlite3_step(s);
    int ret = rc == SQLITE_DONE ? 0 : rc == SQLITE_ROW ? -EIO : core_sql_err(st, rc);
    sqlite3_reset(s);
    return ret;
}

int core_row(struct store *st, sqlite3_stmt *s)
{
    if (!s)
        return -EIO;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 1;
    int ret = rc == SQLITE_DONE ? 0 : core_sql_err(st, rc);
    sqlite3_reset(s);
    return ret;
}

int core_bind_id(sqlite3_stmt *s, int idx, int64_t id)
{
    return id > 0 ? sqlite3_bind_int64(s, idx, id) : sqlite3_bind_null(s, idx);
}

int core_txn_end(struct store *st, int rc)
{
    if (rc < 0) {
        store_rollback(st);
        return rc;
    }
    int c = store_commit(st);
    return c < 0 ? c : rc;
}

int core_event(struct store *st, int64_t gid, const char *type, int64_t actor,
               int64_t target, int64_t now)
{
    /* Someone not (or no longer) in the group is named by nobody: a
     * leave, kick, ban or unban names "a former member". */
    sqlite3_stmt *s = core_stmt(st,
        "INSERT INTO group_events (group_id, type, at, actor_id, target_id) VALUES (?1, ?2, ?3, "
        "(SELECT user_id FROM memberships WHERE group_id = ?1 AND user_id = ?4), "
        "(SELECT user_id FROM memberships WHERE group_id = ?1 AND user_id = ?5))");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, gid);
    sqlite3_bind_text(s, 2, type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, core_day(now));
    core_bind_id(s, 4, actor);
    core_bind_id(s, 5, target);
    return core_exec(st, s);
}

int core_forget_in_log(struct store *st, int64_t gid, int64_t uid)
{
    sqlite3_stmt *s = core_stmt(st,
        "UPDATE group_events SET "
        "actor_id = CASE WHEN actor_id = ?2 THEN NULL ELSE actor_id END, "
        "target_id = CASE WHEN target_id = ?2 THEN NULL ELSE target_id END "
        "WHERE group_id = ?1 AND (actor_id = ?2 OR target_id = ?2)");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, gid);
    sqlite3_bind_int64(s, 2, uid);
    int rc = core_exec(st, s);
    if (rc == 0)
        store_mark_dirty(st);
    return rc;
}

int64_t core_day(int64_t t)
{
    return t > 0 ? t - t % 86400 : 0;
}

int core_token_new(char tok[CORE_TOKEN_SIZE], uint8_t hash[32])
{
    int rc = crypto_random_token(tok, CORE_TOKEN_SIZE, CORE_TOKEN_BYTES);
    if (rc < 0) {
        tok[0] = '\0';
        return rc;
    }
    crypto_sha256(tok, strlen(tok), hash);
    return 0;
}

int core_token_hash(const char *tok, uint8_t hash[32])
{
    if (!tok)
        return -EINVAL;
    size_t n = strnlen(tok, CORE_TOKEN_MAX + 1);
    if (n == 0 || n > CORE_TOKEN_MAX)
        return -EINVAL;
    crypto_sha256(tok, n, hash);
    return 0;
}

void core_col_text(sqlite3_stmt *s, int col, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    int n = sqlite3_column_bytes(s, col);
    if (!cap)
        return;
    if (!t || n <= 0) {
        out[0] = '\0';
        return;
    }
    size_t len = (size_t)n < cap - 1 ? (size_t)n : cap - 1;
    memcpy(out, t, len);
    out[len] = '\0';
}

int core_text_by_id_stmt(struct store *st, sqlite3_stmt *s, int64_t id, char *out,
                         size_t cap)
{
    out[0] = '\0';
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, id);
    int rc = core_row(st, s);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    core_col_text(s, 0, out, cap);
    sqlite3_reset(s);
    return 0;
}

int core_each_row(struct store *st, sqlite3_stmt *s, int (*row)(void *ctx, sqlite3_stmt *s),
                  void *ctx)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int r = row(ctx, s);
        if (r) {
            sqlite3_finalize(s);
            return r;
        }
    }
    rc = rc == SQLITE_DONE ? 0 : core_sql_err(st, rc);
    sqlite3_finalize(s);
    return rc;
}
