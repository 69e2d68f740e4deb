/*
 * portal/internal.h - what the portal's modules share: the per-request
 * context, forms, the page layout, the thread-pool jobs and the routes.
 * Not for other engines.
 */
#ifndef T9_PORTAL_INTERNAL_H
#define T9_PORTAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "core/accounts.h"
#include "core/core.h"
#include "core/groups.h"
#include "net/http.h"
#include "portal/portal.h"

#define PORTAL_MAX_FIELDS 32

/* A parsed application/x-www-form-urlencoded body or query string: names
 * and values decoded and NUL-terminated in buf. */
struct portal_form {
    size_t n;
    struct {
        const char *name, *value;
        size_t len; /* of value, which may hold NUL bytes */
    } f[PORTAL_MAX_FIELDS];
    char *buf;
};

/* Parses s[len] into f (f->buf allocated; free with portal_form_free).
 * Fields past PORTAL_MAX_FIELDS are ignored. 0 or -ENOMEM. */
int portal_form_parse(struct portal_form *f, const char *s, size_t len);
void portal_form_free(struct portal_form *f);
/* The value of a field, or "" when absent; len (may be NULL) gets its length. */
const char *portal_form_get(const struct portal_form *f, const char *name, size_t *len);
/* Copies the value of a cookie from a Cookie header into out; 0 or -ENOENT. */
int portal_cookie_get(const char *header, const char *name, char *out, size_t outlen);

enum portal_reg { PORTAL_REG_OPEN, PORTAL_REG_INVITE, PORTAL_REG_CLOSED };
enum portal_rl_action { RL_SIGNUP, RL_LOGIN, RL_RESET, RL_INVITE, RL_ACTIONS };

/* One request in the portal: allocated per request, freed when answered. */
struct preq {
    struct portal *p;
    const struct http_request *req;
    struct http_response *res;
    int https;             /* the browser talks HTTPS to us (or to our proxy) */
    char path[512];        /* path without the query */
    char param[CORE_TOKEN_MAX + 1]; /* the '*' segment of the route */
    struct portal_form q;  /* query string */
    struct portal_form form; /* POST body */
    int64_t now;
    /* the session, when there is one */
    int64_t uid;
    char sid[CORE_TOKEN_SIZE];
    char csrf[CORE_TOKEN_SIZE]; /* the session's, or the pre-session cookie's */
    int csrf_new;          /* the pre-session CSRF cookie must be set */
    struct core_user user;
    int deferred;
};

/* ---------------------------------------------------------- portal.c */

/* Ends the request: sends the answer (or frees it when the browser has
 * gone) and frees pr. */
void portal_finish(struct preq *pr);
/* 303 See Other to a local path. */
void portal_redirect(struct preq *pr, const char *location);
/* A short page with a status, a heading and one sentence. */
void portal_simple(struct preq *pr, int status, const char *title, const char *text);
/* Sets the session cookie (or clears it when sid is NULL). */
void portal_set_session_cookie(struct preq *pr, const char *sid);
/* Starts a session for uid (new id: no fixation) and sets the cookie. */
int portal_login_session(struct preq *pr, int64_t uid);
/* The rate limiter: 1 when allowed (and counted), 0 when over the limit. */
int portal_rate_ok(struct preq *pr, enum portal_rl_action a);
/* The client's address bytes for in-memory limits (IPv6: its /64; behind
 * the trusted proxy, the forwarded address): never stored or logged.
 * Returns their length, 0 when unknown. */
size_t portal_source(const struct preq *pr, uint8_t out[16]);
/* How many attempts the address made in the current window. */
unsigned portal_rate_count(struct preq *pr, enum portal_rl_action a);
/* The scheme://host the browser used, for links in pages (Host checked). */
int portal_origin(struct preq *pr, char *out, size_t outlen);

