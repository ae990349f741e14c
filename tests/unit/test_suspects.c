/* The one suspect model (pipeline/anomaly/suspects.h): a deploy-then-fault scenario with a decoy change
 * on another service ranks the right deploy first with the higher confidence; type aliases; the call
 * graph; agreement of symptoms; the JSON every analysis stores; and a trace analysis (rca.c) naming its
 * suspects and the metrics around its failure through the same model. */
#include "evidence_metrics.h"
#include "rca.h"
#include "suspects.h"

#include "ts.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S ANOMALY_NS_PER_S
#define T0 (1795357925LL * S) /* some time on 2026-11-22 */

static symptom_t error_on(const char *svc, int64_t at)
{
    symptom_t y = {.service = svc, .what = "error"};
    y.ep.start_ns = y.ep.end_ns = at;
    y.ep.direction = 1;
    return y;
}

START_TEST(deploy_then_fault_beats_a_decoy_on_another_service)
{
    /* gateway -> payment -> inventory; payment fails 3 minutes after its deploy, while a config change
     * lands on an unrelated service (search) a minute before the failure: closer in time, wrong place */
    call_edge_t edges[] = {{"gateway", "payment"}, {"payment", "inventory"}, {"gateway", "search"}};
    change_event_t ev[] = {
        {T0 - 180 * S, "payment", "deployment", "v2.3.1"},
        {T0 - 60 * S, "search", "config_change", "cache ttl 30s"},
    };
    symptom_t sym[] = {error_on("payment", T0)};
    suspect_opts_t o;
    suspect_opts_default(&o);
    suspect_input_t in = {ev, 2, sym, 1, edges, 3};
    suspect_t *s;
    size_t n = suspects_rank_input(&in, &o, &s);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(s[0].event_index, 0);
    ck_assert_msg(s[0].confidence > s[1].confidence, "%f vs %f", s[0].confidence, s[1].confidence);
    ck_assert(s[0].confidence > 0.3 && s[0].confidence <= 1);
    ck_assert_str_eq(s[0].relation, "same service");
    ck_assert_str_eq(s[1].relation, "unrelated");
    ck_assert_msg(strstr(s[0].evidence, "deployment payment v2.3.1 at ") &&
                      strstr(s[0].evidence, ", 3 min before the first error on payment at "),
                  "%s", s[0].evidence);
    ck_assert_msg(strstr(s[1].evidence, "search is not on payment's call path"), "%s", s[1].evidence);
    /* the JSON stored in evidence: best first, canonical kind, confidence in [0, 1] */
    json_t *j = suspects_to_json(ev, s, n);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "kind")), "deploy");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 1), "kind")), "config");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "service")), "payment");
    ck_assert(json_number_value(json_object_get(json_array_get(j, 0), "seconds_before")) == 180);
    json_decref(j);
    free(s);
}
END_TEST

START_TEST(a_callee_change_outranks_a_caller_change)
{
    call_edge_t edges[] = {{"gateway", "payment"}, {"payment", "inventory"}};
    change_event_t ev[] = {
        {T0 - 120 * S, "gateway", "deploy", "g1"},
        {T0 - 120 * S, "inventory", "deploy", "i1"},
    };
    symptom_t sym[] = {error_on("payment", T0)};
    suspect_opts_t o;
    suspect_opts_default(&o);
    suspect_input_t in = {ev, 2, sym, 1, edges, 2};
    suspect_t *s;
    ck_assert_int_eq(suspects_rank_input(&in, &o, &s), 2);
    ck_assert_int_eq(s[0].event_index, 1); /* inventory: payment calls it */
    ck_assert_str_eq(s[0].relation, "callee");
    ck_assert_str_eq(s[1].relation, "caller");
    ck_assert_msg(strstr(s[0].evidence, "(payment calls inventory)"), "%s", s[0].evidence);
    free(s);
}
END_TEST

