/*
 * test_sip_rfc4475.c - the RFC 4475 torture messages that apply to a parser
 * (tests/vectors/sip, written from the RFC text): the valid ones parse with
 * the values the RFC points at, the invalid ones get the answer it asks for.
 */
#include "t.h"
#include "test_sip_util.h"

#include <errno.h>

static int vec(const char *name, unsigned flags, struct sip_msg *m)
{
    sip_t_vector(name);
    return sip_parse(sip_t_buf, sip_t_len, flags, m);
}

static void expect(const char *name, int rc, int status, const char *reason)
{
    struct sip_msg m;
    int got = vec(name, 0, &m);
    const char *r;
    int st = sip_fault_answer(&m, &r);
    if (got != rc || st != status || (reason && (!r || strcmp(r, reason) != 0)))
        t_fail(__FILE__, __LINE__, "%s: rc %d answer %d %s; want rc %d answer %d %s", name, got,
               st, r ? r : "-", rc, status, reason ? reason : "-");
}

TEST(sip_4475_wsinv)
{
    struct sip_msg m;
    ASSERT_EQ(vec("wsinv", 0, &m), 0);
    ASSERT_SLICE(m.method, "INVITE");
    ASSERT_SLICE(m.ruri.params, ";unknownparam");
    ASSERT_SLICE(m.to.uri.text, "sip:vivekg@chair-dnrc.example.com");
    ASSERT_SLICE(m.to.tag, "1918181833n");
    ASSERT_SLICE(m.from.display, "\"J Rosenberg \\\\\\\"\"");
    ASSERT_SLICE(m.from.tag, "98asjd8");
    ASSERT_EQ(m.max_forwards, 68);
    ASSERT_SLICE(m.call_id, "wsinv.ndaksdj@192.0.2.1");
    ASSERT_EQ(m.cseq, 9);
    ASSERT_SLICE(m.cseq_method, "INVITE");
    ASSERT_EQ(m.nvia, 3);
    ASSERT_SLICE(m.via[0].transport, "UDP");
    ASSERT_SLICE(m.via[0].host, "192.0.2.2");
    ASSERT_SLICE(m.via[0].branch, "390skdjuw");
    ASSERT_SLICE(m.via[1].transport, "TCP");
    ASSERT_SLICE(m.via[1].host, "spindle.example.com");
    ASSERT_SLICE(m.via[1].branch, "z9hG4bK9ikj8");
    ASSERT_SLICE(m.via[2].host, "192.168.255.111");
    ASSERT_SLICE(m.via[2].branch, "z9hG4bK30239");
    ASSERT_EQ(m.nroute, 1);
    ASSERT(m.route[0].uri.lr);
    ASSERT_EQ(m.ncontact, 1);
    ASSERT_EQ(m.contact[0].q, 330);
    struct sip_str v;
    ASSERT_EQ(sip_param_find(m.contact[0].addr.params, "newparam", &v), 1);
    ASSERT_SLICE(v, "newvalue");
    ASSERT_EQ(sip_param_find(m.contact[0].addr.params, "secondparam", &v), 1);
    ASSERT_ABSENT(v);
    const struct sip_hdr *h = sip_msg_find_name(&m, "UnknownHeaderWithUnusualValue", NULL);
    ASSERT_SLICE(h->value, ";;,,;;,;");
    h = sip_msg_find_name(&m, "NewFangledHeader", NULL);
    ASSERT_SLICE(h->value, "newfangled value\r\n continued newfangled value");
    ASSERT_EQ(m.body.n, 150);
    ASSERT_EQ(m.len, sip_t_len);
}

