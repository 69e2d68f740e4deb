/*
 * tests/bench/turnload.c - a TURN load generator that finds the highest clean
 * rate of a relay (t9phone or coturn), and measures the relay's CPU seconds
 * per relayed packet at fixed rates.
 *
 * N UDP allocations, each with one channel bound toward the generator's own
 * echo peer (a thread that sends every datagram back to where it came from
 * with recvmmsg/sendmmsg). ChannelData messages leave at a precise aggregate
 * rate, paced by a 1 ms timerfd and sent with sendmmsg per allocation; each
 * carries a step number, a sequence number and its send time, and every echo
 * is counted against a bitmap of the step. A step is clean when every message
 * of it came back, once, within the window. "Packets" are relayed packets:
 * each message crosses the relay twice (client->peer, echo->client), so a
 * rate of R pkt/s is R/2 messages per second.
 *
 *   turnload -s 127.0.0.1:3478 -S SECRET -n 100 -r 20000,40000 -p PID
 *       fixed rates: one step each, the server's utime and stime (from
 *       /proc/PID/stat, the whole process) per million relayed packets
 *   turnload -s ... -n 1 -a 20000 -p PID
 *       ladder: from 20000 pkt/s up by -f (1.25) while steps are clean; a
 *       failed step is tried once more; the time limit (-T) bounds it
 *   turnload -R -s 127.0.0.1:PORT -e ECHOPORT ...
 *       raw: no Allocate nor ChannelBind (for tests/bench/turnfloor.c, a
 *       minimal relay that only forwards: the kernel's floor)
 *
 * Credentials: TURN REST (-S secret, the username "expiry:bench") or
 * long-term (-u user -w password). Output: one line per step and a final
 * `highest_clean=` line, all key=value for the scripts.
 * Built by tests/bench/turn_rate.sh against the tree's STUN codec.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "turn/auth.h"
#include "turn/stun.h"

#define MAX_ALLOCS 1000
#define BATCH 64          /* datagrams per sendmmsg / recvmmsg */
#define MAX_TICK_BURST 4096 /* messages per 1 ms tick at most */
#define PKT_MAX 1500
#define CHANNEL 0x4000

struct opts {
    struct sockaddr_in server;
    const char *secret, *user, *pass;
    int nallocs, raw, echo_port;
    size_t len;
    double step_s, window_ms, factor, limit_s, ladder_from, ladder_to;
    double rates[32];
    int nrates, retries, pid;
};

struct client {
    int fd;
    uint8_t key[16];
    char user[128], realm[128], nonce[256];
};

struct step {
    uint32_t id;
    uint64_t sent, recv, late, dup, bad;
    uint8_t *seen; /* one bit per sequence number */
    uint64_t cap;
};

static struct client clients[MAX_ALLOCS];
static volatile int echo_stop;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* The system call itself: musl's sendmmsg() on 64-bit loops over sendmsg()
 * (see src/net/conn.c); our headers are zeroed, so the kernel reads them. */
static int xsendmmsg(int fd, struct mmsghdr *m, unsigned n)
{
    return (int)syscall(SYS_sendmmsg, fd, m, n, 0);
}

