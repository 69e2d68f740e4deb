/*
 * net/tls.h - TLS server connections: a BearSSL server engine over a libuv
 * stream.
 *
 * A tls_server holds the certificate chain and private key (RSA or EC) read
 * from PEM files, and reloads them on demand (SIGHUP): connections keep the
 * credentials they started with, new ones get the new ones. A tls_conn runs
 * the handshake, hands decrypted bytes to its owner and encrypts what the
 * owner writes, with bounded buffers (see net/stream_out.h). TLS 1.2 only,
 * ECDHE suites only.
 *
 * BearSSL seeds its generator from /dev/urandom or RDRAND only, neither of
 * which an empty chroot has, so every engine gets getentropy() bytes
 * injected before its reset.
 *
 * Generic: the TURN server uses it today, the SIP proxy and the portal later.
 */
#ifndef T9_NET_TLS_H
#define T9_NET_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct tls_server;
struct tls_conn;

/* Loads cert_path (PEM chain, leaf first) and key_path (PEM "PRIVATE KEY",
 * "RSA PRIVATE KEY" or "EC PRIVATE KEY"). Returns 0, or a negative errno with
 * a message (naming the file, never its contents) in err. */
int tls_server_new(const char *cert_path, const char *key_path, struct tls_server **out,
                   char *err, size_t errlen);
/* Reads the files again. On failure the old credentials stay in use and the
 * error is returned. */
int tls_server_reload(struct tls_server *s, char *err, size_t errlen);
/* Releases the server; connections still open keep their credentials alive
 * until they close. */
void tls_server_free(struct tls_server *s);

struct tls_conn_cbs {
    /* Decrypted application bytes, valid during the call only. Returns how
     * many it took: fewer than len keeps the rest in the engine and pauses
     * delivery as tls_conn_pause(c, 1) does, until tls_conn_pause(c, 0).
     * The owner may call tls_conn_write() and tls_conn_close() from here. */
    size_t (*on_data)(void *arg, const uint8_t *data, size_t len);
    /* The stream handle is closed and the connection is being freed; called
     * exactly once, from the loop. */
    void (*on_close)(void *arg);
    /* Optional: the output buffers drained (everything written to the
     * socket) after holding bytes; the owner may resume its own sending. */
    void (*on_drain)(void *arg);
};

/* Starts TLS on an accepted stream: takes over reading (uv_read_start) and
 * closing of the handle, whose memory the caller keeps alive until on_close;
 * handle->data is used by the connection. out_cap bounds buffered ciphertext
 * (twice that at most). Returns 0 or a negative errno (the handle is then
 * not touched). */
int tls_conn_new(struct tls_server *s, uv_stream_t *stream, size_t out_cap,
                 const struct tls_conn_cbs *cbs, void *arg, struct tls_conn **out);
/* Encrypts and queues n bytes, all or nothing: 0, -EAGAIN before the
 * handshake is done, -ENOBUFS when the output buffers are full, -EPIPE when
 * the connection is failing or closing. */
int tls_conn_write(struct tls_conn *c, const void *data, size_t n);
/* Sends close_notify if it can and closes the handle; on_close follows.
 * Safe to call more than once. */
void tls_conn_close(struct tls_conn *c);
/* 1 once the handshake has completed. */
int tls_conn_ready(const struct tls_conn *c);
/* While paused (on != 0) no application data is handed to on_data and the
 * socket is not read once the engine's input buffer is full; resuming hands
 * over what is buffered, from this call. The handshake and output go on. */
void tls_conn_pause(struct tls_conn *c, int on);
/* Ciphertext bytes buffered and not yet written to the socket. */
size_t tls_conn_unsent(const struct tls_conn *c);

#endif
