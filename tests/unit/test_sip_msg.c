/*
 * test_sip_msg.c - the SIP parser (sip/msg.c): start lines, every typed
 * header form of RFC 3261 section 20 and 25 the server uses, compact forms,
 * folding, lists, limits, malformed input and the answers it maps to, and
 * the stream framing helper.
 */
#include "t.h"
#include "test_sip_util.h"

#include <errno.h>
#include <stdlib.h>

static const char reg[] =
    "REGISTER sip:example.org SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5062;rport;branch=z9hG4bK776asdhds\n"
    "Max-Forwards: 70\n"
    "To: Bob <sip:bob@example.org>\n"
    "From: \"Bob \\\"B\\\" Smith\" <sip:bob@example.org>;tag=456248\n"
    "Call-ID: 843817637684230@998sdasdh09\n"
    "CSeq: 1826 REGISTER\n"
    "Contact: <sip:bob@192.0.2.10:5062;transport=udp;ob>;expires=3600;q=0.7;"
    "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\";reg-id=1\n"
    "Expires: 7200\n"
    "Supported: path, outbound, gruu\n"
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\n"
    "User-Agent: Linphone/5.2 (belle-sip/5.2)\n"
    "Authorization: Digest username=\"bob\", realm=\"example.org\", nonce=\"abc123\",\n"
    " uri=\"sip:example.org\", response=\"0123456789abcdef0123456789abcdef\",\n"
    " algorithm=MD5, cnonce=\"xyz\", opaque=\"op\", qop=auth, nc=00000001\n"
    "Content-Length: 0\n"
    "\n";

TEST(sip_parse_register_typed)
{
    struct sip_msg m;
    ASSERT_EQ(sip_t_parse(reg, 0, &m), 0);
    ASSERT(m.is_request);
    ASSERT_SLICE(m.method, "REGISTER");
    ASSERT_EQ(m.method_id, SIP_M_REGISTER);
    ASSERT_EQ(m.ruri.scheme, SIP_SCHEME_SIP);
    ASSERT_SLICE(m.ruri.host, "example.org");
    ASSERT_ABSENT(m.ruri.user);

    ASSERT_EQ(m.nvia, 1);
    ASSERT_SLICE(m.via[0].transport, "UDP");
    ASSERT_SLICE(m.via[0].host, "192.0.2.10");
    ASSERT_EQ(m.via[0].host_type, SIP_HOST_IPV4);
    ASSERT_EQ(m.via[0].port, 5062);
    ASSERT_EQ(m.via[0].rport, 1);
    ASSERT_SLICE(m.via[0].branch, "z9hG4bK776asdhds");
    ASSERT_SLICE(m.via[0].params, ";rport;branch=z9hG4bK776asdhds");
    ASSERT_SLICE(m.via[0].text, "SIP/2.0/UDP 192.0.2.10:5062;rport;branch=z9hG4bK776asdhds");
    ASSERT_ABSENT(m.via[0].received);
    ASSERT_EQ(m.via[0].ttl, -1);

    ASSERT_EQ(m.max_forwards, 70);
    ASSERT_SLICE(m.to.display, "Bob");
    ASSERT_SLICE(m.to.uri.user, "bob");
    ASSERT_ABSENT(m.to.tag);
    ASSERT_SLICE(m.from.display, "\"Bob \\\"B\\\" Smith\"");
    ASSERT_SLICE(m.from.tag, "456248");
    char dn[64];
    long dl = sip_unquote(m.from.display, dn, sizeof dn);
    ASSERT_EQ(dl, 13);
    ASSERT_MEM_EQ(dn, "Bob \"B\" Smith", 13);
    ASSERT_SLICE(m.call_id, "843817637684230@998sdasdh09");
    ASSERT_EQ(m.cseq, 1826);
    ASSERT_SLICE(m.cseq_method, "REGISTER");

    ASSERT_EQ(m.ncontact, 1);
    const struct sip_contact *c = &m.contact[0];
    ASSERT_EQ(c->expires, 3600);
    ASSERT_EQ(c->q, 700);
    ASSERT_EQ(c->reg_id, 1);
    ASSERT_SLICE(c->instance, "urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF");
    ASSERT_SLICE(c->addr.uri.transport, "udp");
    ASSERT(c->addr.uri.ob);
    ASSERT_EQ(c->addr.uri.port, 5062);
    ASSERT_EQ(m.contact_star, 0);
    ASSERT_EQ(m.expires, 7200);

    ASSERT_EQ(m.nsupported, 3);
    ASSERT(sip_msg_has_option(&m, SIP_H_SUPPORTED, "path"));
    ASSERT(sip_msg_has_option(&m, SIP_H_SUPPORTED, "OUTBOUND")); /* case-insensitive */
    ASSERT(!sip_msg_has_option(&m, SIP_H_SUPPORTED, "100rel"));
    ASSERT_EQ(m.nallow, 5);
    ASSERT(sip_msg_has_option(&m, SIP_H_ALLOW, "BYE"));
    ASSERT(!sip_msg_has_option(&m, SIP_H_ALLOW, "bye")); /* methods are case-sensitive */

    const struct sip_hdr *ua = sip_msg_find(&m, SIP_H_USER_AGENT, NULL);
    ASSERT(ua);
    ASSERT_SLICE(ua->value, "Linphone/5.2 (belle-sip/5.2)");

    ASSERT_EQ(m.nauth, 1);
    const struct sip_auth *a = &m.auth[0];
    ASSERT_EQ(a->proxy, 0);
    ASSERT_SLICE(a->scheme, "Digest");
    ASSERT_SLICE(a->username, "bob");
    ASSERT_SLICE(a->realm, "example.org");
    ASSERT_SLICE(a->nonce, "abc123");
    ASSERT_SLICE(a->uri, "sip:example.org");
    ASSERT_SLICE(a->response, "0123456789abcdef0123456789abcdef");
    ASSERT_SLICE(a->algorithm, "MD5");
    ASSERT_SLICE(a->cnonce, "xyz");
    ASSERT_SLICE(a->opaque, "op");
    ASSERT_SLICE(a->qop, "auth");
    ASSERT_SLICE(a->nc, "00000001");

    ASSERT_EQ(m.content_length, 0);
    ASSERT_EQ(m.body.n, 0);
    ASSERT_EQ(m.len, sip_t_len);
    ASSERT_EQ(m.head_len, sip_t_len);
    ASSERT_EQ(m.fault, SIP_F_NONE);
}

