/*
 * portal/html.c - the page layout, form pieces, messages, the start page,
 * the static assets and the privacy page.
 *
 * Every byte of markup goes through http_html_printf(), which escapes each
 * %s argument: text from people and from the database is never pasted raw.
 */
#include "portal/internal.h"
#include "portal/assets.h"

#include "core/errors.h"
#include "crypto/hash.h"
#include "store/migrations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void page_begin(struct preq *pr, const char *title)
{
    struct http_response *res = pr->res;
    res->content_type = "text/html; charset=utf-8";
    http_html_printf(res,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>%s · T9phone</title>"
        "<link rel=\"stylesheet\" href=\"/assets/style.css\">"
        "<link rel=\"icon\" href=\"/assets/logo.svg\" type=\"image/svg+xml\">"
        "<script src=\"/assets/app.js\" defer></script></head><body>"
        "<header class=\"top\"><a class=\"brand\" href=\"/\">"
        "<img src=\"/assets/logo.svg\" alt=\"\" width=\"32\" height=\"32\">T9phone</a>"
        "<nav class=\"main\" aria-label=\"Main\">", title);
    if (pr->uid) {
        http_html_printf(res,
            "<a href=\"/groups\">Groups</a><a href=\"/account\">Account</a>"
            "<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" "
            "value=\"%s\"><button class=\"link\" type=\"submit\">Log out</button></form>",
            pr->csrf);
    } else {
        http_html_printf(res, "<a href=\"/login\">Log in</a><a href=\"/signup\">Sign up</a>");
    }
    http_html_printf(res, "</nav></header><main id=\"main\">");
    const char *notice = portal_notice(portal_form_get(&pr->q, "m", NULL));
    if (notice)
        http_html_printf(res, "<p class=\"notice\" role=\"status\">%s</p>", notice);
}

void page_end(struct preq *pr)
{
    http_html_printf(pr->res,
        "</main><footer><p><a href=\"/privacy\">What we store</a> · T9phone stores no call "
        "records, no IP addresses and no device data.</p></footer></body></html>\n");
}

static const char *const keypad_letters[10] = { "", "", "abc", "def", "ghi", "jkl",
                                                "mno", "pqrs", "tuv", "wxyz" };

void page_dial(struct preq *pr, const char *digits, int big)
{
    http_html_printf(pr->res, "<span class=\"dial%s\" role=\"img\" aria-label=\"dial code %s\">",
                     big ? " big" : "", digits);
    for (const char *d = digits; *d; d++) {
        int k = *d - '0';
        if (k < 2 || k > 9)
            continue;
        http_html_printf(pr->res, "<span class=\"key\" aria-hidden=\"true\"><b>%c</b>"
                         "<small>%s</small></span>", *d, keypad_letters[k]);
    }
    http_html_printf(pr->res, "</span>");
}

