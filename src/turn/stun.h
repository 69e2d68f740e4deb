/*
 * turn/stun.h - STUN (RFC 8489 / RFC 5389) and TURN (RFC 8656 / RFC 5766)
 * message codec.
 *
 * Pure code: it takes bytes and returns values. No libuv, no allocation, no
 * globals. A parsed message points into the caller's buffer, which must stay
 * alive and unchanged while the message is used. The builder writes into a
 * caller-owned buffer and records overflow instead of writing past it.
 *
 * HMACs are computed with BearSSL's streaming HMAC directly, because the
 * MESSAGE-INTEGRITY input is the message with a rewritten length field, and
 * a streaming hash avoids copying the message to rewrite it.
 */
#ifndef T9_TURN_STUN_H
#define T9_TURN_STUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define STUN_HEADER_LEN 20
#define STUN_MAGIC 0x2112A442u
#define STUN_TID_LEN 12
#define STUN_MAX_ATTRS 48 /* attributes kept per message; more is malformed */
#define STUN_FINGERPRINT_XOR 0x5354554eu

/* Message classes (the two C bits of the type, as a number 0..3). */
enum stun_class {
    STUN_REQUEST = 0,
    STUN_INDICATION = 1,
    STUN_SUCCESS = 2,
    STUN_ERROR = 3,
};

/* Methods. */
enum {
    STUN_BINDING = 0x001,
    TURN_ALLOCATE = 0x003,
    TURN_REFRESH = 0x004,
    TURN_SEND = 0x006,
    TURN_DATA = 0x007,
    TURN_CREATE_PERMISSION = 0x008,
    TURN_CHANNEL_BIND = 0x009,
};

/* Attribute types. */
enum {
    STUN_A_MAPPED_ADDRESS = 0x0001,
    STUN_A_CHANGE_REQUEST = 0x0003,
    STUN_A_USERNAME = 0x0006,
    STUN_A_MESSAGE_INTEGRITY = 0x0008,
    STUN_A_ERROR_CODE = 0x0009,
    STUN_A_UNKNOWN_ATTRIBUTES = 0x000A,
    STUN_A_CHANNEL_NUMBER = 0x000C,
    STUN_A_LIFETIME = 0x000D,
    STUN_A_XOR_PEER_ADDRESS = 0x0012,
    STUN_A_DATA = 0x0013,
    STUN_A_REALM = 0x0014,
    STUN_A_NONCE = 0x0015,
    STUN_A_XOR_RELAYED_ADDRESS = 0x0016,
    STUN_A_REQUESTED_ADDRESS_FAMILY = 0x0017,
    STUN_A_EVEN_PORT = 0x0018,
    STUN_A_REQUESTED_TRANSPORT = 0x0019,
    STUN_A_DONT_FRAGMENT = 0x001A,
    STUN_A_MESSAGE_INTEGRITY_SHA256 = 0x001C,
    STUN_A_PASSWORD_ALGORITHM = 0x001D,
    STUN_A_USERHASH = 0x001E,
    STUN_A_XOR_MAPPED_ADDRESS = 0x0020,
    STUN_A_RESERVATION_TOKEN = 0x0022,
    STUN_A_PRIORITY = 0x0024,
    STUN_A_USE_CANDIDATE = 0x0025,
    STUN_A_PADDING = 0x0026,
    STUN_A_RESPONSE_PORT = 0x0027,
    STUN_A_CONNECTION_ID = 0x002A,
    STUN_A_ADDITIONAL_ADDRESS_FAMILY = 0x8000,
    STUN_A_ADDRESS_ERROR_CODE = 0x8001,
    STUN_A_PASSWORD_ALGORITHMS = 0x8002,
    STUN_A_ALTERNATE_DOMAIN = 0x8003,
    STUN_A_ICMP = 0x8004,
    STUN_A_SOFTWARE = 0x8022,
    STUN_A_ALTERNATE_SERVER = 0x8023,
    STUN_A_FINGERPRINT = 0x8028,
    STUN_A_ICE_CONTROLLED = 0x8029,
    STUN_A_ICE_CONTROLLING = 0x802A,
    STUN_A_RESPONSE_ORIGIN = 0x802B,
    STUN_A_OTHER_ADDRESS = 0x802C,
};

/* Address families inside address attributes and REQUESTED-ADDRESS-FAMILY. */
#define STUN_FAMILY_IPV4 0x01
#define STUN_FAMILY_IPV6 0x02

/* Transport protocol number in REQUESTED-TRANSPORT. */
#define STUN_TRANSPORT_UDP 17

/* Channel numbers. RFC 8656 narrows RFC 5766's 0x4000-0x7FFF to 0x4FFF,
 * but coturn and its clients (turnutils_uclient) use the whole RFC 5766
 * range, so the server accepts it. */
#define TURN_CHANNEL_MIN 0x4000
#define TURN_CHANNEL_MAX 0x7FFF

struct stun_attr {
    uint16_t type;
    uint16_t len;        /* value length without padding */
    const uint8_t *val;  /* points into the message buffer */
};

struct stun_msg {
    const uint8_t *buf;  /* the whole message */
    size_t len;          /* STUN_HEADER_LEN + body length */
    uint16_t method;
    uint8_t cls;         /* enum stun_class */
    const uint8_t *tid;  /* STUN_TID_LEN bytes */
    size_t nattrs;
    struct stun_attr attrs[STUN_MAX_ATTRS];
    /* Offsets of the attribute headers in buf, or -1 when absent. */
    int mi_off, mi256_off, fp_off;
};

