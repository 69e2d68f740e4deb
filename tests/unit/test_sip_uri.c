/*
 * test_sip_uri.c - SIP/SIPS URIs, name-addr / addr-spec, parameters,
 * %-escapes and quoted strings (sip/uri.c), from RFC 3261 sections 19.1,
 * 20.10 and 25.1 and the examples of section 19.1.3.
 */
#include "t.h"
#include "test_sip_util.h"

#include <errno.h>

static struct sip_uri parse_ok(const char *s)
{
    struct sip_uri u;
    if (sip_parse_uri(s, strlen(s), &u) != 0)
        t_fail(__FILE__, __LINE__, "refused: %s", s);
    return u;
}

TEST(sip_uri_rfc3261_examples)
{
    /* RFC 3261 section 19.1.3 */
    struct sip_uri u = parse_ok("sip:alice@atlanta.com");
    ASSERT_EQ(u.scheme, SIP_SCHEME_SIP);
    ASSERT_SLICE(u.user, "alice");
    ASSERT_SLICE(u.host, "atlanta.com");
    ASSERT_EQ(u.host_type, SIP_HOST_NAME);
    ASSERT_EQ(u.port, 0);

    u = parse_ok("sip:alice:secretword@atlanta.com;transport=tcp");
    ASSERT_SLICE(u.user, "alice");
    ASSERT_SLICE(u.password, "secretword");
    ASSERT_SLICE(u.transport, "tcp");
    ASSERT_SLICE(u.params, ";transport=tcp");

    u = parse_ok("sips:alice@atlanta.com?subject=project%20x&priority=urgent");
    ASSERT_EQ(u.scheme, SIP_SCHEME_SIPS);
    ASSERT_SLICE(u.headers, "subject=project%20x&priority=urgent");

    u = parse_ok("sip:+1-212-555-1212:1234@gateway.com;user=phone");
    ASSERT_SLICE(u.user, "+1-212-555-1212");
    ASSERT_SLICE(u.password, "1234");
    ASSERT_SLICE(u.user_param, "phone");

    u = parse_ok("sips:1212@gateway.com");
    ASSERT_SLICE(u.user, "1212");

    u = parse_ok("sip:alice@192.0.2.4");
    ASSERT_EQ(u.host_type, SIP_HOST_IPV4);

    u = parse_ok("sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com");
    ASSERT_ABSENT(u.user);
    ASSERT_SLICE(u.host, "atlanta.com");
    ASSERT_SLICE(u.headers, "to=alice%40atlanta.com");

    u = parse_ok("sip:alice;day=tuesday@atlanta.com");
    ASSERT_SLICE(u.user, "alice;day=tuesday");
    ASSERT_SLICE(u.host, "atlanta.com");
}

