/* Trace shapes the root-span choice reads (pipeline/rca/shapes.c, issue 17 §3), each on a synthetic
 * trace through rca_analyse(): a client that timed out while its callee kept running names the callee;
 * a slow trace with no history names its largest self time with lower confidence and says so; handled
 * client errors (4xx) under an OK entry span are "no fault"; after a fallback the earliest independent
 * failure is the cause; a failed attempt that a later retry recovered from is not the cause. */
#include "rca.h"

#include "ts.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1795357925000000000LL
#define MS 1000000LL

/* A span from start_ms to end_ms after T0; `exception` (type, may be NULL) and `message` make an
 * exception event; `http` (0: none) an http.status_code attribute. */
static rca_span_t span(const char *id, const char *parent, const char *svc, const char *name,
                       long long start_ms, long long end_ms, int status, const char *exception,
                       const char *message, int http)
{
    rca_span_t s;
    memset(&s, 0, sizeof(s));
    s.span_id = id;
    s.parent_span_id = parent;
    s.service = svc;
    s.name = name;
    s.start_ns = T0 + start_ms * MS;
    s.end_ns = T0 + end_ms * MS;
    s.status = status;
    s.events = exception ? json_pack("[{s:s,s:I,s:{s:s,s:s}}]", "name", "exception", "time_ns",
                                     (json_int_t)s.end_ns, "attributes", "exception.type", exception,
                                     "exception.message", message ? message : "boom")
                         : json_array();
    s.attributes = http ? json_pack("{s:i}", "http.status_code", http) : json_object();
    return s;
}

static void free_spans(rca_span_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(s[i].events);
        json_decref(s[i].attributes);
    }
}

static void analyse(rca_span_t *spans, size_t n, rca_log_t *logs, size_t nlogs, const rca_baseline_t *b,
                    size_t nb, rca_result_t *r)
{
    rca_trace_t t = {
        "5b8efff798038103d269b633813fc60c", spans, n, logs, nlogs, NULL, 0, NULL, 0, 0, 0, NULL, 0};
    rca_opts_t o = {b, nb, 20, NULL};
    rca_analyse(&t, &o, r);
}

static const char *report_str(const rca_result_t *r, const char *key)
{
    return json_string_value(json_object_get(r->report, key));
}

static double confidence(const rca_result_t *r)
{
    return json_real_value(json_object_get(r->report, "confidence"));
}

START_TEST(a_client_timeout_names_the_callee_that_kept_running)
{
    rca_span_t s[] = {
        span("0000000000000001", NULL, "gateway", "POST /orders", 0, 520, 2, NULL, NULL, 0),
        span("0000000000000002", "0000000000000001", "gateway", "HTTP POST /charge", 10, 510, 2,
             "java.net.SocketTimeoutException", "Read timed out", 0),
        /* the callee's server span kept running after its caller gave up, with OK status */
        span("0000000000000003", "0000000000000002", "payment", "POST /charge", 15, 900, 1, NULL, NULL, 0),
        span("0000000000000004", "0000000000000003", "payment", "SELECT card FOR UPDATE", 20, 890, 1, NULL,
             NULL, 0),
    };
    rca_result_t r;
    analyse(s, 4, NULL, 0, NULL, 0, &r);
    ck_assert(r.found_root && !r.slow);
    ck_assert_str_eq(r.service, "payment");
    ck_assert_str_eq(r.operation, "SELECT card FOR UPDATE");
    json_t *caller = json_object_get(json_object_get(r.evidence, "root_cause"), "caused_timeout_in");
    ck_assert_str_eq(json_string_value(json_object_get(caller, "service")), "gateway");
    rca_result_dispose(&r);
    free_spans(s, 4);
}
END_TEST

START_TEST(a_slow_trace_without_history_says_so_with_lower_confidence)
{
    rca_span_t s[] = {
        span("0000000000000001", NULL, "gateway", "POST /orders", 0, 1000, 1, NULL, NULL, 0),
        span("0000000000000002", "0000000000000001", "payment", "POST /charge", 10, 990, 1, NULL, NULL, 0),
        span("0000000000000003", "0000000000000002", "inventory", "POST /reserve", 20, 950, 1, NULL, NULL, 0),
    };
    rca_result_t r;
    analyse(s, 3, NULL, 0, NULL, 0, &r);
    ck_assert(r.found_root && r.slow);
    ck_assert_str_eq(r.service, "inventory");
    ck_assert_ptr_nonnull(strstr(report_str(&r, "summary"), "no history"));
    ck_assert_double_eq_tol(confidence(&r), 0.25, 1e-9);
    ck_assert_str_eq(report_str(&r, "verdict"), "inconclusive");
    rca_result_dispose(&r);
    /* with history for the operation: no such sentence, the usual confidence */
    rca_baseline_t b[] = {{"inventory", "POST /reserve", 40.0}};
    analyse(s, 3, NULL, 0, b, 1, &r);
    ck_assert_str_eq(r.service, "inventory");
    ck_assert_ptr_null(strstr(report_str(&r, "summary"), "no history"));
    ck_assert_double_gt(confidence(&r), 0.3);
    rca_result_dispose(&r);
    free_spans(s, 3);
}
END_TEST

