/*
 * test_crypto_bcrypt.c - bcrypt against the public known-answer vectors in
 * tests/vectors/bcrypt (parsed at run time), plus the API's edge cases.
 */
#include "t.h"

#include "crypto/bcrypt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct bvec {
    uint8_t pw[512];
    size_t pwlen;
    char hash[128];
    const char *file;
    int line;
};

/* Parses `"<C literal>"<TAB><hash>`; the literal uses only \\, \" and \ooo.
 * Returns 1 for a vector, 0 for a comment or blank line. */
static int parse_line(char *s, struct bvec *v)
{
    size_t n = strcspn(s, "\r\n");
    size_t i = 1, hl;

    s[n] = '\0';
    if (n == 0 || s[0] == '#')
        return 0;
    if (s[0] != '"')
        t_fail(v->file, v->line, "line does not start with a quote: %s", s);
    v->pwlen = 0;
    for (;;) {
        unsigned c = (unsigned char)s[i];
        if (c == '\0')
            t_fail(v->file, v->line, "unterminated password literal");
        if (c == '"') {
            i++;
            break;
        }
        if (c == '\\') {
            c = (unsigned char)s[i + 1];
            if (c == '\\' || c == '"') {
                i += 2;
            } else if (c >= '0' && c <= '7' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
                       s[i + 3] >= '0' && s[i + 3] <= '7') {
                c = (unsigned)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
                i += 4;
            } else {
                t_fail(v->file, v->line, "bad escape in password literal");
            }
        } else {
            i++;
        }
        if (v->pwlen == sizeof v->pw)
            t_fail(v->file, v->line, "password too long for the test buffer");
        v->pw[v->pwlen++] = (uint8_t)c;
    }
    if (s[i] != '\t')
        t_fail(v->file, v->line, "no TAB after the password literal");
    hl = strlen(s + i + 1);
    if (hl == 0 || hl >= sizeof v->hash)
        t_fail(v->file, v->line, "bad hash field");
    memcpy(v->hash, s + i + 1, hl + 1);
    return 1;
}

typedef void (*bvec_fn)(const struct bvec *v);

/* Runs fn on every vector of a testdata file whose hash starts with prefix
 * (NULL: all). Returns the number of vectors run. */
static int for_each_vector(const char *rel, const char *prefix, bvec_fn fn)
{
    char line[4096];
    struct bvec v;
    int count = 0;
    FILE *f = fopen(t_testdata(rel), "r");

    if (!f)
        t_fail(__FILE__, __LINE__, "cannot open %s", t_testdata(rel));
    v.file = rel;
    v.line = 0;
    while (fgets(line, sizeof line, f)) {
        v.line++;
        if (!parse_line(line, &v))
            continue;
        if (prefix && strncmp(v.hash, prefix, strlen(prefix)) != 0)
            continue;
        fn(&v);
        count++;
    }
    fclose(f);
    return count;
}

