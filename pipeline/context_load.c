/* Trace context queries (see context_load.h). */
#include "context_load.h"
#include "alloc.h"
#include "buf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW_BEFORE_NS ((int64_t)600 * 1000000000)
#define WINDOW_AFTER_NS ((int64_t)60 * 1000000000)
#define MAX_METRIC_POINTS 20000

static const char *val(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static PGresult *query(PGconn *c, const char *sql, int n, const char *const *p, char *err, size_t errlen)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s", PQerrorMessage(c));
        PQclear(r);
        return NULL;
    }
    return r;
}

/* PostgreSQL array literal of the distinct services of the spans and logs. */
static void services_literal(const rca_trace_t *t, buf_t *out)
{
    buf_append_char(out, '{');
    for (size_t i = 0; i < t->nspans + t->nlogs; i++) {
        const char *s = i < t->nspans ? t->spans[i].service : t->logs[i - t->nspans].service;
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = !strcmp(s, j < t->nspans ? t->spans[j].service : t->logs[j - t->nspans].service);
        if (dup) continue;
        if (out->len > 1) buf_append_char(out, ',');
        buf_append_char(out, '"');
        for (const char *p = s; *p; p++) {
            if (*p == '"' || *p == '\\') buf_append_char(out, '\\');
            buf_append_char(out, *p);
        }
        buf_append_char(out, '"');
    }
    buf_append_char(out, '}');
}

#define SPAN_COLUMNS                                                                                         \
    "span_id, parent_span_id, service, name, kind, start_ns, end_ns, status, status_message, events::text"
#define LOG_COLUMNS "ts_ns, service, level, severity, message, span_id, stack_trace"

/* A trace within the limits: all of it (the LIMIT only guards against rows arriving meanwhile). */
static const char spans_sql[] = "SELECT " SPAN_COLUMNS " FROM spans WHERE trace_id = $1 LIMIT $2::int";
/* A larger trace: the sample context_load.h describes, chosen in SQL so no more than the limit is
 * ever sent. The recursion walks up from each error span to the root through the (trace_id, span_id)
 * primary key; UNION drops what was seen, so shared ancestors and cycles are walked once.
 * $3 is the share of the limit given to the longest spans. */
static const char spans_sample_sql[] =
    "WITH RECURSIVE path(span_id, parent_span_id) AS ("
    "  SELECT span_id, parent_span_id FROM spans WHERE trace_id = $1 AND status = 2"
    "  UNION SELECT p.span_id, p.parent_span_id FROM path c JOIN spans p"
    "    ON p.trace_id = $1 AND p.span_id = c.parent_span_id), "
    "on_path AS (SELECT DISTINCT span_id FROM path), "
    "ranked AS (SELECT s.*, o.span_id IS NOT NULL AS hot, row_number() OVER (PARTITION BY o.span_id IS "
    "  NULL ORDER BY s.end_ns - s.start_ns DESC, s.start_ns, s.span_id) AS by_duration "
    "  FROM spans s LEFT JOIN on_path o ON o.span_id = s.span_id WHERE s.trace_id = $1) "
    "SELECT " SPAN_COLUMNS " FROM ranked ORDER BY CASE WHEN hot THEN 0 WHEN by_duration <= $3::int THEN 1 "
    "ELSE 2 END, start_ns, span_id LIMIT $2::int";
static const char logs_sql[] = "SELECT " LOG_COLUMNS " FROM logs WHERE trace_id = $1 "
                               "ORDER BY severity >= 5 DESC, ts_ns, content_hash LIMIT $2::int";
static const char totals_sql[] = "SELECT (SELECT count(*) FROM spans WHERE trace_id = $1), "
                                 "(SELECT count(*) FROM logs WHERE trace_id = $1)";

