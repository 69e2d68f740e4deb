/*
 * base/config.c - see config.h.
 *
 * Invariant: each declared key has one slot. A slot remembers the rank of
 * the source that last set it; a weaker source never overwrites a stronger
 * one, and the first value from a stronger source drops every value a weaker
 * one gave (so a CONFIG_MULTI list comes from exactly one source).
 */
#include "base/config.h"
#include "base/file.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX_FILE (1 << 20)
#define CONFIG_MAX_VALUES 256

struct config_slot {
    const struct config_key *key;
    int rank;       /* -1 when unset */
    size_t n;
    char **values;
};

struct config {
    size_t nslots;
    struct config_slot *slots;
};

static void config_errf(char err[CONFIG_ERR_LEN], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void config_errf(char err[CONFIG_ERR_LEN], const char *fmt, ...)
{
    va_list ap;
    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(err, CONFIG_ERR_LEN, fmt, ap);
    va_end(ap);
}

config_t *config_new(const struct config_key *const *tables, size_t ntables)
{
    config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    size_t n = 0;
    for (size_t t = 0; t < ntables; t++)
        for (const struct config_key *k = tables[t]; k->name; k++)
            n++;
    cfg->slots = calloc(n ? n : 1, sizeof *cfg->slots);
    if (!cfg->slots) {
        free(cfg);
        return NULL;
    }
    for (size_t t = 0; t < ntables; t++) {
        for (const struct config_key *k = tables[t]; k->name; k++) {
            struct config_slot *s = &cfg->slots[cfg->nslots++];
            s->key = k;
            s->rank = -1;
        }
    }
    return cfg;
}

static void config_slot_clear(struct config_slot *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->values[i]);
    free(s->values);
    s->values = NULL;
    s->n = 0;
}

void config_free(config_t *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nslots; i++)
        config_slot_clear(&cfg->slots[i]);
    free(cfg->slots);
    free(cfg);
}

static struct config_slot *config_find(const config_t *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nslots; i++)
        if (strcmp(cfg->slots[i].key->name, name) == 0)
            return &cfg->slots[i];
    return NULL;
}

static int config_parse_bool(const char *v, int *out)
{
    static const char *const yes[] = { "1", "true", "yes", "on" };
    static const char *const no[] = { "0", "false", "no", "off" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -EINVAL;
}

static int config_parse_long(const char *v, long *out)
{
    char *end;
    if (!*v || isspace((unsigned char)*v))
        return -EINVAL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *out = x;
    return 0;
}

static int config_enum_has(const char *choices, const char *v)
{
    size_t vl = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == vl && strncmp(p, v, l) == 0)
            return 1;
        if (!bar)
            break;
        p = bar + 1;
    }
    return 0;
}

static int config_check(const struct config_key *k, const char *v, char err[CONFIG_ERR_LEN])
{
    long x;
    int b;
    switch (k->type) {
    case CONFIG_STRING:
        return 0;
    case CONFIG_INT:
        if (config_parse_long(v, &x) < 0) {
            config_errf(err, "'%s' must be a whole number, not '%s'", k->name, v);
            return -EINVAL;
        }
        if (x < k->min || x > k->max) {
            config_errf(err, "'%s' must be between %ld and %ld, not %ld", k->name, k->min,
                        k->max, x);
            return -ERANGE;
        }
        return 0;
    case CONFIG_BOOL:
        if (config_parse_bool(v, &b) < 0) {
            config_errf(err, "'%s' is a switch: give it alone or with true/false, not '%s'",
                        k->name, v);
            return -EINVAL;
        }
        return 0;
    case CONFIG_ENUM:
        if (!config_enum_has(k->choices, v)) {
            config_errf(err, "'%s' must be one of %s, not '%s'", k->name, k->choices, v);
            return -EINVAL;
        }
        return 0;
    }
    return -EINVAL;
}

int config_check_tables(const struct config_key *const *tables, size_t ntables,
                        char err[CONFIG_ERR_LEN])
{
    char why[CONFIG_ERR_LEN];
    for (size_t t = 0; t < ntables; t++) {
        for (const struct config_key *k = tables[t]; k->name; k++) {
            if (!k->name[0]) {
                config_errf(err, "config table %zu: a key without a name", t);
                return -EINVAL;
            }
            if (k->type == CONFIG_INT && k->min > k->max) {
                config_errf(err, "key '%s': min %ld above max %ld", k->name, k->min, k->max);
                return -EINVAL;
            }
            if (k->type == CONFIG_ENUM && (!k->choices || !k->choices[0])) {
                config_errf(err, "key '%s': an enum without choices", k->name);
                return -EINVAL;
            }
            if (k->def && config_check(k, k->def, why) < 0) {
                config_errf(err, "default of %s", why);
                return -EINVAL;
            }
            if (k->type == CONFIG_INT && k->choices && config_check(k, k->choices, why) < 0) {
                config_errf(err, "bare meaning of %s", why);
                return -EINVAL;
            }
            /* Every name once across all tables: the later one would
             * never be reachable. */
            for (size_t u = 0; u <= t; u++)
                for (const struct config_key *o = tables[u]; o->name && o != k; o++)
                    if (strcmp(o->name, k->name) == 0) {
                        config_errf(err, "key '%s' is declared twice", k->name);
                        return -EINVAL;
                    }
        }
    }
    return 0;
}

