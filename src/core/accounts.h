/*
 * core/accounts.h - sign-up, email verification, login, password reset and
 * change, nickname, active group, unlock, deletion.
 *
 * Email normalisation (core_accounts_normalise_email):
 *   leading and trailing ASCII white space is removed; both parts must be
 *   valid UTF-8 without control, bidi-override or zero-width characters and
 *   are brought to NFC (core/text.h: what cannot be normalised is refused),
 *   so "ñ" and "n" + combining tilde are one address; the domain is
 *   lower-cased; the local part keeps the case it was typed in (a few mail
 *   servers honour it), but accounts are compared without regard to ASCII
 *   case, so Marina@Example.org and marina@example.org are one account.
 *   Accepted: local@domain, 3-254 bytes, one '@', a local part of 1-64
 *   bytes without spaces, control characters, quotes or ()<>[]\,;: and
 *   without leading, trailing or doubled dots; a domain of at least two
 *   dot-separated labels of letters, digits, '-' (not at either end) or
 *   UTF-8 bytes, the last not all digits. Quoted local parts, address
 *   literals ([1.2.3.4]) and bare IP addresses (a@192.0.2.1) are refused.
 *
 * Password policy (core_accounts_check_password): 10 to 1024 bytes, no NUL
 * byte (bcrypt's key schedule uses NUL as a separator, so "a" and "a\0a"
 * would collide); not equal, ignoring ASCII case, to the email, the email's
 * local part or the nickname. No composition rules: length is what makes a
 * password strong.
 *
 * Long passwords: bcrypt uses only the first 72 bytes of its input. So that
 * every byte of a longer password counts, a password of more than 72 bytes
 * is first reduced to base64(HMAC-SHA256("t9phone bcrypt prehash v1", pw))
 * (44 bytes) and that is bcrypted; passwords of up to 72 bytes are bcrypted
 * as they are (plain, interoperable $2b$). Always hash and verify through
 * core_accounts_hash_password() and core_accounts_verify_password(), never
 * bcrypt_* directly. (The fixed HMAC key keeps the intermediate value from
 * matching unsalted SHA-256 hashes leaked elsewhere.)
 *
 * Login lockout: CORE_LOGIN_MAX_FAILS consecutive wrong passwords for one
 * email from one source lock that pair for CORE_LOCKOUT_SECS, in memory
 * (core/mem.h): while locked every attempt of the pair is refused with
 * CORE_E_LOCKED whether the password is right or not (so the lockout is not
 * a password oracle). Unknown emails are counted and locked exactly the
 * same way, so the answers never tell whether an account exists; and a
 * stranger who types someone's email locks out only their own source,
 * never the owner. Once a lockout has passed the pair starts from zero.
 *
 * The account row keeps users.failed_logins, the consecutive wrong
 * passwords from any source (cleared by a successful login; shown to the
 * operator). users.locked_until is set only by wrong current passwords in
 * a password change (the session holder's own lockout, which also stops
 * logins) and is cleared, with the count, once it has passed.
 *
 * Logins against unknown emails do the same bcrypt work against a dummy
 * hash and get the same CORE_E_BAD_LOGIN.
 *
 * Verification: an account is unverified while it has a pending 'verify'
 * email token. Redeeming a password-reset token also proves the address and
 * verifies it. An account still unverified CORE_UNVERIFIED_GRACE after its
 * verification link expired is deleted by the purge (core/maint.h).
 */
#ifndef T9_CORE_ACCOUNTS_H
#define T9_CORE_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "core/t9.h"
#include "crypto/bcrypt.h"
#include "store/db.h"

#define CORE_EMAIL_MAX 254
#define CORE_EMAIL_SIZE (CORE_EMAIL_MAX + 1)
#define CORE_PASSWORD_MIN 10
#define CORE_PASSWORD_MAX 1024

