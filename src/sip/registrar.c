/*
 * sip/registrar.c - REGISTER. See registrar.h.
 */
#include "sip/registrar.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Space for the 200's Contact and Path lines. */
#define LIST_CAP 6144

static void challenge(struct sip_handler *h, const struct sip_msg *m, const struct sip_flow *src,
                      uint32_t now, int stale, struct sip_answer *ans)
{
    char hdr[512];
    if (sip_auth_challenge(&h->auth, 0, stale, src, now, hdr, sizeof hdr) < 0)
        hdr[0] = '\0';
    h->st.auth_challenge++;
    sip__answer(h, m, src, 401, NULL, hdr, ans);
}

/* Authenticates; 1 when r->user may register, else the answer is made. */
static int authenticate(struct sip_handler *h, const struct sip_msg *m,
                        const struct sip_flow *src, uint32_t now, struct sip_auth_result *r,
                        struct sip_answer *ans)
{
    enum sip_auth_rc rc = sip_auth_check(&h->auth, m, 0, src, now, r);
    if (r->slow) {
        ans->delay = 1;
        h->st.guard_slowed++;
    }
    switch (rc) {
    case SIP_AUTH_OK:
        h->st.auth_ok++;
        ans->authenticated = 1;
        return 1;
    case SIP_AUTH_CHALLENGE:
        challenge(h, m, src, now, 0, ans);
        return 0;
    case SIP_AUTH_STALE:
        h->st.auth_stale++;
        challenge(h, m, src, now, 1, ans);
        return 0;
    case SIP_AUTH_FAILED:
        h->st.auth_failed++;
        challenge(h, m, src, now, 0, ans);
        return 0;
    case SIP_AUTH_REFUSED: {
        char extra[64];
        h->st.guard_refused++;
        snprintf(extra, sizeof extra, "Retry-After: %u\r\n", (unsigned)r->retry_after);
        sip__answer(h, m, src, 503, NULL, extra, ans);
        return 0;
    }
    case SIP_AUTH_ERROR:
    default:
        sip__answer(h, m, src, 500, NULL, NULL, ans);
        return 0;
    }
}

struct list_ctx {
    char *buf;
    size_t len, cap;
    int full;
};

static int add_contact(void *arg, const struct sip_loc_binding *b)
{
    struct list_ctx *c = arg;
    char inst[SIP_LOC_INSTANCE_MAX + 48] = "";
    if (b->ilen)
        snprintf(inst, sizeof inst, ";+sip.instance=\"<%.*s>\"", (int)b->ilen, b->instance);
    char rid[24] = "";
    if (b->ilen && b->reg_id)
        snprintf(rid, sizeof rid, ";reg-id=%u", (unsigned)b->reg_id);
    int n = snprintf(c->buf + c->len, c->cap - c->len, "Contact: <%.*s>;expires=%u%s%s\r\n",
                     (int)b->clen, b->contact, (unsigned)b->expires_in, inst, rid);
    if (n < 0 || (size_t)n >= c->cap - c->len) {
        c->full = 1;
        c->buf[c->len] = '\0';
        return 1;
    }
    c->len += (size_t)n;
    return 0;
}

/* The Path values as one comma-separated slice (copied into out). */
static size_t join_path(const struct sip_msg *m, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < m->npath; i++) {
        struct sip_str t = m->path[i].text;
        if (n + t.n + 2 > cap)
            return 0; /* too long to keep: refused by the caller */
        if (i) {
            out[n++] = ',';
            out[n++] = ' ';
        }
        memcpy(out + n, t.p, t.n);
        n += t.n;
    }
    return n;
}

static int user_is(struct sip_str u, const char *s)
{
    return u.p && u.n == strlen(s) && memcmp(u.p, s, u.n) == 0;
}

static void success(struct sip_handler *h, const struct sip_msg *m, const struct sip_flow *src,
                    const char *user, uint32_t now, struct sip_answer *ans)
{
    static const char sup[] = "Supported: path, outbound\r\n";
    char list[LIST_CAP];
    struct list_ctx c = { list, 0, sizeof list - 1200, 0 };
    list[0] = '\0';
    sip_loc_each(h->loc, user, strlen(user), now, add_contact, &c);
    if (m->npath && sip_msg_has_option(m, SIP_H_SUPPORTED, "path")) {
        char path[SIP_LOC_PATH_MAX];
        size_t pn = join_path(m, path, sizeof path);
        c.cap = sizeof list;
        int n = snprintf(list + c.len, c.cap - c.len, "Path: %.*s\r\n", (int)pn, path);
        if (n > 0 && (size_t)n < c.cap - c.len)
            c.len += (size_t)n;
    }
    int outbound = 0;
    for (size_t i = 0; i < m->ncontact; i++)
        outbound |= m->contact[i].reg_id > 0 && m->contact[i].instance.p != NULL;
    if (outbound && sip_msg_has_option(m, SIP_H_SUPPORTED, "outbound"))
        c.len += (size_t)snprintf(list + c.len, sizeof list - c.len, "Require: outbound\r\n");
    snprintf(list + c.len, sizeof list - c.len, "%s", sup);
    sip__answer(h, m, src, 200, NULL, list, ans);
}

