/*
 * tests/bench/turnfloor.c - the floor for any UDP relay: a forwarder that
 * does only the system calls a TURN relay cannot avoid, with t9phone's
 * pattern, and nothing else (no STUN, no permissions, no bandwidth checks).
 *
 * One listening socket; per client source address one relay socket, made on
 * the client's first datagram. A datagram from a client (ChannelData, as
 * tests/bench/turnload.c -R sends it) loses its 4-byte header and leaves its
 * client's relay socket with sendto toward the echo peer; what the peer sends
 * back gets the header again and leaves the listening socket, with one
 * sendmmsg per loop turn. Reads are recvmmsg, one per readiness (a short
 * batch means empty), on one epoll set. With -g, peer-bound datagrams of one
 * batch are grouped per relay socket and sent with one sendmmsg each; with
 * -c, loop turns that had work are held COALESCE_US apart (t9phone's
 * relay-coalesce-us).
 *
 *   turnfloor -p LISTEN_PORT -e ECHO_PORT [-n MAX_CLIENTS] [-g] [-c COALESCE_US]
 *
 * Loopback only (127.0.0.1). Runs until SIGTERM.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define HEAD 4
#define PKT 2048
#define MAX_CLIENTS 1000

struct client {
    struct sockaddr_in addr;
    int fd;
    uint16_t chan;
    int nq; /* -g: datagrams queued toward the peer */
};

static struct client cl[MAX_CLIENTS];
static short by_port[65536]; /* client source port -> index + 1 */
static int ncl;
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static uint64_t mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static int xsendmmsg(int fd, struct mmsghdr *m, unsigned n)
{
    return (int)syscall(SYS_sendmmsg, fd, m, n, MSG_DONTWAIT);
}

static void bufs(int fd)
{
    int sz = 4 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) != 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
}

