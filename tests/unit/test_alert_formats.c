/* Alert destinations (common/alert_dest.h: ALERT_WEBHOOKS entries and their ids) and what each kind of
 * destination is sent (pipeline/alert_formats.h), from the plain payloads of pipeline/alerts.h. */
#include "alert_dest.h"
#include "alert_formats.h"
#include "alerts.h"
#include "ts.h"

#include <stdlib.h>
#include <string.h>

static const char *str(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

/* ---- ALERT_WEBHOOKS ---- */

START_TEST(entries_keep_todays_forms_and_take_typed_destinations_with_options)
{
    alert_dest_t d[ALERT_DEST_MAX];
    int n;
    char err[256];
    ck_assert_int_eq(
        alert_dest_parse("http://a.example/x,slack:https://hooks.slack.com/services/T/B/SECRET,"
                         "json:http://127.0.0.1:9/j;min_severity=warning,"
                         "pagerduty:R0UT1NGKEY0123456789abcdefABCDEF;min_severity=critical,"
                         "alertmanager:http://am:9093;name=am-main,teams:https://t.example/w;x=1",
                         d, &n, err, sizeof(err)),
        -1); /* x=1: an unknown option */
    ck_assert_ptr_nonnull(strstr(err, "entry 6: unknown option \"x\""));
    ck_assert_int_eq(
        alert_dest_parse("http://a.example/x,slack:https://hooks.slack.com/services/T/B/SECRET,"
                         "json:http://127.0.0.1:9/j;min_severity=warning,"
                         "pagerduty:R0UT1NGKEY0123456789abcdefABCDEF;min_severity=critical,"
                         "alertmanager:http://am:9093;name=am-main,teams:https://t.example/w;a;b",
                         d, &n, err, sizeof(err)),
        0);
    ck_assert_int_eq(n, 6);
    ck_assert_int_eq(d[0].type, ALERT_DEST_JSON);
    ck_assert_str_eq(d[0].target, "http://a.example/x");
    ck_assert_int_eq(d[0].min_severity, ALERT_SEV_INFO);
    ck_assert_int_eq(d[1].type, ALERT_DEST_SLACK);
    ck_assert_str_eq(d[1].target, "https://hooks.slack.com/services/T/B/SECRET");
    /* ids: type, host, 4 hex digits of SHA-256(target); never the path or the routing key */
    ck_assert_int_eq(strncmp(d[1].id, "slack:hooks.slack.com#", 22), 0);
    ck_assert_int_eq(strlen(d[1].id), 26);
    ck_assert_int_eq(strncmp(d[2].id, "json:127.0.0.1:9#", 17), 0);
    ck_assert_int_eq(d[2].min_severity, ALERT_SEV_WARNING);
    ck_assert_int_eq(d[3].type, ALERT_DEST_PAGERDUTY);
    ck_assert_str_eq(d[3].target, "R0UT1NGKEY0123456789abcdefABCDEF");
    ck_assert_int_eq(strncmp(d[3].id, "pagerduty#", 10), 0);
    ck_assert_int_eq(strlen(d[3].id), 14);
    ck_assert_int_eq(d[3].min_severity, ALERT_SEV_CRITICAL);
    ck_assert_str_eq(d[4].id, "am-main");
    ck_assert_int_eq(d[4].type, ALERT_DEST_ALERTMANAGER);
    ck_assert_str_eq(d[5].target, "https://t.example/w;a;b"); /* a ';' that starts no option is the URL's */
    ck_assert_int_eq(d[5].type, ALERT_DEST_TEAMS);
    /* the id of one target is stable, and the SQL of migration 010 derives it too:
     * sha256('http://a.example/x') starts with 0x3e79 */
    alert_dest_t again[ALERT_DEST_MAX];
    ck_assert_int_eq(alert_dest_parse("json:http://a.example/x", again, &n, err, sizeof(err)), 0);
    ck_assert_str_eq(again[0].id, d[0].id);
    ck_assert_str_eq(d[0].id, "json:a.example#3e79");
}
END_TEST

START_TEST(bad_entries_are_named_by_position_without_their_secret)
{
    alert_dest_t d[ALERT_DEST_MAX];
    int n;
    char err[256];
    const char *bad[][2] = {
        {"http://ok.example/a,ftp://h/SECRET", "entry 2: not an http(s) URL"},
        {"pagerduty:https://events.pagerduty.com/SECRET", "entry 1: pagerduty: needs the routing key"},
        {"pagerduty:SHORT", "entry 1: pagerduty: needs the routing key"},
        {"slack:https://h/SECRET;min_severity=loud", "entry 1: min_severity must be"},
        {"slack:https://h/SECRET,slack:https://h/SECRET", "entries 1 and 2 have the same id"},
        {"json:https://h/SECRET;name=bad name", "entry 1: name must be"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        ck_assert_int_eq(alert_dest_parse(bad[i][0], d, &n, err, sizeof(err)), -1);
        ck_assert_msg(strstr(err, bad[i][1]) != NULL, "%s: %s", bad[i][0], err);
        ck_assert_msg(strstr(err, "SECRET") == NULL, "the target is quoted: %s", err);
    }
    alert_severity_t s;
    ck_assert_int_eq(alert_severity_parse("warning", &s), 0);
    ck_assert_int_eq(s, ALERT_SEV_WARNING);
    ck_assert_int_eq(alert_severity_parse(NULL, &s), -1);
}
END_TEST

/* ---- payload helpers ---- */

START_TEST(public_url_makes_the_link_and_its_quote_in_the_text_absolute)
{
    json_t *p = alerts_incident_payload(7, "payment: DbTimeoutException", "payment");
    ck_assert_int_eq(alert_format_absolute_links(p, "https://ps.example.com/"), 0);
    ck_assert_str_eq(str(p, "link"), "https://ps.example.com/#/incident/7");
    ck_assert_str_eq(
        str(p, "text"),
        "New incident #7 in payment: payment: DbTimeoutException https://ps.example.com/#/incident/7");
    ck_assert_int_eq(alert_format_absolute_links(p, "https://other.example"), 0); /* absolute already */
    ck_assert_str_eq(str(p, "link"), "https://ps.example.com/#/incident/7");
    json_decref(p);
    p = alerts_resolved_payload(8, "t", NULL);
    ck_assert_int_eq(alert_format_absolute_links(p, NULL), 0);
    ck_assert_str_eq(str(p, "link"), "/#/incident/8");
    json_decref(p);
}
END_TEST

START_TEST(severity_defaults_to_error_and_reports_do_not_page)
{
    json_t *p = json_pack("{s:s}", "severity", "warning");
    ck_assert_int_eq(alert_payload_severity(p), ALERT_SEV_WARNING);
    json_object_set_new(p, "severity", json_string("loud"));
    ck_assert_int_eq(alert_payload_severity(p), ALERT_SEV_ERROR);
    json_object_del(p, "severity");
    ck_assert_int_eq(alert_payload_severity(p), ALERT_SEV_ERROR);
    json_decref(p);
    const char *kinds[] = {"incident", "degradation", "resolved", "report"};
    for (int k = 0; k < 4; k++) {
        ck_assert_int_eq(alert_format_takes(ALERT_DEST_PAGERDUTY, kinds[k]), k < 3);
        ck_assert_int_eq(alert_format_takes(ALERT_DEST_ALERTMANAGER, kinds[k]), k < 3);
        ck_assert_int_eq(alert_format_takes(ALERT_DEST_SLACK, kinds[k]), 1);
        ck_assert_int_eq(alert_format_takes(ALERT_DEST_TEAMS, kinds[k]), 1);
        ck_assert_int_eq(alert_format_takes(ALERT_DEST_JSON, kinds[k]), 1);
    }
}
END_TEST

/* The body of `payload` for destination type `t` as JSON (asserts it was built). */
static json_t *body_of(alert_dest_type_t t, json_t *payload, const char *triggers)
{
    char *pj = json_dumps(payload, JSON_COMPACT);
    alert_format_in_t in = {.type = t,
                            .payload_json = pj,
                            .queued_at = "2026-12-07T10:00:00.5+00:00",
                            .routing_key = "R0UT1NGKEY0123456789abcdefABCDEF",
                            .triggers_json = triggers};
    char err[200] = "";
    char *b = alert_format_body(&in, err, sizeof(err));
    ck_assert_msg(b != NULL, "no body: %s", err);
    json_t *j = json_loads(b, 0, NULL);
    ck_assert_ptr_nonnull(j);
    free(b);
    free(pj);
    return j;
}

/* ---- PagerDuty ---- */

START_TEST(pagerduty_triggers_and_resolves_with_one_dedup_key)
{
    json_t *p = alerts_degradation_payload(12, "gateway", "GET /orders", "p95 3x its baseline");
    json_object_set_new(p, "severity", json_string("critical"));
    alert_format_absolute_links(p, "https://ps.example.com");
    json_t *b = body_of(ALERT_DEST_PAGERDUTY, p, NULL);
    ck_assert_str_eq(str(b, "routing_key"), "R0UT1NGKEY0123456789abcdefABCDEF");
    ck_assert_str_eq(str(b, "event_action"), "trigger");
    ck_assert_str_eq(str(b, "dedup_key"), "prodsentinel-incident-12");
    ck_assert_str_eq(str(b, "client"), "ProdSentinel");
    ck_assert_str_eq(str(b, "client_url"), "https://ps.example.com/#/incident/12");
    json_t *pl = json_object_get(b, "payload");
    ck_assert_str_eq(str(pl, "summary"), "Degradation #12 of gateway GET /orders: p95 3x its baseline");
    ck_assert_str_eq(str(pl, "source"), "gateway");
    ck_assert_str_eq(str(pl, "severity"), "critical");
    ck_assert_str_eq(str(pl, "component"), "GET /orders");
    ck_assert_str_eq(str(pl, "class"), "degradation");
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(pl, "custom_details"), "incident_id")), 12);
    json_t *link = json_array_get(json_object_get(b, "links"), 0);
    ck_assert_str_eq(str(link, "href"), "https://ps.example.com/#/incident/12");
    ck_assert_str_eq(str(link, "text"), "ProdSentinel incident #12");
    json_decref(b);
    json_decref(p);

    p = alerts_resolved_payload(12, "p95 3x its baseline", "gateway");
    b = body_of(ALERT_DEST_PAGERDUTY, p, NULL);
    ck_assert_int_eq(json_object_size(b), 3);
    ck_assert_str_eq(str(b, "event_action"), "resolve");
    ck_assert_str_eq(str(b, "dedup_key"), "prodsentinel-incident-12");
    json_decref(b);
    json_decref(p);
}
END_TEST

