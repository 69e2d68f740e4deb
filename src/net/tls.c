/*
 * net/tls.c - BearSSL server engine over libuv streams. See tls.h.
 */
#include "net/tls.h"
#include "base/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bearssl.h>

#include "net/stream_out.h"

#define TLS_MAX_PEM (1024 * 1024)
#define TLS_MAX_CHAIN 8

/* Certificate chain and key, shared by the connections that use them. */
struct tls_creds {
    int refs;
    br_x509_certificate chain[TLS_MAX_CHAIN];
    size_t nchain;
    int key_type; /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
    unsigned issuer_key_type;
    br_rsa_private_key rsa;
    br_ec_private_key ec;
    uint8_t *keymem;
};

struct tls_server {
    char *cert_path, *key_path;
    struct tls_creds *creds;
};

struct tls_conn {
    br_ssl_server_context sc;
    uint8_t iobuf[BR_SSL_BUFSIZE_BIDI];
    struct tls_creds *creds;
    struct stream_out out;
    uv_stream_t *s;
    struct tls_conn_cbs cbs;
    void *arg;
    int closing, in_pump, reading, ready, paused;
};

/* ECDHE only (forward secrecy), AEAD first. */
static const uint16_t suites_rsa[] = {
    BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
    BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
};
static const uint16_t suites_ec[] = {
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
};

/* ------------------------------------------------------------ credentials */

static void creds_unref(struct tls_creds *c)
{
    if (!c || --c->refs > 0)
        return;
    for (size_t i = 0; i < c->nchain; i++)
        free(c->chain[i].data);
    if (c->keymem) {
        /* The key bytes are secret: wipe before freeing. */
        size_t n = c->key_type == BR_KEYTYPE_RSA
                       ? c->rsa.plen + c->rsa.qlen + c->rsa.dplen + c->rsa.dqlen + c->rsa.iqlen
                       : c->ec.xlen;
        explicit_bzero(c->keymem, n);
        free(c->keymem);
    }
    free(c);
}

static int read_file(const char *path, uint8_t **out, size_t *len, char *err, size_t errlen)
{
    char *b;
    size_t n;
    int rc = file_read_all(path, TLS_MAX_PEM, &b, &n, err, errlen);
    if (rc < 0)
        return rc;
    if (n == 0) {
        free(b);
        snprintf(err, errlen, "%s is empty", path);
        return -EINVAL;
    }
    b[n] = '\n'; /* the PEM decoder needs an end of line after the last object */
    *out = (uint8_t *)b;
    *len = n + 1;
    return 0;
}

struct pem_obj {
    uint8_t *data;
    size_t len, cap;
    int overflow;
};

static void pem_append(void *ctx, const void *p, size_t n)
{
    struct pem_obj *o = ctx;
    if (o->overflow)
        return;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 4096;
        while (cap < o->len + n)
            cap *= 2;
        uint8_t *d = cap <= TLS_MAX_PEM ? realloc(o->data, cap) : NULL;
        if (!d) {
            o->overflow = 1;
            return;
        }
        o->data = d;
        o->cap = cap;
    }
    memcpy(o->data + o->len, p, n);
    o->len += n;
}

/* Calls fn(ctx, name, der, len) for each PEM object in the text. */
static int pem_each(const uint8_t *buf, size_t len,
                    int (*fn)(void *ctx, const char *name, struct pem_obj *o), void *ctx)
{
    br_pem_decoder_context pc;
    struct pem_obj obj = { 0 };
    char name[128] = "";
    int inside = 0, rc = 0;
    br_pem_decoder_init(&pc);
    size_t off = 0;
    while (off < len && rc == 0) {
        off += br_pem_decoder_push(&pc, buf + off, len - off);
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ:
            snprintf(name, sizeof name, "%s", br_pem_decoder_name(&pc));
            obj.len = 0;
            obj.overflow = 0;
            br_pem_decoder_setdest(&pc, pem_append, &obj);
            inside = 1;
            break;
        case BR_PEM_END_OBJ:
            if (inside)
                rc = obj.overflow ? -ENOMEM : fn(ctx, name, &obj);
            inside = 0;
            break;
        case BR_PEM_ERROR:
            rc = -EINVAL;
            break;
        default:
            break;
        }
    }
    if (obj.data) {
        explicit_bzero(obj.data, obj.cap);
        free(obj.data);
    }
    return rc == 0 && inside ? -EINVAL : rc;
}

static int add_cert(void *ctx, const char *name, struct pem_obj *o)
{
    struct tls_creds *c = ctx;
    if (strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "X509 CERTIFICATE") != 0)
        return 0;
    if (c->nchain == TLS_MAX_CHAIN)
        return -E2BIG;
    uint8_t *d = malloc(o->len);
    if (!d)
        return -ENOMEM;
    memcpy(d, o->data, o->len);
    c->chain[c->nchain].data = d;
    c->chain[c->nchain].data_len = o->len;
    c->nchain++;
    return 0;
}

