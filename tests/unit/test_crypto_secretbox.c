/*
 * test_crypto_secretbox.c - AES-256-GCM boxes and the key file.
 * GCM known answers: McGrew & Viega, "The Galois/Counter Mode of Operation
 * (GCM)", appendix B, test cases 13-16 (AES-256), as used by NIST.
 */
#include "t.h"

#include "crypto/hash.h"
#include "crypto/secretbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void unhex(const char *hex, uint8_t *out, size_t n)
{
    if (crypto_unhex(hex, out, n) != 0)
        t_fail(__FILE__, __LINE__, "bad hex in test: %s", hex);
}

static const char tc15_key[] = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
static const char tc15_iv[] = "cafebabefacedbaddecaf888";
static const char tc15_pt[] =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
static const char tc15_ct[] =
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";

TEST(crypto_gcm_aes256_mcgrew_viega)
{
    uint8_t key[32], iv[12], data[64], want[64], tag[16], aad[20];
    char hex[129];

    /* Test Case 13: zero key, zero IV, empty plaintext */
    memset(key, 0, sizeof key);
    memset(iv, 0, sizeof iv);
    secretbox_aes256gcm_encrypt(key, iv, NULL, 0, NULL, 0, tag);
    crypto_hex(tag, 16, hex);
    ASSERT_STR_EQ(hex, "530f8afbc74536b9a963b4f1c4cb738b");

    /* Test Case 14: one zero block */
    memset(data, 0, 16);
    secretbox_aes256gcm_encrypt(key, iv, NULL, 0, data, 16, tag);
    crypto_hex(data, 16, hex);
    ASSERT_STR_EQ(hex, "cea7403d4d606b6e074ec5d3baf39d18");
    crypto_hex(tag, 16, hex);
    ASSERT_STR_EQ(hex, "d0d1c8a799996bf0265b98b5d48ab919");

    /* Test Case 15: 64 bytes, no AAD */
    unhex(tc15_key, key, 32);
    unhex(tc15_iv, iv, 12);
    unhex(tc15_pt, data, 64);
    unhex(tc15_ct, want, 64);
    secretbox_aes256gcm_encrypt(key, iv, NULL, 0, data, 64, tag);
    ASSERT_MEM_EQ(data, want, 64);
    crypto_hex(tag, 16, hex);
    ASSERT_STR_EQ(hex, "b094dac5d93471bdec1a502270e3cc6c");

    /* Test Case 16: 60 bytes with 20 bytes of AAD */
    unhex(tc15_pt, data, 64);
    unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad, 20);
    secretbox_aes256gcm_encrypt(key, iv, aad, 20, data, 60, tag);
    ASSERT_MEM_EQ(data, want, 60);
    crypto_hex(tag, 16, hex);
    ASSERT_STR_EQ(hex, "76fc6ece0f4e1768cddf8853bb2d551b");
}

TEST(crypto_secretbox_format)
{
    /* seal_nonce = 0x01 | nonce | GCM(key, nonce, aad = 0x01, pt) | tag */
    uint8_t key[32], iv[12], pt[64], box[64 + SECRETBOX_OVERHEAD], ref[64], tag[16], back[64];
    static const uint8_t ver = 0x01;

    unhex(tc15_key, key, 32);
    unhex(tc15_iv, iv, 12);
    unhex(tc15_pt, pt, 64);
    ASSERT_EQ(secretbox_seal_nonce(key, iv, pt, 64, box, sizeof box), 64 + 29);
    ASSERT_EQ(box[0], 0x01);
    ASSERT_MEM_EQ(box + 1, iv, 12);
    memcpy(ref, pt, 64);
    secretbox_aes256gcm_encrypt(key, iv, &ver, 1, ref, 64, tag);
    ASSERT_MEM_EQ(box + 13, ref, 64);
    ASSERT_MEM_EQ(box + 13 + 64, tag, 16);
    /* the ciphertext is plain GCM-CTR (test case 15); only the tag sees the AAD */
    unhex(tc15_ct, ref, 64);
    ASSERT_MEM_EQ(box + 13, ref, 64);
    ASSERT_EQ(secretbox_open(key, box, sizeof box, back, sizeof back), 64);
    ASSERT_MEM_EQ(back, pt, 64);
}

