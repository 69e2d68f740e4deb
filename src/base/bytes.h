/*
 * base/bytes.h - big- and little-endian integer reads and writes on byte
 * buffers, defined once (BearSSL's inner.h br_enc16be/br_dec32be, as
 * inlines).
 *
 * The buffers may be unaligned; nothing here checks bounds: the caller
 * has already checked that 2, 4 or 8 bytes are there. Wire formats of the
 * project (STUN, TURN ChannelData, SIP later) are big-endian; the little-
 * endian reads serve SipHash (base/siphash.h).
 */
#ifndef T9_BASE_BYTES_H
#define T9_BASE_BYTES_H

#include <stdint.h>

static inline uint16_t bytes_rd16be(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t bytes_rd32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void bytes_wr16be(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void bytes_wr32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint64_t bytes_rd64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static inline void bytes_wr64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

#endif
