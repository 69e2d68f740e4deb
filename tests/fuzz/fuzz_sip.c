/*
 * fuzz_sip.c - libFuzzer target for the SIP parser, editor and response
 * builder (sip/msg.c, sip/uri.c, sip/build.c, the re2c lexer).
 *
 * Properties checked besides memory safety:
 *  - every slice of a parsed message lies inside the input;
 *  - parse -> write with no edit gives back exactly the message's bytes;
 *  - the output of each editor operation parses again and shows the edit
 *    (unless the edit itself pushed the message past a limit);
 *  - the response built to a parsed request parses as a response with the
 *    request's Call-ID and CSeq and the received/rport/To-tag added;
 *  - stream framing and parsing agree on every frame.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                   \
    do {                                                                           \
        if (!(c)) {                                                                \
            fprintf(stderr, "fuzz_sip: %s:%d: %s\n", __FILE__, __LINE__, #c);      \
            abort();                                                               \
        }                                                                          \
    } while (0)

static const char *g_lo, *g_hi;

static void in_buf(struct sip_str s)
{
    if (!s.p)
        return;
    CHECK(s.p >= g_lo && s.p + s.n <= g_hi);
}

static void check_uri(const struct sip_uri *u)
{
    in_buf(u->text);
    in_buf(u->user);
    in_buf(u->password);
    in_buf(u->host);
    in_buf(u->params);
    in_buf(u->headers);
    char tmp[SIP_MAX_STREAM];
    sip_unescape(u->user, tmp, sizeof tmp);
    sip_unescape(u->password, tmp, sizeof tmp);
}

static void check_addr(const struct sip_addr *a)
{
    in_buf(a->text);
    in_buf(a->display);
    in_buf(a->params);
    in_buf(a->tag);
    check_uri(&a->uri);
    char tmp[SIP_MAX_STREAM];
    if (a->display.p)
        sip_unquote(a->display, tmp, sizeof tmp);
    struct sip_str v;
    sip_param_find(a->params, "tag", &v);
    in_buf(v);
}

static void check_slices(const struct sip_msg *m)
{
    for (size_t i = 0; i < m->nhdrs; i++) {
        in_buf(m->hdrs[i].name);
        in_buf(m->hdrs[i].value);
    }
    for (size_t i = 0; i < m->nvia; i++) {
        const struct sip_via *v = &m->via[i];
        in_buf(v->text);
        in_buf(v->host);
        in_buf(v->params);
        in_buf(v->branch);
        in_buf(v->received);
        struct sip_str x;
        sip_param_find(v->params, "rport", &x);
        in_buf(x);
    }
    check_addr(&m->from);
    check_addr(&m->to);
    check_uri(&m->ruri);
    for (size_t i = 0; i < m->ncontact; i++) {
        check_addr(&m->contact[i].addr);
        in_buf(m->contact[i].instance);
    }
    for (size_t i = 0; i < m->nroute; i++)
        check_addr(&m->route[i]);
    for (size_t i = 0; i < m->nrecord_route; i++)
        check_addr(&m->record_route[i]);
    for (size_t i = 0; i < m->npath; i++)
        check_addr(&m->path[i]);
    for (size_t i = 0; i < m->nauth; i++) {
        in_buf(m->auth[i].username);
        in_buf(m->auth[i].response);
        in_buf(m->auth[i].nonce);
    }
    in_buf(m->body);
    in_buf(m->call_id);
    static const char *const known[] = { "path", "outbound", NULL };
    struct sip_str un[4];
    sip_msg_unsupported(m, known, un, 4);
    sip_msg_has_option(m, SIP_H_SUPPORTED, "path");
    const char *r;
    sip_fault_answer(m, &r);
}

static int slice_eq(struct sip_str a, struct sip_str b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static char out[SIP_MAX_STREAM + SIP_EDIT_SPACE + 1024];

/* Writes e, parses the output into m2; returns the parse result or 1 when
 * the edit pushed the message past a limit (nothing more to check). */
static int reparse(const struct sip_edit *e, unsigned flags, struct sip_msg *m2)
{
    long n = sip_edit_write(e, out, sizeof out);
    CHECK(n > 0);
    int rc = sip_parse(out, (size_t)n, flags, m2);
    if (rc == -E2BIG || rc == -EMSGSIZE)
        return 1;
    if (rc != 0) {
        fprintf(stderr, "fuzz_sip: edited output does not parse (%d, fault %d/%d):\n%.*s\n", rc,
                m2->fault, m2->fault_hdr, (int)n, out);
        abort();
    }
    return 0;
}