TEST(sip_parse_response)
{
    struct sip_msg m;
    ASSERT_EQ(sip_t_parse("SIP/2.0 401 Unauthorized\n"
                          "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1;received=203.0.113.9;rport=40000\n"
                          "To: <sip:bob@example.org>;tag=srv1\n"
                          "From: <sip:bob@example.org>;tag=456248\n"
                          "Call-ID: c1\n"
                          "CSeq: 1 REGISTER\n"
                          "WWW-Authenticate: Digest realm=\"example.org\", nonce=\"n\"\n"
                          "Content-Length: 0\n\n",
                          0, &m),
              0);
    ASSERT(!m.is_request);
    ASSERT_EQ(m.status, 401);
    ASSERT_SLICE(m.reason, "Unauthorized");
    ASSERT_SLICE(m.via[0].received, "203.0.113.9");
    ASSERT_EQ(m.via[0].rport, 2);
    ASSERT_EQ(m.via[0].rport_value, 40000);
    ASSERT_SLICE(m.to.tag, "srv1");
    ASSERT(sip_msg_find(&m, SIP_H_WWW_AUTHENTICATE, NULL));
    const char *r;
    ASSERT_EQ(sip_fault_answer(&m, &r), 0);
}

TEST(sip_parse_compact_forms)
{
    static const struct { const char *name; enum sip_hdr_id id; } forms[] = {
        { "i", SIP_H_CALL_ID }, { "m", SIP_H_CONTACT }, { "e", SIP_H_CONTENT_ENCODING },
        { "l", SIP_H_CONTENT_LENGTH }, { "f", SIP_H_FROM }, { "t", SIP_H_TO },
        { "v", SIP_H_VIA }, { "s", SIP_H_SUBJECT }, { "k", SIP_H_SUPPORTED },
        { "c", SIP_H_CONTENT_TYPE }, { "o", SIP_H_EVENT }, { "u", SIP_H_ALLOW_EVENTS },
        { "r", SIP_H_REFER_TO }, { "b", SIP_H_REFERRED_BY }, { "x", SIP_H_SESSION_EXPIRES },
        { "y", SIP_H_IDENTITY },
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        ASSERT_EQ(sip_hdr_lookup(forms[i].name, 1), forms[i].id);
        char up[2] = { (char)(forms[i].name[0] - 'a' + 'A'), 0 };
        ASSERT_EQ(sip_hdr_lookup(up, 1), forms[i].id);
    }
    ASSERT_EQ(sip_hdr_lookup("a", 1), SIP_H_OTHER);
    ASSERT_EQ(sip_hdr_lookup("CALL-id", 7), SIP_H_CALL_ID);
    ASSERT_EQ(sip_hdr_lookup("Call-IDx", 8), SIP_H_OTHER);
    ASSERT_EQ(sip_hdr_lookup("Call-I", 6), SIP_H_OTHER);
    ASSERT_EQ(sip_hdr_lookup("v\0a", 3), SIP_H_OTHER); /* a NUL inside is no match */
    ASSERT_STR_EQ(sip_hdr_name(SIP_H_CALL_ID), "Call-ID");
    ASSERT_STR_EQ(sip_hdr_name(SIP_H_OTHER), "");

    struct sip_msg m;
    ASSERT_EQ(sip_t_parse("INVITE sip:bob@example.org SIP/2.0\n"
                          "v: SIP/2.0/TCP a.example.com;branch=z9hG4bK1\n"
                          "f: <sip:alice@example.com>;tag=1\n"
                          "t: sip:bob@example.org\n"
                          "i: abc@def\n"
                          "CSeq: 1 INVITE\n"
                          "m: <sip:alice@a.example.com;transport=tcp>\n"
                          "k: timer\n"
                          "c: application/sdp\n"
                          "l: 4\n"
                          "\n"
                          "v=0\n",
                          SIP_PARSE_STREAM, &m),
              0);
    ASSERT_SLICE(m.via[0].transport, "TCP");
    ASSERT_SLICE(m.from.tag, "1");
    ASSERT_SLICE(m.to.uri.user, "bob");
    ASSERT_SLICE(m.call_id, "abc@def");
    ASSERT_EQ(m.ncontact, 1);
    ASSERT_EQ(m.nsupported, 1);
    ASSERT_SLICE(m.content_type, "application/sdp");
    ASSERT_EQ(m.content_length, 4);
    ASSERT_SLICE(m.body, "v=0\r");
    ASSERT_EQ(m.max_forwards, -1); /* tolerated */
    ASSERT_EQ(sip_method_lookup("INVITE", 6), SIP_M_INVITE);
    ASSERT_EQ(sip_method_lookup("invite", 6), SIP_M_OTHER);
    ASSERT_EQ(sip_method_lookup("INVITEX", 7), SIP_M_OTHER);
}