#define VCHECK(v, cond)                                                            \
    do {                                                                           \
        if (!(cond))                                                               \
            t_fail((v)->file, (v)->line, "%s (hash %s)", #cond, (v)->hash);        \
    } while (0)

/* The full check: hash with the full hash and with its 29-char setting,
 * verify, and reject a different password. */
static void check_vector(const struct bvec *v)
{
    char out[BCRYPT_HASH_SIZE], setting[BCRYPT_SETTING_LEN + 1];
    uint8_t other[sizeof v->pw];
    size_t olen = v->pwlen;

    VCHECK(v, strlen(v->hash) == BCRYPT_HASH_SIZE - 1);
    VCHECK(v, bcrypt_hash_setting(v->pw, v->pwlen, v->hash, out) == 0);
    if (strcmp(out, v->hash) != 0)
        t_fail(v->file, v->line, "got %s, want %s", out, v->hash);
    memcpy(setting, v->hash, BCRYPT_SETTING_LEN);
    setting[BCRYPT_SETTING_LEN] = '\0';
    VCHECK(v, bcrypt_hash_setting(v->pw, v->pwlen, setting, out) == 0);
    VCHECK(v, strcmp(out, v->hash) == 0);
    VCHECK(v, bcrypt_verify(v->pw, v->pwlen, v->hash) == 0);

    /* A different password: change the first byte (which sign extension in
     * $2x$ mode can swallow, so there append a byte instead if short). */
    memcpy(other, v->pw, v->pwlen);
    if (v->hash[2] == 'x' || olen == 0) {
        if (olen >= 72)
            return;
        other[olen++] = 'Q';
    } else {
        other[0] ^= 0x01;
    }
    VCHECK(v, bcrypt_verify(other, olen, v->hash) == -EACCES);
}

/* Only the primary check, for the expensive vectors. */
static void check_vector_once(const struct bvec *v)
{
    char out[BCRYPT_HASH_SIZE];

    VCHECK(v, bcrypt_hash_setting(v->pw, v->pwlen, v->hash, out) == 0);
    if (strcmp(out, v->hash) != 0)
        t_fail(v->file, v->line, "got %s, want %s", out, v->hash);
}

static int cost_of(const struct bvec *v)
{
    return (v->hash[4] - '0') * 10 + (v->hash[5] - '0');
}

static void check_cheap(const struct bvec *v)
{
    if (cost_of(v) < 10)
        check_vector(v);
}

static void check_cost10(const struct bvec *v)
{
    if (cost_of(v) == 10 || cost_of(v) == 11) {
        check_vector_once(v);
        VCHECK(v, bcrypt_verify(v->pw, v->pwlen, v->hash) == 0);
    }
}

static void check_cost12plus(const struct bvec *v)
{
    if (cost_of(v) >= 12)
        check_vector_once(v);
}

TEST(crypto_bcrypt_vectors)
{
    /* 59 vectors in all; costs >= 10 are split out to stay fast. */
    ASSERT_EQ(for_each_vector("bcrypt/vectors.tsv", NULL, check_cheap), 59);
}

TEST(crypto_bcrypt_vectors_cost10)
{
    ASSERT_EQ(for_each_vector("bcrypt/vectors.tsv", "$2a$10$", check_cost10), 5);
}

TEST(crypto_bcrypt_vectors_cost12)
{
    ASSERT_EQ(for_each_vector("bcrypt/vectors.tsv", "$2a$12$", check_cost12plus), 5);
}

TEST(crypto_bcrypt_vectors_crypt_blowfish_quirks)
{
    /* $2x$ bug compatibility and the $2a$ countermeasure, incl. $2x$ collisions */
    ASSERT_EQ(for_each_vector("bcrypt/vectors-crypt_blowfish-quirks.tsv", NULL, check_vector),
              10);
}

TEST(crypto_bcrypt_vectors_nul_bytes)
{
    ASSERT_EQ(for_each_vector("bcrypt/vectors-nul-bytes.tsv", NULL, check_vector), 2);
}

TEST(crypto_bcrypt_ka_2b)
{
    ASSERT_EQ(for_each_vector("bcrypt/vectors-libxcrypt-ka.tsv", "$2b$", check_vector), 368);
}

TEST(crypto_bcrypt_ka_2y)
{
    ASSERT_EQ(for_each_vector("bcrypt/vectors-libxcrypt-ka.tsv", "$2y$", check_vector), 368);
}

TEST(crypto_bcrypt_ka_2a)
{
    ASSERT_EQ(for_each_vector("bcrypt/vectors-libxcrypt-ka.tsv", "$2a$", check_vector), 368);
}

TEST(crypto_bcrypt_ka_2x)
{
    ASSERT_EQ(for_each_vector("bcrypt/vectors-libxcrypt-ka.tsv", "$2x$", check_vector), 368);
}

static void check_invalid(const struct bvec *v)
{
    char out[BCRYPT_HASH_SIZE];

    memset(out, 'z', sizeof out);
    VCHECK(v, bcrypt_hash_setting(v->pw, v->pwlen, v->hash, out) == -EINVAL);
    VCHECK(v, out[0] == '\0');
    VCHECK(v, bcrypt_verify(v->pw, v->pwlen, v->hash) == -EINVAL);
    VCHECK(v, bcrypt_cost(v->hash) == -EINVAL);
}

TEST(crypto_bcrypt_invalid_settings)
{
    ASSERT_EQ(for_each_vector("bcrypt/invalid-settings.tsv", NULL, check_invalid), 7);
}

TEST(crypto_bcrypt_malformed)
{
    static const char *const bad[] = {
        "",
        "$2b$04$",
        "$2b$04$abcdefghijklmnopqrstu",                  /* 21 salt chars */
        "$2b$04$abcdefghijklmnopqrstuuX",                /* 23 */
        "$2b$4$abcdefghijklmnopqrstuu.",
        "$2$04$abcdefghijklmnopqrstuu",
        "$2B$04$abcdefghijklmnopqrstuu",
        "$3b$04$abcdefghijklmnopqrstuu",
        "$2b$04$abcdefghijklmnopqrst!u",
        "$2b$04$abcdefghijklmnopqrst=u",
        "$2b$0a$abcdefghijklmnopqrstuu",
        "$2b$-4$abcdefghijklmnopqrstuu",
        "$2b$99$abcdefghijklmnopqrstuu",
        "$2b$04-abcdefghijklmnopqrstuu",
        "*1",
        /* 59 and 61 characters */
        "$2b$04$abcdefghijklmnopqrstuuCi15uRb1eH7NAlJ/TgeJertyknQpYn",
        "$2b$04$abcdefghijklmnopqrstuuCi15uRb1eH7NAlJ/TgeJertyknQpYn22",
        /* a bad character in the hash part */
        "$2b$04$abcdefghijklmnopqrstuuCi15uRb1eH7NAlJ/TgeJertyknQpY$2",
        /* trailing newline */
        "$2b$04$abcdefghijklmnopqrstuuCi15uRb1eH7NAlJ/TgeJertyknQpYn\n",
    };
    char out[BCRYPT_HASH_SIZE];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (bcrypt_hash_setting("abc", 3, bad[i], out) != -EINVAL)
            t_fail(__FILE__, __LINE__, "setting accepted: \"%s\"", bad[i]);
        ASSERT_STR_EQ(out, "");
        if (bcrypt_verify("abc", 3, bad[i]) != -EINVAL)
            t_fail(__FILE__, __LINE__, "hash accepted: \"%s\"", bad[i]);
    }
    ASSERT_EQ(bcrypt_hash_setting("abc", 3, NULL, out), -EINVAL);
    ASSERT_EQ(bcrypt_verify("abc", 3, NULL), -EINVAL);
    ASSERT_EQ(bcrypt_cost(NULL), -EINVAL);
    /* NULL password only with length 0 */
    ASSERT_EQ(bcrypt_hash_setting(NULL, 1, "$2b$04$abcdefghijklmnopqrstuu", out), -EINVAL);
    ASSERT_EQ(bcrypt_verify(NULL, 1, "$2b$04$abcdefghijklmnopqrstuubyCG3zY1GIXMyxfivm.ClDiInHzxjiq"),
              -EINVAL);
    ASSERT_EQ(bcrypt_verify(NULL, 0, "$2b$04$abcdefghijklmnopqrstuubyCG3zY1GIXMyxfivm.ClDiInHzxjiq"),
              0);
    /* a settings string is not a hash to verify against */
    ASSERT_EQ(bcrypt_verify("", 0, "$2b$04$abcdefghijklmnopqrstuu"), -EINVAL);
}

