/*
 * sip/route.h - who an out-of-dialog request goes to: the Request-URI's
 * user (a dial code, or a SIP username from a phone's call history)
 * resolved through core/ against the caller's groups, then the callee's
 * bindings in the location table; and the identity the callee sees.
 *
 * Answers (the proxy sends them):
 *   one callee with bindings  0, the bindings in out->target (newest first)
 *   one callee, none          480 (not registered)
 *   several, no active group  485 with one Contact per candidate in
 *                             out->contacts: "<nickname>" <sip:<username>@<realm>>
 *   nobody, or a stranger     404, exactly as for a code that exists nowhere
 *   a database failure        500
 * Everything is read per request: core's answers are never cached, so a
 * ban, a kick or a deletion takes effect on the next call.
 */
#ifndef T9_SIP_ROUTE_H
#define T9_SIP_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "core/sipcred.h"
#include "core/t9.h"
#include "sip/fork.h"
#include "sip/location.h"
#include "store/db.h"

#define SIP_ROUTE_CONTACTS_MAX 2048

struct sip_route_target {
    char contact[SIP_LOC_CONTACT_MAX + 1];
    char path[SIP_LOC_PATH_MAX + 1];   /* the binding's Path values, "" when none */
    struct sip_flow flow;
};

struct sip_route_result {
    char callee[CORE_SIP_USER_SIZE];   /* the callee's SIP username (status 0, 480) */
    int64_t callee_uid;
    size_t ntarget;
    struct sip_route_target target[SIP_FORK_MAX];
    char contacts[SIP_ROUTE_CONTACTS_MAX]; /* 485: Contact header lines with CRLF */
};

/* Resolves the Request-URI user ruser (rlen bytes, %-escapes already
 * decoded) for the authenticated caller caller_uid at time now (seconds,
 * the location table's clock). Returns 0 (targets found) or the status to
 * answer (404, 480, 485, 500). */
int sip_route_resolve(struct store *st, const struct sip_loc *loc, const char *realm,
                      int64_t caller_uid, const char *ruser, size_t rlen, int64_t now,
                      struct sip_route_result *out);

/* The identity the callee's phone shows (RFC 3325): P-Asserted-Identity
 * value "\"<nickname>\" <sip:<dial code>@<realm>>" into pai, and the From
 * display name "<nickname> (<dial code>)" into display. 0, -ENOENT, -EIO,
 * -ENOSPC. */
int sip_route_identity(struct store *st, int64_t caller_uid, const char *realm, char *pai,
                       size_t pai_cap, char *display, size_t display_cap);

#endif
