/*
 * test_core_groups.c - groups, memberships, bans, ownership, the event log.
 */
#include "test_core_util.h"

#include <errno.h>

#include "core/groups.h"

/* Event log of a group as "type:actor>target" words (ids; 0 for none). */
struct evlog { char buf[2048]; };

static int ev_add(void *arg, const struct core_event *e)
{
    struct evlog *l = arg;
    char w[64];
    snprintf(w, sizeof w, "%s%s:%lld>%lld", l->buf[0] ? " " : "", e->type,
             (long long)e->actor_id, (long long)e->target_id);
    strncat(l->buf, w, sizeof l->buf - strlen(l->buf) - 1);
    return 0;
}

static const char *evlog(struct store *st, int64_t gid)
{
    static struct evlog l;
    l.buf[0] = '\0';
    ASSERT_EQ(core_groups_events(st, gid, ev_add, &l), 0);
    return l.buf;
}

TEST(core_groups_slugs)
{
    char slug[CORE_SLUG_SIZE];
    core_groups_slugify("The Smiths' Family!", slug);
    ASSERT_STR_EQ(slug, "the-smiths-family");
    core_groups_slugify("  --Hello--World--  ", slug);
    ASSERT_STR_EQ(slug, "hello-world");
    core_groups_slugify("\xc3\x89quipe 42", slug);
    ASSERT_STR_EQ(slug, "quipe-42");
    core_groups_slugify("\xe2\x98\x83\xe2\x98\x83", slug);
    ASSERT_STR_EQ(slug, "group");
    core_groups_slugify("", slug);
    ASSERT_STR_EQ(slug, "group");
    core_groups_slugify("abcdefghijklmnopqrstuvwxyz abcdefghijklmnopqrstuvwxyz", slug);
    ASSERT_STR_EQ(slug, "abcdefghijklmnopqrstuvwxyz-abcde");
    core_groups_slugify("abcdefghijklmnopqrstuvwxyz abcd efgh", slug);
    ASSERT_EQ(strlen(slug), 31); /* never ends in '-' */
    ASSERT(slug[30] != '-');
}

TEST(core_groups_names)
{
    char out[CORE_GROUP_NAME_SIZE];
    ASSERT_EQ(core_groups_check_name("  Family  ", out), 0);
    ASSERT_STR_EQ(out, "Family");
    ASSERT_EQ(core_groups_check_name("\xc3\x89quipe \xf0\x9f\x93\x9e", out), 0);
    ASSERT_EQ(core_groups_check_name("", out), CORE_E_BAD_NAME);
    ASSERT_EQ(core_groups_check_name("   ", out), CORE_E_BAD_NAME);
    ASSERT_EQ(core_groups_check_name(NULL, out), CORE_E_BAD_NAME);
    ASSERT_EQ(core_groups_check_name("a\nb", out), CORE_E_BAD_NAME);
    ASSERT_EQ(core_groups_check_name("a\x7f", out), CORE_E_BAD_NAME);
    ASSERT_EQ(core_groups_check_name("a\xc2\x85", out), CORE_E_BAD_NAME); /* C1 NEL */
    ASSERT_EQ(core_groups_check_name("\xc3", out), CORE_E_BAD_NAME);
    ASSERT_EQ(core_groups_check_name("\xc0\xaf", out), CORE_E_BAD_NAME); /* overlong */
    ASSERT_EQ(core_groups_check_name("\xed\xa0\x80", out), CORE_E_BAD_NAME); /* surrogate */
    char big[80];
    memset(big, 'x', sizeof big);
    big[64] = '\0';
    ASSERT_EQ(core_groups_check_name(big, out), 0);
    big[64] = 'x';
    big[65] = '\0';
    ASSERT_EQ(core_groups_check_name(big, out), CORE_E_BAD_NAME);
}

