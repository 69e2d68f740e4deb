/*
 * base/siphash.h - SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012), the keyed hash of every in-memory table that a
 * client's input picks the slot of (SIP location table, failure guard).
 *
 * Under a random per-process key, an attacker who does not know the key
 * cannot choose inputs that land in one bucket, so tables keyed this way
 * stay O(1) under hostile traffic. Pure code: no allocation, no globals.
 */
#ifndef T9_BASE_SIPHASH_H
#define T9_BASE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

/* SipHash-2-4 of len bytes (data may be NULL when len is 0) under a 16-byte
 * key, as the 64-bit value whose little-endian bytes are the reference
 * implementation's output. */
uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *data, size_t len);

#endif
