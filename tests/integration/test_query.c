/* The read-only query API against real PostgreSQL: cursor pagination, filters validated with a 400
 * naming them (and unknown parameters refused), traces and signals with their OTel parts (resources,
 * scopes, links, log bodies, metric kinds), services, metric series, anomalies, suspects, and the
 * feedback round trip with accuracy. */
#include "ts.h"
#include "ts_proxy.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char *db_url;
static ts_proc_t backend;

static void setup(void)
{
    db_url = ts_create_database("query");
    /* small limits, so the bounds are reached by small tests */
    const char *env[] = {"MAX_SPANS_PER_TRACE=500", "MAX_LOGS_PER_TRACE=500", "QUERY_MAX_SEARCH_RANGE_S=3600",
                         "QUERY_MAX_QUEUE=2", NULL};
    ck_assert_int_eq(ts_start_backend(&backend, db_url, "t:query:", env), 0);
    PGconn *c = ts_pg(db_url);
    PGresult *r = PQexec(
        c, "INSERT INTO incidents (fingerprint, title, root_service, first_seen, last_seen, trace_count, "
           "services, report_state) SELECT 'fp' || g, 'incident ' || g, CASE WHEN g % 2 = 0 THEN "
           "'payment' ELSE 'inventory' END, now() - g * interval '1 minute', now() - g * interval "
           "'1 second', g, ARRAY['gateway'], 'ready' FROM generate_series(1, 25) g;"
           "INSERT INTO analyses (incident_id, trace_id, version, evidence, report, generated_by) "
           "VALUES (1, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 1, '{\"suspects\":[{\"type\":\"deploy\","
           "\"service\":\"payment\"}]}', '{\"summary\":\"s\"}', 'deterministic');"
           "INSERT INTO anomaly_episodes (service, metric, start_ns, end_ns, baseline, peak, pct_change, "
           "peak_z, direction, points, explanation) VALUES ('payment', 'p95_latency_ms', "
           "1795357925000000000, 1795358105000000000, 250, 1850, 640, 32, 1, 4, 'x')");
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static void teardown(void)
{
    ts_stop(&backend, SIGTERM);
    free(db_url);
}

static json_t *get(const char *path_query, long want)
{
    char url[512], auth[64];
    snprintf(url, sizeof(url), "%s%s", backend.url, path_query);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", TS_READ_KEY);
    const char *h[] = {auth, NULL};
    ts_resp_t r;
    ck_assert_int_eq(ts_http("GET", url, h, NULL, 0, &r), 0);
    ck_assert_msg(r.status == want, "%s: %ld %s", path_query, r.status, r.body);
    json_t *o = json_loads(r.body, 0, NULL);
    ts_resp_free(&r);
    ck_assert_ptr_nonnull(o);
    return o;
}

START_TEST(incidents_page_with_cursor_newest_first)
{
    json_t *p1 = get("/query/incidents?limit=10", 200);
    json_t *list = json_object_get(p1, "incidents");
    ck_assert_int_eq(json_array_size(list), 10);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "title")), "incident 1");
    const char *cursor = json_string_value(json_object_get(p1, "next_cursor"));
    ck_assert_ptr_nonnull(cursor);
    char path[256];
    snprintf(path, sizeof(path), "/query/incidents?limit=10&cursor=%s", cursor);
    json_t *p2 = get(path, 200);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(json_object_get(p2, "incidents"), 0), "title")),
        "incident 11");
    json_t *f = get("/query/incidents?service=payment&limit=100", 200);
    ck_assert_int_eq(json_array_size(json_object_get(f, "incidents")), 12);
    json_decref(p1), json_decref(p2), json_decref(f);
    json_t *one = get("/query/incidents/1", 200);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(one, "incident"), "title")),
                     "incident 1");
    json_decref(one);
    json_decref(get("/query/incidents/999999", 404));
}
END_TEST

START_TEST(bad_filters_name_the_parameter)
{
    const char *cases[][2] = {{"/query/incidents?status=sleeping", "status"},
                              {"/query/incidents?limit=0", "limit"},
                              {"/query/incidents?from=yesterday", "from"},
                              {"/query/incidents?cursor=x", "cursor"},
                              {"/query/incidents/abc", "id"},
                              {"/query/traces/xyz", "trace_id"},
                              {"/query/signals?kind=pigeons", "kind"},
                              {"/query/metrics?name=x", "service"},
                              /* a parameter the route does not read is refused, not ignored */
                              {"/query/incidents?limit=5&servce=payment", "servce"},
                              {"/query/signals?kind=logs&levle=ERROR", "levle"},
                              {"/query/traces/0123456789abcdef0123456789abcdef?span=1", "span"},
                              {"/query/incidents/1?x", "x"},
                              {"/query/metrics/names?colour=red", "colour"},
                              {"/query/services?from=2026-01-01T00:00:00Z&window=1h", "window"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *e = get(cases[i][0], 400);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "error"), "path")),
                         cases[i][1]);
        json_decref(e);
    }
    char url[256];
    snprintf(url, sizeof(url), "%s/query/incidents", backend.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_http("GET", url, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 401);
    ts_resp_free(&r);
}
END_TEST