TEST(sip_4475_intmeth)
{
    struct sip_msg m;
    ASSERT_EQ(vec("intmeth", 0, &m), 0);
    ASSERT_SLICE(m.method, "!interesting-Method0123456789_*+`.%indeed'~");
    ASSERT_EQ(m.method_id, SIP_M_OTHER);
    ASSERT_SLICE(m.ruri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    ASSERT_SLICE(m.ruri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    ASSERT_SLICE(m.ruri.host, "example.com");
    ASSERT_SLICE(m.via[0].branch, "z9hG4bK-.!%66*_+`'~");
    ASSERT_EQ(m.to.display.n, 22); /* "BEL:\<07> NUL:\<00> DEL:\<7F>" */
    ASSERT_SLICE(m.to.uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    ASSERT_SLICE(m.from.display, "token1~` token2'+_ token3*%!.-");
    ASSERT_SLICE(m.from.tag, "_token~1'+`*%!-.");
    ASSERT_SLICE(m.call_id, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
    ASSERT_EQ(m.cseq, 139122385);
    ASSERT_EQ(m.max_forwards, 255);
    ASSERT(sip_msg_find_name(&m, "extensionHeader-!.%*+_`'~", NULL));
}

TEST(sip_4475_escapes)
{
    struct sip_msg m;
    char out[64];
    ASSERT_EQ(vec("esc01", 0, &m), 0);
    ASSERT_SLICE(m.ruri.user, "sips%3Auser%40example.com");
    ASSERT_EQ(sip_unescape(m.ruri.user, out, sizeof out), 21);
    ASSERT_MEM_EQ(out, "sips:user@example.com", 21);
    ASSERT_SLICE(m.ruri.host, "example.net");
    ASSERT_EQ(sip_unescape(m.to.uri.user, out, sizeof out), 4);
    ASSERT_MEM_EQ(out, "user", 4);
    ASSERT_SLICE(m.call_id, "esc01.239409asdfakjkn23onasd0-3234");
    ASSERT_SLICE(m.content_type, "application/sdp");
    ASSERT_SLICE(m.contact[0].addr.uri.params, ";%6C%72;n%61me=v%61lue%25%34%31");

    ASSERT_EQ(vec("escnull", 0, &m), 0);
    ASSERT_EQ(m.ncontact, 2);
    ASSERT_EQ(sip_unescape(m.contact[1].addr.uri.user, out, sizeof out), 2);
    ASSERT_EQ(out[0], 0);

    ASSERT_EQ(vec("esc02", 0, &m), 0);
    ASSERT_SLICE(m.method, "RE%47IST%45R");
    ASSERT_EQ(m.method_id, SIP_M_OTHER); /* not REGISTER */
    ASSERT_EQ(m.ncontact, 2);             /* C%6Fntact is another header */
    ASSERT(sip_msg_find_name(&m, "C%6Fntact", NULL));
    ASSERT_SLICE(m.to.display, "\"%Z%45\"");
}

TEST(sip_4475_valid_others)
{
    struct sip_msg m;
    ASSERT_EQ(vec("lwsdisp", 0, &m), 0);
    ASSERT_SLICE(m.from.display, "caller");

    /* 34 Vias: more than SIP_MAX_VIA, a bound of ours (RFC 4475 section
     * 3.1.1.7 calls the message valid). */
    expect("longreq", -E2BIG, 513, "Too Many Vias");
    ASSERT_EQ(vec("longreq", 0, &m), -E2BIG);
    ASSERT_EQ(m.nvia, SIP_MAX_VIA);

    ASSERT_EQ(vec("dblreq", 0, &m), 0);
    ASSERT_SLICE(m.method, "REGISTER");
    ASSERT_EQ(m.body.n, 0);
    ASSERT(m.len < sip_t_len); /* the INVITE after it is ignored */

    ASSERT_EQ(vec("semiuri", 0, &m), 0);
    ASSERT_SLICE(m.ruri.user, "user;par=u%40example.net");
    ASSERT_SLICE(m.ruri.host, "example.com");
    ASSERT_ABSENT(m.ruri.params);

    ASSERT_EQ(vec("transports", 0, &m), 0);
    ASSERT_EQ(m.nvia, 5);
    ASSERT_SLICE(m.via[1].transport, "SCTP");
    ASSERT_SLICE(m.via[3].transport, "UNKNOWN");

    ASSERT_EQ(vec("unreason", 0, &m), 0);
    ASSERT_EQ(m.status, 200);
    ASSERT_EQ(m.body.n, 154);

    ASSERT_EQ(vec("noreason", 0, &m), 0);
    ASSERT_EQ(m.status, 100);
    ASSERT_EQ(m.reason.n, 0);

    ASSERT_EQ(vec("zeromf", 0, &m), 0);
    ASSERT_EQ(m.max_forwards, 0);

    ASSERT_EQ(vec("cparam01", 0, &m), 0);
    ASSERT_ABSENT(m.contact[0].addr.uri.params); /* unknownparam is a header param */
    ASSERT_SLICE(m.contact[0].addr.params, ";unknownparam");
    ASSERT_EQ(vec("cparam02", 0, &m), 0);
    ASSERT_SLICE(m.contact[0].addr.uri.params, ";unknownparam");
    ASSERT_ABSENT(m.contact[0].addr.params);

    ASSERT_EQ(vec("regaut01", 0, &m), 0);
    ASSERT_SLICE(m.auth[0].scheme, "NoOneKnowsThisScheme");
    ASSERT_ABSENT(m.auth[0].username);

    ASSERT_EQ(vec("bext01", 0, &m), 0);
    static const char *const known[] = { "path", NULL };
    struct sip_str un[4];
    ASSERT_EQ(sip_msg_unsupported(&m, known, un, 4), 4); /* the caller answers 420 */

    ASSERT_EQ(vec("unkscm", 0, &m), 0);
    ASSERT_EQ(m.ruri.scheme, SIP_SCHEME_OTHER); /* the caller answers 416 */
    ASSERT_EQ(vec("unksm2", 0, &m), 0);
    ASSERT_EQ(m.to.uri.scheme, SIP_SCHEME_OTHER);
    ASSERT_EQ(m.from.uri.scheme, SIP_SCHEME_OTHER);

    ASSERT_EQ(vec("inv2543", 0, &m), 0);
    ASSERT_EQ(m.max_forwards, -1);
    ASSERT_ABSENT(m.via[0].branch);
    ASSERT_EQ(m.body.n, 105); /* no Content-Length on UDP: the rest */
    ASSERT_EQ(vec("inv2543", SIP_PARSE_STREAM, &m), -EBADMSG);
}

TEST(sip_4475_semantics_left_to_the_caller)
{
    struct sip_msg m;
    /* A non-GMT Date is not the parser's business (section 3.1.2.12). */
    ASSERT_EQ(vec("baddate", 0, &m), 0);
    ASSERT(sip_msg_find_name(&m, "Date", NULL));
    ASSERT_EQ(vec("badbranch", 0, &m), 0);
    ASSERT_SLICE(m.via[0].branch, "z9hG4bK");
    ASSERT_EQ(vec("novelsc", 0, &m), 0);
    ASSERT_EQ(m.ruri.scheme, SIP_SCHEME_OTHER);
    ASSERT_SLICE(m.ruri.text, "soap.beep://192.0.2.103:3002");
    ASSERT_EQ(vec("invut", 0, &m), 0);
    ASSERT_SLICE(m.content_type, "application/unknownformat");
    ASSERT_EQ(m.body.n, 40);
    ASSERT_EQ(vec("bcast", 0, &m), 0);
    ASSERT_SLICE(m.via[1].host, "255.255.255.255");
    /* A Route escaped into a Contact URI: visible to the registrar. */
    ASSERT_EQ(vec("regescrt", 0, &m), 0);
    ASSERT_SLICE(m.contact[0].addr.uri.headers, "Route=%3Csip:sip.example.com%3E");
    ASSERT_EQ(vec("sdp01", 0, &m), 0);
    ASSERT(sip_msg_find_name(&m, "Accept", NULL));
}

TEST(sip_4475_binary_body)
{
    /* In the spirit of section 3.1.1.11 (mpart01): a body with NULs, CRLFs
     * and text that looks like headers is taken by its length, on a
     * datagram and on a stream. */
    static const char head[] = "MESSAGE sip:kumiko@example.org SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-1;rport\r\n"
                               "Max-Forwards: 70\r\n"
                               "To: <sip:kumiko@example.org>\r\n"
                               "From: <sip:fluffy@example.com>;tag=2fb0dcc9\r\n"
                               "Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..\r\n"
                               "CSeq: 1 MESSAGE\r\n"
                               "Content-Type: multipart/mixed;boundary=7a9cbec02ceef655\r\n"
                               "Content-Length: 64\r\n\r\n";
    static const char body[64] = "\0\x01\r\n\r\nContent-Length: 9\r\n\r\n\xff\xfe--7a9cbec02ceef655--";
    static char msg[sizeof head + sizeof body + 40];
    size_t n = sizeof head - 1;
    memcpy(msg, head, n);
    memcpy(msg + n, body, sizeof body);
    n += sizeof body;
    memcpy(msg + n, "OPTIONS", 7); /* the start of a next message on a stream */
    struct sip_msg m;
    ASSERT_EQ(sip_parse(msg, n, 0, &m), 0);
    ASSERT_EQ(m.body.n, 64);
    ASSERT_MEM_EQ(m.body.p, body, 64);
    int kind;
    ASSERT_EQ(sip_frame_len(msg, n + 7, 0, &kind), (long)n);
    ASSERT_EQ(sip_parse(msg, n, SIP_PARSE_STREAM, &m), 0);
    ASSERT_MEM_EQ(m.body.p, body, 64);
}

TEST(sip_4475_invalid)
{
    expect("badinv01", -EBADMSG, 400, "Bad Via");
    expect("clerr", -EBADMSG, 400, "Bad Content-Length");
    expect("ncl", -EBADMSG, 400, "Bad Content-Length");
    expect("scalar02", -EBADMSG, 400, "Bad CSeq");
    expect("scalarlg", -EBADMSG, 0, NULL); /* a response: dropped */
    expect("quotbal", -EBADMSG, 400, "Bad To");
    expect("ltgtruri", -EBADMSG, 400, "Bad Request-URI");
    expect("lwsruri", -EBADMSG, 400, "Bad Request-URI");
    expect("lwsstart", -EBADMSG, 400, "Bad Request-URI");
    expect("trws", -EBADMSG, 400, "Bad Request Line");
    expect("escruri", -EBADMSG, 400, "Bad Request-URI");
    expect("regbadct", -EBADMSG, 400, "Bad Contact");
    expect("badaspec", -EBADMSG, 400, "Bad To");
    expect("baddn", -EBADMSG, 400, "Bad From");
    expect("badvers", -EPROTONOSUPPORT, 505, "Version Not Supported");
    expect("mismatch01", -EBADMSG, 400, "CSeq Method Mismatch");
    expect("mismatch02", -EBADMSG, 400, "CSeq Method Mismatch");
    expect("bigcode", -EBADMSG, 0, NULL);
    expect("insuf", -EBADMSG, 400, "Missing From");
    expect("multi01", -EBADMSG, 400, "Duplicate CSeq");
    expect("mcl01", -EBADMSG, 400, "Duplicate Content-Length");

    /* Scalar faults: Max-Forwards 300 alone is refused too (RFC 3261
     * section 20.22: 0-255); Expires only clamps. */
    struct sip_msg m;
    ASSERT_EQ(vec("scalar02", 0, &m), -EBADMSG);
    ASSERT_EQ(m.expires, 0xFFFFFFFFll);
    ASSERT_EQ(m.contact[0].expires, 0xFFFFFFFFll);
}

TEST(sip_4475_stream_framing)
{
    /* The valid messages frame on a stream exactly as they parse. */
    static const char *const names[] = { "wsinv", "esc01", "escnull", "esc02", "lwsdisp",
                                         "semiuri", "transports", "unreason", "noreason",
                                         "zeromf", "intmeth" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct sip_msg m;
        size_t n = sip_t_vector(names[i]);
        int kind;
        long fl = sip_frame_len(sip_t_buf, n, 0, &kind);
        if (fl != (long)n || kind != SIP_FRAME_MSG)
            t_fail(__FILE__, __LINE__, "%s: frame %ld of %zu", names[i], fl, n);
        if (sip_parse(sip_t_buf, (size_t)fl, SIP_PARSE_STREAM, &m) != 0)
            t_fail(__FILE__, __LINE__, "%s: does not parse as a stream message", names[i]);
    }
    /* dblreq on a stream: two frames. */
    size_t n = sip_t_vector("dblreq");
    int kind;
    long first = sip_frame_len(sip_t_buf, n, 0, &kind);
    ASSERT(first > 0 && (size_t)first < n);
    /* The INVITE's Content-Length (150) is shorter than its body there. */
    long second = sip_frame_len(sip_t_buf + first, n - (size_t)first, 0, &kind);
    ASSERT(second > 0 && (size_t)first + (size_t)second < n);
}