START_TEST(a_handled_client_error_is_no_fault)
{
    rca_span_t s[] = {
        span("0000000000000001", NULL, "gateway", "GET /profile", 0, 100, 1, NULL, NULL, 200),
        span("0000000000000002", "0000000000000001", "gateway", "HTTP GET /avatar", 10, 30, 2, NULL, NULL,
             404),
        span("0000000000000003", "0000000000000002", "media", "GET /avatar", 12, 28, 2, NULL, NULL, 404),
        span("0000000000000004", "0000000000000001", "users", "GET /user", 40, 90, 1, NULL, NULL, 200),
    };
    rca_result_t r;
    analyse(s, 4, NULL, 0, NULL, 0, &r);
    ck_assert(!r.found_root);
    ck_assert_str_eq(report_str(&r, "verdict"), "conclusive");
    ck_assert_msg(strncmp(report_str(&r, "summary"), "No fault", 8) == 0, "%s", report_str(&r, "summary"));
    ck_assert_str_eq(json_string_value(json_object_get(r.evidence, "kind")), "no_fault");
    rca_result_dispose(&r);
    /* the same shape with the entry span failing is a fault */
    s[0].status = 2;
    analyse(s, 4, NULL, 0, NULL, 0, &r);
    ck_assert(r.found_root);
    ck_assert_str_eq(r.service, "media");
    rca_result_dispose(&r);
    free_spans(s, 4);
}
END_TEST

START_TEST(after_a_fallback_the_earliest_independent_failure_is_the_cause)
{
    rca_span_t s[] = {
        span("0000000000000001", NULL, "gateway", "GET /home", 0, 500, 2, NULL, NULL, 0),
        span("0000000000000002", "0000000000000001", "gateway", "HTTP GET /recommend", 10, 50, 2, NULL, NULL,
             0),
        span("0000000000000003", "0000000000000002", "recommend", "GET /recommend", 12, 48, 2,
             "java.lang.IllegalStateException", "model not loaded", 0),
        /* the fallback path fails later and deeper */
        span("0000000000000004", "0000000000000001", "gateway", "HTTP GET /cached", 60, 490, 2, NULL, NULL,
             0),
        span("0000000000000005", "0000000000000004", "cache-proxy", "GET /cached", 62, 488, 2, NULL, NULL, 0),
        span("0000000000000006", "0000000000000005", "cache-proxy", "redis GET", 70, 480, 2,
             "io.lettuce.RedisCommandTimeoutException", "Command timed out", 0),
    };
    rca_log_t logs[] = {{T0 + 55 * MS, "gateway", "WARN", 4, "recommend failed, falling back to the cache",
                         "0000000000000001", NULL}};
    rca_result_t r;
    analyse(s, 6, NULL, 0, NULL, 0, &r);
    ck_assert_str_eq(r.service, "cache-proxy"); /* without the warning: the deepest failure */
    rca_result_dispose(&r);
    analyse(s, 6, logs, 1, NULL, 0, &r);
    ck_assert_str_eq(r.service, "recommend");
    ck_assert_str_eq(r.span_id, "0000000000000003");
    rca_result_dispose(&r);
    free_spans(s, 6);
}
END_TEST

START_TEST(a_failure_a_later_retry_recovered_from_is_not_the_cause)
{
    rca_span_t s[] = {
        span("0000000000000001", NULL, "gateway", "POST /orders", 0, 900, 2, NULL, NULL, 0),
        /* first attempt fails deep down, the retry succeeds */
        span("0000000000000002", "0000000000000001", "payment", "POST /charge", 10, 100, 2, "Timeout", NULL,
             0),
        span("0000000000000003", "0000000000000002", "payment", "db.query charge", 12, 98, 2, "DbTimeout",
             NULL, 0),
        span("0000000000000004", "0000000000000001", "payment", "POST /charge", 110, 200, 1, NULL, NULL, 0),
        /* what really failed the request */
        span("0000000000000005", "0000000000000001", "inventory", "POST /reserve", 210, 880, 2, "OutOfStock",
             NULL, 0),
    };
    rca_result_t r;
    analyse(s, 5, NULL, 0, NULL, 0, &r);
    ck_assert_str_eq(r.service, "inventory");
    ck_assert_ptr_nonnull(strstr(report_str(&r, "summary"), "recovered by a later retry"));
    rca_result_dispose(&r);
    free_spans(s, 5);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rca_shapes");
    TCase *tc = tcase_create("shapes");
    tcase_add_test(tc, a_client_timeout_names_the_callee_that_kept_running);
    tcase_add_test(tc, a_slow_trace_without_history_says_so_with_lower_confidence);
    tcase_add_test(tc, a_handled_client_error_is_no_fault);
    tcase_add_test(tc, after_a_fallback_the_earliest_independent_failure_is_the_cause);
    tcase_add_test(tc, a_failure_a_later_retry_recovered_from_is_not_the_cause);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
