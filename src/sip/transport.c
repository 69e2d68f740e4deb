/*
 * sip/transport.c - SIP over UDP, TCP and TLS on libuv: listeners,
 * connections with their limits and deadlines, framing, keep-alives, and
 * sending answers back over the flow a request came on. See server.h.
 */
#include "sip/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/siphash.h"
#include "net/tls.h"
#include "sip/keepalive.h"

static uint64_t now_ms(const struct sip_server *s) { return uv_now(s->loop); }
static uint32_t now_s(const struct sip_server *s) { return (uint32_t)(uv_now(s->loop) / 1000); }

static void flow_from_sa(struct sip_flow *f, const struct sockaddr *sa, int transport,
                         uint16_t listener, uint32_t conn_id)
{
    memset(f, 0, sizeof *f);
    f->transport = (uint8_t)transport;
    f->listener = listener;
    f->conn_id = conn_id;
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        f->family = 6;
        memcpy(f->ip, &a->sin6_addr, 16);
        f->port = ntohs(a->sin6_port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        f->family = 4;
        memcpy(f->ip, &a->sin_addr, 4);
        f->port = ntohs(a->sin_port);
    }
}

static void sa_from_flow(union sip_sa *sa, const struct sip_flow *f)
{
    memset(sa, 0, sizeof *sa);
    if (f->family == 6) {
        sa->in6.sin6_family = AF_INET6;
        memcpy(&sa->in6.sin6_addr, f->ip, 16);
        sa->in6.sin6_port = htons(f->port);
    } else {
        sa->in.sin_family = AF_INET;
        memcpy(&sa->in.sin_addr, f->ip, 4);
        sa->in.sin_port = htons(f->port);
    }
}

/* ------------------------------------------------------------ answers */

static void handle_message(struct sip_server *s, const char *p, size_t n, int stream,
                           const struct sip_flow *src)
{
    struct sip_answer *a = &s->ans;
    sip_handle(&s->h, p, n, stream, src, now_s(s), a);
    if (a->len == 0)
        return;
    if (a->delay && s->delay_ms)
        sip__send_later(s, src, a->buf, a->len);
    else
        sip__send(s, src, a->buf, a->len);
}

static void conn_close(struct sip_conn *c);

static int conn_write(struct sip_conn *c, const void *p, size_t n)
{
    if (c->closing)
        return -EPIPE;
    int rc = c->tls_mode ? tls_conn_write(c->tls, p, n) : stream_out_write(&c->out, p, n);
    if (rc < 0 && rc != -EAGAIN) {
        /* Full or failing: a reader that does not read loses its slot. */
        c->s->send_failed++;
        conn_close(c);
    }
    return rc;
}

int sip__send(struct sip_server *s, const struct sip_flow *to, const void *p, size_t n)
{
    if (to->transport == SIP_TR_UDP) {
        if (to->listener >= s->nlisteners)
            return -EINVAL;
        union sip_sa sa;
        sa_from_flow(&sa, to);
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
        int rc = uv_udp_try_send(&s->listeners[to->listener].h.udp, &b, 1, &sa.sa);
        if (rc < 0)
            s->send_failed++;
        return rc < 0 ? rc : 0;
    }
    struct sip_conn *c = sip__conn_find(s, to->conn_id);
    if (!c)
        return -ENOTCONN;
    return conn_write(c, p, n);
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

/* ------------------------------------------------------------ UDP */

static void on_udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct sip_listener *l = h->data;
    (void)hint;
    *buf = uv_buf_init((char *)l->s->rx, sizeof l->s->rx);
}

static void on_udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *from, unsigned flags)
{
    struct sip_listener *l = h->data;
    struct sip_server *s = l->s;
    if (nread <= 0 || !from || s->stopping || (flags & UV_UDP_PARTIAL))
        return;
    struct sip_flow src;
    flow_from_sa(&src, from, SIP_TR_UDP, l->index, 0);
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t n = (size_t)nread;
    if (sip_stun_is(p, n)) {
        uint8_t out[SIP_STUN_ANSWER_MAX];
        size_t k = sip_stun_answer(p, n, &src, out);
        if (k) {
            s->h.st.stun_bindings++;
            sip__send(s, &src, out, k);
        }
        return;
    }
    if (sip_is_keepalive((const char *)p, n)) {
        s->h.st.keepalives++;
        return;
    }
    handle_message(s, (const char *)p, n, 0, &src);
}

/* ------------------------------------------------------------ streams */

