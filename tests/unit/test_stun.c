/*
 * test_stun.c - STUN codec: RFC 5769 vectors, RFC 8489 B.1 (erratum 6268),
 * round trips and malformed input.
 */
#include "t.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include <bearssl.h>

#include "turn/stun.h"

static size_t read_vec(const char *rel, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(t_testdata(rel), "rb");
    if (!f)
        t_fail(__FILE__, __LINE__, "cannot open %s", t_testdata(rel));
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void hex(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static int attr_is(const struct stun_msg *m, uint16_t type, const char *s)
{
    const struct stun_attr *a = stun_find(m, type);
    return a && a->len == strlen(s) && memcmp(a->val, s, a->len) == 0;
}

static const char rfc5769_pass[] = "VOkJxbRl1RmTxUk/WvJxBt";

TEST(stun_rfc5769_sample_request)
{
    uint8_t buf[512];
    size_t n = read_vec("rfc5769/sample-request.bin", buf, sizeof buf);
    ASSERT_EQ(n, 108);
    struct stun_msg m;
    ASSERT_EQ(stun_parse(buf, n, &m), 0);
    ASSERT_EQ(m.method, STUN_BINDING);
    ASSERT_EQ(m.cls, STUN_REQUEST);
    uint8_t tid[12];
    hex("b7e7a701bc34d686fa87dfae", tid, 12);
    ASSERT_MEM_EQ(m.tid, tid, 12);
    ASSERT(attr_is(&m, STUN_A_SOFTWARE, "STUN test client"));
    /* USERNAME is padded with spaces: the value is still 9 bytes. */
    ASSERT(attr_is(&m, STUN_A_USERNAME, "evtj:h6vY"));
    uint32_t v;
    ASSERT_EQ(stun_get_u32(stun_find(&m, STUN_A_PRIORITY), &v), 0);
    ASSERT_EQ(v, 0x6e0001ff);
    ASSERT(stun_find(&m, STUN_A_ICE_CONTROLLED) != NULL);
    ASSERT_EQ(stun_check_fingerprint(&m), 1);
    ASSERT_EQ(stun_check_integrity(&m, (const uint8_t *)rfc5769_pass, strlen(rfc5769_pass)), 0);
    ASSERT_EQ(stun_check_integrity(&m, (const uint8_t *)"wrong", 5), -EACCES);
    ASSERT_EQ(stun_check_integrity_sha256(&m, (const uint8_t *)"x", 1), -ENOENT);
    /* A flipped bit anywhere breaks the fingerprint. */
    buf[30] ^= 1;
    ASSERT_EQ(stun_parse(buf, n, &m), 0);
    ASSERT_EQ(stun_check_fingerprint(&m), -EBADMSG);
}

TEST(stun_rfc5769_ipv4_response)
{
    uint8_t buf[512];
    size_t n = read_vec("rfc5769/sample-ipv4-response.bin", buf, sizeof buf);
    ASSERT_EQ(n, 80);
    struct stun_msg m;
    ASSERT_EQ(stun_parse(buf, n, &m), 0);
    ASSERT_EQ(m.method, STUN_BINDING);
    ASSERT_EQ(m.cls, STUN_SUCCESS);
    ASSERT(attr_is(&m, STUN_A_SOFTWARE, "test vector"));
    struct sockaddr_storage ss;
    ASSERT_EQ(stun_get_xor_addr(&m, stun_find(&m, STUN_A_XOR_MAPPED_ADDRESS), &ss), 0);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    ASSERT_EQ(s4->sin_family, AF_INET);
    ASSERT_EQ(ntohs(s4->sin_port), 32853);
    ASSERT_EQ(ntohl(s4->sin_addr.s_addr), 0xC0000201);
    ASSERT_EQ(stun_check_fingerprint(&m), 1);
    ASSERT_EQ(stun_check_integrity(&m, (const uint8_t *)rfc5769_pass, strlen(rfc5769_pass)), 0);
}

TEST(stun_rfc5769_ipv6_response)
{
    uint8_t buf[512];
    size_t n = read_vec("rfc5769/sample-ipv6-response.bin", buf, sizeof buf);
    ASSERT_EQ(n, 92);
    struct stun_msg m;
    ASSERT_EQ(stun_parse(buf, n, &m), 0);
    ASSERT_EQ(m.cls, STUN_SUCCESS);
    struct sockaddr_storage ss;
    ASSERT_EQ(stun_get_xor_addr(&m, stun_find(&m, STUN_A_XOR_MAPPED_ADDRESS), &ss), 0);
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    ASSERT_EQ(s6->sin6_family, AF_INET6);
    ASSERT_EQ(ntohs(s6->sin6_port), 32853);
    struct in6_addr want;
    inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677", &want);
    ASSERT_MEM_EQ(&s6->sin6_addr, &want, 16);
    ASSERT_EQ(stun_check_fingerprint(&m), 1);
    ASSERT_EQ(stun_check_integrity(&m, (const uint8_t *)rfc5769_pass, strlen(rfc5769_pass)), 0);
}

static const char matrix_user[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";

static void md5_key(const char *user, const char *realm, const char *pass, uint8_t out[16])
{
    br_md5_context c;
    br_md5_init(&c);
    br_md5_update(&c, user, strlen(user));
    br_md5_update(&c, ":", 1);
    br_md5_update(&c, realm, strlen(realm));
    br_md5_update(&c, ":", 1);
    br_md5_update(&c, pass, strlen(pass));
    br_md5_out(&c, out);
}

TEST(stun_rfc5769_long_term_request)
{
    uint8_t buf[512];
    size_t n = read_vec("rfc5769/sample-request-long-term-auth.bin", buf, sizeof buf);
    ASSERT_EQ(n, 116);
    struct stun_msg m;
    ASSERT_EQ(stun_parse(buf, n, &m), 0);
    ASSERT_EQ(m.cls, STUN_REQUEST);
    ASSERT(attr_is(&m, STUN_A_USERNAME, matrix_user));
    ASSERT(attr_is(&m, STUN_A_NONCE, "f//499k954d6OL34oL9FSTvy64sA"));
    ASSERT(attr_is(&m, STUN_A_REALM, "example.org"));
    uint8_t key[16], want[16];
    md5_key(matrix_user, "example.org", "TheMatrIX", key);
    hex("e8ca7ad59d5eb0518e312911d2dab2a9", want, 16);
    ASSERT_MEM_EQ(key, want, 16);
    ASSERT_EQ(stun_check_integrity(&m, key, 16), 0);
    key[0] ^= 1;
    ASSERT_EQ(stun_check_integrity(&m, key, 16), -EACCES);
    /* No FINGERPRINT: "absent", not "bad". */
    ASSERT_EQ(stun_check_fingerprint(&m), 0);
}

TEST(stun_ltc_key_known_answer)
{
    uint8_t key[16], want[16];
    md5_key("user", "realm", "pass", key);
    hex("8493fbc53ba582fb4c044c456bdc40eb", want, 16);
    ASSERT_MEM_EQ(key, want, 16);
}

TEST(stun_rfc8489_b1_sha256)
{
    uint8_t buf[512];
    size_t n = read_vec("turn/rfc8489-B1-errata6268-request.bin", buf, sizeof buf);
    ASSERT_EQ(n, 164);
    struct stun_msg m;
    ASSERT_EQ(stun_parse(buf, n, &m), 0);
    ASSERT_EQ(m.method, STUN_BINDING);
    ASSERT(attr_is(&m, STUN_A_NONCE, "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA"));
    ASSERT(attr_is(&m, STUN_A_REALM, "example.org"));
    /* USERHASH = SHA-256(username ":" realm) */
    uint8_t h[32], want[32];
    br_sha256_context c;
    br_sha256_init(&c);
    br_sha256_update(&c, matrix_user, strlen(matrix_user));
    br_sha256_update(&c, ":example.org", 12);
    br_sha256_out(&c, h);
    hex("4a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704", want, 32);
    ASSERT_MEM_EQ(h, want, 32);
    const struct stun_attr *uh = stun_find(&m, STUN_A_USERHASH);
    ASSERT(uh && uh->len == 32);
    ASSERT_MEM_EQ(uh->val, want, 32);
    const struct stun_attr *pa = stun_find(&m, STUN_A_PASSWORD_ALGORITHM);
    ASSERT(pa && pa->len >= 4 && pa->val[0] == 0 && pa->val[1] == 2);
    /* Key for PASSWORD-ALGORITHM SHA-256. */
    uint8_t key[32];
    br_sha256_init(&c);
    br_sha256_update(&c, matrix_user, strlen(matrix_user));
    br_sha256_update(&c, ":example.org:TheMatrIX", 22);
    br_sha256_out(&c, key);
    ASSERT_EQ(stun_check_integrity_sha256(&m, key, 32), 0);
    uint8_t md5k[16];
    md5_key(matrix_user, "example.org", "TheMatrIX", md5k);
    ASSERT_EQ(stun_check_integrity_sha256(&m, md5k, 16), -EACCES);
    ASSERT_EQ(stun_check_integrity(&m, key, 32), -ENOENT);
}

TEST(stun_type_encoding)
{
    ASSERT_EQ(stun_type(STUN_BINDING, STUN_REQUEST), 0x0001);
    ASSERT_EQ(stun_type(STUN_BINDING, STUN_SUCCESS), 0x0101);
    ASSERT_EQ(stun_type(STUN_BINDING, STUN_ERROR), 0x0111);
    ASSERT_EQ(stun_type(TURN_ALLOCATE, STUN_REQUEST), 0x0003);
    ASSERT_EQ(stun_type(TURN_ALLOCATE, STUN_ERROR), 0x0113);
    ASSERT_EQ(stun_type(TURN_SEND, STUN_INDICATION), 0x0016);
    ASSERT_EQ(stun_type(TURN_DATA, STUN_INDICATION), 0x0017);
    ASSERT_EQ(stun_type(TURN_CHANNEL_BIND, STUN_SUCCESS), 0x0109);
    ASSERT_EQ(stun_type(0xFFF, STUN_ERROR), 0x3FFF);
    /* Every type decodes back to its method and class. */
    for (unsigned t = 0; t < 0x4000; t++) {
        uint8_t b[20] = { (uint8_t)(t >> 8), (uint8_t)t, 0, 0, 0x21, 0x12, 0xA4, 0x42 };
        struct stun_msg m;
        ASSERT_EQ(stun_parse(b, 20, &m), 0);
        ASSERT_EQ(stun_type(m.method, m.cls), t);
    }
}

TEST(stun_round_trip)
{
    static const uint8_t tid[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
    uint8_t buf[1024];
    struct stun_builder b;
    stun_build_init(&b, buf, sizeof buf, TURN_ALLOCATE, STUN_SUCCESS, tid);
    struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(49152) };
    inet_pton(AF_INET, "203.0.113.7", &a4.sin_addr);
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(3478) };
    inet_pton(AF_INET6, "2001:db8::42", &a6.sin6_addr);
    stun_put_xor_addr(&b, STUN_A_XOR_RELAYED_ADDRESS, (struct sockaddr *)&a4);
    stun_put_xor_addr(&b, STUN_A_XOR_MAPPED_ADDRESS, (struct sockaddr *)&a6);
    stun_put_u32(&b, STUN_A_LIFETIME, 600);
    stun_put(&b, STUN_A_SOFTWARE, "T9phone", 7);
    uint16_t unk[3] = { 0x0031, 0x0032, 0x0033 };
    stun_put_unknown(&b, unk, 3);
    stun_put_error(&b, 438, stun_reason(438));
    static const uint8_t key[16] = "0123456789abcdef";
    stun_put_integrity(&b, key, 16);
    stun_put_integrity_sha256(&b, key, 16);
    stun_put_fingerprint(&b);
    long n = stun_build_end(&b);
    ASSERT(n > 0);
    ASSERT_EQ(n % 4, 0);

    struct stun_msg m;
    ASSERT_EQ(stun_parse(buf, (size_t)n, &m), 0);
    ASSERT_EQ(m.method, TURN_ALLOCATE);
    ASSERT_EQ(m.cls, STUN_SUCCESS);
    ASSERT_MEM_EQ(m.tid, tid, 12);
    struct sockaddr_storage ss;
    ASSERT_EQ(stun_get_xor_addr(&m, stun_find(&m, STUN_A_XOR_RELAYED_ADDRESS), &ss), 0);
    ASSERT_MEM_EQ(&ss, &a4, sizeof a4);
    ASSERT_EQ(stun_get_xor_addr(&m, stun_find(&m, STUN_A_XOR_MAPPED_ADDRESS), &ss), 0);
    ASSERT_EQ(((struct sockaddr_in6 *)&ss)->sin6_port, a6.sin6_port);
    ASSERT_MEM_EQ(&((struct sockaddr_in6 *)&ss)->sin6_addr, &a6.sin6_addr, 16);
    uint32_t life;
    ASSERT_EQ(stun_get_u32(stun_find(&m, STUN_A_LIFETIME), &life), 0);
    ASSERT_EQ(life, 600);
    ASSERT(attr_is(&m, STUN_A_SOFTWARE, "T9phone"));
    const struct stun_attr *u = stun_find(&m, STUN_A_UNKNOWN_ATTRIBUTES);
    ASSERT(u && u->len == 6 && u->val[1] == 0x31 && u->val[5] == 0x33);
    int code;
    const char *reason;
    size_t rlen;
    ASSERT_EQ(stun_get_error(stun_find(&m, STUN_A_ERROR_CODE), &code, &reason, &rlen), 0);
    ASSERT_EQ(code, 438);
    ASSERT_EQ(rlen, strlen("Stale Nonce"));
    ASSERT_EQ(stun_check_integrity(&m, key, 16), 0);
    ASSERT_EQ(stun_check_integrity_sha256(&m, key, 16), 0);
    ASSERT_EQ(stun_check_fingerprint(&m), 1);
}

TEST(stun_attrs_after_integrity_ignored)
{
    static const uint8_t tid[12] = { 0 };
    uint8_t buf[256];
    struct stun_builder b;
    stun_build_init(&b, buf, sizeof buf, STUN_BINDING, STUN_REQUEST, tid);
    stun_put(&b, STUN_A_USERNAME, "u", 1);
    stun_put_integrity(&b, (const uint8_t *)"k", 1);
    stun_put(&b, STUN_A_REALM, "r", 1);
    stun_put_fingerprint(&b);
    long n = stun_build_end(&b);
    ASSERT(n > 0);
    struct stun_msg m;
    ASSERT_EQ(stun_parse(buf, (size_t)n, &m), 0);
    ASSERT(stun_find(&m, STUN_A_REALM) == NULL);
    ASSERT(stun_find(&m, STUN_A_USERNAME) != NULL);
    ASSERT_EQ(stun_check_integrity(&m, (const uint8_t *)"k", 1), 0);
    ASSERT_EQ(stun_check_fingerprint(&m), 1);
}

TEST(stun_builder_overflow)
{
    static const uint8_t tid[12] = { 0 };
    uint8_t buf[32];
    struct stun_builder b;
    stun_build_init(&b, buf, sizeof buf, STUN_BINDING, STUN_REQUEST, tid);
    stun_put(&b, STUN_A_USERNAME, "12345678", 8);
    ASSERT_EQ(stun_build_end(&b), 32);
    stun_put(&b, STUN_A_REALM, "x", 1);
    ASSERT_EQ(stun_build_end(&b), -ENOSPC);
    stun_build_init(&b, buf, 10, STUN_BINDING, STUN_REQUEST, tid);
    ASSERT_EQ(stun_build_end(&b), -ENOSPC);
    stun_build_init(&b, buf, sizeof buf, STUN_BINDING, STUN_REQUEST, tid);
    stun_put_error(&b, 200, "no");
    ASSERT_EQ(stun_build_end(&b), -EINVAL);
}

TEST(stun_malformed)
{
    uint8_t good[512];
    size_t n = read_vec("rfc5769/sample-request.bin", good, sizeof good);
    struct stun_msg m;
    uint8_t buf[512];

    /* Every truncation fails cleanly. */
    for (size_t i = 0; i < n; i++)
        ASSERT(stun_parse(good, i, &m) < 0);

    /* Top bits set, bad cookie, odd length, length beyond the data. */
    memcpy(buf, good, n);
    buf[0] |= 0x80;
    ASSERT_EQ(stun_parse(buf, n, &m), -EBADMSG);
    memcpy(buf, good, n);
    buf[4] ^= 1;
    ASSERT_EQ(stun_parse(buf, n, &m), -EBADMSG);
    memcpy(buf, good, n);
    buf[3] += 1;
    ASSERT_EQ(stun_parse(buf, n, &m), -EBADMSG);
    memcpy(buf, good, n);
    ASSERT_EQ(stun_parse(buf, n + 4, &m), -EBADMSG);

    /* An attribute length running past the end. */
    memcpy(buf, good, n);
    buf[22] = 0xFF;
    ASSERT_EQ(stun_parse(buf, n, &m), -EBADMSG);

    /* MESSAGE-INTEGRITY with a wrong size; FINGERPRINT not last. */
    static const uint8_t tid[12] = { 0 };
    struct stun_builder b;
    stun_build_init(&b, buf, sizeof buf, STUN_BINDING, STUN_REQUEST, tid);
    stun_put(&b, STUN_A_MESSAGE_INTEGRITY, "short", 5);
    ASSERT_EQ(stun_parse(buf, (size_t)stun_build_end(&b), &m), -EBADMSG);
    stun_build_init(&b, buf, sizeof buf, STUN_BINDING, STUN_REQUEST, tid);
    stun_put_fingerprint(&b);
    stun_put(&b, STUN_A_SOFTWARE, "x", 1);
    ASSERT_EQ(stun_parse(buf, (size_t)stun_build_end(&b), &m), -EBADMSG);

    /* Too many attributes. */
    stun_build_init(&b, buf, sizeof buf, STUN_BINDING, STUN_REQUEST, tid);
    for (int i = 0; i < STUN_MAX_ATTRS + 1; i++)
        stun_put(&b, STUN_A_PADDING, NULL, 0);
    ASSERT_EQ(stun_parse(buf, (size_t)stun_build_end(&b), &m), -E2BIG);

    /* Bad address attributes. */
    struct stun_attr a = { STUN_A_XOR_PEER_ADDRESS, 8, (const uint8_t *)"\0\x03\0\0\0\0\0\0" };
    struct sockaddr_storage ss;
    stun_build_init(&b, buf, sizeof buf, STUN_BINDING, STUN_REQUEST, tid);
    ASSERT_EQ(stun_parse(buf, 20, &m), 0);
    ASSERT_EQ(stun_get_xor_addr(&m, &a, &ss), -EBADMSG);
    a.val = (const uint8_t *)"\0\x02\0\0\0\0\0\0";
    ASSERT_EQ(stun_get_xor_addr(&m, &a, &ss), -EBADMSG);
    a.len = 3;
    ASSERT_EQ(stun_get_addr(&a, &ss), -EBADMSG);
}

TEST(stun_framing_and_channeldata)
{
    uint8_t cd[12] = { 0x40, 0x01, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0 };
    ASSERT(stun_is_channeldata(cd, sizeof cd));
    ASSERT_EQ(stun_frame_len(cd, 3), 0);
    ASSERT_EQ(stun_frame_len(cd, sizeof cd), 12);
    uint16_t ch;
    const uint8_t *d;
    size_t dl;
    ASSERT_EQ(stun_parse_channeldata(cd, 9, &ch, &d, &dl), 0);
    ASSERT_EQ(ch, 0x4001);
    ASSERT_EQ(dl, 5);
    ASSERT_MEM_EQ(d, "hello", 5);
    ASSERT_EQ(stun_parse_channeldata(cd, 8, &ch, &d, &dl), -EBADMSG);
    uint8_t st[20] = { 0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xA4, 0x42 };
    ASSERT_EQ(stun_frame_len(st, 4), 28);
    ASSERT(stun_is_stun(st, 20));
    st[3] = 7;
    ASSERT_EQ(stun_frame_len(st, 4), -EBADMSG);
    uint8_t bad[4] = { 0x80, 0, 0, 0 };
    ASSERT_EQ(stun_frame_len(bad, 4), -EBADMSG);
    ASSERT(!stun_is_stun(bad, 4));
}

TEST(stun_crc32_known_answer)
{
    ASSERT_EQ(stun_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
    ASSERT_EQ(stun_crc32((const uint8_t *)"", 0), 0);
}
