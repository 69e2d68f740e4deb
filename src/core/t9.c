/*
 * core/t9.c - see t9.h.
 */
#include "core/t9.h"
#include "core/errors.h"

int core_t9_digit(int c)
{
    /* Indexed by letter; written out rather than computed because pqrs and
     * wxyz have four letters. */
    static const char keys[26] = {
        '2', '2', '2', '3', '3', '3', '4', '4', '4', '5', '5', '5', '6',
        '6', '6', '7', '7', '7', '7', '8', '8', '8', '9', '9', '9', '9',
    };
    if (c >= 'a' && c <= 'z')
        return keys[c - 'a'];
    if (c >= 'A' && c <= 'Z')
        return keys[c - 'A'];
    return -1;
}

int core_t9_normalise_nickname(const char *in, size_t len, char out[CORE_NICK_SIZE])
{
    out[0] = '\0';
    if (!in || len < CORE_NICK_MIN || len > CORE_NICK_MAX)
        return CORE_E_BAD_NICKNAME;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c < 'a' || c > 'z') {
            out[0] = '\0';
            return CORE_E_BAD_NICKNAME;
        }
        out[i] = (char)c;
    }
    out[len] = '\0';
    return 0;
}

int core_t9_dial_code(const char *nick, size_t len, char out[CORE_NICK_SIZE])
{
    char norm[CORE_NICK_SIZE];
    int rc = core_t9_normalise_nickname(nick, len, norm);
    if (rc < 0) {
        out[0] = '\0';
        return rc;
    }
    for (size_t i = 0; i < len; i++)
        out[i] = (char)core_t9_digit((unsigned char)norm[i]);
    out[len] = '\0';
    return 0;
}

int core_t9_is_dial_code(const char *s, size_t len)
{
    if (!s || len < CORE_NICK_MIN || len > CORE_NICK_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '2' || s[i] > '9')
            return 0;
    return 1;
}

int core_t9_dial_glob(const char *code, size_t len, char out[CORE_T9_GLOB_SIZE])
{
    static const char *const letters[8] = { "abc", "def", "ghi", "jkl",
                                            "mno", "pqrs", "tuv", "wxyz" };
    size_t n = 0;
    out[0] = '\0';
    if (!core_t9_is_dial_code(code, len))
        return -1;
    for (size_t i = 0; i < len; i++) {
        const char *l = letters[code[i] - '2'];
        out[n++] = '[';
        while (*l)
            out[n++] = *l++;
        out[n++] = ']';
    }
    out[n] = '\0';
    return 0;
}
