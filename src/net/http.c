/*
 * net/http.c - see http.h.
 *
 * Per connection: one llhttp parser, a deadline timer, and a buffer of
 * input not parsed yet (allocated only while bytes wait): an idle
 * keep-alive connection costs under 1 KiB (it was 88 KiB with fixed
 * buffers). Per request: an exchange holding the request, its head and
 * body copies and the response, freed when the answer is queued. Requests are parsed one at a time: on_message_complete pauses
 * the parser, the handler runs outside llhttp's callbacks, and parsing of
 * the bytes behind it resumes once the answer is queued and the output is
 * below HTTP_OUTPUT_HIGH.
 *
 * Output over plain TCP goes straight to uv_write (libuv keeps the queue;
 * uv_stream_get_write_queue_size says how much is unsent); over TLS it is
 * queued here and fed to tls_conn_write in pieces whenever the TLS layer
 * has room (its on_drain callback).
 */
#include "net/http.h"
#include "net/tls.h"
#include "crypto/hash.h"
#include "crypto/random.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <llhttp.h>

#define container_of(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))

#define HTTP_READ_BUF 65536
#define HTTP_TLS_OUT_CAP 32768
#define HTTP_TLS_CHUNK 8192
#define HTTP_SRC_SLOTS 4096 /* per-source counters */
#define HTTP_SRC_PROBE 8

/* Statuses counted one by one; anything else is counted as "other". */
static const int http_counted[] = { 200, 204, 301, 302, 303, 304, 400, 403, 404, 405,
                                    408, 409, 413, 429, 431, 500, 503, 505 };
#define HTTP_NCOUNTED (sizeof http_counted / sizeof http_counted[0])

struct http_conn;

struct http_src {
    uint64_t tag; /* keyed hash of the address; 0: free */
    unsigned count;
};

struct http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    struct http_server_opts opts;
    llhttp_settings_t settings;
    struct http_conn *conns; /* doubly linked list of open connections */
    int nconns;
    int closing;
    int pending_closes;
    uint64_t refused, refused_source;
    uv_tcp_t spare; /* accepts (and closes) a connection when memory runs out */
    int spare_busy;
    uint64_t answers[HTTP_NCOUNTED + 1];
    void (*done)(void *arg);
    void *done_arg;
    uint8_t src_key[32];
    struct http_src src[HTTP_SRC_SLOTS];
    char rbuf[HTTP_READ_BUF]; /* one read at a time on the loop thread */
};

enum http_hstate { HS_NONE, HS_FIELD, HS_VALUE };
enum http_deadline { D_NONE, D_IDLE, D_REQUEST, D_WRITE, D_HANDSHAKE };

struct http_exchange {
    struct http_request req;
    struct http_response res;
    struct http_conn *conn; /* NULL once the connection has gone */
    struct http_server *srv;
    int deferred;
    int keep_alive;
    int head_only;
    size_t head_len;
    size_t body_cap;
    uint8_t *body;
    char head[HTTP_MAX_HEAD];
};

struct http_out {
    struct http_out *next;
    size_t len, off;
    char data[];
};

struct http_write {
    uv_write_t req;
    struct http_conn *conn;
    char data[];
};

struct http_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct tls_conn *tls;
    int tls_closed;
    int handles_open;
    int closing;
    int close_after_write;
    int busy;        /* the exchange is complete and with the handler */
    int in_run;
    int reading;
    int writes_pending;
    unsigned nreq;
    enum http_deadline deadline;
    enum http_hstate hstate;
    int err_status; /* set by a callback that exceeded a limit */
    size_t field_off, value_off;
    struct http_server *srv;
    struct http_conn *prev, *next;
    struct http_exchange *ex;
    char *in;        /* bytes not parsed yet */
    size_t in_len, in_cap;
    struct http_out *out_head, *out_tail; /* TLS only */
    size_t out_queued;
    struct sockaddr_storage peer;
    struct http_src *src; /* its per-source counter, or NULL */
    llhttp_t parser;
};

static void http_conn_close(struct http_conn *c);
static void http_conn_run(struct http_conn *c);
static void http_timer_cb(uv_timer_t *t);
static void http_src_release(struct http_conn *c);

const char *http_status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

/* ---------------------------------------------------------------- bodies */

/* Makes room for n more bytes plus a terminator. 0 or -ENOSPC. */
static int http_body_reserve(struct http_response *res, size_t n)
{
    if (res->truncated)
        return -ENOSPC;
    if (res->body_len + n + 1 > HTTP_MAX_RESPONSE) {
        res->truncated = 1;
        return -ENOSPC;
    }
    if (res->body_len + n + 1 <= res->body_cap)
        return 0;
    size_t cap = res->body_cap ? res->body_cap : 4096;
    while (cap < res->body_len + n + 1)
        cap *= 2;
    if (cap > HTTP_MAX_RESPONSE)
        cap = HTTP_MAX_RESPONSE;
    char *b = realloc(res->body, cap);
    if (!b) {
        res->truncated = 1;
        return -ENOSPC;
    }
    res->body = b;
    res->body_cap = cap;
    return 0;
}

