/*
 * test_core_invites.c - invites: every refusal, resend, revoke, purge, and
 * redemptions racing for the last seat.
 */
#include "test_core_util.h"

#include <errno.h>
#include <pthread.h>

#include "core/groups.h"
#include "core/invites.h"
#include "core/maint.h"

struct fixture {
    struct store *st;
    int64_t owner, member, gid;
};

static struct fixture setup(int cap)
{
    struct fixture f;
    char slug[CORE_SLUG_SIZE];
    f.st = tc_open();
    f.owner = tc_user(f.st, "owner@example.org", "ownerr");
    f.member = tc_user(f.st, "member@example.org", "member");
    ASSERT_EQ(core_groups_create(f.st, f.owner, "Family", cap, TC_NOW, &f.gid, slug), 0);
    ASSERT_EQ(core_groups_add_member(f.st, f.gid, f.member, TC_NOW), 0);
    return f;
}

TEST(core_invites_open_invite)
{
    struct fixture f = setup(0);
    int64_t u1 = tc_user(f.st, "u1@example.org", "useruno");
    int64_t u2 = tc_user(f.st, "u2@example.org", "userdos");
    int64_t u3 = tc_user(f.st, "u3@example.org", "usertres");
    int64_t id, gid;
    char tok[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_invites_create(f.st, f.gid, f.member, NULL, 2, TC_NOW, &id, tok),
              CORE_E_NOT_OWNER);
    ASSERT_EQ(core_invites_create(f.st, f.gid, u1, NULL, 2, TC_NOW, &id, tok), -ENOENT);
    ASSERT_EQ(core_invites_create(f.st, 999, f.owner, NULL, 2, TC_NOW, &id, tok), -ENOENT);
    ASSERT_EQ(core_invites_create(f.st, f.gid, f.owner, NULL, 0, TC_NOW, &id, tok), -EINVAL);
    ASSERT_EQ(core_invites_create(f.st, f.gid, f.owner, NULL, CORE_INVITE_MAX_USES + 1,
                                  TC_NOW, &id, tok), -EINVAL);
    ASSERT_EQ(core_invites_create(f.st, f.gid, f.owner, NULL, 2, TC_NOW, &id, tok), 0);
    ASSERT(id > 0);
    ASSERT_EQ(strlen(tok), 43);
    ASSERT(!tc_file_contains(tc_path("t.db-wal"), tok));
    struct core_invite inv;
    ASSERT_EQ(core_invites_lookup(f.st, tok, TC_NOW, &inv), 0);
    ASSERT_EQ(inv.group_id, f.gid);
    ASSERT_EQ(inv.max_uses, 2);
    ASSERT_EQ(inv.expires, TC_NOW + CORE_INVITE_TTL);
    ASSERT_EQ(core_invites_redeem(f.st, tok, u1, TC_NOW + 1, &gid), 0);
    ASSERT_EQ(gid, f.gid);
    ASSERT_EQ(core_invites_redeem(f.st, tok, u1, TC_NOW + 1, &gid), CORE_E_ALREADY_MEMBER);
    ASSERT_EQ(core_invites_redeem(f.st, tok, u2, TC_NOW + 2, &gid), 0);
    ASSERT_EQ(core_invites_redeem(f.st, tok, u3, TC_NOW + 3, &gid), CORE_E_USED_UP);
    ASSERT_EQ(gid, 0);
    ASSERT_EQ(core_invites_lookup(f.st, tok, TC_NOW, &inv), CORE_E_USED_UP);
    ASSERT_EQ(core_groups_role(f.st, f.gid, u2), CORE_ROLE_MEMBER);
    ASSERT_EQ(core_groups_role(f.st, f.gid, u3), CORE_E_NOT_MEMBER);
    ASSERT_EQ(tc_int(f.st, "SELECT uses FROM invites"), 2);
    ASSERT_EQ(tc_int(f.st, "SELECT count(*) FROM group_events WHERE type = 'invite_redeem'"), 2);
    ASSERT_EQ(tc_int(f.st, "SELECT count(*) FROM group_events WHERE type = 'invite_create'"), 1);
    store_close(f.st);
}

