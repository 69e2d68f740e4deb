/*
 * core/accounts.c - see accounts.h.
 */
#include "core/accounts.h"
#include "core/errors.h"
#include "core/internal.h"
#include "core/mem.h"
#include "core/text.h"
#include "base/log.h"
#include "crypto/hash.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ validation */

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int local_ok(const char *p, size_t n)
{
    if (n < 1 || n > 64 || p[0] == '.' || p[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= 0x20 || c == 0x7f || strchr("\"(),:;<>[\\]@", c))
            return 0;
        if (c == '.' && p[i + 1] == '.')
            return 0;
    }
    return 1;
}

static int domain_ok(const char *p, size_t n)
{
    size_t label = 0, labels = 1;
    if (n < 3 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '.') {
            if (label == 0 || p[i - 1] == '-')
                return 0;
            label = 0;
            labels++;
            continue;
        }
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c >= 0x80 || c == '-';
        if (!ok || (c == '-' && label == 0) || ++label > 63)
            return 0;
    }
    if (label == 0 || p[n - 1] == '-' || labels < 2)
        return 0;
    /* A top-level domain is never all digits: this refuses addresses at a
     * bare IP address, which the database must never hold. */
    for (size_t i = n - label; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return 1;
    return 0;
}

int core_accounts_normalise_email(const char *in, size_t len, char out[CORE_EMAIL_SIZE])
{
    out[0] = '\0';
    if (!in)
        return CORE_E_BAD_EMAIL;
    while (len && is_space((unsigned char)in[0])) {
        in++;
        len--;
    }
    while (len && is_space((unsigned char)in[len - 1]))
        len--;
    if (len < 3 || len > CORE_EMAIL_MAX || memchr(in, '\0', len))
        return CORE_E_BAD_EMAIL;
    const char *at = memchr(in, '@', len);
    if (!at)
        return CORE_E_BAD_EMAIL;
    /* One form for one address (core/text.h): valid UTF-8 without control,
     * bidi or invisible characters, in NFC; the domain lower-cased. */
    size_t ln = (size_t)(at - in), dn = len - ln - 1;
    int l = core_text_normalise(in, ln, 0, out, CORE_EMAIL_SIZE);
    if (l <= 0 || (size_t)l + 1 >= CORE_EMAIL_SIZE) {
        out[0] = '\0';
        return CORE_E_BAD_EMAIL;
    }
    out[l] = '@';
    int d = core_text_normalise(at + 1, dn, CORE_TEXT_LOWER, out + l + 1,
                                CORE_EMAIL_SIZE - (size_t)l - 1);
    if (d <= 0 || !local_ok(out, (size_t)l) || !domain_ok(out + l + 1, (size_t)d) ||
        (size_t)l + 1 + (size_t)d < 3) {
        out[0] = '\0';
        return CORE_E_BAD_EMAIL;
    }
    return 0;
}

static int ascii_casecmp_n(const void *a, size_t an, const char *b, size_t bn)
{
    const unsigned char *x = a, *y = (const unsigned char *)b;
    if (an != bn)
        return 1;
    for (size_t i = 0; i < an; i++) {
        unsigned char p = x[i], q = y[i];
        if (p >= 'A' && p <= 'Z')
            p = (unsigned char)(p - 'A' + 'a');
        if (q >= 'A' && q <= 'Z')
            q = (unsigned char)(q - 'A' + 'a');
        if (p != q)
            return 1;
    }
    return 0;
}

int core_accounts_check_password(const void *pw, size_t len, const char *email,
                                 const char *nick)
{
    if (!pw || len < CORE_PASSWORD_MIN || len > CORE_PASSWORD_MAX || memchr(pw, '\0', len))
        return CORE_E_BAD_PASSWORD;
    if (email) {
        if (ascii_casecmp_n(pw, len, email, strlen(email)) == 0)
            return CORE_E_BAD_PASSWORD;
        const char *at = strchr(email, '@');
        if (at && ascii_casecmp_n(pw, len, email, (size_t)(at - email)) == 0)
            return CORE_E_BAD_PASSWORD;
    }
    if (nick && ascii_casecmp_n(pw, len, nick, strlen(nick)) == 0)
        return CORE_E_BAD_PASSWORD;
    return 0;
}

