/*
 * sip/build.c - the editor a proxy forwards with (RFC 3261 section 16.6)
 * and the response builder (section 8.2.6, RFC 3581 section 4). See
 * sip/msg.h.
 *
 * Both work by splicing: a list of (offset, bytes deleted, bytes inserted)
 * over the original buffer, applied in offset order, so that every byte no
 * edit touches is copied as it came (folding, compact names, odd spacing).
 */
#include "sip/lex.h"
#include "sip/msg.h"
#include "sip/parse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ output */

struct wbuf {
    char *p;
    size_t cap, len;
    int err;
};

static void w_put(struct wbuf *w, const void *s, size_t n)
{
    if (w->err)
        return;
    if (n > w->cap - w->len) {
        w->err = -ENOSPC;
        return;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void w_str(struct wbuf *w, const char *s) { w_put(w, s, strlen(s)); }

static void w_uint(struct wbuf *w, unsigned long v)
{
    char d[24];
    int n = snprintf(d, sizeof d, "%lu", v);
    w_put(w, d, (size_t)n);
}

/* A splice resolved to pointers (the editor's ops point into e->space,
 * the write-time ones into local storage). */
struct splice {
    size_t off, del;
    const char *ins;
    size_t n;
    unsigned seq;
};

/* Inserts first, then the deletion, at one offset; else offset order. */
static int splice_before(const struct splice *a, const struct splice *b)
{
    if (a->off != b->off)
        return a->off < b->off;
    if ((a->del > 0) != (b->del > 0))
        return a->del == 0;
    return a->seq < b->seq;
}

static void splice_sort(struct splice *s, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct splice x = s[i];
        size_t j = i;
        while (j > 0 && splice_before(&x, &s[j - 1])) {
            s[j] = s[j - 1];
            j--;
        }
        s[j] = x;
    }
}

/* Writes base[from .. to) with the sorted splices applied (all inside the
 * range). Returns 0 or -EINVAL when two splices touch the same bytes. */
static int splice_write(struct wbuf *w, const char *base, size_t from, size_t to,
                        const struct splice *s, size_t n)
{
    size_t pos = from;
    for (size_t i = 0; i < n; i++) {
        if (s[i].off < pos || s[i].off + s[i].del > to)
            return -EINVAL;
        w_put(w, base + pos, s[i].off - pos);
        w_put(w, s[i].ins, s[i].n);
        pos = s[i].off + s[i].del;
    }
    w_put(w, base + pos, to - pos);
    return 0;
}

/* ------------------------------------------------------------ checks */

/* Header text from a caller: no CR, LF, NUL or other control but HTAB. */
static int text_ok(const char *s)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7F)
            return 0;
    return 1;
}

static int token_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && sip_lex_token(s, n) == n;
}

static int host_ok(const char *s)
{
    struct sip_str h;
    uint8_t t;
    uint16_t port;
    const char *after, *end = s + strlen(s);
    return sip_scan_hostport(s, end, 1, &h, &t, &port, &after) == 0 && after == end &&
           port == 0 && t != SIP_HOST_NAME;
}

/* ------------------------------------------------------------ editor */

void sip_edit_init(struct sip_edit *e, const struct sip_msg *m)
{
    memset(e, 0, sizeof *e);
    e->m = m;
    if (m->head_len == 0 || m->fault != SIP_F_NONE)
        e->err = -EINVAL;
}

static int sp_put(struct sip_edit *e, const char *s, size_t n)
{
    if (e->err)
        return -1;
    if (n > SIP_EDIT_SPACE - e->used) {
        e->err = -ENOSPC;
        return -1;
    }
    memcpy(e->space + e->used, s, n);
    e->used += n;
    return 0;
}

static void sp_str(struct sip_edit *e, const char *s) { sp_put(e, s, strlen(s)); }

/* Records the bytes put into space since start as the insertion of an op. */
static void op_commit(struct sip_edit *e, size_t off, size_t del, size_t start)
{
    if (e->err)
        return;
    if (e->nop == SIP_EDIT_MAX_OPS) {
        e->err = -ENOSPC;
        return;
    }
    struct sip_edit_op *o = &e->op[e->nop];
    o->off = (uint32_t)off;
    o->del = (uint32_t)del;
    o->ins_off = (uint16_t)start;
    o->ins = (uint16_t)(e->used - start);
    o->seq = (uint16_t)e->nop;
    e->nop++;
}

