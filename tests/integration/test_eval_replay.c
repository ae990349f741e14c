/* eval-replay (tools/eval_replay.c) through a real backend and pipeline on a one-case dataset this test
 * writes with fake-shop's trace layout: the spans whose ExceptionType field names an exception are stored
 * with an OTel "exception" event carrying that exception.type at the span's end, spans with an empty field
 * without events, and the case is ranked (exit 0: POST /debug/analyze-window answers a window holding
 * recorded exceptions). */
#include "ts.h"
#include "ts_gz.h"

#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_NS 1000000000LL
#define MS_NS 1000000LL
#define T10 1780308000LL /* 2026-06-01 10:00:00 UTC */
#define DAY "2026-06-01"
#define TRACES_PER_MINUTE 30
#define EXC_HANDLED "java.lang.IllegalStateException"
#define EXC_FAILED "java.sql.SQLTransientConnectionException"

static char root[256];
static char *db_url;
static char prefix[64];
static ts_proc_t backend, pipeline;

/* What a minute's api server spans recorded (the case's minutes only): every third trace a handled
 * exception (status OK), the first trace of the last minute a failure with its exception. */
static const char *exception_of(int faulty, int minute, int i, int *status)
{
    *status = 1;
    if (!faulty) return "";
    if (minute == 2 && i == 0) {
        *status = 2;
        return EXC_FAILED;
    }
    return i % 3 == 0 ? EXC_HANDLED : "";
}

/* One minute file: web (server, then client) -> api (server), one trace every 2 s, and one api log line
 * per trace. */
static void write_minute(const char *dir, int minute, int faulty)
{
    FILE *t = ts_gz_create("%s/trace/10_%02d_trace.csv.gz", dir, minute);
    FILE *l = ts_gz_create("%s/log/10_%02d_log.csv.gz", dir, minute);
    fprintf(t, "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration,"
               "StatusCode,ExceptionType\n");
    fprintf(l, "Timestamp,TimeUnixNano,Node,PodName,Container,TraceID,SpanID,Log\n");
    for (int i = 0; i < TRACES_PER_MINUTE; i++) {
        long long t0 = (T10 + minute * 60 + 2 * i) * S_NS, api0 = t0 + 2 * MS_NS, api1 = api0 + 8 * MS_NS;
        char trace[33];
        snprintf(trace, sizeof(trace), "%016x%016x", 0xe7c0 + minute, i + 1);
        int st;
        const char *exc = exception_of(faulty, minute, i, &st);
        fprintf(t, "%s,%04x%012x,root,web-5f6d7c8b9a-abcde,GET /,%lld,%lld,0,%d,\n", trace, 0xa000 + minute,
                i, t0, api1 + 2 * MS_NS, st);
        fprintf(t, "%s,%04x%012x,%04x%012x,web-5f6d7c8b9a-abcde,GET items,%lld,%lld,0,%d,\n", trace,
                0xb000 + minute, i, 0xa000 + minute, i, t0 + MS_NS, api1 + MS_NS, st);
        fprintf(t, "%s,%04x%012x,%04x%012x,api-6c7d8e9f0a-bcdef,GET /items,%lld,%lld,0,%d,%s\n", trace,
                0xc000 + minute, i, 0xb000 + minute, i, api0, api1, st, exc);
        fprintf(l,
                "2026-06-01T10:%02d:%02dZ,%lld,node1,api-6c7d8e9f0a-bcdef,api,%s,%04x%012x,"
                "\"{\"\"log\"\":\"\"10:%02d:%02d.000 INFO  c.m.Api#12 served item %d\\n\"\"}\"\n",
                minute, 2 * i, api1, trace, 0xc000 + minute, i, minute, 2 * i, i % 7);
    }
    ts_gz_close(t);
    ts_gz_close(l);
}

