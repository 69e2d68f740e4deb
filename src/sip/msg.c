/*
 * sip/msg.c - SIP message parser and stream framing (RFC 3261 sections 7,
 * 18.3, 20 and 25). See sip/msg.h.
 *
 * Three passes over one message: the start line; the head cut into header
 * lines (names classified by the re2c lexer, folds kept in place); then the
 * typed headers, the mandatory-header checks and the body. The second pass
 * runs even after a bad start line and the third after a bad header, so
 * that the lines needed to answer a broken request (Via, From, To, Call-ID,
 * CSeq) are known; the first fault found is the one reported.
 */
#include "sip/lex.h"
#include "sip/msg.h"
#include "sip/parse.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ names */

static const char *const hdr_names[SIP_H__COUNT] = {
    [SIP_H_OTHER] = "",
    [SIP_H_VIA] = "Via",
    [SIP_H_FROM] = "From",
    [SIP_H_TO] = "To",
    [SIP_H_CALL_ID] = "Call-ID",
    [SIP_H_CSEQ] = "CSeq",
    [SIP_H_MAX_FORWARDS] = "Max-Forwards",
    [SIP_H_CONTENT_LENGTH] = "Content-Length",
    [SIP_H_CONTENT_TYPE] = "Content-Type",
    [SIP_H_CONTENT_ENCODING] = "Content-Encoding",
    [SIP_H_CONTACT] = "Contact",
    [SIP_H_EXPIRES] = "Expires",
    [SIP_H_MIN_EXPIRES] = "Min-Expires",
    [SIP_H_ROUTE] = "Route",
    [SIP_H_RECORD_ROUTE] = "Record-Route",
    [SIP_H_PATH] = "Path",
    [SIP_H_AUTHORIZATION] = "Authorization",
    [SIP_H_PROXY_AUTHORIZATION] = "Proxy-Authorization",
    [SIP_H_WWW_AUTHENTICATE] = "WWW-Authenticate",
    [SIP_H_PROXY_AUTHENTICATE] = "Proxy-Authenticate",
    [SIP_H_SUPPORTED] = "Supported",
    [SIP_H_REQUIRE] = "Require",
    [SIP_H_PROXY_REQUIRE] = "Proxy-Require",
    [SIP_H_UNSUPPORTED] = "Unsupported",
    [SIP_H_ALLOW] = "Allow",
    [SIP_H_USER_AGENT] = "User-Agent",
    [SIP_H_SERVER] = "Server",
    [SIP_H_SUBJECT] = "Subject",
    [SIP_H_EVENT] = "Event",
    [SIP_H_ALLOW_EVENTS] = "Allow-Events",
    [SIP_H_REFER_TO] = "Refer-To",
    [SIP_H_REFERRED_BY] = "Referred-By",
    [SIP_H_SESSION_EXPIRES] = "Session-Expires",
    [SIP_H_IDENTITY] = "Identity",
    [SIP_H_P_ASSERTED_IDENTITY] = "P-Asserted-Identity",
};

const char *sip_hdr_name(enum sip_hdr_id id)
{
    return (unsigned)id < SIP_H__COUNT ? hdr_names[id] : "";
}

/* ------------------------------------------------------------ faults */

static void fault(struct sip_msg *m, enum sip_fault f, enum sip_hdr_id h)
{
    if (m->fault != SIP_F_NONE)
        return;
    m->fault = (uint8_t)f;
    m->fault_hdr = (uint8_t)h;
}

static int fault_rc(const struct sip_msg *m)
{
    switch (m->fault) {
    case SIP_F_NONE:
        return 0;
    case SIP_F_VERSION:
        return -EPROTONOSUPPORT;
    case SIP_F_TOO_BIG:
    case SIP_F_LINE_TOO_LONG:
    case SIP_F_BODY_TOO_BIG:
        return -EMSGSIZE;
    case SIP_F_TOO_MANY_HEADERS:
    case SIP_F_TOO_MANY:
        return -E2BIG;
    default:
        return -EBADMSG;
    }
}

/* Reason phrases. Built from the names at compile time, so none is formatted
 * at run time and none can carry message content. */
#define NAMED(prefix) {                                                       \
    [SIP_H_VIA] = prefix "Via", [SIP_H_FROM] = prefix "From",                \
    [SIP_H_TO] = prefix "To", [SIP_H_CALL_ID] = prefix "Call-ID",            \
    [SIP_H_CSEQ] = prefix "CSeq", [SIP_H_MAX_FORWARDS] = prefix "Max-Forwards", \
    [SIP_H_CONTENT_LENGTH] = prefix "Content-Length",                        \
    [SIP_H_CONTENT_TYPE] = prefix "Content-Type",                            \
    [SIP_H_CONTACT] = prefix "Contact", [SIP_H_EXPIRES] = prefix "Expires",  \
    [SIP_H_MIN_EXPIRES] = prefix "Min-Expires", [SIP_H_ROUTE] = prefix "Route", \
    [SIP_H_RECORD_ROUTE] = prefix "Record-Route", [SIP_H_PATH] = prefix "Path", \
    [SIP_H_AUTHORIZATION] = prefix "Authorization",                          \
    [SIP_H_PROXY_AUTHORIZATION] = prefix "Proxy-Authorization",              \
    [SIP_H_SUPPORTED] = prefix "Supported", [SIP_H_REQUIRE] = prefix "Require", \
    [SIP_H_PROXY_REQUIRE] = prefix "Proxy-Require", [SIP_H_ALLOW] = prefix "Allow", \
}