START_TEST(pagerduty_summary_is_cut_to_1024_bytes_on_a_character_and_relative_links_are_left_out)
{
    char title[3000];
    size_t n = 0;
    while (n + 2 < sizeof(title) - 1) { /* "é" is 2 bytes: a cut at an odd offset would split one */
        title[n++] = (char)0xC3;
        title[n++] = (char)0xA9;
    }
    title[n] = '\0';
    json_t *p = alerts_incident_payload(3, title, NULL);
    json_t *b = body_of(ALERT_DEST_PAGERDUTY, p, NULL);
    const char *summary = str(json_object_get(b, "payload"), "summary");
    ck_assert_ptr_nonnull(summary);
    ck_assert_int_le(strlen(summary), ALERT_PD_SUMMARY_MAX);
    ck_assert_int_ge(strlen(summary), ALERT_PD_SUMMARY_MAX - 1);
    ck_assert_str_eq(str(json_object_get(b, "payload"), "source"), "prodsentinel");
    ck_assert_ptr_null(json_object_get(b, "links"));
    ck_assert_ptr_null(json_object_get(b, "client_url"));
    json_decref(b);
    json_decref(p);
}
END_TEST

/* ---- Alertmanager ---- */

START_TEST(alertmanager_resolves_each_trigger_with_its_own_labels)
{
    json_t *p = alerts_degradation_payload(5, "gateway", "GET /orders", "p95 3x");
    json_object_set_new(p, "severity", json_string("warning"));
    alert_format_absolute_links(p, "http://ps.local:8000");
    json_t *b = body_of(ALERT_DEST_ALERTMANAGER, p, NULL);
    ck_assert(json_is_array(b));
    ck_assert_int_eq(json_array_size(b), 1);
    json_t *a = json_array_get(b, 0);
    json_t *want = json_pack("{s:s,s:s,s:s,s:s,s:s}", "alertname", "ProdSentinelDegradation", "severity",
                             "warning", "service", "gateway", "endpoint", "GET /orders", "incident_id", "5");
    ck_assert(json_equal(json_object_get(a, "labels"), want));
    ck_assert_str_eq(str(json_object_get(a, "annotations"), "summary"), "p95 3x");
    ck_assert_str_eq(str(json_object_get(a, "annotations"), "link"), "http://ps.local:8000/#/incident/5");
    ck_assert_str_eq(str(a, "generatorURL"), "http://ps.local:8000/#/incident/5");
    ck_assert_str_eq(str(a, "startsAt"), "2026-12-07T10:00:00.5+00:00");
    ck_assert_ptr_null(json_object_get(a, "endsAt"));

    /* the resolve: the same labels, endsAt its own time */
    json_t *triggers = json_pack("[{s:O,s:s}]", "payload", p, "queued_at", "2026-12-07T09:00:00Z");
    char *tj = json_dumps(triggers, JSON_COMPACT);
    json_t *r = alerts_resolved_payload(5, "p95 3x", "gateway");
    json_t *rb = body_of(ALERT_DEST_ALERTMANAGER, r, tj);
    ck_assert_int_eq(json_array_size(rb), 1);
    json_t *ra = json_array_get(rb, 0);
    ck_assert(json_equal(json_object_get(ra, "labels"), want));
    ck_assert_str_eq(str(ra, "startsAt"), "2026-12-07T09:00:00Z");
    ck_assert_str_eq(str(ra, "endsAt"), "2026-12-07T10:00:00.5+00:00");
    /* sent again while the incident is open: the same alert, still firing */
    char err[200];
    char *again = alert_format_am_firing(tj, err, sizeof(err));
    ck_assert_ptr_nonnull(again);
    json_t *aj = json_loads(again, 0, NULL);
    ck_assert(json_equal(json_object_get(json_array_get(aj, 0), "labels"), want));
    ck_assert_str_eq(str(json_array_get(aj, 0), "startsAt"), "2026-12-07T09:00:00Z");
    ck_assert_ptr_null(json_object_get(json_array_get(aj, 0), "endsAt"));
    json_decref(aj);
    free(again);
    ck_assert_ptr_null(alert_format_am_firing("[]", err, sizeof(err)));
    /* no trigger to close: nothing to send */
    char *rj = json_dumps(r, JSON_COMPACT);
    alert_format_in_t in = {
        .type = ALERT_DEST_ALERTMANAGER, .payload_json = rj, .queued_at = "x", .triggers_json = "[]"};
    ck_assert_ptr_null(alert_format_body(&in, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "no trigger"));
    free(rj);
    free(tj);
    json_decref(triggers);
    json_decref(r);
    json_decref(rb);
    json_decref(want);
    json_decref(b);
    json_decref(p);
}
END_TEST