/* Seven logs and seven spans share one timestamp; pages of 3 must return each exactly once. */
START_TEST(signals_pages_neither_skip_nor_repeat_records_sharing_a_timestamp)
{
    long long ts = (long long)time(NULL) * 1000000000LL - 5000000000LL;
    char body[4096], url[256], trace[33];
    ts_hex(trace, 32);
    size_t n = (size_t)snprintf(body, sizeof(body), "{\"logs\":[");
    for (int i = 0; i < 7; i++)
        n += (size_t)snprintf(
            body + n, sizeof(body) - n,
            "%s{\"timestamp\":%lld,\"service\":\"tie\",\"level\":\"INFO\",\"message\":\"m%d\"}", i ? "," : "",
            ts, i);
    snprintf(body + n, sizeof(body) - n, "]}");
    snprintf(url, sizeof(url), "%s/ingest/logs", backend.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ts_resp_free(&r);
    n = (size_t)snprintf(body, sizeof(body), "{\"spans\":[");
    for (int i = 0; i < 7; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n,
                              "%s{\"trace_id\":\"%s\",\"span_id\":\"00000000000000b%d\",\"service\":\"tie\","
                              "\"name\":\"s%d\",\"start_time\":%lld,\"end_time\":%lld}",
                              i ? "," : "", trace, i, i, ts, ts + 1000);
    snprintf(body + n, sizeof(body) - n, "]}");
    snprintf(url, sizeof(url), "%s/ingest/traces", backend.url);
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ts_resp_free(&r);
    const char *kinds[] = {"logs", "spans"};
    for (int k = 0; k < 2; k++) {
        int seen[7] = {0}, total = 0;
        char cursor[64] = "", path[256];
        for (int page = 0; page < 10; page++) {
            snprintf(path, sizeof(path), "/query/signals?kind=%s&service=tie&limit=3%s%s", kinds[k],
                     *cursor ? "&cursor=" : "", cursor);
            json_t *o = get(path, 200);
            json_t *items = json_object_get(o, "items"), *it;
            size_t i;
            json_array_foreach(items, i, it)
            {
                const char *v = json_string_value(json_object_get(it, k ? "name" : "message"));
                ck_assert_ptr_nonnull(v);
                seen[v[1] - '0']++;
                total++;
            }
            const char *next = json_string_value(json_object_get(o, "next_cursor"));
            snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
            json_decref(o);
            if (!*cursor) break;
        }
        ck_assert_int_eq(total, 7);
        for (int i = 0; i < 7; i++)
            ck_assert_msg(seen[i] == 1, "%s record %d seen %d times", kinds[k], i, seen[i]);
    }
}
END_TEST

START_TEST(signals_services_metrics_anomalies_suspects)
{
    char trace[33], body[2048], url[256];
    ts_hex(trace, 32);
    long long now = (long long)time(NULL) * 1000000000LL;
    snprintf(
        body, sizeof(body),
        "{\"spans\":[{\"trace_id\":\"%s\",\"span_id\":\"00000000000000a1\",\"service\":\"gateway\",\"name\":"
        "\"POST /orders\",\"kind\":\"SERVER\",\"start_time\":%lld,\"end_time\":%lld,\"status\":\"ERROR\"}]}",
        trace, now - 1000000000LL, now - 900000000LL);
    snprintf(url, sizeof(url), "%s/ingest/traces", backend.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ts_resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"logs\":[{\"timestamp\":%lld,\"service\":\"gateway\",\"level\":\"ERROR\",\"message\":\"<"
             "script>alert(1)"
             "</script> upstream 100%% broken\",\"trace_id\":\"%s\"}]}",
             now - 950000000LL, trace);
    snprintf(url, sizeof(url), "%s/ingest/logs", backend.url);
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ts_resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"metrics\":[{\"timestamp\":%lld,\"service\":\"gateway\",\"name\":\"p95_latency_ms\","
             "\"value\":250},"
             "{\"timestamp\":%lld,\"service\":\"gateway\",\"name\":\"p95_latency_ms\",\"value\":350}]}",
             now - 120000000000LL, now - 60000000000LL);
    snprintf(url, sizeof(url), "%s/ingest/metrics", backend.url);
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ts_resp_free(&r);
    char path[256];
    snprintf(path, sizeof(path), "/query/signals?kind=logs&q=100%%25%%20broken&trace_id=%s&from=%lld&to=%lld",
             trace, now - 600000000000LL, now);
    json_t *s = get(path, 200);
    ck_assert_int_eq(json_array_size(json_object_get(s, "items")), 1);
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_object_get(json_array_get(json_object_get(s, "items"), 0), "message")),
               "<script>")); /* stored and served as text */
    json_decref(s);
    snprintf(path, sizeof(path), "/query/traces/%s", trace);
    json_t *t = get(path, 200);
    ck_assert_int_eq(json_array_size(json_object_get(t, "spans")), 1);
    ck_assert_int_eq(json_array_size(json_object_get(t, "logs")), 1);
    json_decref(t);
    json_t *sv = get("/query/services", 200);
    char *dump = json_dumps(sv, 0);
    ck_assert_ptr_nonnull(strstr(dump, "\"gateway\""));
    free(dump);
    json_decref(sv);
    json_t *mt = get("/query/metrics?service=gateway&name=p95_latency_ms&step=60", 200);
    ck_assert_int_eq(json_array_size(json_object_get(mt, "points")), 2);
    json_decref(mt);
    json_t *an = get("/query/anomalies?service=payment", 200);
    ck_assert_int_eq(json_array_size(json_object_get(an, "anomalies")), 1);
    json_decref(an);
    json_t *su = get("/query/incidents/1/suspects", 200);
    ck_assert_int_eq(json_array_size(json_object_get(su, "suspects")), 1);
    json_decref(su);
}
END_TEST

