/*
 * portal/pages_auth.c - sign up, log in and out, email verification,
 * password reset, and the invitation landing page.
 *
 * bcrypt work (hashing at sign-up and reset, checking at login) runs on the
 * thread pool as a portal_job; the short SQL reads and writes around it run
 * on the loop, as core/accounts.h splits them.
 */
#include "portal/internal.h"

#include "core/errors.h"
#include "core/invites.h"
#include "core/sessions.h"
#include "crypto/hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A local path to go to after login, or "/groups". */
static const char *safe_next(const char *next)
{
    if (next[0] == '/' && next[1] != '/' && next[1] != '\\' && !strpbrk(next, "\r\n") &&
        strlen(next) < 400)
        return next;
    return "/groups";
}

/* A token from a form or query: the text, or "" when it cannot be one. */
static const char *token_arg(const char *t)
{
    return strlen(t) <= CORE_TOKEN_MAX ? t : "";
}

/* -------------------------------------------------------------- sign up */

static void signup_render(struct preq *pr, int status, const char *email, const char *nick,
                          const char *field, const char *msg)
{
    struct http_response *res = pr->res;
    const char *invite = token_arg(portal_form_get(pr->form.buf ? &pr->form : &pr->q,
                                                   "invite", NULL));
    res->status = status;
    page_begin(pr, "Sign up");
    http_html_printf(res, "<h1>Make your account</h1>");
    if (msg && !field)
        http_html_printf(res, "<p class=\"alert\" role=\"alert\">%s</p>", msg);
    http_html_printf(res, "<form class=\"card\" method=\"post\" action=\"/signup\" novalidate>");
    page_csrf(pr);
    if (invite[0])
        http_html_printf(res, "<input type=\"hidden\" name=\"invite\" value=\"%s\">", invite);
    page_input(pr, "email", "Email", "email", email, "email",
               field && strcmp(field, "email") == 0 ? msg : NULL,
               "For logging in and resetting your password. Other members never see it.");
    page_input(pr, "nickname", "Nickname", "text", nick, "nickname",
               field && strcmp(field, "nickname") == 0 ? msg : NULL,
               "6 to 12 letters, a to z. Members of your groups see it.");
    /* The dial code of the typed nickname: filled as you type by app.js,
     * and by the server after a submit without JavaScript. */
    char dial[CORE_NICK_SIZE] = "";
    if (nick)
        core_t9_dial_code(nick, strlen(nick), dial);
    http_html_printf(res, "<p class=\"hint\">Your dial code:</p><div id=\"dial-live\" class=\"dial-live\" "
                     "aria-live=\"polite\">");
    if (dial[0])
        page_dial(pr, dial, 1);
    http_html_printf(res, "</div>");
    page_input(pr, "password", "Password", "password", NULL, "new-password",
               field && strcmp(field, "password") == 0 ? msg : NULL,
               "At least 10 characters. A few words in a row are strong and easy to type.");
    http_html_printf(res, "<button type=\"submit\">Make my account</button></form>"
                     "<p>Already have an account? <a href=\"/login%s%s\">Log in</a></p>",
                     invite[0] ? "?next=/i/" : "", invite);
    page_end(pr);
}

/* Whether sign-up is open to this request; renders the refusal if not. */
static int signup_allowed(struct preq *pr, const char *invite)
{
    if (pr->p->registration == PORTAL_REG_CLOSED) {
        portal_simple(pr, 403, "Sign-up is closed",
                      "This instance does not take new accounts. Ask its owner.");
        return 0;
    }
    if (pr->p->registration == PORTAL_REG_INVITE) {
        struct core_invite inv;
        if (!invite[0] || core_invites_lookup(pr->p->st, invite, pr->now, &inv) < 0) {
            portal_simple(pr, 403, "Sign-up by invitation",
                          "On this instance you need an invitation link from a group's owner "
                          "to make an account.");
            return 0;
        }
    }
    return 1;
}

void page_signup(struct preq *pr)
{
    if (!signup_allowed(pr, token_arg(portal_form_get(&pr->q, "invite", NULL))))
        return;
    signup_render(pr, 200, NULL, NULL, NULL, NULL);
}

struct signup_job {
    struct portal_job base;
    struct core_signup su;
    char pw[CORE_PASSWORD_MAX + 1];
    size_t pwlen;
    char hash[BCRYPT_HASH_SIZE];
    int rc;
};

