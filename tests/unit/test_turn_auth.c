/*
 * test_turn_auth.c - REST credentials (known answer), long-term keys,
 * stateless nonces.
 */
#include "t.h"

#include <errno.h>

#include "turn/auth.h"

TEST(turn_rest_password_known_answer)
{
    /* pion/turn TestLtCredMech, checked with python hmac/base64. */
    char pw[64];
    ASSERT_EQ(turn_rest_password("foobar", 6, "1599491771", 10, pw, sizeof pw), 28);
    ASSERT_STR_EQ(pw, "Tpz/nKkyvX/vMSLKvL4sbtBt8Vs=");
    ASSERT_EQ(turn_rest_password("foobar", 6, "1599491771", 10, pw, 28), -ENOSPC);
}

TEST(turn_rest_expiry_forms)
{
    int64_t t;
    ASSERT_EQ(turn_rest_expiry("1599491771", 10, ':', &t), 0);
    ASSERT_EQ(t, 1599491771);
    ASSERT_EQ(turn_rest_expiry("1599491771:alice", 16, ':', &t), 0);
    ASSERT_EQ(t, 1599491771);
    ASSERT_EQ(turn_rest_expiry("alice:1599491771", 16, ':', &t), 0);
    ASSERT_EQ(t, 1599491771);
    ASSERT_EQ(turn_rest_expiry("1599491771|bob", 14, '|', &t), 0);
    ASSERT_EQ(t, 1599491771);
    ASSERT_EQ(turn_rest_expiry("alice", 5, ':', &t), -EINVAL);
    ASSERT_EQ(turn_rest_expiry("alice:bob", 9, ':', &t), -EINVAL);
    ASSERT_EQ(turn_rest_expiry("", 0, ':', &t), -EINVAL);
    ASSERT_EQ(turn_rest_expiry("12a", 3, ':', &t), -EINVAL);
}

static void unhex(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = h[2 * i + j];
            v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        out[i] = (uint8_t)v;
    }
}

TEST(turn_ltc_key_known_answer)
{
    uint8_t key[16], want[16];
    turn_ltc_key("user", 4, "realm", "pass", 4, key);
    unhex("8493fbc53ba582fb4c044c456bdc40eb", want, 16);
    ASSERT_MEM_EQ(key, want, 16);
}

TEST(turn_nonce_stateless)
{
    uint8_t secret[TURN_NONCE_SECRET_LEN] = { 1, 2, 3 };
    uint8_t other[TURN_NONCE_SECRET_LEN] = { 9 };
    const uint8_t ip[4] = { 192, 0, 2, 1 }, ip2[4] = { 192, 0, 2, 2 };
    char n[TURN_NONCE_LEN];
    turn_nonce_make(secret, 1000000, ip, 4, n);
    ASSERT_EQ(turn_nonce_check(secret, 1000000, 600, ip, 4, n, sizeof n), 0);
    ASSERT_EQ(turn_nonce_check(secret, 1000600, 600, ip, 4, n, sizeof n), 0);
    ASSERT_EQ(turn_nonce_check(secret, 1000601, 600, ip, 4, n, sizeof n), -ESTALE);
    ASSERT_EQ(turn_nonce_check(secret, 9000000, 0, ip, 4, n, sizeof n), 0);
    ASSERT_EQ(turn_nonce_check(secret, 1000000, 600, ip2, 4, n, sizeof n), -EINVAL);
    ASSERT_EQ(turn_nonce_check(other, 1000000, 600, ip, 4, n, sizeof n), -EINVAL);
    ASSERT_EQ(turn_nonce_check(secret, 1000000, 600, ip, 4, n, sizeof n - 1), -EINVAL);
    n[20] ^= 1;
    ASSERT_EQ(turn_nonce_check(secret, 1000000, 600, ip, 4, n, sizeof n), -EINVAL);
    char junk[TURN_NONCE_LEN];
    memset(junk, 'z', sizeof junk);
    ASSERT_EQ(turn_nonce_check(secret, 1000000, 600, ip, 4, junk, sizeof junk), -EINVAL);
}

TEST(turn_rest_check_expiry_and_max_ttl)
{
    const int64_t now = 1800000000;
    /* Without max-rest-ttl: anything not in the past, even the audit's 18-digit expiry. */
    ASSERT_EQ(turn_rest_check(now, now, 0), 0);
    ASSERT_EQ(turn_rest_check(now - 1, now, 0), -EKEYEXPIRED);
    ASSERT_EQ(turn_rest_check(999999999999999999LL, now, 0), 0);
    /* With max-rest-ttl=86400: the bound itself passes, one second more does not. */
    ASSERT_EQ(turn_rest_check(now + 86400, now, 86400), 0);
    ASSERT_EQ(turn_rest_check(now + 86401, now, 86400), -ERANGE);
    ASSERT_EQ(turn_rest_check(999999999999999999LL, now, 86400), -ERANGE);
    ASSERT_EQ(turn_rest_check(now - 1, now, 86400), -EKEYEXPIRED);
    /* The largest expiry turn_rest_expiry() can return does not overflow. */
    int64_t t;
    ASSERT_EQ(turn_rest_expiry("999999999999999999:x", 20, ':', &t), 0);
    ASSERT_EQ(turn_rest_check(t, 0, 1), -ERANGE);
}