static const char *const bad_reason[SIP_H__COUNT] = NAMED("Bad ");
static const char *const missing_reason[SIP_H__COUNT] = NAMED("Missing ");
static const char *const dup_reason[SIP_H__COUNT] = NAMED("Duplicate ");

const char *sip_fault_name(enum sip_fault f)
{
    switch (f) {
    case SIP_F_NONE: return "none";
    case SIP_F_START_LINE: return "start_line";
    case SIP_F_VERSION: return "version";
    case SIP_F_REQUEST_URI: return "request_uri";
    case SIP_F_TOO_BIG: return "too_big";
    case SIP_F_LINE_TOO_LONG: return "line_too_long";
    case SIP_F_TOO_MANY_HEADERS: return "too_many_headers";
    case SIP_F_HEADER_LINE: return "header_line";
    case SIP_F_BAD_HEADER: return "bad_header";
    case SIP_F_TOO_MANY: return "too_many_values";
    case SIP_F_DUPLICATE: return "duplicate_header";
    case SIP_F_MISSING: return "missing_header";
    case SIP_F_CSEQ_METHOD: return "cseq_method";
    case SIP_F_BODY: return "content_length";
    case SIP_F_BODY_TOO_BIG: return "body_too_big";
    }
    return "unknown";
}

int sip_fault_answer(const struct sip_msg *m, const char **reason)
{
    *reason = NULL;
    /* An ACK is never answered (RFC 3261 section 17.2.3): it is dropped. */
    if (!m->is_request || m->fault == SIP_F_NONE || m->method_id == SIP_M_ACK)
        return 0;
    const char *r = NULL;
    int status = 400;
    unsigned h = m->fault_hdr < SIP_H__COUNT ? m->fault_hdr : SIP_H_OTHER;
    switch (m->fault) {
    case SIP_F_START_LINE:
        r = "Bad Request Line";
        break;
    case SIP_F_VERSION:
        status = 505;
        r = "Version Not Supported";
        break;
    case SIP_F_REQUEST_URI:
        r = "Bad Request-URI";
        break;
    case SIP_F_TOO_BIG:
    case SIP_F_LINE_TOO_LONG:
    case SIP_F_TOO_MANY_HEADERS:
        status = 513;
        r = "Message Too Large";
        break;
    case SIP_F_HEADER_LINE:
        r = "Bad Header Line";
        break;
    case SIP_F_BAD_HEADER:
        r = bad_reason[h] ? bad_reason[h] : "Bad Header";
        break;
    case SIP_F_DUPLICATE:
        r = dup_reason[h] ? dup_reason[h] : "Duplicate Header";
        break;
    case SIP_F_MISSING:
        r = missing_reason[h] ? missing_reason[h] : "Missing Header";
        break;
    case SIP_F_TOO_MANY:
        status = 513;
        switch (h) {
        case SIP_H_VIA: r = "Too Many Vias"; break;
        case SIP_H_ROUTE: r = "Too Many Routes"; break;
        case SIP_H_RECORD_ROUTE: r = "Too Many Record-Routes"; break;
        case SIP_H_PATH: r = "Too Many Paths"; break;
        case SIP_H_CONTACT: r = "Too Many Contacts"; break;
        case SIP_H_AUTHORIZATION:
        case SIP_H_PROXY_AUTHORIZATION: r = "Too Many Credentials"; break;
        default: r = "Too Many Values"; break;
        }
        break;
    case SIP_F_CSEQ_METHOD:
        r = "CSeq Method Mismatch";
        break;
    case SIP_F_BODY:
        r = m->content_length < 0 ? "Missing Content-Length" : "Bad Content-Length";
        break;
    case SIP_F_BODY_TOO_BIG:
        status = 413;
        r = "Request Entity Too Large";
        break;
    default:
        r = "Bad Request";
        break;
    }
    *reason = r;
    return status;
}

/* ------------------------------------------------------------ start line */

static int is_version(const char *p, size_t n)
{
    return n == 7 && strncasecmp(p, "SIP/2.0", 7) == 0;
}

/* SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT */
static int looks_like_version(const char *p, size_t n)
{
    if (n < 7 || strncasecmp(p, "SIP/", 4) != 0)
        return 0;
    size_t i = 4, d = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9')
        i++, d++;
    if (d == 0 || i == n || p[i] != '.')
        return 0;
    i++;
    d = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9')
        i++, d++;
    return d > 0 && i == n;
}

