/*
 * test_core_sessions.c - portal sessions, SIP credentials, provisioning.
 */
#include "test_core_util.h"

#include <errno.h>

#include "core/maint.h"
#include "core/resolve.h"
#include "core/sessions.h"
#include "core/sipcred.h"
#include "crypto/hash.h"

TEST(core_sessions_lifecycle)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "a@example.org", "marina"), who;
    char sid[CORE_TOKEN_SIZE], csrf[CORE_TOKEN_SIZE], got[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_sessions_create(st, 999, TC_NOW, sid, csrf), -ENOENT);
    ASSERT_EQ(core_sessions_create(st, uid, TC_NOW, sid, csrf), 0);
    ASSERT_EQ(strlen(sid), 43);
    ASSERT_EQ(strlen(csrf), 43);
    ASSERT(strcmp(sid, csrf) != 0);
    ASSERT_EQ(core_sessions_lookup(st, sid, TC_NOW + 5, &who, got), 0);
    ASSERT_EQ(who, uid);
    ASSERT_STR_EQ(got, csrf);
    ASSERT_EQ(core_sessions_lookup(st, "nope", TC_NOW, &who, got), -ENOENT);
    ASSERT_EQ(core_sessions_lookup(st, NULL, TC_NOW, &who, got), -ENOENT);
    ASSERT_EQ(who, 0);
    /* Only the hash of the id is stored; last activity is a whole day. */
    ASSERT(!tc_file_contains(tc_path("t.db-wal"), sid));
    ASSERT_EQ(tc_int(st, "SELECT last_active % 86400 FROM sessions"), 0);
    ASSERT_EQ(tc_int(st, "SELECT last_active FROM sessions"), TC_NOW - TC_NOW % 86400);
    /* A fresh id at every login. */
    char sid2[CORE_TOKEN_SIZE], csrf2[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_sessions_create(st, uid, TC_NOW, sid2, csrf2), 0);
    ASSERT(strcmp(sid, sid2) != 0);
    /* End. */
    ASSERT_EQ(core_sessions_end(st, sid), 0);
    ASSERT_EQ(core_sessions_end(st, sid), -ENOENT);
    ASSERT_EQ(core_sessions_lookup(st, sid, TC_NOW, &who, got), -ENOENT);
    ASSERT_EQ(core_sessions_lookup(st, sid2, TC_NOW, &who, NULL), 0);
    store_close(st);
}

TEST(core_sessions_expire_after_30_idle_days)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "a@example.org", "marina"), who;
    char sid[CORE_TOKEN_SIZE], csrf[CORE_TOKEN_SIZE], other[CORE_TOKEN_SIZE];
    int64_t day0 = TC_NOW - TC_NOW % CORE_DAY;
    ASSERT_EQ(core_sessions_create(st, uid, day0 + 10, sid, csrf), 0);
    ASSERT_EQ(core_sessions_create(st, uid, day0 + 10, other, csrf), 0);
    /* Used on day 20: touched (day granularity), so the idle clock restarts. */
    ASSERT_EQ(core_sessions_lookup(st, sid, day0 + 20 * CORE_DAY + 500, &who, NULL), 0);
    ASSERT_EQ(tc_int(st, "SELECT max(last_active) FROM sessions"), day0 + 20 * CORE_DAY);
    /* The other was not used: 30 full days after its day, it is gone. */
    ASSERT_EQ(core_sessions_lookup(st, other, day0 + 31 * CORE_DAY - 1, &who, NULL), 0);
    ASSERT_EQ(core_sessions_lookup(st, other, day0 + 62 * CORE_DAY, &who, NULL),
              CORE_E_EXPIRED);
    ASSERT_EQ(core_sessions_lookup(st, other, day0 + 62 * CORE_DAY, &who, NULL), -ENOENT);
    ASSERT_EQ(core_sessions_lookup(st, sid, day0 + 51 * CORE_DAY - 1, &who, NULL), 0);
    ASSERT_EQ(core_sessions_expire(st, day0 + 81 * CORE_DAY - 1), 0);
    ASSERT_EQ(core_sessions_expire(st, day0 + 81 * CORE_DAY), 1);
    ASSERT_EQ(core_sessions_lookup(st, sid, day0 + 82 * CORE_DAY, &who, NULL), -ENOENT);
    store_close(st);
}