TEST(sip_parse_folding_and_lists)
{
    struct sip_msg m;
    ASSERT_EQ(sip_t_parse("INVITE sip:bob@example.org SIP/2.0\n"
                          "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1,\n"
                          "  SIP/2.0/UDP p2.example.com:5070;branch=z9hG4bK2\n"
                          "Via: SIP/2.0/UDP [2001:db8::9]:5080;branch=z9hG4bK3;received=2001:db8::1;ttl=16;maddr=239.1.1.1\n"
                          "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\n"
                          "Route: <sip:p3.example.com;lr>\n"
                          "Record-Route: <sip:rr.example.com;lr>\n"
                          "Path: <sip:edge.example.com;lr;ob>\n"
                          "From: <sip:alice@example.com>;tag=1\n"
                          "To: <sip:bob@example.org>\n"
                          "Call-ID: x\n"
                          "CSeq: 2 INVITE\n"
                          "Subject: one\n"
                          "  two\n"
                          "X-Odd-Header :  kept as it came  \n"
                          "X-Odd-Header: again\n"
                          "Contact: <sip:a@h1>;q=1, \"x\" <sip:b@h2>;q=0.5,sip:c@h3;expires=0\n"
                          "Content-Length: 0\n\n",
                          0, &m),
              0);
    ASSERT_EQ(m.nvia, 3);
    ASSERT_SLICE(m.via[0].host, "p1.example.com");
    ASSERT_SLICE(m.via[1].host, "p2.example.com");
    ASSERT_EQ(m.via[1].port, 5070);
    ASSERT_EQ(m.via[0].hdr, m.via[1].hdr);
    ASSERT_SLICE(m.via[2].host, "[2001:db8::9]");
    ASSERT_EQ(m.via[2].host_type, SIP_HOST_IPV6);
    ASSERT_EQ(m.via[2].port, 5080);
    ASSERT_SLICE(m.via[2].received, "2001:db8::1");
    ASSERT_EQ(m.via[2].ttl, 16);
    ASSERT_SLICE(m.via[2].maddr, "239.1.1.1");
    ASSERT_EQ(m.nroute, 3);
    ASSERT_SLICE(m.route[2].uri.host, "p3.example.com");
    ASSERT(m.route[0].uri.lr);
    ASSERT_EQ(m.nrecord_route, 1);
    ASSERT_EQ(m.npath, 1);
    ASSERT(m.path[0].uri.ob);
    const struct sip_hdr *s = sip_msg_find(&m, SIP_H_SUBJECT, NULL);
    ASSERT_SLICE(s->value, "one\r\n  two");
    const struct sip_hdr *x = sip_msg_find_name(&m, "x-odd-header", NULL);
    ASSERT(x);
    ASSERT_SLICE(x->name, "X-Odd-Header");
    ASSERT_SLICE(x->value, "kept as it came");
    x = sip_msg_find_name(&m, "X-ODD-HEADER", x);
    ASSERT_SLICE(x->value, "again");
    ASSERT(!sip_msg_find_name(&m, "X-Odd-Header", x));
    ASSERT(sip_msg_find_name(&m, "v", NULL)); /* a compact name finds the long form */
    ASSERT_EQ(m.ncontact, 3);
    ASSERT_EQ(m.contact[0].q, 1000);
    ASSERT_EQ(m.contact[1].q, 500);
    ASSERT_SLICE(m.contact[1].addr.display, "\"x\"");
    ASSERT_EQ(m.contact[2].expires, 0);
    ASSERT_EQ(m.contact[2].addr.angle, 0);
    ASSERT_SLICE(m.contact[2].addr.uri.host, "h3");
}

/* A minimal request with one header replaced by line (or removed when
 * line is ""); which names the header to replace. */
static int with_header(const char *which, const char *line, unsigned flags, struct sip_msg *m)
{
    static const char *const base[] = {
        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\n",
        "From: <sip:alice@example.com>;tag=1\n",
        "To: <sip:bob@example.org>\n",
        "Call-ID: abc\n",
        "CSeq: 1 OPTIONS\n",
        "Max-Forwards: 70\n",
        "Content-Length: 0\n",
    };
    char msg[8192];
    size_t o = (size_t)snprintf(msg, sizeof msg, "OPTIONS sip:bob@example.org SIP/2.0\n");
    int used = 0;
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++) {
        if (strncmp(base[i], which, strlen(which)) == 0 && base[i][strlen(which)] == ':') {
            o += (size_t)snprintf(msg + o, sizeof msg - o, "%s", line);
            used = 1;
        } else {
            o += (size_t)snprintf(msg + o, sizeof msg - o, "%s", base[i]);
        }
    }
    if (!used)
        o += (size_t)snprintf(msg + o, sizeof msg - o, "%s", line);
    snprintf(msg + o, sizeof msg - o, "\n");
    return sip_t_parse(msg, flags, m);
}

static void expect_answer(const char *which, const char *line, int rc, int status,
                          const char *reason)
{
    struct sip_msg m;
    int got = with_header(which, line, 0, &m);
    if (got != rc)
        t_fail(__FILE__, __LINE__, "%s: rc %d, want %d", line, got, rc);
    const char *r;
    int st = sip_fault_answer(&m, &r);
    if (st != status || (reason && (!r || strcmp(r, reason) != 0)))
        t_fail(__FILE__, __LINE__, "%s: answer %d %s, want %d %s", line, st, r ? r : "-",
               status, reason ? reason : "-");
}

TEST(sip_parse_contact_star)
{
    struct sip_msg m;
    const char *r;
    ASSERT_EQ(with_header("X", "Contact: *\nExpires: 0\n", 0, &m), 0);
    ASSERT_EQ(m.contact_star, 1);
    ASSERT_EQ(m.ncontact, 0);
    ASSERT_EQ(m.expires, 0);
    ASSERT_EQ(with_header("X", "Contact:  *  \n", 0, &m), 0);
    ASSERT_EQ(m.contact_star, 1);

    ASSERT_EQ(with_header("X", "Contact: *\nContact: <sip:a@h>\n", 0, &m), -EBADMSG);
    ASSERT_EQ(sip_fault_answer(&m, &r), 400);
    ASSERT_STR_EQ(r, "Bad Contact");
    ASSERT_EQ(with_header("X", "Contact: <sip:a@h>\nContact: *\n", 0, &m), -EBADMSG);
    ASSERT_EQ(with_header("X", "Contact: *, <sip:a@h>\n", 0, &m), -EBADMSG);
    ASSERT_EQ(with_header("X", "Contact: <sip:a@h>;expires=x\n", 0, &m), -EBADMSG);
    ASSERT_EQ(with_header("X", "Contact: <sip:a@h>;q=1.5\n", 0, &m), -EBADMSG);
    ASSERT_EQ(with_header("X", "Contact: <sip:a@h>;q=0.1234\n", 0, &m), -EBADMSG);
    ASSERT_EQ(with_header("X", "Contact: <sip:a@h>;reg-id=0\n", 0, &m), -EBADMSG);
    ASSERT_EQ(with_header("X", "Contact: <sip:a@h>;+sip.instance=urn:x\n", 0, &m), -EBADMSG);
    ASSERT_EQ(with_header("X", "Contact: <sip:a@h>,\n", 0, &m), -EBADMSG);
    ASSERT_EQ(with_header("X", "Contact: <sip:a@h>;expires=99999999999999\n", 0, &m), 0);
    ASSERT_EQ(m.contact[0].expires, 0xFFFFFFFFll); /* clamped, RFC 4475 section 3.1.2.4 */
    ASSERT_EQ(with_header("X", "Contact: <sip:a@h>;q=0.001\n", 0, &m), 0);
    ASSERT_EQ(m.contact[0].q, 1);
    ASSERT_EQ(with_header("X", "Contact: <tel:+15551234>\n", 0, &m), 0);
    ASSERT_EQ(m.contact[0].addr.uri.scheme, SIP_SCHEME_TEL);
}