static void parse_start_line(struct sip_msg *m, const char *p, size_t n)
{
    if (n >= 4 && strncasecmp(p, "SIP/", 4) == 0) {
        /* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase */
        const char *sp = memchr(p, ' ', n);
        if (!sp) {
            fault(m, SIP_F_START_LINE, SIP_H_OTHER);
            return;
        }
        size_t vl = (size_t)(sp - p);
        if (!is_version(p, vl)) {
            fault(m, looks_like_version(p, vl) ? SIP_F_VERSION : SIP_F_START_LINE, SIP_H_OTHER);
            return;
        }
        const char *c = sp + 1, *end = p + n;
        uint64_t st;
        if (end - c < 4 || c[3] != ' ' || sip_parse_uint(c, 3, 699, &st) != 0 || st < 100) {
            fault(m, SIP_F_START_LINE, SIP_H_OTHER);
            return;
        }
        m->status = (int)st;
        /* Reason-Phrase = *(reserved / unreserved / escaped / UTF8-NONASCII /
         * UTF8-CONT / SP / HTAB): any byte but controls. */
        for (const char *r = c + 4; r < end; r++)
            if (((unsigned char)*r < 0x20 && *r != '\t') || *r == 0x7F) {
                fault(m, SIP_F_START_LINE, SIP_H_OTHER);
                return;
            }
        m->reason = sip_mkstr(c + 4, (size_t)(end - c - 4));
        return;
    }

    /* Request-Line = Method SP Request-URI SP SIP-Version */
    size_t ml = sip_lex_token(p, n);
    if (ml == 0 || ml == n || p[ml] != ' ')
        goto bad;
    m->is_request = 1;
    m->method = sip_mkstr(p, ml);
    m->method_id = (uint8_t)sip_method_lookup(p, ml);
    const char *u = p + ml + 1, *end = p + n;
    const char *sp = NULL;
    for (const char *r = end; r > u; r--)
        if (r[-1] == ' ') {
            sp = r - 1;
            break;
        }
    if (!sp)
        goto bad;
    const char *v = sp + 1;
    if (!is_version(v, (size_t)(end - v))) {
        fault(m, looks_like_version(v, (size_t)(end - v)) ? SIP_F_VERSION : SIP_F_START_LINE,
              SIP_H_OTHER);
        return;
    }
    /* Headers are not allowed in a Request-URI (RFC 3261 section 19.1.1,
     * RFC 4475 section 3.1.2.11). */
    if (sp == u || sip_parse_uri(u, (size_t)(sp - u), &m->ruri) != 0 || m->ruri.headers.p) {
        fault(m, SIP_F_REQUEST_URI, SIP_H_OTHER);
        return;
    }
    return;
bad:
    fault(m, SIP_F_START_LINE, SIP_H_OTHER);
}

/* ------------------------------------------------------------ typed headers */

enum { OK = 0, BAD = -1, MANY = -2 };

/* Separator of list elements: SWS "," SWS. Returns the next element's start,
 * end when the list is over, or NULL when something else follows. */
static const char *list_next(const char *p, const char *end)
{
    p = sip_skip_lws(p, end);
    if (p == end)
        return end;
    if (*p != ',')
        return NULL;
    p = sip_skip_lws(p + 1, end);
    return p == end ? NULL : p; /* a trailing comma is an empty element */
}

static int parse_via(struct sip_msg *m, uint8_t hidx, const char *p, const char *end)
{
    for (;;) {
        struct sip_via v;
        memset(&v, 0, sizeof v);
        v.ttl = -1;
        v.hdr = hidx;
        const char *s = p;
        /* sent-protocol = protocol-name SLASH protocol-version SLASH transport */
        for (int part = 0; part < 3; part++) {
            size_t tl = sip_lex_token(p, (size_t)(end - p));
            if (tl == 0)
                return BAD;
            if (part == 2)
                v.transport = sip_mkstr(p, tl);
            p += tl;
            if (part < 2) {
                p = sip_skip_lws(p, end);
                if (p == end || *p != '/')
                    return BAD;
                p = sip_skip_lws(p + 1, end);
            }
        }
        const char *q = sip_skip_lws(p, end);
        if (q == p)
            return BAD; /* LWS before sent-by is mandatory */
        /* sent-by = host [ COLON port ] */
        int kind;
        size_t hl = sip_lex_host(q, (size_t)(end - q), &kind);
        if (hl == 0 || kind == SIP_LEX_HOST_IPV6)
            return BAD;
        uint16_t dummy;
        const char *after;
        if (sip_scan_hostport(q, q + hl, 0, &v.host, &v.host_type, &dummy, &after) != 0)
            return BAD;
        p = q + hl;
        q = sip_skip_lws(p, end);
        if (q < end && *q == ':') {
            q = sip_skip_lws(q + 1, end);
            const char *d = q;
            while (q < end && *q >= '0' && *q <= '9')
                q++;
            uint64_t port;
            if (sip_parse_uint(d, (size_t)(q - d), 65535, &port) != 0 || port == 0)
                return BAD;
            v.port = (uint16_t)port;
            p = q;
        }
        struct sip_str name, val;
        const char *pstart = NULL;
        int r;
        const char *before = p;
        while ((r = sip_gparam_next(&p, end, &name, &val)) == 1) {
            if (!pstart)
                pstart = sip_skip_lws(before, end);
            if (sip_str_ieq(name, "branch")) {
                if (v.branch.p)
                    continue; /* the first of a repeated parameter counts */
                if (!val.p || sip_lex_token(val.p, val.n) != val.n)
                    return BAD;
                v.branch = val;
            } else if (sip_str_ieq(name, "received")) {
                if (v.received.p)
                    continue;
                struct sip_str h;
                uint8_t t;
                uint16_t pt;
                const char *a;
                if (!val.p || sip_scan_hostport(val.p, val.p + val.n, 1, &h, &t, &pt, &a) != 0 ||
                    a != val.p + val.n || pt != 0 || t == SIP_HOST_NAME)
                    return BAD;
                v.received = val;
            } else if (sip_str_ieq(name, "maddr")) {
                if (v.maddr.p)
                    continue;
                struct sip_str h;
                uint8_t t;
                uint16_t pt;
                const char *a;
                if (!val.p || sip_scan_hostport(val.p, val.p + val.n, 0, &h, &t, &pt, &a) != 0 ||
                    a != val.p + val.n || pt != 0)
                    return BAD;
                v.maddr = val;
            } else if (sip_str_ieq(name, "ttl")) {
                if (v.ttl >= 0)
                    continue;
                uint64_t t;
                if (!val.p || sip_parse_uint(val.p, val.n, 255, &t) != 0)
                    return BAD;
                v.ttl = (int16_t)t;
            } else if (sip_str_ieq(name, "rport")) {
                if (v.rport)
                    continue;
                if (!val.p) {
                    v.rport = 1;
                } else {
                    uint64_t t;
                    if (sip_parse_uint(val.p, val.n, 65535, &t) != 0 || t == 0)
                        return BAD;
                    v.rport = 2;
                    v.rport_value = (uint16_t)t;
                }
            }
        }
        if (r < 0)
            return BAD;
        if (pstart)
            v.params = sip_mkstr(pstart, (size_t)(p - pstart));
        v.text = sip_mkstr(s, (size_t)(p - s));
        if (m->nvia == SIP_MAX_VIA)
            return MANY;
        m->via[m->nvia++] = v;
        p = list_next(p, end);
        if (!p)
            return BAD;
        if (p == end)
            return OK;
    }
}

