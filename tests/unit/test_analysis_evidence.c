/* Evidence and the deterministic report (pipeline/analysis/evidence.h via analysis_run): the same
 * trace in any row order gives byte-identical evidence and report; change events become suspects with
 * a proximity score; metric shifts of the root-cause service become hints; the deterministic report
 * passes the same check as an LLM answer. */
#include "analysis/analysis.h"
#include "analysis/llm_check.h"

#include "ts.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000LL
#define SEC 1000000000LL
#define T0 1768212000000000000LL

static const char pay_events[] =
    "[{\"name\":\"exception\",\"time\":1768212000040000000,\"attributes\":{\"exception.type\":"
    "\"com.acme.payment.DbTimeoutException\",\"exception.message\":\"query timed out after 250 ms\","
    "\"exception.stacktrace\":\"com.acme.payment.DbTimeoutException: query timed out after 250 ms\\n\\tat "
    "com.acme.payment.ChargeRepository.insert(ChargeRepository.java:88)\\n\\tat "
    "org.postgresql.jdbc.PgStatement.execute(PgStatement.java:300)\\n\"}}]";

/* A trace with a bit of everything: fan-out, a failing database call, a duplicate, an orphan, a
 * skewed service, logs with and without span ids, metrics and change events. */
typedef struct {
    analysis_span_t spans[40];
    analysis_log_t logs[30];
    analysis_metric_t metrics[80];
    analysis_change_t changes[5];
    char ids[40][20];
    size_t ns, nl, nm, nc;
} fixture_t;

static void add_span(fixture_t *f, const char *parent, const char *svc, const char *name, const char *kind,
                     int64_t s_ms, int64_t e_ms, int status, const char *events)
{
    size_t i = f->ns++;
    snprintf(f->ids[i], sizeof(f->ids[i]), "%016zx", i + 0xa0);
    f->spans[i] = (analysis_span_t){f->ids[i],
                                    parent,
                                    svc,
                                    name,
                                    kind,
                                    T0 + s_ms * MS,
                                    T0 + e_ms * MS,
                                    status,
                                    status == 2 ? "failed" : NULL,
                                    "{\"peer.service\":\"payment\"}",
                                    events};
}

static void build(fixture_t *f)
{
    memset(f, 0, sizeof(*f));
    add_span(f, NULL, "gateway", "POST /orders", "SERVER", 0, 300, 2, NULL);                /* 0 */
    add_span(f, f->ids[0], "gateway", "validate order", "INTERNAL", 1, 3, 1, NULL);         /* 1 */
    add_span(f, f->ids[0], "gateway", "POST payment /charge", "CLIENT", 4, 290, 2, NULL);   /* 2 */
    add_span(f, f->ids[2], "payment", "POST /charge", "SERVER", 5, 285, 2, NULL);           /* 3 */
    add_span(f, f->ids[3], "payment", "validate card", "INTERNAL", 6, 8, 1, NULL);          /* 4 */
    add_span(f, f->ids[3], "payment", "db.query charge", "CLIENT", 10, 270, 2, pay_events); /* 5 */
    add_span(f, f->ids[3], "payment", "POST inventory /reserve", "CLIENT", 9, 10, 1, NULL); /* 6 */
    /* inventory's clock is 2 s behind */
    add_span(f, f->ids[6], "inventory", "POST /reserve", "SERVER", -1991, -1990, 1, NULL); /* 7 */
    for (int k = 0; k < 12; k++)
        add_span(f, f->ids[7], "inventory", k % 2 ? "SELECT stock" : "UPDATE stock", "INTERNAL", -1991, -1990,
                 1, NULL);
    add_span(f, "feedfacefeedface", "audit", "write", "CONSUMER", 100, 120, 1, NULL); /* orphan */
    f->spans[f->ns] = f->spans[5];                                                    /* duplicate */
    f->spans[f->ns].status = 1;
    f->ns++;
    const char *svc[] = {"gateway", "payment", "inventory"};
    for (int i = 0; i < 24; i++) {
        const char *span = i % 3 == 0 ? NULL : f->ids[i % 8];
        f->logs[f->nl++] = (analysis_log_t){T0 + (int64_t)i * 11 * MS,
                                            svc[i % 3],
                                            i % 4 ? "INFO" : "ERROR",
                                            i % 4 ? 3 : 5,
                                            i % 5 ? "handled order 17" : "order 17 failed",
                                            span,
                                            NULL,
                                            NULL};
    }
    /* payment's p95 latency: flat ~20 ms for 10 minutes, then 260 ms during the trace */
    for (int i = 0; i < 60; i++)
        f->metrics[f->nm++] =
            (analysis_metric_t){T0 - 590 * SEC + (int64_t)i * 9 * SEC, "payment", "p95_latency_ms",
                                20 + (i % 3), "{\"endpoint\":\"POST /charge\"}"};
    for (int i = 0; i < 3; i++)
        f->metrics[f->nm++] = (analysis_metric_t){T0 - 10 * SEC + (int64_t)i * 5 * SEC, "payment",
                                                  "p95_latency_ms", 260, "{\"endpoint\":\"POST /charge\"}"};
    for (int i = 0; i < 10; i++) /* a steady series: no hint */
        f->metrics[f->nm++] =
            (analysis_metric_t){T0 - 500 * SEC + (int64_t)i * 50 * SEC, "payment", "requests_per_s", 5, NULL};
    f->changes[f->nc++] = (analysis_change_t){T0 - 120 * SEC, "payment", "deploy", "v2.3.1", NULL};
    f->changes[f->nc++] = (analysis_change_t){T0 - 300 * SEC, NULL, "flag", "new checkout", NULL};
    f->changes[f->nc++] = (analysis_change_t){T0 - 60 * SEC, "inventory", "config", "pool size 4", NULL};
    f->changes[f->nc++] = (analysis_change_t){T0 + 5 * SEC, "payment", "deploy", "after the failure", NULL};
    f->changes[f->nc++] = (analysis_change_t){T0 - 700 * SEC, "payment", "deploy", "too early", NULL};
}

