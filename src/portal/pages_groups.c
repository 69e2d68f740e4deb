/*
 * portal/pages_groups.c - the list of one's groups, a group's page with its
 * members (and their dial codes), invitations, bans and event log, and the
 * owner's and members' actions.
 *
 * Forms name a member by dial code, which is unique inside a group, and a
 * banned account by nickname: no internal id appears in a page.
 */
#include "portal/internal.h"

#include "core/errors.h"
#include "core/invites.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- the list */

static int list_row(void *arg, const struct core_group *g)
{
    struct preq *pr = arg;
    http_html_printf(pr->res, "<li><a href=\"/g/%s\"><strong>%s</strong></a> <span "
                     "class=\"role\">%s</span><br><span class=\"hint\">%d of %d members</span>"
                     "</li>", g->slug, g->name, g->owner_id == pr->uid ? "owner" : "member",
                     g->members, g->member_cap);
    return 0;
}

static void groups_render(struct preq *pr, int status, const char *name, const char *err)
{
    struct http_response *res = pr->res;
    res->status = status;
    page_begin(pr, "Your groups");
    http_html_printf(res, "<h1>Your groups</h1><section class=\"card\" aria-labelledby="
                     "\"s-mine\"><h2 id=\"s-mine\">Groups you are in</h2><ul class=\"plain\" "
                     "id=\"my-groups\">");
    core_groups_list_user(pr->p->st, pr->uid, list_row, pr);
    http_html_printf(res, "</ul></section><section class=\"card\" aria-labelledby=\"s-new\">"
                     "<h2 id=\"s-new\">Start a group</h2><form method=\"post\" action=\"/groups\""
                     " novalidate>");
    page_csrf(pr);
    page_input(pr, "name", "Group name", "text", name, "off", err,
               "Members see it. You become its owner.");
    http_html_printf(res, "<button type=\"submit\">Create the group</button></form></section>");
    page_end(pr);
}

void page_groups(struct preq *pr)
{
    groups_render(pr, 200, NULL, NULL);
}

void post_groups(struct preq *pr)
{
    const char *name = portal_form_get(&pr->form, "name", NULL);
    int64_t gid;
    char slug[CORE_SLUG_SIZE], loc[CORE_SLUG_SIZE + 20];
    int rc = core_groups_create(pr->p->st, pr->uid, name, 0, pr->now, &gid, slug);
    if (rc == 0) {
        snprintf(loc, sizeof loc, "/g/%s?m=created", slug);
        portal_redirect(pr, loc);
        return;
    }
    groups_render(pr, 422, name, portal_message(rc));
}

/* ------------------------------------------------------- group page */

struct group_ctx {
    struct preq *pr;
    struct core_group g;
    int owner;
    int n;
    const char *who;     /* dial code or nickname looked for */
    int64_t found;
};

static int member_row(void *arg, const struct core_member *m)
{
    struct group_ctx *c = arg;
    struct preq *pr = c->pr;
    struct http_response *res = pr->res;
    char joined[32];
    page_date(m->joined, joined);
    http_html_printf(res, "<li class=\"member\" data-nick=\"%s\" data-dial=\"%s\"><div "
                     "class=\"who\"><strong>%s</strong>%s<br><span class=\"role\">%s</span> "
                     "<span class=\"hint\">joined %s</span></div>", m->nickname, m->dial_code,
                     m->nickname, m->user_id == pr->uid ? " (you)" : "",
                     m->role == CORE_ROLE_OWNER ? "owner" : "member", joined);
    page_dial(pr, m->dial_code, 0);
    if (c->owner && m->user_id != pr->uid) {
        static const struct { const char *action, *label, *cls; } acts[] = {
            { "kick", "Remove", "secondary" },
            { "ban", "Ban", "danger" },
            { "transfer", "Make owner", "secondary" },
        };
        http_html_printf(res, "<div>");
        for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
            http_html_printf(res, "<form class=\"inline\" method=\"post\" action=\"/g/%s/%s\">",
                             c->g.slug, acts[i].action);
            page_csrf(pr);
            http_html_printf(res, "<input type=\"hidden\" name=\"who\" value=\"%s\"><button "
                             "type=\"submit\" class=\"small %s\" aria-label=\"%s %s\">%s"
                             "</button></form>", m->dial_code, acts[i].cls, acts[i].label,
                             m->nickname, acts[i].label);
        }
        http_html_printf(res, "</div>");
    }
    http_html_printf(res, "</li>");
    return 0;
}

