/* Webhook alerts through the real backend, pipeline, PostgreSQL, Redis and a receiver over HTTP
 * (tests/support/ts_sink.h): an error trace alerts its new incident and its finished report, each
 * destination in its form (Slack {"text"} or the plain JSON); a re-run's report is alerted, the
 * incident never twice; a receiver that is down loses nothing; one answering 500 is retried with a
 * growing backoff and gets each alert once; a destination gets at most ALERT_RATE_PER_MIN a minute (the
 * rest wait, not dropped); a report below ALERT_MIN_CONFIDENCE is stored as suppressed, not sent;
 * webhook and LLM URLs are logged and stored as their origin only, and alert texts carry no secret and
 * no Slack mention from telemetry; a destination answering a permanent 4xx is tried 3 times then marked
 * failed with its answer, and deliveries to a destination no longer configured are abandoned. */
#include "ts.h"
#include "ts_ingest.h"
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
static ts_proc_t backend, pipeline, llm;
static ts_sink_t *sink;

/* Starts backend and pipeline (and the fake LLM when `with_llm`); `penv` is the pipeline's extra
 * environment (NULL-terminated, at most 8). */
static void start_stack(int with_llm, const char *const *penv)
{
    char suffix[9];
    ts_hex(suffix, 8);
    snprintf(prefix, sizeof(prefix), "t:%s:", suffix);
    db_url = ts_create_database("alerts");
    const char *benv[] = {"DEBOUNCE_QUIET_MS=300", "DEBOUNCE_MAX_MS=2000", NULL};
    ck_assert_int_eq(ts_start_backend(&backend, db_url, prefix, benv), 0);
    const char *env[12] = {"WORKERS=2", NULL};
    int n = 1;
    char llm_url[96];
    if (with_llm) {
        const char *lenv[] = {"FAKE_LLM_MODE=normal", NULL};
        ck_assert_int_eq(ts_start(&llm, "fake-services/fake-llm", "FAKE_LLM_PORT", db_url, prefix, lenv), 0);
        snprintf(llm_url, sizeof(llm_url), "LLM_BASE_URL=%s/v1", llm.url);
        env[n++] = llm_url;
        env[n++] = "LLM_MODEL=fake-llm";
    }
    for (int i = 0; penv[i] && n < 11; i++)
        env[n++] = penv[i];
    env[n] = NULL;
    ck_assert_int_eq(ts_start_pipeline(&pipeline, db_url, prefix, env), 0);
}

static void stop_stack(void)
{
    ts_stop(&pipeline, SIGTERM);
    ts_stop(&backend, SIGTERM);
    if (llm.pid > 0) ts_stop(&llm, SIGTERM);
    memset(&llm, 0, sizeof(llm));
    ts_sink_free(sink);
    sink = NULL;
    free(db_url);
}

/* "ALERT_WEBHOOKS=" with the sink's /slack (Slack form) and/or /json (plain form). */
static const char *hooks(int slack, int plain)
{
    static char env[256];
    int p = ts_sink_port(sink);
    if (slack && plain)
        snprintf(env, sizeof(env),
                 "ALERT_WEBHOOKS=slack:http://127.0.0.1:%d/slack,json:http://127.0.0.1:%d/json", p, p);
    else
        snprintf(env, sizeof(env), "ALERT_WEBHOOKS=%s://127.0.0.1:%d/%s", slack ? "slack:http" : "json:http",
                 p, slack ? "slack" : "json");
    return env;
}

/* One failing span of `service` throwing `exception` in trace `trace` (NULL: a new one). The
 * fingerprint is service + exception: one incident per pair. */
static void send_failure(const char *service, const char *exception, const char *trace)
{
    ts_ingest_failure(&backend, service, exception, trace);
}

static void wait_sink(size_t want, int seconds)
{
    for (int i = 0; i < seconds * 10 && ts_sink_accepted(sink) < want; i++)
        usleep(100 * 1000);
    ck_assert_msg(ts_sink_accepted(sink) >= want, "receiver got %zu of %zu alerts", ts_sink_accepted(sink),
                  want);
}

/* The n-th body (from 0) the receiver got at `path` whose text contains `needle`; NULL if none. */
static json_t *received(const char *path, const char *needle, int nth)
{
    for (size_t i = 0; i < ts_sink_count(sink); i++) {
        char *p = ts_sink_path(sink, i), *b = ts_sink_body(sink, i);
        json_t *j = strcmp(p, path) == 0 ? json_loads(b, 0, NULL) : NULL;
        free(p);
        free(b);
        const char *text = json_string_value(json_object_get(j, "text"));
        if (text && strstr(text, needle) && nth-- == 0) return j;
        json_decref(j);
    }
    return NULL;
}

