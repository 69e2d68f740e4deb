/*
 * test_portal.c - the portal's pure pieces: the escaping HTML writer, form
 * and cookie parsing, and the in-memory rate limiter.
 */
#include "t.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "net/http.h"
#include "portal/internal.h"
#include "portal/ratelimit.h"

static void res_free(struct http_response *r)
{
    free(r->body);
}

TEST(http_html_printf_escapes_every_string)
{
    struct http_response r = { .status = 200 };
    ASSERT_EQ(http_html_printf(&r, "<p title=\"%s\">%s %d %lld %zu %u %x %c%%</p>",
                               "a\"b", "<script>&'", -5, -9000000000LL, (size_t)7, 3u, 255u,
                               '<'), 0);
    ASSERT_STR_EQ(r.body, "<p title=\"a&quot;b\">&lt;script&gt;&amp;&#39; -5 -9000000000 7 3 ff "
                          "&lt;%</p>");
    const char *volatile none = NULL; /* the writer prints nothing for NULL */
    ASSERT_EQ(http_html_printf(&r, "%s", none), 0);
    res_free(&r);
}

TEST(http_html_printf_refuses_widths_and_grows_to_the_limit)
{
    struct http_response r = { .status = 200 };
    ASSERT_EQ(http_html_printf(&r, "%5d", 1), -EINVAL);
    char big[1024];
    memset(big, '&', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    int rc = 0;
    for (int i = 0; i < 1000 && rc == 0; i++)
        rc = http_html_printf(&r, "%s", big);
    ASSERT_EQ(rc, -ENOSPC);
    ASSERT(r.truncated);
    ASSERT(r.body_len < HTTP_MAX_RESPONSE);
    res_free(&r);
}

TEST(http_response_header_refuses_line_breaks)
{
    struct http_response r = { .status = 200 };
    ASSERT_EQ(http_response_header(&r, "Location", "/a\r\nSet-Cookie: x=1"), -EINVAL);
    ASSERT_EQ(http_response_header(&r, "Location", "/ok"), 0);
    ASSERT_STR_EQ(r.extra_headers, "Location: /ok\r\n");
}

TEST(portal_form_decodes_fields)
{
    struct portal_form f;
    const char *body = "email=a%40b.org&nick=Mar+ina&empty=&flag&pw=%00x&bad=%zz%4";
    ASSERT_EQ(portal_form_parse(&f, body, strlen(body)), 0);
    size_t len;
    ASSERT_STR_EQ(portal_form_get(&f, "email", NULL), "a@b.org");
    ASSERT_STR_EQ(portal_form_get(&f, "nick", NULL), "Mar ina");
    ASSERT_STR_EQ(portal_form_get(&f, "empty", NULL), "");
    ASSERT_STR_EQ(portal_form_get(&f, "flag", NULL), "");
    portal_form_get(&f, "pw", &len);
    ASSERT_EQ(len, 2); /* a NUL byte is kept, with its length */
    ASSERT_STR_EQ(portal_form_get(&f, "bad", NULL), "%zz%4");
    ASSERT_STR_EQ(portal_form_get(&f, "absent", &len), "");
    ASSERT_EQ(len, 0);
    portal_form_free(&f);
}

TEST(portal_form_caps_the_field_count)
{
    char body[4096] = "";
    for (int i = 0; i < 100; i++)
        snprintf(body + strlen(body), sizeof body - strlen(body), "f%d=%d&", i, i);
    struct portal_form f;
    ASSERT_EQ(portal_form_parse(&f, body, strlen(body)), 0);
    ASSERT_EQ(f.n, PORTAL_MAX_FIELDS);
    portal_form_free(&f);
}

TEST(portal_cookie_finds_exact_names)
{
    char v[64];
    ASSERT_EQ(portal_cookie_get("t9sx=1; t9s=abc; other=2", "t9s", v, sizeof v), 0);
    ASSERT_STR_EQ(v, "abc");
    ASSERT_EQ(portal_cookie_get("a=1", "t9s", v, sizeof v), -ENOENT);
    ASSERT_EQ(portal_cookie_get(NULL, "t9s", v, sizeof v), -ENOENT);
    ASSERT_EQ(portal_cookie_get("t9s=0123456789", "t9s", v, 5), -ENOENT);
}

TEST(portal_ratelimit_counts_per_address_and_forgets)
{
    struct portal_ratelimit *rl;
    ASSERT_EQ(portal_rl_new(&rl), 0);
    uint8_t a[4] = { 192, 0, 2, 1 }, b[4] = { 192, 0, 2, 2 };
    for (unsigned i = 1; i <= 5; i++)
        ASSERT_EQ(portal_rl_hit(rl, 0, a, 4, 1000), i);
    ASSERT_EQ(portal_rl_peek(rl, 0, b, 4, 1000), 0);
    ASSERT_EQ(portal_rl_peek(rl, 1, a, 4, 1000), 0); /* per action */
    ASSERT_EQ(portal_rl_peek(rl, 0, a, 4, 1000 + PORTAL_RL_WINDOW), 0);
    ASSERT_EQ(portal_rl_hit(rl, 0, a, 4, 1000 + PORTAL_RL_WINDOW), 1);
    /* A flood of addresses never grows the table and evicts the oldest. */
    for (uint32_t i = 0; i < 100000; i++)
        portal_rl_hit(rl, 0, &i, sizeof i, 2000);
    portal_rl_free(rl);
}
