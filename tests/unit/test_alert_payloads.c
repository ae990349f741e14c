/* The alert payloads of pipeline/alerts.h (pure): the plain form's fields and the "text" Slack shows. */
#include "alerts.h"
#include "ts.h"

#include <stdlib.h>
#include <string.h>

static const char *str(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

START_TEST(an_incident_names_its_service_and_links_its_page)
{
    json_t *p = alerts_incident_payload(7, "payment: DbTimeoutException", "payment");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(str(p, "kind"), "incident");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "incident_id")), 7);
    ck_assert_str_eq(str(p, "service"), "payment");
    ck_assert_str_eq(str(p, "link"), "/#/incident/7");
    ck_assert_str_eq(str(p, "text"), "New incident #7 in payment: payment: DbTimeoutException /#/incident/7");
    json_decref(p);
    p = alerts_incident_payload(8, "trace abc", NULL);
    ck_assert(json_is_null(json_object_get(p, "service")));
    ck_assert_str_eq(str(p, "text"), "New incident #8: trace abc /#/incident/8");
    json_decref(p);
}
END_TEST

START_TEST(a_report_carries_its_summary_confidence_and_version)
{
    json_t *report = json_pack("{s:s,s:f}", "summary", "The database timed out.", "confidence", 0.625);
    json_t *p = alerts_report_payload(3, 2, "payment: X", "payment", report);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(str(p, "kind"), "report");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "version")), 2);
    ck_assert_str_eq(str(p, "summary"), "The database timed out.");
    ck_assert_double_eq(json_number_value(json_object_get(p, "confidence")), 0.625);
    ck_assert(json_equal(json_object_get(p, "report"), report)); /* a redacted copy */
    ck_assert_str_eq(
        str(p, "text"),
        "Report v2 for incident #3 (payment, confidence 0.62): The database timed out. /#/incident/3");
    ck_assert_double_eq(alerts_report_confidence(report), 0.625);
    json_decref(p);
    json_decref(report);
}
END_TEST

START_TEST(a_report_without_summary_or_confidence_counts_as_unsure)
{
    json_t *report = json_object();
    json_t *p = alerts_report_payload(4, 1, "the title", NULL, report);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(str(p, "summary"), "the title");
    ck_assert(json_is_null(json_object_get(p, "confidence")));
    ck_assert_double_eq(alerts_report_confidence(report), 0);
    ck_assert_ptr_nonnull(strstr(str(p, "text"), "(no root service, confidence 0.00)"));
    json_decref(p);
    json_decref(report);
}
END_TEST

START_TEST(a_degradation_names_its_endpoint)
{
    json_t *p = alerts_degradation_payload(5, "gateway", "GET /orders", "p95 3x its baseline");
    ck_assert_str_eq(str(p, "kind"), "degradation");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "incident_id")), 5);
    ck_assert_str_eq(str(p, "endpoint"), "GET /orders");
    ck_assert_str_eq(str(p, "text"),
                     "Degradation #5 of gateway GET /orders: p95 3x its baseline /#/incident/5");
    json_decref(p);
}
END_TEST

START_TEST(a_title_that_is_not_utf8_gives_no_payload)
{
    ck_assert_ptr_null(alerts_incident_payload(1, "bad \xff title", "svc"));
    json_t *report = json_object();
    ck_assert_ptr_null(alerts_report_payload(1, 1, "bad \xff title", "svc", report));
    json_decref(report);
}
END_TEST

/* The lifecycle's resolve: what destinations close the incident's page with (issue 15). */
START_TEST(a_resolve_names_its_incident_and_links_its_page)
{
    json_t *p = alerts_resolved_payload(6, "payment: DbTimeoutException", "payment");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(str(p, "kind"), "resolved");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "incident_id")), 6);
    ck_assert_str_eq(str(p, "link"), "/#/incident/6");
    ck_assert_str_eq(str(p, "text"),
                     "Resolved: incident #6 in payment: payment: DbTimeoutException /#/incident/6");
    ck_assert_ptr_null(json_object_get(p, "severity")); /* absent: error (alert_formats.h) */
    json_decref(p);
    p = alerts_resolved_payload(7, "password=hunter2", NULL);
    ck_assert(json_is_null(json_object_get(p, "service")));
    ck_assert_ptr_null(strstr(str(p, "text"), "hunter2"));
    json_decref(p);
}
END_TEST