TEST(sip_fault_names)
{
    ASSERT_STR_EQ(sip_fault_name(SIP_F_TOO_BIG), "too_big");
    ASSERT_STR_EQ(sip_fault_name(SIP_F_BAD_HEADER), "bad_header");
    ASSERT_STR_EQ(sip_fault_name((enum sip_fault)99), "unknown");
    for (int f = SIP_F_NONE; f <= SIP_F_BODY_TOO_BIG; f++)
        ASSERT(strcmp(sip_fault_name((enum sip_fault)f), "unknown") != 0);
}

TEST(sip_parse_minimal_ok)
{
    struct sip_msg m;
    ASSERT_EQ(with_header("X", "", 0, &m), 0);
    ASSERT_EQ(with_header("X", "", SIP_PARSE_STREAM, &m), 0);
    const char *r;
    ASSERT_EQ(sip_fault_answer(&m, &r), 0);
    ASSERT(r == NULL);
}

TEST(sip_parse_missing_headers)
{
    expect_answer("Via", "", -EBADMSG, 400, "Missing Via");
    expect_answer("From", "", -EBADMSG, 400, "Missing From");
    expect_answer("To", "", -EBADMSG, 400, "Missing To");
    expect_answer("Call-ID", "", -EBADMSG, 400, "Missing Call-ID");
    expect_answer("CSeq", "", -EBADMSG, 400, "Missing CSeq");
    /* Max-Forwards may be absent: a proxy adds it (RFC 3261 section 16.6). */
    expect_answer("Max-Forwards", "", 0, 0, NULL);
    /* A broken ACK is dropped, never answered. */
    struct sip_msg m;
    const char *r;
    ASSERT_EQ(sip_t_parse("ACK sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=1\n\n", 0, &m),
              -EBADMSG);
    ASSERT_EQ(m.fault, SIP_F_MISSING);
    ASSERT_EQ(sip_fault_answer(&m, &r), 0);
}

TEST(sip_parse_bad_cseq)
{
    expect_answer("CSeq", "CSeq: 1\n", -EBADMSG, 400, "Bad CSeq");
    expect_answer("CSeq", "CSeq: OPTIONS\n", -EBADMSG, 400, "Bad CSeq");
    expect_answer("CSeq", "CSeq: 1OPTIONS\n", -EBADMSG, 400, "Bad CSeq");
    expect_answer("CSeq", "CSeq: 2147483648 OPTIONS\n", -EBADMSG, 400, "Bad CSeq");
    expect_answer("CSeq", "CSeq: -1 OPTIONS\n", -EBADMSG, 400, "Bad CSeq");
    expect_answer("CSeq", "CSeq: 1 OPTIONS extra\n", -EBADMSG, 400, "Bad CSeq");
    expect_answer("CSeq", "CSeq: 2147483647 OPTIONS\n", 0, 0, NULL);
    expect_answer("CSeq", "CSeq: 1 INVITE\n", -EBADMSG, 400, "CSeq Method Mismatch");
    expect_answer("CSeq", "CSeq: 1 options\n", -EBADMSG, 400, "CSeq Method Mismatch");
}

TEST(sip_parse_bad_via)
{
    expect_answer("Via", "Via: SIP/2.0/UDP\n", -EBADMSG, 400, "Bad Via");
    expect_answer("Via", "Via: SIP/2.0 192.0.2.1\n", -EBADMSG, 400, "Bad Via");
    expect_answer("Via", "Via: SIP/2.0/UDP192.0.2.1\n", -EBADMSG, 400, "Bad Via");
    expect_answer("Via", "Via: SIP/2.0/UDP 192.0.2.1:0\n", -EBADMSG, 400, "Bad Via");
    expect_answer("Via", "Via: SIP/2.0/UDP 192.0.2.1:65536\n", -EBADMSG, 400, "Bad Via");
    expect_answer("Via", "Via: SIP/2.0/UDP 192.0.2.300\n", -EBADMSG, 400, "Bad Via");
    expect_answer("Via", "Via: SIP/2.0/UDP h;rport=0\n", -EBADMSG, 400, "Bad Via");
    expect_answer("Via", "Via: SIP/2.0/UDP h;ttl=256\n", -EBADMSG, 400, "Bad Via");
    expect_answer("Via", "Via: SIP/2.0/UDP h;received=host.name\n", -EBADMSG, 400, "Bad Via");
    expect_answer("Via", "Via: SIP/2.0/UDP h;branch\n", -EBADMSG, 400, "Bad Via");
    expect_answer("Via", "Via: SIP/2.0/UDP h;;branch=1\n", -EBADMSG, 400, "Bad Via");
    expect_answer("Via", "Via: SIP/2.0/UDP h,\n", -EBADMSG, 400, "Bad Via");
    expect_answer("Via", "Via: SIP/2.0/UDP [::1\n", -EBADMSG, 400, "Bad Via");
    expect_answer("Via", "Via: SIP/2.0/UDP ::1\n", -EBADMSG, 400, "Bad Via");
    expect_answer("Via", "Via: SIP/2.0/UDP h : 5060 ; branch = z9hG4bK1\n", 0, 0, NULL);
    expect_answer("Via", "Via: SIP/2.0/UDP [::1]:5060;rport=5060;received=[::2]\n", 0, 0, NULL);
}

