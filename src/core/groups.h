/*
 * core/groups.h - groups, memberships, bans, and the group event log.
 *
 * Every group has exactly one owner (role 'owner' in memberships). The owner
 * runs the group: rename, member cap, invites (core/invites.h), kick, ban,
 * unban, transfer, delete. Actions taken with actor CORE_ACTOR_ADMIN (the
 * admin CLI) skip the owner check and log no actor. An actor who is not a
 * member is told -ENOENT: outsiders cannot probe which groups exist.
 *
 * Dial codes are unique inside a group: a join is refused when the
 * newcomer's dial code is taken in the group (CORE_E_COLLISION), and so is
 * a nickname change (core/accounts.h).
 *
 * Each change and its event-log entry are one transaction. The log records
 * only the events the contract names (join, leave, kick, ban, unban,
 * invite_create/redeem/revoke/resend, nickname_change, ownership_transfer,
 * member_cap_change), each with the day, actor and target. Creating a group
 * logs the owner's 'join'; renaming logs nothing. Entries name only current
 * members: once someone leaves, is kicked or is banned, every entry of that
 * group naming them names nobody ("a former member"); the ban itself stays
 * in the ban list so that a rejoin is refused. Join days (and log days) are
 * midnight UTC: nothing stored says more than the day.
 */
#ifndef T9_CORE_GROUPS_H
#define T9_CORE_GROUPS_H

#include <stdint.h>

#include "core/core.h"
#include "core/t9.h"
#include "store/db.h"

#define CORE_GROUP_NAME_MAX 64 /* bytes of UTF-8 */
#define CORE_GROUP_NAME_SIZE (CORE_GROUP_NAME_MAX + 1)
#define CORE_SLUG_MAX 40
#define CORE_SLUG_SIZE (CORE_SLUG_MAX + 1)
#define CORE_GROUP_DEFAULT_CAP 50
#define CORE_GROUP_MAX_CAP 1000

/* Roles are positive, so a role returned where errors are negative is
 * never mistaken for "0: done". */
#define CORE_ROLE_MEMBER 1
#define CORE_ROLE_OWNER 2

struct core_group {
    int64_t id;
    char name[CORE_GROUP_NAME_SIZE];
    char slug[CORE_SLUG_SIZE];
    int member_cap;
    int members;
    int64_t owner_id;
};

struct core_member {
    int64_t user_id;
    char nickname[CORE_NICK_SIZE];
    char dial_code[CORE_NICK_SIZE];
    int role;       /* CORE_ROLE_OWNER or CORE_ROLE_MEMBER */
    int64_t joined; /* 0 in ban lists */
};

struct core_event {
    int64_t id;
    int64_t group_id;
    char type[24];
    int64_t at;
    int64_t actor_id, target_id;           /* 0: the operator (admin CLI), or
                                            * someone no longer in the group:
                                            * "a former member" */
    char actor_nick[CORE_NICK_SIZE];       /* current nickname, "" when none */
    char target_nick[CORE_NICK_SIZE];
};

/* The slug for a group name: lower-case ASCII letters and digits, every
 * other run of bytes becomes one '-', at most 32 characters, "group" when
 * nothing is left. Pure. */
void core_groups_slugify(const char *name, char slug[CORE_SLUG_SIZE]);

/* Checks and trims a group name (1-64 bytes of valid UTF-8 without control,
 * bidi or invisible characters, outer white space removed, in NFC:
 * core/text.h) into out. 0 or CORE_E_BAD_NAME. Pure. */
int core_groups_check_name(const char *name, char out[CORE_GROUP_NAME_SIZE]);

/* Creates a group owned by owner, with member cap cap (0: the default). The
 * slug comes from the name; when taken, -2, -3, ... is appended. Writes the
 * id and slug. 0, -ENOENT (no owner), CORE_E_BAD_NAME, CORE_E_BAD_CAP,
 * CORE_E_SLUG_TAKEN. */
int core_groups_create(struct store *st, int64_t owner, const char *name, int cap,
                       int64_t now, int64_t *gid, char slug[CORE_SLUG_SIZE]);

/* Reads a group. 0 or -ENOENT. */
int core_groups_get(struct store *st, int64_t gid, struct core_group *g);

