/*
 * test_net_conn.c - the connection layer (net/conn.h) on its own loop with
 * real loopback TCP sockets: framing, caps in total and per source, the
 * deadlines under a fake clock, back-pressure, and a listener that keeps
 * accepting after a refusal. The framing here is a toy: a 2-byte big-endian
 * length, then that many bytes; a first byte 0xFF is malformed.
 */
#include "t.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "net/conn.h"

struct fx {
    uv_loop_t loop;
    struct net_conns *s;
    struct net_listener *l;
    int port;
    uint64_t now;      /* the fake clock */
    int frames, closes, done;
    size_t reply;      /* bytes sent back per frame */
    int auth_on_frame; /* mark authenticated at the first frame */
    uint8_t last[64];
    size_t lastn;
};

static uint64_t fake_clock(void *ctx)
{
    return ((struct fx *)ctx)->now;
}

static long toy_len(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx;
    if (p[0] == 0xFF)
        return -EBADMSG;
    if (n < 2)
        return NET_FRAME_MORE;
    return 2 + (long)(p[0] << 8 | p[1]);
}

static void toy_frame(void *ctx, struct net_conn *c, const uint8_t *p, size_t n)
{
    struct fx *f = ctx;
    f->frames++;
    f->lastn = n < sizeof f->last ? n : sizeof f->last;
    memcpy(f->last, p, f->lastn);
    if (f->auth_on_frame)
        net_conn_set_authenticated(c);
    if (f->reply) {
        static uint8_t big[65536];
        net_conn_send(c, big, f->reply);
    }
}

static void toy_close(void *ctx, struct net_conn *c)
{
    (void)c;
    ((struct fx *)ctx)->closes++;
}

static const struct net_conn_ops toy_ops = { toy_len, toy_frame, NULL, toy_close };

static struct net_conn_limits base_limits(void)
{
    return (struct net_conn_limits){
        .max_conns = 8, .rbuf = 64, .out_cap = 4096, .out_pause = 4096,
        .sweep_ms = UINT32_MAX,
    };
}

static void fx_start(struct fx *f, struct net_conn_limits lim)
{
    memset(f, 0, sizeof *f);
    f->now = 1000;
    ASSERT_EQ(uv_loop_init(&f->loop), 0);
    struct net_conns_config cfg = { .limits = lim, .ops = &toy_ops, .ctx = f,
                                    .clock = fake_clock };
    ASSERT_EQ(net_conns_new(&f->loop, &cfg, &f->s), 0);
    union net_addr a = { .in = { .sin_family = AF_INET,
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) } };
    char err[128];
    ASSERT_EQ(net_listen(f->s, NET_TCP, &a, NULL, 0, &f->l, err, sizeof err), 0);
    union net_addr b;
    ASSERT_EQ(net_listener_addr(f->l, &b), 0);
    f->port = ntohs(b.in.sin_port);
}

static void on_done(void *arg)
{
    ((struct fx *)arg)->done = 1;
}

