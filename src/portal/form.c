/*
 * portal/form.c - urlencoded forms, query strings and cookies.
 */
#include "portal/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int form_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[len] ('+' is a space, %XX a byte) into out; returns the length. */
static size_t form_decode(const char *s, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int h, l;
        if (s[i] == '+')
            out[o++] = ' ';
        else if (s[i] == '%' && i + 2 < len && (h = form_hex((unsigned char)s[i + 1])) >= 0 &&
                 (l = form_hex((unsigned char)s[i + 2])) >= 0) {
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else
            out[o++] = s[i];
    }
    out[o] = '\0';
    return o;
}

int portal_form_parse(struct portal_form *f, const char *s, size_t len)
{
    memset(f, 0, sizeof *f);
    f->buf = malloc(len * 2 + 2);
    if (!f->buf)
        return -ENOMEM;
    char *w = f->buf;
    size_t i = 0;
    while (i < len && f->n < PORTAL_MAX_FIELDS) {
        size_t end = i;
        while (end < len && s[end] != '&')
            end++;
        size_t eq = i;
        while (eq < end && s[eq] != '=')
            eq++;
        if (end > i) {
            f->f[f->n].name = w;
            w += form_decode(s + i, eq - i, w) + 1;
            f->f[f->n].value = w;
            size_t vl = eq < end ? form_decode(s + eq + 1, end - eq - 1, w) : (*w = '\0', 0);
            f->f[f->n].len = vl;
            w += vl + 1;
            f->n++;
        }
        i = end + 1;
    }
    return 0;
}

void portal_form_free(struct portal_form *f)
{
    if (f->buf) {
        /* passwords pass through here */
        size_t used = 0;
        for (size_t i = 0; i < f->n; i++)
            used = (size_t)(f->f[i].value + f->f[i].len + 1 - f->buf);
        memset(f->buf, 0, used);
        free(f->buf);
    }
    memset(f, 0, sizeof *f);
}

const char *portal_form_get(const struct portal_form *f, const char *name, size_t *len)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->f[i].name, name) == 0) {
            if (len)
                *len = f->f[i].len;
            return f->f[i].value;
        }
    if (len)
        *len = 0;
    return "";
}

int portal_cookie_get(const char *h, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        const char *end = strchr(h, ';');
        size_t l = end ? (size_t)(end - h) : strlen(h);
        if (l > nl && strncmp(h, name, nl) == 0 && h[nl] == '=') {
            size_t vl = l - nl - 1;
            if (vl >= outlen)
                return -ENOENT;
            memcpy(out, h + nl + 1, vl);
            out[vl] = '\0';
            return 0;
        }
        h = end;
    }
    return -ENOENT;
}
