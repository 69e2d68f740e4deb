/*
 * test_sip_location.c - the registrar's in-memory location table.
 */
#include "t.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "sip/location.h"

static const uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static struct sip_loc_put mk(const char *user, const char *contact, const char *callid,
                             uint32_t cseq, uint32_t expires)
{
    struct sip_loc_put p = { 0 };
    p.user = user;
    p.ulen = strlen(user);
    p.contact = contact;
    p.clen = strlen(contact);
    p.callid = callid;
    p.cidlen = strlen(callid);
    p.cseq = cseq;
    p.expires = expires;
    p.q = 1000;
    p.flow.family = 4;
    p.flow.transport = SIP_TR_UDP;
    return p;
}

struct seen {
    int n;
    char contact[4][64];
    uint32_t expires[4];
    char path[64];
    uint32_t conn[4];
};

static int collect(void *ctx, const struct sip_loc_binding *b)
{
    struct seen *s = ctx;
    if (s->n < 4) {
        snprintf(s->contact[s->n], sizeof s->contact[0], "%.*s", (int)b->clen, b->contact);
        s->expires[s->n] = b->expires_in;
        s->conn[s->n] = b->flow->conn_id;
        if (b->plen)
            snprintf(s->path, sizeof s->path, "%.*s", (int)b->plen, b->path);
    }
    s->n++;
    return 0;
}

static struct seen list(struct sip_loc *loc, const char *user, int64_t now)
{
    struct seen s;
    memset(&s, 0, sizeof s);
    sip_loc_each(loc, user, strlen(user), now, collect, &s);
    return s;
}

TEST(sip_loc_add_refresh_remove)
{
    struct sip_loc *loc = sip_loc_new(key, 100, 5);
    ASSERT(loc);
    struct sip_loc_put p = mk("alice", "sip:alice@10.0.0.1:5060", "c1", 1, 600);
    ASSERT_EQ(sip_loc_put(loc, &p, 1000), 0);
    struct seen s = list(loc, "alice", 1000);
    ASSERT_EQ(s.n, 1);
    ASSERT_STR_EQ(s.contact[0], "sip:alice@10.0.0.1:5060");
    ASSERT_EQ(s.expires[0], 600);
    /* A refresh with a higher CSeq replaces, a retransmission applies
     * again, a late older request is refused. */
    p.cseq = 2;
    p.expires = 300;
    ASSERT_EQ(sip_loc_put(loc, &p, 1100), 0);
    ASSERT_EQ(sip_loc_put(loc, &p, 1100), 0);
    p.cseq = 1;
    ASSERT_EQ(sip_loc_put(loc, &p, 1100), -EALREADY);
    s = list(loc, "alice", 1100);
    ASSERT_EQ(s.n, 1);
    ASSERT_EQ(s.expires[0], 300);
    ASSERT_EQ(sip_loc_count(loc), 1);
    /* Another Call-ID may use any CSeq (a rebooted phone). */
    struct sip_loc_put q = mk("alice", "sip:alice@10.0.0.1:5060", "c2", 1, 60);
    ASSERT_EQ(sip_loc_put(loc, &q, 1100), 0);
    ASSERT_EQ(list(loc, "alice", 1100).n, 1);
    /* Removal (Expires: 0). */
    q.cseq = 2;
    ASSERT_EQ(sip_loc_remove(loc, &q), 0);
    ASSERT_EQ(list(loc, "alice", 1100).n, 0);
    ASSERT_EQ(sip_loc_count(loc), 0);
    ASSERT_EQ(sip_loc_users(loc), 0);
    sip_loc_free(loc);
}

