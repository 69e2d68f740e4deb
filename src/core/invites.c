/*
 * core/invites.c - see invites.h.
 */
#include "core/invites.h"
#include "core/errors.h"
#include "core/groups.h"
#include "core/internal.h"

#include <errno.h>
#include <string.h>

/* Owner check for an invite's group: 0 when actor may manage group gid. */
static int may_manage(struct store *st, int64_t gid, int64_t actor)
{
    if (actor == CORE_ACTOR_ADMIN)
        return 0;
    int r = core_groups_role(st, gid, actor);
    if (r == CORE_ROLE_OWNER)
        return 0;
    if (r == CORE_ROLE_MEMBER)
        return CORE_E_NOT_OWNER;
    return r == CORE_E_NOT_MEMBER ? -ENOENT : r;
}

int core_invites_create(struct store *st, int64_t gid, int64_t actor, const char *email,
                        int max_uses, int64_t now, int64_t *id, char token[CORE_TOKEN_SIZE])
{
    char norm[CORE_EMAIL_SIZE] = "";
    uint8_t h[32];
    struct core_group g;
    *id = 0;
    token[0] = '\0';
    if (email && email[0]) {
        int rc = core_accounts_normalise_email(email, strlen(email), norm);
        if (rc < 0)
            return rc;
        if (max_uses != 0 && max_uses != 1)
            return -EINVAL;
        max_uses = 1;
    } else if (max_uses < 1 || max_uses > CORE_INVITE_MAX_USES) {
        return -EINVAL;
    }
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    if ((rc = core_groups_get(st, gid, &g)) < 0 || (rc = may_manage(st, gid, actor)) < 0)
        goto out;
    if ((rc = core_token_new(token, h)) < 0)
        goto out;
    sqlite3_stmt *s = core_stmt(st,
        "INSERT INTO invites (group_id, token_hash, email, max_uses, expires) "
        "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, gid);
    sqlite3_bind_blob(s, 2, h, sizeof h, SQLITE_TRANSIENT);
    if (norm[0])
        sqlite3_bind_text(s, 3, norm, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, max_uses);
    sqlite3_bind_int64(s, 5, now + CORE_INVITE_TTL);
    if ((rc = core_exec(st, s)) < 0)
        goto out;
    int64_t iid = sqlite3_last_insert_rowid(store_db(st));
    if ((rc = core_event(st, gid, "invite_create", actor, 0, now)) < 0)
        goto out;
    *id = iid;
out:
    rc = core_txn_end(st, rc);
    if (rc < 0) {
        *id = 0;
        token[0] = '\0';
    }
    return rc;
}

#define INVITE_COLS \
    "SELECT id, group_id, coalesce(email, ''), uses, max_uses, expires, revoked FROM invites "

static void invite_from_row(sqlite3_stmt *s, struct core_invite *inv)
{
    memset(inv, 0, sizeof *inv);
    inv->id = sqlite3_column_int64(s, 0);
    inv->group_id = sqlite3_column_int64(s, 1);
    core_col_text(s, 2, inv->email, sizeof inv->email);
    inv->uses = sqlite3_column_int(s, 3);
    inv->max_uses = sqlite3_column_int(s, 4);
    inv->expires = sqlite3_column_int64(s, 5);
    inv->revoked = sqlite3_column_int(s, 6);
}

struct invite_visit {
    core_invite_fn fn;
    void *arg;
};

static int invite_row(void *ctx, sqlite3_stmt *s)
{
    struct invite_visit *v = ctx;
    struct core_invite inv;
    invite_from_row(s, &inv);
    return v->fn(v->arg, &inv);
}

int core_invites_list(struct store *st, int64_t gid, int64_t actor, core_invite_fn fn,
                      void *arg)
{
    struct core_group g;
    struct invite_visit v = { fn, arg };
    sqlite3_stmt *s;
    int rc = core_groups_get(st, gid, &g);
    if (rc < 0 || (rc = may_manage(st, gid, actor)) < 0)
        return rc;
    if ((rc = core_prepare(st, INVITE_COLS "WHERE group_id = ?1 ORDER BY id DESC", &s)) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, gid);
    return core_each_row(st, s, invite_row, &v);
}

/* Reads invite id into inv: 0 or -ENOENT. */
static int get_by_id(struct store *st, int64_t id, struct core_invite *inv)
{
    sqlite3_stmt *s = core_stmt(st, INVITE_COLS "WHERE id = ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, id);
    int rc = core_row(st, s);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    invite_from_row(s, inv);
    sqlite3_reset(s);
    return 0;
}

int core_invites_revoke(struct store *st, int64_t actor, int64_t id, int64_t now)
{
    struct core_invite inv;
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    if ((rc = get_by_id(st, id, &inv)) < 0 || (rc = may_manage(st, inv.group_id, actor)) < 0)
        goto out;
    if (inv.revoked)
        goto out;
    /* A revoked invite can never be redeemed: the address it was for has
     * no use any more and goes at once. */
    sqlite3_stmt *s = core_stmt(st, "UPDATE invites SET revoked = 1, email = NULL WHERE id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, id);
    if ((rc = core_exec(st, s)) < 0)
        goto out;
    rc = core_event(st, inv.group_id, "invite_revoke", actor, 0, now);
    if (rc == 0 && inv.email[0])
        store_mark_dirty(st);
out:
    return core_txn_end(st, rc);
}

int core_invites_resend(struct store *st, int64_t actor, int64_t id, int64_t now,
                        char token[CORE_TOKEN_SIZE], char email[CORE_EMAIL_SIZE])
{
    struct core_invite inv;
    uint8_t h[32];
    token[0] = email[0] = '\0';
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    if ((rc = get_by_id(st, id, &inv)) < 0 || (rc = may_manage(st, inv.group_id, actor)) < 0)
        goto out;
    if (inv.revoked) {
        rc = CORE_E_REVOKED;
        goto out;
    }
    if (inv.uses >= inv.max_uses) {
        rc = CORE_E_USED_UP;
        goto out;
    }
    if ((rc = core_token_new(token, h)) < 0)
        goto out;
    sqlite3_stmt *s = core_stmt(st,
        "UPDATE invites SET token_hash = ?2, expires = ?3 WHERE id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_blob(s, 2, h, sizeof h, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, now + CORE_INVITE_TTL);
    if ((rc = core_exec(st, s)) < 0)
        goto out;
    if ((rc = core_event(st, inv.group_id, "invite_resend", actor, 0, now)) < 0)
        goto out;
    memcpy(email, inv.email, CORE_EMAIL_SIZE);
out:
    rc = core_txn_end(st, rc);
    if (rc < 0)
        token[0] = email[0] = '\0';
    return rc;
}

/* Finds the invite of a token and applies the checks that depend on the
 * invite alone. */
static int lookup_checked(struct store *st, const char *token, int64_t now,
                          struct core_invite *inv)
{
    uint8_t h[32];
    memset(inv, 0, sizeof *inv);
    if (core_token_hash(token, h) < 0)
        return -ENOENT;
    sqlite3_stmt *s = core_stmt(st, INVITE_COLS "WHERE token_hash = ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_blob(s, 1, h, sizeof h, SQLITE_TRANSIENT);
    int rc = core_row(st, s);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    invite_from_row(s, inv);
    sqlite3_reset(s);
    int expired = now >= inv->expires;
    if (expired) {
        /* Its row goes as soon as anyone sees it expired (the purge takes
         * the ones nobody looks at). The caller commits this even when it
         * refuses. */
        sqlite3_stmt *d = core_stmt(st, "DELETE FROM invites WHERE id = ?1");
        if (!d)
            return -EIO;
        sqlite3_bind_int64(d, 1, inv->id);
        if ((rc = core_exec(st, d)) < 0)
            return rc;
        store_mark_dirty(st);
    }
    if (inv->revoked)
        return CORE_E_REVOKED;
    if (expired)
        return CORE_E_EXPIRED;
    if (inv->uses >= inv->max_uses)
        return CORE_E_USED_UP;
    return 0;
}

int core_invites_lookup(struct store *st, const char *token, int64_t now,
                        struct core_invite *inv)
{
    int rc = lookup_checked(st, token, now, inv);
    if (rc < 0)
        memset(inv, 0, sizeof *inv);
    return rc;
}

int core_invites_redeem(struct store *st, const char *token, int64_t uid, int64_t now,
                        int64_t *gid)
{
    struct core_invite inv;
    *gid = 0;
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    /* Everything below runs under the write lock: the seat and the use
     * counted here are still free when the membership is written. */
    if ((rc = lookup_checked(st, token, now, &inv)) < 0) {
        if (now >= inv.expires && inv.id) {
            /* Keep the deletion of the expired row, then refuse. */
            int c = core_txn_end(st, 0);
            return c < 0 ? c : rc;
        }
        goto out;
    }
    if (inv.email[0]) {
        sqlite3_stmt *s = core_stmt(st, "SELECT email = ?2 FROM users WHERE id = ?1");
        if (!s) {
            rc = -EIO;
            goto out;
        }
        sqlite3_bind_int64(s, 1, uid);
        sqlite3_bind_text(s, 2, inv.email, -1, SQLITE_STATIC);
        rc = core_row(st, s);
        if (rc <= 0) {
            rc = rc == 0 ? -ENOENT : rc;
            goto out;
        }
        int same = sqlite3_column_int(s, 0);
        sqlite3_reset(s);
        if (!same) {
            rc = CORE_E_WRONG_EMAIL;
            goto out;
        }
    }
    if ((rc = core_groups_join_locked(st, inv.group_id, uid, uid, now)) < 0)
        goto out;
    /* Used up, an addressed invite forgets its address. */
    sqlite3_stmt *s = core_stmt(st,
        "UPDATE invites SET uses = uses + 1, "
        "email = CASE WHEN uses + 1 >= max_uses THEN NULL ELSE email END WHERE id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, inv.id);
    if ((rc = core_exec(st, s)) < 0)
        goto out;
    if ((rc = core_event(st, inv.group_id, "invite_redeem", uid, uid, now)) < 0)
        goto out;
    store_mark_dirty(st);
    *gid = inv.group_id;
out:
    rc = core_txn_end(st, rc);
    if (rc < 0)
        *gid = 0;
    return rc;
}
