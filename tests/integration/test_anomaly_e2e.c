/* Deploy, then latency: the simulated payment service runs under steady traffic, a deploy is recorded
 * at the backend, then payment gets 400 ms of extra latency. The pipeline's anomaly detector must find
 * the p95 latency episode of payment and rank the deploy first among its suspects. */
#include "ts.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *db_url;
static ts_proc_t backend, pipeline, inventory, payment, gateway;
static pid_t traffic;

static void start_fake(ts_proc_t *p, const char *role, const char *port_var, const char *extra)
{
    ck_assert_int_eq(ts_start_fake_service(p, &backend, role, port_var, db_url, "t:anom:", extra), 0);
}

START_TEST(deploy_then_latency_ranks_the_deploy_first)
{
    db_url = ts_create_database("anomaly");
    ck_assert_int_eq(ts_start_backend(&backend, db_url, "t:anom:", NULL), 0);
    const char *penv[] = {"ANOMALY_PERIOD_S=3", "ANOMALY_LAG_S=6", NULL};
    ck_assert_int_eq(ts_start_pipeline(&pipeline, db_url, "t:anom:", penv), 0);
    start_fake(&inventory, "inventory", "INVENTORY_PORT", NULL);
    char inv[96], pay[96];
    snprintf(inv, sizeof(inv), "INVENTORY_URL=%s", inventory.url);
    start_fake(&payment, "payment", "PAYMENT_PORT", inv);
    snprintf(pay, sizeof(pay), "PAYMENT_URL=%s", payment.url);
    start_fake(&gateway, "gateway", "GATEWAY_PORT", pay);
    char *prog = ts_program("fake-services/traffic-gen");
    traffic = fork();
    if (traffic == 0) {
        execl(prog, prog, "--target", gateway.url, "--rate", "10", "--duration", "0", "--fail-share", "0",
              NULL);
        _exit(127);
    }
    free(prog);
    sleep(35); /* a baseline: more than ten 2-second metric points per series */
    char url[128];
    ts_resp_t r;
    long long deploy_ns = (long long)time(NULL) * 1000000000LL;
    snprintf(url, sizeof(url), "%s/control/change", payment.url);
    ck_assert_int_eq(ts_post_json(url, NULL, "{\"type\":\"deploy\",\"description\":\"v2.3.1\"}", &r), 0);
    ck_assert_int_eq(r.status, 200);
    ts_resp_free(&r);
    sleep(2);
    snprintf(url, sizeof(url), "%s/control/fault", payment.url);
    ck_assert_int_eq(ts_post_json(url, NULL, "{\"latency_ms\":400,\"duration_s\":150}", &r), 0);
    ts_resp_free(&r);
    PGconn *c = ts_pg(db_url);
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
    PQfinish(c);
    kill(traffic, SIGTERM);
    waitpid(traffic, NULL, 0);
    ts_stop(&gateway, SIGTERM);
    ts_stop(&payment, SIGTERM);
    ts_stop(&inventory, SIGTERM);
    ts_stop(&pipeline, SIGTERM);
    ts_stop(&backend, SIGTERM);
    free(db_url);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("anomaly_e2e");
    TCase *tc = tcase_create("deploy");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, deploy_then_latency_ranks_the_deploy_first);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
