/*
 * sip/lex.re - the lexical layer of the SIP parser: header names (with their
 * compact forms, case-insensitive), method names, and the character-class
 * scanners of RFC 3261 section 25.1. See sip/lex.h. re2c turns this file
 * into C at build time (src/Makefile).
 *
 * The generated code reads through YYPEEK, which returns NUL past the end of
 * the slice, so no scanner reads outside s[0 .. n) and none needs a
 * terminated string. An index (not a pointer) walks the input so that a
 * match ending on that virtual NUL can be told from a real NUL byte.
 */
#include "sip/lex.h"
#include "sip/msg.h"

/*!re2c
    re2c:api = custom;
    re2c:api:style = free-form;
    re2c:define:YYCTYPE = "unsigned char";
    re2c:define:YYPEEK = "(i < n ? (unsigned char)s[i] : 0)";
    re2c:define:YYSKIP = "++i;";
    re2c:define:YYBACKUP = "mar = i;";
    re2c:define:YYRESTORE = "i = mar;";
    re2c:yyfill:enable = 0;
    re2c:indent:string = "    ";

    end = "\x00";
    alpha = [a-zA-Z];
    digit = [0-9];
    alnum = [a-zA-Z0-9];
    hex = [0-9a-fA-F];
    mark = [-_.!~*'()];
    unreserved = alnum | mark;
    escaped = "%" hex hex;
    tokenchar = alnum | [-.!%*_+`'~];
*/

enum sip_hdr_id sip_hdr_lookup(const char *s, size_t n)
{
    size_t i = 0, mar = 0;
    (void)mar;
    /*!re2c
        ('via' | 'v') end                  { goto via; }
        ('from' | 'f') end                 { goto from; }
        ('to' | 't') end                   { goto to; }
        ('call-id' | 'i') end              { goto call_id; }
        'cseq' end                         { goto cseq; }
        'max-forwards' end                 { goto max_forwards; }
        ('content-length' | 'l') end       { goto content_length; }
        ('content-type' | 'c') end         { goto content_type; }
        ('content-encoding' | 'e') end     { goto content_encoding; }
        ('contact' | 'm') end              { goto contact; }
        'expires' end                      { goto expires; }
        'min-expires' end                  { goto min_expires; }
        'route' end                        { goto route; }
        'record-route' end                 { goto record_route; }
        'path' end                         { goto path; }
        'authorization' end                { goto authorization; }
        'proxy-authorization' end          { goto proxy_authorization; }
        'www-authenticate' end             { goto www_authenticate; }
        'proxy-authenticate' end           { goto proxy_authenticate; }
        ('supported' | 'k') end            { goto supported; }
        'require' end                      { goto require; }
        'proxy-require' end                { goto proxy_require; }
        'unsupported' end                  { goto unsupported; }
        'allow' end                        { goto allow; }
        'user-agent' end                   { goto user_agent; }
        'server' end                       { goto server; }
        ('subject' | 's') end              { goto subject; }
        ('event' | 'o') end                { goto event; }
        ('allow-events' | 'u') end         { goto allow_events; }
        ('refer-to' | 'r') end             { goto refer_to; }
        ('referred-by' | 'b') end          { goto referred_by; }
        ('session-expires' | 'x') end      { goto session_expires; }
        ('identity' | 'y') end             { goto identity; }
        'p-asserted-identity' end          { goto p_asserted_identity; }
        *                                  { return SIP_H_OTHER; }
    */
    /* Every match ends with the NUL read past the end: i == n + 1 then. A NUL
     * byte inside the name makes i smaller and the name unknown. */
#define HDR(label, id) label: return i == n + 1 ? id : SIP_H_OTHER
    HDR(via, SIP_H_VIA);
    HDR(from, SIP_H_FROM);
    HDR(to, SIP_H_TO);
    HDR(call_id, SIP_H_CALL_ID);
    HDR(cseq, SIP_H_CSEQ);
    HDR(max_forwards, SIP_H_MAX_FORWARDS);
    HDR(content_length, SIP_H_CONTENT_LENGTH);
    HDR(content_type, SIP_H_CONTENT_TYPE);
    HDR(content_encoding, SIP_H_CONTENT_ENCODING);
    HDR(contact, SIP_H_CONTACT);
    HDR(expires, SIP_H_EXPIRES);
    HDR(min_expires, SIP_H_MIN_EXPIRES);
    HDR(route, SIP_H_ROUTE);
    HDR(record_route, SIP_H_RECORD_ROUTE);
    HDR(path, SIP_H_PATH);
    HDR(authorization, SIP_H_AUTHORIZATION);
    HDR(proxy_authorization, SIP_H_PROXY_AUTHORIZATION);
    HDR(www_authenticate, SIP_H_WWW_AUTHENTICATE);
    HDR(proxy_authenticate, SIP_H_PROXY_AUTHENTICATE);
    HDR(supported, SIP_H_SUPPORTED);
    HDR(require, SIP_H_REQUIRE);
    HDR(proxy_require, SIP_H_PROXY_REQUIRE);
    HDR(unsupported, SIP_H_UNSUPPORTED);
    HDR(allow, SIP_H_ALLOW);
    HDR(user_agent, SIP_H_USER_AGENT);
    HDR(server, SIP_H_SERVER);
    HDR(subject, SIP_H_SUBJECT);
    HDR(event, SIP_H_EVENT);
    HDR(allow_events, SIP_H_ALLOW_EVENTS);
    HDR(refer_to, SIP_H_REFER_TO);
    HDR(referred_by, SIP_H_REFERRED_BY);
    HDR(session_expires, SIP_H_SESSION_EXPIRES);
    HDR(identity, SIP_H_IDENTITY);
    HDR(p_asserted_identity, SIP_H_P_ASSERTED_IDENTITY);
#undef HDR
}

