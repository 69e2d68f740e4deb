/*
 * net/conn.c - listeners, stream connections, framing, caps, back-pressure
 * and deadlines. See conn.h.
 */
#include "net/conn.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/siphash.h"
#include "net/stream_out.h"
#include "net/tls.h"

/* Datagrams of one UDP listener queued for the loop turn's sendmmsg. */
struct udp_out {
    unsigned n;
    size_t used;
    struct mmsghdr h[NET_UDP_SEND_BATCH];
    struct iovec iov[NET_UDP_SEND_BATCH];
    union net_addr to[NET_UDP_SEND_BATCH];
    uint8_t arena[NET_UDP_SEND_ARENA];
};

struct net_listener {
    struct net_conns *s;
    int kind;
    struct tls_server *tls;
    int owed; /* a connection waits for the spare handle to be accepted */
    struct net_listener *next;
    struct udp_out *out;                 /* udp_batch only */
    int dirty;                           /* on s->dirty */
    struct net_listener *dirty_next;
    uv_poll_t rpoll; /* udp_batch: reads the UDP socket (see on_udp_readable) */
    int rpolling;
    union {
        uv_udp_t udp;
        uv_tcp_t tcp;
    } h;
};

struct net_conn {
    struct net_conns *s;
    struct net_listener *lst;
    uv_tcp_t tcp;
    struct tls_conn *tls; /* NET_TLS, once started */
    struct stream_out out; /* NET_TCP */
    int out_ready;
    union net_addr peer;
    void *data;
    uint64_t t_accept, t_last, t_frame, t_finish;
    uint64_t *finish_cause; /* the counter a finished connection is closed under */
    uint32_t nframes;
    unsigned bucket;
    unsigned linked : 1, closing : 1, authenticated : 1, held : 1, finishing : 1;
    unsigned bp_paused : 1, owner_paused : 1, reading : 1, in_frames : 1;
    struct net_conn *prev, *next, *hnext;
    size_t rlen;
    uint8_t rbuf[];
};

struct net_conns {
    uv_loop_t *loop;
    struct net_conns_config cfg;
    struct net_listener *listeners;
    struct net_conn *conns;
    struct net_conn **src; /* per-source buckets, keyed by SipHash of the IP */
    size_t nsrc;           /* a power of two */
    uint8_t src_key[SIPHASH_KEY_LEN];
    uv_timer_t sweep;
    uint8_t *mmsg_buf;              /* udp_batch: recvmmsg lands here */
    uv_prepare_t flush_pre;         /* udp_batch: queued datagrams leave before */
    uv_check_t flush_post;          /* the loop blocks and after each I/O phase */
    struct net_listener *dirty;     /* listeners with queued datagrams */
    uv_tcp_t spare; /* accepts what cannot be served, to close it */
    int spare_busy;
    size_t handles;
    int closing;
    void (*done)(void *);
    void *done_arg;
    struct net_conn_stats st;
};

static const struct net_conn_limits *lim(const struct net_conns *s) { return &s->cfg.limits; }

static uint64_t clock_now(const struct net_conns *s)
{
    return s->cfg.clock ? s->cfg.clock(s->cfg.ctx) : uv_now(s->loop);
}

/* ------------------------------------------------------------ handles */

static void handle_gone(struct net_conns *s)
{
    assert(s->handles > 0);
    if (--s->handles > 0 || !s->closing)
        return;
    assert(s->conns == NULL && s->st.open == 0);
    void (*done)(void *) = s->done;
    void *arg = s->done_arg;
    for (struct net_listener *l = s->listeners, *n; l; l = n) {
        n = l->next;
        free(l->out);
        free(l);
    }
    free(s->mmsg_buf);
    explicit_bzero(s->src_key, sizeof s->src_key);
    free(s->src);
    free(s);
    if (done)
        done(arg);
}

static void on_handle_closed(uv_handle_t *h)
{
    handle_gone(h->data);
}

/* ------------------------------------------------------------ addresses */

int net_addr_equal(const union net_addr *a, const union net_addr *b)
{
    if (a->sa.sa_family != b->sa.sa_family)
        return 0;
    if (a->sa.sa_family == AF_INET)
        return a->in.sin_port == b->in.sin_port && a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
    if (a->sa.sa_family == AF_INET6)
        return a->in6.sin6_port == b->in6.sin6_port &&
               memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
    return 0;
}

void net_addr_copy(union net_addr *dst, const struct sockaddr *src)
{
    memset(dst, 0, sizeof *dst);
    if (src->sa_family == AF_INET)
        memcpy(&dst->in, src, sizeof dst->in);
    else if (src->sa_family == AF_INET6)
        memcpy(&dst->in6, src, sizeof dst->in6);
}

