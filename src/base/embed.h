/*
 * base/embed.h - files compiled into the binary by src/embed.sh (the schema
 * migrations, the stored-data inventory, the portal's static files), so the
 * scratch image needs no file beside the binary.
 */
#ifndef T9_BASE_EMBED_H
#define T9_BASE_EMBED_H

#include <stddef.h>

struct embed_file {
    const char *name; /* file name without its folder, e.g. "style.css" */
    const char *data; /* len bytes, then a NUL not counted in len */
    size_t len;
};

#endif