TEST(crypto_bcrypt_salt_canonical)
{
    /* The last salt character carries 2 bits: 'v' (49) decodes like 'u' (48)
     * and the output spells the salt canonically, as crypt_blowfish does. */
    char out[BCRYPT_HASH_SIZE];

    ASSERT_EQ(bcrypt_hash_setting("", 0, "$2b$04$abcdefghijklmnopqrstuv", out), 0);
    ASSERT_STR_EQ(out, "$2b$04$abcdefghijklmnopqrstuubyCG3zY1GIXMyxfivm.ClDiInHzxjiq");
    /* ... so a stored hash spelled with a non-canonical salt never verifies */
    ASSERT_EQ(bcrypt_verify("", 0, "$2b$04$abcdefghijklmnopqrstuvbyCG3zY1GIXMyxfivm.ClDiInHzxjiq"),
              -EACCES);
}

TEST(crypto_bcrypt_hash_random_salt)
{
    char a[BCRYPT_HASH_SIZE], b[BCRYPT_HASH_SIZE];
    static const char pw[] = "correct horse battery staple";

    ASSERT_EQ(bcrypt_hash(pw, strlen(pw), 4, a), 0);
    ASSERT_EQ(strlen(a), 60);
    ASSERT(strncmp(a, "$2b$04$", 7) == 0);
    ASSERT_EQ(bcrypt_hash(pw, strlen(pw), 4, b), 0);
    ASSERT(strcmp(a, b) != 0); /* fresh salt each time */
    ASSERT_EQ(bcrypt_verify(pw, strlen(pw), a), 0);
    ASSERT_EQ(bcrypt_verify(pw, strlen(pw), b), 0);
    ASSERT_EQ(bcrypt_verify(pw, strlen(pw) - 1, a), -EACCES);
    ASSERT_EQ(bcrypt_verify("", 0, a), -EACCES);
    ASSERT_EQ(bcrypt_cost(a), 4);

    /* re-hashing with the hash as the setting reproduces it */
    ASSERT_EQ(bcrypt_hash_setting(pw, strlen(pw), a, b), 0);
    ASSERT_STR_EQ(a, b);

    ASSERT_EQ(bcrypt_hash(NULL, 0, 4, a), 0);
    ASSERT_EQ(bcrypt_verify("", 0, a), 0);

    memset(a, 'z', sizeof a);
    ASSERT_EQ(bcrypt_hash(pw, strlen(pw), 3, a), -EINVAL);
    ASSERT_STR_EQ(a, "");
    ASSERT_EQ(bcrypt_hash(pw, strlen(pw), 32, a), -EINVAL);
    ASSERT_EQ(bcrypt_hash(pw, strlen(pw), -1, a), -EINVAL);
    ASSERT_EQ(bcrypt_hash(NULL, 1, 4, a), -EINVAL);
}

