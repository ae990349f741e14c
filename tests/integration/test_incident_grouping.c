/* One fault, one incident (issue 15), on the simulated services: a payment fault injected with POST
 * /control/fault (errors and latency) fails the orders at the gateway and degrades both the gateway's and
 * payment's endpoints. The error-trace incident and the degradations share the root service payment, so
 * they are grouped under one parent, each child saying why, and exactly one page reaches the receiver. */
#include "ts_stack.h"
#include "ts_sink.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ts_stack_t stack;
static ts_sink_t *sink;

static void setup(void)
{
    sink = ts_sink_create();
    ts_sink_up(sink, 200);
    const char *benv[] = {"DEBOUNCE_QUIET_MS=1500", "DEBOUNCE_MAX_MS=10000", NULL};
    char hook[128];
    snprintf(hook, sizeof(hook), "ALERT_WEBHOOKS=json:http://127.0.0.1:%d/json", ts_sink_port(sink));
    /* the degradation watcher judges a 10 s window against the 20 s before, every second */
    const char *penv[] = {hook, "DEGRADE_PERIOD_S=1", "DEGRADE_WINDOW_S=10", "DEGRADE_BASELINE_S=20", NULL};
    const char *senv[] = {"TELEMETRY_FLUSH_MS=200", NULL};
    ts_stack_start(
        &stack, &(ts_stack_opts_t){
                    .db_name = "grouping", .backend_env = benv, .pipeline_env = penv, .service_env = senv});
}

static void teardown(void)
{
    ts_stack_stop(&stack);
    ts_sink_free(sink);
}

/* `n` orders at the gateway, `gap_ms` apart; returns how many failed. */
static int orders(const char *tag, int n, int gap_ms)
{
    int failed = 0;
    for (int i = 0; i < n; i++) {
        char url[128], body[128];
        snprintf(url, sizeof(url), "%s/orders", stack.gateway.url);
        snprintf(body, sizeof(body), "{\"order_id\":\"ord-%s-%d\",\"amount\":12}", tag, i);
        ts_resp_t r;
        ck_assert_int_eq(ts_post_json(url, NULL, body, &r), 0);
        failed += r.status != 200;
        ts_resp_free(&r);
        usleep((useconds_t)gap_ms * 1000);
    }
    return failed;
}

START_TEST(one_payment_fault_is_one_paged_incident)
{
    PGconn *c = ts_pg(stack.db_url);
    ck_assert_int_eq(orders("base", 30, 300), 0);
    ts_stack_control(&stack.payment, "/control/fault",
                     "{\"error_rate\":1,\"latency_ms\":200,\"duration_s\":60}");
    ck_assert_int_eq(orders("fault", 30, 100), 30);
    /* the error traces' incident and at least one degradation, settled (reported, grouped or paged) */
    ck_assert_int_ge(ts_pg_wait_long(c,
                                     "SELECT count(*) FROM incidents WHERE kind = 'degradation' AND "
                                     "report_state = 'ready'",
                                     1, 60),
                     1);
    ck_assert_int_ge(ts_pg_wait_long(c, "SELECT count(*) FROM incidents WHERE kind <> 'degradation'", 1, 30),
                     1);
    ck_assert_int_ge(ts_pg_wait_long(c, "SELECT count(*) FROM incidents WHERE parent_id IS NOT NULL", 1, 30),
                     1);
    sleep(3);
    PGresult *r =
        PQexec(c, "SELECT id, kind, root_service, parent_id, group_reason, paged_at IS NOT NULL FROM "
                  "incidents ORDER BY id");
    for (int i = 0; i < PQntuples(r); i++)
        fprintf(stderr, "incident %s %s root %s parent %s paged %s: %s\n", PQgetvalue(r, i, 0),
                PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 5),
                PQgetvalue(r, i, 4));
    PQclear(r);
    /* every incident of the fault is the parent or one of its children, and only the parent paged */
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM incidents WHERE parent_id IS NULL"), 1);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM incidents WHERE paged_at IS NOT NULL"), 1);
    ck_assert_int_eq(
        ts_pg_long(c, "SELECT count(*) FROM incidents p WHERE p.parent_id IS NULL AND p.root_service "
                      "= 'payment'"),
        1);
    ck_assert_int_eq(
        ts_pg_long(c, "SELECT count(*) FROM incidents WHERE parent_id IS NOT NULL AND (group_reason "
                      "NOT LIKE 'root service payment matches incident #%' OR NOT EXISTS (SELECT 1 "
                      "FROM incident_events e WHERE e.incident_id = incidents.id AND e.kind = "
                      "'grouped' AND e.detail LIKE 'grouped because root service payment%'))"),
        0);
    ck_assert_int_eq(
        ts_pg_long(c, "SELECT count(*) FROM alert_deliveries WHERE kind IN ('incident', 'degradation')"), 1);
    for (int i = 0; i < 30 && ts_sink_accepted(sink) == 0; i++)
        usleep(100 * 1000);
    size_t pages = 0;
    for (size_t i = 0; i < ts_sink_count(sink); i++) {
        char *b = ts_sink_body(sink, i);
        json_t *j = json_loads(b, 0, NULL);
        const char *k = json_string_value(json_object_get(j, "kind"));
        pages += k && (strcmp(k, "incident") == 0 || strcmp(k, "degradation") == 0);
        json_decref(j);
        free(b);
    }
    ck_assert_uint_eq(pages, 1);
    PQfinish(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("incident_grouping");
    TCase *tc = tcase_create("fake_services");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 150);
    tcase_add_test(tc, one_payment_fault_is_one_paged_incident);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
