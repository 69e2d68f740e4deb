/*
 * ops/metrics.h - the /metrics listener as an engine of main's table.
 *
 * Serves every engine's aggregate counters (base/engine.h `metrics`) in
 * Prometheus text format on its own HTTP listener, `metrics-ip` (loopback by
 * default: counters are for the operator, not the internet) and
 * `metrics-port` (0 turns it off). Nothing a scrape returns names a user,
 * an address or a call; the engines' writers guarantee it.
 */
#ifndef T9_OPS_METRICS_H
#define T9_OPS_METRICS_H

#include "base/engine.h"

extern const struct engine metrics_engine;

#endif
