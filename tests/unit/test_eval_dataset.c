/* tools/dataset: the reader's optional parts (StatusCode, ExceptionType, change events, position,
 * fault-free cases; a trace file without them, as Train-Ticket's, reads as no status and no exception),
 * the signal filters, the scoring (type x position table, fault-free share, requirements), and
 * eval-offline end to end on a two-case dataset this test writes: a latency fault in the middle
 * service and a fault-free window, checked through --json (with all signals, and with logs dropped and
 * half the traces sampled). */
#include "dataset/dataset.h"
#include "dataset/tally.h"
#include "ts.h"
#include "ts_gz.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_NS 1000000000LL
#define MS_NS 1000000LL
#define T10 1893492000LL /* 2030-01-01 10:00:00 UTC */
#define DAY "2030-01-01"
#define TRACES_PER_MINUTE 60
#define SPANS_PER_TRACE 5
#define EXC_FAILED "java.sql.SQLTransientConnectionException"
#define EXC_HANDLED "java.lang.IllegalStateException"

static char root[256];

/* ---- The fixture dataset: mini-web -> mini-api -> mini-db ---- */

static uint64_t rng = 12345;

static double jitter(double ms)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return ms * (0.8 + 0.4 * (double)(rng >> 11) / (double)(1ULL << 53));
}

/* One minute of traces (one a second) and their logs; mini-api's own work takes `slow_ms` more from
 * second `slow_from` of the minute on. */
static void write_minute(const char *dir, int minute, double slow_ms, int slow_from, int error_first)
{
    FILE *t = ts_gz_create("%s/trace/10_%02d_trace.csv.gz", dir, minute);
    FILE *l = ts_gz_create("%s/log/10_%02d_log.csv.gz", dir, minute);
    fprintf(t, "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration,"
               "StatusCode,ExceptionType\n");
    fprintf(l, "Timestamp,TimeUnixNano,Node,PodName,Container,TraceID,SpanID,Log\n");
    for (int i = 0; i < TRACES_PER_MINUTE; i++) {
        /* web server > web client > api server (own work first) > api client > db server */
        int64_t t0 = (T10 + minute * 60 + i) * S_NS;
        double db = jitter(5), api = jitter(10) + (i >= slow_from ? slow_ms : 0), web = jitter(2);
        int64_t wc0 = t0 + (int64_t)(web * MS_NS), api0 = wc0 + MS_NS / 10;
        int64_t ac0 = api0 + (int64_t)(api * MS_NS), db0 = ac0 + MS_NS / 10,
                db1 = db0 + (int64_t)(db * MS_NS);
        int64_t ac1 = db1 + MS_NS / 10, api1 = ac1 + MS_NS / 10, wc1 = api1 + MS_NS / 10,
                web1 = wc1 + MS_NS / 10;
        char trace[40];
        snprintf(trace, sizeof(trace), "%02d%030d", minute, i);
        const struct {
            const char *id, *parent, *pod, *op;
            int64_t start, end;
        } spans[] = {{"w", NULL, "mini-web-5f6d7c8b9a-abcde", "GET /", t0, web1},
                     {"wc", "w", "mini-web-5f6d7c8b9a-abcde", "GET items", wc0, wc1},
                     {"a", "wc", "mini-api-6c7d8e9f0a-bcdef", "GET /items", api0, api1},
                     {"ac", "a", "mini-api-6c7d8e9f0a-bcdef", "SELECT items", ac0, ac1},
                     {"d", "ac", "mini-db-7d8e9f0a1b-cdefg", "SELECT items", db0, db1}};
        for (size_t k = 0; k < sizeof(spans) / sizeof(*spans); k++) {
            char parent[16] = "root";
            if (spans[k].parent) snprintf(parent, sizeof(parent), "%s%d", spans[k].parent, i);
            /* the failing db call recorded its exception; the api span of the second trace a handled one */
            int failing = error_first && i == 0 && k == 4;
            const char *exc = failing ? EXC_FAILED : error_first && i == 1 && k == 2 ? EXC_HANDLED : "";
            fprintf(t, "%s,%s%d,%s,%s,%s,%lld,%lld,0,%d,%s\n", trace, spans[k].id, i, parent, spans[k].pod,
                    spans[k].op, (long long)spans[k].start, (long long)spans[k].end, failing ? 2 : 1, exc);
        }
        fprintf(l,
                "2030-01-01T10:%02d:%02dZ,%lld,node1,mini-api-6c7d8e9f0a-bcdef,api,%s,a%d,"
                "\"{\"\"log\"\":\"\"18:%02d:%02d.000 INFO  c.m.Api#12 served item %d\\n\"\"}\"\n",
                minute, i, (long long)api1, trace, i, minute, i, i % 7);
    }
    ts_gz_close(t);
    ts_gz_close(l);
}

