/* Unit tests for the promises of "What we store" (sql/privacy.tsv): each
 * fails when the promise stops holding. */
#include "test_core_util.h"

#include <errno.h>
#include <sqlite3.h>

#include "core/groups.h"
#include "core/invites.h"
#include "core/maint.h"
#include "core/mem.h"
#include "core/resolve.h"
#include "core/sessions.h"
#include "core/sipcred.h"
#include "crypto/hash.h"
#include "crypto/secretbox.h"
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

/* A well-formed bcrypt hash for rows written by hand. */
#define HASH60 "$2b$04$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* A database made by 001 alone (an existing installation) is brought in
 * line by the migrations: times rounded, former members forgotten. */
TEST(privacy_migration_cleans_an_existing_database)
{
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(tc_path("old.db"), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, store_migrations[0].data, NULL, NULL, NULL), SQLITE_OK);
    const char *rows =
        "PRAGMA user_version = 1;"
        "INSERT INTO users (id, email, password_hash, nickname, created) VALUES "
        " (1, 'a@example.org', '" HASH60 "', 'ownerr', 1),"
        " (2, 'b@example.org', '" HASH60 "', 'bellaa', 1);"
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
    ASSERT_EQ(store_version(st), store_migrations_count);
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

/* "The HA1 is as good as the password ... a copy of the data volume
 * without the secret key must not let anyone register or relay": the raw
 * HA1 is in neither file, and a copy opened under another key yields no
 * HA1 for anyone. */
TEST(privacy_copied_database_without_the_key_authenticates_nobody)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "marina@example.org", "marina");
    char user[CORE_SIP_USER_SIZE], pass[CORE_SIP_PASS_SIZE];
    uint8_t ha1[16], want[16];
    int changed;
    ASSERT_EQ(core_sipcred_reveal(st, &tc_cfg, uid, user, pass), 0);
    crypto_ha1(user, tc_cfg.realm, pass, strlen(pass), want);
    ASSERT_EQ(core_sipcred_rehash(st, &tc_cfg, &changed), 0);
    ASSERT_EQ(core_sip_lookup_ha1(st, user, ha1), 0);
    ASSERT_MEM_EQ(ha1, want, 16);
    /* Neither the HA1 nor its hex form is stored. */
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", want[i]);
    store_close(st);
    FILE *f = fopen(tc_path("t.db"), "rb");
    ASSERT(f);
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ASSERT(n > 0 && n < sizeof buf);
    ASSERT(memmem(buf, n, want, 16) == NULL);
    ASSERT(!tc_file_contains(tc_path("t.db"), hex));
    /* The copy, opened by someone with another key. */
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/copy.db'", tc_path("t.db"), t_tmpdir());
    ASSERT_EQ(system(cmd), 0);
    struct store *copy = tc_open_at("copy.db");
    uint8_t other_key[32];
    memset(other_key, 0x22, sizeof other_key);
    struct core_cfg thief = { tc_cfg.realm, other_key, 4 };
    /* A server under another key refuses to start on it... */
    ASSERT_EQ(core_sipcred_rehash(copy, &thief, &changed), -EBADMSG);
    /* ...and even with that key installed anyway, no HA1 comes out. */
    ASSERT_EQ(core_keys_install(copy, other_key, tc_cfg.realm), 0);
    ASSERT_EQ(core_sip_lookup_ha1(copy, user, ha1), -ENOENT);
    uint8_t zero[16] = { 0 };
    ASSERT_MEM_EQ(ha1, zero, 16);
    /* With the right key the copy works: what protects it is the key. */
    ASSERT_EQ(core_sipcred_rehash(copy, &tc_cfg, &changed), 0);
    ASSERT_EQ(core_sip_lookup_ha1(copy, user, ha1), 0);
    ASSERT_MEM_EQ(ha1, want, 16);
    store_close(copy);
}