TEST(sip_parse_bad_other_headers)
{
    expect_answer("Call-ID", "Call-ID: a b\n", -EBADMSG, 400, "Bad Call-ID");
    expect_answer("Call-ID", "Call-ID: a@b@c\n", -EBADMSG, 400, "Bad Call-ID");
    expect_answer("Call-ID", "Call-ID:\n", -EBADMSG, 400, "Bad Call-ID");
    expect_answer("Max-Forwards", "Max-Forwards: 256\n", -EBADMSG, 400, "Bad Max-Forwards");
    expect_answer("Max-Forwards", "Max-Forwards: seventy\n", -EBADMSG, 400, "Bad Max-Forwards");
    expect_answer("Content-Length", "Content-Length: 1x\n", -EBADMSG, 400, "Bad Content-Length");
    expect_answer("Content-Length", "Content-Length: -1\n", -EBADMSG, 400, "Bad Content-Length");
    expect_answer("From", "From: <sip:alice@example.com\n", -EBADMSG, 400, "Bad From");
    expect_answer("From", "From: <sip:alice@example.com>;tag\n", -EBADMSG, 400, "Bad From");
    expect_answer("From", "From: <sip:alice@example.com> junk\n", -EBADMSG, 400, "Bad From");
    expect_answer("To", "To: Bob\n", -EBADMSG, 400, "Bad To");
    expect_answer("To", "To: \"Bob <sip:bob@example.org>\n", -EBADMSG, 400, "Bad To");
    expect_answer("X", "Expires: soon\n", -EBADMSG, 400, "Bad Expires");
    expect_answer("X", "Route: sip:p1.example.com;lr\n", -EBADMSG, 400, "Bad Route");
    expect_answer("X", "Record-Route: <sip:p1.example.com;lr>,\n", -EBADMSG, 400,
                  "Bad Record-Route");
    expect_answer("X", "Require:\n", -EBADMSG, 400, "Bad Require");
    expect_answer("X", "Supported:\n", 0, 0, NULL); /* may be empty */
    expect_answer("X", "Content-Type: text\n", -EBADMSG, 400, "Bad Content-Type");
    expect_answer("X", "Content-Type: text/plain;charset\n", -EBADMSG, 400, "Bad Content-Type");
    expect_answer("X", "Content-Type: text/plain ; charset=utf-8\n", 0, 0, NULL);
    expect_answer("X", "Authorization: Digest\n", -EBADMSG, 400, "Bad Authorization");
    expect_answer("X", "Authorization: Digest username=\"a\", username=\"b\"\n", -EBADMSG, 400,
                  "Bad Authorization");
    expect_answer("X", "Authorization: Digest username=\"a\" realm=\"b\"\n", -EBADMSG, 400,
                  "Bad Authorization");
    expect_answer("X", "Proxy-Authorization: Digest username=\"a\n", -EBADMSG, 400,
                  "Bad Proxy-Authorization");
    expect_answer("X", "Authorization: Bearer abc.def\n", 0, 0, NULL);
    expect_answer("X", "User-Agent:\n", 0, 0, NULL);
}

TEST(sip_parse_duplicates)
{
    expect_answer("Call-ID", "Call-ID: abc\nCall-ID: abc\n", -EBADMSG, 400, "Duplicate Call-ID");
    expect_answer("Max-Forwards", "Max-Forwards: 70\nMax-Forwards: 70\n", -EBADMSG, 400,
                  "Duplicate Max-Forwards");
    expect_answer("Call-ID", "Call-ID: abc\ni: abd\n", -EBADMSG, 400, "Duplicate Call-ID");
    expect_answer("Content-Length", "Content-Length: 0\nl: 1\n", -EBADMSG, 400,
                  "Duplicate Content-Length");
    expect_answer("To", "To: <sip:a@b>\nTo: <sip:c@d>\n", -EBADMSG, 400, "Duplicate To");
}

TEST(sip_parse_auth_several)
{
    struct sip_msg m;
    ASSERT_EQ(with_header("X",
                          "Authorization: Digest username=\"a\",realm=\"r1\",nonce=\"n\","
                          "uri=\"sip:x\",response=\"00\"\n"
                          "Proxy-Authorization: Digest username=\"b\", realm=\"r2\", "
                          "qop=\"auth\", nc=00000002, algorithm=SHA-256\n",
                          0, &m),
              0);
    ASSERT_EQ(m.nauth, 2);
    ASSERT_SLICE(m.auth[0].realm, "r1");
    ASSERT_EQ(m.auth[1].proxy, 1);
    ASSERT_SLICE(m.auth[1].qop, "auth"); /* quoted by some clients: unquoted here */
    ASSERT_SLICE(m.auth[1].algorithm, "SHA-256");
    ASSERT_SLICE(m.auth[1].nc, "00000002");
    ASSERT_ABSENT(m.auth[1].opaque);
    ASSERT_EQ(m.auth[1].hdr, 8);

    /* Escapes stay in the slice; sip_unquote decodes them. */
    ASSERT_EQ(with_header("X", "Authorization: Digest username=\"a\\\"b\"\n", 0, &m), 0);
    ASSERT_SLICE(m.auth[0].username, "a\\\"b");
    char out[8];
    ASSERT_EQ(sip_unquote(m.auth[0].username, out, sizeof out), 3);
    ASSERT_MEM_EQ(out, "a\"b", 3);
}

TEST(sip_parse_require_unsupported)
{
    struct sip_msg m;
    ASSERT_EQ(with_header("X", "Require: path, foo\nProxy-Require: bar,outbound\n", 0, &m), 0);
    static const char *const known[] = { "path", "outbound", "gruu", NULL };
    struct sip_str un[4];
    ASSERT_EQ(sip_msg_unsupported(&m, known, un, 4), 2);
    ASSERT_SLICE(un[0], "foo");
    ASSERT_SLICE(un[1], "bar");
    ASSERT_EQ(sip_msg_unsupported(&m, known, un, 1), 2); /* counted past cap */
    ASSERT(sip_msg_has_option(&m, SIP_H_PROXY_REQUIRE, "Outbound"));
}