#define CORE_LOGIN_MAX_FAILS 5
#define CORE_LOCKOUT_SECS (15 * 60)
#define CORE_VERIFY_TTL (24 * 3600)
#define CORE_RESET_TTL 3600
/* An account whose address was never verified is deleted this long after
 * its verification link expired (so CORE_VERIFY_TTL + this after sign-up,
 * or after the last resend): the row holds an address that may be someone
 * else's, typed by mistake. */
#define CORE_UNVERIFIED_GRACE (7 * 86400)

/* Signup flag: the address is vouched for (admin CLI); no verification. */
#define CORE_SIGNUP_VERIFIED 0x1

struct core_user {
    int64_t id;
    char email[CORE_EMAIL_SIZE];
    char nickname[CORE_NICK_SIZE];
    char dial_code[CORE_NICK_SIZE];
    int64_t created;
    int failed_logins;
    int64_t locked_until; /* 0 when no lockout was ever set */
    int64_t active_group; /* 0 when none */
    int verified;         /* 1 when no verification is pending */
    int64_t unverified_until; /* unverified: when the purge deletes the account; 0 verified */
};

/* Validated, normalised sign-up input (see core_accounts_prepare_signup). */
struct core_signup {
    char email[CORE_EMAIL_SIZE];
    char nickname[CORE_NICK_SIZE];
};

/* Normalises an email as described above into out. Returns 0 or
 * CORE_E_BAD_EMAIL. Pure. */
int core_accounts_normalise_email(const char *in, size_t len, char out[CORE_EMAIL_SIZE]);

/* Checks a password against the policy above; email and nick are the
 * normalised values (either may be NULL). Returns 0 or CORE_E_BAD_PASSWORD.
 * Pure. */
int core_accounts_check_password(const void *pw, size_t len, const char *email,
                                 const char *nick);

/* Validates all sign-up input (email, nickname, password policy) without
 * touching the database, filling su. Returns 0, CORE_E_BAD_EMAIL,
 * CORE_E_BAD_NICKNAME or CORE_E_BAD_PASSWORD. Pure. */
int core_accounts_prepare_signup(const char *email, const char *nickname, const void *pw,
                                 size_t pwlen, struct core_signup *su);

/* bcrypt of a password at cfg's cost (with the long-password rule above).
 * Slow (cost 12: about 0.25 s): run it on the thread pool. Touches no
 * database; thread-safe. 0 or a negative errno. */
int core_accounts_hash_password(const struct core_cfg *cfg, const void *pw, size_t len,
                                char hash[BCRYPT_HASH_SIZE]);

/* Checks a password against a hash made by core_accounts_hash_password()
 * (or any $2a$/$2b$/$2y$ hash of a password of up to 72 bytes). As slow as
 * hashing: run it on the thread pool; thread-safe. 0 match, -EACCES
 * mismatch, -EINVAL malformed hash. */
int core_accounts_verify_password(const void *pw, size_t len, const char *hash);

/* Creates the account from prepared input and a password hash, with its
 * SIP credentials. Unless flags has CORE_SIGNUP_VERIFIED a verification
 * token (valid CORE_VERIFY_TTL) is written to verify_token for the
 * confirmation email; verify_token may be NULL with that flag.
 * Returns 0 with *uid, CORE_E_EMAIL_TAKEN, -EINVAL (no secret key). */
int core_accounts_create(struct store *st, const struct core_cfg *cfg,
                         const struct core_signup *su, const char *hash, unsigned flags,
                         int64_t now, int64_t *uid, char verify_token[CORE_TOKEN_SIZE]);

/* Synchronous sign-up for the CLI and tests: prepare, hash, create. */
int core_accounts_signup(struct store *st, const struct core_cfg *cfg, const char *email,
                         const char *nickname, const void *pw, size_t pwlen, unsigned flags,
                         int64_t now, int64_t *uid, char verify_token[CORE_TOKEN_SIZE]);

