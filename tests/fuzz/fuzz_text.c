/*
 * fuzz_text.c - libFuzzer target for the UTF-8 checks and NFC of emails and
 * group names (core/text.c).
 *
 * Invariants: an accepted input gives valid UTF-8 of at most cap - 1 bytes
 * that normalises to itself (NFC is idempotent), with and without
 * lower-casing; lower-casing an accepted output changes nothing the second
 * time; a refusal writes an empty string.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char out[CORE_TEXT_MAX * 4 + 1], again[CORE_TEXT_MAX * 4 + 1];
    for (unsigned flags = 0; flags <= CORE_TEXT_LOWER; flags++) {
        int n = core_text_normalise((const char *)data, size, flags, out, sizeof out);
        if (n < 0) {
            if (out[0] != '\0' || (n != -EILSEQ && n != -EINVAL && n != -ENOTSUP && n != -ENOSPC))
                abort();
            continue;
        }
        if ((size_t)n >= sizeof out || strlen(out) != (size_t)n)
            abort();
        int m = core_text_normalise(out, (size_t)n, flags, again, sizeof again);
        if (m != n || memcmp(out, again, (size_t)n) != 0)
            abort();
    }
    return 0;
}