void sip_registrar_handle(struct sip_handler *h, const struct sip_msg *m,
                          const struct sip_flow *src, uint32_t now, struct sip_answer *ans)
{
    struct sip_auth_result r;
    if (!authenticate(h, m, src, now, &r, ans))
        return;
    /* RFC 3261 10.3 step 3: the authenticated user registers only itself. */
    if (!user_is(m->to.uri.user, r.user)) {
        sip__answer(h, m, src, 403, NULL, NULL, ans);
        return;
    }
    const char *user = r.user;
    size_t ulen = strlen(user);
    if (m->contact_star) {
        if (m->ncontact > 0 || m->expires != 0) {
            sip__answer(h, m, src, 400, "Bad Contact: * needs Expires: 0", NULL, ans);
            return;
        }
        int n = sip_loc_remove_all(h->loc, user, ulen, m->call_id.p, m->call_id.n, m->cseq);
        h->st.bindings_removed += (uint64_t)n;
        success(h, m, src, user, now, ans);
        return;
    }
    /* Check everything before changing anything (RFC 3261 10.3 step 8:
     * a failed REGISTER changes no binding). */
    uint32_t exp[SIP_MAX_CONTACT];
    for (size_t i = 0; i < m->ncontact; i++) {
        const struct sip_contact *c = &m->contact[i];
        int64_t e = c->expires >= 0 ? c->expires
                  : m->expires >= 0 ? m->expires : (int64_t)h->lim.default_expires;
        if (e > 0 && e < h->lim.min_expires) {
            char extra[48];
            snprintf(extra, sizeof extra, "Min-Expires: %u\r\n", (unsigned)h->lim.min_expires);
            sip__answer(h, m, src, 423, NULL, extra, ans);
            return;
        }
        if (e > h->lim.max_expires)
            e = h->lim.max_expires;
        exp[i] = (uint32_t)e;
        if (c->addr.uri.text.n == 0 || c->addr.uri.text.n > SIP_LOC_CONTACT_MAX ||
            c->instance.n > SIP_LOC_INSTANCE_MAX) {
            sip__answer(h, m, src, 400, "Bad Contact", NULL, ans);
            return;
        }
    }
    char path[SIP_LOC_PATH_MAX];
    size_t plen = join_path(m, path, sizeof path);
    if (m->npath && plen == 0) {
        sip__answer(h, m, src, 400, "Path Too Long", NULL, ans);
        return;
    }
    for (size_t i = 0; i < m->ncontact; i++) {
        const struct sip_contact *c = &m->contact[i];
        struct sip_loc_put p = {
            user, ulen,
            c->addr.uri.text.p, c->addr.uri.text.n,
            c->instance.p, c->instance.n,
            c->instance.p && c->reg_id > 0 ? (uint32_t)c->reg_id : 0,
            plen ? path : NULL, plen,
            m->call_id.p, m->call_id.n,
            m->cseq,
            exp[i],
            (uint16_t)(c->q >= 0 ? c->q : 1000),
            *src,
        };
        int rc;
        if (exp[i] == 0) {
            rc = sip_loc_remove(h->loc, &p);
            if (rc == 0)
                h->st.bindings_removed++;
        } else {
            size_t before = sip_loc_count(h->loc);
            rc = sip_loc_put(h->loc, &p, now);
            if (rc == 0 && sip_loc_count(h->loc) > before)
                h->st.bindings_added++;
            else if (rc == 0)
                h->st.bindings_refreshed++;
        }
        if (rc == -EALREADY) {
            sip__answer(h, m, src, 500, "Out Of Order CSeq", NULL, ans);
            return;
        }
        if (rc == -ENOSPC || rc == -ENOMEM) {
            sip__answer(h, m, src, 503, NULL, "Retry-After: 60\r\n", ans);
            return;
        }
        if (rc < 0) {
            sip__answer(h, m, src, 400, "Bad Contact", NULL, ans);
            return;
        }
    }
    success(h, m, src, user, now, ans);
}