static void die(const char *what)
{
    fprintf(stderr, "turnload: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void bufs(int fd)
{
    int sz = 4 << 20;
    /* FORCE passes rmem_max when privileged; the plain one otherwise. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) != 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
}

/* ------------------------------------------------------------ echo peer */

static void *echo_main(void *arg)
{
    int fd = *(int *)arg;
    static uint8_t buf[BATCH][PKT_MAX];
    struct mmsghdr m[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_in from[BATCH];
    while (!echo_stop) {
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){ buf[i], PKT_MAX };
            memset(&m[i], 0, sizeof m[i]);
            m[i].msg_hdr.msg_name = &from[i];
            m[i].msg_hdr.msg_namelen = sizeof from[i];
            m[i].msg_hdr.msg_iov = &iov[i];
            m[i].msg_hdr.msg_iovlen = 1;
        }
        int r = recvmmsg(fd, m, BATCH, MSG_WAITFORONE, NULL);
        if (r <= 0)
            continue; /* the 100 ms receive timeout: look at echo_stop */
        for (int i = 0; i < r; i++)
            iov[i].iov_len = m[i].msg_len;
        int done = 0;
        while (done < r) {
            int s = xsendmmsg(fd, m + done, (unsigned)(r - done));
            if (s <= 0)
                break;
            done += s;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------ TURN set-up */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static void tid_new(uint8_t tid[STUN_TID_LEN])
{
    for (int i = 0; i < STUN_TID_LEN; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        tid[i] = (uint8_t)rng;
    }
}

/* Sends a request built by `fill` and waits for its answer (1 s, 3 tries).
 * Returns the answer's class, or -1. */
static int transact(struct client *c, uint16_t method,
                    void (*fill)(struct stun_builder *, const void *), const void *arg,
                    int auth, uint8_t *ans, size_t cap, struct stun_msg *m)
{
    uint8_t req[1024], tid[STUN_TID_LEN];
    tid_new(tid);
    struct stun_builder b;
    stun_build_init(&b, req, sizeof req, method, STUN_REQUEST, tid);
    fill(&b, arg);
    if (auth) {
        stun_put(&b, STUN_A_USERNAME, c->user, strlen(c->user));
        stun_put(&b, STUN_A_REALM, c->realm, strlen(c->realm));
        stun_put(&b, STUN_A_NONCE, c->nonce, strlen(c->nonce));
        stun_put_integrity(&b, c->key, 16);
    }
    long n = stun_build_end(&b);
    if (n < 0)
        return -1;
    for (int tries = 0; tries < 3; tries++) {
        if (send(c->fd, req, (size_t)n, 0) < 0)
            return -1;
        uint64_t until = now_ns() + 1000000000u;
        while (now_ns() < until) {
            ssize_t r = recv(c->fd, ans, cap, 0);
            if (r < 0)
                break; /* SO_RCVTIMEO */
            if (stun_parse(ans, (size_t)r, m) == 0 && memcmp(m->tid, tid, STUN_TID_LEN) == 0)
                return m->cls;
        }
    }
    return -1;
}

static void fill_alloc(struct stun_builder *b, const void *arg)
{
    (void)arg;
    stun_put_u32(b, STUN_A_REQUESTED_TRANSPORT, (uint32_t)STUN_TRANSPORT_UDP << 24);
}

static void fill_bind(struct stun_builder *b, const void *arg)
{
    stun_put_u32(b, STUN_A_CHANNEL_NUMBER, (uint32_t)CHANNEL << 16);
    stun_put_xor_addr(b, STUN_A_XOR_PEER_ADDRESS, arg);
}

static int attr_str(const struct stun_msg *m, uint16_t type, char *out, size_t cap)
{
    const struct stun_attr *a = stun_find(m, type);
    if (!a || a->len >= cap)
        return -1;
    memcpy(out, a->val, a->len);
    out[a->len] = '\0';
    return 0;
}

/* Allocate (401, then with credentials) and ChannelBind toward the peer. */
static int client_setup(const struct opts *o, struct client *c, const struct sockaddr_in *peer)
{
    uint8_t ans[2048];
    struct stun_msg m;
    int cls = transact(c, TURN_ALLOCATE, fill_alloc, NULL, 0, ans, sizeof ans, &m);
    if (cls != STUN_ERROR || attr_str(&m, STUN_A_REALM, c->realm, sizeof c->realm) < 0 ||
        attr_str(&m, STUN_A_NONCE, c->nonce, sizeof c->nonce) < 0) {
        fprintf(stderr, "turnload: Allocate got no 401 challenge\n");
        return -1;
    }
    char pass[64];
    const char *pw = o->pass;
    if (o->secret) {
        snprintf(c->user, sizeof c->user, "%lld:bench", (long long)time(NULL) + 86400);
        if (turn_rest_password(o->secret, strlen(o->secret), c->user, strlen(c->user), pass,
                               sizeof pass) < 0)
            return -1;
        pw = pass;
    } else {
        snprintf(c->user, sizeof c->user, "%s", o->user);
    }
    turn_ltc_key(c->user, strlen(c->user), c->realm, pw, strlen(pw), c->key);
    cls = transact(c, TURN_ALLOCATE, fill_alloc, NULL, 1, ans, sizeof ans, &m);
    if (cls != STUN_SUCCESS) {
        fprintf(stderr, "turnload: Allocate refused\n");
        return -1;
    }
    cls = transact(c, TURN_CHANNEL_BIND, fill_bind, peer, 1, ans, sizeof ans, &m);
    if (cls != STUN_SUCCESS) {
        fprintf(stderr, "turnload: ChannelBind refused\n");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ CPU of the server */

struct cpu {
    double user, sys; /* seconds */
};

static struct cpu cpu_of(int pid)
{
    struct cpu c = { 0, 0 };
    if (pid <= 0)
        return c;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return c;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return c;
    buf[n] = '\0';
    /* Fields after the command name (which may hold spaces): state is 3,
     * utime 14 and stime 15 (proc(5)), in clock ticks, all threads. */
    char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2) {
        double hz = (double)sysconf(_SC_CLK_TCK);
        c.user = (double)ut / hz;
        c.sys = (double)st / hz;
    }
    return c;
}

static double self_cpu(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6 +
           (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec / 1e6;
}

/* ------------------------------------------------------------ the data path */

static uint8_t sbuf[MAX_TICK_BURST][PKT_MAX];

static void drain(int fd, struct step *st, uint64_t window_ns)
{
    static uint8_t rbuf[BATCH][PKT_MAX];
    struct mmsghdr m[BATCH];
    struct iovec iov[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){ rbuf[i], PKT_MAX };
            memset(&m[i], 0, sizeof m[i]);
            m[i].msg_hdr.msg_iov = &iov[i];
            m[i].msg_hdr.msg_iovlen = 1;
        }
        int r = recvmmsg(fd, m, BATCH, MSG_DONTWAIT, NULL);
        if (r <= 0)
            return;
        uint64_t t = now_ns();
        for (int i = 0; i < r; i++) {
            const uint8_t *p = rbuf[i];
            if (m[i].msg_len < 20 || (p[0] & 0xC0) != 0x40) {
                st->bad++; /* a STUN message or garbage: not ours */
                continue;
            }
            uint32_t id = bytes_rd32be(p + 4), seq = bytes_rd32be(p + 8);
            uint64_t sent = ((uint64_t)bytes_rd32be(p + 12) << 32) | bytes_rd32be(p + 16);
            if (id != st->id || seq >= st->cap) {
                st->late++; /* an earlier step's straggler */
                continue;
            }
            if (st->seen[seq / 8] & (1u << (seq % 8))) {
                st->dup++;
                continue;
            }
            st->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
            st->recv++;
            if (t - sent > window_ns)
                st->late++;
        }
        if (r < BATCH)
            return;
    }
}

/* Sends k messages of the step, spread round robin over the allocations. */
static int send_some(const struct opts *o, struct step *st, uint64_t k)
{
    struct mmsghdr m[BATCH];
    struct iovec iov[BATCH];
    uint64_t t = now_ns();
    int n = o->nallocs;
    /* Message j goes to allocation (st->sent + j) % n: per allocation, its
     * messages are consecutive slots of sbuf. */
    for (int a = 0; a < n && (uint64_t)a < k; a++) {
        int cnt = 0;
        for (uint64_t j = (uint64_t)a; j < k; j += (uint64_t)n) {
            uint64_t seq = st->sent + j;
            uint8_t *p = sbuf[j];
            bytes_wr16be(p, CHANNEL);
            bytes_wr16be(p + 2, (uint16_t)o->len);
            bytes_wr32be(p + 4, st->id);
            bytes_wr32be(p + 8, (uint32_t)seq);
            bytes_wr32be(p + 12, (uint32_t)(t >> 32));
            bytes_wr32be(p + 16, (uint32_t)t);
            iov[cnt] = (struct iovec){ p, 4 + o->len };
            memset(&m[cnt], 0, sizeof m[cnt]);
            m[cnt].msg_hdr.msg_iov = &iov[cnt];
            m[cnt].msg_hdr.msg_iovlen = 1;
            if (++cnt == BATCH || j + (uint64_t)n >= k) {
                int done = 0;
                while (done < cnt) {
                    int s = xsendmmsg(clients[a].fd, m + done, (unsigned)(cnt - done));
                    if (s <= 0)
                        return -1;
                    done += s;
                }
                cnt = 0;
            }
        }
    }
    st->sent += k;
    return 0;
}

struct result {
    double rate, secs, gen_cpu;
    uint64_t sent, recv, late, dup;
    struct cpu cpu;
    int clean, behind;
};

/* One step at `rate` relayed packets per second. */
static struct result run_step(const struct opts *o, int ep, int tfd, uint32_t id, double rate)
{
    struct result res = { .rate = rate };
    double mrate = rate / 2; /* messages per second */
    struct step st = { .id = id };
    st.cap = (uint64_t)(mrate * o->step_s) + MAX_TICK_BURST;
    st.seen = calloc(st.cap / 8 + 1, 1);
    if (!st.seen)
        die("calloc");
    uint64_t window = (uint64_t)(o->window_ms * 1e6);
    struct cpu c0 = cpu_of(o->pid);
    double g0 = self_cpu();
    uint64_t t0 = now_ns(), dur = (uint64_t)(o->step_s * 1e9);
    uint64_t end = t0 + dur, drain_end = end + window;
    uint64_t total = (uint64_t)(mrate * o->step_s);
    struct epoll_event ev[128];
    for (;;) {
        uint64_t t = now_ns();
        if (t >= drain_end || (t >= end && st.sent == total && st.recv + st.dup >= st.sent))
            break;
        if (st.sent < total) {
            uint64_t due = t >= end ? total : (uint64_t)(mrate * (double)(t - t0) / 1e9);
            if (due > total)
                due = total;
            if (due > st.sent) {
                uint64_t k = due - st.sent;
                if (k > MAX_TICK_BURST) {
                    res.behind = 1; /* the generator fell behind its clock */
                    k = MAX_TICK_BURST;
                }
                if (send_some(o, &st, k) < 0)
                    die("sendmmsg");
            }
        }
        int ne = epoll_wait(ep, ev, 128, 5);
        for (int i = 0; i < ne; i++) {
            if (ev[i].data.fd == tfd) {
                uint64_t x;
                if (read(tfd, &x, sizeof x) < 0) {
                    /* nothing: the next tick comes anyway */
                }
            } else {
                drain(ev[i].data.fd, &st, window);
            }
        }
    }
    res.secs = (double)(now_ns() - t0) / 1e9;
    res.cpu = cpu_of(o->pid);
    res.cpu.user -= c0.user;
    res.cpu.sys -= c0.sys;
    res.gen_cpu = self_cpu() - g0;
    res.sent = st.sent;
    res.recv = st.recv;
    res.late = st.late;
    res.dup = st.dup;
    res.clean = st.sent == total && st.recv == st.sent && st.late == 0 && st.dup == 0;
    free(st.seen);
    return res;
}

static void report(const char *kind, const struct result *r)
{
    double pk = (double)(r->sent + r->recv);
    printf("%s rate=%.0f sent=%llu recv=%llu lost=%lld late=%llu dup=%llu clean=%d behind=%d "
           "secs=%.2f utime=%.2f stime=%.2f cpu_per_mpkt=%.3f user_per_mpkt=%.3f "
           "sys_per_mpkt=%.3f gen_cpu=%.2f\n",
           kind, r->rate, (unsigned long long)r->sent, (unsigned long long)r->recv,
           (long long)r->sent - (long long)r->recv, (unsigned long long)r->late,
           (unsigned long long)r->dup, r->clean, r->behind, r->secs, r->cpu.user, r->cpu.sys,
           pk > 0 ? (r->cpu.user + r->cpu.sys) * 1e6 / pk : 0, pk > 0 ? r->cpu.user * 1e6 / pk : 0,
           pk > 0 ? r->cpu.sys * 1e6 / pk : 0, r->gen_cpu);
    fflush(stdout);
}

/* ------------------------------------------------------------ main */

static void usage(void)
{
    fprintf(stderr,
            "usage: turnload -s IP:PORT (-S SECRET | -u USER -w PASS) [-n ALLOCS] [-l LEN]\n"
            "                [-r RATE,...] [-a FROM [-A TO] [-f FACTOR] [-T SECS]] [-t STEP_S]\n"
            "                [-W WINDOW_MS] [-p SERVER_PID] [-e ECHO_PORT] [-R]\n");
    exit(2);
}

static int parse_addr(const char *s, struct sockaddr_in *a)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)atoi(colon + 1));
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct opts o = { .nallocs = 1, .len = 160, .step_s = 3, .window_ms = 250, .factor = 1.25,
                      .limit_s = 120, .retries = 1 };
    int c, have_server = 0;
    while ((c = getopt(argc, argv, "s:S:u:w:n:l:r:a:A:f:T:t:W:p:e:R")) != -1) {
        switch (c) {
        case 's': have_server = parse_addr(optarg, &o.server) == 0; break;
        case 'S': o.secret = optarg; break;
        case 'u': o.user = optarg; break;
        case 'w': o.pass = optarg; break;
        case 'n': o.nallocs = atoi(optarg); break;
        case 'l': o.len = (size_t)atoi(optarg); break;
        case 'r':
            for (char *tok = strtok(optarg, ","); tok && o.nrates < 32; tok = strtok(NULL, ","))
                o.rates[o.nrates++] = atof(tok);
            break;
        case 'a': o.ladder_from = atof(optarg); break;
        case 'A': o.ladder_to = atof(optarg); break;
        case 'f': o.factor = atof(optarg); break;
        case 'T': o.limit_s = atof(optarg); break;
        case 't': o.step_s = atof(optarg); break;
        case 'W': o.window_ms = atof(optarg); break;
        case 'p': o.pid = atoi(optarg); break;
        case 'e': o.echo_port = atoi(optarg); break;
        case 'R': o.raw = 1; break;
        default: usage();
        }
    }
    if (!have_server || o.nallocs < 1 || o.nallocs > MAX_ALLOCS || o.len < 16 ||
        o.len > PKT_MAX - 4 || (!o.raw && !o.secret && !(o.user && o.pass)) ||
        (!o.nrates && !o.ladder_from) || o.factor <= 1 || o.step_s <= 0)
        usage();

    /* The echo peer. */
    int efd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o.echo_port) };
    peer.sin_addr = o.server.sin_addr;
    socklen_t plen = sizeof peer;
    if (efd < 0 || bind(efd, (struct sockaddr *)&peer, sizeof peer) != 0 ||
        getsockname(efd, (struct sockaddr *)&peer, &plen) != 0)
        die("echo socket");
    bufs(efd);
    struct timeval tv = { 0, 100000 };
    setsockopt(efd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    pthread_t echo;
    if (pthread_create(&echo, NULL, echo_main, &efd) != 0)
        die("pthread_create");

    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < o.nallocs; i++) {
        struct client *cl = &clients[i];
        cl->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (cl->fd < 0 || connect(cl->fd, (struct sockaddr *)&o.server, sizeof o.server) != 0)
            die("client socket");
        bufs(cl->fd);
        struct timeval t1 = { 0, 200000 };
        setsockopt(cl->fd, SOL_SOCKET, SO_RCVTIMEO, &t1, sizeof t1);
        if (!o.raw && client_setup(&o, cl, &peer) < 0) {
            fprintf(stderr, "turnload: allocation %d failed\n", i);
            return 1;
        }
        struct epoll_event e = { .events = EPOLLIN, .data.fd = cl->fd };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, cl->fd, &e) != 0)
            die("epoll_ctl");
    }
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec its = { { 0, 1000000 }, { 0, 1000000 } };
    if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) != 0)
        die("timerfd");
    struct epoll_event e = { .events = EPOLLIN, .data.fd = tfd };
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &e);
    printf("setup allocations=%d echo_port=%u len=%zu step_s=%.1f window_ms=%.0f\n", o.nallocs,
           ntohs(peer.sin_port), o.len, o.step_s, o.window_ms);
    fflush(stdout);

    uint32_t id = 1;
    /* A short warm-up at a low rate: the first packets of a channel are
     * not what is measured. */
    struct opts warm = o;
    warm.step_s = 0.5;
    struct result w = run_step(&warm, ep, tfd, id++, 2000);
    if (w.recv == 0) {
        fprintf(stderr, "turnload: nothing came back from the relay\n");
        return 1;
    }
    for (int i = 0; i < o.nrates; i++) {
        struct result r = run_step(&o, ep, tfd, id++, o.rates[i]);
        report("fixed", &r);
    }
    if (o.ladder_from > 0) {
        uint64_t t_start = now_ns();
        double rate = o.ladder_from, best = 0, failed = 0;
        int refine = 0;
        while ((double)(now_ns() - t_start) / 1e9 < o.limit_s) {
            int ok = 0, behind = 0;
            for (int tries = 0; tries <= o.retries && !ok; tries++) {
                struct result r = run_step(&o, ep, tfd, id++, rate);
                report("ladder", &r);
                ok = r.clean;
                behind |= r.behind;
            }
            if (ok)
                best = rate;
            else
                failed = rate;
            if (behind && !ok) {
                printf("note generator_behind rate=%.0f\n", rate);
                break;
            }
            if (failed > 0) {
                /* Two halvings of the gap between the best clean rate and
                 * the first failed one, then stop. */
                if (refine++ >= 2 || best == 0)
                    break;
                rate = (best + failed) / 2;
                continue;
            }
            rate *= o.factor;
            if (o.ladder_to > 0 && rate > o.ladder_to)
                break;
        }
        printf("highest_clean=%.0f first_failed=%.0f\n", best, failed);
    }
    echo_stop = 1;
    pthread_join(echo, NULL);
    return 0;
}
