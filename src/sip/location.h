/*
 * sip/location.h - the registrar's location table: which contacts each
 * address-of-record is reachable at, and over which flow.
 *
 * In memory only, by design: it is never written to the database, a file
 * or a log, and it is gone on restart (phones re-register). It is the seam
 * DESIGN.md keeps for several SIP edges (put, get, remove, expire): nothing
 * outside this file knows how bindings are stored.
 *
 * Records are found by SipHash (base/siphash.h) of the username under a
 * per-process key, so hostile usernames cannot pile into one bucket. Each
 * binding is one allocation holding its strings; the table grows its
 * bucket array by doubling. Expired bindings are never returned and are
 * freed by an incremental sweep (sip_loc_expire) that visits a bounded
 * number of buckets per call.
 *
 * Pure code: no libuv, no globals; time is passed in (seconds, any
 * monotonic origin).
 */
#ifndef T9_SIP_LOCATION_H
#define T9_SIP_LOCATION_H

#include <stddef.h>
#include <stdint.h>

enum sip_transport { SIP_TR_UDP = 1, SIP_TR_TCP = 2, SIP_TR_TLS = 3 };

/* How a phone is reached back (RFC 5626 flow): the transport, the source
 * address and port the REGISTER came from, the local listener it came in
 * on, and for streams the connection's id (which the transport never
 * reuses while the process runs). */
struct sip_flow {
    uint8_t ip[16];      /* IPv4 in the first 4 bytes when family is 4 */
    uint16_t port;       /* host order */
    uint8_t family;      /* 4 or 6 */
    uint8_t transport;   /* enum sip_transport */
    uint16_t listener;   /* index of the local socket */
    uint32_t conn_id;    /* stream connection, 0 for UDP */
};

struct sip_loc;

/* Limits: total bindings in the table, bindings per user (the oldest is
 * replaced beyond it), and the longest strings accepted. */
#define SIP_LOC_USER_MAX 64
#define SIP_LOC_CONTACT_MAX 512
#define SIP_LOC_INSTANCE_MAX 128
#define SIP_LOC_PATH_MAX 1024

/* A new empty table under a 16-byte key (random per process in the server;
 * fixed in tests). Returns NULL on OOM or a zero limit. */
struct sip_loc *sip_loc_new(const uint8_t key[16], size_t max_bindings, unsigned max_per_user);
/* Frees every binding and the table. NULL is ignored. */
void sip_loc_free(struct sip_loc *loc);

/* One contact of a REGISTER. Strings are slices (not terminated). */
struct sip_loc_put {
    const char *user; size_t ulen;         /* the AOR's user part */
    const char *contact; size_t clen;      /* the Contact URI, without <> */
    const char *instance; size_t ilen;     /* +sip.instance value, or ilen 0 */
    uint32_t reg_id;                       /* RFC 5626 reg-id, 0 for none */
    const char *path; size_t plen;         /* the Path header values, or plen 0 */
    const char *callid; size_t cidlen;
    uint32_t cseq;
    uint32_t expires;                      /* seconds from now, > 0 */
    uint16_t q;                            /* q * 1000, 1000 when absent */
    struct sip_flow flow;
};

/*
 * Adds or refreshes a binding (RFC 3261 10.3 step 7, RFC 5626 6): the same
 * +sip.instance and reg-id, or without an instance the same contact URI,
 * names the same binding, which is replaced (flow, contact, Path, expiry).
 * When the user already has max_per_user bindings, the oldest is replaced.
 * Returns 0; -EALREADY when the binding exists with the same Call-ID and a
 * higher CSeq (an old request arriving late: RFC 3261 10.3 says it fails;
 * the same CSeq is a retransmission over UDP and simply applies again);
 * -ENOSPC when the table is full;
 * -EINVAL for an empty user or contact or a string over its limit;
 * -ENOMEM.
 */
int sip_loc_put(struct sip_loc *loc, const struct sip_loc_put *b, int64_t now);

/* Removes the binding with this contact URI (or this instance/reg-id) of
 * the user (Expires: 0), with the same Call-ID/CSeq rule as put. Returns 0
 * (also when there was none) or -EALREADY. */
int sip_loc_remove(struct sip_loc *loc, const struct sip_loc_put *b);

/* Removes every binding of the user (Contact: *). A binding whose Call-ID
 * matches and whose CSeq is not lower is kept, per RFC 3261 10.3 step 6;
 * returns the number removed. */
int sip_loc_remove_all(struct sip_loc *loc, const char *user, size_t ulen,
                       const char *callid, size_t cidlen, uint32_t cseq);

/* What sip_loc_each() hands out: slices valid during the callback only. */
struct sip_loc_binding {
    const char *contact; size_t clen;
    const char *instance; size_t ilen;
    const char *path; size_t plen;
    uint32_t reg_id;
    uint32_t expires_in;  /* seconds left, >= 1 */
    uint16_t q;
    const struct sip_flow *flow;
};

/* Calls fn for each live binding of the user, newest first; fn returns
 * nonzero to stop. Returns the number visited. */
int sip_loc_each(const struct sip_loc *loc, const char *user, size_t ulen, int64_t now,
                 int (*fn)(void *ctx, const struct sip_loc_binding *b), void *ctx);

/* Frees expired bindings in at most `buckets` buckets, continuing where the
 * last call stopped (call it every second with nbuckets/N to visit the
 * whole table every N seconds). Returns the number freed. */
size_t sip_loc_expire(struct sip_loc *loc, int64_t now, size_t buckets);

/* Live bindings counted (expired ones not yet swept included), users with
 * at least one binding, and the heap bytes the table holds (bindings,
 * records and the bucket array, with the allocator's per-block overhead
 * estimated at 16 bytes). */
size_t sip_loc_count(const struct sip_loc *loc);
size_t sip_loc_users(const struct sip_loc *loc);
size_t sip_loc_bytes(const struct sip_loc *loc);
/* Buckets in the table now (it doubles as users are added). */
size_t sip_loc_buckets(const struct sip_loc *loc);

#endif
