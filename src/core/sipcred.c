/*
 * core/sipcred.c - see sipcred.h.
 */
#include "core/sipcred.h"
#include "core/errors.h"
#include "core/internal.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/secretbox.h"

#include <errno.h>
#include <string.h>

#define SIP_PASS_BYTES 18 /* 24 base64url characters */
#define SEALED_MAX 256    /* schema: password_enc is at most 256 bytes */

/* 16 characters of [a-z2-7]: 5 bits each, taken from 10 random bytes. */
static int make_username(char user[CORE_SIP_USER_SIZE])
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz234567";
    uint8_t r[10];
    int rc = crypto_random_bytes(r, sizeof r);
    if (rc < 0)
        return rc;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < sizeof r; i++) {
        acc = (acc << 8) | r[i];
        bits += 8;
        while (bits >= 5) {
            user[o++] = alpha[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    user[o] = '\0';
    crypto_wipe(r, sizeof r);
    return 0;
}

/* Makes fresh credentials and writes them for uid (insert or replace),
 * retrying on the (2^-80) chance of a username collision. */
static int put_credentials(struct store *st, const struct core_cfg *cfg, int64_t uid,
                           int replace)
{
    char user[CORE_SIP_USER_SIZE], pass[CORE_SIP_PASS_SIZE];
    uint8_t ha1[16], sealed[SEALED_MAX];
    if (!cfg || !cfg->secret_key || !cfg->realm)
        return -EINVAL;
    int rc = -EIO;
    for (int attempt = 0; attempt < 3; attempt++) {
        rc = make_username(user);
        if (rc < 0)
            break;
        rc = crypto_random_token(pass, sizeof pass, SIP_PASS_BYTES);
        if (rc < 0)
            break;
        size_t plen = strlen(pass);
        crypto_ha1(user, cfg->realm, pass, plen, ha1);
        int n = secretbox_seal(cfg->secret_key, pass, plen, sealed, sizeof sealed);
        crypto_wipe(pass, sizeof pass);
        if (n < 0) {
            rc = n;
            break;
        }
        sqlite3_stmt *s = replace
            ? core_stmt(st, "UPDATE sip_credentials SET username = ?2, password_enc = ?3, "
                            "ha1 = ?4 WHERE user_id = ?1")
            : core_stmt(st, "INSERT INTO sip_credentials (user_id, username, password_enc, ha1) "
                            "VALUES (?1, ?2, ?3, ?4)");
        if (!s) {
            rc = -EIO;
            break;
        }
        sqlite3_bind_int64(s, 1, uid);
        sqlite3_bind_text(s, 2, user, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(s, 3, sealed, n, SQLITE_TRANSIENT);
        sqlite3_bind_blob(s, 4, ha1, sizeof ha1, SQLITE_TRANSIENT);
        int step = sqlite3_step(s);
        sqlite3_reset(s);
        if (step == SQLITE_DONE) {
            rc = replace && sqlite3_changes(store_db(st)) == 0 ? -ENOENT : 0;
            break;
        }
        rc = core_sql_err(st, step);
        if ((step & 0xff) != SQLITE_CONSTRAINT ||
            !strstr(sqlite3_errmsg(store_db(st)), "sip_credentials.username"))
            break;
    }
    crypto_wipe(pass, sizeof pass);
    crypto_wipe(ha1, sizeof ha1);
    return rc;
}

int core_sipcred_insert(struct store *st, const struct core_cfg *cfg, int64_t uid)
{
    return put_credentials(st, cfg, uid, 0);
}

int core_sipcred_regenerate(struct store *st, const struct core_cfg *cfg, int64_t uid)
{
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    return core_txn_end(st, put_credentials(st, cfg, uid, 1));
}

int core_sipcred_username(struct store *st, int64_t uid, char user[CORE_SIP_USER_SIZE])
{
    return core_text_by_id(st, "SELECT username FROM sip_credentials WHERE user_id = ?1", uid,
                           user, CORE_SIP_USER_SIZE);
}

/* Opens a sealed password into pass (NUL-terminated). */
static int open_password(const struct core_cfg *cfg, const void *sealed, int n,
                         char pass[CORE_SIP_PASS_SIZE])
{
    if (n <= 0)
        return -EBADMSG;
    int len = secretbox_open(cfg->secret_key, sealed, (size_t)n, pass, CORE_SIP_PASS_SIZE - 1);
    if (len < 0) {
        crypto_wipe(pass, CORE_SIP_PASS_SIZE);
        return len == -ENOSPC ? -EBADMSG : len;
    }
    pass[len] = '\0';
    return len;
}

int core_sipcred_reveal(struct store *st, const struct core_cfg *cfg, int64_t uid,
                        char user[CORE_SIP_USER_SIZE], char pass[CORE_SIP_PASS_SIZE])
{
    user[0] = pass[0] = '\0';
    if (!cfg || !cfg->secret_key)
        return -EINVAL;
    sqlite3_stmt *s = core_stmt(st,
        "SELECT username, password_enc FROM sip_credentials WHERE user_id = ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, uid);
    int rc = core_row(st, s);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    core_col_text(s, 0, user, CORE_SIP_USER_SIZE);
    rc = open_password(cfg, sqlite3_column_blob(s, 1), sqlite3_column_bytes(s, 1), pass);
    sqlite3_reset(s);
    if (rc < 0) {
        user[0] = '\0';
        return rc;
    }
    return 0;
}

int core_sipcred_rehash(struct store *st, const struct core_cfg *cfg, int *changed)
{
    sqlite3_stmt *s;
    *changed = 0;
    if (!cfg || !cfg->secret_key || !cfg->realm)
        return -EINVAL;
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    /* A private statement: the loop writes through cached ones. */
    rc = core_prepare(st, "SELECT user_id, username, password_enc, ha1 FROM sip_credentials",
                      &s);
    if (rc < 0)
        return core_txn_end(st, rc);
    int n = 0, step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        char user[CORE_SIP_USER_SIZE], pass[CORE_SIP_PASS_SIZE];
        uint8_t ha1[16];
        int64_t uid = sqlite3_column_int64(s, 0);
        core_col_text(s, 1, user, sizeof user);
        rc = open_password(cfg, sqlite3_column_blob(s, 2), sqlite3_column_bytes(s, 2), pass);
        if (rc < 0)
            break;
        crypto_ha1(user, cfg->realm, pass, (size_t)rc, ha1);
        crypto_wipe(pass, sizeof pass);
        rc = 0;
        if (sqlite3_column_bytes(s, 3) == 16 &&
            crypto_ct_equal(ha1, sqlite3_column_blob(s, 3), 16))
            continue;
        sqlite3_stmt *u = core_stmt(st, "UPDATE sip_credentials SET ha1 = ?2 WHERE user_id = ?1");
        if (!u) {
            rc = -EIO;
            break;
        }
        sqlite3_bind_int64(u, 1, uid);
        sqlite3_bind_blob(u, 2, ha1, sizeof ha1, SQLITE_TRANSIENT);
        if ((rc = core_exec(st, u)) < 0)
            break;
        n++;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = core_sql_err(st, step);
    sqlite3_finalize(s);
    rc = core_txn_end(st, rc);
    if (rc == 0)
        *changed = n;
    return rc;
}

int core_sipcred_provision_token(struct store *st, int64_t uid, int64_t now,
                                 char token[CORE_TOKEN_SIZE])
{
    uint8_t h[32];
    token[0] = '\0';
    int rc = core_token_new(token, h);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = core_stmt(st,
        "INSERT INTO provision_tokens (token_hash, user_id, expires) "
        "SELECT ?1, id, ?3 FROM users WHERE id = ?2");
    if (!s)
        return -EIO;
    sqlite3_bind_blob(s, 1, h, sizeof h, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, uid);
    sqlite3_bind_int64(s, 3, now + CORE_PROVISION_TTL);
    rc = core_exec(st, s);
    if (rc == 0 && sqlite3_changes(store_db(st)) == 0)
        rc = -ENOENT;
    if (rc < 0)
        token[0] = '\0';
    return rc;
}

int core_sipcred_provision_redeem(struct store *st, const struct core_cfg *cfg,
                                  const char *token, int64_t now, int64_t *uid,
                                  char user[CORE_SIP_USER_SIZE],
                                  char pass[CORE_SIP_PASS_SIZE])
{
    uint8_t h[32];
    int64_t id = 0, expires = 0;
    *uid = 0;
    user[0] = pass[0] = '\0';
    if (core_token_hash(token, h) < 0)
        return -ENOENT;
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = core_stmt(st,
        "DELETE FROM provision_tokens WHERE token_hash = ?1 RETURNING user_id, expires");
    if (!s)
        return core_txn_end(st, -EIO);
    sqlite3_bind_blob(s, 1, h, sizeof h, SQLITE_TRANSIENT);
    rc = core_row(st, s);
    if (rc == 1) {
        id = sqlite3_column_int64(s, 0);
        expires = sqlite3_column_int64(s, 1);
        /* Step to the end so the DELETE completes before the commit. */
        while (sqlite3_step(s) == SQLITE_ROW)
            ;
        sqlite3_reset(s);
        rc = 0;
    } else if (rc == 0) {
        rc = -ENOENT;
    }
    /* The token is gone either way: commit its deletion first. */
    rc = core_txn_end(st, rc);
    if (rc < 0)
        return rc;
    if (now >= expires)
        return CORE_E_EXPIRED;
    rc = core_sipcred_reveal(st, cfg, id, user, pass);
    if (rc == 0)
        *uid = id;
    return rc;
}