static void write_dataset(void)
{
    snprintf(root, sizeof(root), "/tmp/test-eval-replay.%d", (int)getpid());
    char dir[400], base[400], path[512];
    snprintf(dir, sizeof(dir), "%s/%s", root, DAY);
    snprintf(base, sizeof(base), "%s/baseline/%s", root, DAY);
    snprintf(path, sizeof(path), "mkdir -p '%s'", root);
    ck_assert_int_eq(system(path), 0);
    snprintf(path, sizeof(path), "%s/cases.csv", root);
    FILE *c = fopen(path, "w");
    ck_assert_ptr_nonnull(c);
    fprintf(
        c, "case_id,system,day,inject_time_utc,inject_timestamp,root_cause_service,root_cause_pod,fault_type,"
           "minute_files,baseline_minute,position\n"
           "mini-exc,Mini," DAY ",2026-06-01 10:01:00,1780308060,api,api-6c7d8e9f0a-bcdef,exception-caught,"
           "10_01;10_02,10_00,leaf\n");
    ck_assert_int_eq(fclose(c), 0);
    write_minute(base, 0, 0);
    write_minute(dir, 1, 1);
    write_minute(dir, 2, 1);
}

static void setup(void)
{
    char suffix[9];
    ts_hex(suffix, 8);
    snprintf(prefix, sizeof(prefix), "t:%s:", suffix);
    db_url = ts_create_database("evalreplay");
    ck_assert_int_eq(ts_start_backend(&backend, db_url, prefix, NULL), 0);
    ck_assert_int_eq(ts_start_pipeline(&pipeline, db_url, prefix, NULL), 0);
    write_dataset();
}

static void teardown(void)
{
    ts_stop(&pipeline, SIGTERM);
    ts_stop(&backend, SIGTERM);
    free(db_url);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(replay_stores_recorded_exceptions_as_events)
{
    char *bin = ts_program("tools/eval-replay"), cmd[2048], out[8192];
    snprintf(cmd, sizeof(cmd),
             "INGEST_KEY='%s' ADMIN_KEY='%s' '%s' --dir '%s' --backend '%s' --pipeline '%s' 2>&1",
             TS_INGEST_KEY, TS_ADMIN_KEY, bin, root, backend.url, pipeline.url);
    free(bin);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root); /* here too: a failed check skips the teardown */
    ck_assert_int_eq(system(cmd), 0);

    /* every third api span of the two case minutes, the failing one included */
    long handled = 2 * ((TRACES_PER_MINUTE + 2) / 3) - 1, failed = 1;
    PGconn *c = ts_pg(db_url);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM spans"), 3 * 3 * TRACES_PER_MINUTE);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM spans WHERE events <> '[]'"), handled + failed);
    ck_assert_int_eq(
        ts_pg_long(c,
                   "SELECT count(*) FROM spans WHERE status = 1 AND service = 'api' AND events "
                   "@> '[{\"name\":\"exception\",\"attributes\":{\"exception.type\":\"" EXC_HANDLED "\"}}]'"),
        handled);
    ck_assert_int_eq(
        ts_pg_long(c,
                   "SELECT count(*) FROM spans WHERE status = 2 AND service = 'api' AND events "
                   "@> '[{\"name\":\"exception\",\"attributes\":{\"exception.type\":\"" EXC_FAILED "\"}}]'"),
        failed);
    /* one event per span, at the span's end */
    ck_assert_int_eq(
        ts_pg_long(c, "SELECT count(*) FROM spans WHERE events <> '[]' AND "
                      "(jsonb_array_length(events) <> 1 OR (events->0->>'time_ns')::bigint <> end_ns "
                      "OR (events->0->>'time_ns') IS NULL)"),
        0);
    PQfinish(c);
    /* and the case was ranked: the window holding those exceptions is answered */
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "eval-replay failed:\n%s", out);
    ck_assert_msg(strstr(out, "cases failed to send or rank: 0") != NULL, "%s", out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("eval_replay");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, replay_stores_recorded_exceptions_as_events);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
