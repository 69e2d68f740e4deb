/*
 * test_turn_config.c - the TURN key table: coturn names and defaults, every
 * key explained, refused and ignored keys flagged.
 */
#include "t.h"

#include <errno.h>
#include <stdlib.h>

#include "base/config.h"
#include "turn/config.h"

static const struct config_key realm_table[] = {
    { "realm", CONFIG_STRING, "t9phone.local", 0, 0, NULL, 0, "realm" },
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};

static config_t *new_cfg(void)
{
    const struct config_key *const tables[] = { realm_table, turn_config_keys };
    config_t *cfg = config_new(tables, 2);
    ASSERT(cfg != NULL);
    return cfg;
}

TEST(turn_config_table_well_formed)
{
    size_t n = 0;
    for (const struct config_key *k = turn_config_keys; k->name; k++, n++) {
        ASSERT(k->help && strlen(k->help) > 5);
        ASSERT(strcmp(k->name, "realm") != 0);
        for (const struct config_key *j = k + 1; j->name; j++)
            if (strcmp(k->name, j->name) == 0)
                t_fail(__FILE__, __LINE__, "key %s declared twice", k->name);
        if (k->type == CONFIG_INT) {
            ASSERT(k->def != NULL);
            long d = strtol(k->def, NULL, 10);
            ASSERT(d >= k->min && d <= k->max);
        }
    }
    ASSERT(n > 80);
}

TEST(turn_config_coturn_defaults)
{
    config_t *cfg = new_cfg();
    ASSERT_EQ(config_int(cfg, "listening-port"), 3478);
    ASSERT_EQ(config_int(cfg, "tls-listening-port"), 5349);
    ASSERT_EQ(config_int(cfg, "min-port"), 49152);
    ASSERT_EQ(config_int(cfg, "max-port"), 65535);
    ASSERT_EQ(config_int(cfg, "max-allocate-lifetime"), 3600);
    ASSERT_EQ(config_int(cfg, "channel-lifetime"), 600);
    ASSERT_EQ(config_int(cfg, "permission-lifetime"), 300);
    ASSERT_EQ(config_int(cfg, "stale-nonce"), 600);
    ASSERT_EQ(config_int(cfg, "user-quota"), 0);
    ASSERT_STR_EQ(config_str(cfg, "rest-api-separator"), ":");
    ASSERT(!config_bool(cfg, "use-auth-secret"));
    ASSERT(!config_bool(cfg, "allow-loopback-peers"));
    ASSERT(config_str(cfg, "cert") == NULL);
    config_free(cfg);
}

static void count_flagged(void *ctx, const struct config_key *k)
{
    (void)k;
    (*(int *)ctx)++;
}

TEST(turn_config_coturn_file)
{
    static const char text[] =
        "# the TURN part of a turnserver.conf\n"
        "listening-port=3479\n"
        "listening-ip=192.0.2.1\n"
        "listening-ip=2001:db8::1\n"
        "external-ip=203.0.113.1/192.0.2.1\n"
        "fingerprint\n"
        "lt-cred-mech\n"
        "use-auth-secret\n"
        "static-auth-secret=one\n"
        "static-auth-secret=two\n"
        "realm=example.org\n"
        "denied-peer-ip=10.0.0.0-10.255.255.255\n"
        "no-multicast-peers\n"
        "no-cli\n"
        "verbose\n";
    config_t *cfg = new_cfg();
    char err[CONFIG_ERR_LEN];
    ASSERT_EQ(config_parse_text(cfg, "turnserver.conf", text, sizeof text - 1, err), 0);
    ASSERT_EQ(config_int(cfg, "listening-port"), 3479);
    ASSERT_EQ(config_count(cfg, "listening-ip"), 2);
    ASSERT_EQ(config_count(cfg, "static-auth-secret"), 2);
    ASSERT_STR_EQ(config_nth(cfg, "static-auth-secret", 1), "two");
    ASSERT(config_bool(cfg, "fingerprint"));
    ASSERT_STR_EQ(config_str(cfg, "realm"), "example.org");
    int ignored = 0, refused = 0;
    config_each_flagged(cfg, CONFIG_IGNORED, count_flagged, &ignored);
    config_each_flagged(cfg, CONFIG_UNSUPPORTED, count_flagged, &refused);
    ASSERT_EQ(ignored, 1); /* verbose */
    ASSERT_EQ(refused, 0);
    ASSERT_EQ(config_parse_text(cfg, "x", "no-auth\n", 8, err), 0);
    config_each_flagged(cfg, CONFIG_UNSUPPORTED, count_flagged, &refused);
    ASSERT_EQ(refused, 1);
    config_free(cfg);
}
