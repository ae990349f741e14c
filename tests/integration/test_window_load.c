/* window_load() (pipeline/window_load.c) against the real PostgreSQL, as the pipeline's role:
 *   - the metric values it gives each window are exactly those of the SQL the window ranking used before
 *     it computed the periods itself (kept below as the oracle): series told apart by their labels, a
 *     period capped at 10 minutes, a series of one point, points at the same time, a counter's rates;
 *   - spans, logs and change events come back whole (binary values: times near 2^61, a NULL parent, the
 *     status), a long message with the 2 KiB the ranker reads;
 *   - a query that fails mid-pipeline makes it fail cleanly and leaves the connection usable, out of
 *     pipeline mode and with the planner setting of the load gone;
 *   - window_load_warm(), run on a pipeline thread's new connection, loads the window up to the latest
 *     span stored (or now), on a connection opened as the pipeline opens it (JIT off), and leaves it as a
 *     load does. */
#include "db.h"
#include "ts.h"
#include "window_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S 1000000000LL
#define MIN (60 * S)
#define T0 1767268800000000000LL /* 2026-01-01 12:00 UTC: the target window is [T0, T0 + 3 min) */
#define T1 (T0 + 3 * MIN)
#define B0 (T0 - 20 * MIN) /* the baseline window */
#define B1 (T0 - 17 * MIN)

static char *url;
static PGconn *owner, *pipe_conn; /* the database's owner (sets up), the pipeline's role (loads) */

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s",
                  sql, PQerrorMessage(c));
    PQclear(r);
}

static void setup(void)
{
    url = ts_create_database("windowload");
    owner = ts_pg(url);
    char dir[512], err[512];
    snprintf(dir, sizeof(dir), "%s/migrations", ts_env("PS_SOURCE_DIR"));
    ck_assert_msg(db_migrate(owner, dir, err, sizeof(err)) >= 0, "migrate: %s", err);
    exec_ok(owner, "SELECT ensure_raw_partitions('2026-01-01')");
    char *purl = ts_role_url(url, TS_ROLE_PIPELINE);
    pipe_conn = ts_pg(purl);
    free(purl);
}

static void teardown(void)
{
    PQfinish(pipe_conn);
    PQfinish(owner);
    free(url);
}

/* ---- records ---- */

static void point(const char *svc, const char *name, const char *labels, int64_t ts, double value, int kind,
                  int temporality, int monotonic)
{
    char ts_s[24], v[40], k[8], t[8];
    snprintf(ts_s, sizeof(ts_s), "%lld", (long long)ts);
    snprintf(v, sizeof(v), "%.17g", value);
    snprintf(k, sizeof(k), "%d", kind);
    snprintf(t, sizeof(t), "%d", temporality);
    const char *p[] = {ts_s, svc, name, v, labels, k, t, monotonic ? "true" : "false"};
    PGresult *r =
        PQexecParams(owner,
                     "INSERT INTO metric_points (ts_ns, service, name, value, labels, point_hash, kind, "
                     "temporality, monotonic) VALUES ($1::bigint, $2, $3, $4::float8, $5::jsonb, "
                     "md5($1 || $2 || $3 || $5 || $4)::uuid, $6::smallint, $7::smallint, $8::boolean)",
                     8, NULL, p, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "insert point: %s", PQerrorMessage(owner));
    PQclear(r);
}

/* A gauge every `step` over [from, to). */
static void gauge(const char *svc, const char *name, const char *labels, int64_t from, int64_t to,
                  int64_t step)
{
    for (int64_t ts = from; ts < to; ts += step)
        point(svc, name, labels, ts, (double)(ts / S % 97) + 0.25, 0, 0, 0);
}

/* A span of GET /x lasting 1,234,567 ns, recording the events given as JSON ("[]": none). */
static void span_events(const char *trace, const char *id, const char *parent, const char *svc, int64_t start,
                        int status, const char *events)
{
    char st[24], en[24], stat[8];
    snprintf(st, sizeof(st), "%lld", (long long)start);
    snprintf(en, sizeof(en), "%lld", (long long)(start + 1234567));
    snprintf(stat, sizeof(stat), "%d", status);
    const char *p[] = {trace, id, parent, svc, st, en, stat, events};
    PGresult *r =
        PQexecParams(owner,
                     "INSERT INTO spans (trace_id, span_id, parent_span_id, service, name, start_ns, "
                     "end_ns, status, events) VALUES ($1, $2, $3, $4, 'GET /x', $5::bigint, $6::bigint, "
                     "$7::smallint, $8::jsonb)",
                     8, NULL, p, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "insert span: %s", PQerrorMessage(owner));
    PQclear(r);
}

