/* metric_values() (migrations/006) against the real PostgreSQL: points of every OpenTelemetry kind are
 * inserted as ingest would store them, and the analysable values are checked against hand
 * computations. A cumulative counter is a steady rate through a reset (the anomaly detector finds
 * nothing, while it would on the stored running total), and a 5x step of its rate is found; histogram,
 * exponential histogram and summary quantiles; an up-down counter and a delta sum. */
#include "db.h"
#include "detect.h"
#include "ts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1767225600000000000LL /* 2026-01-01 00:00 UTC */
#define S 1000000000LL
#define STEP (10 * S)
#define HOUR_POINTS 360

static PGconn *db;

static void exec_ok(const char *sql)
{
    PGresult *r = PQexec(db, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s",
                  sql, PQerrorMessage(db));
    PQclear(r);
}

static void setup(void)
{
    char *url = ts_create_database("metricvalues");
    db = ts_pg(url);
    free(url);
    char dir[512], err[512];
    snprintf(dir, sizeof(dir), "%s/migrations", ts_env("PS_SOURCE_DIR"));
    ck_assert_msg(db_migrate(db, dir, err, sizeof(err)) >= 0, "migrate: %s", err);
    exec_ok("SELECT ensure_raw_partitions('2026-01-01')");
}

static void teardown(void)
{
    PQfinish(db);
    db = NULL;
}

/* One stored point. `start` 0: NULL; `hist` NULL: NULL. */
static void point(const char *name, const char *labels, int64_t ts, double value, int kind, int temporality,
                  int monotonic, int64_t start, const char *hist)
{
    char ts_s[24], v[40], k[8], t[8], st[24];
    snprintf(ts_s, sizeof(ts_s), "%lld", (long long)ts);
    snprintf(v, sizeof(v), "%.17g", value);
    snprintf(k, sizeof(k), "%d", kind);
    snprintf(t, sizeof(t), "%d", temporality);
    snprintf(st, sizeof(st), "%lld", (long long)start);
    const char *p[] = {ts_s, name, v, labels, k, t, monotonic ? "true" : "false", start ? st : NULL, hist};
    PGresult *r = PQexecParams(
        db,
        "INSERT INTO metric_points (ts_ns, service, name, value, labels, point_hash, kind, temporality, "
        "monotonic, start_ns, hist) VALUES ($1::bigint, 'svc', $2, $3::float8, $4::jsonb, "
        "md5($1 || $2 || $4 || $3)::uuid, $5::smallint, $6::smallint, $7::boolean, $8::bigint, $9::jsonb)",
        9, NULL, p, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "insert: %s", PQerrorMessage(db));
    PQclear(r);
}

/* The values of analysable series `name` (labels `labels`) in [lo, hi), by time. Caller frees. */
static series_point_t *values(const char *name, const char *labels, int64_t lo, int64_t hi, size_t *n)
{
    char a[24], b[24];
    snprintf(a, sizeof(a), "%lld", (long long)lo);
    snprintf(b, sizeof(b), "%lld", (long long)hi);
    const char *p[] = {a, b, name, labels};
    PGresult *r = PQexecParams(db,
                               "SELECT ts_ns, value FROM metric_values($1::bigint, $2::bigint, ARRAY['svc']) "
                               "WHERE name = $3 AND labels = $4::jsonb ORDER BY ts_ns",
                               4, NULL, p, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "metric_values: %s", PQerrorMessage(db));
    *n = (size_t)PQntuples(r);
    series_point_t *out = calloc(*n + 1, sizeof(*out));
    for (size_t i = 0; i < *n; i++) {
        out[i].ts_ns = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
        out[i].value = strtod(PQgetvalue(r, (int)i, 1), NULL);
    }
    PQclear(r);
    return out;
}

/* Episodes the detector finds in points [split, n) against [0, split). */
static size_t episodes(const series_point_t *p, size_t n, size_t split)
{
    detect_opts_t o;
    detect_opts_default(&o);
    episode_t *eps = NULL;
    size_t k = anomaly_detect(p, split, p + split, n - split, &o, &eps);
    free(eps);
    return k;
}

/* A counter at 5/s from T0 (its start), every 10 s for an hour; the sender restarts at minute 30
 * (start_ns then: the restart, 5 s before the next point). `rate_after` from minute 40 on. */