TEST(core_sessions_rotate_and_end_all)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "a@example.org", "marina"), who;
    int64_t other = tc_user(st, "b@example.org", "bobbybob");
    char s1[CORE_TOKEN_SIZE], c1[CORE_TOKEN_SIZE], s2[CORE_TOKEN_SIZE], c2[CORE_TOKEN_SIZE],
        s3[CORE_TOKEN_SIZE], c3[CORE_TOKEN_SIZE], so[CORE_TOKEN_SIZE], got[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_sessions_create(st, uid, TC_NOW, s1, c1), 0);
    ASSERT_EQ(core_sessions_create(st, other, TC_NOW, so, c3), 0);
    ASSERT_EQ(core_sessions_rotate(st, s1, TC_NOW, s2, c2), 0);
    ASSERT(strcmp(s1, s2) != 0 && strcmp(c1, c2) != 0);
    ASSERT_EQ(core_sessions_lookup(st, s1, TC_NOW, &who, got), -ENOENT);
    ASSERT_EQ(core_sessions_lookup(st, s2, TC_NOW, &who, got), 0);
    ASSERT_EQ(who, uid);
    ASSERT_STR_EQ(got, c2);
    ASSERT_EQ(core_sessions_rotate(st, s1, TC_NOW, s3, c3), -ENOENT);
    ASSERT_EQ(core_sessions_rotate(st, s2, TC_NOW + 40 * CORE_DAY, s3, c3), CORE_E_EXPIRED);
    ASSERT_EQ(core_sessions_lookup(st, s2, TC_NOW, &who, got), -ENOENT);
    /* End all but one. */
    ASSERT_EQ(core_sessions_create(st, uid, TC_NOW, s1, c1), 0);
    ASSERT_EQ(core_sessions_create(st, uid, TC_NOW, s2, c2), 0);
    ASSERT_EQ(core_sessions_create(st, uid, TC_NOW, s3, c3), 0);
    ASSERT_EQ(core_sessions_end_all(st, uid, s2), 2);
    ASSERT_EQ(core_sessions_lookup(st, s2, TC_NOW, &who, NULL), 0);
    ASSERT_EQ(core_sessions_end_all(st, uid, NULL), 1);
    ASSERT_EQ(core_sessions_lookup(st, so, TC_NOW, &who, NULL), 0); /* others untouched */
    ASSERT_EQ(who, other);
    store_close(st);
}

/* ------------------------------------------------------ SIP credentials */

TEST(core_sipcred_made_with_the_account)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "a@example.org", "marina");
    char user[CORE_SIP_USER_SIZE], pass[CORE_SIP_PASS_SIZE], u2[CORE_SIP_USER_SIZE];
    ASSERT_EQ(core_sipcred_reveal(st, &tc_cfg, uid, user, pass), 0);
    ASSERT_EQ(strlen(user), CORE_SIP_USER_LEN);
    ASSERT_EQ(strspn(user, "abcdefghijklmnopqrstuvwxyz234567"), CORE_SIP_USER_LEN);
    ASSERT_EQ(strlen(pass), 24);
    ASSERT_EQ(core_sipcred_username(st, uid, u2), 0);
    ASSERT_STR_EQ(u2, user);
    /* HA1 = MD5(username:realm:password), served to the registrar/TURN
     * once the start-up step installed the key. */
    uint8_t want[16], got[16];
    int changed = -1;
    crypto_ha1(user, tc_cfg.realm, pass, strlen(pass), want);
    ASSERT_EQ(core_sip_lookup_ha1(st, user, got), -ENOENT);
    ASSERT_EQ(core_sipcred_rehash(st, &tc_cfg, &changed), 0);
    ASSERT_EQ(changed, 0);
    ASSERT_EQ(core_sip_lookup_ha1(st, user, got), 0);
    ASSERT_MEM_EQ(got, want, 16);
    ASSERT_EQ(core_sip_lookup_ha1(st, "nosuchuser", got), -ENOENT);
    ASSERT_EQ(core_sip_lookup_ha1(st, "Bad User!", got), -ENOENT);
    ASSERT_EQ(core_sip_lookup_ha1(st, NULL, got), -ENOENT);
    int64_t who;
    ASSERT_EQ(core_resolve_caller(st, user, &who), 0);
    ASSERT_EQ(who, uid);
    /* The plaintext is nowhere in the files. */
    ASSERT_EQ(store_checkpoint(st), 0);
    ASSERT(!tc_file_contains(tc_path("t.db"), pass));
    ASSERT(tc_file_contains(tc_path("t.db"), user));
    /* Two accounts never share credentials. */
    int64_t other = tc_user(st, "b@example.org", "bobbybob");
    ASSERT_EQ(core_sipcred_username(st, other, u2), 0);
    ASSERT(strcmp(u2, user) != 0);
    ASSERT_EQ(core_sipcred_username(st, 999, u2), -ENOENT);
    store_close(st);
}