void page_csrf(struct preq *pr)
{
    http_html_printf(pr->res, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", pr->csrf);
}

void page_input(struct preq *pr, const char *name, const char *label, const char *type,
                const char *value, const char *autocomplete, const char *err,
                const char *hint)
{
    struct http_response *res = pr->res;
    http_html_printf(res, "<label for=\"f-%s\">%s</label>", name, label);
    http_html_printf(res, "<input id=\"f-%s\" name=\"%s\" type=\"%s\"", name, name, type);
    if (value && value[0])
        http_html_printf(res, " value=\"%s\"", value);
    if (autocomplete)
        http_html_printf(res, " autocomplete=\"%s\"", autocomplete);
    if (strcmp(name, "nickname") == 0) /* app.js shows its dial code as it is typed */
        http_html_printf(res, " data-dial-target=\"dial-live\" autocapitalize=\"none\" "
                         "spellcheck=\"false\"");
    if (hint || err)
        http_html_printf(res, " aria-describedby=\"%s%s%s%s\"", hint ? "h-" : "",
                         hint ? name : "", err ? (hint ? " e-" : "e-") : "", err ? name : "");
    if (err)
        http_html_printf(res, " aria-invalid=\"true\"");
    http_html_printf(res, " required>");
    if (hint)
        http_html_printf(res, "<p class=\"hint\" id=\"h-%s\">%s</p>", name, hint);
    if (err)
        http_html_printf(res, "<p class=\"error\" id=\"e-%s\">%s</p>", name, err);
}

void page_date(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%d", &tm) == 0)
        snprintf(out, 32, "-");
}

const char *portal_message(int err)
{
    switch (err) {
    case CORE_E_BAD_EMAIL: return "This does not look like an email address. Check it for typos.";
    case CORE_E_BAD_NICKNAME: return "A nickname is 6 to 12 letters from a to z, nothing else.";
    case CORE_E_BAD_PASSWORD:
        return "Choose a password of at least 10 characters that is not your email or "
               "nickname. A few words in a row work well.";
    case CORE_E_BAD_NAME: return "Give the group a name of 1 to 64 characters.";
    case CORE_E_EMAIL_TAKEN:
        return "An account with this email exists already. Log in, or reset its password.";
    case CORE_E_BAD_LOGIN: return "Wrong email or password.";
    case CORE_E_LOCKED:
        return "Too many wrong passwords: this account is locked for 15 minutes. "
               "Try again later, or reset the password.";
    case CORE_E_EXPIRED: return "This link has expired.";
    case CORE_E_REVOKED: return "This invitation was withdrawn by the group's owner.";
    case CORE_E_USED_UP: return "This invitation has been used as often as it allows.";
    case CORE_E_WRONG_EMAIL:
        return "This invitation was sent to a different email address. Log in with that "
               "account, or ask the owner for a new invitation.";
    case CORE_E_BANNED: return "You cannot join this group.";
    case CORE_E_FULL: return "This group is full. Ask its owner to raise the member limit.";
    case CORE_E_COLLISION:
        return "Someone in the group already has your dial code. Change your nickname, "
               "then use the invitation again.";
    case CORE_E_ALREADY_MEMBER: return "You are already a member of this group.";
    case CORE_E_NOT_MEMBER: return "That person is not a member of this group.";
    case CORE_E_NOT_OWNER: return "Only the group's owner can do that.";
    case CORE_E_IS_OWNER:
        return "The owner cannot leave or be removed: hand the group to someone else first, "
               "or delete it.";
    case CORE_E_CAP_TOO_LOW:
        return "The group has more members than that. Choose a limit at least as large.";
    case CORE_E_BAD_CAP: return "Choose a member limit between 1 and 1000.";
    case CORE_E_SELF: return "You cannot do that to yourself.";
    case CORE_E_NOT_BANNED: return "That person is not banned.";
    case CORE_E_VERIFIED: return "Your email address is verified already.";
    case CORE_E_SLUG_TAKEN: return "Too many groups have this name. Choose another.";
    case -ENOENT: return "That was not found. The link may be wrong, or already used.";
    default: return "Something went wrong on our side. Please try again in a minute.";
    }
}

const char *portal_notice(const char *code)
{
    static const struct { const char *code, *text; } notices[] = {
        { "welcome", "Welcome! Your account is ready." },
        { "loggedout", "You are logged out." },
        { "everywhere", "You are logged out on every device." },
        { "nickname", "Your nickname is changed." },
        { "password", "Your password is changed. Other devices are logged out." },
        { "active", "Your active group is saved." },
        { "deleted", "Your account and everything in it are erased." },
        { "verified", "Your email address is verified." },
        { "reset", "Your password is changed. Log in with the new one." },
        { "sent", "If an account uses that address, a link to reset its password is on its way." },
        { "created", "Your group is ready. Invite people below." },
        { "joined", "You joined the group." },
        { "cap", "The member limit is changed." },
        { "revoked", "The invitation is withdrawn." },
        { "kicked", "The member is removed." },
        { "banned", "The person is banned." },
        { "unbanned", "The ban is lifted." },
        { "left", "You left the group." },
        { "transferred", "The group has a new owner." },
        { "groupdeleted", "The group is deleted." },
    };
    if (!code || !code[0])
        return NULL;
    for (size_t i = 0; i < sizeof notices / sizeof notices[0]; i++)
        if (strcmp(code, notices[i].code) == 0)
            return notices[i].text;
    return NULL;
}

/* ------------------------------------------------------------- start page */

void page_home(struct preq *pr)
{
    if (strcmp(pr->path, "/") != 0) {
        portal_simple(pr, 404, "Not found", "There is no page at this address.");
        return;
    }
    page_begin(pr, "Calls between friends, by nickname");
    struct http_response *res = pr->res;
    http_html_printf(res, "<h1>Call your people by their nickname</h1>");
    if (pr->uid) {
        http_html_printf(res, "<div class=\"card\"><p>You are <strong>%s</strong>. Your dial "
                         "code:</p>", pr->user.nickname);
        page_dial(pr, pr->user.dial_code, 1);
        http_html_printf(res, "<p><a class=\"button\" href=\"/groups\">Your groups</a></p></div>");
    } else {
        http_html_printf(res,
            "<div class=\"card\"><p>Pick a nickname of 6 to 12 letters. Its keys on a phone "
            "keypad are your dial code: <strong>marina</strong> dials</p>");
        page_dial(pr, "627462", 1);
        http_html_printf(res,
            "<p>Form groups with the people you know. Members call each other from any SIP "
            "phone app by dialing these codes. Nobody outside your groups can reach you.</p>"
            "<p><a class=\"button\" href=\"/signup\">Sign up</a> "
            "<a class=\"button secondary\" href=\"/login\">Log in</a></p></div>");
    }
    page_end(pr);
}

/* ------------------------------------------------------------------ assets */

static const char *asset_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot && strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    if (dot && strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    if (dot && strcmp(dot, ".svg") == 0)
        return "image/svg+xml";
    return "application/octet-stream";
}

void page_asset(struct preq *pr)
{
    const struct embed_file *a = NULL;
    for (int i = 0; i < portal_assets_count; i++)
        if (strcmp(portal_assets[i].name, pr->param) == 0)
            a = &portal_assets[i];
    if (!a) {
        pr->res->status = 404;
        http_response_printf(pr->res, "404 Not Found\n");
        return;
    }
    /* The ETag is the content's hash: cheap enough per request and never
     * stale after an upgrade. */
    uint8_t h[32];
    char etag[24];
    crypto_sha256(a->data, a->len, h);
    crypto_hex(h, 8, etag + 1);
    etag[0] = '"';
    etag[17] = '"';
    etag[18] = '\0';
    http_response_header(pr->res, "ETag", "%s", etag);
    http_response_header(pr->res, "Cache-Control", "public, max-age=3600");
    const char *inm = http_request_header(pr->req, "If-None-Match");
    if (inm && strstr(inm, etag)) {
        pr->res->status = 304;
        return;
    }
    pr->res->content_type = asset_type(a->name);
    http_response_write(pr->res, a->data, a->len);
}

/* ----------------------------------------------------------------- privacy */

/* One tab-separated field of line [s, e): the idx-th, into out. */
static void tsv_field(const char *s, const char *e, int idx, char *out, size_t outlen)
{
    out[0] = '\0';
    for (int i = 0; i < idx && s < e; i++) {
        const char *t = memchr(s, '\t', (size_t)(e - s));
        if (!t)
            return;
        s = t + 1;
    }
    const char *t = memchr(s, '\t', (size_t)(e - s));
    size_t n = (size_t)((t ? t : e) - s);
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* The index of a header column by name, or -1. */
static int tsv_column(const char *s, const char *e, const char *name)
{
    char f[64];
    for (int i = 0; i < 16; i++) {
        tsv_field(s, e, i, f, sizeof f);
        if (strcmp(f, name) == 0)
            return i;
    }
    return -1;
}

/* Renders sql/privacy.tsv. Two layouts are understood, told apart by the
 * header line: table, column, purpose, retention (one section "What we
 * store", then a fixed list of what is never collected), or with a leading
 * section column, where rows whose table is "-" are statements (their purpose
 * is the text) and the sections come in file order. */
struct privacy_state {
    struct preq *pr;
    char section[128];
    char table[64];
    int in_section, in_table, statements;
};

static void privacy_close_table(struct privacy_state *ps)
{
    if (ps->in_table)
        http_html_printf(ps->pr->res, "</tbody></table>");
    ps->in_table = 0;
    ps->table[0] = '\0';
}

static void privacy_section(struct privacy_state *ps, const char *section)
{
    if (ps->in_section && strcmp(section, ps->section) == 0)
        return;
    privacy_close_table(ps);
    if (ps->in_section)
        http_html_printf(ps->pr->res, "</section>");
    snprintf(ps->section, sizeof ps->section, "%s", section);
    http_html_printf(ps->pr->res, "<section class=\"card\"><h2>%s</h2>", section);
    ps->in_section = 1;
}

static void privacy_column(struct privacy_state *ps, const char *table, const char *col,
                           const char *purpose, const char *keep)
{
    struct http_response *res = ps->pr->res;
    if (!ps->in_table || strcmp(table, ps->table) != 0) {
        privacy_close_table(ps);
        snprintf(ps->table, sizeof ps->table, "%s", table);
        http_html_printf(res, "<h3 id=\"t-%s\">Table <span class=\"mono\">%s</span></h3>"
                         "<table class=\"privacy stack\"><thead><tr><th scope=\"col\">Item</th>"
                         "<th scope=\"col\">Why</th><th scope=\"col\">How long</th></tr></thead>"
                         "<tbody>", table, table);
        ps->in_table = 1;
    }
    http_html_printf(res, "<tr data-col=\"%s.%s\"><td>%s</td><td data-label=\"Why\">%s</td>"
                     "<td data-label=\"How long\">%s</td></tr>", table, col, col, purpose, keep);
}

void page_privacy(struct preq *pr)
{
    struct http_response *res = pr->res;
    page_begin(pr, "What we store");
    http_html_printf(res,
        "<h1>What we store</h1><div class=\"card\"><p>This is every piece of information "
        "T9phone keeps in its database, why, and for how long. It is made from the same "
        "list the database is checked against, so it cannot fall out of date.</p></div>");
    const char *s = store_inventory[0].data;
    int cs = -1, ct = -1, cc = -1, cp = -1, cr = -1, header = 0;
    struct privacy_state ps = { .pr = pr };
    while (*s) {
        const char *e = strchr(s, '\n');
        if (!e)
            e = s + strlen(s);
        const char *next = *e ? e + 1 : e;
        if (e > s && e[-1] == '\r')
            e--;
        if (s == e || *s == '#') {
            s = next;
            continue;
        }
        if (!header) { /* the header line names the columns */
            header = 1;
            cs = tsv_column(s, e, "section");
            ct = tsv_column(s, e, "table");
            cc = tsv_column(s, e, "column");
            cp = tsv_column(s, e, "purpose");
            cr = tsv_column(s, e, "retention");
            if (ct < 0 || cc < 0)
                break;
            s = next;
            continue;
        }
        char section[128], table[64], col[64], purpose[1536], keep[512];
        if (cs >= 0)
            tsv_field(s, e, cs, section, sizeof section);
        else
            snprintf(section, sizeof section, "What we store");
        tsv_field(s, e, ct, table, sizeof table);
        tsv_field(s, e, cc, col, sizeof col);
        purpose[0] = keep[0] = '\0';
        if (cp >= 0)
            tsv_field(s, e, cp, purpose, sizeof purpose);
        if (cr >= 0)
            tsv_field(s, e, cr, keep, sizeof keep);
        privacy_section(&ps, section);
        if (strcmp(table, "-") == 0) {
            privacy_close_table(&ps);
            ps.statements++;
            http_html_printf(res, "<p data-statement=\"%s\">%s", col, purpose);
            if (keep[0])
                http_html_printf(res, " <span class=\"hint\">%s</span>", keep);
            http_html_printf(res, "</p>");
        } else {
            privacy_column(&ps, table, col, purpose, keep);
        }
        s = next;
    }
    privacy_close_table(&ps);
    if (ps.in_section)
        http_html_printf(res, "</section>");
    if (!ps.statements)
        http_html_printf(res,
            "<section class=\"card\"><h2>What we never collect</h2><ul>"
            "<li>No call records: who called whom, when and for how long is never written "
            "down.</li>"
            "<li>No IP addresses, in the database or in the logs.</li>"
            "<li>No device data: no phone model, app name or user agent.</li>"
            "<li>No audio: calls go phone to phone, encrypted end to end, and the relay sees "
            "only encrypted packets.</li>"
            "<li>No tracking, no third-party scripts, fonts or analytics on these pages.</li>"
            "<li>Counters of the service as a whole (how many requests, how many calls "
            "relayed) are kept in memory and never name a person or an address.</li></ul>"
            "</section>");
    page_end(pr);
}
