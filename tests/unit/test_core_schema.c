/*
 * test_core_schema.c - the rules sql/001_accounts.sql holds by itself, and
 * the privacy inventory (sql/privacy.tsv) against the live schema.
 */
#include "test_core_util.h"

#include <limits.h>
#include <unistd.h>

#include "core/groups.h"

TEST(core_schema_tables_are_strict)
{
    struct store *st = tc_open();
    ASSERT(tc_int(st, "SELECT count(*) FROM pragma_table_list "
                      "WHERE schema = 'main' AND name NOT LIKE 'sqlite_%'") >= 10);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM pragma_table_list "
                         "WHERE schema = 'main' AND name NOT LIKE 'sqlite_%' AND strict = 0"), 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    store_close(st);
}

/* Nothing the contract says is never collected has a column. */
TEST(core_schema_no_forbidden_columns)
{
    struct store *st = tc_open();
    const char *bad[] = { "%ip%", "%addr%", "%agent%", "%device%", "%call%", "%location%",
                          "%presence%", "%online%", "%seen%", "%host%", "%port%",
                          "%contact%", "%message%", "%duration%" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM pragma_table_list t, pragma_table_xinfo(t.name) c "
                 "WHERE t.schema = 'main' AND t.name NOT LIKE 'sqlite_%%' "
                 "AND c.name LIKE '%s' AND c.name NOT IN ('expires')", bad[i]);
        if (tc_int(st, sql) != 0)
            t_fail(__FILE__, __LINE__, "a column matches %s", bad[i]);
    }
    store_close(st);
}

/* The dial code column is computed, not stored. */
TEST(core_schema_dial_code_is_virtual)
{
    struct store *st = tc_open();
    ASSERT_EQ(tc_int(st, "SELECT hidden FROM pragma_table_xinfo('users') "
                         "WHERE name = 'dial_code'"), 2); /* 2: virtual generated */
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' "
                         "AND sql LIKE '%dial_code%'"), 0);
    store_close(st);
}

TEST(core_schema_checks)
{
    struct store *st = tc_open();
    const char *h = "'$2b$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'";
    char sql[512];
    snprintf(sql, sizeof sql, "INSERT INTO users (email, password_hash, nickname, created) "
             "VALUES ('a@example.org', %s, 'Marina', 1)", h);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_CONSTRAINT); /* upper case */
    snprintf(sql, sizeof sql, "INSERT INTO users (email, password_hash, nickname, created) "
             "VALUES ('a@example.org', %s, 'short', 1)", h);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_CONSTRAINT);
    snprintf(sql, sizeof sql, "INSERT INTO users (email, password_hash, nickname, created) "
             "VALUES ('noat', %s, 'marina', 1)", h);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_CONSTRAINT);
    ASSERT_EQ(tc_sql(st, "INSERT INTO users (email, password_hash, nickname, created) "
                         "VALUES ('a@example.org', 'plaintext', 'marina', 1)"),
              SQLITE_CONSTRAINT);
    snprintf(sql, sizeof sql, "INSERT INTO users (email, password_hash, nickname, created) "
             "VALUES ('a@example.org', %s, 'marina', 1)", h);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_OK);
    snprintf(sql, sizeof sql, "INSERT INTO users (email, password_hash, nickname, created) "
             "VALUES ('A@EXAMPLE.ORG', %s, 'marina', 1)", h);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_CONSTRAINT); /* NOCASE unique */
    ASSERT_EQ(tc_sql(st, "INSERT INTO groups (name, slug, member_cap) VALUES ('G', 'G', 5)"),
              SQLITE_CONSTRAINT);
    ASSERT_EQ(tc_sql(st, "INSERT INTO groups (name, slug, member_cap) VALUES ('G', 'g', 0)"),
              SQLITE_CONSTRAINT);
    ASSERT_EQ(tc_sql(st, "INSERT INTO groups (name, slug, member_cap) VALUES ('G', '-g', 5)"),
              SQLITE_CONSTRAINT);
    ASSERT_EQ(tc_sql(st, "INSERT INTO groups (name, slug, member_cap) VALUES ('G', 'g', 5)"),
              SQLITE_OK);
    ASSERT_EQ(tc_sql(st, "UPDATE groups SET slug = 'h' WHERE slug = 'g'"), SQLITE_CONSTRAINT);
    ASSERT_EQ(tc_sql(st, "INSERT INTO memberships VALUES (1, 1, 'admin', 1)"),
              SQLITE_CONSTRAINT);
    ASSERT_EQ(tc_sql(st, "INSERT INTO group_events (group_id, type, at) VALUES (1, 'call', 1)"),
              SQLITE_CONSTRAINT);
    ASSERT_EQ(tc_sql(st, "INSERT INTO sessions VALUES (zeroblob(32), 1, "
                         "'abcdefghijklmnopqrstuvwxyzabcdefgh', 5)"),
              SQLITE_CONSTRAINT); /* last_active must be a whole day */
    ASSERT_EQ(tc_sql(st, "INSERT INTO invites (group_id, token_hash, email, max_uses, expires) "
                         "VALUES (1, zeroblob(32), 'x@example.org', 2, 5)"),
              SQLITE_CONSTRAINT); /* addressed: one use */
    ASSERT_EQ(tc_sql(st, "INSERT INTO invites (group_id, token_hash, max_uses, expires, uses) "
                         "VALUES (1, zeroblob(32), 2, 5, 3)"),
              SQLITE_CONSTRAINT);
    ASSERT_EQ(tc_sql(st, "INSERT INTO invites (group_id, token_hash, max_uses, expires) "
                         "VALUES (1, zeroblob(31), 2, 5)"),
              SQLITE_CONSTRAINT);
    ASSERT_EQ(tc_sql(st, "INSERT INTO invites (group_id, token_hash, max_uses, expires) "
                         "VALUES (1, zeroblob(32), 2, 5)"), SQLITE_OK);
    ASSERT_EQ(tc_sql(st, "UPDATE invites SET revoked = 1"), SQLITE_OK);
    ASSERT_EQ(tc_sql(st, "UPDATE invites SET revoked = 0"), SQLITE_CONSTRAINT);
    ASSERT_EQ(tc_sql(st, "INSERT INTO groups (name, slug, member_cap) VALUES ('x', 'x', 5)"),
              SQLITE_OK);
    ASSERT_EQ(tc_sql(st, "INSERT INTO groups (name, slug, member_cap) VALUES "
                         "('a' || char(10), 'y', 5)"), SQLITE_CONSTRAINT);
    store_close(st);
}

