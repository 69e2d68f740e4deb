/*
 * sip/uri.c - SIP and SIPS URIs, name-addr / addr-spec, parameters, escapes
 * and quoted strings (RFC 3261 sections 19.1, 20.10, 25.1). See sip/msg.h
 * and sip/parse.h.
 */
#include "sip/lex.h"
#include "sip/msg.h"
#include "sip/parse.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

int sip_str_eq(struct sip_str a, const char *s)
{
    size_t n = strlen(s);
    return a.p && a.n == n && memcmp(a.p, s, n) == 0;
}

int sip_str_ieq(struct sip_str a, const char *s)
{
    size_t n = strlen(s);
    return a.p && a.n == n && strncasecmp(a.p, s, n) == 0;
}

const char *sip_skip_lws(const char *p, const char *end)
{
    for (;;) {
        if (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        } else if (end - p >= 3 && p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t')) {
            p += 3;
        } else {
            return p;
        }
    }
}

size_t sip_scan_quoted(const char *p, const char *end)
{
    if (p >= end || *p != '"')
        return 0;
    const char *q = p + 1;
    while (q < end) {
        unsigned char c = (unsigned char)*q;
        if (c == '"')
            return (size_t)(q + 1 - p);
        if (c == '\\') {
            /* quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F) */
            if (q + 1 >= end || q[1] == '\r' || q[1] == '\n' || (unsigned char)q[1] > 0x7F)
                return 0;
            q += 2;
            continue;
        }
        if (c == '\r') {
            const char *r = sip_skip_lws(q, end);
            if (r == q)
                return 0; /* a CR that is not a fold */
            q = r;
            continue;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return 0;
        q++;
    }
    return 0;
}

/* Characters of a generic parameter value that is not quoted: token
 * characters plus what hosts add (':' '[' ']'). */
static size_t gvalue_len(const char *p, const char *end)
{
    const char *q = p;
    while (q < end) {
        if (*q == ':' || *q == '[' || *q == ']') {
            q++;
            continue;
        }
        size_t t = sip_lex_token(q, (size_t)(end - q));
        if (t == 0)
            break;
        q += t;
    }
    return (size_t)(q - p);
}

int sip_gparam_next(const char **pp, const char *end, struct sip_str *name, struct sip_str *value)
{
    const char *q = sip_skip_lws(*pp, end);
    if (q >= end || *q != ';')
        return 0;
    q = sip_skip_lws(q + 1, end);
    size_t nl = sip_lex_token(q, (size_t)(end - q));
    if (nl == 0)
        return -1;
    *name = sip_mkstr(q, nl);
    *value = sip_mkstr(NULL, 0);
    q += nl;
    const char *r = sip_skip_lws(q, end);
    if (r < end && *r == '=') {
        r = sip_skip_lws(r + 1, end);
        size_t vl = (r < end && *r == '"') ? sip_scan_quoted(r, end) : gvalue_len(r, end);
        if (vl == 0)
            return -1;
        *value = sip_mkstr(r, vl);
        q = r + vl;
    }
    *pp = q;
    return 1;
}

int sip_param_find(struct sip_str params, const char *name, struct sip_str *value)
{
    *value = sip_mkstr(NULL, 0);
    if (!params.p)
        return 0;
    /* Lenient walk: the slice was validated by the parser, and URI
     * parameters allow characters header parameters do not. */
    const char *p = params.p, *end = params.p + params.n;
    size_t want = strlen(name);
    while (p < end) {
        p = sip_skip_lws(p, end);
        if (p < end && *p == ';')
            p = sip_skip_lws(p + 1, end);
        const char *ns = p;
        while (p < end && *p != '=' && *p != ';' && *p != ' ' && *p != '\t' && *p != '\r')
            p++;
        size_t nl = (size_t)(p - ns);
        p = sip_skip_lws(p, end);
        struct sip_str v = { NULL, 0 };
        if (p < end && *p == '=') {
            p = sip_skip_lws(p + 1, end);
            const char *vs = p;
            size_t ql = (p < end && *p == '"') ? sip_scan_quoted(p, end) : 0;
            if (ql) {
                p += ql;
            } else {
                while (p < end && *p != ';' && *p != ' ' && *p != '\t' && *p != '\r')
                    p++;
            }
            v = sip_mkstr(vs, (size_t)(p - vs));
        }
        if (nl == want && nl > 0 && strncasecmp(ns, name, nl) == 0) {
            *value = v;
            return 1;
        }
        if (p < end && *p != ';' && p == ns)
            p++; /* no progress: step over the odd byte */
    }
    return 0;
}

int sip_parse_uint(const char *p, size_t n, uint64_t max, uint64_t *v)
{
    if (n == 0 || n > 19)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(p[i] - '0');
    }
    if (x > max)
        return -1;
    *v = x;
    return 0;
}