TEST(core_sipcred_wrong_key_is_an_error)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "a@example.org", "marina");
    uint8_t other_key[32];
    memcpy(other_key, tc_key, 32);
    other_key[0] ^= 1;
    struct core_cfg bad = { tc_cfg.realm, other_key, 4 };
    char user[CORE_SIP_USER_SIZE], pass[CORE_SIP_PASS_SIZE];
    ASSERT_EQ(core_sipcred_reveal(st, &bad, uid, user, pass), -EBADMSG);
    ASSERT_STR_EQ(user, "");
    ASSERT_STR_EQ(pass, "");
    struct core_cfg none = { tc_cfg.realm, NULL, 4 };
    ASSERT_EQ(core_sipcred_reveal(st, &none, uid, user, pass), -EINVAL);
    int changed = -1;
    bad.realm = "elsewhere";
    ASSERT_EQ(core_sipcred_rehash(st, &bad, &changed), -EBADMSG);
    ASSERT_EQ(changed, 0);
    ASSERT_EQ(core_sipcred_reveal(st, &tc_cfg, 999, user, pass), -ENOENT);
    store_close(st);
}

TEST(core_sipcred_regenerate_and_rehash)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "a@example.org", "marina");
    tc_user(st, "b@example.org", "bobbybob");
    char u1[CORE_SIP_USER_SIZE], p1[CORE_SIP_PASS_SIZE], u2[CORE_SIP_USER_SIZE],
        p2[CORE_SIP_PASS_SIZE];
    uint8_t ha1[16], want[16];
    ASSERT_EQ(core_sipcred_reveal(st, &tc_cfg, uid, u1, p1), 0);
    ASSERT_EQ(core_sipcred_regenerate(st, &tc_cfg, uid), 0);
    ASSERT_EQ(core_sipcred_regenerate(st, &tc_cfg, 999), -ENOENT);
    ASSERT_EQ(core_sipcred_reveal(st, &tc_cfg, uid, u2, p2), 0);
    ASSERT(strcmp(u1, u2) != 0 && strcmp(p1, p2) != 0);
    int changed = -1;
    ASSERT_EQ(core_sipcred_rehash(st, &tc_cfg, &changed), 0);
    ASSERT_EQ(core_sip_lookup_ha1(st, u1, ha1), -ENOENT);
    ASSERT_EQ(core_sip_lookup_ha1(st, u2, ha1), 0);
    /* A new realm: every HA1 is recomputed from the sealed passwords. */
    ASSERT_EQ(core_sipcred_rehash(st, &tc_cfg, &changed), 0);
    ASSERT_EQ(changed, 0);
    struct core_cfg moved = tc_cfg;
    moved.realm = "calls.example.org";
    ASSERT_EQ(core_sipcred_rehash(st, &moved, &changed), 0);
    ASSERT_EQ(changed, 2);
    crypto_ha1(u2, "calls.example.org", p2, strlen(p2), want);
    ASSERT_EQ(core_sip_lookup_ha1(st, u2, ha1), 0);
    ASSERT_MEM_EQ(ha1, want, 16);
    ASSERT_EQ(core_sipcred_rehash(st, &moved, &changed), 0);
    ASSERT_EQ(changed, 0);
    store_close(st);
}

