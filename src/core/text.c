/*
 * core/text.c - see text.h.
 */
#include "core/text.h"
#include "core/text_tables.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* Decodes one UTF-8 sequence at p (n bytes left): its length, or 0. */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        c &= 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        c &= 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        c &= 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
        (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

static size_t utf8_encode(uint32_t c, unsigned char *o)
{
    if (c < 0x80) {
        o[0] = (unsigned char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (unsigned char)(0xc0 | c >> 6);
        o[1] = (unsigned char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (unsigned char)(0xe0 | c >> 12);
        o[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
        o[2] = (unsigned char)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | c >> 18);
    o[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
    o[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
    o[3] = (unsigned char)(0x80 | (c & 0x3f));
    return 4;
}

/* Controls, bidi controls, default-ignorables (DerivedCoreProperties),
 * separators, noncharacters. */
static int refused(uint32_t c)
{
    static const uint32_t r[][2] = {
        { 0x0000, 0x001f }, { 0x007f, 0x009f }, { 0x00ad, 0x00ad }, { 0x034f, 0x034f },
        { 0x061c, 0x061c }, { 0x115f, 0x1160 }, { 0x17b4, 0x17b5 }, { 0x180b, 0x180f },
        { 0x200b, 0x200f }, { 0x2028, 0x202e }, { 0x2060, 0x206f }, { 0x3164, 0x3164 },
        { 0xfdd0, 0xfdef }, { 0xfe00, 0xfe0f }, { 0xfeff, 0xfeff }, { 0xffa0, 0xffa0 },
        { 0xfff0, 0xfffb }, { 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a }, { 0xe0000, 0xe0fff },
    };
    if ((c & 0xfffe) == 0xfffe)
        return 1;
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        if (c >= r[i][0] && c <= r[i][1])
            return 1;
    return 0;
}

static int in_ranges(const uint32_t (*r)[2], size_t n, uint32_t c)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < r[mid][0])
            hi = mid;
        else if (c > r[mid][1])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

static int latin(uint32_t c)
{
    return (c >= 0xc0 && c <= 0x2af) || (c >= 0x1e00 && c <= 0x1eff);
}

static unsigned ccc(uint32_t c)
{
    return c >= 0x300 && c <= 0x36f ? text_ccc[c - 0x300] : 0;
}

/* The pair a composite decomposes into, or NULL. */
static const struct text_pair *pair_of(uint32_t c)
{
    size_t lo = 0, hi = TEXT_NPAIRS;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < text_pairs[mid].cp)
            hi = mid;
        else if (c > text_pairs[mid].cp)
            lo = mid + 1;
        else
            return &text_pairs[mid];
    }
    return NULL;
}

/* The primary composite of base + mark, or 0. */
static uint32_t compose(uint32_t base, uint32_t mark)
{
    uint32_t key = base << 16 | mark;
    size_t lo = 0, hi = TEXT_NPAIRS;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct text_pair *p = &text_pairs[text_by_base[mid]];
        uint32_t k = (uint32_t)p->base << 16 | p->mark;
        if (key < k)
            hi = mid;
        else if (key > k)
            lo = mid + 1;
        else
            return p->cp;
    }
    return 0;
}

static uint32_t lower(uint32_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 'a';
    size_t lo = 0, hi = TEXT_NLOWER;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < text_lower[mid].upper)
            hi = mid;
        else if (c > text_lower[mid].upper)
            lo = mid + 1;
        else
            return text_lower[mid].lower;
    }
    return c;
}

/* Each supported composite decomposes into at most this many points
 * (u + diaeresis + macron for U+01D6; the tables nest three deep). */
#define DECOMP_MAX 4

/* The full canonical decomposition of c into o: the number of points. */
static size_t decompose(uint32_t c, uint32_t o[DECOMP_MAX], int depth)
{
    const struct text_pair *d = depth < DECOMP_MAX - 1 ? pair_of(c) : NULL;
    if (!d) {
        o[0] = c;
        return 1;
    }
    size_t k = decompose(d->base, o, depth + 1);
    o[k++] = d->mark;
    return k;
}

int core_text_normalise(const char *in, size_t len, unsigned flags, char *out, size_t cap)
{
    uint32_t cp[CORE_TEXT_MAX * DECOMP_MAX];
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)in;
    if (cap)
        out[0] = '\0';
    if (len > CORE_TEXT_MAX)
        return -ENOSPC;
    /* Decode, check, lower-case, decompose fully. */
    for (size_t i = 0; i < len;) {
        uint32_t c;
        size_t l = utf8_decode(p + i, len - i, &c);
        if (l == 0)
            return -EILSEQ;
        i += l;
        if (refused(c))
            return -EINVAL;
        if (in_ranges(text_refuse, TEXT_REFUSE_N, c))
            return -ENOTSUP;
        if (flags & CORE_TEXT_LOWER) {
            if (in_ranges(text_cased, TEXT_CASED_N, c))
                return -ENOTSUP;
            c = lower(c);
        }
        if (c >= 0x300 && c <= 0x36f && !ccc(c))
            return -ENOTSUP; /* a mark NFC would replace (U+0340...) */
        uint32_t d[DECOMP_MAX];
        size_t k = decompose(c, d, 0);
        if (n + k > sizeof cp / sizeof cp[0])
            return -ENOSPC;
        memcpy(cp + n, d, k * sizeof d[0]);
        n += k;
    }
    /* Every mark must follow a starter this normaliser knows: after a
     * Greek or Cyrillic letter NFC might compose it, and the tables here
     * cannot tell. */
    uint32_t starter = 0;
    int have_starter = 0;
    for (size_t i = 0; i < n; i++) {
        if (ccc(cp[i]) == 0) {
            starter = cp[i];
            have_starter = 1;
            continue;
        }
        if (!have_starter || !(starter < 0x80 || latin(starter) || pair_of(starter)))
            return -ENOTSUP;
    }
    /* Canonical ordering: each run of marks sorted by class, stably. */
    for (size_t i = 1; i < n; i++) {
        unsigned cc = ccc(cp[i]);
        for (size_t j = i; cc && j > 0 && ccc(cp[j - 1]) > cc; j--) {
            uint32_t t = cp[j - 1];
            cp[j - 1] = cp[j];
            cp[j] = t;
        }
    }
    /* Canonical composition. */
    size_t m = 0, start = 0;
    int have = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cp[i];
        unsigned cc = ccc(c);
        if (have && cc) {
            unsigned last = ccc(cp[m - 1]);
            int blocked = m - 1 != start && (last == 0 || last >= cc);
            uint32_t comp = blocked ? 0 : compose(cp[start], c);
            if (comp) {
                cp[start] = comp;
                continue;
            }
        }
        if (cc == 0) {
            start = m;
            have = 1;
        }
        cp[m++] = c;
    }
    /* Encode. */
    size_t o = 0;
    for (size_t i = 0; i < m; i++) {
        unsigned char b[4];
        size_t l = utf8_encode(cp[i], b);
        /* NFC may lengthen text (a precomposed letter whose mark cannot
         * recompose after reordering): output past CORE_TEXT_MAX would be
         * refused when read back, so it is refused here, and a refusal
         * leaves an empty string. */
        if (o + l > CORE_TEXT_MAX || o + l + 1 > cap) {
            if (cap)
                out[0] = '\0';
            return -ENOSPC;
        }
        memcpy(out + o, b, l);
        o += l;
    }
    if (!cap)
        return -ENOSPC;
    out[o] = '\0';
    return (int)o;
}