struct sip_conn *sip__conn_find(struct sip_server *s, uint32_t id)
{
    for (struct sip_conn *c = s->by_id[id % SIP_CONN_BUCKETS]; c; c = c->hnext)
        if (c->flow.conn_id == id && !c->closing)
            return c;
    return NULL;
}

static void conn_free(struct sip_conn *c)
{
    struct sip_server *s = c->s;
    if (!c->tls_mode)
        stream_out_free(&c->out);
    free(c);
    sip__handle_closed(s);
}

static void on_conn_closed(uv_handle_t *h)
{
    conn_free(h->data);
}

static void conn_unlink(struct sip_conn *c)
{
    struct sip_server *s = c->s;
    c->closing = 1;
    if (!c->counted)
        return;
    c->counted = 0;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    struct sip_conn **pp = &s->by_id[c->flow.conn_id % SIP_CONN_BUCKETS];
    while (*pp && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = c->hnext;
    s->nconns--;
    s->per_ip[c->ip_slot]--;
}

static void on_tls_closed(void *arg)
{
    struct sip_conn *c = arg;
    conn_unlink(c);
    conn_free(c);
}

static void conn_close(struct sip_conn *c)
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
static void conn_frames(struct sip_conn *c)
{
    struct sip_server *s = c->s;
    size_t off = 0;
    while (!c->closing && off < c->rlen) {
        int kind = SIP_FRAME_MSG;
        long fl = sip_frame_len(c->rbuf + off, c->rlen - off, SIP_MAX_STREAM, &kind);
        if (fl < 0) {
            /* Oversized or without Content-Length: no way to find the next
             * message, so the connection goes. */
            s->frames_refused++;
            s->h.st.parse_refused[fl == -EMSGSIZE ? SIP_F_TOO_BIG : SIP_F_BODY]++;
            conn_close(c);
            return;
        }
        if (fl == 0)
            break;
        const char *p = c->rbuf + off;
        off += (size_t)fl;
        if (kind == SIP_FRAME_PING) {
            s->h.st.keepalives++;
            conn_write(c, "\r\n", 2);
        } else if (kind == SIP_FRAME_MSG) {
            handle_message(s, p, (size_t)fl, 1, &c->flow);
        }
        c->msg_start = 0;
    }
    if (c->closing)
        return;
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
    if (c->rlen && !c->msg_start)
        c->msg_start = now_ms(s);
}

static void conn_input(struct sip_conn *c, const uint8_t *p, size_t n)
{
    c->last_rx = now_ms(c->s);
    while (n && !c->closing) {
        size_t k = sizeof c->rbuf - c->rlen;
        if (k == 0) {
            c->s->frames_refused++;
            conn_close(c); /* the framer would have refused it already */
            return;
        }
        if (k > n)
            k = n;
        memcpy(c->rbuf + c->rlen, p, k);
        c->rlen += k;
        p += k;
        n -= k;
        if (!c->msg_start)
            c->msg_start = c->last_rx;
        conn_frames(c);
    }
}

static void on_tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct sip_conn *c = h->data;
    (void)hint;
    *buf = uv_buf_init(c->rbuf + c->rlen, (unsigned)(sizeof c->rbuf - c->rlen));
}

static void on_tcp_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct sip_conn *c = st->data;
    (void)buf;
    if (c->closing)
        return;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (nread == 0)
        return;
    /* Read straight into rbuf: account and frame. */
    c->last_rx = now_ms(c->s);
    if (!c->msg_start)
        c->msg_start = c->last_rx;
    c->rlen += (size_t)nread;
    conn_frames(c);
    if (!c->closing && c->rlen == sizeof c->rbuf) {
        c->s->frames_refused++;
        conn_close(c);
    }
}

static size_t on_tls_data(void *arg, const uint8_t *p, size_t n)
{
    conn_input(arg, p, n);
    return n;
}

static void on_out_event(struct stream_out *o, int status)
{
    if (status < 0)
        conn_close(o->data);
}

