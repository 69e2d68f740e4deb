/*
 * cli/admin.h - the admin commands `t9phone user ...` and `t9phone group ...`.
 *
 * They work on the database of a stopped or running instance (SQLite's
 * busy timeout lets them wait for the server's short transactions) through
 * core/, so every rule of the portal applies to them too.
 *
 *   user add --email E --nickname N   password: first line of stdin
 *   user list
 *   user unverified                    accounts never verified, and when they go
 *   user delete EMAIL
 *   user unlock EMAIL
 *   user sip EMAIL [--show-password]   the SIP username; the decrypted
 *                                      password only with the switch (each
 *                                      time with a note on stderr saying why)
 *   group list
 *   group add NAME --owner EMAIL [--cap N]
 *   group join SLUG EMAIL
 *
 * Options take their value as the next word or after '=' (--email=E).
 *
 * Output is plain and scriptable: one record per line, fields separated by
 * one TAB, no header, nothing else on stdout:
 *   user add     EMAIL NICKNAME DIAL_CODE SIP_USERNAME
 *   user list    EMAIL NICKNAME DIAL_CODE CREATED STATE
 *                (CREATED: UTC, ISO 8601; STATE: ok, unverified or locked)
 *   user unverified  EMAIL NICKNAME CREATED DELETED_AT (both UTC, ISO 8601:
 *                the purge deletes the account at DELETED_AT)
 *   user sip     sip-username=U, and with --show-password also sip-password=P
 *   group list   SLUG NAME MEMBERS CAP OWNER_EMAIL
 *   group add    SLUG
 *   user delete, user unlock, group join: nothing.
 * Errors are one line on stderr: "t9phone <cmd> <sub>: <reason>".
 *
 * Exit status:
 *   0  done
 *   1  refused by a domain rule (not found, email taken, group full, ...)
 *   2  usage error (unknown command or option, missing argument)
 *   3  internal error (database, secret key)
 */
#ifndef T9_CLI_ADMIN_H
#define T9_CLI_ADMIN_H

#include <stdint.h>
#include <stdio.h>

#include "store/db.h"

#define CLI_OK 0
#define CLI_REFUSED 1
#define CLI_USAGE 2
#define CLI_INTERNAL 3

struct cli_env {
    const char *realm;         /* SIP/TURN realm (config "realm") */
    const uint8_t *secret_key; /* SECRETBOX_KEY_LEN bytes; NULL: user add/sip refuse */
    int bcrypt_cost;           /* 0: BCRYPT_DEFAULT_COST */
    FILE *in, *out, *err;      /* stdin, stdout, stderr (tests pass files) */
};

/* Runs one admin command. argv[0] is "user" or "group", and argv holds only
 * the command's own words: the caller removes its configuration flags
 * (--data-dir=..., --config FILE) first; cli_admin_option() tells the two
 * kinds of option apart. Returns the exit status above. */
int cli_admin_main(struct store *st, const struct cli_env *env, int argc, char **argv);

/* Whether arg is an option of the admin commands (so not a configuration
 * flag): 0 no; 1 yes, and its value is the next word ("--email"); 2 yes,
 * with the value inside ("--email=E") or no value at all
 * ("--show-password"). */
int cli_admin_option(const char *arg);

/* Prints the usage text above (commands and options). */
void cli_admin_usage(FILE *f);

#endif