static int ban_row(void *arg, const struct core_member *m)
{
    struct group_ctx *c = arg;
    struct preq *pr = c->pr;
    c->n++;
    http_html_printf(pr->res, "<li class=\"member\" data-nick=\"%s\"><div class=\"who\">"
                     "<strong>%s</strong></div>", m->nickname, m->nickname);
    page_dial(pr, m->dial_code, 0);
    http_html_printf(pr->res, "<form class=\"inline\" method=\"post\" action=\"/g/%s/unban\">",
                     c->g.slug);
    page_csrf(pr);
    http_html_printf(pr->res, "<input type=\"hidden\" name=\"who\" value=\"%s\"><button "
                     "type=\"submit\" class=\"small secondary\" aria-label=\"Lift the ban on %s\">"
                     "Lift the ban</button></form></li>", m->nickname, m->nickname);
    return 0;
}

static int invite_row(void *arg, const struct core_invite *inv)
{
    struct group_ctx *c = arg;
    struct preq *pr = c->pr;
    char exp[32];
    page_date(inv->expires, exp);
    const char *state = inv->revoked                  ? "withdrawn"
                        : inv->expires <= pr->now     ? "expired"
                        : inv->uses >= inv->max_uses ? "used up"
                                                      : "open";
    c->n++;
    http_html_printf(pr->res, "<tr><td data-label=\"For\">%s%s</td><td data-label=\"Used\">%d of %d</td>"
                     "<td data-label=\"Until\">%s</td><td data-label=\"State\">%s</td><td>",
                     inv->email[0] ? "for " : "anyone with the link", inv->email, inv->uses,
                     inv->max_uses, exp, state);
    if (strcmp(state, "open") == 0) {
        http_html_printf(pr->res, "<form class=\"inline\" method=\"post\" action=\"/g/%s/revoke\">",
                         c->g.slug);
        page_csrf(pr);
        http_html_printf(pr->res, "<input type=\"hidden\" name=\"invite\" value=\"%lld\">"
                         "<button type=\"submit\" class=\"small secondary\">Withdraw</button>"
                         "</form>", (long long)inv->id);
    }
    http_html_printf(pr->res, "</td></tr>");
    return 0;
}

static int event_row(void *arg, const struct core_event *e)
{
    struct group_ctx *c = arg;
    struct http_response *res = c->pr->res;
    /* The log names current members only; anyone else (someone who left,
     * and the operator) is "a former member" (core/groups.h). */
    const char *a = e->actor_nick[0] ? e->actor_nick : "A former member";
    const char *t = e->target_nick[0] ? e->target_nick : "a former member";
    char when[32];
    page_date(e->at, when);
    http_html_printf(res, "<li><time>%s</time> ", when);
    if (strcmp(e->type, "join") == 0)
        http_html_printf(res, "%s joined", e->target_nick[0] ? t : "A former member");
    else if (strcmp(e->type, "leave") == 0)
        http_html_printf(res, "%s left", a);
    else if (strcmp(e->type, "kick") == 0)
        http_html_printf(res, "%s removed %s", a, t);
    else if (strcmp(e->type, "ban") == 0)
        http_html_printf(res, "%s banned %s", a, t);
    else if (strcmp(e->type, "unban") == 0)
        http_html_printf(res, "%s lifted the ban on %s", a, t);
    else if (strcmp(e->type, "invite_create") == 0)
        http_html_printf(res, "%s invited someone", a);
    else if (strcmp(e->type, "invite_redeem") == 0)
        http_html_printf(res, "%s accepted an invitation", a);
    else if (strcmp(e->type, "invite_revoke") == 0)
        http_html_printf(res, "%s withdrew an invitation", a);
    else if (strcmp(e->type, "invite_resend") == 0)
        http_html_printf(res, "%s renewed an invitation", a);
    else if (strcmp(e->type, "nickname_change") == 0)
        http_html_printf(res, "%s took a new nickname", a);
    else if (strcmp(e->type, "ownership_transfer") == 0)
        http_html_printf(res, "%s made %s the owner", a, t);
    else if (strcmp(e->type, "member_cap_change") == 0)
        http_html_printf(res, "%s changed the member limit", a);
    else
        http_html_printf(res, "%s", e->type);
    http_html_printf(res, "</li>");
    return 0;
}

