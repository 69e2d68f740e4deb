/*
 * core/invites.h - invitations to a group.
 *
 * The owner makes an invite: a random token, sent once (in the invite URL)
 * and stored only as its SHA-256. An invite is either open (up to max_uses
 * redemptions by anyone with the link) or addressed to one email (single
 * use, redeemable only by the account with that email). An addressed
 * invite forgets the address once it is used or revoked. Invites expire
 * CORE_INVITE_TTL after they are made or last resent, and their row goes
 * then: at the first lookup or redemption that sees it expired (answered
 * CORE_E_EXPIRED once, -ENOENT after), or at the next purge
 * (core/maint.h).
 *
 * Redemption refuses, each with its own code, in this order: unknown token
 * (-ENOENT), CORE_E_REVOKED, CORE_E_EXPIRED, CORE_E_USED_UP,
 * CORE_E_WRONG_EMAIL, CORE_E_BANNED, CORE_E_ALREADY_MEMBER, CORE_E_FULL,
 * CORE_E_COLLISION. The checks, the use count and the membership are one
 * BEGIN IMMEDIATE transaction, so two redemptions racing for the last seat
 * (or the last use) cannot both win.
 */
#ifndef T9_CORE_INVITES_H
#define T9_CORE_INVITES_H

#include <stdint.h>

#include "core/accounts.h"
#include "core/core.h"
#include "store/db.h"

#define CORE_INVITE_TTL (7 * 86400)
#define CORE_INVITE_MAX_USES 1000

struct core_invite {
    int64_t id;
    int64_t group_id;
    char email[CORE_EMAIL_SIZE]; /* "" for an open invite */
    int uses, max_uses;
    int64_t expires;
    int revoked;
};

/* Makes an invite to gid (owner or admin). email NULL or "" for an open
 * invite with max_uses uses (1..CORE_INVITE_MAX_USES); an addressed invite
 * (email normalised) has exactly one use, and max_uses must be 0 or 1.
 * Writes the id and the token for the URL; logs invite_create.
 * 0, -ENOENT, CORE_E_NOT_OWNER, CORE_E_BAD_EMAIL, -EINVAL (max_uses). */
int core_invites_create(struct store *st, int64_t gid, int64_t actor, const char *email,
                        int max_uses, int64_t now, int64_t *id, char token[CORE_TOKEN_SIZE]);

/* The invites of gid (owner or admin), newest first, including revoked and
 * expired ones not yet purged. fn as in core/groups.h. 0, -ENOENT,
 * CORE_E_NOT_OWNER, or fn's non-zero return. */
typedef int (*core_invite_fn)(void *arg, const struct core_invite *inv);
int core_invites_list(struct store *st, int64_t gid, int64_t actor, core_invite_fn fn,
                      void *arg);

/* Revokes invite id (owner of its group or admin); logs invite_revoke.
 * 0 (also when already revoked; nothing logged), -ENOENT, CORE_E_NOT_OWNER. */
int core_invites_revoke(struct store *st, int64_t actor, int64_t id, int64_t now);

/* Resends invite id (owner or admin): a new token replaces the old one
 * (which stops working, since only hashes are kept) and the expiry restarts.
 * Writes the new token and the addressed email ("" for an open invite) for
 * the caller to send; logs invite_resend. 0, -ENOENT, CORE_E_NOT_OWNER,
 * CORE_E_REVOKED, CORE_E_USED_UP. */
int core_invites_resend(struct store *st, int64_t actor, int64_t id, int64_t now,
                        char token[CORE_TOKEN_SIZE], char email[CORE_EMAIL_SIZE]);

/* What a token invites to, for the page shown before redeeming: 0 with inv,
 * or the token-only refusals (-ENOENT, CORE_E_REVOKED, CORE_E_EXPIRED,
 * CORE_E_USED_UP). */
int core_invites_lookup(struct store *st, const char *token, int64_t now,
                        struct core_invite *inv);

/* Redeems a token for account uid: uid joins the group (logs join and
 * invite_redeem). 0 with *gid, or a refusal in the order listed above. */
int core_invites_redeem(struct store *st, const char *token, int64_t uid, int64_t now,
                        int64_t *gid);

#endif
