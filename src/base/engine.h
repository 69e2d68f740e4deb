/*
 * base/engine.h - what main.c knows of a protocol engine (TURN, SIP, portal,
 * metrics, maintenance), and what an engine is handed at start.
 *
 * main.c holds one static table of `const struct engine *`. `serve` starts
 * them in table order; when one fails, the ones already started are stopped
 * in reverse order through the same path SIGTERM takes, then the loop runs
 * until every handle is closed. SIGHUP re-reads the shared TLS credentials
 * once (net/tls.h) and then calls each engine's reload. `t9phone keys` and
 * the configuration loader see every engine's keys through the table.
 *
 * Engines never include each other: what one needs from the domain comes
 * through core/ (and its small adapters live in the engine's own folder,
 * e.g. turn/engine.c adapts core/sipcred.h to struct turn_auth).
 */
#ifndef T9_BASE_ENGINE_H
#define T9_BASE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/config.h"
#include "net/metrics.h"

struct store;
struct core_cfg;
struct tls_server;
struct net_fd_use;

/* The environment every engine is started with. Everything it points to
 * outlives every engine (main owns it). */
struct engine_env {
    uv_loop_t *loop;
    const config_t *cfg;
    struct store *st;            /* the one SQLite connection, loop thread only */
    const struct core_cfg *core; /* realm and secret key for core/ calls */
    /* The shared TLS server credentials, or NULL when `cert`/`pkey` are not
     * set. One SIGHUP reloads it for every engine; connections keep the
     * credentials they started with. */
    struct tls_server *tls;
    /* Counters of every engine, for the metrics engine: the table itself. */
    const struct engine *const *engines;
    void *const *states; /* states[i] is engines[i]'s state, NULL if not started */
    size_t nengines;
};

/* The callback an engine's stop was given, kept until its last handle is
 * closed. Run it after the state is freed (so take a copy first): it may
 * close the loop's last handle and end `serve`. */
struct engine_done {
    void (*fn)(void *arg);
    void *arg;
};

static inline void engine_done_run(struct engine_done d)
{
    if (d.fn)
        d.fn(d.arg);
}

struct engine {
    const char *name;                /* "turn", "sip", "portal", ... */
    const struct config_key *keys;   /* NULL-terminated table, or NULL */
    /* Starts serving. Returns 0 with *state set, or a negative errno with a
     * message in err that never names a client. An engine that is configured
     * off returns 0 with *state = NULL. */
    int (*start)(const struct engine_env *env, void **state, char *err, size_t errlen);
    /* Closes every handle; done(arg) runs once they are all closed and the
     * state is freed. Called once, never with a NULL state. */
    void (*stop)(void *state, void (*done)(void *arg), void *arg);
    /* After SIGHUP (the shared TLS credentials are already re-read); may be
     * NULL. */
    void (*reload)(void *state);
    /* Appends the engine's aggregate counters (never per user, address or
     * call) in Prometheus text format; may be NULL. */
    void (*metrics)(void *state, struct metrics_out *m);
    /* The file descriptors the engine may hold at most with cfg, for the
     * process-wide budget main checks before any engine starts
     * (net_fd_budget in net/conn.h): fills up to max entries, returns how
     * many. May be NULL (a handful of descriptors, inside the reserve). */
    size_t (*fd_uses)(const config_t *cfg, struct net_fd_use *uses, size_t max);
};

#endif