/* Finds the group of pr->param and the person's place in it; renders 404
 * when they are not a member. */
static int group_load(struct preq *pr, struct group_ctx *c)
{
    int64_t gid;
    memset(c, 0, sizeof *c);
    c->pr = pr;
    if (core_groups_find_slug(pr->p->st, pr->param, &gid) < 0 ||
        core_groups_get(pr->p->st, gid, &c->g) < 0 ||
        core_groups_role(pr->p->st, gid, pr->uid) < 0) {
        portal_simple(pr, 404, "Not found", "You are not in a group at this address.");
        return -ENOENT;
    }
    c->owner = c->g.owner_id == pr->uid;
    return 0;
}

/* The refusal, where its field is: shown once, next to the form it concerns. */
static void group_error(struct preq *pr, const char *where, const char *field, const char *msg)
{
    if (msg && field && strcmp(where, field) == 0)
        http_html_printf(pr->res, "<p class=\"error\" role=\"alert\" id=\"group-error\">%s</p>",
                         msg);
}

/* What a group page's sections share: the group, and the refusal with
 * the form it belongs to. */
struct group_view {
    struct group_ctx *c;
    const char *field, *msg;
};

static void group_section_link(struct preq *pr, const char *invite_link)
{
    http_html_printf(pr->res, "<section class=\"card\" aria-labelledby=\"s-link\"><h2 "
                     "id=\"s-link\">Your invitation link</h2><p>Send it to the people you "
                     "invite. It is shown only now: we keep no copy.</p><div "
                     "class=\"copyrow\"><input id=\"invite-link\" type=\"text\" readonly "
                     "value=\"%s\" aria-label=\"Invitation link\"><button type=\"button\" "
                     "data-copy=\"invite-link\" hidden>Copy</button></div></section>",
                     invite_link);
}

static void group_section_members(struct preq *pr, const struct group_view *v)
{
    struct http_response *res = pr->res;
    struct group_ctx *c = v->c;
    http_html_printf(res, "<section class=\"card\" aria-labelledby=\"s-members\"><h2 "
                     "id=\"s-members\">Members</h2><ul class=\"plain\" id=\"members\">");
    core_groups_members(pr->p->st, c->g.id, member_row, c);
    http_html_printf(res, "</ul>");
    group_error(pr, "members", v->field, v->msg);
    if (pr->user.active_group != c->g.id) {
        http_html_printf(res, "<form method=\"post\" action=\"/account/active-group\">");
        page_csrf(pr);
        http_html_printf(res, "<input type=\"hidden\" name=\"group\" value=\"%s\"><button "
                         "type=\"submit\" class=\"secondary\">Make this my active group"
                         "</button></form>", c->g.slug);
    } else {
        http_html_printf(res, "<p>This is your active group.</p>");
    }
    http_html_printf(res, "</section>");
}

