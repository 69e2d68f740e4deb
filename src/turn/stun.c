/*
 * turn/stun.c - STUN/TURN message codec. See stun.h.
 */
#include "turn/stun.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <bearssl.h>

#include "base/bytes.h"
#include "crypto/hash.h"

/* Table-driven CRC-32 (reflected polynomial 0xEDB88320, as zlib), for
 * FINGERPRINT. BearSSL has none; a constant table keeps the codec free of
 * mutable state. */
static const uint32_t crc_table[256] = {
    0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu,
    0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u,
    0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u,
    0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
    0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
    0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
    0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
    0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
    0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u,
    0xcfba9599u, 0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
    0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u, 0x01db7106u,
    0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
    0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du,
    0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
    0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
    0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
    0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u,
    0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
    0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau,
    0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
    0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
    0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au,
    0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u,
    0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
    0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
    0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu,
    0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u, 0xa1d1937eu,
    0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
    0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u,
    0x316e8eefu, 0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
    0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u,
    0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
    0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu,
    0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u,
    0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
    0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
    0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u,
    0x616bffd3u, 0x166ccf45u, 0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u,
    0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu,
    0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
    0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u,
    0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
    0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
};

uint32_t stun_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

uint16_t stun_type(uint16_t method, uint8_t cls)
{
    return (uint16_t)((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) |
                      ((cls & 1) << 4) | ((cls & 2) << 7));
}

int stun_is_stun(const uint8_t *buf, size_t len)
{
    return len >= STUN_HEADER_LEN && (buf[0] & 0xC0) == 0 && bytes_rd32be(buf + 4) == STUN_MAGIC;
}

int stun_is_channeldata(const uint8_t *buf, size_t len)
{
    return len >= 4 && (buf[0] & 0xC0) == 0x40;
}

int stun_parse_channeldata(const uint8_t *buf, size_t len, uint16_t *chan, const uint8_t **data,
                           size_t *dlen)
{
    if (!stun_is_channeldata(buf, len))
        return -EBADMSG;
    size_t n = bytes_rd16be(buf + 2);
    if (4 + n > len)
        return -EBADMSG;
    *chan = bytes_rd16be(buf);
    *data = buf + 4;
    *dlen = n;
    return 0;
}

long stun_frame_len(const uint8_t *buf, size_t avail)
{
    if (avail < 4)
        return 0;
    size_t n = bytes_rd16be(buf + 2);
    switch (buf[0] & 0xC0) {
    case 0x00:
        if (n % 4 != 0)
            return -EBADMSG;
        return (long)(STUN_HEADER_LEN + n);
    case 0x40:
        return (long)(4 + ((n + 3) & ~(size_t)3));
    default:
        return -EBADMSG;
    }
}

int stun_parse(const uint8_t *buf, size_t len, struct stun_msg *m)
{
    if (len < STUN_HEADER_LEN || (buf[0] & 0xC0) != 0 || bytes_rd32be(buf + 4) != STUN_MAGIC)
        return -EBADMSG;
    size_t blen = bytes_rd16be(buf + 2);
    if (blen % 4 != 0 || STUN_HEADER_LEN + blen != len)
        return -EBADMSG;

    uint16_t t = bytes_rd16be(buf);
    m->buf = buf;
    m->len = len;
    m->method = (uint16_t)((t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2));
    m->cls = (uint8_t)(((t & 0x0010) >> 4) | ((t & 0x0100) >> 7));
    m->tid = buf + 8;
    m->nattrs = 0;
    m->mi_off = m->mi256_off = m->fp_off = -1;

    size_t off = STUN_HEADER_LEN;
    while (off < len) {
        if (len - off < 4)
            return -EBADMSG;
        uint16_t type = bytes_rd16be(buf + off);
        size_t alen = bytes_rd16be(buf + off + 2);
        size_t padded = (alen + 3) & ~(size_t)3;
        if (padded > len - off - 4)
            return -EBADMSG;
        if (m->fp_off >= 0)
            return -EBADMSG; /* nothing may follow FINGERPRINT */

        int keep = 1;
        switch (type) {
        case STUN_A_MESSAGE_INTEGRITY:
            if (m->mi_off >= 0 || m->mi256_off >= 0) {
                keep = 0; /* ignored after integrity */
                break;
            }
            if (alen != 20)
                return -EBADMSG;
            m->mi_off = (int)off;
            break;
        case STUN_A_MESSAGE_INTEGRITY_SHA256:
            if (m->mi256_off >= 0) {
                keep = 0;
                break;
            }
            if (alen < 16 || alen > 32 || alen % 4 != 0)
                return -EBADMSG;
            m->mi256_off = (int)off;
            break;
        case STUN_A_FINGERPRINT:
            if (alen != 4)
                return -EBADMSG;
            m->fp_off = (int)off;
            break;
        default:
            if (m->mi_off >= 0 || m->mi256_off >= 0)
                keep = 0;
        }
        if (keep) {
            if (m->nattrs == STUN_MAX_ATTRS)
                return -E2BIG;
            struct stun_attr *a = &m->attrs[m->nattrs++];
            a->type = type;
            a->len = (uint16_t)alen;
            a->val = buf + off + 4;
        }
        off += 4 + padded;
    }
    return 0;
}

