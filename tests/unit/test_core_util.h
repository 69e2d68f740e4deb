/*
 * test_core_util.h - shared fixtures for the core_* unit tests.
 */
#ifndef T9_TEST_CORE_UTIL_H
#define T9_TEST_CORE_UTIL_H

#include "t.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/accounts.h"
#include "core/core.h"
#include "core/errors.h"
#include "core/mem.h"
#include "store/db.h"

#define TC_NOW ((int64_t)1700000000) /* a fixed "now" for tests */
#define TC_PW "correct horse battery"

static const uint8_t tc_key[32] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

static const struct core_cfg tc_cfg = { "t9phone.test", tc_key, 4 };

/* Path of a file in the test's private directory. */
static inline const char *tc_path(const char *name)
{
    static char p[4096];
    snprintf(p, sizeof p, "%s/%s", t_tmpdir(), name);
    return p;
}

/* Opens (migrating) a test database, without the serving key installed:
 * core_sip_lookup_ha1() finds nothing until core_sipcred_rehash(). */
static inline struct store *tc_open_bare(const char *name)
{
    struct store *st = NULL;
    char err[256] = "", path[4096];
    /* A local path: the race tests open from several threads. */
    snprintf(path, sizeof path, "%s/%s", t_tmpdir(), name);
    int rc = store_open(path, &st, err, sizeof err);
    if (rc != 0)
        t_fail(__FILE__, __LINE__, "store_open: %d %s", rc, err);
    return st;
}

/* Opens (migrating) a test database with tc_cfg's key and realm installed
 * for the SIP/TURN HA1 lookups, as the server's start-up step does
 * (core_sipcred_rehash, which also reseals after a realm change). */
static inline struct store *tc_open_at(const char *name)
{
    struct store *st = tc_open_bare(name);
    int rc = core_keys_install(st, tc_key, tc_cfg.realm);
    if (rc != 0)
        t_fail(__FILE__, __LINE__, "core_keys_install: %d", rc);
    return st;
}

static inline struct store *tc_open(void)
{
    return tc_open_at("t.db");
}

/* A verified account with password TC_PW. */
static inline int64_t tc_user(struct store *st, const char *email, const char *nick)
{
    int64_t uid = 0;
    int rc = core_accounts_signup(st, &tc_cfg, email, nick, TC_PW, strlen(TC_PW),
                                  CORE_SIGNUP_VERIFIED, TC_NOW, &uid, NULL);
    if (rc != 0)
        t_fail(__FILE__, __LINE__, "signup %s: %s", email, core_strerror(rc));
    return uid;
}

/* Runs one SQL statement with no result; returns the primary SQLite result code. */
static inline int tc_sql(struct store *st, const char *sql)
{
    return sqlite3_exec(store_db(st), sql, NULL, NULL, NULL) & 0xff;
}

/* First column of the first row of sql as an integer (-1 when no row). */
static inline long long tc_int(struct store *st, const char *sql)
{
    sqlite3_stmt *s;
    long long v = -1;
    if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
        t_fail(__FILE__, __LINE__, "prepare %s: %s", sql, sqlite3_errmsg(store_db(st)));
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* 1 when the file at path contains needle (a missing file contains nothing). */
static inline int tc_file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = strlen(needle), cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ASSERT(buf);
    for (;;) {
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (len < cap)
            break;
        cap *= 2;
        buf = realloc(buf, cap);
        ASSERT(buf);
    }
    fclose(f);
    int found = len >= n && memmem(buf, len, needle, n) != NULL;
    free(buf);
    return found;
}

#endif
