/*
 * core/groups.c - see groups.h.
 */
#include "core/groups.h"
#include "core/errors.h"
#include "core/internal.h"
#include "core/text.h"
#include "base/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ pure */

void core_groups_slugify(const char *name, char slug[CORE_SLUG_SIZE])
{
    size_t o = 0;
    int dash = 0;
    for (const unsigned char *p = (const unsigned char *)name; p && *p; p++) {
        unsigned char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            dash = o > 0;
            continue;
        }
        /* A separator needs room for itself and one more character, so
         * words are never glued together and the slug never ends in '-'. */
        if (o + (dash ? 2 : 1) > 32)
            break;
        if (dash)
            slug[o++] = '-';
        dash = 0;
        slug[o++] = (char)c;
    }
    slug[o] = '\0';
    if (o == 0)
        snprintf(slug, CORE_SLUG_SIZE, "group");
}

int core_groups_check_name(const char *name, char out[CORE_GROUP_NAME_SIZE])
{
    out[0] = '\0';
    if (!name)
        return CORE_E_BAD_NAME;
    size_t n = strnlen(name, 4096);
    while (n && (*name == ' ' || *name == '\t')) {
        name++;
        n--;
    }
    while (n && (name[n - 1] == ' ' || name[n - 1] == '\t'))
        n--;
    if (n == 0 || n > CORE_GROUP_NAME_MAX)
        return CORE_E_BAD_NAME;
    /* Valid UTF-8 without control, bidi or invisible characters, in NFC,
     * so two names that look alike are the same bytes (core/text.h). */
    int len = core_text_normalise(name, n, 0, out, CORE_GROUP_NAME_SIZE);
    if (len <= 0) {
        out[0] = '\0';
        return CORE_E_BAD_NAME;
    }
    return 0;
}

/* ------------------------------------------------------------- helpers */

/* Role of uid in gid: CORE_ROLE_*, CORE_E_NOT_MEMBER, or an error. */
static int role_of(struct store *st, int64_t gid, int64_t uid)
{
    sqlite3_stmt *s = core_stmt(st,
        "SELECT role = 'owner' FROM memberships WHERE group_id = ?1 AND user_id = ?2");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, gid);
    sqlite3_bind_int64(s, 2, uid);
    int rc = core_row(st, s);
    if (rc <= 0)
        return rc == 0 ? CORE_E_NOT_MEMBER : rc;
    rc = sqlite3_column_int(s, 0) ? CORE_ROLE_OWNER : CORE_ROLE_MEMBER;
    sqlite3_reset(s);
    return rc;
}

static int group_exists(struct store *st, int64_t gid)
{
    sqlite3_stmt *s = core_stmt(st, "SELECT 1 FROM groups WHERE id = ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, gid);
    int rc = core_row(st, s);
    if (rc == 1)
        sqlite3_reset(s);
    return rc;
}

/* 0 when actor may run gid; -ENOENT for outsiders and unknown groups. */
static int require_owner(struct store *st, int64_t gid, int64_t actor)
{
    if (actor == CORE_ACTOR_ADMIN) {
        int rc = group_exists(st, gid);
        return rc == 1 ? 0 : rc == 0 ? -ENOENT : rc;
    }
    int r = role_of(st, gid, actor);
    if (r == CORE_ROLE_OWNER)
        return 0;
    if (r == CORE_ROLE_MEMBER)
        return CORE_E_NOT_OWNER;
    return r == CORE_E_NOT_MEMBER ? -ENOENT : r;
}

static int delete_membership(struct store *st, int64_t gid, int64_t uid)
{
    sqlite3_stmt *s = core_stmt(st,
        "DELETE FROM memberships WHERE group_id = ?1 AND user_id = ?2");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, gid);
    sqlite3_bind_int64(s, 2, uid);
    return core_exec(st, s);
}

/* ------------------------------------------------------------- create */

