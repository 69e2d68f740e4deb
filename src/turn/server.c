/*
 * turn/server.c - STUN/TURN server on libuv. See server.h; how the work is
 * shared between the turn/ modules is in turn/internal.h.
 */
#include "turn/server.h"

#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "crypto/random.h"
#include "net/tls.h"
#include "turn/alloc.h"
#include "turn/internal.h"
#include "turn/request.h"
#include "turn/transport.h"

/* ------------------------------------------------------------ handles */

static void server_free(struct turn_server *ts)
{
    turn_opts_free(&ts->o);
    free(ts->own_all);
    if (ts->own_tls)
        tls_server_free(ts->tls);
    explicit_bzero(ts->nonce_secret, sizeof ts->nonce_secret);
    explicit_bzero(ts->hash_key, sizeof ts->hash_key);
    free(ts);
}

/* The last handle of a stopping server closed (ts->last). */
static void on_last_handle(struct turn_server *ts)
{
    void (*done)(void *) = ts->done;
    void *arg = ts->done_arg;
    log_info("turn", "stopped: %llu allocations served, %llu packets relayed, %llu dropped",
             (unsigned long long)ts->n_alloc, (unsigned long long)ts->n_relayed,
             (unsigned long long)ts->n_dropped);
    server_free(ts);
    if (done)
        done(arg);
}

static void on_handle_closed(uv_handle_t *h)
{
    turn__handle_unref(h->data);
}

/* A stream connection left the transport: its allocation goes with it. */
static void on_conn_gone(struct turn_server *ts, struct net_conn *c)
{
    (void)ts;
    struct alloc *a = net_conn_data(c);
    if (a)
        turn__alloc_close(a);
}

/* ------------------------------------------------------------ own addresses */

/* Every address of the host's interfaces is "own" (a relay bound to one
 * address must not reach services on the others), beside the configured
 * listening, relay and external ones. Read at start and every
 * TURN_OWN_REFRESH_MS, since addresses come and go; a failed read keeps
 * the previous list. */
static void own_refresh(struct turn_server *ts)
{
    ts->own_read = now_ms(ts);
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) < 0)
        return;
    size_t nif = turn_peer_own_from_ifaddrs(ifa, NULL, 0);
    size_t n = ts->nown_cfg + nif;
    struct turn_ip_range *r = calloc(n ? n : 1, sizeof *r);
    if (r) {
        if (ts->nown_cfg)
            memcpy(r, ts->o.own, ts->nown_cfg * sizeof *r);
        turn_peer_own_from_ifaddrs(ifa, r + ts->nown_cfg, nif);
        free(ts->own_all);
        ts->own_all = r;
        ts->o.policy.own = r;
        ts->o.policy.nown = n;
    }
    freeifaddrs(ifa);
}

/* ------------------------------------------------------------ coalescing */

/* Runs just before the loop polls. Most of a relay's CPU is the kernel
 * waking it and the processes it sends to, once per loop turn (perf:
 * sock_def_readable and the context switch, about half of all), not the
 * per-packet work. So while packets are being relayed, turns are held at
 * least relay-coalesce-us apart: the next poll then finds every datagram
 * that came meanwhile, read with one recvmmsg per socket and answered with
 * one sendmmsg, and the receivers are woken once for the lot. A turn that
 * relayed nothing (SIP, the portal, an idle relay) is not delayed, nor one
 * that took that long by itself, nor one that relayed TURN_COALESCE_ENOUGH
 * packets already: batches are large by themselves then, and a pause
 * (which the scheduler may stretch to milliseconds on a busy CPU) would
 * only let the client-facing socket fill.
 * Started before the transport, so the connection layer's own prepare
 * handle (started later, run earlier: libuv runs them newest first) has
 * flushed what timers queued. */