const struct stun_attr *stun_find_next(const struct stun_msg *m, uint16_t type,
                                       const struct stun_attr *prev)
{
    size_t i = prev ? (size_t)(prev - m->attrs) + 1 : 0;
    for (; i < m->nattrs; i++)
        if (m->attrs[i].type == type)
            return &m->attrs[i];
    return NULL;
}

const struct stun_attr *stun_find(const struct stun_msg *m, uint16_t type)
{
    return stun_find_next(m, type, NULL);
}

static int get_addr(const struct stun_attr *a, const uint8_t *xmask, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    if (a->len < 4)
        return -EBADMSG;
    uint16_t port = bytes_rd16be(a->val + 2);
    if (xmask)
        port ^= (uint16_t)(STUN_MAGIC >> 16);
    switch (a->val[1]) {
    case STUN_FAMILY_IPV4: {
        if (a->len != 8)
            return -EBADMSG;
        struct sockaddr_in *s = (struct sockaddr_in *)out;
        s->sin_family = AF_INET;
        s->sin_port = htons(port);
        uint8_t *d = (uint8_t *)&s->sin_addr;
        for (int i = 0; i < 4; i++)
            d[i] = a->val[4 + i] ^ (xmask ? xmask[i] : 0);
        return 0;
    }
    case STUN_FAMILY_IPV6: {
        if (a->len != 20)
            return -EBADMSG;
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)out;
        s->sin6_family = AF_INET6;
        s->sin6_port = htons(port);
        uint8_t *d = (uint8_t *)&s->sin6_addr;
        for (int i = 0; i < 16; i++)
            d[i] = a->val[4 + i] ^ (xmask ? xmask[i] : 0);
        return 0;
    }
    default:
        return -EBADMSG;
    }
}

int stun_get_xor_addr(const struct stun_msg *m, const struct stun_attr *a,
                      struct sockaddr_storage *out)
{
    uint8_t mask[16];
    bytes_wr32be(mask, STUN_MAGIC);
    memcpy(mask + 4, m->tid, STUN_TID_LEN);
    return get_addr(a, mask, out);
}

int stun_get_addr(const struct stun_attr *a, struct sockaddr_storage *out)
{
    return get_addr(a, NULL, out);
}

int stun_get_u32(const struct stun_attr *a, uint32_t *out)
{
    if (a->len != 4)
        return -EBADMSG;
    *out = bytes_rd32be(a->val);
    return 0;
}

int stun_get_error(const struct stun_attr *a, int *code, const char **reason, size_t *reason_len)
{
    if (a->len < 4)
        return -EBADMSG;
    int cls = a->val[2] & 0x07, num = a->val[3];
    if (cls < 3 || cls > 6 || num > 99)
        return -EBADMSG;
    *code = cls * 100 + num;
    *reason = (const char *)a->val + 4;
    *reason_len = a->len - 4u;
    return 0;
}

int stun_check_fingerprint(const struct stun_msg *m)
{
    if (m->fp_off < 0)
        return 0;
    /* FINGERPRINT is last, so the header length already covers it. */
    uint32_t crc = stun_crc32(m->buf, (size_t)m->fp_off) ^ STUN_FINGERPRINT_XOR;
    return crc == bytes_rd32be(m->buf + m->fp_off + 4) ? 1 : -EBADMSG;
}

