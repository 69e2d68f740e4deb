/*
 * test_turn_peer.c - peer address policy and range parsing.
 */
#include "t.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include "turn/peer.h"

static struct sockaddr_storage sa(const char *ip)
{
    struct sockaddr_storage s;
    memset(&s, 0, sizeof s);
    if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)&s)->sin_addr) == 1) {
        s.ss_family = AF_INET;
    } else if (inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&s)->sin6_addr) == 1) {
        s.ss_family = AF_INET6;
    } else {
        t_fail(__FILE__, __LINE__, "bad address %s", ip);
    }
    return s;
}

static int ok(const struct turn_peer_policy *p, const char *ip)
{
    struct sockaddr_storage s = sa(ip);
    return turn_peer_allowed(p, (struct sockaddr *)&s);
}

static int verdict(const struct turn_peer_policy *p, const char *ip, uint16_t port)
{
    struct sockaddr_storage s = sa(ip);
    if (s.ss_family == AF_INET)
        ((struct sockaddr_in *)&s)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)&s)->sin6_port = htons(port);
    return (int)turn_peer_check(p, (struct sockaddr *)&s);
}

#define VERDICT(p, ip, want) expect_verdict(p, ip, 0, want, __LINE__)
#define VERDICT_PORT(p, ip, port, want) expect_verdict(p, ip, port, want, __LINE__)

static void expect_verdict(const struct turn_peer_policy *p, const char *ip, uint16_t port,
                           int want, int line)
{
    int got = verdict(p, ip, port);
    if (got != want)
        t_fail(__FILE__, line, "%s port %u: %s, want %s", ip, port,
               turn_peer_verdict_name(got), turn_peer_verdict_name(want));
}

TEST(turn_peer_default_denials)
{
    struct turn_peer_policy p = { 0 };
    const char *deny[] = { "127.0.0.1", "::1", "0.0.0.0", "::", "10.1.2.3", "172.16.0.1",
                           "172.31.255.255", "192.168.1.1", "100.64.0.1", "169.254.169.254",
                           "169.254.1.1", "224.0.0.1", "239.1.1.1", "255.255.255.255",
                           "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1",
                           "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1",
                           "100.100.100.200", "192.0.0.192", "203.0.113.9", "2001:db8::1" };
    for (size_t i = 0; i < sizeof deny / sizeof deny[0]; i++)
        if (ok(&p, deny[i]))
            t_fail(__FILE__, __LINE__, "%s allowed", deny[i]);
    const char *allow[] = { "8.8.8.8", "172.32.0.1", "::ffff:8.8.8.8", "2a00:1450::1",
                            "64:ff9b::808:808", "2002:808:808::1" };
    for (size_t i = 0; i < sizeof allow / sizeof allow[0]; i++)
        if (!ok(&p, allow[i]))
            t_fail(__FILE__, __LINE__, "%s denied", allow[i]);
}

TEST(turn_peer_coturn_precedence)
{
    struct turn_ip_range denied[1], allowed[2], own[1];
    ASSERT_EQ(turn_range_parse("8.8.0.0/16", &denied[0]), 0);
    ASSERT_EQ(turn_range_parse("8.8.8.8", &allowed[0]), 0);
    ASSERT_EQ(turn_range_parse("10.0.0.5-10.0.0.9", &allowed[1]), 0);
    ASSERT_EQ(turn_range_parse("93.184.216.7", &own[0]), 0);
    struct turn_peer_policy p = { .denied = denied, .ndenied = 1, .allowed = allowed,
                                  .nallowed = 2, .own = own, .nown = 1 };
    ASSERT(!ok(&p, "8.8.4.4"));
    ASSERT(ok(&p, "8.8.8.8"));     /* allowed and denied: allowed */
    ASSERT(ok(&p, "10.0.0.7"));    /* allowed overrides the default private denial */
    ASSERT(!ok(&p, "10.0.0.10"));
    ASSERT(!ok(&p, "93.184.216.7")); /* own address */
    ASSERT(ok(&p, "93.184.216.8"));
    /* Loopback and metadata are not overridable by allowed-peer-ip. */
    struct turn_ip_range wide[2];
    ASSERT_EQ(turn_range_parse("0.0.0.0-255.255.255.255", &wide[0]), 0);
    ASSERT_EQ(turn_range_parse("::/0", &wide[1]), 0);
    struct turn_peer_policy q = { .allowed = wide, .nallowed = 2 };
    ASSERT(!ok(&q, "127.0.0.1"));
    ASSERT(!ok(&q, "169.254.169.254"));
    ASSERT(!ok(&q, "fd00:ec2::254"));
    ASSERT(ok(&q, "10.0.0.1"));
    ASSERT(ok(&q, "239.0.0.1"));
    q.no_multicast = 1;
    ASSERT(!ok(&q, "239.0.0.1"));
    ASSERT(!ok(&q, "ff0e::1"));
}

