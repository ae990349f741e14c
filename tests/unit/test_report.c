/* The report's one schema (pipeline/rca/report.h): the constructor writes every field in one order
 * whoever calls it (a trace, a window, a checked LLM answer), null root fields stay null, optional
 * notes appear only when given, bad bytes never lose the report, and the LLM's JSON schema and the
 * answer check use the same root-cause fields. */
#include "llm_io.h"
#include "report.h"
#include "window_report.h"

#include "ts.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* The report's keys in order, comma-separated (jansson keeps insertion order). */
static void keys_of(const json_t *o, char *out, size_t n)
{
    const char *k;
    json_t *v;
    size_t len = 0;
    out[0] = '\0';
    json_object_foreach((json_t *)o, k, v) len +=
        (size_t)snprintf(out + len, n - len, "%s%s", len ? "," : "", k);
}

START_TEST(every_field_in_one_order)
{
    report_finding_t f = {.summary = "payment failed",
                          .impact = "1 of 3 spans failed",
                          .service = "payment",
                          .span_id = "00000000000000aa",
                          .operation = "POST /charge",
                          .exception = NULL,
                          .evidence = json_pack("[s]", "span:00000000000000aa"),
                          .remediation = json_pack("[s]", "Inspect POST /charge"),
                          .confidence = 0.7,
                          .conclusive = 1,
                          .generated_by = REPORT_BY_DETERMINISTIC,
                          .explanation = "payment failed in POST /charge"};
    json_t *r = report_build(&f);
    char keys[512];
    keys_of(r, keys, sizeof(keys));
    ck_assert_str_eq(keys, "summary,root_cause,impact,evidence,remediation,confidence,verdict,generated_by,"
                           "explanation");
    keys_of(json_object_get(r, "root_cause"), keys, sizeof(keys));
    ck_assert_str_eq(keys, "service,span_id,operation,exception");
    ck_assert(json_is_null(json_object_get(json_object_get(r, "root_cause"), "exception")));
    ck_assert_str_eq(json_string_value(json_object_get(r, "verdict")), "conclusive");
    ck_assert_double_eq(json_real_value(json_object_get(r, "confidence")), 0.7);
    ck_assert_int_eq(json_array_size(json_object_get(r, "evidence")), 1);
    json_decref(r);
}
END_TEST

START_TEST(optional_notes_only_when_given_and_bad_bytes_keep_the_report)
{
    report_finding_t f = {.summary = "bad \xff bytes", .impact = NULL, .note = "n", .sample = "s"};
    json_t *r = report_build(&f);
    ck_assert_ptr_nonnull(r);
    char keys[512];
    keys_of(r, keys, sizeof(keys));
    ck_assert_str_eq(keys, "summary,root_cause,impact,evidence,remediation,confidence,verdict,generated_by,"
                           "note,sample");
    ck_assert_str_eq(json_string_value(json_object_get(r, "summary")), "(not valid UTF-8)");
    ck_assert_str_eq(json_string_value(json_object_get(r, "impact")), "");
    ck_assert_str_eq(json_string_value(json_object_get(r, "verdict")), "inconclusive");
    ck_assert_str_eq(json_string_value(json_object_get(r, "generated_by")), "deterministic");
    ck_assert_int_eq(json_array_size(json_object_get(r, "remediation")), 0);
    json_decref(r);
}
END_TEST

/* The three builders produce the same top-level fields and root-cause fields in the same order. */
START_TEST(window_and_llm_reports_have_the_schema)
{
    json_t *ranking = json_pack("{s:[{s:s,s:f,s:[{s:s,s:s,s:s,s:s}]}],s:b}", "services", "service", "payment",
                                "score", 5.0, "evidence", "kind", "self_time", "subject", "POST /charge",
                                "context", "", "text", "self time rose", "nothing_stands_out", 0);
    json_t *evidence = NULL;
    json_t *w = window_report_build(ranking, "p95 rose", NULL, &evidence);
    char keys[512];
    keys_of(w, keys, sizeof(keys));
    ck_assert_str_eq(keys,
                     "summary,root_cause,impact,evidence,remediation,confidence,verdict,generated_by,note");
    keys_of(json_object_get(w, "root_cause"), keys, sizeof(keys));
    ck_assert_str_eq(keys, "service,span_id,operation,exception");

    json_t *ev = json_pack("{s:{s:s,s:s,s:s},s:[s],s:[],s:[],s:s}", "root_cause", "id", "span:aa", "service",
                           "payment", "span_id", "aa", "services", "payment", "propagation_path", "logs",
                           "sample", "a sample");
    char why[256] = "";
    json_t *l =
        llm_check_answer("{\"summary\":\"s\",\"root_cause\":{\"service\":\"payment\",\"span_id\":\"aa\","
                         "\"operation\":\"op\",\"exception\":null},\"impact\":\"i\",\"evidence\":"
                         "[\"span:aa\"],\"remediation\":[\"r\"],\"verdict\":\"conclusive\","
                         "\"confidence\":1}",
                         ev, 0.9, why, sizeof(why));
    ck_assert_msg(l != NULL, "%s", why);
    keys_of(l, keys, sizeof(keys));
    ck_assert_str_eq(keys, "summary,root_cause,impact,evidence,remediation,confidence,verdict,generated_by,"
                           "sample");
    ck_assert_str_eq(json_string_value(json_object_get(l, "generated_by")), "llm");
    ck_assert_double_eq(json_real_value(json_object_get(l, "confidence")), 0.9);
    json_decref(l);
    json_decref(ev);
    json_decref(w);
    json_decref(evidence);
    json_decref(ranking);
}
END_TEST

START_TEST(the_llm_schema_asks_for_the_root_fields_and_no_confidence)
{
    json_t *s = report_answer_schema();
    json_t *props = json_object_get(s, "properties");
    ck_assert_ptr_null(json_object_get(props, "confidence"));
    json_t *required = json_object_get(json_object_get(props, "root_cause"), "required");
    ck_assert_int_eq(json_array_size(required), REPORT_ROOT_NFIELDS);
    for (int i = 0; i < REPORT_ROOT_NFIELDS; i++)
        ck_assert_str_eq(json_string_value(json_array_get(required, (size_t)i)), report_root_fields[i]);
    ck_assert(report_verdict_valid("conclusive") && report_verdict_valid("inconclusive"));
    ck_assert(!report_verdict_valid("maybe") && !report_verdict_valid(NULL));
    json_decref(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("schema");
    tcase_add_test(tc, every_field_in_one_order);
    tcase_add_test(tc, optional_notes_only_when_given_and_bad_bytes_keep_the_report);
    tcase_add_test(tc, window_and_llm_reports_have_the_schema);
    tcase_add_test(tc, the_llm_schema_asks_for_the_root_fields_and_no_confidence);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