/* ---- Teams, Slack, JSON ---- */

START_TEST(teams_gets_an_adaptive_card_with_markdown_escaped)
{
    json_t *p = alerts_incident_payload(9, "*bold* [click](http://evil.example) <at>all</at> {{DATE(x)}}",
                                        "pay_ment");
    alert_format_absolute_links(p, "https://ps.example.com");
    json_t *b = body_of(ALERT_DEST_TEAMS, p, NULL);
    ck_assert_str_eq(str(b, "type"), "message");
    json_t *att = json_array_get(json_object_get(b, "attachments"), 0);
    ck_assert_str_eq(str(att, "contentType"), "application/vnd.microsoft.card.adaptive");
    json_t *card = json_object_get(att, "content");
    ck_assert_str_eq(str(card, "type"), "AdaptiveCard");
    json_t *title = json_array_get(json_object_get(card, "body"), 0);
    ck_assert_str_eq(
        str(title, "text"),
        "\\*bold\\* \\[click\\]\\(http://evil.example\\) \\<at\\>all\\</at\\> \\{\\{DATE\\(x\\)\\}\\}");
    ck_assert_str_eq(str(title, "color"), "Attention");
    json_t *facts = json_object_get(json_array_get(json_object_get(card, "body"), 2), "facts");
    ck_assert_str_eq(str(json_array_get(facts, 0), "value"), "pay\\_ment");
    json_t *action = json_array_get(json_object_get(card, "actions"), 0);
    ck_assert_str_eq(str(action, "type"), "Action.OpenUrl");
    ck_assert_str_eq(str(action, "url"), "https://ps.example.com/#/incident/9");
    json_decref(b);
    json_decref(p);
    char *e = alert_format_teams_escape(NULL);
    ck_assert_str_eq(e, "");
    free(e);
}
END_TEST