/* HMAC over the message up to the attribute at off, with the header length
 * rewritten so that it ends right after that attribute (of size alen). */
static void mac_upto(const br_hash_class *h, const uint8_t *buf, size_t off, size_t alen,
                     const uint8_t *key, size_t keylen, uint8_t *out)
{
    br_hmac_key_context kc;
    br_hmac_context hc;
    uint8_t hdr[STUN_HEADER_LEN];
    memcpy(hdr, buf, sizeof hdr);
    bytes_wr16be(hdr + 2, (uint16_t)(off + 4 + alen - STUN_HEADER_LEN));
    br_hmac_key_init(&kc, h, key, keylen);
    br_hmac_init(&hc, &kc, 0);
    br_hmac_update(&hc, hdr, sizeof hdr);
    br_hmac_update(&hc, buf + STUN_HEADER_LEN, off - STUN_HEADER_LEN);
    br_hmac_out(&hc, out);
    /* Both contexts hold key-derived state (the padded key's hash). */
    explicit_bzero(&kc, sizeof kc);
    explicit_bzero(&hc, sizeof hc);
}

int stun_check_integrity(const struct stun_msg *m, const uint8_t *key, size_t keylen)
{
    if (m->mi_off < 0)
        return -ENOENT;
    uint8_t mac[20];
    mac_upto(&br_sha1_vtable, m->buf, (size_t)m->mi_off, 20, key, keylen, mac);
    int ok = crypto_ct_equal(mac, m->buf + m->mi_off + 4, 20);
    explicit_bzero(mac, sizeof mac);
    return ok ? 0 : -EACCES;
}

int stun_check_integrity_sha256(const struct stun_msg *m, const uint8_t *key, size_t keylen)
{
    if (m->mi256_off < 0)
        return -ENOENT;
    size_t n = bytes_rd16be(m->buf + m->mi256_off + 2);
    uint8_t mac[32];
    mac_upto(&br_sha256_vtable, m->buf, (size_t)m->mi256_off, n, key, keylen, mac);
    int ok = crypto_ct_equal(mac, m->buf + m->mi256_off + 4, n);
    explicit_bzero(mac, sizeof mac);
    return ok ? 0 : -EACCES;
}

/* ----------------------------------------------------------------- builder */

static void set_len(struct stun_builder *b)
{
    bytes_wr16be(b->buf + 2, (uint16_t)(b->len - STUN_HEADER_LEN));
}

void stun_build_init(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t method,
                     uint8_t cls, const uint8_t tid[STUN_TID_LEN])
{
    b->buf = buf;
    b->cap = cap;
    b->len = 0;
    b->err = 0;
    if (cap < STUN_HEADER_LEN) {
        b->err = -ENOSPC;
        return;
    }
    bytes_wr16be(buf, stun_type(method, cls));
    bytes_wr16be(buf + 2, 0);
    bytes_wr32be(buf + 4, STUN_MAGIC);
    memcpy(buf + 8, tid, STUN_TID_LEN);
    b->len = STUN_HEADER_LEN;
}

/* Reserves room for an attribute of len value bytes, writes its header and
 * the padding, and returns where the value goes (or NULL). */
static uint8_t *reserve(struct stun_builder *b, uint16_t type, size_t len)
{
    if (b->err)
        return NULL;
    size_t padded = (len + 3) & ~(size_t)3;
    if (len > 0xFFFF || padded + 4 > b->cap - b->len || b->len + 4 + padded - STUN_HEADER_LEN > 0xFFFF) {
        b->err = -ENOSPC;
        return NULL;
    }
    uint8_t *p = b->buf + b->len;
    bytes_wr16be(p, type);
    bytes_wr16be(p + 2, (uint16_t)len);
    memset(p + 4 + len, 0, padded - len);
    b->len += 4 + padded;
    set_len(b);
    return p + 4;
}

void stun_put(struct stun_builder *b, uint16_t type, const void *val, size_t len)
{
    uint8_t *p = reserve(b, type, len);
    if (p && len)
        memcpy(p, val, len);
}

