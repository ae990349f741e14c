/* common/config.c's scale-out variables (issue 16): REDIS_SENTINELS + REDIS_MASTER_NAME become the
 * redis+sentinel:// target of redisx.h (keeping REDIS_URL's password and database), malformed lists are
 * refused naming the variable; QUERY_WRITE_DATABASE_URL defaults to QUERY_DATABASE_URL;
 * PARTITION_INTERVAL is day or hour. And redisx refuses a malformed target without connecting. */
#include "config.h"
#include "redisx.h"
#include "ts.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define GOOD_KEY "a-good-key-0123456789"

static void good_env(void)
{
    static const char *const vars[] = {"DATABASE_URL",       "QUERY_DATABASE_URL", "QUERY_WRITE_DATABASE_URL",
                                       "REDIS_URL",          "REDIS_SENTINELS",    "REDIS_MASTER_NAME",
                                       "PARTITION_INTERVAL", "INGEST_DATABASE_URL"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(*vars); i++)
        unsetenv(vars[i]);
    setenv("INGEST_API_KEYS", GOOD_KEY "-i1", 1);
    setenv("READ_API_KEYS", GOOD_KEY "-r", 1);
    setenv("ADMIN_API_KEY", GOOD_KEY "-a", 1);
}

START_TEST(test_sentinels_make_the_target)
{
    good_env();
    setenv("REDIS_URL", "redis://:a-long-redis-password-1@ignored:6379/3", 1);
    setenv("REDIS_SENTINELS", "10.0.0.1:26379,10.0.0.2:26380", 1);
    setenv("REDIS_MASTER_NAME", "ps-main", 1);
    config_t cfg;
    char err[256];
    ck_assert_msg(config_load(&cfg, CFG_BACKEND, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(cfg.redis_url,
                     "redis+sentinel://:a-long-redis-password-1@10.0.0.1:26379,10.0.0.2:26380/ps-main/3");
    config_dispose(&cfg);

    good_env();
    setenv("REDIS_SENTINELS", "127.0.0.1:26379", 1);
    ck_assert_msg(config_load(&cfg, CFG_PIPELINE, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(cfg.redis_url, "redis+sentinel://127.0.0.1:26379/prodsentinel/0");
    config_dispose(&cfg);

    good_env(); /* no sentinels: REDIS_URL as given */
    ck_assert_msg(config_load(&cfg, CFG_BACKEND, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(cfg.redis_url, "redis://127.0.0.1:6379/0");
    config_dispose(&cfg);
}
END_TEST

static void refused(const char *name, const char *value, const char *names)
{
    good_env();
    setenv(name, value, 1);
    if (strcmp(name, "REDIS_MASTER_NAME") == 0) setenv("REDIS_SENTINELS", "127.0.0.1:26379", 1);
    config_t cfg;
    char err[256] = "";
    ck_assert_msg(config_load(&cfg, CFG_BACKEND, err, sizeof(err)) != 0, "%s=%s accepted", name, value);
    ck_assert_msg(strncmp(err, names, strlen(names)) == 0, "message does not name %s: %s", names, err);
}

START_TEST(test_malformed_refused)
{
    refused("REDIS_SENTINELS", "127.0.0.1", "REDIS_SENTINELS");
    refused("REDIS_SENTINELS", "127.0.0.1:26379,", "REDIS_SENTINELS");
    refused("REDIS_SENTINELS", "127.0.0.1:99999", "REDIS_SENTINELS");
    refused("REDIS_SENTINELS", ":26379", "REDIS_SENTINELS");
    refused("REDIS_MASTER_NAME", "a/b", "REDIS_MASTER_NAME");
    refused("PARTITION_INTERVAL", "week", "PARTITION_INTERVAL");
}
END_TEST

START_TEST(test_query_write_url_and_interval)
{
    good_env();
    setenv("QUERY_DATABASE_URL", "postgresql://prodsentinel_query@replica:5432/p", 1);
    config_t cfg;
    char err[256];
    ck_assert_msg(config_load(&cfg, CFG_BACKEND, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(cfg.query_write_database_url, "postgresql://prodsentinel_query@replica:5432/p");
    ck_assert_int_eq(cfg.partition_hourly, 0);
    config_dispose(&cfg);
    setenv("QUERY_WRITE_DATABASE_URL", "postgresql://prodsentinel_query@primary:5432/p", 1);
    setenv("PARTITION_INTERVAL", "hour", 1);
    ck_assert_msg(config_load(&cfg, CFG_BACKEND, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(cfg.query_write_database_url, "postgresql://prodsentinel_query@primary:5432/p");
    ck_assert_int_eq(cfg.partition_hourly, 1);
    config_dispose(&cfg);
}
END_TEST

START_TEST(test_redisx_malformed_targets)
{
    static const char *const bad[] = {"http://x", "redis+sentinel://h:1", "redis+sentinel:///m",
                                      "redis+sentinel://h:x/m", "redis://:6379/0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        char err[128] = "";
        ck_assert_msg(redisx_connect(bad[i], 100, err, sizeof(err)) == NULL, "%s accepted", bad[i]);
        ck_assert_msg(strcmp(err, "malformed Redis URL") == 0, "%s: %s", bad[i], err);
    }
    /* well-formed, nobody listening: the reason names the sentinel asked */
    char err[256] = "";
    ck_assert(redisx_connect("redis+sentinel://127.0.0.1:1/m", 200, err, sizeof(err)) == NULL);
    ck_assert_msg(strstr(err, "127.0.0.1:1") != NULL, "%s", err);
    err[0] = '\0'; /* with a password holding '/' and '@'-free sentinels */
    ck_assert(redisx_connect("redis+sentinel://:p/w-secret@127.0.0.1:1,127.0.0.1:2/m/2", 200, err,
                             sizeof(err)) == NULL);
    ck_assert_msg(strstr(err, "127.0.0.1:2") != NULL, "%s", err); /* the last sentinel tried */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config_scale");
    TCase *tc = tcase_create("config_scale");
    tcase_add_test(tc, test_sentinels_make_the_target);
    tcase_add_test(tc, test_malformed_refused);
    tcase_add_test(tc, test_query_write_url_and_interval);
    tcase_add_test(tc, test_redisx_malformed_targets);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