int http_response_write(struct http_response *res, const void *data, size_t n)
{
    if (http_body_reserve(res, n) < 0)
        return -ENOSPC;
    memcpy(res->body + res->body_len, data, n);
    res->body_len += n;
    res->body[res->body_len] = '\0';
    return 0;
}

static int http_response_vprintf(struct http_response *res, const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0)
        return -EINVAL;
    if (http_body_reserve(res, (size_t)n) < 0)
        return -ENOSPC;
    vsnprintf(res->body + res->body_len, (size_t)n + 1, fmt, ap);
    res->body_len += (size_t)n;
    return 0;
}

int http_response_printf(struct http_response *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = http_response_vprintf(res, fmt, ap);
    va_end(ap);
    return rc;
}

static int http_html_escape(struct http_response *res, const char *s)
{
    if (!s)
        return 0;
    const char *run = s;
    for (; *s; s++) {
        const char *ent;
        switch (*s) {
        case '&': ent = "&amp;"; break;
        case '<': ent = "&lt;"; break;
        case '>': ent = "&gt;"; break;
        case '"': ent = "&quot;"; break;
        case '\'': ent = "&#39;"; break;
        default: continue;
        }
        if (http_response_write(res, run, (size_t)(s - run)) < 0 ||
            http_response_write(res, ent, strlen(ent)) < 0)
            return -ENOSPC;
        run = s + 1;
    }
    return http_response_write(res, run, (size_t)(s - run));
}

/* Formats one numeric or character conversion with the argument pulled
 * at its real type (len: "", "h", "hh", "l", "ll", "z" or "j"). */
static int http_html_number(struct http_response *res, char conv, const char *len,
                            va_list *ap)
{
    char out[32];
    int n;
    if (conv == 'c') {
        out[0] = (char)va_arg(*ap, int);
        out[1] = '\0';
        return http_html_escape(res, out);
    }
    if (conv == 'd' || conv == 'i') {
        intmax_t v;
        if (strcmp(len, "l") == 0)
            v = va_arg(*ap, long);
        else if (strcmp(len, "ll") == 0)
            v = va_arg(*ap, long long);
        else if (strcmp(len, "z") == 0)
            v = va_arg(*ap, ssize_t);
        else if (strcmp(len, "j") == 0)
            v = va_arg(*ap, intmax_t);
        else
            v = va_arg(*ap, int);
        n = snprintf(out, sizeof out, "%jd", v);
    } else {
        uintmax_t v;
        if (strcmp(len, "l") == 0)
            v = va_arg(*ap, unsigned long);
        else if (strcmp(len, "ll") == 0)
            v = va_arg(*ap, unsigned long long);
        else if (strcmp(len, "z") == 0)
            v = va_arg(*ap, size_t);
        else if (strcmp(len, "j") == 0)
            v = va_arg(*ap, uintmax_t);
        else
            v = va_arg(*ap, unsigned);
        n = conv == 'x' ? snprintf(out, sizeof out, "%jx", v)
                        : snprintf(out, sizeof out, "%ju", v);
    }
    if (n < 0 || (size_t)n >= sizeof out)
        return -EINVAL;
    return http_response_write(res, out, (size_t)n);
}

int http_html_printf(struct http_response *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = 0;
    const char *run = fmt;
    const char *p = fmt;
    while (*p && rc == 0) {
        if (*p != '%') {
            p++;
            continue;
        }
        rc = http_response_write(res, run, (size_t)(p - run));
        p++;
        if (*p == '%') {
            rc = rc ? rc : http_response_write(res, "%", 1);
            run = ++p;
            continue;
        }
        char len[3] = "";
        size_t ll = 0;
        while (*p && strchr("hlzj", *p) && ll < 2)
            len[ll++] = *p++;
        len[ll] = '\0';
        char conv = *p;
        if (!conv || !strchr("sdiuxc", conv)) {
            rc = -EINVAL;
            break;
        }
        p++;
        if (rc == 0) {
            if (conv == 's') {
                rc = http_html_escape(res, va_arg(ap, const char *));
            } else {
                rc = http_html_number(res, conv, len, &ap);
            }
        }
        run = p;
    }
    if (rc == 0)
        rc = http_response_write(res, run, (size_t)(p - run));
    va_end(ap);
    return rc;
}

