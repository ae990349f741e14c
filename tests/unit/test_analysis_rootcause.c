/* Correlation (pipeline/analysis/rootcause.h through analysis_run): a deep error chain, an error
 * swallowed upstream, retries, a slow span without errors (with and without baselines), a timeout
 * caused by a slow callee, network delay, orphans, duplicates, clock skew, and logs tied to spans. */
#include "analysis/analysis.h"

#include "ts.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000LL
#define T0 1768212000000000000LL
#define SPANX(id, parent, svc, name, kind, s, e, status, msg, attrs, events)                                 \
    {                                                                                                        \
        id, parent, svc, name, kind, T0 + (int64_t)((s)*MS), T0 + (int64_t)((e)*MS), status, msg, attrs,     \
            events                                                                                           \
    }
#define SPAN(id, parent, svc, name, kind, s, e, status, msg)                                                 \
    SPANX(id, parent, svc, name, kind, s, e, status, msg, NULL, NULL)
#define LOG(ms, svc, sev, msg, span, stack)                                                                  \
    {                                                                                                        \
        T0 + (int64_t)((ms)*MS), svc, (sev) >= 5 ? "ERROR" : "INFO", sev, msg, span, stack, NULL             \
    }

static const char inv_events[] =
    "[{\"name\":\"exception\",\"time\":1768212000030000000,\"attributes\":{\"exception.type\":"
    "\"inventory.errors.OutOfStock\",\"exception.message\":\"sku-042 has 0 left\",\"exception.stacktrace\":"
    "\"Traceback (most recent call last):\\n  File \\\"/app/inventory/stock.py\\\", line 42, in reserve\\n"
    "    raise OutOfStock(sku)\\ninventory.errors.OutOfStock: sku-042 has 0 left\\n\"}}]";
static const char pay_events[] =
    "[{\"name\":\"exception\",\"time\":1768212000080000000,\"attributes\":{\"exception.type\":"
    "\"com.acme.payment.PaymentException\",\"exception.message\":\"could not reserve stock\","
    "\"exception.stacktrace\":\"com.acme.payment.PaymentException: could not reserve stock\\n\\tat "
    "com.acme.payment.ChargeService.charge(ChargeService.java:41)\\nCaused by: "
    "com.acme.inventory.OutOfStockException: 409 from inventory\\n\\tat "
    "com.acme.payment.InventoryClient.reserve(InventoryClient.java:77)\\n\"}}]";
static const char db_events[] =
    "[{\"name\":\"exception\",\"time\":1768212000040000000,\"attributes\":{\"exception.type\":"
    "\"com.acme.payment.DbTimeoutException\",\"exception.message\":\"query timed out after 250 ms\"}}]";
static const char timeout_events[] =
    "[{\"name\":\"exception\",\"attributes\":{\"exception.type\":\"java.net.SocketTimeoutException\","
    "\"exception.message\":\"Read timed out\"}}]";

static analysis_result_t run(const analysis_span_t *spans, size_t ns, const analysis_log_t *logs, size_t nl,
                             const analysis_opts_t *o)
{
    trace_ctx_t c = {"4bf92f3577b34da6a3ce929d0e0e4736", spans, ns, logs, nl, NULL, 0, NULL, 0};
    analysis_result_t r;
    ck_assert_int_eq(analysis_run(&c, o, &r), 0);
    return r;
}

static const json_t *ev(const analysis_result_t *r, const char *key)
{
    return json_object_get(r->evidence, key);
}

