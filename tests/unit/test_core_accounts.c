/*
 * test_core_accounts.c - sign-up, verification, login and lockout, reset,
 * password and nickname changes, active group, deletion.
 */
#include "test_core_util.h"
#include "core/mem.h"

#include <errno.h>

#include "core/groups.h"
#include "core/invites.h"
#include "core/sessions.h"
#include "core/sipcred.h"
#include "crypto/bcrypt.h"

TEST(core_accounts_email_normalisation)
{
    char out[CORE_EMAIL_SIZE];
    struct { const char *in, *want; } ok[] = {
        { "marina@example.org", "marina@example.org" },
        { "  Marina@Example.ORG \r\n", "Marina@example.org" },
        { "a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk" },
        { "x@xn--bcher-kva.example", "x@xn--bcher-kva.example" },
        { "x@123.example.org2", "x@123.example.org2" },
        { "\xc3\xa9t\xc3\xa9@b\xc3\xbc" "cher.example", "\xc3\xa9t\xc3\xa9@b\xc3\xbc" "cher.example" },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ASSERT_EQ(core_accounts_normalise_email(ok[i].in, strlen(ok[i].in), out), 0);
        ASSERT_STR_EQ(out, ok[i].want);
    }
    const char *bad[] = {
        "", "@", "a@", "@example.org", "marina", "marina@example", "a@@example.org",
        "a@b@example.org", "mar ina@example.org", "marina@exa mple.org", ".a@example.org",
        "a.@example.org", "a..b@example.org", "a@-example.org", "a@example-.org",
        "a@example..org", "a@.example.org", "a@example.org.", "\"a\"@example.org",
        "a@[127.0.0.1]", "a<b@example.org", "a\r\nBcc: x@example.org",
        "a@exa_mple.org", "a\x01@example.org", "a@192.0.2.1", "a@example.123",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (core_accounts_normalise_email(bad[i], strlen(bad[i]), out) != CORE_E_BAD_EMAIL)
            t_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
    /* Embedded NUL, and the length limits. */
    ASSERT_EQ(core_accounts_normalise_email("a\0b@example.org", 15, out), CORE_E_BAD_EMAIL);
    char big[300];
    memset(big, 'a', sizeof big);
    memcpy(big + 65, "@example.org", 12);
    ASSERT_EQ(core_accounts_normalise_email(big, 77, out), CORE_E_BAD_EMAIL); /* local 65 */
    memcpy(big + 64, "@example.org", 12);
    ASSERT_EQ(core_accounts_normalise_email(big, 76, out), 0);
    big[0] = 'b';
    memcpy(big, "b@", 2);
    for (int i = 2; i < 255; i++)
        big[i] = (i % 10 == 1) ? '.' : 'x';
    ASSERT_EQ(core_accounts_normalise_email(big, 255, out), CORE_E_BAD_EMAIL);
}

TEST(core_accounts_password_policy)
{
    ASSERT_EQ(core_accounts_check_password("0123456789", 10, NULL, NULL), 0);
    ASSERT_EQ(core_accounts_check_password("012345678", 9, NULL, NULL), CORE_E_BAD_PASSWORD);
    static char big[CORE_PASSWORD_MAX + 1];
    memset(big, 'x', sizeof big);
    ASSERT_EQ(core_accounts_check_password(big, CORE_PASSWORD_MAX, NULL, NULL), 0);
    ASSERT_EQ(core_accounts_check_password(big, CORE_PASSWORD_MAX + 1, NULL, NULL),
              CORE_E_BAD_PASSWORD);
    ASSERT_EQ(core_accounts_check_password("abcde\0ghijk", 11, NULL, NULL),
              CORE_E_BAD_PASSWORD);
    const char *email = "Marina.Smith@example.org";
    ASSERT_EQ(core_accounts_check_password("marina.smith@EXAMPLE.org", 24, email, "marina"),
              CORE_E_BAD_PASSWORD);
    ASSERT_EQ(core_accounts_check_password("MARINA.SMITH", 12, email, "marina"),
              CORE_E_BAD_PASSWORD);
    ASSERT_EQ(core_accounts_check_password("abcdefghijkl", 12, email, "ABCDEFGHIJKL"),
              CORE_E_BAD_PASSWORD);
    ASSERT_EQ(core_accounts_check_password("marina.smith!", 13, email, "marina"), 0);
    ASSERT_EQ(core_accounts_check_password(NULL, 10, NULL, NULL), CORE_E_BAD_PASSWORD);
}

/* Every byte of a long password counts (bcrypt alone stops at 72). */
TEST(core_accounts_long_passwords_count_in_full)
{
    char a[100], b[100], hash[BCRYPT_HASH_SIZE];
    memset(a, 'p', sizeof a);
    memcpy(b, a, sizeof b);
    b[99] = 'q';
    ASSERT_EQ(core_accounts_hash_password(&tc_cfg, a, sizeof a, hash), 0);
    ASSERT_EQ(core_accounts_verify_password(a, sizeof a, hash), 0);
    ASSERT_EQ(core_accounts_verify_password(b, sizeof b, hash), -EACCES);
    ASSERT_EQ(core_accounts_verify_password(a, 72, hash), -EACCES);
    /* Up to 72 bytes it is plain bcrypt. */
    ASSERT_EQ(core_accounts_hash_password(&tc_cfg, a, 72, hash), 0);
    ASSERT_EQ(bcrypt_verify(a, 72, hash), 0);
    ASSERT_EQ(strncmp(hash, "$2b$04$", 7), 0);
    ASSERT_EQ(core_accounts_verify_password(a, 72, "garbage"), -EINVAL);
}

TEST(core_accounts_signup_and_verify)
{
    struct store *st = tc_open();
    int64_t uid = 0;
    char tok[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_accounts_signup(st, &tc_cfg, " Marina@Example.org ", "MaRiNa", TC_PW,
                                   strlen(TC_PW), 0, TC_NOW, &uid, tok),
              0);
    ASSERT(uid > 0);
    ASSERT_EQ(strlen(tok), 43);
    struct core_user u;
    ASSERT_EQ(core_accounts_get(st, uid, &u), 0);
    ASSERT_STR_EQ(u.email, "Marina@example.org");
    ASSERT_STR_EQ(u.nickname, "marina");
    ASSERT_STR_EQ(u.dial_code, "627462");
    ASSERT_EQ(u.created, TC_NOW);
    ASSERT_EQ(u.verified, 0);
    ASSERT_EQ(u.failed_logins, 0);
    ASSERT_EQ(u.active_group, 0);
    /* Only the hash of the token is stored. */
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM email_tokens WHERE purpose = 'verify' "
                         "AND length(token_hash) = 32"), 1);
    ASSERT(!tc_file_contains(tc_path("t.db"), tok));
    ASSERT(!tc_file_contains(tc_path("t.db-wal"), tok));
    /* Wrong and right tokens; single use. */
    int64_t who = 0;
    ASSERT_EQ(core_accounts_verify_email(st, "nope", TC_NOW, &who), -ENOENT);
    ASSERT_EQ(core_accounts_verify_email(st, NULL, TC_NOW, &who), -ENOENT);
    ASSERT_EQ(core_accounts_verify_email(st, tok, TC_NOW + 100, &who), 0);
    ASSERT_EQ(who, uid);
    ASSERT_EQ(core_accounts_get(st, uid, &u), 0);
    ASSERT_EQ(u.verified, 1);
    ASSERT_EQ(core_accounts_verify_email(st, tok, TC_NOW + 100, &who), -ENOENT);
    ASSERT_EQ(core_accounts_new_verification(st, uid, TC_NOW, tok), CORE_E_VERIFIED);
    ASSERT_EQ(core_accounts_new_verification(st, 999, TC_NOW, tok), -ENOENT);
    /* The password is stored as bcrypt at the configured cost. */
    char hash[BCRYPT_HASH_SIZE];
    ASSERT_EQ(core_accounts_get_hash(st, uid, hash), 0);
    ASSERT_EQ(strncmp(hash, "$2b$04$", 7), 0);
    ASSERT(!tc_file_contains(tc_path("t.db"), TC_PW));
    ASSERT(!tc_file_contains(tc_path("t.db-wal"), TC_PW));
    store_close(st);
}

