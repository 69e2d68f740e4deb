/*
 * turn/peer.h - which peer addresses the relay may send to.
 *
 * Pure code over caller-owned tables. The decision, in order:
 *   1. never: unspecified addresses (0.0.0.0/8, ::) and cloud metadata
 *      services (169.254.169.254, fd00:ec2::254, 100.100.100.200,
 *      192.0.0.192), whatever the configuration says;
 *   2. loopback only with allow-loopback-peers (as in coturn, allowed-peer-ip
 *      does not override this);
 *   3. multicast never when no-multicast-peers is given explicitly;
 *   4. allowed-peer-ip wins over everything below (coturn's precedence: an
 *      address both allowed and denied is allowed);
 *   5. denied-peer-ip;
 *   6. T9phone's default denials: private (10/8, 172.16/12, 192.168/16),
 *      shared CGNAT (100.64/10), link-local (169.254/16, fe80::/10), multicast
 *      (224/4, ff00::/8), reserved and broadcast (240/4), IETF protocol
 *      assignments (192.0.0/24), benchmarking (198.18/15), unique-local
 *      (fc00::/7), discard (100::/64), and the server's own addresses (a
 *      loopback own address is allowed with allow-loopback-peers);
 *   7. otherwise allowed.
 * IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96) IPv6 addresses are
 * judged by the IPv4 address they carry.
 */
#ifndef T9_TURN_PEER_H
#define T9_TURN_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An inclusive range of addresses of one family (addresses in network order,
 * IPv4 in the first 4 bytes). */
struct turn_ip_range {
    uint8_t v6;
    uint8_t lo[16], hi[16];
};

struct turn_peer_policy {
    const struct turn_ip_range *denied, *allowed, *own;
    size_t ndenied, nallowed, nown;
    int allow_loopback;
    int no_multicast; /* hard deny, not overridable */
};

/* Parses "1.2.3.4", "1.2.3.4-1.2.3.9", "10.0.0.0/8", and the same for IPv6.
 * Returns 0 or -EINVAL. */
int turn_range_parse(const char *s, struct turn_ip_range *out);

/* A single address as a range. Returns 0 or -EAFNOSUPPORT. */
int turn_range_from_sockaddr(const struct sockaddr *sa, struct turn_ip_range *out);

/* 1 when the policy allows relaying to sa (port is not considered), else 0. */
int turn_peer_allowed(const struct turn_peer_policy *p, const struct sockaddr *sa);

#endif
