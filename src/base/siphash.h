/*
 * base/siphash.h - SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012), 64-bit output.
 *
 * A keyed pseudo-random function for hash tables whose keys clients
 * choose (TURN's allocation table, SIP's location table): without the
 * 16-byte key, which never leaves the process, nobody can aim entries at
 * one bucket. It is not a MAC for messages and not a password hash.
 *
 * Pure: no allocation, no globals, any alignment. The key is read, never
 * kept: callers wipe their own copy.
 */
#ifndef T9_BASE_SIPHASH_H
#define T9_BASE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

/* SipHash-2-4 of p[n] under key (the paper's k0 || k1, bytes in order).
 * The result is the paper's 64-bit value; written out little-endian it
 * gives the bytes of the reference implementation's test vectors. p may be
 * NULL when n is 0. */
uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *p, size_t n);

#endif