TEST(core_accounts_verification_expires_and_resends)
{
    struct store *st = tc_open();
    int64_t uid, who;
    char tok[CORE_TOKEN_SIZE], tok2[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_accounts_signup(st, &tc_cfg, "a@example.org", "marina", TC_PW,
                                   strlen(TC_PW), 0, TC_NOW, &uid, tok), 0);
    ASSERT_EQ(core_accounts_verify_email(st, tok, TC_NOW + CORE_VERIFY_TTL, &who),
              CORE_E_EXPIRED);
    /* Still unverified; a new token replaces the old one. */
    struct core_user u;
    ASSERT_EQ(core_accounts_get(st, uid, &u), 0);
    ASSERT_EQ(u.verified, 0);
    ASSERT_EQ(core_accounts_new_verification(st, uid, TC_NOW + CORE_VERIFY_TTL, tok2), 0);
    ASSERT(strcmp(tok, tok2) != 0);
    ASSERT_EQ(core_accounts_verify_email(st, tok, TC_NOW + CORE_VERIFY_TTL, &who), -ENOENT);
    ASSERT_EQ(core_accounts_verify_email(st, tok2, TC_NOW + 2 * CORE_VERIFY_TTL - 1, &who), 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM email_tokens"), 0);
    store_close(st);
}

TEST(core_accounts_signup_refusals)
{
    struct store *st = tc_open();
    int64_t uid;
    char tok[CORE_TOKEN_SIZE];
    tc_user(st, "marina@example.org", "marina");
    ASSERT_EQ(core_accounts_signup(st, &tc_cfg, "MARINA@example.org", "another", TC_PW,
                                   strlen(TC_PW), 0, TC_NOW, &uid, tok), CORE_E_EMAIL_TAKEN);
    ASSERT_EQ(uid, 0);
    ASSERT_EQ(core_accounts_signup(st, &tc_cfg, "bad", "another", TC_PW, strlen(TC_PW), 0,
                                   TC_NOW, &uid, tok), CORE_E_BAD_EMAIL);
    ASSERT_EQ(core_accounts_signup(st, &tc_cfg, "b@example.org", "abc", TC_PW, strlen(TC_PW),
                                   0, TC_NOW, &uid, tok), CORE_E_BAD_NICKNAME);
    ASSERT_EQ(core_accounts_signup(st, &tc_cfg, "b@example.org", "another", "short", 5, 0,
                                   TC_NOW, &uid, tok), CORE_E_BAD_PASSWORD);
    ASSERT_EQ(core_accounts_signup(st, &tc_cfg, "b@example.org", "another", "b@example.org",
                                   13, 0, TC_NOW, &uid, tok), CORE_E_BAD_PASSWORD);
    /* Nicknames need not be unique across the service (only dial codes
     * inside a group). */
    ASSERT_EQ(core_accounts_signup(st, &tc_cfg, "b@example.org", "marina", TC_PW,
                                   strlen(TC_PW), 0, TC_NOW, &uid, tok), 0);
    /* Without the server key no account can be made (no SIP credentials). */
    struct core_cfg nokey = tc_cfg;
    nokey.secret_key = NULL;
    ASSERT_EQ(core_accounts_signup(st, &nokey, "c@example.org", "marina", TC_PW,
                                   strlen(TC_PW), 0, TC_NOW, &uid, tok), -EINVAL);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM users"), 2);
    /* The create step checks the email again under the write lock. */
    struct core_signup su;
    char hash[BCRYPT_HASH_SIZE];
    ASSERT_EQ(core_accounts_prepare_signup("B@EXAMPLE.ORG", "bobbybob", TC_PW, strlen(TC_PW),
                                           &su), 0);
    ASSERT_EQ(core_accounts_hash_password(&tc_cfg, TC_PW, strlen(TC_PW), hash), 0);
    ASSERT_EQ(core_accounts_create(st, &tc_cfg, &su, hash, 0, TC_NOW, &uid, tok),
              CORE_E_EMAIL_TAKEN);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM users"), 2);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM sip_credentials"), 2);
    store_close(st);
}

