/* common/config.c's secret check: API keys, LLM_API_KEY and database passwords shorter than 16 characters
 * or equal to a documented placeholder stop the program, with a message naming the variable and never
 * the secret; the per-role database URLs default to DATABASE_URL. */
#include "config.h"
#include "ts.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define GOOD_KEY "a-good-key-0123456789"

static void good_env(void)
{
    static const char *const vars[] = {"DATABASE_URL", "INGEST_DATABASE_URL", "QUERY_DATABASE_URL",
                                       "PIPELINE_DATABASE_URL", "LLM_API_KEY"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(*vars); i++)
        unsetenv(vars[i]);
    setenv("INGEST_API_KEYS", GOOD_KEY "-i1," GOOD_KEY "-i2", 1);
    setenv("READ_API_KEYS", GOOD_KEY "-r", 1);
    setenv("ADMIN_API_KEY", GOOD_KEY "-a", 1);
}

/* Loads with NAME=value set; returns config_load's result with its message in err. */
static int load_with(int program, const char *name, const char *value, char *err, size_t errlen)
{
    good_env();
    if (name) setenv(name, value, 1);
    config_t cfg;
    err[0] = '\0';
    int rc = config_load(&cfg, program, err, errlen);
    if (rc == 0) config_dispose(&cfg);
    return rc;
}

static void refused(int program, const char *name, const char *value, const char *secret)
{
    char err[512];
    ck_assert_msg(load_with(program, name, value, err, sizeof(err)) != 0, "%s=%s accepted", name, value);
    ck_assert_msg(strncmp(err, name, strlen(name)) == 0, "message does not name %s: %s", name, err);
    ck_assert_msg(strstr(err, secret) == NULL, "message repeats the secret: %s", err);
}

START_TEST(short_and_placeholder_secrets_are_refused)
{
    refused(CFG_BACKEND, "INGEST_API_KEYS", "abcdefgh1", "abcdefgh1");
    refused(CFG_BACKEND, "INGEST_API_KEYS", GOOD_KEY ",short-key-15chr", "short-key-15chr");
    refused(CFG_BACKEND, "READ_API_KEYS", "change-me-read-key", "change-me-read-key");
    refused(CFG_BACKEND, "ADMIN_API_KEY", "CHANGEME-admin-key-long-enough", "CHANGEME-admin");
    refused(CFG_PIPELINE, "ADMIN_API_KEY", "replace-me-with-a-real-admin-key", "replace-me-with");
    refused(CFG_PIPELINE, "LLM_API_KEY", "sk-short", "sk-short");
    refused(CFG_BACKEND, "DATABASE_URL", "postgresql://prodsentinel:change-me-db-owner-password@db/p",
            "change-me-db-owner");
    refused(CFG_BACKEND, "INGEST_DATABASE_URL", "postgresql://prodsentinel_ingest:pw12345@db:5432/p",
            "pw12345");
    refused(CFG_BACKEND, "QUERY_DATABASE_URL", "postgresql://q@db/p?sslmode=off&password=tooshort",
            "tooshort");
    refused(CFG_PIPELINE, "PIPELINE_DATABASE_URL", "postgresql://p:change-me-db-pipeline-password@db/p",
            "change-me-db-pipeline");
}
END_TEST

START_TEST(real_secrets_and_passwordless_urls_are_accepted)
{
    char err[512];
    ck_assert_msg(load_with(CFG_BACKEND, NULL, NULL, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(load_with(CFG_BACKEND, "DATABASE_URL", "postgresql://prodsentinel@127.0.0.1:5432/p", err,
                            sizeof(err)) == 0,
                  "%s", err);
    ck_assert_msg(load_with(CFG_BACKEND, "INGEST_DATABASE_URL",
                            "postgresql://prodsentinel_ingest:Xq3-long-enough-password_1@db:5432/p", err,
                            sizeof(err)) == 0,
                  "%s", err);
    ck_assert_msg(load_with(CFG_PIPELINE, "LLM_API_KEY", "sk-proj-0123456789abcdefghij", err, sizeof(err)) ==
                      0,
                  "%s", err);
    ck_assert_msg(load_with(CFG_PIPELINE, "LLM_API_KEY", "", err, sizeof(err)) == 0, "%s", err);
}
END_TEST

START_TEST(role_urls_default_to_database_url)
{
    good_env();
    setenv("DATABASE_URL", "postgresql://owner@db:5432/p", 1);
    setenv("QUERY_DATABASE_URL", "postgresql://prodsentinel_query@replica:5432/p", 1);
    config_t cfg;
    char err[512];
    ck_assert_msg(config_load(&cfg, CFG_BACKEND, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(cfg.database_url, "postgresql://owner@db:5432/p");
    ck_assert_str_eq(cfg.ingest_database_url, "postgresql://owner@db:5432/p");
    ck_assert_str_eq(cfg.query_database_url, "postgresql://prodsentinel_query@replica:5432/p");
    config_dispose(&cfg);
    ck_assert_msg(config_load(&cfg, CFG_PIPELINE, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(cfg.pipeline_database_url, "postgresql://owner@db:5432/p");
    config_dispose(&cfg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config_secrets");
    TCase *tc = tcase_create("secrets");
    tcase_add_test(tc, short_and_placeholder_secrets_are_refused);
    tcase_add_test(tc, real_secrets_and_passwordless_urls_are_accepted);
    tcase_add_test(tc, role_urls_default_to_database_url);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
