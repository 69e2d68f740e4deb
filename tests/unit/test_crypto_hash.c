/*
 * test_crypto_hash.c - hashes, HMAC, digest HA1, hex, base64, ct compare.
 * Known answers: FIPS 180-2 appendix B (SHA-256), RFC 1321 (MD5), RFC 2202
 * (HMAC-SHA1), RFC 4231 (HMAC-SHA256), RFC 4648 section 10 (base64), and
 * the RFC 2617 / RFC 7616 digest examples (tests/vectors/digest).
 */
#include "t.h"

#include "crypto/hash.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void hexof(const uint8_t *b, size_t n, char *out)
{
    crypto_hex(b, n, out);
}

TEST(crypto_sha256_fips180)
{
    char hex[65];
    static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

    crypto_sha256_hex("abc", 3, hex);
    ASSERT_STR_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    crypto_sha256_hex(two_blocks, strlen(two_blocks), hex);
    ASSERT_STR_EQ(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    crypto_sha256_hex("", 0, hex);
    ASSERT_STR_EQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    crypto_sha256_hex(NULL, 0, hex);
    ASSERT_STR_EQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    uint8_t bin[32], expect[32];
    crypto_sha256("abc", 3, bin);
    ASSERT_EQ(crypto_unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                           expect, 32), 0);
    ASSERT_MEM_EQ(bin, expect, 32);
}

TEST(crypto_md5_rfc1321)
{
    uint8_t h[16];
    char hex[33];

    crypto_md5("", 0, h);
    hexof(h, 16, hex);
    ASSERT_STR_EQ(hex, "d41d8cd98f00b204e9800998ecf8427e");
    crypto_md5("abc", 3, h);
    hexof(h, 16, hex);
    ASSERT_STR_EQ(hex, "900150983cd24fb0d6963f7d28e17f72");
    crypto_md5("message digest", 14, h);
    hexof(h, 16, hex);
    ASSERT_STR_EQ(hex, "f96b697d7cb7938d525a2f31aaf161d0");
}

/* response = H(HA1hex ":" nonce ":" nc ":" cnonce ":" qop ":" H(method ":" uri)hex) */
static void digest_md5_response(const uint8_t ha1[16], const char *method, const char *uri,
                                const char *nonce, const char *nc, const char *cnonce,
                                const char *qop, char out[33])
{
    char ha1hex[33], ha2hex[33], buf[512];
    uint8_t h[16];
    int n;

    crypto_hex(ha1, 16, ha1hex);
    n = snprintf(buf, sizeof buf, "%s:%s", method, uri);
    crypto_md5(buf, (size_t)n, h);
    crypto_hex(h, 16, ha2hex);
    n = snprintf(buf, sizeof buf, "%s:%s:%s:%s:%s:%s", ha1hex, nonce, nc, cnonce, qop, ha2hex);
    crypto_md5(buf, (size_t)n, h);
    crypto_hex(h, 16, out);
}