TEST(core_groups_create_and_read)
{
    struct store *st = tc_open();
    int64_t a = tc_user(st, "a@example.org", "ownerr");
    int64_t g1, g2, g3, found;
    char s1[CORE_SLUG_SIZE], s2[CORE_SLUG_SIZE], s3[CORE_SLUG_SIZE];
    ASSERT_EQ(core_groups_create(st, a, "Family", 0, TC_NOW, &g1, s1), 0);
    ASSERT_STR_EQ(s1, "family");
    ASSERT_EQ(core_groups_create(st, a, "FAMILY!", 7, TC_NOW, &g2, s2), 0);
    ASSERT_STR_EQ(s2, "family-2");
    ASSERT_EQ(core_groups_create(st, a, "family", 0, TC_NOW, &g3, s3), 0);
    ASSERT_STR_EQ(s3, "family-3");
    struct core_group g;
    ASSERT_EQ(core_groups_get(st, g2, &g), 0);
    ASSERT_STR_EQ(g.name, "FAMILY!");
    ASSERT_STR_EQ(g.slug, "family-2");
    ASSERT_EQ(g.member_cap, 7);
    ASSERT_EQ(g.members, 1);
    ASSERT_EQ(g.owner_id, a);
    ASSERT_EQ(core_groups_get(st, g1, &g), 0);
    ASSERT_EQ(g.member_cap, CORE_GROUP_DEFAULT_CAP);
    ASSERT_EQ(core_groups_find_slug(st, "family-2", &found), 0);
    ASSERT_EQ(found, g2);
    ASSERT_EQ(core_groups_find_slug(st, "nope", &found), -ENOENT);
    ASSERT_EQ(core_groups_role(st, g1, a), CORE_ROLE_OWNER);
    ASSERT_STR_EQ(evlog(st, g1), "join:1>1");
    /* Refusals. */
    ASSERT_EQ(core_groups_create(st, 999, "X", 0, TC_NOW, &g3, s3), -ENOENT);
    ASSERT_EQ(core_groups_create(st, a, "", 0, TC_NOW, &g3, s3), CORE_E_BAD_NAME);
    ASSERT_EQ(core_groups_create(st, a, "X", -1, TC_NOW, &g3, s3), CORE_E_BAD_CAP);
    ASSERT_EQ(core_groups_create(st, a, "X", CORE_GROUP_MAX_CAP + 1, TC_NOW, &g3, s3),
              CORE_E_BAD_CAP);
    ASSERT_EQ(g3, 0);
    ASSERT_EQ(core_groups_get(st, 999, &g), -ENOENT);
    store_close(st);
}

TEST(core_groups_join_refusals)
{
    struct store *st = tc_open();
    int64_t a = tc_user(st, "a@example.org", "ownerr");
    int64_t b = tc_user(st, "b@example.org", "marina");
    int64_t c = tc_user(st, "c@example.org", "narina"); /* same dial code as marina */
    int64_t d = tc_user(st, "d@example.org", "davedave");
    int64_t e = tc_user(st, "e@example.org", "eveeve");
    int64_t gid;
    char slug[CORE_SLUG_SIZE];
    ASSERT_EQ(core_groups_create(st, a, "G", 3, TC_NOW, &gid, slug), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, b, TC_NOW), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, b, TC_NOW), CORE_E_ALREADY_MEMBER);
    ASSERT_EQ(core_groups_add_member(st, gid, c, TC_NOW), CORE_E_COLLISION);
    ASSERT_EQ(core_groups_ban(st, gid, a, d, TC_NOW), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, d, TC_NOW), CORE_E_BANNED);
    ASSERT_EQ(core_groups_add_member(st, gid, e, TC_NOW), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, c, TC_NOW), CORE_E_FULL);
    ASSERT_EQ(core_groups_add_member(st, gid, 999, TC_NOW), -ENOENT);
    ASSERT_EQ(core_groups_add_member(st, 999, c, TC_NOW), -ENOENT);
    ASSERT_EQ(core_groups_role(st, gid, b), CORE_ROLE_MEMBER);
    ASSERT_EQ(core_groups_role(st, gid, c), CORE_E_NOT_MEMBER);
    char want[256];
    /* d was never a member: the ban names "a former member". */
    snprintf(want, sizeof want, "join:%lld>%lld join:0>%lld ban:%lld>0 join:0>%lld",
             (long long)a, (long long)a, (long long)b, (long long)a, (long long)e);
    ASSERT_STR_EQ(evlog(st, gid), want);
    store_close(st);
}