static void signup_run(struct portal_job *j)
{
    struct signup_job *job = (struct signup_job *)j;
    job->rc = core_accounts_hash_password(&j->pr->p->core, job->pw, job->pwlen, job->hash);
}

static void signup_after(struct portal_job *j)
{
    struct signup_job *job = (struct signup_job *)j;
    struct preq *pr = j->pr;
    const char *email = portal_form_get(&pr->form, "email", NULL);
    const char *nick = portal_form_get(&pr->form, "nickname", NULL);
    const char *invite = token_arg(portal_form_get(&pr->form, "invite", NULL));
    int64_t uid = 0;
    char vtok[CORE_TOKEN_SIZE];
    int rc = job->rc;
    if (rc == 0)
        rc = core_accounts_create(pr->p->st, &pr->p->core, &job->su, job->hash, 0, pr->now,
                                  &uid, vtok);
    /* The verification mail is the mail issue's: the token waits in the
     * database (as its hash) and is not shown here. */
    crypto_wipe(vtok, sizeof vtok);
    if (rc == CORE_E_EMAIL_TAKEN) {
        signup_render(pr, 409, email, nick, "email", portal_message(rc));
    } else if (rc < 0) {
        signup_render(pr, 500, email, nick, NULL, portal_message(rc));
    } else if (portal_login_session(pr, uid) < 0) {
        portal_redirect(pr, "/login");
    } else if (invite[0]) {
        char loc[CORE_TOKEN_MAX + 16];
        snprintf(loc, sizeof loc, "/i/%s", invite);
        portal_redirect(pr, loc);
    } else {
        portal_redirect(pr, "/account?m=welcome");
    }
    portal_finish(pr);
}

void post_signup(struct preq *pr)
{
    size_t pwlen;
    const char *email = portal_form_get(&pr->form, "email", NULL);
    const char *nick = portal_form_get(&pr->form, "nickname", NULL);
    const char *pw = portal_form_get(&pr->form, "password", &pwlen);
    const char *invite = token_arg(portal_form_get(&pr->form, "invite", NULL));
    if (!signup_allowed(pr, invite))
        return;
    if (!portal_rate_ok(pr, RL_SIGNUP)) {
        signup_render(pr, 429, email, nick, NULL,
                      "Too many sign-ups from your network. Please wait ten minutes.");
        return;
    }
    struct signup_job *job = calloc(1, sizeof *job);
    if (!job) {
        signup_render(pr, 503, email, nick, NULL, portal_message(-ENOMEM));
        return;
    }
    int rc = core_accounts_prepare_signup(email, nick, pw, pwlen, &job->su);
    int64_t other;
    if (rc == 0 && core_accounts_find_email(pr->p->st, job->su.email, &other) == 0)
        rc = CORE_E_EMAIL_TAKEN;
    if (rc < 0) {
        free(job);
        const char *field = rc == CORE_E_BAD_EMAIL || rc == CORE_E_EMAIL_TAKEN ? "email"
                            : rc == CORE_E_BAD_NICKNAME                      ? "nickname"
                                                                             : "password";
        signup_render(pr, 422, email, nick, field, portal_message(rc));
        return;
    }
    memcpy(job->pw, pw, pwlen);
    job->pwlen = pwlen;
    if (portal_job_start(pr, &job->base, sizeof *job, signup_run, signup_after) < 0)
        signup_render(pr, 503, email, nick, NULL, portal_message(-EAGAIN));
}

/* ---------------------------------------------------------------- login */

static void login_render(struct preq *pr, int status, const char *email, const char *msg)
{
    struct http_response *res = pr->res;
    const char *next = safe_next(portal_form_get(pr->form.buf ? &pr->form : &pr->q, "next",
                                                 NULL));
    res->status = status;
    page_begin(pr, "Log in");
    http_html_printf(res, "<h1>Log in</h1>");
    if (msg)
        http_html_printf(res, "<p class=\"alert\" role=\"alert\" id=\"login-error\">%s</p>",
                         msg);
    http_html_printf(res, "<form class=\"card\" method=\"post\" action=\"/login\" novalidate>");
    page_csrf(pr);
    http_html_printf(res, "<input type=\"hidden\" name=\"next\" value=\"%s\">", next);
    page_input(pr, "email", "Email", "email", email, "username", NULL, NULL);
    page_input(pr, "password", "Password", "password", NULL, "current-password", NULL, NULL);
    http_html_printf(res, "<button type=\"submit\">Log in</button></form>"
                     "<p><a href=\"/forgot\">Forgot your password?</a> · "
                     "<a href=\"/signup\">Make an account</a></p>");
    page_end(pr);
}

