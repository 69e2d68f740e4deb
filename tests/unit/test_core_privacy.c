/* Unit tests for the promises of "What we store" (sql/privacy.tsv): each
 * fails when the promise stops holding. */
#include "test_core_util.h"

#include <errno.h>
#include <sqlite3.h>

#include "core/groups.h"
#include "core/maint.h"
#include "store/migrations.h"

static long long count_naming(struct store *st, int64_t gid, int64_t uid)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM group_events WHERE group_id = %lld "
             "AND (actor_id = %lld OR target_id = %lld)",
             (long long)gid, (long long)uid, (long long)uid);
    return tc_int(st, sql);
}

/* "Entries are stored only for groups you belong to." */
TEST(privacy_log_forgets_who_left_was_kicked_or_banned)
{
    struct store *st = tc_open();
    int64_t a = tc_user(st, "owner@example.org", "ownerr");
    int64_t b = tc_user(st, "bella@example.org", "bellaa");
    int64_t c = tc_user(st, "carla@example.org", "carlaa");
    int64_t d = tc_user(st, "dora@example.org", "doraaa");
    int64_t gid;
    char slug[CORE_SLUG_SIZE];
    ASSERT_EQ(core_groups_create(st, a, "Family", 0, TC_NOW, &gid, slug), 0);
    for (int64_t u = b; u <= d; u++)
        ASSERT_EQ(core_groups_add_member(st, gid, u, TC_NOW), 0);
    ASSERT_EQ(core_accounts_set_nickname(st, b, "bellab", 6, TC_NOW), 0);
    ASSERT_EQ(core_accounts_set_nickname(st, c, "carlac", 6, TC_NOW), 0);
    ASSERT_EQ(core_accounts_set_nickname(st, d, "dorado", 6, TC_NOW), 0);
    ASSERT(count_naming(st, gid, b) > 0 && count_naming(st, gid, c) > 0);
    long long before = tc_int(st, "SELECT count(*) FROM group_events");
    ASSERT_EQ(core_groups_leave(st, gid, b, TC_NOW), 0);
    ASSERT_EQ(core_groups_kick(st, gid, a, c, TC_NOW), 0);
    ASSERT_EQ(core_groups_ban(st, gid, a, d, TC_NOW), 0);
    /* Nobody who left is named, yet every entry stays and three were added. */
    ASSERT_EQ(count_naming(st, gid, b), 0);
    ASSERT_EQ(count_naming(st, gid, c), 0);
    ASSERT_EQ(count_naming(st, gid, d), 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM group_events"), before + 3);
    ASSERT(count_naming(st, gid, a) > 0); /* the owner is still a member */
    /* The ban stays, so that a rejoin is refused. */
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM bans"), 1);
    ASSERT_EQ(core_groups_add_member(st, gid, d, TC_NOW), CORE_E_BANNED);
    store_close(st);
}

/* "We do not track when you are active": no log or membership time says
 * more than the day. */
TEST(privacy_log_and_join_times_are_days)
{
    struct store *st = tc_open();
    const int64_t t = TC_NOW + 12345; /* not midnight */
    ASSERT(t % 86400 != 0);
    int64_t a = tc_user(st, "owner@example.org", "ownerr");
    int64_t b = tc_user(st, "bella@example.org", "bellaa");
    int64_t gid;
    char slug[CORE_SLUG_SIZE];
    ASSERT_EQ(core_groups_create(st, a, "Family", 0, t, &gid, slug), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, b, t + 1), 0);
    ASSERT_EQ(core_accounts_set_nickname(st, b, "bellab", 6, t + 2), 0);
    ASSERT_EQ(core_groups_set_cap(st, gid, a, 9, t + 3), 0);
    ASSERT_EQ(core_groups_transfer(st, gid, a, b, t + 4), 0);
    ASSERT_EQ(core_groups_leave(st, gid, a, t + 5), 0);
    ASSERT(tc_int(st, "SELECT count(*) FROM group_events") >= 5);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM group_events WHERE at % 86400 <> 0"), 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM memberships WHERE joined % 86400 <> 0"), 0);
    ASSERT_EQ(tc_int(st, "SELECT max(at) FROM group_events"), t - t % 86400);
    /* The schema refuses a time of day by itself. */
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO group_events (group_id, type, at) VALUES (%lld, 'join', %lld)",
             (long long)gid, (long long)t);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_CONSTRAINT);
    snprintf(sql, sizeof sql, "UPDATE memberships SET joined = %lld", (long long)t);
    ASSERT_EQ(tc_sql(st, sql), SQLITE_CONSTRAINT);
    store_close(st);
}

/* The append-only log and the owner rule hold against INSERT OR REPLACE,
 * through the store's connection (recursive triggers) and through a plain
 * sqlite3 connection (the BEFORE INSERT guards). */
