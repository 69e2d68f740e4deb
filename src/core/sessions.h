/*
 * core/sessions.h - portal login sessions.
 *
 * The browser holds an opaque session id (CORE_TOKEN_SIZE text, 256 random
 * bits) in a cookie; the database holds its SHA-256, the user id, a CSRF
 * token for the portal's forms, and the day of last activity. The day, not
 * the time: last activity is rounded down to midnight UTC, so the sessions
 * table cannot serve as a record of when someone is online, and a session
 * is touched (written) at most once a day.
 *
 * A session ends after CORE_SESSION_IDLE of inactivity counted in whole
 * days: it is expired once now >= last active day + 31 days, i.e. after 30
 * to 31 days without use.
 */
#ifndef T9_CORE_SESSIONS_H
#define T9_CORE_SESSIONS_H

#include <stdint.h>

#include "core/core.h"
#include "store/db.h"

#define CORE_SESSION_IDLE (30 * 86400)
#define CORE_DAY 86400

/* Creates a session for uid (call at every login: ids are never reused).
 * Writes the new session id and CSRF token. 0, -ENOENT (no such user). */
int core_sessions_create(struct store *st, int64_t uid, int64_t now,
                         char sid[CORE_TOKEN_SIZE], char csrf[CORE_TOKEN_SIZE]);

/* Looks a session id up and records today's activity. 0 with *uid and csrf
 * (csrf may be NULL); -ENOENT (unknown, ended); CORE_E_EXPIRED (the session
 * is deleted). */
int core_sessions_lookup(struct store *st, const char *sid, int64_t now, int64_t *uid,
                         char csrf[CORE_TOKEN_SIZE]);

/* Replaces a live session by a new one for the same user (new id and CSRF
 * token), e.g. on a privilege change. The old id stops working. 0, -ENOENT,
 * CORE_E_EXPIRED. */
int core_sessions_rotate(struct store *st, const char *sid, int64_t now,
                         char new_sid[CORE_TOKEN_SIZE], char new_csrf[CORE_TOKEN_SIZE]);

/* Ends one session (logout). 0, -ENOENT. */
int core_sessions_end(struct store *st, const char *sid);

/* Ends every session of uid except keep_sid (NULL: all). Returns the number
 * ended, or a negative code. */
int core_sessions_end_all(struct store *st, int64_t uid, const char *keep_sid);

/* Deletes every expired session. Returns the number deleted. */
int core_sessions_expire(struct store *st, int64_t now);

#endif
