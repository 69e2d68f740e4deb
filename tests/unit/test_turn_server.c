/*
 * test_turn_server.c - the TURN server in-process on its own libuv loop, so
 * that the unit runner's sanitizers see the relay path: Binding, the 401
 * challenge, Allocate with a T9phone-style HA1 key, CreatePermission, Send
 * and Data indications, ChannelBind and ChannelData both ways, over UDP and
 * TCP; then a clean stop that leaves no handle open.
 */
#include "t.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "base/config.h"
#include "turn/auth.h"
#include "turn/config.h"
#include "turn/alloc.h"
#include "turn/internal.h"
#include "turn/server.h"
#include "turn/stun.h"

static const struct config_key realm_table[] = {
    { "realm", CONFIG_STRING, "t9phone.local", 0, 0, NULL, 0, "realm" },
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};

static const char user[] = "sipuser1";
static const char pass[] = "sip-password";

static int lookup(void *ctx, const char *username, uint8_t key[16])
{
    (void)ctx;
    if (strcmp(username, user) != 0)
        return -ENOENT;
    turn_ltc_key(user, strlen(user), "t9phone.local", pass, strlen(pass), key);
    return 0;
}

struct env {
    uv_loop_t loop;
    config_t *cfg;
    struct turn_server *ts;
    int port;
    int stopped;
};