int http_response_header(struct http_response *res, const char *name, const char *fmt, ...)
{
    char value[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof value)
        return -ENOSPC;
    if (strpbrk(value, "\r\n") || strpbrk(name, "\r\n:"))
        return -EINVAL;
    size_t used = strlen(res->extra_headers);
    int m = snprintf(res->extra_headers + used, sizeof res->extra_headers - used,
                     "%s: %s\r\n", name, value);
    if (m < 0 || (size_t)m >= sizeof res->extra_headers - used) {
        res->extra_headers[used] = '\0';
        res->truncated = 1;
        return -ENOSPC;
    }
    return 0;
}

/* -------------------------------------------------------------- exchanges */

static struct http_exchange *http_exchange_new(struct http_conn *c)
{
    struct http_exchange *ex = calloc(1, sizeof *ex);
    if (!ex)
        return NULL;
    ex->conn = c;
    ex->srv = c->srv;
    ex->res.status = 200;
    ex->req.tls = c->tls != NULL;
    ex->req.peer = c->peer;
    return ex;
}

static void http_exchange_free(struct http_exchange *ex)
{
    if (!ex)
        return;
    free(ex->body);
    free(ex->res.body);
    free(ex);
}

void http_response_defer(struct http_response *res)
{
    container_of(res, struct http_exchange, res)->deferred = 1;
}

int http_response_orphaned(const struct http_response *res)
{
    return container_of(res, const struct http_exchange, res)->conn == NULL;
}

/* ------------------------------------------------------------------ output */

static size_t http_conn_unsent(const struct http_conn *c)
{
    if (c->tls)
        return c->out_queued + tls_conn_unsent(c->tls);
    if (c->tls_closed || c->closing)
        return 0;
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

static void http_conn_maybe_finish(struct http_conn *c)
{
    if (c->close_after_write && !c->closing && c->writes_pending == 0 &&
        http_conn_unsent(c) == 0)
        http_conn_close(c);
}

static void http_write_cb(uv_write_t *wr, int status)
{
    struct http_write *w = container_of(wr, struct http_write, req);
    struct http_conn *c = w->conn;
    free(w);
    c->writes_pending--;
    if (c->closing)
        return;
    if (status < 0) {
        http_conn_close(c);
        return;
    }
    http_conn_maybe_finish(c);
    if (!c->closing)
        http_conn_run(c);
}

/* Feeds queued output to the TLS layer while it has room. */
static void http_tls_flush(struct http_conn *c)
{
    while (c->out_head && !c->closing) {
        struct http_out *o = c->out_head;
        size_t n = o->len - o->off;
        if (n > HTTP_TLS_CHUNK)
            n = HTTP_TLS_CHUNK;
        int rc = tls_conn_write(c->tls, o->data + o->off, n);
        if (rc == -ENOBUFS || rc == -EAGAIN)
            return;
        if (rc < 0) {
            http_conn_close(c);
            return;
        }
        o->off += n;
        c->out_queued -= n;
        if (o->off == o->len) {
            c->out_head = o->next;
            if (!c->out_head)
                c->out_tail = NULL;
            free(o);
        }
    }
}

static void http_tls_drain(void *arg)
{
    struct http_conn *c = arg;
    http_tls_flush(c);
    if (c->closing)
        return;
    http_conn_maybe_finish(c);
    if (!c->closing)
        http_conn_run(c);
}

/* Queues hdr + body as one write. */
static void http_conn_output(struct http_conn *c, const char *hdr, size_t hl, const char *body,
                             size_t bl)
{
    if (c->tls) {
        struct http_out *o = malloc(sizeof *o + hl + bl);
        if (!o) {
            http_conn_close(c);
            return;
        }
        o->next = NULL;
        o->len = hl + bl;
        o->off = 0;
        memcpy(o->data, hdr, hl);
        if (bl)
            memcpy(o->data + hl, body, bl);
        if (c->out_tail)
            c->out_tail->next = o;
        else
            c->out_head = o;
        c->out_tail = o;
        c->out_queued += o->len;
        http_tls_flush(c);
        return;
    }
    struct http_write *w = malloc(sizeof *w + hl + bl);
    if (!w) {
        http_conn_close(c);
        return;
    }
    w->conn = c;
    memcpy(w->data, hdr, hl);
    if (bl)
        memcpy(w->data + hl, body, bl);
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)(hl + bl));
    c->writes_pending++;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, http_write_cb) < 0) {
        c->writes_pending--;
        free(w);
        http_conn_close(c);
    }
}

static void http_count(struct http_server *s, int status)
{
    size_t i;
    for (i = 0; i < HTTP_NCOUNTED; i++)
        if (http_counted[i] == status)
            break;
    s->answers[i]++;
}