TEST(core_accounts_login_ok_and_wrong)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "Marina@example.org", "marina"), who;
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, "marina@EXAMPLE.org", TC_PW, strlen(TC_PW),
                                  TC_NOW, &who), 0);
    ASSERT_EQ(who, uid);
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, "marina@example.org", "wrong password", 14,
                                  TC_NOW, &who), CORE_E_BAD_LOGIN);
    ASSERT_EQ(who, 0);
    struct core_user u;
    ASSERT_EQ(core_accounts_get(st, uid, &u), 0);
    ASSERT_EQ(u.failed_logins, 1);
    /* Success clears the count. */
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, "marina@example.org", TC_PW, strlen(TC_PW),
                                  TC_NOW, &who), 0);
    ASSERT_EQ(core_accounts_get(st, uid, &u), 0);
    ASSERT_EQ(u.failed_logins, 0);
    store_close(st);
}

/* An unknown email costs the same bcrypt work and gets the same answer. */
TEST(core_accounts_login_unknown_email)
{
    struct store *st = tc_open();
    int64_t who;
    tc_user(st, "marina@example.org", "marina");
    struct core_login known, unknown, malformed;
    ASSERT_EQ(core_accounts_login_begin(st, &tc_cfg, "marina@example.org", &known), 0);
    ASSERT_EQ(core_accounts_login_begin(st, &tc_cfg, "nobody@example.org", &unknown), 0);
    ASSERT_EQ(core_accounts_login_begin(st, &tc_cfg, "not an email", &malformed), 0);
    ASSERT(known.user_id > 0);
    ASSERT_EQ(unknown.user_id, 0);
    ASSERT_EQ(malformed.user_id, 0);
    /* Same format and cost: bcrypt does the full work and says no. */
    ASSERT_EQ(strlen(unknown.hash), 60);
    ASSERT_EQ(bcrypt_cost(unknown.hash), bcrypt_cost(known.hash));
    ASSERT_EQ(core_accounts_verify_password(TC_PW, strlen(TC_PW), unknown.hash), -EACCES);
    ASSERT_EQ(core_accounts_login_finish(st, &unknown, 0, TC_NOW, &who), CORE_E_BAD_LOGIN);
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, "nobody@example.org", TC_PW, strlen(TC_PW),
                                  TC_NOW, &who), CORE_E_BAD_LOGIN);
    /* The dummy follows the configured cost. */
    struct core_cfg c12 = tc_cfg;
    c12.bcrypt_cost = 0;
    ASSERT_EQ(core_accounts_login_begin(st, &c12, "nobody@example.org", &unknown), 0);
    ASSERT_EQ(bcrypt_cost(unknown.hash), BCRYPT_DEFAULT_COST);
    c12.bcrypt_cost = 10;
    ASSERT_EQ(core_accounts_login_begin(st, &c12, "nobody@example.org", &unknown), 0);
    ASSERT_EQ(bcrypt_cost(unknown.hash), 10);
    store_close(st);
}