static void span(const char *trace, const char *id, const char *parent, const char *svc, int64_t start,
                 int status)
{
    span_events(trace, id, parent, svc, start, status, "[]");
}

static void log_line(const char *svc, int64_t ts, int severity, const char *msg, const char *trace)
{
    char t[24], sev[8];
    snprintf(t, sizeof(t), "%lld", (long long)ts);
    snprintf(sev, sizeof(sev), "%d", severity);
    const char *p[] = {t, svc, sev, msg, trace};
    PGresult *r = PQexecParams(owner,
                               "INSERT INTO logs (ts_ns, service, level, severity, message, trace_id, "
                               "content_hash) VALUES ($1::bigint, $2, 'x', $3::smallint, $4, $5, "
                               "md5($1 || $2 || $4)::uuid)",
                               5, NULL, p, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "insert log: %s", PQerrorMessage(owner));
    PQclear(r);
}

/* ---- the oracle: the metric SQL of the window ranking before window_load.c (window_rank.c, 2026-12) ---- */

static const char HISTORY_SQL[] =
    "SELECT ts_ns, service, name, value FROM metric_values($1::bigint, $2::bigint)";
static const char TARGET_SQL[] =
    "WITH pts AS (SELECT ts_ns, service, name, labels, value "
    "  FROM metric_values($1::bigint - 3600000000000, $2::bigint + 600000000000)), "
    "gaps AS (SELECT service, name, labels, "
    "  ts_ns - lag(ts_ns) OVER (PARTITION BY service, name, labels ORDER BY ts_ns) AS gap FROM pts), "
    "per AS (SELECT service, name, labels, percentile_disc(0.5) WITHIN GROUP (ORDER BY gap) AS period "
    "  FROM gaps WHERE gap > 0 GROUP BY service, name, labels) "
    "SELECT p.ts_ns, p.service, p.name, p.value FROM pts p LEFT JOIN per USING (service, name, labels) "
    "WHERE p.ts_ns >= $1::bigint AND p.ts_ns < $2::bigint + LEAST(COALESCE(per.period, 0), 600000000000)";