static void counter(const char *labels, double rate_after, int send_start)
{
    double v = 0;
    int64_t start = T0, restart = T0 + 30 * 60 * S - 5 * S;
    for (int i = 0; i < HOUR_POINTS; i++) {
        int64_t ts = T0 + (i + 1) * STEP;
        double rate = ts > T0 + 40 * 60 * S ? rate_after : 5;
        if (ts > restart && start != restart) {
            start = restart;
            v = 0;
            v += rate * (double)(ts - restart) / S;
        } else
            v += rate * (double)STEP / S;
        point("requests", labels, ts, v, 1, 2, 1, send_start ? start : 0, NULL);
    }
}

START_TEST(counter_reset_is_no_spike_and_no_anomaly)
{
    counter("{\"s\":\"steady\"}", 5, 1);
    size_t n;
    series_point_t *p = values("requests", "{\"s\":\"steady\"}", T0, T0 + 2 * 3600 * S, &n);
    /* the first point has no rate; every other one (the reset included: v / (ts - start)) is 5/s */
    ck_assert_uint_eq(n, HOUR_POINTS - 1);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(p[i].value - 5) < 1e-9, "rate %g at point %zu", p[i].value, i);
    ck_assert_uint_eq(episodes(p, n, 120), 0);
    free(p);
    /* the stored running total, judged as is, would be an anomaly: the derivation is what prevents it */
    PGresult *r = PQexec(db, "SELECT ts_ns, value FROM metric_points WHERE labels->>'s' = 'steady' "
                             "AND ts_ns < 1767227400000000000 ORDER BY ts_ns");
    size_t nr = (size_t)PQntuples(r);
    series_point_t *raw = calloc(nr, sizeof(*raw));
    for (size_t i = 0; i < nr; i++) {
        raw[i].ts_ns = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
        raw[i].value = strtod(PQgetvalue(r, (int)i, 1), NULL);
    }
    PQclear(r);
    ck_assert_uint_gt(episodes(raw, nr, 60), 0);
    free(raw);
}
END_TEST

START_TEST(counter_reset_without_start_is_skipped)
{
    counter("{\"s\":\"nostart\"}", 5, 0);
    size_t n;
    series_point_t *p = values("requests", "{\"s\":\"nostart\"}", T0, T0 + 2 * 3600 * S, &n);
    /* first point and the reset point have no rate (no start time to measure the new run from) */
    ck_assert_uint_eq(n, HOUR_POINTS - 2);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(p[i].value - 5) < 1e-9, "rate %g at point %zu", p[i].value, i);
    ck_assert_uint_eq(episodes(p, n, 120), 0);
    free(p);
}
END_TEST

START_TEST(counter_rate_step_is_found)
{
    counter("{\"s\":\"step\"}", 25, 1);
    size_t n;
    series_point_t *p = values("requests", "{\"s\":\"step\"}", T0, T0 + 2 * 3600 * S, &n);
    ck_assert_uint_eq(n, HOUR_POINTS - 1);
    ck_assert_double_eq_tol(p[n - 1].value, 25, 1e-9);
    detect_opts_t o;
    detect_opts_default(&o);
    episode_t *eps = NULL;
    size_t k = anomaly_detect(p, 120, p + 120, n - 120, &o, &eps);
    ck_assert_uint_ge(k, 1);
    ck_assert_int_eq(eps[0].direction, 1);
    ck_assert_int_ge(eps[0].start_ns, T0 + 40 * 60 * S);
    ck_assert_double_eq_tol(eps[0].peak, 25, 1e-9);
    free(eps);
    free(p);
}
END_TEST

/* The value of series `name` at ts (NAN when there is none). */
static double value_at(const char *name, int64_t ts)
{
    size_t n;
    series_point_t *p = values(name, "{}", ts, ts + 1, &n);
    double v = n == 1 ? p[0].value : NAN;
    free(p);
    return v;
}

/* Buckets (<=10, <=20, <=40, <=80, +Inf): 10 observations in (10,20] and 10 in (20,40] per interval
 * until `shift_at`, then 10 in (20,40] and 10 in (40,80]. By hand (Prometheus' interpolation, 20 per
 * interval): before, p50 = 10 + 10 * 10/10 = 20, p95 = 20 + 20 * 9/10 = 38, p99 = 20 + 20 * 9.8/10 =
 * 39.6; after, p50 = 20 + 20 * 10/10 = 40, p95 = 40 + 40 * 9/10 = 76, p99 = 40 + 40 * 9.8/10 = 79.2. */