static void on_coalesce(uv_prepare_t *h)
{
    struct turn_server *ts = h->data;
    uint64_t now = uv_hrtime();
    uint64_t relayed = ts->n_relayed - ts->coalesce_seen;
    if (relayed > 0 && relayed < TURN_COALESCE_ENOUGH) {
        uint64_t want = (uint64_t)ts->o.coalesce_us * 1000u;
        uint64_t since = now - ts->coalesce_last;
        if (since < want) {
            struct timespec d = { 0, (long)(want - since) };
            while (nanosleep(&d, &d) != 0 && errno == EINTR) {
            }
            ts->n_coalesced++;
            now = uv_hrtime();
        }
    }
    ts->coalesce_seen = ts->n_relayed;
    ts->coalesce_last = now;
}

/* ------------------------------------------------------------ timers */

static void on_sweep(uv_timer_t *t)
{
    struct turn_server *ts = t->data;
    uint64_t now = now_ms(ts);
    turn__alloc_sweep(ts, now);
    turn__resv_sweep(ts, 0);
    if (now - ts->own_read >= TURN_OWN_REFRESH_MS)
        own_refresh(ts);
    if (now - ts->last_stats >= 3600 * 1000ULL) {
        ts->last_stats = now;
        const struct net_conn_stats *cs = net_conns_stats(ts->net);
        log_info("turn", "%zu allocations, %llu connections; since start: %llu allocations, "
                         "%llu packets relayed, %llu dropped, %llu peers denied, %llu failed "
                         "authentications, %llu connections refused, %llu closed at a deadline",
                 ts->nallocs, (unsigned long long)cs->open, (unsigned long long)ts->n_alloc,
                 (unsigned long long)ts->n_relayed, (unsigned long long)ts->n_dropped,
                 (unsigned long long)ts->n_denied, (unsigned long long)ts->n_auth_fail,
                 (unsigned long long)(cs->refused_cap + cs->refused_source + cs->refused_nomem +
                                      cs->accept_errors),
                 (unsigned long long)(cs->closed_frame + cs->closed_idle + cs->closed_handshake +
                                      cs->closed_unauth));
        /* Issue 12's refusals, so that an attack shows in the log too. */
        const struct turn_refusals *f = &ts->ref;
        uint64_t sends = 0;
        for (int i = 0; i < TURN_SEND_NKINDS; i++)
            sends += f->send[i];
        log_info("turn", "since start: peers denied %llu own, %llu embedding IPv4, %llu "
                         "special-purpose; %llu send errors; refused %llu REST credentials "
                         "past max-rest-ttl, %llu reservations over user-quota, %llu channel "
                         "numbers out of range, %llu held",
                 (unsigned long long)f->peer[TURN_PEER_OWN],
                 (unsigned long long)f->peer[TURN_PEER_EMBEDDED],
                 (unsigned long long)f->peer[TURN_PEER_SPECIAL], (unsigned long long)sends,
                 (unsigned long long)f->rest_ttl, (unsigned long long)f->resv_quota,
                 (unsigned long long)f->chan_range, (unsigned long long)f->chan_held);
    }
}

/* ------------------------------------------------------------ start / stop */

size_t turn_fd_uses(const config_t *cfg, struct net_fd_use *uses, size_t max)
{
    uint64_t span = 0;
    long lo = config_int(cfg, "min-port"), hi = config_int(cfg, "max-port");
    if (hi >= lo)
        span = (uint64_t)(hi - lo + 1);
    uint64_t quota = (uint64_t)config_int(cfg, "total-quota");
    struct net_fd_use u[2] = {
        { "turn-max-connections", (uint64_t)config_int(cfg, "turn-max-connections") },
        { "min-port..max-port", span },
    };
    if (quota && 2 * quota < span)
        u[1] = (struct net_fd_use){ "total-quota (x2)", 2 * quota };
    size_t n = max < 2 ? max : 2;
    memcpy(uses, u, n * sizeof u[0]);
    return 2;
}

