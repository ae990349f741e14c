/* Deploy, then latency: the simulated payment service runs under steady traffic, a deploy is recorded
 * at the backend, then payment gets 400 ms of extra latency. The pipeline's anomaly detector must find
 * the p95 latency episode of payment and rank the deploy first among its suspects; the degradation
 * watcher must open a degradation incident (latency and the metric episode agree) whose report, a
 * ranking of the services over the incident's window, names payment; a re-run adds a report version. */
#include "ts_stack.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static ts_stack_t stack;
static pid_t traffic;

START_TEST(deploy_then_latency_ranks_the_deploy_first)
{
    const char *penv[] = {"ANOMALY_PERIOD_S=3",  "ANOMALY_LAG_S=6",       "DEGRADE_PERIOD_S=3",
                          "DEGRADE_WINDOW_S=20", "DEGRADE_BASELINE_S=30", NULL};
    const char *senv[] = {"METRICS_INTERVAL_MS=2000", NULL};
    ts_stack_start(
        &stack,
        &(ts_stack_opts_t){
            .db_name = "anomaly", .redis_prefix = "t:anom:", .pipeline_env = penv, .service_env = senv});
    char *prog = ts_program("fake-services/traffic-gen");
    traffic = fork();
    if (traffic == 0) {
        execl(prog, prog, "--target", stack.gateway.url, "--rate", "10", "--duration", "0", "--fail-share",
              "0", NULL);
        _exit(127);
    }
    free(prog);
    sleep(35); /* a baseline: more than ten 2-second metric points per series */
    char url[128];
    ts_resp_t r;
    long long deploy_ns = (long long)time(NULL) * 1000000000LL;
    snprintf(url, sizeof(url), "%s/control/change", stack.payment.url);
    ck_assert_int_eq(ts_post_json(url, NULL, "{\"type\":\"deploy\",\"description\":\"v2.3.1\"}", &r), 0);
    ck_assert_int_eq(r.status, 200);
    ts_resp_free(&r);
    sleep(2);
    snprintf(url, sizeof(url), "%s/control/fault", stack.payment.url);
    ck_assert_int_eq(ts_post_json(url, NULL, "{\"latency_ms\":400,\"duration_s\":150}", &r), 0);
    ts_resp_free(&r);
    PGconn *c = ts_pg(stack.db_url);
    json_t *sus = NULL;
    for (int i = 0; i < 120 && !sus; i++) { /* slower under the sanitizers */
        sleep(1);
        /* an episode still going on after the deploy (noise at start-up may have opened one before) */
        char sql[320];
        snprintf(sql, sizeof(sql),
                 "SELECT suspects::text FROM anomaly_episodes WHERE service = 'payment' AND metric = "
                 "'p95_latency_ms' AND direction = 1 AND end_ns > %lld AND peak > 300 ORDER BY start_ns DESC "
                 "LIMIT 1",
                 deploy_ns);
        PGresult *q = PQexec(c, sql);
        if (PQntuples(q) == 1) sus = json_loads(PQgetvalue(q, 0, 0), 0, NULL);
        PQclear(q);
    }
    ck_assert_msg(sus != NULL, "no p95 latency episode for payment");
    ck_assert_int_ge(json_array_size(sus), 1);
    json_t *first = json_array_get(sus, 0);
    ck_assert_str_eq(json_string_value(json_object_get(first, "type")), "deploy");
    ck_assert_str_eq(json_string_value(json_object_get(first, "service")), "payment");
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_object_get(first, "evidence")), "p95_latency_ms on payment"));
    json_decref(sus);

    /* the degradation incident and its window-ranking report */
    char id[24] = "";
    json_t *report = NULL;
    for (int i = 0; i < 90 && !report; i++) {
        PGresult *q =
            PQexec(c, "SELECT i.id, a.report::text FROM incidents i JOIN analyses a ON a.incident_id = "
                      "i.id WHERE i.kind = 'degradation' ORDER BY a.id LIMIT 1");
        if (PQntuples(q) == 1) {
            snprintf(id, sizeof(id), "%s", PQgetvalue(q, 0, 0));
            report = json_loads(PQgetvalue(q, 0, 1), 0, NULL);
        }
        PQclear(q);
        if (!report) sleep(1);
    }
    ck_assert_msg(report != NULL, "no degradation report");
    char *dump = json_dumps(report, 0);
    fprintf(stderr, "degradation report: %.1500s\n", dump);
    const char *named = json_string_value(json_object_get(json_object_get(report, "root_cause"), "service"));
    ck_assert_msg(named && strcmp(named, "payment") == 0, "degradation report names %s: %s",
                  named ? named : "none", dump);
    ck_assert_str_eq(json_string_value(json_object_get(report, "verdict")), "conclusive");
    ck_assert(json_number_value(json_object_get(report, "confidence")) >= 0.6);
    free(dump);
    json_decref(report);
    /* every degradation report names payment (the gateway's endpoint slows down too, as an echo) */
    PGresult *q =
        PQexec(c, "SELECT count(*) FILTER (WHERE a.report->'root_cause'->>'service' IS DISTINCT FROM "
                  "'payment') FROM analyses a JOIN incidents i ON i.id = a.incident_id WHERE i.kind = "
                  "'degradation'");
    ck_assert_str_eq(PQgetvalue(q, 0, 0), "0");
    PQclear(q);

    /* the deploy before it is the incident's first suspect */
    snprintf(url, sizeof(url), "%s/query/incidents/%s/suspects", stack.backend.url, id);
    const char *rh[] = {"Authorization: Bearer " TS_READ_KEY, NULL};
    ck_assert_int_eq(ts_http("GET", url, rh, NULL, 0, &r), 0);
    ck_assert_msg(r.status == 200, "suspects: %ld %s", r.status, r.body);
    json_t *sj = json_loads(r.body, 0, NULL);
    json_t *s0 = json_array_get(json_object_get(sj, "suspects"), 0);
    ck_assert_msg(s0 && !strcmp(json_string_value(json_object_get(s0, "type")) ?: "", "deploy") &&
                      !strcmp(json_string_value(json_object_get(s0, "service")) ?: "", "payment"),
                  "suspects: %s", r.body);
    /* stored as every report stores suspects (suspects_to_json): canonical kind and call-graph relation */
    ck_assert_msg(!strcmp(json_string_value(json_object_get(s0, "kind")) ?: "", "deploy") &&
                      !strcmp(json_string_value(json_object_get(s0, "relation")) ?: "", "same service"),
                  "suspects: %s", r.body);
    json_decref(sj);
    ts_resp_free(&r);

    /* a re-run writes a new version of the report over the same window */
    snprintf(url, sizeof(url), "%s/query/incidents/%s/rerun", stack.backend.url, id);
    ck_assert_int_eq(ts_post_json(url, TS_ADMIN_KEY, "{}", &r), 0);
    ck_assert_msg(r.status == 202, "rerun: %ld %s", r.status, r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "\"queued\":\"window\""));
    ts_resp_free(&r);
    const char *ip[] = {id};
    int versions = 0;
    for (int i = 0; i < 30 && versions < 2; i++) {
        q = PQexecParams(c, "SELECT count(*) FROM analyses WHERE incident_id = $1::bigint", 1, NULL, ip, NULL,
                         NULL, 0);
        versions = atoi(PQgetvalue(q, 0, 0));
        PQclear(q);
        if (versions < 2) sleep(1);
    }
    ck_assert_int_ge(versions, 2);
    PQfinish(c);
    kill(traffic, SIGTERM);
    waitpid(traffic, NULL, 0);
    ts_stack_stop(&stack);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("anomaly_e2e");
    TCase *tc = tcase_create("deploy");
    tcase_set_timeout(tc, 360);
    tcase_add_test(tc, deploy_then_latency_ranks_the_deploy_first);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