static const uint8_t *addr_ip(const union net_addr *a, size_t *n)
{
    if (a->sa.sa_family == AF_INET6) {
        *n = 16;
        return (const uint8_t *)&a->in6.sin6_addr;
    }
    *n = 4;
    return (const uint8_t *)&a->in.sin_addr;
}

static int same_ip(const union net_addr *a, const union net_addr *b)
{
    size_t n1, n2;
    const uint8_t *x = addr_ip(a, &n1), *y = addr_ip(b, &n2);
    return a->sa.sa_family == b->sa.sa_family && memcmp(x, y, n1) == 0;
}

/* ------------------------------------------------------------ per-source books */

static unsigned src_bucket(const struct net_conns *s, const union net_addr *a)
{
    uint8_t in[17];
    size_t n;
    const uint8_t *ip = addr_ip(a, &n);
    in[0] = (uint8_t)a->sa.sa_family;
    memcpy(in + 1, ip, n);
    return (unsigned)(siphash24(s->src_key, in, 1 + n) & (s->nsrc - 1));
}

static size_t src_count(const struct net_conns *s, const union net_addr *a)
{
    size_t k = 0;
    for (const struct net_conn *c = s->src[src_bucket(s, a)]; c; c = c->hnext)
        k += same_ip(&c->peer, a);
    return k;
}

static void conn_link(struct net_conn *c)
{
    struct net_conns *s = c->s;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    c->bucket = src_bucket(s, &c->peer);
    c->hnext = s->src[c->bucket];
    s->src[c->bucket] = c;
    c->linked = 1;
    s->st.open++;
    s->st.accepted++;
}

static void conn_unlink(struct net_conn *c)
{
    struct net_conns *s = c->s;
    if (!c->linked)
        return;
    c->linked = 0;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    struct net_conn **pp = &s->src[c->bucket];
    while (*pp && *pp != c)
        pp = &(*pp)->hnext;
    assert(*pp == c);
    if (*pp)
        *pp = c->hnext;
    assert(s->st.open > 0);
    s->st.open--;
}

/* ------------------------------------------------------------ closing */

static void conn_free(struct net_conn *c)
{
    struct net_conns *s = c->s;
    if (c->out_ready)
        stream_out_free(&c->out);
    free(c);
    handle_gone(s);
}

static void on_tcp_closed(uv_handle_t *h)
{
    conn_free(h->data);
}

/* Takes c out of the set, counted under cause (NULL: not counted, as at
 * shutdown), tells the owner, and closes the handle. */
static int conn_leave(struct net_conn *c, uint64_t *cause)
{
    if (c->closing)
        return 0;
    c->closing = 1;
    if (cause)
        (*cause)++;
    int was_linked = c->linked;
    conn_unlink(c);
    struct net_conns *s = c->s;
    if (was_linked && s->cfg.ops->on_close)
        s->cfg.ops->on_close(s->cfg.ctx, c);
    return 1;
}

static void conn_close(struct net_conn *c, uint64_t *cause)
{
    if (!conn_leave(c, cause))
        return;
    if (c->tls) {
        tls_conn_close(c->tls); /* on_tls_closed frees */
    } else {
        uv_read_stop((uv_stream_t *)&c->tcp);
        uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
    }
}

void net_conn_close(struct net_conn *c)
{
    conn_close(c, &c->s->st.closed_owner);
}

int net_conn_closing(const struct net_conn *c)
{
    return c->closing || c->finishing;
}

/* The TLS layer closed the handle, on our request or on its own (peer
 * gone, handshake failure, write failure). */
static void on_tls_closed(void *arg)
{
    struct net_conn *c = arg;
    conn_leave(c, &c->s->st.closed_peer); /* the handle is closed already */
    conn_free(c);
}

/* ------------------------------------------------------------ reading */

static size_t conn_unsent(const struct net_conn *c)
{
    if (c->tls)
        return tls_conn_unsent(c->tls);
    return c->out_ready ? stream_out_pending(&c->out) : 0;
}

static int may_cut(const struct net_conn *c)
{
    return !c->closing && !c->bp_paused && !c->owner_paused && !c->finishing;
}

static void on_tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_tcp_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

/* Reads while frames may be cut; stops otherwise (the socket's buffer, then
 * the peer's window, fill up: that is the back-pressure). */
static void update_reading(struct net_conn *c)
{
    if (c->closing)
        return;
    int want = may_cut(c);
    if (c->tls) {
        tls_conn_pause(c->tls, !want);
        return;
    }
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_tcp_alloc, on_tcp_read) == 0)
            c->reading = 1;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

static void finish_if_sent(struct net_conn *c)
{
    if (c->finishing && !c->closing && conn_unsent(c) == 0)
        conn_close(c, c->finish_cause);
}