TEST(sip_loc_users_are_separate)
{
    struct sip_loc *loc = sip_loc_new(key, 100, 5);
    struct sip_loc_put a = mk("alice", "sip:a@h", "c", 1, 60);
    struct sip_loc_put b = mk("alicf", "sip:a@h", "c", 1, 60);
    ASSERT_EQ(sip_loc_put(loc, &a, 0), 0);
    ASSERT_EQ(sip_loc_put(loc, &b, 0), 0);
    ASSERT_EQ(list(loc, "alice", 0).n, 1);
    ASSERT_EQ(list(loc, "alicf", 0).n, 1);
    ASSERT_EQ(list(loc, "alic", 0).n, 0);
    ASSERT_EQ(sip_loc_users(loc), 2);
    sip_loc_free(loc);
}

TEST(sip_loc_oldest_replaced_when_full)
{
    struct sip_loc *loc = sip_loc_new(key, 100, 3);
    char c[32];
    for (int i = 0; i < 5; i++) {
        snprintf(c, sizeof c, "sip:a@10.0.0.%d", i);
        struct sip_loc_put p = mk("alice", c, "x", (uint32_t)i + 1, 60);
        ASSERT_EQ(sip_loc_put(loc, &p, 0), 0);
    }
    struct seen s = list(loc, "alice", 0);
    ASSERT_EQ(s.n, 3);
    ASSERT_STR_EQ(s.contact[0], "sip:a@10.0.0.4");
    ASSERT_STR_EQ(s.contact[2], "sip:a@10.0.0.2");
    ASSERT_EQ(sip_loc_count(loc), 3);
    sip_loc_free(loc);
}

TEST(sip_loc_instance_replaces_across_contacts)
{
    struct sip_loc *loc = sip_loc_new(key, 100, 5);
    const char *inst = "\"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\"";
    struct sip_loc_put p = mk("bob", "sip:bob@192.168.1.2:5060", "w", 1, 600);
    p.instance = inst;
    p.ilen = strlen(inst);
    p.reg_id = 1;
    p.flow.conn_id = 7;
    ASSERT_EQ(sip_loc_put(loc, &p, 0), 0);
    /* The phone moved networks: new Contact, new Call-ID, same instance. */
    struct sip_loc_put q = mk("bob", "sip:bob@10.9.9.9:40000", "lte", 1, 600);
    q.instance = inst;
    q.ilen = strlen(inst);
    q.reg_id = 1;
    q.flow.conn_id = 9;
    ASSERT_EQ(sip_loc_put(loc, &q, 10), 0);
    struct seen s = list(loc, "bob", 10);
    ASSERT_EQ(s.n, 1);
    ASSERT_STR_EQ(s.contact[0], "sip:bob@10.9.9.9:40000");
    ASSERT_EQ(s.conn[0], 9);
    /* Another reg-id of the same instance is a second flow. */
    q.reg_id = 2;
    ASSERT_EQ(sip_loc_put(loc, &q, 10), 0);
    ASSERT_EQ(list(loc, "bob", 10).n, 2);
    sip_loc_free(loc);
}

TEST(sip_loc_path_kept)
{
    struct sip_loc *loc = sip_loc_new(key, 100, 5);
    struct sip_loc_put p = mk("carol", "sip:c@h", "c", 1, 60);
    p.path = "<sip:edge1.example;lr>";
    p.plen = strlen(p.path);
    ASSERT_EQ(sip_loc_put(loc, &p, 0), 0);
    ASSERT_STR_EQ(list(loc, "carol", 0).path, "<sip:edge1.example;lr>");
    sip_loc_free(loc);
}

TEST(sip_loc_remove_all_keeps_newer_same_callid)
{
    struct sip_loc *loc = sip_loc_new(key, 100, 5);
    struct sip_loc_put a = mk("dave", "sip:d@1", "same", 5, 60);
    struct sip_loc_put b = mk("dave", "sip:d@2", "other", 9, 60);
    ASSERT_EQ(sip_loc_put(loc, &a, 0), 0);
    ASSERT_EQ(sip_loc_put(loc, &b, 0), 0);
    /* "*" with Call-ID "same" CSeq 5: the binding from CSeq 5 stays. */
    ASSERT_EQ(sip_loc_remove_all(loc, "dave", 4, "same", 4, 5), 1);
    ASSERT_EQ(list(loc, "dave", 0).n, 1);
    ASSERT_EQ(sip_loc_remove_all(loc, "dave", 4, "same", 4, 6), 1);
    ASSERT_EQ(list(loc, "dave", 0).n, 0);
    ASSERT_EQ(sip_loc_users(loc), 0);
    sip_loc_free(loc);
}

