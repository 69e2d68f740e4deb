/* Out-of-memory injection over the core paths that allocate (SQLite's
 * memory, through SQLITE_CONFIG_MALLOC, as SQLite's own tests do): the Nth
 * allocation fails for N = 1, 2, ... until a run needs fewer than N. Each
 * run must fail cleanly (a negative code, never a crash or a leak: the
 * debug build's sanitizers watch) and leave a database that is intact and
 * keeps every rule: integrity and foreign keys, one owner per group, a log
 * that names only members. */
#include "test_core_util.h"

#include <errno.h>
#include <sqlite3.h>
#include <unistd.h>

#include "core/groups.h"
#include "core/invites.h"
#include "core/maint.h"
#include "core/resolve.h"
#include "core/sipcred.h"

static sqlite3_mem_methods real;
static long countdown = -1; /* fail when it reaches 0; < 0: never */
static int injected;

static void *oom_malloc(int n)
{
    if (countdown >= 0 && countdown-- == 0) {
        injected = 1;
        return NULL;
    }
    return real.xMalloc(n);
}

static void *oom_realloc(void *p, int n)
{
    if (countdown >= 0 && countdown-- == 0) {
        injected = 1;
        return NULL;
    }
    return real.xRealloc(p, n);
}

static void oom_install(void)
{
    sqlite3_shutdown();
    ASSERT_EQ(sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real), SQLITE_OK);
    sqlite3_mem_methods m = real;
    m.xMalloc = oom_malloc;
    m.xRealloc = oom_realloc;
    ASSERT_EQ(sqlite3_config(SQLITE_CONFIG_MALLOC, &m), SQLITE_OK);
    /* No lookaside: every allocation goes through the hooks. */
    ASSERT_EQ(sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0), SQLITE_OK);
    ASSERT_EQ(sqlite3_initialize(), SQLITE_OK);
}

static void copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    ASSERT(a && b);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        ASSERT_EQ(fwrite(buf, 1, n, b), n);
    fclose(a);
    fclose(b);
}

/* The path under test: sign-ups, a group, a join by invite, a nickname
 * change, a kick, an account deletion, a purge. Stops at the first
 * failure, which must be a clean negative code. */
static int run_path(struct store *st)
{
    int64_t a, b, gid, iid, g2;
    char slug[CORE_SLUG_SIZE], tok[CORE_TOKEN_SIZE];
    int changed, rc;
    if ((rc = core_accounts_signup(st, &tc_cfg, "anna@example.org", "annaaa", TC_PW,
                                   strlen(TC_PW), CORE_SIGNUP_VERIFIED, TC_NOW, &a, NULL)) < 0 ||
        (rc = core_accounts_signup(st, &tc_cfg, "bert@example.org", "bertbert", TC_PW,
                                   strlen(TC_PW), CORE_SIGNUP_VERIFIED, TC_NOW, &b, NULL)) < 0 ||
        (rc = core_sipcred_rehash(st, &tc_cfg, &changed)) < 0 ||
        (rc = core_groups_create(st, a, "Family", 0, TC_NOW, &gid, slug)) < 0 ||
        (rc = core_invites_create(st, gid, a, "bert@example.org", 1, TC_NOW, &iid, tok)) < 0 ||
        (rc = core_invites_redeem(st, tok, b, TC_NOW, &g2)) < 0 ||
        (rc = core_accounts_set_nickname(st, b, "bertie", 6, TC_NOW)) < 0 ||
        (rc = core_accounts_login(st, &tc_cfg, "bert@example.org", "wrong password", 14,
                                  TC_NOW, &g2)) != CORE_E_BAD_LOGIN ||
        (rc = core_groups_kick(st, gid, a, b, TC_NOW)) < 0 ||
        (rc = core_accounts_delete(st, b, TC_NOW)) < 0 ||
        (rc = core_maint_purge(st, TC_NOW + 40 * 86400)) < 0)
        return rc < 0 ? rc : -EPROTO;
    return 0;
}

static void check_intact(const char *path)
{
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    static const char *const must_be_zero[] = {
        "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'",
        "SELECT count(*) FROM pragma_foreign_key_check",
        "SELECT count(*) FROM groups g WHERE (SELECT count(*) FROM memberships m "
        " WHERE m.group_id = g.id AND m.role = 'owner') <> 1",
        "SELECT count(*) FROM group_events e WHERE e.target_id IS NOT NULL AND NOT EXISTS "
        " (SELECT 1 FROM memberships m WHERE m.group_id = e.group_id AND m.user_id = e.target_id)",
        "SELECT count(*) FROM users u WHERE NOT EXISTS "
        " (SELECT 1 FROM sip_credentials c WHERE c.user_id = u.id)",
    };
    for (size_t i = 0; i < sizeof must_be_zero / sizeof must_be_zero[0]; i++) {
        sqlite3_stmt *s;
        ASSERT_EQ(sqlite3_prepare_v2(db, must_be_zero[i], -1, &s, NULL), SQLITE_OK);
        ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
        if (sqlite3_column_int(s, 0) != 0)
            t_fail(__FILE__, __LINE__, "after an injected failure: %s", must_be_zero[i]);
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
}

TEST(core_oom_every_allocation_can_fail_cleanly)
{
    oom_install();
    countdown = -1;
    /* A migrated template, copied for each run so that no run needs the
     * migrations' allocations. */
    struct store *st = tc_open_at("template.db");
    store_close(st);
    char tpl[4096], path[4096];
    snprintf(tpl, sizeof tpl, "%s", tc_path("template.db"));
    snprintf(path, sizeof path, "%s", tc_path("run.db"));
    int failures = 0, done = 0;
    /* Every allocation of the first 300, then every 11th: the later ones
     * repeat the same statements. */
    for (long n = 0; n < 200000 && !done; n += n < 300 ? 1 : 11) {
        unlink(path);
        copy_file(tpl, path);
        char err[256];
        countdown = -1;
        ASSERT_EQ(store_open(path, &st, err, sizeof err), 0);
        injected = 0;
        countdown = n;
        int rc = run_path(st);
        countdown = -1;
        if (!injected) {
            ASSERT_EQ(rc, 0); /* the whole path fits: the loop is over */
            done = 1;
        } else if (rc < 0) {
            failures++;
        }
        store_close(st);
        check_intact(path);
    }
    ASSERT(done);
    ASSERT(failures > 100); /* the injection reached the path */
}