void page_login(struct preq *pr)
{
    login_render(pr, 200, NULL, NULL);
}

struct login_job {
    struct portal_job base;
    struct core_login lg;
    char pw[CORE_PASSWORD_MAX + 1];
    size_t pwlen;
    int verify_rc;
};

static void login_run(struct portal_job *j)
{
    struct login_job *job = (struct login_job *)j;
    job->verify_rc = core_accounts_verify_password(job->pw, job->pwlen, job->lg.hash);
}

static void login_after(struct portal_job *j)
{
    struct login_job *job = (struct login_job *)j;
    struct preq *pr = j->pr;
    const char *email = portal_form_get(&pr->form, "email", NULL);
    int64_t uid;
    int rc = core_accounts_login_finish(pr->p->st, &job->lg, job->verify_rc, pr->now, &uid);
    if (rc == 0 && portal_login_session(pr, uid) == 0) {
        portal_redirect(pr, safe_next(portal_form_get(&pr->form, "next", NULL)));
    } else if (rc == CORE_E_LOCKED) {
        /* The lockout is per email and source (core/accounts.h): only the
         * source that made the failures is ever told, and the account's
         * owner elsewhere is not locked out by a stranger. */
        login_render(pr, 403, email, portal_message(CORE_E_LOCKED));
    } else if (rc == CORE_E_BAD_LOGIN) {
        login_render(pr, 403, email, portal_message(CORE_E_BAD_LOGIN));
    } else {
        login_render(pr, 500, email, portal_message(rc));
    }
    portal_finish(pr);
}

void post_login(struct preq *pr)
{
    size_t pwlen;
    const char *email = portal_form_get(&pr->form, "email", NULL);
    const char *pw = portal_form_get(&pr->form, "password", &pwlen);
    if (!portal_rate_ok(pr, RL_LOGIN)) {
        login_render(pr, 429, email,
                     "Too many login attempts from your network. Please wait ten minutes.");
        return;
    }
    struct login_job *job = calloc(1, sizeof *job);
    if (!job) {
        login_render(pr, 503, email, portal_message(-ENOMEM));
        return;
    }
    if (pwlen > CORE_PASSWORD_MAX)
        pwlen = CORE_PASSWORD_MAX; /* the hash still fails; same work */
    uint8_t src[16];
    size_t srclen = portal_source(pr, src);
    int brc = core_accounts_login_begin_from(pr->p->st, &pr->p->core, email, src, srclen,
                                             &job->lg);
    crypto_wipe(src, sizeof src);
    if (brc < 0) {
        free(job);
        login_render(pr, 500, email, portal_message(-EIO));
        return;
    }
    memcpy(job->pw, pw, pwlen);
    job->pwlen = pwlen;
    if (portal_job_start(pr, &job->base, sizeof *job, login_run, login_after) < 0)
        login_render(pr, 503, email, portal_message(-EAGAIN));
}

void post_logout(struct preq *pr)
{
    core_sessions_end(pr->p->st, pr->sid);
    portal_set_session_cookie(pr, NULL);
    portal_redirect(pr, "/?m=loggedout");
}

void post_logout_all(struct preq *pr)
{
    core_sessions_end_all(pr->p->st, pr->uid, NULL);
    portal_set_session_cookie(pr, NULL);
    portal_redirect(pr, "/?m=everywhere");
}

/* --------------------------------------------------------- verification */

void page_verify(struct preq *pr)
{
    const char *token = token_arg(portal_form_get(&pr->q, "token", NULL));
    struct http_response *res = pr->res;
    page_begin(pr, "Verify your email");
    http_html_printf(res, "<h1>Verify your email address</h1><form class=\"card\" "
                     "method=\"post\" action=\"/verify\">");
    page_csrf(pr);
    http_html_printf(res, "<input type=\"hidden\" name=\"token\" value=\"%s\">"
                     "<p>Confirm that this address is yours.</p>"
                     "<button type=\"submit\">Verify my address</button></form>", token);
    page_end(pr);
}

void post_verify(struct preq *pr)
{
    const char *token = token_arg(portal_form_get(&pr->form, "token", NULL));
    int64_t uid;
    int rc = core_accounts_verify_email(pr->p->st, token, pr->now, &uid);
    if (rc == 0) {
        portal_redirect(pr, pr->uid ? "/account?m=verified" : "/login?m=verified");
        return;
    }
    portal_simple(pr, rc == CORE_E_EXPIRED ? 410 : 404, "This link does not work",
                  rc == CORE_E_EXPIRED ? "This verification link has expired. Log in and ask "
                                         "for a new one."
                                       : "This verification link is unknown or used already.");
}