/* Redeems a verification token: the account is verified and the token
 * deleted. Returns 0 with *uid, -ENOENT (unknown or already used),
 * CORE_E_EXPIRED (the token stays, marking the account unverified, until a
 * new one replaces it). */
int core_accounts_verify_email(struct store *st, const char *token, int64_t now,
                               int64_t *uid);

/* Replaces the pending verification token with a new one (a resend).
 * Returns 0, -ENOENT (no such user), CORE_E_VERIFIED. */
int core_accounts_new_verification(struct store *st, int64_t uid, int64_t now,
                                   char token[CORE_TOKEN_SIZE]);

/* ------------------------------------------------------------------ login
 * Three steps so the bcrypt work runs off the event loop:
 *   core_accounts_login_begin()   on the loop: a short SQL read;
 *   core_accounts_verify_password(pw, len, lg.hash)  on the thread pool;
 *   core_accounts_login_finish()  on the loop: records the outcome.
 */
struct core_login {
    int64_t user_id;             /* 0 for an unknown email */
    char hash[BCRYPT_HASH_SIZE]; /* the hash to verify (a dummy for unknown) */
    uint8_t pair[16], mail[16];  /* the login guard's keyed names (core/mem.h) */
    int guarded;                 /* 0 when the guard had no memory */
};

/* Fetches the hash for email, or a well-formed dummy hash at cfg's cost for
 * an unknown or malformed email, so the work is the same. source names the
 * client for the lockout (the portal: the peer's address bytes; never
 * stored, only a keyed hash of it is kept in memory); NULL and 0 for one
 * shared source (the CLI, tests). 0 or -EIO. */
int core_accounts_login_begin_from(struct store *st, const struct core_cfg *cfg,
                                   const char *email, const void *source, size_t srclen,
                                   struct core_login *lg);

/* core_accounts_login_begin_from() with the shared source. */
int core_accounts_login_begin(struct store *st, const struct core_cfg *cfg,
                              const char *email, struct core_login *lg);

/* Records the outcome of core_accounts_verify_password() (verify_rc: 0 match, anything
 * else a failure) and returns 0 with *uid, CORE_E_BAD_LOGIN (unknown email,
 * wrong password, or the password changed meanwhile) or CORE_E_LOCKED. */
int core_accounts_login_finish(struct store *st, const struct core_login *lg, int verify_rc,
                               int64_t now, int64_t *uid);

/* Synchronous login for the CLI and tests (all three steps). */
int core_accounts_login(struct store *st, const struct core_cfg *cfg, const char *email,
                        const void *pw, size_t len, int64_t now, int64_t *uid);

/* Clears the failed-login count and any lockout (admin): the row's, and
 * every login-guard pair of the account's email in this process (a running
 * server's guard lives in its own memory and lets go after
 * CORE_LOCKOUT_SECS). 0 or -ENOENT. */
int core_accounts_unlock(struct store *st, int64_t uid);

/* --------------------------------------------------------- password reset */

/* Makes a reset token (valid CORE_RESET_TTL) for the account with this
 * email, replacing any earlier one. Returns 0 with *uid, -ENOENT for an
 * unknown email (the portal must answer both the same way). */
int core_accounts_request_reset(struct store *st, const char *email, int64_t now,
                                int64_t *uid, char token[CORE_TOKEN_SIZE]);

/* Checks a reset token and the new password against the policy, without
 * using the token. Returns 0 with *uid, -ENOENT, CORE_E_EXPIRED,
 * CORE_E_BAD_PASSWORD. */
int core_accounts_reset_begin(struct store *st, const char *token, const void *pw,
                              size_t len, int64_t now, int64_t *uid);

/* Uses the token: sets the new hash, ends every session of the account,
 * clears the lockout and marks the email verified. Returns 0 with *uid,
 * -ENOENT, CORE_E_EXPIRED. */