TEST(core_sipcred_provisioning_tokens)
{
    struct store *st = tc_open();
    int64_t uid = tc_user(st, "a@example.org", "marina"), who;
    char tok[CORE_TOKEN_SIZE], tok2[CORE_TOKEN_SIZE], user[CORE_SIP_USER_SIZE],
        pass[CORE_SIP_PASS_SIZE], u0[CORE_SIP_USER_SIZE], p0[CORE_SIP_PASS_SIZE];
    ASSERT_EQ(core_sipcred_provision_token(st, 999, TC_NOW, tok), -ENOENT);
    ASSERT_EQ(core_sipcred_provision_token(st, uid, TC_NOW, tok), 0);
    ASSERT_EQ(core_sipcred_provision_token(st, uid, TC_NOW, tok2), 0);
    ASSERT(!tc_file_contains(tc_path("t.db-wal"), tok));
    ASSERT_EQ(core_sipcred_provision_redeem(st, &tc_cfg, "bogus", TC_NOW, &who, user, pass),
              -ENOENT);
    ASSERT_EQ(core_sipcred_provision_redeem(st, &tc_cfg, tok, TC_NOW + 10, &who, user, pass),
              0);
    ASSERT_EQ(who, uid);
    ASSERT_EQ(core_sipcred_reveal(st, &tc_cfg, uid, u0, p0), 0);
    ASSERT_STR_EQ(user, u0);
    ASSERT_STR_EQ(pass, p0);
    /* One use. */
    ASSERT_EQ(core_sipcred_provision_redeem(st, &tc_cfg, tok, TC_NOW + 10, &who, user, pass),
              -ENOENT);
    /* Short expiry; an expired token is used up too. */
    ASSERT_EQ(core_sipcred_provision_redeem(st, &tc_cfg, tok2, TC_NOW + CORE_PROVISION_TTL,
                                            &who, user, pass), CORE_E_EXPIRED);
    ASSERT_STR_EQ(pass, "");
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM provision_tokens"), 0);
    /* Expired ones are purged. */
    ASSERT_EQ(core_sipcred_provision_token(st, uid, TC_NOW, tok), 0);
    ASSERT_EQ(core_maint_purge(st, TC_NOW + CORE_PROVISION_TTL - 1), 0);
    ASSERT_EQ(core_maint_purge(st, TC_NOW + CORE_PROVISION_TTL), 1);
    store_close(st);
}

/* Housekeeping keeps the retention the privacy page promises. */
TEST(core_maint_purge_retention)
{
    struct store *st = tc_open();
    int64_t uid, who;
    char vtok[CORE_TOKEN_SIZE], rtok[CORE_TOKEN_SIZE], sid[CORE_TOKEN_SIZE],
        csrf[CORE_TOKEN_SIZE];
    ASSERT_EQ(core_accounts_signup(st, &tc_cfg, "a@example.org", "marina", TC_PW,
                                   strlen(TC_PW), 0, TC_NOW, &uid, vtok), 0);
    ASSERT_EQ(core_accounts_request_reset(st, "a@example.org", TC_NOW, &who, rtok), 0);
    ASSERT_EQ(core_sessions_create(st, uid, TC_NOW, sid, csrf), 0);
    ASSERT_EQ(core_maint_purge(st, TC_NOW), 0);
    ASSERT_EQ(core_maint_purge(st, TC_NOW + CORE_RESET_TTL), 1); /* the reset token */
    /* The expired verification token stays through the grace: the account
     * is unverified, and says when it goes. */
    int64_t end = TC_NOW + CORE_VERIFY_TTL + CORE_UNVERIFIED_GRACE;
    ASSERT_EQ(core_maint_purge(st, end - 1), 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM email_tokens WHERE purpose = 'verify'"), 1);
    struct core_user u;
    ASSERT_EQ(core_accounts_get(st, uid, &u), 0);
    ASSERT_EQ(u.verified, 0);
    ASSERT_EQ(u.unverified_until, end);
    /* Then the never-verified account goes, with its session. */
    ASSERT_EQ(core_maint_purge(st, end), 1);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM users"), 0);
    ASSERT_EQ(tc_int(st, "SELECT count(*) FROM sessions"), 0);
    ASSERT(!tc_file_contains(tc_path("t.db"), "a@example.org"));
    ASSERT(!tc_file_contains(tc_path("t.db-wal"), "a@example.org"));
    store_close(st);
}