START_TEST(aliases_map_to_one_type_and_unknown_types_are_low)
{
    ck_assert_int_eq(change_type_of("deploy"), CHANGE_DEPLOY);
    ck_assert_int_eq(change_type_of("Deployment"), CHANGE_DEPLOY);
    ck_assert_int_eq(change_type_of("release"), CHANGE_DEPLOY);
    ck_assert_int_eq(change_type_of("config"), CHANGE_CONFIG);
    ck_assert_int_eq(change_type_of("config_change"), CHANGE_CONFIG);
    ck_assert_int_eq(change_type_of("flag"), CHANGE_FLAG);
    ck_assert_int_eq(change_type_of("feature_flag"), CHANGE_FLAG);
    ck_assert_int_eq(change_type_of("migration"), CHANGE_MIGRATION);
    ck_assert_int_eq(change_type_of("scale"), CHANGE_SCALE);
    ck_assert_int_eq(change_type_of("restart"), CHANGE_RESTART);
    ck_assert_int_eq(change_type_of("coffee_break"), CHANGE_OTHER);
    ck_assert_int_eq(change_type_of(NULL), CHANGE_OTHER);
    ck_assert_str_eq(change_type_name(change_type_of("feature_flag")), "flag");
    suspect_opts_t o;
    suspect_opts_default(&o);
    for (int t = 0; t < CHANGE_OTHER; t++)
        ck_assert_msg(o.prior[CHANGE_OTHER] < o.prior[t], "type %d", t);
    /* same place, same time: the known type wins over an unknown one */
    change_event_t ev[] = {{T0 - 60 * S, "payment", "coffee_break", NULL},
                           {T0 - 60 * S, "payment", "release", "r9"}};
    symptom_t sym[] = {error_on("payment", T0)};
    suspect_t *s;
    ck_assert_int_eq(suspects_rank(ev, 2, sym, 1, &o, &s), 2);
    ck_assert_int_eq(s[0].event_index, 1);
    free(s);
}
END_TEST

START_TEST(agreeing_symptoms_add_and_are_named)
{
    symptom_t sym[2] = {error_on("payment", T0)};
    sym[1] = (symptom_t){"payment", "p95_latency_ms", {T0 - 30 * S, T0 + 60 * S, 250, 1000, 300, 25, 1, 5}};
    change_event_t ev[] = {{T0 - 120 * S, "payment", "deploy", "v2"}};
    suspect_opts_t o;
    suspect_opts_default(&o);
    suspect_t *one, *two;
    ck_assert_int_eq(suspects_rank(ev, 1, sym, 1, &o, &one), 1);
    ck_assert_int_eq(suspects_rank(ev, 1, sym, 2, &o, &two), 1);
    ck_assert(two[0].score > one[0].score);
    ck_assert_int_eq(two[0].symptoms_explained, 2);
    ck_assert_msg(strstr(two[0].evidence, "; also before p95_latency_ms on payment rose 4.0\u00d7"), "%s",
                  two[0].evidence);
    free(one);
    free(two);
    /* a change after the symptom or too long before it explains nothing */
    change_event_t late[] = {{T0 + S, "payment", "deploy", NULL}, {T0 - 3600 * S, "payment", "deploy", NULL}};
    ck_assert_int_eq(suspects_rank(late, 2, sym, 1, &o, &one), 0);
    ck_assert_ptr_null(one);
}
END_TEST

static rca_span_t span(const char *id, const char *parent, const char *svc, const char *name, int64_t start,
                       int64_t end, int status)
{
    rca_span_t s;
    memset(&s, 0, sizeof(s));
    s.span_id = id;
    s.parent_span_id = parent;
    s.service = svc;
    s.name = name;
    s.start_ns = start;
    s.end_ns = end;
    s.status = status;
    s.events = json_array();
    return s;
}

