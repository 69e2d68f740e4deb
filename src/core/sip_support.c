/*
 * core/sip_support.c - see sip_support.h.
 */
#include "core/sip_support.h"
#include "core/t9.h"
#include "core/internal.h"

#include <errno.h>
#include <string.h>

int core_sip_identity(struct store *st, int64_t uid, char nickname[CORE_NICK_SIZE],
                      char dial_code[CORE_NICK_SIZE])
{
    nickname[0] = dial_code[0] = '\0';
    /* The dial code is computed here from the nickname (core/t9.h), not
     * read as users.dial_code: the column's 26 nested replace() calls were
     * a tenth of the SQL work of a proxied call. */
    sqlite3_stmt *s = core_stmt(st, "SELECT nickname FROM users WHERE id = ?1");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, uid);
    int rc = core_row(st, s);
    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    core_col_text(s, 0, nickname, CORE_NICK_SIZE);
    sqlite3_reset(s);
    if (core_t9_dial_code(nickname, strlen(nickname), dial_code) < 0) {
        nickname[0] = '\0'; /* the schema's CHECK makes this impossible */
        return -EIO;
    }
    return 0;
}

int core_sip_dial_candidates(struct store *st, int64_t caller_uid, const char *digits,
                             size_t len, struct core_sip_candidate *out, size_t cap)
{
    char glob[CORE_T9_GLOB_SIZE];
    if (core_t9_dial_glob(digits, len, glob) < 0)
        return 0;
    /* The same set core_resolve_dial() chooses from. It starts from the
     * caller's groups, as that one does: dial_code is computed, never
     * indexed (nothing of it is stored), so a query driven from users would
     * compute it for every account on the instance; the nickname is
     * compared with the code's GLOB pattern (see core_resolve_dial). */
    sqlite3_stmt *s = core_stmt(st,
        "SELECT c.username, u.nickname FROM ("
        "  SELECT m2.user_id AS uid FROM memberships m1 "
        "  JOIN memberships m2 ON m2.group_id = m1.group_id WHERE m1.user_id = ?1 "
        "  UNION SELECT ?1"
        ") x JOIN users u ON u.id = x.uid "
        "JOIN sip_credentials c ON c.user_id = u.id "
        "WHERE u.nickname GLOB (?2 || '') ORDER BY u.id");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, caller_uid);
    sqlite3_bind_text(s, 2, glob, -1, SQLITE_STATIC);
    int n = 0, step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if ((size_t)n < cap) {
            core_col_text(s, 0, out[n].sip_username, sizeof out[n].sip_username);
            core_col_text(s, 1, out[n].nickname, sizeof out[n].nickname);
        }
        n++;
    }
    sqlite3_reset(s);
    if (step != SQLITE_DONE)
        return core_sql_err(st, step);
    return n;
}