TEST(core_accounts_lockout)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "marina@example.org", "marina"), who;
    const char *e = "marina@example.org";
    for (int i = 1; i < CORE_LOGIN_MAX_FAILS; i++)
        ASSERT_EQ(core_accounts_login(st, &tc_cfg, e, "wrong password", 14, TC_NOW, &who),
                  CORE_E_BAD_LOGIN);
    /* The 5th failure locks this source out for 15 minutes. */
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, e, "wrong password", 14, TC_NOW, &who),
              CORE_E_LOCKED);
    struct core_user u;
    ASSERT_EQ(core_accounts_get(st, uid, &u), 0);
    ASSERT_EQ(u.failed_logins, CORE_LOGIN_MAX_FAILS);
    ASSERT_EQ(u.locked_until, 0); /* the lockout is in memory, per source */
    /* While locked, even the right password is refused, and nothing counts. */
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, e, TC_PW, strlen(TC_PW),
                                  TC_NOW + CORE_LOCKOUT_SECS - 1, &who), CORE_E_LOCKED);
    ASSERT_EQ(who, 0);
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, e, "wrong password", 14, TC_NOW + 10, &who),
              CORE_E_LOCKED);
    ASSERT_EQ(core_accounts_get(st, uid, &u), 0);
    ASSERT_EQ(u.failed_logins, CORE_LOGIN_MAX_FAILS);
    /* After the lockout, one more wrong password does not lock again at
     * once: the count started from zero... */
    int64_t later = TC_NOW + CORE_LOCKOUT_SECS;
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, e, "wrong password", 14, later, &who),
              CORE_E_BAD_LOGIN);
    /* ...and the right one clears everything. */
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, e, TC_PW, strlen(TC_PW), later, &who), 0);
    ASSERT_EQ(core_accounts_get(st, uid, &u), 0);
    ASSERT_EQ(u.failed_logins, 0);
    ASSERT_EQ(u.locked_until, 0);
    store_close(st);
}

/* "The lockout must not reveal that an account exists": from one source,
 * a real email and an unknown one get the same answers, attempt by
 * attempt, and the right password changes nothing while locked. */
TEST(core_accounts_lockout_answers_unknown_emails_the_same)
{
    struct store *st = tc_open();
    tc_user(st, "marina@example.org", "marina");
    int64_t who;
    static const char src[] = { 127, 0, 0, 1 };
    int known[8], unknown[8];
    for (int i = 0; i < 8; i++) {
        struct core_login lg;
        const char *pw = i == 6 ? TC_PW : "wrong password";
        ASSERT_EQ(core_accounts_login_begin_from(st, &tc_cfg, "marina@example.org", src,
                                                 sizeof src, &lg), 0);
        known[i] = core_accounts_login_finish(
            st, &lg, core_accounts_verify_password(pw, strlen(pw), lg.hash), TC_NOW, &who);
        ASSERT_EQ(core_accounts_login_begin_from(st, &tc_cfg, "nobody@example.org", src,
                                                 sizeof src, &lg), 0);
        unknown[i] = core_accounts_login_finish(
            st, &lg, core_accounts_verify_password(pw, strlen(pw), lg.hash), TC_NOW, &who);
        ASSERT_EQ(known[i], unknown[i]);
        ASSERT_EQ(known[i], i < CORE_LOGIN_MAX_FAILS - 1 ? CORE_E_BAD_LOGIN : CORE_E_LOCKED);
    }
    /* The rows hold no lockout end that an unknown email would lack. */
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM users WHERE locked_until IS NOT NULL"), 0);
    store_close(st);
}

/* "Nobody can lock an owner out for good by typing the email": a stranger
 * locks only their own source; the owner, elsewhere, logs in. */
TEST(core_accounts_lockout_is_per_source)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "marina@example.org", "marina"), who;
    static const char stranger[] = "198.51.100.7", owner[] = "203.0.113.9";
    struct core_login lg;
    for (int round = 0; round < 3; round++) {
        int64_t t = TC_NOW + round * CORE_LOCKOUT_SECS;
        for (int i = 0; i < CORE_LOGIN_MAX_FAILS + 2; i++) {
            ASSERT_EQ(core_accounts_login_begin_from(st, &tc_cfg, "marina@example.org",
                                                     stranger, strlen(stranger), &lg), 0);
            core_accounts_login_finish(st, &lg, -EACCES, t, &who);
        }
        ASSERT_EQ(core_accounts_login_begin_from(st, &tc_cfg, "marina@example.org", stranger,
                                                 strlen(stranger), &lg), 0);
        ASSERT_EQ(core_accounts_login_finish(st, &lg, 0, t, &who), CORE_E_LOCKED);
        ASSERT_EQ(core_accounts_login_begin_from(st, &tc_cfg, "marina@example.org", owner,
                                                 strlen(owner), &lg), 0);
        ASSERT_EQ(core_accounts_login_finish(
                      st, &lg, core_accounts_verify_password(TC_PW, strlen(TC_PW), lg.hash),
                      t, &who), 0);
        ASSERT_EQ(who, uid);
    }
    /* The sources are never stored: only a keyed hash, in memory. */
    ASSERT_EQ(store_checkpoint(st), 0);
    ASSERT(!tc_file_contains(tc_path("t.db"), stranger));
    ASSERT(!tc_file_contains(tc_path("t.db"), owner));
    ASSERT(!tc_file_contains(tc_path("t.db-wal"), stranger));
    store_close(st);
}

/* The guard's table is bounded: far more pairs than slots fit. */
TEST(core_accounts_lockout_table_stays_bounded)
{
    struct store *st = tc_open();
    int64_t who;
    struct core_login lg;
    char src[32];
    for (int i = 0; i < CORE_GUARD_SLOTS + 100; i++) {
        snprintf(src, sizeof src, "src-%d", i);
        ASSERT_EQ(core_accounts_login_begin_from(st, &tc_cfg, "nobody@example.org", src,
                                                 strlen(src), &lg), 0);
        ASSERT_EQ(core_accounts_login_finish(st, &lg, -EACCES, TC_NOW + i, &who),
                  CORE_E_BAD_LOGIN);
    }
    store_close(st);
}