/* Everything OpenTelemetry sent comes back (migration 005): a trace's spans with their resource (sent
 * once in "resources", referred to by hash), scope, trace state, flags, links (and which linked traces
 * are stored), dropped counts; its logs with severity number, observed time, a structured body, event
 * name; the same through /query/signals; metric points with kind, temporality, monotonicity, unit and,
 * when asked, their histogram. Rows are written with SQL so every column is known. */
#define RES_PAY "11111111-2222-3333-4444-555555555555"
#define RES_GW "66666666-7777-8888-9999-aaaaaaaaaaaa"
START_TEST(otel_parts_of_spans_logs_and_metric_points)
{
    char trace[33], linked[33], missing[33], sql[8192], path[256];
    ts_hex(trace, 32);
    ts_hex(linked, 32);
    ts_hex(missing, 32);
    long long t = (long long)time(NULL) * 1000000000LL - 30000000000LL;
    snprintf(
        sql, sizeof(sql),
        "SELECT ensure_raw_partitions((now() AT TIME ZONE 'UTC')::date);"
        "SELECT ensure_raw_partitions((now() AT TIME ZONE 'UTC')::date - 1);"
        "INSERT INTO resources (resource_hash, service, attributes, schema_url, dropped_attributes) VALUES "
        "('" RES_PAY
        "', 'otelpay', '{\"service.name\":\"otelpay\",\"host.name\":\"pay-1\",\"process.pid\":42,"
        "\"telemetry.sdk.language\":\"go\"}', 'https://opentelemetry.io/schemas/1.26.0', 1),"
        "('" RES_GW "', 'otelgw', '{\"service.name\":\"otelgw\"}', NULL, 0);"
        "INSERT INTO spans (trace_id, span_id, parent_span_id, service, name, kind, start_ns, end_ns, "
        "status, "
        "attributes, events, resource_hash, scope_name, scope_version, trace_state, flags, links, "
        "dropped_attributes_count, dropped_events_count, dropped_links_count) VALUES "
        "('%s', '00000000000000c1', NULL, 'otelgw', 'GET /pay', 'SERVER', %lld, %lld, 1, '{}', '[]', '" RES_GW
        "', NULL, NULL, NULL, NULL, '[]', 0, 0, 0),"
        "('%s', '00000000000000c2', '00000000000000c1', 'otelpay', 'charge', 'INTERNAL', %lld, %lld, 2, "
        "'{\"k\":1}', "
        "'[{\"name\":\"exception\",\"time_ns\":%lld,\"attributes\":{\"exception.type\":\"E\"}}]', "
        "'" RES_PAY "', 'io.acme.pay', '1.2.3', 'vendor=x', 1, "
        "'[{\"trace_id\":\"%s\",\"span_id\":\"00000000000000d1\",\"attributes\":{\"why\":\"batch\"}},"
        "{\"trace_id\":\"%s\",\"span_id\":\"00000000000000d2\",\"attributes\":{}}]', 2, 3, 4),"
        "('%s', '00000000000000c3', '00000000000000c2', 'otelpay', 'db', 'CLIENT', %lld, %lld, 1, '{}', "
        "'[]', "
        "'" RES_PAY "', 'io.acme.pay', NULL, NULL, NULL, '[]', 0, 0, 0),"
        "('%s', '00000000000000d1', NULL, 'legacy', 'batch job', 'SERVER', %lld, %lld, 1, "
        "'{\"resource\":{\"host.name\":\"old-1\"}}', '[]', NULL, NULL, NULL, NULL, NULL, '[]', 0, 0, 0);"
        "INSERT INTO logs (ts_ns, service, level, severity, message, trace_id, span_id, attributes, "
        "content_hash, "
        "resource_hash, scope_name, scope_version, severity_number, observed_ns, body, flags, event_name, "
        "dropped_attributes_count) VALUES "
        "(%lld, 'otelpay', 'ERROR', 5, '{\"user\":{\"id\":7}}', '%s', '00000000000000c2', '{}', "
        "md5('o1')::uuid, "
        "'" RES_PAY "', 'io.acme.pay', '1.2.3', 17, %lld, '{\"user\":{\"id\":7},\"retry\":[1,2]}', 1, "
        "'payment.failed', 5),"
        "(%lld, 'otelpay', 'INFO', 3, 'plain', '%s', NULL, '{}', md5('o2')::uuid, NULL, NULL, NULL, NULL, "
        "NULL, "
        "NULL, NULL, NULL, 0);"
        "INSERT INTO metric_points (ts_ns, service, name, value, labels, point_hash, resource_hash, kind, "
        "temporality, monotonic, start_ns, unit, hist) VALUES "
        "(%lld, 'otelpay', 'charge.duration', 3, '{}', md5('m1')::uuid, '" RES_PAY
        "', 2, 2, false, %lld, 'ms', "
        "'{\"count\":3,\"sum\":12.5,\"bounds\":[5,10],\"counts\":[1,1,1]}')",
        trace, t, t + 9000000, trace, t + 1000000, t + 8000000, t + 2000000, linked, missing, trace,
        t + 3000000, t + 4000000, linked, t - 5000000, t - 1000000, t + 5000000, trace, t + 5500000,
        t + 6000000, trace, t, t - 60000000000LL);
    PGconn *c = ts_pg(db_url);
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK, "%s",
                  PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);

    snprintf(path, sizeof(path), "/query/traces/%s", trace);
    json_t *tr = get(path, 200);
    json_t *res = json_object_get(tr, "resources");
    ck_assert_int_eq(json_object_size(res), 2); /* two resources, each once, for three spans and a log */
    json_t *pay = json_object_get(res, RES_PAY);
    ck_assert_str_eq(json_string_value(json_object_get(pay, "service")), "otelpay");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(pay, "attributes"), "host.name")),
                     "pay-1");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(pay, "attributes"), "process.pid")),
                     42);
    ck_assert_str_eq(json_string_value(json_object_get(pay, "schema_url")),
                     "https://opentelemetry.io/schemas/1.26.0");
    ck_assert_int_eq(json_integer_value(json_object_get(pay, "dropped_attributes_count")), 1);
    json_t *spans = json_object_get(tr, "spans");
    ck_assert_int_eq(json_array_size(spans), 3);
    json_t *gw = json_array_get(spans, 0), *ch = json_array_get(spans, 1);
    ck_assert_str_eq(json_string_value(json_object_get(gw, "resource")), RES_GW);
    ck_assert(json_is_null(json_object_get(gw, "scope")));
    ck_assert_str_eq(json_string_value(json_object_get(ch, "span_id")), "00000000000000c2");
    ck_assert_str_eq(json_string_value(json_object_get(ch, "resource")), RES_PAY);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ch, "scope"), "name")), "io.acme.pay");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ch, "scope"), "version")), "1.2.3");
    ck_assert_str_eq(json_string_value(json_object_get(ch, "trace_state")), "vendor=x");
    ck_assert_int_eq(json_integer_value(json_object_get(ch, "flags")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(ch, "dropped_attributes_count")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(ch, "dropped_events_count")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(ch, "dropped_links_count")), 4);
    json_t *links = json_object_get(ch, "links");
    ck_assert_int_eq(json_array_size(links), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(links, 0), "trace_id")), linked);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(json_array_get(links, 0), "attributes"), "why")),
        "batch");
    /* the old fields keep their shape */
    ck_assert_str_eq(json_string_value(json_object_get(ch, "status")), "ERROR");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(ch, "attributes"), "k")), 1);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(json_object_get(ch, "events"), 0), "name")),
        "exception");
    /* of the two linked traces only the stored one is offered as a link */
    json_t *lt = json_object_get(tr, "linked_traces");
    ck_assert_int_eq(json_array_size(lt), 1);
    ck_assert_str_eq(json_string_value(json_array_get(lt, 0)), linked);
    json_t *logs = json_object_get(tr, "logs");
    ck_assert_int_eq(json_array_size(logs), 2);
    json_t *lg = json_array_get(logs, 0), *plain = json_array_get(logs, 1);
    ck_assert_int_eq(json_integer_value(json_object_get(lg, "severity_number")), 17);
    ck_assert_int_eq(json_integer_value(json_object_get(lg, "severity")), 5);
    char want[32];
    snprintf(want, sizeof(want), "%lld", t + 5500000);
    ck_assert_str_eq(json_string_value(json_object_get(lg, "observed_ns")), want);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(json_object_get(lg, "body"), "user"), "id")), 7);
    ck_assert_int_eq(json_array_size(json_object_get(json_object_get(lg, "body"), "retry")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(lg, "event_name")), "payment.failed");
    ck_assert_str_eq(json_string_value(json_object_get(lg, "resource")), RES_PAY);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(lg, "scope"), "name")), "io.acme.pay");
    ck_assert_int_eq(json_integer_value(json_object_get(lg, "dropped_attributes_count")), 5);
    ck_assert(json_is_null(json_object_get(plain, "body")) &&
              json_is_null(json_object_get(plain, "resource")));
    ck_assert_str_eq(json_string_value(json_object_get(plain, "message")), "plain");
    json_decref(tr);

    /* a row with no resource row (our JSON, older rows) reads as before: no map entry */
    snprintf(path, sizeof(path), "/query/traces/%s", linked);
    json_t *old = get(path, 200);
    ck_assert_int_eq(json_object_size(json_object_get(old, "resources")), 0);
    json_t *os = json_array_get(json_object_get(old, "spans"), 0);
    ck_assert(json_is_null(json_object_get(os, "resource")));
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(os, "attributes"), "resource"), "host.name")),
                     "old-1");
    json_decref(old);

    snprintf(path, sizeof(path), "/query/signals?kind=logs&trace_id=%s&level=ERROR", trace);
    json_t *sg = get(path, 200);
    json_t *it = json_array_get(json_object_get(sg, "items"), 0);
    ck_assert_int_eq(json_array_size(json_object_get(sg, "items")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(it, "severity_number")), 17);
    ck_assert_str_eq(json_string_value(json_object_get(it, "observed_ns")), want);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(json_object_get(it, "body"), "user"), "id")), 7);
    ck_assert_str_eq(json_string_value(json_object_get(it, "event_name")), "payment.failed");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(it, "scope"), "version")), "1.2.3");
    ck_assert_str_eq(json_string_value(json_object_get(it, "resource")), RES_PAY);
    ck_assert_int_eq(json_object_size(json_object_get(sg, "resources")), 1);
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_object_get(json_object_get(sg, "resources"), RES_PAY), "attributes"),
            "telemetry.sdk.language")),
        "go");
    json_decref(sg);

    snprintf(path, sizeof(path), "/query/signals?kind=spans&trace_id=%s&name=charge", trace);
    json_t *ss = get(path, 200);
    it = json_array_get(json_object_get(ss, "items"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(it, "resource")), RES_PAY);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(it, "scope"), "name")), "io.acme.pay");
    ck_assert_ptr_nonnull(json_object_get(json_object_get(ss, "resources"), RES_PAY));
    json_decref(ss);

    json_t *mp = get("/query/signals?kind=metrics&service=otelpay", 200);
    it = json_array_get(json_object_get(mp, "items"), 0);
    ck_assert_int_eq(json_array_size(json_object_get(mp, "items")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(it, "kind")), "histogram");
    ck_assert_str_eq(json_string_value(json_object_get(it, "temporality")), "cumulative");
    ck_assert(json_is_false(json_object_get(it, "monotonic")));
    ck_assert_str_eq(json_string_value(json_object_get(it, "unit")), "ms");
    snprintf(want, sizeof(want), "%lld", t - 60000000000LL);
    ck_assert_str_eq(json_string_value(json_object_get(it, "start_ns")), want);
    ck_assert(json_is_null(json_object_get(it, "hist"))); /* only when asked */
    ck_assert_ptr_nonnull(json_object_get(json_object_get(mp, "resources"), RES_PAY));
    json_decref(mp);
    mp = get("/query/signals?kind=metrics&service=otelpay&hist=1", 200);
    it = json_array_get(json_object_get(mp, "items"), 0);
    ck_assert_int_eq(json_array_size(json_object_get(json_object_get(it, "hist"), "bounds")), 2);
    ck_assert(json_real_value(json_object_get(json_object_get(it, "hist"), "sum")) == 12.5);
    json_decref(mp);
    json_decref(get("/query/signals?kind=metrics&hist=2", 400));
}
END_TEST

