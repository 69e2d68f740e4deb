/*
 * test_turn_options.c - the TURN options reader (turn/options.h) without a
 * socket or a loop: defaults, listening and relay address choice, external
 * addresses, own addresses for the peer policy, stream limits from their
 * keys, and refusals that name the key.
 */
#include "t.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/config.h"
#include "turn/config.h"
#include "turn/options.h"

static const struct config_key realm_table[] = {
    { "realm", CONFIG_STRING, "t9phone.local", 0, 0, NULL, 0, "realm" },
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};

static config_t *cfg_with(const char *const *flags)
{
    const struct config_key *const tables[] = { realm_table, turn_config_keys };
    config_t *cfg = config_new(tables, 2);
    ASSERT(cfg);
    char err[CONFIG_ERR_LEN];
    for (; flags && *flags; flags++)
        if (config_set_flag(cfg, *flags, err) != 0)
            t_fail(__FILE__, __LINE__, "%s: %s", *flags, err);
    return cfg;
}

static union net_addr ip(const char *s)
{
    union net_addr a;
    memset(&a, 0, sizeof a);
    if (inet_pton(AF_INET, s, &a.in.sin_addr) == 1)
        a.in.sin_family = AF_INET;
    else if (inet_pton(AF_INET6, s, &a.in6.sin6_addr) == 1)
        a.in6.sin6_family = AF_INET6;
    else
        t_fail(__FILE__, __LINE__, "bad address %s", s);
    return a;
}

static const char *str(const union net_addr *a)
{
    static char buf[4][64];
    static int k;
    char *b = buf[k++ % 4];
    if (a->sa.sa_family == AF_INET6)
        inet_ntop(AF_INET6, &a->in6.sin6_addr, b, 64);
    else
        inet_ntop(AF_INET, &a->in.sin_addr, b, 64);
    return b;
}

TEST(turn_options_defaults_from_the_interfaces)
{
    config_t *cfg = cfg_with(NULL);
    union net_addr ifs[] = { ip("127.0.0.1"), ip("192.0.2.10"), ip("fe80::1"), ip("::1"),
                             ip("2001:db8::5"), ip("192.0.2.10") };
    struct turn_opts o;
    char err[256];
    ASSERT_EQ(turn_opts_read(cfg, ifs, 6, &o, err, sizeof err), 0);
    /* Link-local and duplicates skipped. */
    ASSERT_EQ(o.nlisten, 4);
    ASSERT_STR_EQ(str(&o.listen[0]), "127.0.0.1");
    ASSERT_STR_EQ(str(&o.listen[3]), "2001:db8::5");
    /* A non-loopback relay address of each family is preferred. */
    ASSERT(o.has_relay4 && o.has_relay6);
    ASSERT_STR_EQ(str(&o.relay4), "192.0.2.10");
    ASSERT_STR_EQ(str(&o.relay6), "2001:db8::5");
    ASSERT_EQ(o.listen_port, 3478);
    ASSERT_EQ(o.tls_port, 5349);
    ASSERT_EQ(o.min_port, 49152);
    ASSERT_EQ(o.max_port, 65535);
    ASSERT_EQ(o.default_family, AF_INET);
    ASSERT(o.want_udp && o.want_tcp && o.want_tls);
    ASSERT_STR_EQ(o.cert, "");
    ASSERT_STR_EQ(o.realm, "t9phone.local");
    /* Stream limits: the documented defaults, in ms. */
    ASSERT_EQ(o.conn.max_conns, 1024);
    ASSERT_EQ(o.conn.max_per_source, 64);
    ASSERT_EQ(o.conn.frame_ms, 10000);
    ASSERT_EQ(o.conn.idle_ms, 60000);
    ASSERT_EQ(o.conn.handshake_ms, 10000);
    ASSERT_EQ(o.conn.unauth_ms, 10000);
    ASSERT_EQ(o.conn.rbuf, TURN_CONN_RBUF);
    /* Own addresses: the listening and relay ones. */
    ASSERT_EQ(o.policy.nown, 4 + 4);
    turn_opts_free(&o);
    turn_opts_free(&o); /* twice is safe */
    config_free(cfg);
}

