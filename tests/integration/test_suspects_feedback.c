/* Suspects, feedback and priors against real PostgreSQL and the real backend (issue 15, point 5): the
 * suspects of an incident come back best first with ids and evidence sentences; feedback names the
 * suspect that was (or was not) the cause and the true cause (written); unknown fields are refused by
 * name; the priors (pipeline/priors.c) move with those labels, judged on the named or the
 * top-confidence suspect (never the oldest); GET /query/accuracy reports suspect accuracy. */
#include "priors.h"
#include "ts.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *db_url;
static ts_proc_t backend;

/* Two incidents whose analyses stored their suspects oldest first (as the old trace analysis did): the
 * oldest is never the top one. Incident 1: a config change (oldest, low confidence), then a deploy of
 * payment (top). Incident 2: a deploy of search (oldest, low), then a config change of payment (top). */
static void setup(void)
{
    db_url = ts_create_database("suspects");
    ck_assert_int_eq(ts_start_backend(&backend, db_url, "t:susp:", NULL), 0);
    PGconn *c = ts_pg(db_url);
    PGresult *r = PQexec(
        c,
        "INSERT INTO incidents (fingerprint, title, root_service, first_seen, last_seen, trace_count) VALUES "
        "('fp1', 'payment errors', 'payment', now(), now(), 3), ('fp2', 'payment slow', 'payment', now(), "
        "now(), 2);"
        "INSERT INTO analyses (incident_id, trace_id, version, evidence, report, generated_by) VALUES "
        "(1, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 1, '{\"suspects\":["
        "{\"type\":\"config_change\",\"service\":\"inventory\",\"ts_ns\":1,\"confidence\":0.08,"
        "\"evidence\":\"config_change inventory at 10:00, 5 min before the first error on payment\"},"
        "{\"type\":\"deployment\",\"service\":\"payment\",\"ts_ns\":2,\"confidence\":0.71,"
        "\"evidence\":\"deployment payment v2.3.1 at 10:02, 3 min before the first error on payment\"}]}', "
        "'{\"summary\":\"s\"}', 'deterministic'),"
        "(2, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 1, '{\"suspects\":["
        "{\"type\":\"deploy\",\"service\":\"search\",\"ts_ns\":1,\"confidence\":0.1,\"evidence\":\"d\"},"
        "{\"type\":\"config\",\"service\":\"payment\",\"ts_ns\":2,\"confidence\":0.6,\"evidence\":\"c\"}]}', "
        "'{\"summary\":\"s\"}', 'deterministic')");
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static void teardown(void)
{
    ts_stop(&backend, SIGTERM);
    free(db_url);
}

static json_t *call(const char *method, const char *path, const char *body, long want)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", backend.url, path);
    const char *h[] = {"Authorization: Bearer " TS_READ_KEY, "Content-Type: application/json", NULL};
    ts_resp_t r;
    ck_assert_int_eq(ts_http(method, url, h, body, body ? strlen(body) : 0, &r), 0);
    ck_assert_msg(r.status == want, "%s %s: %ld %s", method, path, r.status, r.body);
    json_t *o = json_loads(r.body, 0, NULL);
    ts_resp_free(&r);
    ck_assert_ptr_nonnull(o);
    return o;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* The priors as the pipeline loads them, through the pipeline's own database role. */
static void priors(suspect_opts_t *o, char *explain, size_t n)
{
    char *url = ts_role_url(db_url, TS_ROLE_PIPELINE);
    PGconn *c = ts_pg(url);
    suspect_opts_default(o);
    ck_assert_int_eq(priors_load(c, o, explain, n), 0);
    PQfinish(c);
    free(url);
}

START_TEST(suspects_come_best_first_with_ids_and_evidence)
{
    json_t *s = call("GET", "/query/incidents/1/suspects", NULL, 200);
    json_t *list = json_object_get(s, "suspects");
    ck_assert_int_eq(json_array_size(list), 2);
    ck_assert_str_eq(str(json_array_get(list, 0), "id"), "suspect:1");
    ck_assert_str_eq(str(json_array_get(list, 0), "service"), "payment");
    ck_assert_ptr_nonnull(strstr(str(json_array_get(list, 0), "evidence"), "3 min before the first error"));
    ck_assert_str_eq(str(json_array_get(list, 1), "id"), "suspect:0");
    json_decref(s);
    s = call("GET", "/query/incidents/99/suspects", NULL, 404);
    json_decref(s);
}
END_TEST

START_TEST(feedback_is_validated_by_field)
{
    json_t *e = call("POST", "/query/incidents/1/feedback", "{\"verdict\":\"right\",\"cause\":\"x\"}", 400);
    ck_assert_str_eq(str(json_object_get(e, "error"), "path"), "cause");
    json_decref(e);
    e = call("POST", "/query/incidents/1/feedback", "{\"verdict\":\"right\",\"suspect\":\"suspect:1\"}", 400);
    ck_assert_str_eq(str(json_object_get(e, "error"), "path"), "suspect_was_cause");
    json_decref(e);
    e = call("POST", "/query/incidents/1/feedback", "{\"verdict\":\"right\",\"suspect\":\"deploy\"}", 400);
    ck_assert_str_eq(str(json_object_get(e, "error"), "path"), "suspect");
    json_decref(e);
    e = call("POST", "/query/incidents/1/feedback", "{\"verdict\":\"right\",\"true_cause\":7}", 400);
    ck_assert_str_eq(str(json_object_get(e, "error"), "path"), "true_cause");
    json_decref(e);
    /* a suspect the analysis does not have */
    e = call("POST", "/query/incidents/1/feedback",
             "{\"verdict\":\"right\",\"suspect\":\"suspect:5\",\"suspect_was_cause\":true}", 404);
    json_decref(e);
    PGconn *c = ts_pg(db_url);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM feedback"), 0);
    PQfinish(c);
}
END_TEST

START_TEST(labels_move_the_priors_and_the_accuracy)
{
    suspect_opts_t o;
    char why[512];
    priors(&o, why, sizeof(why));
    ck_assert(o.prior[CHANGE_DEPLOY] == 0.5 && o.prior[CHANGE_CONFIG] == 0.35);
    /* incident 1: the deploy (suspect:1, the top one, stored second) was the cause */
    json_t *f =
        call("POST", "/query/incidents/1/feedback",
             "{\"verdict\":\"right\",\"true_service\":\"payment\",\"true_cause\":\"deploy v2.3.1 of "
             "payment\",\"suspect\":\"suspect:1\",\"suspect_was_cause\":true,\"comment\":\"rolled back\"}",
             201);
    ck_assert_int_eq(json_integer_value(json_object_get(f, "suspect_index")), 1);
    ck_assert_str_eq(str(f, "true_cause"), "deploy v2.3.1 of payment");
    json_decref(f);
    PGconn *c = ts_pg(db_url);
    ck_assert_int_eq(ts_pg_long(c,
                                "SELECT count(*) FROM feedback WHERE true_cause = 'deploy v2.3.1 of payment' "
                                "AND suspect_index = 1 AND suspect_was_cause"),
                     1);
    PQfinish(c);
    priors(&o, why, sizeof(why));
    /* (0.5 x 4 + 1) / (4 + 1): "deployment" folds into deploy */
    ck_assert_msg(o.prior[CHANGE_DEPLOY] > 0.599 && o.prior[CHANGE_DEPLOY] < 0.601, "%s", why);
    ck_assert_msg(strstr(why, "prior deploy 0.60 (base 0.50, 1 right / 0 wrong)"), "%s", why);
    ck_assert(o.prior[CHANGE_CONFIG] == 0.35); /* the oldest suspect (a config change) was not judged */

    /* incident 2: no suspect named, and the true service is not the top suspect's: the top suspect (the
     * config change of payment; search's deploy is the oldest) was not the cause */
    f = call("POST", "/query/incidents/2/feedback", "{\"verdict\":\"wrong\",\"true_service\":\"search\"}",
             201);
    json_decref(f);
    priors(&o, why, sizeof(why));
    /* the top suspect, payment's config change, was judged not the cause: (0.35 x 4 + 0) / 5 */
    ck_assert_msg(o.prior[CHANGE_CONFIG] > 0.279 && o.prior[CHANGE_CONFIG] < 0.281, "%s", why);
    ck_assert_msg(o.prior[CHANGE_DEPLOY] > 0.599 && o.prior[CHANGE_DEPLOY] < 0.601, "%s", why);

    json_t *a = call("GET", "/query/accuracy", NULL, 200);
    json_t *sa = json_object_get(a, "suspects");
    ck_assert_int_eq(json_integer_value(json_object_get(sa, "labelled")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(sa, "top1_right")), 1);
    ck_assert(json_number_value(json_object_get(sa, "top1_accuracy")) == 0.5);
    ck_assert(json_number_value(json_object_get(json_object_get(sa, "by_type"), "deployment")) == 1.0);
    json_decref(a);

    /* a later label of incident 1 replaces the earlier one: the deploy was not the cause after all */
    f = call("POST", "/query/incidents/1/feedback",
             "{\"verdict\":\"wrong\",\"suspect\":\"suspect:1\",\"suspect_was_cause\":false}", 201);
    json_decref(f);
    priors(&o, why, sizeof(why));
    ck_assert_msg(o.prior[CHANGE_DEPLOY] > 0.399 && o.prior[CHANGE_DEPLOY] < 0.401, "%s", why);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("suspects_feedback");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, suspects_come_best_first_with_ids_and_evidence);
    tcase_add_test(tc, feedback_is_validated_by_field);
    tcase_add_test(tc, labels_move_the_priors_and_the_accuracy);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