static const char *evs(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* the propagation path's span ids, "a,b,c" */
static void path_ids(const analysis_result_t *r, char *out, size_t n)
{
    out[0] = '\0';
    size_t i;
    json_t *p;
    json_array_foreach(ev(r, "propagation_path"), i, p)
    {
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s%s", i ? "," : "", evs(p, "span_id"));
    }
}

START_TEST(deep_chain)
{
    analysis_span_t s[] = {
        SPAN("g1", NULL, "gateway", "POST /orders", "SERVER", 0, 100, 2, "502"),
        SPAN("g2", "g1", "gateway", "POST payment /charge", "CLIENT", 1, 95, 2, "payment answered 500"),
        SPANX("p1", "g2", "payment", "POST /charge", "SERVER", 2, 90, 2, NULL, NULL, pay_events),
        SPAN("p2", "p1", "payment", "validate card", "INTERNAL", 3, 4, 1, NULL),
        SPAN("p3", "p1", "payment", "POST inventory /reserve", "CLIENT", 5, 50, 0, NULL),
        SPAN("i1", "p3", "inventory", "POST /reserve", "SERVER", 6, 45, 0, NULL),
        SPANX("i2", "i1", "inventory", "SELECT stock", "INTERNAL", 10, 30, 2, "out of stock", NULL,
              inv_events),
    };
    analysis_log_t l[] = {
        LOG(31, "inventory", 5, "reserve failed: sku-042 out of stock", "i2", NULL),
        LOG(81, "payment", 5, "charge failed", "p1", NULL),
        LOG(96, "gateway", 5, "order failed", NULL, NULL),
        LOG(2, "gateway", 3, "order received", "g1", NULL),
    };
    analysis_result_t r = run(s, 7, l, 4, NULL);
    ck_assert_int_eq(r.kind, ANALYSIS_RC_ERROR);
    ck_assert(r.conclusive);
    ck_assert_str_eq(r.service, "inventory");
    ck_assert_str_eq(r.span_id, "i2");
    ck_assert_str_eq(r.operation, "SELECT stock");
    ck_assert_str_eq(r.exception_type, "inventory.errors.OutOfStock");
    char path[256];
    path_ids(&r, path, sizeof(path));
    ck_assert_str_eq(path, "i2,i1,p3,p1,g2,g1");
    const json_t *rc = ev(&r, "root_cause"), *exc = json_object_get(rc, "exception");
    ck_assert_str_eq(evs(exc, "root_cause_type"), "inventory.errors.OutOfStock");
    ck_assert_str_eq(evs(json_object_get(exc, "frame"), "function"), "reserve");
    ck_assert_str_eq(evs(exc, "format"), "python");
    /* cited: the root cause's error log, then the path's, then the rest; not the info line */
    const json_t *logs = ev(&r, "logs");
    ck_assert_uint_eq(json_array_size(logs), 3);
    ck_assert_str_eq(evs(json_array_get(logs, 0), "id"), "log:1");
    ck_assert_str_eq(evs(json_array_get(logs, 1), "id"), "log:2");
    ck_assert_str_eq(evs(json_array_get(logs, 2), "id"), "log:3");
    /* the gateway's log without a span id is tied by time to the innermost gateway span running then */
    ck_assert_str_eq(evs(json_array_get(logs, 2), "span_id"), "g1");
    ck_assert_str_eq(evs(json_array_get(logs, 2), "linked"), "time");
    const char *summary = evs(r.report, "summary");
    ck_assert_msg(strstr(summary,
                         "inventory failed in span i2 (SELECT stock) with inventory.errors.OutOfStock: "
                         "sku-042 has 0 left") != NULL,
                  "%s", summary);
    ck_assert_msg(strstr(summary, "inventory \u2192 payment \u2192 gateway") != NULL, "%s", summary);
    ck_assert_str_eq(evs(r.report, "verdict"), "conclusive");
    ck_assert_uint_eq(r.nservices, 3);
    ck_assert_str_eq(r.services[0], "gateway");
    ck_assert_uint_eq(r.nendpoints, 3);
    ck_assert_str_eq(r.endpoints[0].service, "gateway");
    ck_assert_str_eq(r.endpoints[0].operation, "POST /orders");
    analysis_result_dispose(&r);
}
END_TEST

START_TEST(swallowed_upstream)
{
    /* payment's database failed but payment answered OK (fallback); then inventory failed the order */
    analysis_span_t s[] = {
        SPAN("g1", NULL, "gateway", "POST /orders", "SERVER", 0, 200, 2, NULL),
        SPAN("g2", "g1", "gateway", "POST payment /charge", "CLIENT", 1, 80, 1, NULL),
        SPAN("p1", "g2", "payment", "POST /charge", "SERVER", 2, 78, 1, NULL),
        SPANX("p2", "p1", "payment", "db.query charge", "CLIENT", 3, 40, 2, "timeout", NULL, db_events),
        SPAN("g3", "g1", "gateway", "POST inventory /reserve", "CLIENT", 90, 190, 2, "409"),
        SPAN("i1", "g3", "inventory", "POST /reserve", "SERVER", 91, 185, 2, "out of stock"),
    };
    analysis_result_t r = run(s, 6, NULL, 0, NULL);
    ck_assert_str_eq(r.span_id, "i1");
    ck_assert_ptr_null(r.exception_type);
    const json_t *others = ev(&r, "other_failures");
    ck_assert_uint_eq(json_array_size(others), 1);
    ck_assert_str_eq(evs(json_array_get(others, 0), "span_id"), "p2");
    ck_assert_str_eq(evs(json_array_get(others, 0), "swallowed_by"), "span:p1");
    ck_assert(json_is_true(json_object_get(ev(&r, "verdict_inputs"), "surfaced")));
    analysis_result_dispose(&r);

    /* everything swallowed: the trace still names the failure, as not surfaced */
    s[0].status = 1;
    s[4].status = 1;
    s[5].status = 1;
    r = run(s, 6, NULL, 0, NULL);
    ck_assert_str_eq(r.span_id, "p2");
    ck_assert_str_eq(r.exception_type, "com.acme.payment.DbTimeoutException");
    ck_assert(json_is_false(json_object_get(ev(&r, "verdict_inputs"), "surfaced")));
    ck_assert(strstr(evs(r.report, "summary"), "where a caller returned OK") != NULL);
    analysis_result_dispose(&r);
}
END_TEST

START_TEST(retries)
{
    analysis_span_t s[] = {
        SPAN("g1", NULL, "gateway", "POST /orders", "SERVER", 0, 400, 2, NULL),
        SPAN("c3", "g1", "gateway", "POST payment /charge", "CLIENT", 250, 380, 2, "500"),
        SPAN("c1", "g1", "gateway", "POST payment /charge", "CLIENT", 10, 120, 2, "500"),
        SPAN("c2", "g1", "gateway", "POST payment /charge", "CLIENT", 130, 240, 2, "500"),
        SPANX("p3", "c3", "payment", "POST /charge", "SERVER", 251, 379, 2, NULL, NULL, timeout_events),
        SPANX("p1", "c1", "payment", "POST /charge", "SERVER", 11, 119, 2, NULL, NULL, timeout_events),
        SPANX("p2", "c2", "payment", "POST /charge", "SERVER", 131, 239, 2, NULL, NULL, timeout_events),
    };
    analysis_result_t r = run(s, 7, NULL, 0, NULL);
    ck_assert_str_eq(r.service, "payment");
    ck_assert_str_eq(r.span_id, "p1"); /* the first attempt's cause */
    const json_t *rt = ev(&r, "retries");
    ck_assert_str_eq(evs(rt, "span_id"), "c1");
    ck_assert_int_eq(json_integer_value(json_object_get(rt, "attempts")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(rt, "failed_attempts")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(ev(&r, "verdict_inputs"), "retries")), 2);
    ck_assert(strstr(evs(r.report, "impact"), "was called 3 times") != NULL);
    analysis_result_dispose(&r);
}
END_TEST

START_TEST(slow_without_errors)
{
    analysis_span_t s[] = {
        SPAN("g1", NULL, "gateway", "POST /orders", "SERVER", 0, 1000, 1, NULL),
        SPAN("g2", "g1", "gateway", "POST payment /charge", "CLIENT", 5, 995, 1, NULL),
        SPAN("p1", "g2", "payment", "POST /charge", "SERVER", 10, 990, 1, NULL),
        SPAN("p2", "p1", "payment", "db.query charge", "CLIENT", 20, 60, 1, NULL),
        SPAN("i1", "p1", "payment", "POST inventory /reserve", "CLIENT", 60, 90, 1, NULL),
    };
    analysis_result_t r = run(s, 5, NULL, 0, NULL);
    ck_assert_int_eq(r.kind, ANALYSIS_RC_SLOW);
    ck_assert_str_eq(r.span_id, "p1"); /* 910 ms of its own time */
    ck_assert_str_eq(evs(ev(&r, "root_cause"), "reason"), "slow");
    ck_assert(strstr(evs(r.report, "summary"), "payment was slow in span p1 (POST /charge)") != NULL);
    analysis_result_dispose(&r);

    /* the baseline says POST /charge usually takes 950 ms; the database call usually takes 2 ms */
    analysis_baseline_t b[] = {{"payment", "POST /charge", 950}, {"payment", "db.query charge", 2}};
    analysis_opts_t o = {.baselines = b, .nbaselines = 2};
    r = run(s, 5, NULL, 0, &o);
    ck_assert_int_eq(r.kind, ANALYSIS_RC_NONE);
    ck_assert(!r.conclusive);
    ck_assert_ptr_null(r.service);
    ck_assert_str_eq(evs(r.report, "verdict"), "inconclusive");
    ck_assert(json_is_null(ev(&r, "root_cause")));
    analysis_result_dispose(&r);

    /* now the database call is the slow one */
    s[3].end_ns = T0 + 900 * MS;
    s[4].start_ns = T0 + 900 * MS;
    s[4].end_ns = T0 + 920 * MS;
    r = run(s, 5, NULL, 0, &o);
    ck_assert_int_eq(r.kind, ANALYSIS_RC_SLOW);
    ck_assert_str_eq(r.span_id, "p2");
    ck_assert_double_eq_tol(json_number_value(json_object_get(ev(&r, "root_cause"), "baseline_p50_ms")), 2,
                            1e-9);
    analysis_result_dispose(&r);
}
END_TEST

START_TEST(network_delay_is_the_callers_self_time)
{
    analysis_span_t s[] = {
        SPAN("g1", NULL, "gateway", "POST /orders", "SERVER", 0, 1000, 1, NULL),
        SPAN("g2", "g1", "gateway", "POST payment /charge", "CLIENT", 5, 995, 1, NULL),
        SPAN("p1", "g2", "payment", "POST /charge", "SERVER", 805, 990, 1, NULL),
    };
    analysis_result_t r = run(s, 3, NULL, 0, NULL);
    ck_assert_str_eq(r.span_id, "g2");
    analysis_result_dispose(&r);
}
END_TEST

START_TEST(timeout_names_the_slow_callee)
{
    analysis_span_t s[] = {
        SPAN("g1", NULL, "gateway", "POST /orders", "SERVER", 0, 1002, 2, "504"),
        SPAN("g2", "g1", "gateway", "POST payment /charge", "CLIENT", 1, 1001, 2,
             "payment timed out after 1000 ms"),
        SPAN("p1", "g2", "payment", "POST /charge", "SERVER", 2, 2600, 1, NULL),
        SPAN("p2", "p1", "payment", "validate card", "INTERNAL", 3, 5, 1, NULL),
        SPAN("p3", "p1", "payment", "POST inventory /reserve", "CLIENT", 6, 2590, 1, NULL),
        SPAN("i1", "p3", "inventory", "POST /reserve", "SERVER", 7, 2585, 1, NULL),
        SPAN("i2", "i1", "inventory", "SELECT stock", "INTERNAL", 8, 2508, 1, NULL),
        SPAN("i3", "i1", "inventory", "UPDATE stock", "INTERNAL", 2509, 2580, 1, NULL),
    };
    analysis_result_t r = run(s, 8, NULL, 0, NULL);
    ck_assert_int_eq(r.kind, ANALYSIS_RC_ERROR);
    ck_assert_str_eq(r.service, "inventory");
    ck_assert_str_eq(r.span_id, "i2");
    const json_t *rc = ev(&r, "root_cause");
    ck_assert_str_eq(evs(rc, "reason"), "slow_callee_of_timeout");
    ck_assert_str_eq(evs(json_object_get(rc, "caused_timeout_in"), "span_id"), "g2");
    ck_assert(strstr(evs(r.report, "summary"), "inventory was slow in span i2 (SELECT stock)") != NULL);
    analysis_result_dispose(&r);

    /* network delay past the timeout: payment started after the gateway gave up; the call is the cause */
    s[2].start_ns = T0 + 1500 * MS;
    for (int i = 3; i < 8; i++)
        s[i].start_ns += 1500 * MS;
    r = run(s, 8, NULL, 0, NULL);
    ck_assert_str_eq(r.span_id, "g2");
    ck_assert_str_eq(evs(ev(&r, "root_cause"), "reason"), "error");
    analysis_result_dispose(&r);
}
END_TEST

START_TEST(orphan_failure_and_duplicates)
{
    analysis_span_t s[] = {
        SPAN("g1", NULL, "gateway", "GET /health", "SERVER", 0, 10, 1, NULL),
        SPAN("p1", "lost-parent", "payment", "POST /charge", "SERVER", 20, 60, 0, NULL),
        SPAN("p2", "p1", "payment", "insert", "CLIENT", 25, 50, 1, NULL),
        SPANX("p2", "p1", "payment", "insert", "CLIENT", 25, 55, 2, "deadlock", NULL, NULL),
    };
    analysis_log_t l[] = {LOG(40, "payment", 5, "deadlock detected", "p2", NULL)};
    analysis_result_t r = run(s, 4, l, 1, NULL);
    ck_assert_str_eq(r.span_id, "p2");
    const json_t *tree = ev(&r, "span_tree");
    ck_assert_int_eq(json_integer_value(json_object_get(tree, "norphans")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(tree, "nduplicates")), 1);
    ck_assert_str_eq(evs(json_array_get(json_object_get(tree, "orphans"), 0), "missing_parent"),
                     "lost-parent");
    /* a failure under a missing parent: confidence goes down */
    ck_assert_double_lt(json_number_value(json_object_get(r.report, "confidence")), 0.7);
    analysis_result_dispose(&r);
}
END_TEST

START_TEST(errors_from_logs_and_log_stack_traces)
{
    /* no status, no events: an error log with a Java stack trace marks the span and gives the exception */
    static const char stack[] = "com.acme.payment.DbTimeoutException: query timed out after 250 ms\n"
                                "\tat com.acme.payment.ChargeRepository.insert(ChargeRepository.java:88)\n";
    analysis_span_t s[] = {
        SPAN("g1", NULL, "gateway", "POST /orders", "SERVER", 0, 100, 2, NULL),
        SPAN("p1", "g1", "payment", "POST /charge", "SERVER", 5, 90, 0, NULL),
        SPAN("p2", "p1", "payment", "db.query charge", "CLIENT", 10, 80, 0, NULL),
    };
    analysis_log_t l[] = {LOG(85, "payment", 5, "charge failed", NULL, stack)}; /* tied by time: p1 */
    analysis_result_t r = run(s, 3, l, 1, NULL);
    ck_assert_str_eq(r.span_id, "p1");
    ck_assert_str_eq(r.exception_type, "com.acme.payment.DbTimeoutException");
    const json_t *exc = json_object_get(ev(&r, "root_cause"), "exception");
    ck_assert_str_eq(evs(exc, "source"), "log:0");
    ck_assert_str_eq(evs(json_object_get(exc, "frame"), "function"),
                     "com.acme.payment.ChargeRepository.insert");
    analysis_result_dispose(&r);
}
END_TEST

START_TEST(cited_logs_are_bounded)
{
    analysis_span_t s[] = {SPAN("a", NULL, "svc", "op", "SERVER", 0, 100, 2, "boom")};
    analysis_log_t l[30];
    for (int i = 0; i < 30; i++) {
        analysis_log_t x = LOG(i, "svc", i % 2 ? 5 : 3, "line", "a", NULL);
        l[i] = x;
    }
    analysis_opts_t o = {.max_cited_logs = 5};
    analysis_result_t r = run(s, 1, l, 30, &o);
    const json_t *logs = ev(&r, "logs");
    ck_assert_uint_eq(json_array_size(logs), 5);
    ck_assert_str_eq(evs(json_array_get(logs, 0), "id"), "log:1"); /* the errors first */
    ck_assert_str_eq(evs(json_array_get(logs, 4), "id"), "log:9");
    analysis_result_dispose(&r);
    r = run(s, 1, l, 30, NULL);
    ck_assert_uint_eq(json_array_size(ev(&r, "logs")), 20);
    analysis_result_dispose(&r);
}
END_TEST

START_TEST(skew_changes_which_failure_came_first)
{
    /* two failing calls at the same depth: raw times say inventory failed first, but inventory's clock
     * is 300 ms behind; corrected, payment's failure is the earlier one */
    analysis_span_t s[] = {
        SPAN("g1", NULL, "gateway", "POST /orders", "SERVER", 0, 500, 2, NULL),
        SPAN("g2", "g1", "gateway", "POST payment /charge", "CLIENT", 10, 100, 2, NULL),
        SPAN("p1", "g2", "payment", "POST /charge", "SERVER", 20, 90, 2, "payment down"),
        SPAN("g3", "g1", "gateway", "POST inventory /reserve", "CLIENT", 110, 200, 2, NULL),
        SPAN("i1", "g3", "inventory", "POST /reserve", "SERVER", -180, -110, 2, "inventory down"),
    };
    analysis_result_t r = run(s, 5, NULL, 0, NULL);
    ck_assert_str_eq(r.span_id, "p1");
    const json_t *skew = json_object_get(ev(&r, "span_tree"), "clock_skew");
    ck_assert_uint_eq(json_array_size(skew), 1);
    ck_assert_str_eq(evs(json_array_get(skew, 0), "child_service"), "inventory");
    ck_assert(json_is_true(json_object_get(json_array_get(skew, 0), "corrected")));
    ck_assert(json_is_true(json_object_get(ev(&r, "verdict_inputs"), "clock_skew_corrected")));
    analysis_result_dispose(&r);
}
END_TEST

START_TEST(empty_trace)
{
    analysis_result_t r = run(NULL, 0, NULL, 0, NULL);
    ck_assert_int_eq(r.kind, ANALYSIS_RC_NONE);
    ck_assert_str_eq(evs(r.report, "verdict"), "inconclusive");
    ck_assert_int_eq(strlen(r.fingerprint), 32);
    analysis_result_dispose(&r);
    analysis_result_dispose(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("analysis_rootcause");
    TCase *tc = tcase_create("correlation");
    tcase_add_test(tc, deep_chain);
    tcase_add_test(tc, swallowed_upstream);
    tcase_add_test(tc, retries);
    tcase_add_test(tc, slow_without_errors);
    tcase_add_test(tc, network_delay_is_the_callers_self_time);
    tcase_add_test(tc, timeout_names_the_slow_callee);
    tcase_add_test(tc, orphan_failure_and_duplicates);
    tcase_add_test(tc, errors_from_logs_and_log_stack_traces);
    tcase_add_test(tc, cited_logs_are_bounded);
    tcase_add_test(tc, skew_changes_which_failure_came_first);
    tcase_add_test(tc, empty_trace);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