static void replace_attempts(sqlite3 *db, int64_t gid, int64_t owner, int64_t member)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "REPLACE INTO group_events (id, group_id, type, at) "
             "SELECT id, group_id, 'kick', at FROM group_events ORDER BY id LIMIT 1");
    ASSERT_EQ(sqlite3_exec(db, sql, NULL, NULL, NULL) & 0xff, SQLITE_CONSTRAINT);
    snprintf(sql, sizeof sql,
             "INSERT OR REPLACE INTO memberships VALUES (%lld, %lld, 'member', 0)",
             (long long)gid, (long long)owner);
    ASSERT_EQ(sqlite3_exec(db, sql, NULL, NULL, NULL) & 0xff, SQLITE_CONSTRAINT);
    snprintf(sql, sizeof sql,
             "INSERT OR REPLACE INTO memberships VALUES (%lld, %lld, 'owner', 0)",
             (long long)gid, (long long)member);
    ASSERT_EQ(sqlite3_exec(db, sql, NULL, NULL, NULL) & 0xff, SQLITE_CONSTRAINT);
}

TEST(privacy_replace_cannot_rewrite_the_log_or_drop_the_owner)
{
    struct store *st = tc_open();
    int64_t a = tc_user(st, "owner@example.org", "ownerr");
    int64_t b = tc_user(st, "bella@example.org", "bellaa");
    int64_t gid;
    char slug[CORE_SLUG_SIZE];
    ASSERT_EQ(core_groups_create(st, a, "Family", 0, TC_NOW, &gid, slug), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, b, TC_NOW), 0);
    replace_attempts(store_db(st), gid, a, b);
    sqlite3 *raw;
    ASSERT_EQ(sqlite3_open(tc_path("t.db"), &raw), SQLITE_OK);
    sqlite3_busy_timeout(raw, 5000);
    ASSERT_EQ(sqlite3_exec(raw, "PRAGMA foreign_keys=ON; PRAGMA recursive_triggers=OFF", NULL,
                           NULL, NULL), SQLITE_OK);
    replace_attempts(raw, gid, a, b);
    sqlite3_close(raw);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM group_events WHERE type = 'kick'"), 0);
    ASSERT_EQ(core_groups_role(st, gid, a), CORE_ROLE_OWNER);
    ASSERT_EQ(core_groups_role(st, gid, b), CORE_ROLE_MEMBER);
    store_close(st);
}

/* A database made by 001 alone (an existing installation) is brought in
 * line by the migrations: times rounded, former members forgotten. */
TEST(privacy_migration_cleans_an_existing_database)
{
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(tc_path("old.db"), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, store_migrations[0].sql, NULL, NULL, NULL), SQLITE_OK);
    const char *rows =
        "PRAGMA user_version = 1;"
        "INSERT INTO users (id, email, password_hash, nickname, created) VALUES "
        " (1, 'a@example.org', '$2b$04$" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'ownerr', 1),"
        " (2, 'b@example.org', '$2b$04$" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'bellaa', 1);"
        "INSERT INTO groups VALUES (1, 'G', 'g', 50);"
        "INSERT INTO memberships VALUES (1, 1, 'owner', 1700000123);"
        "INSERT INTO group_events (group_id, type, at, actor_id, target_id) VALUES "
        " (1, 'join', 1700000123, 1, 1), (1, 'join', 1700000200, NULL, 2),"
        " (1, 'leave', 1700000300, 2, 2);";
    char *msg = NULL;
    if (sqlite3_exec(db, rows, NULL, NULL, &msg) != SQLITE_OK)
        t_fail(__FILE__, __LINE__, "%s", msg);
    sqlite3_close(db);
    struct store *st = tc_open_at("old.db");
    ASSERT_EQ(store_version(st), store_migration_count);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM group_events"), 3);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM group_events WHERE at % 86400 <> 0"), 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM memberships WHERE joined % 86400 <> 0"), 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM group_events WHERE 2 IN (actor_id, target_id)"), 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM group_events WHERE actor_id = 1"), 1);
    store_close(st);
}

/* "users.locked_until only while a lockout runs": the purge clears a
 * passed lockout and its count, and so does the next attempt. */
TEST(privacy_passed_lockout_leaves_nothing)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "marina@example.org", "marina");
    for (int i = 0; i < CORE_LOGIN_MAX_FAILS; i++)
        core_accounts_change_password(st, &tc_cfg, uid, "wrong password", 14,
                                      "a new password", 14, NULL, TC_NOW);
    ASSERT_EQ(tc_int(st, "SELECT locked_until FROM users"), TC_NOW + CORE_LOCKOUT_SECS);
    ASSERT(core_maint_purge(st, TC_NOW + CORE_LOCKOUT_SECS - 1) >= 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM users WHERE locked_until IS NOT NULL"), 1);
    ASSERT(core_maint_purge(st, TC_NOW + CORE_LOCKOUT_SECS) >= 1);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM users WHERE locked_until IS NULL "
                         "AND failed_logins = 0"), 1);
    /* Lazily too: one more mistake after the end does not lock again. */
    for (int i = 0; i < CORE_LOGIN_MAX_FAILS; i++)
        core_accounts_change_password(st, &tc_cfg, uid, "wrong password", 14,
                                      "a new password", 14, NULL, TC_NOW);
    int64_t later = TC_NOW + CORE_LOCKOUT_SECS;
    ASSERT_EQ(core_accounts_change_password(st, &tc_cfg, uid, "wrong password", 14,
                                            "a new password", 14, NULL, later),
              CORE_E_BAD_LOGIN);
    ASSERT_EQ(tc_int(st, "SELECT failed_logins FROM users"), 1);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM users WHERE locked_until IS NULL"), 1);
    store_close(st);
}
