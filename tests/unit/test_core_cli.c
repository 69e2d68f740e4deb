/*
 * test_core_cli.c - the admin CLI (cli/admin.c) driven in-process, with
 * files for stdin, stdout and stderr.
 */
#include "test_core_util.h"

#include <stdarg.h>
#include <time.h>

#include "cli/admin.h"
#include "core/groups.h"
#include "core/resolve.h"
#include "core/sipcred.h"
#include "crypto/hash.h"

struct run {
    int status;
    char out[8192], err[8192];
};

static void slurp(FILE *f, char *buf, size_t cap)
{
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs `t9phone ARGS...` (NULL-terminated) with input on stdin. */
static struct run cli(struct store *st, const uint8_t *key, const char *input, ...)
{
    static struct run r;
    char *argv[16];
    int argc = 0;
    va_list ap;
    va_start(ap, input);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;)
        argv[argc++] = (char *)a;
    va_end(ap);
    FILE *in = tmpfile(), *out = tmpfile(), *err = tmpfile();
    ASSERT(in && out && err);
    if (input)
        fputs(input, in);
    rewind(in);
    struct cli_env env = { "t9phone.test", key, 4, in, out, err };
    r.status = cli_admin_main(st, &env, argc, argv);
    fclose(in);
    slurp(out, r.out, sizeof r.out);
    slurp(err, r.err, sizeof r.err);
    return r;
}

#define PWLINE TC_PW "\n"

TEST(core_cli_user_add_list_delete)
{
    struct store *st = tc_open();
    struct run r = cli(st, tc_key, PWLINE, "user", "add", "--email", " Marina@Example.org",
                       "--nickname", "Marina", NULL);
    ASSERT_EQ(r.status, 0);
    ASSERT_STR_EQ(r.err, "");
    char sip[CORE_SIP_USER_SIZE];
    int64_t uid;
    ASSERT_EQ(core_accounts_find_email(st, "marina@example.org", &uid), 0);
    ASSERT_EQ(core_sipcred_username(st, uid, sip), 0);
    char want[256];
    snprintf(want, sizeof want, "Marina@example.org\tmarina\t627462\t%s\n", sip);
    ASSERT_STR_EQ(r.out, want);
    /* The password on stdin is the portal password. */
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, "marina@example.org", TC_PW, strlen(TC_PW),
                                  TC_NOW, &uid), 0);
    r = cli(st, tc_key, "another password\r\n", "user", "add", "--email=bob@example.org",
            "--nickname=bobbybob", NULL);
    ASSERT_EQ(r.status, 0);
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, "bob@example.org", "another password", 16,
                                  TC_NOW, &uid), 0);
    r = cli(st, tc_key, NULL, "user", "list", NULL);
    ASSERT_EQ(r.status, 0);
    ASSERT(strstr(r.out, "Marina@example.org\tmarina\t627462\t20"));
    ASSERT(strstr(r.out, "Z\tok\nbob@example.org\tbobbybob\t26229262\t"));
    /* Taken, bad input. */
    r = cli(st, tc_key, PWLINE, "user", "add", "--email", "MARINA@example.org", "--nickname",
            "another", NULL);
    ASSERT_EQ(r.status, 1);
    ASSERT_STR_EQ(r.err, "t9phone user add: email already registered\n");
    ASSERT_STR_EQ(r.out, "");
    r = cli(st, tc_key, PWLINE, "user", "add", "--email", "x@example.org", "--nickname", "ab1",
            NULL);
    ASSERT_EQ(r.status, 1);
    r = cli(st, tc_key, "short\n", "user", "add", "--email", "x@example.org", "--nickname",
            "xavierx", NULL);
    ASSERT_EQ(r.status, 1);
    r = cli(st, tc_key, "", "user", "add", "--email", "x@example.org", "--nickname", "xavierx",
            NULL);
    ASSERT_EQ(r.status, 2);
    r = cli(st, NULL, PWLINE, "user", "add", "--email", "x@example.org", "--nickname",
            "xavierx", NULL);
    ASSERT_EQ(r.status, 3);
    /* Delete. */
    r = cli(st, tc_key, NULL, "user", "delete", "marina@EXAMPLE.org", NULL);
    ASSERT_EQ(r.status, 0);
    ASSERT_STR_EQ(r.out, "");
    r = cli(st, tc_key, NULL, "user", "delete", "marina@example.org", NULL);
    ASSERT_EQ(r.status, 1);
    ASSERT_STR_EQ(r.err, "t9phone user delete: marina@example.org: not found\n");
    ASSERT(!tc_file_contains(tc_path("t.db"), "Marina@example.org"));
    ASSERT(!tc_file_contains(tc_path("t.db-wal"), "Marina@example.org"));
    r = cli(st, tc_key, NULL, "user", "list", NULL);
    ASSERT(!strstr(r.out, "marina"));
    store_close(st);
}

