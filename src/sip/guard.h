/*
 * sip/guard.h - failed digest authentications, counted per source address
 * and per claimed username, to slow and then refuse guessing (svcrack).
 *
 * Memory only, fixed size: two tables of counters, slots chosen by SipHash
 * under a per-process key (so an attacker cannot aim at one slot), 4-way
 * set associative; when a set is full the entry with the fewest failures
 * gives way. Nothing here can name a client: only 64-bit keyed tags are
 * kept, and they are never shown.
 *
 * The caller chooses what an "address" is (sip/auth.c: an IPv4 address or
 * an IPv6 /64).
 *
 * Policy (the thresholds are fields of struct sip_guard_cfg):
 *  - an address with `addr_slow` failures is answered after a delay;
 *    with `addr_refuse` it is refused for `refuse_secs`;
 *  - a username with `user_slow`/`user_refuse` failures slows/refuses only
 *    the addresses that have failed themselves, so a phone that keeps
 *    authenticating correctly from elsewhere is never locked out by a
 *    guesser hammering its username;
 *  - counts fall to zero `forget_secs` after the last failure.
 * Unknown and existing usernames are counted alike, so the guard leaks
 * nothing about which exist. Success does not clear an address (an account
 * holder could otherwise interleave good logins with guesses at others).
 *
 * Pure code: time is passed in (seconds).
 */
#ifndef T9_SIP_GUARD_H
#define T9_SIP_GUARD_H

#include <stddef.h>
#include <stdint.h>

struct sip_guard_cfg {
    uint32_t addr_slow, addr_refuse;
    uint32_t user_slow, user_refuse;
    uint32_t refuse_secs, forget_secs;
    size_t entries;            /* per table, rounded up to a multiple of 4 */
};

enum sip_guard_verdict { SIP_GUARD_OK = 0, SIP_GUARD_SLOW = 1, SIP_GUARD_REFUSE = 2 };

struct sip_guard;

/* NULL on OOM, zero entries, or a refuse threshold below its slow one. */
struct sip_guard *sip_guard_new(const uint8_t key[16], const struct sip_guard_cfg *cfg);
void sip_guard_free(struct sip_guard *g);

/* What to do with a request carrying credentials from addr for user,
 * before they are checked. For SIP_GUARD_REFUSE, *retry_after gets the
 * seconds left (at least 1). */
enum sip_guard_verdict sip_guard_check(struct sip_guard *g, const void *addr, size_t alen,
                                       const char *user, size_t ulen, uint32_t now,
                                       uint32_t *retry_after);

/* Counts one failed authentication of user from addr. */
void sip_guard_fail(struct sip_guard *g, const void *addr, size_t alen, const char *user,
                    size_t ulen, uint32_t now);

/* Bytes the guard holds. */
size_t sip_guard_bytes(const struct sip_guard *g);

#endif