/* Serialises and queues a response on c. */
static void http_conn_send(struct http_conn *c, struct http_response *res, int head_only)
{
    if (res->truncated) {
        res->status = 500;
        res->content_type = NULL;
        res->extra_headers[0] = '\0';
        res->truncated = 0;
        res->body_len = 0;
        http_response_printf(res, "500 Internal Server Error: the answer was too large\n");
    }
    const char *ctype = res->content_type ? res->content_type : "text/plain; charset=utf-8";
    int has_cache = strcasestr(res->extra_headers, "cache-control:") != NULL;
    char hdr[HTTP_EXTRA_HEADERS + 512];
    int hl = snprintf(hdr, sizeof hdr,
                      "HTTP/1.1 %d %s\r\n"
                      "Content-Type: %s\r\n"
                      "Content-Length: %zu\r\n"
                      "X-Content-Type-Options: nosniff\r\n"
                      "%s%s%s\r\n",
                      res->status, http_status_text(res->status), ctype, res->body_len,
                      has_cache ? "" : "Cache-Control: no-store\r\n", res->extra_headers,
                      c->close_after_write ? "Connection: close\r\n" : "");
    if (hl < 0 || (size_t)hl >= sizeof hdr) {
        http_conn_close(c);
        return;
    }
    http_count(c->srv, res->status);
    http_conn_output(c, hdr, (size_t)hl, res->body, head_only ? 0 : res->body_len);
}

/* An error answer: short plain text naming the problem, then close. */
static void http_send_error(struct http_conn *c, int status, const char *reason)
{
    struct http_response res = { .status = status };
    http_response_printf(&res, "%d %s: %s\n", status, http_status_text(status), reason);
    c->close_after_write = 1;
    http_exchange_free(c->ex);
    c->ex = NULL;
    c->busy = 0;
    c->in_len = 0;
    http_conn_send(c, &res, 0);
    free(res.body);
}

/* The exchange's answer is ready: queue it, free the exchange. */
static void http_exchange_finish(struct http_exchange *ex)
{
    struct http_conn *c = ex->conn;
    assert(c && c->ex == ex);
    if (!ex->keep_alive || c->srv->closing)
        c->close_after_write = 1;
    c->ex = NULL;
    c->busy = 0;
    http_conn_send(c, &ex->res, ex->head_only);
    http_exchange_free(ex);
}

void http_response_send(struct http_response *res)
{
    struct http_exchange *ex = container_of(res, struct http_exchange, res);
    struct http_conn *c = ex->conn;
    if (!c) {
        http_exchange_free(ex);
        return;
    }
    http_exchange_finish(ex);
    if (!c->closing) {
        http_conn_maybe_finish(c);
        if (!c->closing)
            http_conn_run(c);
    }
}

/* ------------------------------------------------------- llhttp callbacks */

static struct http_conn *http_conn_of(llhttp_t *p)
{
    return (struct http_conn *)p->data;
}

/* Appends a span to the exchange's head, reserving a byte for the NUL. */
static int http_head_append(struct http_conn *c, const char *at, size_t len)
{
    struct http_exchange *ex = c->ex;
    if (ex->head_len + len + 1 > sizeof ex->head) {
        c->err_status = 431;
        return -1;
    }
    memcpy(ex->head + ex->head_len, at, len);
    ex->head_len += len;
    return 0;
}

static int http_head_terminate(struct http_conn *c)
{
    struct http_exchange *ex = c->ex;
    if (ex->head_len + 1 > sizeof ex->head) {
        c->err_status = 431;
        return -1;
    }
    ex->head[ex->head_len++] = '\0';
    return 0;
}

static int http_on_message_begin(llhttp_t *p)
{
    struct http_conn *c = http_conn_of(p);
    assert(!c->ex);
    c->ex = http_exchange_new(c);
    if (!c->ex) {
        c->err_status = 503;
        return -1;
    }
    c->hstate = HS_NONE;
    c->err_status = 0;
    return 0;
}

static int http_on_url(llhttp_t *p, const char *at, size_t len)
{
    return http_head_append(http_conn_of(p), at, len);
}

static int http_on_url_complete(llhttp_t *p)
{
    struct http_conn *c = http_conn_of(p);
    if (http_head_terminate(c) < 0)
        return -1;
    c->ex->req.path = c->ex->head; /* the URL is the first thing in head[] */
    return 0;
}

static int http_on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct http_conn *c = http_conn_of(p);
    if (c->hstate != HS_FIELD) {
        if (c->ex->req.nheaders == HTTP_MAX_HEADERS) {
            c->err_status = 431;
            return -1;
        }
        c->field_off = c->ex->head_len;
        c->hstate = HS_FIELD;
    }
    return http_head_append(c, at, len);
}

static int http_on_header_field_complete(llhttp_t *p)
{
    struct http_conn *c = http_conn_of(p);
    if (http_head_terminate(c) < 0)
        return -1;
    c->value_off = c->ex->head_len;
    c->hstate = HS_VALUE;
    return 0;
}

