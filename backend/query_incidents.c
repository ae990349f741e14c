/* GET /query/incidents, /query/incidents/{id}, /query/incidents/{id}/analysis, /query/traces/{id},
 * /query/dead-letters. */
#include "query_api.h"
#include "query_dashboard.h"
#include "query_params.h"
#include "query_sql.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Incidents newest first; the cursor is "<last_seen epoch µs>:<id>" of the page's last row. */
static const char list_sql[] =
    "WITH page AS ("
    "  SELECT id, kind, status, title, root_service, root_operation, exception_type, first_seen, last_seen,"
    "         trace_count, services, endpoints, sample_trace_id, report_state, fingerprint,"
    "         parent_id, previous_id, paged_at, resolved_at,"
    "         (SELECT count(*) FROM incidents k WHERE k.parent_id = incidents.id) AS children,"
    "         (extract(epoch FROM last_seen) * 1000000)::bigint AS last_seen_us"
    "  FROM incidents"
    "  WHERE ($1::text IS NULL OR status = $1)"
    "    AND ($2::text IS NULL OR root_service = $2 OR $2 = ANY (services))"
    "    AND ($3::bigint IS NULL OR last_seen >= to_timestamp($3::bigint / 1e9))"
    "    AND ($4::bigint IS NULL OR first_seen <= to_timestamp($4::bigint / 1e9))"
    "    AND ($5::bigint IS NULL OR ((extract(epoch FROM last_seen) * 1000000)::bigint, id) < ($5::bigint, "
    "$6::bigint))"
    "  ORDER BY last_seen DESC, id DESC LIMIT $7::int)"
    "SELECT json_build_object("
    "  'incidents', coalesce((SELECT json_agg(p ORDER BY p.last_seen DESC, p.id DESC) FROM page p), "
    "'[]'::json),"
    "  'next_cursor', (SELECT CASE WHEN count(*) = $7::int THEN"
    "       (SELECT last_seen_us || ':' || id FROM page ORDER BY last_seen ASC, id ASC LIMIT 1) END FROM "
    "page))::text";

