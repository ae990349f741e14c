/* Loading of what a window ranking compares (see window_load.h).
 *
 * Where the time went before: the queries scanned whole day partitions (no index led by the time of a
 * span, log or metric point), the target's metric query sorted every point of its hour by its jsonb
 * labels to find each series' reporting period, and eight queries ran one after the other with the
 * client idle while PostgreSQL worked and PostgreSQL idle while the client parsed. Now the time indexes
 * of migrations/013 bound the scans, one query reads the metric values of the hour before the window
 * through the window's end (the baseline's history and the target's points), the periods are computed
 * here, results are binary (no number printed by the server and parsed back here), and the queries go
 * out together in libpq's pipeline mode: each result is received and parsed while PostgreSQL runs the next.
 */
#include "window_load.h"
#include "alloc.h"
#include "log.h"
#include "rank_int.h" /* RK_MSG_MAX, only to check the message prefix below */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ROWS 500000 /* per kind and window: a guard, far above a 3-minute window of a busy system */
#define HOUR_NS ((int64_t)3600 * 1000000000)
#define PERIOD_MAX_NS ((int64_t)600 * 1000000000) /* a reporting period counts up to 10 minutes */
#define CHANGE_LOOKBACK_NS (HOUR_NS / 2)

/* rank.h: "only the first 2 KiB of a message's first line are read", so no more is sent of the few
 * longer messages (half the bytes of Train-Ticket's logs). left() counts characters, each at least a
 * byte, so the bytes the ranker reads are all there; it walks the characters, so it is applied only to
 * messages longer than the prefix (octet_length() reads the stored length). */
#define MSG_READ "CASE WHEN octet_length(message) > 2048 THEN left(message, 2048) ELSE message END"
_Static_assert(RK_MSG_MAX <= 2048, "the ranker reads more of a message than MSG_READ sends");

/* Result types checked before binary values are read (PostgreSQL's pg_type OIDs). */
#define OID_INT8 20
#define OID_INT2 21
#define OID_TEXT 25
#define OID_FLOAT8 701

/* The type of the first exception a span recorded ("" untyped; NULL none). Most spans have no events:
 * the containment test skips them without walking the path. */
#define EXCEPTION_READ                                                                                       \
    "CASE WHEN events @> '[{\"name\":\"exception\"}]' THEN coalesce(jsonb_path_query_first(events, "         \
    "'$[*] ? (@.name == \"exception\").attributes.\"exception.type\"') #>> '{}', '') END"

static const char SPANS_SQL[] =
    "SELECT trace_id, span_id, parent_span_id, service, name, start_ns, end_ns, status, " EXCEPTION_READ
    " FROM spans "
    "WHERE start_ns >= $1::bigint AND start_ns < $2::bigint LIMIT $3::int";
static const Oid SPANS_TYPES[] = {OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT,
                                  OID_INT8, OID_INT8, OID_INT2, OID_TEXT};

static const char LOGS_SQL[] = "SELECT ts_ns, service, severity, " MSG_READ ", trace_id, span_id FROM logs "
                               "WHERE ts_ns >= $1::bigint AND ts_ns < $2::bigint LIMIT $3::int";
static const Oid LOGS_TYPES[] = {OID_INT8, OID_TEXT, OID_INT2, OID_TEXT, OID_TEXT, OID_TEXT};

static const char CHANGES_SQL[] = "SELECT ts_ns, service, type, description FROM change_events "
                                  "WHERE ts_ns >= $1::bigint AND ts_ns < $2::bigint LIMIT $3::int";
static const Oid CHANGES_TYPES[] = {OID_INT8, OID_TEXT, OID_TEXT, OID_TEXT};

/* Metric values of [$1, $2) as metric_values() (migrations/006) derives them, with the identity of
 * their series: (service, name, labels), the labels by their jsonb hash (equal labels hash equally, as
 * in a GROUP BY; two label sets of one metric colliding on 64 bits is not a practical concern). A
 * value depends only on its series' points from $1 minus the lookback on, so the rows before the
 * window are those metric_values(from - 1 h, from) gives: the baseline's history, as before. */
static const char METRICS_SQL[] = "SELECT ts_ns, service, name, jsonb_hash_extended(labels, 0), value "
                                  "FROM metric_values($1::bigint, $2::bigint) LIMIT $3::int";
