/*
 * net/http.c - see http.h.
 *
 * Per connection: one llhttp parser and one fixed buffer. Request line and
 * header strings are copied, NUL-terminated, into head[]; the body into
 * body[]. Both are reset after each response, so a keep-alive connection
 * never grows. Handlers run synchronously inside on_message_complete.
 */
#include "net/http.h"
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <llhttp.h>

struct http_conn;

struct http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    struct http_server_opts opts;
    llhttp_settings_t settings;
    struct http_conn *conns; /* doubly linked list of open connections */
    int nconns;
    int closing;
    int pending_closes;
    uint64_t refused;
    void (*done)(void *arg);
    void *done_arg;
    char resbody[HTTP_MAX_RESPONSE];
};

enum http_hstate { HS_NONE, HS_FIELD, HS_VALUE };

struct http_conn {
    uv_tcp_t tcp;
    uv_timer_t idle;
    int handles_open;
    int closing;
    int close_after_write;
    int writes_pending;
    struct http_server *srv;
    struct http_conn *prev, *next;
    llhttp_t parser;
    struct http_request req;
    enum http_hstate hstate;
    size_t head_len;
    int err_status;     /* set by a callback that exceeded a limit */
    size_t url_off;
    size_t field_off, value_off;
    char head[HTTP_MAX_HEAD];
    uint8_t body[HTTP_MAX_BODY];
    char rbuf[8192];
};

struct http_write {
    uv_write_t req;
    struct http_conn *conn;
    size_t len;
    char data[];
};

static void http_conn_close(struct http_conn *c);

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
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
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

int http_response_printf(struct http_response *res, const char *fmt, ...)
{
    va_list ap;
    size_t room = res->body_cap - res->body_len;
    va_start(ap, fmt);
    int n = vsnprintf(res->body + res->body_len, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n >= room) {
        res->body_len = res->body_cap ? res->body_cap - 1 : 0;
        return -ENOSPC;
    }
    res->body_len += (size_t)n;
    return 0;
}

static struct http_conn *http_conn_of(llhttp_t *p)
{
    return (struct http_conn *)p->data;
}

/* Appends a span to head[], reserving a byte for the terminator. */
static int http_head_append(struct http_conn *c, const char *at, size_t len)
{
    if (c->head_len + len + 1 > sizeof c->head) {
        c->err_status = 431;
        return -1;
    }
    memcpy(c->head + c->head_len, at, len);
    c->head_len += len;
    return 0;
}

static int http_head_terminate(struct http_conn *c)
{
    if (c->head_len + 1 > sizeof c->head) {
        c->err_status = 431;
        return -1;
    }
    c->head[c->head_len++] = '\0';
    return 0;
}

static void http_req_reset(struct http_conn *c)
{
    memset(&c->req, 0, sizeof c->req);
    c->head_len = 0;
    c->hstate = HS_NONE;
    c->err_status = 0;
}

static int http_on_message_begin(llhttp_t *p)
{
    http_req_reset(http_conn_of(p));
    return 0;
}

static int http_on_url(llhttp_t *p, const char *at, size_t len)
{
    struct http_conn *c = http_conn_of(p);
    if (c->req.path == NULL && c->head_len == 0)
        c->url_off = 0;
    return http_head_append(c, at, len);
}

static int http_on_url_complete(llhttp_t *p)
{
    struct http_conn *c = http_conn_of(p);
    if (http_head_terminate(c) < 0)
        return -1;
    c->req.path = c->head + c->url_off;
    return 0;
}

static int http_on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct http_conn *c = http_conn_of(p);
    if (c->hstate != HS_FIELD) {
        if (c->req.nheaders == HTTP_MAX_HEADERS) {
            c->err_status = 431;
            return -1;
        }
        c->field_off = c->head_len;
        c->hstate = HS_FIELD;
    }
    return http_head_append(c, at, len);
}

static int http_on_header_field_complete(llhttp_t *p)
{
    struct http_conn *c = http_conn_of(p);
    if (http_head_terminate(c) < 0)
        return -1;
    c->value_off = c->head_len;
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
    if (http_head_terminate(c) < 0)
        return -1;
    struct http_header *h = &c->req.headers[c->req.nheaders++];
    h->name = c->head + c->field_off;
    h->value = c->head + c->value_off;
    c->hstate = HS_NONE;
    return 0;
}

/* Refuses an announced oversized body before any of it is read. */
static int http_on_headers_complete(llhttp_t *p)
{
    struct http_conn *c = http_conn_of(p);
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > HTTP_MAX_BODY) {
        c->err_status = 413;
        return -1;
    }
    return 0;
}

static int http_on_body(llhttp_t *p, const char *at, size_t len)
{
    struct http_conn *c = http_conn_of(p);
    if (c->req.body_len + len > sizeof c->body) {
        c->err_status = 413;
        return -1;
    }
    memcpy(c->body + c->req.body_len, at, len);
    c->req.body_len += len;
    return 0;
}

static void http_write_cb(uv_write_t *wr, int status)
{
    struct http_write *w = (struct http_write *)wr;
    struct http_conn *c = w->conn;
    free(w);
    c->writes_pending--;
    if (status < 0 || (c->close_after_write && c->writes_pending == 0))
        http_conn_close(c);
}

