/*
 * sip/msg.h - SIP message parser, editor and response builder (RFC 3261
 * sections 7, 8.2.6, 16.6, 18.3, 20, 25; RFC 3581 rport; RFC 5626 keep-alive
 * and +sip.instance/reg-id; RFC 3327 Path).
 *
 * Pure code: it takes bytes and returns values. No libuv, no allocation, no
 * globals. A parsed message is a set of slices (struct sip_str) into the
 * caller's buffer, which must stay alive and unchanged while the message is
 * used; nothing is copied, unfolded or unescaped unless the caller asks
 * (sip_unescape, sip_unquote). Lists are bounded arrays; going past a bound
 * is its own error (-E2BIG), distinct from malformed input (-EBADMSG).
 *
 * Folded header values (a CRLF followed by SP or HTAB) stay folded inside the
 * value slices: every sub-parser treats such a fold as ordinary whitespace,
 * so the caller never sees a difference except in sip_hdr.value's bytes.
 *
 * The lexical layer (header names with their compact forms, method names,
 * token and host scanners) is re2c code in sip/lex.re; the structure is
 * plain C in sip/msg.c (parser), sip/uri.c (URIs, name-addr, parameters) and
 * sip/build.c (editor, response builder).
 *
 * Return codes, everywhere: 0 or a length on success, else a negative errno:
 *   -EBADMSG   malformed (the grammar is broken)
 *   -E2BIG     a bound of this header was exceeded (more Vias, Routes,
 *              Contacts, header lines, parameters than kept)
 *   -EMSGSIZE  the message, its head or one line is larger than the limits
 *   -EPROTONOSUPPORT  the version is not SIP/2.0
 *   -ENOSPC    output does not fit the caller's buffer
 *   -EINVAL    a caller argument is unusable (text with CR/LF, overlapping edits)
 * After a failed sip_parse(), m->fault and m->fault_hdr say what failed, and
 * sip_fault_answer() turns that into the status line to answer a request with.
 */
#ifndef T9_SIP_MSG_H
#define T9_SIP_MSG_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ limits */

/* Largest datagram accepted (head + body). RFC 3261 section 18.1.1 wants
 * messages near the MTU on UDP; 8 KiB covers every phone seen in practice. */
#define SIP_MAX_DGRAM 8192
/* Largest message on a stream (head + Content-Length body); the framing
 * helper refuses anything longer so a peer cannot make the buffer grow. */
#define SIP_MAX_STREAM 16384
/* Header lines kept per message (a folded header counts once). */
#define SIP_MAX_HEADERS 64
/* Longest physical line (start line or one header line without its
 * continuation lines), CRLF excluded. */
#define SIP_MAX_LINE 2048
/* Longest header value including its continuation lines. */
#define SIP_MAX_VALUE 4096
/* Bounded lists. */
#define SIP_MAX_VIA 16     /* via-parms, counted over every Via header */
#define SIP_MAX_ROUTE 16   /* each of Route, Record-Route, Path */
#define SIP_MAX_CONTACT 16 /* contact-params */
#define SIP_MAX_AUTH 4     /* Authorization plus Proxy-Authorization headers */
#define SIP_MAX_OPTIONS 32 /* option tags of each of Supported, Require, Proxy-Require, Allow */

/* ------------------------------------------------------------------ slices */

/* A slice of the message buffer. Absent: p == NULL and n == 0. Present but
 * empty (e.g. "tag=" with nothing after): p != NULL and n == 0. */
struct sip_str {
    const char *p;
    size_t n;
};

/* ------------------------------------------------------------------ ids */

/* Header ids. Compact forms map to the same id (RFC 3261 section 7.3.3 and
 * the IANA registry): i Call-ID, m Contact, e Content-Encoding, l
 * Content-Length, c Content-Type, f From, s Subject, k Supported, t To,
 * v Via, o Event, u Allow-Events, r Refer-To, b Referred-By,
 * x Session-Expires, y Identity. */
