/*
 * sip/handler.c - parse, dispatch, answer. See handler.h.
 */
#include "sip/handler.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "base/siphash.h"
#include "sip/proxy_rt.h"
#include "sip/registrar.h"

const int sip_stats_codes[SIP_STATS_CODES] = {
    200, 400, 401, 403, 405, 413, 420, 423, 480, 481, 482, 483, 500, 501, 503, 505, 513,
};

#define ALLOW "Allow: REGISTER, OPTIONS, INVITE, ACK, CANCEL, BYE\r\n"
#define SUPPORTED "Supported: path, outbound\r\n"

void sip_flow_ip_text(const struct sip_flow *f, char out[48])
{
    if (!inet_ntop(f->family == 6 ? AF_INET6 : AF_INET, f->ip, out, 48))
        out[0] = '\0';
}

static void count_answer(struct sip_stats *st, int status)
{
    st->answers_class[status / 100 % 7]++;
    for (int i = 0; i < SIP_STATS_CODES; i++)
        if (sip_stats_codes[i] == status)
            st->answers_code[i]++;
}

/* A To tag that is the same for a retransmitted request, without state:
 * a keyed hash of the Call-ID, the From tag and the branch. */
static void make_tag(const struct sip_handler *h, const struct sip_msg *m, char out[17])
{
    uint8_t buf[512];
    size_t n = 0;
    struct sip_str parts[3] = { m->call_id, m->from.tag, m->nvia ? m->via[0].branch
                                                                 : (struct sip_str){ 0 } };
    for (int i = 0; i < 3; i++) {
        size_t k = parts[i].n < sizeof buf - n - 1 ? parts[i].n : sizeof buf - n - 1;
        if (k)
            memcpy(buf + n, parts[i].p, k);
        n += k;
        buf[n++] = 0;
    }
    uint64_t v = siphash24(h->tag_key, buf, n);
    static const char hexd[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++)
        out[i] = hexd[(v >> (60 - 4 * i)) & 0xF];
    out[16] = '\0';
}

void sip__answer(struct sip_handler *h, const struct sip_msg *req, const struct sip_flow *src,
                 int status, const char *reason, const char *extra, struct sip_answer *ans)
{
    char ip[48], tag[17];
    sip_flow_ip_text(src, ip);
    make_tag(h, req, tag);
    struct sip_resp_opts o = { 0 };
    o.to_tag = tag;
    o.received = ip;
    o.rport = src->port;
    o.extra = extra;
    long n = sip_build_response(req, status, reason, &o, ans->buf, sizeof ans->buf);
    if (n < 0 && extra) {
        /* Too big with its extras (a huge Contact list): say so plainly. */
        o.extra = NULL;
        status = 500;
        n = sip_build_response(req, status, "Response Too Large", &o, ans->buf, sizeof ans->buf);
    }
    if (n < 0) {
        ans->len = 0;
        return;
    }
    ans->len = (size_t)n;
    count_answer(&h->st, status);
}

static const char *const known_ext[] = { "path", "outbound", NULL };

/* 420 when the request requires an extension we lack. */
static int check_require(struct sip_handler *h, const struct sip_msg *m,
                         const struct sip_flow *src, struct sip_answer *ans)
{
    struct sip_str un[8];
    size_t n = sip_msg_unsupported(m, known_ext, un, 8);
    if (n == 0)
        return 0;
    char extra[600];
    size_t len = (size_t)snprintf(extra, sizeof extra, "Unsupported: ");
    for (size_t i = 0; i < n && i < 8; i++) {
        /* Option tags are tokens (the parser checked); keep them short. */
        if (un[i].n > 40 || len + un[i].n + 4 >= sizeof extra)
            break;
        len += (size_t)snprintf(extra + len, sizeof extra - len, "%s%.*s", i ? ", " : "",
                                (int)un[i].n, un[i].p);
    }
    snprintf(extra + len, sizeof extra - len, "\r\n");
    sip__answer(h, m, src, 420, NULL, extra, ans);
    return 1;
}

static void answer_fault(struct sip_handler *h, const struct sip_msg *m,
                         const struct sip_flow *src, struct sip_answer *ans)
{
    const char *reason = NULL;
    int status = sip_fault_answer(m, &reason);
    if (m->fault <= SIP_F_BODY_TOO_BIG)
        h->st.parse_refused[m->fault]++;
    if (status <= 0)
        return;
    /* The answer copies the Via, From, To, Call-ID and CSeq lines as they
     * came (sip_build_response refuses when there is no Via line to send it
     * back by: the request is then dropped, counted). */
    sip__answer(h, m, src, status, reason, NULL, ans);
}

void sip_handle(struct sip_handler *h, const char *buf, size_t len, int stream,
                const struct sip_flow *src, uint32_t now, struct sip_answer *ans)
{
    struct sip_msg *mp = &h->msg;
#define m (*mp)
    ans->len = 0;
    ans->delay = 0;
    ans->authenticated = 0;
    if (sip_parse(buf, len, stream ? SIP_PARSE_STREAM : 0, &m) < 0) {
        if (m.is_request)
            answer_fault(h, &m, src, ans);
        else
            h->st.parse_refused[m.fault <= SIP_F_BODY_TOO_BIG ? m.fault : 0]++;
        return;
    }
    if (!m.is_request) {
        h->st.responses_in++;
        if (h->proxy)
            sip_proxy_rt_response(h->proxy, &m, src);
        return;
    }
    h->st.requests[m.method_id <= SIP_M_REFER ? m.method_id : 0]++;
    if (h->proxy && sip_proxy_rt_wants(&m)) {
        ans->authenticated = sip_proxy_rt_request(h->proxy, &m, src); /* answers on its own */
        return;
    }
    switch (m.method_id) {
    case SIP_M_ACK:
        return;
    case SIP_M_MESSAGE:
    case SIP_M_SUBSCRIBE:
    case SIP_M_PUBLISH:
        sip__answer(h, &m, src, 405, NULL, ALLOW, ans);
        return;
    case SIP_M_OTHER:
        sip__answer(h, &m, src, 501, NULL, ALLOW, ans);
        return;
    default:
        break;
    }
    if (check_require(h, &m, src, ans))
        return;
    switch (m.method_id) {
    case SIP_M_REGISTER:
        sip_registrar_handle(h, &m, src, now, ans);
        return;
    case SIP_M_OPTIONS:
        if (m.ruri.user.p) {
            sip__answer(h, &m, src, 480, NULL, NULL, ans);
            return;
        }
        sip__answer(h, &m, src, 200, NULL, ALLOW SUPPORTED "Accept: application/sdp\r\n", ans);
        return;
    case SIP_M_INVITE:
        sip__answer(h, &m, src, 480, NULL, NULL, ans);
        return;
    default:
        sip__answer(h, &m, src, 481, NULL, NULL, ans);
        return;
    }
#undef m
}
