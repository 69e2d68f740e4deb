/*
 * turn/alloc.h - TURN allocations (internal to turn/, see turn/internal.h).
 *
 * An allocation is a relay socket on a port of the relay range, with small
 * tables of permissions and channels grown on demand, a lifetime, and
 * bandwidth buckets for each direction. UDP clients' allocations are found by a keyed hash of
 * (listener, client address); a stream client's allocation hangs off its
 * connection. This module also owns the port bitmap, the EVEN-PORT
 * reservations and the relay path in both directions.
 */
#ifndef T9_TURN_ALLOC_H
#define T9_TURN_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "turn/internal.h"
#include "turn/stun.h"

struct perm {
    uint8_t v6;
    uint8_t own; /* one of the server's own addresses: ports re-checked */
    uint8_t ip[16];
    uint64_t expires;
};

struct chan {
    uint16_t num;
    union net_addr peer;
    uint64_t expires;
};

struct alloc {
    struct turn_server *ts;
    struct net_endpoint client; /* client.conn is NULL for UDP clients */
    unsigned bucket;
    struct alloc *hnext, *prev, *next;
    /* The relay socket, read with one recvmmsg per readiness (libuv's
     * uv_udp_t reads until EAGAIN: a second system call per datagram). */
    uv_poll_t relay;
    int fd;
    union net_addr relay_pub; /* advertised relayed address */
    uint16_t port;
    uint64_t expires;
    /* SHA-256 of the username: quota and 441 checks. The user's key is not
     * kept: every request is checked against the credential store, so a
     * deleted account or changed password takes effect at the next one. */
    uint8_t user[32];
    uint8_t alloc_tid[STUN_TID_LEN];
    uint8_t token[8];
    int has_token;
    int closing;
    /* Permissions and channels in arrays that grow on demand (4, 8, 16,
     * 32 entries) up to TURN_MAX_PERMS and TURN_MAX_CHANNELS, and are freed
     * when the sweep finds them empty: an idle allocation carries none.
     * Pointers into them do not survive turn__perm_set() or
     * turn__chan_bind(). */
    struct perm *perms;
    struct chan *chans;
    uint8_t perm_cap, chan_cap;
    size_t nperms, nchans;
    struct bucket up, down;
};

/* Takes n bytes from bucket b refilled at rate bytes per second up to one
 * second's worth (rate 0: unlimited). Returns 1 when taken, 0 when there are
 * too few. Idle time beyond a second adds nothing, so no idle period can
 * overflow the refill. */
int turn__bucket_take(struct bucket *b, uint64_t rate, uint64_t now, size_t n);

/* The allocation of a client: of a UDP client by (listener, address), of a
 * stream client through its connection. NULL when it has none. */
struct alloc *turn__alloc_find(struct turn_server *ts, const struct net_endpoint *client);

/* A new, unlinked allocation of the family v6 with its relay socket bound
 * and receiving, its advertised address and its bandwidth buckets set.
 * even asks for an even port, reserve (EVEN-PORT R) also binds its successor
 * and reserves it under a fresh token (a->token); rv, from
 * turn__resv_find(), hands over a reserved socket instead. dont_fragment
 * sets DF on the relay socket. The caller fills in the client side and the
 * lifetime, then calls turn__alloc_link(). Returns NULL when out of memory,
 * reservation slots or relay ports. */
struct alloc *turn__alloc_new(struct turn_server *ts, int v6, int even, int reserve,
                              struct reservation *rv, int dont_fragment,
                              const uint8_t user[32]);

/* The allocations and live EVEN-PORT reservations of the user (SHA-256 of
 * the username): what user-quota bounds. */
long turn__user_count(struct turn_server *ts, const uint8_t user[32]);

/* Makes a findable: into the UDP hash or onto its connection (which is then
 * held: no idle deadline while it carries an allocation), and into the
 * server's list and counts. */
void turn__alloc_link(struct alloc *a);

/* Unlinks the allocation, releases its port, drops the EVEN-PORT
 * reservation it made (if not taken yet) and closes its relay socket; the
 * memory goes when the handle is closed. */
void turn__alloc_close(struct alloc *a);

/* Closes expired allocations and drops expired permissions and channels. */
void turn__alloc_sweep(struct turn_server *ts, uint64_t now);

/* Client -> peer: relays n bytes to peer within a's bandwidth. */
void turn__alloc_relay(struct alloc *a, const union net_addr *peer, const uint8_t *p, size_t n);

/* Client -> peer: a ChannelData message from a's client (a may be NULL:
 * then, as with a malformed message or an unbound channel, it is dropped). */
void turn__alloc_channeldata(struct alloc *a, const uint8_t *p, size_t n);

/* The live permission for peer's IP address, or NULL (now 0: expired ones
 * count too). */
struct perm *turn__perm_find(struct alloc *a, const union net_addr *peer, uint64_t now);

/* Installs or refreshes a permission: an entry for the peer's IP address
 * is refreshed even when expired but not swept yet; a new one takes a free
 * slot, else the slot of an expired permission. Returns 0 or -ENOSPC. */
int turn__perm_set(struct alloc *a, const union net_addr *peer, uint64_t now);

/* How many new permissions turn__perm_set() can still install at now: the
 * free slots plus the expired ones. */
size_t turn__perm_room(const struct alloc *a, uint64_t now);

/* Binds num to peer for life_ms, or refreshes that binding. A number or a
 * peer stays held for TURN_CHANNEL_HOLD_MS after its binding expired
 * (RFC 8656 section 12): only the same pair may be bound again meanwhile.
 * Uses a's channel table only (no server, no clock), so it is unit-tested
 * alone. Returns 0; -EEXIST when num or peer is in a live binding with
 * another; -EBUSY when held after expiry; -ENOSPC (TURN_MAX_CHANNELS) or
 * -ENOMEM. */
int turn__chan_bind(struct alloc *a, uint16_t num, const union net_addr *peer, uint64_t now,
                    uint64_t life_ms);

/* Grows the permission array so that `extra` more entries fit without
 * allocating (capped at TURN_MAX_PERMS), and the channel array for one
 * more channel. Return 0 or -ENOMEM (nothing changed). Pointers into the
 * array (turn__perm_find, turn__chan_by_*) do not survive a call. */
int turn__perm_reserve(struct alloc *a, size_t extra);
int turn__chan_reserve(struct alloc *a);

/* The live channel with that number, or bound to that peer, or NULL. */
struct chan *turn__chan_by_num(struct alloc *a, uint16_t num, uint64_t now);
struct chan *turn__chan_by_peer(struct alloc *a, const union net_addr *peer, uint64_t now);

/* The live reservation with that 8-byte token, or NULL. */
struct reservation *turn__resv_find(struct turn_server *ts, const uint8_t *token);

/* 1 when a relay port is held by an allocation or a reservation (of either
 * family): the peer policy's relay_port_live, with the server as ctx. */
int turn__port_live(const void *ts, uint16_t port);

/* Drops expired reservations (all of them when `all`). */
void turn__resv_sweep(struct turn_server *ts, int all);

#endif
