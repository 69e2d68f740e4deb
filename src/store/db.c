/*
 * store/db.c - see db.h.
 */
#include "store/db.h"
#include "store/migrations.h"
#include "base/log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* core/ alone prepares about 100 distinct statements; STORE_STMT_CACHE
 * leaves room for the engines. */
struct store_cached {
    const char *sql; /* a string literal (store_stmt() enforces it) */
    sqlite3_stmt *stmt;
};

struct store {
    sqlite3 *db;
    int dirty;
    struct store_stats stats;
    void *ext;
    void (*ext_release)(void *ext);
    size_t ncached;
    struct store_cached cache[STORE_STMT_CACHE];
};

static void store_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void store_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int store_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        store_errf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

static int store_user_version(sqlite3 *db)
{
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Each migration and its user_version bump commit together, so a crash in
 * the middle leaves the database at a version that matches its schema. */
static int store_migrate(sqlite3 *db, char *err, size_t errlen)
{
    int v = store_user_version(db);
    if (v < 0) {
        store_errf(err, errlen, "cannot read schema version: %s", sqlite3_errmsg(db));
        return -EIO;
    }
    if (v > store_migrations_count) {
        store_errf(err, errlen,
                   "database schema version %d is newer than this t9phone knows (%d); "
                   "run the newer version or restore a backup",
                   v, store_migrations_count);
        return -EPROTO;
    }
    for (int i = v; i < store_migrations_count; i++) {
        char msg[256], bump[64];
        if (store_exec(db, "BEGIN IMMEDIATE", msg, sizeof msg) < 0) {
            store_errf(err, errlen, "migration %s: %s", store_migrations[i].name, msg);
            return -EIO;
        }
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", i + 1);
        if (store_exec(db, store_migrations[i].data, msg, sizeof msg) < 0 ||
            store_exec(db, bump, msg, sizeof msg) < 0 ||
            store_exec(db, "COMMIT", msg, sizeof msg) < 0) {
            store_exec(db, "ROLLBACK", NULL, 0);
            store_errf(err, errlen, "migration %s failed: %s", store_migrations[i].name, msg);
            return -EIO;
        }
        log_info("store", "applied migration %s", store_migrations[i].name);
    }
    return 0;
}

int store_open(const char *path, struct store **out, char *err, size_t errlen)
{
    *out = NULL;
    struct store *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                SQLITE_OPEN_EXRESCODE;
    /* New database files are private to the server's user. */
    mode_t old = umask(077);
    int rc = sqlite3_open_v2(path, &st->db, flags, NULL);
    umask(old);
    if (rc != SQLITE_OK) {
        store_errf(err, errlen, "cannot open database %s: %s", path,
                   st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        sqlite3_close(st->db);
        free(st);
        return -EIO;
    }
    sqlite3_busy_timeout(st->db, 5000);
    sqlite3_extended_result_codes(st->db, 1);
    char msg[256];
    if (store_exec(st->db,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                   "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON; PRAGMA recursive_triggers=ON; "
                   "PRAGMA trusted_schema=OFF; PRAGMA temp_store=MEMORY",
                   msg, sizeof msg) < 0) {
        store_errf(err, errlen, "cannot configure database %s: %s", path, msg);
        sqlite3_close(st->db);
        free(st);
        return -EIO;
    }
    rc = store_migrate(st->db, err, errlen);
    if (rc < 0) {
        sqlite3_close(st->db);
        free(st);
        return rc;
    }
    *out = st;
    return 0;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    store_set_ext(st, NULL, NULL);
    for (size_t i = 0; i < st->ncached; i++)
        sqlite3_finalize(st->cache[i].stmt);
    sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    if (sqlite3_close(st->db) != SQLITE_OK)
        log_error("store", "close: %s", sqlite3_errmsg(st->db));
    free(st);
}

sqlite3 *store_db(struct store *st)
{
    return st->db;
}

sqlite3_stmt *store_stmt_literal(struct store *st, const char *sql)
{
    /* Literals only (see db.h), so the address names the statement. */
    struct store_cached *hit = NULL;
    for (size_t i = 0; i < st->ncached && !hit; i++)
        if (st->cache[i].sql == sql)
            hit = &st->cache[i];
    if (hit) {
        sqlite3_reset(hit->stmt);
        sqlite3_clear_bindings(hit->stmt);
        return hit->stmt;
    }
    assert(st->ncached <= STORE_STMT_CACHE);
    if (st->ncached == STORE_STMT_CACHE) {
        /* Full: evict the oldest statement that is not in the middle of a
         * step. Callers hold a statement only until their next
         * store_stmt() call, so one that is still busy is a caller's bug:
         * loud in the debug build, survived in the release one. */
        size_t victim = STORE_STMT_CACHE;
        for (size_t i = 0; i < st->ncached && victim == STORE_STMT_CACHE; i++)
            if (!sqlite3_stmt_busy(st->cache[i].stmt))
                victim = i;
        assert(victim == 0 && "evicting past a statement still in use");
        if (victim == STORE_STMT_CACHE) {
            log_error("store", "statement cache full of statements in use");
            return NULL;
        }
        sqlite3_finalize(st->cache[victim].stmt);
        memmove(&st->cache[victim], &st->cache[victim + 1],
                (st->ncached - victim - 1) * sizeof st->cache[0]);
        st->ncached--;
    }
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
        log_error("store", "prepare failed: %s", sqlite3_errmsg(st->db));
        sqlite3_finalize(s);
        return NULL;
    }
    st->cache[st->ncached++] = (struct store_cached){ sql, s };
    return s;
}

int store_checkpoint(struct store *st)
{
    int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        st->stats.checkpoints_busy++;
        return -EBUSY;
    }
    if (rc != SQLITE_OK) {
        st->stats.checkpoints_failed++;
        return -EIO;
    }
    st->stats.checkpoints++;
    return 0;
}