enum sip_method sip_method_lookup(const char *s, size_t n)
{
    size_t i = 0, mar = 0;
    enum sip_method id;
    (void)mar;
    /*!re2c
        "INVITE" end     { id = SIP_M_INVITE; goto done; }
        "ACK" end        { id = SIP_M_ACK; goto done; }
        "BYE" end        { id = SIP_M_BYE; goto done; }
        "CANCEL" end     { id = SIP_M_CANCEL; goto done; }
        "REGISTER" end   { id = SIP_M_REGISTER; goto done; }
        "OPTIONS" end    { id = SIP_M_OPTIONS; goto done; }
        "INFO" end       { id = SIP_M_INFO; goto done; }
        "PRACK" end      { id = SIP_M_PRACK; goto done; }
        "UPDATE" end     { id = SIP_M_UPDATE; goto done; }
        "SUBSCRIBE" end  { id = SIP_M_SUBSCRIBE; goto done; }
        "NOTIFY" end     { id = SIP_M_NOTIFY; goto done; }
        "PUBLISH" end    { id = SIP_M_PUBLISH; goto done; }
        "MESSAGE" end    { id = SIP_M_MESSAGE; goto done; }
        "REFER" end      { id = SIP_M_REFER; goto done; }
        *                { return SIP_M_OTHER; }
    */
done:
    return i == n + 1 ? id : SIP_M_OTHER;
}

size_t sip_lex_token(const char *s, size_t n)
{
    size_t i = 0, mar = 0;
    (void)mar;
    /*!re2c
        tokenchar+  { return i; }
        *           { return 0; }
    */
}

size_t sip_lex_word(const char *s, size_t n)
{
    size_t i = 0, mar = 0;
    (void)mar;
    /*!re2c
        (tokenchar | [()<>:\\"/[\]?{}])+  { return i; }
        *                                  { return 0; }
    */
}

size_t sip_lex_host(const char *s, size_t n, int *kind)
{
    size_t i = 0, mar = 0;
    (void)mar;
    /*!re2c
        label = alnum ([a-zA-Z0-9-]* alnum)?;
        toplabel = alpha ([a-zA-Z0-9-]* alnum)?;
        hostname = (label ".")* toplabel "."?;
        dec = digit{1,3};
        ipv4 = dec "." dec "." dec "." dec;
        h16 = hex{1,4};
        ls32 = h16 ":" h16 | ipv4;
        ipv6 = (h16 ":"){6} ls32
             | "::" (h16 ":"){5} ls32
             | h16? "::" (h16 ":"){4} ls32
             | ((h16 ":"){0,1} h16)? "::" (h16 ":"){3} ls32
             | ((h16 ":"){0,2} h16)? "::" (h16 ":"){2} ls32
             | ((h16 ":"){0,3} h16)? "::" h16 ":" ls32
             | ((h16 ":"){0,4} h16)? "::" ls32
             | ((h16 ":"){0,5} h16)? "::" h16
             | ((h16 ":"){0,6} h16)? "::";

        ipv4            { *kind = SIP_LEX_HOST_IPV4; return i; }
        hostname        { *kind = SIP_LEX_HOST_NAME; return i; }
        "[" ipv6 "]"    { *kind = SIP_LEX_HOST_IPV6REF; return i; }
        ipv6            { *kind = SIP_LEX_HOST_IPV6; return i; }
        *               { *kind = 0; return 0; }
    */
}

size_t sip_lex_user(const char *s, size_t n)
{
    size_t i = 0, mar = 0;
    (void)mar;
    /*!re2c
        (unreserved | escaped | [&=+$,;?/])+  { return i; }
        *                                      { return 0; }
    */
}

size_t sip_lex_password(const char *s, size_t n)
{
    size_t i = 0, mar = 0;
    (void)mar;
    /*!re2c
        (unreserved | escaped | [&=+$,])+  { return i; }
        *                                  { return 0; }
    */
}

size_t sip_lex_paramchars(const char *s, size_t n)
{
    size_t i = 0, mar = 0;
    (void)mar;
    /*!re2c
        ([[\]/:&+$] | unreserved | escaped)+  { return i; }
        *                                     { return 0; }
    */
}

size_t sip_lex_hnvchars(const char *s, size_t n)
{
    size_t i = 0, mar = 0;
    (void)mar;
    /*!re2c
        ([[\]/?:+$] | unreserved | escaped)+  { return i; }
        *                                     { return 0; }
    */
}

size_t sip_lex_uric(const char *s, size_t n)
{
    size_t i = 0, mar = 0;
    (void)mar;
    /*!re2c
        ([;/?:@&=+$,[\]] | unreserved | escaped)+  { return i; }
        *                                          { return 0; }
    */
}

size_t sip_lex_scheme(const char *s, size_t n)
{
    size_t i = 0, mar = 0;
    (void)mar;
    /*!re2c
        alpha [a-zA-Z0-9+.-]*  { return i; }
        *                      { return 0; }
    */
}