/* A sealed HA1 copied onto another user's row opens for nobody. */
TEST(privacy_sealed_ha1_is_bound_to_its_user_and_realm)
{
    struct store *st = tc_open();
    tc_user(st, "a@example.org", "annaaa");
    tc_user(st, "b@example.org", "bertbert");
    int changed;
    ASSERT_EQ(core_sipcred_rehash(st, &tc_cfg, &changed), 0);
    ASSERT_EQ(tc_sql(st, "UPDATE sip_credentials SET ha1_enc = "
                         "(SELECT ha1_enc FROM sip_credentials WHERE user_id = 1) "
                         "WHERE user_id = 2"), SQLITE_OK);
    char user[CORE_SIP_USER_SIZE];
    uint8_t ha1[16];
    ASSERT_EQ(core_sipcred_username(st, 2, user), 0);
    ASSERT_EQ(core_sip_lookup_ha1(st, user, ha1), -ENOENT);
    ASSERT_EQ(core_sipcred_username(st, 1, user), 0);
    ASSERT_EQ(core_sip_lookup_ha1(st, user, ha1), 0);
    store_close(st);
}

/* "Start-up no longer decrypts every SIP password": with the realm
 * unchanged, the start-up step opens no password (one that cannot be
 * opened is not noticed), and after a realm change it reseals each. */
TEST(privacy_start_up_opens_no_password_unless_the_realm_changed)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "a@example.org", "annaaa");
    tc_user(st, "b@example.org", "bertbert");
    char user[CORE_SIP_USER_SIZE], pass[CORE_SIP_PASS_SIZE];
    ASSERT_EQ(core_sipcred_reveal(st, &tc_cfg, uid, user, pass), 0);
    /* Make every password box unopenable: random bytes. */
    ASSERT_EQ(tc_sql(st, "UPDATE sip_credentials SET password_enc = "
                         "randomblob(length(password_enc))"), SQLITE_OK);
    ASSERT_EQ(core_sipcred_reveal(st, &tc_cfg, uid, user, pass), -EBADMSG);
    int changed = -1;
    ASSERT_EQ(core_sipcred_rehash(st, &tc_cfg, &changed), 0);
    ASSERT_EQ(changed, 0);
    uint8_t ha1[16];
    ASSERT_EQ(core_sipcred_username(st, uid, user), 0);
    ASSERT_EQ(core_sip_lookup_ha1(st, user, ha1), 0);
    /* A realm change needs the passwords: now it notices. */
    struct core_cfg moved = tc_cfg;
    moved.realm = "calls.example.org";
    ASSERT_EQ(core_sipcred_rehash(st, &moved, &changed), -EBADMSG);
    store_close(st);
}

/* The lookup's cache stays bounded and never answers for a box that
 * changed (credentials regenerated). */
TEST(privacy_ha1_cache_follows_the_database)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "a@example.org", "annaaa");
    int changed;
    ASSERT_EQ(core_sipcred_rehash(st, &tc_cfg, &changed), 0);
    char u1[CORE_SIP_USER_SIZE], p1[CORE_SIP_PASS_SIZE];
    uint8_t ha1[16], want[16];
    ASSERT_EQ(core_sipcred_reveal(st, &tc_cfg, uid, u1, p1), 0);
    ASSERT_EQ(core_sip_lookup_ha1(st, u1, ha1), 0); /* cached now */
    ASSERT_EQ(core_sip_lookup_ha1(st, u1, ha1), 0);
    /* Same username, new password and box (a regenerate keeps nothing). */
    ASSERT_EQ(core_sipcred_regenerate(st, &tc_cfg, uid), 0);
    ASSERT_EQ(core_sip_lookup_ha1(st, u1, ha1), -ENOENT);
    char u2[CORE_SIP_USER_SIZE], p2[CORE_SIP_PASS_SIZE];
    ASSERT_EQ(core_sipcred_reveal(st, &tc_cfg, uid, u2, p2), 0);
    crypto_ha1(u2, tc_cfg.realm, p2, strlen(p2), want);
    ASSERT_EQ(core_sip_lookup_ha1(st, u2, ha1), 0);
    ASSERT_MEM_EQ(ha1, want, 16);
    ASSERT_EQ(core_accounts_delete(st, uid, TC_NOW), 0);
    ASSERT_EQ(core_sip_lookup_ha1(st, u2, ha1), -ENOENT);
    store_close(st);
}

