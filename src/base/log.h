/*
 * base/log.h - leveled logging to stderr, as text or JSON lines.
 *
 * Privacy rule (DESIGN.md): a log line says what the server did, in
 * aggregate. Callers never pass an IP address, a port tied to an address,
 * a user agent, an email, a nickname, a SIP username, a caller or a callee.
 * The logger cannot know what a string means, so this is a rule for call
 * sites; tests grep the logs of a whole test run for violations.
 *
 * The logger is process-wide state set once by log_init() before the loop
 * starts; it is only ever written from the loop thread, and each line is
 * produced with a single write(2) so lines from thread-pool work never
 * interleave.
 */
#ifndef T9_BASE_LOG_H
#define T9_BASE_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_TEXT = 0, LOG_JSON };

/* Sets the minimum level and the format. Before the first call: info, text. */
void log_init(enum log_level min, enum log_format fmt);
/* Parses "debug|info|warn|error"; -EINVAL for anything else. */
int log_parse_level(const char *s, enum log_level *out);

/* One line: "<time> <level> <component>: <message>". Messages longer than
 * about 900 bytes are cut; control characters are escaped. */
void log_msg(enum log_level lvl, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(comp, ...) log_msg(LOG_DEBUG, comp, __VA_ARGS__)
#define log_info(comp, ...) log_msg(LOG_INFO, comp, __VA_ARGS__)
#define log_warn(comp, ...) log_msg(LOG_WARN, comp, __VA_ARGS__)
#define log_error(comp, ...) log_msg(LOG_ERROR, comp, __VA_ARGS__)

#endif
