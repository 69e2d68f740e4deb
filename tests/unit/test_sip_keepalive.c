/*
 * test_sip_keepalive.c - STUN Binding answers on the SIP UDP port, checked
 * against RFC 5769 2.2's sample response: XOR-MAPPED-ADDRESS of
 * 192.0.2.1:32853 under transaction id b7e7a701bc34d686fa87dfae is
 * 00 01 a1 47 e1 12 a6 43.
 */
#include "t.h"

#include "sip/keepalive.h"

static const uint8_t req[20] = {
    0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42,
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
};

TEST(sip_stun_binding_answer_ipv4)
{
    struct sip_flow f = { { 192, 0, 2, 1 }, 32853, 4, SIP_TR_UDP, 0, 0 };
    uint8_t out[SIP_STUN_ANSWER_MAX];
    ASSERT(sip_stun_is(req, sizeof req));
    ASSERT_EQ(sip_stun_answer(req, sizeof req, &f, out), 32);
    static const uint8_t head[4] = { 0x01, 0x01, 0x00, 0x0c };
    ASSERT_MEM_EQ(out, head, 4);
    ASSERT_MEM_EQ(out + 4, req + 4, 16);
    static const uint8_t attr[12] = { 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47,
                                      0xe1, 0x12, 0xa6, 0x43 };
    ASSERT_MEM_EQ(out + 20, attr, 12);
}

TEST(sip_stun_binding_answer_ipv6_and_refusals)
{
    struct sip_flow f = { { 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78, 0x00, 0x11, 0x22,
                            0x33, 0x44, 0x55, 0x66, 0x77 }, 32853, 6, SIP_TR_UDP, 0, 0 };
    uint8_t out[SIP_STUN_ANSWER_MAX];
    ASSERT_EQ(sip_stun_answer(req, sizeof req, &f, out), 44);
    /* RFC 5769 2.3's value for this address. */
    static const uint8_t x[16] = { 0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79,
                                   0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9 };
    ASSERT_EQ(out[3], 0x18);
    ASSERT_EQ(out[23], 0x14);
    ASSERT_EQ(out[25], 0x02);
    ASSERT_EQ(out[26], 0xa1);
    ASSERT_EQ(out[27], 0x47);
    ASSERT_MEM_EQ(out + 28, x, 16);
    uint8_t bad[20];
    memcpy(bad, req, 20);
    bad[1] = 0x03; /* Allocate: not ours */
    ASSERT_EQ(sip_stun_answer(bad, 20, &f, out), 0);
    ASSERT(!sip_stun_is((const uint8_t *)"REGISTER sip:x SIP/2.0\r\n", 24));
    ASSERT(!sip_stun_is(req, 19));
}