static trace_ctx_t ctx_of(fixture_t *f)
{
    trace_ctx_t c = {"4bf92f3577b34da6a3ce929d0e0e4736",
                     f->spans,
                     f->ns,
                     f->logs,
                     f->nl,
                     f->metrics,
                     f->nm,
                     f->changes,
                     f->nc};
    return c;
}

static unsigned long long rng = 88172645463325252ULL;
static size_t rnd(size_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (size_t)(rng % n);
}

#define SHUFFLE(a, n)                                                                                        \
    for (size_t i_ = (n); i_ > 1; i_--) {                                                                    \
        size_t j_ = rnd(i_);                                                                                 \
        __typeof__(a[0]) t_ = a[i_ - 1];                                                                     \
        a[i_ - 1] = a[j_];                                                                                   \
        a[j_] = t_;                                                                                          \
    }

START_TEST(shuffled_input_same_bytes)
{
    fixture_t *f = malloc(sizeof(*f));
    build(f);
    trace_ctx_t c = ctx_of(f);
    analysis_result_t r0;
    ck_assert_int_eq(analysis_run(&c, NULL, &r0), 0);
    char *ev0 = analysis_json_dump(r0.evidence), *rep0 = analysis_json_dump(r0.report);
    ck_assert_str_eq(r0.span_id, f->ids[5]);
    for (int round = 0; round < 25; round++) {
        SHUFFLE(f->spans, f->ns);
        SHUFFLE(f->logs, f->nl);
        SHUFFLE(f->metrics, f->nm);
        SHUFFLE(f->changes, f->nc);
        analysis_result_t r;
        c = ctx_of(f);
        ck_assert_int_eq(analysis_run(&c, NULL, &r), 0);
        char *ev = analysis_json_dump(r.evidence), *rep = analysis_json_dump(r.report);
        ck_assert_str_eq(ev, ev0);
        ck_assert_str_eq(rep, rep0);
        ck_assert_str_eq(r.fingerprint, r0.fingerprint);
        free(ev);
        free(rep);
        analysis_result_dispose(&r);
    }
    free(ev0);
    free(rep0);
    analysis_result_dispose(&r0);
    free(f);
}
END_TEST

