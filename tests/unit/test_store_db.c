/* Unit tests for store/db: pragmas, migrations, statement cache, backup. */
#include "t.h"
#include "store/db.h"
#include "store/migrations.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static void db_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", t_tmpdir(), name);
}

static long long pragma_int(struct store *st, const char *sql)
{
    sqlite3_stmt *s = store_stmt(st, sql);
    ASSERT(s != NULL);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    long long v = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return v;
}

TEST(store_open_sets_pragmas_and_migrates)
{
    char p[512], err[256];
    struct store *st;
    db_path(p, sizeof p, "a.db");
    ASSERT_EQ(store_open(p, &st, err, sizeof err), 0);
    ASSERT_EQ(store_version(st), store_migration_count);
    ASSERT_EQ(pragma_int(st, "PRAGMA foreign_keys"), 1);
    ASSERT_EQ(pragma_int(st, "PRAGMA secure_delete"), 1);
    sqlite3_stmt *s = store_stmt(st, "PRAGMA journal_mode");
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    ASSERT_STR_EQ((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_reset(s);
    store_close(st);
    /* Reopening applies nothing new. */
    ASSERT_EQ(store_open(p, &st, err, sizeof err), 0);
    ASSERT_EQ(store_version(st), store_migration_count);
    store_close(st);
}

TEST(store_refuses_newer_schema)
{
    char p[512], err[256];
    struct store *st;
    db_path(p, sizeof p, "b.db");
    ASSERT_EQ(store_open(p, &st, err, sizeof err), 0);
    ASSERT_EQ(sqlite3_exec(store_db(st), "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    store_close(st);
    ASSERT_EQ(store_open(p, &st, err, sizeof err), -EPROTO);
    ASSERT(strstr(err, "newer") != NULL);
}

TEST(store_stmt_is_cached_and_reset)
{
    char p[512], err[256];
    struct store *st;
    db_path(p, sizeof p, "c.db");
    ASSERT_EQ(store_open(p, &st, err, sizeof err), 0);
    static const char q[] = "SELECT ?1 + 1";
    sqlite3_stmt *a = store_stmt(st, q);
    sqlite3_bind_int(a, 1, 41);
    ASSERT_EQ(sqlite3_step(a), SQLITE_ROW);
    ASSERT_EQ(sqlite3_column_int(a, 0), 42);
    sqlite3_stmt *b = store_stmt(st, q);
    ASSERT(a == b);
    /* Bindings were cleared: NULL + 1 is NULL. */
    ASSERT_EQ(sqlite3_step(b), SQLITE_ROW);
    ASSERT_EQ(sqlite3_column_type(b, 0), SQLITE_NULL);
    ASSERT(store_stmt(st, "SELEKT nonsense") == NULL);
    store_close(st);
}

TEST(store_transactions_commit_and_roll_back)
{
    char p[512], err[256];
    struct store *st;
    db_path(p, sizeof p, "d.db");
    ASSERT_EQ(store_open(p, &st, err, sizeof err), 0);
    sqlite3 *db = store_db(st);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ(store_begin(st), 0);
    ASSERT_EQ(sqlite3_exec(db, "INSERT INTO t VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
    store_rollback(st);
    ASSERT_EQ(pragma_int(st, "SELECT count(*) FROM t"), 0);
    ASSERT_EQ(store_begin(st), 0);
    ASSERT_EQ(sqlite3_exec(db, "INSERT INTO t VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ(store_commit(st), 0);
    ASSERT_EQ(pragma_int(st, "SELECT count(*) FROM t"), 1);
    ASSERT_EQ(store_checkpoint(st), 0);
    store_close(st);
}

TEST(store_backup_copies_and_never_overwrites)
{
    char p[512], q[512], err[256];
    struct store *st;
    db_path(p, sizeof p, "e.db");
    db_path(q, sizeof q, "e-copy.db");
    ASSERT_EQ(store_open(p, &st, err, sizeof err), 0);
    ASSERT_EQ(sqlite3_exec(store_db(st), "CREATE TABLE t(x); INSERT INTO t VALUES (7)", NULL, NULL, NULL), SQLITE_OK);
    /* Backup while the source connection is open and its WAL is not checkpointed. */
    ASSERT_EQ(store_backup(p, q, err, sizeof err), 0);
    ASSERT_EQ(store_backup(p, q, err, sizeof err), -EEXIST);
    store_close(st);
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(q, &db), SQLITE_OK);
    sqlite3_stmt *s;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT x FROM t", -1, &s, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    ASSERT_EQ(sqlite3_column_int(s, 0), 7);
    sqlite3_finalize(s);
    sqlite3_close(db);
    db_path(q, sizeof q, "missing-dir/x.db");
    ASSERT(store_backup(p, q, err, sizeof err) < 0);
}

TEST(store_privacy_inventory_is_embedded)
{
    /* The header row and a known column, so the page never renders empty. */
    ASSERT(strlen(store_privacy_inventory) > 100);
    ASSERT(strstr(store_privacy_inventory, "users\temail\t") != NULL);
}