static int http_on_header_value(llhttp_t *p, const char *at, size_t len)
{
    return http_head_append(http_conn_of(p), at, len);
}

static int http_on_header_value_complete(llhttp_t *p)
{
    struct http_conn *c = http_conn_of(p);
    if (c->hstate != HS_VALUE) { /* an empty value: no field_complete before */
        c->value_off = c->ex->head_len;
    }
    if (http_head_terminate(c) < 0)
        return -1;
    struct http_request *r = &c->ex->req;
    struct http_header *h = &r->headers[r->nheaders++];
    h->name = c->ex->head + c->field_off;
    h->value = c->ex->head + c->value_off;
    c->hstate = HS_NONE;
    return 0;
}

/* Refuses an announced oversized body before any of it is read. */
static int http_on_headers_complete(llhttp_t *p)
{
    struct http_conn *c = http_conn_of(p);
    if (p->http_major != 1) {
        c->err_status = 505;
        return -1;
    }
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > HTTP_MAX_BODY) {
        c->err_status = 413;
        return -1;
    }
    return 0;
}

static int http_on_body(llhttp_t *p, const char *at, size_t len)
{
    struct http_conn *c = http_conn_of(p);
    struct http_exchange *ex = c->ex;
    if (ex->req.body_len + len > HTTP_MAX_BODY) {
        c->err_status = 413;
        return -1;
    }
    if (ex->req.body_len + len > ex->body_cap) {
        size_t cap = ex->body_cap ? ex->body_cap : 1024;
        while (cap < ex->req.body_len + len)
            cap *= 2;
        if (cap > HTTP_MAX_BODY)
            cap = HTTP_MAX_BODY;
        uint8_t *b = realloc(ex->body, cap);
        if (!b) {
            c->err_status = 503;
            return -1;
        }
        ex->body = b;
        ex->body_cap = cap;
    }
    memcpy(ex->body + ex->req.body_len, at, len);
    ex->req.body_len += len;
    return 0;
}

static int http_on_message_complete(llhttp_t *p)
{
    struct http_conn *c = http_conn_of(p);
    struct http_exchange *ex = c->ex;
    ex->req.method = llhttp_method_name((llhttp_method_t)llhttp_get_method(p));
    ex->req.body = ex->body ? ex->body : (const uint8_t *)"";
    ex->keep_alive = llhttp_should_keep_alive(p);
    ex->head_only = strcmp(ex->req.method, "HEAD") == 0;
    c->busy = 1;
    return HPE_PAUSED; /* one request at a time: resumed after the answer */
}

/* --------------------------------------------------------------- the loop */

static void http_dispatch(struct http_conn *c)
{
    struct http_exchange *ex = c->ex;
    struct http_server *s = c->srv;
    if (++c->nreq >= s->opts.max_requests)
        ex->keep_alive = 0;
    /* Room a handler may also fill directly (body, body_cap), as the
     * metrics listener does. */
    http_body_reserve(&ex->res, HTTP_BODY_PREALLOC);
    ex->res.truncated = 0;
    s->opts.handler(s->opts.ctx, &ex->req, &ex->res);
    /* A deferred answer may already have been sent (and ex freed) from
     * inside the handler: c->ex tells, and is checked first. */
    if (c->ex == ex && !ex->deferred)
        http_exchange_finish(ex);
}

/* Parses what is in c->in once; dispatches a complete request. */
static void http_conn_parse(struct http_conn *c)
{
    llhttp_errno_t e = llhttp_execute(&c->parser, c->in, c->in_len);
    size_t used = c->in_len;
    if (e == HPE_PAUSED)
        used = (size_t)(llhttp_get_error_pos(&c->parser) - c->in);
    else if (e != HPE_OK) {
        if (c->err_status == 431)
            http_send_error(c, 431, "request line and headers are too large");
        else if (c->err_status == 413)
            http_send_error(c, 413, "request body is too large");
        else if (c->err_status == 503)
            http_send_error(c, 503, "out of memory");
        else if (e == HPE_INVALID_VERSION || c->err_status == 505)
            http_send_error(c, 505, "only HTTP/1.x is served");
        else
            http_send_error(c, 400, llhttp_get_error_reason(&c->parser));
        return;
    }
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    if (e == HPE_PAUSED) {
        llhttp_resume(&c->parser);
        http_dispatch(c);
    }
}

static void http_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct http_conn *c = h->data;
    (void)hint;
    *buf = uv_buf_init(c->srv->rbuf, sizeof c->srv->rbuf);
}

static unsigned http_deadline_ms(const struct http_conn *c, enum http_deadline d)
{
    const struct http_server_opts *o = &c->srv->opts;
    return d == D_REQUEST || d == D_HANDSHAKE ? o->request_ms : o->idle_ms;
}

