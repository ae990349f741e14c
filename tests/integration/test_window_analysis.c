/* POST /debug/analyze-window through the real backend and pipeline: a request with an unknown field,
 * a malformed or missing time, or an empty window is a 400 naming the field; the answer echoes the
 * windows it used and where the baseline came from; and a baseline holding too few calls to judge is
 * said so per service and in the verdict ("baseline too thin: N calls"), not a plain "nothing stands
 * out". Spans are ingested through the public ingest API, the answer read from the pipeline. */
#include "ts.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_NS 1000000000LL
#define MS_NS 1000000LL

static char *db_url;
static char prefix[64];
static ts_proc_t backend, pipeline;

static void setup(void)
{
    char suffix[9];
    ts_hex(suffix, 8);
    snprintf(prefix, sizeof(prefix), "t:%s:", suffix);
    db_url = ts_create_database("winanalysis");
    ck_assert_int_eq(ts_start_backend(&backend, db_url, prefix, NULL), 0);
    ck_assert_int_eq(ts_start_pipeline(&pipeline, db_url, prefix, NULL), 0);
}

static void teardown(void)
{
    ts_stop(&pipeline, SIGTERM);
    ts_stop(&backend, SIGTERM);
    free(db_url);
}

/* `n` requests gateway -> payment spread over [t0, t0 + n * 2 s), all OK, the same durations. */
static void send_calls(long long t0, int n)
{
    char body[2048], url[160];
    snprintf(url, sizeof(url), "%s/ingest/traces", backend.url);
    for (int i = 0; i < n; i++) {
        char trace[33];
        ts_hex(trace, 32);
        long long t = t0 + (long long)i * 2 * S_NS;
        snprintf(
            body, sizeof(body),
            "{\"spans\":["
            "{\"trace_id\":\"%s\",\"span_id\":\"b000000000000001\",\"service\":\"gateway\",\"name\":\"GET "
            "/pay\",\"kind\":\"SERVER\",\"start_time\":%lld,\"end_time\":%lld,\"status\":\"OK\"},"
            "{\"trace_id\":\"%s\",\"span_id\":\"b000000000000002\",\"parent_span_id\":\"b000000000000001\","
            "\"service\":\"gateway\",\"name\":\"HTTP POST\",\"kind\":\"CLIENT\",\"start_time\":%lld,"
            "\"end_time\":%lld,\"status\":\"OK\"},"
            "{\"trace_id\":\"%s\",\"span_id\":\"b000000000000003\",\"parent_span_id\":\"b000000000000002\","
            "\"service\":\"payment\",\"name\":\"POST /charge\",\"kind\":\"SERVER\",\"start_time\":%lld,"
            "\"end_time\":%lld,\"status\":\"OK\"}]}",
            trace, t, t + 20 * MS_NS, trace, t + 2 * MS_NS, t + 18 * MS_NS, trace, t + 3 * MS_NS,
            t + 17 * MS_NS);
        ts_resp_t r;
        ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
        ck_assert_msg(r.status == 200, "ingest: %ld %s", r.status, r.body);
        ts_resp_free(&r);
    }
}

static void wait_spans(long long from, long long to, long want)
{
    PGconn *c = ts_pg(db_url);
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM spans WHERE start_ns >= %lld AND start_ns < %lld", from,
             to);
    ck_assert_int_eq(ts_pg_wait_long(c, sql, want, 20), want);
    PQfinish(c);
}

/* Posts `body`; returns the answer's status and, for a 200, its JSON in *doc (else the body's). */
static long analyze(const char *body, json_t **doc)
{
    char url[160];
    snprintf(url, sizeof(url), "%s/debug/analyze-window", pipeline.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, TS_ADMIN_KEY, body, &r), 0);
    long status = r.status;
    *doc = json_loads(r.body ? r.body : "", 0, NULL);
    ck_assert_msg(*doc != NULL, "not JSON: %s", r.body ? r.body : "");
    ts_resp_free(&r);
    return status;
}

static void expect_400(const char *body, const char *path, const char *message_part)
{
    json_t *doc;
    long status = analyze(body, &doc);
    json_t *e = json_object_get(doc, "error");
    const char *p = json_string_value(json_object_get(e, "path"));
    const char *m = json_string_value(json_object_get(e, "message"));
    ck_assert_msg(status == 400, "%s: %ld", body, status);
    ck_assert_msg(p && strcmp(p, path) == 0, "%s: path %s, want %s", body, p ? p : "(none)", path);
    ck_assert_msg(m && strstr(m, message_part), "%s: message %s", body, m ? m : "(none)");
    json_decref(doc);
}