static int parse_addr_list(const char *p, const char *end, int flags, struct sip_addr *arr,
                           size_t *n, size_t max)
{
    for (;;) {
        struct sip_addr a;
        p = sip_addr_at(p, end, flags | SIP_ADDR_LIST, &a);
        if (!p)
            return BAD;
        if (*n == max)
            return MANY;
        arr[(*n)++] = a;
        p = list_next(p, end);
        if (!p)
            return BAD;
        if (p == end)
            return OK;
    }
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths. */
static int parse_qvalue(struct sip_str v, int32_t *q)
{
    if (!v.p || v.n == 0 || v.n > 5 || (v.p[0] != '0' && v.p[0] != '1'))
        return -1;
    int32_t x = (v.p[0] - '0') * 1000;
    if (v.n > 1) {
        if (v.p[1] != '.')
            return -1;
        int32_t scale = 100;
        for (size_t i = 2; i < v.n; i++, scale /= 10) {
            if (v.p[i] < '0' || v.p[i] > '9')
                return -1;
            x += (v.p[i] - '0') * scale;
        }
    }
    if (x > 1000)
        return -1;
    *q = x;
    return 0;
}

static int contact_params(struct sip_contact *c)
{
    const struct sip_addr *a = &c->addr;
    c->expires = -1;
    c->q = -1;
    c->reg_id = -1;
    if (!a->params.p)
        return OK;
    const char *p = a->params.p, *end = a->params.p + a->params.n;
    struct sip_str name, val;
    int r;
    while ((r = sip_gparam_next(&p, end, &name, &val)) == 1) {
        if (sip_str_ieq(name, "expires")) {
            if (!val.p || sip_parse_delta(val.p, val.n, &c->expires) != 0)
                return BAD;
        } else if (sip_str_ieq(name, "q")) {
            if (parse_qvalue(val, &c->q) != 0)
                return BAD;
        } else if (sip_str_ieq(name, "reg-id")) {
            uint64_t id;
            if (!val.p || sip_parse_uint(val.p, val.n, 0x7FFFFFFF, &id) != 0 || id == 0)
                return BAD;
            c->reg_id = (int32_t)id;
        } else if (sip_str_ieq(name, "+sip.instance")) {
            /* RFC 5626 section 4.1: "<" instance-id ">" inside quotes */
            if (!val.p || val.n < 4 || val.p[0] != '"' || val.p[1] != '<' ||
                val.p[val.n - 2] != '>')
                return BAD;
            c->instance = sip_mkstr(val.p + 2, val.n - 4);
        }
    }
    return r < 0 ? BAD : OK;
}

static int parse_contact(struct sip_msg *m, const char *p, const char *end)
{
    if (end - p == 1 && *p == '*') {
        if (m->contact_star || m->ncontact)
            return BAD;
        m->contact_star = 1;
        return OK;
    }
    if (m->contact_star)
        return BAD;
    for (;;) {
        struct sip_contact c;
        memset(&c, 0, sizeof c);
        p = sip_addr_at(p, end, SIP_ADDR_LIST, &c.addr);
        if (!p)
            return BAD;
        if (contact_params(&c) != OK)
            return BAD;
        if (m->ncontact == SIP_MAX_CONTACT)
            return MANY;
        m->contact[m->ncontact++] = c;
        p = list_next(p, end);
        if (!p)
            return BAD;
        if (p == end)
            return OK;
    }
}

static int parse_call_id(struct sip_msg *m, const char *p, const char *end)
{
    /* callid = word [ "@" word ] */
    size_t n = (size_t)(end - p);
    size_t w = sip_lex_word(p, n);
    if (w == 0)
        return BAD;
    if (w < n) {
        if (p[w] != '@')
            return BAD;
        size_t w2 = sip_lex_word(p + w + 1, n - w - 1);
        if (w2 == 0 || w + 1 + w2 != n)
            return BAD;
    }
    m->call_id = sip_mkstr(p, n);
    return OK;
}

static int parse_cseq(struct sip_msg *m, const char *p, const char *end)
{
    const char *d = p;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    uint64_t v;
    /* RFC 3261 section 8.1.1.5: less than 2^31 */
    if (sip_parse_uint(d, (size_t)(p - d), 0x7FFFFFFF, &v) != 0)
        return BAD;
    const char *q = sip_skip_lws(p, end);
    if (q == p)
        return BAD;
    size_t ml = sip_lex_token(q, (size_t)(end - q));
    if (ml == 0 || q + ml != end)
        return BAD;
    m->cseq = (uint32_t)v;
    m->cseq_method = sip_mkstr(q, ml);
    m->cseq_method_id = (uint8_t)sip_method_lookup(q, ml);
    return OK;
}

static int parse_number(const char *p, const char *end, uint64_t max, uint64_t *v)
{
    return sip_parse_uint(p, (size_t)(end - p), max, v) == 0 ? OK : BAD;
}

static int parse_content_type(struct sip_msg *m, const char *p, const char *end)
{
    /* media-type = m-type SLASH m-subtype *(SEMI m-parameter) */
    const char *s = p;
    size_t tl = sip_lex_token(p, (size_t)(end - p));
    if (tl == 0)
        return BAD;
    p = sip_skip_lws(p + tl, end);
    if (p == end || *p != '/')
        return BAD;
    p = sip_skip_lws(p + 1, end);
    tl = sip_lex_token(p, (size_t)(end - p));
    if (tl == 0)
        return BAD;
    p += tl;
    struct sip_str name, val;
    int r;
    while ((r = sip_gparam_next(&p, end, &name, &val)) == 1)
        if (!val.p)
            return BAD;
    if (r < 0 || sip_skip_lws(p, end) != end)
        return BAD;
    m->content_type = sip_mkstr(s, (size_t)(end - s));
    return OK;
}

static int parse_options(const char *p, const char *end, int may_be_empty, struct sip_str *arr,
                         size_t *n)
{
    if (p == end)
        return may_be_empty ? OK : BAD;
    for (;;) {
        size_t tl = sip_lex_token(p, (size_t)(end - p));
        if (tl == 0)
            return BAD;
        if (*n == SIP_MAX_OPTIONS)
            return MANY;
        arr[(*n)++] = sip_mkstr(p, tl);
        p = list_next(p + tl, end);
        if (!p)
            return BAD;
        if (p == end)
            return OK;
    }
}

static struct sip_str unq(struct sip_str v)
{
    if (v.n >= 2 && v.p[0] == '"')
        return sip_mkstr(v.p + 1, v.n - 2);
    return v;
}

static int parse_auth(struct sip_msg *m, uint8_t hidx, int proxy, const char *p, const char *end)
{
    struct sip_auth a;
    memset(&a, 0, sizeof a);
    a.proxy = (uint8_t)proxy;
    a.hdr = hidx;
    size_t sl = sip_lex_token(p, (size_t)(end - p));
    if (sl == 0)
        return BAD;
    a.scheme = sip_mkstr(p, sl);
    p += sl;
    const char *q = sip_skip_lws(p, end);
    if (q == end) {
        if (sip_str_ieq(a.scheme, "Digest"))
            return BAD;
    } else if (q == p) {
        return BAD;
    }
    a.params = sip_mkstr(q, (size_t)(end - q));
    int digest = sip_str_ieq(a.scheme, "Digest");
    p = q;
    while (p < end) {
        /* auth-param = auth-param-name EQUAL ( token / quoted-string ) */
        size_t nl = sip_lex_token(p, (size_t)(end - p));
        if (nl == 0)
            return BAD;
        struct sip_str name = sip_mkstr(p, nl);
        p = sip_skip_lws(p + nl, end);
        if (p == end || *p != '=') {
            if (digest)
                return BAD;
            break; /* other schemes may carry a token68: keep params raw */
        }
        p = sip_skip_lws(p + 1, end);
        size_t vl = (p < end && *p == '"') ? sip_scan_quoted(p, end)
                                           : sip_lex_token(p, (size_t)(end - p));
        if (vl == 0)
            return BAD;
        struct sip_str val = sip_mkstr(p, vl), *dst = NULL;
        p += vl;
        if (digest) {
            if (sip_str_ieq(name, "username")) dst = &a.username;
            else if (sip_str_ieq(name, "realm")) dst = &a.realm;
            else if (sip_str_ieq(name, "nonce")) dst = &a.nonce;
            else if (sip_str_ieq(name, "uri")) dst = &a.uri;
            else if (sip_str_ieq(name, "response")) dst = &a.response;
            else if (sip_str_ieq(name, "algorithm")) dst = &a.algorithm;
            else if (sip_str_ieq(name, "cnonce")) dst = &a.cnonce;
            else if (sip_str_ieq(name, "opaque")) dst = &a.opaque;
            else if (sip_str_ieq(name, "qop")) dst = &a.qop;
            else if (sip_str_ieq(name, "nc")) dst = &a.nc;
            if (dst) {
                if (dst->p)
                    return BAD; /* a parameter given twice */
                *dst = unq(val);
            }
        }
        const char *nx = list_next(p, end);
        if (!nx)
            return BAD;
        p = nx;
    }
    if (m->nauth == SIP_MAX_AUTH)
        return MANY;
    m->auth[m->nauth++] = a;
    return OK;
}

/* Header ids that may appear once (RFC 4475 section 3.3.8: a repeat is an
 * error even when it repeats the same value, so that every later edit of
 * the one value is the whole truth). */
static int single_valued(unsigned id)
{
    switch (id) {
    case SIP_H_FROM:
    case SIP_H_TO:
    case SIP_H_CALL_ID:
    case SIP_H_CSEQ:
    case SIP_H_MAX_FORWARDS:
    case SIP_H_CONTENT_LENGTH:
    case SIP_H_CONTENT_TYPE:
    case SIP_H_EXPIRES:
    case SIP_H_MIN_EXPIRES:
        return 1;
    default:
        return 0;
    }
}

static int parse_header(struct sip_msg *m, uint8_t hidx)
{
    const struct sip_hdr *h = &m->hdrs[hidx];
    const char *p = h->value.p, *end = h->value.p + h->value.n;
    uint64_t v;
    int r;
    switch (h->id) {
    case SIP_H_VIA:
        return parse_via(m, hidx, p, end);
    case SIP_H_FROM:
    case SIP_H_TO: {
        struct sip_addr *a = h->id == SIP_H_FROM ? &m->from : &m->to;
        const char *q = sip_addr_at(p, end, 0, a);
        if (!q || sip_skip_lws(q, end) != end) {
            memset(a, 0, sizeof *a);
            return BAD;
        }
        return OK;
    }
    case SIP_H_CALL_ID:
        return parse_call_id(m, p, end);
    case SIP_H_CSEQ:
        return parse_cseq(m, p, end);
    case SIP_H_MAX_FORWARDS:
        /* RFC 3261 section 20.22: an integer in the range 0-255 */
        if ((r = parse_number(p, end, 255, &v)) == OK)
            m->max_forwards = (int)v;
        return r;
    case SIP_H_CONTENT_LENGTH:
        if ((r = parse_number(p, end, 0x7FFFFFFF, &v)) == OK)
            m->content_length = (long)v;
        return r;
    case SIP_H_CONTENT_TYPE:
        return parse_content_type(m, p, end);
    case SIP_H_EXPIRES:
        return sip_parse_delta(p, (size_t)(end - p), &m->expires) == 0 ? OK : BAD;
    case SIP_H_MIN_EXPIRES:
        return sip_parse_delta(p, (size_t)(end - p), &m->min_expires) == 0 ? OK : BAD;
    case SIP_H_CONTACT:
        return parse_contact(m, p, end);
    case SIP_H_ROUTE:
        return parse_addr_list(p, end, SIP_ADDR_NAME_ONLY, m->route, &m->nroute, SIP_MAX_ROUTE);
    case SIP_H_RECORD_ROUTE:
        return parse_addr_list(p, end, SIP_ADDR_NAME_ONLY, m->record_route, &m->nrecord_route,
                               SIP_MAX_ROUTE);
    case SIP_H_PATH:
        return parse_addr_list(p, end, SIP_ADDR_NAME_ONLY, m->path, &m->npath, SIP_MAX_ROUTE);
    case SIP_H_AUTHORIZATION:
    case SIP_H_PROXY_AUTHORIZATION:
        return parse_auth(m, hidx, h->id == SIP_H_PROXY_AUTHORIZATION, p, end);
    case SIP_H_SUPPORTED:
        return parse_options(p, end, 1, m->supported, &m->nsupported);
    case SIP_H_REQUIRE:
        return parse_options(p, end, 0, m->require, &m->nrequire);
    case SIP_H_PROXY_REQUIRE:
        return parse_options(p, end, 0, m->proxy_require, &m->nproxy_require);
    case SIP_H_ALLOW:
        return parse_options(p, end, 1, m->allow, &m->nallow);
    default:
        return OK;
    }
}

/* ------------------------------------------------------------ head */

/* Cuts the head into header lines. Returns the offset just past the empty
 * line, or 0 (with a fault) when the head is malformed or incomplete. */
static size_t split_head(struct sip_msg *m, size_t pos, size_t len)
{
    const char *b = m->buf;
    while (pos < len) {
        if (b[pos] == '\r') {
            if (pos + 1 < len && b[pos + 1] == '\n')
                return pos + 2;
            fault(m, SIP_F_HEADER_LINE, SIP_H_OTHER);
            return 0;
        }
        size_t ls = pos;
        if (b[pos] == ' ' || b[pos] == '\t') {
            fault(m, SIP_F_HEADER_LINE, SIP_H_OTHER); /* continuation of nothing */
            return 0;
        }
        /* One logical line: physical lines joined by folds. */
        size_t phys = pos;
        for (;;) {
            if (pos >= len) {
                fault(m, SIP_F_HEADER_LINE, SIP_H_OTHER);
                return 0;
            }
            unsigned char c = (unsigned char)b[pos];
            if (c == '\r') {
                if (pos + 1 >= len || b[pos + 1] != '\n') {
                    fault(m, SIP_F_HEADER_LINE, SIP_H_OTHER);
                    return 0;
                }
                if (pos - phys > SIP_MAX_LINE) {
                    fault(m, SIP_F_LINE_TOO_LONG, SIP_H_OTHER);
                    return 0;
                }
                pos += 2;
                if (pos < len && (b[pos] == ' ' || b[pos] == '\t')) {
                    phys = pos;
                    continue;
                }
                break;
            }
            if (c == '\n') {
                fault(m, SIP_F_HEADER_LINE, SIP_H_OTHER); /* a bare LF */
                return 0;
            }
            /* Other controls may stand escaped in a quoted-string (RFC 4475
             * section 3.1.1.2); the typed parsers judge them. */
            pos++;
        }
        /* header-name HCOLON value; HCOLON = *( SP / HTAB ) ":" SWS */
        const char *s = b + ls, *le = b + pos - 2;
        size_t nl = sip_lex_token(s, (size_t)(le - s));
        const char *c = s + nl;
        while (c < le && (*c == ' ' || *c == '\t'))
            c++;
        if (nl == 0 || c == le || *c != ':') {
            fault(m, SIP_F_HEADER_LINE, SIP_H_OTHER);
            return 0;
        }
        const char *v = sip_skip_lws(c + 1, le), *ve = le;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r' || ve[-1] == '\n'))
            ve--;
        if ((size_t)(ve - v) > SIP_MAX_VALUE) {
            fault(m, SIP_F_LINE_TOO_LONG, SIP_H_OTHER);
            return 0;
        }
        if (m->nhdrs == SIP_MAX_HEADERS) {
            fault(m, SIP_F_TOO_MANY_HEADERS, SIP_H_OTHER);
            return 0;
        }
        struct sip_hdr *h = &m->hdrs[m->nhdrs++];
        h->name = sip_mkstr(s, nl);
        h->value = sip_mkstr(v, (size_t)(ve - v));
        h->off = (uint32_t)ls;
        h->len = (uint32_t)(pos - ls);
        h->id = (uint8_t)sip_hdr_lookup(s, nl);
    }
    fault(m, SIP_F_HEADER_LINE, SIP_H_OTHER); /* no empty line */
    return 0;
}

int sip_parse(const char *buf, size_t len, unsigned flags, struct sip_msg *m)
{
    /* The arrays at the end are counted, so only the part before them is
     * cleared: 25 KiB of memset would cost more than parsing a REGISTER. */
    memset(m, 0, offsetof(struct sip_msg, hdrs));
    m->max_forwards = -1;
    m->content_length = -1;
    m->expires = -1;
    m->min_expires = -1;

    /* RFC 3261 section 7.5: ignore CRLFs before the start line. */
    while (len >= 2 && buf[0] == '\r' && buf[1] == '\n') {
        buf += 2;
        len -= 2;
    }
    m->buf = buf;
    size_t limit = (flags & SIP_PARSE_STREAM) ? SIP_MAX_STREAM : SIP_MAX_DGRAM;
    if (len > limit)
        fault(m, SIP_F_TOO_BIG, SIP_H_OTHER);
    if (len > UINT32_MAX)
        return -EMSGSIZE; /* offsets are 32-bit; never reached below the limits */

    const char *cr = memchr(buf, '\r', len < SIP_MAX_LINE + 1 ? len : SIP_MAX_LINE + 1);
    if (!cr || (size_t)(cr - buf) + 1 >= len || cr[1] != '\n') {
        /* Still tell a request from noise for sip_fault_answer. */
        size_t ml = sip_lex_token(buf, len);
        if (ml > 0 && ml < len && buf[ml] == ' ' && strncasecmp(buf, "SIP/", 4) != 0)
            m->is_request = 1;
        fault(m, !cr && len > SIP_MAX_LINE ? SIP_F_LINE_TOO_LONG : SIP_F_START_LINE, SIP_H_OTHER);
        return fault_rc(m);
    }
    size_t sl = (size_t)(cr - buf);
    parse_start_line(m, buf, sl);
    size_t head = split_head(m, sl + 2, len);

    /* Typed headers, in order. */
    unsigned seen = 0;
    for (size_t i = 0; i < m->nhdrs; i++) {
        const struct sip_hdr *h = &m->hdrs[i];
        if (single_valued(h->id)) {
            if (seen & (1u << h->id)) {
                fault(m, SIP_F_DUPLICATE, (enum sip_hdr_id)h->id);
                continue;
            }
            seen |= 1u << h->id;
        }
        int r = parse_header(m, (uint8_t)i);
        if (r == BAD)
            fault(m, SIP_F_BAD_HEADER, (enum sip_hdr_id)h->id);
        else if (r == MANY)
            fault(m, SIP_F_TOO_MANY, (enum sip_hdr_id)h->id);
    }
    if (head == 0)
        return fault_rc(m);
    m->head_len = head;

    /* Mandatory headers (RFC 3261 section 8.1.1); Max-Forwards may be
     * missing (section 16.6 step 3: the proxy adds it). */
    static const uint8_t mandatory[] = { SIP_H_VIA, SIP_H_FROM, SIP_H_TO, SIP_H_CALL_ID,
                                         SIP_H_CSEQ };
    for (size_t i = 0; i < sizeof mandatory; i++)
        if (!sip_msg_find(m, (enum sip_hdr_id)mandatory[i], NULL))
            fault(m, SIP_F_MISSING, (enum sip_hdr_id)mandatory[i]);
    if (m->is_request && m->cseq_method.p && m->method.p &&
        (m->cseq_method.n != m->method.n ||
         memcmp(m->cseq_method.p, m->method.p, m->method.n) != 0))
        fault(m, SIP_F_CSEQ_METHOD, SIP_H_CSEQ);

    /* Body (RFC 3261 section 18.3). */
    size_t rest = len - head;
    if (m->content_length < 0) {
        if (flags & SIP_PARSE_STREAM)
            fault(m, SIP_F_BODY, SIP_H_CONTENT_LENGTH);
        m->body = sip_mkstr(buf + head, rest);
    } else if (!(flags & SIP_PARSE_STREAM) && (size_t)m->content_length > rest) {
        /* A datagram is all there is: more than it holds is a bad length
         * (RFC 4475 section 3.1.2.2), however large. */
        fault(m, SIP_F_BODY, SIP_H_CONTENT_LENGTH);
    } else if ((size_t)m->content_length > limit - (head < limit ? head : limit)) {
        fault(m, SIP_F_BODY_TOO_BIG, SIP_H_CONTENT_LENGTH);
    } else if ((size_t)m->content_length > rest) {
        fault(m, SIP_F_BODY, SIP_H_CONTENT_LENGTH);
    } else {
        m->body = sip_mkstr(buf + head, (size_t)m->content_length);
    }
    m->len = head + m->body.n;
    return fault_rc(m);
}

/* ------------------------------------------------------------ framing */

int sip_is_keepalive(const char *buf, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] != '\r' && buf[i] != '\n' && buf[i] != ' ')
            return 0;
    return 1;
}

