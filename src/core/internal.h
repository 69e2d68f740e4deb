/*
 * core/internal.h - helpers shared by the core/ modules. Not for engines:
 * include the module headers instead.
 */
#ifndef T9_CORE_INTERNAL_H
#define T9_CORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "core/core.h"
#include "store/db.h"

/* The store's cached statement for sql (a string literal: see
 * store_stmt()), or NULL (logged). The statement is only valid until the
 * next store_stmt() call: the cache may evict it. So core never holds a
 * cached statement across a call that could prepare another; loops that
 * call out use core_prepare() instead. */
#define core_stmt(st, sql) store_stmt((st), sql)

/* A private statement for a loop (finalize with sqlite3_finalize). 0 or -EIO. */
int core_prepare(struct store *st, const char *sql, sqlite3_stmt **out);

/* Steps a private statement from core_prepare() to its end, calling
 * row(ctx, s) for each row; a non-zero return from row stops the walk and
 * is returned. The statement is finalized in every case. Returns 0, row's
 * value, or core_sql_err(). */
int core_each_row(struct store *st, sqlite3_stmt *s, int (*row)(void *ctx, sqlite3_stmt *s),
                  void *ctx);

/* Maps a failed SQLite result to a negative code: the RAISE() messages of
 * the schema triggers and the unique constraints become their CORE_E_*
 * refusal, busy becomes -EBUSY, anything else -EIO (logged, without data). */
int core_sql_err(struct store *st, int rc);

/* Steps s, which must produce no row, and resets it. 0 or core_sql_err(). */
int core_exec(struct store *st, sqlite3_stmt *s);

/* Steps s expecting at most one row: 1 when a row is there (columns
 * readable until the caller resets s), 0 when none (s reset), negative on
 * error (s reset). */
int core_row(struct store *st, sqlite3_stmt *s);

/* Binds a user or group id, or NULL when id is 0. */
int core_bind_id(sqlite3_stmt *s, int idx, int64_t id);

/* Ends the transaction begun with store_begin(): rolls back when rc < 0,
 * commits otherwise. Returns rc, or the commit's error. */
int core_txn_end(struct store *st, int rc);

/* Appends one entry to a group's event log (inside the caller's
 * transaction), at the day of now. actor/target 0, and anyone who is not a
 * member of gid (any more), are stored as NULL: "a former member". */
int core_event(struct store *st, int64_t gid, const char *type, int64_t actor,
               int64_t target, int64_t now);

/* Makes every entry of gid's log that names uid (who has just left the
 * group) name nobody, and marks the store dirty. Inside the caller's
 * transaction, after the membership row is gone (the schema allows the
 * change only then). */
int core_forget_in_log(struct store *st, int64_t gid, int64_t uid);

/* t rounded down to midnight UTC: the only precision the log and the
 * memberships keep (sql/002_group_log.sql). */
int64_t core_day(int64_t t);

/* A fresh random token (CORE_TOKEN_BYTES) as text, and its SHA-256. */
int core_token_new(char tok[CORE_TOKEN_SIZE], uint8_t hash[32]);

/* SHA-256 of a presented token; -EINVAL when it is empty or longer than
 * CORE_TOKEN_MAX. */
int core_token_hash(const char *tok, uint8_t hash[32]);

/* Copies column col (TEXT) of s into out (cap bytes), truncating safely. */
void core_col_text(sqlite3_stmt *s, int col, char *out, size_t cap);

/* Runs sql (a literal), which selects one text column for ?1 = id, and
 * copies the first row's value into out (cap bytes, always NUL-terminated;
 * empty on error). Returns 0, -ENOENT when no row matches, or -EIO. */
#define core_text_by_id(st, sql, id, out, cap) \
    core_text_by_id_stmt((st), core_stmt((st), sql), (id), (out), (cap))
int core_text_by_id_stmt(struct store *st, sqlite3_stmt *s, int64_t id, char *out,
                         size_t cap);

/* Inserts the SIP credentials of a new user, inside the caller's
 * transaction (core/sipcred.c). */
int core_sipcred_insert(struct store *st, const struct core_cfg *cfg, int64_t uid);

/* Adds uid to gid as a member after every membership check (banned,
 * already member, full, dial-code collision) and logs a 'join' by actor
 * (0: the user themselves); inside the caller's transaction (core/groups.c). */
int core_groups_join_locked(struct store *st, int64_t gid, int64_t uid, int64_t actor,
                            int64_t now);

/* Deletes a group with its memberships, bans, invites and event log,
 * inside the caller's transaction (core/groups.c). */
int core_groups_delete_locked(struct store *st, int64_t gid);

#endif
