/* Suspect ranking through the simulated services (issue 15, point 5): a deploy of payment (sent as a
 * "deployment", an alias), then decoy changes on other services closer to the failure (a config change
 * of inventory, a flag of gateway), then a payment fault. The pipeline's analysis ranks the payment
 * deploy first with the higher confidence and an evidence sentence; the suspects API agrees; feedback
 * naming it as the cause moves the deploy prior the pipeline loads. */
#include "priors.h"
#include "ts_stack.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static ts_stack_t stack;

static void setup(void)
{
    const char *benv[] = {"DEBOUNCE_QUIET_MS=1500", NULL};
    const char *senv[] = {"METRICS_INTERVAL_MS=2000", NULL};
    ts_stack_start(&stack, &(ts_stack_opts_t){.db_name = "suse2e", .backend_env = benv, .service_env = senv});
}

static void teardown(void)
{
    ts_stack_stop(&stack);
}

static void post(const char *base, const char *path, const char *key, const char *body, long want,
                 json_t **out)
{
    char url[160];
    snprintf(url, sizeof(url), "%s%s", base, path);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, key, body, &r), 0);
    ck_assert_msg(r.status == want, "%s: %ld %s", path, r.status, r.body);
    if (out) *out = json_loads(r.body, 0, NULL);
    ts_resp_free(&r);
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

START_TEST(the_deploy_before_the_fault_beats_closer_decoys)
{
    char body[512];
    long long deploy_ns = ((long long)time(NULL) - 120) * 1000000000LL;
    snprintf(body, sizeof(body),
             "{\"events\":[{\"timestamp\":%lld,\"service\":\"payment\",\"type\":\"deployment\","
             "\"description\":\"v2.3.1\"}]}",
             deploy_ns);
    post(stack.backend.url, "/ingest/events", TS_INGEST_KEY, body, 200, NULL);
    /* decoys: later (closer to the failure), on other services of the call path */
    post(stack.inventory.url, "/control/change", NULL,
         "{\"type\":\"config\",\"description\":\"pool size 5\"}", 200, NULL);
    post(stack.gateway.url, "/control/change", NULL, "{\"type\":\"flag\",\"description\":\"new-checkout\"}",
         200, NULL);
    sleep(1);
    json_t *o = NULL;
    post(stack.gateway.url, "/orders", NULL, "{\"order_id\":\"ord-sus-fail-pay\",\"amount\":12}", 502, &o);
    char trace[33];
    snprintf(trace, sizeof(trace), "%s", str(o, "trace_id"));
    json_decref(o);

    PGconn *c = ts_pg(stack.db_url);
    char incident[24] = "";
    json_t *ev = ts_stack_wait_analysis(c, "a.evidence", trace, incident, 30);
    ck_assert_msg(ev != NULL, "no analysis of trace %s", trace);
    json_t *sus = json_object_get(ev, "suspects");
    char *dump = json_dumps(sus, JSON_INDENT(1));
    ck_assert_msg(json_array_size(sus) == 3, "%s", dump);
    json_t *s0 = json_array_get(sus, 0);
    ck_assert_msg(!strcmp(str(s0, "service"), "payment") && !strcmp(str(s0, "kind"), "deploy"), "%s", dump);
    for (size_t i = 1; i < 3; i++)
        ck_assert_msg(json_number_value(json_object_get(s0, "confidence")) >
                          json_number_value(json_object_get(json_array_get(sus, i), "confidence")),
                      "%s", dump);
    ck_assert_msg(strstr(str(s0, "evidence"), "deployment payment v2.3.1 at ") &&
                      strstr(str(s0, "evidence"), "min before the first error on payment"),
                  "%s", dump);
    free(dump);
    json_decref(ev);

    /* the suspects API: best first, with the id feedback names */
    char url[160];
    snprintf(url, sizeof(url), "%s/query/incidents/%s/suspects", stack.backend.url, incident);
    const char *rh[] = {"Authorization: Bearer " TS_READ_KEY, NULL};
    ts_resp_t r;
    ck_assert_int_eq(ts_http("GET", url, rh, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    json_t *api = json_loads(r.body, 0, NULL);
    ts_resp_free(&r);
    json_t *top = json_array_get(json_object_get(api, "suspects"), 0);
    ck_assert_str_eq(str(top, "service"), "payment");
    snprintf(body, sizeof(body), "{\"verdict\":\"right\",\"suspect\":\"%s\",\"suspect_was_cause\":true}",
             str(top, "id"));
    json_decref(api);
    char path[64];
    snprintf(path, sizeof(path), "/query/incidents/%s/feedback", incident);
    post(stack.backend.url, path, TS_READ_KEY, body, 201, NULL);

    /* the deploy prior the pipeline loads moved: (0.5 x 4 + 1) / 5 */
    char *purl = ts_role_url(stack.db_url, TS_ROLE_PIPELINE);
    PGconn *pc = ts_pg(purl);
    suspect_opts_t so;
    suspect_opts_default(&so);
    ck_assert_int_eq(priors_load(pc, &so, NULL, 0), 0);
    ck_assert(so.prior[CHANGE_DEPLOY] > 0.599 && so.prior[CHANGE_DEPLOY] < 0.601);
    PQfinish(pc);
    free(purl);
    PQfinish(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("suspects_e2e");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, the_deploy_before_the_fault_beats_closer_decoys);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
