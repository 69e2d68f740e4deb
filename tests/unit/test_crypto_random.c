/*
 * test_crypto_random.c - getentropy() wrapper, tokens and base64url.
 */
#include "t.h"

#include "crypto/random.h"

#include <errno.h>
#include <string.h>

TEST(crypto_random_bytes_fill)
{
    uint8_t a[1000], b[1000];
    int hist[256] = { 0 };

    ASSERT_EQ(crypto_random_bytes(NULL, 0), 0);
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    /* more than one 256-byte getentropy() chunk, and an odd size */
    ASSERT_EQ(crypto_random_bytes(a, sizeof a), 0);
    ASSERT_EQ(crypto_random_bytes(b, 257), 0);
    ASSERT(memcmp(a, b, 257) != 0);
    /* the tail past the first chunk was written too (2^-..-tiny chance of zero run) */
    int nonzero = 0;
    for (size_t i = 744; i < sizeof a; i++)
        nonzero |= a[i];
    ASSERT(nonzero != 0);
    for (size_t i = 0; i < sizeof a; i++)
        hist[a[i]]++;
    for (int v = 0; v < 256; v++)
        ASSERT(hist[v] < 30); /* expectation ~3.9; 30 would be absurd */
    for (size_t i = 257; i < sizeof b; i++)
        ASSERT_EQ(b[i], 0); /* nothing past len */
}

static int is_url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

TEST(crypto_random_token_format)
{
    char t[200], u[200];

    for (size_t n = 0; n <= 100; n++) {
        size_t len = CRYPTO_TOKEN_LEN(n);
        ASSERT_EQ(len, (n * 4 + 2) / 3); /* ceil(4n/3) */
        memset(t, '!', sizeof t);
        ASSERT_EQ(crypto_random_token(t, len + 1, n), 0);
        ASSERT_EQ(strlen(t), len);
        for (size_t i = 0; i < len; i++)
            ASSERT(is_url_char(t[i]));
        memset(t, '!', sizeof t);
        ASSERT_EQ(crypto_random_token(t, len, n), -ENOSPC);
        if (len > 0)
            ASSERT_EQ(t[0], '\0');
    }
    ASSERT_EQ(CRYPTO_TOKEN_LEN(32), 43);
    ASSERT_EQ(crypto_random_token(t, sizeof t, 32), 0);
    ASSERT_EQ(crypto_random_token(u, sizeof u, 32), 0);
    ASSERT(strcmp(t, u) != 0);
    ASSERT_EQ(crypto_random_token(t, 0, 0), -ENOSPC);
    ASSERT_EQ(crypto_random_token(t, 1, 0), 0);
    ASSERT_STR_EQ(t, "");
    /* SIZE_MAX bytes never fit */
    ASSERT_EQ(crypto_random_token(t, sizeof t, (size_t)-1), -ENOSPC);
}

TEST(crypto_base64url_vectors)
{
    /* RFC 4648 section 10 vectors (no padding in the url form) and the
     * two characters that differ from standard base64. */
    static const char *const v[][2] = {
        { "", "" },           { "f", "Zg" },         { "fo", "Zm8" },
        { "foo", "Zm9v" },    { "foob", "Zm9vYg" },  { "fooba", "Zm9vYmE" },
        { "foobar", "Zm9vYmFy" },
        { "\xfb\xff", "-_8" },
        { "\xff\xff\xff", "____" },
        { "\xfb\xef\xbe", "----" },
    };
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char out[16];

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t n = strlen(v[i][0]);
        ASSERT_EQ(crypto_base64url_encode(v[i][0], n, out, sizeof out), (int)strlen(v[i][1]));
        ASSERT_STR_EQ(out, v[i][1]);
        ASSERT_EQ(crypto_base64url_encode(v[i][0], n, out, strlen(v[i][1])), -ENOSPC);
    }
    for (unsigned x = 0; x < 64; x++) {
        uint8_t grp[3] = { (uint8_t)(x << 2 | x >> 4), (uint8_t)(x << 4 | x >> 2),
                           (uint8_t)(x << 6 | x) };
        char want[5] = { alphabet[x], alphabet[x], alphabet[x], alphabet[x], 0 };
        ASSERT_EQ(crypto_base64url_encode(grp, 3, out, sizeof out), 4);
        ASSERT_STR_EQ(out, want);
    }
}