int core_accounts_prepare_signup(const char *email, const char *nickname, const void *pw,
                                 size_t pwlen, struct core_signup *su)
{
    memset(su, 0, sizeof *su);
    if (!email || !nickname)
        return -EINVAL;
    int rc = core_accounts_normalise_email(email, strlen(email), su->email);
    if (rc < 0)
        return rc;
    rc = core_t9_normalise_nickname(nickname, strlen(nickname), su->nickname);
    if (rc < 0)
        return rc;
    return core_accounts_check_password(pw, pwlen, su->email, su->nickname);
}

/* What bcrypt actually gets: pw itself up to 72 bytes, else a 44-byte
 * digest of all of it (see accounts.h). Returns the length in buf. */
static size_t bcrypt_input(const void *pw, size_t len, const void **in, char buf[48])
{
    static const char key[] = "t9phone bcrypt prehash v1";
    uint8_t mac[32];
    if (len <= BCRYPT_MAX_PASSWORD) {
        *in = pw;
        return len;
    }
    crypto_hmac_sha256(key, sizeof key - 1, pw, len, mac);
    int n = crypto_base64_encode(mac, sizeof mac, buf, 48);
    crypto_wipe(mac, sizeof mac);
    *in = buf;
    return n > 0 ? (size_t)n : 0;
}

int core_accounts_hash_password(const struct core_cfg *cfg, const void *pw, size_t len,
                                char hash[BCRYPT_HASH_SIZE])
{
    char buf[48];
    const void *in;
    hash[0] = '\0';
    if (!pw && len)
        return -EINVAL;
    size_t n = bcrypt_input(pw, len, &in, buf);
    int rc = bcrypt_hash(in, n, core_cfg_cost(cfg), hash);
    crypto_wipe(buf, sizeof buf);
    return rc < 0 ? rc : 0;
}

int core_accounts_verify_password(const void *pw, size_t len, const char *hash)
{
    char buf[48];
    const void *in;
    if (!pw && len)
        return -EINVAL;
    size_t n = bcrypt_input(pw, len, &in, buf);
    int rc = bcrypt_verify(in, n, hash);
    crypto_wipe(buf, sizeof buf);
    return rc;
}

/* ---------------------------------------------------------------- create */

/* Replaces the user's token of this purpose with a new one. */
static int email_token_put(struct store *st, int64_t uid, const char *purpose, int64_t expires,
                           char token[CORE_TOKEN_SIZE])
{
    uint8_t h[32];
    int rc = core_token_new(token, h);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = core_stmt(st,
        "INSERT INTO email_tokens (token_hash, user_id, purpose, expires) "
        "VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (user_id, purpose) DO UPDATE SET token_hash = excluded.token_hash, "
        "expires = excluded.expires");
    if (!s)
        return -EIO;
    sqlite3_bind_blob(s, 1, h, sizeof h, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, uid);
    sqlite3_bind_text(s, 3, purpose, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, expires);
    return core_exec(st, s);
}

int core_accounts_create(struct store *st, const struct core_cfg *cfg,
                         const struct core_signup *su, const char *hash, unsigned flags,
                         int64_t now, int64_t *uid, char verify_token[CORE_TOKEN_SIZE])
{
    *uid = 0;
    if (verify_token)
        verify_token[0] = '\0';
    if (!hash || strlen(hash) != BCRYPT_HASH_SIZE - 1 || !cfg || !cfg->secret_key ||
        !cfg->realm || (!(flags & CORE_SIGNUP_VERIFIED) && !verify_token))
        return -EINVAL;
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = core_stmt(st,
        "INSERT INTO users (email, password_hash, nickname, created) VALUES (?1, ?2, ?3, ?4)");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_text(s, 1, su->email, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, su->nickname, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, now);
    rc = core_exec(st, s);
    if (rc < 0)
        goto out;
    int64_t id = sqlite3_last_insert_rowid(store_db(st));
    rc = core_sipcred_insert(st, cfg, id);
    if (rc < 0)
        goto out;
    if (!(flags & CORE_SIGNUP_VERIFIED)) {
        rc = email_token_put(st, id, "verify", now + CORE_VERIFY_TTL, verify_token);
        if (rc < 0)
            goto out;
    }
    *uid = id;
out:
    rc = core_txn_end(st, rc);
    if (rc < 0) {
        *uid = 0;
        if (verify_token)
            verify_token[0] = '\0';
    }
    return rc;
}