/* The event log is append-only, except for what the foreign keys do. */
TEST(core_schema_event_log_append_only)
{
    struct store *st = tc_open();
    int64_t a = tc_user(st, "owner@example.org", "ownerr");
    int64_t b = tc_user(st, "member@example.org", "member");
    int64_t gid;
    char slug[CORE_SLUG_SIZE];
    ASSERT_EQ(core_groups_create(st, a, "Family", 0, TC_NOW, &gid, slug), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, b, TC_NOW), 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM group_events"), 2);
    ASSERT_EQ(tc_sql(st, "UPDATE group_events SET at = at + 1"), SQLITE_CONSTRAINT);
    ASSERT_EQ(tc_sql(st, "UPDATE group_events SET type = 'leave'"), SQLITE_CONSTRAINT);
    ASSERT_EQ(tc_sql(st, "UPDATE group_events SET actor_id = NULL"), SQLITE_CONSTRAINT);
    ASSERT_EQ(tc_sql(st, "UPDATE group_events SET target_id = 1"), SQLITE_CONSTRAINT);
    ASSERT_EQ(tc_sql(st, "DELETE FROM group_events"), SQLITE_CONSTRAINT);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM group_events"), 2);
    /* Account deletion clears actor/target (the FK's SET NULL passes). */
    ASSERT_EQ(core_accounts_delete(st, b, TC_NOW + 5), 0);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM group_events WHERE actor_id = %lld "
             "OR target_id = %lld", (long long)b, (long long)b);
    ASSERT_EQ(tc_int(st, sql), 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM group_events"), 3); /* + leave */
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM group_events WHERE actor_id IS NULL "
                         "AND target_id IS NULL"), 2);
    /* Group deletion takes its log (the cascade passes). */
    ASSERT_EQ(core_groups_delete(st, gid, a), 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM group_events"), 0);
    store_close(st);
}