int config_set(config_t *cfg, const char *key, const char *value, int rank,
               char err[CONFIG_ERR_LEN])
{
    struct config_slot *s = config_find(cfg, key);
    if (!s) {
        config_errf(err, "unknown key '%s'", key);
        return -ENOENT;
    }
    const struct config_key *k = s->key;
    if (!value && k->type == CONFIG_INT && k->choices)
        value = k->choices;
    if (!value) {
        if (k->type != CONFIG_BOOL) {
            config_errf(err, "'%s' needs a value", key);
            return -EINVAL;
        }
        value = "true";
    }
    int rc = config_check(k, value, err);
    if (rc < 0)
        return rc;
    if (rank < s->rank)
        return 0;
    if (rank > s->rank) {
        config_slot_clear(s);
        s->rank = rank;
    } else if (!(k->flags & CONFIG_MULTI)) {
        /* Same source twice: last one wins, as in coturn, except files where
         * the caller reports the duplicate before calling us. */
        config_slot_clear(s);
    }
    if (s->n >= CONFIG_MAX_VALUES) {
        config_errf(err, "'%s' is given more than %d times", key, CONFIG_MAX_VALUES);
        return -E2BIG;
    }
    char **nv = realloc(s->values, (s->n + 1) * sizeof *nv);
    if (!nv)
        return -ENOMEM;
    s->values = nv;
    if (!(s->values[s->n] = strdup(value)))
        return -ENOMEM;
    s->n++;
    return 0;
}

/* Trims ASCII white space in place and returns the new start. */
static char *config_trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Strips one pair of matching surrounding quotes, as coturn's examples use. */
static char *config_unquote(char *v)
{
    size_t n = strlen(v);
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        v[n - 1] = '\0';
        return v + 1;
    }
    return v;
}

int config_parse_text(config_t *cfg, const char *origin, const char *text, size_t len,
                      char err[CONFIG_ERR_LEN])
{
    char line[4096];
    size_t lineno = 0, i = 0;
    char **seen = NULL;
    size_t nseen = 0;
    int rc = 0;

    while (i < len && rc == 0) {
        size_t start = i;
        while (i < len && text[i] != '\n')
            i++;
        size_t l = i - start;
        i++;
        lineno++;
        if (l >= sizeof line) {
            config_errf(err, "%s:%zu: line too long", origin, lineno);
            rc = -E2BIG;
            break;
        }
        memcpy(line, text + start, l);
        line[l] = '\0';
        if (memchr(line, '\0', l)) {
            config_errf(err, "%s:%zu: NUL byte", origin, lineno);
            rc = -EINVAL;
            break;
        }
        char *p = config_trim(line);
        if (*p == '\0' || *p == '#')
            continue;
        if (p[0] == '-' && p[1] == '-')
            p += 2;
        char *key = p, *val = NULL;
        size_t kl = strcspn(p, "= \t");
        if (p[kl]) {
            val = p + kl + 1;
            p[kl] = '\0';
            val = config_trim(val);
            if (*val == '=')
                val = config_trim(val + 1);
            val = config_unquote(val);
        }
        struct config_slot *s = config_find(cfg, key);
        if (!s) {
            config_errf(err, "%s:%zu: unknown key '%s'", origin, lineno, key);
            rc = -ENOENT;
            break;
        }
        if (!(s->key->flags & CONFIG_MULTI)) {
            for (size_t j = 0; j < nseen; j++) {
                if (strcmp(seen[j], s->key->name) == 0) {
                    config_errf(err, "%s:%zu: '%s' is given twice", origin, lineno, key);
                    rc = -EEXIST;
                    break;
                }
            }
            if (rc)
                break;
            char **ns = realloc(seen, (nseen + 1) * sizeof *ns);
            if (!ns) {
                rc = -ENOMEM;
                break;
            }
            seen = ns;
            seen[nseen++] = (char *)s->key->name;
        }
        char kerr[CONFIG_ERR_LEN];
        rc = config_set(cfg, key, val, 0, kerr);
        if (rc < 0)
            config_errf(err, "%s:%zu: %s", origin, lineno, kerr);
    }
    free(seen);
    return rc;
}