START_TEST(feedback_round_trip_and_accuracy)
{
    char url[256], auth[64];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", TS_READ_KEY);
    const char *h[] = {auth, "Content-Type: application/json", NULL};
    ts_resp_t r;
    snprintf(url, sizeof(url), "%s/query/incidents/1/feedback", backend.url);
    const char *bad = "{\"verdict\":\"maybe\"}";
    ck_assert_int_eq(ts_http("POST", url, h, bad, strlen(bad), &r), 0);
    ck_assert_int_eq(r.status, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "\"path\":\"verdict\""));
    ts_resp_free(&r);
    const char *wrong = "{\"verdict\":\"wrong\",\"true_service\":\"inventory\"}";
    ck_assert_int_eq(ts_http("POST", url, h, wrong, strlen(wrong), &r), 0);
    ck_assert_int_eq(r.status, 201);
    ck_assert_ptr_nonnull(strstr(r.body, "\"true_service\":\"inventory\""));
    ts_resp_free(&r);
    snprintf(url, sizeof(url), "%s/query/incidents/2/feedback", backend.url);
    const char *right = "{\"verdict\":\"right\"}";
    ck_assert_int_eq(ts_http("POST", url, h, right, strlen(right), &r), 0);
    ck_assert_int_eq(r.status, 201);
    ts_resp_free(&r);
    json_t *a = get("/query/accuracy", 200);
    ck_assert_int_eq(json_integer_value(json_object_get(a, "labelled")), 2);
    ck_assert(json_number_value(json_object_get(a, "accuracy")) > 0.49 &&
              json_number_value(json_object_get(a, "accuracy")) < 0.51);
    json_decref(a);
    PGconn *c = ts_pg(db_url);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM feedback"), 2);
    PQfinish(c);
}
END_TEST

