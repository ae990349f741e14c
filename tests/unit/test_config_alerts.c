/* common/config.c's alert settings: ALERT_WEBHOOKS entries (common/alert_dest.h) are validated at start,
 * with a message naming the variable and the entry and never its URL or routing key; PUBLIC_URL and
 * PAGERDUTY_EVENTS_URL must be http(s); today's [slack:|json:]URL entries keep working. */
#include "config.h"
#include "ts.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define GOOD_KEY "a-good-key-0123456789"

/* Loads the pipeline's configuration with NAME=value set (and the other alert variables unset). */
static int load_with(const char *name, const char *value, config_t *cfg, char *err, size_t errlen)
{
    static const char *const vars[] = {
        "DATABASE_URL", "PIPELINE_DATABASE_URL", "LLM_API_KEY",          "ALERT_WEBHOOKS",
        "PUBLIC_URL",   "PAGERDUTY_EVENTS_URL",  "ALERTMANAGER_RESEND_S"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(*vars); i++)
        unsetenv(vars[i]);
    setenv("INGEST_API_KEYS", GOOD_KEY "-i", 1);
    setenv("READ_API_KEYS", GOOD_KEY "-r", 1);
    setenv("ADMIN_API_KEY", GOOD_KEY "-a", 1);
    if (name) setenv(name, value, 1);
    err[0] = '\0';
    return config_load(cfg, CFG_PIPELINE, err, errlen);
}

static void refused(const char *name, const char *value, const char *says, const char *secret)
{
    config_t cfg;
    char err[512];
    ck_assert_msg(load_with(name, value, &cfg, err, sizeof(err)) != 0, "%s=%s accepted", name, value);
    ck_assert_msg(strncmp(err, name, strlen(name)) == 0 && strstr(err, says), "%s: %s", name, err);
    ck_assert_msg(secret == NULL || strstr(err, secret) == NULL, "message repeats the secret: %s", err);
}

START_TEST(bad_alert_settings_stop_the_pipeline_naming_them)
{
    refused("ALERT_WEBHOOKS", "slack:https://hooks.slack.com/services/T/B/SECRET,teams:ftp://x/SECRET2",
            "entry 2: not an http(s) URL", "SECRET");
    refused("ALERT_WEBHOOKS", "pagerduty:https://events.pagerduty.com/SECRET", "routing key", "SECRET");
    refused("ALERT_WEBHOOKS", "alertmanager:http://am:9093;min_severity=page", "min_severity", NULL);
    refused("PUBLIC_URL", "postgresql://db/x", "not an http(s) URL", NULL);
    refused("PAGERDUTY_EVENTS_URL", "redis://x", "not an http(s) URL", NULL);
    refused("ALERTMANAGER_RESEND_S", "0", "not an integer in 1..3600", NULL);
}
END_TEST

START_TEST(todays_entries_and_typed_destinations_are_accepted)
{
    config_t cfg;
    char err[512];
    ck_assert_msg(load_with("ALERT_WEBHOOKS", "http://a/x,slack:https://h/y,json:http://b/z", &cfg, err,
                            sizeof(err)) == 0,
                  "%s", err);
    ck_assert_str_eq(cfg.alert_webhooks, "http://a/x,slack:https://h/y,json:http://b/z");
    ck_assert_str_eq(cfg.pagerduty_events_url, "https://events.pagerduty.com/v2/enqueue");
    ck_assert_ptr_null(cfg.public_url);
    ck_assert_int_eq(cfg.alertmanager_resend_s, 60);
    config_dispose(&cfg);
    ck_assert_msg(load_with("ALERT_WEBHOOKS",
                            "pagerduty:R0UT1NGKEY0123456789abcdefABCDEF;min_severity=critical,"
                            "alertmanager:http://am:9093,teams:https://t.example/w;name=team",
                            &cfg, err, sizeof(err)) == 0,
                  "%s", err);
    config_dispose(&cfg);
    ck_assert_int_eq(load_with("PUBLIC_URL", "https://ps.example.com", &cfg, err, sizeof(err)), 0);
    ck_assert_str_eq(cfg.public_url, "https://ps.example.com");
    ck_assert_ptr_null(cfg.alert_webhooks); /* alerts off */
    config_dispose(&cfg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config_alerts");
    TCase *tc = tcase_create("alerts");
    tcase_add_test(tc, bad_alert_settings_stop_the_pipeline_naming_them);
    tcase_add_test(tc, todays_entries_and_typed_destinations_are_accepted);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
