/* End to end through the simulated services: each scenario is triggered at the gateway and the report
 * the pipeline stores names the expected root-cause service, span and exception (docs/scenarios.md).
 * Also: a deploy recorded before a failure shows up as a suspect, and a down backend costs the
 * services telemetry, never requests. */
#include "ts_stack.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ts_stack_t stack;

static void setup(void)
{
    /* the quiet period must cover the slow scenario: its downstream spans arrive seconds later */
    const char *benv[] = {"DEBOUNCE_QUIET_MS=4500", "DEBOUNCE_MAX_MS=20000", NULL};
    const char *senv[] = {"METRICS_INTERVAL_MS=2000", NULL};
    ts_stack_start(&stack, &(ts_stack_opts_t){.db_name = "e2e", .backend_env = benv, .service_env = senv});
}

static void teardown(void)
{
    ts_stack_stop(&stack);
}

/* The report and evidence of the newest analysis of `trace` ({"report":…, "evidence":…}), or NULL. */
static json_t *wait_report(PGconn *c, const char *trace, int seconds)
{
    return ts_stack_wait_analysis(c, "json_build_object('report', a.report, 'evidence', a.evidence)", trace,
                                  NULL, seconds);
}

static void expect(const char *scenario, long want_status, const char *svc, const char *span, const char *exc)
{
    char trace[33], id[64];
    snprintf(id, sizeof(id), "ord-e2e-%s", scenario);
    ck_assert_int_eq(ts_stack_order(&stack, id, trace), want_status);
    ck_assert_int_eq(strlen(trace), 32);
    PGconn *c = ts_pg(stack.db_url);
    json_t *a = wait_report(c, trace, 30);
    ck_assert_msg(a != NULL, "%s: no report for trace %s", scenario, trace);
    json_t *rc = json_object_get(json_object_get(a, "report"), "root_cause");
    ck_assert_msg(!strcmp(json_string_value(json_object_get(rc, "service")) ?: "", svc) &&
                      !strcmp(json_string_value(json_object_get(rc, "operation")) ?: "", span),
                  "%s: root cause %s", scenario, json_dumps(rc, 0));
    const char *got_exc = json_string_value(json_object_get(rc, "exception"));
    if (exc)
        ck_assert_msg(got_exc && strstr(got_exc, exc), "%s: exception %s", scenario,
                      got_exc ? got_exc : "null");
    json_decref(a);
    PQfinish(c);
}

START_TEST(fail_pay_names_payment_db_timeout)
{
    expect("fail-pay", 502, "payment", "db.query charge", "DbTimeoutException");
}
END_TEST

START_TEST(fail_inv_names_inventory_out_of_stock)
{
    expect("fail-inv", 502, "inventory", "SELECT stock", "OutOfStock");
}
END_TEST

START_TEST(slow_inv_names_the_slow_inventory_span)
{
    expect("slow-inv", 504, "inventory", "SELECT stock", NULL);
}
END_TEST

START_TEST(deploy_before_failure_is_a_suspect)
{
    ts_stack_control(&stack.payment, "/control/change", "{\"type\":\"deploy\",\"version\":\"v2.3.1\"}");
    char trace[33];
    ck_assert_int_eq(ts_stack_order(&stack, "ord-e2e-suspect-fail-pay", trace), 502);
    PGconn *c = ts_pg(stack.db_url);
    json_t *a = wait_report(c, trace, 30);
    ck_assert_ptr_nonnull(a);
    json_t *sus = json_object_get(json_object_get(a, "evidence"), "suspects");
    ck_assert_int_ge(json_array_size(sus), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(sus, 0), "type")), "deploy");
    json_decref(a);
    PQfinish(c);
}
END_TEST

START_TEST(down_backend_costs_telemetry_not_requests)
{
    ts_stop(&stack.backend, SIGKILL);
    char trace[33];
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(ts_stack_order(&stack, "ord-e2e-nobackend", trace), 200);
    sleep(2);
    char url[128];
    snprintf(url, sizeof(url), "%s/stats", stack.gateway.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_http("GET", url, NULL, NULL, 0, &r), 0);
    json_t *o = json_loads(r.body, 0, NULL);
    ck_assert_int_gt(json_integer_value(json_object_get(json_object_get(o, "telemetry_dropped"), "spans")),
                     0);
    json_decref(o);
    ts_resp_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("e2e");
    TCase *tc = tcase_create("scenarios");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, fail_pay_names_payment_db_timeout);
    tcase_add_test(tc, fail_inv_names_inventory_out_of_stock);
    tcase_add_test(tc, slow_inv_names_the_slow_inventory_span);
    tcase_add_test(tc, deploy_before_failure_is_a_suspect);
    tcase_add_test(tc, down_backend_costs_telemetry_not_requests);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