static int on_list(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    static const char *const statuses[] = {"open", "resolved", NULL};
    const char *status, *service;
    int64_t from, to;
    int has_from, has_to, has_cursor;
    long limit;
    char cur_a[24], cur_b[24];
    static const char *const known[] = {"status", "service", "from", "to", "limit", "cursor", NULL};
    if (!qp_known(req, known) || !qp_enum(req, "status", statuses, &status) ||
        !qp_text(req, "service", 256, &service) || !qp_time(req, "from", &from, &has_from) ||
        !qp_time(req, "to", &to, &has_to) || !qp_int(req, "limit", 1, 500, 50, &limit) ||
        !qp_cursor(req, "cursor", cur_a, cur_b, sizeof(cur_a), &has_cursor))
        return 0;
    char from_s[24], to_s[24], limit_s[16];
    snprintf(from_s, sizeof(from_s), "%" PRId64, from);
    snprintf(to_s, sizeof(to_s), "%" PRId64, to);
    snprintf(limit_s, sizeof(limit_s), "%ld", limit);
    query_sql_t s = {.sql = list_sql,
                     .nparams = 7,
                     .params = {status, service, has_from ? from_s : NULL, has_to ? to_s : NULL,
                                has_cursor ? cur_a : NULL, has_cursor ? cur_b : NULL, limit_s},
                     .read_only = 1};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

static const char one_sql[] =
    "SELECT json_build_object('incident', row_to_json(i),"
    "  'latest_analysis', (SELECT json_build_object('id', a.id, 'version', a.version, 'trace_id', a.trace_id,"
    "       'generated_by', a.generated_by, 'report', a.report, 'created_at', a.created_at)"
    "     FROM analyses a WHERE a.incident_id = i.id ORDER BY a.created_at DESC, a.id DESC LIMIT 1),"
    "  'traces', (SELECT coalesce(json_agg(t.trace_id ORDER BY t.added_at DESC), '[]'::json)"
    "     FROM (SELECT trace_id, added_at FROM incident_traces WHERE incident_id = i.id"
    "           ORDER BY added_at DESC LIMIT 100) t),"
    /* the lifecycle (issue 15): its timeline, the incident it is grouped under, the ones grouped under
     * it, and the resolved one it recurs */
    "  'events', (SELECT coalesce(json_agg(json_build_object('kind', e.kind, 'at', e.at, 'detail', e.detail)"
    "       ORDER BY e.at, e.id), '[]'::json) FROM incident_events e WHERE e.incident_id = i.id),"
    "  'parent', (SELECT json_build_object('id', p.id, 'title', p.title, 'kind', p.kind, 'status', p.status,"
    "       'root_service', p.root_service, 'created_at', p.created_at) FROM incidents p WHERE p.id = "
    "i.parent_id),"
    "  'related', (SELECT coalesce(json_agg(json_build_object('id', k.id, 'title', k.title, 'kind', k.kind,"
    "       'status', k.status, 'root_service', k.root_service, 'created_at', k.created_at, 'group_reason',"
    "       k.group_reason) ORDER BY k.created_at, k.id), '[]'::json) FROM incidents k WHERE k.parent_id = "
    "i.id),"
    "  'previous', (SELECT json_build_object('id', p.id, 'title', p.title, 'last_activity_at',"
    "       p.last_activity_at, 'resolved_at', p.resolved_at) FROM incidents p WHERE p.id = "
    "i.previous_id))::text "
    "FROM incidents i WHERE i.id = $1::bigint";

static int on_one(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    char id[24];
    if (!qp_known(req, NULL) || !qp_path_id(req, m->params[0], "id", id, sizeof(id))) return 0;
    query_sql_t s = {
        .sql = one_sql, .nparams = 1, .params = {id}, .not_found = "no such incident", .read_only = 1};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

static const char analysis_sql[] =
    "SELECT json_build_object('incident_id', i.id,"
    "  'latest', (SELECT row_to_json(a) FROM analyses a WHERE a.incident_id = i.id"
    "             ORDER BY a.created_at DESC, a.id DESC LIMIT 1),"
    "  'versions', (SELECT coalesce(json_agg(json_build_object('id', a.id, 'trace_id', a.trace_id, 'version',"
    "       a.version, 'generated_by', a.generated_by, 'llm_model', a.llm_model, 'llm_error', a.llm_error,"
    "       'created_at', a.created_at) ORDER BY a.created_at DESC, a.id DESC), '[]'::json)"
    "     FROM analyses a WHERE a.incident_id = i.id))::text "
    "FROM incidents i WHERE i.id = $1::bigint";

static int on_analysis(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    char id[24];
    if (!qp_known(req, NULL) || !qp_path_id(req, m->params[0], "id", id, sizeof(id))) return 0;
    query_sql_t s = {
        .sql = analysis_sql, .nparams = 1, .params = {id}, .not_found = "no such incident", .read_only = 1};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

/* The trace, a page at a time: its spans and logs with everything OpenTelemetry sent (migration 005),
 * the incidents it belongs to, and the page's resources once:
 *   "resources": {"<hash>": {"service", "attributes", "schema_url", "dropped_attributes_count"}}
 * referred to by each span's and log's "resource" (null for rows without one: our JSON, or rows
 * written before resources were stored apart, whose attributes may still hold a "resource" object).
 *   "linked_traces": the trace ids that the page's span links point to and that are stored.
 *   "span_count", "log_count": how many the whole trace has; "next_cursor": null on the last page.
 * A page holds at most `limit` spans ($2, by start time) and `limit` logs ($5, by time); the cursor
 * "<spans already sent>:<logs already sent>" ($3, $4) goes on from there. Raw telemetry is append-only,
 * so a page boundary only moves when rows of the trace arrive between two pages. */
#define TRACE_RESOURCES QUERY_SQL_RESOURCES("SELECT resource_hash FROM s UNION SELECT resource_hash FROM l")
static const char trace_sql[] =
    "WITH n AS (SELECT (SELECT count(*) FROM spans WHERE trace_id = $1) AS spans,"
    "  (SELECT count(*) FROM logs WHERE trace_id = $1) AS logs),"
    " s AS (SELECT * FROM spans WHERE trace_id = $1 ORDER BY start_ns, span_id OFFSET $3::bigint LIMIT "
    "$2::int),"
    " l AS (SELECT * FROM logs WHERE trace_id = $1 ORDER BY ts_ns, content_hash OFFSET $4::bigint"
    "  LIMIT $5::int) "
    "SELECT CASE WHEN n.spans = 0 AND n.logs = 0 THEN NULL ELSE "
    "json_build_object("
    "  'trace_id', $1, 'span_count', n.spans, 'log_count', n.logs,"
    "  'spans', (SELECT coalesce(json_agg(json_build_object('trace_id', trace_id, 'span_id', span_id,"
    "       'parent_span_id', parent_span_id, 'service', service, 'name', name, 'kind', kind,"
    "       'start_ns', start_ns::text, 'end_ns', end_ns::text, 'duration_ms', (end_ns - start_ns) / 1e6,"
    "       'status', CASE status WHEN 2 THEN 'ERROR' WHEN 1 THEN 'OK' ELSE 'UNSET' END,"
    "       'status_message', status_message, 'attributes', attributes, 'events', events,"
    "       'resource', resource_hash, 'scope', " QUERY_SQL_SCOPE ", 'trace_state', trace_state,"
    "       'flags', flags, 'links', links, 'dropped_attributes_count', dropped_attributes_count,"
    "       'dropped_events_count', dropped_events_count, 'dropped_links_count', dropped_links_count)"
    "       ORDER BY start_ns, span_id), '[]'::json) FROM s),"
    "  'logs', (SELECT coalesce(json_agg(json_build_object('ts_ns', ts_ns::text, 'service', service,"
    "       'level', level, 'severity', severity, 'message', message, 'span_id', span_id,"
    "       'stack_trace', stack_trace, 'attributes', attributes, 'severity_number', severity_number,"
    "       'observed_ns', observed_ns::text, 'body', body, 'event_name', event_name,"
    "       'scope', " QUERY_SQL_SCOPE ", 'resource', resource_hash, 'flags', flags,"
    "       'dropped_attributes_count', dropped_attributes_count) ORDER BY ts_ns, content_hash), '[]'::json)"
    "     FROM l),"
    "  'resources', " TRACE_RESOURCES ","
    "  'linked_traces', (SELECT coalesce(json_agg(t ORDER BY t), '[]'::json) FROM (SELECT DISTINCT"
    "       k->>'trace_id' AS t FROM s, jsonb_array_elements(CASE jsonb_typeof(s.links) WHEN 'array'"
    "       THEN s.links ELSE '[]' END) k) x"
    "     WHERE EXISTS (SELECT 1 FROM spans WHERE trace_id = x.t)),"
    "  'incidents', (SELECT coalesce(json_agg(incident_id), '[]'::json) FROM incident_traces WHERE trace_id "
    "= $1),"
    "  'next_cursor', CASE WHEN $3::bigint + $2::int < n.spans OR $4::bigint + $5::int < n.logs"
    "    THEN least($3::bigint + $2::int, n.spans) || ':' || least($4::bigint + $5::int, n.logs) END"
    ")::text END FROM n";

static int on_trace(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    char trace[33], spans_done[24], logs_done[24], limit_s[24], log_limit_s[24];
    int has_cursor;
    long limit;
    static const char *const known[] = {"limit", "cursor", NULL};
    /* the default page is the whole trace up to the limit: the dashboard's waterfall reads one page */
    if (!qp_known(req, known) || !qp_trace_id(req, m->params[0], trace) ||
        !qp_int(req, "limit", 1, q->cfg->max_spans_per_trace, q->cfg->max_spans_per_trace, &limit) ||
        !qp_cursor(req, "cursor", spans_done, logs_done, sizeof(spans_done), &has_cursor))
        return 0;
    if (has_cursor && spans_done[0] == '-') {
        httpd_send_error(req, 400, "invalid_parameter", "malformed cursor", "cursor");
        return 0;
    }
    snprintf(limit_s, sizeof(limit_s), "%ld", limit);
    snprintf(log_limit_s, sizeof(log_limit_s), "%ld",
             limit < q->cfg->max_logs_per_trace ? limit : (long)q->cfg->max_logs_per_trace);
    query_sql_t s = {
        .sql = trace_sql,
        .nparams = 5,
        .params = {trace, limit_s, has_cursor ? spans_done : "0", has_cursor ? logs_done : "0", log_limit_s},
        .not_found = "no such trace",
        .read_only = 1};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

static const char dead_sql[] =
    "SELECT json_build_object('dead_letters', coalesce(json_agg(d ORDER BY d.failed_at DESC), "
    "'[]'::json))::text "
    "FROM (SELECT job_id, trace_id, attempts, last_error, failed_at FROM dead_letters"
    "      ORDER BY failed_at DESC LIMIT $1::int) d";

static int on_dead_letters(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    long limit;
    static const char *const known[] = {"limit", NULL};
    if (!qp_known(req, known) || !qp_int(req, "limit", 1, 1000, 100, &limit)) return 0;
    char limit_s[16];
    snprintf(limit_s, sizeof(limit_s), "%ld", limit);
    query_sql_t s = {.sql = dead_sql, .nparams = 1, .params = {limit_s}, .read_only = 1};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

void query_api_register(httpd_t *h, query_api_t *q)
{
    const keyset_t *keys = &q->cfg->read_keys;
    httpd_route(h, "GET", "/query/incidents", keys, on_list, q);
    httpd_route(h, "GET", "/query/incidents/{id}", keys, on_one, q);
    httpd_route(h, "GET", "/query/incidents/{id}/analysis", keys, on_analysis, q);
    httpd_route(h, "GET", "/query/traces/{trace_id}", keys, on_trace, q);
    httpd_route(h, "GET", "/query/dead-letters", keys, on_dead_letters, q);
    query_more_register(h, q);
    query_admin_register(h, q);
    query_alerts_register(h, q);
    query_dashboard_register(h, q);
}