/* The machine's addresses, the default listening addresses. */
static size_t interfaces(union net_addr *out, size_t max)
{
    uv_interface_address_t *ifs;
    int nif;
    if (uv_interface_addresses(&ifs, &nif) < 0)
        return 0;
    size_t n = 0;
    for (int i = 0; i < nif && n < max; i++)
        net_addr_copy(&out[n++], (const struct sockaddr *)&ifs[i].address);
    uv_free_interface_addresses(ifs, nif);
    return n;
}

static int server_new(uv_loop_t *loop, const config_t *cfg, const struct turn_auth *auth,
                      struct turn_server **out, char *err, size_t errlen)
{
    /* The descriptor budget is main's to check, over every engine at once
     * (turn_fd_uses); checking TURN's share alone here again would judge it
     * against a limit the other engines also draw on. */
    int rc;
    struct turn_server *ts = calloc(1, sizeof *ts);
    if (!ts) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    ts->loop = loop;
    ts->last = on_last_handle;
    ts->io = (struct turn_io){ turn__dispatch, on_conn_gone };
    if (auth)
        ts->auth = *auth;
    if ((rc = crypto_random_bytes(ts->nonce_secret, sizeof ts->nonce_secret)) < 0 ||
        (rc = crypto_random_bytes(ts->hash_key, sizeof ts->hash_key)) < 0 ||
        (rc = crypto_random_bytes(&ts->rng, sizeof ts->rng)) < 0) {
        snprintf(err, errlen, "no entropy: %s", strerror(-rc));
        server_free(ts);
        return rc;
    }
    ts->rng |= 1;
    union net_addr ifs[64];
    size_t nifs = config_count(cfg, "listening-ip") ? 0 : interfaces(ifs, 64);
    if ((rc = turn_opts_read(cfg, ifs, nifs, &ts->o, err, errlen)) < 0) {
        server_free(ts);
        return rc;
    }
    *out = ts;
    return 0;
}

static int server_run(struct turn_server *ts, struct turn_server **out, char *err,
                      size_t errlen)
{
    if (!ts->tls && ts->o.want_tls)
        log_warn("turn", "no TLS listener: cert and pkey are not both set");
    ts->nown_cfg = ts->o.policy.nown;
    ts->o.policy.relay_port_live = turn__port_live;
    ts->o.policy.ctx = ts;
    own_refresh(ts);
    uv_timer_init(ts->loop, &ts->sweep);
    ts->sweep.data = ts;
    turn__handle_ref(ts);
    uv_timer_start(&ts->sweep, on_sweep, 1000, 1000);
    ts->last_stats = now_ms(ts);
    uv_prepare_init(ts->loop, &ts->coalesce);
    ts->coalesce.data = ts;
    turn__handle_ref(ts);
    if (ts->o.coalesce_us)
        uv_prepare_start(&ts->coalesce, on_coalesce);
    size_t nudp, ntcp, ntls;
    int rc = turn__transport_start(ts, &nudp, &ntcp, &ntls, err, errlen);
    if (rc == 0 && nudp + ntcp + ntls == 0) {
        snprintf(err, errlen, "no-udp, no-tcp and no-tls leave no listener");
        rc = -EINVAL;
    }
    if (rc < 0) {
        /* Close what was opened; the loop finishes the closing. */
        turn_server_stop(ts, NULL, NULL);
        return rc;
    }
    const struct turn_opts *o = &ts->o;
    log_info("turn", "listening: %zu UDP and %zu TCP sockets on port %d, %zu TLS on port %d; "
                     "relay ports %u-%u",
             nudp, ntcp, o->listen_port, ntls, o->tls_port, o->min_port, o->max_port);
    log_info("turn", "credentials: %s%s; peers: %zu denied and %zu allowed ranges%s",
             ts->auth.lookup_ha1 ? "T9phone accounts" : "no accounts",
             o->use_auth_secret ? ", TURN REST API" : "", o->policy.ndenied,
             o->policy.nallowed, o->policy.allow_loopback ? ", loopback allowed (tests only)" : "");
    *out = ts;
    return 0;
}