static const Oid METRICS_TYPES[] = {OID_INT8, OID_TEXT, OID_TEXT, OID_INT8, OID_FLOAT8};

/* A window reads thousands of rows of a few hundred pages, in an order the pages are not in: rows are
 * stored as they arrived (by trace, by batch), not by time, although the planner's correlation statistic
 * is high. A plain index scan then visits each page many times, tuple by tuple; a bitmap scan reads each
 * page once (measured: 2 to 10 times less time for the window's spans, logs and metric values). Set for
 * the pipeline's implicit transaction only: it ends at the sync point, and the setting with it. */
static const char PLAN_SQL[] = "SELECT set_config('enable_indexscan', 'off', true)";
static const Oid PLAN_TYPES[] = {OID_TEXT};

/* The order the queries are sent in: the metric values, the most work for PostgreSQL, last, so that
 * libpq receives and parses the spans and logs while it runs. */
enum { R_PLAN, R_BASE_SPANS, R_BASE_LOGS, R_BASE_CHANGES, R_SPANS, R_LOGS, R_CHANGES, R_METRICS, R_N };
_Static_assert(R_N == WINDOW_LOAD_RESULTS, "one result per query");

typedef struct {
    const char *sql;
    const Oid *types;
    int ncols;
    int nparams;    /* 0, or 3: */
    int64_t lo, hi; /* $1, $2 */
    int limit;      /* $3 */
} query_t;

#define NCOLS(types) (int)(sizeof(types) / sizeof(types[0]))
#define QUERY(sql, types, lo, hi, limit)                                                                     \
    {                                                                                                        \
        sql, types, NCOLS(types), 3, lo, hi, limit                                                           \
    }

/* ---- binary values ---- */

/* Integers and floats in network byte order. A value of another length (NULL: 0 bytes; the columns read
 * are NOT NULL in the schema) reads as 0 rather than past its end. */
static uint64_t get_be(const PGresult *r, int row, int col, int len)
{
    if (PQgetlength(r, row, col) != len) return 0;
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    uint64_t v = 0;
    for (int i = 0; i < len; i++)
        v = v << 8 | p[i];
    return v;
}

static int64_t get_i64(const PGresult *r, int row, int col)
{
    return (int64_t)get_be(r, row, col, 8);
}

static int get_i16(const PGresult *r, int row, int col)
{
    return (int16_t)(uint16_t)get_be(r, row, col, 2);
}