TEST(turn_peer_loopback_for_tests)
{
    struct turn_ip_range own[1];
    ASSERT_EQ(turn_range_parse("127.0.0.1", &own[0]), 0);
    struct turn_peer_policy p = { .allow_loopback = 1, .own = own, .nown = 1 };
    ASSERT(ok(&p, "127.0.0.1"));
    ASSERT(ok(&p, "::1"));
    ASSERT(!ok(&p, "10.0.0.1"));
    ASSERT(!ok(&p, "0.0.0.0"));
}

TEST(turn_range_parse_forms)
{
    struct turn_ip_range r;
    ASSERT_EQ(turn_range_parse("2001:db8::/32", &r), 0);
    ASSERT_EQ(r.v6, 1);
    ASSERT_EQ(r.lo[3], 0xb8);
    ASSERT_EQ(r.hi[4], 0xff);
    ASSERT_EQ(r.hi[15], 0xff);
    ASSERT_EQ(turn_range_parse("10.0.0.0/33", &r), -EINVAL);
    ASSERT_EQ(turn_range_parse("10.0.0.9-10.0.0.1", &r), -EINVAL);
    ASSERT_EQ(turn_range_parse("10.0.0.1-::1", &r), -EINVAL);
    ASSERT_EQ(turn_range_parse("nonsense", &r), -EINVAL);
    ASSERT_EQ(turn_range_parse("10.0.0.0/", &r), -EINVAL);
    ASSERT_EQ(turn_range_parse("", &r), -EINVAL);
    ASSERT_EQ(turn_range_parse("1.2.3.4/24", &r), 0);
    ASSERT_EQ(r.lo[3], 0);
    ASSERT_EQ(r.hi[3], 255);
}

/* Every built-in special-purpose prefix added for issue 12, at its bounds: the
 * first and last address are denied, the neighbours outside are allowed (this
 * also checks the bytes the tables are written in against the text form). */
