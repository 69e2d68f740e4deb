/*
 * sip/parse.h - helpers shared by the SIP parser's C files (internal to
 * src/sip): whitespace and folding, quoted strings, header parameters,
 * addresses inside a header value, numbers. Every helper takes the end of
 * its input explicitly; none reads past it.
 */
#ifndef T9_SIP_PARSE_H
#define T9_SIP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "sip/msg.h"

/* Skips LWS: SP, HTAB, and CRLF followed by SP or HTAB (a fold). */
const char *sip_skip_lws(const char *p, const char *end);

/* Length of the quoted-string at p (with both quotes), 0 when malformed:
 * unterminated, a bare CR or LF, a control byte, or an escape of CR/LF. */
size_t sip_scan_quoted(const char *p, const char *end);

/* Next ";name[=value]" header parameter after *pp (SWS allowed around ';'
 * and '='). Names are tokens; values are a quoted-string (kept with its
 * quotes) or a run of token characters, ':', '[' and ']' (host values,
 * bare IPv6 received=). Returns 1 and advances *pp past the parameter, 0
 * when the next non-LWS byte is not ';' (*pp unchanged), -1 when malformed. */
int sip_gparam_next(const char **pp, const char *end, struct sip_str *name,
                    struct sip_str *value);

/* Address forms for sip_addr_at. */
#define SIP_ADDR_LIST 1      /* an element of a comma-separated list */
#define SIP_ADDR_NAME_ONLY 2 /* name-addr required (Route, Record-Route, Path) */

/* Parses a name-addr or addr-spec with its header parameters at p (leading
 * LWS skipped). Returns the end of what it used (trailing LWS not
 * included), or NULL when malformed. */
const char *sip_addr_at(const char *p, const char *end, int flags, struct sip_addr *a);

/* host [":" port] at p (no LWS inside). Sets host, type (enum
 * sip_host_type) and port (0 when absent) and *after; returns 0 or -1.
 * bare_v6: a bare IPv6address is a host too (Via received=; never in URIs,
 * whose ':' would be ambiguous). */
int sip_scan_hostport(const char *p, const char *end, int bare_v6, struct sip_str *host,
                     uint8_t *type, uint16_t *port, const char **after);

/* Decimal digits p[0 .. n): 0 and *v when 1 <= n and the value <= max,
 * -1 otherwise. */
int sip_parse_uint(const char *p, size_t n, uint64_t max, uint64_t *v);

/* delta-seconds with clamping to 2^32-1 (RFC 3261 section 20.19 for
 * Expires, and RFC 4475 section 3.1.2.4): 0 or -1 when not all digits. */
int sip_parse_delta(const char *p, size_t n, int64_t *v);

static inline struct sip_str sip_mkstr(const char *p, size_t n)
{
    struct sip_str s = { p, n };
    return s;
}

#endif
