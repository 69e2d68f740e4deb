/*
 * core/errors.h - the domain's refusals as negative error codes.
 *
 * Every core_* function returns 0 (or a non-negative count) on success and a
 * negative code on failure: either a negated errno for generic failures
 * (-ENOENT not found, -EINVAL bad argument, -EIO database error, -ENOMEM,
 * -EBUSY database locked beyond the busy timeout) or one of the CORE_E_*
 * codes below for a rule that refused the request. The CORE_E_* values lie
 * below -1000 so they never collide with an errno.
 *
 * The portal maps each code to a message for the person (core_strerror()
 * gives a neutral English default), the SIP proxy to a response code, and the
 * CLI to an exit status (core_is_refusal()).
 */
#ifndef T9_CORE_ERRORS_H
#define T9_CORE_ERRORS_H

enum core_error {
    CORE_E_BAD_EMAIL = -1001,      /* email address malformed */
    CORE_E_BAD_NICKNAME = -1002,   /* nickname not 6-12 ASCII letters */
    CORE_E_BAD_PASSWORD = -1003,   /* password fails the policy (core/accounts.h) */
    CORE_E_BAD_NAME = -1004,       /* group name empty, too long or control chars */
    CORE_E_EMAIL_TAKEN = -1005,    /* another account has this email */
    CORE_E_BAD_LOGIN = -1006,      /* wrong email or password (never says which) */
    CORE_E_LOCKED = -1007,         /* temporary lockout after repeated failures */
    CORE_E_EXPIRED = -1008,        /* token, invite or session expired */
    CORE_E_REVOKED = -1009,        /* invite revoked by the owner */
    CORE_E_USED_UP = -1010,        /* invite already redeemed max_uses times */
    CORE_E_WRONG_EMAIL = -1011,    /* invite addressed to another email */
    CORE_E_BANNED = -1012,         /* user is banned from the group */
    CORE_E_FULL = -1013,           /* group has reached its member cap */
    CORE_E_COLLISION = -1014,      /* dial code already taken in a shared group */
    CORE_E_ALREADY_MEMBER = -1015, /* user already in the group */
    CORE_E_NOT_MEMBER = -1016,     /* user (or target) not in the group */
    CORE_E_NOT_OWNER = -1017,      /* only the group owner may do this */
    CORE_E_IS_OWNER = -1018,       /* owner must transfer ownership or delete the group */
    CORE_E_CAP_TOO_LOW = -1019,    /* member cap below the current member count */
    CORE_E_AMBIGUOUS = -1020,      /* dial code matches several people (SIP 485) */
    CORE_E_SELF = -1021,           /* action on oneself that makes no sense (kick self) */
    CORE_E_NOT_BANNED = -1022,     /* unban of someone not banned */
    CORE_E_VERIFIED = -1023,       /* email already verified */
    CORE_E_SLUG_TAKEN = -1024,     /* no free slug for this name */
    CORE_E_BAD_CAP = -1025,        /* member cap outside 1..CORE_GROUP_MAX_CAP */
};

/* A short English description of any code returned by core/ (CORE_E_* or a
 * negated errno). Never NULL; the string is static. */
const char *core_strerror(int err);

/* 1 when err is a domain refusal a user or admin can act on (a CORE_E_* code,
 * -ENOENT or -EINVAL), 0 for internal failures (-EIO, -ENOMEM, -EBUSY...). */
int core_is_refusal(int err);

#endif
