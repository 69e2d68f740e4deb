/*
 * base/config.h - key=value configuration in coturn's format.
 *
 * Every component declares the keys it understands in a NULL-terminated
 * table of struct config_key; config_t holds the merged values of all tables.
 * Sources, from weakest to strongest (a stronger one replaces the value):
 *
 *   1. the file named by --config (coturn syntax: `key=value`, `key value`,
 *      `key` alone for a boolean, `#` comments, optional leading `--`),
 *   2. environment variables T9PHONE_KEY_NAME (dashes become underscores),
 *   3. command-line flags `--key=value` or `--key` for booleans.
 *
 * A key marked CONFIG_MULTI (e.g. denied-peer-ip) collects every value given
 * within the strongest source that names it. An unknown key, a repeated
 * single-valued key inside one file, or a value that fails its type check is
 * an error naming the key and, for files, the line.
 *
 * The parser is pure: config_parse_text() takes bytes and returns values,
 * without touching files or the environment, so it can be fuzzed.
 */
#ifndef T9_BASE_CONFIG_H
#define T9_BASE_CONFIG_H

#include <stddef.h>

enum config_type {
    CONFIG_STRING,
    CONFIG_INT,   /* decimal, within [min, max] */
    CONFIG_BOOL,  /* bare key, or 1/0, true/false, yes/no, on/off */
    CONFIG_ENUM,  /* one of the '|'-separated words in choices */
};

#define CONFIG_MULTI 0x1 /* may repeat; values are kept in order */
#define CONFIG_UNSUPPORTED 0x2 /* a coturn key we know but refuse: the reason is in help */
#define CONFIG_IGNORED 0x4 /* a coturn key accepted with a start-up notice: help says why */
#define CONFIG_SECRET 0x8 /* a credential: masked in argv after parsing, never printed */

struct config_key {
    const char *name;
    enum config_type type;
    const char *def;     /* default as text, NULL for none */
    long min, max;       /* CONFIG_INT bounds */
    const char *choices; /* CONFIG_ENUM: the words, "text|json". CONFIG_INT: NULL, or
                          * the value the key means when given bare, as coturn's
                          * `stale-nonce` alone means 600 */
    unsigned flags;
    const char *help;
};

#define CONFIG_ERR_LEN 256

typedef struct config config_t;

/* Creates an empty configuration over the given key tables (each ends with a
 * {NULL} entry; the tables must outlive the config). Returns NULL on OOM. */
config_t *config_new(const struct config_key *const *tables, size_t ntables);
void config_free(config_t *cfg);

/* Checks every key of the tables the way a value from a file would be
 * checked: each default (and each bare meaning of a CONFIG_INT) must pass
 * its key's type and bounds, an int's min must not exceed its max, an enum
 * must list its words, and no name may be declared twice. A malformed
 * default would otherwise read as 0 or false without a word. Run it once at
 * start-up, before config_new(). Returns 0, or -EINVAL with the first
 * problem (naming the key) in err. Pure. */
int config_check_tables(const struct config_key *const *tables, size_t ntables,
                        char err[CONFIG_ERR_LEN]);

/* Parses file text. `origin` names the source in messages ("t9phone.conf").
 * Returns 0, or a negative errno with a message in err. */
int config_parse_text(config_t *cfg, const char *origin, const char *text, size_t len,
                      char err[CONFIG_ERR_LEN]);
/* Reads and parses a file; -ENOENT etc. with a message. */
int config_load_file(config_t *cfg, const char *path, char err[CONFIG_ERR_LEN]);
/* Applies T9PHONE_* entries from envp (a NULL-terminated environ array). */
int config_load_env(config_t *cfg, char *const *envp, char err[CONFIG_ERR_LEN]);
/* Applies one command-line flag "--key=value" or "--key". */
int config_set_flag(config_t *cfg, const char *arg, char err[CONFIG_ERR_LEN]);
/* Sets one key from a given source rank (0 file, 1 env, 2 flag). */
int config_set(config_t *cfg, const char *key, const char *value, int rank,
               char err[CONFIG_ERR_LEN]);

/* Getters return the value or the key's default. Asking for a key that no
 * table declares is a programming error and aborts. */
const char *config_str(const config_t *cfg, const char *key); /* NULL if unset, no default */
long config_int(const config_t *cfg, const char *key);
int config_bool(const config_t *cfg, const char *key);
/* Whether the key was given explicitly by any source. */
int config_isset(const config_t *cfg, const char *key);
/* Values of a CONFIG_MULTI key: count, and the i-th value. */
size_t config_count(const config_t *cfg, const char *key);
const char *config_nth(const config_t *cfg, const char *key, size_t i);

/* The flags of a declared key (CONFIG_MULTI, CONFIG_SECRET, ...); 0 for a
 * key no table declares. */
unsigned config_key_flags(const config_t *cfg, const char *key);

/* Calls fn for each key given explicitly that carries CONFIG_IGNORED or
 * CONFIG_UNSUPPORTED, so start-up can name them. */
void config_each_flagged(const config_t *cfg, unsigned flag,
                         void (*fn)(void *ctx, const struct config_key *k), void *ctx);

#endif