/* The triggers refuse, by themselves, what core/ also checks. */
TEST(core_schema_membership_triggers)
{
    struct store *st = tc_open();
    int64_t a = tc_user(st, "owner@example.org", "ownerr");
    int64_t b = tc_user(st, "marina@example.org", "marina");
    int64_t c = tc_user(st, "narina@example.org", "narina"); /* same code as marina */
    int64_t d = tc_user(st, "dave@example.org", "davedave");
    int64_t gid;
    char slug[CORE_SLUG_SIZE], sql[256];
    ASSERT_EQ(core_groups_create(st, a, "Family", 2, TC_NOW, &gid, slug), 0);
    snprintf(sql, sizeof sql, "INSERT INTO memberships VALUES (%lld, %lld, 'member', 86400)",
             (long long)gid, (long long)b);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_OK);
    snprintf(sql, sizeof sql, "INSERT INTO memberships VALUES (%lld, %lld, 'member', 86400)",
             (long long)gid, (long long)d);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_CONSTRAINT); /* full */
    ASSERT_STR_EQ(sqlite3_errmsg(store_db(st)), "group full");
    snprintf(sql, sizeof sql, "UPDATE groups SET member_cap = 3 WHERE id = %lld",
             (long long)gid);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_OK);
    snprintf(sql, sizeof sql, "INSERT INTO memberships VALUES (%lld, %lld, 'member', 86400)",
             (long long)gid, (long long)c);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_CONSTRAINT);
    ASSERT_STR_EQ(sqlite3_errmsg(store_db(st)), "dial code collision");
    snprintf(sql, sizeof sql, "UPDATE users SET nickname = 'narina' WHERE id = %lld",
             (long long)b);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_OK); /* same code, herself: fine */
    snprintf(sql, sizeof sql, "UPDATE users SET nickname = 'ownerr' WHERE id = %lld",
             (long long)b);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_CONSTRAINT);
    snprintf(sql, sizeof sql, "INSERT INTO bans VALUES (%lld, %lld)", (long long)gid,
             (long long)d);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_OK);
    snprintf(sql, sizeof sql, "INSERT INTO memberships VALUES (%lld, %lld, 'member', 86400)",
             (long long)gid, (long long)d);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_CONSTRAINT);
    ASSERT_STR_EQ(sqlite3_errmsg(store_db(st)), "banned");
    snprintf(sql, sizeof sql, "INSERT INTO bans VALUES (%lld, %lld)", (long long)gid,
             (long long)a);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_CONSTRAINT); /* the owner */
    snprintf(sql, sizeof sql, "INSERT INTO bans VALUES (%lld, %lld)", (long long)gid,
             (long long)b);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_OK); /* a member: removed */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM memberships WHERE user_id = %lld",
             (long long)b);
    ASSERT_EQ(tc_int(st, sql), 0);
    /* The owner's membership and account cannot go while the group is. */
    snprintf(sql, sizeof sql, "DELETE FROM memberships WHERE user_id = %lld", (long long)a);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_CONSTRAINT);
    snprintf(sql, sizeof sql, "DELETE FROM users WHERE id = %lld", (long long)a);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_CONSTRAINT);
    snprintf(sql, sizeof sql, "UPDATE groups SET member_cap = 0 WHERE id = %lld",
             (long long)gid);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_CONSTRAINT);
    /* Active group must be one of the user's; cleared when leaving. */
    snprintf(sql, sizeof sql, "UPDATE users SET active_group_id = %lld WHERE id = %lld",
             (long long)gid, (long long)c);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_CONSTRAINT);
    store_close(st);
}

/* ----------------------------------------------------- privacy inventory */

/* <repo>/sql/privacy.tsv, found from the runner binary <repo>/out/<v>/. */
static const char *inventory_path(void)
{
    static char path[PATH_MAX + 32];
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    ASSERT(n > 0);
    self[n] = '\0';
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(self, '/');
        ASSERT(slash);
        *slash = '\0';
    }
    snprintf(path, sizeof path, "%s/sql/privacy.tsv", self);
    return path;
}