TEST(sip_loc_expiry_and_sweep)
{
    struct sip_loc *loc = sip_loc_new(key, 100, 5);
    struct sip_loc_put a = mk("erin", "sip:e@1", "c", 1, 60);
    struct sip_loc_put b = mk("erin", "sip:e@2", "c2", 1, 120);
    ASSERT_EQ(sip_loc_put(loc, &a, 0), 0);
    ASSERT_EQ(sip_loc_put(loc, &b, 0), 0);
    ASSERT_EQ(list(loc, "erin", 59).n, 2);
    ASSERT_EQ(list(loc, "erin", 60).n, 1); /* expired: never returned */
    ASSERT_EQ(sip_loc_expire(loc, 60, 1 << 20), 1);
    ASSERT_EQ(sip_loc_count(loc), 1);
    ASSERT_EQ(sip_loc_expire(loc, 200, 1 << 20), 1);
    ASSERT_EQ(sip_loc_users(loc), 0);
    sip_loc_free(loc);
}

TEST(sip_loc_limits)
{
    struct sip_loc *loc = sip_loc_new(key, 2, 5);
    struct sip_loc_put a = mk("u1", "sip:1", "c", 1, 60);
    struct sip_loc_put b = mk("u2", "sip:2", "c", 1, 60);
    struct sip_loc_put c = mk("u3", "sip:3", "c", 1, 60);
    ASSERT_EQ(sip_loc_put(loc, &a, 0), 0);
    ASSERT_EQ(sip_loc_put(loc, &b, 0), 0);
    ASSERT_EQ(sip_loc_put(loc, &c, 0), -ENOSPC);
    a.cseq = 2; /* a refresh still works when full */
    ASSERT_EQ(sip_loc_put(loc, &a, 0), 0);
    struct sip_loc_put e = mk("", "sip:1", "c", 1, 60);
    ASSERT_EQ(sip_loc_put(loc, &e, 0), -EINVAL);
    ASSERT_EQ(sip_loc_count(loc), 2);
    sip_loc_free(loc);
    ASSERT(sip_loc_new(key, 0, 5) == NULL);
}

/* 100k users with one binding each, of the size a phone registers
 * (Contact with transport, +sip.instance): the table's own accounting must
 * stay within the 512-byte budget per binding. */
TEST(sip_loc_bytes_per_binding)
{
    enum { N = 100000 };
    struct sip_loc *loc = sip_loc_new(key, N, 5);
    char user[32], contact[96], callid[48];
    const char *inst = "\"<urn:uuid:4b8e6b1e-1f23-4c2b-9a3e-2f5d0e6c7a10>\"";
    for (int i = 0; i < N; i++) {
        snprintf(user, sizeof user, "u%015d", i);
        snprintf(contact, sizeof contact, "sip:%s@203.0.113.%d:%d;transport=udp", user, i % 250,
                 1024 + i % 60000);
        snprintf(callid, sizeof callid, "%08x-%08x@192.0.2.1", i, i * 7);
        struct sip_loc_put p = mk(user, contact, callid, 1, 3600);
        p.instance = inst;
        p.ilen = strlen(inst);
        p.reg_id = 1;
        ASSERT_EQ(sip_loc_put(loc, &p, 0), 0);
    }
    ASSERT_EQ(sip_loc_count(loc), N);
    size_t per = sip_loc_bytes(loc) / N;
    fprintf(stderr, "location: %zu bytes per binding (table accounting)\n", per);
    ASSERT(per <= 512);
    sip_loc_free(loc);
}
