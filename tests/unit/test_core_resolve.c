/*
 * test_core_resolve.c - dial-code and SIP-username resolution for the proxy.
 */
#include "test_core_util.h"

#include <errno.h>

#include "core/groups.h"
#include "core/resolve.h"
#include "core/sipcred.h"

struct world {
    struct store *st;
    int64_t alice, marina, narina, bob, stranger;
    int64_t g_family, g_work;
};

/* alice is in Family (with marina) and Work (with narina, who dials like
 * marina) and bob; stranger is in no group with anyone. */
static struct world make_world(void)
{
    struct world w;
    char slug[CORE_SLUG_SIZE];
    w.st = tc_open();
    w.alice = tc_user(w.st, "alice@example.org", "alicea");
    w.marina = tc_user(w.st, "marina@example.org", "marina");
    w.narina = tc_user(w.st, "narina@example.org", "narina");
    w.bob = tc_user(w.st, "bob@example.org", "bobbybob");
    w.stranger = tc_user(w.st, "x@example.org", "stranger");
    ASSERT_EQ(core_groups_create(w.st, w.alice, "Family", 0, TC_NOW, &w.g_family, slug), 0);
    ASSERT_EQ(core_groups_create(w.st, w.alice, "Work", 0, TC_NOW, &w.g_work, slug), 0);
    ASSERT_EQ(core_groups_add_member(w.st, w.g_family, w.marina, TC_NOW), 0);
    ASSERT_EQ(core_groups_add_member(w.st, w.g_work, w.narina, TC_NOW), 0);
    ASSERT_EQ(core_groups_add_member(w.st, w.g_work, w.bob, TC_NOW), 0);
    return w;
}

TEST(core_resolve_dial_codes)
{
    struct world w = make_world();
    struct core_callee c;
    char user[CORE_SIP_USER_SIZE];
    /* bob: one match. */
    ASSERT_EQ(core_resolve_dial(w.st, w.alice, "26229262", 8, &c), 0);
    ASSERT_EQ(c.user_id, w.bob);
    ASSERT_EQ(core_sipcred_username(w.st, w.bob, user), 0);
    ASSERT_STR_EQ(c.sip_username, user);
    ASSERT_EQ(core_resolve_dial(w.st, w.marina, "26229262", 8, &c), -ENOENT); /* no shared group */
    /* 627462: marina (Family) and narina (Work): ambiguous for alice. */
    ASSERT_EQ(core_resolve_dial(w.st, w.alice, "627462", 6, &c), CORE_E_AMBIGUOUS);
    ASSERT_EQ(c.user_id, 0);
    /* The active group decides. */
    ASSERT_EQ(core_accounts_set_active_group(w.st, w.alice, w.g_work), 0);
    ASSERT_EQ(core_resolve_dial(w.st, w.alice, "627462", 6, &c), 0);
    ASSERT_EQ(c.user_id, w.narina);
    ASSERT_EQ(core_accounts_set_active_group(w.st, w.alice, w.g_family), 0);
    ASSERT_EQ(core_resolve_dial(w.st, w.alice, "627462", 6, &c), 0);
    ASSERT_EQ(c.user_id, w.marina);
    /* Outside the active group a unique match still resolves. */
    ASSERT_EQ(core_resolve_dial(w.st, w.alice, "26229262", 8, &c), 0);
    ASSERT_EQ(c.user_id, w.bob);
    /* For marina only her own groups count: narina is a stranger to her. */
    ASSERT_EQ(core_resolve_dial(w.st, w.marina, "254232", 6, &c), 0); /* alicea */
    ASSERT_EQ(c.user_id, w.alice);
    /* Strangers and unknown codes look the same. */
    ASSERT_EQ(core_resolve_dial(w.st, w.stranger, "254232", 6, &c), -ENOENT);
    ASSERT_EQ(core_resolve_dial(w.st, w.alice, "78726437", 8, &c), -ENOENT); /* stranger */
    ASSERT_EQ(core_resolve_dial(w.st, w.alice, "999999", 6, &c), -ENOENT);
    ASSERT_EQ(core_resolve_dial(w.st, w.alice, "12345", 5, &c), -ENOENT);
    ASSERT_EQ(core_resolve_dial(w.st, w.alice, "62746a", 6, &c), -ENOENT);
    ASSERT_EQ(core_resolve_dial(w.st, 999, "627462", 6, &c), -ENOENT);
    /* Yourself: your own other phones. */
    ASSERT_EQ(core_resolve_dial(w.st, w.stranger, "78726437", 8, &c), 0);
    ASSERT_EQ(c.user_id, w.stranger);
    store_close(w.st);
}

TEST(core_resolve_honours_bans_and_leaving)
{
    struct world w = make_world();
    struct core_callee c;
    ASSERT_EQ(core_groups_ban(w.st, w.g_work, w.alice, w.narina, TC_NOW), 0);
    /* No longer ambiguous: narina is banned from the only group she shared. */
    ASSERT_EQ(core_resolve_dial(w.st, w.alice, "627462", 6, &c), 0);
    ASSERT_EQ(c.user_id, w.marina);
    ASSERT_EQ(core_resolve_dial(w.st, w.narina, "254232", 6, &c), -ENOENT);
    ASSERT_EQ(core_resolve_dial(w.st, w.bob, "627462", 6, &c), -ENOENT);
    ASSERT_EQ(core_groups_leave(w.st, w.g_family, w.marina, TC_NOW), 0);
    ASSERT_EQ(core_resolve_dial(w.st, w.alice, "627462", 6, &c), -ENOENT);
    store_close(w.st);
}

TEST(core_resolve_sip_usernames_only_within_groups)
{
    struct world w = make_world();
    struct core_callee c;
    char u_bob[CORE_SIP_USER_SIZE], u_x[CORE_SIP_USER_SIZE];
    ASSERT_EQ(core_sipcred_username(w.st, w.bob, u_bob), 0);
    ASSERT_EQ(core_sipcred_username(w.st, w.stranger, u_x), 0);
    ASSERT_EQ(core_resolve_sip_username(w.st, w.alice, u_bob, &c), 0);
    ASSERT_EQ(c.user_id, w.bob);
    ASSERT_STR_EQ(c.sip_username, u_bob);
    ASSERT_EQ(core_resolve_sip_username(w.st, w.narina, u_bob, &c), 0);
    ASSERT_EQ(core_resolve_sip_username(w.st, w.marina, u_bob, &c), -ENOENT);
    ASSERT_EQ(core_resolve_sip_username(w.st, w.alice, u_x, &c), -ENOENT);
    ASSERT_EQ(core_resolve_sip_username(w.st, w.stranger, u_bob, &c), -ENOENT);
    ASSERT_EQ(core_resolve_sip_username(w.st, w.stranger, u_x, &c), 0); /* self */
    ASSERT_EQ(core_resolve_sip_username(w.st, w.alice, "nosuchuser", &c), -ENOENT);
    ASSERT_EQ(core_resolve_sip_username(w.st, w.alice, "x", &c), -ENOENT);
    ASSERT_EQ(core_resolve_sip_username(w.st, w.alice, NULL, &c), -ENOENT);
    ASSERT_EQ(core_groups_kick(w.st, w.g_work, w.alice, w.bob, TC_NOW), 0);
    ASSERT_EQ(core_resolve_sip_username(w.st, w.alice, u_bob, &c), -ENOENT);
    int64_t who;
    ASSERT_EQ(core_resolve_caller(w.st, "nosuchuser", &who), -ENOENT);
    store_close(w.st);
}