/* ------------------------------------------------------- password reset */

static void forgot_render(struct preq *pr, int status, const char *email, const char *msg)
{
    struct http_response *res = pr->res;
    res->status = status;
    page_begin(pr, "Forgot your password");
    http_html_printf(res, "<h1>Forgot your password?</h1>");
    if (msg)
        http_html_printf(res, "<p class=\"alert\" role=\"alert\">%s</p>", msg);
    http_html_printf(res, "<form class=\"card\" method=\"post\" action=\"/forgot\" novalidate>"
                     "<p>We send a link to reset it to the address of your account.</p>");
    page_csrf(pr);
    page_input(pr, "email", "Email", "email", email, "username", NULL, NULL);
    http_html_printf(res, "<button type=\"submit\">Send the link</button></form>");
    page_end(pr);
}

void page_forgot(struct preq *pr)
{
    forgot_render(pr, 200, NULL, NULL);
}

void post_forgot(struct preq *pr)
{
    const char *email = portal_form_get(&pr->form, "email", NULL);
    if (!portal_rate_ok(pr, RL_RESET)) {
        forgot_render(pr, 429, email, "Too many requests from your network. Please wait ten "
                                      "minutes.");
        return;
    }
    char norm[CORE_EMAIL_SIZE];
    if (core_accounts_normalise_email(email, strlen(email), norm) < 0) {
        forgot_render(pr, 422, email, portal_message(CORE_E_BAD_EMAIL));
        return;
    }
    int64_t uid;
    char token[CORE_TOKEN_SIZE];
    /* Known or not, the answer is the same. Sending the mail is the mail
     * issue's seam: the token exists only as its hash until then. */
    core_accounts_request_reset(pr->p->st, norm, pr->now, &uid, token);
    crypto_wipe(token, sizeof token);
    portal_redirect(pr, "/login?m=sent");
}

static void reset_render(struct preq *pr, int status, const char *token, const char *msg)
{
    struct http_response *res = pr->res;
    res->status = status;
    page_begin(pr, "Choose a new password");
    http_html_printf(res, "<h1>Choose a new password</h1><form class=\"card\" method=\"post\" "
                     "action=\"/reset\" novalidate>");
    page_csrf(pr);
    http_html_printf(res, "<input type=\"hidden\" name=\"token\" value=\"%s\">", token);
    page_input(pr, "password", "New password", "password", NULL, "new-password", msg,
               "At least 10 characters.");
    http_html_printf(res, "<button type=\"submit\">Save the new password</button></form>");
    page_end(pr);
}

void page_reset(struct preq *pr)
{
    reset_render(pr, 200, token_arg(portal_form_get(&pr->q, "token", NULL)), NULL);
}

struct reset_job {
    struct portal_job base;
    char pw[CORE_PASSWORD_MAX + 1];
    size_t pwlen;
    char hash[BCRYPT_HASH_SIZE];
    int rc;
};

static void reset_run(struct portal_job *j)
{
    struct reset_job *job = (struct reset_job *)j;
    job->rc = core_accounts_hash_password(&j->pr->p->core, job->pw, job->pwlen, job->hash);
}

static void reset_after(struct portal_job *j)
{
    struct reset_job *job = (struct reset_job *)j;
    struct preq *pr = j->pr;
    const char *token = token_arg(portal_form_get(&pr->form, "token", NULL));
    int64_t uid;
    int rc = job->rc;
    if (rc == 0)
        rc = core_accounts_reset_finish(pr->p->st, token, job->hash, pr->now, &uid);
    if (rc == 0) {
        if (pr->sid[0])
            portal_set_session_cookie(pr, NULL); /* every session ended */
        portal_redirect(pr, "/login?m=reset");
    } else {
        portal_simple(pr, rc == CORE_E_EXPIRED ? 410 : 404, "This link does not work",
                      portal_message(rc));
    }
    portal_finish(pr);
}

