/*
 * turn/transport.c - the TURN server's client transports. See transport.h.
 */
#include "turn/transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/tls.h"
#include "turn/alloc.h"
#include "turn/request.h"
#include "turn/stun.h"

/* ------------------------------------------------------------ sending */

static int conn_send(struct conn *c, const uint8_t *p, size_t n)
{
    if (c->closing)
        return -EPIPE;
    int rc = c->tls_mode ? tls_conn_write(c->tls, p, n) : stream_out_write(&c->out, p, n);
    if (rc == -EPIPE)
        turn__conn_close(c);
    return rc;
}

/* Sends to a client over the transport the request or allocation uses. */
int turn__transport_send(struct turn_server *ts, int transport, struct listener *lst,
                         struct conn *conn, const union sa *to, const uint8_t *p, size_t n)
{
    (void)ts;
    if (transport == TR_UDP) {
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
        int rc = uv_udp_try_send(&lst->h.udp, &b, 1, &to->sa);
        return rc < 0 ? rc : 0;
    }
    return conn_send(conn, p, n);
}

/* ------------------------------------------------------------ UDP clients */

static void on_udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct listener *l = h->data;
    (void)hint;
    *buf = uv_buf_init((char *)l->ts->rx + HEADROOM, RX_SIZE - HEADROOM - TAILROOM);
}

static void on_udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *from, unsigned flags)
{
    struct listener *l = h->data;
    struct turn_server *ts = l->ts;
    (void)flags;
    if (nread <= 0 || !from || ts->stopping)
        return;
    union sa client;
    sa_copy(&client, from);
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t n = (size_t)nread;
    if (stun_is_channeldata(p, n)) {
        struct alloc *a = turn__alloc_find_udp(ts, l, &client);
        turn__alloc_channeldata(a, p, n);
    } else if (stun_is_stun(p, n)) {
        turn__request_handle(ts, TR_UDP, l, NULL, &client, p, n);
    }
}

/* ------------------------------------------------------------ stream clients */

static void conn_free(struct conn *c)
{
    struct turn_server *ts = c->ts;
    if (!c->tls_mode)
        stream_out_free(&c->out);
    free(c);
    turn__handle_closed(ts);
}

static void on_conn_closed(uv_handle_t *h)
{
    conn_free(h->data);
}

/* Takes the connection out of the server's books and drops its allocation. */
static void conn_unlink(struct conn *c)
{
    struct turn_server *ts = c->ts;
    c->closing = 1;
    if (c->alloc)
        turn__alloc_close(c->alloc);
    if (c->prev)
        c->prev->next = c->next;
    else
        ts->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    ts->nconns--;
}

/* The TLS layer closed the handle, on our request or on its own (peer gone,
 * handshake failure). */
static void on_tls_closed(void *arg)
{
    struct conn *c = arg;
    if (!c->closing)
        conn_unlink(c);
    conn_free(c);
}

void turn__conn_close(struct conn *c)
{
    if (c->closing)
        return;
    conn_unlink(c);
    if (c->tls_mode && c->tls) {
        tls_conn_close(c->tls);
    } else {
        uv_read_stop((uv_stream_t *)&c->tcp);
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    }
}

/* Cuts complete frames out of the read buffer and handles them. */
static void conn_frames(struct conn *c)
{
    size_t off = 0;
    while (!c->closing && c->rlen - off >= 4) {
        long fl = stun_frame_len(c->rbuf + off, c->rlen - off);
        if (fl < 0 || fl > CONN_RBUF) {
            turn__conn_close(c);
            return;
        }
        if ((size_t)fl > c->rlen - off)
            break;
        const uint8_t *p = c->rbuf + off;
        if (stun_is_channeldata(p, (size_t)fl))
            turn__alloc_channeldata(c->alloc, p, (size_t)fl);
        else
            turn__request_handle(c->ts, c->tls_mode ? TR_TLS : TR_TCP, NULL, c, &c->peer, p,
                                 (size_t)fl);
        off += (size_t)fl;
    }
    if (c->closing)
        return;
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
}

static void on_tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)hint;
    *buf = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(CONN_RBUF - c->rlen));
}

static void on_tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    (void)buf;
    if (c->closing)
        return;
    if (nread < 0) {
        turn__conn_close(c);
        return;
    }
    c->rlen += (size_t)nread;
    c->last_rx = now_ms(c->ts);
    conn_frames(c);
}