TEST(sip_uri_hosts_ports_params)
{
    struct sip_uri u = parse_ok("sip:[2001:db8::1]:5061;transport=tls;lr;maddr=239.255.255.1");
    ASSERT_EQ(u.host_type, SIP_HOST_IPV6);
    ASSERT_SLICE(u.host, "[2001:db8::1]");
    ASSERT_EQ(u.port, 5061);
    ASSERT(u.lr);
    ASSERT_SLICE(u.maddr, "239.255.255.1");

    u = parse_ok("sip:bob@[::ffff:192.0.2.1]");
    ASSERT_EQ(u.host_type, SIP_HOST_IPV6);
    u = parse_ok("sip:host.example.com.:5060");
    ASSERT_EQ(u.port, 5060);
    u = parse_ok("sip:a-b.c-d.example");
    ASSERT_EQ(u.host_type, SIP_HOST_NAME);
    u = parse_ok("sip:bob@example.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6;ob");
    ASSERT(u.gr);
    ASSERT(u.ob);
    ASSERT_SLICE(u.gr_value, "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
    u = parse_ok("sip:bob@example.com;gr");
    ASSERT(u.gr);
    ASSERT_ABSENT(u.gr_value);
    u = parse_ok("sip:host:65535");
    ASSERT_EQ(u.port, 65535);
    u = parse_ok("SIP:bob@EXAMPLE.com");
    ASSERT_EQ(u.scheme, SIP_SCHEME_SIP);
    u = parse_ok("sip:%61lice@example.com");
    ASSERT_SLICE(u.user, "%61lice");

    struct sip_str v;
    ASSERT_EQ(sip_param_find(u.params, "lr", &v), 0);
    u = parse_ok("sip:p.example.com;lr;Transport=UDP;x=%41");
    ASSERT_EQ(sip_param_find(u.params, "lr", &v), 1);
    ASSERT_ABSENT(v);
    ASSERT_EQ(sip_param_find(u.params, "TRANSPORT", &v), 1);
    ASSERT_SLICE(v, "UDP");
    ASSERT_SLICE(u.transport, "UDP");
    ASSERT_EQ(sip_param_find(u.params, "x", &v), 1);
    ASSERT_SLICE(v, "%41");
    ASSERT_EQ(sip_param_find(u.params, "y", &v), 0);
}

TEST(sip_uri_ipv6_forms)
{
    /* RFC 3261 section 25.1 IPv6address, every "::" position. */
    static const char *const good[] = {
        "sip:[::]", "sip:[::1]", "sip:[1::]", "sip:[1:2:3:4:5:6:7:8]", "sip:[1:2:3:4:5:6:1.2.3.4]",
        "sip:[::ffff:1.2.3.4]", "sip:[1::8]", "sip:[1:2::8]", "sip:[1:2:3::8]",
        "sip:[1:2:3:4::8]", "sip:[1:2:3:4:5::8]", "sip:[1:2:3:4:5:6::8]", "sip:[1::3:4:5:6:7:8]",
        "sip:[fe80::a:B:c:D]:5060", "sip:[2001:DB8:0:0:8:800:200C:417A]",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct sip_uri u = parse_ok(good[i]);
        if (u.host_type != SIP_HOST_IPV6)
            t_fail(__FILE__, __LINE__, "%s: not IPv6", good[i]);
    }
    static const char *const bad[] = {
        "sip:[]", "sip:[1:2:3:4:5:6:7:8:9]", "sip:[1::2::3]", "sip:[12345::1]", "sip:[:1]",
        "sip:[1:2:3:4:5:6:7]", "sip:[g::1]", "sip:[::1.2.3]", "sip:[1:2:3:4:5:6:7:1.2.3.4]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sip_uri u;
        if (sip_parse_uri(bad[i], strlen(bad[i]), &u) != -EBADMSG)
            t_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
    }
}

TEST(sip_uri_other_schemes)
{
    struct sip_uri u = parse_ok("tel:+1-201-555-0123");
    ASSERT_EQ(u.scheme, SIP_SCHEME_TEL);
    ASSERT_SLICE(u.text, "tel:+1-201-555-0123");
    ASSERT_ABSENT(u.host);
    u = parse_ok("urn:service:sos");
    ASSERT_EQ(u.scheme, SIP_SCHEME_OTHER);
    u = parse_ok("soap.beep://192.0.2.103:3002"); /* RFC 4475 section 3.3.3 */
    ASSERT_EQ(u.scheme, SIP_SCHEME_OTHER);
}

TEST(sip_uri_refused)
{
    static const char *const bad[] = {
        "", "sip:", "sip:@example.com", "sip:bob@", "sip:bob@example.com:0",
        "sip:bob@example.com:65536", "sip:bob@example.com:", "sip:bob@256.1.1.1",
        "sip:bob@1.2.3", "sip:bob@[2001:db8::1", "sip:bob@2001:db8::1", "sip:bob@[::1]x",
        "sip:bob@exa mple.com", "sip:bob@example.com;", "sip:bob@example.com;=x",
        "sip:bob@example.com;x=", "sip:bob@example.com?", "sip:bob@example.com?a",
        "sip:bob@-example.com", "sip:bob@example-.com", "sip:bob@example.123",
        "sip:b%zzob@example.com", "sip:bob@example.com>", "1sip:bob@example.com",
        "sip bob@example.com", "tel:", "sip:bob@example.com;a=b c",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sip_uri u;
        if (sip_parse_uri(bad[i], strlen(bad[i]), &u) != -EBADMSG)
            t_fail(__FILE__, __LINE__, "accepted: \"%s\"", bad[i]);
    }
}

TEST(sip_addr_forms)
{
    struct sip_addr a;
    const char *s = "\"A. G. Bell\" <sip:agb@bell-telephone.com> ;tag=a48s";
    ASSERT_EQ(sip_parse_addr(s, strlen(s), &a), 0);
    ASSERT_SLICE(a.display, "\"A. G. Bell\"");
    ASSERT(a.angle);
    ASSERT_SLICE(a.uri.text, "sip:agb@bell-telephone.com");
    ASSERT_SLICE(a.tag, "a48s");
    ASSERT_SLICE(a.params, ";tag=a48s");
    ASSERT_SLICE(a.text, s);

    s = "sip:+12125551212@server.phone2net.com;tag=887s";
    ASSERT_EQ(sip_parse_addr(s, strlen(s), &a), 0);
    ASSERT(!a.angle);
    ASSERT_ABSENT(a.display);
    ASSERT_SLICE(a.uri.text, "sip:+12125551212@server.phone2net.com");
    ASSERT_SLICE(a.tag, "887s"); /* a header parameter, not a URI one */
    ASSERT_ABSENT(a.uri.params);

    s = "Anonymous <sip:c8oqz84zk7z@privacy.org>;tag=hyh8";
    ASSERT_EQ(sip_parse_addr(s, strlen(s), &a), 0);
    ASSERT_SLICE(a.display, "Anonymous");

    s = "Bob  Smith <sip:bob@example.org;transport=tcp>;x=\"q;v\"";
    ASSERT_EQ(sip_parse_addr(s, strlen(s), &a), 0);
    ASSERT_SLICE(a.display, "Bob  Smith");
    ASSERT_SLICE(a.uri.transport, "tcp");
    struct sip_str v;
    ASSERT_EQ(sip_param_find(a.params, "x", &v), 1);
    ASSERT_SLICE(v, "\"q;v\"");

    s = "<sip:bob@example.org>";
    ASSERT_EQ(sip_parse_addr(s, strlen(s), &a), 0);
    ASSERT_ABSENT(a.display);

    s = "\"\" <sip:bob@example.org>";
    ASSERT_EQ(sip_parse_addr(s, strlen(s), &a), 0);
    ASSERT_SLICE(a.display, "\"\"");

    s = "\"\xc3\xa9l\xc3\xa8ve \\\\ \\\"x\\\"\" <sip:e@example.org>";
    ASSERT_EQ(sip_parse_addr(s, strlen(s), &a), 0);
    char out[32];
    long n = sip_unquote(a.display, out, sizeof out);
    ASSERT_EQ(n, 13);
    ASSERT_MEM_EQ(out, "\xc3\xa9l\xc3\xa8ve \\ \"x\"", 13);

    static const char *const bad[] = {
        "", "Bob", "<sip:bob@example.org", "\"Bob <sip:bob@example.org>",
        "Bob, Smith <sip:bob@example.org>", "< sip:bob@example.org>",
        "<sip:bob@example.org >", "<sip:bob@example.org>;", "<sip:bob@example.org>;tag=",
        "<sip:bob@example.org>;tag=\"q\"", "sip:bob@example.org?x=y",
        "\"Bob\" sip:bob@example.org", "<sip:bob@example.org> <sip:x@y>",
        "\"a\r\nb\" <sip:bob@example.org>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (sip_parse_addr(bad[i], strlen(bad[i]), &a) != -EBADMSG)
            t_fail(__FILE__, __LINE__, "accepted: \"%s\"", bad[i]);
}

TEST(sip_unescape_unquote)
{
    char out[16];
    struct sip_str s = { "a%20b%2fc", 9 };
    ASSERT_EQ(sip_unescape(s, out, sizeof out), 5);
    ASSERT_MEM_EQ(out, "a b/c", 5);
    s = (struct sip_str){ "null-%00-null", 13 };
    ASSERT_EQ(sip_unescape(s, out, sizeof out), 11);
    ASSERT_EQ(out[5], '\0');
    s = (struct sip_str){ "%4", 2 };
    ASSERT_EQ(sip_unescape(s, out, sizeof out), -EBADMSG);
    s = (struct sip_str){ "%", 1 };
    ASSERT_EQ(sip_unescape(s, out, sizeof out), -EBADMSG);
    s = (struct sip_str){ "%zz", 3 };
    ASSERT_EQ(sip_unescape(s, out, sizeof out), -EBADMSG);
    s = (struct sip_str){ "abcdef", 6 };
    ASSERT_EQ(sip_unescape(s, out, 5), -ENOSPC);

    s = (struct sip_str){ "\"a\\\"b\"", 6 };
    ASSERT_EQ(sip_unquote(s, out, sizeof out), 3);
    ASSERT_MEM_EQ(out, "a\"b", 3);
    s = (struct sip_str){ "plain", 5 };
    ASSERT_EQ(sip_unquote(s, out, sizeof out), 5);
    s = (struct sip_str){ "\"a\r\n  b\"", 8 };
    ASSERT_EQ(sip_unquote(s, out, sizeof out), 3);
    ASSERT_MEM_EQ(out, "a b", 3);
    s = (struct sip_str){ "\"a\\\"", 4 };
    ASSERT_EQ(sip_unquote(s, out, sizeof out), -EBADMSG);
    s = (struct sip_str){ "\"abcdefghijklmnopq\"", 19 };
    ASSERT_EQ(sip_unquote(s, out, sizeof out), -ENOSPC);

    ASSERT(sip_str_eq((struct sip_str){ "abc", 3 }, "abc"));
    ASSERT(!sip_str_eq((struct sip_str){ "abc", 3 }, "ABC"));
    ASSERT(sip_str_ieq((struct sip_str){ "abc", 3 }, "ABC"));
    ASSERT(!sip_str_ieq((struct sip_str){ "abc", 3 }, "ab"));
    ASSERT(!sip_str_eq((struct sip_str){ NULL, 0 }, ""));
}