TEST(core_invites_refusals_each_have_a_reason)
{
    struct fixture f = setup(4);
    int64_t u1 = tc_user(f.st, "u1@example.org", "useruno");
    int64_t marina = tc_user(f.st, "marina@example.org", "marina");
    int64_t narina = tc_user(f.st, "narina@example.org", "narina");
    int64_t banned = tc_user(f.st, "banned@example.org", "banned");
    int64_t extra = tc_user(f.st, "extra@example.org", "extraa");
    int64_t id, gid;
    char tok[CORE_TOKEN_SIZE], t_exp[CORE_TOKEN_SIZE], t_rev[CORE_TOKEN_SIZE],
        t_mail[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_invites_create(f.st, f.gid, f.owner, NULL, 10, TC_NOW, &id, tok), 0);
    /* Unknown. */
    ASSERT_EQ(core_invites_redeem(f.st, "unknown-token", u1, TC_NOW, &gid), -ENOENT);
    ASSERT_EQ(core_invites_redeem(f.st, "", u1, TC_NOW, &gid), -ENOENT);
    ASSERT_EQ(core_invites_redeem(f.st, NULL, u1, TC_NOW, &gid), -ENOENT);
    /* Expired. */
    ASSERT_EQ(core_invites_create(f.st, f.gid, f.owner, NULL, 1, TC_NOW, &id, t_exp), 0);
    ASSERT_EQ(core_invites_redeem(f.st, t_exp, u1, TC_NOW + CORE_INVITE_TTL, &gid),
              CORE_E_EXPIRED);
    /* Revoked. */
    ASSERT_EQ(core_invites_create(f.st, f.gid, f.owner, NULL, 1, TC_NOW, &id, t_rev), 0);
    ASSERT_EQ(core_invites_revoke(f.st, f.member, id, TC_NOW), CORE_E_NOT_OWNER);
    ASSERT_EQ(core_invites_revoke(f.st, f.owner, id, TC_NOW), 0);
    ASSERT_EQ(core_invites_revoke(f.st, f.owner, id, TC_NOW), 0);
    ASSERT_EQ(core_invites_revoke(f.st, f.owner, 999, TC_NOW), -ENOENT);
    ASSERT_EQ(core_invites_redeem(f.st, t_rev, u1, TC_NOW, &gid), CORE_E_REVOKED);
    /* Revoked wins over expired. */
    ASSERT_EQ(core_invites_redeem(f.st, t_rev, u1, TC_NOW + CORE_INVITE_TTL, &gid),
              CORE_E_REVOKED);
    /* Wrong email (compared without regard to case). */
    ASSERT_EQ(core_invites_create(f.st, f.gid, f.owner, "Marina@Example.org", 0, TC_NOW, &id,
                                  t_mail), 0);
    ASSERT_EQ(core_invites_create(f.st, f.gid, f.owner, "Marina@Example.org", 2, TC_NOW, &id,
                                  tok), -EINVAL);
    ASSERT_EQ(core_invites_create(f.st, f.gid, f.owner, "not-an-email", 1, TC_NOW, &id, tok),
              CORE_E_BAD_EMAIL);
    ASSERT_EQ(core_invites_redeem(f.st, t_mail, u1, TC_NOW, &gid), CORE_E_WRONG_EMAIL);
    ASSERT_EQ(core_invites_redeem(f.st, t_mail, marina, TC_NOW, &gid), 0);
    ASSERT_EQ(core_invites_redeem(f.st, t_mail, narina, TC_NOW, &gid), CORE_E_USED_UP);
    /* Banned. */
    ASSERT_EQ(core_groups_ban(f.st, f.gid, f.owner, banned, TC_NOW), 0);
    ASSERT_EQ(core_invites_create(f.st, f.gid, f.owner, NULL, 10, TC_NOW, &id, tok), 0);
    ASSERT_EQ(core_invites_redeem(f.st, tok, banned, TC_NOW, &gid), CORE_E_BANNED);
    /* Already a member. */
    ASSERT_EQ(core_invites_redeem(f.st, tok, f.member, TC_NOW, &gid), CORE_E_ALREADY_MEMBER);
    /* Dial-code collision: narina dials like marina. */
    ASSERT_EQ(core_invites_redeem(f.st, tok, narina, TC_NOW, &gid), CORE_E_COLLISION);
    /* Full: cap 4 = owner, member, marina, u1. */
    ASSERT_EQ(core_invites_redeem(f.st, tok, u1, TC_NOW, &gid), 0);
    ASSERT_EQ(core_invites_redeem(f.st, tok, extra, TC_NOW, &gid), CORE_E_FULL);
    /* Full is checked before the collision. */
    ASSERT_EQ(core_invites_redeem(f.st, tok, narina, TC_NOW, &gid), CORE_E_FULL);
    /* Refused redemptions used nothing up. */
    ASSERT_EQ(tc_int(f.st, "SELECT uses FROM invites ORDER BY id DESC LIMIT 1"), 1);
    store_close(f.st);
}