static void check_edits(const struct sip_msg *m, unsigned flags)
{
    static struct sip_msg m2;
    struct sip_edit e;

    /* Identity */
    sip_edit_init(&e, m);
    long n = sip_edit_write(&e, out, sizeof out);
    CHECK(n == (long)m->len);
    CHECK(memcmp(out, m->buf, m->len) == 0);

    /* Content-Length fixed (added when absent) */
    sip_edit_init(&e, m);
    sip_edit_fix_length(&e);
    if (reparse(&e, flags | SIP_PARSE_STREAM, &m2) == 0)
        CHECK(m2.content_length == (long)m->body.n && slice_eq(m2.body, m->body));

    /* A new top Via */
    sip_edit_init(&e, m);
    sip_edit_list_prepend(&e, SIP_H_VIA, "SIP/2.0/TCP fuzz.example.org;branch=z9hG4bKfz");
    if (reparse(&e, flags, &m2) == 0) {
        CHECK(m2.nvia == m->nvia + 1);
        CHECK(sip_str_eq(m2.via[0].host, "fuzz.example.org"));
        CHECK(slice_eq(m2.via[1].text, m->via[0].text));
    }

    /* The top Via removed */
    sip_edit_init(&e, m);
    sip_edit_list_remove_top(&e, SIP_H_VIA);
    n = sip_edit_write(&e, out, sizeof out);
    CHECK(n > 0);
    int rc = sip_parse(out, (size_t)n, flags, &m2);
    if (m->nvia > 1) {
        CHECK(rc == 0);
        CHECK(m2.nvia == m->nvia - 1);
        CHECK(slice_eq(m2.via[0].text, m->via[1].text));
    } else {
        CHECK(rc == -EBADMSG && m2.fault == SIP_F_MISSING && m2.fault_hdr == SIP_H_VIA);
    }

    /* received and rport */
    sip_edit_init(&e, m);
    sip_edit_via_received(&e, "192.0.2.77", 4321);
    if (reparse(&e, flags, &m2) == 0) {
        CHECK(sip_str_eq(m2.via[0].received, "192.0.2.77"));
        CHECK(m2.nvia == m->nvia);
        if (m->via[0].rport)
            CHECK(m2.via[0].rport == 2 && m2.via[0].rport_value == 4321);
        else
            CHECK(m2.via[0].rport == 0);
        CHECK(slice_eq(m2.via[0].branch, m->via[0].branch));
    }

    /* Max-Forwards */
    int mf = m->max_forwards > 0 ? m->max_forwards - 1 : 70;
    sip_edit_init(&e, m);
    sip_edit_max_forwards(&e, mf);
    if (reparse(&e, flags, &m2) == 0)
        CHECK(m2.max_forwards == mf);

    /* Route and Record-Route */
    if (m->nroute) {
        sip_edit_init(&e, m);
        sip_edit_list_remove_top(&e, SIP_H_ROUTE);
        if (reparse(&e, flags, &m2) == 0) {
            CHECK(m2.nroute == m->nroute - 1);
            if (m2.nroute)
                CHECK(slice_eq(m2.route[0].text, m->route[1].text));
        }
    }
    sip_edit_init(&e, m);
    sip_edit_list_prepend(&e, SIP_H_RECORD_ROUTE, "<sip:fuzz.example.org;lr>");
    sip_edit_list_prepend(&e, SIP_H_ROUTE, "<sip:next.example.org;lr>");
    if (reparse(&e, flags, &m2) == 0) {
        CHECK(m2.nrecord_route == m->nrecord_route + 1 && m2.record_route[0].uri.lr);
        CHECK(m2.nroute == m->nroute + 1 && sip_str_eq(m2.route[0].uri.host, "next.example.org"));
    }

    /* A header replaced or inserted, and a display name */
    sip_edit_init(&e, m);
    sip_edit_header_set(&e, "P-Asserted-Identity", "<sip:fuzz@example.org>");
    sip_edit_display(&e, SIP_H_FROM, "Fuzz \"D\" \\");
    if (reparse(&e, flags, &m2) == 0) {
        const struct sip_hdr *h = sip_msg_find(&m2, SIP_H_P_ASSERTED_IDENTITY, NULL);
        CHECK(h && sip_str_eq(h->value, "<sip:fuzz@example.org>"));
        CHECK(!sip_msg_find(&m2, SIP_H_P_ASSERTED_IDENTITY, h));
        char d[64];
        long dl = sip_unquote(m2.from.display, d, sizeof d);
        CHECK(dl == 10 && memcmp(d, "Fuzz \"D\" \\", 10) == 0);
        CHECK(slice_eq(m2.from.uri.text, m->from.uri.text));
        CHECK(slice_eq(m2.from.tag, m->from.tag));
        CHECK(m2.nhdrs <= m->nhdrs + 1);
    }

    /* A new body */
    sip_edit_init(&e, m);
    sip_edit_body(&e, "fuzz body", 9);
    if (reparse(&e, flags | SIP_PARSE_STREAM, &m2) == 0)
        CHECK(sip_str_eq(m2.body, "fuzz body") && m2.content_length == 9);

    /* Request-URI */
    if (m->is_request) {
        sip_edit_init(&e, m);
        sip_edit_ruri(&e, "sip:bob@[2001:db8::5]:5062;transport=tcp");
        if (reparse(&e, flags, &m2) == 0)
            CHECK(m2.ruri.port == 5062 && m2.ruri.host_type == SIP_HOST_IPV6);
    }
}

