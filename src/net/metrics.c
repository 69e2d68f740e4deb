/*
 * net/metrics.c - see metrics.h.
 */
#include "net/metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void metrics_out_init(struct metrics_out *m, char *buf, size_t cap)
{
    memset(m, 0, sizeof *m);
    m->buf = buf;
    m->cap = cap;
    if (cap)
        buf[0] = '\0';
}

int metrics_out_overflowed(const struct metrics_out *m)
{
    return m->overflow;
}

/* Writes the family header (when the family changes) and one sample as one
 * unit: either all of it fits or nothing is kept. */
static int metrics_sample(struct metrics_out *m, const char *name, const char *help,
                          const char *type, const char *labels, const char *value)
{
    size_t start = m->len;
    int header = strcmp(m->last, name) != 0;
    int w = 0;
    if (m->cap <= m->len) {
        m->overflow = 1;
        return -ENOSPC;
    }
    size_t room = m->cap - m->len;
    if (header)
        w = snprintf(m->buf + m->len, room, "# HELP %s %s\n# TYPE %s %s\n", name,
                     help ? help : name, name, type);
    if (w < 0 || (size_t)w >= room)
        goto full;
    m->len += (size_t)w;
    room = m->cap - m->len;
    if (labels && labels[0])
        w = snprintf(m->buf + m->len, room, "%s{%s} %s\n", name, labels, value);
    else
        w = snprintf(m->buf + m->len, room, "%s %s\n", name, value);
    if (w < 0 || (size_t)w >= room)
        goto full;
    m->len += (size_t)w;
    if (header)
        snprintf(m->last, sizeof m->last, "%s", name);
    return 0;
full:
    m->len = start;
    m->buf[start] = '\0';
    m->overflow = 1;
    return -ENOSPC;
}

int metrics_counter(struct metrics_out *m, const char *name, const char *help,
                    const char *labels, uint64_t value)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRIu64, value);
    return metrics_sample(m, name, help, "counter", labels, v);
}

int metrics_gauge(struct metrics_out *m, const char *name, const char *help,
                  const char *labels, int64_t value)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, value);
    return metrics_sample(m, name, help, "gauge", labels, v);
}