static void conn_finish(struct net_conn *c, uint64_t *cause)
{
    if (c->closing || c->finishing)
        return;
    c->finishing = 1;
    c->finish_cause = cause;
    c->t_finish = clock_now(c->s);
    update_reading(c);
    finish_if_sent(c);
}

void net_conn_finish(struct net_conn *c)
{
    conn_finish(c, &c->s->st.closed_owner);
}

/* Cuts whole frames out of the read buffer and hands them over, while the
 * connection may be read. */
static void conn_frames(struct net_conn *c)
{
    struct net_conns *s = c->s;
    const struct net_conn_ops *ops = s->cfg.ops;
    size_t cap = lim(s)->rbuf, off = 0;
    int cut = 0;
    if (c->in_frames)
        return; /* the outer loop sees the change */
    c->in_frames = 1;
    while (may_cut(c) && off < c->rlen) {
        long fl = ops->frame_len(s->cfg.ctx, c->rbuf + off, c->rlen - off);
        if (fl < 0) {
            conn_close(c, &s->st.closed_malformed);
            break;
        }
        if ((size_t)fl > cap) {
            conn_close(c, &s->st.closed_oversize);
            break;
        }
        if (fl == NET_FRAME_MORE || (size_t)fl > c->rlen - off)
            break;
        c->nframes++;
        c->t_last = clock_now(s);
        cut = 1;
        ops->on_frame(s->cfg.ctx, c, c->rbuf + off, (size_t)fl);
        off += (size_t)fl;
        if (lim(s)->max_frames && c->nframes >= lim(s)->max_frames)
            conn_finish(c, &s->st.closed_frames);
    }
    c->in_frames = 0;
    if (c->closing)
        return;
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
    if (c->rlen == 0)
        c->t_frame = 0;
    else if (cut)
        c->t_frame = clock_now(s); /* the rest came with the last read */
    if (c->rlen == cap && may_cut(c)) {
        /* Full, and frame_len() still wants more: larger than we accept. */
        conn_close(c, &s->st.closed_oversize);
        return;
    }
    update_reading(c);
}

/* n bytes were appended to the read buffer. */
static void conn_got(struct net_conn *c, size_t n)
{
    if (c->rlen == 0 && n)
        c->t_frame = clock_now(c->s);
    c->rlen += n;
    conn_frames(c);
}

static void on_tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct net_conn *c = h->data;
    (void)hint;
    *buf = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(lim(c->s)->rbuf - c->rlen));
}

static void on_tcp_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct net_conn *c = st->data;
    (void)buf;
    if (c->closing || nread == 0)
        return;
    if (nread == UV_ENOBUFS) {
        /* No room: only while paused with a full buffer; stop reading. */
        uv_read_stop(st);
        c->reading = 0;
        return;
    }
    if (nread < 0) {
        conn_close(c, &c->s->st.closed_peer);
        return;
    }
    conn_got(c, (size_t)nread);
}

static size_t on_tls_data(void *arg, const uint8_t *p, size_t n)
{
    struct net_conn *c = arg;
    size_t cap = lim(c->s)->rbuf, took = 0;
    while (took < n && !c->closing) {
        size_t k = cap - c->rlen;
        if (k == 0)
            break; /* paused with a full buffer: the TLS layer keeps the rest */
        if (k > n - took)
            k = n - took;
        memcpy(c->rbuf + c->rlen, p + took, k);
        took += k;
        conn_got(c, k);
    }
    return c->closing ? n : took;
}

/* Output drained: resume reading and the frames waiting in the buffer. */
static void conn_drained(struct net_conn *c)
{
    if (c->closing)
        return;
    finish_if_sent(c);
    if (c->closing || !c->bp_paused)
        return;
    c->bp_paused = 0;
    conn_frames(c);
}

static void on_tls_drain(void *arg)
{
    conn_drained(arg);
}

static void on_out_event(struct stream_out *o, int status)
{
    struct net_conn *c = o->data;
    if (status < 0)
        conn_close(c, &c->s->st.closed_write);
    else
        conn_drained(c);
}

/* ------------------------------------------------------------ sending */

int net_conn_send(struct net_conn *c, const void *p, size_t n)
{
    struct net_conns *s = c->s;
    if (c->closing)
        return -EPIPE;
    int rc = c->tls ? tls_conn_write(c->tls, p, n) : stream_out_write(&c->out, p, n);
    if (rc == -ENOBUFS)
        s->st.out_dropped++;
    if (rc == -EPIPE) {
        conn_close(c, &s->st.closed_write);
        return rc;
    }
    if (rc == 0 && !c->bp_paused && conn_unsent(c) > lim(s)->out_pause) {
        c->bp_paused = 1;
        s->st.paused++;
        update_reading(c);
    }
    return rc;
}

