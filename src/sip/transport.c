/*
 * sip/transport.c - SIP over UDP, TCP and TLS through net/conn.h: framing
 * by Content-Length, CRLF and STUN keep-alives, a flow id per stream
 * connection, and answers sent back over the flow a request came on. See
 * server.h.
 */
#include "sip/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip/keepalive.h"

static uint64_t now_ms(const struct sip_server *s) { return uv_now(s->loop); }
static uint32_t now_s(const struct sip_server *s) { return (uint32_t)(uv_now(s->loop) / 1000); }

static void flow_from_addr(struct sip_flow *f, const union net_addr *a, int transport,
                           uint16_t listener, uint32_t conn_id)
{
    memset(f, 0, sizeof *f);
    f->transport = (uint8_t)transport;
    f->listener = listener;
    f->conn_id = conn_id;
    if (a->sa.sa_family == AF_INET6) {
        f->family = 6;
        memcpy(f->ip, &a->in6.sin6_addr, 16);
        f->port = ntohs(a->in6.sin6_port);
    } else {
        f->family = 4;
        memcpy(f->ip, &a->in.sin_addr, 4);
        f->port = ntohs(a->in.sin_port);
    }
}

static void addr_from_flow(union net_addr *a, const struct sip_flow *f)
{
    memset(a, 0, sizeof *a);
    if (f->family == 6) {
        a->in6.sin6_family = AF_INET6;
        memcpy(&a->in6.sin6_addr, f->ip, 16);
        a->in6.sin6_port = htons(f->port);
    } else {
        a->in.sin_family = AF_INET;
        memcpy(&a->in.sin_addr, f->ip, 4);
        a->in.sin_port = htons(f->port);
    }
}

static uint16_t listener_index(const struct sip_server *s, const struct net_listener *l)
{
    for (size_t i = 0; i < s->nlisteners; i++)
        if (s->lst[i] == l)
            return (uint16_t)i;
    return UINT16_MAX;
}

/* ------------------------------------------------------------ answers */

/* Handles one message; c is its stream connection or NULL. */
static void handle_message(struct sip_server *s, const char *p, size_t n, int stream,
                           const struct sip_flow *src, struct net_conn *c)
{
    struct sip_answer *a = &s->ans;
    sip_handle(&s->h, p, n, stream, src, now_s(s), a);
    if (c && a->authenticated)
        net_conn_set_authenticated(c); /* the normal limits from now on */
    if (a->len == 0)
        return;
    if (a->delay && s->delay_ms)
        sip__send_later(s, src, a->buf, a->len);
    else
        sip__send(s, src, a->buf, a->len);
}

int sip__send(struct sip_server *s, const struct sip_flow *to, const void *p, size_t n)
{
    if (to->transport == SIP_TR_UDP) {
        if (to->listener >= s->nlisteners)
            return -EINVAL;
        union net_addr a;
        addr_from_flow(&a, to);
        return net_udp_send(s->lst[to->listener], &a, p, n);
    }
    struct sip_conn *sc = sip__conn_find(s, to->conn_id);
    if (!sc)
        return -ENOTCONN;
    int rc = net_conn_send(sc->c, p, n);
    if (rc == -ENOBUFS)
        s->out_dropped++; /* a reader that does not read: back-pressure holds it */
    return rc;
}

static void on_delay(uv_timer_t *t);

static void arm_delay_timer(struct sip_server *s)
{
    if (s->dcount == 0 || s->stopping)
        return;
    uint64_t due = s->delayed[s->dhead].due, now = now_ms(s);
    uv_timer_start(&s->delay_timer, on_delay, due > now ? due - now : 0, 0);
}

static void on_delay(uv_timer_t *t)
{
    struct sip_server *s = t->data;
    uint64_t now = now_ms(s);
    while (s->dcount && s->delayed[s->dhead].due <= now) {
        struct sip_delayed *d = &s->delayed[s->dhead];
        sip__send(s, &d->to, d->buf, d->len);
        free(d->buf);
        d->buf = NULL;
        s->dhead = (s->dhead + 1) % SIP_DELAY_SLOTS;
        s->dcount--;
    }
    arm_delay_timer(s);
}

void sip__send_later(struct sip_server *s, const struct sip_flow *to, const void *p, size_t n)
{
    if (s->dcount == SIP_DELAY_SLOTS || s->stopping) {
        s->delayed_dropped++;
        return;
    }
    struct sip_delayed *d = &s->delayed[(s->dhead + s->dcount) % SIP_DELAY_SLOTS];
    d->buf = malloc(n);
    if (!d->buf) {
        s->delayed_dropped++;
        return;
    }
    memcpy(d->buf, p, n);
    d->len = n;
    d->to = *to;
    d->due = now_ms(s) + s->delay_ms;
    s->dcount++;
    if (s->dcount == 1)
        arm_delay_timer(s);
}

/* ------------------------------------------------------------ connections */

struct sip_conn *sip__conn_find(struct sip_server *s, uint32_t id)
{
    for (struct sip_conn *c = s->by_id[id % SIP_CONN_BUCKETS]; c; c = c->hnext)
        if (c->flow.conn_id == id)
            return net_conn_closing(c->c) ? NULL : c;
    return NULL;
}

