/*
 * test_turn_peer.c - peer address policy and range parsing.
 */
#include "t.h"

#include <arpa/inet.h>
#include <errno.h>
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

TEST(turn_peer_default_denials)
{
    struct turn_peer_policy p = { 0 };
    const char *deny[] = { "127.0.0.1", "::1", "0.0.0.0", "::", "10.1.2.3", "172.16.0.1",
                           "172.31.255.255", "192.168.1.1", "100.64.0.1", "169.254.169.254",
                           "169.254.1.1", "224.0.0.1", "239.1.1.1", "255.255.255.255",
                           "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1",
                           "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1",
                           "100.100.100.200", "192.0.0.192" };
    for (size_t i = 0; i < sizeof deny / sizeof deny[0]; i++)
        if (ok(&p, deny[i]))
            t_fail(__FILE__, __LINE__, "%s allowed", deny[i]);
    const char *allow[] = { "8.8.8.8", "172.32.0.1", "203.0.113.9", "2001:db8::1",
                            "::ffff:8.8.8.8", "2a00:1450::1" };
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
    ASSERT_EQ(turn_range_parse("198.51.100.7", &own[0]), 0);
    struct turn_peer_policy p = { .denied = denied, .ndenied = 1, .allowed = allowed,
                                  .nallowed = 2, .own = own, .nown = 1 };
    ASSERT(!ok(&p, "8.8.4.4"));
    ASSERT(ok(&p, "8.8.8.8"));     /* allowed and denied: allowed */
    ASSERT(ok(&p, "10.0.0.7"));    /* allowed overrides the default private denial */
    ASSERT(!ok(&p, "10.0.0.10"));
    ASSERT(!ok(&p, "198.51.100.7")); /* own address */
    ASSERT(ok(&p, "198.51.100.8"));
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
