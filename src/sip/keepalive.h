/*
 * sip/keepalive.h - STUN Binding on the SIP UDP port (RFC 5626 3.5.2,
 * RFC 8489): the keep-alive outbound phones send, answered with the
 * source address they are seen from.
 *
 * Only what a keep-alive needs: a Binding request with the magic cookie is
 * answered with a success response carrying XOR-MAPPED-ADDRESS; every
 * other STUN message is dropped. The full STUN codec lives with TURN,
 * which is another engine. Pure code.
 */
#ifndef T9_SIP_KEEPALIVE_H
#define T9_SIP_KEEPALIVE_H

#include <stddef.h>
#include <stdint.h>

#include "sip/location.h"

#define SIP_STUN_ANSWER_MAX 44

/* 1 when the datagram looks like STUN (first two bits zero, the magic
 * cookie, a length matching the datagram): not SIP. */
int sip_stun_is(const uint8_t *p, size_t n);

/* For a Binding request, writes the success response for src into out and
 * returns its length (32 or 44 bytes); 0 for anything else (drop it). */
size_t sip_stun_answer(const uint8_t *p, size_t n, const struct sip_flow *src,
                       uint8_t out[SIP_STUN_ANSWER_MAX]);

#endif
