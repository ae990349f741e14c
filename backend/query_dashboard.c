/* The dashboard's own read-only routes (see query_dashboard.h). Filters are validated on the loop
 * thread (a 400 names the bad one); one parameterised statement runs on a pool thread in a READ ONLY
 * transaction and PostgreSQL builds the answer. */
#include "query_dashboard.h"
#include "query_params.h"
#include "query_sql.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#define NS_PER_S 1000000000LL
#define HOUR_NS (3600LL * NS_PER_S)
#define DAY_NS (24LL * HOUR_NS)
#define MAX_WINDOW_NS (31LL * DAY_NS)
#define MAX_BUCKETS 1000

/* A validated time window [from, to) in epoch nanoseconds, as decimal strings for the statement. */
typedef struct {
    int64_t from, to;
    char from_s[24], to_s[24];
} window_t;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* Reads from/to (absent: `to` is now, `from` is `to` - def_len). Returns 1, or 0 after answering 400
 * naming "from" when the window is empty or longer than MAX_WINDOW_NS. */
static int read_window(h2o_req_t *req, int64_t def_len, window_t *w)
{
    int has_from, has_to;
    if (!qp_time(req, "from", &w->from, &has_from) || !qp_time(req, "to", &w->to, &has_to)) return 0;
    if (!has_to) w->to = now_ns();
    if (!has_from) w->from = w->to - def_len;
    if (w->from >= w->to || w->to - w->from > MAX_WINDOW_NS) {
        httpd_send_error(req, 400, "invalid_parameter",
                         "query parameter from: the window must be non-empty and at most 31 days", "from");
        return 0;
    }
    snprintf(w->from_s, sizeof(w->from_s), "%" PRId64, w->from);
    snprintf(w->to_s, sizeof(w->to_s), "%" PRId64, w->to);
    return 1;
}

/* ---------------- GET /query/services/series ---------------- */

/* Entry spans (SERVER, or roots) in buckets of `step` ns from `from`, per service and per endpoint
 * (service + span name): requests, error rate and p95 duration. Buckets without a request are left
 * out. One scan: GROUPING SETS computes both levels (a service's p95 is not derivable from its
 * endpoints'). */
static const char series_sql[] =
    "WITH b AS ("
    "  SELECT service, name, GROUPING(name) AS whole, (start_ns - $1::bigint) / $3::bigint AS i,"
    "         json_build_object('ts_ns', ($1::bigint + (start_ns - $1::bigint) / $3::bigint * "
    "$3::bigint)::text,"
    "           'requests', count(*), 'error_rate', avg((status = 2)::int),"
    "           'p95_ms', percentile_cont(0.95) WITHIN GROUP (ORDER BY (end_ns - start_ns) / 1e6)) AS pt"
    "  FROM spans"
    "  WHERE start_ns >= $1::bigint AND start_ns < $2::bigint"
    "    AND (kind = 'SERVER' OR parent_span_id IS NULL) AND ($4::text IS NULL OR service = $4)"
    "  GROUP BY GROUPING SETS ((service, i), (service, name, i))), "
    "svc AS (SELECT service, json_agg(pt ORDER BY i) AS points FROM b WHERE whole = 1 GROUP BY service), "
    "ep AS (SELECT service, json_agg(json_build_object('endpoint', name, 'points', points) ORDER BY name)"
    "         AS endpoints"
    "       FROM (SELECT service, name, json_agg(pt ORDER BY i) AS points FROM b WHERE whole = 0"
    "             GROUP BY service, name) e GROUP BY service) "
    "SELECT json_build_object('from_ns', $1::text, 'to_ns', $2::text, 'step_s', $3::bigint / 1000000000,"
    "  'services', coalesce((SELECT json_agg(json_build_object('service', svc.service, 'points', svc.points,"
    "       'endpoints', coalesce(ep.endpoints, '[]'::json)) ORDER BY svc.service)"
    "     FROM svc LEFT JOIN ep USING (service)), '[]'::json))::text";

