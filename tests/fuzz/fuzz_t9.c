/*
 * fuzz_t9.c - libFuzzer target for nickname validation and dial codes
 * (core/t9.c): the bytes people type into the sign-up form.
 *
 * Invariants: a nickname is accepted exactly when it is 6-12 ASCII letters;
 * its normal form is lower-case and normalises to itself; its dial code has
 * the same length, digits 2-9 only, is recognised by core_t9_is_dial_code,
 * and does not depend on case.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/t9.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char norm[CORE_NICK_SIZE], again[CORE_NICK_SIZE], code[CORE_NICK_SIZE], code2[CORE_NICK_SIZE];
    const char *in = (const char *)data;
    int letters = size >= CORE_NICK_MIN && size <= CORE_NICK_MAX;
    for (size_t i = 0; i < size && letters; i++)
        letters = (data[i] >= 'a' && data[i] <= 'z') || (data[i] >= 'A' && data[i] <= 'Z');

    int rc = core_t9_normalise_nickname(in, size, norm);
    if ((rc == 0) != letters)
        abort();
    if (rc != 0) {
        if (norm[0] != '\0' || core_t9_dial_code(in, size, code) == 0)
            abort();
    } else {
        if (strlen(norm) != size)
            abort();
        for (size_t i = 0; i < size; i++)
            if (norm[i] != (char)tolower(data[i]))
                abort();
        if (core_t9_normalise_nickname(norm, size, again) != 0 || strcmp(norm, again) != 0)
            abort();
        if (core_t9_dial_code(in, size, code) != 0 || core_t9_dial_code(norm, size, code2) != 0)
            abort();
        if (strcmp(code, code2) != 0 || strlen(code) != size || !core_t9_is_dial_code(code, size))
            abort();
        for (size_t i = 0; i < size; i++)
            if (code[i] < '2' || code[i] > '9' || code[i] != core_t9_digit(data[i]))
                abort();
    }
    int digits = size >= CORE_NICK_MIN && size <= CORE_NICK_MAX;
    for (size_t i = 0; i < size && digits; i++)
        digits = data[i] >= '2' && data[i] <= '9';
    if (core_t9_is_dial_code(in, size) != digits)
        abort();
    return 0;
}