TEST(core_accounts_unlock_clears_lockout)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "marina@example.org", "marina"), who;
    for (int i = 0; i < CORE_LOGIN_MAX_FAILS; i++)
        core_accounts_login(st, &tc_cfg, "marina@example.org", "wrong password", 14, TC_NOW,
                            &who);
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, "marina@example.org", TC_PW, strlen(TC_PW),
                                  TC_NOW, &who), CORE_E_LOCKED);
    ASSERT_EQ(core_accounts_unlock(st, uid), 0);
    ASSERT_EQ(core_accounts_unlock(st, 999), -ENOENT);
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, "marina@example.org", TC_PW, strlen(TC_PW),
                                  TC_NOW, &who), 0);
    store_close(st);
}

/* A password change between the SQL read and the verdict does not let the
 * old password in. */
TEST(core_accounts_login_split_sees_password_change)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "marina@example.org", "marina"), who;
    struct core_login lg;
    ASSERT_EQ(core_accounts_login_begin(st, &tc_cfg, "marina@example.org", &lg), 0);
    int v = core_accounts_verify_password(TC_PW, strlen(TC_PW), lg.hash);
    ASSERT_EQ(v, 0);
    ASSERT_EQ(core_accounts_change_password(st, &tc_cfg, uid, TC_PW, strlen(TC_PW),
                                            "a new password", 14, NULL, TC_NOW), 0);
    ASSERT_EQ(core_accounts_login_finish(st, &lg, v, TC_NOW, &who), CORE_E_BAD_LOGIN);
    /* And a deleted account cannot finish either. */
    ASSERT_EQ(core_accounts_login_begin(st, &tc_cfg, "marina@example.org", &lg), 0);
    ASSERT_EQ(core_accounts_delete(st, uid, TC_NOW), 0);
    ASSERT_EQ(core_accounts_login_finish(st, &lg, 0, TC_NOW, &who), CORE_E_BAD_LOGIN);
    store_close(st);
}

TEST(core_accounts_password_reset)
{
    struct store *st = tc_open();
    int64_t uid, who;
    char vtok[CORE_TOKEN_SIZE], tok[CORE_TOKEN_SIZE], sid[CORE_TOKEN_SIZE],
        csrf[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_accounts_signup(st, &tc_cfg, "marina@example.org", "marina", TC_PW,
                                   strlen(TC_PW), 0, TC_NOW, &uid, vtok), 0);
    ASSERT_EQ(core_sessions_create(st, uid, TC_NOW, sid, csrf), 0);
    ASSERT_EQ(core_sessions_create(st, uid, TC_NOW, sid, csrf), 0);
    for (int i = 0; i < CORE_LOGIN_MAX_FAILS; i++)
        core_accounts_login(st, &tc_cfg, "marina@example.org", "wrong password", 14, TC_NOW,
                            &who);
    ASSERT_EQ(core_accounts_request_reset(st, "nobody@example.org", TC_NOW, &who, tok),
              -ENOENT);
    ASSERT_EQ(core_accounts_request_reset(st, "MARINA@example.org", TC_NOW, &who, tok), 0);
    ASSERT_EQ(who, uid);
    ASSERT_EQ(core_accounts_reset_password(st, &tc_cfg, "bogus", "a new password", 14,
                                           TC_NOW, &who), -ENOENT);
    ASSERT_EQ(core_accounts_reset_password(st, &tc_cfg, tok, "short", 5, TC_NOW, &who),
              CORE_E_BAD_PASSWORD);
    ASSERT_EQ(core_accounts_reset_password(st, &tc_cfg, tok, "marina", 6, TC_NOW, &who),
              CORE_E_BAD_PASSWORD);
    ASSERT_EQ(core_accounts_reset_password(st, &tc_cfg, tok, "a new password", 14,
                                           TC_NOW + 60, &who), 0);
    ASSERT_EQ(who, uid);
    /* Single use; every session ended; lockout cleared; email verified. */
    ASSERT_EQ(core_accounts_reset_password(st, &tc_cfg, tok, "another password", 16,
                                           TC_NOW + 60, &who), -ENOENT);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM sessions"), 0);
    ASSERT_EQ(core_sessions_lookup(st, sid, TC_NOW, &who, NULL), -ENOENT);
    struct core_user u;
    ASSERT_EQ(core_accounts_get(st, uid, &u), 0);
    ASSERT_EQ(u.failed_logins, 0);
    ASSERT_EQ(u.verified, 1);
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, "marina@example.org", TC_PW, strlen(TC_PW),
                                  TC_NOW, &who), CORE_E_BAD_LOGIN);
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, "marina@example.org", "a new password", 14,
                                  TC_NOW, &who), 0);
    store_close(st);
}

