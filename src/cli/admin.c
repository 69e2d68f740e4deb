/*
 * cli/admin.c - see admin.h.
 */
#include "cli/admin.h"
#include "core/accounts.h"
#include "core/core.h"
#include "core/errors.h"
#include "core/groups.h"
#include "core/sipcred.h"
#include "crypto/hash.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The options the admin commands know; all take a value. */
static const char *const options[] = { "--email", "--nickname", "--owner", "--cap", NULL };

/* Switches: options without a value. */
#define SHOW_PASSWORD "--show-password"

#define MAX_POS 4

struct args {
    const char *cmd, *sub;
    const char *email, *nickname, *owner, *cap;
    int show_password;
    const char *pos[MAX_POS];
    int npos;
};

struct ctx {
    struct store *st;
    const struct cli_env *env;
    struct core_cfg cfg;
    const struct args *a;
    int64_t now;
};

int cli_admin_option(const char *arg)
{
    if (strcmp(arg, SHOW_PASSWORD) == 0)
        return 2; /* no separate value word */
    for (int i = 0; options[i]; i++) {
        size_t n = strlen(options[i]);
        if (strncmp(arg, options[i], n) == 0) {
            if (arg[n] == '\0')
                return 1;
            if (arg[n] == '=')
                return 2;
        }
    }
    return 0;
}

void cli_admin_usage(FILE *f)
{
    fputs("usage:\n"
          "  t9phone user add --email EMAIL --nickname NICKNAME   (password: first line of stdin)\n"
          "  t9phone user list\n"
          "  t9phone user unverified\n"
          "  t9phone user delete EMAIL\n"
          "  t9phone user unlock EMAIL\n"
          "  t9phone user sip EMAIL [--show-password]\n"
          "  t9phone group list\n"
          "  t9phone group add NAME --owner EMAIL [--cap N]\n"
          "  t9phone group join SLUG EMAIL\n"
          "exit status: 0 done, 1 refused, 2 usage error, 3 internal error\n",
          f);
}

static int usage(const struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage(const struct ctx *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(c->env->err, "t9phone %s%s%s: ", c->a->cmd, c->a->sub ? " " : "",
            c->a->sub ? c->a->sub : "");
    va_start(ap, fmt);
    vfprintf(c->env->err, fmt, ap);
    va_end(ap);
    fputc('\n', c->env->err);
    cli_admin_usage(c->env->err);
    return CLI_USAGE;
}

/* One-line error for a core/ failure: a refusal (status 1) or an internal
 * error (3: database, wrong secret key). */
static int fail(const struct ctx *c, int rc, const char *subject)
{
    fprintf(c->env->err, "t9phone %s %s: %s%s%s\n", c->a->cmd, c->a->sub,
            subject ? subject : "", subject ? ": " : "", core_strerror(rc));
    return core_is_refusal(rc) ? CLI_REFUSED : CLI_INTERNAL;
}

static int no_key(const struct ctx *c)
{
    fprintf(c->env->err, "t9phone %s %s: no secret key (secret-key-file)\n", c->a->cmd,
            c->a->sub);
    return CLI_INTERNAL;
}

/* ------------------------------------------------------------- parsing */

static int parse(int argc, char **argv, struct args *a, const char **bad)
{
    memset(a, 0, sizeof *a);
    *bad = NULL;
    if (argc < 1)
        return -1;
    a->cmd = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, SHOW_PASSWORD) == 0) {
            if (a->show_password) {
                *bad = arg;
                return -3;
            }
            a->show_password = 1;
            continue;
        }
        int kind = cli_admin_option(arg);
        if (kind) {
            const char *val;
            size_t n = strcspn(arg, "=");
            if (kind == 1) {
                if (i + 1 >= argc) {
                    *bad = arg;
                    return -2;
                }
                val = argv[++i];
            } else {
                val = arg + n + 1;
            }
            const char **slot = strncmp(arg, "--email", n) == 0      ? &a->email
                                : strncmp(arg, "--nickname", n) == 0 ? &a->nickname
                                : strncmp(arg, "--owner", n) == 0    ? &a->owner
                                                                     : &a->cap;
            if (*slot) {
                *bad = arg;
                return -3;
            }
            *slot = val;
            continue;
        }
        if (arg[0] == '-' && arg[1] != '\0') {
            *bad = arg;
            return -4;
        }
        if (!a->sub) {
            a->sub = arg;
            continue;
        }
        if (a->npos == MAX_POS) {
            *bad = arg;
            return -5;
        }
        a->pos[a->npos++] = arg;
    }
    return 0;
}