void net_conn_set_authenticated(struct net_conn *c) { c->authenticated = 1; }
void net_conn_hold(struct net_conn *c, int on) { c->held = !!on; }
void net_conn_set_data(struct net_conn *c, void *data) { c->data = data; }
void *net_conn_data(const struct net_conn *c) { return c->data; }
const union net_addr *net_conn_peer(const struct net_conn *c) { return &c->peer; }
struct net_listener *net_conn_listener(const struct net_conn *c) { return c->lst; }
int net_conn_kind(const struct net_conn *c) { return c->lst->kind; }
int net_listener_kind(const struct net_listener *l) { return l->kind; }

int net_listener_addr(const struct net_listener *l, union net_addr *out)
{
    union net_addr a;
    int len = sizeof a;
    int rc = l->kind == NET_UDP ? uv_udp_getsockname(&l->h.udp, &a.sa, &len)
                                : uv_tcp_getsockname(&l->h.tcp, &a.sa, &len);
    if (rc == 0)
        net_addr_copy(out, &a.sa);
    return rc;
}

void net_conn_pause(struct net_conn *c, int on)
{
    if (c->closing || c->owner_paused == !!on)
        return;
    c->owner_paused = !!on;
    if (on)
        update_reading(c);
    else
        conn_frames(c);
}

/* Sends what l has queued, in as few sendmmsg calls as the kernel allows;
 * a datagram it refuses is counted and skipped, EAGAIN drops the rest. */
static void udp_flush(struct net_listener *l)
{
    struct udp_out *o = l->out;
    unsigned done = 0;
    uv_os_fd_t fd;
    if (o->n && uv_fileno((const uv_handle_t *)&l->h.udp, &fd) == 0) {
        while (done < o->n) {
            /* The system call itself: musl's sendmmsg() on 64-bit loops over
             * sendmsg() (its msghdr pads differ from the kernel's; ours are
             * zeroed, so the kernel reads them right). */
            int r = (int)syscall(SYS_sendmmsg, fd, o->h + done, o->n - done, MSG_DONTWAIT);
            l->s->st.udp_send_calls++;
            if (r > 0) {
                done += (unsigned)r;
            } else if (r < 0 && errno == EINTR) {
                continue;
            } else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                l->s->st.udp_send_errors++;
                done++; /* that one datagram is refused: go on with the next */
            } else {
                break;
            }
        }
    }
    l->s->st.udp_send_errors += o->n - done;
    o->n = 0;
    o->used = 0;
}

static void flush_dirty(struct net_conns *s)
{
    for (struct net_listener *l = s->dirty, *n; l; l = n) {
        n = l->dirty_next;
        l->dirty = 0;
        l->dirty_next = NULL;
        udp_flush(l);
    }
    s->dirty = NULL;
}

static void on_flush_pre(uv_prepare_t *h) { flush_dirty(h->data); }
static void on_flush_post(uv_check_t *h) { flush_dirty(h->data); }

static int udp_queue(struct net_listener *l, const union net_addr *to, const void *p, size_t n)
{
    struct udp_out *o = l->out;
    if (o->n == NET_UDP_SEND_BATCH || o->used + n > NET_UDP_SEND_ARENA)
        udp_flush(l);
    unsigned i = o->n++;
    memcpy(o->arena + o->used, p, n);
    o->iov[i] = (struct iovec){ o->arena + o->used, n };
    o->used += (n + 7) & ~(size_t)7;
    o->to[i] = *to;
    o->h[i].msg_hdr = (struct msghdr){
        .msg_name = &o->to[i],
        .msg_namelen = to->sa.sa_family == AF_INET6 ? sizeof to->in6 : sizeof to->in,
        .msg_iov = &o->iov[i],
        .msg_iovlen = 1,
    };
    o->h[i].msg_len = 0;
    if (!l->dirty) {
        l->dirty = 1;
        l->dirty_next = l->s->dirty;
        l->s->dirty = l;
    }
    return 0;
}

int net_udp_send(struct net_listener *l, const union net_addr *to, const void *p, size_t n)
{
    if (l->out && !l->s->closing) {
        if (n <= NET_UDP_SEND_ARENA / 4)
            return udp_queue(l, to, p, n);
        udp_flush(l); /* a large one goes now, after what was queued before it */
    }
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    int rc = uv_udp_try_send(&l->h.udp, &b, 1, &to->sa);
    if (rc < 0) {
        l->s->st.udp_send_errors++;
        return rc;
    }
    return 0;
}

int net_endpoint_send(const struct net_endpoint *e, const void *p, size_t n)
{
    if (e->conn)
        return net_conn_send(e->conn, p, n);
    return net_udp_send(e->lst, &e->addr, p, n);
}