static void group_section_invites(struct preq *pr, const struct group_view *v)
{
    struct http_response *res = pr->res;
    struct group_ctx *c = v->c;
    http_html_printf(res, "<section class=\"card\" aria-labelledby=\"s-inv\"><h2 "
                     "id=\"s-inv\">Invite people</h2><form method=\"post\" "
                     "action=\"/g/%s/invites\" novalidate>", c->g.slug);
    page_csrf(pr);
    http_html_printf(res, "<label for=\"f-uses\">How many people may use the link</label>"
                     "<input id=\"f-uses\" name=\"uses\" type=\"number\" min=\"1\" "
                     "max=\"1000\" value=\"1\" inputmode=\"numeric\">"
                     "<label for=\"f-invemail\">Only for this email (optional)</label>"
                     "<input id=\"f-invemail\" name=\"email\" type=\"email\" "
                     "autocomplete=\"off\" aria-describedby=\"h-invemail\"><p class=\"hint\" "
                     "id=\"h-invemail\">Then only the account with this address can use "
                     "it, once.</p>");
    group_error(pr, "invite", v->field, v->msg);
    http_html_printf(res, "<button type=\"submit\">Make an invitation link</button></form>"
                     "<h3>Invitations</h3><table id=\"invites\" class=\"stack\"><thead><tr>"
                     "<th scope=\"col\">For</th><th scope=\"col\">Used</th><th scope=\"col\">"
                     "Until</th><th scope=\"col\">State</th><th scope=\"col\"><span "
                     "class=\"hint\">Action</span></th></tr></thead><tbody>");
    c->n = 0;
    core_invites_list(pr->p->st, c->g.id, pr->uid, invite_row, c);
    http_html_printf(res, "</tbody></table>");
    if (!c->n)
        http_html_printf(res, "<p>No invitations yet.</p>");
    http_html_printf(res, "</section>");
}

static void group_section_cap_and_bans(struct preq *pr, const struct group_view *v)
{
    struct http_response *res = pr->res;
    struct group_ctx *c = v->c;
    int bad = v->field && strcmp(v->field, "cap") == 0;
    http_html_printf(res, "<section class=\"card\" aria-labelledby=\"s-cap\"><h2 "
                     "id=\"s-cap\">Member limit</h2><form method=\"post\" "
                     "action=\"/g/%s/cap\" novalidate>", c->g.slug);
    page_csrf(pr);
    http_html_printf(res, "<label for=\"f-cap\">At most this many members</label><input "
                     "id=\"f-cap\" name=\"cap\" type=\"number\" min=\"1\" max=\"1000\" "
                     "inputmode=\"numeric\" value=\"%d\"%s>", c->g.member_cap,
                     bad ? " aria-invalid=\"true\" aria-describedby=\"group-error\"" : "");
    group_error(pr, "cap", v->field, v->msg);
    http_html_printf(res, "<button type=\"submit\">Save the limit</button></form></section>"
                     "<section class=\"card\" aria-labelledby=\"s-bans\"><h2 "
                     "id=\"s-bans\">Banned</h2><ul class=\"plain\" id=\"bans\">");
    c->n = 0;
    core_groups_bans(pr->p->st, c->g.id, ban_row, c);
    http_html_printf(res, "</ul>");
    group_error(pr, "bans", v->field, v->msg);
    if (!c->n)
        http_html_printf(res, "<p>Nobody is banned.</p>");
    http_html_printf(res, "</section>");
}

static void group_section_end(struct preq *pr, const struct group_view *v)
{
    struct http_response *res = pr->res;
    struct group_ctx *c = v->c;
    if (c->owner) {
        http_html_printf(res, "<section class=\"card\" aria-labelledby=\"s-delg\"><h2 "
                         "id=\"s-delg\">Delete the group</h2><p>Its members, invitations and "
                         "log are erased at once.</p><form method=\"post\" "
                         "action=\"/g/%s/delete\">", c->g.slug);
        page_csrf(pr);
        http_html_printf(res, "<label><input type=\"checkbox\" name=\"confirm\" value=\"yes\" "
                         "required> I want to delete %s</label>", c->g.name);
        group_error(pr, "delete", v->field, v->msg);
        http_html_printf(res, "<button type=\"submit\" class=\"danger\">Delete the group"
                         "</button></form></section>");
        return;
    }
    http_html_printf(res, "<section class=\"card\" aria-labelledby=\"s-leave\"><h2 "
                     "id=\"s-leave\">Leave the group</h2><form method=\"post\" "
                     "action=\"/g/%s/leave\">", c->g.slug);
    page_csrf(pr);
    group_error(pr, "leave", v->field, v->msg);
    http_html_printf(res, "<button type=\"submit\" class=\"secondary\">Leave %s</button>"
                     "</form></section>", c->g.name);
}