TEST(core_groups_leave_kick_ban)
{
    struct store *st = tc_open();
    int64_t a = tc_user(st, "a@example.org", "ownerr");
    int64_t b = tc_user(st, "b@example.org", "marina");
    int64_t c = tc_user(st, "c@example.org", "charlie");
    int64_t x = tc_user(st, "x@example.org", "outsider");
    int64_t gid;
    char slug[CORE_SLUG_SIZE];
    ASSERT_EQ(core_groups_create(st, a, "G", 0, TC_NOW, &gid, slug), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, b, TC_NOW), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, c, TC_NOW), 0);
    /* Leave. */
    ASSERT_EQ(core_groups_leave(st, gid, a, TC_NOW), CORE_E_IS_OWNER);
    ASSERT_EQ(core_groups_leave(st, gid, x, TC_NOW), CORE_E_NOT_MEMBER);
    ASSERT_EQ(core_groups_leave(st, gid, c, TC_NOW), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, c, TC_NOW), 0); /* may come back */
    /* Kick: owner only, not self, not the owner, members only. */
    ASSERT_EQ(core_groups_kick(st, gid, b, c, TC_NOW), CORE_E_NOT_OWNER);
    ASSERT_EQ(core_groups_kick(st, gid, x, c, TC_NOW), -ENOENT);
    ASSERT_EQ(core_groups_kick(st, gid, a, a, TC_NOW), CORE_E_SELF);
    ASSERT_EQ(core_groups_kick(st, gid, a, x, TC_NOW), CORE_E_NOT_MEMBER);
    ASSERT_EQ(core_groups_kick(st, gid, CORE_ACTOR_ADMIN, a, TC_NOW), CORE_E_IS_OWNER);
    ASSERT_EQ(core_groups_kick(st, gid, a, c, TC_NOW), 0);
    ASSERT_EQ(core_groups_role(st, gid, c), CORE_E_NOT_MEMBER);
    ASSERT_EQ(core_groups_add_member(st, gid, c, TC_NOW), 0); /* a kick is not a ban */
    /* Ban: removes, blocks until unbanned. */
    ASSERT_EQ(core_groups_ban(st, gid, b, c, TC_NOW), CORE_E_NOT_OWNER);
    ASSERT_EQ(core_groups_ban(st, gid, a, a, TC_NOW), CORE_E_SELF);
    ASSERT_EQ(core_groups_ban(st, gid, CORE_ACTOR_ADMIN, a, TC_NOW), CORE_E_IS_OWNER);
    ASSERT_EQ(core_groups_ban(st, gid, a, 999, TC_NOW), -ENOENT);
    ASSERT_EQ(core_groups_ban(st, gid, a, c, TC_NOW), 0);
    ASSERT_EQ(core_groups_ban(st, gid, a, c, TC_NOW), 0); /* idempotent */
    ASSERT_EQ(core_groups_role(st, gid, c), CORE_E_NOT_MEMBER);
    ASSERT_EQ(core_groups_add_member(st, gid, c, TC_NOW), CORE_E_BANNED);
    ASSERT_EQ(core_groups_ban(st, gid, a, x, TC_NOW), 0); /* a non-member too */
    ASSERT_EQ(core_groups_unban(st, gid, b, c, TC_NOW), CORE_E_NOT_OWNER);
    ASSERT_EQ(core_groups_unban(st, gid, a, b, TC_NOW), CORE_E_NOT_BANNED);
    ASSERT_EQ(core_groups_unban(st, gid, a, c, TC_NOW), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, c, TC_NOW), 0);
    /* Every entry about c before the ban names "a former member" (0), the
     * ban of the non-member x too; c's entries since rejoining name c. */
    char want[512];
    snprintf(want, sizeof want,
             "join:%1$lld>%1$lld join:0>%2$lld join:0>0 leave:0>0 "
             "join:0>0 kick:%1$lld>0 join:0>0 ban:%1$lld>0 "
             "ban:%1$lld>0 unban:%1$lld>0 join:0>%3$lld",
             (long long)a, (long long)b, (long long)c);
    ASSERT_STR_EQ(evlog(st, gid), want);
    /* The ban list still holds x: it refuses a join, and that is its use. */
    ASSERT_EQ(core_groups_add_member(st, gid, x, TC_NOW), CORE_E_BANNED);
    store_close(st);
}