/* ------------------------------------------------------------ accepting */

static void accept_into_spare(struct net_listener *l);

static void on_spare_closed(uv_handle_t *h)
{
    struct net_conns *s = h->data;
    s->spare_busy = 0;
    if (!s->closing) {
        for (struct net_listener *l = s->listeners; l; l = l->next) {
            if (l->owed) {
                l->owed = 0;
                accept_into_spare(l); /* libuv polls the listener again */
                break;
            }
        }
    }
    handle_gone(s);
}

/* Accepts the pending connection of l into the spare handle and closes it:
 * no allocation, and libuv keeps polling the listener. While the spare is
 * busy, the listener waits (unpolled) for its close callback. */
static void accept_into_spare(struct net_listener *l)
{
    struct net_conns *s = l->s;
    if (s->spare_busy) {
        l->owed = 1;
        return;
    }
    s->spare_busy = 1;
    uv_tcp_init(s->loop, &s->spare);
    s->spare.data = s;
    s->handles++;
    uv_accept((uv_stream_t *)&l->h.tcp, (uv_stream_t *)&s->spare);
    uv_close((uv_handle_t *)&s->spare, on_spare_closed);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct net_listener *l = server->data;
    struct net_conns *s = l->s;
    if (status < 0) {
        s->st.accept_errors++; /* EMFILE and friends: libuv shed the socket */
        return;
    }
    if (s->closing)
        return; /* the listener is being closed with its pending socket */
    if (s->st.open >= lim(s)->max_conns) {
        s->st.refused_cap++;
        accept_into_spare(l);
        return;
    }
    struct net_conn *c = calloc(1, sizeof *c + lim(s)->rbuf);
    if (!c) {
        s->st.refused_nomem++;
        accept_into_spare(l);
        return;
    }
    c->s = s;
    c->lst = l;
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    s->handles++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        s->st.accept_errors++;
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
        return;
    }
    int len = sizeof c->peer;
    union net_addr peer;
    if (uv_tcp_getpeername(&c->tcp, &peer.sa, &len) == 0)
        net_addr_copy(&c->peer, &peer.sa);
    if (lim(s)->max_per_source && src_count(s, &c->peer) >= lim(s)->max_per_source) {
        s->st.refused_source++;
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->t_accept = c->t_last = clock_now(s);
    int rc;
    if (l->kind == NET_TLS) {
        static const struct tls_conn_cbs cbs = { on_tls_data, on_tls_closed, on_tls_drain };
        rc = tls_conn_new(l->tls, (uv_stream_t *)&c->tcp, lim(s)->out_cap, &cbs, c, &c->tls);
    } else {
        rc = stream_out_init(&c->out, (uv_stream_t *)&c->tcp, lim(s)->out_cap);
        if (rc == 0) {
            c->out_ready = 1;
            c->out.notify = on_out_event;
            c->out.data = c;
            rc = uv_read_start((uv_stream_t *)&c->tcp, on_tcp_alloc, on_tcp_read);
            c->reading = rc == 0;
        }
    }
    if (rc < 0) {
        s->st.refused_nomem++;
        c->tls = NULL;
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
        return;
    }
    conn_link(c);
}

/* ------------------------------------------------------------ datagrams */

static void on_udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct net_listener *l = h->data;
    struct net_conns *s = l->s;
    (void)hint; /* udp_batch listeners read with on_udp_readable instead */
    *buf = uv_buf_init((char *)s->cfg.udp_buf, (unsigned)s->cfg.udp_buf_len);
}

/* SO_RCVBUF or SO_SNDBUF of fd: forced past the sysctl cap when allowed. */
static void set_sockbuf(uv_os_fd_t fd, int force_opt, int opt, int size)
{
    if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof size) != 0)
        setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size);
}

static void on_udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *from, unsigned flags)
{
    struct net_listener *l = h->data;
    struct net_conns *s = l->s;
    (void)flags;
    if (nread <= 0 || !from || s->closing)
        return;
    s->st.udp_in++;
    union net_addr a;
    net_addr_copy(&a, from);
    if (a.sa.sa_family && s->cfg.ops->on_datagram)
        s->cfg.ops->on_datagram(s->cfg.ctx, l, &a, (uint8_t *)buf->base, (size_t)nread);
}

/* Batches read per wake-up at most before the loop's other work (libuv's
 * own bound is 32 datagrams). */
#define NET_UDP_RECV_ROUNDS 4