TEST(sip_parse_start_lines)
{
    struct sip_msg m;
    const char *r;
    ASSERT_EQ(with_header("X", "", 0, &m), 0);

    /* Version */
    ASSERT_EQ(sip_t_parse("OPTIONS sip:a@b SIP/3.0\nVia: SIP/2.0/UDP h\n\n", 0, &m),
              -EPROTONOSUPPORT);
    ASSERT_EQ(sip_fault_answer(&m, &r), 505);
    ASSERT_STR_EQ(r, "Version Not Supported");
    ASSERT_EQ(sip_t_parse("OPTIONS sip:a@b sip/2.0\nVia: SIP/2.0/UDP h;branch=1\n"
                          "From: <sip:a@b>;tag=1\nTo: <sip:a@b>\nCall-ID: c\nCSeq: 1 OPTIONS\n\n",
                          0, &m),
              0); /* the version is case-insensitive (RFC 3261 section 7.1) */
    ASSERT_EQ(sip_t_parse("SIP/1.0 200 OK\nVia: SIP/2.0/UDP h\n\n", 0, &m), -EPROTONOSUPPORT);
    ASSERT_EQ(sip_fault_answer(&m, &r), 0); /* responses are dropped */

    /* Request lines */
    ASSERT_EQ(sip_t_parse("OPTIONS sip:a@b\nVia: SIP/2.0/UDP h\n\n", 0, &m), -EBADMSG);
    ASSERT_EQ(sip_fault_answer(&m, &r), 400);
    ASSERT_STR_EQ(r, "Bad Request Line");
    ASSERT_EQ(sip_t_parse("OPTIONS  sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\n\n", 0, &m), -EBADMSG);
    ASSERT_EQ(sip_fault_answer(&m, &r), 400);
    ASSERT_STR_EQ(r, "Bad Request-URI");
    ASSERT_EQ(sip_t_parse("OPTIONS sip:a@b SIP/2.0 \nVia: SIP/2.0/UDP h\n\n", 0, &m), -EBADMSG);
    ASSERT_EQ(sip_fault_answer(&m, &r), 400);
    ASSERT_EQ(sip_t_parse("OPT(IONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\n\n", 0, &m), -EBADMSG);
    ASSERT_EQ(sip_fault_answer(&m, &r), 0); /* not even a method: noise */
    ASSERT_EQ(sip_t_parse("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 0, &m), -EBADMSG);
    ASSERT_EQ(sip_fault_answer(&m, &r), 0);
    ASSERT_EQ(sip_t_parse("", 0, &m), -EBADMSG);
    ASSERT_EQ(sip_t_parse("OPTIONS sip:a@b SIP/2.0", 0, &m), -EBADMSG);
    ASSERT_EQ(sip_fault_answer(&m, &r), 400);

    /* Status lines */
    ASSERT_EQ(sip_t_parse("SIP/2.0 99 Low\nVia: SIP/2.0/UDP h\n\n", 0, &m), -EBADMSG);
    ASSERT_EQ(sip_t_parse("SIP/2.0 700 High\nVia: SIP/2.0/UDP h\n\n", 0, &m), -EBADMSG);
    ASSERT_EQ(sip_t_parse("SIP/2.0 2000 OK\nVia: SIP/2.0/UDP h\n\n", 0, &m), -EBADMSG);
    ASSERT_EQ(sip_t_parse("SIP/2.0 200\nVia: SIP/2.0/UDP h\n\n", 0, &m), -EBADMSG);
    ASSERT_EQ(sip_t_parse("SIP/2.0 200 \x01\nVia: SIP/2.0/UDP h\n\n", 0, &m), -EBADMSG);

    /* CRLFs before the start line are skipped (RFC 3261 section 7.5). */
    ASSERT_EQ(sip_t_parse("\n\nSIP/2.0 180 Ringing\nVia: SIP/2.0/UDP h;branch=1\n"
                          "From: <sip:a@b>;tag=1\nTo: <sip:a@b>;tag=2\nCall-ID: c\n"
                          "CSeq: 1 INVITE\n\n",
                          0, &m),
              0);
    ASSERT(m.buf == sip_t_buf + 4);
    ASSERT_EQ(m.status, 180);
}

TEST(sip_parse_header_lines)
{
    struct sip_msg m;
    const char *r;
    expect_answer("X", "NoColon\n", -EBADMSG, 400, "Bad Header Line");
    expect_answer("X", ": novalue\n", -EBADMSG, 400, "Bad Header Line");
    expect_answer("X", "Bad Name: x\n", -EBADMSG, 400, "Bad Header Line");
    /* A continuation line with nothing before it */
    ASSERT_EQ(sip_t_parse("OPTIONS sip:a@b SIP/2.0\n continued: x\n\n", 0, &m), -EBADMSG);
    /* A bare LF inside the head */
    sip_t_crlf("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\n\n");
    memcpy(strstr(sip_t_buf, "Via"), "V\nA", 3);
    ASSERT_EQ(sip_parse(sip_t_buf, sip_t_len, 0, &m), -EBADMSG);
    ASSERT_EQ(sip_fault_answer(&m, &r), 400);
    ASSERT_STR_EQ(r, "Bad Header Line");
    /* No empty line */
    ASSERT_EQ(sip_t_parse("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\n", 0, &m), -EBADMSG);
    ASSERT_EQ(sip_fault_answer(&m, &r), 400);
    /* A NUL in an unknown header's value is kept (a quoted-pair may escape it) */
    static const char nul[] = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=1\r\n"
                              "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\n"
                              "CSeq: 1 OPTIONS\r\nX: a\0b\r\n\r\n";
    ASSERT_EQ(sip_parse(nul, sizeof nul - 1, 0, &m), 0);
    ASSERT_EQ(sip_msg_find_name(&m, "X", NULL)->value.n, 3);
}

TEST(sip_parse_body_rules)
{
    struct sip_msg m;
    const char *r;
    const char *head = "MESSAGE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=1\n"
                       "From: <sip:a@b>;tag=1\nTo: <sip:a@b>\nCall-ID: c\nCSeq: 1 MESSAGE\n";
    char msg[256];
    /* UDP without Content-Length: the rest of the datagram. */
    snprintf(msg, sizeof msg, "%s\nhello", head);
    ASSERT_EQ(sip_t_parse(msg, 0, &m), 0);
    ASSERT_SLICE(m.body, "hello");
    ASSERT_EQ(m.content_length, -1);
    /* On a stream it is mandatory. */
    ASSERT_EQ(sip_t_parse(msg, SIP_PARSE_STREAM, &m), -EBADMSG);
    ASSERT_EQ(sip_fault_answer(&m, &r), 400);
    ASSERT_STR_EQ(r, "Missing Content-Length");
    /* Extra bytes in a datagram past Content-Length are ignored. */
    snprintf(msg, sizeof msg, "%sContent-Length: 3\n\nhello", head);
    ASSERT_EQ(sip_t_parse(msg, 0, &m), 0);
    ASSERT_SLICE(m.body, "hel");
    ASSERT_EQ(m.len, sip_t_len - 2);
    /* Fewer bytes than Content-Length */
    snprintf(msg, sizeof msg, "%sContent-Length: 30\n\nhello", head);
    ASSERT_EQ(sip_t_parse(msg, 0, &m), -EBADMSG);
    ASSERT_EQ(sip_fault_answer(&m, &r), 400);
    ASSERT_STR_EQ(r, "Bad Content-Length");
    /* Beyond the limit: on a datagram it is just more than is there. */
    snprintf(msg, sizeof msg, "%sContent-Length: 9000\n\nhello", head);
    ASSERT_EQ(sip_t_parse(msg, 0, &m), -EBADMSG);
    ASSERT_EQ(sip_fault_answer(&m, &r), 400);
    ASSERT_EQ(sip_t_parse(msg, SIP_PARSE_STREAM, &m), -EBADMSG); /* fits 16 KiB, but absent */
    snprintf(msg, sizeof msg, "%sContent-Length: 20000\n\nhello", head);
    ASSERT_EQ(sip_t_parse(msg, SIP_PARSE_STREAM, &m), -EMSGSIZE);
    ASSERT_EQ(sip_fault_answer(&m, &r), 413);
    ASSERT_STR_EQ(r, "Request Entity Too Large");
}

/* A request with n copies of line, its "%d" replaced by 0, 1, ... */
static int many(const char *line, int n, struct sip_msg *m)
{
    static char msg[40000];
    size_t o = (size_t)snprintf(msg, sizeof msg,
                                "OPTIONS sip:a@b SIP/2.0\nFrom: <sip:a@b>;tag=1\nTo: <sip:a@b>\n"
                                "Call-ID: c\nCSeq: 1 OPTIONS\nVia: SIP/2.0/UDP h0;branch=1\n");
    const char *pct = strstr(line, "%d");
    for (int i = 0; i < n; i++) {
        if (pct)
            o += (size_t)snprintf(msg + o, sizeof msg - o, "%.*s%d%s", (int)(pct - line), line,
                                  i, pct + 2);
        else
            o += (size_t)snprintf(msg + o, sizeof msg - o, "%s", line);
    }
    snprintf(msg + o, sizeof msg - o, "\n");
    return sip_t_parse(msg, 0, m);
}

TEST(sip_parse_limits)
{
    struct sip_msg m;
    const char *r;
    ASSERT_EQ(many("Via: SIP/2.0/UDP h%d;branch=1\n", SIP_MAX_VIA - 1, &m), 0);
    ASSERT_EQ(m.nvia, SIP_MAX_VIA);
    ASSERT_EQ(many("Via: SIP/2.0/UDP h%d;branch=1\n", SIP_MAX_VIA, &m), -E2BIG);
    ASSERT_EQ(sip_fault_answer(&m, &r), 513);
    ASSERT_STR_EQ(r, "Too Many Vias");
    ASSERT_EQ(many("Route: <sip:p%d;lr>\n", SIP_MAX_ROUTE, &m), 0);
    ASSERT_EQ(many("Route: <sip:p%d;lr>\n", SIP_MAX_ROUTE + 1, &m), -E2BIG);
    ASSERT_STR_EQ((sip_fault_answer(&m, &r), r), "Too Many Routes");
    ASSERT_EQ(many("Record-Route: <sip:p%d;lr>\n", SIP_MAX_ROUTE + 1, &m), -E2BIG);
    ASSERT_EQ(many("Path: <sip:p%d;lr>\n", SIP_MAX_ROUTE + 1, &m), -E2BIG);
    ASSERT_EQ(many("Contact: <sip:c%d@h>\n", SIP_MAX_CONTACT, &m), 0);
    ASSERT_EQ(many("Contact: <sip:c%d@h>\n", SIP_MAX_CONTACT + 1, &m), -E2BIG);
    ASSERT_STR_EQ((sip_fault_answer(&m, &r), r), "Too Many Contacts");
    ASSERT_EQ(many("Authorization: Digest username=\"u%d\"\n", SIP_MAX_AUTH + 1, &m), -E2BIG);
    ASSERT_EQ(many("Supported: t%d\n", SIP_MAX_OPTIONS + 1, &m), -E2BIG);
    /* 6 header lines above plus X-n */
    ASSERT_EQ(many("X-%d: 1\n", SIP_MAX_HEADERS - 5, &m), 0);
    ASSERT_EQ(many("X-%d: 1\n", SIP_MAX_HEADERS - 4, &m), -E2BIG);
    ASSERT_EQ(sip_fault_answer(&m, &r), 513);
    ASSERT_STR_EQ(r, "Message Too Large");
    ASSERT_EQ(m.nhdrs, SIP_MAX_HEADERS);

    /* One long line */
    static char line[SIP_MAX_LINE + 64];
    memset(line, 'a', sizeof line);
    memcpy(line, "X: ", 3);
    strcpy(line + SIP_MAX_LINE + 1, "\n");
    ASSERT_EQ(many(line, 1, &m), -EMSGSIZE);
    ASSERT_EQ(sip_fault_answer(&m, &r), 513);
    strcpy(line + SIP_MAX_LINE, "\n");
    ASSERT_EQ(many(line, 1, &m), 0);

    /* Folded value past SIP_MAX_VALUE */
    static char folded[SIP_MAX_VALUE + 200];
    size_t o = (size_t)snprintf(folded, sizeof folded, "X: a");
    while (o < SIP_MAX_VALUE + 50)
        o += (size_t)snprintf(folded + o, sizeof folded - o, "\n continued");
    snprintf(folded + o, sizeof folded - o, "\n");
    ASSERT_EQ(many(folded, 1, &m), -EMSGSIZE);

    /* A datagram larger than SIP_MAX_DGRAM; a stream frame may be bigger. */
    static char big[SIP_MAX_DGRAM + 512];
    o = (size_t)snprintf(big, sizeof big,
                         "MESSAGE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=1\nFrom: <sip:a@b>;tag=1\n"
                         "To: <sip:a@b>\nCall-ID: c\nCSeq: 1 MESSAGE\nContent-Length: %d\n\n",
                         SIP_MAX_DGRAM);
    memset(big + o, 'b', SIP_MAX_DGRAM);
    big[o + SIP_MAX_DGRAM] = '\0';
    ASSERT_EQ(sip_t_parse(big, 0, &m), -EMSGSIZE);
    ASSERT_EQ(sip_fault_answer(&m, &r), 513);
    ASSERT_EQ(m.nvia, 1); /* the head was still read, so the answer can be routed */
    ASSERT_EQ(sip_t_parse(big, SIP_PARSE_STREAM, &m), 0);
}

TEST(sip_frame_stream)
{
    int kind;
    const char *one = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=1\r\n"
                      "Content-Length: 5\r\n\r\nhello";
    size_t n = strlen(one);
    for (size_t i = 0; i < n; i++)
        ASSERT_EQ(sip_frame_len(one, i, 0, &kind), 0);
    ASSERT_EQ(sip_frame_len(one, n, 0, &kind), (long)n);
    ASSERT_EQ(kind, SIP_FRAME_MSG);

    /* Two messages back to back: the first only. */
    char two[512];
    snprintf(two, sizeof two, "%s%s", one, one);
    ASSERT_EQ(sip_frame_len(two, strlen(two), 0, &kind), (long)n);
    ASSERT_EQ(sip_frame_len(two + n, strlen(two) - n, 0, &kind), (long)n);

    /* Compact, case-insensitive, folded, spaced. */
    const char *c = "SIP/2.0 200 OK\r\nl :\r\n  2\r\nvia: x\r\n\r\nok";
    ASSERT_EQ(sip_frame_len(c, strlen(c), 0, &kind), (long)strlen(c));
    const char *c2 = "SIP/2.0 200 OK\r\nCONTENT-LENGTH: 0\r\n\r\n";
    ASSERT_EQ(sip_frame_len(c2, strlen(c2), 0, &kind), (long)strlen(c2));
    /* A header that merely contains the name is not it. */
    const char *c3 = "SIP/2.0 200 OK\r\nX-Content-Length: 3\r\n\r\n";
    ASSERT_EQ(sip_frame_len(c3, strlen(c3), 0, &kind), -EBADMSG);
    const char *c4 = "SIP/2.0 200 OK\r\nContent-Length: 3\r\nl: 4\r\n\r\nabcd";
    ASSERT_EQ(sip_frame_len(c4, strlen(c4), 0, &kind), -EBADMSG);
    const char *c5 = "SIP/2.0 200 OK\r\nContent-Length: 3\r\nl: 3\r\n\r\nabc";
    ASSERT_EQ(sip_frame_len(c5, strlen(c5), 0, &kind), (long)strlen(c5));
    const char *c6 = "SIP/2.0 200 OK\r\nContent-Length: 3x\r\n\r\nabc";
    ASSERT_EQ(sip_frame_len(c6, strlen(c6), 0, &kind), -EBADMSG);
    const char *c7 = "SIP/2.0 200 OK\r\nX: 1\n\nContent-Length: 0\r\n\r\n";
    ASSERT_EQ(sip_frame_len(c7, strlen(c7), 0, &kind), -EBADMSG); /* bare LFs */
    const char *c8 = "SIP/2.0 200 OK\nContent-Length: 0\r\n\r\n";
    ASSERT_EQ(sip_frame_len(c8, strlen(c8), 0, &kind), -EBADMSG);

    /* Limits */
    const char *b = "SIP/2.0 200 OK\r\nContent-Length: 100000\r\n\r\n";
    ASSERT_EQ(sip_frame_len(b, strlen(b), 0, &kind), -EMSGSIZE);
    ASSERT_EQ(sip_frame_len(one, n, 40, &kind), -EMSGSIZE);
    static char noend[SIP_MAX_STREAM + 10];
    memset(noend, 'a', sizeof noend);
    ASSERT_EQ(sip_frame_len(noend, SIP_MAX_STREAM - 1, 0, &kind), 0);
    ASSERT_EQ(sip_frame_len(noend, sizeof noend, 0, &kind), -EMSGSIZE);

    /* Keep-alive (RFC 5626 section 3.5.1). */
    ASSERT_EQ(sip_frame_len("\r\n\r\n", 4, 0, &kind), 4);
    ASSERT_EQ(kind, SIP_FRAME_PING);
    ASSERT_EQ(sip_frame_len("\r\n\r\nOPTIONS", 11, 0, &kind), 4);
    ASSERT_EQ(kind, SIP_FRAME_PING);
    ASSERT_EQ(sip_frame_len("\r\nOPTIONS", 9, 0, &kind), 2);
    ASSERT_EQ(kind, SIP_FRAME_SKIP);
    ASSERT_EQ(sip_frame_len("\r\n", 2, 0, &kind), 0);
    ASSERT_EQ(sip_frame_len("\r\n\r", 3, 0, &kind), 0);
    ASSERT_EQ(sip_frame_len("\r", 1, 0, &kind), 0);
    ASSERT_EQ(sip_frame_len("\rx", 2, 0, &kind), -EBADMSG);
    ASSERT_EQ(sip_frame_len("\r\n\rx", 4, 0, &kind), -EBADMSG);

    ASSERT(sip_is_keepalive("\r\n\r\n", 4));
    ASSERT(sip_is_keepalive("\r\n", 2));
    ASSERT(!sip_is_keepalive("", 0));
    ASSERT(!sip_is_keepalive("\r\nx", 3));

    /* A framed message parses as a stream message. */
    struct sip_msg m;
    long fl = sip_frame_len(one, n, 0, &kind);
    ASSERT_EQ(sip_parse(one, (size_t)fl, SIP_PARSE_STREAM, &m), -EBADMSG); /* lacks From etc. */
    ASSERT_EQ(m.fault, SIP_F_MISSING);
    ASSERT_SLICE(m.body, "hello");
}