TEST(crypto_secretbox_roundtrip)
{
    uint8_t key[32], pt[1000], box[1000 + SECRETBOX_OVERHEAD], box2[sizeof box], back[1000];

    ASSERT_EQ(SECRETBOX_OVERHEAD, 1 + 12 + 16);
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(i * 3);
    for (size_t i = 0; i < sizeof pt; i++)
        pt[i] = (uint8_t)(i ^ 0x5a);
    static const size_t sizes[] = { 0, 1, 15, 16, 17, 31, 32, 33, 255, 1000 };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        ASSERT_EQ(secretbox_seal(key, pt, n, box, n + SECRETBOX_OVERHEAD),
                  (int)(n + SECRETBOX_OVERHEAD));
        ASSERT_EQ(box[0], SECRETBOX_VERSION);
        ASSERT_EQ(secretbox_seal(key, pt, n, box2, sizeof box2), (int)(n + SECRETBOX_OVERHEAD));
        ASSERT(memcmp(box + 1, box2 + 1, 12) != 0); /* fresh nonces */
        memset(back, 0xee, sizeof back);
        ASSERT_EQ(secretbox_open(key, box, n + SECRETBOX_OVERHEAD, back, n), (int)n);
        ASSERT_MEM_EQ(back, pt, n);
        ASSERT_EQ(back[n < sizeof back ? n : 0], n < sizeof back ? 0xee : back[0]);
        ASSERT_EQ(secretbox_open(key, box2, n + SECRETBOX_OVERHEAD, back, sizeof back), (int)n);
        ASSERT_MEM_EQ(back, pt, n);
    }
    ASSERT_EQ(secretbox_seal(key, NULL, 0, box, SECRETBOX_OVERHEAD), SECRETBOX_OVERHEAD);
    ASSERT_EQ(secretbox_open(key, box, SECRETBOX_OVERHEAD, NULL, 0), 0);
}

TEST(crypto_secretbox_in_place)
{
    /* The documented aliasing: plaintext at out + 13 for seal, out = in + 13 for open. */
    uint8_t key[32], buf[100 + SECRETBOX_OVERHEAD];
    static const char msg[] = "the SIP password, 31 characters";

    memset(key, 0x42, sizeof key);
    memcpy(buf + 13, msg, sizeof msg);
    ASSERT_EQ(secretbox_seal(key, buf + 13, sizeof msg, buf, sizeof buf),
              (int)(sizeof msg + SECRETBOX_OVERHEAD));
    ASSERT(memcmp(buf + 13, msg, sizeof msg) != 0);
    ASSERT_EQ(secretbox_open(key, buf, sizeof msg + SECRETBOX_OVERHEAD, buf + 13,
                             sizeof buf - 13), (int)sizeof msg);
    ASSERT_MEM_EQ(buf + 13, msg, sizeof msg);
}

TEST(crypto_secretbox_rejects_tampering)
{
    uint8_t key[32], other[32], box[40 + SECRETBOX_OVERHEAD], back[40];
    static const char msg[] = "0123456789012345678901234567890123456789";
    const size_t n = 40, blen = 40 + SECRETBOX_OVERHEAD;

    memset(key, 1, sizeof key);
    ASSERT_EQ(secretbox_seal(key, msg, n, box, sizeof box), (int)blen);

    /* every single-bit flip anywhere in the box, version byte included */
    for (size_t i = 0; i < blen; i++)
        for (int bit = 0; bit < 8; bit++) {
            box[i] ^= (uint8_t)(1u << bit);
            memset(back, 0x77, sizeof back);
            if (secretbox_open(key, box, blen, back, sizeof back) != -EBADMSG)
                t_fail(__FILE__, __LINE__, "flip of byte %zu bit %d accepted", i, bit);
            for (size_t j = 0; j < n; j++)
                ASSERT_EQ(back[j], 0); /* no unauthenticated plaintext released */
            box[i] ^= (uint8_t)(1u << bit);
        }
    ASSERT_EQ(secretbox_open(key, box, blen, back, sizeof back), (int)n);

    /* wrong key: every bit of the key matters */
    memcpy(other, key, sizeof key);
    other[31] ^= 0x80;
    ASSERT_EQ(secretbox_open(other, box, blen, back, sizeof back), -EBADMSG);
    memset(other, 0, sizeof other);
    ASSERT_EQ(secretbox_open(other, box, blen, back, sizeof back), -EBADMSG);

    /* truncation and extension */
    for (size_t len = 0; len < blen; len++)
        ASSERT_EQ(secretbox_open(key, box, len, back, sizeof back), -EBADMSG);
    uint8_t longer[sizeof box + 1];
    memcpy(longer, box, blen);
    longer[blen] = 0;
    uint8_t big[64];
    ASSERT_EQ(secretbox_open(key, longer, blen + 1, big, sizeof big), -EBADMSG);
    ASSERT_EQ(secretbox_open(key, longer, blen + 1, back, sizeof back), -ENOSPC);

    /* unknown version, even with an otherwise valid tag for that version */
    uint8_t v2[sizeof box];
    memcpy(v2, box, blen);
    v2[0] = 0x02;
    ASSERT_EQ(secretbox_open(key, v2, blen, back, sizeof back), -EBADMSG);
    v2[0] = 0x00;
    ASSERT_EQ(secretbox_open(key, v2, blen, back, sizeof back), -EBADMSG);
}