static void check_response(const struct sip_msg *m)
{
    static struct sip_msg r;
    struct sip_resp_opts o = { .to_tag = "fz1", .received = "198.51.100.9", .rport = 5555,
                               .extra = "Server: fuzz\r\n" };
    long n = sip_build_response(m, 404, NULL, &o, out, sizeof out);
    if (m->fault != SIP_F_NONE) {
        CHECK(n > 0 || n == -EINVAL || n == -ENOSPC);
        return;
    }
    CHECK(n > 0);
    int rc = sip_parse(out, (size_t)n, SIP_PARSE_STREAM, &r);
    if (rc == -EMSGSIZE || rc == -E2BIG)
        return;
    if (rc != 0) {
        fprintf(stderr, "fuzz_sip: response does not parse (%d, fault %d/%d):\n%.*s\n", rc,
                r.fault, r.fault_hdr, (int)n, out);
        abort();
    }
    CHECK(r.status == 404 && r.nvia == m->nvia);
    CHECK(slice_eq(r.call_id, m->call_id) && r.cseq == m->cseq);
    CHECK(sip_str_eq(r.via[0].received, "198.51.100.9"));
    if (m->via[0].rport)
        CHECK(r.via[0].rport_value == 5555);
    CHECK(m->to.tag.p ? slice_eq(r.to.tag, m->to.tag) : sip_str_eq(r.to.tag, "fz1"));
}

static void check_message(const char *buf, size_t len, unsigned flags)
{
    static struct sip_msg m;
    int rc = sip_parse(buf, len, flags, &m);
    g_lo = buf;
    g_hi = buf + len;
    check_slices(&m);
    if (rc == 0) {
        CHECK(m.fault == SIP_F_NONE && m.len <= len && m.head_len <= m.len);
        check_edits(&m, flags);
    } else {
        CHECK(m.fault != SIP_F_NONE);
    }
    if (m.is_request)
        check_response(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    check_message(buf, size, 0);

    /* The same bytes as a stream: frame by frame. */
    size_t off = 0;
    for (int i = 0; i < 64 && off < size; i++) {
        int kind;
        long fl = sip_frame_len(buf + off, size - off, 0, &kind);
        if (fl <= 0)
            break;
        CHECK((size_t)fl <= size - off);
        if (kind == SIP_FRAME_MSG)
            check_message(buf + off, (size_t)fl, SIP_PARSE_STREAM);
        else
            CHECK(fl == 2 || fl == 4);
        off += (size_t)fl;
    }
    sip_is_keepalive(buf, size);

    /* The pure value parsers on their own. */
    if (size < 512) {
        struct sip_uri u;
        struct sip_addr a;
        g_lo = buf;
        g_hi = buf + size;
        if (sip_parse_uri(buf, size, &u) == 0)
            check_uri(&u);
        if (sip_parse_addr(buf, size, &a) == 0)
            check_addr(&a);
        sip_hdr_lookup(buf, size);
        sip_method_lookup(buf, size);
    }
    return 0;
}