static size_t off_of(const struct sip_edit *e, const char *p) { return (size_t)(p - e->m->buf); }

static void op_replace(struct sip_edit *e, struct sip_str what, const char *with)
{
    size_t start = e->used;
    sp_str(e, with);
    op_commit(e, off_of(e, what.p), what.n, start);
}

static void op_insert_line(struct sip_edit *e, size_t off, const char *name, const char *value)
{
    size_t start = e->used;
    sp_str(e, name);
    sp_str(e, ": ");
    sp_str(e, value);
    sp_str(e, "\r\n");
    op_commit(e, off, 0, start);
}

static size_t head_end(const struct sip_msg *m) { return m->head_len - 2; }

/* The header line holding p. */
static const struct sip_hdr *hdr_holding(const struct sip_msg *m, const char *p)
{
    size_t off = (size_t)(p - m->buf);
    for (size_t i = 0; i < m->nhdrs; i++)
        if (off >= m->hdrs[i].off && off < m->hdrs[i].off + m->hdrs[i].len)
            return &m->hdrs[i];
    return NULL;
}

/* The n-th element of a list header as (text) slices, or absent. */
static struct sip_str list_elem(const struct sip_msg *m, enum sip_hdr_id id, size_t i)
{
    struct sip_str none = { NULL, 0 };
    switch (id) {
    case SIP_H_VIA: return i < m->nvia ? m->via[i].text : none;
    case SIP_H_ROUTE: return i < m->nroute ? m->route[i].text : none;
    case SIP_H_RECORD_ROUTE: return i < m->nrecord_route ? m->record_route[i].text : none;
    case SIP_H_PATH: return i < m->npath ? m->path[i].text : none;
    default: return none;
    }
}

static int is_list(enum sip_hdr_id id)
{
    return id == SIP_H_VIA || id == SIP_H_ROUTE || id == SIP_H_RECORD_ROUTE || id == SIP_H_PATH;
}

void sip_edit_list_prepend(struct sip_edit *e, enum sip_hdr_id id, const char *value)
{
    if (e->err)
        return;
    if (!is_list(id) || !value || !*value || !text_ok(value)) {
        e->err = -EINVAL;
        return;
    }
    const struct sip_msg *m = e->m;
    const struct sip_hdr *h = sip_msg_find(m, id, NULL);
    size_t off;
    if (h)
        off = h->off;
    else if (id == SIP_H_VIA)
        off = m->nhdrs ? m->hdrs[0].off : head_end(m);
    else
        off = head_end(m);
    op_insert_line(e, off, sip_hdr_name(id), value);
}

void sip_edit_list_remove_top(struct sip_edit *e, enum sip_hdr_id id)
{
    if (e->err)
        return;
    if (!is_list(id)) {
        e->err = -EINVAL;
        return;
    }
    const struct sip_msg *m = e->m;
    struct sip_str top = list_elem(m, id, 0), next = list_elem(m, id, 1);
    if (!top.p) {
        e->err = -ENOENT;
        return;
    }
    const struct sip_hdr *h = hdr_holding(m, top.p);
    if (next.p && hdr_holding(m, next.p) == h) {
        /* "Via: a, b": remove "a, " up to the next value. */
        op_commit(e, off_of(e, top.p), (size_t)(next.p - top.p), e->used);
    } else {
        op_commit(e, h->off, h->len, e->used);
    }
}

/* Finds the parameter name in a validated header-parameter slice. */
static int gparam_locate(struct sip_str params, const char *want, struct sip_str *name,
                         struct sip_str *val)
{
    if (!params.p)
        return 0;
    const char *p = params.p, *end = params.p + params.n;
    while (sip_gparam_next(&p, end, name, val) == 1)
        if (sip_str_ieq(*name, want))
            return 1;
    return 0;
}

/* The splices that put received/rport into a Via (shared with the response
 * builder). out[] gets up to 2 entries; text is where their bytes go. */