TEST(core_invites_resend_replaces_token)
{
    struct fixture f = setup(0);
    int64_t marina = tc_user(f.st, "marina@example.org", "marina");
    int64_t id, gid;
    char tok[CORE_TOKEN_SIZE], tok2[CORE_TOKEN_SIZE], email[CORE_EMAIL_SIZE];
    ASSERT_EQ(core_invites_create(f.st, f.gid, f.owner, "marina@example.org", 1, TC_NOW, &id,
                                  tok), 0);
    ASSERT_EQ(core_invites_resend(f.st, f.member, id, TC_NOW, tok2, email), CORE_E_NOT_OWNER);
    int64_t later = TC_NOW + CORE_INVITE_TTL - 5;
    ASSERT_EQ(core_invites_resend(f.st, f.owner, id, later, tok2, email), 0);
    ASSERT_STR_EQ(email, "marina@example.org");
    ASSERT(strcmp(tok, tok2) != 0);
    ASSERT_EQ(core_invites_redeem(f.st, tok, marina, later, &gid), -ENOENT);
    /* The expiry restarted. */
    ASSERT_EQ(core_invites_redeem(f.st, tok2, marina, later + CORE_INVITE_TTL - 1, &gid), 0);
    ASSERT_EQ(core_invites_resend(f.st, f.owner, id, later, tok2, email), CORE_E_USED_UP);
    ASSERT_EQ(core_invites_create(f.st, f.gid, f.owner, NULL, 3, TC_NOW, &id, tok), 0);
    ASSERT_EQ(core_invites_revoke(f.st, f.owner, id, TC_NOW), 0);
    ASSERT_EQ(core_invites_resend(f.st, f.owner, id, TC_NOW, tok2, email), CORE_E_REVOKED);
    ASSERT_EQ(core_invites_resend(f.st, f.owner, 999, TC_NOW, tok2, email), -ENOENT);
    ASSERT_EQ(tc_int(f.st, "SELECT count(*) FROM group_events WHERE type = 'invite_resend'"), 1);
    ASSERT_EQ(tc_int(f.st, "SELECT count(*) FROM group_events WHERE type = 'invite_revoke'"), 1);
    store_close(f.st);
}

static int inv_count(void *arg, const struct core_invite *inv)
{
    (void)inv;
    ++*(int *)arg;
    return 0;
}

TEST(core_invites_list_and_purge)
{
    struct fixture f = setup(0);
    int64_t id;
    char tok[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_invites_create(f.st, f.gid, f.owner, NULL, 3, TC_NOW, &id, tok), 0);
    ASSERT_EQ(core_invites_create(f.st, f.gid, f.owner, "x@example.org", 1, TC_NOW + 100, &id,
                                  tok), 0);
    int n = 0;
    ASSERT_EQ(core_invites_list(f.st, f.gid, f.member, inv_count, &n), CORE_E_NOT_OWNER);
    ASSERT_EQ(core_invites_list(f.st, f.gid, f.owner, inv_count, &n), 0);
    ASSERT_EQ(n, 2);
    /* Rows go when they expire: by the purge, or at the first look. */
    int64_t t = TC_NOW + CORE_INVITE_TTL;
    ASSERT_EQ(core_maint_purge(f.st, t - 1), 0);
    ASSERT_EQ(core_maint_purge(f.st, t), 1);
    ASSERT_EQ(core_invites_lookup(f.st, tok, t + 100, &(struct core_invite){ 0 }),
              CORE_E_EXPIRED);
    ASSERT_EQ(core_invites_lookup(f.st, tok, t + 100, &(struct core_invite){ 0 }), -ENOENT);
    ASSERT_EQ(core_maint_purge(f.st, t + 100), 0);
    /* The loop's checkpoint takes the old bytes out of both files. */
    ASSERT_EQ(store_checkpoint_if_dirty(f.st), 1);
    ASSERT(!tc_file_contains(tc_path("t.db"), "x@example.org"));
    ASSERT(!tc_file_contains(tc_path("t.db-wal"), "x@example.org"));
    n = 0;
    ASSERT_EQ(core_invites_list(f.st, f.gid, CORE_ACTOR_ADMIN, inv_count, &n), 0);
    ASSERT_EQ(n, 0);
    store_close(f.st);
}