/* One metric value as a comparable line: "ts service name value". */
static char *line(int64_t ts, const char *svc, const char *name, double v)
{
    char *s;
    ck_assert_int_ge(asprintf(&s, "%lld %s %s %.17g", (long long)ts, svc, name, v), 0);
    return s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The oracle's rows for [a, b), sorted. */
static char **oracle(const char *sql, int64_t a, int64_t b, size_t *n)
{
    char x[24], y[24];
    snprintf(x, sizeof(x), "%lld", (long long)a);
    snprintf(y, sizeof(y), "%lld", (long long)b);
    const char *p[] = {x, y};
    PGresult *r = PQexecParams(pipe_conn, sql, 2, NULL, p, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "oracle: %s", PQerrorMessage(pipe_conn));
    *n = (size_t)PQntuples(r);
    char **out = calloc(*n + 1, sizeof(char *));
    for (int i = 0; i < (int)*n; i++)
        out[i] = line(strtoll(PQgetvalue(r, i, 0), NULL, 10), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                      strtod(PQgetvalue(r, i, 3), NULL));
    PQclear(r);
    qsort(out, *n, sizeof(char *), cmp_str);
    return out;
}

static void same_metrics(const rank_metric_t *m, size_t n, char **want, size_t nwant, const char *what)
{
    char **got = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        got[i] = line(m[i].ts_ns, m[i].service, m[i].name, m[i].value);
    qsort(got, n, sizeof(char *), cmp_str);
    for (size_t i = 0; i < n && i < nwant; i++)
        ck_assert_msg(strcmp(got[i], want[i]) == 0, "%s, row %zu: got %s, want %s", what, i, got[i], want[i]);
    ck_assert_msg(n == nwant, "%s: %zu values, the SQL definition gives %zu", what, n, nwant);
    for (size_t i = 0; i < n; i++)
        free(got[i]);
    free(got);
    for (size_t i = 0; i < nwant; i++)
        free(want[i]);
    free(want);
}

START_TEST(metric_values_are_those_of_the_sql_definition)
{
    int64_t from = T0 - 70 * MIN, to = T1 + 25 * MIN;
    /* one metric, two series by their labels: periods of 120 s and 30 s */
    gauge("cart", "cpu", "{\"pod\": \"a\"}", from, to, 120 * S);
    gauge("cart", "cpu", "{\"pod\": \"b\"}", from + 7 * S, to, 30 * S);
    /* a period of 15 minutes counts for 10 */
    gauge("cart", "mem", "{}", from, to, 15 * MIN);
    /* series of one point: no gap, no period: the one in the window is its, the one after it is not */
    point("cart", "lat", "{\"pod\": \"a\"}", T0 + MIN, 1.5, 0, 0, 0);
    point("cart", "late", "{\"pod\": \"a\"}", T1 + S, 2.5, 0, 0, 0);
    /* two points at each time (two instances of one series): zero gaps do not count */
    gauge("pay", "dup", "{\"k\": 1}", from, to, 120 * S);
    for (int64_t ts = from; ts < to; ts += 120 * S)
        point("pay", "dup", "{\"k\": 1}", ts, 7.0, 0, 0, 0);
    /* irregular gaps, an even count of them (15, 60, 75, 90, 160, 165 s): the lower middle is the period,
     * so the point at T1 + 85 s is not the window's */
    const int64_t irregular[] = {T0 - 5 * MIN, T0 - 4 * MIN, T0 - 150 * S, T0 + 10 * S,
                                 T1 - 5 * S,   T1 + 70 * S,  T1 + 85 * S};
    for (size_t i = 0; i < sizeof(irregular) / sizeof(irregular[0]); i++)
        point("pay", "irr", "{}", irregular[i], (double)i, 0, 0, 0);
    /* a cumulative counter: rates from consecutive points, its first point before the hour too */
    for (int i = 0; i < 90; i++)
        point("pay", "req", "{}", T0 - 75 * MIN + i * MIN, 100.0 * i * i, 1, 2, 1);

    window_data_t w;
    ck_assert_int_eq(window_load(pipe_conn, T0, T1, B0, B1, &w), 0);
    size_t nh, nt;
    char **hist = oracle(HISTORY_SQL, T0 - 60 * MIN, T0, &nh);
    char **target = oracle(TARGET_SQL, T0, T1, &nt);
    ck_assert_uint_gt(nh, 200);
    ck_assert_uint_gt(nt, 10);
    same_metrics(w.base.metrics, w.base.n_metrics, hist, nh, "history");
    same_metrics(w.target.metrics, w.target.n_metrics, target, nt, "target");
    /* what the definition means: after the end, cpu{pod=a} (every 120 s) keeps its point at T1 + 60 s
     * (with the points of pod b in its series it would not) and cpu{pod=b} (every 30 s) its one at
     * T1 + 7 s, not the one at T1 + 37 s; the lone points; the irregular series */
    int cpu_after = 0, lat = 0, late = 0, irr_after = 0;
    for (size_t i = 0; i < w.target.n_metrics; i++) {
        const rank_metric_t *m = &w.target.metrics[i];
        lat += strcmp(m->name, "lat") == 0;
        late += strcmp(m->name, "late") == 0;
        cpu_after += strcmp(m->name, "cpu") == 0 && m->ts_ns >= T1;
        irr_after += strcmp(m->name, "irr") == 0 && m->ts_ns >= T1;
    }
    ck_assert_int_eq(irr_after, 1);
    ck_assert_int_eq(lat, 1);
    ck_assert_int_eq(late, 0);
    ck_assert_int_eq(cpu_after, 2);
    window_data_dispose(&w);
}
END_TEST

START_TEST(spans_logs_and_changes_come_back_whole)
{
    span("t1", "s1", NULL, "cart", T0 + 5, 2);
    span("t1", "s2", "s1", "pay", T0 + 9, 1);
    span("t0", "b1", NULL, "cart", B0 + 1, 0);
    span("t9", "x1", NULL, "cart", T1, 0); /* the window's end is not in it */
    /* 1,500 two-byte characters: 3,000 bytes, more than the 2 KiB the ranker reads */
    char *long_msg = malloc(3100);
    size_t k = 0;
    for (int i = 0; i < 1500; i++)
        k += (size_t)snprintf(long_msg + k, 3100 - k, "%s", i % 2 ? "\xc3\xa9" : "\xc3\xa0");
    log_line("cart", T0 + 7, 5, long_msg, "t1");
    log_line("pay", T0 + 8, 3, "short line", NULL);
    log_line("pay", B0 + 8, 4, "baseline line", NULL);
    exec_ok(owner, "INSERT INTO change_events (ts_ns, service, type, description, event_hash) VALUES "
                   "(1767267000000000000, 'pay', 'deploy', 'v2', md5('a')::uuid), "
                   "(1767267500000000000, NULL, 'config', NULL, md5('b')::uuid), "
                   "(1767264000000000000, 'pay', 'deploy', 'too early', md5('c')::uuid)");

    window_data_t w;
    ck_assert_int_eq(window_load(pipe_conn, T0, T1, B0, B1, &w), 0);
    ck_assert_uint_eq(w.target.n_spans, 2);
    ck_assert_uint_eq(w.base.n_spans, 1);
    for (size_t i = 0; i < w.target.n_spans; i++) {
        const rank_span_t *s = &w.target.spans[i];
        int root = strcmp(s->span_id, "s1") == 0;
        ck_assert_str_eq(s->trace_id, "t1");
        ck_assert_int_eq(s->start_ns, root ? T0 + 5 : T0 + 9);
        ck_assert_int_eq(s->end_ns, s->start_ns + 1234567);
        ck_assert_int_eq(s->status, root ? 2 : 1);
        ck_assert_str_eq(s->service, root ? "cart" : "pay");
        if (root)
            ck_assert_ptr_null(s->parent_span_id);
        else
            ck_assert_str_eq(s->parent_span_id, "s1");
    }
    ck_assert_uint_eq(w.target.n_logs, 2);
    ck_assert_uint_eq(w.base.n_logs, 1);
    for (size_t i = 0; i < w.target.n_logs; i++) {
        const rank_log_t *l = &w.target.logs[i];
        if (l->severity == 5) {
            ck_assert_int_eq(l->ts_ns, T0 + 7);
            ck_assert_str_eq(l->trace_id, "t1");
            ck_assert_uint_ge(strlen(l->message), 2048);
            ck_assert_int_eq(memcmp(l->message, long_msg, 2048), 0);
        } else {
            ck_assert_str_eq(l->message, "short line");
            ck_assert_ptr_null(l->trace_id);
        }
    }
    /* the target's changes reach half an hour back; the one of an hour before does not count */
    ck_assert_uint_eq(w.target.n_changes, 2);
    ck_assert_uint_eq(w.base.n_changes, 0);
    for (size_t i = 0; i < w.target.n_changes; i++)
        if (w.target.changes[i].service == NULL)
            ck_assert_ptr_null(w.target.changes[i].description);
        else
            ck_assert_str_eq(w.target.changes[i].description, "v2");
    ck_assert_int_eq(w.target.start_ns, T0);
    ck_assert_int_eq(w.base.end_ns, B1);
    window_data_dispose(&w);
    free(long_msg);
}
END_TEST

/* A span's recorded exception comes back as its type: "" when the event has none, NULL when the span
 * recorded no exception (another event is not one). */
START_TEST(recorded_exceptions_come_back_with_their_type)
{
    span_events("t1", "typed", NULL, "cart", T0 + 5, 0,
                "[{\"name\":\"retry\"},{\"name\":\"exception\",\"attributes\":{\"exception.type\":"
                "\"java.io.IOException\",\"exception.message\":\"reset\"}}]");
    span_events("t1", "untyped", "typed", "cart", T0 + 6, 0, "[{\"name\":\"exception\",\"attributes\":{}}]");
    span_events("t1", "other", "typed", "cart", T0 + 7, 0, "[{\"name\":\"cache miss\"}]");
    span("t1", "none", "typed", "cart", T0 + 8, 0);
    window_data_t w;
    ck_assert_int_eq(window_load(pipe_conn, T0, T1, B0, B1, &w), 0);
    ck_assert_uint_eq(w.target.n_spans, 4);
    for (size_t i = 0; i < w.target.n_spans; i++) {
        const rank_span_t *sp = &w.target.spans[i];
        if (strcmp(sp->span_id, "typed") == 0)
            ck_assert_str_eq(sp->exception_type, "java.io.IOException");
        else if (strcmp(sp->span_id, "untyped") == 0)
            ck_assert_str_eq(sp->exception_type, "");
        else
            ck_assert_ptr_null(sp->exception_type);
    }
    window_data_dispose(&w);
}
END_TEST

/* The connection after a load: out of pipeline mode, usable, plain index scans allowed again. */
static void connection_is_clean(void)
{
    ck_assert_int_eq(PQpipelineStatus(pipe_conn), PQ_PIPELINE_OFF);
    PGresult *r = PQexec(pipe_conn, "SHOW enable_indexscan");
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "on");
    PQclear(r);
    ck_assert_int_eq(ts_pg_long(pipe_conn, "SELECT count(*) FROM spans"), 1);
}