static void histogram(const char *name, int temporality, int points, int shift_at)
{
    double c[5] = {0}, count = 0;
    for (int i = 0; i < points; i++) {
        int64_t ts = T0 + (i + 1) * STEP;
        if (temporality == 1) memset(c, 0, sizeof(c)), count = 0;
        int after = i >= shift_at;
        c[1] += after ? 0 : 10, c[2] += 10, c[3] += after ? 10 : 0, count += 20;
        char h[256];
        snprintf(h, sizeof(h),
                 "{\"count\":%g,\"sum\":%g,\"bounds\":[10,20,40,80],\"counts\":[%g,%g,%g,%g,%g]}", count,
                 count * 30, c[0], c[1], c[2], c[3], c[4]);
        point(name, "{}", ts, count, 2, temporality, 0, temporality == 1 ? ts - STEP : T0, h);
    }
}

static void check_histogram(const char *name, int first, int points, int shift_at)
{
    char s[64];
    for (int i = 0; i < points; i++) {
        int64_t ts = T0 + (i + 1) * STEP;
        int after = i >= shift_at;
        snprintf(s, sizeof(s), "%s.p95", name);
        double p95 = value_at(s, ts);
        if (i < first) {
            ck_assert_msg(isnan(p95), "%s: a value at the first cumulative point", s);
            continue;
        }
        ck_assert_double_eq_tol(p95, after ? 76 : 38, 1e-9);
        snprintf(s, sizeof(s), "%s.p50", name);
        ck_assert_double_eq_tol(value_at(s, ts), after ? 40 : 20, 1e-9);
        snprintf(s, sizeof(s), "%s.p99", name);
        ck_assert_double_eq_tol(value_at(s, ts), after ? 79.2 : 39.6, 1e-9);
        snprintf(s, sizeof(s), "%s.count", name);
        ck_assert_double_eq_tol(value_at(s, ts), 2, 1e-9); /* 20 per 10 s */
    }
}

START_TEST(delta_histogram_quantiles)
{
    histogram("latency_delta", 1, 10, 5);
    check_histogram("latency_delta", 0, 10, 5);
}
END_TEST

START_TEST(cumulative_histogram_quantiles)
{
    histogram("latency_cum", 2, 10, 5);
    check_histogram("latency_cum", 1, 10, 5);
    /* the stored name itself is no analysable series */
    size_t n;
    free(values("latency_cum", "{}", T0, T0 + 3600 * S, &n));
    ck_assert_uint_eq(n, 0);
}
END_TEST

/* Scale 1 (base sqrt 2). Interval: zero bucket 4, (2, 2.83] 4, (2.83, 4] 8, (4, 5.66] 4 (20). By hand:
 * p50, rank 10, in (2^1.5, 4] past 8: 2^1.5 + (4 - 2^1.5) * 2/8; p95, rank 19, in (4, 2^2.5] past 16:
 * 4 + (2^2.5 - 4) * 3/4. The cumulative pair differences a scale-2 point against a scale-1 one: the
 * earlier point's buckets are merged two by two first. */
START_TEST(exponential_histogram_quantiles)
{
    const double p50 = pow(2, 1.5) + (4 - pow(2, 1.5)) * 2 / 8, p95 = 4 + (pow(2, 2.5) - 4) * 3 / 4;
    point("exp_delta", "{}", T0 + STEP, 20, 3, 1, 0, T0,
          "{\"count\":20,\"scale\":1,\"zero_count\":4,\"zero_threshold\":0,"
          "\"positive\":{\"offset\":2,\"counts\":[4,8,4]}}");
    ck_assert_double_eq_tol(value_at("exp_delta.p50", T0 + STEP), p50, 1e-9);
    ck_assert_double_eq_tol(value_at("exp_delta.p95", T0 + STEP), p95, 1e-9);
    point("exp_cum", "{}", T0 + STEP, 10, 3, 2, 0, T0,
          "{\"count\":10,\"scale\":2,\"zero_count\":2,\"positive\":{\"offset\":4,\"counts\":[1,1,2,2,1,1]}}");
    point("exp_cum", "{}", T0 + 2 * STEP, 30, 3, 2, 0, T0,
          "{\"count\":30,\"scale\":1,\"zero_count\":6,\"positive\":{\"offset\":2,\"counts\":[6,12,6]}}");
    ck_assert(isnan(value_at("exp_cum.p50", T0 + STEP)));
    ck_assert_double_eq_tol(value_at("exp_cum.p50", T0 + 2 * STEP), p50, 1e-9);
    ck_assert_double_eq_tol(value_at("exp_cum.p95", T0 + 2 * STEP), p95, 1e-9);
    ck_assert_double_eq_tol(value_at("exp_cum.count", T0 + 2 * STEP), 2, 1e-9);
}
END_TEST