static int member_names(void *arg, const struct core_member *m)
{
    char *buf = arg;
    if (buf[0])
        strcat(buf, " ");
    strcat(buf, m->nickname);
    if (m->role == CORE_ROLE_OWNER)
        strcat(buf, "*");
    return 0;
}

TEST(core_groups_transfer_ownership)
{
    struct store *st = tc_open();
    int64_t a = tc_user(st, "a@example.org", "ownerr");
    int64_t b = tc_user(st, "b@example.org", "marina");
    int64_t x = tc_user(st, "x@example.org", "outsider");
    int64_t gid;
    char slug[CORE_SLUG_SIZE], names[256] = "";
    ASSERT_EQ(core_groups_create(st, a, "G", 0, TC_NOW, &gid, slug), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, b, TC_NOW), 0);
    ASSERT_EQ(core_groups_transfer(st, gid, b, b, TC_NOW), CORE_E_NOT_OWNER);
    ASSERT_EQ(core_groups_transfer(st, gid, a, x, TC_NOW), CORE_E_NOT_MEMBER);
    ASSERT_EQ(core_groups_transfer(st, gid, a, a, TC_NOW), CORE_E_SELF);
    ASSERT_EQ(core_groups_transfer(st, gid, a, b, TC_NOW), 0);
    ASSERT_EQ(core_groups_role(st, gid, a), CORE_ROLE_MEMBER);
    ASSERT_EQ(core_groups_role(st, gid, b), CORE_ROLE_OWNER);
    ASSERT_EQ(core_groups_members(st, gid, member_names, names), 0);
    ASSERT_STR_EQ(names, "marina* ownerr");
    /* The old owner may leave now; the new one may not. */
    ASSERT_EQ(core_groups_leave(st, gid, b, TC_NOW), CORE_E_IS_OWNER);
    ASSERT_EQ(core_groups_leave(st, gid, a, TC_NOW), 0);
    /* Admin transfer. */
    ASSERT_EQ(core_groups_add_member(st, gid, x, TC_NOW), 0);
    ASSERT_EQ(core_groups_transfer(st, gid, CORE_ACTOR_ADMIN, x, TC_NOW), 0);
    struct core_group g;
    ASSERT_EQ(core_groups_get(st, gid, &g), 0);
    ASSERT_EQ(g.owner_id, x);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM memberships WHERE role = 'owner'"), 1);
    char want[256];
    snprintf(want, sizeof want,
             "join:0>0 join:0>%1$lld ownership_transfer:0>%1$lld "
             "leave:0>0 join:0>%2$lld ownership_transfer:0>%2$lld",
             (long long)b, (long long)x);
    ASSERT_STR_EQ(evlog(st, gid), want);
    store_close(st);
}