/* ---- bounds (issue 14, points 4 and 5) ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(text_search_needs_a_bounded_time_range)
{
    long long now = (long long)time(NULL) * 1000000000LL;
    char path[256];
    const char *cases[][2] = {{"/query/signals?q=boom", "from"}, {"/query/signals?q=boom&from=0", "to"}};
    for (size_t i = 0; i < 2; i++) {
        json_t *e = get(cases[i][0], 400);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "error"), "path")),
                         cases[i][1]);
        json_decref(e);
    }
    /* QUERY_MAX_SEARCH_RANGE_S=3600 in this backend: an hour and a second is refused, an hour is not */
    snprintf(path, sizeof(path), "/query/signals?q=boom&from=%lld&to=%lld", now - 3601000000000LL, now);
    json_t *e = get(path, 400);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "error"), "path")), "to");
    json_decref(e);
    snprintf(path, sizeof(path), "/query/signals?q=boom&from=%lld&to=%lld", now, now - 1);
    json_decref(get(path, 400));
    snprintf(path, sizeof(path), "/query/signals?q=boom&from=%lld&to=%lld", now - 3600000000000LL, now);
    json_decref(get(path, 200));
    json_decref(get("/query/signals?kind=logs", 200)); /* no text: no range needed */
}
END_TEST

