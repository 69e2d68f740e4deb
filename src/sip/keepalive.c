/*
 * sip/keepalive.c - STUN Binding answers on the SIP UDP port. See
 * keepalive.h.
 */
#include "sip/keepalive.h"

#include <string.h>

static const uint8_t cookie[4] = { 0x21, 0x12, 0xA4, 0x42 };

int sip_stun_is(const uint8_t *p, size_t n)
{
    if (n < 20 || (p[0] & 0xC0) != 0 || memcmp(p + 4, cookie, 4) != 0)
        return 0;
    size_t len = (size_t)p[2] << 8 | p[3];
    return (len & 3) == 0 && len + 20 == n;
}

size_t sip_stun_answer(const uint8_t *p, size_t n, const struct sip_flow *src,
                       uint8_t out[SIP_STUN_ANSWER_MAX])
{
    if (!sip_stun_is(p, n) || p[0] != 0x00 || p[1] != 0x01)
        return 0;
    size_t alen = src->family == 6 ? 16 : 4;
    size_t vlen = 4 + alen;               /* XOR-MAPPED-ADDRESS value */
    size_t total = 20 + 4 + vlen;
    out[0] = 0x01;                        /* Binding success response */
    out[1] = 0x01;
    out[2] = (uint8_t)((4 + vlen) >> 8);
    out[3] = (uint8_t)(4 + vlen);
    memcpy(out + 4, p + 4, 16);           /* cookie and transaction id */
    uint8_t *a = out + 20;
    a[0] = 0x00;                          /* XOR-MAPPED-ADDRESS (0x0020) */
    a[1] = 0x20;
    a[2] = 0;
    a[3] = (uint8_t)vlen;
    a[4] = 0;
    a[5] = src->family == 6 ? 0x02 : 0x01;
    uint16_t xport = (uint16_t)(src->port ^ 0x2112);
    a[6] = (uint8_t)(xport >> 8);
    a[7] = (uint8_t)xport;
    /* The address is XORed with the cookie, then (IPv6) the transaction id. */
    for (size_t i = 0; i < alen; i++)
        a[8 + i] = (uint8_t)(src->ip[i] ^ p[4 + i]);
    return total;
}
