/* More of the query API: signals search, services health, metric series, anomalies, suspects, accuracy
 * (all read-only), feedback (the one write the dashboard makes) and rerun (ADMIN key). */
#include "alloc.h"
#include "db.h"
#include "incident_rows.h"
#include "query_api.h"
#include "query_params.h"
#include "query_sql.h"
#include "queue_contract.h"
#include "redisx.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The names of metric_points.kind and .temporality (migration 005's numbering). */
#define METRIC_KIND_NAME                                                                                     \
    "CASE kind WHEN 0 THEN 'gauge' WHEN 1 THEN 'sum' WHEN 2 THEN 'histogram' WHEN 3 THEN "                   \
    "'exponential_histogram' WHEN 4 THEN 'summary' END"
#define METRIC_TEMPORALITY_NAME                                                                              \
    "CASE temporality WHEN 1 THEN 'delta' WHEN 2 THEN 'cumulative' ELSE 'unspecified' END"

static void fmt_i64(char *out, size_t n, int64_t v)
{
    snprintf(out, n, "%" PRId64, v);
}

/* A text search (ILIKE over every row in range: no index helps it) needs both ends of its time range,
 * at most `max_s` seconds apart, so one request cannot scan the whole retention. Returns 1, or 0 after
 * answering 400 naming the parameter to fix. */
static int search_range_ok(h2o_req_t *req, int max_s, int has_from, int64_t from, int has_to, int64_t to)
{
    char msg[160];
    const char *bad = !has_from ? "from" : !has_to ? "to" : NULL;
    if (bad) {
        snprintf(msg, sizeof(msg), "query parameter %s is required with q (a range of at most %d s)", bad,
                 max_s);
    } else if (to < from || (to - from) / 1000000000 > (int64_t)max_s ||
               ((to - from) / 1000000000 == (int64_t)max_s && (to - from) % 1000000000 != 0)) {
        bad = "to";
        snprintf(
            msg, sizeof(msg),
            "query parameter to: with q, from and to must be at most %d s apart (QUERY_MAX_SEARCH_RANGE_S) "
            "and in order",
            max_s);
    }
    if (bad) httpd_send_error(req, 400, "invalid_parameter", msg, bad);
    return bad == NULL;
}

/* GET /query/signals?kind=logs|spans|metrics&service&level&trace_id&from&to&q&name&limit&cursor&hist
 * Each item carries its OTel parts (migration 005): "scope" and "resource" (a hash into the answer's
 * "resources" map, so a resource shared by the page is sent once); logs their severity_number,
 * observed_ns, body (JSON, when the body was not a string) and event_name; metric points their kind,
 * temporality, monotonic, start_ns, unit and, with hist=1, hist (buckets, quantiles).
 * Newest first, ties in time ordered by the record's unique key; cursor "<ts_ns>:<n>": the page goes on
 * from the records at ts_ns, past the n of them already returned (records sharing a timestamp across a
 * page boundary are neither skipped nor repeated). */
#define NEXT_CURSOR(ts)                                                                                      \
    "min(" ts ")::text || ':' || (count(*) FILTER (WHERE " ts " = (SELECT min(" ts ") FROM page)) + CASE "   \
    "WHEN min(" ts ") = $7::bigint THEN $10::int ELSE 0 END)::text"