TEST(turn_peer_special_ranges_at_their_bounds)
{
    struct turn_peer_policy p = { 0 };
    static const struct {
        const char *before, *first, *last, *after;
    } r[] = {
        { "192.0.1.255", "192.0.2.0", "192.0.2.255", "192.0.3.0" },
        { "198.51.99.255", "198.51.100.0", "198.51.100.255", "198.51.101.0" },
        { "203.0.112.255", "203.0.113.0", "203.0.113.255", "203.0.114.0" },
        { "192.88.98.255", "192.88.99.0", "192.88.99.255", "192.88.100.0" },
        { "168.63.129.15", "168.63.129.16", "168.63.129.16", "168.63.129.17" },
        { "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::",
          "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::" },
        { "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "3fff::",
          "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "3fff:1000::" },
        { NULL, "fec0::", /* febf:... is link-local */
          "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL }, /* ff00:: is multicast */
        { NULL, "2001:20::", /* 2001:1f... is ORCHID (v1) */
          "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", "2001:30::" },
        { "2001:f:ffff:ffff:ffff:ffff:ffff:ffff", "2001:10::",
          "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", NULL },
        { "2001:1:ffff:ffff:ffff:ffff:ffff:ffff", "2001:2::",
          "2001:2:0:ffff:ffff:ffff:ffff:ffff", "2001:2:1::" },
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        if (r[i].before)
            VERDICT(&p, r[i].before, TURN_PEER_OK);
        VERDICT(&p, r[i].first, TURN_PEER_SPECIAL);
        VERDICT(&p, r[i].last, TURN_PEER_SPECIAL);
        if (r[i].after)
            VERDICT(&p, r[i].after, TURN_PEER_OK);
    }
    VERDICT(&p, "ff00::", TURN_PEER_SPECIAL);
}

/* Each IPv6 form carrying IPv4, with loopback, private and metadata IPv4 and
 * a public one. */
TEST(turn_peer_ipv4_in_ipv6_forms)
{
    struct turn_peer_policy p = { 0 };
    /* IPv4-mapped: exactly the IPv4 address. */
    VERDICT(&p, "::ffff:127.0.0.1", TURN_PEER_LOOPBACK);
    VERDICT(&p, "::ffff:10.0.0.1", TURN_PEER_SPECIAL);
    VERDICT(&p, "::ffff:169.254.169.254", TURN_PEER_NEVER);
    VERDICT(&p, "::ffff:8.8.8.8", TURN_PEER_OK);
    /* NAT64 well-known prefix: judged by the IPv4 address. */
    VERDICT(&p, "64:ff9b::7f00:1", TURN_PEER_LOOPBACK);
    VERDICT(&p, "64:ff9b::a00:1", TURN_PEER_SPECIAL);
    VERDICT(&p, "64:ff9b::a9fe:a9fe", TURN_PEER_NEVER);
    VERDICT(&p, "64:ff9b::c000:201", TURN_PEER_SPECIAL); /* 192.0.2.1 */
    VERDICT(&p, "64:ff9b::808:808", TURN_PEER_OK);
    /* 6to4: judged by the IPv4 address in bits 16-47. */
    VERDICT(&p, "2002:7f00:1::1", TURN_PEER_LOOPBACK);
    VERDICT(&p, "2002:a00:1::1", TURN_PEER_SPECIAL);
    VERDICT(&p, "2002:a9fe:a9fe::1", TURN_PEER_NEVER);
    VERDICT(&p, "2002:c0a8:101::1", TURN_PEER_SPECIAL); /* 192.168.1.1 */
    VERDICT(&p, "2002:808:808::1", TURN_PEER_OK);
    /* Refused forms, whatever they carry (but never/loopback win). */
    VERDICT(&p, "::127.0.0.1", TURN_PEER_LOOPBACK);
    VERDICT(&p, "::169.254.169.254", TURN_PEER_NEVER);
    VERDICT(&p, "::10.0.0.1", TURN_PEER_EMBEDDED);
    VERDICT(&p, "::8.8.8.8", TURN_PEER_EMBEDDED);
    VERDICT(&p, "::ffff:0:7f00:1", TURN_PEER_LOOPBACK);
    VERDICT(&p, "::ffff:0:a00:1", TURN_PEER_EMBEDDED);
    VERDICT(&p, "::ffff:0:808:808", TURN_PEER_EMBEDDED);
    VERDICT(&p, "64:ff9b:1::a00:1", TURN_PEER_EMBEDDED);
    VERDICT(&p, "64:ff9b:1:ffff::1", TURN_PEER_EMBEDDED);
    VERDICT(&p, "64:ff9b:2::1", TURN_PEER_OK); /* outside the /48 */
    VERDICT(&p, "2001:0:4136:e378:8000:63bf:3fff:fdd2", TURN_PEER_EMBEDDED);
    /* Teredo whose client part (inverted) is 127.0.0.1 or whose server is. */
    VERDICT(&p, "2001:0:4136:e378:8000:63bf:80ff:fffe", TURN_PEER_LOOPBACK);
    VERDICT(&p, "2001:0:7f00:1::1", TURN_PEER_LOOPBACK);
    VERDICT(&p, "2001:1:ffff::1", TURN_PEER_OK); /* outside 2001::/32 */
    /* A loopback IPv4 inside an IPv6 form cannot be this host's loopback: still
     * refused with allow-loopback-peers; the plain forms are allowed. */
    p.allow_loopback = 1;
    VERDICT(&p, "::ffff:127.0.0.1", TURN_PEER_OK);
    VERDICT(&p, "::1", TURN_PEER_OK);
    VERDICT(&p, "64:ff9b::7f00:1", TURN_PEER_LOOPBACK);
    VERDICT(&p, "2002:7f00:1::1", TURN_PEER_LOOPBACK);
    VERDICT(&p, "::127.0.0.1", TURN_PEER_LOOPBACK);
}

/* allowed-peer-ip re-allows the forms and ranges denied by default (coturn's
 * precedence), never what the hard checks refuse. */
TEST(turn_peer_allowed_reallows_forms_and_ranges)
{
    struct turn_ip_range allowed[8], denied[1];
    const char *a[] = { "::/96",        "64:ff9b:1::/48", "2001::/32", "192.0.2.0/24",
                        "168.63.129.16", "10.0.0.0/8",    "fec0::/10", "::ffff:0:0:0/96" };
    for (size_t i = 0; i < 8; i++)
        ASSERT_EQ(turn_range_parse(a[i], &allowed[i]), 0);
    ASSERT_EQ(turn_range_parse("2002::/16", &denied[0]), 0);
    struct turn_peer_policy p = { .allowed = allowed, .nallowed = 8, .denied = denied,
                                  .ndenied = 1 };
    VERDICT(&p, "::8.8.8.8", TURN_PEER_OK);
    VERDICT(&p, "::10.0.0.1", TURN_PEER_OK);
    VERDICT(&p, "::ffff:0:808:808", TURN_PEER_OK);
    VERDICT(&p, "64:ff9b:1::a00:1", TURN_PEER_OK);
    VERDICT(&p, "2001:0:4136:e378:8000:63bf:3fff:fdd2", TURN_PEER_OK);
    VERDICT(&p, "192.0.2.1", TURN_PEER_OK);
    VERDICT(&p, "168.63.129.16", TURN_PEER_OK);
    VERDICT(&p, "fec0::1", TURN_PEER_OK);
    /* An allowed IPv4 range also re-allows it inside NAT64. */
    VERDICT(&p, "64:ff9b::a00:1", TURN_PEER_OK);
    /* denied-peer-ip on the IPv6 form itself: 6to4 of a public address. */
    VERDICT(&p, "2002:808:808::1", TURN_PEER_DENIED);
    /* Never and loopback stay refused inside the forms. */
    VERDICT(&p, "::169.254.169.254", TURN_PEER_NEVER);
    VERDICT(&p, "::127.0.0.1", TURN_PEER_LOOPBACK);
    VERDICT(&p, "2001:0:7f00:1::1", TURN_PEER_LOOPBACK);
    VERDICT(&p, "64:ff9b::a9fe:a9fe", TURN_PEER_NEVER);
    /* Still refused: what nothing re-allows. */
    VERDICT(&p, "198.51.100.1", TURN_PEER_SPECIAL);
    VERDICT(&p, "2001:db8::1", TURN_PEER_SPECIAL);
}

static int only_50001(const void *ctx, uint16_t port)
{
    (void)ctx;
    return port == 50001;
}

TEST(turn_peer_own_addresses_and_relay_to_relay)
{
    struct turn_ip_range own[3], relay[2];
    ASSERT_EQ(turn_range_parse("93.184.216.34", &own[0]), 0); /* host's second address */
    ASSERT_EQ(turn_range_parse("2a00:1450::7", &own[1]), 0);
    ASSERT_EQ(turn_range_parse("127.0.0.1", &own[2]), 0);
    ASSERT_EQ(turn_range_parse("93.184.216.40", &relay[0]), 0); /* relay-ip */
    ASSERT_EQ(turn_range_parse("127.0.0.1", &relay[1]), 0);
    struct turn_peer_policy p = { .own = own, .nown = 3, .relay = relay, .nrelay = 2,
                                  .min_port = 50000, .max_port = 50100 };
    /* Every own address is refused, whatever the port. */
    VERDICT_PORT(&p, "93.184.216.34", 50000, TURN_PEER_OWN);
    VERDICT_PORT(&p, "93.184.216.34", 5060, TURN_PEER_OWN);
    VERDICT_PORT(&p, "2a00:1450::7", 50000, TURN_PEER_OWN);
    VERDICT_PORT(&p, "::ffff:93.184.216.34", 3478, TURN_PEER_OWN);
    VERDICT_PORT(&p, "2002:5db8:d822::1", 50000, TURN_PEER_OWN); /* 6to4 of own */
    /* A relayed transport address: allowed inside the relay range only. */
    VERDICT_PORT(&p, "93.184.216.40", 50000, TURN_PEER_OK);
    VERDICT_PORT(&p, "93.184.216.40", 50100, TURN_PEER_OK);
    VERDICT_PORT(&p, "::ffff:93.184.216.40", 50050, TURN_PEER_OK);
    VERDICT_PORT(&p, "93.184.216.40", 49999, TURN_PEER_OWN);
    VERDICT_PORT(&p, "93.184.216.40", 50101, TURN_PEER_OWN);
    VERDICT_PORT(&p, "93.184.216.40", 0, TURN_PEER_OWN);
    VERDICT_PORT(&p, "93.184.216.40", 3478, TURN_PEER_OWN);
    /* A loopback relay address works without allow-loopback-peers, for its
     * relay ports only. */
    VERDICT_PORT(&p, "127.0.0.1", 50001, TURN_PEER_OK);
    VERDICT_PORT(&p, "127.0.0.1", 3478, TURN_PEER_LOOPBACK);
    VERDICT_PORT(&p, "127.0.0.2", 50001, TURN_PEER_LOOPBACK);
    VERDICT_PORT(&p, "93.184.216.41", 50001, TURN_PEER_OK); /* not ours */
    struct sockaddr_storage s = sa("::ffff:93.184.216.40");
    ASSERT(turn_peer_is_own(&p, (struct sockaddr *)&s));
    s = sa("93.184.216.34");
    ASSERT(turn_peer_is_own(&p, (struct sockaddr *)&s));
    s = sa("93.184.216.41");
    ASSERT(!turn_peer_is_own(&p, (struct sockaddr *)&s));
    /* With relay_port_live, only the ports held now. */
    p.relay_port_live = only_50001;
    VERDICT_PORT(&p, "93.184.216.40", 50001, TURN_PEER_OK);
    VERDICT_PORT(&p, "93.184.216.40", 50000, TURN_PEER_OWN);
    VERDICT_PORT(&p, "127.0.0.1", 50002, TURN_PEER_LOOPBACK);
    p.relay_port_live = NULL;
    /* With an empty port range nothing is relay-to-relay. */
    p.min_port = p.max_port = 0;
    VERDICT_PORT(&p, "93.184.216.40", 50000, TURN_PEER_OWN);
    /* allowed-peer-ip re-allows an own address (the operator's choice). */
    struct turn_ip_range allowed[1];
    ASSERT_EQ(turn_range_parse("93.184.216.34", &allowed[0]), 0);
    p.allowed = allowed;
    p.nallowed = 1;
    VERDICT_PORT(&p, "93.184.216.34", 5060, TURN_PEER_OK);
}

TEST(turn_peer_own_from_interface_list)
{
    struct sockaddr_in a4 = { .sin_family = AF_INET };
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
    struct sockaddr other = { .sa_family = AF_UNIX };
    inet_pton(AF_INET, "198.51.100.7", &a4.sin_addr);
    inet_pton(AF_INET6, "2001:db8::7", &a6.sin6_addr);
    struct ifaddrs l[4];
    memset(l, 0, sizeof l);
    l[0].ifa_addr = (struct sockaddr *)&a4;
    l[0].ifa_next = &l[1];
    l[1].ifa_addr = NULL; /* an interface without an address */
    l[1].ifa_next = &l[2];
    l[2].ifa_addr = &other; /* e.g. AF_PACKET */
    l[2].ifa_next = &l[3];
    l[3].ifa_addr = (struct sockaddr *)&a6;
    ASSERT_EQ(turn_peer_own_from_ifaddrs(l, NULL, 0), 2);
    ASSERT_EQ(turn_peer_own_from_ifaddrs(NULL, NULL, 0), 0);
    struct turn_ip_range r[2];
    memset(r, 0xAA, sizeof r);
    ASSERT_EQ(turn_peer_own_from_ifaddrs(l, r, 1), 2); /* only one written */
    ASSERT_EQ(r[0].v6, 0);
    ASSERT_EQ(r[0].lo[3], 7);
    ASSERT_EQ(r[1].v6, 0xAA);
    ASSERT_EQ(turn_peer_own_from_ifaddrs(l, r, 2), 2);
    ASSERT_EQ(r[1].v6, 1);
    ASSERT_EQ(r[1].hi[15], 7);
    struct turn_peer_policy p = { .own = r, .nown = 2 };
    struct turn_ip_range allow[2];
    ASSERT_EQ(turn_range_parse("198.51.100.0/24", &allow[0]), 0);
    ASSERT_EQ(turn_range_parse("2001:db8::/32", &allow[1]), 0);
    VERDICT(&p, "198.51.100.7", TURN_PEER_SPECIAL); /* documentation first */
    p.allowed = allow;
    p.nallowed = 2;
    VERDICT(&p, "198.51.100.8", TURN_PEER_OK);
    VERDICT(&p, "198.51.100.7", TURN_PEER_OK); /* allowed-peer-ip wins, as in coturn */
}

TEST(turn_peer_verdict_names)
{
    ASSERT_STR_EQ(turn_peer_verdict_name(TURN_PEER_OK), "ok");
    ASSERT_STR_EQ(turn_peer_verdict_name(TURN_PEER_EMBEDDED), "embedded");
    ASSERT_STR_EQ(turn_peer_verdict_name(TURN_PEER_FAMILY), "family");
    ASSERT_STR_EQ(turn_peer_verdict_name(TURN_PEER_NVERDICTS), "unknown");
    ASSERT_STR_EQ(turn_peer_verdict_name(-1), "unknown");
    struct turn_peer_policy p = { 0 };
    struct sockaddr un = { .sa_family = AF_UNIX };
    ASSERT_EQ(turn_peer_check(&p, &un), TURN_PEER_FAMILY);
}