static int count_received(const char *path, const char *needle)
{
    int n = 0;
    for (json_t *j; (j = received(path, needle, n)) != NULL; n++)
        json_decref(j);
    return n;
}

static const char *str(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key)) ?: "";
}

/* (a) and (d): both alerts in both forms; more traces of the incident and a re-run alert no second
 * incident, while the re-run's report (version 2) is alerted. */
START_TEST(an_error_trace_alerts_its_incident_and_its_report_in_each_form)
{
    sink = ts_sink_create();
    ts_sink_up(sink, 200);
    const char *penv[] = {hooks(1, 1), NULL};
    start_stack(1, penv);
    PGconn *c = ts_pg(db_url);
    char trace[33];
    ts_hex(trace, 32);
    send_failure("payment", "com.acme.DbTimeoutException", trace);
    wait_sink(4, 30);

    /* Slack: {"text"} only, one per alert */
    json_t *si = received("/slack", "New incident #1 in payment", 0),
           *sr = received("/slack", "Report v1 ", 0);
    ck_assert_ptr_nonnull(si);
    ck_assert_ptr_nonnull(sr);
    ck_assert_int_eq(json_object_size(si), 1);
    ck_assert_int_eq(json_object_size(sr), 1);
    ck_assert_ptr_nonnull(strstr(str(sr, "text"), "incident #1 (payment, confidence 0.90)"));
    ck_assert_ptr_nonnull(strstr(str(sr, "text"), "/#/incident/1"));
    json_decref(si);
    json_decref(sr);

    /* plain: the whole payload */
    json_t *pi = received("/json", "New incident #1", 0), *pr = received("/json", "Report v1 ", 0);
    ck_assert_ptr_nonnull(pi);
    ck_assert_ptr_nonnull(pr);
    ck_assert_str_eq(str(pi, "kind"), "incident");
    ck_assert_int_eq(json_integer_value(json_object_get(pi, "incident_id")), 1);
    ck_assert_str_eq(str(pi, "service"), "payment");
    ck_assert_str_eq(str(pi, "link"), "/#/incident/1");
    ck_assert_str_eq(str(pr, "kind"), "report");
    ck_assert_int_eq(json_integer_value(json_object_get(pr, "incident_id")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(pr, "version")), 1);
    ck_assert_str_eq(str(pr, "service"), "payment");
    ck_assert_str_eq(str(pr, "link"), "/#/incident/1");
    ck_assert_str_eq(str(pr, "summary"), str(json_object_get(pr, "report"), "summary"));
    ck_assert_int_gt(strlen(str(pr, "summary")), 10);
    ck_assert_double_eq_tol(json_number_value(json_object_get(pr, "confidence")), 0.9, 1e-9);
    ck_assert_str_eq(str(json_object_get(pr, "report"), "generated_by"), "llm"); /* the finished report */
    json_decref(pi);
    json_decref(pr);
    ck_assert_int_eq(ts_pg_wait_long(c,
                                     "SELECT count(*) FROM alert_deliveries WHERE state = 'delivered' AND "
                                     "attempts = 1 AND last_error IS NULL",
                                     4, 5),
                     4);

    /* the same trace sent again and more traces of the same cause join the incident: no alert */
    send_failure("payment", "com.acme.DbTimeoutException", trace);
    for (int i = 0; i < 3; i++)
        send_failure("payment", "com.acme.DbTimeoutException", NULL);
    ck_assert_int_eq(ts_pg_wait_long(c, "SELECT count(*) FROM incident_traces", 4, 20), 4);
    sleep(1);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM alert_deliveries"), 4);

    /* a re-run stores report v2: alerted to both; it queues the incident's alert again (every report
     * does), which the dedup key turns into a no-op */
    char url[256];
    snprintf(url, sizeof(url), "%s/query/incidents/1/rerun", backend.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, TS_ADMIN_KEY, "{}", &r), 0);
    ck_assert_msg(r.status == 202, "rerun: %ld %s", r.status, r.body);
    ts_resp_free(&r);
    wait_sink(6, 30);
    sleep(1);
    ck_assert_int_eq(ts_sink_count(sink), 6);
    json_t *v2 = received("/json", "Report v2 ", 0);
    ck_assert_ptr_nonnull(v2);
    ck_assert_int_eq(json_integer_value(json_object_get(v2, "version")), 2);
    json_decref(v2);
    ck_assert_int_eq(count_received("/slack", "Report v2 "), 1);
    ck_assert_int_eq(count_received("/json", "New incident #"), 1);
    ck_assert_int_eq(count_received("/slack", "New incident #"), 1);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM alert_deliveries WHERE kind = 'incident'"), 2);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM alert_deliveries WHERE kind = 'report'"), 4);
    PQfinish(c);
    stop_stack();
}
END_TEST