int sip_parse_delta(const char *p, size_t n, int64_t *v)
{
    if (n == 0)
        return -1;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        if (x < 0xFFFFFFFFll)
            x = x * 10 + (p[i] - '0');
    }
    *v = x > 0xFFFFFFFFll ? 0xFFFFFFFFll : x;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long sip_unescape(struct sip_str s, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c == '%') {
            if (i + 2 >= s.n)
                return -EBADMSG;
            int h = hexval(s.p[i + 1]), l = hexval(s.p[i + 2]);
            if (h < 0 || l < 0)
                return -EBADMSG;
            c = (char)(h << 4 | l);
            i += 2;
        }
        if (o == cap)
            return -ENOSPC;
        out[o++] = c;
    }
    return (long)o;
}

long sip_unquote(struct sip_str s, char *out, size_t cap)
{
    const char *p = s.p, *end = s.p + s.n;
    if (s.n >= 2 && p[0] == '"' && end[-1] == '"') {
        p++;
        end--;
    }
    size_t o = 0;
    while (p < end) {
        char c = *p++;
        if (c == '\\') {
            if (p == end)
                return -EBADMSG;
            c = *p++;
        } else if (c == '\r') {
            if (end - p < 2 || *p != '\n')
                return -EBADMSG;
            p++;
            while (p < end && (*p == ' ' || *p == '\t'))
                p++;
            c = ' ';
        }
        if (o == cap)
            return -ENOSPC;
        out[o++] = c;
    }
    return (long)o;
}

/* Checks an IPv4address's octets (the lexer takes 1*3DIGIT each). */
static int ipv4_ok(const char *p, size_t n)
{
    unsigned v = 0, digits = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || p[i] == '.') {
            if (digits == 0 || v > 255)
                return 0;
            v = digits = 0;
        } else {
            v = v * 10 + (unsigned)(p[i] - '0');
            digits++;
        }
    }
    return 1;
}

int sip_scan_hostport(const char *p, const char *end, int bare_v6, struct sip_str *host,
                     uint8_t *type, uint16_t *port, const char **after)
{
    int kind;
    size_t hl = sip_lex_host(p, (size_t)(end - p), &kind);
    if (hl == 0)
        return -1;
    switch (kind) {
    case SIP_LEX_HOST_NAME:
        *type = SIP_HOST_NAME;
        break;
    case SIP_LEX_HOST_IPV4:
        if (!ipv4_ok(p, hl))
            return -1;
        *type = SIP_HOST_IPV4;
        break;
    case SIP_LEX_HOST_IPV6REF:
        *type = SIP_HOST_IPV6;
        break;
    default:
        if (!bare_v6)
            return -1;
        *type = SIP_HOST_IPV6;
        break;
    }
    *host = sip_mkstr(p, hl);
    p += hl;
    *port = 0;
    if (p < end && *p == ':' && kind != SIP_LEX_HOST_IPV6) {
        const char *d = ++p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        uint64_t v;
        if (sip_parse_uint(d, (size_t)(p - d), 65535, &v) != 0 || v == 0)
            return -1;
        *port = (uint16_t)v;
    }
    *after = p;
    return 0;
}

static int uri_params(const char *p, const char *end, struct sip_uri *u, const char **after)
{
    const char *start = p;
    while (p < end && *p == ';') {
        p++;
        size_t nl = sip_lex_paramchars(p, (size_t)(end - p));
        if (nl == 0)
            return -1;
        struct sip_str name = sip_mkstr(p, nl), val = { NULL, 0 };
        p += nl;
        if (p < end && *p == '=') {
            p++;
            size_t vl = sip_lex_paramchars(p, (size_t)(end - p));
            if (vl == 0)
                return -1;
            val = sip_mkstr(p, vl);
            p += vl;
        }
        if (sip_str_ieq(name, "transport"))
            u->transport = val;
        else if (sip_str_ieq(name, "maddr"))
            u->maddr = val;
        else if (sip_str_ieq(name, "user"))
            u->user_param = val;
        else if (sip_str_ieq(name, "lr"))
            u->lr = 1;
        else if (sip_str_ieq(name, "ob"))
            u->ob = 1;
        else if (sip_str_ieq(name, "gr")) {
            u->gr = 1;
            u->gr_value = val;
        }
    }
    if (p > start)
        u->params = sip_mkstr(start, (size_t)(p - start));
    *after = p;
    return 0;
}

static int uri_headers(const char *p, const char *end, struct sip_uri *u)
{
    /* headers = "?" header *( "&" header ); header = hname "=" hvalue */
    const char *start = p + 1;
    p++;
    for (;;) {
        size_t nl = sip_lex_hnvchars(p, (size_t)(end - p));
        if (nl == 0 || p + nl >= end || p[nl] != '=')
            return -1;
        p += nl + 1;
        p += sip_lex_hnvchars(p, (size_t)(end - p)); /* hvalue may be empty */
        if (p < end && *p == '&') {
            p++;
            continue;
        }
        break;
    }
    if (p != end)
        return -1;
    u->headers = sip_mkstr(start, (size_t)(end - start));
    return 0;
}