long sip_frame_len(const char *buf, size_t avail, size_t max, int *kind)
{
    *kind = SIP_FRAME_MSG;
    if (max == 0 || max > SIP_MAX_STREAM)
        max = SIP_MAX_STREAM;
    if (avail == 0)
        return 0;
    if (buf[0] == '\r') {
        /* CRLF keep-alive: CRLFCRLF is a ping, a lone CRLF a pong or
         * padding (RFC 5626 section 3.5.1, RFC 3261 section 7.5). */
        if (avail < 2)
            return 0;
        if (buf[1] != '\n')
            return -EBADMSG;
        if (avail < 3)
            return 0;
        if (buf[2] != '\r') {
            *kind = SIP_FRAME_SKIP;
            return 2;
        }
        if (avail < 4)
            return 0;
        if (buf[3] != '\n')
            return -EBADMSG;
        *kind = SIP_FRAME_PING;
        return 4;
    }
    size_t scan = avail < max ? avail : max;
    size_t head = 0;
    for (size_t i = 0; i + 3 < scan; i++) {
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
            head = i + 4;
            break;
        }
    }
    if (head == 0)
        return avail >= max ? -EMSGSIZE : 0;

    /* Content-Length (or l) among the header lines, folds allowed. */
    long cl = -1;
    size_t pos = 0;
    while (pos < head - 2) {
        const char *eol = memchr(buf + pos, '\n', head - pos);
        if (eol == buf || eol[-1] != '\r')
            return -EBADMSG; /* a bare LF: sip_parse would refuse it too */
        size_t next = (size_t)(eol - buf) + 1;
        if (pos > 0 && buf[pos] != ' ' && buf[pos] != '\t') {
            const char *s = buf + pos, *le = buf + next - 2;
            size_t nl = sip_lex_token(s, (size_t)(le - s));
            const char *c = s + nl;
            while (c < le && (*c == ' ' || *c == '\t'))
                c++;
            if (nl > 0 && c < le && *c == ':' &&
                sip_hdr_lookup(s, nl) == SIP_H_CONTENT_LENGTH) {
                /* The value runs on through continuation lines. */
                size_t vend = next;
                while (vend < head - 2 && (buf[vend] == ' ' || buf[vend] == '\t')) {
                    const char *e2 = memchr(buf + vend, '\n', head - vend);
                    if (e2[-1] != '\r')
                        return -EBADMSG;
                    vend = (size_t)(e2 - buf) + 1;
                }
                const char *v = sip_skip_lws(c + 1, buf + vend - 2), *ve = buf + vend - 2;
                while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r' ||
                                  ve[-1] == '\n'))
                    ve--;
                uint64_t x;
                if (sip_parse_uint(v, (size_t)(ve - v), 0x7FFFFFFF, &x) != 0)
                    return -EBADMSG;
                if (cl >= 0 && (long)x != cl)
                    return -EBADMSG;
                cl = (long)x;
                next = vend;
            }
        }
        pos = next;
    }
    if (cl < 0)
        return -EBADMSG;
    if ((size_t)cl > max - head)
        return -EMSGSIZE;
    size_t total = head + (size_t)cl;
    return avail < total ? 0 : (long)total;
}