int net_udp_recv_batch(int fd, struct net_udp_batch *b, uint8_t *base, size_t stride,
                       size_t cap)
{
    for (int k = 0; k < NET_UDP_RECV_BATCH; k++) {
        b->iov[k] = (struct iovec){ base + (size_t)k * stride, cap };
        b->m[k] = (struct mmsghdr){ 0 };
        b->from[k].sa.sa_family = 0;
        b->m[k].msg_hdr.msg_name = &b->from[k];
        b->m[k].msg_hdr.msg_namelen = sizeof b->from[k];
        b->m[k].msg_hdr.msg_iov = &b->iov[k];
        b->m[k].msg_hdr.msg_iovlen = 1;
    }
    int r;
    while ((r = recvmmsg(fd, b->m, NET_UDP_RECV_BATCH, MSG_DONTWAIT, NULL)) < 0 && errno == EINTR) {
    }
    return r < 0 ? -errno : r;
}

/* A udp_batch listener is readable. libuv's recvmmsg path calls again until
 * EAGAIN, a second system call per wake-up even when one datagram came;
 * here a batch shorter than NET_UDP_RECV_BATCH means the socket is empty.
 * The poll is level-triggered: what the bounded rounds leave wakes it. */
static void on_udp_readable(uv_poll_t *h, int status, int events)
{
    struct net_listener *l = h->data;
    struct net_conns *s = l->s;
    if (status < 0 || !(events & UV_READABLE))
        return;
    uv_os_fd_t fd;
    if (uv_fileno((const uv_handle_t *)h, &fd) != 0)
        return;
    struct net_udp_batch b;
    int rounds = s->cfg.udp_rounds > 0 ? s->cfg.udp_rounds : NET_UDP_RECV_ROUNDS;
    for (int round = 0; round < rounds && !s->closing; round++) {
        int r = net_udp_recv_batch(fd, &b, s->mmsg_buf, 65536u, 65536u);
        if (r < 0)
            return; /* EAGAIN (a spurious wake-up) or a pending socket error */
        for (int i = 0; i < r && !s->closing; i++) {
            s->st.udp_in++;
            if (b.from[i].sa.sa_family && s->cfg.ops->on_datagram)
                s->cfg.ops->on_datagram(s->cfg.ctx, l, &b.from[i], b.iov[i].iov_base,
                                        b.m[i].msg_len);
        }
        if (r < NET_UDP_RECV_BATCH)
            return;
    }
}

/* ------------------------------------------------------------ the set */

static void on_sweep(uv_timer_t *t)
{
    struct net_conns *s = t->data;
    net_conns_sweep(s, clock_now(s));
}

int net_conns_new(uv_loop_t *loop, const struct net_conns_config *cfg, struct net_conns **out)
{
    const struct net_conn_limits *l = &cfg->limits;
    if (!cfg->ops || !cfg->ops->frame_len || !cfg->ops->on_frame || l->rbuf == 0 ||
        l->out_cap == 0 || l->rbuf > (size_t)1 << 30)
        return -EINVAL;
    struct net_conns *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->loop = loop;
    s->cfg = *cfg;
    s->nsrc = 64;
    while (s->nsrc < l->max_conns && s->nsrc < 65536)
        s->nsrc *= 2;
    s->src = calloc(s->nsrc, sizeof *s->src);
    if (!s->src || getentropy(s->src_key, sizeof s->src_key) < 0) {
        free(s->src);
        free(s);
        return -ENOMEM;
    }
    if (cfg->udp_batch) {
        s->mmsg_buf = malloc((size_t)NET_UDP_RECV_BATCH * 65536u);
        if (!s->mmsg_buf) {
            free(s->src);
            free(s);
            return -ENOMEM;
        }
        uv_prepare_init(loop, &s->flush_pre);
        s->flush_pre.data = s;
        s->handles++;
        uv_prepare_start(&s->flush_pre, on_flush_pre);
        uv_check_init(loop, &s->flush_post);
        s->flush_post.data = s;
        s->handles++;
        uv_check_start(&s->flush_post, on_flush_post);
    }
    uv_timer_init(loop, &s->sweep);
    s->sweep.data = s;
    s->handles++;
    uint32_t every = l->sweep_ms ? l->sweep_ms : 1000;
    if (every != UINT32_MAX)
        uv_timer_start(&s->sweep, on_sweep, every, every);
    *out = s;
    return 0;
}