/* Starts the deadline that fits the connection's state. A deadline keeps
 * its start while the state stays the same: bytes never push it back. */
static void http_conn_arm(struct http_conn *c)
{
    enum http_deadline want;
    if (c->closing)
        return;
    if (c->busy)
        want = D_NONE;
    else if (c->close_after_write || http_conn_unsent(c) > 0)
        want = D_WRITE;
    else if (c->ex)
        want = D_REQUEST;
    else if (c->tls && !tls_conn_ready(c->tls))
        want = D_HANDSHAKE;
    else
        want = D_IDLE;
    if (want == c->deadline)
        return;
    c->deadline = want;
    uv_timer_stop(&c->timer);
    if (want != D_NONE)
        uv_timer_start(&c->timer, http_timer_cb, http_deadline_ms(c, want), 0);
}

static void http_read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);

/* Reads while the input waiting is small and the output is below the
 * bound (over TLS: pauses and resumes the TLS connection). */
static void http_conn_update_reading(struct http_conn *c)
{
    if (c->closing)
        return;
    int want = !c->close_after_write && http_conn_unsent(c) <= HTTP_OUTPUT_HIGH &&
               c->in_len < HTTP_MAX_PENDING_INPUT;
    if (c->tls) {
        /* Resuming may hand over buffered bytes (and so run requests) at once. */
        tls_conn_pause(c->tls, !want);
        return;
    }
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, http_alloc_cb, http_read_cb) == 0)
            c->reading = 1;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

/* Handles the waiting input, one request at a time, while nothing holds
 * it back. */
static void http_conn_run(struct http_conn *c)
{
    if (c->in_run || c->closing)
        return;
    c->in_run = 1;
    while (!c->closing && !c->busy && !c->close_after_write && c->in_len > 0 &&
           http_conn_unsent(c) <= HTTP_OUTPUT_HIGH)
        http_conn_parse(c);
    c->in_run = 0;
    if (c->closing)
        return;
    http_conn_maybe_finish(c); /* TLS output taken whole by the kernel: no callback follows */
    if (c->closing)
        return;
    if (c->in_len == 0 && c->in) {
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
    http_conn_update_reading(c);
    http_conn_arm(c);
}

/* Appends received bytes to the waiting input. 0, or -1 when the
 * connection was closed for sending too much ahead. */
static int http_conn_input(struct http_conn *c, const char *p, size_t n)
{
    if (c->in_len + n > HTTP_MAX_PENDING_INPUT + HTTP_READ_BUF) {
        http_conn_close(c);
        return -1;
    }
    if (c->in_len + n > c->in_cap) {
        size_t cap = c->in_len + n;
        char *b = realloc(c->in, cap);
        if (!b) {
            http_conn_close(c);
            return -1;
        }
        c->in = b;
        c->in_cap = cap;
    }
    memcpy(c->in + c->in_len, p, n);
    c->in_len += n;
    return 0;
}

static void http_read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct http_conn *c = st->data;
    if (n == 0)
        return;
    if (n < 0) {
        http_conn_close(c);
        return;
    }
    if (c->close_after_write)
        return; /* answering an error or the last request; ignore the rest */
    if (http_conn_input(c, buf->base, (size_t)n) == 0)
        http_conn_run(c);
}

/* Takes what fits in the waiting input; the TLS layer keeps the rest and
 * stops delivering (back-pressure) until http_conn_update_reading()
 * resumes it. */
static size_t http_tls_data(void *arg, const uint8_t *data, size_t len)
{
    struct http_conn *c = arg;
    if (c->close_after_write || c->closing)
        return len; /* ignored, as over TCP */
    size_t cap = HTTP_MAX_PENDING_INPUT + HTTP_READ_BUF;
    size_t take = c->in_len < cap ? cap - c->in_len : 0;
    if (take > len)
        take = len;
    if (take && http_conn_input(c, (const char *)data, take) == 0)
        http_conn_run(c);
    return take;
}

/* ------------------------------------------------------------ connections */

/* Once stopping and every handle is closed, report and free the server. */
static void http_server_maybe_done(struct http_server *s)
{
    if (!s->closing || s->pending_closes > 0 || s->nconns > 0)
        return;
    void (*done)(void *) = s->done;
    void *arg = s->done_arg;
    free(s);
    if (done)
        done(arg);
}

static void http_conn_handle_done(struct http_conn *c)
{
    struct http_server *s = c->srv;
    assert(c->handles_open > 0);
    if (--c->handles_open > 0)
        return;
    free(c);
    s->pending_closes--;
    assert(s->pending_closes >= 0);
    http_server_maybe_done(s);
}

static void http_conn_handle_closed(uv_handle_t *h)
{
    http_conn_handle_done(h->data);
}

