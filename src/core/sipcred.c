/*
 * core/sipcred.c - see sipcred.h.
 */
#include "core/sipcred.h"
#include "core/errors.h"
#include "core/internal.h"
#include "core/mem.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/secretbox.h"

#include <errno.h>
#include <string.h>

#define SIP_PASS_BYTES 18 /* 24 base64url characters */
#define SEALED_MAX 256    /* schema: password_enc is at most 256 bytes */
#define REALM_MAX 255     /* schema: sip_credentials.realm */

/* What a sealed HA1 is bound to: a box copied onto another row, or read
 * under another realm, does not open. */
static size_t ha1_ad(const char *user, const char *realm, uint8_t ad[CORE_HA1_AD_MAX])
{
    static const char tag[] = "t9phone ha1 v1";
    size_t u = strnlen(user, CORE_SIP_USER_SIZE - 1), r = strnlen(realm, REALM_MAX);
    size_t n = 0;
    memcpy(ad, tag, sizeof tag); /* with its NUL */
    n += sizeof tag;
    memcpy(ad + n, user, u);
    n += u;
    ad[n++] = 0;
    memcpy(ad + n, realm, r);
    return n + r;
}

int core_ha1_seal(const uint8_t key[32], const char *user, const char *realm,
                  const uint8_t ha1[16], uint8_t box[CORE_HA1_BOX])
{
    uint8_t ad[CORE_HA1_AD_MAX];
    size_t n = ha1_ad(user, realm, ad);
    int rc = secretbox_seal_ad(key, ad, n, ha1, 16, box, CORE_HA1_BOX);
    return rc < 0 ? rc : 0;
}

int core_ha1_open(const uint8_t key[32], const char *user, const char *realm,
                  const uint8_t *box, size_t len, uint8_t ha1[16])
{
    uint8_t ad[CORE_HA1_AD_MAX];
    if (len != CORE_HA1_BOX)
        return -EBADMSG;
    size_t n = ha1_ad(user, realm, ad);
    int rc = secretbox_open_ad(key, ad, n, box, len, ha1, 16);
    return rc == 16 ? 0 : -EBADMSG;
}

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
    uint8_t ha1[16], sealed[SEALED_MAX], box[CORE_HA1_BOX];
    if (!cfg || !cfg->secret_key || !cfg->realm || !cfg->realm[0] ||
        strlen(cfg->realm) > REALM_MAX)
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
        if ((rc = core_ha1_seal(cfg->secret_key, user, cfg->realm, ha1, box)) < 0)
            break;
        sqlite3_stmt *s = replace
            ? core_stmt(st, "UPDATE sip_credentials SET username = ?2, password_enc = ?3, "
                            "ha1_enc = ?4, realm = ?5 WHERE user_id = ?1")
            : core_stmt(st, "INSERT INTO sip_credentials "
                            "(user_id, username, password_enc, ha1_enc, realm) "
                            "VALUES (?1, ?2, ?3, ?4, ?5)");
        if (!s) {
            rc = -EIO;
            break;
        }
        sqlite3_bind_int64(s, 1, uid);
        sqlite3_bind_text(s, 2, user, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(s, 3, sealed, n, SQLITE_TRANSIENT);
        sqlite3_bind_blob(s, 4, box, sizeof box, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 5, cfg->realm, -1, SQLITE_TRANSIENT);
        int step = sqlite3_step(s);
        sqlite3_reset(s);
        if (step == SQLITE_DONE) {
            rc = replace && sqlite3_changes(store_db(st)) == 0 ? -ENOENT : 0;
            if (rc == 0 && replace)
                store_mark_dirty(st); /* the old credentials' bytes */
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

/* Opens the first sealed HA1 made for this realm: a wrong key shows here,
 * at start, without decrypting any password. 0, -EBADMSG or -EIO. */
static int check_key(struct store *st, const struct core_cfg *cfg)
{
    sqlite3_stmt *s = core_stmt(st,
        "SELECT username, ha1_enc FROM sip_credentials WHERE realm = ?1 "
        "AND ha1_enc IS NOT NULL ORDER BY user_id LIMIT 1");
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, cfg->realm, -1, SQLITE_STATIC);
    int rc = core_row(st, s);
    if (rc <= 0)
        return rc;
    char user[CORE_SIP_USER_SIZE];
    uint8_t ha1[16];
    core_col_text(s, 0, user, sizeof user);
    rc = core_ha1_open(cfg->secret_key, user, cfg->realm, sqlite3_column_blob(s, 1),
                       (size_t)sqlite3_column_bytes(s, 1), ha1);
    sqlite3_reset(s);
    crypto_wipe(ha1, sizeof ha1);
    return rc;
}

int core_sipcred_rehash(struct store *st, const struct core_cfg *cfg, int *changed)
{
    sqlite3_stmt *s;
    *changed = 0;
    if (!cfg || !cfg->secret_key || !cfg->realm || !cfg->realm[0] ||
        strlen(cfg->realm) > REALM_MAX)
        return -EINVAL;
    int rc = check_key(st, cfg);
    if (rc < 0)
        return rc;
    rc = store_begin(st);
    if (rc < 0)
        return rc;
    /* Only the rows made for another realm (or not sealed yet: databases
     * from before migration 003) are opened; the others stay sealed. A
     * private statement: the loop writes through cached ones. */
    rc = core_prepare(st,
        "SELECT user_id, username, password_enc FROM sip_credentials "
        "WHERE realm IS NOT ?1 OR ha1_enc IS NULL", &s);
    if (rc < 0)
        return core_txn_end(st, rc);
    sqlite3_bind_text(s, 1, cfg->realm, -1, SQLITE_TRANSIENT);
    int n = 0, step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        char user[CORE_SIP_USER_SIZE], pass[CORE_SIP_PASS_SIZE];
        uint8_t ha1[16], box[CORE_HA1_BOX];
        int64_t uid = sqlite3_column_int64(s, 0);
        core_col_text(s, 1, user, sizeof user);
        rc = open_password(cfg, sqlite3_column_blob(s, 2), sqlite3_column_bytes(s, 2), pass);
        if (rc < 0)
            break;
        crypto_ha1(user, cfg->realm, pass, (size_t)rc, ha1);
        crypto_wipe(pass, sizeof pass);
        rc = core_ha1_seal(cfg->secret_key, user, cfg->realm, ha1, box);
        crypto_wipe(ha1, sizeof ha1);
        if (rc < 0)
            break;
        sqlite3_stmt *u = core_stmt(st,
            "UPDATE sip_credentials SET ha1_enc = ?2, realm = ?3 WHERE user_id = ?1");
        if (!u) {
            rc = -EIO;
            break;
        }
        sqlite3_bind_int64(u, 1, uid);
        sqlite3_bind_blob(u, 2, box, sizeof box, SQLITE_TRANSIENT);
        sqlite3_bind_text(u, 3, cfg->realm, -1, SQLITE_TRANSIENT);
        if ((rc = core_exec(st, u)) < 0)
            break;
        n++;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = core_sql_err(st, step);
    sqlite3_finalize(s);
    rc = core_txn_end(st, rc);
    if (rc < 0)
        return rc;
    if (n)
        store_mark_dirty(st);
    *changed = n;
    /* Lookups from now on open the sealed HA1s with this key and realm. */
    return core_keys_install(st, cfg->secret_key, cfg->realm);
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
    store_mark_dirty(st);
    if (now >= expires)
        return CORE_E_EXPIRED;
    rc = core_sipcred_reveal(st, cfg, id, user, pass);
    if (rc == 0)
        *uid = id;
    return rc;
}
