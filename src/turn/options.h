/*
 * turn/options.h - the TURN server's configuration, read once from a
 * config_t into a plain struct (internal to turn/, see turn/internal.h).
 *
 * Pure: turn_opts_read() touches no socket, no loop and no global; the
 * machine's interface addresses (the default listening addresses) are
 * handed in, so the whole reader is unit-testable.
 */
#ifndef T9_TURN_OPTIONS_H
#define T9_TURN_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "net/conn.h"
#include "turn/peer.h"

#define TURN_MAX_LISTEN_IPS 16
#define TURN_MAX_SECRETS 8
#define TURN_CONN_RBUF 16384    /* largest frame accepted over a stream */
#define TURN_CONN_OUT_CAP 16384 /* buffered output per connection (x2) */

struct turn_opts {
    char realm[256];
    size_t realm_len;
    /* listeners */
    int listen_port, tls_port;
    union net_addr listen[TURN_MAX_LISTEN_IPS];
    size_t nlisten;
    int want_udp, want_tcp, want_tls;
    char cert[512], pkey[512]; /* "" when not set */
    /* relay */
    unsigned min_port, max_port;
    union net_addr relay4, relay6, pub4, pub6;
    int has_relay4, has_relay6;
    /* credentials */
    int use_auth_secret;
    char *secrets[TURN_MAX_SECRETS]; /* wiped and freed by turn_opts_free() */
    size_t nsecrets;
    char sep;
    uint32_t stale_nonce;
    /* limits */
    long user_quota, total_quota;
    uint64_t max_bps, bps_capacity;
    uint32_t max_lifetime, channel_lifetime, perm_lifetime;
    struct net_conn_limits conn; /* stream caps and deadlines */
    /* behaviour */
    int default_family; /* AF_INET, AF_INET6, or 0 to keep the client's */
    int fingerprint, no_stun, stun_only, no_software;
    /* peers: the policy points into the three tables */
    struct turn_ip_range *denied, *allowed, *own;
    struct turn_ip_range relayed[4]; /* relay4, relay6, pub4, pub6: relay-to-relay */
    struct turn_peer_policy policy;
    int64_t max_rest_ttl;   /* max-rest-ttl, seconds; 0: no bound */
    int rfc5766_channels;   /* channel numbers up to 0x7FFF, not 0x4FFF */
    uint32_t coalesce_us;   /* relay-coalesce-us; 0: off */
};

/* Fills o from cfg (the keys of turn/config.h and `realm`). ifs[nifs] are
 * the machine's interface addresses, used when listening-ip is not given
 * (link-local IPv6 and duplicates skipped, at most TURN_MAX_LISTEN_IPS).
 * Returns 0, or a negative errno with a message naming the key in err;
 * either way turn_opts_free() releases o. */
int turn_opts_read(const config_t *cfg, const union net_addr *ifs, size_t nifs,
                   struct turn_opts *o, char *err, size_t errlen);

/* Wipes the secrets and frees what turn_opts_read() allocated. Safe on a
 * zeroed or partly read struct, and twice. */
void turn_opts_free(struct turn_opts *o);

#endif