TEST(core_privacy_inventory_matches_schema)
{
    struct store *st = tc_open();
    sqlite3 *db = store_db(st);
    ASSERT_EQ(tc_sql(st, "CREATE TEMP TABLE inv (section TEXT, tbl TEXT, col TEXT, "
                         "purpose TEXT, retention TEXT)"), SQLITE_OK);
    FILE *f = fopen(inventory_path(), "r");
    if (!f)
        t_fail(__FILE__, __LINE__, "cannot open %s", inventory_path());
    char line[4096];
    int lineno = 0, header = 0;
    sqlite3_stmt *ins;
    ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO inv VALUES (?1, ?2, ?3, ?4, ?5)", -1, &ins,
                                 NULL), SQLITE_OK);
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\n')
            line[--len] = '\0';
        else if (!feof(f))
            t_fail(__FILE__, __LINE__, "privacy.tsv:%d: line too long", lineno);
        if (len == 0 || line[0] == '#')
            continue;
        char *field[5] = { 0 };
        int nf = 0;
        char *p = line;
        while (nf < 5) {
            field[nf++] = p;
            char *tab = strchr(p, '\t');
            if (!tab)
                break;
            *tab = '\0';
            p = tab + 1;
        }
        if (nf != 5 || strchr(field[4], '\t'))
            t_fail(__FILE__, __LINE__, "privacy.tsv:%d: want 5 tab-separated fields", lineno);
        if (!header) {
            ASSERT_STR_EQ(field[0], "section");
            ASSERT_STR_EQ(field[1], "table");
            ASSERT_STR_EQ(field[2], "column");
            ASSERT_STR_EQ(field[3], "purpose");
            ASSERT_STR_EQ(field[4], "retention");
            header = 1;
            continue;
        }
        for (int i = 0; i < 5; i++)
            if (strlen(field[i]) < (i < 3 ? 1u : 10u))
                t_fail(__FILE__, __LINE__, "privacy.tsv:%d: field %d empty or too short",
                       lineno, i + 1);
        for (int i = 0; i < 5; i++)
            sqlite3_bind_text(ins, i + 1, field[i], -1, SQLITE_TRANSIENT);
        ASSERT_EQ(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_reset(ins);
    }
    fclose(f);
    sqlite3_finalize(ins);
    ASSERT(header);
    /* table_xinfo: generated (virtual) columns are listed too. */
    const char *live =
        "SELECT t.name AS tbl, c.name AS col FROM pragma_table_list t, "
        "pragma_table_xinfo(t.name) c WHERE t.schema = 'main' AND t.type = 'table' "
        "AND t.name NOT LIKE 'sqlite_%'";
    char sql[1024];
    sqlite3_stmt *s;
    int problems = 0;
    snprintf(sql, sizeof sql,
             "SELECT tbl, col FROM (%s) EXCEPT SELECT tbl, col FROM inv WHERE tbl <> '-'", live);
    ASSERT_EQ(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
        fprintf(stderr, "  column %s.%s is missing from sql/privacy.tsv\n",
                sqlite3_column_text(s, 0), sqlite3_column_text(s, 1));
        problems++;
    }
    sqlite3_finalize(s);
    snprintf(sql, sizeof sql,
             "SELECT tbl, col FROM inv WHERE tbl <> '-' EXCEPT SELECT tbl, col FROM (%s)", live);
    ASSERT_EQ(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
        fprintf(stderr, "  sql/privacy.tsv names %s.%s, which does not exist\n",
                sqlite3_column_text(s, 0), sqlite3_column_text(s, 1));
        problems++;
    }
    sqlite3_finalize(s);
    ASSERT_EQ(tc_int(st, "SELECT count(*) - count(DISTINCT tbl || '.' || col) FROM inv"), 0);
    ASSERT_EQ(problems, 0);
    /* The page follows the contract's structure: these sections, in this
     * order, each in one run of rows, and each table in one section. */
    static const char *const sections[] = {
        "What we store", "The group log", "Invites", "One-time tokens", "Sessions",
        "What we never collect", "End-to-end encryption", "Deletion",
    };
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT section FROM inv GROUP BY section "
                                     "ORDER BY min(rowid)", -1, &s, NULL), SQLITE_OK);
    size_t k = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        ASSERT(k < sizeof sections / sizeof sections[0]);
        ASSERT_STR_EQ((const char *)sqlite3_column_text(s, 0), sections[k]);
        k++;
    }
    sqlite3_finalize(s);
    ASSERT_EQ(k, sizeof sections / sizeof sections[0]);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM inv a JOIN inv b ON b.rowid > a.rowid "
                         "AND b.section <> a.section AND EXISTS (SELECT 1 FROM inv c "
                         "WHERE c.rowid > b.rowid AND c.section = a.section)"), 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM (SELECT tbl FROM inv WHERE tbl <> '-' "
                         "GROUP BY tbl HAVING count(DISTINCT section) > 1)"), 0);
    store_close(st);
    /* The file names this test by its real file. */
    char named[PATH_MAX + 64];
    snprintf(named, sizeof named, "%s", inventory_path());
    *strrchr(named, '/') = '\0';
    *strrchr(named, '/') = '\0';
    strcat(named, "/tests/unit/test_core_schema.c");
    ASSERT(tc_file_contains(inventory_path(), "core_privacy_inventory_matches_schema "
                                              "(tests/unit/test_core_schema.c)"));
    ASSERT(tc_file_contains(named, "TEST(core_privacy_inventory_matches_schema)"));
}