TEST(core_accounts_password_reset_expires)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "marina@example.org", "marina"), who;
    char tok[CORE_TOKEN_SIZE], tok2[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_accounts_request_reset(st, "marina@example.org", TC_NOW, &who, tok), 0);
    ASSERT_EQ(core_accounts_reset_begin(st, tok, "a new password", 14,
                                        TC_NOW + CORE_RESET_TTL, &who), CORE_E_EXPIRED);
    /* Seen expired, the token's row went at once. */
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM email_tokens"), 0);
    ASSERT_EQ(core_accounts_reset_password(st, &tc_cfg, tok, "a new password", 14,
                                           TC_NOW + CORE_RESET_TTL, &who), -ENOENT);
    ASSERT_EQ(core_accounts_request_reset(st, "marina@example.org", TC_NOW, &who, tok), 0);
    ASSERT_EQ(core_accounts_reset_password(st, &tc_cfg, tok, "a new password", 14,
                                           TC_NOW + CORE_RESET_TTL, &who), CORE_E_EXPIRED);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM email_tokens"), 0);
    /* A new request replaces the old token. */
    ASSERT_EQ(core_accounts_request_reset(st, "marina@example.org", TC_NOW, &who, tok), 0);
    ASSERT_EQ(core_accounts_request_reset(st, "marina@example.org", TC_NOW, &who, tok2), 0);
    ASSERT_EQ(core_accounts_reset_begin(st, tok, "a new password", 14, TC_NOW, &who), -ENOENT);
    ASSERT_EQ(core_accounts_reset_begin(st, tok2, "a new password", 14, TC_NOW, &who), 0);
    ASSERT_EQ(who, uid);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM email_tokens"), 1);
    store_close(st);
}

TEST(core_accounts_password_change_keeps_own_session)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "marina@example.org", "marina"), who;
    char s1[CORE_TOKEN_SIZE], s2[CORE_TOKEN_SIZE], csrf[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_sessions_create(st, uid, TC_NOW, s1, csrf), 0);
    ASSERT_EQ(core_sessions_create(st, uid, TC_NOW, s2, csrf), 0);
    ASSERT_EQ(core_accounts_change_password(st, &tc_cfg, uid, "not my password", 15,
                                            "a new password", 14, s1, TC_NOW), CORE_E_BAD_LOGIN);
    ASSERT_EQ(core_accounts_change_password(st, &tc_cfg, uid, TC_PW, strlen(TC_PW),
                                            "marina@example.org", 18, s1, TC_NOW),
              CORE_E_BAD_PASSWORD);
    ASSERT_EQ(core_accounts_change_password(st, &tc_cfg, uid, TC_PW, strlen(TC_PW),
                                            "a new password", 14, s1, TC_NOW), 0);
    /* The caller's session stays, the others end. */
    ASSERT_EQ(core_sessions_lookup(st, s1, TC_NOW, &who, NULL), 0);
    ASSERT_EQ(core_sessions_lookup(st, s2, TC_NOW, &who, NULL), -ENOENT);
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, "marina@example.org", "a new password", 14,
                                  TC_NOW, &who), 0);
    char hash[BCRYPT_HASH_SIZE];
    ASSERT_EQ(core_accounts_get_hash(st, uid, hash), 0);
    ASSERT_EQ(core_accounts_set_hash(st, 999, hash, NULL), -ENOENT);
    ASSERT_EQ(core_accounts_set_hash(st, uid, "short", NULL), -EINVAL);
    ASSERT_EQ(core_accounts_set_hash(st, uid, hash, NULL), 0);
    ASSERT_EQ(core_sessions_lookup(st, s1, TC_NOW, &who, NULL), -ENOENT);
    store_close(st);
}

/* Event types of gid, in order, joined by spaces. */
static int ev_cat(void *arg, const struct core_event *e)
{
    char *buf = arg;
    if (buf[0])
        strcat(buf, " ");
    strcat(buf, e->type);
    return 0;
}

TEST(core_accounts_nickname_change)
{
    struct store *st = tc_open();
    int64_t a = tc_user(st, "a@example.org", "ownerr");
    int64_t b = tc_user(st, "b@example.org", "marina");
    int64_t c = tc_user(st, "c@example.org", "charlie");
    int64_t g1, g2;
    char slug[CORE_SLUG_SIZE], log[1024] = "";
    ASSERT_EQ(core_groups_create(st, a, "One", 0, TC_NOW, &g1, slug), 0);
    ASSERT_EQ(core_groups_create(st, c, "Two", 0, TC_NOW, &g2, slug), 0);
    ASSERT_EQ(core_groups_add_member(st, g1, b, TC_NOW), 0);
    ASSERT_EQ(core_groups_add_member(st, g2, b, TC_NOW), 0);
    /* "charlie" is taken (by code 2427543) in group Two, which b is in. */
    ASSERT_EQ(core_accounts_set_nickname(st, b, "Charlie", 7, TC_NOW), CORE_E_COLLISION);
    ASSERT_EQ(core_accounts_set_nickname(st, b, "bhasjie", 7, TC_NOW), CORE_E_COLLISION);
    ASSERT_EQ(core_accounts_set_nickname(st, b, "x", 1, TC_NOW), CORE_E_BAD_NICKNAME);
    ASSERT_EQ(core_accounts_set_nickname(st, 999, "abcdefg", 7, TC_NOW), -ENOENT);
    /* Unchanged: nothing logged. */
    ASSERT_EQ(core_accounts_set_nickname(st, b, "MARINA", 6, TC_NOW), 0);
    ASSERT_EQ(core_accounts_set_nickname(st, b, "Marinka", 7, TC_NOW + 1), 0);
    struct core_user u;
    ASSERT_EQ(core_accounts_get(st, b, &u), 0);
    ASSERT_STR_EQ(u.nickname, "marinka");
    ASSERT_STR_EQ(u.dial_code, "6274652");
    ASSERT_EQ(core_groups_events(st, g1, ev_cat, log), 0);
    ASSERT_STR_EQ(log, "join join nickname_change");
    log[0] = '\0';
    ASSERT_EQ(core_groups_events(st, g2, ev_cat, log), 0);
    ASSERT_STR_EQ(log, "join join nickname_change");
    /* Only groups the user is in count: a shares One with b, not Two with c. */
    ASSERT_EQ(core_accounts_set_nickname(st, a, "Marinka", 7, TC_NOW), CORE_E_COLLISION);
    ASSERT_EQ(core_accounts_set_nickname(st, a, "Charlie", 7, TC_NOW), 0);
    ASSERT_EQ(core_groups_leave(st, g1, b, TC_NOW), 0);
    ASSERT_EQ(core_accounts_set_nickname(st, a, "marinka", 7, TC_NOW), 0);
    store_close(st);
}