static void http_send(struct http_conn *c, const struct http_response *res, int head_only)
{
    const char *ctype = res->content_type ? res->content_type : "text/plain; charset=utf-8";
    char hdr[2048];
    int hl = snprintf(hdr, sizeof hdr,
                      "HTTP/1.1 %d %s\r\n"
                      "Content-Type: %s\r\n"
                      "Content-Length: %zu\r\n"
                      "X-Content-Type-Options: nosniff\r\n"
                      "Cache-Control: no-store\r\n"
                      "%s%s\r\n",
                      res->status, http_status_text(res->status), ctype, res->body_len,
                      res->extra_headers, c->close_after_write ? "Connection: close\r\n" : "");
    if (hl < 0 || (size_t)hl >= sizeof hdr) {
        http_conn_close(c);
        return;
    }
    size_t blen = head_only ? 0 : res->body_len;
    struct http_write *w = malloc(sizeof *w + (size_t)hl + blen);
    if (!w) {
        http_conn_close(c);
        return;
    }
    w->conn = c;
    w->len = (size_t)hl + blen;
    memcpy(w->data, hdr, (size_t)hl);
    if (blen)
        memcpy(w->data + hl, res->body, blen);
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)w->len);
    c->writes_pending++;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, http_write_cb) < 0) {
        c->writes_pending--;
        free(w);
        http_conn_close(c);
    }
}

/* An error answer: short plain text naming the problem, then close. */
static void http_send_error(struct http_conn *c, int status, const char *reason)
{
    struct http_server *s = c->srv;
    struct http_response res = { .status = status, .body = s->resbody,
                                 .body_cap = sizeof s->resbody };
    http_response_printf(&res, "%d %s: %s\n", status, http_status_text(status), reason);
    c->close_after_write = 1;
    http_send(c, &res, 0);
}

static int http_on_message_complete(llhttp_t *p)
{
    struct http_conn *c = http_conn_of(p);
    struct http_server *s = c->srv;
    c->req.method = llhttp_method_name((llhttp_method_t)llhttp_get_method(p));
    c->req.body = c->body;
    struct http_response res = { .status = 200, .body = s->resbody,
                                 .body_cap = sizeof s->resbody };
    s->opts.handler(s->opts.ctx, &c->req, &res);
    if (!llhttp_should_keep_alive(p) || s->closing)
        c->close_after_write = 1;
    http_send(c, &res, strcmp(c->req.method, "HEAD") == 0);
    http_req_reset(c);
    return c->close_after_write ? HPE_PAUSED : 0;
}

static void http_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct http_conn *c = h->data;
    (void)hint;
    *buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void http_read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct http_conn *c = st->data;
    if (n == 0)
        return;
    if (n < 0) {
        if (n == UV_EOF)
            llhttp_finish(&c->parser);
        http_conn_close(c);
        return;
    }
    if (c->close_after_write)
        return; /* answering an error or the last request; ignore the rest */
    uv_timer_again(&c->idle);
    llhttp_errno_t e = llhttp_execute(&c->parser, buf->base, (size_t)n);
    if (e == HPE_OK)
        return;
    if (e == HPE_PAUSED) {
        uv_read_stop(st);
        return;
    }
    uv_read_stop(st);
    if (c->err_status == 431)
        http_send_error(c, 431, "request line and headers are too large");
    else if (c->err_status == 413)
        http_send_error(c, 413, "request body is too large");
    else if (e == HPE_INVALID_VERSION)
        http_send_error(c, 505, "only HTTP/1.x is served");
    else
        http_send_error(c, 400, llhttp_get_error_reason(&c->parser));
}

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

static void http_conn_handle_closed(uv_handle_t *h)
{
    struct http_conn *c = h->data;
    struct http_server *s = c->srv;
    if (--c->handles_open > 0)
        return;
    free(c);
    s->pending_closes--;
    http_server_maybe_done(s);
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
    uv_close((uv_handle_t *)&c->tcp, http_conn_handle_closed);
    uv_close((uv_handle_t *)&c->idle, http_conn_handle_closed);
}

static void http_idle_cb(uv_timer_t *t)
{
    http_conn_close(t->data);
}

static void http_refused_closed(uv_handle_t *h)
{
    free(h);
}

static void http_accept_cb(uv_stream_t *ls, int status)
{
    struct http_server *s = ls->data;
    if (status < 0 || s->closing)
        return;
    if (s->nconns >= s->opts.max_conns) {
        uv_tcp_t *t = malloc(sizeof *t);
        if (!t)
            return;
        uv_tcp_init(s->loop, t);
        if (uv_accept(ls, (uv_stream_t *)t) == 0)
            s->refused++;
        uv_close((uv_handle_t *)t, http_refused_closed);
        return;
    }
    struct http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->idle);
    c->tcp.data = c->idle.data = c;
    c->handles_open = 2;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0) {
        http_conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    llhttp_init(&c->parser, HTTP_REQUEST, &s->settings);
    c->parser.data = c;
    uv_timer_start(&c->idle, http_idle_cb, s->opts.idle_ms, s->opts.idle_ms);
    uv_read_start((uv_stream_t *)&c->tcp, http_alloc_cb, http_read_cb);
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
        snprintf(err, errlen, "portal: '%s' is not an IP address", opts->ip);
        return rc;
    }
    struct http_server *s = calloc(1, sizeof *s);
    if (!s)
        return UV_ENOMEM;
    s->loop = loop;
    s->opts = *opts;
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
        snprintf(err, errlen, "portal: cannot listen on port %d: %s", opts->port,
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
    hs->closing = 1;
    hs->done = done;
    hs->done_arg = arg;
    hs->pending_closes++;
    uv_close((uv_handle_t *)&hs->listener, http_listener_closed);
    while (hs->conns)
        http_conn_close(hs->conns);
}
