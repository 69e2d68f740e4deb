/*
 * portal/pages_account.c - the account page: nickname, password, active
 * group, SIP credentials, log out everywhere, delete the account.
 *
 * Changing the password, revealing the SIP password and deleting the
 * account each ask for the portal password again; checking it is bcrypt
 * work and runs on the thread pool (account_job).
 */
#include "portal/internal.h"

#include "core/errors.h"
#include "core/sessions.h"
#include "core/sipcred.h"
#include "crypto/hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct account_view {
    int status;
    const char *field; /* the form the message belongs to, NULL: the top */
    const char *msg;
    const char *nick;  /* the nickname as typed */
    const char *sip_user, *sip_pass; /* revealed credentials */
};

/* ------------------------------------------------ nickname collisions */

struct collide_ctx {
    struct store *st;
    int64_t uid;
    const char *dial;
    char group[CORE_GROUP_NAME_SIZE];
};

static int collide_member(void *arg, const struct core_member *m)
{
    struct collide_ctx *c = arg;
    return m->user_id != c->uid && strcmp(m->dial_code, c->dial) == 0;
}

static int collide_group(void *arg, const struct core_group *g)
{
    struct collide_ctx *c = arg;
    if (core_groups_members(c->st, g->id, collide_member, c) == 1) {
        snprintf(c->group, sizeof c->group, "%s", g->name);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------- render */

struct groups_opts {
    struct preq *pr;
    int any;
    int owned; /* listing owned groups only */
};

static int option_group(void *arg, const struct core_group *g)
{
    struct groups_opts *o = arg;
    o->any = 1;
    http_html_printf(o->pr->res, "<option value=\"%s\"%s>%s</option>", g->slug,
                     g->id == o->pr->user.active_group ? " selected" : "", g->name);
    return 0;
}

static int owned_group(void *arg, const struct core_group *g)
{
    struct groups_opts *o = arg;
    if (g->owner_id != o->pr->uid)
        return 0;
    if (!o->any)
        http_html_printf(o->pr->res, "<p>These groups you own are deleted with it, for all "
                         "their members:</p><ul>");
    o->any = 1;
    http_html_printf(o->pr->res, "<li>%s (%d members)</li>", g->name, g->members);
    return 0;
}

static const char *msg_for(const struct account_view *v, const char *field)
{
    return v->field && strcmp(v->field, field) == 0 ? v->msg : NULL;
}

static void account_section_nickname(struct preq *pr, const struct account_view *v)
{
    struct http_response *res = pr->res;
    http_html_printf(res, "<section class=\"card\" aria-labelledby=\"s-nick\"><h2 id=\"s-nick\">"
                     "Change your nickname</h2><form method=\"post\" "
                     "action=\"/account/nickname\" novalidate>");
    page_csrf(pr);
    page_input(pr, "nickname", "New nickname", "text", v->nick, "nickname",
               msg_for(v, "nickname"), "6 to 12 letters. Your dial code changes with it.");
    char dial[CORE_NICK_SIZE] = "";
    if (v->nick)
        core_t9_dial_code(v->nick, strlen(v->nick), dial);
    http_html_printf(res, "<div id=\"dial-live\" class=\"dial-live\" aria-live=\"polite\">");
    if (dial[0])
        page_dial(pr, dial, 0);
    http_html_printf(res, "</div><button type=\"submit\">Change nickname</button></form>"
                     "</section>");
}

static void account_section_password(struct preq *pr, const struct account_view *v)
{
    struct http_response *res = pr->res;
    http_html_printf(res, "<section class=\"card\" aria-labelledby=\"s-pw\"><h2 id=\"s-pw\">"
                     "Change your password</h2><form method=\"post\" "
                     "action=\"/account/password\" novalidate>");
    page_csrf(pr);
    page_input(pr, "current", "Current password", "password", NULL, "current-password",
               msg_for(v, "current"), NULL);
    page_input(pr, "new", "New password", "password", NULL, "new-password", msg_for(v, "new"),
               "At least 10 characters. Your other devices are logged out.");
    http_html_printf(res, "<button type=\"submit\">Change password</button></form></section>");
}

static void account_section_active(struct preq *pr, const struct account_view *v)
{
    struct http_response *res = pr->res;
    struct store *st = pr->p->st;
    http_html_printf(res, "<section class=\"card\" aria-labelledby=\"s-active\"><h2 "
                     "id=\"s-active\">Active group</h2><p>When two of your groups hold "
                     "different people with the same dial code, calls go to the one in your "
                     "active group.</p><form method=\"post\" action=\"/account/active-group\">");
    page_csrf(pr);
    http_html_printf(res, "<label for=\"f-group\">Active group</label><select id=\"f-group\" "
                     "name=\"group\"><option value=\"\">None</option>");
    struct groups_opts o = { pr, 0, 0 };
    core_groups_list_user(st, pr->uid, option_group, &o);
    http_html_printf(res, "</select>");
    if (msg_for(v, "group"))
        http_html_printf(res, "<p class=\"error\">%s</p>", v->msg);
    http_html_printf(res, "<button type=\"submit\">Save</button></form></section>");
}

static void account_section_sip(struct preq *pr, const struct account_view *v)
{
    struct http_response *res = pr->res;
    struct store *st = pr->p->st;
    char user[CORE_SIP_USER_SIZE] = "";
    core_sipcred_username(st, pr->uid, user);
    http_html_printf(res, "<section class=\"card\" aria-labelledby=\"s-sip\"><h2 id=\"s-sip\">"
                     "Your phone's settings</h2><p>Enter these in any SIP phone app.</p>"
                     "<table><tbody><tr><th scope=\"row\">Username</th><td class=\"mono\" "
                     "id=\"sip-user\">%s</td></tr><tr><th scope=\"row\">Server (domain)</th>"
                     "<td class=\"mono\">%s</td></tr><tr><th scope=\"row\">Transport</th>"
                     "<td>TLS (port 5061), or TCP or UDP (port 5060)</td></tr>",
                     user, pr->p->core.realm ? pr->p->core.realm : "");
    if (v->sip_pass)
        http_html_printf(res, "<tr><th scope=\"row\">Password</th><td class=\"mono\" "
                         "id=\"sip-pass\">%s</td></tr>", v->sip_pass);
    http_html_printf(res, "</tbody></table>");
    if (!v->sip_pass) {
        http_html_printf(res, "<form method=\"post\" action=\"/account/sip\" novalidate>");
        page_csrf(pr);
        page_input(pr, "password", "Your portal password, to show the phone password",
                   "password", NULL, "current-password", msg_for(v, "sip"), NULL);
        http_html_printf(res, "<button type=\"submit\" class=\"secondary\">Show the phone "
                         "password</button></form>");
    }
    http_html_printf(res, "</section>");
}

static void account_section_sessions(struct preq *pr)
{
    struct http_response *res = pr->res;
    http_html_printf(res, "<section class=\"card\" aria-labelledby=\"s-sess\"><h2 "
                     "id=\"s-sess\">Devices</h2><form method=\"post\" "
                     "action=\"/logout-everywhere\">");
    page_csrf(pr);
    http_html_printf(res, "<p>Log out on every browser where you are logged in, this one "
                     "too.</p><button type=\"submit\" class=\"secondary\">Log out everywhere"
                     "</button></form></section>");
}

static void account_section_delete(struct preq *pr, const struct account_view *v)
{
    struct http_response *res = pr->res;
    struct store *st = pr->p->st;
    http_html_printf(res, "<section class=\"card\" aria-labelledby=\"s-del\"><h2 id=\"s-del\">"
                     "Delete your account</h2><p>This is immediate and cannot be undone. "
                     "We erase your email, nickname, password, phone credentials, sessions and "
                     "memberships.</p>");
    struct groups_opts od = { pr, 0, 1 };
    core_groups_list_user(st, pr->uid, owned_group, &od);
    if (od.any)
        http_html_printf(res, "</ul>");
    http_html_printf(res, "<form method=\"post\" action=\"/account/delete\" novalidate>");
    page_csrf(pr);
    page_input(pr, "delpassword", "Your password, to confirm", "password", NULL,
               "current-password", msg_for(v, "delete"), NULL);
    http_html_printf(res, "<button type=\"submit\" class=\"danger\">Delete my account"
                     "</button></form></section>");
}

/* The account page: who you are, then one section per thing to change. */
static void account_render(struct preq *pr, const struct account_view *v)
{
    struct http_response *res = pr->res;
    struct store *st = pr->p->st;
    core_accounts_get(st, pr->uid, &pr->user);
    res->status = v->status ? v->status : 200;
    page_begin(pr, "Your account");
    http_html_printf(res, "<h1>Your account</h1>");
    if (v->msg && !v->field)
        http_html_printf(res, "<p class=\"alert\" role=\"alert\">%s</p>", v->msg);

    http_html_printf(res, "<section class=\"card\" aria-labelledby=\"s-you\"><h2 id=\"s-you\">"
                     "<span id=\"my-nickname\">%s</span></h2><p>Your dial code</p>",
                     pr->user.nickname);
    page_dial(pr, pr->user.dial_code, 1);
    http_html_printf(res, "<p class=\"mono\" id=\"my-dial\" hidden>%s</p>", pr->user.dial_code);
    http_html_printf(res, "<p>Email: %s%s</p>", pr->user.email,
                     pr->user.verified ? "" : " (not verified yet)");
    if (!pr->user.verified && pr->user.unverified_until > 0) {
        char until[32];
        page_date(pr->user.unverified_until, until);
        http_html_printf(res, "<p class=\"hint\">Open the link we mail you to verify it. An "
                         "account whose address is not verified by %s is deleted.</p>", until);
    }
    http_html_printf(res, "</section>");
    account_section_nickname(pr, v);
    account_section_password(pr, v);
    account_section_active(pr, v);
    account_section_sip(pr, v);
    account_section_sessions(pr);
    account_section_delete(pr, v);
    page_end(pr);
}

void page_account(struct preq *pr)
{
    struct account_view v = { 0 };
    account_render(pr, &v);
}

/* ------------------------------------------------------------ nickname */

void post_nickname(struct preq *pr)
{
    const char *nick = portal_form_get(&pr->form, "nickname", NULL);
    int rc = core_accounts_set_nickname(pr->p->st, pr->uid, nick, strlen(nick), pr->now);
    if (rc == 0) {
        portal_redirect(pr, "/account?m=nickname");
        return;
    }
    char msg[300];
    const char *text = portal_message(rc);
    if (rc == CORE_E_COLLISION) {
        char dial[CORE_NICK_SIZE];
        struct collide_ctx c = { pr->p->st, pr->uid, dial, "" };
        if (core_t9_dial_code(nick, strlen(nick), dial) == 0)
            core_groups_list_user(pr->p->st, pr->uid, collide_group, &c);
        snprintf(msg, sizeof msg, "Someone in your group “%s” already has the dial code %s. "
                 "Choose another nickname.", c.group[0] ? c.group : "?", dial);
        text = msg;
    }
    struct account_view v = { .status = 422, .field = "nickname", .msg = text, .nick = nick };
    account_render(pr, &v);
}

/* -------------------------------------------------------- active group */

void post_active_group(struct preq *pr)
{
    const char *slug = portal_form_get(&pr->form, "group", NULL);
    int64_t gid = 0;
    int rc = 0;
    if (slug[0] && core_groups_find_slug(pr->p->st, slug, &gid) < 0)
        rc = CORE_E_NOT_MEMBER;
    if (rc == 0)
        rc = core_accounts_set_active_group(pr->p->st, pr->uid, gid);
    if (rc == 0) {
        portal_redirect(pr, "/account?m=active");
        return;
    }
    struct account_view v = { .status = 422, .field = "group",
                              .msg = "You are not a member of that group." };
    account_render(pr, &v);
}

/* ------------------------------------- password, SIP reveal and delete */

enum account_kind { AK_PASSWORD, AK_SIP, AK_DELETE };

struct account_job {
    struct portal_job base;
    enum account_kind kind;
    char hash[BCRYPT_HASH_SIZE];
    char pw[CORE_PASSWORD_MAX + 1];
    size_t pwlen;
    char new_pw[CORE_PASSWORD_MAX + 1];
    size_t new_len;
    char new_hash[BCRYPT_HASH_SIZE];
    int verify_rc, hash_rc;
};

static void account_run(struct portal_job *j)
{
    struct account_job *job = (struct account_job *)j;
    job->verify_rc = core_accounts_verify_password(job->pw, job->pwlen, job->hash);
    if (job->kind == AK_PASSWORD && job->verify_rc == 0)
        job->hash_rc = core_accounts_hash_password(&j->pr->p->core, job->new_pw, job->new_len,
                                                   job->new_hash);
}

static void account_after(struct portal_job *j)
{
    struct account_job *job = (struct account_job *)j;
    struct preq *pr = j->pr;
    struct store *st = pr->p->st;
    static const char *const fields[] = { "current", "sip", "delete" };
    /* Every check of the current password counts toward the lockout like a
     * login (a stolen session is no password oracle). */
    int crc = core_accounts_check_current_finish(st, pr->uid, job->hash, job->verify_rc,
                                                 pr->now);
    if (crc < 0) {
        struct account_view v = { .status = 403, .field = fields[job->kind],
                                  .msg = crc == CORE_E_LOCKED
                                             ? portal_message(CORE_E_LOCKED)
                                             : "That is not your password." };
        account_render(pr, &v);
        portal_finish(pr);
        return;
    }
    if (job->kind == AK_PASSWORD) {
        char sid[CORE_TOKEN_SIZE], csrf[CORE_TOKEN_SIZE];
        int rc = job->hash_rc;
        if (rc == 0)
            rc = core_accounts_set_hash(st, pr->uid, job->new_hash, pr->sid);
        /* This browser gets a new session id too: nothing from before the
         * change keeps working. */
        if (rc == 0 && core_sessions_rotate(st, pr->sid, pr->now, sid, csrf) == 0)
            portal_set_session_cookie(pr, sid);
        crypto_wipe(sid, sizeof sid);
        if (rc == 0) {
            portal_redirect(pr, "/account?m=password");
        } else {
            struct account_view v = { .status = 500, .msg = portal_message(rc) };
            account_render(pr, &v);
        }
    } else if (job->kind == AK_SIP) {
        char user[CORE_SIP_USER_SIZE], pass[CORE_SIP_PASS_SIZE];
        int rc = core_sipcred_reveal(st, &pr->p->core, pr->uid, user, pass);
        struct account_view v = { .sip_user = user, .sip_pass = pass };
        if (rc < 0) {
            v = (struct account_view){ .status = 500, .field = "sip",
                                       .msg = "The phone password cannot be shown right now." };
        }
        account_render(pr, &v);
        crypto_wipe(pass, sizeof pass);
    } else {
        int rc = core_accounts_delete(st, pr->uid, pr->now);
        if (rc == 0) {
            portal_set_session_cookie(pr, NULL);
            pr->uid = 0;
            portal_redirect(pr, "/?m=deleted");
        } else {
            struct account_view v = { .status = 500, .field = "delete",
                                      .msg = portal_message(rc) };
            account_render(pr, &v);
        }
    }
    portal_finish(pr);
}

static void account_check(struct preq *pr, enum account_kind kind, const char *pwfield)
{
    static const char *const fields[] = { "current", "sip", "delete" };
    size_t pwlen, newlen = 0;
    const char *pw = portal_form_get(&pr->form, pwfield, &pwlen);
    const char *np = portal_form_get(&pr->form, "new", &newlen);
    /* Each check of the portal password counts like a login attempt, so a
     * stolen session is no password oracle. */
    if (!portal_rate_ok(pr, RL_LOGIN)) {
        struct account_view v = { .status = 429, .field = fields[kind],
                                  .msg = "Too many attempts. Please wait ten minutes." };
        account_render(pr, &v);
        return;
    }
    if (kind == AK_PASSWORD) {
        int rc = core_accounts_check_new_password(pr->p->st, pr->uid, np, newlen);
        if (rc < 0) {
            struct account_view v = { .status = 422, .field = "new", .msg = portal_message(rc) };
            account_render(pr, &v);
            return;
        }
    }
    struct account_job *job = calloc(1, sizeof *job);
    if (!job || pwlen > CORE_PASSWORD_MAX ||
        core_accounts_get_hash(pr->p->st, pr->uid, job->hash) < 0) {
        int status = job ? 403 : 503;
        free(job);
        struct account_view v = { .status = status, .field = fields[kind],
                                  .msg = "That is not your password." };
        account_render(pr, &v);
        return;
    }
    job->kind = kind;
    memcpy(job->pw, pw, pwlen);
    job->pwlen = pwlen;
    if (kind == AK_PASSWORD) {
        memcpy(job->new_pw, np, newlen);
        job->new_len = newlen;
    }
    if (portal_job_start(pr, &job->base, sizeof *job, account_run, account_after) < 0) {
        struct account_view v = { .status = 503, .msg = portal_message(-EAGAIN) };
        account_render(pr, &v);
    }
}

void post_password(struct preq *pr)
{
    account_check(pr, AK_PASSWORD, "current");
}

void post_sip(struct preq *pr)
{
    account_check(pr, AK_SIP, "password");
}

void post_delete_account(struct preq *pr)
{
    account_check(pr, AK_DELETE, "delpassword");
}