TEST(core_groups_cap_rename_delete)
{
    struct store *st = tc_open();
    int64_t a = tc_user(st, "a@example.org", "ownerr");
    int64_t b = tc_user(st, "b@example.org", "marina");
    int64_t c = tc_user(st, "c@example.org", "charlie");
    int64_t gid;
    char slug[CORE_SLUG_SIZE];
    ASSERT_EQ(core_groups_create(st, a, "G", 0, TC_NOW, &gid, slug), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, b, TC_NOW), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, c, TC_NOW), 0);
    ASSERT_EQ(core_groups_set_cap(st, gid, b, 10, TC_NOW), CORE_E_NOT_OWNER);
    ASSERT_EQ(core_groups_set_cap(st, gid, a, 2, TC_NOW), CORE_E_CAP_TOO_LOW);
    ASSERT_EQ(core_groups_set_cap(st, gid, a, 0, TC_NOW), CORE_E_BAD_CAP);
    ASSERT_EQ(core_groups_set_cap(st, gid, a, CORE_GROUP_MAX_CAP + 1, TC_NOW), CORE_E_BAD_CAP);
    ASSERT_EQ(core_groups_set_cap(st, gid, a, 3, TC_NOW), 0);
    ASSERT_EQ(core_groups_set_cap(st, gid, a, 3, TC_NOW), 0); /* unchanged: no event */
    struct core_group g;
    ASSERT_EQ(core_groups_get(st, gid, &g), 0);
    ASSERT_EQ(g.member_cap, 3);
    ASSERT_EQ(core_groups_rename(st, gid, b, "New"), CORE_E_NOT_OWNER);
    ASSERT_EQ(core_groups_rename(st, gid, a, ""), CORE_E_BAD_NAME);
    ASSERT_EQ(core_groups_rename(st, gid, a, " New name "), 0);
    ASSERT_EQ(core_groups_get(st, gid, &g), 0);
    ASSERT_STR_EQ(g.name, "New name");
    ASSERT_STR_EQ(g.slug, "g"); /* URLs stay */
    char want[256];
    snprintf(want, sizeof want, "join:%1$lld>%1$lld join:0>%2$lld join:0>%3$lld "
             "member_cap_change:%1$lld>0", (long long)a, (long long)b, (long long)c);
    ASSERT_STR_EQ(evlog(st, gid), want);
    ASSERT_EQ(core_groups_delete(st, gid, b), CORE_E_NOT_OWNER);
    ASSERT_EQ(core_groups_delete(st, gid, 999), -ENOENT);
    ASSERT_EQ(core_groups_delete(st, gid, a), 0);
    ASSERT_EQ(core_groups_get(st, gid, &g), -ENOENT);
    ASSERT_EQ(core_groups_delete(st, gid, a), -ENOENT);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM memberships"), 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM group_events"), 0);
    ASSERT(!tc_file_contains(tc_path("t.db"), "New name"));
    ASSERT(!tc_file_contains(tc_path("t.db-wal"), "New name"));
    store_close(st);
}

/* Outsiders learn nothing about a group: every action says -ENOENT. */
TEST(core_groups_outsiders_see_nothing)
{
    struct store *st = tc_open();
    int64_t a = tc_user(st, "a@example.org", "ownerr");
    int64_t b = tc_user(st, "b@example.org", "marina");
    int64_t x = tc_user(st, "x@example.org", "outsider");
    int64_t gid;
    char slug[CORE_SLUG_SIZE];
    ASSERT_EQ(core_groups_create(st, a, "G", 0, TC_NOW, &gid, slug), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, b, TC_NOW), 0);
    ASSERT_EQ(core_groups_rename(st, gid, x, "Mine"), -ENOENT);
    ASSERT_EQ(core_groups_set_cap(st, gid, x, 5, TC_NOW), -ENOENT);
    ASSERT_EQ(core_groups_delete(st, gid, x), -ENOENT);
    ASSERT_EQ(core_groups_kick(st, gid, x, b, TC_NOW), -ENOENT);
    ASSERT_EQ(core_groups_ban(st, gid, x, b, TC_NOW), -ENOENT);
    ASSERT_EQ(core_groups_unban(st, gid, x, b, TC_NOW), -ENOENT);
    ASSERT_EQ(core_groups_transfer(st, gid, x, b, TC_NOW), -ENOENT);
    store_close(st);
}