TEST(core_accounts_active_group)
{
    struct store *st = tc_open();
    int64_t a = tc_user(st, "a@example.org", "ownerr");
    int64_t b = tc_user(st, "b@example.org", "marina");
    int64_t g1, g2;
    char slug[CORE_SLUG_SIZE];
    ASSERT_EQ(core_groups_create(st, a, "One", 0, TC_NOW, &g1, slug), 0);
    ASSERT_EQ(core_groups_create(st, a, "Two", 0, TC_NOW, &g2, slug), 0);
    ASSERT_EQ(core_groups_add_member(st, g1, b, TC_NOW), 0);
    ASSERT_EQ(core_accounts_set_active_group(st, b, g2), CORE_E_NOT_MEMBER);
    ASSERT_EQ(core_accounts_set_active_group(st, b, 12345), CORE_E_NOT_MEMBER);
    ASSERT_EQ(core_accounts_set_active_group(st, 999, g1), -ENOENT);
    ASSERT_EQ(core_accounts_set_active_group(st, b, g1), 0);
    struct core_user u;
    ASSERT_EQ(core_accounts_get(st, b, &u), 0);
    ASSERT_EQ(u.active_group, g1);
    ASSERT_EQ(core_accounts_set_active_group(st, b, 0), 0);
    ASSERT_EQ(core_accounts_get(st, b, &u), 0);
    ASSERT_EQ(u.active_group, 0);
    /* Leaving, being kicked and group deletion clear it. */
    ASSERT_EQ(core_accounts_set_active_group(st, b, g1), 0);
    ASSERT_EQ(core_groups_leave(st, g1, b, TC_NOW), 0);
    ASSERT_EQ(core_accounts_get(st, b, &u), 0);
    ASSERT_EQ(u.active_group, 0);
    ASSERT_EQ(core_groups_add_member(st, g2, b, TC_NOW), 0);
    ASSERT_EQ(core_accounts_set_active_group(st, b, g2), 0);
    ASSERT_EQ(core_groups_kick(st, g2, a, b, TC_NOW), 0);
    ASSERT_EQ(core_accounts_get(st, b, &u), 0);
    ASSERT_EQ(u.active_group, 0);
    ASSERT_EQ(core_accounts_set_active_group(st, a, g2), 0);
    ASSERT_EQ(core_groups_delete(st, g2, a), 0);
    ASSERT_EQ(core_accounts_get(st, a, &u), 0);
    ASSERT_EQ(u.active_group, 0);
    store_close(st);
}

static int count_users(void *arg, const struct core_user *u)
{
    (void)u;
    ++*(int *)arg;
    return 0;
}

TEST(core_accounts_find_and_list)
{
    struct store *st = tc_open();
    int64_t a = tc_user(st, "Marina@example.org", "marina"), who;
    tc_user(st, "b@example.org", "bobbybob");
    ASSERT_EQ(core_accounts_find_email(st, " marina@EXAMPLE.org", &who), 0);
    ASSERT_EQ(who, a);
    ASSERT_EQ(core_accounts_find_email(st, "nobody@example.org", &who), -ENOENT);
    ASSERT_EQ(core_accounts_find_email(st, "garbage", &who), -ENOENT);
    ASSERT_EQ(core_accounts_find_email(st, NULL, &who), -ENOENT);
    int n = 0;
    ASSERT_EQ(core_accounts_list(st, count_users, &n), 0);
    ASSERT_EQ(n, 2);
    struct core_user u;
    ASSERT_EQ(core_accounts_get(st, 999, &u), -ENOENT);
    store_close(st);
}