static size_t via_splices(const struct sip_msg *m, const struct sip_via *v, const char *received,
                          int rport, char *text, size_t cap, struct splice *out)
{
    size_t n = 0, used = 0;
    struct sip_str name, val;
    if (rport > 0 && rport <= 65535 && v->rport && gparam_locate(v->params, "rport", &name, &val)) {
        int k = snprintf(text, cap, val.p ? "%d" : "=%d", rport);
        if (val.p)
            out[n++] = (struct splice){ (size_t)(val.p - m->buf), val.n, text, (size_t)k, 0 };
        else
            out[n++] = (struct splice){ (size_t)(name.p + name.n - m->buf), 0, text, (size_t)k, 0 };
        used = (size_t)k;
    }
    if (received) {
        char *t = text + used;
        if (v->received.p) {
            int k = snprintf(t, cap - used, "%s", received);
            out[n++] = (struct splice){ (size_t)(v->received.p - m->buf), v->received.n, t,
                                        (size_t)k, 1 };
        } else {
            int k = snprintf(t, cap - used, ";received=%s", received);
            out[n++] = (struct splice){ (size_t)(v->text.p + v->text.n - m->buf), 0, t, (size_t)k,
                                        1 };
        }
    }
    return n;
}

void sip_edit_via_received(struct sip_edit *e, const char *received, int rport)
{
    if (e->err)
        return;
    const struct sip_msg *m = e->m;
    if (m->nvia == 0) {
        e->err = -ENOENT;
        return;
    }
    if ((received && (strlen(received) > 64 || !host_ok(received))) || rport > 65535) {
        e->err = -EINVAL;
        return;
    }
    char text[96];
    struct splice s[2];
    size_t n = via_splices(m, &m->via[0], received, rport, text, sizeof text, s);
    for (size_t i = 0; i < n; i++) {
        size_t start = e->used;
        sp_put(e, s[i].ins, s[i].n);
        op_commit(e, s[i].off, s[i].del, start);
    }
}

void sip_edit_max_forwards(struct sip_edit *e, int value)
{
    if (e->err)
        return;
    if (value < 0 || value > 255) {
        e->err = -EINVAL;
        return;
    }
    char d[8];
    snprintf(d, sizeof d, "%d", value);
    /* Every copy (identical repeats are tolerated by the parser). */
    const struct sip_hdr *h = NULL;
    int found = 0;
    while ((h = sip_msg_find(e->m, SIP_H_MAX_FORWARDS, h)) != NULL) {
        op_replace(e, h->value, d);
        found = 1;
    }
    if (!found)
        op_insert_line(e, head_end(e->m), "Max-Forwards", d);
}

void sip_edit_header_set(struct sip_edit *e, const char *name, const char *value)
{
    if (e->err)
        return;
    if (!token_ok(name) || (value && !text_ok(value))) {
        e->err = -EINVAL;
        return;
    }
    const struct sip_hdr *h = NULL;
    int first = 1;
    while ((h = sip_msg_find_name(e->m, name, h)) != NULL) {
        size_t start = e->used;
        if (first && value) {
            sp_str(e, name);
            sp_str(e, ": ");
            sp_str(e, value);
            sp_str(e, "\r\n");
        }
        op_commit(e, h->off, h->len, start);
        first = 0;
    }
    if (first && value)
        op_insert_line(e, head_end(e->m), name, value);
}

void sip_edit_header_add(struct sip_edit *e, const char *name, const char *value)
{
    if (e->err)
        return;
    if (!token_ok(name) || !value || !text_ok(value)) {
        e->err = -EINVAL;
        return;
    }
    op_insert_line(e, head_end(e->m), name, value);
}

/* display as a quoted-string into the editor's space. */
static void sp_quoted(struct sip_edit *e, const char *display)
{
    sp_put(e, "\"", 1);
    for (const char *c = display; *c; c++) {
        if (*c == '"' || *c == '\\')
            sp_put(e, "\\", 1);
        sp_put(e, c, 1);
    }
    sp_put(e, "\"", 1);
}

