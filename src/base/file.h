/*
 * base/file.h - reading small whole files (configuration, certificates).
 */
#ifndef T9_BASE_FILE_H
#define T9_BASE_FILE_H

#include <stddef.h>

/*
 * Reads the regular file at path, of at most max bytes, into a new buffer of
 * length + 1 bytes whose last byte is a NUL (callers that need another
 * terminator overwrite it). The caller frees *out. A short read (the file
 * shrank meanwhile) returns what was read.
 *
 * Returns 0 with *out and *len, or a negative errno with a message naming
 * the file in err: -ENOENT etc. from open, -EINVAL for something that is not
 * a regular file, -EFBIG over max, -ENOMEM.
 */
int file_read_all(const char *path, size_t max, char **out, size_t *len, char *err,
                  size_t errlen);

#endif