START_TEST(a_failed_query_fails_the_load_and_leaves_the_connection_usable)
{
    span("t1", "s1", NULL, "cart", T0 + 5, 0);
    window_data_t w;
    ck_assert_int_eq(window_load(pipe_conn, T0, T1, B0, B1, &w), 0);
    window_data_dispose(&w);
    connection_is_clean();
    /* a query in the middle of the pipeline fails: those after it are aborted */
    exec_ok(owner, "REVOKE SELECT ON logs FROM prodsentinel_pipeline");
    ck_assert_int_eq(window_load(pipe_conn, T0, T1, B0, B1, &w), -1);
    window_data_dispose(&w);
    window_data_dispose(&w); /* twice is fine */
    connection_is_clean();
    exec_ok(owner, "GRANT SELECT ON logs TO prodsentinel_pipeline");
    /* the last one fails */
    exec_ok(owner,
            "ALTER FUNCTION metric_values(bigint, bigint, text[], text[]) RENAME TO metric_values_gone");
    ck_assert_int_eq(window_load(pipe_conn, T0, T1, B0, B1, &w), -1);
    window_data_dispose(&w);
    connection_is_clean();
    exec_ok(owner,
            "ALTER FUNCTION metric_values_gone(bigint, bigint, text[], text[]) RENAME TO metric_values");
    ck_assert_int_eq(window_load(pipe_conn, T0, T1, B0, B1, &w), 0);
    ck_assert_uint_eq(w.target.n_spans, 1);
    window_data_dispose(&w);
}
END_TEST

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * S + t.tv_nsec;
}