void group_render(struct preq *pr, int status, const char *field, const char *msg,
                  const char *invite_link)
{
    struct group_ctx c;
    if (group_load(pr, &c) < 0)
        return;
    struct http_response *res = pr->res;
    res->status = status;
    page_begin(pr, c.g.name);
    http_html_printf(res, "<h1 id=\"group-name\">%s</h1><p>You are %s. <span id=\"count\">%d "
                     "of %d members</span>.</p>", c.g.name, c.owner ? "its owner" : "a member",
                     c.g.members, c.g.member_cap);
    /* A form this person does not see cannot hold the message. */
    if (field && (c.owner ? strcmp(field, "leave") == 0
                          : strcmp(field, "members") != 0 && strcmp(field, "leave") != 0))
        field = NULL;
    if (msg && !field)
        http_html_printf(res, "<p class=\"alert\" role=\"alert\" id=\"group-error\">%s</p>",
                         msg);
    struct group_view v = { &c, field, msg };
    if (invite_link)
        group_section_link(pr, invite_link);
    group_section_members(pr, &v);
    if (c.owner) {
        group_section_invites(pr, &v);
        group_section_cap_and_bans(pr, &v);
    }
    http_html_printf(res, "<section class=\"card\" aria-labelledby=\"s-log\"><h2 id=\"s-log\">"
                     "What happened</h2><ul class=\"plain log\" id=\"log\">");
    core_groups_events(pr->p->st, c.g.id, event_row, &c);
    http_html_printf(res, "</ul></section>");
    group_section_end(pr, &v);
    page_end(pr);
}

void page_group(struct preq *pr)
{
    group_render(pr, 200, NULL, NULL, NULL);
}

/* --------------------------------------------------------- actions */

static int find_member(void *arg, const struct core_member *m)
{
    struct group_ctx *c = arg;
    if (strcmp(m->dial_code, c->who) == 0 || strcmp(m->nickname, c->who) == 0) {
        c->found = m->user_id;
        return 1;
    }
    return 0;
}

/* The account named by the "who" field among the members (or the bans). */
static int64_t target_of(struct preq *pr, struct group_ctx *c, int bans)
{
    c->who = portal_form_get(&pr->form, "who", NULL);
    c->found = 0;
    if (!c->who[0])
        return 0;
    if (bans)
        core_groups_bans(pr->p->st, c->g.id, find_member, c);
    else
        core_groups_members(pr->p->st, c->g.id, find_member, c);
    return c->found;
}

static void action_done(struct preq *pr, struct group_ctx *c, int rc, const char *m,
                        const char *field)
{
    if (rc == 0) {
        char loc[CORE_SLUG_SIZE + 40];
        snprintf(loc, sizeof loc, "/g/%s?m=%s", c->g.slug, m);
        portal_redirect(pr, loc);
        return;
    }
    group_render(pr, rc == CORE_E_NOT_OWNER ? 403 : 422, field, portal_message(rc), NULL);
}

static long form_int(struct preq *pr, const char *name)
{
    const char *v = portal_form_get(&pr->form, name, NULL);
    char *end;
    long n = strtol(v, &end, 10);
    return *v && *end == '\0' ? n : -1;
}

void post_group_cap(struct preq *pr)
{
    struct group_ctx c;
    if (group_load(pr, &c) < 0)
        return;
    long cap = form_int(pr, "cap");
    int rc = cap < 1 || cap > CORE_GROUP_MAX_CAP
                 ? CORE_E_BAD_CAP
                 : core_groups_set_cap(pr->p->st, c.g.id, pr->uid, (int)cap, pr->now);
    action_done(pr, &c, rc, "cap", "cap");
}

