/*
 * net/http.h - HTTP/1.1 server on libuv streams, parsed by llhttp.
 *
 * The server owns its connections; each request is parsed into a bounded,
 * per-connection buffer (no allocation per request), handed to one handler
 * callback, and the handler fills a response that the server serialises.
 * Limits are hard: a request line plus headers over HTTP_MAX_HEAD bytes gets
 * 431, a body over HTTP_MAX_BODY gets 413, malformed input gets 400 with
 * llhttp's reason, and the connection is closed after an error answer.
 * Idle connections close after idle_ms; at most max_conns are open at once
 * (further accepts are closed at once, counted, never queued).
 *
 * Nothing about the peer (address, user agent) is kept beyond the request
 * that carries it, and nothing is logged about a request.
 */
#ifndef T9_NET_HTTP_H
#define T9_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define HTTP_MAX_HEAD 16384
#define HTTP_MAX_BODY 65536
#define HTTP_MAX_HEADERS 48
#define HTTP_MAX_RESPONSE 262144

struct http_header {
    const char *name; /* NUL-terminated, as received */
    const char *value;
};

struct http_request {
    const char *method; /* "GET" */
    const char *path;   /* the request target, NUL-terminated */
    size_t nheaders;
    struct http_header headers[HTTP_MAX_HEADERS];
    const uint8_t *body;
    size_t body_len;
};

struct http_response {
    int status;
    const char *content_type; /* default "text/plain; charset=utf-8" */
    char extra_headers[1024]; /* each "Name: value\r\n", written by the handler */
    size_t body_len;
    char *body;               /* points at the server's buffer of body_cap bytes */
    size_t body_cap;
};

typedef void (*http_handler_fn)(void *ctx, const struct http_request *req,
                                struct http_response *res);

struct http_server_opts {
    const char *ip;     /* listen address, IPv4 or IPv6 literal */
    int port;
    int max_conns;
    unsigned idle_ms;
    http_handler_fn handler;
    void *ctx;
};

struct http_server;

/* Binds and listens. Returns 0 or a negative libuv error, with a message. */
int http_server_start(uv_loop_t *loop, const struct http_server_opts *opts,
                      struct http_server **out, char *err, size_t errlen);

/* Stops accepting, closes every connection; done(arg) runs once all
 * handles are closed. */
void http_server_stop(struct http_server *hs, void (*done)(void *arg), void *arg);

/* Case-insensitive header lookup; NULL when absent. */
const char *http_request_header(const struct http_request *req, const char *name);

/* Appends printf-formatted text to the response body, truncating at the
 * buffer's end. Returns 0 or -ENOSPC when truncated. */
int http_response_printf(struct http_response *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The reason phrase for a status code ("Not Found"). */
const char *http_status_text(int status);

#endif