START_TEST(warm_up_loads_the_latest_window_on_a_pipeline_connection)
{
    /* opened as the pipeline's threads open theirs: JIT off for the session (common/db.c) */
    char *purl = ts_role_url(url, TS_ROLE_PIPELINE), err[256];
    PGconn *c = db_connect(purl, err, sizeof(err));
    free(purl);
    ck_assert_msg(c != NULL, "connect: %s", err);
    PGresult *r = PQexec(c, "SHOW jit");
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "off");
    PQclear(r);
    /* nothing stored: the window ending now */
    int64_t before = now_ns(), end = 0;
    ck_assert_int_eq(window_load_warm(c, &end), 0);
    ck_assert_msg(end >= before && end <= now_ns(), "end %lld not now", (long long)end);
    /* the window ends just after the latest span, whatever the clock says */
    span("t1", "s1", NULL, "cart", T0 + 5, 0);
    span("t2", "s2", NULL, "cart", B0, 0);
    ck_assert_int_eq(window_load_warm(c, &end), 0);
    ck_assert_int_eq(end, T0 + 6);
    /* left as a load leaves it: out of pipeline mode and of any transaction, index scans allowed */
    ck_assert_int_eq(PQpipelineStatus(c), PQ_PIPELINE_OFF);
    ck_assert_int_eq(PQtransactionStatus(c), PQTRANS_IDLE);
    ck_assert_int_eq(ts_pg_long(c, "SELECT (current_setting('enable_indexscan') = 'on')::int"), 1);
    /* a failure is reported, not hidden */
    exec_ok(owner, "REVOKE SELECT ON spans FROM prodsentinel_pipeline");
    ck_assert_int_eq(window_load_warm(c, &end), -1);
    exec_ok(owner, "GRANT SELECT ON spans TO prodsentinel_pipeline");
    ck_assert_int_eq(window_load_warm(c, NULL), 0);
    PQfinish(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("window_load");
    TCase *tc = tcase_create("window_load");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, metric_values_are_those_of_the_sql_definition);
    tcase_add_test(tc, spans_logs_and_changes_come_back_whole);
    tcase_add_test(tc, recorded_exceptions_come_back_with_their_type);
    tcase_add_test(tc, a_failed_query_fails_the_load_and_leaves_the_connection_usable);
    tcase_add_test(tc, warm_up_loads_the_latest_window_on_a_pipeline_connection);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
