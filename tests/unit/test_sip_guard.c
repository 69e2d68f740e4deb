/*
 * test_sip_guard.c - failure counting: slowed, then refused, forgotten
 * later; the real phone elsewhere keeps working.
 */
#include "t.h"

#include "sip/guard.h"

static const uint8_t key[16] = { 9 };
static const struct sip_guard_cfg cfg = { 3, 6, 5, 10, 300, 600, 256 };
static const uint8_t bad[4] = { 198, 51, 100, 7 }, good[4] = { 203, 0, 113, 5 };

TEST(sip_guard_address_slowed_then_refused)
{
    struct sip_guard *g = sip_guard_new(key, &cfg);
    uint32_t ra;
    ASSERT(g);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(sip_guard_check(g, bad, 4, "u1", 2, 100, &ra), SIP_GUARD_OK);
        sip_guard_fail(g, bad, 4, "u1", 2, 100);
    }
    sip_guard_fail(g, bad, 4, "u2", 2, 100);
    ASSERT_EQ(sip_guard_check(g, bad, 4, "u3", 2, 100, &ra), SIP_GUARD_SLOW);
    for (int i = 0; i < 3; i++)
        sip_guard_fail(g, bad, 4, "u3", 2, 101);
    ASSERT_EQ(sip_guard_check(g, bad, 4, "anyone", 6, 102, &ra), SIP_GUARD_REFUSE);
    ASSERT_EQ(ra, 299);
    /* Another address is untouched. */
    ASSERT_EQ(sip_guard_check(g, good, 4, "u1", 2, 102, &ra), SIP_GUARD_OK);
    /* After the refusal and the forgetting time, all is clear. */
    ASSERT_EQ(sip_guard_check(g, bad, 4, "u1", 2, 101 + 300, &ra), SIP_GUARD_SLOW);
    ASSERT_EQ(sip_guard_check(g, bad, 4, "u1", 2, 101 + 601, &ra), SIP_GUARD_OK);
    sip_guard_free(g);
}

TEST(sip_guard_username_lock_spares_the_real_phone)
{
    struct sip_guard *g = sip_guard_new(key, &cfg);
    uint32_t ra;
    /* A distributed guesser: two failures from each of many addresses. */
    uint8_t ip[4] = { 10, 0, 0, 0 };
    for (int i = 0; i < 8; i++) {
        ip[3] = (uint8_t)i;
        sip_guard_fail(g, ip, 4, "victim", 6, 200);
        sip_guard_fail(g, ip, 4, "victim", 6, 200);
    }
    ip[3] = 1;
    ASSERT_EQ(sip_guard_check(g, ip, 4, "victim", 6, 201, &ra), SIP_GUARD_REFUSE);
    /* The phone itself never failed: it goes through. */
    ASSERT_EQ(sip_guard_check(g, good, 4, "victim", 6, 201, &ra), SIP_GUARD_OK);
    sip_guard_free(g);
}

TEST(sip_guard_bounded)
{
    struct sip_guard *g = sip_guard_new(key, &cfg);
    size_t before = sip_guard_bytes(g);
    uint8_t ip[4] = { 0 };
    for (uint32_t i = 0; i < 100000; i++) {
        memcpy(ip, &i, 4);
        sip_guard_fail(g, ip, 4, "x", 1, 5);
    }
    ASSERT_EQ(sip_guard_bytes(g), before);
    struct sip_guard_cfg badcfg = cfg;
    badcfg.addr_refuse = 1;
    ASSERT(sip_guard_new(key, &badcfg) == NULL);
    sip_guard_free(g);
}