/* Secrets in telemetry (the title, the report's summary and its nested fields) never reach a payload. */
START_TEST(every_payload_is_redacted)
{
    const char *secrets[] = {"hunter2", "4111 1111 1111 1111", "bob@example.com",
                             "sk-proj-AbCdEfGhIjKlMnOpQrSt", "XXXXSECRET"};
    json_t *report = json_pack(
        "{s:s,s:f,s:{s:s}}", "summary", "login with password=hunter2 by bob@example.com failed", "confidence",
        0.9, "root_cause", "exception", "card 4111 1111 1111 1111 sk-proj-AbCdEfGhIjKlMnOpQrSt");
    json_t *p[] = {
        alerts_incident_payload(1, "payment: token=hunter2", "payment"),
        alerts_report_payload(1, 1, "hook https://hooks.slack.com/services/T0/B0/XXXXSECRET", "payment",
                              report),
        alerts_degradation_payload(2, "payment", "POST /charge", "slow for bob@example.com"),
    };
    for (size_t i = 0; i < sizeof(p) / sizeof(*p); i++) {
        ck_assert_ptr_nonnull(p[i]);
        char *all = json_dumps(p[i], JSON_COMPACT);
        for (size_t k = 0; k < sizeof(secrets) / sizeof(*secrets); k++)
            ck_assert_msg(strstr(all, secrets[k]) == NULL, "payload %zu leaks %s: %s", i, secrets[k], all);
        ck_assert_ptr_nonnull(strstr(all, "[REDACTED:"));
        free(all);
        json_decref(p[i]);
    }
    json_decref(report);
}
END_TEST

/* Slack's text is escaped: mentions from telemetry or the model are shown, never fired. */
START_TEST(the_slack_text_escapes_mentions_and_markup)
{
    json_t *report = json_pack("{s:s,s:f}", "summary",
                               "<!channel> @here R&D <@U024BE7LH> <https://x.example|y>", "confidence", 0.9);
    json_t *p = alerts_report_payload(1, 1, "payment: <!everyone>", "payment", report);
    char *payload = json_dumps(p, JSON_COMPACT);
    char *body = alerts_slack_body(payload);
    ck_assert_ptr_nonnull(body);
    json_t *slack = json_loads(body, 0, NULL);
    ck_assert_int_eq(json_object_size(slack), 1);
    const char *text = str(slack, "text");
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(strchr(text, '<') == NULL && strchr(text, '>') == NULL, "%s", text);
    ck_assert_ptr_null(strstr(text, "@here"));
    ck_assert_ptr_nonnull(strstr(text, "&lt;!channel&gt;"));
    ck_assert_ptr_nonnull(strstr(text, "R&amp;D"));
    ck_assert_ptr_null(alerts_slack_body("{\"kind\":\"x\"}")); /* no text */
    json_decref(slack);
    free(body);
    free(payload);
    json_decref(p);
    json_decref(report);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alert_payloads");
    TCase *tc = tcase_create("payloads");
    tcase_add_test(tc, an_incident_names_its_service_and_links_its_page);
    tcase_add_test(tc, a_report_carries_its_summary_confidence_and_version);
    tcase_add_test(tc, a_report_without_summary_or_confidence_counts_as_unsure);
    tcase_add_test(tc, a_degradation_names_its_endpoint);
    tcase_add_test(tc, a_resolve_names_its_incident_and_links_its_page);
    tcase_add_test(tc, a_title_that_is_not_utf8_gives_no_payload);
    tcase_add_test(tc, every_payload_is_redacted);
    tcase_add_test(tc, the_slack_text_escapes_mentions_and_markup);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