void post_reset(struct preq *pr)
{
    size_t pwlen;
    const char *token = token_arg(portal_form_get(&pr->form, "token", NULL));
    const char *pw = portal_form_get(&pr->form, "password", &pwlen);
    if (!portal_rate_ok(pr, RL_RESET)) {
        reset_render(pr, 429, token, "Too many attempts from your network. Please wait ten "
                                     "minutes.");
        return;
    }
    int64_t uid;
    int rc = core_accounts_reset_begin(pr->p->st, token, pw, pwlen, pr->now, &uid);
    if (rc == CORE_E_BAD_PASSWORD) {
        reset_render(pr, 422, token, portal_message(rc));
        return;
    }
    if (rc < 0) {
        portal_simple(pr, rc == CORE_E_EXPIRED ? 410 : 404, "This link does not work",
                      rc == CORE_E_EXPIRED ? "This reset link has expired. Ask for a new one."
                                           : "This reset link is unknown or used already.");
        return;
    }
    struct reset_job *job = calloc(1, sizeof *job);
    if (!job) {
        reset_render(pr, 503, token, portal_message(-ENOMEM));
        return;
    }
    memcpy(job->pw, pw, pwlen);
    job->pwlen = pwlen;
    if (portal_job_start(pr, &job->base, sizeof *job, reset_run, reset_after) < 0)
        reset_render(pr, 503, token, portal_message(-EAGAIN));
}

/* ------------------------------------------------------------- invites */

static void invite_render(struct preq *pr, int status, const char *msg)
{
    struct http_response *res = pr->res;
    const char *token = pr->param;
    struct core_invite inv;
    struct core_group g;
    int rc = core_invites_lookup(pr->p->st, token, pr->now, &inv);
    if (rc == 0)
        rc = core_groups_get(pr->p->st, inv.group_id, &g);
    if (rc < 0) {
        const char *why = rc == CORE_E_EXPIRED   ? "This invitation has expired. Ask the group's "
                                                   "owner for a new one."
                          : rc == CORE_E_REVOKED ? portal_message(CORE_E_REVOKED)
                          : rc == CORE_E_USED_UP ? portal_message(CORE_E_USED_UP)
                                                 : "This invitation link is not known. Check "
                                                   "that it was copied whole.";
        portal_simple(pr, rc == -ENOENT ? 404 : 410, "Invitation not valid", why);
        return;
    }
    res->status = status;
    page_begin(pr, "Invitation");
    http_html_printf(res, "<h1>You are invited to <span id=\"group-name\">%s</span></h1>"
                     "<div class=\"card\"><p>%d of %d places taken.</p>", g.name, g.members,
                     g.member_cap);
    if (inv.email[0])
        http_html_printf(res, "<p>This invitation is for one particular email address.</p>");
    if (msg)
        http_html_printf(res, "<p class=\"alert\" role=\"alert\">%s</p>", msg);
    if (pr->uid) {
        if (core_groups_role(pr->p->st, g.id, pr->uid) >= 0) {
            http_html_printf(res, "<p>You are a member already.</p><p><a class=\"button\" "
                             "href=\"/g/%s\">Open the group</a></p>", g.slug);
        } else {
            http_html_printf(res, "<p>You join as <strong>%s</strong>, dial code</p>",
                             pr->user.nickname);
            page_dial(pr, pr->user.dial_code, 0);
            http_html_printf(res, "<form method=\"post\" action=\"/i/%s\">", token);
            page_csrf(pr);
            http_html_printf(res, "<button type=\"submit\">Join %s</button></form>", g.name);
        }
    } else {
        http_html_printf(res, "<p>Make an account to join, or log in if you have one.</p>"
                         "<p><a class=\"button\" href=\"/signup?invite=%s\">Sign up and join"
                         "</a> <a class=\"button secondary\" href=\"/login?next=/i/%s\">Log in"
                         "</a></p>", token, token);
    }
    http_html_printf(res, "</div>");
    page_end(pr);
}

void page_invite(struct preq *pr)
{
    invite_render(pr, 200, NULL);
}

void post_invite(struct preq *pr)
{
    if (!portal_rate_ok(pr, RL_INVITE)) {
        invite_render(pr, 429, "Too many attempts from your network. Please wait ten minutes.");
        return;
    }
    int64_t gid;
    int rc = core_invites_redeem(pr->p->st, pr->param, pr->uid, pr->now, &gid);
    if (rc == 0) {
        struct core_group g;
        char loc[CORE_SLUG_SIZE + 16];
        if (core_groups_get(pr->p->st, gid, &g) == 0)
            snprintf(loc, sizeof loc, "/g/%s?m=joined", g.slug);
        else
            snprintf(loc, sizeof loc, "/groups");
        portal_redirect(pr, loc);
        return;
    }
    invite_render(pr, rc == CORE_E_FULL || rc == CORE_E_COLLISION ? 409 : 403,
                  portal_message(rc));
}