START_TEST(summary_quantiles_and_count_rate)
{
    point("rpc", "{}", T0 + STEP, 100, 4, 0, 0, T0,
          "{\"count\":100,\"sum\":1500,\"quantiles\":[[0.5,11],[0.99,70]]}");
    point("rpc", "{}", T0 + 2 * STEP, 200, 4, 0, 0, T0,
          "{\"count\":200,\"sum\":3100,\"quantiles\":[[0.5,12],[0.99,80],[0.999,95]]}");
    ck_assert_double_eq_tol(value_at("rpc.p50", T0 + STEP), 11, 1e-9);
    ck_assert_double_eq_tol(value_at("rpc.p50", T0 + 2 * STEP), 12, 1e-9);
    ck_assert_double_eq_tol(value_at("rpc.p99", T0 + 2 * STEP), 80, 1e-9);
    ck_assert_double_eq_tol(value_at("rpc.p99.9", T0 + 2 * STEP), 95, 1e-9);
    ck_assert(isnan(value_at("rpc.count", T0 + STEP)));                      /* first point: no rate */
    ck_assert_double_eq_tol(value_at("rpc.count", T0 + 2 * STEP), 10, 1e-9); /* 100 per 10 s */
    /* the listing names what metric_values() gives */
    PGresult *r = PQexec(db, "SELECT string_agg(n, ',' ORDER BY n) FROM metric_value_names(4::smallint, "
                             "'rpc', '{\"quantiles\":[[0.5,1],[0.99,2]]}') n");
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "rpc.count,rpc.p50,rpc.p99");
    PQclear(r);
}
END_TEST

START_TEST(up_down_counter_gauge_and_delta_sum)
{
    const double level[] = {5, 3, 7};
    for (int i = 0; i < 3; i++) {
        point("queue_depth", "{}", T0 + (i + 1) * STEP, level[i], 1, 2, 0, T0, NULL);
        point("cpu", "{}", T0 + (i + 1) * STEP, level[i] / 10, 0, 0, 0, 0, NULL);
        point("bytes", "{}", T0 + (i + 1) * STEP, 300 * (i + 1), 1, 1, 1, T0 + i * STEP, NULL);
        point("bytes_nostart", "{}", T0 + (i + 1) * STEP, 300, 1, 1, 1, 0, NULL);
    }
    for (int i = 0; i < 3; i++) {
        int64_t ts = T0 + (i + 1) * STEP;
        ck_assert_double_eq_tol(value_at("queue_depth", ts), level[i], 1e-12); /* a level, as is */
        ck_assert_double_eq_tol(value_at("cpu", ts), level[i] / 10, 1e-12);
        ck_assert_double_eq_tol(value_at("bytes", ts), 30 * (i + 1), 1e-9); /* per second over 10 s */
        ck_assert_double_eq_tol(value_at("bytes_nostart", ts), 300, 1e-12);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metric_values");
    TCase *tc = tcase_create("kinds");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, counter_reset_is_no_spike_and_no_anomaly);
    tcase_add_test(tc, counter_reset_without_start_is_skipped);
    tcase_add_test(tc, counter_rate_step_is_found);
    tcase_add_test(tc, delta_histogram_quantiles);
    tcase_add_test(tc, cumulative_histogram_quantiles);
    tcase_add_test(tc, exponential_histogram_quantiles);
    tcase_add_test(tc, summary_quantiles_and_count_rate);
    tcase_add_test(tc, up_down_counter_gauge_and_delta_sum);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
