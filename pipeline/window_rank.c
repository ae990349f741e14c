/* Window ranking over stored telemetry (see window_rank.h). */
#include "window_rank.h"
#include "alloc.h"
#include "rank.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROWS 500000 /* per kind and window: a guard, far above a 3-minute window of a busy system */

/* Metric values in [$1, $2): the baseline's history. Values, not stored points: metric_values()
 * (migrations/006) turns counters into rates and histograms into quantiles; gauges pass as stored. */
static const char HISTORY_SQL[] =
    "SELECT ts_ns, service, name, value FROM metric_values($1::bigint, $2::bigint) LIMIT $3::int";

/* Metric points that describe [$1, $2). A point is stamped at the end of the interval it aggregates (a
 * scrape, a minute of a per-minute export), so the points up to one reporting period after the window
 * still describe it: the last minute of a CPU fault shows in the row stamped a minute later. The period
 * of each series is the median gap between its points around the window (at most 10 minutes). Values
 * as metric_values() derives them. */
static const char TARGET_SQL[] =
    "WITH pts AS (SELECT ts_ns, service, name, labels, value "
    "  FROM metric_values($1::bigint - 3600000000000, $2::bigint + 600000000000)), "
    "gaps AS (SELECT service, name, labels, "
    "  ts_ns - lag(ts_ns) OVER (PARTITION BY service, name, labels ORDER BY ts_ns) AS gap FROM pts), "
    "per AS (SELECT service, name, labels, percentile_disc(0.5) WITHIN GROUP (ORDER BY gap) AS period "
    "  FROM gaps WHERE gap > 0 GROUP BY service, name, labels) "
    "SELECT p.ts_ns, p.service, p.name, p.value FROM pts p LEFT JOIN per USING (service, name, labels) "
    "WHERE p.ts_ns >= $1::bigint AND p.ts_ns < $2::bigint + LEAST(COALESCE(per.period, 0), 600000000000) "
    "LIMIT $3::int";

typedef struct {
    PGresult *res[4];
    rank_span_t *spans;
    rank_log_t *logs;
    rank_metric_t *metrics;
    rank_change_t *changes;
    rank_input_t in;
} window_data_t;

static const char *val(PGresult *r, int i, int c)
{
    return PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
}

static PGresult *fetch(PGconn *c, const char *sql, int64_t a, int64_t b)
{
    char x[24], y[24], lim[16];
    snprintf(x, sizeof(x), "%" PRId64, a);
    snprintf(y, sizeof(y), "%" PRId64, b);
    snprintf(lim, sizeof(lim), "%d", MAX_ROWS);
    const char *p[] = {x, y, lim};
    PGresult *r = PQexecParams(c, sql, 3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return NULL;
    }
    return r;
}

/* Loads one window: spans and logs in [from, to), metric points of [mfrom, mto) by metrics_sql, changes in
 * [cfrom, to). */