static uint32_t ip_slot(const struct sip_server *s, const struct sip_flow *f)
{
    return (uint32_t)(siphash24(s->ip_key, f->ip, f->family == 6 ? 16 : 4) % SIP_PER_IP_SLOTS);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct sip_listener *l = server->data;
    struct sip_server *s = l->s;
    if (status < 0 || s->stopping)
        return;
    struct sip_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->s = s;
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    s->handles++;
    c->tls_mode = 1; /* until set up: nothing to free but the connection */
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    union sip_sa peer;
    int len = sizeof peer;
    if (uv_tcp_getpeername(&c->tcp, &peer.sa, &len) < 0) {
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    if (++s->next_id == 0)
        s->next_id = 1;
    flow_from_sa(&c->flow, &peer.sa, l->kind, l->index, s->next_id);
    c->ip_slot = ip_slot(s, &c->flow);
    if (s->nconns >= s->max_conns || s->per_ip[c->ip_slot] >= s->max_per_ip) {
        s->conns_refused++;
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->last_rx = c->msg_start = now_ms(s); /* the first message is due too */
    int rc;
    if (l->kind == SIP_TR_TLS) {
        static const struct tls_conn_cbs cbs = { on_tls_data, on_tls_closed, NULL };
        rc = tls_conn_new(s->tls, (uv_stream_t *)&c->tcp, SIP_CONN_OUT_CAP, &cbs, c, &c->tls);
    } else {
        c->tls_mode = 0;
        rc = stream_out_init(&c->out, (uv_stream_t *)&c->tcp, SIP_CONN_OUT_CAP);
        if (rc == 0) {
            c->out.notify = on_out_event;
            c->out.data = c;
            rc = uv_read_start((uv_stream_t *)&c->tcp, on_tcp_alloc, on_tcp_read);
            if (rc < 0)
                stream_out_free(&c->out);
        }
        if (rc < 0)
            c->tls_mode = 1;
    }
    if (rc < 0) {
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    c->counted = 1;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    struct sip_conn **b = &s->by_id[c->flow.conn_id % SIP_CONN_BUCKETS];
    c->hnext = *b;
    *b = c;
    s->nconns++;
    s->per_ip[c->ip_slot]++;
    s->conns_accepted++;
}

void sip__conn_sweep(struct sip_server *s, uint64_t now)
{
    for (struct sip_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->msg_start && now - c->msg_start > s->msg_timeout_ms) {
            s->conns_timed_out++;
            conn_close(c);
        } else if (now - c->last_rx > s->idle_timeout_ms) {
            s->conns_idle++;
            conn_close(c);
        }
    }
}

/* ------------------------------------------------------------ listeners */

static void on_handle_closed(uv_handle_t *h)
{
    struct sip_listener *l = h->data;
    sip__handle_closed(l->s);
}

int sip__listen(struct sip_server *s, int kind, const union sip_sa *ip, int port, char *err,
                size_t errlen)
{
    if (s->nlisteners >= SIP_MAX_LISTENERS) {
        snprintf(err, errlen, "too many SIP listeners (at most %d)", SIP_MAX_LISTENERS);
        return -E2BIG;
    }
    struct sip_listener *l = &s->listeners[s->nlisteners];
    union sip_sa addr = *ip;
    int v6 = addr.sa.sa_family == AF_INET6;
    if (v6)
        addr.in6.sin6_port = htons((uint16_t)port);
    else
        addr.in.sin_port = htons((uint16_t)port);
    l->s = s;
    l->kind = kind;
    l->index = (uint16_t)s->nlisteners;
    int rc;
    const char *what = kind == SIP_TR_UDP ? "UDP" : kind == SIP_TR_TCP ? "TCP" : "TLS";
    if (kind == SIP_TR_UDP) {
        uv_udp_init(s->loop, &l->h.udp);
        l->h.udp.data = l;
        s->handles++;
        s->nlisteners++;
        rc = uv_udp_bind(&l->h.udp, &addr.sa, v6 ? UV_UDP_IPV6ONLY : 0);
        if (rc == 0)
            rc = uv_udp_recv_start(&l->h.udp, on_udp_alloc, on_udp_recv);
    } else {
        uv_tcp_init(s->loop, &l->h.tcp);
        l->h.tcp.data = l;
        s->handles++;
        s->nlisteners++;
        rc = uv_tcp_bind(&l->h.tcp, &addr.sa, v6 ? UV_TCP_IPV6ONLY : 0);
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)&l->h.tcp, 511, on_connection);
    }
    if (rc < 0)
        snprintf(err, errlen, "cannot listen for SIP over %s on port %d: %s", what, port,
                 uv_strerror(rc));
    return rc;
}

void sip__close_all(struct sip_server *s)
{
    for (struct sip_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        conn_close(c);
    }
    for (size_t i = 0; i < s->nlisteners; i++)
        uv_close((uv_handle_t *)&s->listeners[i].h, on_handle_closed);
    while (s->dcount) {
        free(s->delayed[s->dhead].buf);
        s->delayed[s->dhead].buf = NULL;
        s->dhead = (s->dhead + 1) % SIP_DELAY_SLOTS;
        s->dcount--;
    }
}