TEST(core_cli_user_unlock_and_sip)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "marina@example.org", "marina"), who;
    /* Wrong current passwords in a password change lock the account row. */
    for (int i = 0; i < CORE_LOGIN_MAX_FAILS; i++)
        core_accounts_change_password(st, &tc_cfg, uid, "wrong password", 14,
                                      "a new password", 14, NULL, time(NULL));
    (void)who;
    struct run r = cli(st, tc_key, NULL, "user", "list", NULL);
    ASSERT(strstr(r.out, "\tlocked\n"));
    r = cli(st, tc_key, NULL, "user", "unlock", "marina@example.org", NULL);
    ASSERT_EQ(r.status, 0);
    r = cli(st, tc_key, NULL, "user", "list", NULL);
    ASSERT(strstr(r.out, "\tok\n"));
    r = cli(st, tc_key, NULL, "user", "unlock", "nobody@example.org", NULL);
    ASSERT_EQ(r.status, 1);
    /* sip: the username; the password only with --show-password, and the
     * operator is told why either way. */
    char user[CORE_SIP_USER_SIZE], pass[CORE_SIP_PASS_SIZE];
    ASSERT_EQ(core_sipcred_reveal(st, &tc_cfg, uid, user, pass), 0);
    char want[256];
    r = cli(st, tc_key, NULL, "user", "sip", "marina@example.org", NULL);
    ASSERT_EQ(r.status, 0);
    snprintf(want, sizeof want, "sip-username=%s\n", user);
    ASSERT_STR_EQ(r.out, want);
    ASSERT(strstr(r.err, "--show-password"));
    ASSERT(!strstr(r.out, pass) && !strstr(r.err, pass));
    r = cli(st, tc_key, NULL, "user", "sip", "marina@example.org", "--show-password", NULL);
    ASSERT_EQ(r.status, 0);
    snprintf(want, sizeof want, "sip-username=%s\nsip-password=%s\n", user, pass);
    ASSERT_STR_EQ(r.out, want);
    ASSERT(strstr(r.err, "because --show-password was given"));
    r = cli(st, tc_key, NULL, "user", "list", "--show-password", NULL);
    ASSERT_EQ(r.status, 2);
    uint8_t ha1[16], mine[16];
    crypto_ha1(user, "t9phone.test", pass, strlen(pass), mine);
    int changed;
    ASSERT_EQ(core_sipcred_rehash(st, &tc_cfg, &changed), 0);
    ASSERT_EQ(core_sip_lookup_ha1(st, user, ha1), 0);
    ASSERT_MEM_EQ(ha1, mine, 16);
    /* A wrong key is an internal error, never garbage. */
    uint8_t wrong[32] = { 0 };
    r = cli(st, wrong, NULL, "user", "sip", "marina@example.org", "--show-password", NULL);
    ASSERT_EQ(r.status, 3);
    ASSERT_STR_EQ(r.out, "");
    r = cli(st, NULL, NULL, "user", "sip", "marina@example.org", "--show-password", NULL);
    ASSERT_EQ(r.status, 3);
    r = cli(st, tc_key, NULL, "user", "sip", "nobody@example.org", NULL);
    ASSERT_EQ(r.status, 1);
    store_close(st);
}