int core_groups_create(struct store *st, int64_t owner, const char *name, int cap,
                       int64_t now, int64_t *gid, char slug[CORE_SLUG_SIZE])
{
    char clean[CORE_GROUP_NAME_SIZE], base[CORE_SLUG_SIZE];
    *gid = 0;
    slug[0] = '\0';
    int rc = core_groups_check_name(name, clean);
    if (rc < 0)
        return rc;
    if (cap == 0)
        cap = CORE_GROUP_DEFAULT_CAP;
    if (cap < 1 || cap > CORE_GROUP_MAX_CAP)
        return CORE_E_BAD_CAP;
    core_groups_slugify(clean, base);
    if ((rc = store_begin(st)) < 0)
        return rc;
    sqlite3_stmt *s = core_stmt(st, "SELECT 1 FROM users WHERE id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, owner);
    rc = core_row(st, s);
    if (rc <= 0) {
        rc = rc == 0 ? -ENOENT : rc;
        goto out;
    }
    sqlite3_reset(s);
    rc = CORE_E_SLUG_TAKEN;
    for (int i = 1; i < 100; i++) {
        /* base is at most 32 characters (slugify), so this fits the
         * schema's 40 with room to spare. */
        char try[64];
        if (i == 1)
            snprintf(try, sizeof try, "%.32s", base);
        else
            snprintf(try, sizeof try, "%.32s-%d", base, i);
        s = core_stmt(st,
            "INSERT INTO groups (name, slug, member_cap) VALUES (?1, ?2, ?3) "
            "ON CONFLICT (slug) DO NOTHING");
        if (!s) {
            rc = -EIO;
            goto out;
        }
        sqlite3_bind_text(s, 1, clean, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, try, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(s, 3, cap);
        if ((rc = core_exec(st, s)) < 0)
            goto out;
        if (sqlite3_changes(store_db(st)) == 1) {
            size_t n = strnlen(try, CORE_SLUG_MAX);
            memcpy(slug, try, n);
            slug[n] = '\0';
            rc = 0;
            break;
        }
        rc = CORE_E_SLUG_TAKEN;
    }
    if (rc < 0)
        goto out;
    int64_t id = sqlite3_last_insert_rowid(store_db(st));
    s = core_stmt(st,
        "INSERT INTO memberships (group_id, user_id, role, joined) VALUES (?1, ?2, 'owner', ?3)");
    now = core_day(now);
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, owner);
    sqlite3_bind_int64(s, 3, now);
    if ((rc = core_exec(st, s)) < 0)
        goto out;
    if ((rc = core_event(st, id, "join", owner, owner, now)) < 0)
        goto out;
    *gid = id;
out:
    rc = core_txn_end(st, rc);
    if (rc < 0) {
        *gid = 0;
        slug[0] = '\0';
    }
    return rc;
}

/* -------------------------------------------------------------- reads */

#define GROUP_COLS                                                                    \
    "SELECT g.id, g.name, g.slug, g.member_cap, "                                     \
    "(SELECT count(*) FROM memberships m WHERE m.group_id = g.id), "                  \
    "coalesce((SELECT user_id FROM memberships m WHERE m.group_id = g.id "            \
    "AND m.role = 'owner'), 0) FROM groups g "

static void group_from_row(sqlite3_stmt *s, struct core_group *g)
{
    memset(g, 0, sizeof *g);
    g->id = sqlite3_column_int64(s, 0);
    core_col_text(s, 1, g->name, sizeof g->name);
    core_col_text(s, 2, g->slug, sizeof g->slug);
    g->member_cap = sqlite3_column_int(s, 3);
    g->members = sqlite3_column_int(s, 4);
    g->owner_id = sqlite3_column_int64(s, 5);
}

int core_groups_get(struct store *st, int64_t gid, struct core_group *g)
{
    memset(g, 0, sizeof *g);
    sqlite3_stmt *s = core_stmt(st, GROUP_COLS "WHERE g.id = ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, gid);
    int rc = core_row(st, s);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    group_from_row(s, g);
    sqlite3_reset(s);
    return 0;
}

int core_groups_find_slug(struct store *st, const char *slug, int64_t *gid)
{
    *gid = 0;
    if (!slug || strnlen(slug, CORE_SLUG_SIZE) > CORE_SLUG_MAX)
        return -ENOENT;
    sqlite3_stmt *s = core_stmt(st, "SELECT id FROM groups WHERE slug = ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, slug, -1, SQLITE_STATIC);
    int rc = core_row(st, s);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    *gid = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return 0;
}

int core_groups_role(struct store *st, int64_t gid, int64_t uid)
{
    return role_of(st, gid, uid);
}

/* ------------------------------------------------------------ changes */

int core_groups_rename(struct store *st, int64_t gid, int64_t actor, const char *name)
{
    char clean[CORE_GROUP_NAME_SIZE];
    int rc = core_groups_check_name(name, clean);
    if (rc < 0)
        return rc;
    if ((rc = store_begin(st)) < 0)
        return rc;
    if ((rc = require_owner(st, gid, actor)) < 0)
        goto out;
    sqlite3_stmt *s = core_stmt(st, "UPDATE groups SET name = ?2 WHERE id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, gid);
    sqlite3_bind_text(s, 2, clean, -1, SQLITE_STATIC);
    rc = core_exec(st, s);
out:
    if (rc == 0)
        store_mark_dirty(st); /* the old name's bytes */
    return core_txn_end(st, rc);
}

int core_groups_set_cap(struct store *st, int64_t gid, int64_t actor, int cap, int64_t now)
{
    if (cap < 1 || cap > CORE_GROUP_MAX_CAP)
        return CORE_E_BAD_CAP;
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    if ((rc = require_owner(st, gid, actor)) < 0)
        goto out;
    sqlite3_stmt *s = core_stmt(st,
        "SELECT member_cap, (SELECT count(*) FROM memberships WHERE group_id = ?1) "
        "FROM groups WHERE id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, gid);
    rc = core_row(st, s);
    if (rc <= 0) {
        rc = rc == 0 ? -ENOENT : rc;
        goto out;
    }
    int old = sqlite3_column_int(s, 0), count = sqlite3_column_int(s, 1);
    sqlite3_reset(s);
    rc = 0;
    if (cap == old)
        goto out;
    if (cap < count) {
        rc = CORE_E_CAP_TOO_LOW;
        goto out;
    }
    s = core_stmt(st, "UPDATE groups SET member_cap = ?2 WHERE id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, gid);
    sqlite3_bind_int(s, 2, cap);
    if ((rc = core_exec(st, s)) < 0)
        goto out;
    rc = core_event(st, gid, "member_cap_change", actor, 0, now);
out:
    return core_txn_end(st, rc);
}

int core_groups_delete_locked(struct store *st, int64_t gid)
{
    /* Cascades to memberships, bans, invites and group_events; the
     * triggers allow those deletions because the group row is gone. */
    sqlite3_stmt *s = core_stmt(st, "DELETE FROM groups WHERE id = ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, gid);
    int rc = core_exec(st, s);
    if (rc == 0 && sqlite3_changes(store_db(st)) == 0)
        rc = -ENOENT;
    return rc;
}

int core_groups_delete(struct store *st, int64_t gid, int64_t actor)
{
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = require_owner(st, gid, actor);
    if (rc == 0)
        rc = core_groups_delete_locked(st, gid);
    rc = core_txn_end(st, rc);
    if (rc < 0)
        return rc;
    int c = store_checkpoint(st);
    if (c < 0) {
        store_mark_dirty(st); /* store_checkpoint_if_dirty() retries */
        log_warn("core", "group deleted; WAL checkpoint deferred (%s)", core_strerror(c));
    }
    return 0;
}

int core_groups_join_locked(struct store *st, int64_t gid, int64_t uid, int64_t actor,
                            int64_t now)
{
    sqlite3_stmt *s = core_stmt(st,
        "SELECT g.member_cap, "
        "(SELECT count(*) FROM memberships WHERE group_id = g.id), "
        "EXISTS (SELECT 1 FROM bans WHERE group_id = g.id AND user_id = ?2), "
        "EXISTS (SELECT 1 FROM memberships WHERE group_id = g.id AND user_id = ?2), "
        "EXISTS (SELECT 1 FROM memberships m JOIN users o ON o.id = m.user_id "
        "        WHERE m.group_id = g.id AND m.user_id <> ?2 "
        "          AND o.dial_code = (SELECT dial_code FROM users WHERE id = ?2)), "
        "EXISTS (SELECT 1 FROM users WHERE id = ?2) "
        "FROM groups g WHERE g.id = ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, gid);
    sqlite3_bind_int64(s, 2, uid);
    int rc = core_row(st, s);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    int cap = sqlite3_column_int(s, 0), count = sqlite3_column_int(s, 1);
    int banned = sqlite3_column_int(s, 2), member = sqlite3_column_int(s, 3);
    int collision = sqlite3_column_int(s, 4), user = sqlite3_column_int(s, 5);
    sqlite3_reset(s);
    /* The order of the refusals is part of the API: the most specific
     * reason about this person first, the group's state after. */
    if (!user)
        return -ENOENT;
    if (banned)
        return CORE_E_BANNED;
    if (member)
        return CORE_E_ALREADY_MEMBER;
    if (count >= cap)
        return CORE_E_FULL;
    if (collision)
        return CORE_E_COLLISION;
    s = core_stmt(st,
        "INSERT INTO memberships (group_id, user_id, role, joined) VALUES (?1, ?2, 'member', ?3)");
    now = core_day(now);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, gid);
    sqlite3_bind_int64(s, 2, uid);
    sqlite3_bind_int64(s, 3, now);
    if ((rc = core_exec(st, s)) < 0)
        return rc;
    return core_event(st, gid, "join", actor, uid, now);
}

int core_groups_add_member(struct store *st, int64_t gid, int64_t uid, int64_t now)
{
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    return core_txn_end(st, core_groups_join_locked(st, gid, uid, CORE_ACTOR_ADMIN, now));
}

int core_groups_leave(struct store *st, int64_t gid, int64_t uid, int64_t now)
{
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = role_of(st, gid, uid);
    if (rc == CORE_ROLE_OWNER)
        rc = CORE_E_IS_OWNER;
    if (rc == CORE_ROLE_MEMBER)
        rc = delete_membership(st, gid, uid);
    if (rc == 0)
        rc = core_event(st, gid, "leave", uid, uid, now);
    if (rc == 0)
        rc = core_forget_in_log(st, gid, uid);
    return core_txn_end(st, rc);
}

/* Checks shared by kick and ban: actor may run the group, target is not
 * the actor and not the owner. Returns target's role or CORE_E_NOT_MEMBER
 * (>= CORE_E_NOT_MEMBER callers decide), or a refusal. */
static int check_target(struct store *st, int64_t gid, int64_t actor, int64_t target)
{
    int rc = require_owner(st, gid, actor);
    if (rc < 0)
        return rc;
    if (target == actor)
        return CORE_E_SELF;
    rc = role_of(st, gid, target);
    if (rc == CORE_ROLE_OWNER)
        return CORE_E_IS_OWNER;
    return rc;
}

int core_groups_kick(struct store *st, int64_t gid, int64_t actor, int64_t target,
                     int64_t now)
{
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = check_target(st, gid, actor, target);
    if (rc == CORE_ROLE_MEMBER)
        rc = delete_membership(st, gid, target);
    if (rc == 0)
        rc = core_event(st, gid, "kick", actor, target, now);
    if (rc == 0)
        rc = core_forget_in_log(st, gid, target);
    return core_txn_end(st, rc);
}

int core_groups_ban(struct store *st, int64_t gid, int64_t actor, int64_t target,
                    int64_t now)
{
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = check_target(st, gid, actor, target);
    if (rc != CORE_ROLE_MEMBER && rc != CORE_E_NOT_MEMBER)
        goto out;
    sqlite3_stmt *s = core_stmt(st,
        "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?2), "
        "EXISTS (SELECT 1 FROM bans WHERE group_id = ?1 AND user_id = ?2)");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, gid);
    sqlite3_bind_int64(s, 2, target);
    if ((rc = core_row(st, s)) <= 0) {
        rc = rc == 0 ? -EIO : rc;
        goto out;
    }
    int exists = sqlite3_column_int(s, 0), banned = sqlite3_column_int(s, 1);
    sqlite3_reset(s);
    rc = 0;
    if (!exists) {
        rc = -ENOENT;
        goto out;
    }
    if (banned)
        goto out;
    if ((rc = delete_membership(st, gid, target)) < 0)
        goto out;
    s = core_stmt(st, "INSERT INTO bans (group_id, user_id) VALUES (?1, ?2)");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, gid);
    sqlite3_bind_int64(s, 2, target);
    if ((rc = core_exec(st, s)) < 0)
        goto out;
    if ((rc = core_event(st, gid, "ban", actor, target, now)) < 0)
        goto out;
    rc = core_forget_in_log(st, gid, target);
out:
    return core_txn_end(st, rc);
}

int core_groups_unban(struct store *st, int64_t gid, int64_t actor, int64_t target,
                      int64_t now)
{
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    if ((rc = require_owner(st, gid, actor)) < 0)
        goto out;
    sqlite3_stmt *s = core_stmt(st, "DELETE FROM bans WHERE group_id = ?1 AND user_id = ?2");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, gid);
    sqlite3_bind_int64(s, 2, target);
    if ((rc = core_exec(st, s)) < 0)
        goto out;
    if (sqlite3_changes(store_db(st)) == 0) {
        rc = CORE_E_NOT_BANNED;
        goto out;
    }
    rc = core_event(st, gid, "unban", actor, target, now);
    if (rc == 0)
        store_mark_dirty(st);
out:
    return core_txn_end(st, rc);
}

int core_groups_transfer(struct store *st, int64_t gid, int64_t actor, int64_t new_owner,
                         int64_t now)
{
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    if ((rc = require_owner(st, gid, actor)) < 0)
        goto out;
    rc = role_of(st, gid, new_owner);
    if (rc == CORE_ROLE_OWNER)
        rc = CORE_E_SELF;
    if (rc < 0)
        goto out;
    /* Demote first: the unique index allows one owner at a time. */
    sqlite3_stmt *s = core_stmt(st,
        "UPDATE memberships SET role = 'member' WHERE group_id = ?1 AND role = 'owner'");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, gid);
    if ((rc = core_exec(st, s)) < 0)
        goto out;
    s = core_stmt(st,
        "UPDATE memberships SET role = 'owner' WHERE group_id = ?1 AND user_id = ?2");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, gid);
    sqlite3_bind_int64(s, 2, new_owner);
    if ((rc = core_exec(st, s)) < 0)
        goto out;
    rc = core_event(st, gid, "ownership_transfer", actor, new_owner, now);
out:
    return core_txn_end(st, rc);
}

/* ------------------------------------------------------------ listings */

struct group_visit {
    core_group_fn fn;
    void *arg;
};

static int group_row(void *ctx, sqlite3_stmt *s)
{
    struct group_visit *v = ctx;
    struct core_group g;
    group_from_row(s, &g);
    return v->fn(v->arg, &g);
}

int core_groups_list(struct store *st, core_group_fn fn, void *arg)
{
    sqlite3_stmt *s;
    struct group_visit v = { fn, arg };
    int rc = core_prepare(st, GROUP_COLS "ORDER BY g.slug", &s);
    if (rc < 0)
        return rc;
    return core_each_row(st, s, group_row, &v);
}

int core_groups_list_user(struct store *st, int64_t uid, core_group_fn fn, void *arg)
{
    sqlite3_stmt *s;
    struct group_visit v = { fn, arg };
    int rc = core_prepare(st,
        GROUP_COLS "JOIN memberships me ON me.group_id = g.id AND me.user_id = ?1 "
        "ORDER BY g.name, g.slug", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, uid);
    return core_each_row(st, s, group_row, &v);
}

struct member_visit {
    core_member_fn fn;
    void *arg;
};

static int member_row(void *ctx, sqlite3_stmt *s)
{
    struct member_visit *v = ctx;
    struct core_member m;
    memset(&m, 0, sizeof m);
    m.user_id = sqlite3_column_int64(s, 0);
    core_col_text(s, 1, m.nickname, sizeof m.nickname);
    core_col_text(s, 2, m.dial_code, sizeof m.dial_code);
    m.role = sqlite3_column_int(s, 3) ? CORE_ROLE_OWNER : CORE_ROLE_MEMBER;
    m.joined = sqlite3_column_int64(s, 4);
    return v->fn(v->arg, &m);
}

static int list_members(struct store *st, const char *sql, int64_t gid, core_member_fn fn,
                        void *arg)
{
    sqlite3_stmt *s;
    struct member_visit v = { fn, arg };
    int rc = core_prepare(st, sql, &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, gid);
    return core_each_row(st, s, member_row, &v);
}

int core_groups_members(struct store *st, int64_t gid, core_member_fn fn, void *arg)
{
    return list_members(st,
        "SELECT u.id, u.nickname, u.dial_code, m.role = 'owner', m.joined "
        "FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.group_id = ?1 "
        "ORDER BY m.role = 'owner' DESC, u.nickname", gid, fn, arg);
}

int core_groups_bans(struct store *st, int64_t gid, core_member_fn fn, void *arg)
{
    return list_members(st,
        "SELECT u.id, u.nickname, u.dial_code, 0, 0 "
        "FROM bans b JOIN users u ON u.id = b.user_id WHERE b.group_id = ?1 "
        "ORDER BY u.nickname", gid, fn, arg);
}

struct event_visit {
    core_event_fn fn;
    void *arg;
};

static int event_row(void *ctx, sqlite3_stmt *s)
{
    struct event_visit *v = ctx;
    struct core_event e;
    memset(&e, 0, sizeof e);
    e.id = sqlite3_column_int64(s, 0);
    e.group_id = sqlite3_column_int64(s, 1);
    core_col_text(s, 2, e.type, sizeof e.type);
    e.at = sqlite3_column_int64(s, 3);
    e.actor_id = sqlite3_column_int64(s, 4);
    e.target_id = sqlite3_column_int64(s, 5);
    core_col_text(s, 6, e.actor_nick, sizeof e.actor_nick);
    core_col_text(s, 7, e.target_nick, sizeof e.target_nick);
    return v->fn(v->arg, &e);
}

int core_groups_events(struct store *st, int64_t gid, core_event_fn fn, void *arg)
{
    sqlite3_stmt *s;
    struct event_visit v = { fn, arg };
    int rc = core_prepare(st,
        "SELECT e.id, e.group_id, e.type, e.at, coalesce(e.actor_id, 0), "
        "coalesce(e.target_id, 0), a.nickname, t.nickname FROM group_events e "
        "LEFT JOIN users a ON a.id = e.actor_id LEFT JOIN users t ON t.id = e.target_id "
        "WHERE e.group_id = ?1 ORDER BY e.id", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, gid);
    return core_each_row(st, s, event_row, &v);
}