TEST(crypto_bcrypt_default_cost)
{
    char h[BCRYPT_HASH_SIZE];
    struct timespec t0, t1;
    static const char pw[] = "Tr0ub4dor&3";

    ASSERT_EQ(BCRYPT_DEFAULT_COST, 12);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ASSERT_EQ(bcrypt_hash(pw, strlen(pw), BCRYPT_DEFAULT_COST, h), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ASSERT(strncmp(h, "$2b$12$", 7) == 0);
    ASSERT_EQ(bcrypt_cost(h), 12);
    ASSERT_EQ(bcrypt_verify(pw, strlen(pw), h), 0);
    fprintf(stderr, "  bcrypt cost 12: %.0f ms (this build)\n",
            (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
}

TEST(crypto_bcrypt_72_byte_limit)
{
    static const char setting[] = "$2b$04$abcdefghijklmnopqrstuu";
    uint8_t pw[100];
    char h72[BCRYPT_HASH_SIZE], h[BCRYPT_HASH_SIZE];

    memset(pw, 'x', sizeof pw);
    ASSERT_EQ(bcrypt_hash_setting(pw, 72, setting, h72), 0);
    /* bytes past the 72nd are ignored, whatever they are */
    ASSERT_EQ(bcrypt_hash_setting(pw, 73, setting, h), 0);
    ASSERT_STR_EQ(h, h72);
    pw[72] = 'y';
    pw[99] = 'z';
    ASSERT_EQ(bcrypt_hash_setting(pw, 100, setting, h), 0);
    ASSERT_STR_EQ(h, h72);
    ASSERT_EQ(bcrypt_verify(pw, 100, h72), 0);
    /* but the 72nd byte and the terminator of a 71-byte password count */
    ASSERT_EQ(bcrypt_hash_setting(pw, 71, setting, h), 0);
    ASSERT(strcmp(h, h72) != 0);
    pw[71] = 'w';
    ASSERT_EQ(bcrypt_hash_setting(pw, 72, setting, h), 0);
    ASSERT(strcmp(h, h72) != 0);
    /* the same holds for $2a$ (no 8-bit wrap-around of the length) */
    memset(pw, 'x', sizeof pw);
    ASSERT_EQ(bcrypt_hash_setting(pw, 72, "$2a$04$abcdefghijklmnopqrstuu", h72), 0);
    ASSERT_EQ(bcrypt_hash_setting(pw, 100, "$2a$04$abcdefghijklmnopqrstuu", h), 0);
    ASSERT_STR_EQ(h, h72);
}

TEST(crypto_bcrypt_nul_semantics)
{
    /* Documented collisions of the NUL-separated key stream. */
    static const char setting[] = "$2b$04$abcdefghijklmnopqrstuu";
    char a[BCRYPT_HASH_SIZE], b[BCRYPT_HASH_SIZE];

    ASSERT_EQ(bcrypt_hash_setting("", 0, setting, a), 0);
    ASSERT_EQ(bcrypt_hash_setting("\0", 1, setting, b), 0);
    ASSERT_STR_EQ(a, b);
    ASSERT_EQ(bcrypt_hash_setting("a", 1, setting, a), 0);
    ASSERT_EQ(bcrypt_hash_setting("a\0a", 3, setting, b), 0);
    ASSERT_STR_EQ(a, b);
    /* while a trailing NUL is otherwise a different password */
    ASSERT_EQ(bcrypt_hash_setting("abc", 3, setting, a), 0);
    ASSERT_EQ(bcrypt_hash_setting("abc\0", 4, setting, b), 0);
    ASSERT(strcmp(a, b) != 0);
}

TEST(crypto_bcrypt_versions_agree_on_ascii)
{
    /* For NUL-free 7-bit passwords $2a$, $2b$ and $2y$ differ only in the prefix;
     * $2x$ too, as sign extension needs an 8-bit byte. */
    static const char *const v[] = { "$2a$", "$2b$", "$2y$", "$2x$" };
    char setting[BCRYPT_SETTING_LEN + 1], h[4][BCRYPT_HASH_SIZE];

    for (int i = 0; i < 4; i++) {
        snprintf(setting, sizeof setting, "%s05$CCCCCCCCCCCCCCCCCCCCC.", v[i]);
        ASSERT_EQ(bcrypt_hash_setting("U*U", 3, setting, h[i]), 0);
        ASSERT_STR_EQ(h[i] + 4, "05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW");
    }
}