void stun_put_u32(struct stun_builder *b, uint16_t type, uint32_t v)
{
    uint8_t *p = reserve(b, type, 4);
    if (p)
        bytes_wr32be(p, v);
}

void stun_put_xor_addr(struct stun_builder *b, uint16_t type, const struct sockaddr *sa)
{
    if (b->err)
        return;
    uint8_t mask[16];
    bytes_wr32be(mask, STUN_MAGIC);
    memcpy(mask + 4, b->buf + 8, STUN_TID_LEN);
    const uint8_t *addr;
    size_t alen;
    uint16_t port;
    uint8_t fam;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        addr = (const uint8_t *)&s->sin_addr;
        alen = 4;
        port = ntohs(s->sin_port);
        fam = STUN_FAMILY_IPV4;
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
        addr = (const uint8_t *)&s->sin6_addr;
        alen = 16;
        port = ntohs(s->sin6_port);
        fam = STUN_FAMILY_IPV6;
    } else {
        b->err = -EAFNOSUPPORT;
        return;
    }
    uint8_t *p = reserve(b, type, 4 + alen);
    if (!p)
        return;
    p[0] = 0;
    p[1] = fam;
    bytes_wr16be(p + 2, port ^ (uint16_t)(STUN_MAGIC >> 16));
    for (size_t i = 0; i < alen; i++)
        p[4 + i] = addr[i] ^ mask[i];
}

void stun_put_error(struct stun_builder *b, int code, const char *reason)
{
    if (code < 300 || code > 699) {
        if (!b->err)
            b->err = -EINVAL;
        return;
    }
    size_t rlen = strlen(reason);
    if (rlen > 763)
        rlen = 763; /* RFC 8489: fewer than 128 characters, at most 763 bytes */
    uint8_t *p = reserve(b, STUN_A_ERROR_CODE, 4 + rlen);
    if (!p)
        return;
    p[0] = p[1] = 0;
    p[2] = (uint8_t)(code / 100);
    p[3] = (uint8_t)(code % 100);
    memcpy(p + 4, reason, rlen);
}

void stun_put_unknown(struct stun_builder *b, const uint16_t *types, size_t n)
{
    uint8_t *p = reserve(b, STUN_A_UNKNOWN_ATTRIBUTES, 2 * n);
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        bytes_wr16be(p + 2 * i, types[i]);
}

static void put_mac(struct stun_builder *b, uint16_t type, const br_hash_class *h, size_t n,
                    const uint8_t *key, size_t keylen)
{
    size_t off = b->len;
    uint8_t *p = reserve(b, type, n);
    if (!p)
        return;
    uint8_t mac[32];
    mac_upto(h, b->buf, off, n, key, keylen, mac);
    memcpy(p, mac, n);
}

void stun_put_integrity(struct stun_builder *b, const uint8_t *key, size_t keylen)
{
    put_mac(b, STUN_A_MESSAGE_INTEGRITY, &br_sha1_vtable, 20, key, keylen);
}

void stun_put_integrity_sha256(struct stun_builder *b, const uint8_t *key, size_t keylen)
{
    put_mac(b, STUN_A_MESSAGE_INTEGRITY_SHA256, &br_sha256_vtable, 32, key, keylen);
}

void stun_put_fingerprint(struct stun_builder *b)
{
    size_t off = b->len;
    uint8_t *p = reserve(b, STUN_A_FINGERPRINT, 4);
    if (p)
        bytes_wr32be(p, stun_crc32(b->buf, off) ^ STUN_FINGERPRINT_XOR);
}

long stun_build_end(const struct stun_builder *b)
{
    return b->err ? b->err : (long)b->len;
}

const char *stun_reason(int code)
{
    switch (code) {
    case 300: return "Try Alternate";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 420: return "Unknown Attribute";
    case 437: return "Allocation Mismatch";
    case 438: return "Stale Nonce";
    case 440: return "Address Family not Supported";
    case 441: return "Wrong Credentials";
    case 442: return "Unsupported Transport Protocol";
    case 443: return "Peer Address Family Mismatch";
    case 446: return "Connection Already Exists";
    case 447: return "Connection Timeout or Failure";
    case 486: return "Allocation Quota Reached";
    case 500: return "Server Error";
    case 508: return "Insufficient Capacity";
    default: return "Error";
    }
}
