/*
 * sip/auth.c - digest verification and challenges. See auth.h.
 */
#include "sip/auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/siphash.h"
#include "crypto/hash.h"
#include "crypto/random.h"

int sip_authn_init(struct sip_authn *a, const char *realm, uint32_t nonce_lifetime,
                   struct sip_nc *nc, struct sip_guard *guard,
                   int (*lookup_ha1)(void *ctx, const char *user, uint8_t ha1[16]), void *ctx)
{
    memset(a, 0, sizeof *a);
    size_t n = realm ? strlen(realm) : 0;
    if (n == 0 || n >= sizeof a->realm || strpbrk(realm, "\"\\\r\n"))
        return -EINVAL;
    memcpy(a->realm, realm, n);
    a->realm_len = n;
    int rc = crypto_random_bytes(a->nonce_secret, sizeof a->nonce_secret);
    if (rc == 0)
        rc = crypto_random_bytes(a->dummy_ha1, sizeof a->dummy_ha1);
    if (rc == 0)
        rc = crypto_random_bytes(a->txn_key, sizeof a->txn_key);
    a->nonce_lifetime = nonce_lifetime;
    a->nc = nc;
    a->guard = guard;
    a->lookup_ha1 = lookup_ha1;
    a->lookup_ctx = ctx;
    return rc;
}

void sip_authn_wipe(struct sip_authn *a)
{
    crypto_wipe(a->nonce_secret, sizeof a->nonce_secret);
    crypto_wipe(a->dummy_ha1, sizeof a->dummy_ha1);
    crypto_wipe(a->txn_key, sizeof a->txn_key);
}

/* The request's transaction: top Via branch, Call-ID and CSeq number. */
static uint32_t txn_of(const struct sip_authn *a, const struct sip_msg *m)
{
    uint8_t buf[400];
    size_t n = 0;
    struct sip_str parts[2] = { m->nvia ? m->via[0].branch : (struct sip_str){ 0 }, m->call_id };
    for (int i = 0; i < 2; i++) {
        size_t k = parts[i].n < 190 ? parts[i].n : 190;
        if (k)
            memcpy(buf + n, parts[i].p, k);
        n += k;
        buf[n++] = 0;
    }
    memcpy(buf + n, &m->cseq, sizeof m->cseq);
    n += sizeof m->cseq;
    return (uint32_t)siphash24(a->txn_key, buf, n);
}

static size_t flow_addr(const struct sip_flow *f)
{
    return f->family == 6 ? 16 : 4;
}

/* What the guard counts failures by: the IPv4 address, or the IPv6 /64 (one
 * subscriber's prefix: rotating through it must not buy fresh guesses). */
static size_t guard_addr(const struct sip_flow *f)
{
    return f->family == 6 ? 8 : 4;
}

/* The credentials for our realm among the request's headers of the kind. */
static const struct sip_auth *find_creds(const struct sip_authn *a, const struct sip_msg *m,
                                         int proxy)
{
    for (size_t i = 0; i < m->nauth; i++) {
        const struct sip_auth *c = &m->auth[i];
        if (c->proxy != proxy || !sip_str_ieq(c->scheme, "Digest"))
            continue;
        if (c->realm.n == a->realm_len && memcmp(c->realm.p, a->realm, a->realm_len) == 0)
            return c;
    }
    return NULL;
}

