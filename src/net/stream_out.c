/*
 * net/stream_out.c - bounded output buffering for libuv streams.
 */
#include "net/stream_out.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int stream_out_init(struct stream_out *o, uv_stream_t *s, size_t cap)
{
    memset(o, 0, sizeof *o);
    o->s = s;
    o->cap = cap;
    o->buf[0] = malloc(2 * cap);
    if (!o->buf[0])
        return -ENOMEM;
    o->buf[1] = o->buf[0] + cap;
    o->req.data = o;
    return 0;
}

void stream_out_free(struct stream_out *o)
{
    free(o->buf[0]);
    o->buf[0] = o->buf[1] = NULL;
}

size_t stream_out_room(const struct stream_out *o)
{
    return o->failed ? 0 : o->cap - o->len[o->cur];
}

size_t stream_out_pending(const struct stream_out *o)
{
    return o->len[0] + o->len[1];
}

int stream_out_idle(const struct stream_out *o)
{
    return !o->busy && o->len[o->cur] == 0;
}

static void flush(struct stream_out *o);

static void on_written(uv_write_t *req, int status)
{
    struct stream_out *o = req->data;
    o->busy = 0;
    o->len[!o->cur] = 0;
    if (status < 0) {
        o->failed = 1;
        if (o->notify)
            o->notify(o, status);
        return;
    }
    if (o->len[o->cur])
        flush(o);
    else if (o->notify)
        o->notify(o, 0);
}

static void flush(struct stream_out *o)
{
    uv_buf_t b = uv_buf_init((char *)o->buf[o->cur], (unsigned)o->len[o->cur]);
    int rc = uv_write(&o->req, o->s, &b, 1, on_written);
    if (rc < 0) {
        o->failed = 1;
        if (o->notify)
            o->notify(o, rc);
        return;
    }
    o->busy = 1;
    o->cur = !o->cur;
    o->len[o->cur] = 0;
}

int stream_out_write(struct stream_out *o, const void *p, size_t n)
{
    if (o->failed)
        return -EPIPE;
    if (n > o->cap - o->len[o->cur])
        return -ENOBUFS;
    size_t done = 0;
    if (stream_out_idle(o)) {
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
        int rc = uv_try_write(o->s, &b, 1);
        if (rc >= 0)
            done = (size_t)rc;
        else if (rc != UV_EAGAIN && rc != UV_ENOSYS) {
            o->failed = 1;
            return -EPIPE;
        }
        if (done == n)
            return 0;
    }
    memcpy(o->buf[o->cur] + o->len[o->cur], (const uint8_t *)p + done, n - done);
    o->len[o->cur] += n - done;
    if (!o->busy)
        flush(o);
    return 0;
}
