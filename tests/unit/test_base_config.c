/* Unit tests for base/config: the pure parser, sources and their precedence. */
#include "t.h"
#include "base/config.h"
#include "base/engine.h"
#include "ops/maint.h"
#include "ops/metrics.h"
#include "portal/engine.h"
#include "turn/config.h"
#include "turn/engine.h"

#include <errno.h>

static const struct config_key keys[] = {
    { "port", CONFIG_INT, "3478", 1, 65535, NULL, 0, "a port" },
    { "stale", CONFIG_INT, "0", 0, 3600, "600", 0, "an int with a bare meaning" },
    { "name", CONFIG_STRING, NULL, 0, 0, NULL, 0, "a name" },
    { "verbose", CONFIG_BOOL, "false", 0, 0, NULL, 0, "a switch" },
    { "fmt", CONFIG_ENUM, "text", 0, 0, "text|json", 0, "a choice" },
    { "denied-peer-ip", CONFIG_STRING, NULL, 0, 0, NULL, CONFIG_MULTI, "a list" },
    { "old-key", CONFIG_BOOL, NULL, 0, 0, NULL, CONFIG_UNSUPPORTED, "not here" },
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};
static const struct config_key *const tables[] = { keys };

static config_t *mk(void)
{
    config_t *c = config_new(tables, 1);
    ASSERT(c != NULL);
    return c;
}

static int parse(config_t *c, const char *text, char *err)
{
    return config_parse_text(c, "t.conf", text, strlen(text), err);
}

TEST(config_defaults_apply_when_unset)
{
    config_t *c = mk();
    ASSERT_EQ(config_int(c, "port"), 3478);
    ASSERT(config_str(c, "name") == NULL);
    ASSERT_EQ(config_bool(c, "verbose"), 0);
    ASSERT_STR_EQ(config_str(c, "fmt"), "text");
    ASSERT_EQ(config_isset(c, "port"), 0);
    config_free(c);
}

TEST(config_parses_coturn_syntax)
{
    char err[CONFIG_ERR_LEN];
    config_t *c = mk();
    ASSERT_EQ(parse(c, "# comment\n\n  port = 5000\r\nname \"quoted value\"\nverbose\n"
                       "--fmt=json\ndenied-peer-ip=10.0.0.0-10.255.255.255\n"
                       "denied-peer-ip=192.168.0.0-192.168.255.255\n", err), 0);
    ASSERT_EQ(config_int(c, "port"), 5000);
    ASSERT_STR_EQ(config_str(c, "name"), "quoted value");
    ASSERT_EQ(config_bool(c, "verbose"), 1);
    ASSERT_STR_EQ(config_str(c, "fmt"), "json");
    ASSERT_EQ(config_count(c, "denied-peer-ip"), 2);
    ASSERT_STR_EQ(config_nth(c, "denied-peer-ip", 1), "192.168.0.0-192.168.255.255");
    ASSERT(config_nth(c, "denied-peer-ip", 2) == NULL);
    config_free(c);
}

TEST(config_errors_name_key_and_line)
{
    char err[CONFIG_ERR_LEN];
    config_t *c = mk();
    ASSERT_EQ(parse(c, "port=1\nwhat=2\n", err), -ENOENT);
    ASSERT_STR_EQ(err, "t.conf:2: unknown key 'what'");
    config_free(c);
    c = mk();
    ASSERT_EQ(parse(c, "port=0\n", err), -ERANGE);
    ASSERT_STR_EQ(err, "t.conf:1: 'port' must be between 1 and 65535, not 0");
    config_free(c);
    c = mk();
    ASSERT_EQ(parse(c, "port=12x\n", err), -EINVAL);
    config_free(c);
    c = mk();
    ASSERT_EQ(parse(c, "verbose=maybe\n", err), -EINVAL);
    config_free(c);
    c = mk();
    ASSERT_EQ(parse(c, "fmt=xml\n", err), -EINVAL);
    config_free(c);
    c = mk();
    ASSERT_EQ(parse(c, "name\n", err), -EINVAL);
    ASSERT_STR_EQ(err, "t.conf:1: 'name' needs a value");
    config_free(c);
    c = mk();
    ASSERT_EQ(parse(c, "port=1\nport=2\n", err), -EEXIST);
    config_free(c);
}

TEST(config_rejects_nul_and_long_lines)
{
    char err[CONFIG_ERR_LEN];
    config_t *c = mk();
    ASSERT_EQ(config_parse_text(c, "t", "port=1\0\n", 8, err), -EINVAL);
    config_free(c);
    static char big[5000];
    memset(big, 'a', sizeof big - 1);
    c = mk();
    ASSERT_EQ(parse(c, big, err), -E2BIG);
    config_free(c);
}