int config_load_file(config_t *cfg, const char *path, char err[CONFIG_ERR_LEN])
{
    char *buf;
    size_t len;
    int rc = file_read_all(path, CONFIG_MAX_FILE, &buf, &len, err, CONFIG_ERR_LEN);
    if (rc < 0)
        return rc;
    const char *base = strrchr(path, '/');
    rc = config_parse_text(cfg, base ? base + 1 : path, buf, len, err);
    free(buf);
    return rc;
}

int config_load_env(config_t *cfg, char *const *envp, char err[CONFIG_ERR_LEN])
{
    static const char prefix[] = "T9PHONE_";
    for (; envp && *envp; envp++) {
        const char *e = *envp;
        if (strncmp(e, prefix, sizeof prefix - 1) != 0)
            continue;
        const char *eq = strchr(e, '=');
        if (!eq)
            continue;
        char key[128];
        size_t kl = (size_t)(eq - e) - (sizeof prefix - 1);
        if (kl == 0 || kl >= sizeof key) {
            config_errf(err, "environment variable %.*s: unknown key", (int)(eq - e), e);
            return -ENOENT;
        }
        for (size_t i = 0; i < kl; i++) {
            char c = e[sizeof prefix - 1 + i];
            key[i] = c == '_' ? '-' : (char)tolower((unsigned char)c);
        }
        key[kl] = '\0';
        struct config_slot *s = config_find(cfg, key);
        if (!s) {
            config_errf(err, "environment variable %.*s: unknown key '%s'", (int)(eq - e), e,
                        key);
            return -ENOENT;
        }
        /* A multi-valued key takes a comma-separated list from one variable. */
        if (s->key->flags & CONFIG_MULTI) {
            char *copy = strdup(eq + 1);
            if (!copy)
                return -ENOMEM;
            int rc = 0;
            for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && rc == 0;
                 t = strtok_r(NULL, ",", &save))
                rc = config_set(cfg, key, config_trim(t), 1, err);
            free(copy);
            if (rc < 0)
                return rc;
            continue;
        }
        int rc = config_set(cfg, key, eq + 1, 1, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int config_set_flag(config_t *cfg, const char *arg, char err[CONFIG_ERR_LEN])
{
    if (strncmp(arg, "--", 2) != 0) {
        config_errf(err, "unexpected argument '%s'", arg);
        return -EINVAL;
    }
    arg += 2;
    const char *eq = strchr(arg, '=');
    char key[128];
    size_t kl = eq ? (size_t)(eq - arg) : strlen(arg);
    if (kl == 0 || kl >= sizeof key) {
        config_errf(err, "unknown option '--%s'", arg);
        return -ENOENT;
    }
    memcpy(key, arg, kl);
    key[kl] = '\0';
    return config_set(cfg, key, eq ? eq + 1 : NULL, 2, err);
}

static struct config_slot *config_need(const config_t *cfg, const char *key)
{
    struct config_slot *s = config_find(cfg, key);
    if (!s) {
        fprintf(stderr, "config: no table declares '%s'\n", key);
        abort();
    }
    return s;
}

const char *config_str(const config_t *cfg, const char *key)
{
    struct config_slot *s = config_need(cfg, key);
    if (s->n)
        return s->values[s->n - 1];
    return s->key->def;
}

long config_int(const config_t *cfg, const char *key)
{
    const char *v = config_str(cfg, key);
    long x = 0;
    if (v)
        config_parse_long(v, &x);
    return x;
}

int config_bool(const config_t *cfg, const char *key)
{
    const char *v = config_str(cfg, key);
    int b = 0;
    if (v)
        config_parse_bool(v, &b);
    return b;
}

int config_isset(const config_t *cfg, const char *key)
{
    return config_need(cfg, key)->n > 0;
}

size_t config_count(const config_t *cfg, const char *key)
{
    return config_need(cfg, key)->n;
}

const char *config_nth(const config_t *cfg, const char *key, size_t i)
{
    struct config_slot *s = config_need(cfg, key);
    return i < s->n ? s->values[i] : NULL;
}

void config_each_flagged(const config_t *cfg, unsigned flag,
                         void (*fn)(void *ctx, const struct config_key *k), void *ctx)
{
    for (size_t i = 0; i < cfg->nslots; i++)
        if ((cfg->slots[i].key->flags & flag) && cfg->slots[i].n)
            fn(ctx, cfg->slots[i].key);
}

unsigned config_key_flags(const config_t *cfg, const char *key)
{
    const struct config_slot *s = config_find(cfg, key);
    return s ? s->key->flags : 0;
}