TEST(crypto_secretbox_capacity)
{
    uint8_t key[32] = { 0 }, box[10 + SECRETBOX_OVERHEAD], back[10];

    ASSERT_EQ(secretbox_seal(key, "0123456789", 10, box, sizeof box - 1), -ENOSPC);
    ASSERT_EQ(secretbox_seal(key, "0123456789", 10, box, 0), -ENOSPC);
    ASSERT_EQ(secretbox_seal(key, "0123456789", (size_t)-1, box, sizeof box), -ENOSPC);
    ASSERT_EQ(secretbox_seal(key, "0123456789", 10, box, sizeof box), (int)sizeof box);
    ASSERT_EQ(secretbox_open(key, box, sizeof box, back, 9), -ENOSPC);
    ASSERT_EQ(secretbox_open(key, box, sizeof box, back, 10), 10);
}

/* ------------------------------------------------------------ key file */

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        t_fail(__FILE__, __LINE__, "cannot write %s", path);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f)
        t_fail(__FILE__, __LINE__, "cannot read %s", path);
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

TEST(crypto_secretbox_key_create)
{
    char path[512], buf[200], hex[65];
    uint8_t key[32], again[32], zero[32] = { 0 };
    struct stat st;
    int created = -1;

    snprintf(path, sizeof path, "%s/secret.key", t_tmpdir());
    umask(0); /* the file must still be 0600 */
    ASSERT_EQ(secretbox_key_load(path, key, &created), 0);
    ASSERT_EQ(created, 1);
    ASSERT(memcmp(key, zero, 32) != 0);
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT(S_ISREG(st.st_mode));
    ASSERT_EQ(st.st_mode & 07777, 0600);
    ASSERT_EQ(st.st_nlink, 1); /* the temporary name is gone */

    /* 64 lower-case hex digits and a newline */
    ASSERT_EQ(read_file(path, buf, sizeof buf), 65);
    crypto_hex(key, 32, hex);
    ASSERT_MEM_EQ(buf, hex, 64);
    ASSERT_EQ(buf[64], '\n');

    /* loading again gives the same key and does not create */
    ASSERT_EQ(secretbox_key_load(path, again, &created), 0);
    ASSERT_EQ(created, 0);
    ASSERT_MEM_EQ(key, again, 32);
    ASSERT_EQ(secretbox_key_load(path, again, NULL), 0);
    ASSERT_MEM_EQ(key, again, 32);

    /* nothing else was left in the directory */
    snprintf(buf, sizeof buf, "%s/other.key", t_tmpdir());
    umask(077);
    ASSERT_EQ(secretbox_key_load(buf, again, &created), 0);
    ASSERT_EQ(created, 1);
    ASSERT(memcmp(key, again, 32) != 0);
    ASSERT_EQ(stat(buf, &st), 0);
    ASSERT_EQ(st.st_mode & 07777, 0600);
}

TEST(crypto_secretbox_key_formats)
{
    char path[512];
    uint8_t key[32], want[32];
    int created = -1;

    for (int i = 0; i < 32; i++)
        want[i] = (uint8_t)(0xa0 + i);
    snprintf(path, sizeof path, "%s/k", t_tmpdir());

    /* raw 32 bytes (incl. bytes that are NUL and newline) */
    uint8_t raw[32];
    memcpy(raw, want, 32);
    raw[3] = 0;
    raw[31] = '\n';
    write_file(path, raw, 32);
    ASSERT_EQ(secretbox_key_load(path, key, &created), 0);
    ASSERT_EQ(created, 0);
    ASSERT_MEM_EQ(key, raw, 32);

    static const char lower[] = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
    static const char upper[] = "A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF";
    char text[80];
    static const char *const ends[] = { "", "\n", "\r\n" };
    for (int u = 0; u < 2; u++)
        for (int e = 0; e < 3; e++) {
            snprintf(text, sizeof text, "%s%s", u ? upper : lower, ends[e]);
            write_file(path, text, strlen(text));
            memset(key, 0, sizeof key);
            ASSERT_EQ(secretbox_key_load(path, key, &created), 0);
            ASSERT_EQ(created, 0);
            ASSERT_MEM_EQ(key, want, 32);
        }
}

