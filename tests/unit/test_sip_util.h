/*
 * test_sip_util.h - helpers shared by the SIP parser tests: messages are
 * written with "\n" and turned into CRLF lines, vectors are read from
 * tests/vectors/sip (first line a comment naming the source).
 */
#ifndef T9_TEST_SIP_UTIL_H
#define T9_TEST_SIP_UTIL_H

#include "t.h"

#include <stdio.h>
#include <string.h>

#include "sip/msg.h"

/* The message buffer of the test (each test runs in its own process). */
static char sip_t_buf[70000];
static size_t sip_t_len;

/* Copies s into sip_t_buf with every "\n" written as "\r\n". */
static inline const char *sip_t_crlf(const char *s)
{
    size_t o = 0;
    for (; *s && o + 2 < sizeof sip_t_buf; s++) {
        if (*s == '\n')
            sip_t_buf[o++] = '\r';
        sip_t_buf[o++] = *s;
    }
    sip_t_len = o;
    sip_t_buf[o] = '\0';
    return sip_t_buf;
}

static inline int sip_t_parse(const char *s, unsigned flags, struct sip_msg *m)
{
    sip_t_crlf(s);
    return sip_parse(sip_t_buf, sip_t_len, flags, m);
}

/* Loads tests/vectors/sip/<name>.sip into sip_t_buf (LF -> CRLF, the
 * source line dropped). */
static inline size_t sip_t_vector(const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "sip/%s.sip", name);
    FILE *f = fopen(t_testdata(rel), "rb");
    if (!f)
        t_fail(__FILE__, __LINE__, "cannot open %s", t_testdata(rel));
    static char raw[35000];
    size_t n = fread(raw, 1, sizeof raw - 1, f);
    fclose(f);
    raw[n] = '\0';
    const char *nl = memchr(raw, '\n', n);
    if (!nl || raw[0] != '#')
        t_fail(__FILE__, __LINE__, "%s: no source line", rel);
    size_t o = 0;
    for (const char *p = nl + 1; p < raw + n; p++) {
        if (*p == '\n')
            sip_t_buf[o++] = '\r';
        sip_t_buf[o++] = *p;
    }
    sip_t_len = o;
    return o;
}

#define ASSERT_SLICE(sl, s)                                                    \
    do { struct sip_str s_ = (sl); const char *e_ = (s);                       \
         if (!s_.p || s_.n != strlen(e_) || memcmp(s_.p, e_, s_.n) != 0)       \
             t_fail(__FILE__, __LINE__, "%s == \"%s\": got \"%.*s\"", #sl, e_, \
                    s_.p ? (int)s_.n : 6, s_.p ? s_.p : "(null)"); } while (0)

#define ASSERT_ABSENT(sl) ASSERT((sl).p == NULL)

#endif
