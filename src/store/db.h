/*
 * store/db.h - the SQLite database: open, migrate, statements, backup.
 *
 * One connection per struct store, used from one thread (the loop thread in
 * the server, the main thread in CLI commands). The database runs in WAL
 * mode with foreign keys, secure_delete (deleted rows are overwritten, so a
 * deleted account's email does not linger in free pages), recursive
 * triggers (so INSERT OR REPLACE runs the DELETE triggers of the row it
 * replaces: the append-only log and the owner rule hold against it) and a
 * 5 s busy timeout, so a CLI command and the running server can share one
 * file.
 */
#ifndef T9_STORE_DB_H
#define T9_STORE_DB_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

struct store;

/* Opens (creating if needed) the database at path, applies the pragmas and
 * every embedded migration not yet applied, each in its own transaction.
 * Refuses a database whose user_version is newer than this binary knows
 * (-EPROTO), with a message in err. Returns 0 or a negative errno. */
int store_open(const char *path, struct store **out, char *err, size_t errlen);

/* Checkpoints the WAL into the main file and closes. NULL is accepted. */
void store_close(struct store *st);

/* The raw connection, for prepared statements in core/. */
sqlite3 *store_db(struct store *st);

/* Returns the cached prepared statement for sql, reset and with bindings
 * cleared, preparing it on first use. NULL on error, which is logged. The
 * statement stays owned by the store and is valid until the next
 * store_stmt() call may evict it; a statement in the middle of a step
 * (sqlite3_stmt_busy) is never evicted.
 *
 * The cache keys on the address of the SQL text, so only string literals
 * are accepted (their address is fixed for the life of the program): the
 * macro pastes "" on both sides, and anything but a literal fails to
 * compile. SQL built at run time goes through sqlite3_prepare_v2() and is
 * finalized by its caller. */
#define store_stmt(st, sql) store_stmt_literal((st), "" sql "")
sqlite3_stmt *store_stmt_literal(struct store *st, const char *sql);

/* How many statements the cache holds at most. */
#define STORE_STMT_CACHE 256

/* PRAGMA wal_checkpoint(TRUNCATE): the WAL is copied into the database
 * file and truncated to zero bytes, so deleted data leaves the WAL too.
 * Returns 0, or -EBUSY when readers kept it from completing. */
int store_checkpoint(struct store *st);

/* Aggregate counters of the connection, for /metrics. */
struct store_stats {
    uint64_t commits;            /* store_commit() that committed */
    uint64_t rollbacks;          /* transactions rolled back (refusals included) */
    uint64_t busy;               /* store_begin() that found the database locked */
    uint64_t checkpoints;        /* WAL checkpoints (TRUNCATE) completed */
    uint64_t checkpoints_busy;   /* checkpoints that readers held up */
    uint64_t checkpoints_failed; /* checkpoints that failed otherwise */
};

/* The counters (valid until store_close()). */
const struct store_stats *store_stats(const struct store *st);

/* Notes that a write removed or replaced personal data (a nickname change,
 * a leave, an ended session, a used token...): the old bytes may still sit
 * in the WAL and in pages not yet copied home. store_checkpoint_if_dirty()
 * then checkpoints, so the caller batches many such writes into one
 * checkpoint. Cheap: sets a flag. */
void store_mark_dirty(struct store *st);

/* 1 while a write marked dirty has not been checkpointed yet. */
int store_is_dirty(struct store *st);

/* The server's loop calls this at least once a second: when the store is
 * dirty it runs store_checkpoint() and, on success, clears the flag.
 * Returns 1 when it checkpointed, 0 when there was nothing to do, -EBUSY
 * when readers kept the checkpoint from completing (the flag stays, so the
 * next call tries again) or -EIO. */
int store_checkpoint_if_dirty(struct store *st);

/* One slot for the state core/ keeps beside a connection in memory (its
 * cache of decrypted keys, the login guard): set once, released (and
 * wiped by release) in store_close(). Setting it again releases the old
 * one first. ext NULL clears it. */
void store_set_ext(struct store *st, void *ext, void (*release)(void *ext));

/* The slot set by store_set_ext(), or NULL. */
void *store_ext(struct store *st);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. The write lock is taken at BEGIN so
 * two writers serialise there instead of failing at COMMIT. */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);

/* The schema version (user_version) the database is at. */
int store_version(struct store *st);

/* Copies the database at src_path (live or not) into dst_path with the
 * SQLite online backup API; the copy is consistent even while a server
 * writes. dst_path must not exist. Returns 0 or a negative errno. */
int store_backup(const char *src_path, const char *dst_path, char *err, size_t errlen);

#endif
