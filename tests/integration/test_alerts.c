/* Webhook alerts through the real pipeline, PostgreSQL and a receiver over HTTP: a receiver that is
 * down loses nothing (retried with backoff until it answers), each destination gets its form (Slack
 * {"text"} or the plain JSON), one incident is one alert however many traces join it, a re-run's report
 * is alerted, a destination gets at most ALERT_RATE_PER_MIN a minute (the rest wait, not dropped), and
 * reports below ALERT_MIN_CONFIDENCE are stored as suppressed, not sent. */
#include "ts.h"
#include "ts_sink.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *db_url;
static char prefix[64];
static ts_proc_t backend, pipeline;
static ts_sink_t *sink;

static void start_stack(const char *webhooks, const char *rate, const char *min_conf)
{
    char suffix[9];
    ts_hex(suffix, 8);
    snprintf(prefix, sizeof(prefix), "t:%s:", suffix);
    db_url = ts_create_database("alerts");
    const char *benv[] = {"DEBOUNCE_QUIET_MS=300", "DEBOUNCE_MAX_MS=2000", NULL};
    ck_assert_int_eq(ts_start_backend(&backend, db_url, prefix, benv), 0);
    const char *penv[] = {webhooks, rate, min_conf, "ALERT_RETRY_BASE_MS=100", "WORKERS=2", NULL};
    ck_assert_int_eq(ts_start_pipeline(&pipeline, db_url, prefix, penv), 0);
}

static void stop_stack(void)
{
    ts_stop(&pipeline, SIGTERM);
    ts_stop(&backend, SIGTERM);
    ts_sink_free(sink);
    sink = NULL;
    free(db_url);
}

/* One failing span of `service` throwing `exception` (the fingerprint: one incident per pair). */
static void send_failure(const char *service, const char *exception)
{
    char trace[33], body[2048], url[256];
    ts_hex(trace, 32);
    long long now = (long long)time(NULL) * 1000000000LL;
    snprintf(
        body, sizeof(body),
        "{\"spans\":[{\"trace_id\":\"%s\",\"span_id\":\"b000000000000001\",\"service\":\"%s\",\"name\":"
        "\"POST /charge\",\"kind\":\"SERVER\",\"start_time\":%lld,\"end_time\":%lld,\"status\":\"ERROR\","
        "\"events\":[{\"name\":\"exception\",\"time\":%lld,\"attributes\":{\"exception.type\":\"%s\","
        "\"exception.message\":\"it failed\"}}]}]}",
        trace, service, now, now + 5000000, now + 4000000, exception);
    snprintf(url, sizeof(url), "%s/ingest/traces", backend.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ck_assert_msg(r.status == 200, "ingest: %ld %s", r.status, r.body);
    ts_resp_free(&r);
}

static void wait_sink(size_t want, int seconds)
{
    for (int i = 0; i < seconds * 10 && ts_sink_accepted(sink) < want; i++)
        usleep(100 * 1000);
    ck_assert_msg(ts_sink_accepted(sink) >= want, "receiver got %zu of %zu alerts", ts_sink_accepted(sink),
                  want);
}

/* The body the receiver got at `path` whose JSON has "kind" `kind` (plain form), or any (Slack). */
static json_t *received(const char *path, const char *kind)
{
    for (size_t i = 0; i < ts_sink_count(sink); i++) {
        char *p = ts_sink_path(sink, i), *b = ts_sink_body(sink, i);
        json_t *j = strcmp(p, path) == 0 ? json_loads(b, 0, NULL) : NULL;
        free(p);
        free(b);
        if (j && (!kind || !strcmp(json_string_value(json_object_get(j, "kind")) ?: "", kind))) return j;
        json_decref(j);
    }
    return NULL;
}

START_TEST(a_down_receiver_loses_nothing_and_each_form_is_sent)
{
    sink = ts_sink_create();
    char hooks[256];
    snprintf(hooks, sizeof(hooks),
             "ALERT_WEBHOOKS=slack:http://127.0.0.1:%d/slack,json:http://127.0.0.1:%d/json",
             ts_sink_port(sink), ts_sink_port(sink));
    start_stack(hooks, "ALERT_RATE_PER_MIN=30", "ALERT_MIN_CONFIDENCE=0");
    PGconn *c = ts_pg(db_url);
    send_failure("payment", "com.acme.DbTimeoutException");
    /* the receiver is down: both deliveries are retried, with growing waits, and stay pending */
    ck_assert_int_eq(
        ts_pg_wait_long(c,
                        "SELECT count(*) FROM alert_deliveries WHERE kind = 'incident' AND state = "
                        "'pending' AND attempts >= 3 AND last_error IS NOT NULL",
                        2, 30),
        2);
    ck_assert_int_eq(ts_pg_long(c,
                                "SELECT count(*) FROM alert_deliveries WHERE next_attempt_at < created_at + "
                                "interval '200 milliseconds'"),
                     0);
    ts_sink_up(sink, 200);
    wait_sink(2, 20);
    ck_assert_int_eq(
        ts_pg_wait_long(c, "SELECT count(*) FROM alert_deliveries WHERE state = 'delivered' AND attempts > 3",
                        2, 10),
        2);
    json_t *slack = received("/slack", NULL), *plain = received("/json", "incident");
    ck_assert_ptr_nonnull(slack);
    ck_assert_ptr_nonnull(plain);
    ck_assert_int_eq(json_object_size(slack), 1); /* Slack's form: {"text": ...} */
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(slack, "text")), "New incident #"));
    ck_assert_int_eq(json_integer_value(json_object_get(plain, "incident_id")), 1);
    ck_assert(json_is_object(json_object_get(plain, "report")));
    json_decref(slack);
    json_decref(plain);

    /* more traces of the same cause join the incident: no second alert */
    for (int i = 0; i < 3; i++)
        send_failure("payment", "com.acme.DbTimeoutException");
    ck_assert_int_eq(ts_pg_wait_long(c, "SELECT count(*) FROM incident_traces", 4, 20), 4);
    sleep(1);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM alert_deliveries"), 2);
    ck_assert_int_eq(ts_sink_count(sink), 2);

    /* a re-run writes report v2, alerted to both */
    char url[256];
    snprintf(url, sizeof(url), "%s/query/incidents/1/rerun", backend.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, TS_ADMIN_KEY, "{}", &r), 0);
    ck_assert_msg(r.status == 202, "rerun: %ld %s", r.status, r.body);
    ts_resp_free(&r);
    wait_sink(4, 30);
    json_t *rep = received("/json", "report");
    ck_assert_ptr_nonnull(rep);
    ck_assert_int_eq(json_integer_value(json_object_get(rep, "version")), 2);
    json_decref(rep);
    PQfinish(c);
    stop_stack();
}
END_TEST