static int free_port(int type)
{
    int s = socket(AF_INET, type, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ASSERT(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t l = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &l);
    close(s);
    return ntohs(a.sin_port);
}

static void set(config_t *cfg, const char *flag)
{
    char err[CONFIG_ERR_LEN];
    if (config_set_flag(cfg, flag, err) != 0)
        t_fail(__FILE__, __LINE__, "%s: %s", flag, err);
}

/* Extra flags for the next env_start() (NULL-terminated), reset by it. */
static const char *env_extra[4];

static void env_start(struct env *e)
{
    const struct config_key *const tables[] = { realm_table, turn_config_keys };
    ASSERT_EQ(uv_loop_init(&e->loop), 0);
    e->cfg = config_new(tables, 2);
    ASSERT(e->cfg);
    char buf[64];
    e->port = free_port(SOCK_STREAM);
    snprintf(buf, sizeof buf, "--listening-port=%d", e->port);
    set(e->cfg, buf);
    int lo = free_port(SOCK_DGRAM);
    if (lo > 65000)
        lo = 40000;
    snprintf(buf, sizeof buf, "--min-port=%d", lo);
    set(e->cfg, buf);
    snprintf(buf, sizeof buf, "--max-port=%d", lo + 200);
    set(e->cfg, buf);
    set(e->cfg, "--listening-ip=127.0.0.1");
    set(e->cfg, "--relay-ip=127.0.0.1");
    set(e->cfg, "--allow-loopback-peers");
    set(e->cfg, "--no-tls");
    for (int i = 0; i < 4 && env_extra[i]; i++)
        set(e->cfg, env_extra[i]);
    memset(env_extra, 0, sizeof env_extra);
    struct turn_auth auth = { lookup, NULL };
    char err[256];
    int rc = turn_server_start(&e->loop, e->cfg, &auth, &e->ts, err, sizeof err);
    if (rc < 0)
        t_fail(__FILE__, __LINE__, "turn_server_start: %s", err);
}

static void on_stopped(void *arg)
{
    ((struct env *)arg)->stopped = 1;
}

static void env_stop(struct env *e)
{
    turn_server_stop(e->ts, on_stopped, e);
    for (int i = 0; i < 1000 && !e->stopped; i++)
        uv_run(&e->loop, UV_RUN_NOWAIT);
    ASSERT(e->stopped);
    uv_run(&e->loop, UV_RUN_NOWAIT);
    ASSERT_EQ(uv_loop_close(&e->loop), 0); /* every handle closed */
    config_free(e->cfg);
}

static int udp_socket(struct sockaddr_in *bound)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ASSERT(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t l = sizeof *bound;
    getsockname(s, (struct sockaddr *)bound, &l);
    return s;
}

/* Runs the loop until fd has something to read (bounded), then reads it. */
static ssize_t pump_recv(struct env *e, int fd, uint8_t *buf, size_t cap)
{
    for (int i = 0; i < 2000; i++) {
        uv_run(&e->loop, UV_RUN_NOWAIT);
        ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
        if (n >= 0)
            return n;
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* Sends a request on a UDP or connected socket and parses the answer. */
static void transact(struct env *e, int fd, const struct sockaddr_in *to, const uint8_t *req,
                     size_t n, uint8_t *resp, size_t cap, struct stun_msg *m)
{
    if (to)
        ASSERT_EQ(sendto(fd, req, n, 0, (const struct sockaddr *)to, sizeof *to), (ssize_t)n);
    else
        ASSERT_EQ(send(fd, req, n, 0), (ssize_t)n);
    ssize_t got = pump_recv(e, fd, resp, cap);
    ASSERT(got > 0);
    ASSERT_EQ(stun_parse(resp, (size_t)got, m), 0);
    ASSERT_MEM_EQ(m->tid, req + 8, STUN_TID_LEN);
}

static int err_code(const struct stun_msg *m)
{
    const struct stun_attr *a = stun_find(m, STUN_A_ERROR_CODE);
    int code = 0;
    const char *r;
    size_t rl;
    if (a)
        stun_get_error(a, &code, &r, &rl);
    return code;
}

struct session {
    struct env *e;
    int fd;
    const struct sockaddr_in *to; /* NULL over TCP */
    uint8_t key[16];
    char nonce[64];
    size_t nonce_len;
    uint8_t tid[12];
};

static void new_tid(struct session *s)
{
    for (int i = 0; i < 12; i++)
        s->tid[i] = (uint8_t)rand();
}

/* Builds an authenticated request: attributes via fn, then credentials. */
static void request(struct session *s, uint16_t method,
                    void (*fn)(struct stun_builder *, void *), void *arg, struct stun_msg *m,
                    uint8_t *resp, size_t cap)
{
    uint8_t req[512];
    struct stun_builder b;
    new_tid(s);
    stun_build_init(&b, req, sizeof req, method, STUN_REQUEST, s->tid);
    if (fn)
        fn(&b, arg);
    stun_put(&b, STUN_A_USERNAME, user, strlen(user));
    stun_put(&b, STUN_A_REALM, "t9phone.local", 13);
    stun_put(&b, STUN_A_NONCE, s->nonce, s->nonce_len);
    stun_put_integrity(&b, s->key, 16);
    long n = stun_build_end(&b);
    ASSERT(n > 0);
    transact(s->e, s->fd, s->to, req, (size_t)n, resp, cap, m);
}

static void put_udp(struct stun_builder *b, void *arg)
{
    (void)arg;
    stun_put_u32(b, STUN_A_REQUESTED_TRANSPORT, (uint32_t)STUN_TRANSPORT_UDP << 24);
}

static void put_peer(struct stun_builder *b, void *arg)
{
    stun_put_xor_addr(b, STUN_A_XOR_PEER_ADDRESS, arg);
}

static void put_channel(struct stun_builder *b, void *arg)
{
    stun_put_u32(b, STUN_A_CHANNEL_NUMBER, 0x40000000u);
    stun_put_xor_addr(b, STUN_A_XOR_PEER_ADDRESS, arg);
}

/* The whole client story over one transport. */
static void run_session(struct env *e, int fd, const struct sockaddr_in *to, int stream)
{
    struct session s = { .e = e, .fd = fd, .to = to };
    uint8_t resp[2048];
    struct stun_msg m;
    turn_ltc_key(user, strlen(user), "t9phone.local", pass, strlen(pass), s.key);

    /* Binding. */
    uint8_t req[256];
    struct stun_builder b;
    new_tid(&s);
    stun_build_init(&b, req, sizeof req, STUN_BINDING, STUN_REQUEST, s.tid);
    transact(e, fd, to, req, (size_t)stun_build_end(&b), resp, sizeof resp, &m);
    ASSERT_EQ(m.cls, STUN_SUCCESS);
    ASSERT(stun_find(&m, STUN_A_XOR_MAPPED_ADDRESS));

    /* Unauthenticated Allocate: 401 with realm and nonce. */
    new_tid(&s);
    stun_build_init(&b, req, sizeof req, TURN_ALLOCATE, STUN_REQUEST, s.tid);
    put_udp(&b, NULL);
    transact(e, fd, to, req, (size_t)stun_build_end(&b), resp, sizeof resp, &m);
    ASSERT_EQ(m.cls, STUN_ERROR);
    ASSERT_EQ(err_code(&m), 401);
    const struct stun_attr *na = stun_find(&m, STUN_A_NONCE);
    ASSERT(na && na->len < sizeof s.nonce);
    memcpy(s.nonce, na->val, na->len);
    s.nonce_len = na->len;

    /* Wrong key: 401 again. */
    uint8_t good[16];
    memcpy(good, s.key, 16);
    s.key[0] ^= 1;
    request(&s, TURN_ALLOCATE, put_udp, NULL, &m, resp, sizeof resp);
    ASSERT_EQ(err_code(&m), 401);
    memcpy(s.key, good, 16);

    /* Allocate. */
    request(&s, TURN_ALLOCATE, put_udp, NULL, &m, resp, sizeof resp);
    ASSERT_EQ(m.cls, STUN_SUCCESS);
    ASSERT_EQ(stun_check_integrity(&m, s.key, 16), 0);
    struct sockaddr_storage relay;
    ASSERT_EQ(stun_get_xor_addr(&m, stun_find(&m, STUN_A_XOR_RELAYED_ADDRESS), &relay), 0);

    /* A peer, and a permission for it. */
    struct sockaddr_in paddr;
    int peer = udp_socket(&paddr);
    request(&s, TURN_CREATE_PERMISSION, put_peer, &paddr, &m, resp, sizeof resp);
    ASSERT_EQ(m.cls, STUN_SUCCESS);

    /* Send indication -> peer. */
    new_tid(&s);
    stun_build_init(&b, req, sizeof req, TURN_SEND, STUN_INDICATION, s.tid);
    stun_put_xor_addr(&b, STUN_A_XOR_PEER_ADDRESS, (struct sockaddr *)&paddr);
    stun_put(&b, STUN_A_DATA, "ping", 4);
    long n = stun_build_end(&b);
    if (to)
        sendto(fd, req, (size_t)n, 0, (const struct sockaddr *)to, sizeof *to);
    else
        send(fd, req, (size_t)n, 0);
    uint8_t pbuf[256];
    ASSERT_EQ(pump_recv(e, peer, pbuf, sizeof pbuf), 4);
    ASSERT_MEM_EQ(pbuf, "ping", 4);

    /* Peer -> Data indication. */
    ASSERT_EQ(sendto(peer, "pong!", 5, 0, (struct sockaddr *)&relay, sizeof(struct sockaddr_in)), 5);
    ssize_t got = pump_recv(e, fd, resp, sizeof resp);
    ASSERT(got > 0);
    ASSERT_EQ(stun_parse(resp, (size_t)got, &m), 0);
    ASSERT_EQ(m.method, TURN_DATA);
    const struct stun_attr *d = stun_find(&m, STUN_A_DATA);
    ASSERT(d && d->len == 5 && memcmp(d->val, "pong!", 5) == 0);

    /* ChannelBind, ChannelData both ways (padded over streams). */
    request(&s, TURN_CHANNEL_BIND, put_channel, &paddr, &m, resp, sizeof resp);
    ASSERT_EQ(m.cls, STUN_SUCCESS);
    uint8_t cd[8] = { 0x40, 0x00, 0x00, 0x03, 'a', 'b', 'c', 0 };
    if (to)
        sendto(fd, cd, 7, 0, (const struct sockaddr *)to, sizeof *to);
    else
        send(fd, cd, 8, 0);
    ASSERT_EQ(pump_recv(e, peer, pbuf, sizeof pbuf), 3);
    ASSERT_MEM_EQ(pbuf, "abc", 3);
    sendto(peer, "xyz12", 5, 0, (struct sockaddr *)&relay, sizeof(struct sockaddr_in));
    got = pump_recv(e, fd, resp, sizeof resp);
    ASSERT_EQ(got, stream ? 12 : 9);
    ASSERT_MEM_EQ(resp, "\x40\x00\x00\x05xyz12", 9);

    /* A denied peer. */
    struct sockaddr_in denied = { .sin_family = AF_INET, .sin_port = htons(9) };
    inet_pton(AF_INET, "10.1.2.3", &denied.sin_addr);
    request(&s, TURN_CREATE_PERMISSION, put_peer, &denied, &m, resp, sizeof resp);
    ASSERT_EQ(err_code(&m), 403);

    /* Refresh to zero deletes; a second Refresh finds nothing. */
    request(&s, TURN_REFRESH, NULL, NULL, &m, resp, sizeof resp);
    ASSERT_EQ(m.cls, STUN_SUCCESS);
    new_tid(&s);
    uint8_t rq[256];
    stun_build_init(&b, rq, sizeof rq, TURN_REFRESH, STUN_REQUEST, s.tid);
    stun_put_u32(&b, STUN_A_LIFETIME, 0);
    stun_put(&b, STUN_A_USERNAME, user, strlen(user));
    stun_put(&b, STUN_A_REALM, "t9phone.local", 13);
    stun_put(&b, STUN_A_NONCE, s.nonce, s.nonce_len);
    stun_put_integrity(&b, s.key, 16);
    transact(e, fd, to, rq, (size_t)stun_build_end(&b), resp, sizeof resp, &m);
    ASSERT_EQ(m.cls, STUN_SUCCESS);
    request(&s, TURN_REFRESH, NULL, NULL, &m, resp, sizeof resp);
    ASSERT_EQ(err_code(&m), 437);
    close(peer);
}

TEST(turn_server_udp_session)
{
    struct env e = { 0 };
    env_start(&e);
    struct sockaddr_in me;
    int fd = udp_socket(&me);
    struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons((uint16_t)e.port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    run_session(&e, fd, &srv, 0);
    close(fd);
    env_stop(&e);
}

/* relay-coalesce-us: a loop turn that relayed is followed by a pause (the
 * counter says so), a turn that only answered STUN is not, and 0 turns it
 * off. Counted, not timed: the pause decision compares the turn's own work
 * (microseconds here) with 10 ms. */
static uint64_t coalesced_after(const char *flag, uint64_t *after_bindings)
{
    struct env e = { 0 };
    env_extra[0] = flag;
    env_start(&e);
    struct sockaddr_in me;
    int fd = udp_socket(&me);
    struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons((uint16_t)e.port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    run_session(&e, fd, &srv, 0);
    ASSERT(e.ts->n_relayed >= 2);
    for (int i = 0; i < 10; i++) /* the turn after the last relayed one */
        uv_run(&e.loop, UV_RUN_NOWAIT);
    uint64_t n = e.ts->n_coalesced;
    for (int i = 0; i < 10; i++) {
        uint8_t rq[64], resp[512], tid[STUN_TID_LEN] = { 9, 9, (uint8_t)i };
        struct stun_builder b;
        struct stun_msg m;
        stun_build_init(&b, rq, sizeof rq, STUN_BINDING, STUN_REQUEST, tid);
        transact(&e, fd, &srv, rq, (size_t)stun_build_end(&b), resp, sizeof resp, &m);
        ASSERT_EQ(m.cls, STUN_SUCCESS);
    }
    *after_bindings = e.ts->n_coalesced;
    close(fd);
    env_stop(&e);
    return n;
}

TEST(turn_server_coalesce_pauses_only_after_relaying)
{
    uint64_t later;
    uint64_t n = coalesced_after("--relay-coalesce-us=10000", &later);
    ASSERT(n >= 1);
    ASSERT_EQ(later, n); /* Binding answers relay nothing: no pause */
    n = coalesced_after("--relay-coalesce-us=0", &later);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(later, 0);
}

TEST(turn_server_tcp_session)
{
    struct env e = { 0 };
    env_start(&e);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons((uint16_t)e.port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int rc = connect(fd, (struct sockaddr *)&srv, sizeof srv);
    ASSERT(rc == 0 || errno == EINPROGRESS);
    for (int i = 0; i < 100; i++)
        uv_run(&e.loop, UV_RUN_NOWAIT);
    run_session(&e, fd, NULL, 1);
    /* The allocation goes with the connection; stopping with it open is fine. */
    env_stop(&e);
    close(fd);
}

TEST(turn_server_refuses_bad_config)
{
    const struct config_key *const tables[] = { realm_table, turn_config_keys };
    uv_loop_t loop;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    config_t *cfg = config_new(tables, 2);
    set(cfg, "--listening-ip=not-an-address");
    struct turn_server *ts = NULL;
    char err[256];
    ASSERT(turn_server_start(&loop, cfg, NULL, &ts, err, sizeof err) < 0);
    ASSERT(strstr(err, "listening-ip") != NULL);
    config_free(cfg);
    cfg = config_new(tables, 2);
    set(cfg, "--listening-ip=127.0.0.1");
    set(cfg, "--use-auth-secret");
    ASSERT(turn_server_start(&loop, cfg, NULL, &ts, err, sizeof err) < 0);
    ASSERT(strstr(err, "static-auth-secret") != NULL);
    config_free(cfg);
    uv_run(&loop, UV_RUN_NOWAIT);
    ASSERT_EQ(uv_loop_close(&loop), 0);
}

/* ------------------------------------------------------------ permission and channel accounting */

/* An authenticated UDP client with an allocation; returns its socket. */
static int allocated(struct env *e, struct session *s, struct sockaddr_in *srv)
{
    uint8_t resp[2048], req[256];
    struct stun_msg m;
    struct sockaddr_in me;
    int fd = udp_socket(&me);
    *srv = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)e->port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    *s = (struct session){ .e = e, .fd = fd, .to = srv };
    turn_ltc_key(user, strlen(user), "t9phone.local", pass, strlen(pass), s->key);
    struct stun_builder b;
    new_tid(s);
    stun_build_init(&b, req, sizeof req, TURN_ALLOCATE, STUN_REQUEST, s->tid);
    put_udp(&b, NULL);
    transact(e, fd, srv, req, (size_t)stun_build_end(&b), resp, sizeof resp, &m);
    ASSERT_EQ(err_code(&m), 401);
    const struct stun_attr *na = stun_find(&m, STUN_A_NONCE);
    ASSERT(na && na->len < sizeof s->nonce);
    memcpy(s->nonce, na->val, na->len);
    s->nonce_len = na->len;
    request(s, TURN_ALLOCATE, put_udp, NULL, &m, resp, sizeof resp);
    ASSERT_EQ(m.cls, STUN_SUCCESS);
    return fd;
}

/* Peers 127.0.0.<first>.. <first+n-1> (loopback peers are allowed here), with
 * the last one listed `dup` extra times. */
struct peers {
    int first, n, dup;
};

static void put_peers(struct stun_builder *b, void *arg)
{
    const struct peers *p = arg;
    for (int i = 0; i < p->n + p->dup; i++) {
        int k = i < p->n ? i : p->n - 1;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9),
                                 .sin_addr.s_addr = htonl(0x7F000000u + (uint32_t)(p->first + k)) };
        stun_put_xor_addr(b, STUN_A_XOR_PEER_ADDRESS, (struct sockaddr *)&a);
    }
}

static int create_permission(struct session *s, int first, int n, int dup)
{
    uint8_t resp[2048];
    struct stun_msg m;
    struct peers p = { first, n, dup };
    request(s, TURN_CREATE_PERMISSION, put_peers, &p, &m, resp, sizeof resp);
    return m.cls == STUN_SUCCESS ? 0 : err_code(&m);
}

static struct sockaddr_in loop_peer(int k)
{
    return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(9),
                                 .sin_addr.s_addr = htonl(0x7F000000u + (uint32_t)k) };
}

static int channel_bind(struct session *s, uint16_t num, int peer)
{
    uint8_t resp[2048];
    struct stun_msg m;
    struct sockaddr_in a = loop_peer(peer);
    uint8_t req[512];
    struct stun_builder b;
    new_tid(s);
    stun_build_init(&b, req, sizeof req, TURN_CHANNEL_BIND, STUN_REQUEST, s->tid);
    stun_put_u32(&b, STUN_A_CHANNEL_NUMBER, (uint32_t)num << 16);
    stun_put_xor_addr(&b, STUN_A_XOR_PEER_ADDRESS, (struct sockaddr *)&a);
    stun_put(&b, STUN_A_USERNAME, user, strlen(user));
    stun_put(&b, STUN_A_REALM, "t9phone.local", 13);
    stun_put(&b, STUN_A_NONCE, s->nonce, s->nonce_len);
    stun_put_integrity(&b, s->key, 16);
    transact(s->e, s->fd, s->to, req, (size_t)stun_build_end(&b), resp, sizeof resp, &m);
    return m.cls == STUN_SUCCESS ? 0 : err_code(&m);
}

TEST(turn_server_duplicate_peers_count_once)
{
    struct env e;
    env_start(&e);
    struct session s;
    struct sockaddr_in srv;
    int fd = allocated(&e, &s, &srv);
    ASSERT_EQ(create_permission(&s, 1, 31, 0), 0);
    /* One new peer, listed three times: one slot, the 32nd. */
    ASSERT_EQ(create_permission(&s, 40, 1, 2), 0);
    ASSERT_EQ(e.ts->allocs->nperms, 32);
    /* Refreshing known peers needs no room; a new one does not fit. */
    ASSERT_EQ(create_permission(&s, 1, 31, 1), 0);
    ASSERT_EQ(create_permission(&s, 41, 1, 0), 508);
    close(fd);
    env_stop(&e);
}

TEST(turn_server_expired_permissions_are_room)
{
    struct env e;
    env_start(&e);
    struct session s;
    struct sockaddr_in srv;
    int fd = allocated(&e, &s, &srv);
    ASSERT_EQ(create_permission(&s, 1, 32, 0), 0);
    struct alloc *a = e.ts->allocs;
    ASSERT_EQ(a->nperms, 32);
    /* Two of them expire; the sweep has not run yet. */
    a->perms[3].expires = a->perms[7].expires = 1;
    ASSERT_EQ(create_permission(&s, 50, 2, 0), 0);
    ASSERT_EQ(create_permission(&s, 52, 1, 0), 508);
    a->perms[0].expires = 1;
    ASSERT_EQ(channel_bind(&s, 0x4000, 60), 0); /* its permission takes the expired slot */
    ASSERT_EQ(a->nperms, 32);
    ASSERT_EQ(a->nchans, 1);
    close(fd);
    env_stop(&e);
}

TEST(turn_server_refused_channel_bind_changes_nothing)
{
    struct env e;
    env_start(&e);
    struct session s;
    struct sockaddr_in srv;
    int fd = allocated(&e, &s, &srv);
    ASSERT_EQ(create_permission(&s, 1, 32, 0), 0);
    struct alloc *a = e.ts->allocs;
    /* A channel to a 33rd peer needs a permission that cannot fit: 508, and
     * no channel slot was taken on the way. */
    ASSERT_EQ(channel_bind(&s, 0x4001, 70), 508);
    ASSERT_EQ(a->nchans, 0);
    ASSERT_EQ(channel_bind(&s, 0x4001, 5), 0); /* a permitted peer binds */
    ASSERT_EQ(a->nchans, 1);
    close(fd);
    env_stop(&e);
}

TEST(turn_bucket_refill_does_not_overflow_after_long_idle)
{
    /* 2e9 B/s (the largest bps-capacity) idle for 200 days: rate x elapsed
     * would wrap around 2^64 without the one-second clamp. */
    struct bucket b = { .tokens = 0, .last = 1000 };
    uint64_t rate = 2000000000ULL;
    uint64_t now = 1000 + 200ULL * 86400 * 1000;
    ASSERT_EQ(turn__bucket_take(&b, rate, now, 1500), 1);
    ASSERT(b.tokens == rate - 1500);
    /* Within the same millisecond no refill; a full second refills to rate. */
    ASSERT_EQ(turn__bucket_take(&b, rate, now, (size_t)(rate - 1500)), 1);
    ASSERT_EQ(turn__bucket_take(&b, rate, now, 1), 0);
    ASSERT_EQ(turn__bucket_take(&b, rate, now + 5000, (size_t)rate), 1);
}

TEST(turn_server_idle_allocation_gives_its_tables_back)
{
    struct env e;
    env_start(&e);
    struct session s;
    struct sockaddr_in srv;
    int fd = allocated(&e, &s, &srv);
    struct alloc *a = e.ts->allocs;
    ASSERT(a->perms == NULL && a->chans == NULL); /* nothing before the first permission */
    ASSERT_EQ(create_permission(&s, 1, 1, 0), 0);
    ASSERT_EQ(channel_bind(&s, 0x4000, 1), 0);
    ASSERT(a->perm_cap == 4 && a->chan_cap == 4);
    ASSERT_EQ(create_permission(&s, 2, 5, 0), 0);
    ASSERT_EQ(a->perm_cap, 8); /* grown on demand */
    for (size_t i = 0; i < a->nperms; i++)
        a->perms[i].expires = 1;
    a->chans[0].expires = 1;
    turn__alloc_sweep(e.ts, uv_now(&e.loop));
    ASSERT(a->nperms == 0 && a->perms == NULL && a->chans == NULL);
    close(fd);
    env_stop(&e);
}

/* ------------------------------------------------------------ EVEN-PORT reservations */

struct alloc_args {
    int reserve;
    const uint8_t *token;
};

static void put_alloc(struct stun_builder *b, void *arg)
{
    const struct alloc_args *x = arg;
    put_udp(b, NULL);
    if (x->reserve) {
        uint8_t r = 0x80;
        stun_put(b, STUN_A_EVEN_PORT, &r, 1);
    }
    if (x->token)
        stun_put(b, STUN_A_RESERVATION_TOKEN, x->token, 8);
}

/* A second client of the same user on its own socket: its nonce, then an
 * Allocate with args; returns the error code or 0, the token in token. */
static int allocate_with(struct session *s, int fd, const struct alloc_args *x, uint8_t token[8])
{
    uint8_t resp[2048];
    struct stun_msg m;
    s->fd = fd;
    request(s, TURN_ALLOCATE, put_alloc, (void *)x, &m, resp, sizeof resp);
    if (m.cls != STUN_SUCCESS)
        return err_code(&m);
    const struct stun_attr *t = stun_find(&m, STUN_A_RESERVATION_TOKEN);
    if (token && t && t->len == 8)
        memcpy(token, t->val, 8);
    return 0;
}

static size_t live_reservations(struct env *e)
{
    size_t n = 0;
    for (size_t i = 0; i < TURN_MAX_RESERVATIONS; i++)
        n += e->ts->resv[i].expires != 0;
    return n;
}

TEST(turn_server_reservations_count_against_user_quota)
{
    struct env e;
    env_extra[0] = "--user-quota=2";
    env_start(&e);
    struct session s;
    struct sockaddr_in srv, me;
    int fd1 = allocated(&e, &s, &srv); /* one allocation of the user */
    int fd2 = udp_socket(&me), fd3 = udp_socket(&me);
    /* EVEN-PORT R needs room for the allocation and its reservation: 3 > 2. */
    struct alloc_args even = { 1, NULL };
    ASSERT_EQ(allocate_with(&s, fd2, &even, NULL), 486);
    ASSERT_EQ(live_reservations(&e), 0);
    /* Without the first allocation it fits, and then the user is full. */
    struct alloc_args plain = { 0, NULL };
    s.fd = fd1;
    uint8_t resp[2048];
    struct stun_msg m;
    uint8_t rq[256];
    struct stun_builder b;
    new_tid(&s);
    stun_build_init(&b, rq, sizeof rq, TURN_REFRESH, STUN_REQUEST, s.tid);
    stun_put_u32(&b, STUN_A_LIFETIME, 0);
    stun_put(&b, STUN_A_USERNAME, user, strlen(user));
    stun_put(&b, STUN_A_REALM, "t9phone.local", 13);
    stun_put(&b, STUN_A_NONCE, s.nonce, s.nonce_len);
    stun_put_integrity(&b, s.key, 16);
    transact(&e, fd1, &srv, rq, (size_t)stun_build_end(&b), resp, sizeof resp, &m);
    ASSERT_EQ(m.cls, STUN_SUCCESS);
    uint8_t token[8] = { 0 };
    ASSERT_EQ(allocate_with(&s, fd2, &even, token), 0);
    ASSERT_EQ(live_reservations(&e), 1);
    ASSERT_EQ(allocate_with(&s, fd1, &plain, NULL), 486);
    /* Taking the reservation over needs no more room. */
    struct alloc_args take = { 0, token };
    ASSERT_EQ(allocate_with(&s, fd3, &take, NULL), 0);
    ASSERT_EQ(live_reservations(&e), 0);
    ASSERT_EQ(e.ts->nallocs, 2);
    close(fd1);
    close(fd2);
    close(fd3);
    env_stop(&e);
}

TEST(turn_server_reservation_goes_with_its_allocation)
{
    struct env e;
    env_start(&e);
    struct session s;
    struct sockaddr_in srv, me;
    int fd1 = allocated(&e, &s, &srv);
    int fd2 = udp_socket(&me), fd3 = udp_socket(&me);
    struct alloc_args even = { 1, NULL };
    uint8_t token[8] = { 0 };
    ASSERT_EQ(allocate_with(&s, fd2, &even, token), 0);
    ASSERT_EQ(live_reservations(&e), 1);
    /* The RTP allocation is deleted: its reserved RTCP socket goes at once. */
    uint8_t resp[2048], rq[256];
    struct stun_msg m;
    struct stun_builder b;
    new_tid(&s);
    stun_build_init(&b, rq, sizeof rq, TURN_REFRESH, STUN_REQUEST, s.tid);
    stun_put_u32(&b, STUN_A_LIFETIME, 0);
    stun_put(&b, STUN_A_USERNAME, user, strlen(user));
    stun_put(&b, STUN_A_REALM, "t9phone.local", 13);
    stun_put(&b, STUN_A_NONCE, s.nonce, s.nonce_len);
    stun_put_integrity(&b, s.key, 16);
    transact(&e, fd2, &srv, rq, (size_t)stun_build_end(&b), resp, sizeof resp, &m);
    ASSERT_EQ(m.cls, STUN_SUCCESS);
    ASSERT_EQ(live_reservations(&e), 0);
    struct alloc_args take = { 0, token };
    ASSERT_EQ(allocate_with(&s, fd3, &take, NULL), 508);
    close(fd1);
    close(fd2);
    close(fd3);
    env_stop(&e);
}
