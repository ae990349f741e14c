/* The deterministic report of a degradation incident from its window ranking: a clear leader is named
 * with its evidence and remediation, a close race is inconclusive, a quiet window names nobody, and the
 * stored ranking is cut to the first services. */
#include "window_report.h"

#include "ts.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *service(const char *name, double score, json_t *evidence)
{
    return json_pack("{s:s, s:f, s:o}", "service", name, "score", score, "evidence",
                     evidence ? evidence : json_array());
}

static json_t *item(const char *kind, const char *subject, const char *context, const char *text)
{
    return json_pack("{s:s, s:s, s:s?, s:s}", "kind", kind, "subject", subject, "context", context, "text",
                     text);
}

static json_t *ranking(int quiet, double top_score, json_t *services)
{
    return json_pack("{s:b, s:f, s:f, s:o}", "nothing_stands_out", quiet, "top_score", top_score,
                     "quiet_threshold", 3.0, "services", services);
}

static const char *sget(const json_t *o, const char *path0, const char *path1)
{
    const json_t *v = json_object_get(o, path0);
    if (path1) v = json_object_get(v, path1);
    return json_string_value(v);
}

START_TEST(a_clear_leader_is_named_with_its_evidence)
{
    json_t *ev = json_pack(
        "[o, o]", item("self_time", "POST /charge", NULL, "self time of POST /charge: 1 ms -> 400 ms"),
        item("change", "deploy", NULL, "deploy of payment 10 s after the window starts: v2.3.1"));
    json_t *r =
        ranking(0, 8.0, json_pack("[o, o]", service("payment", 8.0, ev), service("gateway", 2.0, NULL)));
    json_t *sus = json_pack("[{s:s, s:s, s:s, s:f, s:s}]", "type", "deploy", "service", "payment",
                            "description", "v2.3.1", "confidence", 0.8, "evidence",
                            "p95_latency_ms on payment abnormal, deploy v2.3.1 12 s before");
    json_t *evidence = NULL;
    json_t *rep = window_report_build(r, "gateway POST /orders: p95 16 ms -> 414 ms", sus, &evidence);
    ck_assert_ptr_nonnull(rep);
    ck_assert_ptr_nonnull(evidence);
    ck_assert_str_eq(sget(rep, "root_cause", "service"), "payment");
    ck_assert_str_eq(sget(rep, "root_cause", "operation"), "POST /charge");
    ck_assert_str_eq(sget(evidence, "root_cause", "service"), "payment");
    ck_assert_str_eq(sget(rep, "verdict", NULL), "conclusive");
    ck_assert_str_eq(sget(rep, "generated_by", NULL), "deterministic");
    /* 0.5 + 0.1 x lead 6, capped */
    ck_assert_double_eq_tol(json_number_value(json_object_get(rep, "confidence")), 0.95, 1e-9);
    const char *summary = sget(rep, "summary", NULL);
    ck_assert_ptr_nonnull(
        strstr(summary, "414 ms. The window ranking puts payment first (score 8.0, next gateway 2.0)"));
    ck_assert_int_eq(json_array_size(json_object_get(rep, "evidence")), 3); /* two items and the suspect */
    ck_assert_ptr_nonnull(strstr(json_string_value(json_array_get(json_object_get(rep, "evidence"), 2)),
                                 "suspect change (confidence 80%)"));
    json_t *rem = json_object_get(rep, "remediation");
    ck_assert_int_eq(json_array_size(rem), 3);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_array_get(rem, 0)), "POST /charge"));
    ck_assert_ptr_nonnull(strstr(json_string_value(json_array_get(rem, 1)), "v2.3.1"));
    ck_assert_ptr_nonnull(strstr(json_string_value(json_array_get(rem, 2)), "deploy of payment, v2.3.1"));
    ck_assert_int_eq(json_array_size(json_object_get(evidence, "suspects")), 1);
    json_decref(sus);
    json_decref(rep);
    json_decref(evidence);
    json_decref(r);
}
END_TEST