START_TEST(trace_analysis_ranks_by_confidence_and_carries_the_metrics)
{
    rca_span_t sp[] = {
        span("0000000000000001", NULL, "gateway", "POST /orders", T0, T0 + S, 2),
        span("0000000000000002", "0000000000000001", "payment", "POST /pay", T0 + S / 10, T0 + S / 2, 2),
    };
    /* the oldest change is the right one: stored oldest first, it must not stay first by age alone */
    rca_change_t ch[] = {
        {T0 - 200 * S, "payment", "deploy", "v2.3.1"},
        {T0 - 100 * S, "gateway", "feature_flag", "new-checkout"},
    };
    rca_metric_t m[40];
    for (int i = 0; i < 20; i++) {
        m[i] = (rca_metric_t){T0 - (20 - i) * 30 * S, "payment", "p95_latency_ms", i < 15 ? 100.0 : 400.0};
        m[20 + i] = (rca_metric_t){T0 - (20 - i) * 30 * S + 5 * S, "payment", "cpu", 0.5};
    }
    /* points after the failure start */
    m[19].ts_ns = T0 + 10 * S;
    rca_episode_t ep[] = {{"payment", "p95_latency_ms", T0 - 150 * S, T0, 100, 400, 300, 30, 1}};
    rca_trace_t t = {"5b8efff798038103d269b633813fc60c", sp, 2, NULL, 0, NULL, 0, ch, 2, 0, 0, ep, 1};
    t.metrics = m;
    t.nmetrics = 40;
    /* the loader sorts by service, name, time: cpu first */
    rca_metric_t sorted[40];
    memcpy(sorted, m + 20, 20 * sizeof(*m));
    memcpy(sorted + 20, m, 20 * sizeof(*m));
    t.metrics = sorted;
    rca_opts_t o = {NULL, 0, 20, NULL};
    rca_result_t r;
    rca_analyse(&t, &o, &r);
    ck_assert_str_eq(r.service, "payment");
    json_t *sus = json_object_get(r.evidence, "suspects");
    ck_assert_int_eq(json_array_size(sus), 2);
    json_t *s0 = json_array_get(sus, 0), *s1 = json_array_get(sus, 1);
    ck_assert_str_eq(json_string_value(json_object_get(s0, "service")), "payment");
    ck_assert(json_number_value(json_object_get(s0, "confidence")) >
              json_number_value(json_object_get(s1, "confidence")));
    ck_assert_int_eq(json_integer_value(json_object_get(s0, "symptoms_explained")), 2);
    const char *e0 = json_string_value(json_object_get(s0, "evidence"));
    ck_assert_msg(strstr(e0, "before the first error on payment") && strstr(e0, "also before p95_latency_ms"),
                  "%s", e0);
    ck_assert_str_eq(json_string_value(json_object_get(s1, "relation")), "caller");
    /* the metrics around the failure, bounded, the root service's first, its moved series first */
    json_t *mx = json_object_get(r.evidence, "metrics");
    json_t *series = json_object_get(mx, "series");
    ck_assert_int_eq(json_array_size(series), 2);
    json_t *p95 = json_array_get(series, 0);
    ck_assert_str_eq(json_string_value(json_object_get(p95, "name")), "p95_latency_ms");
    ck_assert_str_eq(json_string_value(json_object_get(p95, "id")), "metric:0");
    ck_assert(json_number_value(json_object_get(p95, "change_pct")) > 100);
    ck_assert_int_eq(json_array_size(json_object_get(p95, "spark")), EVIDENCE_METRICS_BUCKETS);
    json_t *an = json_array_get(json_object_get(mx, "anomalies"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(an, "id")), "anomaly:0");
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_object_get(an, "text")), "p95_latency_ms on payment rose 4.0"));
    /* the deterministic report names the best suspect in its remediation */
    char *rep = json_dumps(json_object_get(r.report, "remediation"), 0);
    ck_assert_msg(strstr(rep, "deploy payment v2.3.1"), "%s", rep);
    free(rep);
    rca_result_dispose(&r);
    for (int i = 0; i < 2; i++)
        json_decref(sp[i].events);
}
END_TEST

START_TEST(metrics_summary_is_bounded)
{
    enum { NS = EVIDENCE_METRICS_MAX_SERIES + 5 };
    static char names[NS][16];
    rca_metric_t m[NS * 3];
    for (int s = 0; s < NS; s++) {
        snprintf(names[s], sizeof(names[s]), "m%02d", s);
        for (int i = 0; i < 3; i++)
            m[s * 3 + i] = (rca_metric_t){T0 + (i - 1) * 60 * S, "svc", names[s], (double)(s * i)};
    }
    rca_trace_t t;
    memset(&t, 0, sizeof(t));
    t.metrics = m;
    t.nmetrics = NS * 3;
    json_t *j = evidence_metrics(&t, T0, "svc");
    ck_assert_int_eq(json_array_size(json_object_get(j, "series")), EVIDENCE_METRICS_MAX_SERIES);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "omitted_series")), 5);
    json_decref(j);
    memset(&t, 0, sizeof(t));
    j = evidence_metrics(&t, T0, NULL); /* nothing loaded: empty, not NULL */
    ck_assert_int_eq(json_array_size(json_object_get(j, "series")), 0);
    json_decref(j);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("suspects");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, deploy_then_fault_beats_a_decoy_on_another_service);
    tcase_add_test(tc, a_callee_change_outranks_a_caller_change);
    tcase_add_test(tc, aliases_map_to_one_type_and_unknown_types_are_low);
    tcase_add_test(tc, agreeing_symptoms_add_and_are_named);
    tcase_add_test(tc, trace_analysis_ranks_by_confidence_and_carries_the_metrics);
    tcase_add_test(tc, metrics_summary_is_bounded);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