enum sip_hdr_id {
    SIP_H_OTHER = 0, /* unknown: kept as it came, found by name */
    SIP_H_VIA,
    SIP_H_FROM,
    SIP_H_TO,
    SIP_H_CALL_ID,
    SIP_H_CSEQ,
    SIP_H_MAX_FORWARDS,
    SIP_H_CONTENT_LENGTH,
    SIP_H_CONTENT_TYPE,
    SIP_H_CONTENT_ENCODING,
    SIP_H_CONTACT,
    SIP_H_EXPIRES,
    SIP_H_MIN_EXPIRES,
    SIP_H_ROUTE,
    SIP_H_RECORD_ROUTE,
    SIP_H_PATH,
    SIP_H_AUTHORIZATION,
    SIP_H_PROXY_AUTHORIZATION,
    SIP_H_WWW_AUTHENTICATE,
    SIP_H_PROXY_AUTHENTICATE,
    SIP_H_SUPPORTED,
    SIP_H_REQUIRE,
    SIP_H_PROXY_REQUIRE,
    SIP_H_UNSUPPORTED,
    SIP_H_ALLOW,
    SIP_H_USER_AGENT,
    SIP_H_SERVER,
    SIP_H_SUBJECT,
    SIP_H_EVENT,
    SIP_H_ALLOW_EVENTS,
    SIP_H_REFER_TO,
    SIP_H_REFERRED_BY,
    SIP_H_SESSION_EXPIRES,
    SIP_H_IDENTITY,
    SIP_H_P_ASSERTED_IDENTITY,
    SIP_H__COUNT
};

/* Methods (any token is accepted; these are the ones with an id). */
enum sip_method {
    SIP_M_OTHER = 0,
    SIP_M_INVITE,
    SIP_M_ACK,
    SIP_M_BYE,
    SIP_M_CANCEL,
    SIP_M_REGISTER,
    SIP_M_OPTIONS,
    SIP_M_INFO,
    SIP_M_PRACK,
    SIP_M_UPDATE,
    SIP_M_SUBSCRIBE,
    SIP_M_NOTIFY,
    SIP_M_PUBLISH,
    SIP_M_MESSAGE,
    SIP_M_REFER,
};

/* What failed, after sip_parse() returned < 0 (m->fault). */
enum sip_fault {
    SIP_F_NONE = 0,
    SIP_F_START_LINE,    /* request or status line malformed */
    SIP_F_VERSION,       /* not SIP/2.0 */
    SIP_F_REQUEST_URI,   /* Request-URI malformed */
    SIP_F_TOO_BIG,       /* message larger than the limit for its transport */
    SIP_F_LINE_TOO_LONG, /* a line or header value past SIP_MAX_LINE / SIP_MAX_VALUE */
    SIP_F_TOO_MANY_HEADERS, /* more than SIP_MAX_HEADERS header lines */
    SIP_F_HEADER_LINE,   /* a header line without name or colon, or no end of head */
    SIP_F_BAD_HEADER,    /* value of header m->fault_hdr is malformed */
    SIP_F_TOO_MANY,      /* list bound of header m->fault_hdr exceeded */
    SIP_F_DUPLICATE,     /* a single-valued header (m->fault_hdr) given twice */
    SIP_F_MISSING,       /* mandatory header m->fault_hdr absent */
    SIP_F_CSEQ_METHOD,   /* CSeq method differs from the request method */
    SIP_F_BODY,          /* Content-Length larger than the bytes present, or absent on a stream */
    SIP_F_BODY_TOO_BIG,  /* Content-Length beyond the limit */
};

/* URI schemes. Any absoluteURI is accepted as a Request-URI or in a
 * name-addr; only sip and sips are broken down into parts. */
enum sip_scheme { SIP_SCHEME_OTHER = 0, SIP_SCHEME_SIP, SIP_SCHEME_SIPS, SIP_SCHEME_TEL };

/* Host kinds. */
enum sip_host_type { SIP_HOST_NONE = 0, SIP_HOST_NAME, SIP_HOST_IPV4, SIP_HOST_IPV6 };