#define OPT_EMAIL 0x1u
#define OPT_NICKNAME 0x2u
#define OPT_OWNER 0x4u
#define OPT_CAP 0x8u
#define OPT_SHOW_PASSWORD 0x10u

/* Checks that exactly the listed options and npos positionals are there. */
static int expect(const struct ctx *c, int npos, unsigned opts)
{
    const struct args *a = c->a;
    const char *given[] = { a->email, a->nickname, a->owner, a->cap };
    for (int i = 0; i < 4; i++) {
        if (given[i] && !(opts & (1u << i)))
            return usage(c, "option %s is not used here", options[i]);
    }
    if (a->show_password && !(opts & OPT_SHOW_PASSWORD))
        return usage(c, "option %s is not used here", SHOW_PASSWORD);
    if (a->npos > npos)
        return usage(c, "unexpected argument '%s'", a->pos[npos]);
    if (a->npos < npos)
        return usage(c, "missing argument");
    return 0;
}


/* The account of an email, or a printed refusal. */
static int user_by_email(const struct ctx *c, const char *email, int64_t *uid)
{
    int rc = core_accounts_find_email(c->st, email, uid);
    if (rc < 0) {
        fail(c, rc, email);
        return rc == -ENOENT ? CLI_REFUSED : CLI_INTERNAL;
    }
    return 0;
}

/* ---------------------------------------------------------------- user */

/* Reads the password: the first line of env->in, without its line end,
 * with its real length. A NUL byte in it is refused, never a silent cut
 * (fgets and strlen would keep only what comes before it); so is a line
 * longer than cap - 1 bytes. */
