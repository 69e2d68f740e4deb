/*
 * turn/peer.h - which peer addresses the relay may send to.
 *
 * Pure code over caller-owned tables (no libuv, no globals, no system calls:
 * the caller reads the host's interfaces with getifaddrs() and hands the list
 * over). An IPv4-mapped address (::ffff:0:0/96) is the IPv4 address it
 * carries: a dual-stack socket sends it as IPv4. The decision, in order:
 *
 *   0. relay-to-relay: a peer that is one of this server's relayed transport
 *      addresses (an address in `relay`, a port in min_port..max_port that
 *      relay_port_live() says is held) is allowed, so that two relayed
 *      phones of one call reach each other;
 *   1. never: unspecified addresses (0.0.0.0/8, ::) and cloud metadata
 *      services (169.254.169.254, fd00:ec2::254, 100.100.100.200,
 *      192.0.0.192), whatever the configuration says;
 *   2. loopback only with allow-loopback-peers (as in coturn, allowed-peer-ip
 *      does not override this);
 *   3. multicast never when no-multicast-peers is given explicitly;
 *      (1-3 also apply to the IPv4 address that an IPv6 form below carries,
 *      and a loopback IPv4 inside an IPv6 form is refused even with
 *      allow-loopback-peers: it cannot lead to this host's loopback)
 *   4. allowed-peer-ip wins over everything below (coturn's precedence: an
 *      address both allowed and denied is allowed);
 *   5. denied-peer-ip;
 *   6. IPv6 forms that carry IPv4: NAT64 well-known (64:ff9b::/96) and 6to4
 *      (2002::/16) are judged by their IPv4 address (steps 4 to 8 for it);
 *      IPv4-compatible (::/96), IPv4-translated (::ffff:0:0:0/96), NAT64
 *      local-use (64:ff9b:1::/48, where the IPv4 position depends on a
 *      prefix length only the operator knows) and Teredo (2001::/32) are
 *      refused;
 *   7. T9phone's default denials: private (10/8, 172.16/12, 192.168/16),
 *      shared CGNAT (100.64/10), link-local (169.254/16, fe80::/10), multicast
 *      (224/4, ff00::/8), reserved and broadcast (240/4), IETF protocol
 *      assignments (192.0.0/24), benchmarking (198.18/15, 2001:2::/48),
 *      documentation (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32,
 *      3fff::/20), the 6to4 relay anycast (192.88.99/24), Azure's platform
 *      address 168.63.129.16, unique-local (fc00::/7), deprecated site-local
 *      (fec0::/10), ORCHID (2001:10::/28, 2001:20::/28), discard (100::/64);
 *   8. the server's own addresses (`own`: every address of the host's
 *      interfaces and the configured ones; a loopback own address is allowed
 *      with allow-loopback-peers);
 *   9. otherwise allowed.
 */
#ifndef T9_TURN_PEER_H
#define T9_TURN_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ifaddrs;

/* An inclusive range of addresses of one family (addresses in network order,
 * IPv4 in the first 4 bytes). */
struct turn_ip_range {
    uint8_t v6;
    uint8_t lo[16], hi[16];
};

struct turn_peer_policy {
    const struct turn_ip_range *denied, *allowed, *own, *relay;
    size_t ndenied, nallowed, nown, nrelay;
    uint16_t min_port, max_port; /* the relay port range, for relay-to-relay */
    /* Optional: 1 when a relay port is held now by one of this server's
     * allocations (or reservations), so that relay-to-relay reaches those
     * only and not some other service bound inside the range. NULL: every
     * port of the range counts. */
    int (*relay_port_live)(const void *ctx, uint16_t port);
    const void *ctx;
    int allow_loopback;
    int no_multicast; /* hard deny, not overridable */
};

/* Why a peer was refused; also the index of the refusal counters. */
enum turn_peer_verdict {
    TURN_PEER_OK = 0,
    TURN_PEER_NEVER,     /* unspecified or cloud metadata */
    TURN_PEER_LOOPBACK,  /* loopback without allow-loopback-peers */
    TURN_PEER_MULTICAST, /* multicast with no-multicast-peers */
    TURN_PEER_DENIED,    /* denied-peer-ip */
    TURN_PEER_EMBEDDED,  /* a refused IPv6 form carrying IPv4 */
    TURN_PEER_SPECIAL,   /* a default special-purpose denial */
    TURN_PEER_OWN,       /* one of the server's own addresses */
    TURN_PEER_FAMILY,    /* neither IPv4 nor IPv6 */
    TURN_PEER_NVERDICTS
};

/* Parses "1.2.3.4", "1.2.3.4-1.2.3.9", "10.0.0.0/8", and the same for IPv6.
 * Returns 0 or -EINVAL. */
int turn_range_parse(const char *s, struct turn_ip_range *out);

/* A single address as a range (an IPv4-mapped address as its IPv4 address).
 * Returns 0 or -EAFNOSUPPORT. */
int turn_range_from_sockaddr(const struct sockaddr *sa, struct turn_ip_range *out);

/* The decision above for sa: TURN_PEER_OK or the reason of the refusal. The
 * port counts only for the relay-to-relay exception. */
enum turn_peer_verdict turn_peer_check(const struct turn_peer_policy *p,
                                       const struct sockaddr *sa);

/* 1 when turn_peer_check() says TURN_PEER_OK, else 0. */
int turn_peer_allowed(const struct turn_peer_policy *p, const struct sockaddr *sa);

/* 1 when sa's address (port ignored) is one of p->own or p->relay: the
 * datapath then re-checks the port of every packet with turn_peer_check(),
 * since a permission covers every port of its address. */
int turn_peer_is_own(const struct turn_peer_policy *p, const struct sockaddr *sa);

/* A short lower-case name for a verdict ("ok", "never", "loopback",
 * "multicast", "denied", "embedded", "special", "own", "family"), for
 * metrics labels; "unknown" for anything else. */
const char *turn_peer_verdict_name(int v);

/* The IPv4 and IPv6 addresses in an interface list from getifaddrs():
 * writes at most max of them into out and returns how many there are (call
 * with max 0 to size the array). Entries without an address are skipped;
 * duplicates are kept (harmless). */
size_t turn_peer_own_from_ifaddrs(const struct ifaddrs *list, struct turn_ip_range *out,
                                  size_t max);

#endif
