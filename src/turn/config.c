/*
 * turn/config.c - TURN configuration keys (coturn names, defaults, meaning).
 */
#include "turn/config.h"

#define STR(n, d, h) { n, CONFIG_STRING, d, 0, 0, NULL, 0, h }
#define MULTI(n, h) { n, CONFIG_STRING, NULL, 0, 0, NULL, CONFIG_MULTI, h }
#define INT(n, d, lo, hi, h) { n, CONFIG_INT, d, lo, hi, NULL, 0, h }
#define BOOL(n, h) { n, CONFIG_BOOL, "false", 0, 0, NULL, 0, h }
#define ENUM(n, d, c, h) { n, CONFIG_ENUM, d, 0, 0, c, 0, h }
/* Keys T9phone refuses or accepts without effect: a switch (bare key) or a
 * valued key, as coturn spells them. */
#define NO_SW(n, h) { n, CONFIG_BOOL, NULL, 0, 0, NULL, CONFIG_UNSUPPORTED, h }
#define NO_VAL(n, h) { n, CONFIG_STRING, NULL, 0, 0, NULL, CONFIG_UNSUPPORTED | CONFIG_MULTI, h }
#define IGN_SW(n, h) { n, CONFIG_BOOL, NULL, 0, 0, NULL, CONFIG_IGNORED, h }
#define IGN_VAL(n, h) { n, CONFIG_STRING, NULL, 0, 0, NULL, CONFIG_IGNORED | CONFIG_MULTI, h }