static int on_series(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    window_t w;
    const char *service;
    long step;
    static const char *const known[] = {"from", "to", "service", "step", NULL};
    if (!qp_known(req, known) || !read_window(req, HOUR_NS, &w) || !qp_text(req, "service", 256, &service) ||
        !qp_int(req, "step", 1, 86400, 60, &step))
        return 0;
    if ((w.to - w.from) / (step * NS_PER_S) > MAX_BUCKETS) {
        httpd_send_error(req, 400, "invalid_parameter",
                         "query parameter step: too small for the window (at most 1000 buckets)", "step");
        return 0;
    }
    char step_s[24];
    snprintf(step_s, sizeof(step_s), "%lld", (long long)step * NS_PER_S);
    query_sql_t s = {
        .sql = series_sql, .nparams = 4, .params = {w.from_s, w.to_s, step_s, service}, .read_only = 1};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

/* ---------------- GET /query/metrics/names ---------------- */

/* The names /query/metrics charts: what metric_values() (migrations/006) gives for the stored points,
 * through metric_value_names() (a histogram "lat" lists lat.p50, lat.p95, lat.p99, lat.count; a
 * summary its quantiles as sent). `points` counts the stored points behind each name. */
static const char names_sql[] =
    "SELECT json_build_object('metrics', coalesce(json_agg(json_build_object('service', service,"
    "  'name', name, 'points', n, 'first_ns', first_ns::text, 'last_ns', last_ns::text)"
    "  ORDER BY service, name), '[]'::json))::text "
    "FROM (SELECT g.service, v.name, sum(g.n)::bigint AS n, min(g.first_ns) AS first_ns,"
    "             max(g.last_ns) AS last_ns"
    "      FROM (SELECT service, name, kind, count(*) AS n, min(ts_ns) AS first_ns, max(ts_ns) AS last_ns,"
    "                   jsonb_build_object('quantiles',"
    "                     max(CASE WHEN kind = 4 THEN (hist->'quantiles')::text END)::jsonb) AS hist"
    "            FROM metric_points"
    "            WHERE ts_ns >= $1::bigint AND ts_ns < $2::bigint AND ($3::text IS NULL OR service = $3)"
    "            GROUP BY service, name, kind) g,"
    "           LATERAL metric_value_names(g.kind, g.name, g.hist) v(name)"
    "      GROUP BY g.service, v.name ORDER BY g.service, v.name LIMIT $4::int) x";

static int on_metric_names(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    window_t w;
    const char *service;
    long limit;
    static const char *const known[] = {"from", "to", "service", "limit", NULL};
    if (!qp_known(req, known) || !read_window(req, DAY_NS, &w) || !qp_text(req, "service", 256, &service) ||
        !qp_int(req, "limit", 1, 1000, 200, &limit))
        return 0;
    char limit_s[16];
    snprintf(limit_s, sizeof(limit_s), "%ld", limit);
    query_sql_t s = {
        .sql = names_sql, .nparams = 4, .params = {w.from_s, w.to_s, service, limit_s}, .read_only = 1};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

/* ---------------- GET /query/changes ---------------- */

/* Change events (deploys, config changes, ...) newest first. With `service`, events of that service
 * and events that name no service (they may concern every service). */
static const char changes_sql[] =
    "SELECT json_build_object('changes', coalesce(json_agg(json_build_object('ts_ns', ts_ns::text,"
    "  'service', service, 'type', type, 'description', description, 'meta', meta)"
    "  ORDER BY ts_ns DESC, event_hash), '[]'::json))::text "
    "FROM (SELECT ts_ns, service, type, description, meta, event_hash FROM change_events"
    "      WHERE ts_ns >= $1::bigint AND ts_ns < $2::bigint"
    "        AND ($3::text IS NULL OR service = $3 OR service IS NULL)"
    "      ORDER BY ts_ns DESC, event_hash LIMIT $4::int) c";

static int on_changes(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    window_t w;
    const char *service;
    long limit;
    static const char *const known[] = {"from", "to", "service", "limit", NULL};
    if (!qp_known(req, known) || !read_window(req, DAY_NS, &w) || !qp_text(req, "service", 256, &service) ||
        !qp_int(req, "limit", 1, 1000, 200, &limit))
        return 0;
    char limit_s[16];
    snprintf(limit_s, sizeof(limit_s), "%ld", limit);
    query_sql_t s = {
        .sql = changes_sql, .nparams = 4, .params = {w.from_s, w.to_s, service, limit_s}, .read_only = 1};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

/* ---------------- GET /query/incidents/{id}/feedback ---------------- */

/* What engineers said about the incident's reports, newest first; 404 for an unknown incident. */
static const char feedback_sql[] =
    "SELECT json_build_object('incident_id', i.id, 'feedback', coalesce((SELECT json_agg(f ORDER BY"
    "  f.created_at DESC, f.id DESC) FROM (SELECT id, analysis_id, verdict, true_service, true_cause, "
    "comment,"
    "  created_at FROM feedback WHERE incident_id = i.id ORDER BY created_at DESC, id DESC LIMIT $2::int) f),"
    "  '[]'::json))::text "
    "FROM incidents i WHERE i.id = $1::bigint";

static int on_feedback_list(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    char id[24];
    long limit;
    static const char *const known[] = {"limit", NULL};
    if (!qp_known(req, known) || !qp_path_id(req, m->params[0], "id", id, sizeof(id)) ||
        !qp_int(req, "limit", 1, 500, 20, &limit))
        return 0;
    char limit_s[16];
    snprintf(limit_s, sizeof(limit_s), "%ld", limit);
    query_sql_t s = {.sql = feedback_sql,
                     .nparams = 2,
                     .params = {id, limit_s},
                     .not_found = "no such incident",
                     .read_only = 1};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

void query_dashboard_register(httpd_t *h, query_api_t *q)
{
    const keyset_t *keys = &q->cfg->read_keys;
    httpd_route(h, "GET", "/query/services/series", keys, on_series, q);
    httpd_route(h, "GET", "/query/metrics/names", keys, on_metric_names, q);
    httpd_route(h, "GET", "/query/changes", keys, on_changes, q);
    httpd_route(h, "GET", "/query/incidents/{id}/feedback", keys, on_feedback_list, q);
}