static void http_tls_closed(void *arg)
{
    struct http_conn *c = arg;
    c->tls = NULL;
    c->tls_closed = 1;
    if (!c->closing)
        http_conn_close(c);
    http_conn_handle_done(c);
}

static void http_conn_close(struct http_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    struct http_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    s->pending_closes++;
    http_src_release(c);
    if (c->ex) {
        if (c->busy && c->ex->deferred)
            c->ex->conn = NULL; /* the handler frees it when it answers */
        else
            http_exchange_free(c->ex);
        c->ex = NULL;
    }
    free(c->in);
    c->in = NULL;
    c->in_len = 0;
    while (c->out_head) {
        struct http_out *o = c->out_head;
        c->out_head = o->next;
        free(o);
    }
    c->out_tail = NULL;
    uv_close((uv_handle_t *)&c->timer, http_conn_handle_closed);
    if (c->tls)
        tls_conn_close(c->tls); /* closes the TCP handle; http_tls_closed follows */
    else if (!c->tls_closed)
        uv_close((uv_handle_t *)&c->tcp, http_conn_handle_closed);
}

static void http_timer_cb(uv_timer_t *t)
{
    struct http_conn *c = t->data;
    enum http_deadline d = c->deadline;
    c->deadline = D_NONE;
    if (d == D_REQUEST && c->ex && !c->busy) {
        http_send_error(c, 408, "the request did not arrive in time");
        http_conn_maybe_finish(c);
        if (c->closing)
            return;
        http_conn_update_reading(c);
        http_conn_arm(c);
        return;
    }
    http_conn_close(c);
}

/* The counter of the connection's source address, created when absent;
 * NULL when the table's probe window is full (then the cap refuses). */
static struct http_src *http_src_of(struct http_server *s, const struct sockaddr_storage *ss)
{
    uint8_t a[16], mac[32];
    size_t n;
    if (ss->ss_family == AF_INET) {
        memcpy(a, &((const struct sockaddr_in *)ss)->sin_addr, 4);
        n = 4;
    } else if (ss->ss_family == AF_INET6) {
        memcpy(a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
        memset(a + 8, 0, 8); /* one host holds a whole /64 */
        n = 16;
    } else {
        return NULL;
    }
    crypto_hmac_sha256(s->src_key, sizeof s->src_key, a, n, mac);
    uint64_t tag;
    memcpy(&tag, mac, sizeof tag);
    tag |= 1;
    struct http_src *free_slot = NULL;
    for (size_t i = 0; i < HTTP_SRC_PROBE; i++) {
        struct http_src *e = &s->src[(tag + i) % HTTP_SRC_SLOTS];
        if (e->tag == tag)
            return e;
        if (!e->tag && !free_slot)
            free_slot = e;
    }
    if (free_slot) {
        free_slot->tag = tag;
        free_slot->count = 0;
    }
    return free_slot;
}

static void http_src_release(struct http_conn *c)
{
    if (!c->src)
        return;
    assert(c->src->count > 0);
    if (--c->src->count == 0)
        c->src->tag = 0;
    c->src = NULL;
}

static void http_refused_closed(uv_handle_t *h)
{
    free(h);
}

static void http_spare_closed(uv_handle_t *h)
{
    struct http_server *s = h->data;
    s->spare_busy = 0;
    s->pending_closes--;
    http_server_maybe_done(s);
}

static void http_accept_cb(uv_stream_t *ls, int status)
{
    struct http_server *s = ls->data;
    if (status < 0)
        return;
    struct http_conn *c = NULL;
    if (!s->closing && s->nconns < s->opts.max_conns)
        c = calloc(1, sizeof *c);
    if (!c) {
        /* Always accept, then close: a listener whose connection is left
         * unaccepted is never polled again by libuv. */
        uv_tcp_t *t = malloc(sizeof *t);
        if (!t) {
            /* Out of memory: the spare handle kept for this takes it. */
            if (s->spare_busy)
                return;
            s->spare_busy = 1;
            s->pending_closes++;
            uv_tcp_init(s->loop, &s->spare);
            s->spare.data = s;
            if (uv_accept(ls, (uv_stream_t *)&s->spare) == 0)
                s->refused++;
            uv_close((uv_handle_t *)&s->spare, http_spare_closed);
            return;
        }
        uv_tcp_init(s->loop, t);
        if (uv_accept(ls, (uv_stream_t *)t) == 0)
            s->refused++;
        uv_close((uv_handle_t *)t, http_refused_closed);
        return;
    }
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles_open = 2;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    llhttp_init(&c->parser, HTTP_REQUEST, &s->settings);
    c->parser.data = c;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0) {
        http_conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    int plen = sizeof c->peer;
    uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &plen);
    if (s->opts.max_per_source > 0) {
        struct http_src *src = http_src_of(s, &c->peer);
        if (!src || src->count >= (unsigned)s->opts.max_per_source) {
            s->refused_source++;
            http_conn_close(c);
            return;
        }
        src->count++;
        c->src = src;
    }
    if (s->opts.tls) {
        static const struct tls_conn_cbs cbs = { http_tls_data, http_tls_closed,
                                                 http_tls_drain };
        if (tls_conn_new(s->opts.tls, (uv_stream_t *)&c->tcp, HTTP_TLS_OUT_CAP, &cbs, c,
                         &c->tls) < 0) {
            http_conn_close(c);
            return;
        }
    }
    http_conn_update_reading(c);
    http_conn_arm(c);
}