int core_accounts_reset_finish(struct store *st, const char *token, const char *hash,
                               int64_t now, int64_t *uid);

/* Synchronous reset (begin, hash, finish). */
int core_accounts_reset_password(struct store *st, const struct core_cfg *cfg,
                                 const char *token, const void *pw, size_t len, int64_t now,
                                 int64_t *uid);

/* -------------------------------------------------------- password change */

/* The stored hash, for verifying the current password on the thread pool.
 * 0 or -ENOENT. */
int core_accounts_get_hash(struct store *st, int64_t uid, char hash[BCRYPT_HASH_SIZE]);

/* Checks a new password against the policy for this account (its email
 * and nickname). 0, -ENOENT or CORE_E_BAD_PASSWORD. */
int core_accounts_check_new_password(struct store *st, int64_t uid, const void *pw,
                                     size_t len);

/* Stores a new hash and ends every session of the account except
 * keep_session (the caller's own session id, or NULL to end all).
 * 0 or -ENOENT. */
int core_accounts_set_hash(struct store *st, int64_t uid, const char *hash,
                           const char *keep_session);

/* Records the check of the current password that a password change starts
 * with (core_accounts_get_hash(), then core_accounts_verify_password() on
 * the thread pool, then this on the loop with its result). A wrong password
 * counts toward the lockout exactly like a failed login, and while the
 * account is locked the check fails whatever the password. hash is the one
 * that was verified (a password changed meanwhile is not counted). Returns
 * 0 (right password: go on with the change), CORE_E_BAD_LOGIN,
 * CORE_E_LOCKED, -EINVAL. */
int core_accounts_check_current_finish(struct store *st, int64_t uid, const char *hash,
                                       int verify_rc, int64_t now);

/* Synchronous change: verifies the current password (counted as above),
 * checks and hashes the new one, stores it. CORE_E_BAD_LOGIN when the
 * current one is wrong, CORE_E_LOCKED during a lockout. */
int core_accounts_change_password(struct store *st, const struct core_cfg *cfg,
                                  int64_t uid, const void *old_pw, size_t old_len,
                                  const void *new_pw, size_t new_len,
                                  const char *keep_session, int64_t now);

/* ---------------------------------------------------------------- profile */

/* Changes the nickname (any case, stored lower-case) and logs a
 * nickname_change in each of the user's groups. Returns 0 (also when the
 * nickname is unchanged; then nothing is logged), -ENOENT,
 * CORE_E_BAD_NICKNAME, CORE_E_COLLISION (the new dial code is taken in one
 * of the user's groups). */
int core_accounts_set_nickname(struct store *st, int64_t uid, const char *nick, size_t len,
                               int64_t now);

/* Sets the active group (gid > 0, must be one of the user's groups) or
 * clears it (gid 0). 0, -ENOENT, CORE_E_NOT_MEMBER. */
int core_accounts_set_active_group(struct store *st, int64_t uid, int64_t gid);

/* Reads an account. 0 or -ENOENT. */
int core_accounts_get(struct store *st, int64_t uid, struct core_user *u);

/* Finds the account of an email (normalised first). 0 with *uid, -ENOENT. */
int core_accounts_find_email(struct store *st, const char *email, int64_t *uid);

/* Calls fn for every account in id order; a non-zero return from fn stops
 * and is returned. fn may call other core functions. */
typedef int (*core_user_fn)(void *arg, const struct core_user *u);
int core_accounts_list(struct store *st, core_user_fn fn, void *arg);

/* Deletes the account for real: the groups it owns (with their members,
 * bans, invites and logs), its memberships (a 'leave' is logged in each
 * group, and every log entry naming it loses its actor/target), SIP
 * credentials, sessions, tokens, and invites addressed to its email. Then
 * checkpoints the WAL so the email is in neither database file. 0, -ENOENT. */
int core_accounts_delete(struct store *st, int64_t uid, int64_t now);

#endif
