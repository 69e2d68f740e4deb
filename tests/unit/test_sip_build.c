/*
 * test_sip_build.c - the proxy editor and the response builder
 * (sip/build.c): untouched bytes stay as they came, every edit shows in a
 * re-parse, bounded output, refusals.
 */
#include "t.h"
#include "test_sip_util.h"

#include <errno.h>

static char out[20000];

static int slices_equal(struct sip_str a, struct sip_str b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* Applies the edits, checks the output parses and returns its length. */
static long write_ok(const struct sip_edit *e, struct sip_msg *m2)
{
    long n = sip_edit_write(e, out, sizeof out);
    if (n < 0)
        t_fail(__FILE__, __LINE__, "write: %ld", n);
    out[n] = '\0';
    int rc = sip_parse(out, (size_t)n, SIP_PARSE_STREAM, m2);
    if (rc != 0)
        t_fail(__FILE__, __LINE__, "output does not parse (%d, fault %d/%d):\n%s", rc, m2->fault,
               m2->fault_hdr, out);
    return n;
}

static const char inv[] =
    "INVITE sip:bob@example.org SIP/2.0\n"
    "Via: SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bKnashds8;rport\n"
    "v: SIP/2.0/TCP p1.example.net;branch=z9hG4bK1 ,\n"
    "   SIP/2.0/TCP p2.example.net;branch=z9hG4bK2\n"
    "Route: <sip:edge.example.org;lr>, <sip:core.example.org;lr>\n"
    "Max-Forwards: 70\n"
    "To: Bob <sip:bob@example.org>\n"
    "f: \"Alice\" <sip:alice@example.com>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710@pc33.example.com\n"
    "CSeq: 314159 INVITE\n"
    "P-Asserted-Identity: <sip:old@example.com>\n"
    "Contact: <sip:alice@pc33.example.com>\n"
    "c: application/sdp\n"
    "Content-Length: 4\n"
    "\n"
    "v=0\n";

TEST(sip_edit_none_is_identity)
{
    struct sip_msg m, m2;
    ASSERT_EQ(sip_t_parse(inv, SIP_PARSE_STREAM, &m), 0);
    struct sip_edit e;
    sip_edit_init(&e, &m);
    long n = write_ok(&e, &m2);
    ASSERT_EQ(n, (long)m.len); /* the stray LF after the 4-byte body is not the message */
    ASSERT_MEM_EQ(out, sip_t_buf, m.len);

    /* The torture message too: folds, odd spacing, compact names. */
    sip_t_vector("wsinv");
    ASSERT_EQ(sip_parse(sip_t_buf, sip_t_len, 0, &m), 0);
    sip_edit_init(&e, &m);
    n = write_ok(&e, &m2);
    ASSERT_EQ(n, (long)sip_t_len);
    ASSERT_MEM_EQ(out, sip_t_buf, sip_t_len);
    /* fix_length changes nothing when the length is right. */
    sip_edit_fix_length(&e);
    ASSERT_EQ(sip_edit_write(&e, out, sizeof out), (long)sip_t_len);
    ASSERT_MEM_EQ(out, sip_t_buf, sip_t_len);
}

TEST(sip_edit_proxy_forward)
{
    struct sip_msg m, m2;
    ASSERT_EQ(sip_t_parse(inv, SIP_PARSE_STREAM, &m), 0);
    struct sip_edit e;
    sip_edit_init(&e, &m);
    sip_edit_via_received(&e, "203.0.113.7", 40123);
    sip_edit_list_prepend(&e, SIP_H_VIA, "SIP/2.0/TLS proxy.example.org:5061;branch=z9hG4bKp1");
    sip_edit_list_remove_top(&e, SIP_H_ROUTE);
    sip_edit_list_prepend(&e, SIP_H_RECORD_ROUTE, "<sip:proxy.example.org;lr>");
    sip_edit_max_forwards(&e, m.max_forwards - 1);
    ASSERT_EQ(e.err, 0);
    write_ok(&e, &m2);

    ASSERT_EQ(m2.nvia, 4);
    ASSERT_SLICE(m2.via[0].host, "proxy.example.org");
    ASSERT_SLICE(m2.via[1].received, "203.0.113.7");
    ASSERT_EQ(m2.via[1].rport, 2);
    ASSERT_EQ(m2.via[1].rport_value, 40123);
    ASSERT_SLICE(m2.via[1].text,
                 "SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bKnashds8;rport=40123;"
                 "received=203.0.113.7");
    ASSERT_SLICE(m2.via[2].host, "p1.example.net");
    ASSERT_EQ(m2.nroute, 1);
    ASSERT_SLICE(m2.route[0].uri.host, "core.example.org");
    ASSERT_EQ(m2.nrecord_route, 1);
    ASSERT_EQ(m2.max_forwards, 69);
    ASSERT_SLICE(m2.body, "v=0\r");
    /* What was not edited is byte for byte the same. */
    ASSERT(strstr(out, "v: SIP/2.0/TCP p1.example.net;branch=z9hG4bK1 ,\r\n"
                       "   SIP/2.0/TCP p2.example.net;branch=z9hG4bK2\r\n"));
    ASSERT(strstr(out, "Route: <sip:core.example.org;lr>\r\n"));
    ASSERT(strstr(out, "f: \"Alice\" <sip:alice@example.com>;tag=1928301774\r\n"));
    ASSERT(strstr(out, "\r\nVia: SIP/2.0/TLS proxy.example.org:5061;branch=z9hG4bKp1\r\n"
                       "Via: SIP/2.0/UDP pc33"));
}

TEST(sip_edit_via_variants)
{
    struct sip_msg m, m2;
    struct sip_edit e;
    /* received replaced, rport value replaced */
    ASSERT_EQ(sip_t_parse("SIP/2.0 200 OK\n"
                          "Via: SIP/2.0/UDP h;received=192.0.2.1;rport=1;branch=z9hG4bK1\n"
                          "From: <sip:a@b>;tag=1\nTo: <sip:a@b>;tag=2\nCall-ID: c\nCSeq: 1 BYE\n"
                          "Content-Length: 0\n\n",
                          0, &m),
              0);
    sip_edit_init(&e, &m);
    sip_edit_via_received(&e, "2001:db8::1", 5060);
    write_ok(&e, &m2);
    ASSERT_SLICE(m2.via[0].text, "SIP/2.0/UDP h;received=2001:db8::1;rport=5060;branch=z9hG4bK1");

    /* no rport in the Via: rport is not added (RFC 3581), received is */
    ASSERT_EQ(sip_t_parse(inv, 0, &m), 0);
    ASSERT_EQ(sip_t_parse("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
                          "From: <sip:a@b>;tag=1\nTo: <sip:a@b>\nCall-ID: c\nCSeq: 1 OPTIONS\n"
                          "Content-Length: 0\n\n",
                          0, &m),
              0);
    sip_edit_init(&e, &m);
    sip_edit_via_received(&e, "[2001:db8::2]", 5060);
    write_ok(&e, &m2);
    ASSERT_SLICE(m2.via[0].text, "SIP/2.0/UDP h;branch=z9hG4bK1;received=[2001:db8::2]");

    /* Removing the top of two values on one line keeps the second. */
    ASSERT_EQ(sip_t_parse("OPTIONS sip:a@b SIP/2.0\n"
                          "Via: SIP/2.0/UDP h1;branch=z9hG4bK1, SIP/2.0/UDP h2;branch=z9hG4bK2\n"
                          "From: <sip:a@b>;tag=1\nTo: <sip:a@b>\nCall-ID: c\nCSeq: 1 OPTIONS\n"
                          "Content-Length: 0\n\n",
                          0, &m),
              0);
    sip_edit_init(&e, &m);
    sip_edit_list_remove_top(&e, SIP_H_VIA);
    write_ok(&e, &m2);
    ASSERT_EQ(m2.nvia, 1);
    ASSERT(strstr(out, "\r\nVia: SIP/2.0/UDP h2;branch=z9hG4bK2\r\n"));

    /* A proxy's own Via swapped for another: insert and delete at one place. */
    sip_edit_init(&e, &m);
    sip_edit_list_remove_top(&e, SIP_H_VIA);
    sip_edit_list_prepend(&e, SIP_H_VIA, "SIP/2.0/UDP h3;branch=z9hG4bK3");
    write_ok(&e, &m2);
    ASSERT_EQ(m2.nvia, 2);
    ASSERT_SLICE(m2.via[0].host, "h3");
    ASSERT_SLICE(m2.via[1].host, "h2");

    /* Refusals */
    sip_edit_init(&e, &m);
    sip_edit_via_received(&e, "host.name", 0);
    ASSERT_EQ(sip_edit_write(&e, out, sizeof out), -EINVAL);
    sip_edit_init(&e, &m);
    sip_edit_via_received(&e, "1.2.3.4;x=1", 0);
    ASSERT_EQ(sip_edit_write(&e, out, sizeof out), -EINVAL);
    sip_edit_init(&e, &m);
    sip_edit_list_remove_top(&e, SIP_H_VIA);
    sip_edit_via_received(&e, "192.0.2.1", 0); /* inside the removed bytes */
    ASSERT_EQ(sip_edit_write(&e, out, sizeof out), -EINVAL);
    sip_edit_init(&e, &m);
    sip_edit_list_remove_top(&e, SIP_H_ROUTE);
    ASSERT_EQ(sip_edit_write(&e, out, sizeof out), -ENOENT);
    sip_edit_init(&e, &m);
    sip_edit_list_prepend(&e, SIP_H_VIA, "SIP/2.0/UDP x\r\nEvil: 1");
    ASSERT_EQ(sip_edit_write(&e, out, sizeof out), -EINVAL);
    sip_edit_init(&e, &m);
    sip_edit_list_prepend(&e, SIP_H_CONTACT, "<sip:x@y>");
    ASSERT_EQ(sip_edit_write(&e, out, sizeof out), -EINVAL);
}

TEST(sip_edit_headers_and_display)
{
    struct sip_msg m, m2;
    struct sip_edit e;
    ASSERT_EQ(sip_t_parse(inv, SIP_PARSE_STREAM, &m), 0);

    sip_edit_init(&e, &m);
    sip_edit_header_set(&e, "P-Asserted-Identity", "\"627462\" <sip:627462@example.org>");
    sip_edit_display(&e, SIP_H_FROM, "Ma\"ri\\na");
    sip_edit_display(&e, SIP_H_TO, NULL);
    sip_edit_header_add(&e, "X-T9", "1");
    write_ok(&e, &m2);
    const struct sip_hdr *p = sip_msg_find(&m2, SIP_H_P_ASSERTED_IDENTITY, NULL);
    ASSERT_SLICE(p->value, "\"627462\" <sip:627462@example.org>");
    ASSERT(!sip_msg_find(&m2, SIP_H_P_ASSERTED_IDENTITY, p));
    ASSERT_SLICE(m2.from.display, "\"Ma\\\"ri\\\\na\"");
    ASSERT_SLICE(m2.from.uri.text, "sip:alice@example.com");
    ASSERT_SLICE(m2.from.tag, "1928301774");
    ASSERT(strstr(out, "\r\nf: \"Ma\\\"ri\\\\na\" <sip:alice@example.com>;tag=1928301774\r\n"));
    ASSERT_ABSENT(m2.to.display);
    ASSERT(strstr(out, "\r\nTo: <sip:bob@example.org>\r\n"));
    ASSERT_SLICE(sip_msg_find_name(&m2, "x-t9", NULL)->value, "1");

    /* An addr-spec gets <> so that its parameters stay header params. */
    ASSERT_EQ(sip_t_parse("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
                          "From: sip:alice@example.com;tag=9\nTo: <sip:a@b>\nCall-ID: c\n"
                          "CSeq: 1 OPTIONS\nP-Asserted-Identity: <sip:x@y>\n"
                          "P-Asserted-Identity: <tel:+1>\n\n",
                          0, &m),
              0);
    sip_edit_init(&e, &m);
    sip_edit_display(&e, SIP_H_FROM, "Alice");
    sip_edit_display(&e, SIP_H_TO, "Bob");
    sip_edit_header_set(&e, "P-Asserted-Identity", NULL);
    sip_edit_max_forwards(&e, 70); /* absent: added */
    sip_edit_fix_length(&e);       /* absent: added, 0 */
    write_ok(&e, &m2);
    ASSERT(strstr(out, "\r\nFrom: \"Alice\" <sip:alice@example.com>;tag=9\r\n"));
    ASSERT(strstr(out, "\r\nTo: \"Bob\" <sip:a@b>\r\n"));
    ASSERT(!sip_msg_find(&m2, SIP_H_P_ASSERTED_IDENTITY, NULL));
    ASSERT_SLICE(m2.from.tag, "9");
    ASSERT_EQ(m2.max_forwards, 70);
    ASSERT_EQ(m2.content_length, 0);

    sip_edit_init(&e, &m);
    sip_edit_display(&e, SIP_H_FROM, "bad\r\nX: y");
    ASSERT_EQ(sip_edit_write(&e, out, sizeof out), -EINVAL);
    sip_edit_init(&e, &m);
    sip_edit_header_set(&e, "Bad Name", "v");
    ASSERT_EQ(sip_edit_write(&e, out, sizeof out), -EINVAL);
    sip_edit_init(&e, &m);
    sip_edit_max_forwards(&e, 256);
    ASSERT_EQ(sip_edit_write(&e, out, sizeof out), -EINVAL);
}

TEST(sip_edit_ruri_body_space)
{
    struct sip_msg m, m2;
    struct sip_edit e;
    ASSERT_EQ(sip_t_parse(inv, SIP_PARSE_STREAM, &m), 0);
    sip_edit_init(&e, &m);
    sip_edit_ruri(&e, "sip:bob@192.0.2.44:5062;transport=tcp");
    sip_edit_body(&e, "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n", 31);
    write_ok(&e, &m2);
    ASSERT_SLICE(m2.ruri.host, "192.0.2.44");
    ASSERT_EQ(m2.content_length, 31);
    ASSERT_EQ(m2.body.n, 31);
    ASSERT(strstr(out, "\r\nContent-Length: 31\r\n"));

    sip_edit_init(&e, &m);
    sip_edit_body(&e, NULL, 0);
    write_ok(&e, &m2);
    ASSERT_EQ(m2.content_length, 0);

    sip_edit_init(&e, &m);
    sip_edit_ruri(&e, "not a uri");
    ASSERT_EQ(sip_edit_write(&e, out, sizeof out), -EINVAL);

    /* Output bounds: every size below the full length is -ENOSPC. */
    sip_edit_init(&e, &m);
    sip_edit_max_forwards(&e, 69);
    long full = sip_edit_write(&e, out, sizeof out);
    ASSERT(full > 0);
    static char small[2048];
    for (long cap = 0; cap < full; cap += 7)
        ASSERT_EQ(sip_edit_write(&e, small, (size_t)cap), -ENOSPC);
    ASSERT_EQ(sip_edit_write(&e, small, (size_t)full), full);

    /* The editor's own space and op table are bounded. */
    sip_edit_init(&e, &m);
    for (int i = 0; i < SIP_EDIT_MAX_OPS + 1; i++)
        sip_edit_header_add(&e, "X", "1");
    ASSERT_EQ(sip_edit_write(&e, out, sizeof out), -ENOSPC);
    static char huge[SIP_EDIT_SPACE + 10];
    memset(huge, 'a', sizeof huge - 1);
    sip_edit_init(&e, &m);
    sip_edit_header_add(&e, "X", huge);
    ASSERT_EQ(sip_edit_write(&e, out, sizeof out), -ENOSPC);

    /* A message that did not parse cannot be edited. */
    ASSERT_EQ(sip_t_parse("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\n\n", 0, &m), -EBADMSG);
    sip_edit_init(&e, &m);
    ASSERT_EQ(sip_edit_write(&e, out, sizeof out), -EINVAL);
}

static const char regq[] =
    "REGISTER sip:example.org SIP/2.0\n"
    "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKreg1;rport\n"
    "v: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKreg0\n"
    "Max-Forwards: 70\n"
    "From: <sip:u1@example.org>;tag=f1\n"
    "To: <sip:u1@example.org>\n"
    "Call-ID: reg-call-1\n"
    "CSeq: 7 REGISTER\n"
    "Contact: <sip:u1@10.0.0.2:5060>\n"
    "User-Agent: Phone/1.0\n"
    "Content-Length: 0\n"
    "\n";

TEST(sip_response_challenge)
{
    struct sip_msg m, r;
    ASSERT_EQ(sip_t_parse(regq, 0, &m), 0);
    struct sip_resp_opts o = {
        .to_tag = "srv42",
        .received = "198.51.100.3",
        .rport = 61000,
        .extra = "WWW-Authenticate: Digest realm=\"example.org\", nonce=\"abc\", qop=\"auth\"\r\n",
    };
    long n = sip_build_response(&m, 401, NULL, &o, out, sizeof out);
    ASSERT(n > 0);
    out[n] = '\0';
    ASSERT_EQ(strncmp(out, "SIP/2.0 401 Unauthorized\r\n", 26), 0);
    ASSERT_EQ(sip_parse(out, (size_t)n, SIP_PARSE_STREAM, &r), 0);
    ASSERT_EQ(r.status, 401);
    ASSERT_EQ(r.nvia, 2);
    ASSERT_SLICE(r.via[0].text,
                 "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKreg1;rport=61000;received=198.51.100.3");
    ASSERT(strstr(out, "\r\nv: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKreg0\r\n"));
    ASSERT_SLICE(r.to.tag, "srv42");
    ASSERT_SLICE(r.from.tag, "f1");
    ASSERT_SLICE(r.call_id, "reg-call-1");
    ASSERT_EQ(r.cseq, 7);
    ASSERT_SLICE(r.cseq_method, "REGISTER");
    ASSERT(sip_msg_find(&r, SIP_H_WWW_AUTHENTICATE, NULL));
    ASSERT(!sip_msg_find(&r, SIP_H_CONTACT, NULL));    /* not copied */
    ASSERT(!sip_msg_find(&r, SIP_H_USER_AGENT, NULL)); /* not copied */
    ASSERT(!sip_msg_find(&r, SIP_H_MAX_FORWARDS, NULL));
    ASSERT_EQ(r.content_length, 0);

    /* 100 Trying gets no To tag (RFC 3261 section 8.2.6.2). */
    n = sip_build_response(&m, 100, NULL, &o, out, sizeof out);
    ASSERT_EQ(sip_parse(out, (size_t)n, 0, &r), 0);
    ASSERT_ABSENT(r.to.tag);

    /* A To that has a tag keeps it. */
    ASSERT_EQ(sip_t_parse("BYE sip:a@b SIP/2.0\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\n"
                          "From: <sip:a@b>;tag=1\nTo: <sip:c@d>;tag=old\nCall-ID: c\nCSeq: 2 BYE\n"
                          "Content-Length: 0\n\n",
                          SIP_PARSE_STREAM, &m),
              0);
    n = sip_build_response(&m, 200, "OK", &o, out, sizeof out);
    ASSERT_EQ(sip_parse(out, (size_t)n, 0, &r), 0);
    ASSERT_SLICE(r.to.tag, "old");
    ASSERT_SLICE(r.via[0].text, "SIP/2.0/TCP h;branch=z9hG4bK1;received=198.51.100.3");

    /* With a body; without options. */
    struct sip_resp_opts ob = { .body = "hello", .body_len = 5, .content_type = "text/plain" };
    n = sip_build_response(&m, 200, NULL, &ob, out, sizeof out);
    ASSERT_EQ(sip_parse(out, (size_t)n, SIP_PARSE_STREAM, &r), 0);
    ASSERT_SLICE(r.body, "hello");
    ASSERT_SLICE(r.content_type, "text/plain");
    n = sip_build_response(&m, 486, NULL, NULL, out, sizeof out);
    ASSERT_EQ(sip_parse(out, (size_t)n, SIP_PARSE_STREAM, &r), 0);
    ASSERT_SLICE(r.reason, "Busy Here");
}

TEST(sip_response_to_malformed)
{
    struct sip_msg m, r;
    const char *reason;
    ASSERT_EQ(sip_t_parse("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.9;rport;branch=z9hG4bK9\n"
                          "From: <sip:a@b>;tag=1\nTo: <sip:a@b>\nCall-ID: c\nCSeq: x OPTIONS\n\n",
                          0, &m),
              -EBADMSG);
    int st = sip_fault_answer(&m, &reason);
    ASSERT_EQ(st, 400);
    struct sip_resp_opts o = { .to_tag = "t", .received = "192.0.2.200", .rport = 1234 };
    long n = sip_build_response(&m, st, reason, &o, out, sizeof out);
    ASSERT(n > 0);
    out[n] = '\0';
    ASSERT_EQ(strncmp(out, "SIP/2.0 400 Bad CSeq\r\n", 22), 0);
    ASSERT(strstr(out, "\r\nVia: SIP/2.0/UDP 10.0.0.9;rport=1234;branch=z9hG4bK9;"
                       "received=192.0.2.200\r\n"));
    ASSERT(strstr(out, "\r\nCSeq: x OPTIONS\r\n")); /* copied as it came */
    ASSERT(strstr(out, "\r\nTo: <sip:a@b>;tag=t\r\n"));

    /* A bad Via is copied untouched. */
    ASSERT_EQ(sip_t_parse("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.9;;\n"
                          "From: <sip:a@b>;tag=1\nTo: <sip:a@b>\nCall-ID: c\nCSeq: 1 OPTIONS\n\n",
                          0, &m),
              -EBADMSG);
    st = sip_fault_answer(&m, &reason);
    ASSERT_STR_EQ(reason, "Bad Via");
    n = sip_build_response(&m, st, reason, &o, out, sizeof out);
    out[n] = '\0';
    ASSERT(strstr(out, "\r\nVia: SIP/2.0/UDP 10.0.0.9;;\r\n"));

    /* Too big a datagram: still answerable with 513. */
    static char big[SIP_MAX_DGRAM + 300];
    size_t o2 = (size_t)snprintf(big, sizeof big,
                                 "MESSAGE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
                                 "From: <sip:a@b>;tag=1\nTo: <sip:a@b>\nCall-ID: c\nCSeq: 1 MESSAGE\n\n");
    memset(big + o2, 'x', SIP_MAX_DGRAM);
    big[o2 + SIP_MAX_DGRAM] = '\0';
    ASSERT_EQ(sip_t_parse(big, 0, &m), -EMSGSIZE);
    st = sip_fault_answer(&m, &reason);
    ASSERT_EQ(st, 513);
    n = sip_build_response(&m, st, reason, NULL, out, sizeof out);
    ASSERT(n > 0);
    ASSERT_EQ(sip_parse(out, (size_t)n, 0, &r), 0);
    ASSERT_EQ(r.status, 513);
}

TEST(sip_response_refusals)
{
    struct sip_msg m;
    ASSERT_EQ(sip_t_parse(regq, 0, &m), 0);
    ASSERT_EQ(sip_build_response(&m, 99, NULL, NULL, out, sizeof out), -EINVAL);
    ASSERT_EQ(sip_build_response(&m, 700, NULL, NULL, out, sizeof out), -EINVAL);
    ASSERT_EQ(sip_build_response(&m, 400, "Bad\r\nX: 1", NULL, out, sizeof out), -EINVAL);
    struct sip_resp_opts o = { .to_tag = "a b" };
    ASSERT_EQ(sip_build_response(&m, 200, NULL, &o, out, sizeof out), -EINVAL);
    struct sip_resp_opts o2 = { .extra = "X: 1" };
    ASSERT_EQ(sip_build_response(&m, 200, NULL, &o2, out, sizeof out), -EINVAL);
    struct sip_resp_opts o3 = { .received = "example.com" };
    ASSERT_EQ(sip_build_response(&m, 200, NULL, &o3, out, sizeof out), -EINVAL);
    long full = sip_build_response(&m, 200, NULL, NULL, out, sizeof out);
    ASSERT(full > 0);
    for (long cap = 0; cap < full; cap++)
        ASSERT_EQ(sip_build_response(&m, 200, NULL, NULL, out, (size_t)cap), -ENOSPC);
    /* No Via: nowhere to send an answer. */
    ASSERT_EQ(sip_t_parse("OPTIONS sip:a@b SIP/2.0\nFrom: <sip:a@b>;tag=1\n\n", 0, &m), -EBADMSG);
    ASSERT_EQ(sip_build_response(&m, 400, NULL, NULL, out, sizeof out), -EINVAL);
    ASSERT_STR_EQ(sip_reason(423), "Interval Too Brief");
    ASSERT_STR_EQ(sip_reason(799), "Unknown");
}

TEST(sip_edit_rfc4475_round_trips)
{
    /* Every valid torture request: written back unedited it is the same
     * bytes; forwarded with the usual proxy edits it parses again. */
    static const char *const names[] = { "wsinv", "intmeth", "esc01", "escnull", "esc02",
                                         "lwsdisp", "dblreq", "semiuri", "transports",
                                         "zeromf", "cparam01", "cparam02", "regaut01",
                                         "bext01", "unkscm", "unksm2", "inv2543", "baddate",
                                         "badbranch", "novelsc", "invut", "regescrt", "sdp01" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct sip_msg m, m2;
        sip_t_vector(names[i]);
        if (sip_parse(sip_t_buf, sip_t_len, 0, &m) != 0)
            t_fail(__FILE__, __LINE__, "%s does not parse", names[i]);
        struct sip_edit e;
        sip_edit_init(&e, &m);
        long n = sip_edit_write(&e, out, sizeof out);
        if (n != (long)m.len || memcmp(out, m.buf, m.len) != 0)
            t_fail(__FILE__, __LINE__, "%s: not the same bytes", names[i]);

        sip_edit_init(&e, &m);
        sip_edit_via_received(&e, "192.0.2.99", 5070);
        sip_edit_list_prepend(&e, SIP_H_VIA, "SIP/2.0/UDP proxy.example.org;branch=z9hG4bKx");
        sip_edit_list_prepend(&e, SIP_H_RECORD_ROUTE, "<sip:proxy.example.org;lr>");
        sip_edit_max_forwards(&e, m.max_forwards > 0 ? m.max_forwards - 1 : 70);
        sip_edit_fix_length(&e);
        n = sip_edit_write(&e, out, sizeof out);
        if (n < 0 || sip_parse(out, (size_t)n, SIP_PARSE_STREAM, &m2) != 0)
            t_fail(__FILE__, __LINE__, "%s: forwarded copy does not parse", names[i]);
        ASSERT_EQ(m2.nvia, m.nvia + 1);
        ASSERT_SLICE(m2.via[1].received, "192.0.2.99");
        ASSERT(slices_equal(m2.body, m.body));
    }
}