/* The connection's flow id, made on its first frame. NULL on OOM. */
static struct sip_conn *conn_of(struct sip_server *s, struct net_conn *c)
{
    struct sip_conn *sc = net_conn_data(c);
    if (sc)
        return sc;
    sc = calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    sc->c = c;
    do {
        if (++s->next_id == 0)
            s->next_id = 1;
    } while (sip__conn_find(s, s->next_id));
    int kind = net_conn_kind(c) == NET_TLS ? SIP_TR_TLS : SIP_TR_TCP;
    flow_from_addr(&sc->flow, net_conn_peer(c), kind, listener_index(s, net_conn_listener(c)),
                   s->next_id);
    struct sip_conn **b = &s->by_id[sc->flow.conn_id % SIP_CONN_BUCKETS];
    sc->hnext = *b;
    *b = sc;
    s->nconns++;
    net_conn_set_data(c, sc);
    return sc;
}

static long frame_len(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx;
    int kind;
    long fl = sip_frame_len((const char *)p, n, SIP_MAX_STREAM, &kind);
    return fl == 0 ? NET_FRAME_MORE : fl;
}

static void on_frame(void *ctx, struct net_conn *c, const uint8_t *p, size_t n)
{
    struct sip_server *s = ctx;
    if (s->stopping)
        return;
    int kind = SIP_FRAME_MSG;
    sip_frame_len((const char *)p, n, SIP_MAX_STREAM, &kind);
    if (kind == SIP_FRAME_PING) {
        /* RFC 5626 3.5.1: a double CRLF is answered with one. */
        s->h.st.keepalives++;
        net_conn_send(c, "\r\n", 2);
        return;
    }
    if (kind == SIP_FRAME_SKIP)
        return;
    struct sip_conn *sc = conn_of(s, c);
    if (!sc) {
        net_conn_close(c);
        return;
    }
    handle_message(s, (const char *)p, n, 1, &sc->flow, c);
}

static void on_datagram(void *ctx, struct net_listener *l, const union net_addr *from,
                        uint8_t *p, size_t n)
{
    struct sip_server *s = ctx;
    if (s->stopping)
        return;
    struct sip_flow src;
    flow_from_addr(&src, from, SIP_TR_UDP, listener_index(s, l), 0);
    if (sip_stun_is(p, n)) {
        uint8_t out[SIP_STUN_ANSWER_MAX];
        size_t k = sip_stun_answer(p, n, &src, out);
        if (k) {
            s->h.st.stun_bindings++;
            net_udp_send(l, from, out, k);
        }
        return;
    }
    if (sip_is_keepalive((const char *)p, n)) {
        s->h.st.keepalives++;
        return;
    }
    handle_message(s, (const char *)p, n, 0, &src, NULL);
}

static void on_close(void *ctx, struct net_conn *c)
{
    struct sip_server *s = ctx;
    struct sip_conn *sc = net_conn_data(c);
    if (!sc)
        return;
    struct sip_conn **pp = &s->by_id[sc->flow.conn_id % SIP_CONN_BUCKETS];
    while (*pp && *pp != sc)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = sc->hnext;
    s->nconns--;
    net_conn_set_data(c, NULL);
    free(sc);
}

static const struct net_conn_ops ops = { frame_len, on_frame, on_datagram, on_close };

/* ------------------------------------------------------------ listeners */

static void on_net_closed(void *arg)
{
    sip__handle_closed(arg);
}

int sip__listen(struct sip_server *s, int kind, const union net_addr *ip, int port, char *err,
                size_t errlen)
{
    if (!s->net) {
        struct net_conns_config cfg = {
            .limits = s->limits,
            .ops = &ops,
            .ctx = s,
            .udp_buf = s->rx,
            .udp_buf_len = sizeof s->rx,
            /* Bursts of REGISTERs (every phone after a network outage) must
             * not overflow the kernel's default ~200 KiB: a lost datagram
             * costs the phone a 500 ms retransmission. */
            .udp_rcvbuf = SIP_UDP_SOCKBUF,
            .udp_sndbuf = SIP_UDP_SOCKBUF / 2,
            /* recvmmsg and one sendmmsg a loop turn instead of a system call
             * per datagram: a proxied call is some 14 datagrams in and out,
             * and under load their system calls were most of its CPU. */
            .udp_batch = 1,
        };
        int rc = net_conns_new(s->loop, &cfg, &s->net);
        if (rc < 0) {
            snprintf(err, errlen, "cannot set up SIP connections: %s", uv_strerror(rc));
            return rc;
        }
        s->handles++;
    }
    if (s->nlisteners >= SIP_MAX_LISTENERS) {
        snprintf(err, errlen, "too many SIP listeners (at most %d)", SIP_MAX_LISTENERS);
        return -E2BIG;
    }
    union net_addr a = *ip;
    if (a.sa.sa_family == AF_INET6)
        a.in6.sin6_port = htons((uint16_t)port);
    else
        a.in.sin_port = htons((uint16_t)port);
    struct net_listener *l = NULL;
    int rc = net_listen(s->net, kind, &a, kind == NET_TLS ? s->tls : NULL, 511, &l, err, errlen);
    if (rc < 0)
        return rc;
    s->lst[s->nlisteners++] = l;
    return 0;
}

void sip__close_all(struct sip_server *s)
{
    while (s->dcount) {
        free(s->delayed[s->dhead].buf);
        s->delayed[s->dhead].buf = NULL;
        s->dhead = (s->dhead + 1) % SIP_DELAY_SLOTS;
        s->dcount--;
    }
    if (s->net) {
        struct net_conns *net = s->net;
        s->net = NULL;
        net_conns_close(net, on_net_closed, s);
    }
}