TEST(core_cli_groups)
{
    struct store *st = tc_open();
    tc_user(st, "owner@example.org", "ownerr");
    tc_user(st, "marina@example.org", "marina");
    tc_user(st, "narina@example.org", "narina");
    struct run r = cli(st, tc_key, NULL, "group", "add", "The Family", "--owner",
                       "OWNER@example.org", "--cap", "2", NULL);
    ASSERT_EQ(r.status, 0);
    ASSERT_STR_EQ(r.out, "the-family\n");
    r = cli(st, tc_key, NULL, "group", "add", "The family", "--owner=owner@example.org", NULL);
    ASSERT_STR_EQ(r.out, "the-family-2\n");
    r = cli(st, tc_key, NULL, "group", "join", "the-family", "marina@example.org", NULL);
    ASSERT_EQ(r.status, 0);
    ASSERT_STR_EQ(r.out, "");
    r = cli(st, tc_key, NULL, "group", "join", "the-family", "marina@example.org", NULL);
    ASSERT_EQ(r.status, 1);
    ASSERT_STR_EQ(r.err, "t9phone group join: already a member\n");
    r = cli(st, tc_key, NULL, "group", "join", "the-family-2", "marina@example.org", NULL);
    ASSERT_EQ(r.status, 0);
    r = cli(st, tc_key, NULL, "group", "join", "the-family-2", "narina@example.org", NULL);
    ASSERT_EQ(r.status, 1);
    ASSERT_STR_EQ(r.err, "t9phone group join: dial code already taken in the group\n");
    r = cli(st, tc_key, NULL, "group", "join", "the-family", "narina@example.org", NULL);
    ASSERT_EQ(r.status, 1);
    ASSERT_STR_EQ(r.err, "t9phone group join: group is full\n");
    r = cli(st, tc_key, NULL, "group", "join", "nope", "narina@example.org", NULL);
    ASSERT_EQ(r.status, 1);
    r = cli(st, tc_key, NULL, "group", "join", "the-family", "nobody@example.org", NULL);
    ASSERT_EQ(r.status, 1);
    r = cli(st, tc_key, NULL, "group", "list", NULL);
    ASSERT_EQ(r.status, 0);
    ASSERT_STR_EQ(r.out, "the-family\tThe Family\t2\t2\towner@example.org\n"
                         "the-family-2\tThe family\t2\t50\towner@example.org\n");
    r = cli(st, tc_key, NULL, "group", "add", "X", "--owner", "nobody@example.org", NULL);
    ASSERT_EQ(r.status, 1);
    r = cli(st, tc_key, NULL, "group", "add", "X", "--owner", "owner@example.org", "--cap",
            "0", NULL);
    ASSERT_EQ(r.status, 1);
    r = cli(st, tc_key, NULL, "group", "add", "X", "--owner", "owner@example.org", "--cap",
            "12abc", NULL);
    ASSERT_EQ(r.status, 1);
    /* Deleting the owner deletes the groups they own. */
    r = cli(st, tc_key, NULL, "user", "delete", "owner@example.org", NULL);
    ASSERT_EQ(r.status, 0);
    r = cli(st, tc_key, NULL, "group", "list", NULL);
    ASSERT_STR_EQ(r.out, "");
    store_close(st);
}