TEST(crypto_ha1_rfc2617_digest)
{
    /* RFC 2617 section 3.5 (tests/vectors/digest/README.md section 1) */
    uint8_t ha1[16];
    char hex[33];
    static const char pw[] = "Circle Of Life";

    crypto_ha1("Mufasa", "testrealm@host.com", pw, strlen(pw), ha1);
    hexof(ha1, 16, hex);
    ASSERT_STR_EQ(hex, "939e7578ed9e3c518a452acee763bce9");
    digest_md5_response(ha1, "GET", "/dir/index.html", "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                        "00000001", "0a4f113b", "auth", hex);
    ASSERT_STR_EQ(hex, "6629fae49393a05397450978507c4ef1"); /* published response */
}

TEST(crypto_ha1_rfc7616_digest)
{
    /* RFC 7616 section 3.9.1 (tests/vectors/digest/README.md section 2), MD5 and SHA-256 */
    uint8_t ha1[16];
    char hex[65], ha1hex[65], ha2hex[65], buf[512];
    uint8_t h[32];
    static const char pw[] = "Circle of Life";
    static const char nonce[] = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    static const char cnonce[] = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    int n;

    crypto_ha1("Mufasa", "http-auth@example.org", pw, strlen(pw), ha1);
    hexof(ha1, 16, hex);
    ASSERT_STR_EQ(hex, "3d78807defe7de2157e2b0b6573a855f");
    digest_md5_response(ha1, "GET", "/dir/index.html", nonce, "00000001", cnonce, "auth", hex);
    ASSERT_STR_EQ(hex, "8ca523f5e9506fed4657c9700eebdbec");

    crypto_sha256_hex("Mufasa:http-auth@example.org:Circle of Life", 43, ha1hex);
    crypto_sha256_hex("GET:/dir/index.html", 19, ha2hex);
    n = snprintf(buf, sizeof buf, "%s:%s:00000001:%s:auth:%s", ha1hex, nonce, cnonce, ha2hex);
    crypto_sha256(buf, (size_t)n, h);
    hexof(h, 32, hex);
    ASSERT_STR_EQ(hex, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");

    /* RFC 7616 section 3.9.2 userhash (SHA-256, "Jäsøn Doe:api@example.org") */
    crypto_sha256_hex("J\xc3\xa4s\xc3\xb8n Doe:api@example.org", 27, hex);
    ASSERT_STR_EQ(hex, "5a1a8a47df5c298551b9b42ba9b05835174a5bd7d511ff7fe9191d8e946fc4e7");
}

TEST(crypto_ha1_binary_password)
{
    /* pass is (pointer, length): a NUL inside is hashed, and nothing after len */
    uint8_t a[16], b[16];

    crypto_ha1("u", "r", "p\0q", 3, a);
    crypto_md5("u:r:p\0q", 7, b);
    ASSERT_MEM_EQ(a, b, 16);
    crypto_ha1("u", "r", "pXYZ", 1, a);
    crypto_md5("u:r:p", 5, b);
    ASSERT_MEM_EQ(a, b, 16);
    crypto_ha1("", "", NULL, 0, a);
    crypto_md5("::", 2, b);
    ASSERT_MEM_EQ(a, b, 16);
}

static void fill(uint8_t *b, uint8_t v, size_t n)
{
    memset(b, v, n);
}

TEST(crypto_hmac_sha256_rfc4231)
{
    uint8_t key[131], data[50], out[32];
    char hex[65];

    /* 4.2 Test Case 1 */
    fill(key, 0x0b, 20);
    crypto_hmac_sha256(key, 20, "Hi There", 8, out);
    hexof(out, 32, hex);
    ASSERT_STR_EQ(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* 4.3 Test Case 2 */
    crypto_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, out);
    hexof(out, 32, hex);
    ASSERT_STR_EQ(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* 4.4 Test Case 3 */
    fill(key, 0xaa, 20);
    fill(data, 0xdd, 50);
    crypto_hmac_sha256(key, 20, data, 50, out);
    hexof(out, 32, hex);
    ASSERT_STR_EQ(hex, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    /* 4.5 Test Case 4 */
    for (int i = 0; i < 25; i++)
        key[i] = (uint8_t)(i + 1);
    fill(data, 0xcd, 50);
    crypto_hmac_sha256(key, 25, data, 50, out);
    hexof(out, 32, hex);
    ASSERT_STR_EQ(hex, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    /* 4.6 Test Case 5 (truncated to 128 bits) */
    fill(key, 0x0c, 20);
    crypto_hmac_sha256(key, 20, "Test With Truncation", 20, out);
    hexof(out, 16, hex);
    ASSERT_STR_EQ(hex, "a3b6167473100ee06e0c796c2955552b");
    /* 4.7 Test Case 6: key larger than the block */
    fill(key, 0xaa, 131);
    crypto_hmac_sha256(key, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54, out);
    hexof(out, 32, hex);
    ASSERT_STR_EQ(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    /* 4.8 Test Case 7 */
    static const char tc7[] = "This is a test using a larger than block-size key and a larger "
                              "than block-size data. The key needs to be hashed before being "
                              "used by the HMAC algorithm.";
    crypto_hmac_sha256(key, 131, tc7, strlen(tc7), out);
    hexof(out, 32, hex);
    ASSERT_STR_EQ(hex, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(crypto_hmac_sha1_rfc2202)
{
    uint8_t key[80], data[50], out[20];
    char hex[41];

    fill(key, 0x0b, 20);
    crypto_hmac_sha1(key, 20, "Hi There", 8, out);
    hexof(out, 20, hex);
    ASSERT_STR_EQ(hex, "b617318655057264e28bc0b6fb378c8ef146be00");
    crypto_hmac_sha1("Jefe", 4, "what do ya want for nothing?", 28, out);
    hexof(out, 20, hex);
    ASSERT_STR_EQ(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    fill(key, 0xaa, 20);
    fill(data, 0xdd, 50);
    crypto_hmac_sha1(key, 20, data, 50, out);
    hexof(out, 20, hex);
    ASSERT_STR_EQ(hex, "125d7342b9ac11cd91a39af48aa17b4f63f175d3");
    for (int i = 0; i < 25; i++)
        key[i] = (uint8_t)(i + 1);
    fill(data, 0xcd, 50);
    crypto_hmac_sha1(key, 25, data, 50, out);
    hexof(out, 20, hex);
    ASSERT_STR_EQ(hex, "4c9007f4026250c6bc8414f9bf50c86c2d7235da");
    fill(key, 0x0c, 20);
    crypto_hmac_sha1(key, 20, "Test With Truncation", 20, out);
    hexof(out, 20, hex);
    ASSERT_STR_EQ(hex, "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04");
    fill(key, 0xaa, 80);
    crypto_hmac_sha1(key, 80, "Test Using Larger Than Block-Size Key - Hash Key First", 54, out);
    hexof(out, 20, hex);
    ASSERT_STR_EQ(hex, "aa4ae5e15272d00e95705637ce8a3b55ed402112");
    static const char tc7[] =
        "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data";
    crypto_hmac_sha1(key, 80, tc7, strlen(tc7), out);
    hexof(out, 20, hex);
    ASSERT_STR_EQ(hex, "e8e99d0f45237d786d6bbaa7965c7808bbff1a91");
}

TEST(crypto_hex_roundtrip)
{
    uint8_t all[256], back[256];
    char hex[513];

    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    crypto_hex(all, 256, hex);
    ASSERT_EQ(strlen(hex), 512);
    ASSERT(strncmp(hex, "000102030405060708090a0b0c0d0e0f10", 34) == 0);
    ASSERT_STR_EQ(hex + 480, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    ASSERT_EQ(crypto_unhex(hex, back, 256), 0);
    ASSERT_MEM_EQ(all, back, 256);

    crypto_hex(all, 0, hex);
    ASSERT_STR_EQ(hex, "");
    ASSERT_EQ(crypto_unhex("", back, 0), 0);

    /* upper case accepted */
    ASSERT_EQ(crypto_unhex("DEADbeefA0", back, 5), 0);
    ASSERT_MEM_EQ(back, "\xde\xad\xbe\xef\xa0", 5);
}

TEST(crypto_unhex_rejects)
{
    static const char *const bad[] = { "0g", "g0", "0 ", " 0", "0x", ":0", "/0", "@0", "`0",
                                       "G0", "0\xff" };
    uint8_t out[4];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(out, 0x55, sizeof out);
        if (crypto_unhex(bad[i], out, 1) != -EINVAL)
            t_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
        ASSERT_EQ(out[0], 0);
    }
    memset(out, 0x55, sizeof out);
    ASSERT_EQ(crypto_unhex("abc", out, 2), -EINVAL);     /* short */
    ASSERT_EQ(crypto_unhex("abcdef", out, 2), -EINVAL);  /* long */
    ASSERT_EQ(crypto_unhex("abcd\n", out, 2), -EINVAL);  /* trailing newline */
    ASSERT_EQ(crypto_unhex("0", out, 0), -EINVAL);
    ASSERT_EQ(crypto_unhex("0011223g", out, 4), -EINVAL);
    ASSERT_MEM_EQ(out, "\0\0\0\0", 4);                   /* zeroed on error */
}

TEST(crypto_ct_equal_cases)
{
    uint8_t a[64], b[64];

    memset(a, 7, sizeof a);
    memset(b, 7, sizeof b);
    ASSERT_EQ(crypto_ct_equal(a, b, 64), 1);
    ASSERT_EQ(crypto_ct_equal(a, b, 0), 1);
    ASSERT_EQ(crypto_ct_equal(NULL, NULL, 0), 1);
    for (int i = 0; i < 64; i++)
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            ASSERT_EQ(crypto_ct_equal(a, b, 64), 0);
            ASSERT_EQ(crypto_ct_equal(a, b, (size_t)i), 1); /* before the difference */
            b[i] ^= (uint8_t)(1u << bit);
        }
    b[0] = 0x80;
    a[0] = 0x00;
    ASSERT_EQ(crypto_ct_equal(a, b, 1), 0);
}

TEST(crypto_wipe_zeroes)
{
    uint8_t s[17];

    memset(s, 0xa5, sizeof s);
    crypto_wipe(s, sizeof s);
    ASSERT_MEM_EQ(s, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 17);
    crypto_wipe(NULL, 0);
}

TEST(crypto_base64_rfc4648)
{
    static const char *const v[][2] = {
        { "", "" },           { "f", "Zg==" },         { "fo", "Zm8=" },
        { "foo", "Zm9v" },    { "foob", "Zm9vYg==" },  { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" },
    };
    char enc[16];
    uint8_t dec[16];

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t n = strlen(v[i][0]), e = strlen(v[i][1]);
        ASSERT_EQ(crypto_base64_encode(v[i][0], n, enc, sizeof enc), (int)e);
        ASSERT_STR_EQ(enc, v[i][1]);
        ASSERT_EQ(CRYPTO_BASE64_LEN(n), e);
        ASSERT_EQ(crypto_base64_decode(v[i][1], e, dec, sizeof dec), (int)n);
        ASSERT_MEM_EQ(dec, v[i][0], n);
        /* exact output sizes are enough; one less is not */
        ASSERT_EQ(crypto_base64_encode(v[i][0], n, enc, e + 1), (int)e);
        ASSERT_EQ(crypto_base64_encode(v[i][0], n, enc, e), -ENOSPC);
        ASSERT_EQ(crypto_base64_decode(v[i][1], e, dec, n), (int)n);
        if (n > 0)
            ASSERT_EQ(crypto_base64_decode(v[i][1], e, dec, n - 1), -ENOSPC);
    }
    ASSERT_EQ(crypto_base64_encode("f", 1, enc, 0), -ENOSPC);
    ASSERT_EQ(crypto_base64_encode("f", 1, enc, 3), -ENOSPC);
    ASSERT_STR_EQ(enc, "");
}

TEST(crypto_base64_alphabet_and_roundtrip)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t all[256 * 3], back[256 * 3];
    char enc[CRYPTO_BASE64_LEN(256 * 3) + 1];

    /* every 6-bit value: 64 groups of 3 bytes spelling value v four times */
    for (unsigned v = 0; v < 64; v++) {
        uint8_t grp[3] = { (uint8_t)(v << 2 | v >> 4), (uint8_t)(v << 4 | v >> 2),
                           (uint8_t)(v << 6 | v) };
        char e4[5], want[5] = { alphabet[v], alphabet[v], alphabet[v], alphabet[v], 0 };
        ASSERT_EQ(crypto_base64_encode(grp, 3, e4, sizeof e4), 4);
        ASSERT_STR_EQ(e4, want);
        ASSERT_EQ(crypto_base64_decode(want, 4, back, 3), 3);
        ASSERT_MEM_EQ(back, grp, 3);
    }
    for (size_t i = 0; i < sizeof all; i++)
        all[i] = (uint8_t)(i * 7 + i / 256);
    for (size_t n = 0; n <= sizeof all; n += (n < 10 ? 1 : 37)) {
        int e = crypto_base64_encode(all, n, enc, sizeof enc);
        ASSERT_EQ(e, CRYPTO_BASE64_LEN(n));
        ASSERT_EQ(crypto_base64_decode(enc, (size_t)e, back, sizeof back), (int)n);
        ASSERT_MEM_EQ(back, all, n);
    }
}

TEST(crypto_base64_decode_rejects)
{
    static const char *const bad[] = {
        "Zg=",       /* length not a multiple of 4 */
        "Zg",        /* padding required */
        "Zh==",      /* non-canonical: unused bits set */
        "Zm9=",      /* non-canonical */
        "Z===",      /* too much padding */
        "====",
        "Zm9v=Zg=",  /* padding in the middle */
        "Zm9vY=g=",
        "Zm 9",      /* whitespace */
        "Zm9\n",
        "Zm-_",      /* base64url characters */
        "Zm9v\0Zg=",
        "\xc3\xa9Zg",
    };
    uint8_t out[16];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = i == 11 ? 8 : strlen(bad[i]);
        memset(out, 0x55, sizeof out);
        if (crypto_base64_decode(bad[i], len, out, sizeof out) != -EINVAL)
            t_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
        ASSERT_EQ(out[0], len % 4 == 0 ? 0 : 0x55); /* no partial output */
    }
    ASSERT_EQ(crypto_base64_decode("", 0, NULL, 0), 0);
}

TEST(crypto_base64_coturn_rest_password)
{
    /* coturn TURN REST API: password = base64(HMAC-SHA1(secret, username)); checked
     * here against RFC 2202 test case 2's MAC encoded by hand. */
    uint8_t mac[20];
    char pw[CRYPTO_BASE64_LEN(20) + 1];

    crypto_hmac_sha1("Jefe", 4, "what do ya want for nothing?", 28, mac);
    ASSERT_EQ(crypto_base64_encode(mac, sizeof mac, pw, sizeof pw), 28);
    /* effcdf6ae5eb2fa2d27416d5f184df9c259a7c79 */
    ASSERT_STR_EQ(pw, "7/zfauXrL6LSdBbV8YTfnCWafHk=");
}