#define PAGE_RESOURCES QUERY_SQL_RESOURCES("SELECT resource_hash FROM page")
static int on_signals(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    static const char *const kinds[] = {"logs", "spans", "metrics", NULL};
    static const char *const levels[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", NULL};
    const char *kind, *service, *level, *trace, *text, *name;
    int64_t from = 0, to = 0;
    int has_from, has_to, has_cursor;
    long limit, hist;
    char ca[24], cb[24];
    static const char *const known[] = {"kind", "service", "level", "trace_id", "q",    "name",
                                        "from", "to",      "limit", "cursor",   "hist", NULL};
    if (!qp_known(req, known) || !qp_enum(req, "kind", kinds, &kind) ||
        !qp_text(req, "service", 256, &service) || !qp_enum(req, "level", levels, &level) ||
        !qp_text(req, "trace_id", 32, &trace) || !qp_text(req, "q", 200, &text) ||
        !qp_text(req, "name", 256, &name) || !qp_time(req, "from", &from, &has_from) ||
        !qp_time(req, "to", &to, &has_to) || !qp_int(req, "limit", 1, 1000, 100, &limit) ||
        !qp_int(req, "hist", 0, 1, 0, &hist) || !qp_cursor(req, "cursor", ca, cb, sizeof(ca), &has_cursor))
        return 0;
    if (text && !search_range_ok(req, q->cfg->query_max_search_range_s, has_from, from, has_to, to)) return 0;
    int is_metrics = kind && !strcmp(kind, "metrics");
    static const int sev[] = {1, 2, 3, 4, 5, 6};
    char sev_s[8] = "", from_s[24], to_s[24], limit_s[16];
    for (int i = 0; level && levels[i]; i++)
        if (!strcmp(level, levels[i])) snprintf(sev_s, sizeof(sev_s), "%d", sev[i]);
    fmt_i64(from_s, sizeof(from_s), from);
    fmt_i64(to_s, sizeof(to_s), to);
    snprintf(limit_s, sizeof(limit_s), "%ld", limit);
    const char *sql;
    if (kind == NULL || !strcmp(kind, "logs"))
        sql =
            "WITH page AS (SELECT ts_ns, service, level, severity, message, trace_id, span_id, stack_trace, "
            "severity_number, observed_ns, body, event_name, scope_name, scope_version, resource_hash "
            "FROM logs WHERE ($1::text IS NULL OR service = $1) AND ($2::int IS NULL OR severity >= $2::int) "
            "AND ($3::text IS NULL OR trace_id = $3) AND ($4::bigint IS NULL OR ts_ns >= $4::bigint) "
            "AND ($5::bigint IS NULL OR ts_ns <= $5::bigint) AND ($6::text IS NULL OR message ILIKE '%' || "
            "replace(replace($6, '%', '\\%'), '_', '\\_') || '%') AND ($7::bigint IS NULL OR ts_ns <= "
            "$7::bigint) "
            "AND ($9::text IS NULL OR $9 = $9) ORDER BY ts_ns DESC, content_hash DESC OFFSET $10::int LIMIT "
            "$8::int) "
            "SELECT json_build_object('kind', 'logs', 'items', coalesce(json_agg(json_build_object('ts_ns', "
            "ts_ns::text, 'service', service, 'level', level, 'message', message, 'trace_id', trace_id, "
            "'span_id', span_id, 'stack_trace', stack_trace, 'severity_number', severity_number, "
            "'observed_ns', observed_ns::text, 'body', body, 'event_name', event_name, "
            "'scope', " QUERY_SQL_SCOPE ", 'resource', resource_hash) ORDER BY ts_ns DESC), '[]'::json), "
            "'resources', " PAGE_RESOURCES ", "
            "'next_cursor', CASE WHEN count(*) = $8::int THEN " NEXT_CURSOR("ts_ns") " END)::text FROM page";
    else if (!strcmp(kind, "spans"))
        sql = "WITH page AS (SELECT trace_id, span_id, parent_span_id, service, name, start_ns, end_ns, "
              "status, status_message, scope_name, scope_version, resource_hash FROM spans "
              "WHERE ($1::text IS NULL OR service = $1) AND ($2::int IS NULL OR "
              "(status = 2) = ($2::int >= 5)) AND ($3::text IS NULL OR trace_id = $3) AND ($4::bigint IS "
              "NULL OR "
              "start_ns >= $4::bigint) AND ($5::bigint IS NULL OR start_ns <= $5::bigint) AND ($6::text IS "
              "NULL OR "
              "name ILIKE '%' || replace(replace($6, '%', '\\%'), '_', '\\_') || '%') AND ($7::bigint IS "
              "NULL OR "
              "start_ns <= $7::bigint) AND ($9::text IS NULL OR name = $9) ORDER BY start_ns DESC, trace_id "
              "DESC, span_id DESC OFFSET $10::int LIMIT $8::int) "
              "SELECT json_build_object('kind', 'spans', 'items', "
              "coalesce(json_agg(json_build_object('trace_id', "
              "trace_id, 'span_id', span_id, 'parent_span_id', parent_span_id, 'service', service, 'name', "
              "name, "
              "'start_ns', start_ns::text, 'duration_ms', (end_ns - start_ns) / 1e6, 'status', CASE status "
              "WHEN 2 "
              "THEN 'ERROR' WHEN 1 THEN 'OK' ELSE 'UNSET' END, 'status_message', status_message, "
              "'scope', " QUERY_SQL_SCOPE ", 'resource', resource_hash) ORDER BY start_ns DESC), "
              "'[]'::json), 'resources', " PAGE_RESOURCES ", 'next_cursor', "
              "CASE WHEN count(*) = $8::int THEN " NEXT_CURSOR("start_ns") " END)::text FROM page";
    else
        sql =
            "WITH page AS (SELECT ts_ns, service, name, value, labels, kind, temporality, monotonic, "
            "start_ns, unit, hist, scope_name, scope_version, resource_hash FROM metric_points WHERE "
            "($1::text IS NULL "
            "OR service = $1) AND ($2::int IS NULL OR $2::int = $2::int) AND ($3::text IS NULL OR $3 = $3) "
            "AND "
            "($4::bigint IS NULL OR ts_ns >= $4::bigint) AND ($5::bigint IS NULL OR ts_ns <= $5::bigint) AND "
            "($6::text IS NULL OR name ILIKE '%' || replace(replace($6, '%', '\\%'), '_', '\\_') || '%') "
            "AND "
            "($7::bigint IS NULL OR ts_ns <= $7::bigint) AND ($9::text IS NULL OR name = $9) ORDER BY ts_ns "
            "DESC, point_hash DESC OFFSET $10::int "
            "LIMIT $8::int) SELECT json_build_object('kind', 'metrics', 'items', "
            "coalesce(json_agg(json_build_object("
            "'ts_ns', ts_ns::text, 'service', service, 'name', name, 'value', value, 'labels', labels, "
            "'kind', " METRIC_KIND_NAME ", 'temporality', " METRIC_TEMPORALITY_NAME ", "
            "'monotonic', monotonic, 'start_ns', start_ns::text, 'unit', unit, "
            "'hist', CASE WHEN $11::boolean THEN hist END, "
            "'scope', " QUERY_SQL_SCOPE ", 'resource', resource_hash) ORDER BY ts_ns DESC), '[]'::json), "
            "'resources', " PAGE_RESOURCES ", "
            "'next_cursor', CASE WHEN count(*) = $8::int THEN " NEXT_CURSOR("ts_ns") " END)::text FROM page";
    /* $11 is only in the metrics statement: PostgreSQL cannot type a parameter no statement uses */
    query_sql_t s = {.sql = sql,
                     .nparams = is_metrics ? 11 : 10,
                     .params = {service, *sev_s ? sev_s : NULL, trace, has_from ? from_s : NULL,
                                has_to ? to_s : NULL, text, has_cursor ? ca : NULL, limit_s, name,
                                has_cursor ? cb : "0", hist ? "true" : "false"},
                     .read_only = 1};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

/* GET /query/services?from&to: per service and entry endpoint, requests, error rate and p95 in the
 * window and in the window of equal length before it, and a health score in [0,100]. */
static int on_services(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    int64_t from, to;
    int has_from, has_to;
    static const char *const known[] = {"from", "to", NULL};
    if (!qp_known(req, known) || !qp_time(req, "from", &from, &has_from) || !qp_time(req, "to", &to, &has_to))
        return 0;
    char from_s[24], to_s[24];
    fmt_i64(from_s, sizeof(from_s), from);
    fmt_i64(to_s, sizeof(to_s), to);
    static const char sql[] =
        "WITH w AS (SELECT coalesce($2::bigint, (extract(epoch FROM now()) * 1e9)::bigint) AS t1), "
        "w2 AS (SELECT t1, coalesce($1::bigint, t1 - 900000000000) AS t0 FROM w), "
        "s AS (SELECT service, name, start_ns >= t0 AS cur, (end_ns - start_ns) / 1e6 AS ms, status "
        "  FROM spans, w2 WHERE start_ns >= t0 - (t1 - t0) AND start_ns < t1 "
        "  AND (kind = 'SERVER' OR parent_span_id IS NULL)), "
        "e AS (SELECT service, name, count(*) FILTER (WHERE cur) AS requests, "
        "  coalesce(avg((status = 2)::int) FILTER (WHERE cur), 0) AS error_rate, "
        "  percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) FILTER (WHERE cur) AS p95_ms, "
        "  coalesce(avg((status = 2)::int) FILTER (WHERE NOT cur), 0) AS base_error_rate, "
        "  percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) FILTER (WHERE NOT cur) AS base_p95_ms "
        "  FROM s GROUP BY service, name), "
        "h AS (SELECT *, greatest(0, least(100, round(100 - 400 * greatest(0, error_rate - base_error_rate) "
        "  - 50 * greatest(0, coalesce(p95_ms / nullif(base_p95_ms, 0), 1) - 1))))::int AS health FROM e) "
        "SELECT json_build_object('services', coalesce(json_agg(json_build_object('service', service, "
        "'health', "
        "  min_health, 'requests', requests, 'error_rate', error_rate, 'endpoints', endpoints) ORDER BY "
        "  min_health, service), '[]'::json))::text FROM (SELECT service, min(health) AS min_health, "
        "  sum(requests) AS requests, sum(error_rate * requests) / nullif(sum(requests), 0) AS error_rate, "
        "  json_agg(json_build_object('endpoint', name, 'requests', requests, 'error_rate', error_rate, "
        "  'p95_ms', p95_ms, 'base_error_rate', base_error_rate, 'base_p95_ms', base_p95_ms, 'health', "
        "health) "
        "  ORDER BY name) AS endpoints FROM h GROUP BY service) x";
    query_sql_t s = {
        .sql = sql, .nparams = 2, .params = {has_from ? from_s : NULL, has_to ? to_s : NULL}, .read_only = 1};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

/* GET /query/metrics?service&name&from&to&step&raw: the series downsampled in SQL (avg/min/max per step).
 * Values as analysis sees them (metric_values(), migrations/006): a cumulative counter charts as its
 * per-second rate, a histogram as <name>.p50/.p95/.p99/.count, a gauge as stored. raw=1 charts the
 * stored values of `name` instead (a counter's running total, a histogram's count). */
static int on_metrics(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    const char *service, *name;
    int64_t from, to;
    int has_from, has_to;
    long step, raw;
    static const char *const known[] = {"service", "name", "from", "to", "step", "raw", NULL};
    if (!qp_known(req, known) || !qp_text(req, "service", 256, &service) ||
        !qp_text(req, "name", 1024, &name) || !qp_time(req, "from", &from, &has_from) ||
        !qp_time(req, "to", &to, &has_to) || !qp_int(req, "step", 1, 86400, 60, &step) ||
        !qp_int(req, "raw", 0, 1, 0, &raw))
        return 0;
    if (!service || !name) {
        httpd_send_error(req, 400, "invalid_parameter", "query parameter service and name are required",
                         service ? "name" : "service");
        return 0;
    }
    char from_s[24], to_s[24], step_s[24];
    fmt_i64(from_s, sizeof(from_s), from);
    fmt_i64(to_s, sizeof(to_s), to);
    snprintf(step_s, sizeof(step_s), "%lld", (long long)step * 1000000000LL);
#define METRICS_CHART_SQL(source)                                                                            \
    "SELECT json_build_object('service', $1::text, 'name', $2::text, 'step_s', $5::bigint / 1000000000, "    \
    "'raw', $6::boolean, 'points', coalesce(json_agg(json_build_object('ts_ns', (b * $5::bigint)::text, "    \
    "'avg', a, 'min', mi, 'max', ma, 'n', n) ORDER BY b), '[]'::json))::text FROM (SELECT ts_ns / "          \
    "$5::bigint AS b, avg(value) AS a, min(value) AS mi, max(value) AS ma, count(*) AS n FROM " source       \
    " GROUP BY 1 LIMIT 5000) x"
#define METRICS_FROM "coalesce($3::bigint, (extract(epoch FROM now()) * 1e9)::bigint - 3600000000000)"
#define METRICS_TO "coalesce($4::bigint, (extract(epoch FROM now()) * 1e9)::bigint)"
    static const char derived_sql[] = METRICS_CHART_SQL("metric_values(" METRICS_FROM ", " METRICS_TO
                                                        " + 1, ARRAY[$1::text], ARRAY[$2::text])");
    static const char raw_sql[] = METRICS_CHART_SQL("metric_points WHERE service = $1 AND name = $2 AND "
                                                    "ts_ns >= " METRICS_FROM " AND ts_ns <= " METRICS_TO);
#undef METRICS_CHART_SQL
#undef METRICS_FROM
#undef METRICS_TO
    query_sql_t s = {.sql = raw ? raw_sql : derived_sql,
                     .nparams = 6,
                     .params = {service, name, has_from ? from_s : NULL, has_to ? to_s : NULL, step_s,
                                raw ? "true" : "false"},
                     .read_only = 1};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

/* GET /query/anomalies?service&from&to&limit */
static int on_anomalies(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    const char *service;
    int64_t from, to;
    int has_from, has_to;
    long limit;
    static const char *const known[] = {"service", "from", "to", "limit", NULL};
    if (!qp_known(req, known) || !qp_text(req, "service", 256, &service) ||
        !qp_time(req, "from", &from, &has_from) || !qp_time(req, "to", &to, &has_to) ||
        !qp_int(req, "limit", 1, 1000, 100, &limit))
        return 0;
    char from_s[24], to_s[24], limit_s[16];
    fmt_i64(from_s, sizeof(from_s), from);
    fmt_i64(to_s, sizeof(to_s), to);
    snprintf(limit_s, sizeof(limit_s), "%ld", limit);
    static const char sql[] =
        "SELECT json_build_object('anomalies', coalesce(json_agg(a ORDER BY a.start_ns DESC, a.id DESC), "
        "'[]'::json))::text FROM (SELECT id, service, metric, labels, start_ns::text AS start_ns, "
        "end_ns::text AS "
        "end_ns, baseline, peak, pct_change, peak_z, direction, points, seasonal, suspects, explanation FROM "
        "anomaly_episodes WHERE ($1::text IS NULL OR service = $1) AND ($2::bigint IS NULL OR end_ns >= "
        "$2::bigint) "
        "AND ($3::bigint IS NULL OR start_ns <= $3::bigint) ORDER BY start_ns DESC, id DESC LIMIT $4::int) a";
    query_sql_t s = {.sql = sql,
                     .nparams = 4,
                     .params = {service, has_from ? from_s : NULL, has_to ? to_s : NULL, limit_s},
                     .read_only = 1};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

/* GET /query/incidents/{id}/suspects: the change events suspected by the latest analysis, best first
 * (suspects_by_confidence(), migration 011), each with its id ("suspect:<n>", what feedback names), its
 * confidence and its evidence sentence. */
static int on_suspects(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    char id[24];
    if (!qp_known(req, NULL) || !qp_path_id(req, m->params[0], "id", id, sizeof(id))) return 0;
    static const char sql[] =
        "SELECT json_build_object('incident_id', i.id, 'analysis_id', a.id, 'suspects', coalesce((SELECT "
        "jsonb_agg(r.suspect || jsonb_build_object('id', 'suspect:' || r.idx, 'rank', r.rank) ORDER BY "
        "r.rank) "
        "FROM suspects_by_confidence(a.evidence->'suspects') r), '[]'::jsonb), "
        "'note', CASE WHEN NOT EXISTS (SELECT 1 FROM suspects_by_confidence(a.evidence->'suspects')) THEN "
        "'no change event in the 10 minutes before explains this incident' END)::text "
        "FROM incidents i LEFT JOIN LATERAL (SELECT a.id, a.evidence FROM analyses a WHERE a.incident_id = "
        "i.id "
        "ORDER BY a.created_at DESC, a.id DESC LIMIT 1) a ON true WHERE i.id = $1::bigint";
    query_sql_t s = {
        .sql = sql, .nparams = 1, .params = {id}, .not_found = "no such incident", .read_only = 1};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

/* The fields a feedback body may hold; any other is refused by name. */
static const char *const feedback_fields[] = {"verdict", "true_service",      "true_cause", "comment",
                                              "suspect", "suspect_was_cause", NULL};

/* Checks a feedback body. Returns the bad field's path (and why), or NULL when it is valid; *suspect gets
 * the named suspect's index (-1: none). */
static const char *feedback_invalid(json_t *b, long *suspect, const char **why)
{
    *suspect = -1;
    if (!json_is_object(b)) return *why = "expected a JSON object", "";
    const char *key;
    json_t *v;
    json_object_foreach(b, key, v)
    {
        int known = 0;
        for (int i = 0; feedback_fields[i] && !known; i++)
            known = !strcmp(key, feedback_fields[i]);
        if (!known)
            return *why = "unknown field (known: verdict, true_service, true_cause, comment, suspect, "
                          "suspect_was_cause)",
                   key;
    }
    const char *verdict = json_string_value(json_object_get(b, "verdict"));
    if (!verdict || (strcmp(verdict, "right") && strcmp(verdict, "wrong")))
        return *why = "expected \"right\" or \"wrong\"", "verdict";
    static const struct {
        const char *name;
        size_t max;
    } texts[] = {{"true_service", 256}, {"true_cause", 1024}, {"comment", 4096}};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        json_t *t = json_object_get(b, texts[i].name);
        if (t && !json_is_null(t) && (!json_is_string(t) || json_string_length(t) > texts[i].max))
            return *why = texts[i].max == 256    ? "expected a string of at most 256 bytes"
                          : texts[i].max == 1024 ? "expected a string of at most 1024 bytes"
                                                 : "expected a string of at most 4096 bytes",
                   texts[i].name;
    }
    json_t *sus = json_object_get(b, "suspect"), *was = json_object_get(b, "suspect_was_cause");
    if (sus && !json_is_null(sus)) {
        const char *sv = json_string_value(sus);
        char *end = NULL;
        long n =
            sv && !strncmp(sv, "suspect:", 8) && sv[8] >= '0' && sv[8] <= '9' ? strtol(sv + 8, &end, 10) : -1;
        if (n < 0 || n > 10000 || !end || *end)
            return *why = "expected a suspect id \"suspect:<n>\" (GET /query/incidents/{id}/suspects)",
                   "suspect";
        *suspect = n;
    }
    if (was && !json_is_null(was) && !json_is_boolean(was))
        return *why = "expected true or false", "suspect_was_cause";
    if (*suspect >= 0 && !json_is_boolean(was))
        return *why = "required with suspect: was that suspect the cause (true or false)?",
               "suspect_was_cause";
    if (*suspect < 0 && json_is_boolean(was)) return *why = "given without a suspect to judge", "suspect";
    return NULL;
}

static const char *opt_text(json_t *b, const char *field)
{
    return json_string_value(json_object_get(b, field));
}

/* POST /query/incidents/{id}/feedback {"verdict": "right"|"wrong", "true_service"?, "true_cause"?,
 * "comment"?, "suspect"?: "suspect:<n>", "suspect_was_cause"?: bool} judges the latest analysis: its
 * named root cause (verdict, true_service), and optionally one of its suspects (whether it was the
 * cause). 201 with the stored row; 404 when the incident, or the named suspect in
 * its latest analysis, does not exist. */
static int on_feedback(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    char id[24];
    if (!qp_known(req, NULL) || !qp_path_id(req, m->params[0], "id", id, sizeof(id))) return 0;
    json_error_t jerr;
    json_t *b = json_loadb(req->entity.base, req->entity.len, 0, &jerr);
    long suspect;
    const char *why = NULL, *bad = feedback_invalid(b, &suspect, &why);
    if (bad) {
        httpd_send_error(req, 400, "invalid", why, bad);
        json_decref(b);
        return 0;
    }
    char idx[24];
    snprintf(idx, sizeof(idx), "%ld", suspect);
    json_t *was = json_object_get(b, "suspect_was_cause");
    static const char sql[] =
        "WITH a AS (SELECT a.id, a.evidence->'suspects' AS sus FROM analyses a WHERE a.incident_id = "
        "$1::bigint "
        "  ORDER BY a.created_at DESC, a.id DESC LIMIT 1), "
        "f AS (INSERT INTO feedback (incident_id, analysis_id, verdict, true_service, true_cause, comment, "
        "  suspect_index, suspect_was_cause) SELECT i.id, (SELECT id FROM a), $2, $3, $4, $5, $6::int, "
        "  $7::boolean FROM incidents i WHERE i.id = $1::bigint AND ($6::int IS NULL OR EXISTS (SELECT 1 "
        "FROM "
        "  a, suspects_by_confidence(a.sus) r WHERE r.idx = $6::int)) RETURNING *) "
        "SELECT row_to_json(f)::text "
        "FROM f";
    query_sql_t s = {.sql = sql,
                     .nparams = 7,
                     .params = {id, opt_text(b, "verdict"), opt_text(b, "true_service"),
                                opt_text(b, "true_cause"), opt_text(b, "comment"), suspect >= 0 ? idx : NULL,
                                json_is_boolean(was) ? (json_is_true(was) ? "true" : "false") : NULL},
                     .not_found = "no such incident, or no such suspect in its latest analysis "
                                  "(GET /query/incidents/{id}/suspects lists them)",
                     .read_only = 0,
                     .created = 1};
    query_sql_submit(q->write_pool, req, m, &s); /* a write: the primary, even when reads use a replica */
    json_decref(b);
    return 0;
}

/* GET /query/accuracy: share of labelled incidents whose named root cause was right, overall and by
 * kind; and "suspects": of the labelled incidents with suspects (suspect_labels, migration 011), how
 * often the top suspect was the cause ("top1"), over those where that is known, overall and by the top
 * suspect's type. */
static int on_accuracy(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    if (!qp_known(req, NULL)) return 0;
    static const char sql[] =
        "WITH last AS (SELECT DISTINCT ON (incident_id) incident_id, verdict FROM feedback ORDER BY "
        "incident_id, created_at DESC, id DESC), "
        "sl AS (SELECT * FROM suspect_labels WHERE top_cause IS NOT NULL) "
        "SELECT json_build_object('labelled', count(*), 'right', count(*) FILTER (WHERE verdict = 'right'), "
        "'accuracy', CASE WHEN count(*) > 0 THEN round(avg((verdict = 'right')::int), 4) END, "
        "'by_kind', coalesce((SELECT json_object_agg(kind, acc) FROM (SELECT i.kind, round(avg((l.verdict = "
        "'right')::int), 4) AS acc FROM last l JOIN incidents i ON i.id = l.incident_id GROUP BY i.kind) k), "
        "'{}'::json), "
        "'suspects', (SELECT json_build_object('labelled', count(*), 'top1_right', count(*) FILTER (WHERE "
        "top_cause), 'top1_accuracy', CASE WHEN count(*) > 0 THEN round(avg(top_cause::int), 4) END, "
        "'by_type', coalesce((SELECT json_object_agg(t, acc) FROM (SELECT coalesce(top_type, '?') AS t, "
        "round(avg(top_cause::int), 4) AS acc FROM sl GROUP BY 1) x), '{}'::json)) FROM sl))::text FROM last";
    query_sql_t s = {.sql = sql, .nparams = 0, .read_only = 1};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

void query_more_register(httpd_t *h, query_api_t *q)
{
    const keyset_t *keys = &q->cfg->read_keys;
    httpd_route(h, "GET", "/query/signals", keys, on_signals, q);
    httpd_route(h, "GET", "/query/services", keys, on_services, q);
    httpd_route(h, "GET", "/query/metrics", keys, on_metrics, q);
    httpd_route(h, "GET", "/query/anomalies", keys, on_anomalies, q);
    httpd_route(h, "GET", "/query/accuracy", keys, on_accuracy, q);
    httpd_route(h, "GET", "/query/incidents/{id}/suspects", keys, on_suspects, q);
    httpd_route(h, "POST", "/query/incidents/{id}/feedback", keys, on_feedback, q);
}

/* ---- POST /query/incidents/{id}/rerun (ADMIN key): queue the incident's sample trace for a new
 * analysis version (the report is written again even though the incident has one); a degradation
 * incident goes back to 'pending' for a new window-ranking report. 202 {"queued": trace id or
 * "window"}. ---- */

typedef struct {
    httpd_job_t super;
    char id[24];
    const char *prefix;
    int status;
    char trace[64];
} rerun_job_t;

static void rerun_run(httpd_job_t *hjob, worker_t *w)
{
    rerun_job_t *j = (rerun_job_t *)hjob;
    j->status = 503;
    if (!db_ensure(&w->pg, w->database_url)) goto out;
    incident_rerun_t rr;
    if (incident_rows_rerun(w->pg, j->id, &rr) != 0) goto out;
    if (rr.window) {
        snprintf(j->trace, sizeof(j->trace), "window");
        j->status = 202;
        goto out;
    }
    if (!rr.found || rr.sample[0] == 0) {
        j->status = 404;
        goto out;
    }
    snprintf(j->trace, sizeof(j->trace), "%s", rr.sample);
    if (!redisx_ensure(&w->redis, w->redis_url, 2000)) goto out;
    redisReply *x = redisCommand(
        w->redis, "XADD %s" QUEUE_STREAM_SUFFIX " * " QUEUE_FIELD_TRACE_ID " %s " QUEUE_FIELD_FORCE " 1",
        j->prefix, j->trace);
    j->status = x && x->type == REDIS_REPLY_STRING ? 202 : 503;
    freeReplyObject(x);
out:
    httpd_job_finish(hjob);
}

static void rerun_done(httpd_job_t *hjob, h2o_req_t *req)
{
    rerun_job_t *j = (rerun_job_t *)hjob;
    if (req) {
        if (j->status == 202)
            httpd_send_json(req, 202, json_pack("{s:s,s:s}", "queued", j->trace, "incident_id", j->id));
        else if (j->status == 404)
            httpd_send_error(req, 404, "not_found", "no such incident (or it has no trace)", NULL);
        else {
            httpd_add_header(req, "Retry-After", "2");
            httpd_send_error(req, 503, "unavailable", "database or queue unavailable; retry later", NULL);
        }
    }
    free(j);
}

static int on_rerun(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    rerun_job_t *j = xcalloc(1, sizeof(*j));
    if (!qp_known(req, NULL) || !qp_path_id(req, m->params[0], "id", j->id, sizeof(j->id))) {
        free(j);
        return 0;
    }
    j->prefix = q->cfg->redis_prefix;
    httpd_job_attach(&j->super, req, m->request_id, rerun_done);
    if (workpool_submit(q->write_pool, &j->super, rerun_run) != 0) { /* updates incidents: the primary */
        httpd_job_detach(&j->super);
        query_sql_busy(req);
        free(j);
    }
    return 0;
}

void query_admin_register(httpd_t *h, query_api_t *q)
{
    httpd_route(h, "POST", "/query/incidents/{id}/rerun", &q->cfg->admin_keys, on_rerun, q);
}