TEST(core_cli_usage_errors)
{
    struct store *st = tc_open();
    struct run r;
    r = cli(st, tc_key, NULL, "user", NULL);
    ASSERT_EQ(r.status, 2);
    ASSERT(strstr(r.err, "missing subcommand"));
    ASSERT(strstr(r.err, "usage:"));
    r = cli(st, tc_key, NULL, "user", "frobnicate", NULL);
    ASSERT_EQ(r.status, 2);
    r = cli(st, tc_key, NULL, "team", "list", NULL);
    ASSERT_EQ(r.status, 2);
    r = cli(st, tc_key, NULL, "user", "list", "extra", NULL);
    ASSERT_EQ(r.status, 2);
    r = cli(st, tc_key, NULL, "user", "delete", NULL);
    ASSERT_EQ(r.status, 2);
    r = cli(st, tc_key, NULL, "user", "add", "--email", "a@example.org", NULL);
    ASSERT_EQ(r.status, 2);
    r = cli(st, tc_key, NULL, "user", "add", "--email", NULL);
    ASSERT_EQ(r.status, 2);
    ASSERT(strstr(r.err, "option --email needs a value"));
    r = cli(st, tc_key, NULL, "user", "add", "--email=a@example.org", "--email=b@example.org",
            "--nickname=marina", NULL);
    ASSERT_EQ(r.status, 2);
    r = cli(st, tc_key, NULL, "user", "list", "--verbose", NULL);
    ASSERT_EQ(r.status, 2);
    ASSERT(strstr(r.err, "unknown option --verbose"));
    r = cli(st, tc_key, NULL, "user", "list", "--owner=x", NULL);
    ASSERT_EQ(r.status, 2);
    r = cli(st, tc_key, NULL, "group", "add", "X", NULL);
    ASSERT_EQ(r.status, 2);
    ASSERT_STR_EQ(cli(st, tc_key, NULL, "group", "list", NULL).out, "");
    ASSERT_EQ(cli_admin_option("--email"), 1);
    ASSERT_EQ(cli_admin_option("--email=x"), 2);
    ASSERT_EQ(cli_admin_option("--emails"), 0);
    ASSERT_EQ(cli_admin_option("--data-dir=x"), 0);
    ASSERT_EQ(cli_admin_option("--cap"), 1);
    store_close(st);
}

TEST(core_cli_user_unverified_lists_the_accounts_and_their_end)
{
    struct store *st = tc_open();
    tc_user(st, "verified@example.org", "verifd");
    int64_t uid;
    char vtok[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_accounts_signup(st, &tc_cfg, "typo@example.org", "typoed", TC_PW,
                                   strlen(TC_PW), 0, 86400, &uid, vtok), 0);
    struct run r = cli(st, tc_key, NULL, "user", "unverified", NULL);
    ASSERT_EQ(r.status, 0);
    /* Created on 2 January; the link expires on the 3rd; the grace ends on the 10th. */
    ASSERT_STR_EQ(r.out, "typo@example.org\ttypoed\t1970-01-02T00:00:00Z\t1970-01-10T00:00:00Z\n");
    r = cli(st, tc_key, NULL, "user", "unverified", "extra", NULL);
    ASSERT_EQ(r.status, 2);
    store_close(st);
}

/* "The CLI reads a password with its real length": a NUL inside is
 * refused, never a silent cut to the bytes before it (which here would
 * pass the policy on their own). */
TEST(core_cli_password_with_a_nul_is_refused_not_cut)
{
    struct store *st = tc_open();
    static const char pw[] = "correct horse\0battery staple\n";
    FILE *in = tmpfile(), *out = tmpfile(), *err = tmpfile();
    ASSERT(in && out && err);
    ASSERT_EQ(fwrite(pw, 1, sizeof pw - 1, in), sizeof pw - 1);
    rewind(in);
    struct cli_env env = { "t9phone.test", tc_key, 4, in, out, err };
    char *argv[] = { "user", "add", "--email", "marina@example.org", "--nickname", "marina" };
    ASSERT_EQ(cli_admin_main(st, &env, 6, argv), CLI_REFUSED);
    char e[512];
    fclose(in);
    fclose(out);
    slurp(err, e, sizeof e);
    ASSERT(strstr(e, "NUL"));
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM users"), 0);
    /* A CR LF line end is not part of the password. */
    struct run r = cli(st, tc_key, TC_PW "\r\n", "user", "add", "--email", "marina@example.org",
                       "--nickname", "marina", NULL);
    ASSERT_EQ(r.status, 0);
    int64_t who;
    ASSERT_EQ(core_accounts_login(st, &tc_cfg, "marina@example.org", TC_PW, strlen(TC_PW),
                                  TC_NOW, &who), 0);
    store_close(st);
}