/* ------------------------------------------------------------------ parts */

/* A SIP or SIPS URI (RFC 3261 section 19.1, 25.1). For other schemes only
 * scheme and text are set. */
struct sip_uri {
    struct sip_str text;     /* the whole URI as written */
    struct sip_str user;     /* userinfo's user, %-escapes kept (sip_unescape) */
    struct sip_str password; /* after ':' in userinfo, absent when none */
    struct sip_str host;     /* IPv6 references keep their brackets */
    struct sip_str params;   /* ";a=b;lr" including the first ';', absent when none */
    struct sip_str headers;  /* after '?', absent when none */
    /* Parameters the server uses, found in params (absent when not there). */
    struct sip_str transport, maddr, user_param, gr_value;
    uint8_t scheme;          /* enum sip_scheme */
    uint8_t host_type;       /* enum sip_host_type */
    uint8_t lr, gr, ob;      /* flags: ;lr ;gr[=...] ;ob present */
    uint16_t port;           /* 0 when absent (port 0 itself is refused) */
};

/* name-addr or addr-spec with its header parameters (From, To, Contact,
 * Route, Record-Route, Path, P-Asserted-Identity). */
struct sip_addr {
    struct sip_str text;     /* the whole value (display, URI, params) */
    struct sip_str display;  /* as written: with its quotes when quoted
                                (sip_unquote), absent when none */
    struct sip_str params;   /* header params after the URI, from the first ';' */
    struct sip_str tag;      /* ;tag= (From, To), absent when none */
    struct sip_uri uri;
    uint8_t angle;           /* 1: name-addr form <...> */
};

/* One contact-param. */
struct sip_contact {
    struct sip_addr addr;
    struct sip_str instance; /* +sip.instance value inside its quotes and <>,
                                e.g. urn:uuid:...; absent when none */
    int64_t expires;         /* ;expires=, -1 when absent (clamped to 2^32-1) */
    int32_t q;               /* ;q= in thousandths (0..1000), -1 when absent */
    int32_t reg_id;          /* ;reg-id= (1..2^31-1), -1 when absent */
};

/* One via-parm (RFC 3261 section 20.42, RFC 3581). */
struct sip_via {
    struct sip_str text;      /* the whole via-parm from "SIP" to the last param */
    struct sip_str transport; /* "UDP", "TCP", "TLS", "SCTP", "WS", ... as written */
    struct sip_str host;      /* sent-by host; IPv6 keeps its brackets */
    struct sip_str params;    /* from the first ';', absent when none */
    struct sip_str branch, received, maddr;
    uint16_t port;            /* sent-by port, 0 when absent */
    uint8_t host_type;        /* enum sip_host_type */
    uint8_t rport;            /* 0 absent, 1 ";rport" with no value, 2 with rport_value */
    uint16_t rport_value;
    int16_t ttl;              /* -1 when absent */
    uint8_t hdr;              /* index into m->hdrs of the header line it came from */
};

/* Digest credentials of one Authorization or Proxy-Authorization header
 * (RFC 3261 section 22.4, RFC 2617 section 3.2.2, RFC 8760). Quoted values
 * are the bytes between the quotes, backslash escapes kept (sip_unquote);
 * token values (algorithm, nc, qop when unquoted) as written. */
struct sip_auth {
    struct sip_str scheme;   /* "Digest" (others are kept with params only) */
    struct sip_str params;   /* everything after the scheme */
    struct sip_str username, realm, nonce, uri, response, algorithm, cnonce, opaque, qop, nc;
    uint8_t proxy;           /* 1 for Proxy-Authorization */
    uint8_t hdr;             /* index into m->hdrs */
};

/* One header line. */
struct sip_hdr {
    struct sip_str name;     /* as written (may be a compact form) */
    struct sip_str value;    /* trimmed of surrounding whitespace; folds kept */
    uint32_t off;            /* offset of the line's first byte in m->buf */
    uint32_t len;            /* bytes of the line including continuations and the final CRLF */
    uint8_t id;              /* enum sip_hdr_id */
};