TEST(config_precedence_file_env_flag)
{
    char err[CONFIG_ERR_LEN];
    config_t *c = mk();
    char *env[] = { "T9PHONE_PORT=6000", "OTHER=1", "T9PHONE_DENIED_PEER_IP=1.1.1.1, 2.2.2.2", NULL };
    ASSERT_EQ(parse(c, "port=5000\ndenied-peer-ip=9.9.9.9\n", err), 0);
    ASSERT_EQ(config_load_env(c, env, err), 0);
    ASSERT_EQ(config_int(c, "port"), 6000);
    /* The environment's list replaces the file's list entirely. */
    ASSERT_EQ(config_count(c, "denied-peer-ip"), 2);
    ASSERT_STR_EQ(config_nth(c, "denied-peer-ip", 1), "2.2.2.2");
    ASSERT_EQ(config_set_flag(c, "--port=7000", err), 0);
    ASSERT_EQ(config_int(c, "port"), 7000);
    /* A weaker source applied later does not win. */
    ASSERT_EQ(config_set(c, "port", "5001", 0, err), 0);
    ASSERT_EQ(config_int(c, "port"), 7000);
    ASSERT_EQ(config_set_flag(c, "--verbose", err), 0);
    ASSERT_EQ(config_bool(c, "verbose"), 1);
    ASSERT_EQ(config_set_flag(c, "--nope=1", err), -ENOENT);
    ASSERT_EQ(config_set_flag(c, "plain", err), -EINVAL);
    config_free(c);
}

TEST(config_env_unknown_key_is_an_error)
{
    char err[CONFIG_ERR_LEN];
    config_t *c = mk();
    char *env[] = { "T9PHONE_PROT=1", NULL };
    ASSERT_EQ(config_load_env(c, env, err), -ENOENT);
    ASSERT(strstr(err, "T9PHONE_PROT") != NULL);
    config_free(c);
}

static void count_flagged(void *ctx, const struct config_key *k)
{
    (void)k;
    (*(int *)ctx)++;
}

TEST(config_reports_unsupported_keys_given)
{
    char err[CONFIG_ERR_LEN];
    int n = 0;
    config_t *c = mk();
    config_each_flagged(c, CONFIG_UNSUPPORTED, count_flagged, &n);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(parse(c, "old-key\n", err), 0);
    config_each_flagged(c, CONFIG_UNSUPPORTED, count_flagged, &n);
    ASSERT_EQ(n, 1);
    config_free(c);
}

TEST(config_bare_int_takes_its_declared_value)
{
    char err[CONFIG_ERR_LEN];
    config_t *c = mk();
    ASSERT_EQ(config_int(c, "stale"), 0);
    ASSERT_EQ(parse(c, "stale\n", err), 0);
    ASSERT_EQ(config_int(c, "stale"), 600);
    ASSERT_EQ(config_set_flag(c, "--stale=30", err), 0);
    ASSERT_EQ(config_int(c, "stale"), 30);
    /* An int without a bare meaning still needs its value. */
    ASSERT_EQ(config_set_flag(c, "--port", err), -EINVAL);
    config_free(c);
}

/* ------------------------------------------------------- table defaults */

#define END { NULL, 0, NULL, 0, 0, NULL, 0, NULL }

TEST(config_check_tables_refuses_each_malformed_default)
{
    char err[CONFIG_ERR_LEN];
    ASSERT_EQ(config_check_tables(tables, 1, err), 0);
    static const struct config_key bad_int[] = {
        { "port", CONFIG_INT, "34x78", 1, 65535, NULL, 0, "" }, END };
    static const struct config_key out_of_range[] = {
        { "port", CONFIG_INT, "0", 1, 65535, NULL, 0, "" }, END };
    static const struct config_key bad_bare[] = {
        { "stale", CONFIG_INT, "0", 0, 60, "600", 0, "" }, END };
    static const struct config_key bad_bool[] = {
        { "verbose", CONFIG_BOOL, "ja", 0, 0, NULL, 0, "" }, END };
    static const struct config_key bad_enum[] = {
        { "fmt", CONFIG_ENUM, "xml", 0, 0, "text|json", 0, "" }, END };
    static const struct config_key no_choices[] = {
        { "fmt", CONFIG_ENUM, NULL, 0, 0, NULL, 0, "" }, END };
    static const struct config_key min_max[] = {
        { "n", CONFIG_INT, NULL, 9, 1, NULL, 0, "" }, END };
    const struct config_key *const each[] = { bad_int, out_of_range, bad_bare, bad_bool,
                                              bad_enum, no_choices, min_max };
    for (size_t i = 0; i < sizeof each / sizeof each[0]; i++) {
        err[0] = '\0';
        const struct config_key *const one[] = { each[i] };
        ASSERT_EQ(config_check_tables(one, 1, err), -EINVAL);
        ASSERT(strstr(err, each[i][0].name) != NULL);
    }
    /* The same name in two tables. */
    static const struct config_key dup[] = {
        { "port", CONFIG_INT, "1", 1, 65535, NULL, 0, "" }, END };
    const struct config_key *const twice[] = { keys, dup };
    ASSERT_EQ(config_check_tables(twice, 2, err), -EINVAL);
    ASSERT(strstr(err, "twice") != NULL);
}

TEST(config_real_tables_have_valid_defaults)
{
    /* Every engine's table, together, so a name two engines declare is
     * caught too (main's own keys are static in main.c, which checks all
     * of its tables at start with the same function). */
    char err[CONFIG_ERR_LEN] = "";
    const struct engine *const engines[] = { &maint_engine, &portal_engine, &turn_engine,
                                             &metrics_engine };
    const struct config_key *real[8];
    size_t n = 0;
    for (size_t i = 0; i < sizeof engines / sizeof engines[0]; i++)
        if (engines[i]->keys)
            real[n++] = engines[i]->keys;
    ASSERT(n >= 2);
    if (config_check_tables(real, n, err) != 0)
        t_fail(__FILE__, __LINE__, "%s", err);
    const struct config_key *const turn[] = { turn_config_keys };
    ASSERT_EQ(config_check_tables(turn, 1, err), 0);
}