static void write_dataset(void)
{
    snprintf(root, sizeof(root), "/tmp/test-eval-dataset.%d", (int)getpid());
    char dir[400], base[400], path[512];
    snprintf(dir, sizeof(dir), "%s/%s", root, DAY);
    snprintf(base, sizeof(base), "%s/baseline/%s", root, DAY);
    ck_assert_int_eq(mkdir(root, 0755), 0);
    snprintf(path, sizeof(path), "%s/cases.csv", root);
    FILE *c = fopen(path, "w");
    ck_assert_ptr_nonnull(c);
    fprintf(
        c, "case_id,system,day,inject_time_utc,inject_timestamp,root_cause_service,root_cause_pod,fault_type,"
           "minute_files,baseline_minute,position\n"
           "mini-latency,Mini," DAY ",2030-01-01 10:01:30,1893492090,mini-api,mini-api-6c7d8e9f0a-bcdef,"
           "latency,10_01;10_02,10_00,middle\n"
           "mini-quiet,Mini," DAY ",2030-01-01 10:03:00,1893492180,,,none-steady,10_03;10_04,10_00,none\n");
    fclose(c);
    write_minute(base, 0, 0, 0, 1);
    write_minute(dir, 1, 200, 30, 0);
    write_minute(dir, 2, 200, 0, 0);
    write_minute(dir, 3, 0, 0, 0);
    write_minute(dir, 4, 0, 0, 0);
    /* metric rows of the hour before and the minutes of the cases: flat */
    const char *pods[] = {"mini-web-5f6d7c8b9a-abcde", "mini-api-6c7d8e9f0a-bcdef",
                          "mini-db-7d8e9f0a1b-cdefg"};
    for (int p = 0; p < 3; p++) {
        FILE *m = ts_gz_create("%s/metric/%s_metric.csv.gz", dir, pods[p]);
        fprintf(m, "Time,TimeStamp,PodName,CpuUsageRate(%%),JvmGcPauseTime(ms)\n");
        for (int k = -70; k <= 8; k++)
            fprintf(m, "t,%lld,%s,%.2f,%.2f\n", (long long)(T10 + 60 * k), pods[p], jitter(10), jitter(3));
        ts_gz_close(m);
    }
    /* change events two hours before: outside every window's lookback */
    FILE *ch = ts_gz_create("%s/change/changes.csv.gz", dir);
    fprintf(ch,
            "TimeUnixNano,Service,Type,Description\n%lld,,config,global flag\n%lld,mini-api,deploy,\"v2, "
            "canary\"\n",
            (long long)((T10 - 7200) * S_NS), (long long)((T10 - 7100) * S_NS));
    ts_gz_close(ch);
}

