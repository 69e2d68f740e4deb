/*
 * base/log.c - see log.h.
 */
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_min = LOG_INFO;
static enum log_format log_fmt = LOG_TEXT;

static const char *const log_names[] = { "debug", "info", "warn", "error" };

void log_init(enum log_level min, enum log_format fmt)
{
    log_min = min;
    log_fmt = fmt;
}

int log_parse_level(const char *s, enum log_level *out)
{
    for (int i = 0; i <= LOG_ERROR; i++) {
        if (strcmp(s, log_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* Appends src to dst[*n..cap) escaping for the format; JSON needs quotes and
 * backslashes escaped, text only control characters, so a message can never
 * forge a second log line. Always leaves room for the line's tail. */
static void log_append(char *dst, size_t *n, size_t cap, const char *src, int json)
{
    static const char hex[] = "0123456789abcdef";
    for (; *src && *n + 8 < cap; src++) {
        unsigned char c = (unsigned char)*src;
        if (c < 0x20 || c == 0x7f || (json && (c == '"' || c == '\\'))) {
            if (json && (c == '"' || c == '\\')) {
                dst[(*n)++] = '\\';
                dst[(*n)++] = (char)c;
                continue;
            }
            dst[(*n)++] = '\\';
            dst[(*n)++] = json ? 'u' : 'x';
            if (json) {
                dst[(*n)++] = '0';
                dst[(*n)++] = '0';
            }
            dst[(*n)++] = hex[c >> 4];
            dst[(*n)++] = hex[c & 15];
            continue;
        }
        dst[(*n)++] = (char)c;
    }
}

void log_msg(enum log_level lvl, const char *component, const char *fmt, ...)
{
    if (lvl < log_min || lvl > LOG_ERROR)
        return;
    int saved = errno;
    char msg[900], line[1024], ts[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             now.tv_nsec / 1000000);

    size_t n = 0;
    int json = log_fmt == LOG_JSON;
    if (json) {
        n = (size_t)snprintf(line, sizeof line, "{\"time\":\"%s\",\"level\":\"%s\",\"component\":\"",
                             ts, log_names[lvl]);
        log_append(line, &n, sizeof line, component, 1);
        memcpy(line + n, "\",\"msg\":\"", 9);
        n += 9;
        log_append(line, &n, sizeof line, msg, 1);
        memcpy(line + n, "\"}\n", 3);
        n += 3;
    } else {
        n = (size_t)snprintf(line, sizeof line, "%s %-5s ", ts, log_names[lvl]);
        log_append(line, &n, sizeof line, component, 0);
        line[n++] = ':';
        line[n++] = ' ';
        log_append(line, &n, sizeof line, msg, 0);
        line[n++] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
    errno = saved;
}
