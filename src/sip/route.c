/*
 * sip/route.c - see route.h.
 */
#include "sip/route.h"

#include "core/errors.h"
#include "core/resolve.h"
#include "core/sip_support.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct collect {
    struct sip_route_result *out;
};

static int add_target(void *arg, const struct sip_loc_binding *b)
{
    struct sip_route_result *r = ((struct collect *)arg)->out;
    if (r->ntarget >= SIP_FORK_MAX)
        return 1;
    if (b->clen > SIP_LOC_CONTACT_MAX || b->plen > SIP_LOC_PATH_MAX)
        return 0;
    struct sip_route_target *t = &r->target[r->ntarget++];
    memcpy(t->contact, b->contact, b->clen);
    t->contact[b->clen] = '\0';
    memcpy(t->path, b->path, b->plen);
    t->path[b->plen] = '\0';
    t->flow = *b->flow;
    return 0;
}

int sip_route_resolve(struct store *st, const struct sip_loc *loc, const char *realm,
                      int64_t caller_uid, const char *ruser, size_t rlen, int64_t now,
                      struct sip_route_result *out)
{
    memset(out, 0, offsetof(struct sip_route_result, target));
    out->contacts[0] = '\0';
    struct core_callee c;
    int rc;
    if (core_t9_is_dial_code(ruser, rlen)) {
        rc = core_resolve_dial(st, caller_uid, ruser, rlen, &c);
    } else {
        char u[CORE_SIP_USER_SIZE];
        if (rlen == 0 || rlen >= sizeof u)
            return 404;
        memcpy(u, ruser, rlen);
        u[rlen] = '\0';
        rc = core_resolve_sip_username(st, caller_uid, u, &c);
    }
    if (rc == -ENOENT)
        return 404;
    if (rc == CORE_E_AMBIGUOUS) {
        struct core_sip_candidate cand[SIP_FORK_MAX];
        int n = core_sip_dial_candidates(st, caller_uid, ruser, rlen, cand, SIP_FORK_MAX);
        if (n < 0)
            return 500;
        size_t len = 0;
        for (int i = 0; i < n && i < SIP_FORK_MAX; i++) {
            /* Nicknames are letters only (core validates them): no quoting
             * trouble; usernames are [a-z0-9]. */
            int k = snprintf(out->contacts + len, sizeof out->contacts - len,
                             "Contact: \"%s\" <sip:%s@%s>\r\n", cand[i].nickname,
                             cand[i].sip_username, realm);
            if (k < 0 || (size_t)k >= sizeof out->contacts - len)
                break;
            len += (size_t)k;
        }
        return 485;
    }
    if (rc < 0)
        return 500;
    snprintf(out->callee, sizeof out->callee, "%s", c.sip_username);
    out->callee_uid = c.user_id;
    struct collect col = { out };
    sip_loc_each(loc, c.sip_username, strlen(c.sip_username), now, add_target, &col);
    return out->ntarget ? 0 : 480;
}

int sip_route_identity(struct store *st, int64_t caller_uid, const char *realm, char *pai,
                       size_t pai_cap, char *display, size_t display_cap)
{
    char nick[CORE_NICK_SIZE], code[CORE_NICK_SIZE];
    int rc = core_sip_identity(st, caller_uid, nick, code);
    if (rc < 0)
        return rc;
    int a = snprintf(pai, pai_cap, "\"%s\" <sip:%s@%s>", nick, code, realm);
    int b = snprintf(display, display_cap, "%s (%s)", nick, code);
    if (a < 0 || (size_t)a >= pai_cap || b < 0 || (size_t)b >= display_cap)
        return -ENOSPC;
    return 0;
}