static void remove_dataset(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

/* ---- The reader ---- */

START_TEST(reads_optional_parts)
{
    write_dataset();
    ds_case_t *cases = NULL;
    size_t n = 0;
    ck_assert_int_eq(ds_load_cases(root, &cases, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(cases[0].position, "middle");
    ck_assert_int_eq(cases[0].faulty, 1);
    ck_assert_str_eq(cases[1].fault, "none-steady");
    ck_assert_str_eq(cases[1].service, "");
    ck_assert_int_eq(cases[1].faulty, 0);

    ds_window_t w = {0};
    char broot[400], minute[1][8] = {"10_00"};
    snprintf(broot, sizeof(broot), "%s/baseline", root);
    ck_assert_int_eq(ds_load_minutes(&w, broot, DAY, minute, 1), 0);
    ck_assert_uint_eq(w.n_spans, SPANS_PER_TRACE * TRACES_PER_MINUTE);
    int errors = 0, oks = 0, exceptions = 0;
    for (size_t i = 0; i < w.n_spans; i++) {
        const rank_span_t *sp = &w.spans[i];
        errors += sp->status == 2;
        oks += sp->status == 1;
        if (sp->exception_type == NULL) continue;
        exceptions++;
        ck_assert_str_eq(sp->exception_type, sp->status == 2 ? EXC_FAILED : EXC_HANDLED);
        ck_assert_str_eq(sp->span_id, sp->status == 2 ? "d0" : "a1");
    }
    ck_assert_int_eq(errors, 1);
    ck_assert_int_eq(oks, SPANS_PER_TRACE * TRACES_PER_MINUTE - 1);
    ck_assert_int_eq(exceptions, 2); /* empty fields are no exception */

    /* what the stack holds keeps the recorded exceptions (stored.c copies the spans) */
    ds_as_stored(&w, NULL, 0, T10 * S_NS, (T10 + 60) * S_NS);
    ck_assert_uint_eq(w.n_spans, SPANS_PER_TRACE * TRACES_PER_MINUTE);
    exceptions = 0;
    for (size_t i = 0; i < w.n_spans; i++)
        exceptions += w.spans[i].exception_type != NULL;
    ck_assert_int_eq(exceptions, 2);

    /* Train-Ticket's header: no status, no exception */
    char tt[512];
    snprintf(tt, sizeof(tt), "%s/tt/trace/10_00_trace.csv.gz", root);
    FILE *t = ts_gz_create("%s", tt);
    fprintf(t,
            "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration\n"
            "t1,s1,root,ts-order-service-5dc8d4f9fd-llznp,GET /order,%lld,%lld,1000\n",
            (long long)(T10 * S_NS), (long long)(T10 * S_NS + MS_NS));
    ts_gz_close(t);
    ds_window_t tw = {0};
    ck_assert_int_eq(ds_load_spans(&tw, tt), 0);
    ck_assert_uint_eq(tw.n_spans, 1);
    ck_assert_str_eq(tw.spans[0].service, "ts-order-service");
    ck_assert_int_eq(tw.spans[0].status, 0);
    ck_assert_ptr_null(tw.spans[0].exception_type);
    ds_window_free(&tw);

    ds_changes_t ch = {0};
    ck_assert_int_eq(ds_load_day_changes(&ch, root, DAY), 0);
    ck_assert_uint_eq(ch.n, 2);
    ck_assert_ptr_null(ch.ev[0].service); /* a global change */
    ck_assert_str_eq(ch.ev[1].service, "mini-api");
    ck_assert_str_eq(ch.ev[1].description, "v2, canary");
    ds_add_changes(&w, &ch, (T10 - 7150) * S_NS, T10 * S_NS);
    ck_assert_uint_eq(w.n_changes, 1);
    ds_changes_t none = {0};
    ck_assert_int_eq(ds_load_day_changes(&none, root, "1999-01-01"), 0); /* no file: no events */
    ck_assert_uint_eq(none.n, 0);

    ds_changes_free(&ch);
    ds_window_free(&w);
    free(cases);
    remove_dataset();
}
END_TEST

START_TEST(filters_drop_the_same_traces_everywhere)
{
    ds_filter_t f;
    ds_filter_init(&f);
    char *argv[] = {"x", "--sample-traces", "0.25", "--without", "logs", "--without", "traces"};
    int i = 1;
    ck_assert_int_eq(ds_filter_arg(&f, 7, argv, &i), 1);
    ck_assert_int_eq(i, 2);
    i = 3;
    ck_assert_int_eq(ds_filter_arg(&f, 7, argv, &i), 1);
    i = 5;
    ck_assert_int_eq(ds_filter_arg(&f, 7, argv, &i), -1);
    ck_assert(f.trace_share == 0.25 && f.without_logs && !f.without_metrics);
    int kept = 0;
    for (int k = 0; k < 4000; k++) {
        char id[40];
        snprintf(id, sizeof(id), "%032x", k);
        int a = ds_filter_keeps_trace(&f, id);
        ck_assert_int_eq(a, ds_filter_keeps_trace(&f, id)); /* the same decision in baseline and target */
        kept += a;
    }
    ck_assert_msg(kept > 850 && kept < 1150, "kept %d of 4000 at 25%%", kept);
    char what[96];
    ds_filter_describe(&f, what, sizeof(what));
    ck_assert_str_eq(what, "logs dropped, 25% of traces");
    ds_filter_init(&f);
    ds_filter_describe(&f, what, sizeof(what));
    ck_assert_str_eq(what, "all signals");
}
END_TEST

/* ---- Scoring ---- */

static void add(ds_score_t *s, const char *fault, const char *pos, const char *truth,
                const char *const *names, const double *scores, size_t n, int quiet)
{
    ds_case_t k = {0};
    snprintf(k.id, sizeof(k.id), "c%zu", s->n);
    snprintf(k.fault, sizeof(k.fault), "%s", fault);
    snprintf(k.position, sizeof(k.position), "%s", pos);
    snprintf(k.service, sizeof(k.service), "%s", truth);
    k.faulty = truth[0] != '\0';
    ds_outcome_t o;
    ds_outcome_init(&o, &k);
    ds_outcome_rank(&o, names, scores, n, quiet, 10.0 * (double)(s->n + 1));
    ds_score_add(s, &o);
}

static double num(json_t *j, const char *path)
{
    json_t *v = json_object_get(j, path);
    ck_assert_msg(json_is_number(v), "%s not a number", path);
    return json_number_value(v);
}

START_TEST(scores_type_by_position_and_fault_free)
{
    const char *names[] = {"a", "b", "c"};
    const double tied[] = {5, 5, 1}, plain[] = {9, 4, 1};
    ck_assert_uint_eq(ds_strict_rank_of(names, tied, 3, "a"), 2); /* ties at the worst position */
    ck_assert_uint_eq(ds_strict_rank_of(names, plain, 3, "z"), 4);

    ds_score_t s = {0};
    add(&s, "latency", "leaf", "c", names, plain, 3, 0);  /* rank 3 */
    add(&s, "latency", "entry", "a", names, plain, 3, 0); /* rank 1 */
    add(&s, "cpu", "entry", "z", names, plain, 3, 0);     /* absent: rank 4 */
    add(&s, "none-steady", "none", "", names, plain, 3, 1);
    add(&s, "none-burst", "none", "", names, plain, 3, 0); /* a false alarm naming a */
    ds_require_t req = {.top1 = 30, .top3 = 60, .quiet = 50};
    json_t *j = ds_score_to_json(&s, &req, "all signals");
    json_t *overall = json_object_get(j, "overall");
    ck_assert_int_eq((int)num(overall, "n"), 3);
    ck_assert_double_eq_tol(num(overall, "top1"), 100.0 / 3, 0.01);
    ck_assert_double_eq_tol(num(overall, "top3"), 200.0 / 3, 0.01);
    /* Avg@5: (1 + 1 + 2 + 3 + 3) / 15 (an absent service ranks n + 1 = 4) */
    ck_assert_double_eq_tol(num(overall, "avg5"), 100.0 * 10 / 15, 0.01);
    json_t *table = json_object_get(j, "table"), *cols = json_object_get(table, "positions");
    ck_assert_uint_eq(json_array_size(cols), 3); /* known positions in the matrix's order, then all */
    ck_assert_str_eq(json_string_value(json_array_get(cols, 0)), "entry");
    ck_assert_str_eq(json_string_value(json_array_get(cols, 1)), "leaf");
    json_t *rows = json_object_get(table, "rows"), *lat = json_array_get(rows, 0);
    ck_assert_uint_eq(json_array_size(rows), 3); /* latency, cpu, all: fault-free windows are no row */
    ck_assert_str_eq(json_string_value(json_object_get(lat, "fault_type")), "latency");
    json_t *cells = json_object_get(lat, "cells");
    ck_assert_double_eq(num(json_object_get(cells, "entry"), "top1"), 100);
    ck_assert_double_eq(num(json_object_get(cells, "leaf"), "top1"), 0);
    ck_assert_double_eq(num(json_object_get(cells, "leaf"), "top3"), 100);
    ck_assert_int_eq((int)num(json_object_get(cells, "all"), "n"), 2);
    json_t *ff = json_object_get(j, "fault_free");
    ck_assert_int_eq((int)num(ff, "n"), 2);
    ck_assert_double_eq(num(ff, "share"), 50);
    json_t *alarms = json_object_get(ff, "false_alarms");
    ck_assert_uint_eq(json_array_size(alarms), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(alarms, 0), "top_service")), "a");
    ck_assert_double_eq(num(json_object_get(j, "ranking_ms"), "p95"), 50);
    ck_assert(json_is_true(json_object_get(json_object_get(j, "requirements"), "met")));
    json_decref(j);

    ck_assert_int_eq(ds_score_meets(&s, &req, NULL), 1);
    req.top1 = 40;
    ck_assert_int_eq(ds_score_meets(&s, &req, NULL), 0);
    req = (ds_require_t){.quiet = 60};
    ck_assert_int_eq(ds_score_meets(&s, &req, NULL), 0);
    ds_score_free(&s);

    /* a fault-free requirement with no fault-free window fails rather than passing unmeasured */
    add(&s, "cpu", "entry", "a", names, plain, 3, 0);
    req = (ds_require_t){.quiet = 10};
    ck_assert_int_eq(ds_score_meets(&s, &req, NULL), 0);
    ds_score_free(&s);
}
END_TEST

/* ---- eval-offline on the fixture ---- */

/* Runs eval-offline with `args` on the fixture; returns its JSON answer and exit status. */
static json_t *run_offline(const char *args, int *status)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' --dir '%s' --json %s 2>/dev/null", EVAL_OFFLINE_BIN, root, args);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    json_error_t err;
    json_t *j = json_loadf(p, 0, &err);
    int st = pclose(p);
    ck_assert_msg(j != NULL, "no JSON from eval-offline %s: %s", args, err.text);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return j;
}

