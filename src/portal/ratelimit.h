/*
 * portal/ratelimit.h - per-address attempt counters, in memory only.
 *
 * A fixed-size table of slots keyed by HMAC-SHA256(key, action, address)
 * truncated to 64 bits, with a key drawn at start: the table holds no
 * address, and a slot's count is forgotten when its window ends (the slot
 * is wiped on next use). When the probed slots are all live, the oldest
 * window is evicted, so memory never grows.
 */
#ifndef T9_PORTAL_RATELIMIT_H
#define T9_PORTAL_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PORTAL_RL_SLOTS 4096
#define PORTAL_RL_WINDOW 600 /* seconds */

struct portal_ratelimit;

/* 0 or -ENOMEM (or the random source's error). */
int portal_rl_new(struct portal_ratelimit **out);
void portal_rl_free(struct portal_ratelimit *rl);

/* Counts one attempt of action by the address; returns the count in the
 * current window including this one. */
unsigned portal_rl_hit(struct portal_ratelimit *rl, int action, const void *addr,
                       size_t addrlen, int64_t now);
/* The count without counting. */
unsigned portal_rl_peek(struct portal_ratelimit *rl, int action, const void *addr,
                        size_t addrlen, int64_t now);

#endif