/* A trace of 1,200 spans and 700 logs with MAX_SPANS_PER_TRACE=500: pages of at most the limit that
 * together hold every span and log once, and the counts of the whole trace. */
START_TEST(a_large_trace_pages)
{
    enum { NSPANS = 1200, NLOGS = 700 };
    char trace[33], url[256];
    ts_hex(trace, 32);
    long long now = (long long)time(NULL) * 1000000000LL;
    size_t cap = 400 * NSPANS;
    char *body = malloc(cap);
    size_t n = (size_t)snprintf(body, cap, "{\"spans\":[");
    for (int i = 0; i < NSPANS; i++)
        n += (size_t)snprintf(body + n, cap - n,
                              "%s{\"trace_id\":\"%s\",\"span_id\":\"%016x\",\"service\":\"gateway\",\"name\":"
                              "\"op\",\"start_time\":%lld,\"end_time\":%lld}",
                              i ? "," : "", trace, i + 1, now - 60000000000LL + i, now - 50000000000LL);
    n += (size_t)snprintf(body + n, cap - n, "]}");
    ts_resp_t r;
    snprintf(url, sizeof(url), "%s/ingest/traces", backend.url);
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ts_resp_free(&r);
    n = (size_t)snprintf(body, cap, "{\"logs\":[");
    for (int i = 0; i < NLOGS; i++)
        n += (size_t)snprintf(body + n, cap - n,
                              "%s{\"timestamp\":%lld,\"service\":\"gateway\",\"level\":\"INFO\",\"message\":"
                              "\"line %d\",\"trace_id\":\"%s\"}",
                              i ? "," : "", now - 55000000000LL + i, i, trace);
    n += (size_t)snprintf(body + n, cap - n, "]}");
    snprintf(url, sizeof(url), "%s/ingest/logs", backend.url);
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ts_resp_free(&r);
    free(body);

    char path[256];
    snprintf(path, sizeof(path), "/query/traces/%s?limit=501", trace);
    json_decref(get(path, 400)); /* a page larger than MAX_SPANS_PER_TRACE */
    snprintf(path, sizeof(path), "/query/traces/%s", trace);
    json_t *p = get(path, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "span_count")), NSPANS);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "log_count")), NLOGS);
    ck_assert_int_eq(json_array_size(json_object_get(p, "spans")), 500); /* the default page: the limit */
    ck_assert_int_eq(json_array_size(json_object_get(p, "logs")), 500);
    json_decref(p);
    int spans = 0, logs = 0, pages = 0, prev = 0;
    char cursor[64] = "";
    for (;;) {
        snprintf(path, sizeof(path), "/query/traces/%s?limit=450%s%s", trace, *cursor ? "&cursor=" : "",
                 cursor);
        p = get(path, 200);
        json_t *a = json_object_get(p, "spans");
        for (size_t i = 0; i < json_array_size(a); i++) {
            int id =
                (int)strtol(json_string_value(json_object_get(json_array_get(a, i), "span_id")), NULL, 16);
            ck_assert_int_eq(id, prev + 1); /* in start order, none skipped or repeated */
            prev = id;
        }
        spans += (int)json_array_size(a);
        logs += (int)json_array_size(json_object_get(p, "logs"));
        pages++;
        const char *next = json_string_value(json_object_get(p, "next_cursor"));
        snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
        json_decref(p);
        if (!next) break;
        ck_assert_int_lt(pages, 10);
    }
    ck_assert_int_eq(pages, 3);
    ck_assert_int_eq(spans, NSPANS);
    ck_assert_int_eq(logs, NLOGS);
}
END_TEST