static void on_tls_data(void *arg, const uint8_t *p, size_t n)
{
    struct conn *c = arg;
    c->last_rx = now_ms(c->ts);
    while (n && !c->closing) {
        size_t k = CONN_RBUF - c->rlen;
        if (k == 0) {
            turn__conn_close(c); /* a frame larger than we accept */
            return;
        }
        if (k > n)
            k = n;
        memcpy(c->rbuf + c->rlen, p, k);
        c->rlen += k;
        p += k;
        n -= k;
        conn_frames(c);
    }
}

static void on_out_event(struct stream_out *o, int status)
{
    if (status < 0)
        turn__conn_close(o->data);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct listener *l = server->data;
    struct turn_server *ts = l->ts;
    if (status < 0 || ts->stopping)
        return;
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->ts = ts;
    uv_tcp_init(ts->loop, &c->tcp);
    c->tcp.data = c;
    ts->handles++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 || ts->nconns >= ts->max_conns) {
        c->tls_mode = 1; /* nothing to free but the connection */
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    int len = sizeof c->peer;
    uv_tcp_getpeername(&c->tcp, &c->peer.sa, &len);
    uv_tcp_nodelay(&c->tcp, 1);
    c->last_rx = now_ms(ts);
    int rc;
    if (l->kind == TR_TLS) {
        static const struct tls_conn_cbs cbs = { on_tls_data, on_tls_closed, NULL };
        c->tls_mode = 1;
        rc = tls_conn_new(ts->tls, (uv_stream_t *)&c->tcp, CONN_OUT_CAP, &cbs, c, &c->tls);
    } else {
        rc = stream_out_init(&c->out, (uv_stream_t *)&c->tcp, CONN_OUT_CAP);
        if (rc == 0) {
            c->out.notify = on_out_event;
            c->out.data = c;
            rc = uv_read_start((uv_stream_t *)&c->tcp, on_tcp_alloc, on_tcp_read);
            if (rc < 0)
                stream_out_free(&c->out);
        }
    }
    if (rc < 0) {
        c->tls_mode = 1;
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    c->next = ts->conns;
    if (ts->conns)
        ts->conns->prev = c;
    ts->conns = c;
    ts->nconns++;
}

/* ------------------------------------------------------------ listeners */

int turn__transport_listen(struct turn_server *ts, int kind, const union sa *ip, int port,
                           char *err, size_t errlen)
{
    struct listener *l = &ts->listeners[ts->nlisteners];
    union sa addr = *ip;
    sa_set_port(&addr, (uint16_t)port);
    int v6 = addr.sa.sa_family == AF_INET6;
    int rc;
    l->ts = ts;
    l->kind = kind;
    const char *what = kind == TR_UDP ? "UDP" : kind == TR_TCP ? "TCP" : "TLS";
    if (kind == TR_UDP) {
        uv_udp_init(ts->loop, &l->h.udp);
        l->h.udp.data = l;
        ts->handles++;
        ts->nlisteners++;
        rc = uv_udp_bind(&l->h.udp, &addr.sa, v6 ? UV_UDP_IPV6ONLY : 0);
        if (rc == 0)
            rc = uv_udp_recv_start(&l->h.udp, on_udp_alloc, on_udp_recv);
    } else {
        uv_tcp_init(ts->loop, &l->h.tcp);
        l->h.tcp.data = l;
        ts->handles++;
        ts->nlisteners++;
        rc = uv_tcp_bind(&l->h.tcp, &addr.sa, v6 ? UV_TCP_IPV6ONLY : 0);
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)&l->h.tcp, 128, on_connection);
    }
    if (rc < 0)
        snprintf(err, errlen, "cannot listen for %s on port %d: %s", what, port, uv_strerror(rc));
    return rc;
}

/* Listening addresses: the configured ones, or every interface address
 * (binding each address, not the wildcard, keeps replies leaving from the
 * address the client used). */

/* ------------------------------------------------------------ idle connections */

void turn__conn_sweep(struct turn_server *ts, uint64_t now)
{
    for (struct conn *c = ts->conns, *next; c; c = next) {
        next = c->next;
        if (!c->alloc && now - c->last_rx > CONN_IDLE_MS)
            turn__conn_close(c);
    }
}