int net_listen(struct net_conns *s, int kind, const union net_addr *addr,
               struct tls_server *tls, int backlog, struct net_listener **out, char *err,
               size_t errlen)
{
    const char *what = kind == NET_UDP ? "UDP" : kind == NET_TCP ? "TCP" : "TLS";
    int port = ntohs(addr->sa.sa_family == AF_INET6 ? addr->in6.sin6_port : addr->in.sin_port);
    if ((kind == NET_TLS && !tls) || (kind != NET_UDP && kind != NET_TCP && kind != NET_TLS) ||
        (kind == NET_UDP && !s->cfg.udp_buf)) {
        snprintf(err, errlen, "cannot listen for %s on port %d: not configured", what, port);
        return -EINVAL;
    }
    struct net_listener *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    l->s = s;
    l->kind = kind;
    l->tls = tls;
    l->next = s->listeners;
    s->listeners = l;
    int v6 = addr->sa.sa_family == AF_INET6;
    int rc;
    if (kind == NET_UDP) {
        uv_udp_init(s->loop, &l->h.udp);
        l->h.udp.data = l;
        s->handles++;
        if (s->cfg.udp_batch && !(l->out = malloc(sizeof *l->out))) {
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
        if (l->out) {
            l->out->n = 0;
            l->out->used = 0;
        }
        rc = uv_udp_bind(&l->h.udp, &addr->sa, v6 ? UV_UDP_IPV6ONLY : 0);
        uv_os_fd_t fd;
        if (rc == 0 && uv_fileno((const uv_handle_t *)&l->h.udp, &fd) == 0) {
            if (s->cfg.udp_rcvbuf)
                set_sockbuf(fd, SO_RCVBUFFORCE, SO_RCVBUF, s->cfg.udp_rcvbuf);
            if (s->cfg.udp_sndbuf)
                set_sockbuf(fd, SO_SNDBUFFORCE, SO_SNDBUF, s->cfg.udp_sndbuf);
        }
        if (rc == 0 && s->cfg.udp_batch) {
            /* The poll shares the descriptor: the uv_udp_t only binds, sends
             * the odd large datagram and closes it, its reading never starts. */
            rc = uv_fileno((const uv_handle_t *)&l->h.udp, &fd);
            if (rc == 0 && (rc = uv_poll_init(s->loop, &l->rpoll, fd)) == 0) {
                l->rpoll.data = l;
                l->rpolling = 1;
                s->handles++;
                rc = uv_poll_start(&l->rpoll, UV_READABLE, on_udp_readable);
            }
        } else if (rc == 0) {
            rc = uv_udp_recv_start(&l->h.udp, on_udp_alloc, on_udp_recv);
        }
    } else {
        uv_tcp_init(s->loop, &l->h.tcp);
        l->h.tcp.data = l;
        s->handles++;
        rc = uv_tcp_bind(&l->h.tcp, &addr->sa, v6 ? UV_TCP_IPV6ONLY : 0);
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)&l->h.tcp, backlog > 0 ? backlog : 128, on_connection);
    }
    if (rc < 0) {
        snprintf(err, errlen, "cannot listen for %s on port %d: %s", what, port, uv_strerror(rc));
        return rc;
    }
    if (out)
        *out = l;
    return 0;
}

void net_conns_close(struct net_conns *s, void (*done)(void *arg), void *arg)
{
    assert(!s->closing);
    if (s->closing)
        return;
    s->closing = 1;
    s->done = done;
    s->done_arg = arg;
    s->handles++; /* held while closing everything */
    while (s->conns)
        conn_close(s->conns, NULL);
    flush_dirty(s); /* while the sockets are open */
    for (struct net_listener *l = s->listeners; l; l = l->next) {
        if (l->rpolling) { /* before the socket it watches is closed */
            l->rpoll.data = s;
            uv_close((uv_handle_t *)&l->rpoll, on_handle_closed);
        }
        uv_handle_t *h = (uv_handle_t *)&l->h;
        h->data = s;
        uv_close(h, on_handle_closed);
    }
    if (s->mmsg_buf) {
        uv_close((uv_handle_t *)&s->flush_pre, on_handle_closed);
        uv_close((uv_handle_t *)&s->flush_post, on_handle_closed);
    }
    uv_close((uv_handle_t *)&s->sweep, on_handle_closed);
    handle_gone(s);
}

void net_conns_sweep(struct net_conns *s, uint64_t now)
{
    const struct net_conn_limits *l = lim(s);
    for (struct net_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        uint64_t age = now > c->t_accept ? now - c->t_accept : 0;
        if (c->finishing) {
            uint64_t wait = l->frame_ms ? l->frame_ms : 5000;
            if (now > c->t_finish && now - c->t_finish > wait)
                conn_close(c, c->finish_cause);
        } else if (l->handshake_ms && c->tls && !tls_conn_ready(c->tls) &&
                   age > l->handshake_ms) {
            conn_close(c, &s->st.closed_handshake);
        } else if (l->unauth_ms && !c->authenticated && age > l->unauth_ms) {
            conn_close(c, &s->st.closed_unauth);
        } else if (l->frame_ms && c->t_frame && now > c->t_frame &&
                   now - c->t_frame > l->frame_ms) {
            conn_close(c, &s->st.closed_frame);
        } else if (l->idle_ms && !c->held && now > c->t_last && now - c->t_last > l->idle_ms) {
            conn_close(c, &s->st.closed_idle);
        }
    }
}