static uint8_t *put(uint8_t **p, const uint8_t *src, size_t n)
{
    uint8_t *at = *p;
    memcpy(at, src, n);
    *p += n;
    return at;
}

static int add_key(void *ctx, const char *name, struct pem_obj *o)
{
    struct tls_creds *c = ctx;
    if (!strstr(name, "PRIVATE KEY"))
        return 0;
    if (c->keymem)
        return -EEXIST;
    br_skey_decoder_context dc;
    br_skey_decoder_init(&dc);
    br_skey_decoder_push(&dc, o->data, o->len);
    if (br_skey_decoder_last_error(&dc) != 0)
        return -EINVAL;
    int rc = 0;
    switch (br_skey_decoder_key_type(&dc)) {
    case BR_KEYTYPE_RSA: {
        const br_rsa_private_key *k = br_skey_decoder_get_rsa(&dc);
        size_t n = k->plen + k->qlen + k->dplen + k->dqlen + k->iqlen;
        uint8_t *m = malloc(n), *p = m;
        if (!m) {
            rc = -ENOMEM;
            break;
        }
        c->keymem = m;
        c->key_type = BR_KEYTYPE_RSA;
        c->rsa = *k;
        c->rsa.p = put(&p, k->p, k->plen);
        c->rsa.q = put(&p, k->q, k->qlen);
        c->rsa.dp = put(&p, k->dp, k->dplen);
        c->rsa.dq = put(&p, k->dq, k->dqlen);
        c->rsa.iq = put(&p, k->iq, k->iqlen);
        break;
    }
    case BR_KEYTYPE_EC: {
        const br_ec_private_key *k = br_skey_decoder_get_ec(&dc);
        uint8_t *m = malloc(k->xlen);
        if (!m) {
            rc = -ENOMEM;
            break;
        }
        memcpy(m, k->x, k->xlen);
        c->keymem = m;
        c->key_type = BR_KEYTYPE_EC;
        c->ec = *k;
        c->ec.x = m;
        break;
    }
    default:
        rc = -EINVAL;
    }
    explicit_bzero(&dc, sizeof dc);
    return rc;
}