START_TEST(layout_suspects_and_hints)
{
    fixture_t *f = malloc(sizeof(*f));
    build(f);
    trace_ctx_t c = ctx_of(f);
    analysis_result_t r;
    analysis_run(&c, NULL, &r);
    /* fixed key order */
    const char *want[] = {"schema",    "trace_id",       "kind",           "window",
                          "entry",     "verdict_inputs", "root_cause",     "propagation_path",
                          "retries",   "failed_spans",   "other_failures", "logs",
                          "suspects",  "anomalies",      "span_tree",      "services",
                          "endpoints", "fingerprint",    "counts"};
    void *it = json_object_iter(r.evidence);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++, it = json_object_iter_next(r.evidence, it)) {
        ck_assert_ptr_nonnull(it);
        ck_assert_str_eq(json_object_iter_key(it), want[i]);
    }
    ck_assert_ptr_null(it);
    ck_assert_str_eq(json_string_value(json_object_get(r.evidence, "fingerprint")), r.fingerprint);
    /* suspects: the deploy of the failing service first; nothing after the failure or too early */
    const json_t *sus = json_object_get(r.evidence, "suspects");
    ck_assert_uint_eq(json_array_size(sus), 3);
    const json_t *s0 = json_array_get(sus, 0);
    ck_assert_str_eq(json_string_value(json_object_get(s0, "service")), "payment");
    ck_assert_str_eq(json_string_value(json_object_get(s0, "type")), "deploy");
    ck_assert_int_eq(json_integer_value(json_object_get(s0, "delta_ms")), 120010);
    double score = json_number_value(json_object_get(s0, "score"));
    ck_assert(score > 0.7 && score <= 1.0);
    ck_assert(
        json_is_null(json_object_get(json_array_get(sus, 2), "service"))); /* the global flag, farthest */
    /* hints: payment's p95 jumped; requests_per_s did not move */
    const json_t *an = json_object_get(r.evidence, "anomalies");
    ck_assert_uint_eq(json_array_size(an), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(an, 0), "metric")), "p95_latency_ms");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(an, 0), "direction")), "up");
    /* tree issues */
    const json_t *tree = json_object_get(r.evidence, "span_tree");
    ck_assert_int_eq(json_integer_value(json_object_get(tree, "norphans")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(tree, "nduplicates")), 1);
    ck_assert_uint_eq(json_array_size(json_object_get(tree, "clock_skew")), 1);
    /* the report: suspect remediation, generated_by, and it passes the answer check */
    const json_t *rem = json_object_get(r.report, "remediation");
    int mentions_deploy = 0;
    for (size_t i = 0; i < json_array_size(rem); i++)
        mentions_deploy |= strstr(json_string_value(json_array_get(rem, i)), "deploy of payment") != NULL;
    ck_assert(mentions_deploy);
    ck_assert_str_eq(json_string_value(json_object_get(r.report, "generated_by")), "deterministic");
    char *text = analysis_json_dump(r.report), why[256];
    json_t *accepted;
    ck_assert_msg(analysis_llm_check(text, strlen(text), r.evidence, &accepted, why, sizeof(why)) == 0, "%s",
                  why);
    json_decref(accepted);
    free(text);
    analysis_result_dispose(&r);
    free(f);
}
END_TEST

START_TEST(untrusted_text_stays_valid_json)
{
    /* invalid UTF-8, control bytes and a huge message: the evidence still dumps, bounded */
    size_t big = 200000;
    char *msg = malloc(big + 1);
    memset(msg, 'x', big);
    msg[big] = '\0';
    msg[0] = (char)0xff;
    msg[1] = (char)0xc3;
    analysis_span_t s[] = {
        {"\xff\xfe", NULL, "svc\xc3", "op\x01", NULL, T0, T0 + MS, 2, msg, "{bad json", "[oops"}};
    analysis_log_t l[] = {{T0, "svc\xc3", "ERROR", 5, msg, "\xff\xfe", msg, NULL}};
    trace_ctx_t c = {"t", s, 1, l, 1, NULL, 0, NULL, 0};
    analysis_result_t r;
    ck_assert_int_eq(analysis_run(&c, NULL, &r), 0);
    char *ev = analysis_json_dump(r.evidence), *rep = analysis_json_dump(r.report);
    ck_assert_ptr_nonnull(ev);
    ck_assert_ptr_nonnull(rep);
    ck_assert_uint_lt(strlen(ev), 20000);
    json_t *back = json_loads(ev, 0, NULL);
    ck_assert_ptr_nonnull(back);
    ck_assert(json_is_true(json_object_get(json_array_get(json_object_get(back, "logs"), 0), "truncated")));
    json_decref(back);
    free(ev);
    free(rep);
    analysis_result_dispose(&r);
    free(msg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("analysis_evidence");
    TCase *tc = tcase_create("evidence");
    tcase_add_test(tc, shuffled_input_same_bytes);
    tcase_add_test(tc, layout_suspects_and_hints);
    tcase_add_test(tc, untrusted_text_stays_valid_json);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