/* A parsed message. About 25 KiB (sip_parse clears only the part before the
 * arrays): fine on a loop's stack, or keep one per worker. Fields of absent
 * headers are zero / absent / -1 as documented. */
struct sip_msg {
    const char *buf;         /* the message */
    size_t len;              /* head + body bytes used (may be less than given on UDP) */
    size_t head_len;         /* start line + headers + the empty line */
    int is_request;

    /* Start line. */
    struct sip_str method;   /* request */
    uint8_t method_id;       /* enum sip_method */
    struct sip_uri ruri;     /* request */
    int status;              /* response: 100..699 */
    struct sip_str reason;   /* response: reason phrase (may be empty) */

    /* Typed single-valued headers. */
    struct sip_addr from, to;           /* present when from.text.p != NULL */
    struct sip_str call_id;
    uint32_t cseq;
    struct sip_str cseq_method;
    uint8_t cseq_method_id;             /* enum sip_method */
    int max_forwards;                   /* -1 when absent */
    long content_length;                /* -1 when absent */
    struct sip_str content_type;
    int64_t expires;                    /* -1 when absent (clamped to 2^32-1) */
    int64_t min_expires;                /* -1 when absent */
    int contact_star;                   /* "Contact: *" */

    struct sip_str body;                /* Content-Length bytes after the head */

    /* After a failure. */
    uint8_t fault;                      /* enum sip_fault */
    uint8_t fault_hdr;                  /* enum sip_hdr_id the fault is about */

    /* How many entries of each array below are used. Only those are
     * written by sip_parse: the rest of an array is not even zeroed. */
    size_t nhdrs, nvia, ncontact, nroute, nrecord_route, npath, nauth;
    size_t nsupported, nrequire, nproxy_require, nallow;

    /* Header lines in order. */
    struct sip_hdr hdrs[SIP_MAX_HEADERS];
    /* List headers, in message order over all their header lines. */
    struct sip_via via[SIP_MAX_VIA];
    struct sip_contact contact[SIP_MAX_CONTACT];
    struct sip_addr route[SIP_MAX_ROUTE], record_route[SIP_MAX_ROUTE], path[SIP_MAX_ROUTE];
    struct sip_auth auth[SIP_MAX_AUTH];
    struct sip_str supported[SIP_MAX_OPTIONS], require[SIP_MAX_OPTIONS],
        proxy_require[SIP_MAX_OPTIONS], allow[SIP_MAX_OPTIONS];
};

/* ------------------------------------------------------------------ parse */

/* Flags for sip_parse. */
#define SIP_PARSE_STREAM 1 /* from TCP/TLS: Content-Length mandatory, len is one frame */

/* Parses one message of len bytes: a datagram, or a frame cut by
 * sip_frame_len. CRLFs before the start line are skipped (RFC 3261 section
 * 7.5). Checks the start line (any token method, SIP/2.0 only, status
 * 100..699), every header line's syntax, and the typed headers listed in
 * struct sip_msg. Unknown headers are kept as they came.
 *
 * Body: Content-Length bytes after the empty line. On a datagram without
 * Content-Length the body is the rest of the datagram; with one, bytes past
 * it are ignored (m->len says where the message ends) and fewer bytes than
 * it says is SIP_F_BODY. On a stream (flags & SIP_PARSE_STREAM) the header
 * is mandatory.
 *
 * From, To, Call-ID, CSeq, Max-Forwards, Content-Length, Content-Type,
 * Expires and Min-Expires may appear once (SIP_F_DUPLICATE otherwise).
 * Requests must have To, From, CSeq, Call-ID and Via; CSeq's method must be
 * the request's (for ACK and CANCEL too). Max-Forwards may be absent
 * (max_forwards == -1: a proxy adds it). Responses need the same headers
 * except Max-Forwards; a response failing any check is only an error.
 *
 * Returns 0, or -EBADMSG, -E2BIG, -EMSGSIZE, -EPROTONOSUPPORT with m->fault
 * set. m is reset either way (the arrays only as far as their counts go).
 * After a failure the fault fields, is_request and what was parsed are
 * meaningful: header lines are cut even after a bad start line, and typed
 * headers parsed even after a bad one, so sip_build_response can still
 * answer with the request's Via, From, To, Call-ID and CSeq lines. */