static int read_password(const struct ctx *c, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    int ch, nul = 0, line_end = 0;
    *len = 0;
    while ((ch = getc(c->env->in)) != EOF) {
        if (ch == '\n') {
            line_end = 1;
            break;
        }
        if (ch == '\0')
            nul = 1;
        if (n + 1 >= cap) {
            crypto_wipe(buf, cap);
            fprintf(c->env->err, "t9phone user add: %s\n", core_strerror(CORE_E_BAD_PASSWORD));
            return CLI_REFUSED;
        }
        buf[n++] = (char)ch;
    }
    if (n == 0 && !line_end) {
        fprintf(c->env->err, "t9phone user add: password expected on the first line of stdin\n");
        return CLI_USAGE;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (nul) {
        crypto_wipe(buf, cap);
        fprintf(c->env->err, "t9phone user add: the password holds a NUL byte: %s\n",
                core_strerror(CORE_E_BAD_PASSWORD));
        return CLI_REFUSED;
    }
    *len = n;
    return 0;
}

static int user_add(const struct ctx *c)
{
    int rc = expect(c, 0, OPT_EMAIL | OPT_NICKNAME);
    if (rc)
        return rc;
    if (!c->a->email || !c->a->nickname)
        return usage(c, "--email and --nickname are required");
    if (!c->env->secret_key)
        return no_key(c);
    char pw[CORE_PASSWORD_MAX + 4], email[CORE_EMAIL_SIZE], nick[CORE_NICK_SIZE];
    size_t len;
    /* Check the names before reading the password, so a typo is reported
     * without waiting for stdin. */
    rc = core_accounts_normalise_email(c->a->email, strlen(c->a->email), email);
    if (rc == 0)
        rc = core_t9_normalise_nickname(c->a->nickname, strlen(c->a->nickname), nick);
    if (rc < 0)
        return fail(c, rc, NULL);
    if ((rc = read_password(c, pw, sizeof pw, &len)) != 0)
        return rc;
    int64_t uid;
    rc = core_accounts_signup(c->st, &c->cfg, c->a->email, c->a->nickname, pw, len,
                              CORE_SIGNUP_VERIFIED, c->now, &uid, NULL);
    crypto_wipe(pw, sizeof pw);
    if (rc < 0)
        return fail(c, rc, NULL);
    struct core_user u;
    char sip[CORE_SIP_USER_SIZE];
    if ((rc = core_accounts_get(c->st, uid, &u)) < 0 ||
        (rc = core_sipcred_username(c->st, uid, sip)) < 0)
        return fail(c, rc, NULL);
    fprintf(c->env->out, "%s\t%s\t%s\t%s\n", u.email, u.nickname, u.dial_code, sip);
    return CLI_OK;
}

static int print_user(void *arg, const struct core_user *u)
{
    const struct ctx *c = arg;
    char when[32] = "-";
    struct tm tm;
    time_t t = (time_t)u->created;
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *state = u->locked_until > c->now ? "locked" : !u->verified ? "unverified" : "ok";
    fprintf(c->env->out, "%s\t%s\t%s\t%s\t%s\n", u->email, u->nickname, u->dial_code, when,
            state);
    return 0;
}

static void iso_time(int64_t t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    snprintf(out, 32, "-");
    if (gmtime_r(&tt, &tm))
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int print_unverified(void *arg, const struct core_user *u)
{
    const struct ctx *c = arg;
    char when[32], until[32];
    if (u->verified)
        return 0;
    iso_time(u->created, when);
    iso_time(u->unverified_until, until);
    fprintf(c->env->out, "%s\t%s\t%s\t%s\n", u->email, u->nickname, when, until);
    return 0;
}

/* Accounts whose address was never verified, with the time the purge
 * deletes each (core/accounts.h: CORE_UNVERIFIED_GRACE). */
static int user_unverified(const struct ctx *c)
{
    int rc = expect(c, 0, 0);
    if (rc)
        return rc;
    rc = core_accounts_list(c->st, print_unverified, (void *)c);
    return rc < 0 ? fail(c, rc, NULL) : CLI_OK;
}

static int user_list(const struct ctx *c)
{
    int rc = expect(c, 0, 0);
    if (rc)
        return rc;
    rc = core_accounts_list(c->st, print_user, (void *)c);
    return rc < 0 ? fail(c, rc, NULL) : CLI_OK;
}

static int user_delete(const struct ctx *c)
{
    int64_t uid;
    int rc = expect(c, 1, 0);
    if (rc || (rc = user_by_email(c, c->a->pos[0], &uid)))
        return rc;
    rc = core_accounts_delete(c->st, uid, c->now);
    return rc < 0 ? fail(c, rc, c->a->pos[0]) : CLI_OK;
}

static int user_unlock(const struct ctx *c)
{
    int64_t uid;
    int rc = expect(c, 1, 0);
    if (rc || (rc = user_by_email(c, c->a->pos[0], &uid)))
        return rc;
    rc = core_accounts_unlock(c->st, uid);
    return rc < 0 ? fail(c, rc, c->a->pos[0]) : CLI_OK;
}

/* The SIP username; the password only on request, and the operator is
 * told why each time: it is as good as the phone (and opens TURN). */
static int user_sip(const struct ctx *c)
{
    int64_t uid;
    int rc = expect(c, 1, OPT_SHOW_PASSWORD);
    if (rc || (rc = user_by_email(c, c->a->pos[0], &uid)))
        return rc;
    char user[CORE_SIP_USER_SIZE], pass[CORE_SIP_PASS_SIZE];
    if (!c->a->show_password) {
        if ((rc = core_sipcred_username(c->st, uid, user)) < 0)
            return fail(c, rc, c->a->pos[0]);
        fprintf(c->env->out, "sip-username=%s\n", user);
        fprintf(c->env->err,
                "t9phone user sip: the SIP password is not shown: it is decrypted only for "
                "setting up a phone, and anyone who reads it can register and relay as that "
                "phone. Add " SHOW_PASSWORD " to set up a phone by hand.\n");
        return CLI_OK;
    }
    if (!c->env->secret_key)
        return no_key(c);
    rc = core_sipcred_reveal(c->st, &c->cfg, uid, user, pass);
    if (rc < 0)
        return fail(c, rc, c->a->pos[0]);
    fprintf(c->env->out, "sip-username=%s\nsip-password=%s\n", user, pass);
    crypto_wipe(pass, sizeof pass);
    fprintf(c->env->err,
            "t9phone user sip: showing the decrypted SIP password because " SHOW_PASSWORD
            " was given; it is as good as the phone itself: enter it in the phone and "
            "keep it nowhere else.\n");
    return CLI_OK;
}

/* --------------------------------------------------------------- group */

static int print_group(void *arg, const struct core_group *g)
{
    const struct ctx *c = arg;
    struct core_user owner;
    /* Listing callbacks may call core: the listing holds its own statement. */
    if (g->owner_id == 0 || core_accounts_get(c->st, g->owner_id, &owner) < 0)
        snprintf(owner.email, sizeof owner.email, "-");
    fprintf(c->env->out, "%s\t%s\t%d\t%d\t%s\n", g->slug, g->name, g->members, g->member_cap,
            owner.email);
    return 0;
}

static int group_list(const struct ctx *c)
{
    int rc = expect(c, 0, 0);
    if (rc)
        return rc;
    rc = core_groups_list(c->st, print_group, (void *)c);
    return rc < 0 ? fail(c, rc, NULL) : CLI_OK;
}

static int group_add(const struct ctx *c)
{
    int rc = expect(c, 1, OPT_OWNER | OPT_CAP);
    if (rc)
        return rc;
    if (!c->a->owner)
        return usage(c, "--owner is required");
    int cap = 0;
    if (c->a->cap) {
        char *end;
        errno = 0;
        long v = strtol(c->a->cap, &end, 10);
        if (errno || *end || end == c->a->cap || v < 1 || v > CORE_GROUP_MAX_CAP)
            return fail(c, CORE_E_BAD_CAP, c->a->cap);
        cap = (int)v;
    }
    int64_t owner, gid;
    if ((rc = user_by_email(c, c->a->owner, &owner)))
        return rc;
    char slug[CORE_SLUG_SIZE];
    rc = core_groups_create(c->st, owner, c->a->pos[0], cap, c->now, &gid, slug);
    if (rc < 0)
        return fail(c, rc, NULL);
    fprintf(c->env->out, "%s\n", slug);
    return CLI_OK;
}

static int group_join(const struct ctx *c)
{
    int rc = expect(c, 2, 0);
    if (rc)
        return rc;
    int64_t gid, uid;
    rc = core_groups_find_slug(c->st, c->a->pos[0], &gid);
    if (rc < 0)
        return fail(c, rc, c->a->pos[0]);
    if ((rc = user_by_email(c, c->a->pos[1], &uid)))
        return rc;
    rc = core_groups_add_member(c->st, gid, uid, c->now);
    return rc < 0 ? fail(c, rc, NULL) : CLI_OK;
}

/* ---------------------------------------------------------------- main */

struct command {
    const char *cmd, *sub;
    int (*run)(const struct ctx *c);
};

static const struct command commands[] = {
    { "user", "add", user_add },       { "user", "list", user_list },
    { "user", "delete", user_delete }, { "user", "unlock", user_unlock },
    { "user", "sip", user_sip },       { "user", "unverified", user_unverified },
    { "group", "list", group_list },
    { "group", "add", group_add },     { "group", "join", group_join },
};

int cli_admin_main(struct store *st, const struct cli_env *env, int argc, char **argv)
{
    struct args a;
    const char *bad;
    struct ctx c = { st, env,
                     { env->realm ? env->realm : "t9phone.local", env->secret_key,
                       env->bcrypt_cost },
                     &a,
                     (int64_t)time(NULL) };
    int rc = parse(argc, argv, &a, &bad);
    if (rc == -1 || !a.cmd) {
        cli_admin_usage(env->err);
        return CLI_USAGE;
    }
    switch (rc) {
    case -2:
        return usage(&c, "option %s needs a value", bad);
    case -3:
        return usage(&c, "option %s given twice", bad);
    case -4:
        return usage(&c, "unknown option %s", bad);
    case -5:
        return usage(&c, "unexpected argument '%s'", bad);
    default:
        break;
    }
    if (!a.sub) {
        fprintf(env->err, "t9phone %s: missing subcommand\n", a.cmd);
        cli_admin_usage(env->err);
        return CLI_USAGE;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].cmd, a.cmd) == 0 && strcmp(commands[i].sub, a.sub) == 0) {
            rc = commands[i].run(&c);
            fflush(env->out);
            return rc;
        }
    fprintf(env->err, "t9phone %s: unknown subcommand '%s'\n", a.cmd, a.sub);
    cli_admin_usage(env->err);
    return CLI_USAGE;
}