int core_accounts_signup(struct store *st, const struct core_cfg *cfg, const char *email,
                         const char *nickname, const void *pw, size_t pwlen, unsigned flags,
                         int64_t now, int64_t *uid, char verify_token[CORE_TOKEN_SIZE])
{
    struct core_signup su;
    char hash[BCRYPT_HASH_SIZE];
    int64_t other;
    *uid = 0;
    int rc = core_accounts_prepare_signup(email, nickname, pw, pwlen, &su);
    if (rc < 0)
        return rc;
    /* Refuse a taken email before spending the bcrypt work on it;
     * core_accounts_create() checks again under the write lock. */
    rc = core_accounts_find_email(st, su.email, &other);
    if (rc == 0)
        return CORE_E_EMAIL_TAKEN;
    if (rc != -ENOENT)
        return rc;
    rc = core_accounts_hash_password(cfg, pw, pwlen, hash);
    if (rc < 0)
        return rc;
    return core_accounts_create(st, cfg, &su, hash, flags, now, uid, verify_token);
}

/* ---------------------------------------------------------- verification */

/* Looks up an email token by hash: 1 with uid/expires, 0 none, <0 error. */
static int email_token_get(struct store *st, const uint8_t h[32], const char *purpose,
                           int64_t *uid, int64_t *expires)
{
    sqlite3_stmt *s = core_stmt(st,
        "SELECT user_id, expires FROM email_tokens WHERE token_hash = ?1 AND purpose = ?2");
    if (!s)
        return -EIO;
    sqlite3_bind_blob(s, 1, h, 32, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, purpose, -1, SQLITE_STATIC);
    int rc = core_row(st, s);
    if (rc == 1) {
        *uid = sqlite3_column_int64(s, 0);
        *expires = sqlite3_column_int64(s, 1);
        sqlite3_reset(s);
    }
    return rc;
}

static int email_token_del(struct store *st, int64_t uid, const char *purpose)
{
    sqlite3_stmt *s = core_stmt(st,
        "DELETE FROM email_tokens WHERE user_id = ?1 AND purpose = ?2");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, uid);
    sqlite3_bind_text(s, 2, purpose, -1, SQLITE_STATIC);
    return core_exec(st, s);
}

int core_accounts_verify_email(struct store *st, const char *token, int64_t now,
                               int64_t *uid)
{
    uint8_t h[32];
    int64_t id = 0, expires = 0;
    *uid = 0;
    int rc = core_token_hash(token, h);
    if (rc < 0)
        return -ENOENT;
    rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = email_token_get(st, h, "verify", &id, &expires);
    if (rc == 0)
        rc = -ENOENT;
    else if (rc == 1 && now >= expires)
        rc = CORE_E_EXPIRED;
    else if (rc == 1 && (rc = email_token_del(st, id, "verify")) == 0)
        store_mark_dirty(st);
    rc = core_txn_end(st, rc);
    if (rc == 0)
        *uid = id;
    return rc;
}

static int is_verified(struct store *st, int64_t uid)
{
    sqlite3_stmt *s = core_stmt(st,
        "SELECT 1 FROM email_tokens WHERE user_id = ?1 AND purpose = 'verify'");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, uid);
    int rc = core_row(st, s);
    if (rc == 1)
        sqlite3_reset(s);
    return rc < 0 ? rc : !rc;
}