void post_group_invite(struct preq *pr)
{
    struct group_ctx c;
    if (group_load(pr, &c) < 0)
        return;
    const char *email = portal_form_get(&pr->form, "email", NULL);
    long uses = form_int(pr, "uses");
    if (email[0])
        uses = 1;
    if (uses < 1 || uses > CORE_INVITE_MAX_USES) {
        group_render(pr, 422, "invite", "Choose how many people may use the link: 1 to 1000.",
                     NULL);
        return;
    }
    int64_t id;
    char token[CORE_TOKEN_SIZE], origin[300], link[400];
    int rc = core_invites_create(pr->p->st, c.g.id, pr->uid, email, (int)uses, pr->now, &id,
                                 token);
    if (rc < 0) {
        group_render(pr, rc == CORE_E_NOT_OWNER ? 403 : 422, "invite", portal_message(rc), NULL);
        return;
    }
    if (portal_origin(pr, origin, sizeof origin) < 0)
        origin[0] = '\0';
    snprintf(link, sizeof link, "%s/i/%s", origin, token);
    group_render(pr, 200, NULL, NULL, link);
}

void post_group_revoke(struct preq *pr)
{
    struct group_ctx c;
    if (group_load(pr, &c) < 0)
        return;
    long id = form_int(pr, "invite");
    int rc = id < 1 ? -ENOENT : core_invites_revoke(pr->p->st, pr->uid, id, pr->now);
    action_done(pr, &c, rc, "revoked", "invite");
}

/* The owner's four actions on one member differ only in the core call, where
 * the target is looked for, and the words of the answer. */
struct member_action {
    int (*act)(struct store *st, int64_t gid, int64_t actor, int64_t target, int64_t now);
    int among_bans; /* the target is named from the ban list, not the members */
    int missing;    /* the answer for a target that is not there */
    const char *done, *section;
};

static void member_action_run(struct preq *pr, const struct member_action *a)
{
    struct group_ctx c;
    if (group_load(pr, &c) < 0)
        return;
    int64_t t = target_of(pr, &c, a->among_bans);
    int rc = t ? a->act(pr->p->st, c.g.id, pr->uid, t, pr->now) : a->missing;
    action_done(pr, &c, rc, a->done, a->section);
}

void post_group_kick(struct preq *pr)
{
    static const struct member_action a = { core_groups_kick, 0, CORE_E_NOT_MEMBER, "kicked",
                                            "members" };
    member_action_run(pr, &a);
}

void post_group_ban(struct preq *pr)
{
    static const struct member_action a = { core_groups_ban, 0, CORE_E_NOT_MEMBER, "banned",
                                            "members" };
    member_action_run(pr, &a);
}

void post_group_unban(struct preq *pr)
{
    static const struct member_action a = { core_groups_unban, 1, CORE_E_NOT_BANNED,
                                            "unbanned", "bans" };
    member_action_run(pr, &a);
}

void post_group_transfer(struct preq *pr)
{
    static const struct member_action a = { core_groups_transfer, 0, CORE_E_NOT_MEMBER,
                                            "transferred", "members" };
    member_action_run(pr, &a);
}

void post_group_leave(struct preq *pr)
{
    struct group_ctx c;
    if (group_load(pr, &c) < 0)
        return;
    int rc = core_groups_leave(pr->p->st, c.g.id, pr->uid, pr->now);
    if (rc == 0) {
        portal_redirect(pr, "/groups?m=left");
        return;
    }
    group_render(pr, 422, "leave", portal_message(rc), NULL);
}

void post_group_delete(struct preq *pr)
{
    struct group_ctx c;
    if (group_load(pr, &c) < 0)
        return;
    if (strcmp(portal_form_get(&pr->form, "confirm", NULL), "yes") != 0) {
        group_render(pr, 422, "delete", "Tick the box to confirm that the group should be deleted.",
                     NULL);
        return;
    }
    int rc = core_groups_delete(pr->p->st, c.g.id, pr->uid);
    if (rc == 0) {
        portal_redirect(pr, "/groups?m=groupdeleted");
        return;
    }
    group_render(pr, rc == CORE_E_NOT_OWNER ? 403 : 422, "delete", portal_message(rc), NULL);
}