/* Deletion is real: the email is in neither the database nor its WAL. */
TEST(core_accounts_delete_leaves_no_trace)
{
    struct store *st = tc_open();
    const char *email = "Deleted.Person@example.org";
    int64_t a = tc_user(st, "owner@example.org", "ownerr");
    int64_t b = tc_user(st, email, "zzzyyyxxx");
    int64_t c = tc_user(st, "other@example.org", "charlie");
    int64_t shared, owned, other_inv;
    char slug[CORE_SLUG_SIZE], tok[CORE_TOKEN_SIZE], sid[CORE_TOKEN_SIZE],
        csrf[CORE_TOKEN_SIZE], user[CORE_SIP_USER_SIZE];
    ASSERT_EQ(core_groups_create(st, a, "Shared", 0, TC_NOW, &shared, slug), 0);
    ASSERT_EQ(core_groups_add_member(st, shared, b, TC_NOW), 0);
    ASSERT_EQ(core_groups_create(st, b, "Zed's very own group", 0, TC_NOW, &owned, slug), 0);
    ASSERT_EQ(core_groups_add_member(st, owned, c, TC_NOW), 0);
    ASSERT_EQ(core_invites_create(st, owned, b, NULL, 5, TC_NOW, &other_inv, tok), 0);
    /* An invite addressed to b's email in someone else's group. */
    ASSERT_EQ(core_invites_create(st, shared, a, "deleted.person@EXAMPLE.org", 1, TC_NOW,
                                  &other_inv, tok), 0);
    ASSERT_EQ(core_sessions_create(st, b, TC_NOW, sid, csrf), 0);
    ASSERT_EQ(core_accounts_request_reset(st, email, TC_NOW, &other_inv, tok), 0);
    ASSERT_EQ(core_sipcred_provision_token(st, b, TC_NOW, tok), 0);
    ASSERT_EQ(core_sipcred_username(st, b, user), 0);
    ASSERT_EQ(core_accounts_set_active_group(st, b, shared), 0);
    ASSERT_EQ(core_groups_kick(st, owned, b, c, TC_NOW), 0);
    ASSERT_EQ(core_groups_add_member(st, owned, c, TC_NOW), 0);
    /* Force the data through a checkpoint first, so it is in the main
     * file and not only in the WAL. */
    ASSERT_EQ(store_checkpoint(st), 0);
    ASSERT(tc_file_contains(tc_path("t.db"), "Deleted.Person@example.org"));
    ASSERT(tc_file_contains(tc_path("t.db"), "zzzyyyxxx"));
    ASSERT(tc_file_contains(tc_path("t.db"), user));
    /* More writes so the WAL holds pages with the email as well. */
    ASSERT_EQ(core_accounts_set_nickname(st, b, "zzzyyyxxxw", 10, TC_NOW), 0);
    ASSERT(tc_file_contains(tc_path("t.db-wal"), "Deleted.Person@example.org"));

    ASSERT_EQ(core_accounts_delete(st, b, TC_NOW + 10), 0);
    ASSERT_EQ(core_accounts_delete(st, b, TC_NOW + 10), -ENOENT);

    const char *needles[] = { "Deleted.Person@example.org", "deleted.person@example.org",
                              "Deleted.Person", "zzzyyyxxx", user, "Zed's very own group" };
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++) {
        if (tc_file_contains(tc_path("t.db"), needles[i]))
            t_fail(__FILE__, __LINE__, "t.db still contains %s", needles[i]);
        if (tc_file_contains(tc_path("t.db-wal"), needles[i]))
            t_fail(__FILE__, __LINE__, "t.db-wal still contains %s", needles[i]);
    }
    /* Everything of b is gone; the shared group and its log stay. */
    char sql[256];
    const char *tables[] = { "sip_credentials", "memberships", "bans", "email_tokens",
                             "provision_tokens", "sessions" };
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE user_id = %lld", tables[i],
                 (long long)b);
        ASSERT_EQ(tc_int(st, sql), 0);
    }
    snprintf(sql, sizeof sql, "SELECT count(*) FROM group_events WHERE actor_id = %lld "
             "OR target_id = %lld", (long long)b, (long long)b);
    ASSERT_EQ(tc_int(st, sql), 0);
    struct core_group g;
    ASSERT_EQ(core_groups_get(st, owned, &g), -ENOENT);
    ASSERT_EQ(core_groups_get(st, shared, &g), 0);
    ASSERT_EQ(g.members, 1);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM invites"), 0);
    char log[1024] = "";
    ASSERT_EQ(core_groups_events(st, shared, ev_cat, log), 0);
    ASSERT_STR_EQ(log, "join join invite_create nickname_change leave");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM group_events WHERE group_id = %lld",
             (long long)owned);
    ASSERT_EQ(tc_int(st, sql), 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM users"), 2);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    /* Still in working order. */
    int64_t who;
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, "other@example.org", TC_PW, strlen(TC_PW),
                                  TC_NOW, &who), 0);
    store_close(st);
}

TEST(core_accounts_wrong_current_password_counts_toward_lockout)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "marina@example.org", "marina"), who;
    for (int i = 1; i < CORE_LOGIN_MAX_FAILS; i++) {
        ASSERT_EQ(core_accounts_change_password(st, &tc_cfg, uid, "not my password", 15,
                                                "a new password", 14, NULL, TC_NOW),
                  CORE_E_BAD_LOGIN);
        ASSERT_EQ(tc_int(st, "SELECT failed_logins FROM users"), i);
    }
    ASSERT_EQ(core_accounts_change_password(st, &tc_cfg, uid, "not my password", 15,
                                            "a new password", 14, NULL, TC_NOW),
              CORE_E_LOCKED);
    /* Locked: the right current password does not get through either,
     * and neither does a login. */
    ASSERT_EQ(core_accounts_change_password(st, &tc_cfg, uid, TC_PW, strlen(TC_PW),
                                            "a new password", 14, NULL, TC_NOW + 1),
              CORE_E_LOCKED);
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, "marina@example.org", TC_PW, strlen(TC_PW),
                                  TC_NOW + 1, &who), CORE_E_LOCKED);
    /* After the lockout the right one works and clears the count. */
    ASSERT_EQ(core_accounts_change_password(st, &tc_cfg, uid, TC_PW, strlen(TC_PW),
                                            "a new password", 14, NULL,
                                            TC_NOW + CORE_LOCKOUT_SECS),
              0);
    ASSERT_EQ(tc_int(st, "SELECT failed_logins FROM users"), 0);
    store_close(st);
}