/* Parses one complete STUN message of exactly len bytes (a datagram, or a
 * frame cut by stun_frame_len). Checks the header (zero top bits, magic
 * cookie, length multiple of 4 and equal to len - 20), every attribute's
 * bounds and padding, the sizes of MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256
 * and FINGERPRINT, and that FINGERPRINT is last. Attributes that follow
 * MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are
 * skipped, as RFC 8489 section 14.5 says. Padding content is ignored.
 * Returns 0, or -EBADMSG for anything malformed, -E2BIG when more than
 * STUN_MAX_ATTRS attributes would be kept. */
int stun_parse(const uint8_t *buf, size_t len, struct stun_msg *m);

/* Quick test used to demultiplex: 1 if buf looks like a STUN message
 * (top bits 00 and magic cookie), 0 otherwise. */
int stun_is_stun(const uint8_t *buf, size_t len);

/* 1 if the first byte marks a TURN ChannelData message (top bits 01). */
int stun_is_channeldata(const uint8_t *buf, size_t len);

/* Parses a ChannelData message from a datagram: channel number and payload.
 * Extra bytes after the payload (padding) are allowed. Returns 0 or
 * -EBADMSG. */
int stun_parse_channeldata(const uint8_t *buf, size_t len, uint16_t *chan,
                           const uint8_t **data, size_t *dlen);

/* For stream transports: how many bytes the frame starting at buf occupies
 * (a STUN message, or a ChannelData message padded to 4 bytes as RFC 8656
 * section 12.5 requires over streams). Returns the length (which may exceed
 * avail), 0 when fewer than 4 bytes are available, or -EBADMSG when the
 * bytes are neither. */
long stun_frame_len(const uint8_t *buf, size_t avail);

/* Finds the first attribute of the given type, or NULL. */
const struct stun_attr *stun_find(const struct stun_msg *m, uint16_t type);
/* Finds the next attribute of the type after prev (NULL starts over). */
const struct stun_attr *stun_find_next(const struct stun_msg *m, uint16_t type,
                                       const struct stun_attr *prev);

/* Decodes an XOR-*-ADDRESS attribute into a sockaddr_in / sockaddr_in6.
 * Returns 0 or -EBADMSG (bad length or family). */
int stun_get_xor_addr(const struct stun_msg *m, const struct stun_attr *a,
                      struct sockaddr_storage *out);
/* Decodes a plain MAPPED-ADDRESS style attribute. */
int stun_get_addr(const struct stun_attr *a, struct sockaddr_storage *out);
/* Reads a 4-byte attribute value. Returns 0 or -EBADMSG. */
int stun_get_u32(const struct stun_attr *a, uint32_t *out);
/* Reads ERROR-CODE: code (300..699) and reason (not terminated). */
int stun_get_error(const struct stun_attr *a, int *code, const char **reason,
                   size_t *reason_len);

/* Checks FINGERPRINT: 1 when present and right, 0 when absent, -EBADMSG when
 * present and wrong. */
int stun_check_fingerprint(const struct stun_msg *m);
/* Checks MESSAGE-INTEGRITY (HMAC-SHA1) with key: 0 when right, -ENOENT when
 * absent, -EACCES when wrong. Comparison is constant-time. */
int stun_check_integrity(const struct stun_msg *m, const uint8_t *key, size_t keylen);
/* Same for MESSAGE-INTEGRITY-SHA256 (16..32 byte truncations allowed). */
int stun_check_integrity_sha256(const struct stun_msg *m, const uint8_t *key, size_t keylen);

/* CRC-32 (ISO-HDLC, as zlib), as FINGERPRINT uses before its XOR. */
uint32_t stun_crc32(const uint8_t *p, size_t n);

/* Builder over a caller-owned buffer. Any overflow makes every later call a
 * no-op and stun_build_end() return -ENOSPC. */
struct stun_builder {
    uint8_t *buf;
    size_t cap, len;
    int err;
};

/* Starts a message: header with the method/class and transaction id. */
void stun_build_init(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t method,
                     uint8_t cls, const uint8_t tid[STUN_TID_LEN]);
/* Appends an attribute with value bytes, zero padding to 4 bytes. */
void stun_put(struct stun_builder *b, uint16_t type, const void *val, size_t len);
void stun_put_u32(struct stun_builder *b, uint16_t type, uint32_t v);
/* XOR-*-ADDRESS from a sockaddr_in/sockaddr_in6 (-EAFNOSUPPORT otherwise). */
void stun_put_xor_addr(struct stun_builder *b, uint16_t type, const struct sockaddr *sa);
/* ERROR-CODE with code 300..699 and a reason phrase. */
void stun_put_error(struct stun_builder *b, int code, const char *reason);
/* UNKNOWN-ATTRIBUTES listing n types. */
void stun_put_unknown(struct stun_builder *b, const uint16_t *types, size_t n);
/* MESSAGE-INTEGRITY over everything so far (HMAC-SHA1 with key). */
void stun_put_integrity(struct stun_builder *b, const uint8_t *key, size_t keylen);
/* MESSAGE-INTEGRITY-SHA256, full 32 bytes. */
void stun_put_integrity_sha256(struct stun_builder *b, const uint8_t *key, size_t keylen);
/* FINGERPRINT; must be the last attribute. */
void stun_put_fingerprint(struct stun_builder *b);
/* Returns the message length, or a negative error (-ENOSPC, -EINVAL). */
long stun_build_end(const struct stun_builder *b);

/* Message type word for a method and class. */
uint16_t stun_type(uint16_t method, uint8_t cls);

/* The standard reason phrase for an error code ("Bad Request", ...). */
const char *stun_reason(int code);

#endif
