/*
 * turn/transport.c - the TURN server's client transports. See transport.h.
 */
#include "turn/transport.h"

#include <errno.h>
#include <stdio.h>

#include "turn/stun.h"

static long frame_len(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx;
    long fl = stun_frame_len(p, n);
    return fl == 0 ? NET_FRAME_MORE : fl;
}

static void on_frame(void *ctx, struct net_conn *c, const uint8_t *p, size_t n)
{
    struct turn_server *ts = ctx;
    struct net_endpoint from = { .lst = net_conn_listener(c), .conn = c,
                                 .addr = *net_conn_peer(c) };
    /* The frame is in the connection's read buffer: writable during the call. */
    ts->io.on_message(ts, &from, (uint8_t *)p, n);
}

static void on_datagram(void *ctx, struct net_listener *l, const union net_addr *from,
                        uint8_t *p, size_t n)
{
    struct turn_server *ts = ctx;
    if (ts->stopping)
        return;
    struct net_endpoint ep = { .lst = l, .conn = NULL, .addr = *from };
    ts->io.on_message(ts, &ep, p, n);
}

static void on_close(void *ctx, struct net_conn *c)
{
    struct turn_server *ts = ctx;
    ts->io.on_gone(ts, c);
}

static const struct net_conn_ops ops = { frame_len, on_frame, on_datagram, on_close };

static void on_net_closed(void *arg)
{
    turn__handle_unref(arg);
}

int turn__transport_start(struct turn_server *ts, size_t *nudp, size_t *ntcp, size_t *ntls,
                          char *err, size_t errlen)
{
    const struct turn_opts *o = &ts->o;
    struct net_conns_config cfg = {
        .limits = o->conn,
        .ops = &ops,
        .ctx = ts,
        .udp_buf = ts->rx[0] + TURN_HEADROOM,
        .udp_buf_len = TURN_RX_SIZE - TURN_HEADROOM - TURN_TAILROOM,
        /* Bursts of many allocations meet at the listening socket: coturn's
         * 4 MB rather than the kernel's 208 KiB default, and recvmmsg and
         * sendmmsg instead of one system call per datagram. */
        .udp_rcvbuf = TURN_UDP_SOCKET_BUF,
        .udp_sndbuf = TURN_UDP_SOCKET_BUF,
        .udp_batch = 1,
        /* 128 datagrams a turn: with turns relay-coalesce-us apart, 4
         * rounds (32) capped the listener at 64k datagrams/s. */
        .udp_rounds = TURN_UDP_ROUNDS,
    };
    int rc = net_conns_new(ts->loop, &cfg, &ts->net);
    if (rc < 0) {
        snprintf(err, errlen, "cannot set up TURN connections: %s", uv_strerror(rc));
        return rc;
    }
    turn__handle_ref(ts);
    *nudp = *ntcp = *ntls = 0;
    for (size_t i = 0; i < o->nlisten; i++) {
        union net_addr a = o->listen[i];
        sa_set_port(&a, (uint16_t)o->listen_port);
        if (o->want_udp) {
            if ((rc = net_listen(ts->net, NET_UDP, &a, NULL, 0, NULL, err, errlen)) < 0)
                return rc;
            ++*nudp;
        }
        if (o->want_tcp) {
            if ((rc = net_listen(ts->net, NET_TCP, &a, NULL, 0, NULL, err, errlen)) < 0)
                return rc;
            ++*ntcp;
        }
        if (ts->tls) {
            sa_set_port(&a, (uint16_t)o->tls_port);
            if ((rc = net_listen(ts->net, NET_TLS, &a, ts->tls, 0, NULL, err, errlen)) < 0)
                return rc;
            ++*ntls;
        }
    }
    return 0;
}

void turn__transport_stop(struct turn_server *ts)
{
    if (!ts->net)
        return;
    struct net_conns *net = ts->net;
    ts->net = NULL;
    net_conns_close(net, on_net_closed, ts);
}