/* ------------------------------------------------------------ lookups */

const struct sip_hdr *sip_msg_find(const struct sip_msg *m, enum sip_hdr_id id,
                                   const struct sip_hdr *prev)
{
    size_t i = prev ? (size_t)(prev - m->hdrs) + 1 : 0;
    for (; i < m->nhdrs; i++)
        if (m->hdrs[i].id == id)
            return &m->hdrs[i];
    return NULL;
}

const struct sip_hdr *sip_msg_find_name(const struct sip_msg *m, const char *name,
                                        const struct sip_hdr *prev)
{
    size_t n = strlen(name);
    enum sip_hdr_id id = sip_hdr_lookup(name, n);
    if (id != SIP_H_OTHER)
        return sip_msg_find(m, id, prev);
    size_t i = prev ? (size_t)(prev - m->hdrs) + 1 : 0;
    for (; i < m->nhdrs; i++)
        if (m->hdrs[i].id == SIP_H_OTHER && sip_str_ieq(m->hdrs[i].name, name))
            return &m->hdrs[i];
    return NULL;
}

static const struct sip_str *option_list(const struct sip_msg *m, enum sip_hdr_id id, size_t *n)
{
    switch (id) {
    case SIP_H_SUPPORTED: *n = m->nsupported; return m->supported;
    case SIP_H_REQUIRE: *n = m->nrequire; return m->require;
    case SIP_H_PROXY_REQUIRE: *n = m->nproxy_require; return m->proxy_require;
    case SIP_H_ALLOW: *n = m->nallow; return m->allow;
    default: *n = 0; return NULL;
    }
}

int sip_msg_has_option(const struct sip_msg *m, enum sip_hdr_id id, const char *opt)
{
    size_t n;
    const struct sip_str *l = option_list(m, id, &n);
    for (size_t i = 0; i < n; i++)
        if (id == SIP_H_ALLOW ? sip_str_eq(l[i], opt) : sip_str_ieq(l[i], opt))
            return 1;
    return 0;
}

size_t sip_msg_unsupported(const struct sip_msg *m, const char *const *known,
                           struct sip_str *out, size_t cap)
{
    size_t count = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t n;
        const struct sip_str *l =
            option_list(m, pass == 0 ? SIP_H_REQUIRE : SIP_H_PROXY_REQUIRE, &n);
        for (size_t i = 0; i < n; i++) {
            int ok = 0;
            for (const char *const *k = known; k && *k && !ok; k++)
                ok = sip_str_ieq(l[i], *k);
            if (ok)
                continue;
            if (count < cap)
                out[count] = l[i];
            count++;
        }
    }
    return count;
}