int sip_parse_uri(const char *p, size_t n, struct sip_uri *u)
{
    memset(u, 0, sizeof *u);
    const char *end = p + n;
    u->text = sip_mkstr(p, n);
    size_t sl = sip_lex_scheme(p, n);
    if (sl == 0 || sl >= n || p[sl] != ':')
        return -EBADMSG;
    struct sip_str scheme = sip_mkstr(p, sl);
    const char *q = p + sl + 1;
    if (sip_str_ieq(scheme, "sip"))
        u->scheme = SIP_SCHEME_SIP;
    else if (sip_str_ieq(scheme, "sips"))
        u->scheme = SIP_SCHEME_SIPS;
    else {
        u->scheme = sip_str_ieq(scheme, "tel") ? SIP_SCHEME_TEL : SIP_SCHEME_OTHER;
        size_t rl = sip_lex_uric(q, (size_t)(end - q));
        return rl > 0 && q + rl == end ? 0 : -EBADMSG;
    }

    /* userinfo: the longest run of user characters followed by '@', or by
     * ':' password '@'. Without '@' the run was the host and parameters. */
    size_t ul = sip_lex_user(q, (size_t)(end - q));
    if (ul > 0 && q + ul < end && q[ul] == '@') {
        u->user = sip_mkstr(q, ul);
        q += ul + 1;
    } else if (ul > 0 && q + ul < end && q[ul] == ':') {
        const char *pw = q + ul + 1;
        size_t pl = sip_lex_password(pw, (size_t)(end - pw));
        if (pw + pl < end && pw[pl] == '@') {
            u->user = sip_mkstr(q, ul);
            u->password = sip_mkstr(pw, pl);
            q = pw + pl + 1;
        }
    }
    if (sip_scan_hostport(q, end, 0, &u->host, &u->host_type, &u->port, &q) != 0)
        return -EBADMSG;
    if (uri_params(q, end, u, &q) != 0)
        return -EBADMSG;
    if (q < end && *q == '?')
        return uri_headers(q, end, u) == 0 ? 0 : -EBADMSG;
    return q == end ? 0 : -EBADMSG;
}

/* Where an addr-spec written without <> ends: its parameters are header
 * parameters (RFC 3261 section 20.10), so ';' ends it, as do ',' in a list
 * and whitespace. '?' may not appear unbracketed either. */
static const char *addr_spec_end(const char *p, const char *end)
{
    while (p < end && *p != ';' && *p != ',' && *p != ' ' && *p != '\t' && *p != '\r' &&
           *p != '\n' && *p != '?' && *p != '<' && *p != '>' && *p != '"')
        p++;
    return p;
}

const char *sip_addr_at(const char *p, const char *end, int flags, struct sip_addr *a)
{
    memset(a, 0, sizeof *a);
    p = sip_skip_lws(p, end);
    a->text.p = p;
    const char *laquot = NULL;
    if (p < end && *p == '"') {
        size_t ql = sip_scan_quoted(p, end);
        if (ql == 0)
            return NULL;
        a->display = sip_mkstr(p, ql);
        laquot = sip_skip_lws(p + ql, end);
        if (laquot >= end || *laquot != '<')
            return NULL;
    } else if (p < end && *p == '<') {
        laquot = p;
    } else {
        /* display-name = *(token LWS): tokens up to a '<' make a display
         * name; anything else means this is an addr-spec. */
        const char *t = p, *last = NULL;
        for (;;) {
            size_t tl = sip_lex_token(t, (size_t)(end - t));
            if (tl == 0)
                break;
            last = t + tl;
            const char *nx = sip_skip_lws(last, end);
            if (nx < end && *nx == '<') {
                a->display = sip_mkstr(p, (size_t)(last - p));
                laquot = nx;
                break;
            }
            if (nx == last)
                break;
            t = nx;
        }
    }

    const char *q;
    if (laquot) {
        const char *u = laquot + 1;
        const char *gt = memchr(u, '>', (size_t)(end - u));
        if (!gt)
            return NULL;
        if (sip_parse_uri(u, (size_t)(gt - u), &a->uri) != 0)
            return NULL;
        a->angle = 1;
        q = gt + 1;
    } else {
        if (flags & SIP_ADDR_NAME_ONLY)
            return NULL;
        const char *ue = addr_spec_end(p, end);
        if (sip_parse_uri(p, (size_t)(ue - p), &a->uri) != 0)
            return NULL;
        q = ue;
    }

    const char *pstart = NULL, *cur = q;
    struct sip_str name, val;
    int r;
    while ((r = sip_gparam_next(&cur, end, &name, &val)) == 1) {
        if (!pstart)
            pstart = sip_skip_lws(q, end);
        if (sip_str_ieq(name, "tag")) {
            if (!val.p || sip_lex_token(val.p, val.n) != val.n)
                return NULL;
            if (!a->tag.p)
                a->tag = val; /* the first of repeated tags counts */
        }
    }
    if (r < 0)
        return NULL;
    if (pstart)
        a->params = sip_mkstr(pstart, (size_t)(cur - pstart));
    a->text.n = (size_t)(cur - a->text.p);
    return cur;
}

int sip_parse_addr(const char *p, size_t n, struct sip_addr *a)
{
    const char *end = p + n;
    const char *q = sip_addr_at(p, end, 0, a);
    if (!q)
        return -EBADMSG;
    return sip_skip_lws(q, end) == end ? 0 : -EBADMSG;
}