static int same_unsigned(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    while (alen && !*a) {
        a++;
        alen--;
    }
    while (blen && !*b) {
        b++;
        blen--;
    }
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* Whether the private key belongs to the certificate's public key: the EC
 * point or the RSA modulus is recomputed from the private key. */
static int key_matches(const struct tls_creds *c, const br_x509_pkey *pk)
{
    if ((int)pk->key_type != c->key_type)
        return 0;
    if (c->key_type == BR_KEYTYPE_EC) {
        uint8_t buf[BR_EC_KBUF_PUB_MAX_SIZE];
        br_ec_public_key pub;
        if (br_ec_compute_pub(br_ec_get_default(), &pub, buf, &c->ec) == 0)
            return 0;
        return pub.curve == pk->key.ec.curve &&
               same_unsigned(pub.q, pub.qlen, pk->key.ec.q, pk->key.ec.qlen);
    }
    br_rsa_compute_modulus mod = br_rsa_compute_modulus_get_default();
    size_t n = mod(NULL, &c->rsa);
    uint8_t buf[1024];
    if (n == 0 || n > sizeof buf || mod(buf, &c->rsa) != n)
        return 0;
    return same_unsigned(buf, n, pk->key.rsa.n, pk->key.rsa.nlen);
}

static int creds_load(const char *cert, const char *key, struct tls_creds **out, char *err,
                      size_t errlen)
{
    struct tls_creds *c = calloc(1, sizeof *c);
    uint8_t *buf = NULL;
    size_t len;
    int rc;
    if (!c)
        return -ENOMEM;
    c->refs = 1;
    if ((rc = read_file(cert, &buf, &len, err, errlen)) < 0)
        goto fail;
    rc = pem_each(buf, len, add_cert, c);
    free(buf);
    buf = NULL;
    if (rc < 0 || c->nchain == 0) {
        snprintf(err, errlen, "%s: no readable PEM certificate", cert);
        rc = rc < 0 ? rc : -EINVAL;
        goto fail;
    }
    if ((rc = read_file(key, &buf, &len, err, errlen)) < 0)
        goto fail;
    rc = pem_each(buf, len, add_key, c);
    explicit_bzero(buf, len);
    free(buf);
    if (rc < 0 || !c->keymem) {
        snprintf(err, errlen, "%s: no readable unencrypted PEM RSA or EC private key", key);
        rc = rc < 0 ? rc : -EINVAL;
        goto fail;
    }
    /* The leaf's public key must be of the key's type; the issuer's key
     * type matters to the ECDH suites of the EC profile. */
    br_x509_decoder_context xd;
    br_x509_decoder_init(&xd, NULL, NULL);
    br_x509_decoder_push(&xd, c->chain[0].data, c->chain[0].data_len);
    const br_x509_pkey *pk = br_x509_decoder_get_pkey(&xd);
    if (br_x509_decoder_last_error(&xd) != 0 || !pk || !key_matches(c, pk)) {
        snprintf(err, errlen, "%s: the first certificate does not match the key in %s", cert,
                 key);
        rc = -EINVAL;
        goto fail;
    }
    c->issuer_key_type = br_x509_decoder_get_signer_key_type(&xd);
    if (c->issuer_key_type != BR_KEYTYPE_RSA && c->issuer_key_type != BR_KEYTYPE_EC)
        c->issuer_key_type = (unsigned)c->key_type;
    *out = c;
    return 0;
fail:
    creds_unref(c);
    return rc;
}

int tls_server_new(const char *cert_path, const char *key_path, struct tls_server **out,
                   char *err, size_t errlen)
{
    struct tls_server *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->cert_path = strdup(cert_path);
    s->key_path = strdup(key_path);
    int rc = -ENOMEM;
    if (!s->cert_path || !s->key_path ||
        (rc = creds_load(cert_path, key_path, &s->creds, err, errlen)) < 0) {
        tls_server_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int tls_server_reload(struct tls_server *s, char *err, size_t errlen)
{
    struct tls_creds *c;
    int rc = creds_load(s->cert_path, s->key_path, &c, err, errlen);
    if (rc < 0)
        return rc;
    creds_unref(s->creds);
    s->creds = c;
    return 0;
}

void tls_server_free(struct tls_server *s)
{
    if (!s)
        return;
    creds_unref(s->creds);
    free(s->cert_path);
    free(s->key_path);
    free(s);
}

/* ------------------------------------------------------------ connections */

static br_ssl_engine_context *eng(struct tls_conn *c) { return &c->sc.eng; }

static void on_closed(uv_handle_t *h)
{
    struct tls_conn *c = h->data;
    stream_out_free(&c->out);
    creds_unref(c->creds);
    void (*cb)(void *) = c->cbs.on_close;
    void *arg = c->arg;
    explicit_bzero(c, sizeof *c); /* session keys */
    free(c);
    if (cb)
        cb(arg);
}

void tls_conn_close(struct tls_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    uv_read_stop(c->s);
    uv_close((uv_handle_t *)c->s, on_closed);
}

int tls_conn_ready(const struct tls_conn *c)
{
    return c->ready;
}

/* Moves pending TLS records into the output buffers. Returns 0 when all
 * moved, 1 when the buffers are full, <0 on a write failure. */
static int drain_records(struct tls_conn *c)
{
    for (;;) {
        size_t len;
        if (!(br_ssl_engine_current_state(eng(c)) & BR_SSL_SENDREC))
            return 0;
        uint8_t *b = br_ssl_engine_sendrec_buf(eng(c), &len);
        size_t room = stream_out_room(&c->out);
        if (room == 0)
            return 1;
        size_t n = len < room ? len : room;
        int rc = stream_out_write(&c->out, b, n);
        if (rc < 0)
            return rc;
        br_ssl_engine_sendrec_ack(eng(c), n);
    }
}

static void pump(struct tls_conn *c);

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct tls_conn *c = h->data;
    size_t len = 0;
    unsigned char *b = NULL;
    (void)hint;
    if (!c->closing && (br_ssl_engine_current_state(eng(c)) & BR_SSL_RECVREC))
        b = br_ssl_engine_recvrec_buf(eng(c), &len);
    *buf = uv_buf_init((char *)b, (unsigned)len);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct tls_conn *c = s->data;
    (void)buf;
    if (c->closing)
        return;
    if (nread == UV_ENOBUFS) {
        pump(c);
        return;
    }
    if (nread < 0) {
        tls_conn_close(c);
        return;
    }
    if (nread > 0)
        br_ssl_engine_recvrec_ack(eng(c), (size_t)nread);
    pump(c);
}

static void pump(struct tls_conn *c)
{
    if (c->in_pump || c->closing)
        return;
    c->in_pump = 1;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(eng(c));
        if (st == BR_SSL_CLOSED) {
            tls_conn_close(c);
            break;
        }
        if (st & BR_SSL_SENDAPP)
            c->ready = 1;
        if (st & BR_SSL_SENDREC) {
            int rc = drain_records(c);
            if (rc < 0) {
                tls_conn_close(c);
                break;
            }
            if (rc > 0)
                break; /* resumed by the drain notification */
            continue;
        }
        if ((st & BR_SSL_RECVAPP) && !c->paused) {
            size_t len;
            uint8_t *b = br_ssl_engine_recvapp_buf(eng(c), &len);
            c->ready = 1;
            size_t took = c->cbs.on_data ? c->cbs.on_data(c->arg, b, len) : len;
            if (c->closing)
                break;
            if (took > len)
                took = len;
            if (took)
                br_ssl_engine_recvapp_ack(eng(c), took);
            if (took < len) {
                c->paused = 1; /* the owner is full: resumed by tls_conn_pause(c, 0) */
                break;
            }
            continue;
        }
        break;
    }
    if (!c->closing) {
        /* Read only while the engine takes records: backpressure. */
        unsigned st = br_ssl_engine_current_state(eng(c));
        int want = (st & BR_SSL_RECVREC) && !(c->paused && (st & BR_SSL_RECVAPP));
        if (want && !c->reading) {
            if (uv_read_start(c->s, on_alloc, on_read) == 0)
                c->reading = 1;
        } else if (!want && c->reading) {
            uv_read_stop(c->s);
            c->reading = 0;
        }
    }
    c->in_pump = 0;
}

static void on_out(struct stream_out *o, int status)
{
    struct tls_conn *c = o->data;
    if (c->closing)
        return;
    if (status < 0) {
        tls_conn_close(c);
        return;
    }
    pump(c);
    if (!c->closing && c->cbs.on_drain && stream_out_idle(&c->out))
        c->cbs.on_drain(c->arg);
}

void tls_conn_pause(struct tls_conn *c, int on)
{
    if (c->closing || c->paused == !!on)
        return;
    c->paused = !!on;
    if (!on)
        pump(c);
}

size_t tls_conn_unsent(const struct tls_conn *c)
{
    return stream_out_pending(&c->out);
}

int tls_conn_new(struct tls_server *s, uv_stream_t *stream, size_t out_cap,
                 const struct tls_conn_cbs *cbs, void *arg, struct tls_conn **out)
{
    struct tls_creds *cr = s->creds;
    uint8_t seed[32];
    if (getentropy(seed, sizeof seed) < 0)
        return -errno;
    struct tls_conn *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    if (stream_out_init(&c->out, stream, out_cap) < 0) {
        free(c);
        return -ENOMEM;
    }
    c->out.notify = on_out;
    c->out.data = c;
    if (cr->key_type == BR_KEYTYPE_RSA) {
        br_ssl_server_init_full_rsa(&c->sc, cr->chain, cr->nchain, &cr->rsa);
        br_ssl_engine_set_suites(eng(c), suites_rsa, sizeof suites_rsa / sizeof suites_rsa[0]);
    } else {
        br_ssl_server_init_full_ec(&c->sc, cr->chain, cr->nchain, cr->issuer_key_type, &cr->ec);
        br_ssl_engine_set_suites(eng(c), suites_ec, sizeof suites_ec / sizeof suites_ec[0]);
    }
    br_ssl_engine_set_versions(eng(c), BR_TLS12, BR_TLS12);
    br_ssl_engine_set_buffer(eng(c), c->iobuf, sizeof c->iobuf, 1);
    br_ssl_engine_inject_entropy(eng(c), seed, sizeof seed);
    explicit_bzero(seed, sizeof seed);
    if (!br_ssl_server_reset(&c->sc)) {
        stream_out_free(&c->out);
        free(c);
        return -EPROTO;
    }
    cr->refs++;
    c->creds = cr;
    c->s = stream;
    c->cbs = *cbs;
    c->arg = arg;
    stream->data = c;
    pump(c);
    *out = c;
    return 0;
}

int tls_conn_write(struct tls_conn *c, const void *data, size_t n)
{
    if (c->closing || c->out.failed)
        return -EPIPE;
    if (drain_records(c) < 0)
        return -EPIPE;
    if (!(br_ssl_engine_current_state(eng(c)) & BR_SSL_SENDAPP))
        return c->ready ? -ENOBUFS : -EAGAIN;
    /* Room for the bytes plus generous per-record overhead (header, IV,
     * MAC or tag, CBC padding), so the write is all or nothing. */
    size_t records = n / 16384 + 1;
    if (stream_out_room(&c->out) < n + records * 128)
        return -ENOBUFS;
    const uint8_t *p = data;
    while (n) {
        size_t len;
        uint8_t *b = br_ssl_engine_sendapp_buf(eng(c), &len);
        if (!b) {
            br_ssl_engine_flush(eng(c), 0);
            if (drain_records(c) != 0)
                return -EPIPE;
            b = br_ssl_engine_sendapp_buf(eng(c), &len);
            if (!b)
                return -EPIPE;
        }
        size_t k = n < len ? n : len;
        memcpy(b, p, k);
        br_ssl_engine_sendapp_ack(eng(c), k);
        p += k;
        n -= k;
    }
    br_ssl_engine_flush(eng(c), 0);
    return drain_records(c) < 0 ? -EPIPE : 0;
}