/* (b) */
START_TEST(a_down_receiver_loses_nothing)
{
    sink = ts_sink_create(); /* down: connections refused */
    const char *penv[] = {hooks(0, 1), "ALERT_RETRY_BASE_MS=100", NULL};
    start_stack(0, penv);
    PGconn *c = ts_pg(db_url);
    send_failure("payment", "com.acme.DbTimeoutException", NULL);
    ck_assert_int_eq(ts_pg_wait_long(c,
                                     "SELECT count(*) FROM alert_deliveries WHERE state = 'pending' AND "
                                     "attempts >= 3 AND last_error IS NOT NULL",
                                     2, 30),
                     2);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM alert_deliveries WHERE state <> 'pending'"), 0);
    ts_sink_up(sink, 200);
    wait_sink(2, 20);
    ck_assert_int_eq(ts_pg_wait_long(c,
                                     "SELECT count(*) FROM alert_deliveries WHERE state = 'delivered' AND "
                                     "attempts > 3 AND last_error IS NULL AND delivered_at IS NOT NULL",
                                     2, 10),
                     2);
    ck_assert_int_eq(count_received("/json", "New incident #1"), 1);
    ck_assert_int_eq(count_received("/json", "Report v1 for incident #1"), 1);
    PQfinish(c);
    stop_stack();
}
END_TEST

/* (c) Each alert's requests, in order: 500, 500, 200, spaced by base x 2 then base x 4. */
#define BASE_MS 300
START_TEST(a_receiver_answering_500_gets_retries_with_growing_backoff_then_each_alert_once)
{
    sink = ts_sink_create();
    ts_sink_up(sink, 200);
    ts_sink_fail_next(sink, 4, 500); /* two failures for each of the incident's two alerts */
    char base[48];
    snprintf(base, sizeof(base), "ALERT_RETRY_BASE_MS=%d", BASE_MS);
    const char *penv[] = {hooks(0, 1), base, NULL};
    start_stack(0, penv);
    PGconn *c = ts_pg(db_url);
    send_failure("payment", "com.acme.DbTimeoutException", NULL);
    ck_assert_int_eq(ts_pg_wait_long(c,
                                     "SELECT count(*) FROM alert_deliveries WHERE state = 'pending' AND "
                                     "attempts = 2 AND last_error = 'HTTP 500'",
                                     2, 30),
                     2);
    wait_sink(2, 20);
    ck_assert_int_eq(
        ts_pg_wait_long(c, "SELECT count(*) FROM alert_deliveries WHERE state = 'delivered' AND attempts = 3",
                        2, 10),
        2);
    sleep(1);
    ck_assert_int_eq(ts_sink_count(sink), 6);
    ck_assert_int_eq(ts_sink_accepted(sink), 2);
    const char *kinds[] = {"incident", "report"};
    for (int k = 0; k < 2; k++) {
        long long at[3];
        int n = 0;
        for (size_t i = 0; i < ts_sink_count(sink); i++) {
            char *b = ts_sink_body(sink, i);
            json_t *j = json_loads(b, 0, NULL);
            if (strcmp(str(j, "kind"), kinds[k]) == 0) {
                ck_assert_int_lt(n, 3);
                ck_assert_int_eq(ts_sink_status(sink, i), n < 2 ? 500 : 200);
                at[n++] = ts_sink_time_ms(sink, i);
            }
            json_decref(j);
            free(b);
        }
        ck_assert_int_eq(n, 3);
        long long gap1 = at[1] - at[0], gap2 = at[2] - at[1];
        ck_assert_msg(gap1 >= 2 * BASE_MS - 20 && gap2 >= 4 * BASE_MS - 20 && gap2 > gap1,
                      "%s: retries after %lld then %lld ms", kinds[k], gap1, gap2);
        /* the stored time of the last retry: the second failure's time plus base x 2^2 */
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "SELECT (extract(epoch FROM next_attempt_at) * 1000)::bigint FROM alert_deliveries WHERE "
                 "kind = '%s'",
                 kinds[k]);
        long long next = ts_pg_long(c, sql) - at[1];
        ck_assert_msg(next >= 4 * BASE_MS - 20 && next <= 4 * BASE_MS + 500, "%s: stored retry %lld ms after",
                      kinds[k], next);
        ck_assert_int_ge(at[2], at[1] + next - 20);
    }
    PQfinish(c);
    stop_stack();
}
END_TEST

