/*
 * test_core_t9.c - nicknames, dial codes, error strings.
 */
#include "test_core_util.h"

#include <errno.h>

#include "core/t9.h"

TEST(core_t9_marina_dials_627462)
{
    char code[CORE_NICK_SIZE];
    ASSERT_EQ(core_t9_dial_code("marina", 6, code), 0);
    ASSERT_STR_EQ(code, "627462");
    ASSERT_EQ(core_t9_dial_code("MaRiNa", 6, code), 0);
    ASSERT_STR_EQ(code, "627462");
}

TEST(core_t9_every_letter)
{
    const char *a = "abcdefghijklmnopqrstuvwxyz";
    const char *d = "22233344455566677778889999";
    for (int i = 0; i < 26; i++) {
        ASSERT_EQ(core_t9_digit(a[i]), d[i]);
        ASSERT_EQ(core_t9_digit(a[i] - 'a' + 'A'), d[i]);
    }
    char code[CORE_NICK_SIZE];
    ASSERT_EQ(core_t9_dial_code("abcdefghijkl", 12, code), 0);
    ASSERT_STR_EQ(code, "222333444555");
    ASSERT_EQ(core_t9_dial_code("mnopqrstuvwx", 12, code), 0);
    ASSERT_STR_EQ(code, "666777788899");
    ASSERT_EQ(core_t9_digit('0'), -1);
    ASSERT_EQ(core_t9_digit('@'), -1);
    ASSERT_EQ(core_t9_digit(0xe9), -1);
}

TEST(core_t9_nickname_rules)
{
    char out[CORE_NICK_SIZE];
    ASSERT_EQ(core_t9_normalise_nickname("Marina", 6, out), 0);
    ASSERT_STR_EQ(out, "marina");
    ASSERT_EQ(core_t9_normalise_nickname("abcdefghijkl", 12, out), 0);
    ASSERT_EQ(core_t9_normalise_nickname("abcde", 5, out), CORE_E_BAD_NICKNAME);
    ASSERT_STR_EQ(out, "");
    ASSERT_EQ(core_t9_normalise_nickname("abcdefghijklm", 13, out), CORE_E_BAD_NICKNAME);
    ASSERT_EQ(core_t9_normalise_nickname("marina1", 7, out), CORE_E_BAD_NICKNAME);
    ASSERT_EQ(core_t9_normalise_nickname(" marina", 7, out), CORE_E_BAD_NICKNAME);
    ASSERT_EQ(core_t9_normalise_nickname("mari-na", 7, out), CORE_E_BAD_NICKNAME);
    ASSERT_EQ(core_t9_normalise_nickname("mar\0ina", 7, out), CORE_E_BAD_NICKNAME);
    ASSERT_EQ(core_t9_normalise_nickname("mar\xc3\xa9na", 8, out), CORE_E_BAD_NICKNAME);
    ASSERT_EQ(core_t9_normalise_nickname(NULL, 6, out), CORE_E_BAD_NICKNAME);
    ASSERT_EQ(core_t9_dial_code("bad!!!", 6, out), CORE_E_BAD_NICKNAME);
}

TEST(core_t9_recognises_dial_codes)
{
    ASSERT(core_t9_is_dial_code("627462", 6));
    ASSERT(core_t9_is_dial_code("222333444555", 12));
    ASSERT(!core_t9_is_dial_code("62746", 5));
    ASSERT(!core_t9_is_dial_code("2223334445552", 13));
    ASSERT(!core_t9_is_dial_code("627162", 6)); /* 1 is not a letter key */
    ASSERT(!core_t9_is_dial_code("627062", 6));
    ASSERT(!core_t9_is_dial_code("62746a", 6));
    ASSERT(!core_t9_is_dial_code(NULL, 6));
}

/* The schema computes dial codes in SQL; both must agree on every letter. */
TEST(core_t9_sql_matches_c)
{
    struct store *st = tc_open();
    const char *nicks[] = { "marina", "abcdefghijkl", "mnopqrstuvwx", "yzyzyz", "Quentin" };
    for (size_t i = 0; i < sizeof nicks / sizeof nicks[0]; i++) {
        char email[64], code[CORE_NICK_SIZE], sql[128];
        snprintf(email, sizeof email, "u%zu@example.org", i);
        int64_t uid = tc_user(st, email, nicks[i]);
        ASSERT_EQ(core_t9_dial_code(nicks[i], strlen(nicks[i]), code), 0);
        struct core_user u;
        ASSERT_EQ(core_accounts_get(st, uid, &u), 0);
        ASSERT_STR_EQ(u.dial_code, code);
        snprintf(sql, sizeof sql, "SELECT dial_code = '%s' FROM users WHERE id = %lld", code,
                 (long long)uid);
        ASSERT_EQ(tc_int(st, sql), 1);
    }
    store_close(st);
}

/* The GLOB pattern the resolver queries with matches a nickname exactly when
 * the nickname's dial code is the dialled one: every letter against every
 * digit, in SQLite's own GLOB. */
TEST(core_t9_dial_glob_matches_exactly)
{
    struct store *st = tc_open();
    for (char l = 'a'; l <= 'z'; l++) {
        for (char d = '2'; d <= '9'; d++) {
            char code[7], nick[8], glob[CORE_T9_GLOB_SIZE], sql[160];
            memset(code, d, 6);
            code[6] = '\0';
            memset(nick, l, 7);
            nick[7] = '\0';
            ASSERT_EQ(core_t9_dial_glob(code, 6, glob), 0);
            snprintf(sql, sizeof sql, "SELECT '%.6s' GLOB '%s'", nick, glob);
            ASSERT_EQ(tc_int(st, sql), core_t9_digit(l) == d);
            /* One letter more or less never matches. */
            snprintf(sql, sizeof sql, "SELECT '%s' GLOB '%s'", nick, glob);
            ASSERT_EQ(tc_int(st, sql), 0);
            snprintf(sql, sizeof sql, "SELECT '%.5s' GLOB '%s'", nick, glob);
            ASSERT_EQ(tc_int(st, sql), 0);
        }
    }
    char glob[CORE_T9_GLOB_SIZE];
    ASSERT_EQ(core_t9_dial_glob("627462", 6, glob), 0);
    ASSERT_STR_EQ(glob, "[mno][abc][pqrs][ghi][mno][abc]");
    ASSERT_EQ(core_t9_dial_glob("999999999999", 12, glob), 0);
    ASSERT_EQ(strlen(glob), 6 * 12);
    ASSERT_EQ(core_t9_dial_glob("62716", 5, glob), -1);
    ASSERT_STR_EQ(glob, "");
    ASSERT_EQ(core_t9_dial_glob("627162", 6, glob), -1);
    store_close(st);
}

TEST(core_errors_every_code_has_text)
{
    for (int e = CORE_E_BAD_CAP; e <= CORE_E_BAD_EMAIL; e++) {
        ASSERT(strcmp(core_strerror(e), "unknown error") != 0);
        ASSERT(core_is_refusal(e));
    }
    ASSERT(core_is_refusal(-ENOENT));
    ASSERT(!core_is_refusal(-EIO));
    ASSERT(!core_is_refusal(-EBUSY));
    ASSERT(!core_is_refusal(0));
    ASSERT_STR_EQ(core_strerror(-1999), "unknown error");
    ASSERT_STR_EQ(core_strerror(0), "ok");
}