static int in_files(const char *needle)
{
    return tc_file_contains(tc_path("t.db"), needle) ||
           tc_file_contains(tc_path("t.db-wal"), needle);
}

/* "Deletion and change leave no old bytes behind": each write that removes
 * or replaces personal data marks the store dirty, and the checkpoint the
 * loop then runs takes the old bytes out of the database and the WAL. */
TEST(privacy_changes_leave_no_old_bytes_after_the_checkpoint)
{
    struct store *st = tc_open();
    int64_t a = tc_user(st, "owner@example.org", "ownerr");
    int64_t b = tc_user(st, "bella@example.org", "oldnickq");
    int64_t gid, who;
    char slug[CORE_SLUG_SIZE], sid[CORE_TOKEN_SIZE], csrf[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_groups_create(st, a, "Old Group Namez", 0, TC_NOW, &gid, slug), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, b, TC_NOW), 0);
    ASSERT_EQ(core_sessions_create(st, b, TC_NOW, sid, csrf), 0);
    ASSERT_EQ(store_checkpoint(st), 0);
    ASSERT(in_files("oldnickq") && in_files("Old Group Namez") && in_files(csrf));
    ASSERT_EQ(store_is_dirty(st), 0);

    ASSERT_EQ(core_accounts_set_nickname(st, b, "newnickq", 8, TC_NOW), 0);
    ASSERT_EQ(store_is_dirty(st), 1);
    ASSERT_EQ(store_checkpoint_if_dirty(st), 1);
    ASSERT(!in_files("oldnickq"));

    ASSERT_EQ(core_groups_rename(st, gid, a, "New Group Namez"), 0);
    ASSERT_EQ(store_checkpoint_if_dirty(st), 1);
    ASSERT(!in_files("Old Group Namez"));

    ASSERT_EQ(core_sessions_end(st, sid), 0);
    ASSERT_EQ(store_checkpoint_if_dirty(st), 1);
    ASSERT(!in_files(csrf));

    ASSERT_EQ(core_groups_leave(st, gid, b, TC_NOW), 0);
    ASSERT_EQ(store_checkpoint_if_dirty(st), 1);
    ASSERT_EQ(store_checkpoint_if_dirty(st), 0); /* once per batch */

    char tok[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_accounts_request_reset(st, "bella@example.org", TC_NOW, &who, tok), 0);
    ASSERT_EQ(core_accounts_reset_password(st, &tc_cfg, tok, "a new password", 14, TC_NOW,
                                           &who), 0);
    ASSERT_EQ(store_is_dirty(st), 1);
    ASSERT_EQ(store_checkpoint_if_dirty(st), 1);
    store_close(st);
}

/* "Emails compare in one normal form": Unicode twins are one account, and
 * invisible or direction-changing characters are refused. */