static int count_groups(void *arg, const struct core_group *g)
{
    (void)g;
    ++*(int *)arg;
    return 0;
}

static int stop_at_first(void *arg, const struct core_group *g)
{
    *(int64_t *)arg = g->id;
    return 7;
}

TEST(core_groups_listings)
{
    struct store *st = tc_open();
    int64_t a = tc_user(st, "a@example.org", "ownerr");
    int64_t b = tc_user(st, "b@example.org", "marina");
    int64_t c = tc_user(st, "c@example.org", "charlie");
    int64_t g1, g2;
    char slug[CORE_SLUG_SIZE], names[256] = "";
    ASSERT_EQ(core_groups_create(st, a, "Zeta", 0, TC_NOW, &g1, slug), 0);
    ASSERT_EQ(core_groups_create(st, b, "Alpha", 0, TC_NOW, &g2, slug), 0);
    ASSERT_EQ(core_groups_add_member(st, g1, b, TC_NOW), 0);
    ASSERT_EQ(core_groups_add_member(st, g1, c, TC_NOW), 0);
    ASSERT_EQ(core_groups_ban(st, g2, b, c, TC_NOW), 0);
    int n = 0;
    ASSERT_EQ(core_groups_list(st, count_groups, &n), 0);
    ASSERT_EQ(n, 2);
    n = 0;
    ASSERT_EQ(core_groups_list_user(st, b, count_groups, &n), 0);
    ASSERT_EQ(n, 2);
    n = 0;
    ASSERT_EQ(core_groups_list_user(st, c, count_groups, &n), 0);
    ASSERT_EQ(n, 1);
    int64_t first = 0;
    ASSERT_EQ(core_groups_list_user(st, b, stop_at_first, &first), 7);
    ASSERT_EQ(first, g2); /* by name: Alpha first */
    ASSERT_EQ(core_groups_members(st, g1, member_names, names), 0);
    ASSERT_STR_EQ(names, "ownerr* charlie marina");
    names[0] = '\0';
    ASSERT_EQ(core_groups_bans(st, g2, member_names, names), 0);
    ASSERT_STR_EQ(names, "charlie");
    store_close(st);
}

TEST(core_groups_roles_are_never_zero)
{
    /* 0 means "done" everywhere in core: a role must not look like it. */
    ASSERT(CORE_ROLE_MEMBER > 0);
    ASSERT(CORE_ROLE_OWNER > 0);
    ASSERT(CORE_ROLE_MEMBER != CORE_ROLE_OWNER);
    struct store *st = tc_open();
    int64_t a = tc_user(st, "anna@example.org", "annaaa");
    int64_t b = tc_user(st, "bert@example.org", "bertbert");
    int64_t gid;
    char slug[CORE_SLUG_SIZE];
    ASSERT_EQ(core_groups_create(st, a, "Roles", 0, TC_NOW, &gid, slug), 0);
    ASSERT_EQ(core_groups_add_member(st, gid, b, TC_NOW), 0);
    ASSERT_EQ(core_groups_role(st, gid, a), CORE_ROLE_OWNER);
    ASSERT_EQ(core_groups_role(st, gid, b), CORE_ROLE_MEMBER);
    store_close(st);
}

TEST(core_cfg_cost_bounds_are_bcrypts)
{
    struct core_cfg c = { "r", NULL, BCRYPT_MIN_COST };
    ASSERT_EQ(core_cfg_cost(&c), BCRYPT_MIN_COST);
    c.bcrypt_cost = BCRYPT_MAX_COST;
    ASSERT_EQ(core_cfg_cost(&c), BCRYPT_MAX_COST);
    c.bcrypt_cost = BCRYPT_MIN_COST - 1;
    ASSERT_EQ(core_cfg_cost(&c), BCRYPT_DEFAULT_COST);
    c.bcrypt_cost = BCRYPT_MAX_COST + 1;
    ASSERT_EQ(core_cfg_cost(&c), BCRYPT_DEFAULT_COST);
}