static double get_f64(const PGresult *r, int row, int col)
{
    uint64_t u = get_be(r, row, col, 8);
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

/* A text value, or NULL. Binary text is the string's bytes, which libpq ends with a NUL as in text
 * results (and PostgreSQL's text holds no NUL): borrowed from the result. */
static const char *get_str(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* 0 when `r` has the columns of `q` in binary, -1 (logged) when not: then nothing is read from it. */
static int check_shape(const PGresult *r, const query_t *q)
{
    if (PQnfields(r) != q->ncols) goto bad;
    for (int k = 0; k < q->ncols; k++)
        if (PQftype(r, k) != q->types[k] || PQfformat(r, k) != 1) goto bad;
    return 0;
bad:
    log_error("window load: unexpected columns from \"%.60s...\"", q->sql);
    return -1;
}

/* ---- rows to rank records; pointers borrow from the result ---- */

static void to_spans(const PGresult *r, rank_span_t *out)
{
    for (int i = 0, n = PQntuples(r); i < n; i++)
        out[i] = (rank_span_t){.trace_id = get_str(r, i, 0),
                               .span_id = get_str(r, i, 1),
                               .parent_span_id = get_str(r, i, 2),
                               .service = get_str(r, i, 3),
                               .name = get_str(r, i, 4),
                               .start_ns = get_i64(r, i, 5),
                               .end_ns = get_i64(r, i, 6),
                               .status = get_i16(r, i, 7),
                               .exception_type = get_str(r, i, 8)};
}

static void to_logs(const PGresult *r, rank_log_t *out)
{
    for (int i = 0, n = PQntuples(r); i < n; i++)
        out[i] = (rank_log_t){.ts_ns = get_i64(r, i, 0),
                              .service = get_str(r, i, 1),
                              .severity = get_i16(r, i, 2),
                              .message = get_str(r, i, 3),
                              .trace_id = get_str(r, i, 4),
                              .span_id = get_str(r, i, 5)};
}

static void to_changes(const PGresult *r, rank_change_t *out)
{
    for (int i = 0, n = PQntuples(r); i < n; i++)
        out[i] = (rank_change_t){.ts_ns = get_i64(r, i, 0),
                                 .service = get_str(r, i, 1),
                                 .type = get_str(r, i, 2),
                                 .description = get_str(r, i, 3)};
}

/* One metric value of the result. */
static rank_metric_t metric_at(const PGresult *r, int i)
{
    return (rank_metric_t){.ts_ns = get_i64(r, i, 0),
                           .service = PQgetvalue(r, i, 1),
                           .name = PQgetvalue(r, i, 2),
                           .value = get_f64(r, i, 4)};
}

/* ---- metric values: the history, and the target's points within their series' period ---- */

/* Series of the metric rows by (service, name, labels hash): an open-addressing table of row
 * numbers (the first row of each series), `ids` the series of each row. Returns the number of series. */
static size_t series_ids(const PGresult *r, int n, int *ids)
{
    size_t cap = 1;
    while (cap < (size_t)n * 2)
        cap <<= 1;
    int *slot = xmalloc(cap * sizeof(int));
    int *sid = xmalloc(cap * sizeof(int));
    memset(slot, 0xff, cap * sizeof(int)); /* -1: free */
    size_t ns = 0;
    for (int i = 0; i < n; i++) {
        const char *svc = PQgetvalue(r, i, 1), *name = PQgetvalue(r, i, 2);
        int64_t lh = get_i64(r, i, 3);
        uint64_t h = 1469598103934665603ULL ^ (uint64_t)lh;
        for (const char *p = svc; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL; /* a separator: ("ab","c") and ("a","bc") differ */
        for (const char *p = name; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        size_t k = (size_t)(h ^ h >> 29) & (cap - 1);
        for (;; k = (k + 1) & (cap - 1)) {
            int j = slot[k];
            if (j < 0) {
                slot[k] = i;
                sid[k] = (int)ns++;
                ids[i] = sid[k];
                break;
            }
            if (get_i64(r, j, 3) == lh && strcmp(PQgetvalue(r, j, 1), svc) == 0 &&
                strcmp(PQgetvalue(r, j, 2), name) == 0) {
                ids[i] = sid[k];
                break;
            }
        }
    }
    free(slot);
    free(sid);
    return ns;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The reporting period of one series from its points' times (sorted in place): the median of the
 * positive gaps between consecutive points as percentile_disc(0.5) takes it (the lower middle of an
 * even count), 0 when there is none. `gaps` has room for n values. */
static int64_t series_period(int64_t *ts, size_t n, int64_t *gaps)
{
    qsort(ts, n, sizeof(*ts), cmp_i64);
    size_t m = 0;
    for (size_t i = 1; i < n; i++)
        if (ts[i] > ts[i - 1]) gaps[m++] = ts[i] - ts[i - 1];
    if (m == 0) return 0;
    qsort(gaps, m, sizeof(*gaps), cmp_i64);
    return gaps[(m + 1) / 2 - 1];
}

/* Splits the metric rows of [from - 1 h, to + 10 min) into the baseline's history (before `from`) and
 * the target's points: those in [from, to) and those after `to` within one period of their series (a
 * point is stamped at the end of the interval it aggregates, so the row stamped a period after the
 * window still describes the window's last part). Fills w->metrics, w->base's and w->target's. */
static void to_metrics(const PGresult *r, int64_t from, int64_t to, window_data_t *w)
{
    int n = PQntuples(r);
    int *ids = xmalloc(((size_t)n + 1) * sizeof(int));
    size_t ns = series_ids(r, n, ids);
    /* the times of each series together: start[s] .. start[s + 1] in `ts` */
    size_t *start = xcalloc(ns + 2, sizeof(size_t));
    int64_t *ts = xmalloc(((size_t)n + 1) * sizeof(int64_t)),
            *gaps = xmalloc(((size_t)n + 1) * sizeof(int64_t));
    for (int i = 0; i < n; i++)
        start[ids[i] + 2]++;
    for (size_t s = 2; s < ns + 2; s++)
        start[s] += start[s - 1];
    for (int i = 0; i < n; i++)
        ts[start[ids[i] + 1]++] = get_i64(r, i, 0);
    int64_t *until = xmalloc((ns + 1) * sizeof(int64_t)); /* target points end before this */
    for (size_t s = 0; s < ns; s++) {
        int64_t p = series_period(ts + start[s], start[s + 1] - start[s], gaps);
        until[s] = to + (p < PERIOD_MAX_NS ? p : PERIOD_MAX_NS);
    }
    w->metrics = xcalloc((size_t)n + 1, sizeof(rank_metric_t));
    size_t nb = 0;
    for (int i = 0; i < n && nb < MAX_ROWS; i++)
        if (get_i64(r, i, 0) < from) w->metrics[nb++] = metric_at(r, i);
    size_t nt = 0;
    for (int i = 0; i < n && nt < MAX_ROWS; i++) {
        int64_t t = get_i64(r, i, 0);
        if (t >= from && t < until[ids[i]]) w->metrics[nb + nt++] = metric_at(r, i);
    }
    w->base.metrics = w->metrics;
    w->base.n_metrics = nb;
    w->target.metrics = w->metrics + nb;
    w->target.n_metrics = nt;
    free(ids);
    free(start);
    free(ts);
    free(gaps);
    free(until);
}

/* ---- the round trip ---- */

static int send_query(PGconn *c, const query_t *q)
{
    char lo[24], hi[24], lim[16];
    snprintf(lo, sizeof(lo), "%" PRId64, q->lo);
    snprintf(hi, sizeof(hi), "%" PRId64, q->hi);
    snprintf(lim, sizeof(lim), "%d", q->limit);
    const char *p[] = {lo, hi, lim};
    return PQsendQueryParams(c, q->sql, q->nparams, NULL, p, NULL, NULL, 1) ? 0 : -1;
}

/* The result of the next query of the pipeline (NULL when it failed, logged), its end consumed. */
static PGresult *next_result(PGconn *c)
{
    PGresult *r = PQgetResult(c);
    if (r == NULL) return NULL;
    PGresult *extra;
    while ((extra = PQgetResult(c)) != NULL) /* a query's results end with NULL */
        PQclear(extra);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        if (PQresultStatus(r) != PGRES_PIPELINE_ABORTED) log_error("window load: %s", PQerrorMessage(c));
        PQclear(r);
        return NULL;
    }
    return r;
}

/* Reads the results left up to the sync point, then leaves pipeline mode. A connection that cannot
 * leave it is reset, so its next user finds it as usual. */
static void finish_pipeline(PGconn *c, int unread)
{
    int nulls = 0;
    while (PQstatus(c) == CONNECTION_OK && nulls <= unread) {
        PGresult *r = PQgetResult(c);
        if (r == NULL) {
            nulls++;
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        PQclear(r);
        if (st == PGRES_PIPELINE_SYNC) break;
    }
    if (!PQexitPipelineMode(c) && PQstatus(c) == CONNECTION_OK) {
        log_error("window load: cannot leave pipeline mode (%s); resetting the connection",
                  PQerrorMessage(c));
        PQreset(c);
    }
}

int window_load(PGconn *c, int64_t from, int64_t to, int64_t bfrom, int64_t bto, window_data_t *w)
{
    memset(w, 0, sizeof(*w));
    const query_t q[R_N] = {
        [R_PLAN] = {PLAN_SQL, PLAN_TYPES, NCOLS(PLAN_TYPES), 0, 0, 0, 0},
        [R_BASE_SPANS] = QUERY(SPANS_SQL, SPANS_TYPES, bfrom, bto, MAX_ROWS),
        [R_BASE_LOGS] = QUERY(LOGS_SQL, LOGS_TYPES, bfrom, bto, MAX_ROWS),
        [R_BASE_CHANGES] = QUERY(CHANGES_SQL, CHANGES_TYPES, bfrom, bto, MAX_ROWS),
        [R_SPANS] = QUERY(SPANS_SQL, SPANS_TYPES, from, to, MAX_ROWS),
        [R_LOGS] = QUERY(LOGS_SQL, LOGS_TYPES, from, to, MAX_ROWS),
        [R_CHANGES] = QUERY(CHANGES_SQL, CHANGES_TYPES, from - CHANGE_LOOKBACK_NS, to, MAX_ROWS),
        [R_METRICS] = QUERY(METRICS_SQL, METRICS_TYPES, from - HOUR_NS, to + PERIOD_MAX_NS, 2 * MAX_ROWS),
    };
    if (!PQenterPipelineMode(c)) {
        log_error("window load: cannot enter pipeline mode: %s", PQerrorMessage(c));
        return -1;
    }
    int sent = 0;
    while (sent < R_N && send_query(c, &q[sent]) == 0)
        sent++;
    int rc = -1, got = 0;
    if (!PQpipelineSync(c) || sent < R_N) {
        log_error("window load: cannot send the queries: %s", PQerrorMessage(c));
        goto out;
    }
    for (; got < R_N; got++) {
        PGresult *r = next_result(c);
        w->res[got] = r;
        if (r == NULL || check_shape(r, &q[got]) != 0) goto out;
    }
    rc = 0;
out:
    finish_pipeline(c, sent - got);
    if (rc != 0) return -1;

    size_t nbs = (size_t)PQntuples(w->res[R_BASE_SPANS]), ns = (size_t)PQntuples(w->res[R_SPANS]);
    w->spans = xcalloc(nbs + ns + 1, sizeof(rank_span_t));
    to_spans(w->res[R_BASE_SPANS], w->spans);
    to_spans(w->res[R_SPANS], w->spans + nbs);
    w->base.spans = w->spans;
    w->base.n_spans = nbs;
    w->target.spans = w->spans + nbs;
    w->target.n_spans = ns;

    size_t nbl = (size_t)PQntuples(w->res[R_BASE_LOGS]), nl = (size_t)PQntuples(w->res[R_LOGS]);
    w->logs = xcalloc(nbl + nl + 1, sizeof(rank_log_t));
    to_logs(w->res[R_BASE_LOGS], w->logs);
    to_logs(w->res[R_LOGS], w->logs + nbl);
    w->base.logs = w->logs;
    w->base.n_logs = nbl;
    w->target.logs = w->logs + nbl;
    w->target.n_logs = nl;

    size_t nbc = (size_t)PQntuples(w->res[R_BASE_CHANGES]), nc = (size_t)PQntuples(w->res[R_CHANGES]);
    w->changes = xcalloc(nbc + nc + 1, sizeof(rank_change_t));
    to_changes(w->res[R_BASE_CHANGES], w->changes);
    to_changes(w->res[R_CHANGES], w->changes + nbc);
    w->base.changes = w->changes;
    w->base.n_changes = nbc;
    w->target.changes = w->changes + nbc;
    w->target.n_changes = nc;

    to_metrics(w->res[R_METRICS], from, to, w);
    w->base.start_ns = bfrom;
    w->base.end_ns = bto;
    w->target.start_ns = from;
    w->target.end_ns = to;
    return 0;
}

/* ---- warming a new connection ---- */

#define WARM_WINDOW_NS ((int64_t)180 * 1000000000) /* 3 minutes: the window an analyze-window request usually asks for */

/* The newest span start is found through the time index (one index entry per partition, read from its
 * end): its own statement, outside the load's transaction, where plain index scans are allowed. */
static const char LATEST_SQL[] = "SELECT max(start_ns) FROM spans";

/* The end of the window to warm with: just after the latest span stored, or now; -1 when PostgreSQL failed.
 */
static int64_t warm_end(PGconn *c)
{
    PGresult *r = PQexecParams(c, LATEST_SQL, 0, NULL, NULL, NULL, NULL, 0);
    int64_t end = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        log_error("window load warm-up: %s", PQerrorMessage(c));
    } else if (!PQgetisnull(r, 0, 0)) {
        end = strtoll(PQgetvalue(r, 0, 0), NULL, 10) + 1;
    } else {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        end = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    }
    PQclear(r);
    return end;
}

int window_load_warm(PGconn *c, int64_t *end_ns)
{
    int64_t to = warm_end(c);
    if (to < 0) return -1;
    int64_t from = to - WARM_WINDOW_NS;
    window_data_t w;
    int rc = window_load(c, from, to, from - WARM_WINDOW_NS, from, &w);
    window_data_dispose(&w);
    if (rc == 0 && end_ns) *end_ns = to;
    return rc;
}

void window_data_dispose(window_data_t *w)
{
    for (int k = 0; k < R_N; k++) {
        PQclear(w->res[k]);
        w->res[k] = NULL;
    }
    free(w->spans);
    free(w->logs);
    free(w->metrics);
    free(w->changes);
    memset(w, 0, sizeof(*w));
}