int main(int argc, char **argv)
{
    int port = 0, eport = 0, max = MAX_CLIENTS, group = 0, c, coalesce_us = 0;
    while ((c = getopt(argc, argv, "p:e:n:gc:")) != -1) {
        switch (c) {
        case 'p': port = atoi(optarg); break;
        case 'e': eport = atoi(optarg); break;
        case 'n': max = atoi(optarg); break;
        case 'g': group = 1; break;
        case 'c': coalesce_us = atoi(optarg); break;
        default: return 2;
        }
    }
    if (!port || !eport || max < 1 || max > MAX_CLIENTS) {
        fprintf(stderr, "usage: turnfloor -p LISTEN_PORT -e ECHO_PORT [-n MAX_CLIENTS] [-g]\n");
        return 2;
    }
    signal(SIGTERM, on_term);
    struct sockaddr_in lo = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct sockaddr_in peer = lo;
    peer.sin_port = htons((uint16_t)eport);
    int lfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&lo, sizeof lo) != 0) {
        perror("turnfloor: listen");
        return 1;
    }
    bufs(lfd);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event e = { .events = EPOLLIN, .data.u32 = 0xFFFFFFFFu };
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);

    static uint8_t rx[BATCH][PKT];
    static uint8_t out[BATCH * 8][PKT]; /* client-bound, for the turn's sendmmsg */
    static struct mmsghdr om[BATCH * 8];
    static struct iovec oiov[BATCH * 8];
    static struct sockaddr_in oto[BATCH * 8];
    static struct mmsghdr gm[MAX_CLIENTS][BATCH];
    static struct iovec giov[MAX_CLIENTS][BATCH];
    int nout = 0;
    uint64_t last = 0;
    struct mmsghdr m[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_in from[BATCH];
    struct epoll_event ev[256];
    while (!stop) {
        int ne = epoll_wait(ep, ev, 256, 200);
        for (int i = 0; i < ne; i++) {
            int listener = ev[i].data.u32 == 0xFFFFFFFFu;
            struct client *k = listener ? NULL : &cl[ev[i].data.u32];
            int fd = listener ? lfd : k->fd;
            for (int j = 0; j < BATCH; j++) {
                iov[j] = (struct iovec){ rx[j] + HEAD, PKT - HEAD };
                memset(&m[j], 0, sizeof m[j]);
                m[j].msg_hdr.msg_name = &from[j];
                m[j].msg_hdr.msg_namelen = sizeof from[j];
                m[j].msg_hdr.msg_iov = &iov[j];
                m[j].msg_hdr.msg_iovlen = 1;
            }
            int want = listener ? BATCH : 8;
            int r = recvmmsg(fd, m, (unsigned)want, MSG_DONTWAIT, NULL);
            for (int j = 0; j < r; j++) {
                uint8_t *p = rx[j] + HEAD;
                size_t n = m[j].msg_len;
                if (listener) {
                    if (n < HEAD)
                        continue;
                    int idx = by_port[ntohs(from[j].sin_port)] - 1;
                    if (idx < 0) {
                        if (ncl == max)
                            continue;
                        idx = ncl++;
                        struct client *nc = &cl[idx];
                        nc->addr = from[j];
                        nc->chan = (uint16_t)(p[0] << 8 | p[1]);
                        nc->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                        struct sockaddr_in any = lo;
                        any.sin_port = 0;
                        if (nc->fd < 0 || bind(nc->fd, (struct sockaddr *)&any, sizeof any) != 0)
                            return 1;
                        struct epoll_event ce = { .events = EPOLLIN, .data.u32 = (uint32_t)idx };
                        epoll_ctl(ep, EPOLL_CTL_ADD, nc->fd, &ce);
                        by_port[ntohs(from[j].sin_port)] = (short)(idx + 1);
                    }
                    struct client *t = &cl[idx];
                    if (group) {
                        int q = t->nq++;
                        giov[idx][q] = (struct iovec){ p + HEAD, n - HEAD };
                        memset(&gm[idx][q], 0, sizeof gm[idx][q]);
                        gm[idx][q].msg_hdr.msg_name = &peer;
                        gm[idx][q].msg_hdr.msg_namelen = sizeof peer;
                        gm[idx][q].msg_hdr.msg_iov = &giov[idx][q];
                        gm[idx][q].msg_hdr.msg_iovlen = 1;
                    } else {
                        sendto(t->fd, p + HEAD, n - HEAD, MSG_DONTWAIT, (struct sockaddr *)&peer,
                               sizeof peer);
                    }
                } else {
                    if (nout == BATCH * 8) {
                        xsendmmsg(lfd, om, (unsigned)nout);
                        nout = 0;
                    }
                    uint8_t *q = out[nout];
                    q[0] = (uint8_t)(k->chan >> 8);
                    q[1] = (uint8_t)k->chan;
                    q[2] = (uint8_t)(n >> 8);
                    q[3] = (uint8_t)n;
                    memcpy(q + HEAD, p, n); /* t9phone writes in place; a copy is noise */
                    oiov[nout] = (struct iovec){ q, n + HEAD };
                    oto[nout] = k->addr;
                    memset(&om[nout], 0, sizeof om[nout]);
                    om[nout].msg_hdr.msg_name = &oto[nout];
                    om[nout].msg_hdr.msg_namelen = sizeof oto[nout];
                    om[nout].msg_hdr.msg_iov = &oiov[nout];
                    om[nout].msg_hdr.msg_iovlen = 1;
                    nout++;
                }
            }
            if (listener && group) {
                for (int x = 0; x < ncl; x++)
                    if (cl[x].nq) {
                        xsendmmsg(cl[x].fd, gm[x], (unsigned)cl[x].nq);
                        cl[x].nq = 0;
                    }
            }
        }
        if (nout) {
            xsendmmsg(lfd, om, (unsigned)nout);
            nout = 0;
        }
        /* -c: after a turn that had work, let packets gather before the
         * next one (fewer wake-ups for the same packets, at that latency). */
        if (coalesce_us && ne > 0) {
            /* As t9phone's relay-coalesce-us: turns at least that far
             * apart, a turn that took longer is not delayed. */
            uint64_t now = mono_us();
            if (now - last < (uint64_t)coalesce_us)
                usleep((useconds_t)(coalesce_us - (now - last)));
        }
        if (coalesce_us)
            last = mono_us();
    }
    return 0;
}