/* Finds a group by slug. 0 with *gid, -ENOENT. */
int core_groups_find_slug(struct store *st, const char *slug, int64_t *gid);

/* The role of uid in gid: CORE_ROLE_OWNER, CORE_ROLE_MEMBER, or
 * CORE_E_NOT_MEMBER (also for an unknown group). */
int core_groups_role(struct store *st, int64_t gid, int64_t uid);

/* Renames (owner). The slug does not change. 0, -ENOENT, CORE_E_NOT_OWNER,
 * CORE_E_BAD_NAME. */
int core_groups_rename(struct store *st, int64_t gid, int64_t actor, const char *name);

/* Sets the member cap (owner), logging member_cap_change. 0 (also when
 * unchanged; nothing logged), -ENOENT, CORE_E_NOT_OWNER, CORE_E_BAD_CAP,
 * CORE_E_CAP_TOO_LOW (below the current member count). */
int core_groups_set_cap(struct store *st, int64_t gid, int64_t actor, int cap, int64_t now);

/* Deletes the group (owner) with its memberships, bans, invites and event
 * log, then checkpoints the WAL. 0, -ENOENT, CORE_E_NOT_OWNER. */
int core_groups_delete(struct store *st, int64_t gid, int64_t actor);

/* Adds uid to the group without an invite (admin CLI), logging a join with
 * no actor. 0, -ENOENT (group or user), CORE_E_BANNED,
 * CORE_E_ALREADY_MEMBER, CORE_E_FULL, CORE_E_COLLISION. */
int core_groups_add_member(struct store *st, int64_t gid, int64_t uid, int64_t now);

/* uid leaves the group. 0, CORE_E_NOT_MEMBER, CORE_E_IS_OWNER (transfer
 * ownership or delete the group first). */
int core_groups_leave(struct store *st, int64_t gid, int64_t uid, int64_t now);

/* Removes a member (owner). They may come back with a new invite.
 * 0, -ENOENT, CORE_E_NOT_OWNER, CORE_E_SELF, CORE_E_NOT_MEMBER,
 * CORE_E_IS_OWNER. */
int core_groups_kick(struct store *st, int64_t gid, int64_t actor, int64_t target,
                     int64_t now);

/* Bans an account (owner): removed if a member, and refused every join
 * until unbanned. 0 (also when already banned; nothing logged), -ENOENT
 * (group or target account), CORE_E_NOT_OWNER, CORE_E_SELF,
 * CORE_E_IS_OWNER. */
int core_groups_ban(struct store *st, int64_t gid, int64_t actor, int64_t target,
                    int64_t now);

/* Lifts a ban (owner). 0, -ENOENT, CORE_E_NOT_OWNER, CORE_E_NOT_BANNED. */
int core_groups_unban(struct store *st, int64_t gid, int64_t actor, int64_t target,
                      int64_t now);

/* Makes member new_owner the owner (owner or admin); the old owner stays
 * as a member. 0, -ENOENT, CORE_E_NOT_OWNER, CORE_E_SELF (already owner),
 * CORE_E_NOT_MEMBER. */
int core_groups_transfer(struct store *st, int64_t gid, int64_t actor, int64_t new_owner,
                         int64_t now);

/* Listings. Each calls fn per row; a non-zero return from fn stops the
 * listing and is returned. fn may call other core functions. */
typedef int (*core_group_fn)(void *arg, const struct core_group *g);
typedef int (*core_member_fn)(void *arg, const struct core_member *m);
typedef int (*core_event_fn)(void *arg, const struct core_event *e);

/* Every group, by slug (admin). */
int core_groups_list(struct store *st, core_group_fn fn, void *arg);
/* The groups uid belongs to, by name. */
int core_groups_list_user(struct store *st, int64_t uid, core_group_fn fn, void *arg);
/* The members of gid: owner first, then by nickname. */
int core_groups_members(struct store *st, int64_t gid, core_member_fn fn, void *arg);
/* The accounts banned from gid, by nickname. */
int core_groups_bans(struct store *st, int64_t gid, core_member_fn fn, void *arg);
/* The event log of gid, oldest first. */
int core_groups_events(struct store *st, int64_t gid, core_event_fn fn, void *arg);

#endif