/* (e) Five incidents (five services: one service's faults would be grouped into one page) are ten
 * alerts for each of two destinations: two a minute each. */
START_TEST(the_rate_per_destination_holds_alerts_back_without_dropping_them)
{
    sink = ts_sink_create();
    ts_sink_up(sink, 200);
    const char *penv[] = {hooks(1, 1), "ALERT_RATE_PER_MIN=2", NULL};
    start_stack(0, penv);
    PGconn *c = ts_pg(db_url);
    const char *svc[] = {"inventory", "payment", "gateway", "orders", "shipping"};
    const char *exc[] = {"E1Exception", "E2Exception", "E3Exception", "E4Exception", "E5Exception"};
    for (int i = 0; i < 5; i++)
        send_failure(svc[i], exc[i], NULL);
    ck_assert_int_eq(ts_pg_wait_long(c, "SELECT count(*) FROM alert_deliveries", 20, 30), 20);
    wait_sink(4, 10);
    sleep(2);
    ck_assert_int_eq(ts_sink_count(sink), 4);
    ck_assert_int_eq(count_received("/slack", ""), 2);
    ck_assert_int_eq(count_received("/json", ""), 2);
    ck_assert_int_eq(
        ts_pg_long(c, "SELECT count(*) FROM (SELECT destination FROM alert_deliveries WHERE state = "
                      "'delivered' GROUP BY destination HAVING count(*) = 2) x"),
        2);
    ck_assert_int_eq(
        ts_pg_long(c, "SELECT count(*) FROM alert_deliveries WHERE state = 'pending' AND attempts = 0"), 16);
    PQfinish(c);
    stop_stack();
}
END_TEST

/* (f) The deterministic report of an exception says 0.9. */
START_TEST(a_report_below_the_minimum_confidence_is_stored_not_sent)
{
    sink = ts_sink_create();
    ts_sink_up(sink, 200);
    const char *penv[] = {hooks(0, 1), "ALERT_MIN_CONFIDENCE=0.95", NULL};
    start_stack(0, penv);
    PGconn *c = ts_pg(db_url);
    send_failure("payment", "com.acme.DbTimeoutException", NULL);
    ck_assert_int_eq(
        ts_pg_wait_long(c, "SELECT count(*) FROM alert_deliveries WHERE state = 'suppressed'", 1, 30), 1);
    wait_sink(1, 10); /* the incident itself is announced */
    sleep(1);
    ck_assert_int_eq(ts_sink_count(sink), 1);
    ck_assert_int_eq(count_received("/json", "New incident #1"), 1);
    ck_assert_int_eq(
        ts_pg_long(c, "SELECT count(*) FROM alert_deliveries d WHERE kind = 'report' AND state = "
                      "'suppressed' AND attempts = 0 AND confidence < 0.95 AND confidence = (SELECT "
                      "(report->>'confidence')::float8 FROM analyses WHERE version = 1)"),
        1);
    ck_assert_int_eq(ts_pg_long(c,
                                "SELECT count(*) FROM alert_deliveries WHERE kind = 'incident' AND state = "
                                "'delivered' AND confidence IS NULL"),
                     1);
    PQfinish(c);
    stop_stack();
}
END_TEST

/* The log file of `p` as a string (caller frees). */
static char *read_log(const ts_proc_t *p)
{
    FILE *f = fopen(p->log_path, "r");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc(1, (size_t)n + 1);
    ck_assert_int_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return s;
}

/* (g) Issue 14, points 8-10: a webhook whose path is its secret and an LLM base URL with a secret path
 * (nobody listens there: every call fails and is logged) appear in the pipeline's log and in the
 * database only as scheme://host:port; the Slack text of a trace whose exception message holds secrets
 * and mentions carries neither. */
