/*
 * net/http.h - HTTP/1.1 server on libuv streams (plain TCP or TLS through
 * net/tls.h), parsed by llhttp.
 *
 * Memory: an idle keep-alive connection holds only its small struct and
 * its parser (a few hundred bytes). A request gets its own exchange
 * (request, response, head and body buffers) when its first byte is
 * parsed; the exchange is freed once the answer is queued. Reads go through
 * one buffer per server. Limits are hard: a request line plus headers over
 * HTTP_MAX_HEAD bytes or more than HTTP_MAX_HEADERS headers get 431, a body
 * over HTTP_MAX_BODY gets 413, malformed input 400 with llhttp's reason,
 * another HTTP version 505; the connection is closed after an error answer.
 *
 * Deadlines are real, never re-armed by a byte: a request (head and body)
 * must arrive whole within request_ms of its first byte (else 408 and
 * close); a connection with no request under way closes after idle_ms; an
 * answer the client does not read within idle_ms closes the connection; a
 * TLS handshake must finish within request_ms of the accept; after
 * max_requests answers the connection is closed ("Connection: close").
 *
 * Ordering and back-pressure: requests on one connection are handled one at
 * a time, in order. Bytes of pipelined requests wait (at most
 * HTTP_MAX_PENDING_INPUT of them, else the connection is closed) while one
 * is being handled, and the connection is not read while its unsent output
 * exceeds HTTP_OUTPUT_HIGH; reading resumes from the write callback. So a
 * client that pipelines without reading costs a bounded amount of memory.
 *
 * Handlers run on the loop thread. A synchronous handler fills the response
 * and returns. A handler that must wait (bcrypt on the thread pool) calls
 * http_response_defer(res) and returns; the request and response stay valid
 * until it calls http_response_send(res), from any later loop callback.
 * When the connection closed meanwhile, http_response_orphaned(res) is 1 and
 * http_response_send() only frees the exchange.
 *
 * Nothing about the peer (address, user agent) is kept beyond the request
 * that carries it, and nothing is logged about a request. The per-source
 * connection cap counts keyed hashes of addresses (key drawn at start), in
 * a fixed table: no address is stored.
 */
#ifndef T9_NET_HTTP_H
#define T9_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "net/metrics.h"

#define HTTP_MAX_HEAD 16384
#define HTTP_MAX_BODY 65536
#define HTTP_MAX_HEADERS 48
#define HTTP_MAX_RESPONSE 262144
#define HTTP_MAX_PENDING_INPUT (HTTP_MAX_HEAD + HTTP_MAX_BODY)
#define HTTP_OUTPUT_HIGH 65536
#define HTTP_EXTRA_HEADERS 2048
#define HTTP_BODY_PREALLOC 32768

#define HTTP_DEFAULT_REQUEST_MS 10000
#define HTTP_DEFAULT_IDLE_MS 30000
#define HTTP_DEFAULT_MAX_REQUESTS 1000

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
    int tls;                     /* 1 when it came over this server's TLS */
    struct sockaddr_storage peer; /* for in-memory rate limits only: never store or log */
};

struct http_response {
    int status;
    const char *content_type; /* default "text/plain; charset=utf-8" */
    char extra_headers[HTTP_EXTRA_HEADERS]; /* each "Name: value\r\n" */
    size_t body_len;
    char *body;      /* HTTP_BODY_PREALLOC bytes when the handler is called; a
                      * handler may write up to body_cap itself and set body_len,
                      * or append with the functions below (which grow it up to
                      * HTTP_MAX_RESPONSE bytes) */
    size_t body_cap;
    int truncated;   /* 1 once something did not fit (answered as 500) */
};

/* Called once per request, on the loop thread. */
typedef void (*http_handler_fn)(void *ctx, const struct http_request *req,
                                struct http_response *res);

struct http_server_opts {
    const char *ip;       /* listen address, IPv4 or IPv6 literal */
    int port;
    int max_conns;
    int max_per_source;   /* open connections per client address (IPv6: per /64);
                           * 0: no such cap (behind a reverse proxy) */
    unsigned idle_ms;     /* 0: HTTP_DEFAULT_IDLE_MS */
    unsigned request_ms;  /* 0: HTTP_DEFAULT_REQUEST_MS */
    unsigned max_requests; /* per connection; 0: HTTP_DEFAULT_MAX_REQUESTS */
    struct tls_server *tls; /* NULL: plain HTTP; else every connection is TLS */
    http_handler_fn handler;
    void *ctx;
};

struct http_server;

/* Binds and listens. Returns 0 or a negative libuv error, with a message. */
int http_server_start(uv_loop_t *loop, const struct http_server_opts *opts,
                      struct http_server **out, char *err, size_t errlen);

/* Stops accepting, closes every connection (deferred answers become
 * orphaned); done(arg) runs once all handles are closed. */
void http_server_stop(struct http_server *hs, void (*done)(void *arg), void *arg);

/* Appends the server's counters (answers by status, refused connections,
 * open connections) as t9phone_<prefix>_... families. */
void http_server_metrics(const struct http_server *hs, const char *prefix,
                         struct metrics_out *m);

/* Case-insensitive header lookup; NULL when absent. */
const char *http_request_header(const struct http_request *req, const char *name);

/* Appends printf-formatted text to the body as it is (for plain text and
 * trusted constant markup). Returns 0, or -ENOSPC when it did not fit
 * (the response is then marked truncated). */
int http_response_printf(struct http_response *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The template primitive for HTML: like printf, but every %s argument is
 * HTML-escaped (& < > " ' become entities) and a NULL %s prints nothing.
 * Supported conversions: %s %d %i %u %x %c %% with h, hh, l, ll, z, j
 * length modifiers, no flags, width or precision (-EINVAL). 0 or -ENOSPC. */
int http_html_printf(struct http_response *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends n raw bytes to the body. 0 or -ENOSPC. */
int http_response_write(struct http_response *res, const void *data, size_t n);

/* Appends one "Name: value" header line (value printf-formatted; CR and LF
 * are refused). 0, -EINVAL or -ENOSPC. */
int http_response_header(struct http_response *res, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answer later: call from inside the handler. The request and response stay
 * valid until http_response_send(). */
void http_response_defer(struct http_response *res);
/* 1 when the connection of a deferred answer has gone. */
int http_response_orphaned(const struct http_response *res);
/* Sends a deferred answer (or frees it when orphaned); res and its request
 * are invalid afterwards. */
void http_response_send(struct http_response *res);

/* The reason phrase for a status code ("Not Found"). */
const char *http_status_text(int status);

#endif