/* ------------------------------------------------------------------ races */

struct racer {
    const char *db;
    const char *token;
    int64_t uid;
    pthread_barrier_t *go;
    int rc;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct store *st = tc_open_at(r->db); /* its own connection to the same file */
    int64_t gid;
    pthread_barrier_wait(r->go);
    r->rc = core_invites_redeem(st, r->token, r->uid, TC_NOW, &gid);
    store_close(st);
    return NULL;
}

static void run_race(struct racer *r, int n)
{
    pthread_t th[8];
    pthread_barrier_t go;
    ASSERT(n <= 8);
    pthread_barrier_init(&go, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        r[i].go = &go;
        ASSERT_EQ(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
}

/* One seat left, several redemptions at once: exactly one wins. */
TEST(core_invites_race_for_the_last_seat)
{
    for (int round = 0; round < 5; round++) {
        char name[32];
        snprintf(name, sizeof name, "r%d.db", round);
        struct store *st = tc_open_at(name);
        int64_t owner = tc_user(st, "owner@example.org", "ownerr");
        int64_t gid, id;
        char slug[CORE_SLUG_SIZE], tok[CORE_TOKEN_SIZE];
        ASSERT_EQ(core_groups_create(st, owner, "Tight", 2, TC_NOW, &gid, slug), 0);
        ASSERT_EQ(core_invites_create(st, gid, owner, NULL, 10, TC_NOW, &id, tok), 0);
        struct racer r[4];
        const char *nick[] = { "racerone", "racertwo", "racerthree", "racerfour" };
        for (int i = 0; i < 4; i++) {
            char email[64];
            snprintf(email, sizeof email, "racer%d@example.org", i);
            r[i] = (struct racer){ name, tok, tc_user(st, email, nick[i]), NULL, 1 };
        }
        store_close(st);
        run_race(r, 4);
        int won = 0, full = 0;
        for (int i = 0; i < 4; i++) {
            if (r[i].rc == 0)
                won++;
            else if (r[i].rc == CORE_E_FULL)
                full++;
            else
                t_fail(__FILE__, __LINE__, "racer %d: %s", i, core_strerror(r[i].rc));
        }
        ASSERT_EQ(won, 1);
        ASSERT_EQ(full, 3);
        st = tc_open_at(name);
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM memberships WHERE group_id = %lld",
                 (long long)gid);
        ASSERT_EQ(tc_int(st, sql), 2);
        ASSERT_EQ(tc_int(st, "SELECT uses FROM invites"), 1);
        ASSERT_EQ(tc_int(st, "SELECT count(*) FROM group_events WHERE type = 'invite_redeem'"), 1);
        store_close(st);
    }
}

/* A single-use invite raced by two people: one joins, one is told it is used. */
TEST(core_invites_race_for_the_last_use)
{
    struct store *st = tc_open();
    int64_t owner = tc_user(st, "owner@example.org", "ownerr");
    int64_t gid, id;
    char slug[CORE_SLUG_SIZE], tok[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_groups_create(st, owner, "Roomy", 100, TC_NOW, &gid, slug), 0);
    ASSERT_EQ(core_invites_create(st, gid, owner, NULL, 1, TC_NOW, &id, tok), 0);
    struct racer r[2] = {
        { "t.db", tok, tc_user(st, "a@example.org", "racerone"), NULL, 1 },
        { "t.db", tok, tc_user(st, "b@example.org", "racertwo"), NULL, 1 },
    };
    store_close(st);
    run_race(r, 2);
    ASSERT((r[0].rc == 0 && r[1].rc == CORE_E_USED_UP) ||
           (r[1].rc == 0 && r[0].rc == CORE_E_USED_UP));
    st = tc_open();
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM memberships"), 2);
    store_close(st);
}
