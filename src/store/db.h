/*
 * store/db.h - the SQLite database: open, migrate, statements, backup.
 *
 * One connection per struct store, used from one thread (the loop thread in
 * the server, the main thread in CLI commands). The database runs in WAL
 * mode with foreign keys, secure_delete (deleted rows are overwritten, so a
 * deleted account's email does not linger in free pages) and a 5 s busy
 * timeout, so a CLI command and the running server can share one file.
 */
#ifndef T9_STORE_DB_H
#define T9_STORE_DB_H

#include <stddef.h>
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

/* Returns the cached prepared statement for sql (compared by text), reset
 * and with bindings cleared, preparing it on first use. NULL on error,
 * which is logged. The statement stays owned by the store. */
sqlite3_stmt *store_stmt(struct store *st, const char *sql);

/* PRAGMA wal_checkpoint(TRUNCATE): the WAL is copied into the database
 * file and truncated to zero bytes, so deleted data leaves the WAL too.
 * Returns 0, or -EBUSY when readers kept it from completing. */
int store_checkpoint(struct store *st);

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