void sip_edit_display(struct sip_edit *e, enum sip_hdr_id id, const char *display)
{
    if (e->err)
        return;
    if ((id != SIP_H_FROM && id != SIP_H_TO) || (display && !text_ok(display))) {
        e->err = -EINVAL;
        return;
    }
    const struct sip_addr *a = id == SIP_H_FROM ? &e->m->from : &e->m->to;
    if (!a->text.p) {
        e->err = -ENOENT;
        return;
    }
    const char *laquot = a->uri.text.p - 1;
    size_t start = e->used;
    if (a->angle) {
        if (display) {
            sp_quoted(e, display);
            if (a->display.p) {
                op_commit(e, off_of(e, a->display.p), a->display.n, start);
            } else {
                sp_put(e, " ", 1);
                op_commit(e, off_of(e, laquot), 0, start);
            }
        } else if (a->display.p) {
            op_commit(e, off_of(e, a->display.p), (size_t)(laquot - a->display.p), start);
        }
    } else if (display) {
        sp_quoted(e, display);
        sp_put(e, " <", 2);
        op_commit(e, off_of(e, a->uri.text.p), 0, start);
        start = e->used;
        sp_put(e, ">", 1);
        op_commit(e, off_of(e, a->uri.text.p + a->uri.text.n), 0, start);
    }
}

void sip_edit_ruri(struct sip_edit *e, const char *uri)
{
    if (e->err)
        return;
    struct sip_uri u;
    if (!e->m->is_request || !uri || sip_parse_uri(uri, strlen(uri), &u) != 0) {
        e->err = -EINVAL;
        return;
    }
    op_replace(e, e->m->ruri.text, uri);
}

void sip_edit_body(struct sip_edit *e, const char *body, size_t n)
{
    if (e->err)
        return;
    e->body = body ? body : "";
    e->body_len = body ? n : 0;
    e->fix_length = 1;
}

void sip_edit_fix_length(struct sip_edit *e)
{
    if (!e->err)
        e->fix_length = 1;
}

long sip_edit_write(const struct sip_edit *e, char *out, size_t cap)
{
    if (e->err)
        return e->err;
    const struct sip_msg *m = e->m;
    struct splice s[SIP_EDIT_MAX_OPS + SIP_MAX_HEADERS + 1];
    size_t n = 0;
    for (size_t i = 0; i < e->nop; i++)
        s[n++] = (struct splice){ e->op[i].off, e->op[i].del, e->space + e->op[i].ins_off,
                                  e->op[i].ins, e->op[i].seq };
    const char *body = e->body ? e->body : m->body.p;
    size_t blen = e->body ? e->body_len : m->body.n;
    char digits[24];
    char line[48];
    if (e->fix_length) {
        int dn = snprintf(digits, sizeof digits, "%zu", blen);
        const struct sip_hdr *h = NULL;
        int found = 0;
        while ((h = sip_msg_find(m, SIP_H_CONTENT_LENGTH, h)) != NULL) {
            found = 1;
            if (h->value.n != (size_t)dn || memcmp(h->value.p, digits, (size_t)dn) != 0)
                s[n++] = (struct splice){ (size_t)(h->value.p - m->buf), h->value.n, digits,
                                          (size_t)dn, 1000 };
        }
        if (!found) {
            int ln = snprintf(line, sizeof line, "Content-Length: %zu\r\n", blen);
            s[n++] = (struct splice){ head_end(m), 0, line, (size_t)ln, 1001 };
        }
    }
    splice_sort(s, n);
    struct wbuf w = { out, cap, 0, 0 };
    if (splice_write(&w, m->buf, 0, m->head_len, s, n) != 0)
        return -EINVAL;
    w_put(&w, body, blen);
    return w.err ? w.err : (long)w.len;
}

/* ------------------------------------------------------------ responses */

static int via_usable(const struct sip_msg *m)
{
    return m->nvia > 0 &&
           !((m->fault == SIP_F_BAD_HEADER || m->fault == SIP_F_TOO_MANY) &&
             m->fault_hdr == SIP_H_VIA);
}