/* Runs work(job) on the thread pool, then after(job) on the loop; the
 * request is deferred until after() ends it with portal_finish(). job is a
 * struct that begins with struct portal_job; it is freed (and wiped) after
 * after() returns. When the browser has gone, after() is still called (so
 * that counts stay right) with pr->res orphaned. With max_jobs running the
 * job waits in the portal's queue (portal.h) and runs later, in order;
 * run() always runs before after(). Returns 0, -EBUSY (the queue is full:
 * a Retry-After header is already set on pr->res; the caller answers 503)
 * or -EAGAIN (no thread pool); on an error the job is freed and the caller
 * answers. */
struct portal_job;
typedef void (*portal_job_fn)(struct portal_job *job);
struct portal_job {
    uv_work_t work;
    struct preq *pr;
    portal_job_fn run, after;
    size_t size; /* of the whole job struct, for the wipe */
    struct portal *p;
    struct portal_job *next; /* in the queue */
    uint64_t run_usec;       /* how long run() took (set on the worker) */
};
int portal_job_start(struct preq *pr, struct portal_job *job, size_t size, portal_job_fn run,
                     portal_job_fn after);
/* The queue under portal_job_start(), without a request (tests use it
 * directly): job is malloc'd, with run, after and size set (pr may be NULL;
 * after() must not then touch it). Starts job on the thread pool, or queues
 * it behind max_jobs running ones. 0 (job is the portal's, freed after
 * after()), -EBUSY (the queue is full) or -EAGAIN (no loop); on an error job
 * is still the caller's. Counts nothing toward jobs_refused. */
int portal_job_submit(struct portal *p, struct portal_job *job);

/* ---------------------------------------------------------- html.c */

/* Writes the page head, the top bar and opens <main>. */
void page_begin(struct preq *pr, const char *title);
/* Closes <main>, writes the footer and ends the document. */
void page_end(struct preq *pr);
/* The keypad-style dial code of a nickname or digits. big: hero size. */
void page_dial(struct preq *pr, const char *digits, int big);
/* The hidden CSRF field of a form. */
void page_csrf(struct preq *pr);
/* One labelled input with its error and hint. type "text", "email",
 * "password"...; value kept (pass NULL for passwords). */
void page_input(struct preq *pr, const char *name, const char *label, const char *type,
                const char *value, const char *autocomplete, const char *err,
                const char *hint);
/* Formats unix seconds as "2026-12-01" into out[11]. */
void page_date(int64_t t, char out[32]);
/* A message the person can act on for a core refusal. */
const char *portal_message(int err);
/* The notice for a ?m= code after a redirect, or NULL. */
const char *portal_notice(const char *code);

/* ---------------------------------------------------------- pages */

void page_home(struct preq *pr);
void page_healthz(struct preq *pr);
void page_asset(struct preq *pr);
void page_privacy(struct preq *pr);

void page_signup(struct preq *pr);
void post_signup(struct preq *pr);
void page_login(struct preq *pr);
void post_login(struct preq *pr);
void post_logout(struct preq *pr);
void post_logout_all(struct preq *pr);
void page_verify(struct preq *pr);
void post_verify(struct preq *pr);
void page_forgot(struct preq *pr);
void post_forgot(struct preq *pr);
void page_reset(struct preq *pr);
void post_reset(struct preq *pr);
void page_invite(struct preq *pr);
void post_invite(struct preq *pr);

void page_account(struct preq *pr);
void post_nickname(struct preq *pr);
void post_password(struct preq *pr);
void post_active_group(struct preq *pr);
void post_sip(struct preq *pr);
void post_delete_account(struct preq *pr);

void page_groups(struct preq *pr);
void post_groups(struct preq *pr);
void page_group(struct preq *pr);
void post_group_cap(struct preq *pr);
void post_group_invite(struct preq *pr);
void post_group_revoke(struct preq *pr);
void post_group_kick(struct preq *pr);
void post_group_ban(struct preq *pr);
void post_group_unban(struct preq *pr);
void post_group_leave(struct preq *pr);
void post_group_transfer(struct preq *pr);
void post_group_delete(struct preq *pr);

/* Renders the group page of pr->param, with msg next to the form named by
 * field ("members", "invite", "cap", "bans", "delete", "leave"; NULL: at the
 * top), and the invitation link shown once. */
void group_render(struct preq *pr, int status, const char *field, const char *msg,
                  const char *invite_link);

#endif