/* A raw HTTP/1.1 request on a new connection; returns the socket. */
static int raw_request(const char *path)
{
    int port = atoi(strrchr(backend.url, ':') + 1);
    int fd = ts_connect(port);
    ck_assert_int_ge(fd, 0);
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n\r\n", path,
                     TS_READ_KEY);
    ck_assert_int_eq(write(fd, req, (size_t)n), n);
    return fd;
}

/* Reads what answered on `fd` within timeout_ms (the status line and headers at least); "" if none. */
static void raw_read(int fd, int timeout_ms, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = '\0';
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (n + 1 < outlen && poll(&p, 1, timeout_ms) == 1) {
        ssize_t k = read(fd, out + n, outlen - 1 - n);
        if (k <= 0) break;
        n += (size_t)k;
        out[n] = '\0';
        if (strstr(out, "\r\n\r\n")) break;
    }
}

/* pg_locks, not pg_stat_activity: the backend connects as its own role, whose sessions' queries and
 * waits another role may not see */
#define WAITING_ON_LOCK "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'incidents'::regclass"

/* With the incidents table locked by this test, queries wait in PostgreSQL: a client that leaves gets
 * its statement cancelled at once (not after the 15 s statement timeout), and past 2 running and
 * QUERY_MAX_QUEUE=2 waiting, the next get 503 with Retry-After at once. */
START_TEST(queries_cancelled_when_the_client_leaves_and_the_queue_is_bounded)
{
    PGconn *lock = ts_pg(db_url), *c = ts_pg(db_url);
    PQclear(PQexec(lock, "BEGIN; LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE"));
    int a = raw_request("/query/incidents"), b = raw_request("/query/incidents?limit=3");
    ck_assert_int_eq(ts_pg_wait_long(c, WAITING_ON_LOCK, 2, 5), 2);
    close(a);
    close(b);
    double t0 = now_s();
    while (ts_pg_long(c, WAITING_ON_LOCK) != 0 && now_s() - t0 < 5) /* ts_pg_wait_long waits for >= */
        usleep(50000);
    ck_assert_int_eq(ts_pg_long(c, WAITING_ON_LOCK), 0);
    ck_assert_msg(now_s() - t0 < 3, "statements of gone clients still waited %.1f s", now_s() - t0);

    int fds[6];
    for (int i = 0; i < 2; i++)
        fds[i] = raw_request("/query/incidents");
    ck_assert_int_eq(ts_pg_wait_long(c, WAITING_ON_LOCK, 2, 5), 2);
    for (int i = 2; i < 6; i++)
        fds[i] = raw_request("/query/incidents");
    char buf[4096];
    int busy = 0, refused[6] = {0};
    /* which two of the four are refused depends on arrival order across loop threads: any two */
    for (int i = 2; i < 6; i++) {
        raw_read(fds[i], i < 4 ? 300 : 2000, buf, sizeof(buf));
        if (strstr(buf, " 503 ")) {
            busy++;
            refused[i] = 1;
            ck_assert_ptr_nonnull(strcasestr(buf, "retry-after:"));
        }
    }
    ck_assert_int_eq(busy, 2);
    PQclear(PQexec(lock, "COMMIT"));
    for (int i = 0; i < 6; i++) {
        if (refused[i]) continue;
        raw_read(fds[i], 5000, buf, sizeof(buf));
        ck_assert_msg(strstr(buf, " 200 ") != NULL, "request %d: %.200s", i, buf);
    }
    for (int i = 0; i < 6; i++)
        close(fds[i]);
    PQfinish(lock);
    PQfinish(c);
}
END_TEST