START_TEST(slack_gets_its_text_and_json_the_payload_redacted_again)
{
    json_t *report = json_object();
    json_t *p = alerts_report_payload(4, 1, "t", "payment", report); /* `report` is borrowed */
    json_decref(report);
    /* a payload stored before redaction covered a pattern: sent redacted all the same */
    json_object_set_new(p, "title", json_string("password=hunter2"));
    json_t *b = body_of(ALERT_DEST_JSON, p, NULL);
    ck_assert_str_eq(str(b, "kind"), "report");
    ck_assert_ptr_null(strstr(str(b, "title"), "hunter2"));
    json_decref(b);
    b = body_of(ALERT_DEST_SLACK, p, NULL);
    ck_assert_int_eq(json_object_size(b), 1);
    ck_assert_ptr_nonnull(strstr(str(b, "text"), "Report v1 for incident #4"));
    json_decref(b);
    json_decref(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alert_formats");
    TCase *tc = tcase_create("formats");
    tcase_add_test(tc, entries_keep_todays_forms_and_take_typed_destinations_with_options);
    tcase_add_test(tc, bad_entries_are_named_by_position_without_their_secret);
    tcase_add_test(tc, public_url_makes_the_link_and_its_quote_in_the_text_absolute);
    tcase_add_test(tc, severity_defaults_to_error_and_reports_do_not_page);
    tcase_add_test(tc, pagerduty_triggers_and_resolves_with_one_dedup_key);
    tcase_add_test(tc, pagerduty_summary_is_cut_to_1024_bytes_on_a_character_and_relative_links_are_left_out);
    tcase_add_test(tc, alertmanager_resolves_each_trigger_with_its_own_labels);
    tcase_add_test(tc, teams_gets_an_adaptive_card_with_markdown_escaped);
    tcase_add_test(tc, slack_gets_its_text_and_json_the_payload_redacted_again);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