int sip_parse(const char *buf, size_t len, unsigned flags, struct sip_msg *m);

/* The answer to a request that failed to parse: the status (400, 413, 505,
 * 513) and a static reason phrase naming the fault, e.g. "Bad CSeq",
 * "Bad Via", "Missing Call-ID", "Bad Content-Length", "Version Not
 * Supported", "Message Too Large", "Too Many Vias", "CSeq Method Mismatch".
 * Returns 0 (nothing to answer: a response, an ACK, a message whose start
 * line is unreadable enough that it may be neither, or no fault); then
 * *reason is NULL. The reason never carries message content. */
int sip_fault_answer(const struct sip_msg *m, const char **reason);

/* A short fixed name for a fault ("too_big", "bad_header", ...), for
 * aggregate counters (metric labels): never message content. */
const char *sip_fault_name(enum sip_fault f);

/* Kinds of sip_frame_len results. */
enum sip_frame_kind {
    SIP_FRAME_MSG = 0,  /* a message of the returned length */
    SIP_FRAME_PING,     /* CRLFCRLF keep-alive: answer "\r\n" (RFC 5626 section 3.5.1) */
    SIP_FRAME_SKIP,     /* a lone CRLF (a pong, or padding before a message): drop it */
};

/* Stream framing: given the avail bytes read so far on a TCP/TLS flow,
 * returns the length of the first complete frame and sets *kind, 0 when
 * more bytes are needed, or a negative error:
 *   -EMSGSIZE  the head is longer than SIP_MAX_STREAM without ending, or
 *              head + Content-Length exceeds max (0 means SIP_MAX_STREAM)
 *   -EBADMSG   the head has ended and has no valid Content-Length (the
 *              header is mandatory on streams), Content-Length is given
 *              twice with different values, or a line ends in a bare LF
 * After an error the flow cannot be resynchronised: close it.
 * A frame of kind SIP_FRAME_MSG is then given to sip_parse with
 * SIP_PARSE_STREAM. Only the head is scanned (for its end and for
 * Content-Length / l); the rest is left to sip_parse. */
long sip_frame_len(const char *buf, size_t avail, size_t max, int *kind);

/* 1 when a datagram carries only CR, LF and spaces (keep-alive some phones
 * send over UDP instead of STUN): drop it without an answer. */
int sip_is_keepalive(const char *buf, size_t len);

/* ------------------------------------------------------------------ lookups */

/* Header id for a name (case-insensitive, compact forms included). */
enum sip_hdr_id sip_hdr_lookup(const char *name, size_t n);
/* Canonical name of an id ("Call-ID"), "" for SIP_H_OTHER. */
const char *sip_hdr_name(enum sip_hdr_id id);
/* Method id of a token (case-sensitive, as RFC 3261 section 7.1 says). */
enum sip_method sip_method_lookup(const char *name, size_t n);

/* Next header line with the id after prev (NULL: the first), or NULL. */
const struct sip_hdr *sip_msg_find(const struct sip_msg *m, enum sip_hdr_id id,
                                   const struct sip_hdr *prev);
/* Next header line whose name matches (case-insensitive; a known name also
 * finds its compact form), or NULL. */
const struct sip_hdr *sip_msg_find_name(const struct sip_msg *m, const char *name,
                                        const struct sip_hdr *prev);
/* 1 when option tag opt is in the list of id (SIP_H_SUPPORTED,
 * SIP_H_REQUIRE, SIP_H_PROXY_REQUIRE, SIP_H_ALLOW), compared as RFC 3261
 * says (case-insensitive for option tags; methods case-sensitive). */
