/*
 * net/stream_out.h - bounded, allocation-free output buffering for a libuv
 * stream.
 *
 * Writes try the socket first (uv_try_write); what the kernel does not take
 * goes into one of two fixed buffers allocated once at init: one is being
 * written with uv_write while the other collects. A write either fits whole
 * or is refused with -ENOBUFS, so framed protocols never send half a frame,
 * and a slow reader costs at most 2 * cap bytes.
 */
#ifndef T9_NET_STREAM_OUT_H
#define T9_NET_STREAM_OUT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct stream_out {
    uv_stream_t *s;
    uv_write_t req;
    uint8_t *buf[2];
    size_t len[2];
    size_t cap;
    int cur;      /* buffer collecting new bytes */
    int busy;     /* uv_write in flight on buf[!cur] */
    int failed;   /* a write failed: everything is refused from now on */
    /* Called (if set) when a write fails (status < 0) or when the buffers
     * have drained after being non-empty (status 0). */
    void (*notify)(struct stream_out *o, int status);
    void *data;   /* for the owner */
};

/* Allocates the two buffers of cap bytes. Returns 0 or -ENOMEM. */
int stream_out_init(struct stream_out *o, uv_stream_t *s, size_t cap);
/* Frees the buffers; call only after the stream handle is closed (a pending
 * uv_write has then completed with UV_ECANCELED). */
void stream_out_free(struct stream_out *o);
/* Queues n bytes: 0 when sent or buffered whole, -ENOBUFS when they do not
 * fit (nothing queued), -EPIPE after a failure. */
int stream_out_write(struct stream_out *o, const void *p, size_t n);
/* Free space for the next stream_out_write(). */
size_t stream_out_room(const struct stream_out *o);
/* Bytes buffered or in flight, not yet taken by the kernel. */
size_t stream_out_pending(const struct stream_out *o);
/* 1 when nothing is buffered or in flight. */
int stream_out_idle(const struct stream_out *o);

#endif
