/*
 * core/t9.h - nicknames and their phone-keypad dial codes.
 *
 * Pure functions over bytes: no SQLite, no libuv, no globals; fuzzable.
 *
 * A nickname is 6 to 12 ASCII letters, case-insensitive, stored lower-case.
 * Its dial code maps each letter to its keypad digit (ITU E.161):
 * abc 2, def 3, ghi 4, jkl 5, mno 6, pqrs 7, tuv 8, wxyz 9, so "marina"
 * dials "627462". The same mapping is computed in SQL (users.dial_code in
 * sql/001_accounts.sql); a unit test keeps the two in step.
 */
#ifndef T9_CORE_T9_H
#define T9_CORE_T9_H

#include <stddef.h>

#define CORE_NICK_MIN 6
#define CORE_NICK_MAX 12
#define CORE_NICK_SIZE (CORE_NICK_MAX + 1) /* nickname or dial code + NUL */

/* Validates the len bytes at in as a nickname and writes its lower-case form
 * to out. No trimming: any byte that is not an ASCII letter is refused.
 * Returns 0 or CORE_E_BAD_NICKNAME (out is then the empty string). */
int core_t9_normalise_nickname(const char *in, size_t len, char out[CORE_NICK_SIZE]);

/* The keypad digit ('2'..'9') of an ASCII letter of either case, or -1. */
int core_t9_digit(int c);

/* Writes the dial code of a nickname (any case; validated as above).
 * Returns 0 or CORE_E_BAD_NICKNAME. */
int core_t9_dial_code(const char *nick, size_t len, char out[CORE_NICK_SIZE]);

/* 1 when the len bytes at s are a possible dial code (6-12 digits 2-9),
 * else 0. The SIP proxy uses it to tell dial codes from SIP usernames. */
int core_t9_is_dial_code(const char *s, size_t len);

/* Room for the GLOB pattern of the longest dial code ("[pqrs]" a digit). */
#define CORE_T9_GLOB_SIZE (6 * CORE_NICK_MAX + 1)

/* Writes the SQLite GLOB pattern that matches exactly the lower-case
 * nicknames whose dial code is the len digits at code: one class a digit,
 * "627462" -> "[mno][abc][pqrs][ghi][mno][abc]". A query compares it with
 * the stored nickname, which costs a fraction of computing users.dial_code
 * (26 nested replace() calls) for every row it looks at. Returns 0, or -1
 * (out is then the empty string) when code is not a dial code. */
int core_t9_dial_glob(const char *code, size_t len, char out[CORE_T9_GLOB_SIZE]);

#endif