static int is_hex32(struct sip_str s)
{
    if (s.n != 32)
        return 0;
    for (size_t i = 0; i < 32; i++) {
        char c = s.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

static int user_ok(struct sip_str u)
{
    if (u.n == 0 || u.n > SIP_AUTH_USER_MAX)
        return 0;
    for (size_t i = 0; i < u.n; i++)
        if ((unsigned char)u.p[i] < 0x21 || u.p[i] == '"' || u.p[i] == '\\' ||
            (unsigned char)u.p[i] >= 0x7f)
            return 0;
    return 1;
}

enum sip_auth_rc sip_auth_check(struct sip_authn *a, const struct sip_msg *m, int proxy,
                                const struct sip_flow *src, uint32_t now,
                                struct sip_auth_result *r)
{
    memset(r, 0, sizeof *r);
    const struct sip_auth *c = find_creds(a, m, proxy);
    if (!c || !c->nonce.p) {
        r->rc = SIP_AUTH_CHALLENGE;
        return r->rc;
    }
    /* A nonce that is not ours cannot carry a guess worth counting (it can
     * never verify); it is a phone from before a restart: challenge. */
    uint32_t serial = 0;
    int nrc = sip_nonce_check(a->nonce_secret, now, a->nonce_lifetime, src->ip, flow_addr(src),
                              c->nonce.p, c->nonce.n, &serial);
    if (nrc == -EINVAL) {
        r->rc = SIP_AUTH_CHALLENGE;
        return r->rc;
    }
    /* From here on the answer may depend on the password only: every path
     * below does the same work for known and unknown users. */
    struct sip_str u = c->username;
    int uok = user_ok(u);
    if (uok) {
        memcpy(r->user, u.p, u.n);
        r->user[u.n] = '\0';
    }
    const void *gk = uok ? (const void *)u.p : "";
    size_t gl = uok ? u.n : 0;
    enum sip_guard_verdict v = sip_guard_check(a->guard, src->ip, guard_addr(src), gk, gl, now,
                                               &r->retry_after);
    if (v == SIP_GUARD_REFUSE) {
        r->rc = SIP_AUTH_REFUSED;
        return r->rc;
    }
    r->slow = v == SIP_GUARD_SLOW;

    uint8_t ha1[16];
    int known = 0, lrc = uok ? a->lookup_ha1(a->lookup_ctx, r->user, ha1) : -ENOENT;
    if (lrc == 0)
        known = 1;
    else if (lrc != -ENOENT) {
        r->rc = SIP_AUTH_ERROR;
        return r->rc;
    }
    if (!known)
        memcpy(ha1, a->dummy_ha1, 16);

    uint32_t nc = 0;
    int wellformed = uok && c->uri.p && c->cnonce.p && c->qop.p && c->nc.p &&
                     sip_str_ieq(c->qop, "auth") &&
                     (!c->algorithm.p || sip_str_ieq(c->algorithm, "MD5")) &&
                     sip_digest_nc(c->nc.p, c->nc.n, &nc) == 0 && nc > 0 &&
                     is_hex32(c->response) && c->uri.n > 0;
    /* The uri parameter is not compared with the Request-URI (RFC 2617
     * 3.2.2.5 says SHOULD): sipp, for one, puts the server's address there.
     * The response still covers it, and a captured response cannot be used
     * again anyway: its nonce is bound to the address and its count to
     * the nonce. */
    struct sip_str none = { "", 0 };
    struct sip_digest_in in = {
        m->method.p, m->method.n,
        c->uri.p ? c->uri.p : none.p, c->uri.n,
        c->nonce.p, c->nonce.n,
        c->nc.p ? c->nc.p : none.p, c->nc.n,
        c->cnonce.p ? c->cnonce.p : none.p, c->cnonce.n,
        c->qop.p ? c->qop.p : none.p, c->qop.n,
    };
    char want[33], got[33] = { 0 };
    sip_digest_md5(ha1, &in, want);
    crypto_wipe(ha1, sizeof ha1);
    if (c->response.n == 32)
        for (size_t i = 0; i < 32; i++) {
            char ch = c->response.p[i];
            got[i] = (char)(ch >= 'A' && ch <= 'F' ? ch + 32 : ch);
        }
    int match = crypto_ct_equal(want, got, 32);
    if (!(match & known & wellformed)) {
        sip_guard_fail(a->guard, src->ip, guard_addr(src), gk, gl, now);
        r->rc = SIP_AUTH_FAILED;
        return r->rc;
    }
    if (nrc == -ESTALE) {
        r->rc = SIP_AUTH_STALE;
        return r->rc;
    }
    if (sip_nc_use(a->nc, c->nonce.p, c->nonce.n, serial, nc, txn_of(a, m)) < 0) {
        r->rc = SIP_AUTH_STALE; /* a replayed count, or one we can no longer tell */
        return r->rc;
    }
    r->rc = SIP_AUTH_OK;
    return r->rc;
}

long sip_auth_challenge(struct sip_authn *a, int proxy, int stale,
                        const struct sip_flow *src, uint32_t now, char *out, size_t cap)
{
    char nonce[SIP_NONCE_LEN + 1];
    sip_nonce_make(a->nonce_secret, now, ++a->serial, src->ip, flow_addr(src), nonce);
    nonce[SIP_NONCE_LEN] = '\0';
    int n = snprintf(out, cap,
                     "%s: Digest realm=\"%s\", nonce=\"%s\", qop=\"auth\", algorithm=MD5%s\r\n",
                     proxy ? "Proxy-Authenticate" : "WWW-Authenticate", a->realm, nonce,
                     stale ? ", stale=true" : "");
    if (n < 0 || (size_t)n >= cap)
        return -ENOSPC;
    return n;
}