static int load(PGconn *c, int64_t from, int64_t to, const char *metrics_sql, int64_t mfrom, int64_t mto,
                int64_t cfrom, window_data_t *w)
{
    memset(w, 0, sizeof(*w));
    w->res[0] =
        fetch(c,
              "SELECT trace_id, span_id, parent_span_id, service, name, start_ns, end_ns, status FROM spans "
              "WHERE start_ns >= $1::bigint AND start_ns < $2::bigint LIMIT $3::int",
              from, to);
    w->res[1] = fetch(c,
                      "SELECT ts_ns, service, severity, message, trace_id, span_id FROM logs "
                      "WHERE ts_ns >= $1::bigint AND ts_ns < $2::bigint LIMIT $3::int",
                      from, to);
    w->res[2] = fetch(c, metrics_sql, mfrom, mto);
    w->res[3] =
        fetch(c,
              "SELECT ts_ns, service, type, description FROM change_events WHERE ts_ns >= $1::bigint AND "
              "ts_ns < $2::bigint LIMIT $3::int",
              cfrom, to);
    for (int k = 0; k < 4; k++)
        if (w->res[k] == NULL) return -1;
    int n = PQntuples(w->res[0]);
    w->spans = xcalloc((size_t)n + 1, sizeof(rank_span_t));
    for (int i = 0; i < n; i++) {
        PGresult *r = w->res[0];
        w->spans[i] = (rank_span_t){val(r, i, 0),
                                    val(r, i, 1),
                                    val(r, i, 2),
                                    val(r, i, 3),
                                    val(r, i, 4),
                                    strtoll(val(r, i, 5), NULL, 10),
                                    strtoll(val(r, i, 6), NULL, 10),
                                    atoi(val(r, i, 7))};
    }
    w->in.spans = w->spans;
    w->in.n_spans = (size_t)n;
    n = PQntuples(w->res[1]);
    w->logs = xcalloc((size_t)n + 1, sizeof(rank_log_t));
    for (int i = 0; i < n; i++) {
        PGresult *r = w->res[1];
        w->logs[i] = (rank_log_t){strtoll(val(r, i, 0), NULL, 10),
                                  val(r, i, 1),
                                  atoi(val(r, i, 2)),
                                  val(r, i, 3),
                                  val(r, i, 4),
                                  val(r, i, 5)};
    }
    w->in.logs = w->logs;
    w->in.n_logs = (size_t)n;
    n = PQntuples(w->res[2]);
    w->metrics = xcalloc((size_t)n + 1, sizeof(rank_metric_t));
    for (int i = 0; i < n; i++) {
        PGresult *r = w->res[2];
        w->metrics[i] = (rank_metric_t){strtoll(val(r, i, 0), NULL, 10), val(r, i, 1), val(r, i, 2),
                                        strtod(val(r, i, 3), NULL)};
    }
    w->in.metrics = w->metrics;
    w->in.n_metrics = (size_t)n;
    n = PQntuples(w->res[3]);
    w->changes = xcalloc((size_t)n + 1, sizeof(rank_change_t));
    for (int i = 0; i < n; i++) {
        PGresult *r = w->res[3];
        w->changes[i] =
            (rank_change_t){strtoll(val(r, i, 0), NULL, 10), val(r, i, 1), val(r, i, 2), val(r, i, 3)};
    }
    w->in.changes = w->changes;
    w->in.n_changes = (size_t)n;
    w->in.start_ns = from;
    w->in.end_ns = to;
    return 0;
}

static void unload(window_data_t *w)
{
    for (int k = 0; k < 4; k++)
        PQclear(w->res[k]);
    free(w->spans);
    free(w->logs);
    free(w->metrics);
    free(w->changes);
}

json_t *window_rank(PGconn *c, int64_t from, int64_t to, int64_t bfrom, int64_t bto, int *db_failed)
{
    const int64_t hour = (int64_t)3600 * 1000000000;
    window_data_t base = {0}, target = {0}; /* both unloadable whichever load fails */
    json_t *js = NULL;
    /* the baseline's metric points are the history the target's are judged against */
    int ok = load(c, bfrom, bto, HISTORY_SQL, from - hour, from, bfrom, &base) == 0 &&
             load(c, from, to, TARGET_SQL, from, to, from - hour / 2, &target) == 0;
    *db_failed = !ok;
    if (ok) {
        rank_opts_t o;
        rank_opts_default(&o);
        rank_result_t res;
        if (rank_window(&base.in, &target.in, &o, &res) == 0) {
            js = rank_result_to_json(&res);
            if (js)
                json_object_set_new(js, "window",
                                    json_pack("{s:I,s:I,s:I,s:I}", "from_ns", (json_int_t)from, "to_ns",
                                              (json_int_t)to, "baseline_from_ns", (json_int_t)bfrom,
                                              "baseline_to_ns", (json_int_t)bto));
            rank_result_dispose(&res);
        }
    }
    unload(&base);
    unload(&target);
    return js;
}