START_TEST(a_close_race_is_inconclusive)
{
    json_t *r = ranking(0, 3.2,
                        json_pack("[o, o]",
                                  service("a", 3.2, json_pack("[o]", item("log_new", "t", "op", "new line"))),
                                  service("b", 3.0, NULL)));
    json_t *evidence = NULL;
    json_t *rep = window_report_build(r, "x slowed down.", NULL, &evidence);
    ck_assert_double_eq_tol(json_number_value(json_object_get(rep, "confidence")), 0.52, 1e-9);
    ck_assert_str_eq(sget(rep, "verdict", NULL), "inconclusive");
    ck_assert_str_eq(sget(rep, "root_cause", "service"), "a");
    ck_assert_str_eq(sget(rep, "root_cause", "operation"),
                     "op"); /* the operation the rates are per call of */
    ck_assert_ptr_null(strstr(sget(rep, "summary", NULL), "down.."));
    json_decref(rep);
    json_decref(evidence);
    json_decref(r);
}
END_TEST

START_TEST(a_quiet_window_names_nobody)
{
    json_t *r = ranking(1, 1.4, json_pack("[o]", service("a", 1.4, NULL)));
    json_t *evidence = NULL;
    json_t *rep = window_report_build(r, "x slowed down", NULL, &evidence);
    ck_assert(json_is_null(json_object_get(json_object_get(rep, "root_cause"), "service")));
    ck_assert(json_is_null(json_object_get(evidence, "root_cause")));
    ck_assert_str_eq(sget(rep, "verdict", NULL), "inconclusive");
    ck_assert_double_eq_tol(json_number_value(json_object_get(rep, "confidence")),
                            WINDOW_REPORT_QUIET_CONFIDENCE, 1e-9);
    ck_assert_ptr_nonnull(strstr(sget(rep, "summary", NULL), "no service is named"));
    ck_assert_int_eq(json_array_size(json_object_get(evidence, "suspects")), 0);
    json_decref(rep);
    json_decref(evidence);
    json_decref(r);
}
END_TEST

START_TEST(the_stored_ranking_keeps_the_first_services)
{
    json_t *svcs = json_array();
    const char *names[] = {"a", "b", "c", "d", "e", "f", "g"};
    for (int i = 0; i < 7; i++)
        json_array_append_new(svcs, service(names[i], 10 - i, NULL));
    json_t *r = ranking(0, 10, svcs);
    json_t *evidence = NULL;
    json_t *rep = window_report_build(r, "s", NULL, &evidence);
    json_t *kept = json_object_get(json_object_get(evidence, "window_ranking"), "services");
    ck_assert_int_eq(json_array_size(kept), WINDOW_REPORT_SERVICES);
    ck_assert_str_eq(sget(json_array_get(kept, 4), "service", NULL), "e");
    ck_assert_int_eq(json_array_size(json_object_get(r, "services")), 7); /* the input is not changed */
    json_decref(rep);
    json_decref(evidence);
    json_decref(r);
}
END_TEST

/* Suspects given oldest first (as older analyses stored them): the most confident one is named. */
START_TEST(the_most_confident_suspect_is_named_not_the_oldest)
{
    json_t *r = ranking(0, 8.0, json_pack("[o]", service("payment", 8.0, NULL)));
    json_t *sus = json_pack("[{s:s, s:s, s:f, s:s}, {s:s, s:s, s:f, s:s}]", "type", "config", "service",
                            "search", "confidence", 0.1, "evidence", "config search old", "type", "deploy",
                            "service", "payment", "confidence", 0.7, "evidence", "deploy payment v2");
    json_t *evidence = NULL;
    json_t *rep = window_report_build(r, "payment slowed down", sus, &evidence);
    const char *last = json_string_value(json_array_get(
        json_object_get(rep, "evidence"), json_array_size(json_object_get(rep, "evidence")) - 1));
    ck_assert_msg(strstr(last, "suspect change (confidence 70%): deploy payment v2"), "%s", last);
    json_decref(sus);
    json_decref(rep);
    json_decref(evidence);
    json_decref(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("window_report");
    TCase *tc = tcase_create("report");
    tcase_add_test(tc, a_clear_leader_is_named_with_its_evidence);
    tcase_add_test(tc, a_close_race_is_inconclusive);
    tcase_add_test(tc, a_quiet_window_names_nobody);
    tcase_add_test(tc, the_stored_ranking_keeps_the_first_services);
    tcase_add_test(tc, the_most_confident_suspect_is_named_not_the_oldest);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