typedef struct {
    const char *url;
    volatile int stop;
    long n;
} hammer_t;

static void *hammer(void *arg)
{
    hammer_t *h = arg;
    while (!h->stop) {
        ts_resp_t r;
        if (ts_http("GET", h->url, NULL, NULL, 0, &r) == 0) ts_resp_free(&r);
        __atomic_add_fetch(&h->n, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static int ready_status(const char *base)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/ready", base);
    ts_resp_t r;
    if (ts_http("GET", url, NULL, NULL, 0, &r) != 0) return -1;
    int s = (int)r.status;
    ts_resp_free(&r);
    return s;
}

/* /ready answers from its cached probe: a flood of it does not slow /query, it answers at once while
 * every query thread is busy, and it sees a PostgreSQL outage (cut by a TCP proxy) within 3 s. */
START_TEST(ready_is_cached_and_cannot_starve_queries)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/ready", backend.url);
    hammer_t h = {.url = url};
    pthread_t t[6];
    for (int i = 0; i < 6; i++)
        pthread_create(&t[i], NULL, hammer, &h);
    double worst = 0;
    for (int i = 0; i < 20; i++) {
        double t0 = now_s();
        json_decref(get("/query/incidents?limit=5", 200));
        if (now_s() - t0 > worst) worst = now_s() - t0;
    }
    h.stop = 1;
    for (int i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    ck_assert_msg(worst < 1.0, "a query took %.3f s during the /ready flood", worst);
    ck_assert_int_gt(h.n, 20);

    /* every query thread stuck on a lock: /ready still answers at once */
    PGconn *lock = ts_pg(db_url), *c = ts_pg(db_url);
    PQclear(PQexec(lock, "BEGIN; LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE"));
    int a = raw_request("/query/incidents"), b = raw_request("/query/incidents");
    ck_assert_int_eq(ts_pg_wait_long(c, WAITING_ON_LOCK, 2, 5), 2);
    double t0 = now_s();
    ck_assert_int_eq(ready_status(backend.url), 200);
    ck_assert_msg(now_s() - t0 < 0.5, "/ready took %.3f s with the query pool busy", now_s() - t0);
    PQclear(PQexec(lock, "COMMIT"));
    close(a);
    close(b);
    PQfinish(lock);
    PQfinish(c);

    /* a backend whose PostgreSQL goes through a proxy that the test cuts */
    ts_proxy_t *px = ts_proxy_start(ts_url_port(db_url));
    char proxied[512];
    const char *colon = strstr(db_url, "127.0.0.1:");
    ck_assert_ptr_nonnull(colon);
    const char *rest = strchr(colon + 10, '/');
    snprintf(proxied, sizeof(proxied), "%.*s127.0.0.1:%d%s", (int)(colon - db_url), db_url, ts_proxy_port(px),
             rest);
    ts_proc_t b2;
    ck_assert_int_eq(ts_start_backend(&b2, proxied, "t:query2:", NULL), 0);
    ck_assert_int_eq(ready_status(b2.url), 200);
    ts_proxy_cut(px);
    t0 = now_s();
    while (ready_status(b2.url) != 503 && now_s() - t0 < 5)
        usleep(100000);
    double seen = now_s() - t0;
    ck_assert_msg(seen < 3, "/ready saw the outage after %.1f s", seen);
    ts_proxy_restore(px);
    t0 = now_s();
    while (ready_status(b2.url) != 200 && now_s() - t0 < 10)
        usleep(100000);
    ck_assert_int_eq(ready_status(b2.url), 200);
    ts_stop(&b2, SIGTERM);
    ts_proxy_stop(px);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("query");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, incidents_page_with_cursor_newest_first);
    tcase_add_test(tc, bad_filters_name_the_parameter);
    tcase_add_test(tc, signals_services_metrics_anomalies_suspects);
    tcase_add_test(tc, signals_pages_neither_skip_nor_repeat_records_sharing_a_timestamp);
    tcase_add_test(tc, feedback_round_trip_and_accuracy);
    tcase_add_test(tc, otel_parts_of_spans_logs_and_metric_points);
    tcase_add_test(tc, text_search_needs_a_bounded_time_range);
    tcase_add_test(tc, a_large_trace_pages);
    tcase_add_test(tc, queries_cancelled_when_the_client_leaves_and_the_queue_is_bounded);
    tcase_add_test(tc, ready_is_cached_and_cannot_starve_queries);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