int turn_server_start(uv_loop_t *loop, const config_t *cfg, const struct turn_auth *auth,
                      struct turn_server **out, char *err, size_t errlen)
{
    struct turn_server *ts;
    int rc = server_new(loop, cfg, auth, &ts, err, errlen);
    if (rc < 0)
        return rc;
    if (ts->o.want_tls && ts->o.cert[0] && ts->o.pkey[0]) {
        if ((rc = tls_server_new(ts->o.cert, ts->o.pkey, &ts->tls, err, errlen)) < 0) {
            server_free(ts);
            return rc;
        }
        ts->own_tls = 1;
    }
    return server_run(ts, out, err, errlen);
}

int turn_server_start_tls(uv_loop_t *loop, const config_t *cfg, const struct turn_auth *auth,
                          struct tls_server *tls, struct turn_server **out, char *err,
                          size_t errlen)
{
    struct turn_server *ts;
    int rc = server_new(loop, cfg, auth, &ts, err, errlen);
    if (rc < 0)
        return rc;
    ts->tls = ts->o.want_tls ? tls : NULL;
    return server_run(ts, out, err, errlen);
}

void turn_server_stop(struct turn_server *ts, void (*done)(void *arg), void *arg)
{
    if (ts->stopping)
        return;
    ts->stopping = 1;
    ts->done = done;
    ts->done_arg = arg;
    turn__handle_ref(ts); /* held while closing everything */
    turn__transport_stop(ts); /* closes the connections and their allocations */
    while (ts->allocs)
        turn__alloc_close(ts->allocs);
    turn__resv_sweep(ts, 1);
    ts->sweep.data = ts;
    uv_close((uv_handle_t *)&ts->sweep, on_handle_closed);
    uv_close((uv_handle_t *)&ts->coalesce, on_handle_closed);
    turn__handle_unref(ts);
}

int turn_server_reload_tls(struct turn_server *ts)
{
    if (!ts->tls || !ts->own_tls)
        return -ENOENT;
    char err[256];
    int rc = tls_server_reload(ts->tls, err, sizeof err);
    if (rc < 0)
        log_error("turn", "TLS certificate not reloaded: %s", err);
    else
        log_info("turn", "TLS certificate reloaded");
    return rc;
}

void turn_server_metrics(const struct turn_server *ts, struct metrics_out *m)
{
    metrics_gauge(m, "t9phone_turn_allocations", "allocations now", NULL,
                  (int64_t)ts->nallocs);
    metrics_counter(m, "t9phone_turn_allocations_total", "allocations made", NULL, ts->n_alloc);
    metrics_counter(m, "t9phone_turn_relayed_packets_total", "packets relayed", NULL,
                    ts->n_relayed);
    metrics_counter(m, "t9phone_turn_relayed_bytes_total", "payload bytes relayed", NULL,
                    ts->n_relayed_bytes);
    metrics_counter(m, "t9phone_turn_coalesced_turns_total",
                    "event loop turns held back by relay-coalesce-us", NULL, ts->n_coalesced);
    metrics_counter(m, "t9phone_turn_dropped_packets_total",
                    "packets dropped (no permission, bandwidth, send error)", NULL,
                    ts->n_dropped);
    metrics_counter(m, "t9phone_turn_refusals_total", "requests refused, by cause",
                    "cause=\"peer\"", ts->n_denied);
    metrics_counter(m, "t9phone_turn_refusals_total", "requests refused, by cause",
                    "cause=\"auth\"", ts->n_auth_fail);
    metrics_counter(m, "t9phone_turn_refusals_total", "requests refused, by cause",
                    "cause=\"quota\"", ts->n_quota);
    metrics_counter(m, "t9phone_turn_refusals_total", "requests refused, by cause",
                    "cause=\"capacity\"", ts->n_nocap);
    if (ts->net)
        net_conns_metrics(ts->net, m, "t9phone_turn");
}