int sip_msg_has_option(const struct sip_msg *m, enum sip_hdr_id id, const char *opt);
/* For a 420: writes into out (up to cap) the Require and Proxy-Require
 * option tags of m that are not in the NULL-terminated list known. Returns
 * how many there are (may exceed cap). */
size_t sip_msg_unsupported(const struct sip_msg *m, const char *const *known,
                           struct sip_str *out, size_t cap);

/* ------------------------------------------------------------------ values */

/* Case-sensitive / case-insensitive comparison of a slice with a C string. */
int sip_str_eq(struct sip_str a, const char *s);
int sip_str_ieq(struct sip_str a, const char *s);

/* Looks up parameter name (case-insensitive) in a ";a=b;c" slice such as
 * sip_uri.params, sip_addr.params or sip_via.params. Returns 1 when present
 * (*value set; p == NULL when it has no '=value'), 0 when absent. Quotes of
 * a quoted value are kept. */
int sip_param_find(struct sip_str params, const char *name, struct sip_str *value);

/* Decodes %HH escapes (URI user, password, parameters). Returns the decoded
 * length (no terminating NUL written) or -EBADMSG (bad escape), -ENOSPC. */
long sip_unescape(struct sip_str s, char *out, size_t cap);
/* Decodes a quoted-string's backslash escapes; surrounding quotes, if
 * present, are removed; a fold becomes one space. Returns the length or
 * -EBADMSG, -ENOSPC. */
long sip_unquote(struct sip_str s, char *out, size_t cap);

/* Parses a URI of n bytes (sip:, sips: broken down; other absoluteURIs
 * accepted with scheme SIP_SCHEME_OTHER/TEL). Returns 0 or -EBADMSG. */
int sip_parse_uri(const char *p, size_t n, struct sip_uri *u);
/* Parses one name-addr / addr-spec with header params. Returns 0 or
 * -EBADMSG. */
int sip_parse_addr(const char *p, size_t n, struct sip_addr *a);

/* ------------------------------------------------------------------ editor */

/* The editor forwards a parsed message changed by a few edits, copying every
 * untouched byte as it came. Edits are recorded (text given by the caller is
 * copied into the editor, so it need not outlive the call) and applied in
 * message order by sip_edit_write(). An edit that cannot be made (no such
 * header, bad text, the editor's space used up) sets e->err; every later
 * call is a no-op and sip_edit_write() returns that error. Two edits of the
 * same bytes (e.g. removing the top Via and then adding received= to it) are
 * -EINVAL. List edits act on the message as parsed: "the top Via" is always
 * m->via[0], even after a Via was prepended. */
#define SIP_EDIT_MAX_OPS 24
#define SIP_EDIT_SPACE 4096

struct sip_edit_op {
    uint32_t off, del;      /* replace del bytes of m->buf at off ... */
    uint16_t ins_off, ins;  /* ... with ins bytes of e->space at ins_off */
    uint16_t seq;           /* call order, to keep inserts at one offset in order */
};

struct sip_edit {
    const struct sip_msg *m;
    struct sip_edit_op op[SIP_EDIT_MAX_OPS];
    size_t nop;
    char space[SIP_EDIT_SPACE];
    size_t used;
    const char *body;       /* replacement body (caller-owned until write), or NULL */
    size_t body_len;
    int fix_length;         /* write a correct Content-Length (adds one if absent) */
    int err;
};

/* Starts editing m (which must have parsed successfully). */
void sip_edit_init(struct sip_edit *e, const struct sip_msg *m);

/* Inserts a new top value of a list header (SIP_H_VIA, SIP_H_ROUTE,
 * SIP_H_RECORD_ROUTE, SIP_H_PATH) as its own header line "Name: value"
 * before the first such header line (or, when there is none, before the
 * other Vias' position: right after the start line for Via, at the end of
 * the head otherwise). value is the text after the colon, without CRLF. */
void sip_edit_list_prepend(struct sip_edit *e, enum sip_hdr_id id, const char *value);
/* Removes the top value of a list header: the whole line when it holds only
 * that value, else the value and its comma. -ENOENT when the list is empty. */