TEST(privacy_unicode_twins_are_one_account)
{
    struct store *st = tc_open();
    int64_t uid, other;
    /* pe\u00f1a@EJEMPLO.es and pen\u0303a@ejemplo.es */
    ASSERT_EQ(core_accounts_signup(st, &tc_cfg, "pe\xc3\xb1" "a@EJEMPLO.es", "penaaa", TC_PW,
                                   strlen(TC_PW), CORE_SIGNUP_VERIFIED, TC_NOW, &uid, NULL), 0);
    ASSERT_EQ(core_accounts_signup(st, &tc_cfg, "pen\xcc\x83" "a@ejemplo.es", "penabb", TC_PW,
                                   strlen(TC_PW), CORE_SIGNUP_VERIFIED, TC_NOW, &other, NULL),
              CORE_E_EMAIL_TAKEN);
    ASSERT_EQ(core_accounts_find_email(st, "pen\xcc\x83" "a@Ejemplo.ES", &other), 0);
    ASSERT_EQ(other, uid);
    /* A domain with a composed capital: lower-cased in NFC. */
    char out[CORE_EMAIL_SIZE];
    ASSERT_EQ(core_accounts_normalise_email("a@MU\xcc\x88NCHEN.de", 14, out), 0);
    ASSERT_STR_EQ(out, "a@m\xc3\xbcnchen.de");
    static const char *const bad[] = {
        "evil\xe2\x80\xae" "gro.elpmaxe@x.org", /* right-to-left override */
        "zero\xe2\x80\x8bwidth@example.org",    /* zero-width space */
        "joiner@exa\xe2\x80\x8dmple.org",       /* zero-width joiner in the domain */
        "bom\xef\xbb\xbf@example.org",
        "bad\xc3@example.org",                  /* not UTF-8 */
        "\xcc\x81" "mark@example.org",          /* a mark with no letter */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ASSERT_EQ(core_accounts_normalise_email(bad[i], strlen(bad[i]), out), CORE_E_BAD_EMAIL);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM users"), 1);
    store_close(st);
}

TEST(privacy_group_names_are_checked_and_normalised)
{
    char out[CORE_GROUP_NAME_SIZE], twin[CORE_GROUP_NAME_SIZE];
    ASSERT_EQ(core_groups_check_name("  Fam\xc3\xadlia  ", out), 0);
    ASSERT_EQ(core_groups_check_name("Fami\xcc\x81lia", twin), 0);
    ASSERT_STR_EQ(out, twin);
    ASSERT_STR_EQ(out, "Fam\xc3\xadlia");
    static const char *const bad[] = { "Fam\xe2\x80\xaeily", "Fam\xe2\x80\x8bily", "Fam\x01ily",
                                       "Fam\xc2\x9bily", "Fam\xe2\x81\xa7ily", "\xff" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ASSERT_EQ(core_groups_check_name(bad[i], out), CORE_E_BAD_NAME);
}

/* An installation from before migration 003 (clear HA1s) upgrades: the
 * clear HA1 leaves the file, the first start seals a new one from the
 * password, and the phone keeps working. */
TEST(privacy_upgrade_seals_the_clear_ha1)
{
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(tc_path("old.db"), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, store_migrations[0].data, NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 1;"
                               "INSERT INTO users (id, email, password_hash, nickname, created) "
                               "VALUES (1, 'a@example.org', '$2b$04$"
                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', "
                               "'annaaa', 1)", NULL, NULL, NULL), SQLITE_OK);
    const char *user = "oldphoneuser2345", *pass = "old-sip-password-0123456";
    uint8_t ha1[16], sealed[128];
    crypto_ha1(user, tc_cfg.realm, pass, strlen(pass), ha1);
    int n = secretbox_seal(tc_key, pass, strlen(pass), sealed, sizeof sealed);
    ASSERT(n > 0);
    sqlite3_stmt *s;
    ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO sip_credentials VALUES (1, ?1, ?2, ?3)", -1,
                                 &s, NULL), SQLITE_OK);
    sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, sealed, n, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, ha1, 16, SQLITE_STATIC);
    ASSERT_EQ(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    sqlite3_close(db);
    struct store *st = tc_open_at("old.db");
    uint8_t got[16];
    int changed;
    ASSERT_EQ(core_sipcred_rehash(st, &tc_cfg, &changed), 0);
    ASSERT_EQ(changed, 1);
    ASSERT_EQ(core_sip_lookup_ha1(st, user, got), 0);
    ASSERT_MEM_EQ(got, ha1, 16);
    ASSERT_EQ(core_sipcred_rehash(st, &tc_cfg, &changed), 0);
    ASSERT_EQ(changed, 0);
    store_close(st);
    FILE *f = fopen(tc_path("old.db"), "rb");
    ASSERT(f);
    static uint8_t buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ASSERT(len > 0 && len < sizeof buf);
    ASSERT(memmem(buf, len, ha1, 16) == NULL);
}