const struct config_key turn_config_keys[] = {
    /* ---------------------------------------------------------- listeners */
    INT("listening-port", "3478", 1, 65535, "TURN/STUN port for UDP and TCP clients"),
    INT("tls-listening-port", "5349", 1, 65535, "TURN/STUN port for TLS clients"),
    MULTI("listening-ip", "address to listen on (repeatable); default all IPv4 and IPv6 "
                          "addresses"),
    MULTI("relay-ip", "address relayed transport addresses are taken from (repeatable); "
                      "default the listening addresses, or the first non-loopback address of "
                      "each family when listening on all"),
    MULTI("external-ip", "public address to advertise for a relay address behind 1:1 NAT: "
                         "`public` or `public/private` (repeatable, one per relay address)"),
    INT("min-port", "49152", 1, 65535, "lower bound of the UDP relay port range"),
    INT("max-port", "65535", 1, 65535, "upper bound of the UDP relay port range"),
    BOOL("no-udp", "no UDP client listener"),
    BOOL("no-tcp", "no TCP client listener"),
    BOOL("no-tls", "no TLS client listener"),
    BOOL("no-dtls", "no DTLS client listener (T9phone has none: DTLS is later work)"),
    BOOL("no-tcp-relay", "no TCP relaying (RFC 6062); T9phone relays UDP only, so always true"),
    BOOL("no-tlsv1", "refuse TLS 1.0 (always: T9phone speaks TLS 1.2 only)"),
    BOOL("no-tlsv1_1", "refuse TLS 1.1 (always: T9phone speaks TLS 1.2 only)"),
    STR("cert", NULL, "PEM certificate chain for TLS (TURN, later SIP and the portal); "
                      "reloaded on SIGHUP. No TLS listener without it"),
    STR("pkey", NULL, "PEM private key (RSA or EC) for cert"),
    /* ---------------------------------------------------------- auth */
    BOOL("lt-cred-mech", "long-term credentials; always on in T9phone (accepted for coturn "
                         "files)"),
    { "no-auth", CONFIG_BOOL, NULL, 0, 0, NULL, CONFIG_UNSUPPORTED,
      "an open relay is refused: every allocation needs a T9phone or REST credential" },
    BOOL("use-auth-secret", "accept TURN REST API credentials (username `expiry:name`, "
                            "password base64(HMAC-SHA1(secret, username)))"),
    { "static-auth-secret", CONFIG_STRING, NULL, 0, 0, NULL, CONFIG_MULTI | CONFIG_SECRET,
      "shared secret for use-auth-secret; repeat for rotation. Give it in the file or the "
      "environment: on the command line it is masked after parsing, but was visible until then" },
    STR("rest-api-separator", ":", "separator between expiry and name in REST usernames"),
    /* Bare `stale-nonce` means 600, as in coturn. */
    { "stale-nonce", CONFIG_INT, "600", 0, 86400 * 365, "600", 0,
      "nonce lifetime in seconds (0: unlimited; bare: 600); a stale nonce is answered 438" },
    /* ---------------------------------------------------------- limits */
    INT("user-quota", "0", 0, 1000000, "allocations per username at once (0: unlimited)"),
    INT("total-quota", "0", 0, 1000000, "allocations at once on this server (0: unlimited)"),
    INT("max-bps", "0", 0, 2000000000, "bytes per second one allocation may relay in each "
                                       "direction (0: unlimited)"),
    INT("bps-capacity", "0", 0, 2000000000, "bytes per second all allocations together may "
                                            "relay in each direction (0: unlimited)"),
    INT("turn-max-connections", "1024", 0, 65535, "T9phone: open TCP and TLS client connections "
                                                "at most (about 50 KiB each, 90 KiB with TLS); "
                                                "more are closed at once"),
    INT("turn-max-connections-per-ip", "64", 0, 65535, "T9phone: open TCP and TLS client "
                                                       "connections from one IP address at "
                                                       "most (0: no cap); more are closed at once"),
    INT("turn-frame-timeout", "10", 1, 3600, "T9phone: seconds a STUN or ChannelData frame over "
                                             "TCP/TLS may take to arrive whole, from its first "
                                             "byte; slower connections are closed"),
    INT("turn-idle-timeout", "60", 1, 86400, "T9phone: seconds a TCP/TLS connection without an "
                                             "allocation may go without a whole frame"),
    INT("turn-handshake-timeout", "10", 1, 3600, "T9phone: seconds a TLS handshake may take"),
    INT("turn-unauthenticated-timeout", "10", 1, 3600, "T9phone: seconds a TCP/TLS connection "
                                                       "may stay open before one of its requests "
                                                       "authenticates"),
    INT("max-allocate-lifetime", "3600", 1, 86400, "longest allocation lifetime in seconds"),
    INT("channel-lifetime", "600", 1, 86400, "channel binding lifetime in seconds"),
    INT("permission-lifetime", "300", 1, 86400, "permission lifetime in seconds"),
    ENUM("allocation-default-address-family", "ipv4", "ipv4|ipv6|keep",
         "relay family when an Allocate does not ask: ipv4, ipv6, or keep the client's"),
    /* ---------------------------------------------------------- peers */
    MULTI("denied-peer-ip", "peer address or range (a, a-b or a/len) never relayed to"),
    MULTI("allowed-peer-ip", "peer address or range relayed to even when denied "
                             "(by denied-peer-ip or by T9phone's default denials)"),
    BOOL("allow-loopback-peers", "allow loopback peers (for tests only)"),
    BOOL("no-multicast-peers", "deny multicast peers (T9phone's default anyway; with this key "
                               "allowed-peer-ip cannot re-allow them)"),
    IGN_SW("no-loopback-peers", "loopback peers are denied by default"),
    /* ---------------------------------------------------------- behaviour */
    BOOL("fingerprint", "add FINGERPRINT to every message (otherwise only when the request "
                        "had one)"),
    BOOL("no-stun", "answer no STUN Binding requests (TURN only)"),
    BOOL("stun-only", "answer STUN Binding requests only, no TURN"),
    BOOL("no-software-attribute", "send no SOFTWARE attribute"),
    BOOL("no-rfc5780", "no RFC 5780 NAT behaviour discovery (T9phone has none)"),
    BOOL("no-stun-backward-compatibility", "no RFC 3489 STUN (T9phone has none)"),
    BOOL("response-origin-only-with-rfc5780", "no RESPONSE-ORIGIN (T9phone sends none)"),
    BOOL("no-cli", "no telnet CLI (T9phone has none)"),
    /* ---------------------------------------------------------- ignored */
    IGN_SW("verbose", "use log-level=debug"),
    IGN_SW("Verbose", "use log-level=debug"),
    IGN_VAL("log-file", "T9phone logs to stderr only"),
    IGN_SW("no-stdout-log", "T9phone logs to stderr only"),
    IGN_SW("syslog", "T9phone logs to stderr only"),
    IGN_SW("simple-log", "T9phone logs to stderr only"),
    IGN_SW("new-log-timestamp", "T9phone's log lines have their own timestamps"),
    IGN_VAL("new-log-timestamp-format", "T9phone's log lines have their own timestamps"),
    IGN_SW("log-binding", "T9phone never logs who sent a request"),
    IGN_VAL("pidfile", "T9phone runs in the foreground, without a pid file"),
    IGN_VAL("relay-threads", "T9phone runs one event loop"),
    IGN_VAL("general-threads", "T9phone runs one event loop"),
    IGN_SW("udp-self-balance", "T9phone runs one event loop"),
    IGN_VAL("server-name", "T9phone has one server name"),
    IGN_VAL("cipher-list", "BearSSL's TLS 1.2 AEAD suites are fixed"),
    IGN_VAL("ec-curve-name", "BearSSL chooses the ECDHE curve"),
    IGN_VAL("dh-file", "T9phone uses ECDHE only"),
    IGN_SW("dh566", "T9phone uses ECDHE only"),
    IGN_SW("dh1066", "T9phone uses ECDHE only"),
    IGN_SW("dh2066", "T9phone uses ECDHE only"),
    IGN_SW("keep-address-family", "deprecated in coturn"),
    IGN_SW("no-dynamic-ip-list", "T9phone has no database-driven IP lists"),
    IGN_SW("no-dynamic-realms", "T9phone has one realm"),
    IGN_VAL("max-allocate-timeout", "only used by TCP relaying, which T9phone lacks"),
    /* ---------------------------------------------------------- refused */
    NO_SW("no-tlsv1_2", "T9phone's TLS is 1.2 only; nothing would be left"),
    NO_SW("no-udp-relay", "T9phone relays UDP only; nothing would be left"),
    NO_VAL("pkey-pwd", "encrypted private keys are not supported; give an unencrypted key"),
    NO_VAL("CA-file", "client certificates are not supported"),
    NO_VAL("user", "static users with passwords in the config are not supported: use T9phone "
                   "accounts or REST credentials"),
    NO_VAL("userdb", "credentials come from T9phone's own database"),
    NO_VAL("psql-userdb", "credentials come from T9phone's own database"),
    NO_VAL("mysql-userdb", "credentials come from T9phone's own database"),
    NO_VAL("mongo-userdb", "credentials come from T9phone's own database"),
    NO_VAL("redis-userdb", "credentials come from T9phone's own database"),
    NO_VAL("redis-statsdb", "T9phone keeps no statistics database"),
    NO_SW("oauth", "third-party authorization (RFC 7635) is not supported"),
    NO_SW("secure-stun", "authenticated Binding requests are not supported"),
    NO_SW("mobility", "MOBILITY-TICKET (RFC 8016) is not supported"),
    NO_VAL("alt-listening-port", "RFC 5780 alternate ports are not supported"),
    NO_VAL("alt-tls-listening-port", "RFC 5780 alternate ports are not supported"),
    NO_VAL("aux-server", "auxiliary servers are not supported"),
    NO_VAL("alternate-server", "ALTERNATE-SERVER redirection is not supported"),
    NO_VAL("tls-alternate-server", "ALTERNATE-SERVER redirection is not supported"),
    NO_VAL("listening-device", "binding to a device is not supported; use listening-ip"),
    NO_VAL("relay-device", "binding to a device is not supported; use relay-ip"),
    NO_VAL("tcp-proxy-port", "the TCP proxy mode is not supported"),
    NO_VAL("server-relay", "server relay mode is not supported"),
    NO_VAL("cli-ip", "the telnet CLI is not supported"),
    NO_VAL("cli-port", "the telnet CLI is not supported"),
    NO_VAL("cli-password", "the telnet CLI is not supported"),
    NO_VAL("cli-max-output-sessions", "the telnet CLI is not supported"),
    NO_SW("web-admin", "the web admin is not supported; the portal manages users"),
    NO_VAL("web-admin-ip", "the web admin is not supported; the portal manages users"),
    NO_VAL("web-admin-port", "the web admin is not supported; the portal manages users"),
    IGN_SW("prometheus", "T9phone always serves /metrics on metrics-ip:metrics-port (0 turns it off)"),
    NO_VAL("proc-user", "run the container as the wanted user instead"),
    NO_VAL("proc-group", "run the container as the wanted group instead"),
    NO_SW("check-origin-consistency", "ORIGIN checks are not supported"),
    NO_VAL("acme-redirect", "ACME redirection is not supported"),
    /* ---------------------------------------------------------- issue 12 */
    INT("max-rest-ttl", "0", 0, 315360000, "T9phone: refuse a TURN REST credential whose "
                                           "expiry lies more than this many seconds ahead "
                                           "(0: no bound, as in coturn)"),
    BOOL("rfc5766-channel-numbers", "T9phone: accept channel numbers 0x4000-0x7FFF (RFC 5766) "
                                    "for old clients; otherwise only RFC 8656's "
                                    "0x4000-0x4FFF"),
    INT("relay-coalesce-us", "500", 0, 10000,
        "T9phone: while packets are being relayed, let at least this many microseconds "
        "pass between two turns of the event loop, so that one wake-up handles every "
        "datagram that came meanwhile (the kernel's wake-ups, not the packets, are most "
        "of a relay's CPU); each relayed packet waits at most this long. A turn that "
        "relayed nothing or 32 packets or more, or took longer already, is not delayed. "
        "0: off"),
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};
