/*
 * core/errors.c - see errors.h.
 */
#include "core/errors.h"

#include <errno.h>
#include <string.h>

const char *core_strerror(int err)
{
    switch (err) {
    case 0: return "ok";
    case CORE_E_BAD_EMAIL: return "invalid email address";
    case CORE_E_BAD_NICKNAME: return "nickname must be 6 to 12 letters (a-z)";
    case CORE_E_BAD_PASSWORD:
        return "password must be 10 to 1024 bytes and differ from the email and nickname";
    case CORE_E_BAD_NAME: return "invalid group name";
    case CORE_E_EMAIL_TAKEN: return "email already registered";
    case CORE_E_BAD_LOGIN: return "wrong email or password";
    case CORE_E_LOCKED: return "too many failed logins; try again later";
    case CORE_E_EXPIRED: return "expired";
    case CORE_E_REVOKED: return "invite revoked";
    case CORE_E_USED_UP: return "invite already used";
    case CORE_E_WRONG_EMAIL: return "invite is for another email address";
    case CORE_E_BANNED: return "banned from this group";
    case CORE_E_FULL: return "group is full";
    case CORE_E_COLLISION: return "dial code already taken in the group";
    case CORE_E_ALREADY_MEMBER: return "already a member";
    case CORE_E_NOT_MEMBER: return "not a member";
    case CORE_E_NOT_OWNER: return "only the group owner can do that";
    case CORE_E_IS_OWNER: return "the owner must transfer ownership or delete the group";
    case CORE_E_CAP_TOO_LOW: return "member cap is below the number of members";
    case CORE_E_BAD_CAP: return "member cap must be between 1 and 1000";
    case CORE_E_AMBIGUOUS: return "ambiguous dial code";
    case CORE_E_SELF: return "cannot do that to yourself";
    case CORE_E_NOT_BANNED: return "not banned";
    case CORE_E_VERIFIED: return "email already verified";
    case CORE_E_SLUG_TAKEN: return "no free identifier for this group name";
    case -ENOENT: return "not found";
    case -EINVAL: return "invalid argument";
    case -EIO: return "database error";
    case -ENOMEM: return "out of memory";
    case -EBUSY: return "database busy";
    case -EBADMSG: return "cannot decrypt (wrong secret key?)";
    default: break;
    }
    return err < 0 && err > -1000 ? strerror(-err) : "unknown error";
}

int core_is_refusal(int err)
{
    return (err <= CORE_E_BAD_EMAIL && err >= CORE_E_BAD_CAP) || err == -ENOENT ||
           err == -EINVAL;
}