TEST(turn_options_given_addresses_and_external_ip)
{
    const char *const flags[] = { "--listening-ip=127.0.0.1", "--relay-ip=10.0.0.5",
                                  "--external-ip=203.0.113.9/10.0.0.5",
                                  "--external-ip=198.51.100.1/10.9.9.9",
                                  "--turn-frame-timeout=2", "--turn-max-connections-per-ip=3",
                                  "--use-auth-secret", "--static-auth-secret=s1",
                                  "--static-auth-secret=s2", NULL };
    config_t *cfg = cfg_with(flags);
    union net_addr ifs[] = { ip("192.0.2.10") };
    struct turn_opts o;
    char err[256];
    ASSERT_EQ(turn_opts_read(cfg, ifs, 1, &o, err, sizeof err), 0);
    ASSERT_EQ(o.nlisten, 1); /* the interfaces are not used when addresses are given */
    ASSERT_STR_EQ(str(&o.listen[0]), "127.0.0.1");
    ASSERT_STR_EQ(str(&o.relay4), "10.0.0.5");
    ASSERT(!o.has_relay6);
    /* Only the external address whose private part is the relay applies. */
    ASSERT_STR_EQ(str(&o.pub4), "203.0.113.9");
    ASSERT_EQ(o.conn.frame_ms, 2000);
    ASSERT_EQ(o.conn.max_per_source, 3);
    ASSERT_EQ(o.nsecrets, 2);
    ASSERT_STR_EQ(o.secrets[1], "s2");
    /* Own: listening, relay, and both external addresses. */
    ASSERT_EQ(o.policy.nown, 4);
    turn_opts_free(&o);
    ASSERT_EQ(o.nsecrets, 0);
    ASSERT(o.secrets[0] == NULL);
    config_free(cfg);
}

static void refused(const char *const *flags, const char *needle)
{
    config_t *cfg = cfg_with(flags);
    union net_addr ifs[] = { ip("192.0.2.10") };
    struct turn_opts o;
    char err[256] = "";
    ASSERT(turn_opts_read(cfg, ifs, 1, &o, err, sizeof err) < 0);
    if (!strstr(err, needle))
        t_fail(__FILE__, __LINE__, "'%s' does not name '%s'", err, needle);
    turn_opts_free(&o);
    config_free(cfg);
}

TEST(turn_options_refusals_name_the_key)
{
    const char *const a[] = { "--min-port=5000", "--max-port=4000", NULL };
    refused(a, "min-port");
    const char *const b[] = { "--use-auth-secret", NULL };
    refused(b, "static-auth-secret");
    const char *const c[] = { "--listening-ip=not-an-ip", NULL };
    refused(c, "listening-ip");
    const char *const d[] = { "--relay-ip=1.2.3", NULL };
    refused(d, "relay-ip");
    const char *const e[] = { "--external-ip=x/y", NULL };
    refused(e, "external-ip");
    const char *const f[] = { "--denied-peer-ip=10.0.0.0/99", NULL };
    refused(f, "denied-peer-ip");
    const char *const g[] = { "--no-stun", "--stun-only", NULL };
    refused(g, "no-stun");
    const char *const h[] = { "--rest-api-separator=ab", NULL };
    refused(h, "rest-api-separator");
}

TEST(turn_options_no_address_at_all)
{
    config_t *cfg = cfg_with(NULL);
    struct turn_opts o;
    char err[256];
    ASSERT_EQ(turn_opts_read(cfg, NULL, 0, &o, err, sizeof err), -EINVAL);
    ASSERT(strstr(err, "listening-ip"));
    turn_opts_free(&o);
    config_free(cfg);
}