START_TEST(bad_requests_name_the_field)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"from\":%lld,\"to\":%lld,\"baseline\":\"yesterday\"}", 1800000000 * S_NS,
             1800000060 * S_NS);
    expect_400(body, "baseline", "unknown field");
    snprintf(body, sizeof(body), "{\"from\":%lld,\"to\":%lld,\"baseline_from\":\"noon\"}", 1800000000 * S_NS,
             1800000060 * S_NS);
    expect_400(body, "baseline_from", "not a time");
    expect_400("{\"from\":\"2027-01-01T00:00:00Z\",\"to\":\"2027-01-01T00:00:00.5\"}", "to", "not a time");
    expect_400("{\"to\":\"2027-01-01T00:00:00Z\"}", "from", "required");
    expect_400("{\"from\":\"2027-01-01T00:01:00Z\",\"to\":\"2027-01-01T00:00:00Z\"}", "to", "after from");
    expect_400("[1, 2]", "", "JSON object");
    expect_400("{\"from\":\"2027-01-01T00:00:00Z\",\"to\":\"2027-01-01T00:01:00Z\",\"baseline_from\":"
               "\"2027-01-01T00:00:00Z\",\"baseline_to\":\"2026-12-31T23:59:00Z\"}",
               "baseline_to", "after baseline_from");
}
END_TEST

static const char *service_note(json_t *doc, const char *service)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(doc, "services"), i, s)
    {
        if (strcmp(json_string_value(json_object_get(s, "service")), service) == 0)
            return json_string_value(json_object_get(json_object_get(s, "samples"), "note"));
    }
    ck_abort_msg("no service %s", service);
    return NULL;
}

static long long samples_field(json_t *doc, const char *field)
{
    return json_integer_value(json_object_get(json_object_get(doc, "samples"), field));
}

START_TEST(thin_baselines_are_said_so_and_the_windows_are_echoed)
{
    /* a window of one minute ten minutes ago; its default baseline is the minute before it */
    long long now = (long long)time(NULL) * S_NS, from = now - 600 * S_NS, to = from + 60 * S_NS;
    long long bfrom = from - 60 * S_NS;
    send_calls(from, 25);
    wait_spans(from, to, 75);
    char body[256];
    snprintf(body, sizeof(body), "{\"from\":%lld,\"to\":%lld}", from, to);
    json_t *doc;
    ck_assert_int_eq(analyze(body, &doc), 200);
    const char *verdict = json_string_value(json_object_get(doc, "verdict"));
    ck_assert_msg(strstr(verdict, "nothing could be judged: baseline too thin: 0 calls"), "%s", verdict);
    ck_assert_int_eq(samples_field(doc, "services_too_thin"), 2);
    ck_assert_int_eq(samples_field(doc, "services_judged"), 0);
    ck_assert_int_eq(samples_field(doc, "window_calls"), 50);
    ck_assert_str_eq(service_note(doc, "payment"), "baseline too thin: 0 calls (at least 5 needed)");
    json_t *w = json_object_get(doc, "window");
    ck_assert_int_eq(json_integer_value(json_object_get(w, "baseline_from_ns")), bfrom);
    ck_assert_int_eq(json_integer_value(json_object_get(w, "baseline_to_ns")), from);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(w, "baseline")), "default"));
    char when[40];
    snprintf(when, sizeof(when), "%s", json_string_value(json_object_get(w, "from")));
    ck_assert_msg(strlen(when) == 30 && when[29] == 'Z', "from echoed as %s", when);
    json_decref(doc);

    /* three calls in a given baseline: still too thin, and said with the number */
    send_calls(bfrom, 3);
    wait_spans(bfrom, from, 9);
    snprintf(body, sizeof(body), "{\"from\":%lld,\"to\":%lld,\"baseline_from\":%lld,\"baseline_to\":%lld}",
             from, to, bfrom, from);
    ck_assert_int_eq(analyze(body, &doc), 200);
    verdict = json_string_value(json_object_get(doc, "verdict"));
    ck_assert_msg(strstr(verdict, "baseline too thin: 6 calls (2 services)"), "%s", verdict);
    ck_assert_str_eq(service_note(doc, "gateway"), "baseline too thin: 3 calls (at least 5 needed)");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "window"), "baseline")), "given");
    json_decref(doc);

    /* enough calls on both sides: a plain verdict, every service judged */
    send_calls(bfrom + 6 * S_NS, 20);
    wait_spans(bfrom, from, 69);
    ck_assert_int_eq(analyze(body, &doc), 200);
    verdict = json_string_value(json_object_get(doc, "verdict"));
    ck_assert_msg(strncmp(verdict, "nothing stands out (top score", 29) == 0, "%s", verdict);
    ck_assert_int_eq(samples_field(doc, "services_too_thin"), 0);
    ck_assert_int_eq(samples_field(doc, "services_judged"), 2);
    ck_assert_ptr_null(service_note(doc, "payment"));
    json_decref(doc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("window_analysis");
    TCase *tc = tcase_create("api");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, bad_requests_name_the_field);
    tcase_add_test(tc, thin_baselines_are_said_so_and_the_windows_are_echoed);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
