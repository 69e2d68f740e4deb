/*
 * net/metrics.h - Prometheus text exposition (format 0.0.4) into a
 * caller-owned buffer.
 *
 * Engines write aggregate counters only: a label may name a cause, a status
 * code or a transport, never a user, an address or a call. The writer never
 * allocates; output that does not fit is cut at the last whole line and the
 * writer remembers it overflowed (metrics_out_overflowed), so a scrape never
 * sees half a sample.
 *
 * Names follow the convention t9phone_<engine>_<what>[_total]; every family
 * gets its # HELP and # TYPE lines once, before its first sample, provided
 * samples of one family are written together.
 */
#ifndef T9_NET_METRICS_H
#define T9_NET_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics_out {
    char *buf;
    size_t cap;
    size_t len;
    int overflow;
    char last[96]; /* the family whose HELP/TYPE lines were written last */
};

/* Points the writer at buf[cap]; len starts at 0. */
void metrics_out_init(struct metrics_out *m, char *buf, size_t cap);

/* One sample of a counter (monotonic) or a gauge. labels is NULL or the
 * inside of the braces, e.g. "cause=\"quota\"" (the caller's constant
 * text: values here are never user input). help is written with the first
 * sample of the family. Returns 0 or -ENOSPC (nothing written). */
int metrics_counter(struct metrics_out *m, const char *name, const char *help,
                    const char *labels, uint64_t value);
int metrics_gauge(struct metrics_out *m, const char *name, const char *help,
                  const char *labels, int64_t value);

/* 1 once a sample did not fit. */
int metrics_out_overflowed(const struct metrics_out *m);

#endif