void sip_edit_list_remove_top(struct sip_edit *e, enum sip_hdr_id id);
/* Sets received= (when received is not NULL) and rport= (when rport > 0)
 * on the top Via (RFC 3581 section 4): an existing received value is
 * replaced, else received= is appended; rport is filled in only when the
 * Via carries ";rport" (bare or with a value), as RFC 3581 asks.
 * received must be a host (IPv4, or IPv6 with or without brackets). */
void sip_edit_via_received(struct sip_edit *e, const char *received, int rport);
/* Max-Forwards: writes value (0..255) over the present one(s), or adds
 * "Max-Forwards: value" when absent. */
void sip_edit_max_forwards(struct sip_edit *e, int value);
/* Replaces every header line named name (case-insensitive, compact forms
 * too) by one "name: value" line where the first stood, or appends it at
 * the end of the head when absent. value NULL removes them all. */
void sip_edit_header_set(struct sip_edit *e, const char *name, const char *value);
/* Appends "name: value" at the end of the head. */
void sip_edit_header_add(struct sip_edit *e, const char *name, const char *value);
/* Replaces the display name of From (SIP_H_FROM) or To (SIP_H_TO), keeping
 * URI and parameters byte for byte: display is plain text, written as a
 * quoted-string with '"' and '\' escaped; NULL removes it. An addr-spec
 * value gets its URI wrapped in <> so the parameters stay header params. */
void sip_edit_display(struct sip_edit *e, enum sip_hdr_id id, const char *display);
/* Replaces the Request-URI (requests only). */
void sip_edit_ruri(struct sip_edit *e, const char *uri);
/* Replaces the body (the bytes are read at write time: they must stay
 * alive until then) and fixes Content-Length. */
void sip_edit_body(struct sip_edit *e, const char *body, size_t n);
/* Makes sure the output has a Content-Length equal to its body: rewrites a
 * wrong value, adds "Content-Length: N" when the header is absent (needed
 * to forward a UDP message without one over a stream). */
void sip_edit_fix_length(struct sip_edit *e);

/* Writes the edited message into out. Returns its length, or e->err,
 * -ENOSPC when it does not fit, -EINVAL for overlapping edits. With no
 * edit the output is exactly m->buf[0 .. m->len) (minus CRLFs that preceded
 * the start line). */
long sip_edit_write(const struct sip_edit *e, char *out, size_t cap);

/* ------------------------------------------------------------------ responses */

/* What sip_build_response adds to the copied headers. Zero means none. */
struct sip_resp_opts {
    const char *to_tag;       /* tag (a token, at most 64 bytes) for To when the
                                 request's To has none; ignored for 100
                                 (RFC 3261 section 8.2.6.2) */
    const char *received;     /* received= for the top Via: an IPv4 or IPv6
                                 address, at most 64 bytes (NULL: none) */
    int rport;                /* rport= (1..65535) for the top Via when it has
                                 ";rport" (RFC 3581 section 4); 0: none */
    const char *extra;        /* extra header lines, each ending in CRLF */
    const char *body;         /* body bytes, body_len of them */
    size_t body_len;
    const char *content_type; /* Content-Type when there is a body */
};

/* Builds the response to request req (RFC 3261 section 8.2.6): status line
 * "SIP/2.0 status reason", every Via as received (the top one with
 * received/rport from o), From, To (with o->to_tag added when it has no
 * tag), Call-ID, CSeq, o->extra, Content-Type when a body is given, and
 * Content-Length. status 100..699; reason without CR/LF (NULL: a standard
 * phrase from sip_reason). o may be NULL. Returns the length, -ENOSPC,
 * -EINVAL. */
long sip_build_response(const struct sip_msg *req, int status, const char *reason,
                        const struct sip_resp_opts *o, char *out, size_t cap);

/* The standard reason phrase of a status code ("Not Found"), or "Unknown". */
const char *sip_reason(int status);

#endif