static int load_totals(PGconn *c, const char *trace_id, trace_ctx_t *ctx, char *err, size_t errlen)
{
    const char *p[] = {trace_id};
    PGresult *r = query(c, totals_sql, 1, p, err, errlen);
    if (!r) return -1;
    ctx->t.total_spans = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    ctx->t.total_logs = (size_t)strtoull(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    return 0;
}

static int load_spans(PGconn *c, const char *trace_id, int max, trace_ctx_t *ctx, char *err, size_t errlen)
{
    char limit[16], longest[16];
    snprintf(limit, sizeof(limit), "%d", max);
    snprintf(longest, sizeof(longest), "%d", max / 4);
    const char *p[] = {trace_id, limit, longest};
    int sampled = ctx->t.total_spans > (size_t)max;
    PGresult *r = query(c, sampled ? spans_sample_sql : spans_sql, sampled ? 3 : 2, p, err, errlen);
    if (!r) return -1;
    ctx->res[0] = r;
    int n = PQntuples(r);
    ctx->t.spans = xcalloc((size_t)(n ? n : 1), sizeof(rca_span_t));
    ctx->t.nspans = (size_t)n;
    for (int i = 0; i < n; i++) {
        rca_span_t *s = &ctx->t.spans[i];
        s->span_id = val(r, i, 0);
        s->parent_span_id = val(r, i, 1);
        s->service = val(r, i, 2);
        s->name = val(r, i, 3);
        s->kind = val(r, i, 4);
        s->start_ns = strtoll(val(r, i, 5), NULL, 10);
        s->end_ns = strtoll(val(r, i, 6), NULL, 10);
        s->status = atoi(val(r, i, 7));
        s->status_message = val(r, i, 8);
        const char *ev = val(r, i, 9);
        /* most spans have no events: skip the JSON parse for "[]" */
        s->events = ev && strcmp(ev, "[]") != 0 ? json_loads(ev, 0, NULL) : json_array();
    }
    return 0;
}

static int load_logs(PGconn *c, const char *trace_id, int max, trace_ctx_t *ctx, char *err, size_t errlen)
{
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", max);
    const char *p[] = {trace_id, limit};
    PGresult *r = query(c, logs_sql, 2, p, err, errlen);
    if (!r) return -1;
    ctx->res[1] = r;
    int n = PQntuples(r);
    ctx->t.logs = xcalloc((size_t)(n ? n : 1), sizeof(rca_log_t));
    ctx->t.nlogs = (size_t)n;
    for (int i = 0; i < n; i++) {
        rca_log_t *l = &ctx->t.logs[i];
        l->ts_ns = strtoll(val(r, i, 0), NULL, 10);
        l->service = val(r, i, 1);
        l->level = val(r, i, 2);
        l->severity = atoi(val(r, i, 3));
        l->message = val(r, i, 4);
        l->span_id = val(r, i, 5);
        l->stack_trace = val(r, i, 6);
    }
    return 0;
}

/* The anomaly episodes of the services (array literal) overlapping [from, to]: symptoms for the suspect
 * model and evidence for the report. */
static int load_episodes(PGconn *c, const char *services, const char *from, const char *to, trace_ctx_t *ctx,
                         char *err, size_t errlen)
{
    const char *p[] = {services, from, to};
    PGresult *r =
        query(c,
              "SELECT service, metric, start_ns, end_ns, baseline, peak, pct_change, peak_z, direction "
              "FROM anomaly_episodes WHERE service = ANY ($1::text[]) AND end_ns >= $2::bigint AND "
              "start_ns <= $3::bigint ORDER BY abs(peak_z) DESC, start_ns, id LIMIT 64",
              3, p, err, errlen);
    if (!r) return -1;
    ctx->res[4] = r;
    int n = PQntuples(r);
    ctx->t.episodes = xcalloc((size_t)(n ? n : 1), sizeof(rca_episode_t));
    ctx->t.nepisodes = (size_t)n;
    for (int i = 0; i < n; i++) {
        rca_episode_t *e = &ctx->t.episodes[i];
        e->service = val(r, i, 0);
        e->metric = val(r, i, 1);
        e->start_ns = strtoll(val(r, i, 2), NULL, 10);
        e->end_ns = strtoll(val(r, i, 3), NULL, 10);
        e->baseline = strtod(val(r, i, 4), NULL);
        e->peak = strtod(val(r, i, 5), NULL);
        e->pct_change = strtod(val(r, i, 6), NULL);
        e->peak_z = strtod(val(r, i, 7), NULL);
        e->direction = atoi(val(r, i, 8));
    }
    return 0;
}

int context_load(PGconn *c, const char *trace_id, const context_limits_t *lim, trace_ctx_t *ctx, char *err,
                 size_t errlen)
{
    memset(ctx, 0, sizeof(*ctx));
    snprintf(ctx->trace_id, sizeof(ctx->trace_id), "%s", trace_id);
    ctx->t.trace_id = ctx->trace_id;
    if (load_totals(c, trace_id, ctx, err, errlen) != 0 ||
        load_spans(c, trace_id, lim->max_spans, ctx, err, errlen) != 0 ||
        load_logs(c, trace_id, lim->max_logs, ctx, err, errlen) != 0)
        return -1;
    /* rows may have arrived between the count and the load */
    if (ctx->t.total_spans < ctx->t.nspans) ctx->t.total_spans = ctx->t.nspans;
    if (ctx->t.total_logs < ctx->t.nlogs) ctx->t.total_logs = ctx->t.nlogs;
    int64_t first = INT64_MAX, last = 0;
    for (size_t i = 0; i < ctx->t.nspans; i++) {
        if (ctx->t.spans[i].start_ns < first) first = ctx->t.spans[i].start_ns;
        if (ctx->t.spans[i].end_ns > last) last = ctx->t.spans[i].end_ns;
    }
    for (size_t i = 0; i < ctx->t.nlogs; i++) {
        if (ctx->t.logs[i].ts_ns < first) first = ctx->t.logs[i].ts_ns;
        if (ctx->t.logs[i].ts_ns > last) last = ctx->t.logs[i].ts_ns;
    }
    PGresult *r;
    int n;
    if (ctx->t.nspans + ctx->t.nlogs == 0) return 0;
    buf_t svc;
    buf_init(&svc, 1 << 20);
    services_literal(&ctx->t, &svc);
    char from[24], to[24], change_from[24];
    snprintf(from, sizeof(from), "%" PRId64, first - WINDOW_BEFORE_NS);
    snprintf(to, sizeof(to), "%" PRId64, last + WINDOW_AFTER_NS);
    snprintf(change_from, sizeof(change_from), "%" PRId64, first - WINDOW_BEFORE_NS);
    const char *p2[] = {svc.data, from, to};
    r = query(c,
              "SELECT ts_ns, service, name, value FROM metric_values($2::bigint, $3::bigint + 1, $1::text[]) "
              "ORDER BY service, name, ts_ns LIMIT 20000",
              3, p2, err, errlen);
    if (!r) {
        buf_dispose(&svc);
        return -1;
    }
    ctx->res[2] = r;
    n = PQntuples(r);
    ctx->t.metrics = xcalloc((size_t)(n ? n : 1), sizeof(rca_metric_t));
    ctx->t.nmetrics = (size_t)n;
    for (int i = 0; i < n; i++) {
        ctx->t.metrics[i].ts_ns = strtoll(val(r, i, 0), NULL, 10);
        ctx->t.metrics[i].service = val(r, i, 1);
        ctx->t.metrics[i].name = val(r, i, 2);
        ctx->t.metrics[i].value = strtod(val(r, i, 3), NULL);
    }
    if (load_episodes(c, svc.data, from, to, ctx, err, errlen) != 0) {
        buf_dispose(&svc);
        return -1;
    }
    snprintf(to, sizeof(to), "%" PRId64, last);
    const char *p3[] = {svc.data, change_from, to};
    r = query(
        c,
        "SELECT ts_ns, service, type, description FROM change_events WHERE (service = ANY ($1::text[]) OR "
        "service IS NULL) AND ts_ns BETWEEN $2::bigint AND $3::bigint ORDER BY ts_ns, event_hash",
        3, p3, err, errlen);
    buf_dispose(&svc);
    if (!r) return -1;
    ctx->res[3] = r;
    n = PQntuples(r);
    ctx->t.changes = xcalloc((size_t)(n ? n : 1), sizeof(rca_change_t));
    ctx->t.nchanges = (size_t)n;
    for (int i = 0; i < n; i++) {
        ctx->t.changes[i].ts_ns = strtoll(val(r, i, 0), NULL, 10);
        ctx->t.changes[i].service = val(r, i, 1);
        ctx->t.changes[i].type = val(r, i, 2);
        ctx->t.changes[i].description = val(r, i, 3);
    }
    return 0;
}

int context_load_baselines(PGconn *c, trace_ctx_t *ctx, char *err, size_t errlen)
{
    if (ctx->t.nspans == 0) return 0;
    int64_t first = INT64_MAX;
    for (size_t i = 0; i < ctx->t.nspans; i++)
        if (ctx->t.spans[i].start_ns < first) first = ctx->t.spans[i].start_ns;
    char from[24], to[24];
    snprintf(from, sizeof(from), "%" PRId64, first - (int64_t)3600 * 1000000000);
    snprintf(to, sizeof(to), "%" PRId64, first);
    const char *p[] = {ctx->trace_id, from, to};
    PGresult *r =
        query(c,
              "SELECT s.service, s.name, percentile_cont(0.5) WITHIN GROUP (ORDER BY (s.end_ns - s.start_ns) "
              "/ 1e6) FROM spans s JOIN (SELECT DISTINCT service, name FROM spans WHERE trace_id = $1) o "
              "ON o.service = s.service AND o.name = s.name WHERE s.start_ns BETWEEN $2::bigint AND "
              "$3::bigint AND s.trace_id <> $1 GROUP BY s.service, s.name",
              3, p, err, errlen);
    if (!r) return -1;
    ctx->baseline_res = r;
    int n = PQntuples(r);
    ctx->baselines = xcalloc((size_t)(n ? n : 1), sizeof(rca_baseline_t));
    ctx->nbaselines = (size_t)n;
    for (int i = 0; i < n; i++) {
        ctx->baselines[i].service = val(r, i, 0);
        ctx->baselines[i].operation = val(r, i, 1);
        ctx->baselines[i].p50_ms = strtod(val(r, i, 2), NULL);
    }
    return 0;
}

void context_dispose(trace_ctx_t *ctx)
{
    if (ctx == NULL) return;
    for (size_t i = 0; i < ctx->t.nspans; i++)
        json_decref(ctx->t.spans[i].events);
    free(ctx->t.spans);
    free(ctx->t.logs);
    free(ctx->t.metrics);
    free(ctx->t.changes);
    free(ctx->t.episodes);
    free(ctx->baselines);
    for (int i = 0; i < 5; i++)
        PQclear(ctx->res[i]);
    PQclear(ctx->baseline_res);
    memset(ctx, 0, sizeof(*ctx));
}