static void fx_stop(struct fx *f)
{
    net_conns_close(f->s, on_done, f);
    for (int i = 0; i < 1000 && !f->done; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    ASSERT(f->done);
    ASSERT_EQ(uv_loop_close(&f->loop), 0);
}

static void spin(struct fx *f, int turns)
{
    for (int i = 0; i < turns; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

static int dial(struct fx *f)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int rc = connect(s, (struct sockaddr *)&a, sizeof a);
    ASSERT(rc == 0 || errno == EINPROGRESS);
    spin(f, 20);
    return s;
}

static void put(struct fx *f, int s, const void *p, size_t n)
{
    ASSERT_EQ(send(s, p, n, MSG_NOSIGNAL), (long)n);
    spin(f, 10);
}

/* 1 when the server closed s (EOF or reset), pumping the loop meanwhile. */
static int closed_by_server(struct fx *f, int s)
{
    for (int i = 0; i < 200; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        char b[4096];
        ssize_t r = recv(s, b, sizeof b, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return 1;
        usleep(1000);
    }
    return 0;
}

TEST(net_conn_cuts_frames_across_reads)
{
    struct fx f;
    fx_start(&f, base_limits());
    int s = dial(&f);
    put(&f, s, "\x00\x03" "abc" "\x00", 6); /* one frame and one byte of the next */
    ASSERT_EQ(f.frames, 1);
    ASSERT_MEM_EQ(f.last, "\x00\x03" "abc", 5);
    put(&f, s, "\x02" "x", 2);
    ASSERT_EQ(f.frames, 1);
    put(&f, s, "y" "\x00\x00", 3); /* the rest, and an empty frame */
    ASSERT_EQ(f.frames, 3);
    ASSERT_EQ(f.lastn, 2);
    ASSERT_EQ(net_conns_stats(f.s)->open, 1);
    close(s);
    spin(&f, 20);
    ASSERT_EQ(f.closes, 1);
    ASSERT_EQ(net_conns_stats(f.s)->closed_peer, 1);
    fx_stop(&f);
}

TEST(net_conn_closes_malformed_and_oversize)
{
    struct fx f;
    fx_start(&f, base_limits());
    int a = dial(&f), b = dial(&f);
    put(&f, a, "\xFF\x00", 2);
    put(&f, b, "\x01\x00", 2); /* 258 bytes: larger than rbuf (64) */
    ASSERT(closed_by_server(&f, a));
    ASSERT(closed_by_server(&f, b));
    ASSERT_EQ(net_conns_stats(f.s)->closed_malformed, 1);
    ASSERT_EQ(net_conns_stats(f.s)->closed_oversize, 1);
    ASSERT_EQ(f.frames, 0);
    close(a);
    close(b);
    fx_stop(&f);
}

TEST(net_conn_total_cap_refuses_and_keeps_accepting)
{
    struct net_conn_limits l = base_limits();
    l.max_conns = 1;
    struct fx f;
    fx_start(&f, l);
    int a = dial(&f);
    int b = dial(&f);
    ASSERT(closed_by_server(&f, b));
    ASSERT_EQ(net_conns_stats(f.s)->refused_cap, 1);
    ASSERT_EQ(net_conns_stats(f.s)->open, 1);
    close(a);
    spin(&f, 20);
    ASSERT_EQ(net_conns_stats(f.s)->open, 0);
    /* The refusal went through the spare handle: the listener still works. */
    int c = dial(&f);
    put(&f, c, "\x00\x01z", 3);
    ASSERT_EQ(f.frames, 1);
    ASSERT_EQ(net_conns_stats(f.s)->open, 1);
    close(b);
    close(c);
    fx_stop(&f);
}

TEST(net_conn_per_source_cap)
{
    struct net_conn_limits l = base_limits();
    l.max_per_source = 2;
    struct fx f;
    fx_start(&f, l);
    int a = dial(&f), b = dial(&f), c = dial(&f);
    ASSERT(closed_by_server(&f, c));
    ASSERT_EQ(net_conns_stats(f.s)->refused_source, 1);
    ASSERT_EQ(net_conns_stats(f.s)->open, 2);
    ASSERT(!closed_by_server(&f, a));
    close(a);
    close(b);
    close(c);
    fx_stop(&f);
}

TEST(net_conn_frame_deadline_is_not_rearmed_by_bytes)
{
    struct net_conn_limits l = base_limits();
    l.frame_ms = 5000;
    struct fx f;
    fx_start(&f, l);
    int slow = dial(&f), quick = dial(&f);
    put(&f, slow, "\x00\x08", 2);
    for (int i = 0; i < 4; i++) { /* one byte a second: the frame stays open */
        f.now += 1000;
        put(&f, slow, "a", 1);
        put(&f, quick, "\x00\x00", 2);
        net_conns_sweep(f.s, f.now);
    }
    ASSERT(!closed_by_server(&f, slow));
    f.now += 1500; /* 5.5 s after the frame's first byte */
    net_conns_sweep(f.s, f.now);
    ASSERT(closed_by_server(&f, slow));
    ASSERT(!closed_by_server(&f, quick));
    ASSERT_EQ(net_conns_stats(f.s)->closed_frame, 1);
    ASSERT_EQ(f.frames, 4);
    close(slow);
    close(quick);
    fx_stop(&f);
}

TEST(net_conn_idle_closes_after_the_last_frame)
{
    struct net_conn_limits l = base_limits();
    l.idle_ms = 10000;
    struct fx f;
    fx_start(&f, l);
    int a = dial(&f), b = dial(&f);
    f.now += 6000;
    put(&f, b, "\x00\x00", 2); /* a frame moves b's idle time, not a's */
    f.now += 5000;
    net_conns_sweep(f.s, f.now);
    ASSERT(closed_by_server(&f, a));
    ASSERT(!closed_by_server(&f, b));
    f.now += 6000;
    net_conns_sweep(f.s, f.now);
    ASSERT(closed_by_server(&f, b));
    ASSERT_EQ(net_conns_stats(f.s)->closed_idle, 2);
    close(a);
    close(b);
    fx_stop(&f);
}

static struct net_conn *held_conn;

static void hold_frame(void *ctx, struct net_conn *c, const uint8_t *p, size_t n)
{
    toy_frame(ctx, c, p, n);
    net_conn_hold(c, 1);
    held_conn = c;
}

TEST(net_conn_held_connection_skips_idle)
{
    static const struct net_conn_ops ops = { toy_len, hold_frame, NULL, toy_close };
    struct fx f;
    memset(&f, 0, sizeof f);
    f.now = 1000;
    ASSERT_EQ(uv_loop_init(&f.loop), 0);
    struct net_conn_limits l = base_limits();
    l.idle_ms = 10000;
    struct net_conns_config cfg = { .limits = l, .ops = &ops, .ctx = &f, .clock = fake_clock };
    ASSERT_EQ(net_conns_new(&f.loop, &cfg, &f.s), 0);
    union net_addr a = { .in = { .sin_family = AF_INET,
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) } };
    char err[128];
    ASSERT_EQ(net_listen(f.s, NET_TCP, &a, NULL, 0, &f.l, err, sizeof err), 0);
    union net_addr b;
    ASSERT_EQ(net_listener_addr(f.l, &b), 0);
    f.port = ntohs(b.in.sin_port);
    int s = dial(&f), t = dial(&f);
    put(&f, s, "\x00\x00", 2);
    ASSERT(held_conn);
    f.now += 60000;
    net_conns_sweep(f.s, f.now);
    ASSERT(!closed_by_server(&f, s));
    ASSERT(closed_by_server(&f, t));
    net_conn_hold(held_conn, 0);
    net_conns_sweep(f.s, f.now);
    ASSERT(closed_by_server(&f, s));
    close(s);
    close(t);
    fx_stop(&f);
}

TEST(net_conn_unauthenticated_get_a_short_slot)
{
    struct net_conn_limits l = base_limits();
    l.unauth_ms = 3000;
    l.idle_ms = 60000;
    struct fx f;
    fx_start(&f, l);
    f.auth_on_frame = 1;
    int stranger = dial(&f);
    int client = dial(&f);
    put(&f, client, "\x00\x00", 2); /* the owner marks it authenticated */
    f.now += 3500;
    net_conns_sweep(f.s, f.now);
    ASSERT(closed_by_server(&f, stranger));
    ASSERT(!closed_by_server(&f, client));
    ASSERT_EQ(net_conns_stats(f.s)->closed_unauth, 1);
    close(stranger);
    close(client);
    fx_stop(&f);
}

TEST(net_conn_max_frames_then_closes)
{
    struct net_conn_limits l = base_limits();
    l.max_frames = 2;
    struct fx f;
    fx_start(&f, l);
    int s = dial(&f);
    put(&f, s, "\x00\x00\x00\x00\x00\x00", 6);
    ASSERT_EQ(f.frames, 2);
    ASSERT(closed_by_server(&f, s));
    ASSERT_EQ(net_conns_stats(f.s)->closed_frames, 1);
    close(s);
    fx_stop(&f);
}

TEST(net_conn_back_pressure_stops_reading)
{
    struct net_conn_limits l = base_limits();
    l.out_cap = 65536;
    l.out_pause = 16384;
    struct fx f;
    fx_start(&f, l);
    f.reply = 60000;
    int s = dial(&f);
    /* 1000 requests (60 MB of answers), never reading the answers. */
    enum { NREQ = 1000 };
    static uint8_t reqs[2 * NREQ];
    size_t sent = 0;
    for (int i = 0; i < 200 && sent < sizeof reqs; i++) {
        ssize_t r = send(s, reqs + sent, sizeof reqs - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r > 0)
            sent += (size_t)r;
        spin(&f, 2);
    }
    ASSERT_EQ(sent, sizeof reqs);
    spin(&f, 50);
    const struct net_conn_stats *st = net_conns_stats(f.s);
    ASSERT(st->paused >= 1);
    int stalled = f.frames;
    ASSERT(stalled < NREQ); /* stopped before all requests were read */
    spin(&f, 50);
    ASSERT_EQ(f.frames, stalled); /* and stays stopped */
    ASSERT_EQ(st->out_dropped, 0); /* nothing was thrown away meanwhile */
    /* Reading the answers resumes it; every answer arrives. */
    static char buf[1 << 16];
    size_t total = 0;
    for (int i = 0; i < 100000 && total < (size_t)NREQ * 60000; i++) {
        ssize_t got;
        while ((got = recv(s, buf, sizeof buf, MSG_DONTWAIT)) > 0)
            total += (size_t)got;
        uv_run(&f.loop, UV_RUN_NOWAIT);
        if (i % 64 == 63)
            usleep(100);
    }
    ASSERT_EQ(f.frames, NREQ);
    ASSERT_EQ(total, (size_t)NREQ * 60000);
    ASSERT(st->paused >= 2);
    close(s);
    fx_stop(&f);
}

TEST(net_conn_fd_budget_names_the_keys)
{
    const struct net_fd_use uses[] = { { "turn-max-connections", 1ULL << 40 },
                                       { "min-port..max-port", 16384 } };
    char err[512];
    uint64_t limit = 0;
    ASSERT_EQ(net_fd_budget(uses, 2, 64, &limit, err, sizeof err), -EMFILE);
    ASSERT(strstr(err, "turn-max-connections (1099511627776)"));
    ASSERT(strstr(err, "min-port..max-port (16384)"));
    ASSERT(limit > 0);
    ASSERT_EQ(net_fd_budget(uses + 1, 0, 1, NULL, err, sizeof err), 0);
}