TEST(crypto_secretbox_key_bad_files)
{
    char path[512], text[200];
    uint8_t key[32], zero[32] = { 0 };
    int created = -1;
    static const char hex64[] = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
    static const struct { const char *data; size_t len; } bad[] = {
        { "", 0 },
        { "0123456789abcdef0123456789abcde", 31 },                 /* 31 raw */
        { "0123456789abcdef0123456789abcdef0", 33 },               /* 33 raw */
        { "0123456789abcdef0123456789abcdef\n", 33 },              /* 32 + newline */
        { NULL, 63 },                                              /* 63 hex */
        { NULL, 0 },                                               /* 64 hex, a 'g' */
        { NULL, 1 },                                               /* 64 hex + space */
        { NULL, 2 },                                               /* 64 hex + 2 newlines */
        { NULL, 3 },                                               /* 128 hex */
        { NULL, 4 },                                               /* leading space */
        { NULL, 5 },                                               /* NUL in hex */
    };

    snprintf(path, sizeof path, "%s/bad.key", t_tmpdir());
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len;
        if (bad[i].data) {
            memcpy(text, bad[i].data, bad[i].len);
            len = bad[i].len;
        } else if (i == 4) {
            memcpy(text, hex64, 63);
            len = 63;
        } else {
            memcpy(text, hex64, 64);
            len = 64;
            switch (bad[i].len) {
            case 0: text[10] = 'g'; break;
            case 1: text[len++] = ' '; break;
            case 2: text[len++] = '\n'; text[len++] = '\n'; break;
            case 3: memcpy(text + 64, hex64, 64); len = 128; break;
            case 4: memmove(text + 1, text, 64); text[0] = ' '; len = 65; break;
            case 5: text[20] = '\0'; break;
            }
        }
        write_file(path, text, len);
        memset(key, 0x33, sizeof key);
        if (secretbox_key_load(path, key, &created) != -EINVAL)
            t_fail(__FILE__, __LINE__, "bad key file %zu accepted", i);
        ASSERT_EQ(created, 0);
        ASSERT_MEM_EQ(key, zero, 32);
    }

    /* a directory, and a missing parent directory */
    ASSERT_EQ(secretbox_key_load(t_tmpdir(), key, &created), -EISDIR);
    snprintf(path, sizeof path, "%s/no/such/dir/key", t_tmpdir());
    ASSERT_EQ(secretbox_key_load(path, key, &created), -ENOENT);
    ASSERT_EQ(created, 0);
    ASSERT_MEM_EQ(key, zero, 32);

    /* An unreadable file. Root reads anything, so as root this test process
     * (a child of the runner, alone) first drops to the nobody user. */
    snprintf(path, sizeof path, "%s/unreadable.key", t_tmpdir());
    write_file(path, hex64, 64);
    ASSERT_EQ(chmod(path, 0), 0);
    ASSERT_EQ(chmod(t_tmpdir(), 0755), 0);
    if (geteuid() == 0) {
        ASSERT_EQ(setgid(65534), 0);
        ASSERT_EQ(setuid(65534), 0);
    }
    ASSERT(geteuid() != 0);
    ASSERT_EQ(secretbox_key_load(path, key, &created), -EACCES);
}

TEST(crypto_secretbox_ad_binds_the_box)
{
    uint8_t key[32], box[64], out[16];
    memset(key, 7, sizeof key);
    ASSERT_EQ(secretbox_seal_ad(key, "alice", 5, "0123456789abcdef", 16, box, sizeof box), 45);
    ASSERT_EQ(secretbox_open_ad(key, "alice", 5, box, 45, out, sizeof out), 16);
    ASSERT_MEM_EQ(out, "0123456789abcdef", 16);
    ASSERT_EQ(secretbox_open_ad(key, "alicf", 5, box, 45, out, sizeof out), -EBADMSG);
    ASSERT_EQ(secretbox_open_ad(key, "alice", 4, box, 45, out, sizeof out), -EBADMSG);
    ASSERT_EQ(secretbox_open(key, box, 45, out, sizeof out), -EBADMSG);
    /* With no ad it is the plain box, both ways. */
    ASSERT_EQ(secretbox_seal_ad(key, NULL, 0, "x", 1, box, sizeof box), 30);
    ASSERT_EQ(secretbox_open(key, box, 30, out, sizeof out), 1);
    ASSERT_EQ(secretbox_seal(key, "y", 1, box, sizeof box), 30);
    ASSERT_EQ(secretbox_open_ad(key, NULL, 0, box, 30, out, sizeof out), 1);
}