START_TEST(the_rate_per_destination_holds_alerts_back_without_dropping_them)
{
    sink = ts_sink_create();
    ts_sink_up(sink, 200);
    char hooks[160];
    snprintf(hooks, sizeof(hooks), "ALERT_WEBHOOKS=json:http://127.0.0.1:%d/json", ts_sink_port(sink));
    start_stack(hooks, "ALERT_RATE_PER_MIN=2", "ALERT_MIN_CONFIDENCE=0");
    PGconn *c = ts_pg(db_url);
    const char *exc[] = {"E1Exception", "E2Exception", "E3Exception", "E4Exception", "E5Exception"};
    for (int i = 0; i < 5; i++)
        send_failure("inventory", exc[i]);
    ck_assert_int_eq(ts_pg_wait_long(c, "SELECT count(*) FROM alert_deliveries", 5, 30), 5);
    wait_sink(2, 10);
    sleep(2);
    ck_assert_int_eq(ts_sink_count(sink), 2);
    ck_assert_int_eq(
        ts_pg_long(c, "SELECT count(*) FROM alert_deliveries WHERE state = 'pending' AND attempts = 0"), 3);
    PQfinish(c);
    stop_stack();
}
END_TEST

START_TEST(reports_below_the_minimum_confidence_are_stored_not_sent)
{
    sink = ts_sink_create();
    ts_sink_up(sink, 200);
    char hooks[160];
    snprintf(hooks, sizeof(hooks), "ALERT_WEBHOOKS=json:http://127.0.0.1:%d/json", ts_sink_port(sink));
    start_stack(hooks, "ALERT_RATE_PER_MIN=30", "ALERT_MIN_CONFIDENCE=1");
    PGconn *c = ts_pg(db_url);
    send_failure("payment", "com.acme.DbTimeoutException");
    ck_assert_int_eq(
        ts_pg_wait_long(c, "SELECT count(*) FROM alert_deliveries WHERE state = 'suppressed'", 1, 30), 1);
    sleep(1);
    ck_assert_int_eq(ts_sink_count(sink), 0);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM alert_deliveries WHERE state <> 'suppressed'"), 0);
    PQfinish(c);
    stop_stack();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alerts");
    TCase *tc = tcase_create("webhooks");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a_down_receiver_loses_nothing_and_each_form_is_sent);
    tcase_add_test(tc, the_rate_per_destination_holds_alerts_back_without_dropping_them);
    tcase_add_test(tc, reports_below_the_minimum_confidence_are_stored_not_sent);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