START_TEST(eval_offline_scores_the_fixture)
{
    write_dataset();
    int st;
    json_t *j = run_offline("--require-top1 100 --require-quiet 100", &st);
    ck_assert_int_eq(st, 0);
    json_t *cases = json_object_get(j, "cases"), *faulty = json_array_get(cases, 0),
           *free_ = json_array_get(cases, 1);
    ck_assert_uint_eq(json_array_size(cases), 2);
    ck_assert_int_eq((int)num(faulty, "rank"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(faulty, "position")), "middle");
    ck_assert(json_is_null(json_object_get(free_, "rank")));
    ck_assert(json_is_true(json_object_get(free_, "nothing_stands_out")));
    ck_assert(json_is_true(json_object_get(free_, "correct")));
    ck_assert_double_eq(num(json_object_get(j, "fault_free"), "share"), 100);
    json_t *row = json_array_get(json_object_get(json_object_get(j, "table"), "rows"), 0);
    ck_assert_int_eq((int)num(json_object_get(json_object_get(row, "cells"), "middle"), "n"), 1);
    json_t *seen = json_object_get(json_object_get(faulty, "ranking"), "looked_at");
    ck_assert_int_eq((int)num(seen, "spans"), 2 * SPANS_PER_TRACE * TRACES_PER_MINUTE);
    ck_assert_int_gt((int)num(seen, "logs"), 0);
    json_decref(j);

    /* logs dropped and half the traces: what the ranking looked at shrinks accordingly */
    j = run_offline("--without logs --sample-traces 0.5", &st);
    ck_assert_str_eq(json_string_value(json_object_get(j, "signals")), "logs dropped, 50% of traces");
    seen = json_object_get(json_object_get(json_array_get(json_object_get(j, "cases"), 0), "ranking"),
                           "looked_at");
    int spans = (int)num(seen, "spans");
    ck_assert_int_eq(spans % SPANS_PER_TRACE, 0); /* whole traces */
    ck_assert_msg(spans > SPANS_PER_TRACE * 40 && spans < SPANS_PER_TRACE * 80, "%d spans kept of %d", spans,
                  SPANS_PER_TRACE * 2 * TRACES_PER_MINUTE);
    ck_assert_int_eq((int)num(seen, "logs"), 0);
    json_decref(j);

    /* a missed requirement fails the run */
    j = run_offline("--require-top1 100 --require-quiet 100 --case mini-quiet", &st);
    ck_assert_int_eq(st, 1); /* no faulty case ranked: top-1 unmeasured */
    json_decref(j);
    remove_dataset();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("eval_dataset");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, reads_optional_parts);
    tcase_add_test(tc, filters_drop_the_same_traces_everywhere);
    tcase_add_test(tc, scores_type_by_position_and_fault_free);
    tcase_add_test(tc, eval_offline_scores_the_fixture);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