static void http_listener_closed(uv_handle_t *h)
{
    struct http_server *s = h->data;
    s->pending_closes--;
    http_server_maybe_done(s);
}

int http_server_start(uv_loop_t *loop, const struct http_server_opts *opts,
                      struct http_server **out, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int rc;
    *out = NULL;
    if ((rc = uv_ip4_addr(opts->ip, opts->port, (struct sockaddr_in *)&ss)) < 0 &&
        (rc = uv_ip6_addr(opts->ip, opts->port, (struct sockaddr_in6 *)&ss)) < 0) {
        snprintf(err, errlen, "http: '%s' is not an IP address", opts->ip);
        return rc;
    }
    struct http_server *s = calloc(1, sizeof *s);
    if (!s)
        return UV_ENOMEM;
    s->loop = loop;
    s->opts = *opts;
    if ((rc = crypto_random_bytes(s->src_key, sizeof s->src_key)) < 0) {
        free(s);
        snprintf(err, errlen, "http: no random bytes for the per-source cap");
        return rc;
    }
    if (!s->opts.idle_ms)
        s->opts.idle_ms = HTTP_DEFAULT_IDLE_MS;
    if (!s->opts.request_ms)
        s->opts.request_ms = HTTP_DEFAULT_REQUEST_MS;
    if (!s->opts.max_requests)
        s->opts.max_requests = HTTP_DEFAULT_MAX_REQUESTS;
    llhttp_settings_init(&s->settings);
    s->settings.on_message_begin = http_on_message_begin;
    s->settings.on_url = http_on_url;
    s->settings.on_url_complete = http_on_url_complete;
    s->settings.on_header_field = http_on_header_field;
    s->settings.on_header_field_complete = http_on_header_field_complete;
    s->settings.on_header_value = http_on_header_value;
    s->settings.on_header_value_complete = http_on_header_value_complete;
    s->settings.on_headers_complete = http_on_headers_complete;
    s->settings.on_body = http_on_body;
    s->settings.on_message_complete = http_on_message_complete;
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    if ((rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&s->listener, 128, http_accept_cb)) < 0) {
        snprintf(err, errlen, "http: cannot listen on port %d: %s", opts->port,
                 uv_strerror(rc));
        s->closing = 1;
        s->pending_closes = 1;
        uv_close((uv_handle_t *)&s->listener, http_listener_closed);
        return rc;
    }
    *out = s;
    return 0;
}

void http_server_stop(struct http_server *hs, void (*done)(void *arg), void *arg)
{
    crypto_wipe(hs->src_key, sizeof hs->src_key);
    hs->closing = 1;
    hs->done = done;
    hs->done_arg = arg;
    hs->pending_closes++;
    uv_close((uv_handle_t *)&hs->listener, http_listener_closed);
    while (hs->conns)
        http_conn_close(hs->conns);
}

void http_server_metrics(const struct http_server *hs, const char *prefix,
                         struct metrics_out *m)
{
    char name[96], labels[32];
    snprintf(name, sizeof name, "t9phone_%s_answers_total", prefix);
    for (size_t i = 0; i <= HTTP_NCOUNTED; i++) {
        if (i < HTTP_NCOUNTED)
            snprintf(labels, sizeof labels, "status=\"%d\"", http_counted[i]);
        else
            snprintf(labels, sizeof labels, "status=\"other\"");
        metrics_counter(m, name, "HTTP answers sent, by status code", labels, hs->answers[i]);
    }
    snprintf(name, sizeof name, "t9phone_%s_refused_connections_total", prefix);
    metrics_counter(m, name, "connections closed at once: connection limit reached", NULL,
                    hs->refused);
    snprintf(name, sizeof name, "t9phone_%s_refused_per_source_total", prefix);
    metrics_counter(m, name, "connections closed at once: too many from one address", NULL,
                    hs->refused_source);
    snprintf(name, sizeof name, "t9phone_%s_connections", prefix);
    metrics_gauge(m, name, "open HTTP connections", NULL, hs->nconns);
}
