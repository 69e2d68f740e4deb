/*
 * core/sessions.c - see sessions.h.
 */
#include "core/sessions.h"
#include "core/errors.h"
#include "core/internal.h"
#include "crypto/random.h"

#include <errno.h>
#include <string.h>

static int64_t day_of(int64_t t)
{
    if (t < 0)
        return 0;
    return t - t % CORE_DAY;
}

/* The last active day before which a session is expired at now. */
static int64_t expiry_cutoff(int64_t now)
{
    return now - CORE_SESSION_IDLE - CORE_DAY;
}

/* Inserts a fresh session for uid (inside or outside a transaction). */
static int insert_session(struct store *st, int64_t uid, int64_t now,
                          char sid[CORE_TOKEN_SIZE], char csrf[CORE_TOKEN_SIZE])
{
    uint8_t h[32];
    int rc = core_token_new(sid, h);
    if (rc < 0)
        return rc;
    rc = crypto_random_token(csrf, CORE_TOKEN_SIZE, CORE_TOKEN_BYTES);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = core_stmt(st,
        "INSERT INTO sessions (id_hash, user_id, csrf, last_active) "
        "SELECT ?1, id, ?3, ?4 FROM users WHERE id = ?2");
    if (!s)
        return -EIO;
    sqlite3_bind_blob(s, 1, h, sizeof h, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, uid);
    sqlite3_bind_text(s, 3, csrf, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, day_of(now));
    rc = core_exec(st, s);
    if (rc == 0 && sqlite3_changes(store_db(st)) == 0)
        rc = -ENOENT;
    return rc;
}

int core_sessions_create(struct store *st, int64_t uid, int64_t now,
                         char sid[CORE_TOKEN_SIZE], char csrf[CORE_TOKEN_SIZE])
{
    int rc = insert_session(st, uid, now, sid, csrf);
    if (rc < 0)
        sid[0] = csrf[0] = '\0';
    return rc;
}

/* Deletes the session with hash h. */
static int delete_hash(struct store *st, const uint8_t h[32])
{
    sqlite3_stmt *s = core_stmt(st, "DELETE FROM sessions WHERE id_hash = ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_blob(s, 1, h, 32, SQLITE_TRANSIENT);
    int rc = core_exec(st, s);
    if (rc == 0 && sqlite3_changes(store_db(st)) == 0)
        rc = -ENOENT;
    if (rc == 0)
        store_mark_dirty(st); /* an ended session leaves no bytes behind */
    return rc;
}

/* Finds a live session: 0 with uid and csrf, -ENOENT, CORE_E_EXPIRED
 * (then deleted). Touches it when its day is not today. */
static int find_session(struct store *st, const uint8_t h[32], int64_t now, int64_t *uid,
                        char csrf[CORE_TOKEN_SIZE])
{
    sqlite3_stmt *s = core_stmt(st,
        "SELECT user_id, csrf, last_active FROM sessions WHERE id_hash = ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_blob(s, 1, h, 32, SQLITE_TRANSIENT);
    int rc = core_row(st, s);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    *uid = sqlite3_column_int64(s, 0);
    core_col_text(s, 1, csrf, CORE_TOKEN_SIZE);
    int64_t last = sqlite3_column_int64(s, 2);
    sqlite3_reset(s);
    if (last <= expiry_cutoff(now)) {
        rc = delete_hash(st, h);
        return rc < 0 && rc != -ENOENT ? rc : CORE_E_EXPIRED;
    }
    if (last < day_of(now)) {
        s = core_stmt(st, "UPDATE sessions SET last_active = ?2 WHERE id_hash = ?1");
        if (!s)
            return -EIO;
        sqlite3_bind_blob(s, 1, h, 32, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 2, day_of(now));
        if ((rc = core_exec(st, s)) < 0)
            return rc;
    }
    return 0;
}

int core_sessions_lookup(struct store *st, const char *sid, int64_t now, int64_t *uid,
                         char csrf[CORE_TOKEN_SIZE])
{
    uint8_t h[32];
    char tmp[CORE_TOKEN_SIZE];
    *uid = 0;
    if (csrf)
        csrf[0] = '\0';
    if (core_token_hash(sid, h) < 0)
        return -ENOENT;
    int rc = find_session(st, h, now, uid, tmp);
    if (rc < 0) {
        *uid = 0;
        return rc;
    }
    if (csrf)
        memcpy(csrf, tmp, CORE_TOKEN_SIZE);
    return 0;
}

int core_sessions_rotate(struct store *st, const char *sid, int64_t now,
                         char new_sid[CORE_TOKEN_SIZE], char new_csrf[CORE_TOKEN_SIZE])
{
    uint8_t h[32];
    char csrf[CORE_TOKEN_SIZE];
    int64_t uid = 0;
    new_sid[0] = new_csrf[0] = '\0';
    if (core_token_hash(sid, h) < 0)
        return -ENOENT;
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = find_session(st, h, now, &uid, csrf);
    if (rc == CORE_E_EXPIRED) {
        /* Commit the deletion of the expired session, then refuse. */
        rc = core_txn_end(st, 0);
        return rc < 0 ? rc : CORE_E_EXPIRED;
    }
    if (rc == 0)
        rc = delete_hash(st, h);
    if (rc == 0)
        rc = insert_session(st, uid, now, new_sid, new_csrf);
    rc = core_txn_end(st, rc);
    if (rc < 0)
        new_sid[0] = new_csrf[0] = '\0';
    return rc;
}

int core_sessions_end(struct store *st, const char *sid)
{
    uint8_t h[32];
    if (core_token_hash(sid, h) < 0)
        return -ENOENT;
    return delete_hash(st, h);
}

int core_sessions_end_all(struct store *st, int64_t uid, const char *keep_sid)
{
    uint8_t keep[32];
    int have_keep = keep_sid && core_token_hash(keep_sid, keep) == 0;
    sqlite3_stmt *s = core_stmt(st,
        "DELETE FROM sessions WHERE user_id = ?1 AND id_hash IS NOT ?2");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, uid);
    if (have_keep)
        sqlite3_bind_blob(s, 2, keep, sizeof keep, SQLITE_TRANSIENT);
    int rc = core_exec(st, s);
    if (rc < 0)
        return rc;
    rc = sqlite3_changes(store_db(st));
    if (rc > 0)
        store_mark_dirty(st);
    return rc;
}

int core_sessions_expire(struct store *st, int64_t now)
{
    sqlite3_stmt *s = core_stmt(st, "DELETE FROM sessions WHERE last_active <= ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, expiry_cutoff(now));
    int rc = core_exec(st, s);
    if (rc < 0)
        return rc;
    rc = sqlite3_changes(store_db(st));
    if (rc > 0)
        store_mark_dirty(st);
    return rc;
}