const struct net_conn_stats *net_conns_stats(const struct net_conns *s)
{
    return &s->st;
}

void net_conns_metrics(const struct net_conns *s, struct metrics_out *m, const char *prefix)
{
    char name[96];
    const struct net_conn_stats *st = &s->st;
    snprintf(name, sizeof name, "%s_connections_open", prefix);
    metrics_gauge(m, name, "stream connections open now", NULL, (int64_t)st->open);
    snprintf(name, sizeof name, "%s_connections_accepted_total", prefix);
    metrics_counter(m, name, "stream connections accepted", NULL, st->accepted);
    static const struct {
        const char *label;
        size_t off;
    } refused[] = {
        { "cause=\"cap\"", offsetof(struct net_conn_stats, refused_cap) },
        { "cause=\"per_source\"", offsetof(struct net_conn_stats, refused_source) },
        { "cause=\"nomem\"", offsetof(struct net_conn_stats, refused_nomem) },
        { "cause=\"accept_error\"", offsetof(struct net_conn_stats, accept_errors) },
    }, closed[] = {
        { "cause=\"peer\"", offsetof(struct net_conn_stats, closed_peer) },
        { "cause=\"frame_deadline\"", offsetof(struct net_conn_stats, closed_frame) },
        { "cause=\"idle\"", offsetof(struct net_conn_stats, closed_idle) },
        { "cause=\"handshake\"", offsetof(struct net_conn_stats, closed_handshake) },
        { "cause=\"unauthenticated\"", offsetof(struct net_conn_stats, closed_unauth) },
        { "cause=\"max_frames\"", offsetof(struct net_conn_stats, closed_frames) },
        { "cause=\"malformed\"", offsetof(struct net_conn_stats, closed_malformed) },
        { "cause=\"oversize\"", offsetof(struct net_conn_stats, closed_oversize) },
        { "cause=\"write_error\"", offsetof(struct net_conn_stats, closed_write) },
        { "cause=\"owner\"", offsetof(struct net_conn_stats, closed_owner) },
    };
    const uint8_t *base = (const uint8_t *)st;
    snprintf(name, sizeof name, "%s_connections_refused_total", prefix);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        metrics_counter(m, name, "stream connections refused, by cause", refused[i].label,
                        *(const uint64_t *)(base + refused[i].off));
    snprintf(name, sizeof name, "%s_connections_closed_total", prefix);
    for (size_t i = 0; i < sizeof closed / sizeof closed[0]; i++)
        metrics_counter(m, name, "stream connections closed, by cause", closed[i].label,
                        *(const uint64_t *)(base + closed[i].off));
    snprintf(name, sizeof name, "%s_output_dropped_total", prefix);
    metrics_counter(m, name, "stream sends refused: output bound reached", NULL, st->out_dropped);
    snprintf(name, sizeof name, "%s_backpressure_total", prefix);
    metrics_counter(m, name, "times a stream stopped being read: unsent output", NULL,
                    st->paused);
}

/* ------------------------------------------------------------ descriptors */

int net_fd_budget(const struct net_fd_use *uses, size_t n, uint64_t reserve, uint64_t *limit,
                  char *err, size_t errlen)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        snprintf(err, errlen, "cannot read RLIMIT_NOFILE: %s", strerror(errno));
        return -errno;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = { rl.rlim_max, rl.rlim_max };
        /* An unlimited hard limit is refused for NOFILE; then keep trying
         * the largest value the kernel commonly allows. */
        if (setrlimit(RLIMIT_NOFILE, &want) != 0 && rl.rlim_max == RLIM_INFINITY) {
            want.rlim_cur = 1u << 20;
            setrlimit(RLIMIT_NOFILE, &want);
        }
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    uint64_t have = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
    if (limit)
        *limit = have;
    uint64_t need = reserve;
    for (size_t i = 0; i < n; i++)
        need += uses[i].count;
    if (need <= have)
        return 0;
    size_t k = (size_t)snprintf(err, errlen, "file descriptors: ");
    for (size_t i = 0; i < n && k < errlen; i++)
        k += (size_t)snprintf(err + k, errlen - k, "%s (%llu) + ", uses[i].keys,
                              (unsigned long long)uses[i].count);
    if (k < errlen)
        snprintf(err + k, errlen - k,
                 "a reserve (%llu) need %llu, above the limit of %llu (RLIMIT_NOFILE): lower "
                 "those keys or raise the limit (ulimit -n, LimitNOFILE=, docker --ulimit)",
                 (unsigned long long)reserve, (unsigned long long)need,
                 (unsigned long long)have);
    return -EMFILE;
}