START_TEST(secret_urls_are_logged_as_origins_and_alert_texts_carry_no_secret)
{
    sink = ts_sink_create();
    ts_sink_up(sink, 200);
    ts_sink_fail_next(sink, 2, 500); /* failed deliveries are logged and stored with their error */
    char hook[160], llm_url[160], origin[64];
    snprintf(hook, sizeof(hook), "ALERT_WEBHOOKS=slack:http://127.0.0.1:%d/services/T000/B000/XXXXSECRET",
             ts_sink_port(sink));
    snprintf(llm_url, sizeof(llm_url), "LLM_BASE_URL=http://127.0.0.1:%d/LLMSECRET/v1", ts_free_port());
    snprintf(origin, sizeof(origin), "http://127.0.0.1:%d", ts_sink_port(sink));
    const char *penv[] = {hook, llm_url, "ALERT_RETRY_BASE_MS=100", NULL};
    start_stack(0, penv);
    PGconn *c = ts_pg(db_url);
    char trace[33], body[2048], url[256];
    ts_hex(trace, 32);
    long long now = (long long)time(NULL) * 1000000000LL;
    snprintf(body, sizeof(body),
             "{\"spans\":[{\"trace_id\":\"%s\",\"span_id\":\"b000000000000001\",\"service\":\"payment\","
             "\"name\":\"POST /charge\",\"kind\":\"SERVER\",\"start_time\":%lld,\"end_time\":%lld,\"status\":"
             "\"ERROR\",\"events\":[{\"name\":\"exception\",\"time\":%lld,\"attributes\":{\"exception.type\":"
             "\"com.acme.CardException\",\"exception.message\":\"card 4111 1111 1111 1111 of bob@example.com "
             "declined, password=hunter2 <!channel> @here <@U024BE7LH>\"}}]}]}",
             trace, now, now + 5000000, now + 4000000);
    snprintf(url, sizeof(url), "%s/ingest/traces", backend.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ck_assert_msg(r.status == 200, "ingest: %ld %s", r.status, r.body);
    ts_resp_free(&r);
    wait_sink(2, 40); /* both alerts delivered after the two failures */
    ck_assert_int_eq(
        ts_pg_wait_long(c, "SELECT count(*) FROM alert_deliveries WHERE state = 'delivered'", 2, 10), 2);

    /* the log names the destination by its origin, never its path; the LLM likewise */
    char *log = read_log(&pipeline);
    ck_assert_msg(strstr(log, "XXXXSECRET") == NULL && strstr(log, "/services/T000") == NULL,
                  "webhook path logged:\n%s", log);
    ck_assert_msg(strstr(log, "LLMSECRET") == NULL, "LLM base URL path logged:\n%s", log);
    ck_assert_msg(strstr(log, origin) != NULL, "the failed deliveries are logged with %s:\n%s", origin, log);
    /* issue 15: alerts on without PUBLIC_URL: links are relative, and the pipeline says so at start */
    ck_assert_msg(strstr(log, "PUBLIC_URL is not set") != NULL, "no warning about PUBLIC_URL:\n%s", log);
    free(log);
    /* the two failed posts were retried, whichever alerts they were (claims go one by one) */
    ck_assert_int_eq(
        ts_pg_long(c, "SELECT sum(attempts - 1) FROM alert_deliveries WHERE state = 'delivered'"), 2);
    ck_assert_int_eq(
        ts_pg_long(c, "SELECT count(*) FROM analyses WHERE coalesce(llm_error, '') LIKE '%LLMSECRET%' "
                      "OR report::text LIKE '%LLMSECRET%'"),
        0);

    /* what Slack got: no secret, no mention */
    const char *banned[] = {"4111", "bob@example.com", "hunter2", "<!channel>", "@here", "<@U024BE7LH>"};
    int n = count_received("/services/T000/B000/XXXXSECRET", ""); /* the failed requests too */
    ck_assert_int_eq(n, 4);
    for (int i = 0; i < n; i++) {
        json_t *j = received("/services/T000/B000/XXXXSECRET", "", i);
        const char *text = str(j, "text");
        for (size_t k = 0; k < sizeof(banned) / sizeof(*banned); k++)
            ck_assert_msg(strstr(text, banned[k]) == NULL, "Slack text holds %s: %s", banned[k], text);
        json_decref(j);
    }
    json_t *report_alert = received("/services/T000/B000/XXXXSECRET", "[REDACTED:card]", 0);
    ck_assert_ptr_nonnull(report_alert);
    json_decref(report_alert);
    /* the stored report (what the dashboard shows) is redacted too */
    ck_assert_int_eq(ts_pg_long(c,
                                "SELECT count(*) FROM analyses WHERE report::text LIKE '%hunter2%' OR "
                                "report::text LIKE '%4111 1111%' OR report::text LIKE '%bob@example.com%'"),
                     0);
    PQfinish(c);
    stop_stack();
}
END_TEST

/* Issue 14, point 12: 404 is permanent (3 tries, then failed with the answer); 429 and 408 are not. */
START_TEST(a_receiver_answering_404_is_tried_three_times_then_the_delivery_fails)
{
    sink = ts_sink_create();
    ts_sink_up(sink, 404);
    const char *penv[] = {hooks(0, 1), "ALERT_RETRY_BASE_MS=20", NULL};
    start_stack(0, penv);
    PGconn *c = ts_pg(db_url);
    send_failure("payment", "com.acme.GoneException", NULL);
    ck_assert_int_eq(ts_pg_wait_long(c,
                                     "SELECT count(*) FROM alert_deliveries WHERE state = 'failed' AND "
                                     "attempts = 3 AND last_error = 'HTTP 404: ok'",
                                     2, 30),
                     2);
    sleep(2); /* nothing more is tried */
    ck_assert_int_eq(ts_sink_count(sink), 6);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM alert_deliveries WHERE state <> 'failed'"), 0);
    /* 429 is worth retrying: past three attempts, still pending (another service: a second fault of
     * payment would be grouped under the first and page nothing) */
    ts_sink_set_status(sink, 429);
    send_failure("inventory", "com.acme.BusyException", NULL);
    ck_assert_int_eq(ts_pg_wait_long(c,
                                     "SELECT count(*) FROM alert_deliveries WHERE state = 'pending' AND "
                                     "attempts >= 4 AND last_error = 'HTTP 429'",
                                     2, 30),
                     2);
    PQfinish(c);
    stop_stack();
}
END_TEST

/* Issue 14, point 12: alerts queued for a destination that a restart removed are abandoned, not sent and
 * not retried for ever; the destinations still configured get theirs. */
START_TEST(deliveries_to_a_destination_no_longer_configured_are_abandoned)
{
    sink = ts_sink_create(); /* down: the alerts stay pending */
    const char *penv[] = {hooks(0, 1), "ALERT_RETRY_BASE_MS=50", NULL};
    start_stack(0, penv);
    PGconn *c = ts_pg(db_url);
    send_failure("payment", "com.acme.MovedException", NULL);
    ck_assert_int_eq(
        ts_pg_wait_long(c, "SELECT count(*) FROM alert_deliveries WHERE state = 'pending' AND attempts >= 1",
                        2, 30),
        2);
    ts_stop(&pipeline, SIGTERM);
    const char *env2[] = {"WORKERS=1", hooks(1, 0), "ALERT_RETRY_BASE_MS=50", NULL};
    ck_assert_int_eq(ts_start_pipeline(&pipeline, db_url, prefix, env2), 0);
    ck_assert_int_eq(ts_pg_wait_long(c,
                                     "SELECT count(*) FROM alert_deliveries WHERE state = 'abandoned' AND "
                                     "format = 'json' AND last_error LIKE '%no longer configured%'",
                                     2, 20),
                     2);
    ts_sink_up(sink, 200);
    /* another service: in payment it would be grouped under #1 and page nothing itself */
    send_failure("inventory", "com.acme.StillHereException", NULL);
    wait_sink(2, 30);
    sleep(1);
    ck_assert_int_eq(count_received("/json", "incident"), 0);
    ck_assert_int_eq(count_received("/slack", "incident #2"), 2);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM alert_deliveries WHERE format = 'json' "
                                   "AND state <> 'abandoned'"),
                     0);
    PQfinish(c);
    stop_stack();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alerts");
    TCase *tc = tcase_create("webhooks");
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, an_error_trace_alerts_its_incident_and_its_report_in_each_form);
    tcase_add_test(tc, a_down_receiver_loses_nothing);
    tcase_add_test(tc, a_receiver_answering_500_gets_retries_with_growing_backoff_then_each_alert_once);
    tcase_add_test(tc, the_rate_per_destination_holds_alerts_back_without_dropping_them);
    tcase_add_test(tc, a_report_below_the_minimum_confidence_is_stored_not_sent);
    tcase_add_test(tc, secret_urls_are_logged_as_origins_and_alert_texts_carry_no_secret);
    tcase_add_test(tc, a_receiver_answering_404_is_tried_three_times_then_the_delivery_fails);
    tcase_add_test(tc, deliveries_to_a_destination_no_longer_configured_are_abandoned);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
