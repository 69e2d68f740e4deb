/*
 * fuzz_config.c - libFuzzer target for the configuration parser
 * (base/config.c), which reads files an operator may have mangled.
 *
 * Invariants checked on every input: parsing either fails with a message
 * or succeeds, and every value it accepted reads back through the typed
 * getters within its declared bounds.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct config_key keys[] = {
    { "listening-port", CONFIG_INT, "3478", 1, 65535, NULL, 0, "" },
    { "realm", CONFIG_STRING, NULL, 0, 0, NULL, 0, "" },
    { "fingerprint", CONFIG_BOOL, "false", 0, 0, NULL, 0, "" },
    { "log-format", CONFIG_ENUM, "text", 0, 0, "text|json", 0, "" },
    { "denied-peer-ip", CONFIG_STRING, NULL, 0, 0, NULL, CONFIG_MULTI, "" },
    { "no-auth", CONFIG_BOOL, NULL, 0, 0, NULL, CONFIG_UNSUPPORTED, "" },
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};
static const struct config_key *const tables[] = { keys };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[CONFIG_ERR_LEN];
    config_t *c = config_new(tables, 1);
    if (!c)
        return 0;
    err[0] = '\0';
    int rc = config_parse_text(c, "fuzz.conf", (const char *)data, size, err);
    if (rc < 0 && err[0] == '\0' && rc != -ENOMEM)
        abort(); /* every refusal names its reason */
    long port = config_int(c, "listening-port");
    if (port < 1 || port > 65535)
        abort();
    const char *fmt = config_str(c, "log-format");
    if (strcmp(fmt, "text") != 0 && strcmp(fmt, "json") != 0)
        abort();
    int b = config_bool(c, "fingerprint");
    if (b != 0 && b != 1)
        abort();
    for (size_t i = 0; i < config_count(c, "denied-peer-ip"); i++)
        if (!config_nth(c, "denied-peer-ip", i))
            abort();
    config_free(c);
    return 0;
}