long sip_build_response(const struct sip_msg *req, int status, const char *reason,
                        const struct sip_resp_opts *o, char *out, size_t cap)
{
    static const struct sip_resp_opts none;
    if (!o)
        o = &none;
    if (status < 100 || status > 699)
        return -EINVAL;
    if (!reason)
        reason = sip_reason(status);
    if (!text_ok(reason) || (o->to_tag && (strlen(o->to_tag) > 64 || !token_ok(o->to_tag))) ||
        (o->received && (strlen(o->received) > 64 || !host_ok(o->received))) ||
        (o->content_type && !text_ok(o->content_type)))
        return -EINVAL;
    size_t xl = o->extra ? strlen(o->extra) : 0;
    if (xl && (xl < 2 || o->extra[xl - 2] != '\r' || o->extra[xl - 1] != '\n'))
        return -EINVAL;
    if (!sip_msg_find(req, SIP_H_VIA, NULL))
        return -EINVAL; /* nowhere to send it */

    struct wbuf w = { out, cap, 0, 0 };
    w_str(&w, "SIP/2.0 ");
    w_uint(&w, (unsigned long)status);
    w_str(&w, " ");
    w_str(&w, reason);
    w_str(&w, "\r\n");

    int top_ok = via_usable(req);
    const struct sip_via *top = top_ok ? &req->via[0] : NULL;
    for (size_t i = 0; i < req->nhdrs; i++) {
        const struct sip_hdr *h = &req->hdrs[i];
        struct splice s[2];
        size_t ns = 0;
        char text[96], tag[80];
        switch (h->id) {
        case SIP_H_VIA:
            if (top && top->hdr == i)
                ns = via_splices(req, top, o->received, o->rport, text, sizeof text, s);
            break;
        case SIP_H_TO:
            if (o->to_tag && status != 100 && req->to.text.p && !req->to.tag.p &&
                hdr_holding(req, req->to.text.p) == h) {
                int k = snprintf(tag, sizeof tag, ";tag=%s", o->to_tag);
                if (k < 0 || (size_t)k >= sizeof tag)
                    return -EINVAL;
                s[ns++] = (struct splice){ (size_t)(req->to.text.p + req->to.text.n - req->buf),
                                           0, tag, (size_t)k, 0 };
            }
            break;
        case SIP_H_FROM:
        case SIP_H_CALL_ID:
        case SIP_H_CSEQ:
            break;
        default:
            continue;
        }
        splice_sort(s, ns);
        if (splice_write(&w, req->buf, h->off, h->off + h->len, s, ns) != 0)
            return -EINVAL;
    }
    if (xl)
        w_put(&w, o->extra, xl);
    size_t blen = o->body ? o->body_len : 0;
    if (blen && o->content_type) {
        w_str(&w, "Content-Type: ");
        w_str(&w, o->content_type);
        w_str(&w, "\r\n");
    }
    w_str(&w, "Content-Length: ");
    w_uint(&w, (unsigned long)blen);
    w_str(&w, "\r\n\r\n");
    if (blen)
        w_put(&w, o->body, blen);
    return w.err ? w.err : (long)w.len;
}

const char *sip_reason(int status)
{
    switch (status) {
    case 100: return "Trying";
    case 180: return "Ringing";
    case 181: return "Call Is Being Forwarded";
    case 182: return "Queued";
    case 183: return "Session Progress";
    case 200: return "OK";
    case 202: return "Accepted";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Moved Temporarily";
    case 305: return "Use Proxy";
    case 380: return "Alternative Service";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Unsupported URI Scheme";
    case 420: return "Bad Extension";
    case 421: return "Extension Required";
    case 423: return "Interval Too Brief";
    case 429: return "Provide Referrer Identity";
    case 439: return "First Hop Lacks Outbound Support";
    case 480: return "Temporarily Unavailable";
    case 481: return "Call/Transaction Does Not Exist";
    case 482: return "Loop Detected";
    case 483: return "Too Many Hops";
    case 484: return "Address Incomplete";
    case 485: return "Ambiguous";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    case 488: return "Not Acceptable Here";
    case 491: return "Request Pending";
    case 493: return "Undecipherable";
    case 500: return "Server Internal Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Server Time-out";
    case 505: return "Version Not Supported";
    case 513: return "Message Too Large";
    case 600: return "Busy Everywhere";
    case 603: return "Decline";
    case 604: return "Does Not Exist Anywhere";
    case 606: return "Not Acceptable";
    default: return "Unknown";
    }
}