static int user_exists(struct store *st, int64_t uid)
{
    sqlite3_stmt *s = core_stmt(st, "SELECT 1 FROM users WHERE id = ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, uid);
    int rc = core_row(st, s);
    if (rc == 1)
        sqlite3_reset(s);
    return rc;
}

int core_accounts_new_verification(struct store *st, int64_t uid, int64_t now,
                                   char token[CORE_TOKEN_SIZE])
{
    token[0] = '\0';
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = user_exists(st, uid);
    if (rc == 0)
        rc = -ENOENT;
    if (rc == 1) {
        rc = is_verified(st, uid);
        if (rc == 1)
            rc = CORE_E_VERIFIED;
        else if (rc == 0)
            rc = email_token_put(st, uid, "verify", now + CORE_VERIFY_TTL, token);
    }
    rc = core_txn_end(st, rc);
    if (rc < 0)
        token[0] = '\0';
    return rc;
}

/* ----------------------------------------------------------------- login */

/* A well-formed bcrypt hash of nothing anyone knows (an Openwall test
 * vector's salt and hash). bcrypt_verify() does the full work of its cost
 * and reports a mismatch. The cost digits are patched in. */
static const char dummy_hash[] = "$2b$12$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";

int core_accounts_login_begin(struct store *st, const struct core_cfg *cfg,
                              const char *email, struct core_login *lg)
{
    return core_accounts_login_begin_from(st, cfg, email, NULL, 0, lg);
}

int core_accounts_login_begin_from(struct store *st, const struct core_cfg *cfg,
                                   const char *email, const void *source, size_t srclen,
                                   struct core_login *lg)
{
    char norm[CORE_EMAIL_SIZE];
    memset(lg, 0, sizeof *lg);
    memcpy(lg->hash, dummy_hash, sizeof dummy_hash);
    int cost = core_cfg_cost(cfg);
    lg->hash[4] = (char)('0' + cost / 10);
    lg->hash[5] = (char)('0' + cost % 10);
    if (!email)
        return 0;
    int bad = core_accounts_normalise_email(email, strlen(email), norm) < 0;
    struct core_mem *m = core_mem(st);
    if (m) {
        /* Malformed emails are counted too, by their bytes. */
        const char *e = bad ? email : norm;
        core_guard_tags(m, e, strnlen(e, CORE_EMAIL_MAX + 1), source, srclen, lg->pair,
                        lg->mail);
        lg->guarded = 1;
    }
    if (bad)
        return 0;
    sqlite3_stmt *s = core_stmt(st, "SELECT id, password_hash FROM users WHERE email = ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, norm, -1, SQLITE_STATIC);
    int rc = core_row(st, s);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        const unsigned char *h = sqlite3_column_text(s, 1);
        if (h && sqlite3_column_bytes(s, 1) == BCRYPT_HASH_SIZE - 1) {
            lg->user_id = sqlite3_column_int64(s, 0);
            memcpy(lg->hash, h, BCRYPT_HASH_SIZE);
        }
        sqlite3_reset(s);
    }
    return 0;
}

/* Records one password check of account uid against the hash that was
 * verified (verify_rc 0: it matched), counting a failure toward the
 * lockout. Returns 0 (right password, not locked), CORE_E_BAD_LOGIN,
 * CORE_E_LOCKED or a database error. Shared by login and by the current
 * password check of a password change, so neither is a free oracle. */
static int record_attempt(struct store *st, int64_t user_id, const char *verified_hash,
                          int verify_rc, int may_lock, int64_t now)
{
    /* rc carries database errors (rolled back); refusal is the answer,
     * returned after the commit that records a failure. */
    int refusal = CORE_E_BAD_LOGIN;
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = core_stmt(st,
        "SELECT password_hash, failed_logins, coalesce(locked_until, 0) FROM users "
        "WHERE id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, user_id);
    rc = core_row(st, s);
    if (rc <= 0)
        goto out; /* deleted meanwhile: bad login */
    rc = 0;
    char hash[BCRYPT_HASH_SIZE];
    core_col_text(s, 0, hash, sizeof hash);
    int failed = sqlite3_column_int(s, 1);
    int64_t locked_until = sqlite3_column_int64(s, 2);
    sqlite3_reset(s);
    if (locked_until > now) {
        /* Right or wrong, the answer is the same while locked. */
        refusal = CORE_E_LOCKED;
        goto out;
    }
    if (locked_until) {
        /* A lockout that has passed leaves nothing behind: not its end,
         * and not the count that would lock again at the next mistake. */
        failed = 0;
    }
    if (strcmp(hash, verified_hash) != 0) {
        /* The password changed between begin and finish: what was
         * verified is no longer the password. Not counted. */
        goto out;
    }
    if (verify_rc == 0) {
        s = core_stmt(st,
            "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?1");
        if (!s) {
            rc = -EIO;
            goto out;
        }
        sqlite3_bind_int64(s, 1, user_id);
        rc = core_exec(st, s);
        refusal = 0;
        goto out;
    }
    if (failed < 1000)
        failed++;
    int lock = may_lock && failed >= CORE_LOGIN_MAX_FAILS;
    s = core_stmt(st,
        "UPDATE users SET failed_logins = ?2, "
        "locked_until = CASE WHEN ?3 THEN ?4 ELSE NULL END WHERE id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, user_id);
    sqlite3_bind_int(s, 2, failed);
    sqlite3_bind_int(s, 3, lock);
    sqlite3_bind_int64(s, 4, now + CORE_LOCKOUT_SECS);
    rc = core_exec(st, s);
    if (lock)
        refusal = CORE_E_LOCKED;
out:
    rc = core_txn_end(st, rc);
    return rc < 0 ? rc : refusal;
}

int core_accounts_login_finish(struct store *st, const struct core_login *lg, int verify_rc,
                               int64_t now, int64_t *uid)
{
    *uid = 0;
    struct core_mem *m = lg->guarded ? core_mem(st) : NULL;
    /* The pair's lockout first, the same for known and unknown emails. */
    if (m && core_guard_locked(m, lg->pair, now))
        return CORE_E_LOCKED;
    int rc = CORE_E_BAD_LOGIN;
    if (lg->user_id > 0)
        rc = record_attempt(st, lg->user_id, lg->hash, verify_rc, 0, now);
    if (rc == CORE_E_BAD_LOGIN && m && core_guard_fail(m, lg->pair, lg->mail, now))
        rc = CORE_E_LOCKED;
    if (rc == 0) {
        if (m)
            core_guard_ok(m, lg->pair);
        *uid = lg->user_id;
    }
    return rc;
}

int core_accounts_check_current_finish(struct store *st, int64_t uid, const char *hash,
                                       int verify_rc, int64_t now)
{
    if (uid <= 0 || !hash)
        return -EINVAL;
    return record_attempt(st, uid, hash, verify_rc, 1, now);
}

int core_accounts_login(struct store *st, const struct core_cfg *cfg, const char *email,
                        const void *pw, size_t len, int64_t now, int64_t *uid)
{
    struct core_login lg;
    *uid = 0;
    int rc = core_accounts_login_begin(st, cfg, email, &lg);
    if (rc < 0)
        return rc;
    int v = core_accounts_verify_password(pw, len, lg.hash);
    return core_accounts_login_finish(st, &lg, v, now, uid);
}

/* Forgets the login guard's pairs of uid's email in this process. */
static void guard_forget(struct store *st, int64_t uid)
{
    char email[CORE_EMAIL_SIZE];
    struct core_mem *m = core_mem(st);
    if (m && core_text_by_id(st, "SELECT email FROM users WHERE id = ?1", uid, email,
                             sizeof email) == 0) {
        uint8_t pair[CORE_GUARD_TAG], mail[CORE_GUARD_TAG];
        core_guard_tags(m, email, strlen(email), NULL, 0, pair, mail);
        core_guard_clear_mail(m, mail);
    }
    crypto_wipe(email, sizeof email);
}

int core_accounts_unlock(struct store *st, int64_t uid)
{
    guard_forget(st, uid);
    sqlite3_stmt *s = core_stmt(st,
        "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, uid);
    int rc = core_exec(st, s);
    if (rc == 0 && sqlite3_changes(store_db(st)) == 0)
        rc = -ENOENT;
    return rc;
}

/* -------------------------------------------------------------- reset */

int core_accounts_request_reset(struct store *st, const char *email, int64_t now,
                                int64_t *uid, char token[CORE_TOKEN_SIZE])
{
    int64_t id;
    *uid = 0;
    token[0] = '\0';
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = core_accounts_find_email(st, email, &id);
    if (rc == 0)
        rc = email_token_put(st, id, "reset", now + CORE_RESET_TTL, token);
    rc = core_txn_end(st, rc);
    if (rc == 0)
        *uid = id;
    else
        token[0] = '\0';
    return rc;
}

/* The account a live reset token belongs to: 0, -ENOENT, CORE_E_EXPIRED. */
static int reset_token_user(struct store *st, const char *token, int64_t now, int64_t *uid)
{
    uint8_t h[32];
    int64_t expires = 0;
    if (core_token_hash(token, h) < 0)
        return -ENOENT;
    int rc = email_token_get(st, h, "reset", uid, &expires);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return -ENOENT;
    if (now < expires)
        return 0;
    /* Expired: the row goes at once (the caller commits it). */
    if ((rc = email_token_del(st, *uid, "reset")) < 0)
        return rc;
    store_mark_dirty(st);
    return CORE_E_EXPIRED;
}

int core_accounts_reset_begin(struct store *st, const char *token, const void *pw,
                              size_t len, int64_t now, int64_t *uid)
{
    int64_t id = 0;
    *uid = 0;
    int rc = reset_token_user(st, token, now, &id);
    if (rc < 0)
        return rc;
    rc = core_accounts_check_new_password(st, id, pw, len);
    if (rc == 0)
        *uid = id;
    return rc;
}

int core_accounts_reset_finish(struct store *st, const char *token, const char *hash,
                               int64_t now, int64_t *uid)
{
    int64_t id = 0;
    *uid = 0;
    if (!hash || strlen(hash) != BCRYPT_HASH_SIZE - 1)
        return -EINVAL;
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = reset_token_user(st, token, now, &id);
    if (rc == CORE_E_EXPIRED) {
        int c = core_txn_end(st, 0); /* keep the expired token's deletion */
        return c < 0 ? c : rc;
    }
    if (rc < 0)
        goto out;
    sqlite3_stmt *s = core_stmt(st,
        "UPDATE users SET password_hash = ?2, failed_logins = 0, locked_until = NULL "
        "WHERE id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, hash, -1, SQLITE_STATIC);
    if ((rc = core_exec(st, s)) < 0)
        goto out;
    /* The reset proves the address: both of its email tokens go. */
    s = core_stmt(st, "DELETE FROM email_tokens WHERE user_id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, id);
    if ((rc = core_exec(st, s)) < 0)
        goto out;
    s = core_stmt(st, "DELETE FROM sessions WHERE user_id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, id);
    rc = core_exec(st, s);
out:
    rc = core_txn_end(st, rc);
    if (rc == 0) {
        /* The reset proves the address: its lockouts end too. */
        guard_forget(st, id);
        store_mark_dirty(st);
        *uid = id;
    }
    return rc;
}

int core_accounts_reset_password(struct store *st, const struct core_cfg *cfg,
                                 const char *token, const void *pw, size_t len, int64_t now,
                                 int64_t *uid)
{
    char hash[BCRYPT_HASH_SIZE];
    int rc = core_accounts_reset_begin(st, token, pw, len, now, uid);
    if (rc < 0)
        return rc;
    rc = core_accounts_hash_password(cfg, pw, len, hash);
    if (rc < 0)
        return rc;
    return core_accounts_reset_finish(st, token, hash, now, uid);
}

/* ------------------------------------------------------- password change */

int core_accounts_get_hash(struct store *st, int64_t uid, char hash[BCRYPT_HASH_SIZE])
{
    return core_text_by_id(st, "SELECT password_hash FROM users WHERE id = ?1", uid, hash,
                           BCRYPT_HASH_SIZE);
}

int core_accounts_check_new_password(struct store *st, int64_t uid, const void *pw,
                                     size_t len)
{
    struct core_user u;
    int rc = core_accounts_get(st, uid, &u);
    if (rc < 0)
        return rc;
    return core_accounts_check_password(pw, len, u.email, u.nickname);
}

int core_accounts_set_hash(struct store *st, int64_t uid, const char *hash,
                           const char *keep_session)
{
    uint8_t keep[32];
    if (!hash || strlen(hash) != BCRYPT_HASH_SIZE - 1)
        return -EINVAL;
    int have_keep = keep_session && core_token_hash(keep_session, keep) == 0;
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = core_stmt(st, "UPDATE users SET password_hash = ?2 WHERE id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, uid);
    sqlite3_bind_text(s, 2, hash, -1, SQLITE_STATIC);
    if ((rc = core_exec(st, s)) < 0)
        goto out;
    if (sqlite3_changes(store_db(st)) == 0) {
        rc = -ENOENT;
        goto out;
    }
    s = core_stmt(st, "DELETE FROM sessions WHERE user_id = ?1 AND id_hash IS NOT ?2");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, uid);
    if (have_keep)
        sqlite3_bind_blob(s, 2, keep, sizeof keep, SQLITE_TRANSIENT);
    if ((rc = core_exec(st, s)) == 0)
        store_mark_dirty(st); /* the old hash and the ended sessions */
out:
    return core_txn_end(st, rc);
}

int core_accounts_change_password(struct store *st, const struct core_cfg *cfg,
                                  int64_t uid, const void *old_pw, size_t old_len,
                                  const void *new_pw, size_t new_len,
                                  const char *keep_session, int64_t now)
{
    char hash[BCRYPT_HASH_SIZE];
    int rc = core_accounts_get_hash(st, uid, hash);
    if (rc < 0)
        return rc;
    rc = core_accounts_check_current_finish(
        st, uid, hash, core_accounts_verify_password(old_pw, old_len, hash), now);
    if (rc < 0)
        return rc;
    rc = core_accounts_check_new_password(st, uid, new_pw, new_len);
    if (rc < 0)
        return rc;
    rc = core_accounts_hash_password(cfg, new_pw, new_len, hash);
    if (rc < 0)
        return rc;
    return core_accounts_set_hash(st, uid, hash, keep_session);
}

/* ---------------------------------------------------------------- profile */

int core_accounts_set_nickname(struct store *st, int64_t uid, const char *nick, size_t len,
                               int64_t now)
{
    char norm[CORE_NICK_SIZE], code[CORE_NICK_SIZE], old[CORE_NICK_SIZE];
    int rc = core_t9_normalise_nickname(nick, len, norm);
    if (rc < 0)
        return rc;
    core_t9_dial_code(norm, strlen(norm), code);
    if ((rc = store_begin(st)) < 0)
        return rc;
    rc = core_text_by_id(st, "SELECT nickname FROM users WHERE id = ?1", uid, old, sizeof old);
    if (rc < 0)
        goto out;
    if (strcmp(old, norm) == 0) {
        rc = 0;
        goto out;
    }
    sqlite3_stmt *s = core_stmt(st,
        "SELECT 1 FROM memberships a "
        "JOIN memberships b ON b.group_id = a.group_id AND b.user_id <> a.user_id "
        "JOIN users o ON o.id = b.user_id "
        "WHERE a.user_id = ?1 AND o.dial_code = ?2 LIMIT 1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, uid);
    sqlite3_bind_text(s, 2, code, -1, SQLITE_STATIC);
    rc = core_row(st, s);
    if (rc != 0) {
        if (rc == 1) {
            sqlite3_reset(s);
            rc = CORE_E_COLLISION;
        }
        goto out;
    }
    s = core_stmt(st, "UPDATE users SET nickname = ?2 WHERE id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, uid);
    sqlite3_bind_text(s, 2, norm, -1, SQLITE_STATIC);
    if ((rc = core_exec(st, s)) < 0)
        goto out;
    s = core_stmt(st,
        "INSERT INTO group_events (group_id, type, at, actor_id, target_id) "
        "SELECT group_id, 'nickname_change', ?2, ?1, ?1 FROM memberships WHERE user_id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, uid);
    sqlite3_bind_int64(s, 2, core_day(now));
    if ((rc = core_exec(st, s)) == 0)
        store_mark_dirty(st); /* the old nickname's bytes */
out:
    return core_txn_end(st, rc);
}

int core_accounts_set_active_group(struct store *st, int64_t uid, int64_t gid)
{
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = user_exists(st, uid);
    if (rc <= 0) {
        rc = rc == 0 ? -ENOENT : rc;
        goto out;
    }
    if (gid > 0) {
        sqlite3_stmt *m = core_stmt(st,
            "SELECT 1 FROM memberships WHERE group_id = ?1 AND user_id = ?2");
        if (!m) {
            rc = -EIO;
            goto out;
        }
        sqlite3_bind_int64(m, 1, gid);
        sqlite3_bind_int64(m, 2, uid);
        rc = core_row(st, m);
        if (rc <= 0) {
            rc = rc == 0 ? CORE_E_NOT_MEMBER : rc;
            goto out;
        }
        sqlite3_reset(m);
    }
    sqlite3_stmt *s = core_stmt(st, "UPDATE users SET active_group_id = ?2 WHERE id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, uid);
    core_bind_id(s, 2, gid);
    rc = core_exec(st, s);
out:
    return core_txn_end(st, rc);
}

#define USER_COLS                                                                  \
    "SELECT u.id, u.email, u.nickname, u.dial_code, u.created, u.failed_logins, "  \
    "coalesce(u.locked_until, 0), coalesce(u.active_group_id, 0), "                \
    "NOT EXISTS (SELECT 1 FROM email_tokens t WHERE t.user_id = u.id "             \
    "AND t.purpose = 'verify'), "                                                  \
    "coalesce((SELECT t.expires FROM email_tokens t WHERE t.user_id = u.id "       \
    "AND t.purpose = 'verify'), 0) FROM users u "

static void user_from_row(sqlite3_stmt *s, struct core_user *u)
{
    memset(u, 0, sizeof *u);
    u->id = sqlite3_column_int64(s, 0);
    core_col_text(s, 1, u->email, sizeof u->email);
    core_col_text(s, 2, u->nickname, sizeof u->nickname);
    core_col_text(s, 3, u->dial_code, sizeof u->dial_code);
    u->created = sqlite3_column_int64(s, 4);
    u->failed_logins = sqlite3_column_int(s, 5);
    u->locked_until = sqlite3_column_int64(s, 6);
    u->active_group = sqlite3_column_int64(s, 7);
    u->verified = sqlite3_column_int(s, 8);
    int64_t vexp = sqlite3_column_int64(s, 9);
    u->unverified_until = u->verified ? 0 : vexp + CORE_UNVERIFIED_GRACE;
}

int core_accounts_get(struct store *st, int64_t uid, struct core_user *u)
{
    memset(u, 0, sizeof *u);
    sqlite3_stmt *s = core_stmt(st, USER_COLS "WHERE u.id = ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, uid);
    int rc = core_row(st, s);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    user_from_row(s, u);
    sqlite3_reset(s);
    return 0;
}

int core_accounts_find_email(struct store *st, const char *email, int64_t *uid)
{
    char norm[CORE_EMAIL_SIZE];
    *uid = 0;
    if (!email || core_accounts_normalise_email(email, strlen(email), norm) < 0)
        return -ENOENT;
    sqlite3_stmt *s = core_stmt(st, "SELECT id FROM users WHERE email = ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, norm, -1, SQLITE_STATIC);
    int rc = core_row(st, s);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    *uid = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return 0;
}

struct user_visit {
    core_user_fn fn;
    void *arg;
};

static int user_row(void *ctx, sqlite3_stmt *s)
{
    struct user_visit *v = ctx;
    struct core_user u;
    user_from_row(s, &u);
    return v->fn(v->arg, &u);
}

int core_accounts_list(struct store *st, core_user_fn fn, void *arg)
{
    sqlite3_stmt *s;
    struct user_visit v = { fn, arg };
    int rc = core_prepare(st, USER_COLS "ORDER BY u.id", &s);
    if (rc < 0)
        return rc;
    return core_each_row(st, s, user_row, &v);
}

/* ---------------------------------------------------------------- delete */

int core_accounts_delete(struct store *st, int64_t uid, int64_t now)
{
    char email[CORE_EMAIL_SIZE];
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = core_text_by_id(st, "SELECT email FROM users WHERE id = ?1", uid, email, sizeof email);
    if (rc < 0)
        goto out;
    sqlite3_stmt *s;
    /* Owned groups go first, one at a time (no statement is held across
     * the deletion), so the user is never an owner when their row goes. */
    for (;;) {
        s = core_stmt(st,
            "SELECT group_id FROM memberships WHERE user_id = ?1 AND role = 'owner' LIMIT 1");
        if (!s) {
            rc = -EIO;
            goto out;
        }
        sqlite3_bind_int64(s, 1, uid);
        rc = core_row(st, s);
        if (rc < 0)
            goto out;
        if (rc == 0)
            break;
        int64_t gid = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
        if ((rc = core_groups_delete_locked(st, gid)) < 0)
            goto out;
    }
    /* The other groups see that a former member left; every other entry
     * naming this user loses its actor/target with the user row below. */
    s = core_stmt(st,
        "INSERT INTO group_events (group_id, type, at, actor_id, target_id) "
        "SELECT group_id, 'leave', ?2, NULL, NULL FROM memberships WHERE user_id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, uid);
    sqlite3_bind_int64(s, 2, core_day(now));
    if ((rc = core_exec(st, s)) < 0)
        goto out;
    s = core_stmt(st, "DELETE FROM invites WHERE email = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_text(s, 1, email, -1, SQLITE_STATIC);
    if ((rc = core_exec(st, s)) < 0)
        goto out;
    /* Cascades: SIP credentials, memberships, bans, tokens, sessions;
     * event-log actor/target set to NULL. */
    s = core_stmt(st, "DELETE FROM users WHERE id = ?1");
    if (!s) {
        rc = -EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, uid);
    rc = core_exec(st, s);
out:
    crypto_wipe(email, sizeof email);
    rc = core_txn_end(st, rc);
    if (rc < 0)
        return rc;
    /* secure_delete zeroed the rows in the pages written to the WAL; the
     * checkpoint copies them home and truncates the WAL, so the old
     * versions of those pages leave the WAL file too. */
    int c = store_checkpoint(st);
    if (c < 0) {
        store_mark_dirty(st); /* store_checkpoint_if_dirty() retries */
        log_warn("core", "account deleted; WAL checkpoint deferred (%s)", core_strerror(c));
    }
    return 0;
}
