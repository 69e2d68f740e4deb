/*
 * test_turn_chan.c - channel bindings of one allocation (turn__chan_bind):
 * refresh, conflicts with live bindings, the 5-minute hold after expiry
 * (RFC 8656 section 12), the per-allocation bound, and the table that grows
 * on demand. Uses the allocation's channel table only, with a fake clock.
 */
#include "t.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "turn/alloc.h"

static union net_addr peer(const char *ip, uint16_t port)
{
    union net_addr a;
    memset(&a, 0, sizeof a);
    a.in.sin_family = AF_INET;
    a.in.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.in.sin_addr);
    return a;
}

TEST(turn_chan_bind_refresh_conflicts_and_hold)
{
    struct alloc a;
    memset(&a, 0, sizeof a);
    union net_addr p1 = peer("93.184.216.1", 5000), p2 = peer("93.184.216.2", 5000);
    const uint64_t life = 600000, t0 = 1000000;
    ASSERT_EQ(turn__chan_bind(&a, 0x4000, &p1, t0, life), 0);
    ASSERT_EQ(a.nchans, 1);
    ASSERT(a.chan_cap == 4); /* grown on demand, not 32 slots */
    ASSERT(turn__chan_by_num(&a, 0x4000, t0) != NULL);
    /* A refresh of the same pair. */
    ASSERT_EQ(turn__chan_bind(&a, 0x4000, &p1, t0 + 1000, life), 0);
    ASSERT_EQ(a.nchans, 1);
    /* Live: the number to another peer, or the peer to another number. */
    ASSERT_EQ(turn__chan_bind(&a, 0x4000, &p2, t0 + 2000, life), -EEXIST);
    ASSERT_EQ(turn__chan_bind(&a, 0x4001, &p1, t0 + 2000, life), -EEXIST);
    /* Expired at t0 + 1000 + life; within the 5 minutes after: held. */
    uint64_t expired = t0 + 1000 + life;
    ASSERT(turn__chan_by_num(&a, 0x4000, expired) == NULL); /* no longer relays */
    ASSERT_EQ(turn__chan_bind(&a, 0x4000, &p2, expired, life), -EBUSY);
    ASSERT_EQ(turn__chan_bind(&a, 0x4001, &p1, expired + 299999, life), -EBUSY);
    /* Another number for another peer is fine meanwhile. */
    ASSERT_EQ(turn__chan_bind(&a, 0x4002, &p2, expired, life), 0);
    ASSERT_EQ(a.nchans, 2);
    /* The same pair again during the hold: allowed (a late refresh). */
    ASSERT_EQ(turn__chan_bind(&a, 0x4000, &p1, expired + 1, 1000), 0);
    ASSERT(turn__chan_by_num(&a, 0x4000, expired + 1) != NULL);
    /* Expires at expired + 1001; the hold ends 300 s later exactly. */
    uint64_t end = expired + 1001 + 300000;
    ASSERT_EQ(turn__chan_bind(&a, 0x4001, &p1, end - 1, life), -EBUSY);
    ASSERT_EQ(turn__chan_bind(&a, 0x4001, &p1, end, life), 0); /* slot reused */
    ASSERT_EQ(a.nchans, 2);
    free(a.chans);
}

TEST(turn_chan_bind_bounded_per_allocation)
{
    struct alloc a;
    memset(&a, 0, sizeof a);
    const uint64_t now = 5000;
    for (int i = 0; i < TURN_MAX_CHANNELS; i++) {
        union net_addr p = peer("93.184.216.9", (uint16_t)(6000 + i));
        ASSERT_EQ(turn__chan_bind(&a, (uint16_t)(0x4000 + i), &p, now, 1000), 0);
    }
    ASSERT_EQ(a.nchans, TURN_MAX_CHANNELS);
    ASSERT_EQ(a.chan_cap, TURN_MAX_CHANNELS);
    union net_addr p = peer("93.184.216.9", 7000);
    ASSERT_EQ(turn__chan_bind(&a, 0x4FFF, &p, now, 1000), -ENOSPC);
    /* Expired but held slots are not free either; after the hold they are. */
    ASSERT_EQ(turn__chan_bind(&a, 0x4FFF, &p, now + 1000, 1000), -ENOSPC);
    ASSERT_EQ(turn__chan_bind(&a, 0x4FFF, &p, now + 1000 + TURN_CHANNEL_HOLD_MS, 1000), 0);
    free(a.chans);
}

/* Permissions: the table grows 2, 4, ... up to TURN_MAX_PERMS, refuses one
 * more, reuses an expired entry, and marks the server's own addresses (whose
 * ports the Send path re-checks). Needs only the server's options. */
TEST(turn_perm_table_grows_to_its_bound)
{
    struct turn_server *ts = calloc(1, sizeof *ts);
    ASSERT(ts != NULL);
    ts->o.perm_lifetime = 300;
    struct turn_ip_range own[1];
    ASSERT_EQ(turn_range_parse("93.184.216.40", &own[0]), 0);
    ts->o.policy.relay = own;
    ts->o.policy.nrelay = 1;
    struct alloc a;
    memset(&a, 0, sizeof a);
    a.ts = ts;
    const uint64_t now = 10000;
    ASSERT_EQ(a.perm_cap, 0);
    for (int i = 0; i < TURN_MAX_PERMS; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "93.184.217.%d", i);
        union net_addr p = peer(ip, 1);
        ASSERT_EQ(turn__perm_set(&a, &p, now), 0);
        ASSERT(a.perm_cap >= a.nperms && a.perm_cap <= 2 * a.nperms + 2);
    }
    ASSERT_EQ(a.nperms, TURN_MAX_PERMS);
    union net_addr extra = peer("93.184.216.40", 50000);
    ASSERT_EQ(turn__perm_set(&a, &extra, now), -ENOSPC);
    ASSERT_EQ(turn__perm_room(&a, now), 0);
    /* The same address again is a refresh, not a new entry. */
    union net_addr again = peer("93.184.217.3", 9);
    ASSERT_EQ(turn__perm_set(&a, &again, now + 1000), 0); /* lives past `later` */
    /* After the lifetime the expired entries are reused. */
    uint64_t later = now + 300 * 1000ULL + 1;
    ASSERT(turn__perm_room(&a, later) > 0);
    ASSERT_EQ(turn__perm_set(&a, &extra, later), 0);
    struct perm *pm = turn__perm_find(&a, &extra, later);
    ASSERT(pm != NULL);
    ASSERT_EQ(pm->own, 1);
    ASSERT_EQ(turn__perm_find(&a, &again, later)->own, 0);
    ASSERT_EQ(a.nperms, TURN_MAX_PERMS);
    free(a.perms);
    free(ts);
}
