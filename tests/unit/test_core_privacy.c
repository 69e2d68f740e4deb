/* Unit tests for the promises of "What we store" (sql/privacy.tsv): each
 * fails when the promise stops holding. */
#include "test_core_util.h"

#include <errno.h>
#include <sqlite3.h>

#include "core/groups.h"
#include "core/invites.h"
#include "core/maint.h"
#include "core/sipcred.h"
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

/* "An invite bound to an email forgets the email once it has been used up
 * or revoked": in neither database file afterwards. */
TEST(privacy_invites_forget_their_email_when_used_or_revoked)
{
    struct store *st = tc_open();
    int64_t a = tc_user(st, "owner@example.org", "ownerr");
    int64_t b = tc_user(st, "guest.used@example.org", "guestu");
    int64_t gid, id1, id2, g;
    char slug[CORE_SLUG_SIZE], t1[CORE_TOKEN_SIZE], t2[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_groups_create(st, a, "Family", 0, TC_NOW, &gid, slug), 0);
    ASSERT_EQ(core_invites_create(st, gid, a, "guest.used@example.org", 1, TC_NOW, &id1, t1), 0);
    ASSERT_EQ(core_invites_create(st, gid, a, "typo.revoked@example.org", 1, TC_NOW, &id2, t2),
              0);
    ASSERT_EQ(store_checkpoint(st), 0);
    ASSERT(tc_file_contains(tc_path("t.db"), "typo.revoked@example.org"));
    ASSERT_EQ(core_invites_redeem(st, t1, b, TC_NOW, &g), 0);
    ASSERT_EQ(core_invites_revoke(st, a, id2, TC_NOW), 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM invites WHERE email IS NOT NULL"), 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM invites"), 2); /* until they expire */
    ASSERT_EQ(store_checkpoint_if_dirty(st), 1);
    ASSERT(!tc_file_contains(tc_path("t.db"), "typo.revoked@example.org"));
    ASSERT(!tc_file_contains(tc_path("t.db-wal"), "typo.revoked@example.org"));
    /* The guest's own address is in users (an account), and only there. */
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM invites WHERE email = 'guest.used@example.org'"),
              0);
    store_close(st);
}

/* "One-time token rows go as soon as they expire": the next expiry is
 * known to the second, so the loop can purge at that second. */
TEST(privacy_next_expiry_names_the_first_row_due)
{
    struct store *st = tc_open();
    int64_t when = -1, uid = tc_user(st, "marina@example.org", "marina"), who;
    ASSERT_EQ(core_maint_next_expiry(st, TC_NOW, &when), 0);
    ASSERT_EQ(when, 0);
    char tok[CORE_TOKEN_SIZE], ptok[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_accounts_request_reset(st, "marina@example.org", TC_NOW, &who, tok), 0);
    ASSERT_EQ(core_maint_next_expiry(st, TC_NOW, &when), 0);
    ASSERT_EQ(when, TC_NOW + CORE_RESET_TTL);
    ASSERT_EQ(core_sipcred_provision_token(st, uid, TC_NOW, ptok), 0);
    ASSERT_EQ(core_maint_next_expiry(st, TC_NOW, &when), 0);
    ASSERT_EQ(when, TC_NOW + CORE_PROVISION_TTL);
    /* At that second the purge takes it, and the next one is named. */
    ASSERT_EQ(core_maint_purge(st, when), 1);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM provision_tokens"), 0);
    ASSERT_EQ(core_maint_next_expiry(st, TC_NOW, &when), 0);
    ASSERT_EQ(when, TC_NOW + CORE_RESET_TTL);
    ASSERT_EQ(core_maint_purge(st, when), 1);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM email_tokens"), 0);
    ASSERT(!store_is_dirty(st) || store_checkpoint_if_dirty(st) == 1);
    store_close(st);
}

/* "Unverified accounts are deleted when their verification token expires
 * plus a stated grace period." */
TEST(privacy_unverified_accounts_go_after_the_grace)
{
    struct store *st = tc_open();
    int64_t uid, owner = tc_user(st, "owner@example.org", "ownerr"), gid;
    char vtok[CORE_TOKEN_SIZE], slug[CORE_SLUG_SIZE];
    ASSERT_EQ(core_accounts_signup(st, &tc_cfg, "someone.else@example.org", "typoed", TC_PW,
                                   strlen(TC_PW), 0, TC_NOW, &uid, vtok), 0);
    ASSERT_EQ(core_groups_create(st, uid, "Theirs", 0, TC_NOW, &gid, slug), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, owner, TC_NOW), 0);
    int64_t when;
    ASSERT_EQ(core_maint_next_expiry(st, TC_NOW, &when), 0);
    ASSERT_EQ(when, TC_NOW + CORE_VERIFY_TTL + CORE_UNVERIFIED_GRACE);
    ASSERT_EQ(core_maint_purge(st, when - 1), 0);
    ASSERT_EQ(core_maint_purge(st, when), 1);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM users"), 1);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM groups"), 0);
    ASSERT(!tc_file_contains(tc_path("t.db"), "someone.else@example.org"));
    ASSERT(!tc_file_contains(tc_path("t.db-wal"), "someone.else@example.org"));
    store_close(st);
}
