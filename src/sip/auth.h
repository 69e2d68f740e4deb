/*
 * sip/auth.h - digest authentication of SIP requests against the stored
 * HA1, and the challenges that go with it (RFC 3261 22.1-22.4).
 *
 * What an attacker can tell apart is the point of this module. An unknown
 * username, a deleted account and a wrong password all get the same
 * challenge and the same answer to a bad response, after the same work:
 * an unknown user's response is computed against a per-process random
 * dummy HA1, never skipped. Failures are counted by the guard
 * (sip/guard.h) per address and username; stale nonces and replays are not
 * failures (the phone's password was right).
 *
 * Pure apart from the HA1 lookup callback (the engine passes
 * core_sip_lookup_ha1 through it).
 */
#ifndef T9_SIP_AUTH_H
#define T9_SIP_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "sip/digest.h"
#include "sip/guard.h"
#include "sip/location.h"
#include "sip/msg.h"

#define SIP_AUTH_USER_MAX 64

struct sip_authn {
    char realm[256];
    size_t realm_len;
    uint8_t nonce_secret[SIP_NONCE_SECRET_LEN];
    uint8_t dummy_ha1[16];
    uint8_t txn_key[16];               /* hashes transaction ids for sip_nc */
    uint32_t nonce_lifetime;           /* seconds */
    uint32_t serial;                   /* of the last nonce made */
    struct sip_nc *nc;                 /* nonce counts seen */
    struct sip_guard *guard;
    /* 0 with ha1, -ENOENT for no such user, another negative errno for a
     * lookup failure. */
    int (*lookup_ha1)(void *ctx, const char *user, uint8_t ha1[16]);
    void *lookup_ctx;
};

enum sip_auth_rc {
    SIP_AUTH_OK = 0,       /* r->user is the authenticated username */
    SIP_AUTH_CHALLENGE,    /* no credentials for our realm, or a nonce not ours: 401/407 */
    SIP_AUTH_STALE,        /* right password, nonce too old or count reused: stale=true */
    SIP_AUTH_FAILED,       /* wrong, malformed or unknown: counted, fresh challenge */
    SIP_AUTH_REFUSED,      /* the guard refuses this source now: 503 + Retry-After */
    SIP_AUTH_ERROR,        /* the lookup failed (database): 500 */
};

struct sip_auth_result {
    enum sip_auth_rc rc;
    int slow;                      /* the guard asks to delay the answer */
    uint32_t retry_after;          /* for SIP_AUTH_REFUSED */
    char user[SIP_AUTH_USER_MAX + 1];
};

/* Sets up a verifier: random nonce secret and dummy HA1, realm copied.
 * nc and guard are owned by the caller. Returns 0, -EINVAL (realm empty or
 * longer than 255 bytes), or the error of the random source. */
int sip_authn_init(struct sip_authn *a, const char *realm, uint32_t nonce_lifetime,
                   struct sip_nc *nc, struct sip_guard *guard,
                   int (*lookup_ha1)(void *ctx, const char *user, uint8_t ha1[16]), void *ctx);
/* Wipes the secrets. */
void sip_authn_wipe(struct sip_authn *a);

/* Checks the request's Authorization (proxy 0) or Proxy-Authorization
 * (proxy 1) credentials for our realm, from source src at time now
 * (seconds). Always fills *r; returns r->rc. */
enum sip_auth_rc sip_auth_check(struct sip_authn *a, const struct sip_msg *m, int proxy,
                                const struct sip_flow *src, uint32_t now,
                                struct sip_auth_result *r);

/* Writes the challenge header line (with CRLF) into out: WWW-Authenticate
 * (proxy 0) or Proxy-Authenticate, realm, a fresh nonce for src,
 * qop="auth", algorithm=MD5, and stale=true when asked. Returns its length
 * or -ENOSPC. */
long sip_auth_challenge(struct sip_authn *a, int proxy, int stale,
                        const struct sip_flow *src, uint32_t now, char *out, size_t cap);

#endif