const struct store_stats *store_stats(const struct store *st)
{
    return &st->stats;
}

void store_mark_dirty(struct store *st)
{
    st->dirty = 1;
}

int store_is_dirty(struct store *st)
{
    return st->dirty;
}

int store_checkpoint_if_dirty(struct store *st)
{
    if (!st->dirty)
        return 0;
    /* Not inside a transaction: the loop calls this between requests. */
    if (!sqlite3_get_autocommit(st->db))
        return -EBUSY;
    int rc = store_checkpoint(st);
    if (rc < 0)
        return rc;
    st->dirty = 0;
    return 1;
}

void store_set_ext(struct store *st, void *ext, void (*release)(void *ext))
{
    if (st->ext && st->ext_release)
        st->ext_release(st->ext);
    st->ext = ext;
    st->ext_release = release;
}

void *store_ext(struct store *st)
{
    return st->ext;
}

int store_begin(struct store *st)
{
    int rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return 0;
    log_error("store", "begin: %s", sqlite3_errmsg(st->db));
    if ((rc & 0xff) == SQLITE_BUSY) {
        st->stats.busy++;
        return -EBUSY;
    }
    return -EIO;
}

int store_commit(struct store *st)
{
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
        st->stats.commits++;
        return 0;
    }
    st->stats.rollbacks++;
    log_error("store", "commit: %s", sqlite3_errmsg(st->db));
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return -EIO;
}

void store_rollback(struct store *st)
{
    if (!sqlite3_get_autocommit(st->db)) {
        st->stats.rollbacks++;
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    }
}

int store_version(struct store *st)
{
    return store_user_version(st->db);
}

int store_backup(const char *src_path, const char *dst_path, char *err, size_t errlen)
{
    sqlite3 *src = NULL, *dst = NULL;
    int ret = -EIO;
    if (access(dst_path, F_OK) == 0) {
        store_errf(err, errlen, "%s exists; refusing to overwrite it", dst_path);
        return -EEXIST;
    }
    if (sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        store_errf(err, errlen, "cannot open %s: %s", src_path, sqlite3_errmsg(src));
        goto out;
    }
    sqlite3_busy_timeout(src, 5000);
    mode_t old = umask(077);
    int rc = sqlite3_open_v2(dst_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    umask(old);
    if (rc != SQLITE_OK) {
        store_errf(err, errlen, "cannot create %s: %s", dst_path, sqlite3_errmsg(dst));
        goto out;
    }
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        store_errf(err, errlen, "backup: %s", sqlite3_errmsg(dst));
        goto out;
    }
    /* Copy everything in one step: it holds a read transaction on the source,
     * so the copy is one consistent snapshot even while the server writes. */
    do {
        rc = sqlite3_backup_step(b, -1);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(50);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        store_errf(err, errlen, "backup failed: %s", sqlite3_errstr(rc));
        goto out;
    }
    ret = 0;
out:
    sqlite3_close(src);
    sqlite3_close(dst);
    if (ret < 0 && dst)
        unlink(dst_path);
    return ret;
}
