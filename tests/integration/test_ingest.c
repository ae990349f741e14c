/* Ingest against the real servers: commit-before-2xx, duplicates, OTLP, errors with paths, limits,
 * keys, immutability, retention, the debounce into the analysis stream, Redis and PostgreSQL outages. */
#include "queue_contract.h"
#include "ts.h"
#include "ts_proxy.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *db_url;
static ts_proc_t backend;
static char prefix[64];

static void start_backend_with(const char *const *env)
{
    char suffix[9];
    ts_hex(suffix, 8);
    snprintf(prefix, sizeof(prefix), "t:%s:", suffix);
    db_url = ts_create_database("ingest");
    ck_assert_int_eq(ts_start_backend(&backend, db_url, prefix, env), 0);
}

static void setup(void)
{
    static const char *env[] = {"DEBOUNCE_QUIET_MS=300", "DEBOUNCE_MAX_MS=1500", "MAX_BODY_BYTES=2000000",
                                "MAX_BATCH_RECORDS=5000", NULL};
    start_backend_with(env);
}

static void teardown(void)
{
    ts_stop(&backend, SIGTERM);
    free(db_url);
}

static long post(const char *path, const char *body, char **resp_body)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", backend.url, path);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    long status = r.status;
    if (resp_body) *resp_body = strdup(r.body);
    ts_resp_free(&r);
    return status;
}

static long json_int(const char *body, const char *key)
{
    json_t *o = json_loads(body, 0, NULL);
    ck_assert_msg(o != NULL, "not JSON: %s", body);
    long v = (long)json_integer_value(json_object_get(o, key));
    json_decref(o);
    return v;
}

static char *json_str(const char *body, const char *k1, const char *k2)
{
    json_t *o = json_loads(body, 0, NULL);
    ck_assert_msg(o != NULL, "not JSON: %s", body);
    json_t *v = json_object_get(json_object_get(o, k1), k2);
    char *s = strdup(json_is_string(v) ? json_string_value(v) : "");
    json_decref(o);
    return s;
}

static void iso_now(char *out, size_t n, int offset_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + offset_ms;
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char date[32];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%.20s.%03d123Z", date, (int)(ms % 1000));
}

/* A batch of n spans of one trace; span i is ERROR when error_at == i. Caller frees. */
static char *spans_batch(const char *trace, int n, int error_at)
{
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        char sid[17], start[40], end[40];
        snprintf(sid, sizeof(sid), "%016x", i + 1);
        iso_now(start, sizeof(start), -1000 + i);
        iso_now(end, sizeof(end), -500 + i);
        json_t *s = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s,s:i}}", "trace_id", trace, "span_id", sid,
                              "service", i % 2 ? "payment" : "gateway", "name", "POST /charge", "start_time",
                              start, "end_time", end, "status", i == error_at ? "ERROR" : "OK", "attributes",
                              "http.method", "POST", "http.status_code", i == error_at ? 500 : 200);
        if (i > 0) {
            char parent[17];
            snprintf(parent, sizeof(parent), "%016x", i);
            json_object_set_new(s, "parent_span_id", json_string(parent));
        }
        json_array_append_new(arr, s);
    }
    json_t *o = json_pack("{s:o}", "spans", arr);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return body;
}

static long count_trace(PGconn *c, const char *trace)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM spans WHERE trace_id = '%s'", trace);
    return ts_pg_long(c, sql);
}

START_TEST(spans_committed_then_deduplicated)
{
    char trace[33], *resp;
    ts_hex(trace, 32);
    char *body = spans_batch(trace, 50, -1);
    ck_assert_int_eq(post("/ingest/traces", body, &resp), 200);
    ck_assert_int_eq(json_int(resp, "accepted"), 50);
    ck_assert_int_eq(json_int(resp, "duplicates"), 0);
    free(resp);
    PGconn *c = ts_pg(db_url);
    ck_assert_int_eq(count_trace(c, trace), 50); /* visible as soon as the 2xx came */
    ck_assert_int_eq(post("/ingest/traces", body, &resp), 200);
    ck_assert_int_eq(json_int(resp, "accepted"), 0);
    ck_assert_int_eq(json_int(resp, "duplicates"), 50);
    free(resp);
    ck_assert_int_eq(count_trace(c, trace), 50);
    PQfinish(c);
    free(body);
}
END_TEST

START_TEST(logs_metrics_events_deduplicated)
{
    char trace[33], ts[40], *resp;
    ts_hex(trace, 32);
    iso_now(ts, sizeof(ts), 0);
    char logs[2048], metrics[1024], events[1024];
    snprintf(
        logs, sizeof(logs),
        "{\"logs\":[{\"timestamp\":\"%s\",\"service\":\"payment\",\"level\":\"INFO\",\"message\":\"charged "
        "%s\"},{\"timestamp\":\"%s\",\"service\":\"payment\",\"level\":\"WARN\",\"message\":\"tab\\there "
        "and\\nnewline \\\\ back\",\"trace_id\":\"%s\"}]}",
        ts, trace, ts, trace);
    snprintf(
        metrics, sizeof(metrics),
        "{\"metrics\":[{\"timestamp\":\"%s\",\"service\":\"payment\",\"name\":\"p95_latency_ms\",\"value\":"
        "250.5,\"labels\":{\"endpoint\":\"/charge\",\"t\":\"%s\"}}]}",
        ts, trace);
    snprintf(events, sizeof(events),
             "{\"events\":[{\"timestamp\":\"%s\",\"service\":\"payment\",\"type\":\"deploy\",\"description\":"
             "\"v2.3.1 %s\"}]}",
             ts, trace);
    const char *paths[] = {"/ingest/logs", "/ingest/metrics", "/ingest/events"};
    const char *bodies[] = {logs, metrics, events};
    const long expect[] = {2, 1, 1};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(post(paths[i], bodies[i], &resp), 200);
        ck_assert_int_eq(json_int(resp, "accepted"), expect[i]);
        free(resp);
        ck_assert_int_eq(post(paths[i], bodies[i], &resp), 200);
        ck_assert_int_eq(json_int(resp, "accepted"), 0);
        ck_assert_int_eq(json_int(resp, "duplicates"), expect[i]);
        free(resp);
    }
    PGconn *c = ts_pg(db_url);
    char sql[256];
    const char *exact[] = {"tab\there and\nnewline \\ back"};
    PGresult *res =
        PQexecParams(c, "SELECT count(*) FROM logs WHERE message = $1", 1, NULL, exact, NULL, NULL, 0);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "1"); /* text kept exactly, tab, newline and backslash */
    PQclear(res);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM metric_points WHERE labels->>'t' = '%s' AND value = 250.5", trace);
    ck_assert_int_eq(ts_pg_long(c, sql), 1);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM change_events WHERE description = 'v2.3.1 %s'", trace);
    ck_assert_int_eq(ts_pg_long(c, sql), 1);
    PQfinish(c);
}
END_TEST

static char *read_fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/tests/fixtures/otlp/%s", ts_env("PS_SOURCE_DIR"), name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "missing fixture %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

START_TEST(otlp_json_and_protobuf_accepted)
{
    const char *files[] = {"traces.json", "logs.json", "metrics.json"};
    const char *paths[] = {"/v1/traces", "/v1/logs", "/v1/metrics"};
    for (int i = 0; i < 3; i++) {
        char *body = read_fixture(files[i]), *resp;
        ck_assert_int_eq(post(paths[i], body, &resp), 200);
        /* the specification's answer: ExportXServiceResponse, partialSuccess only when something was
         * refused */
        ck_assert_msg(strstr(resp, "partialSuccess") == NULL, "%s: %s", paths[i], resp);
        free(resp);
        free(body);
    }
    PGconn *c = ts_pg(db_url);
    ck_assert_int_gt(
        ts_pg_long(c, "SELECT count(*) FROM spans WHERE events::text LIKE '%exception.stacktrace%'"), 0);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM spans WHERE service = 'unknown_service'"), 0);
    PQfinish(c);
    /* protobuf is accepted too; a body that is not a protobuf message gets a 400 in the request's
     * encoding, and a media type we do not take a 415 */
    char url[256], auth[128];
    snprintf(url, sizeof(url), "%s/v1/traces", backend.url);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", TS_INGEST_KEY);
    const char *h[] = {auth, "Content-Type: application/x-protobuf", NULL};
    ts_resp_t r;
    ck_assert_int_eq(ts_http("POST", url, h, "", 0, &r), 0); /* an empty export */
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.len, 0); /* an empty ExportTraceServiceResponse */
    ts_resp_free(&r);
    ck_assert_int_eq(ts_http("POST", url, h, "\x0a\x09\x08", 3, &r), 0);
    ck_assert_int_eq(r.status, 400);
    ck_assert_ptr_nonnull(memmem(r.body, r.len, "malformed protobuf", 18));
    ts_resp_free(&r);
    const char *text[] = {auth, "Content-Type: text/plain", NULL};
    ck_assert_int_eq(ts_http("POST", url, text, "x", 1, &r), 0);
    ck_assert_int_eq(r.status, 415);
    ck_assert_ptr_nonnull(strstr(r.body, "application/x-protobuf or application/json"));
    ts_resp_free(&r);
}
END_TEST

START_TEST(bad_input_names_the_path_and_stores_nothing)
{
    char trace[33], *resp;
    ts_hex(trace, 32);
    char *body = spans_batch(trace, 5, -1);
    /* break the fourth span's start_time: the whole batch must be refused */
    json_t *o = json_loads(body, 0, NULL);
    json_object_set_new(json_array_get(json_object_get(o, "spans"), 3), "start_time",
                        json_string("yesterday"));
    char *bad = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    ck_assert_int_eq(post("/ingest/traces", bad, &resp), 400);
    char *path = json_str(resp, "error", "path");
    ck_assert_str_eq(path, "spans[3].start_time");
    free(path);
    free(resp);
    PGconn *c = ts_pg(db_url);
    ck_assert_int_eq(count_trace(c, trace), 0);
    PQfinish(c);

    ck_assert_int_eq(post("/ingest/traces", "{\"spans\":[{\"trace_id\":", &resp), 400);
    free(resp);
    ck_assert_int_eq(post("/ingest/traces", "{\"spans\":{}}", &resp), 400);
    path = json_str(resp, "error", "path");
    ck_assert_str_eq(path, "spans");
    free(path);
    free(resp);
    o = json_loads(body, 0, NULL);
    json_object_set_new(json_array_get(json_object_get(o, "spans"), 1), "trace_id", json_string("xyz"));
    free(bad);
    bad = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    ck_assert_int_eq(post("/ingest/traces", bad, &resp), 400);
    path = json_str(resp, "error", "path");
    ck_assert_str_eq(path, "spans[1].trace_id");
    free(path);
    free(resp);
    free(bad);
    free(body);
}
END_TEST

START_TEST(limits_keys_paths_methods)
{
    char url[256];
    ts_resp_t r;
    /* too many records */
    char trace[33];
    ts_hex(trace, 32);
    char *body = spans_batch(trace, 5001, -1);
    char *resp;
    long st = post("/ingest/traces", body, &resp);
    ck_assert_msg(st == 413, "status %ld: %s", st, resp);
    free(resp);
    free(body);
    /* too large a body (H2O refuses it before we parse) */
    size_t big = 2100000;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    memcpy(huge, "{\"spans\":[", 10);
    huge[big - 2] = ']';
    huge[big - 1] = '}';
    huge[big] = '\0';
    /* H2O answers 413 from Content-Length and closes: a client still sending may see the reset before
     * the answer (a race of the transport, not of ours), so it tries again; a 413 must come */
    snprintf(url, sizeof(url), "%s/ingest/traces", backend.url);
    long huge_status = -1;
    for (int attempt = 0; attempt < 3 && huge_status < 0; attempt++) {
        if (ts_post_json(url, TS_INGEST_KEY, huge, &r) == 0) huge_status = r.status;
        ts_resp_free(&r);
    }
    ck_assert_int_eq(huge_status, 413);
    free(huge);
    /* keys */
    snprintf(url, sizeof(url), "%s/ingest/logs", backend.url);
    ck_assert_int_eq(ts_post_json(url, NULL, "{\"logs\":[]}", &r), 0);
    ck_assert_int_eq(r.status, 401);
    ts_resp_free(&r);
    ck_assert_int_eq(ts_post_json(url, "wrong-key-123", "{\"logs\":[]}", &r), 0);
    ck_assert_int_eq(r.status, 401);
    ts_resp_free(&r);
    ck_assert_int_eq(ts_post_json(url, TS_READ_KEY, "{\"logs\":[]}", &r), 0);
    ck_assert_int_eq(r.status, 401); /* a read key cannot write */
    ts_resp_free(&r);
    const char *xkey[] = {"X-API-Key: " TS_INGEST_KEY, NULL};
    ck_assert_int_eq(ts_http("POST", url, xkey, "{\"logs\":[]}", 11, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ts_resp_free(&r);
    /* unknown path, wrong method */
    snprintf(url, sizeof(url), "%s/ingest/nothing", backend.url);
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, "{}", &r), 0);
    ck_assert_int_eq(r.status, 404);
    ts_resp_free(&r);
    snprintf(url, sizeof(url), "%s/ingest/traces", backend.url);
    ck_assert_int_eq(ts_http("GET", url, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 405);
    ts_resp_free(&r);
}
END_TEST

START_TEST(raw_tables_refuse_update_delete_truncate)
{
    char trace[33];
    ts_hex(trace, 32);
    char *body = spans_batch(trace, 3, -1);
    ck_assert_int_eq(post("/ingest/traces", body, NULL), 200);
    free(body);
    PGconn *c = ts_pg(db_url);
    const char *stmts[] = {
        "UPDATE spans SET name = 'x'",   "DELETE FROM spans",         "TRUNCATE spans",
        "UPDATE logs SET message = 'x'", "DELETE FROM metric_points", "DELETE FROM change_events"};
    for (size_t i = 0; i < sizeof(stmts) / sizeof(*stmts); i++) {
        PGresult *r = PQexec(c, stmts[i]);
        ck_assert_msg(PQresultStatus(r) == PGRES_FATAL_ERROR, "%s was allowed", stmts[i]);
        ck_assert_ptr_nonnull(strstr(PQresultErrorMessage(r), "immutable"));
        PQclear(r);
    }
    /* a partition truncated directly is refused too */
    PGresult *r = PQexec(c, "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'spans' LIMIT 1");
    ck_assert_int_eq(PQntuples(r), 1);
    char sql[256];
    snprintf(sql, sizeof(sql), "TRUNCATE %s", PQgetvalue(r, 0, 0));
    PQclear(r);
    r = PQexec(c, sql);
    ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
    PQclear(r);
    ck_assert_int_eq(count_trace(c, trace), 3);
    PQfinish(c);
}
END_TEST

START_TEST(retention_drops_only_old_partitions)
{
    long long now_ns = (long long)time(NULL) * 1000000000LL;
    long long old_ns = now_ns - 40LL * 86400 * 1000000000LL;
    char body[1024], trace_old[33], trace_new[33];
    ts_hex(trace_old, 32);
    ts_hex(trace_new, 32);
    snprintf(
        body, sizeof(body),
        "{\"spans\":[{\"trace_id\":\"%s\",\"span_id\":\"00000000000000a1\",\"service\":\"s\",\"name\":\"n\","
        "\"start_time\":%lld,\"end_time\":%lld},{\"trace_id\":\"%s\",\"span_id\":\"00000000000000a2\","
        "\"service\":\"s\",\"name\":\"n\",\"start_time\":%lld,\"end_time\":%lld}]}",
        trace_old, old_ns, old_ns + 1000, trace_new, now_ns, now_ns + 1000);
    ck_assert_int_eq(post("/ingest/traces", body, NULL), 200);
    PGconn *c = ts_pg(db_url);
    ck_assert_int_eq(count_trace(c, trace_old), 1);
    long parts = ts_pg_long(c, "SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent "
                               "WHERE p.relname = 'spans'");
    ck_assert_int_ge(parts, 2);
    ck_assert_int_ge(ts_pg_long(c, "SELECT count(*) FROM drop_raw_partitions_older_than(30)"), 4);
    ck_assert_int_eq(count_trace(c, trace_old), 0);
    ck_assert_int_eq(count_trace(c, trace_new), 1);
    PQfinish(c);
}
END_TEST

/* The acceptance window (issue 14): a record older than retention keeps, or further ahead than
 * INGEST_MAX_FUTURE_S, is refused naming its path (our JSON: the whole batch; OTLP: counted as rejected
 * while the rest is stored), so one batch cannot create partitions retention would drop at once. */
START_TEST(records_outside_the_time_window_refused)
{
    ts_stop(&backend, SIGTERM);
    free(db_url);
    static const char *env[] = {"RETENTION_DAYS=2", "INGEST_MAX_FUTURE_S=60", NULL};
    start_backend_with(env);
    long long now_ns = (long long)time(NULL) * 1000000000LL, day = 86400LL * 1000000000LL;
    const long long when[] = {now_ns - 5 * day, now_ns + 3600LL * 1000000000LL};
    char body[2048], *resp;
    for (int i = 0; i < 2; i++) {
        snprintf(body, sizeof(body),
                 "{\"logs\":[{\"timestamp\":%lld,\"service\":\"s\",\"level\":\"INFO\",\"message\":\"ok\"},"
                 "{\"timestamp\":%lld,\"service\":\"s\",\"level\":\"INFO\",\"message\":\"out\"}]}",
                 now_ns, when[i]);
        ck_assert_int_eq(post("/ingest/logs", body, &resp), 400);
        ck_assert_msg(strstr(resp, "logs[1].timestamp") && strstr(resp, "outside the accepted range"), "%s",
                      resp);
        free(resp);
    }
    /* OTLP: the good record is stored, the old one counted */
    snprintf(body, sizeof(body),
             "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
             "{\"stringValue\":\"window\"}}]},\"scopeLogs\":[{\"logRecords\":["
             "{\"timeUnixNano\":\"%lld\",\"body\":{\"stringValue\":\"fresh\"}},"
             "{\"timeUnixNano\":\"%lld\",\"body\":{\"stringValue\":\"stale\"}}]}]}]}",
             now_ns, when[0]);
    ck_assert_int_eq(post("/v1/logs", body, &resp), 200);
    ck_assert_msg(strstr(resp, "\"rejectedLogRecords\":\"1\"") && strstr(resp, "logRecords[1].timeUnixNano"),
                  "%s", resp);
    free(resp);
    PGconn *c = ts_pg(db_url);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM logs WHERE service = 'window'"), 1);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM logs WHERE service = 's'"), 0);
    /* nothing created a partition for the old day */
    char sql[256];
    time_t old = (time_t)(when[0] / 1000000000LL);
    struct tm tm;
    gmtime_r(&old, &tm);
    char part[32];
    strftime(part, sizeof(part), "logs_p%Y%m%d", &tm);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_class WHERE relname = '%s'", part);
    ck_assert_int_eq(ts_pg_long(c, sql), 0);
    PQfinish(c);
}
END_TEST

static redisContext *redis_for(const char *url)
{
    int port = ts_url_port(url);
    redisContext *r = redisConnect("127.0.0.1", port);
    ck_assert_msg(r && !r->err, "redis connect");
    return r;
}

/* The hand-over times (handed_ms) of the stream entries naming `trace`, oldest first, into `handed` (at
 * most `max`; may be NULL); returns how many entries name it. */
static int stream_handovers(redisContext *r, const char *trace, long long *handed, int max)
{
    char stream[96];
    queue_contract_stream(prefix, stream, sizeof(stream));
    redisReply *rep = redisCommand(r, "XRANGE %s - +", stream);
    int n = 0;
    for (size_t i = 0; rep && rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        redisReply *fields = rep->element[i]->element[1];
        const char *t = NULL, *h = NULL;
        for (size_t f = 0; f + 1 < fields->elements; f += 2)
            if (strcmp(fields->element[f]->str, QUEUE_FIELD_TRACE_ID) == 0)
                t = fields->element[f + 1]->str;
            else if (strcmp(fields->element[f]->str, QUEUE_FIELD_HANDED_MS) == 0)
                h = fields->element[f + 1]->str;
        if (t == NULL || strcmp(t, trace) != 0) continue;
        if (handed && n < max) handed[n] = h ? strtoll(h, NULL, 10) : -1;
        n++;
    }
    freeReplyObject(rep);
    return n;
}

/* How many stream entries name `trace`. */
static int stream_count(redisContext *r, const char *trace)
{
    return stream_handovers(r, trace, NULL, 0);
}

/* The debounce tests' own timers. The quiet period is ten times the gap between their batches, so a
 * loaded machine (a post can take a few hundred ms under ASan) does not open a quiet gap by accident; a
 * gap that still does is seen from the clocks and the round is played again (see quiet_kept()). */
#define QUIET_MS 1000
#define MAX_MS 3000
/* How late after its due time a hand-over may come: the scheduler ticks every 100 ms, and a loaded
 * machine holds it back a while. Below MAX_MS, so a maximum wait applied twice over is still caught. */
#define LATE_MS 2000
#define STR_(x) #x
#define STR(x) STR_(x)

static void setup_debounce(void)
{
    /* one writer: warmed below, it times every batch alike */
    static const char *env[] = {"DEBOUNCE_QUIET_MS=" STR(QUIET_MS), "DEBOUNCE_MAX_MS=" STR(MAX_MS),
                                "WRITER_THREADS=1", NULL};
    start_backend_with(env);
    /* the first writes to a fresh database create the day's partitions, the writer's staging tables and
     * its Redis connection, which on a loaded machine takes longer than a quiet period: done here, with a
     * trace of their own, so the rounds time only ordinary batches */
    char trace[33];
    ts_hex(trace, 32);
    char *body = spans_batch(trace, 2, 1);
    ck_assert_int_eq(post("/ingest/traces", body, NULL), 200);
    free(body);
}

/* Wall-clock ms: the clock the backend stamps batches and hand-overs with (same machine). */
static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* When a batch was sent and when its answer came. The backend stamps the batch's errors in between
 * (before its commit) and touches the debounce before it answers. */
typedef struct {
    long long sent, done;
} post_time_t;

/* Posts `rounds` error batches of `trace`, batch i sent `gap_ms` after batch i-1, recording their times
 * in p; stops early (returns how many were sent) once `stop` (may be NULL) finds a hand-over. */
static int post_rounds(redisContext *r, const char *trace, int rounds, int gap_ms, post_time_t *p,
                       int (*stop)(redisContext *, const char *))
{
    int i;
    for (i = 0; i < rounds; i++) {
        if (i) {
            long long wait = p[i - 1].sent + gap_ms - wall_ms();
            if (wait > 0) usleep((useconds_t)wait * 1000);
        }
        char *body = spans_batch(trace, 2, 1);
        /* distinct span ids per round so every batch is new */
        for (char *q = strstr(body, "\"span_id\":\""); q; q = strstr(q + 1, "\"span_id\":\""))
            q[11] = "0123456789abcdef"[i & 15], q[12] = "0123456789abcdef"[(i >> 4) & 15];
        p[i].sent = wall_ms();
        ck_assert_int_eq(post("/ingest/traces", body, NULL), 200);
        p[i].done = wall_ms();
        free(body);
        if (stop && stop(r, trace)) return i + 1;
    }
    return i;
}

/* The earliest the debounce may hand the trace over at `handed`, from the clocks of the n batches: due =
 * min(last error + quiet, first error + max). Every batch answered by then was seen (its touch comes
 * before its answer), so the last error is no earlier than the last such batch's send time. */
static long long earliest_handover(const post_time_t *p, int n, long long handed)
{
    long long last = p[0].sent;
    for (int i = 1; i < n; i++)
        if (p[i].done <= handed) last = p[i].sent;
    long long by_quiet = last + QUIET_MS, by_max = p[0].sent + MAX_MS;
    return by_quiet < by_max ? by_quiet : by_max;
}

/* 1 when no quiet period can have passed between two batches sent before `until`: batch i was stamped
 * and touched before batch i-1's due time (its answer came within QUIET_MS of batch i-1's sending). A
 * machine stalled for about a second breaks this, and then the debounce rightly hands over early. */
static int quiet_kept(const post_time_t *p, int n, long long until)
{
    for (int i = 1; i < n && p[i - 1].sent < until; i++)
        if (p[i].done - p[i - 1].sent >= QUIET_MS) {
            fprintf(stderr, "batch %d answered %lld ms after batch %d was sent: the round is played again\n",
                    i, p[i].done - p[i - 1].sent, i - 1);
            return 0;
        }
    return 1;
}

/* Polls until `trace` has been handed over or `deadline` (wall ms) passes; returns the entries' count
 * with the first hand-over time in *handed. */
static int wait_handover(redisContext *r, const char *trace, long long deadline, long long *handed)
{
    int n;
    while ((n = stream_handovers(r, trace, handed, 1)) == 0 && wall_ms() < deadline)
        usleep(20 * 1000);
    return n;
}

/* One round of debounce_hands_trace_over_once_after_quiet; returns 0 when a stall made it inconclusive. */
static int quiet_round(redisContext *r)
{
    enum { ROUNDS = 5 };
    char trace[33];
    ts_hex(trace, 32);
    post_time_t p[ROUNDS];
    /* 5 error batches 100 ms apart: each within the quiet period of the one before */
    post_rounds(r, trace, ROUNDS, 100, p, NULL);
    long long handed;
    const long long due_by = p[ROUNDS - 1].done + QUIET_MS;
    ck_assert_msg(wait_handover(r, trace, due_by + LATE_MS + 10000, &handed) > 0, "never handed over");
    if (!quiet_kept(p, ROUNDS, handed)) return 0;
    if (p[ROUNDS - 1].done - p[0].sent >= MAX_MS) {
        fprintf(stderr, "the batches took %lld ms, past MAX_MS: the round is played again\n",
                p[ROUNDS - 1].done - p[0].sent);
        return 0;
    }
    /* never before the quiet period after the last batch seen */
    ck_assert_msg(handed >= earliest_handover(p, ROUNDS, handed), "handed over %lld ms early",
                  earliest_handover(p, ROUNDS, handed) - handed);
    ck_assert_msg(handed >= p[ROUNDS - 1].sent + QUIET_MS, "handed over before the last batch went quiet");
    ck_assert_msg(handed <= due_by + LATE_MS, "handed over %lld ms after its due time", handed - due_by);
    /* once: nothing more arrives in another quiet period */
    usleep((QUIET_MS + 500) * 1000);
    ck_assert_int_eq(stream_count(r, trace), 1);
    PGconn *c = ts_pg(db_url);
    char sql[128];
    /* handed over: the row stays, marked, until the pipeline commits the analysis (issue 14, point 12) */
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pending_triggers WHERE trace_id = '%s' AND handed_at_ms IS NOT NULL",
             trace);
    ck_assert_int_eq(ts_pg_wait_long(c, sql, 1, 10), 1);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pending_triggers WHERE trace_id = '%s'", trace);
    ck_assert_int_eq(ts_pg_long(c, sql), 1);
    PQfinish(c);
    return 1;
}

START_TEST(debounce_hands_trace_over_once_after_quiet)
{
    redisContext *r = redis_for(ts_env("PS_TEST_REDIS_URL"));
    int conclusive = 0;
    for (int attempt = 0; attempt < 3 && !conclusive; attempt++)
        conclusive = quiet_round(r);
    ck_assert_msg(conclusive, "the machine stalled for a quiet period in every round");
    redisFree(r);
}
END_TEST

static int handed_over(redisContext *r, const char *trace)
{
    return stream_count(r, trace) > 0;
}

/* One round of debounce_max_wait_bounds_a_noisy_trace; returns 0 when a stall made it inconclusive. */
static int noisy_round(redisContext *r)
{
    /* an error every 150 ms until the hand-over: never quiet, so MAX_MS decides */
    enum { GAP_MS = 150, ROUNDS = (MAX_MS + LATE_MS + 10000) / GAP_MS };
    char trace[33];
    ts_hex(trace, 32);
    post_time_t p[ROUNDS];
    int n = post_rounds(r, trace, ROUNDS, GAP_MS, p, handed_over);
    long long handed;
    ck_assert_msg(stream_handovers(r, trace, &handed, 1) > 0,
                  "a trace noisy for %lld ms was never handed over", p[n - 1].done - p[0].sent);
    if (!quiet_kept(p, n, handed)) return 0;
    /* not before the maximum wait, and soon after it */
    ck_assert_msg(handed >= earliest_handover(p, n, handed), "handed over %lld ms early",
                  earliest_handover(p, n, handed) - handed);
    ck_assert_msg(handed >= p[0].sent + MAX_MS, "handed over %lld ms after the first error, before MAX_MS",
                  handed - p[0].sent);
    ck_assert_msg(handed <= p[0].done + MAX_MS + LATE_MS, "handed over %lld ms after the first error",
                  handed - p[0].sent);
    return 1;
}

START_TEST(debounce_max_wait_bounds_a_noisy_trace)
{
    redisContext *r = redis_for(ts_env("PS_TEST_REDIS_URL"));
    int conclusive = 0;
    for (int attempt = 0; attempt < 3 && !conclusive; attempt++)
        conclusive = noisy_round(r);
    ck_assert_msg(conclusive, "the machine stalled for a quiet period in every round");
    redisFree(r);
}
END_TEST

START_TEST(metrics_endpoint_counts)
{
    char trace[33];
    ts_hex(trace, 32);
    char *body = spans_batch(trace, 7, -1);
    ck_assert_int_eq(post("/ingest/traces", body, NULL), 200);
    free(body);
    char url[256];
    snprintf(url, sizeof(url), "%s/metrics", backend.url);
    ts_resp_t r;
    /* the request counter is bumped when H2O logs the finished request, which may come a moment after
     * the client has its answer: look again for a little while */
    const char *want = "http_requests_total{method=\"POST\",route=\"/ingest/traces\",status=\"200\"} 1\n";
    int found = 0;
    for (int i = 0; i < 50 && !found; i++) {
        if (i) {
            ts_resp_free(&r);
            usleep(100 * 1000);
        }
        ck_assert_int_eq(ts_http("GET", url, NULL, NULL, 0, &r), 0);
        found = strstr(r.body, want) != NULL;
    }
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "ingest_records_accepted_total{kind=\"spans\"} 7"));
    ck_assert_ptr_nonnull(strstr(r.body, want));
    ck_assert_ptr_nonnull(strstr(r.body, "ingest_batch_latency_seconds_bucket"));
    ck_assert_ptr_nonnull(strstr(r.body, "ingest_queue_depth"));
    ck_assert_ptr_nonnull(strstr(r.body, "ingest_traces_enqueued_total"));
    ts_resp_free(&r);
}
END_TEST

/* Outages go through proxies in front of the real servers. */
START_TEST(redis_outage_loses_no_error_trace)
{
    ts_stop(&backend, SIGTERM);
    ts_proxy_t *rp = ts_proxy_start(ts_url_port(ts_env("PS_TEST_REDIS_URL")));
    char redis_env[96];
    snprintf(redis_env, sizeof(redis_env), "REDIS_URL=redis://127.0.0.1:%d/0", ts_proxy_port(rp));
    const char *env[] = {"DEBOUNCE_QUIET_MS=200", "DEBOUNCE_MAX_MS=1000", redis_env, NULL};
    free(db_url);
    start_backend_with(env);
    ts_proxy_cut(rp);
    char traces[5][33];
    for (int i = 0; i < 5; i++) {
        ts_hex(traces[i], 32);
        char *body = spans_batch(traces[i], 3, 1);
        ck_assert_int_eq(post("/ingest/traces", body, NULL), 200); /* ingest keeps answering */
        free(body);
    }
    sleep(1);
    redisContext *direct = redis_for(ts_env("PS_TEST_REDIS_URL"));
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(stream_count(direct, traces[i]), 0);
    ts_proxy_restore(rp);
    /* the scheduler reconnects and re-schedules from PostgreSQL: wait for every trace, then for nothing
     * more than one entry each */
    int enqueued = 0;
    for (int wait = 0; wait < 300 && enqueued < 5; wait++) {
        usleep(100 * 1000);
        enqueued = 0;
        for (int i = 0; i < 5; i++)
            enqueued += stream_count(direct, traces[i]) > 0;
    }
    for (int i = 0; i < 5; i++)
        ck_assert_msg(stream_count(direct, traces[i]) == 1, "trace %d enqueued %d times after Redis returned",
                      i, stream_count(direct, traces[i]));
    redisFree(direct);
    ts_proxy_stop(rp);
}
END_TEST

START_TEST(redis_stopped_30s_under_load_every_error_trace_analysed)
{
    ts_stop(&backend, SIGTERM);
    ts_proxy_t *rp = ts_proxy_start(ts_url_port(ts_env("PS_TEST_REDIS_URL")));
    char redis_env[96];
    snprintf(redis_env, sizeof(redis_env), "REDIS_URL=redis://127.0.0.1:%d/0", ts_proxy_port(rp));
    const char *env[] = {"DEBOUNCE_QUIET_MS=300", "DEBOUNCE_MAX_MS=2000", redis_env, NULL};
    free(db_url);
    start_backend_with(env);
    ts_proc_t pipeline;
    const char *penv[] = {redis_env, NULL};
    ck_assert_int_eq(ts_start_pipeline(&pipeline, db_url, prefix, penv), 0);
    ts_proxy_cut(rp);
    /* 30 s without Redis, with error traces and ordinary load arriving all along */
    enum { N = 10 };
    char traces[N][33];
    for (int i = 0; i < N; i++) {
        ts_hex(traces[i], 32);
        char *body = spans_batch(traces[i], 3, 1);
        ck_assert_int_eq(post("/ingest/traces", body, NULL), 200);
        free(body);
        char other[33];
        ts_hex(other, 32);
        body = spans_batch(other, 200, -1);
        ck_assert_int_eq(post("/ingest/traces", body, NULL), 200);
        free(body);
        sleep(3);
    }
    ts_proxy_restore(rp);
    PGconn *c = ts_pg(db_url);
    long analysed = 0;
    for (int wait = 0; wait < 60 && analysed < N; wait++) {
        sleep(1);
        analysed = 0;
        for (int i = 0; i < N; i++) {
            char sql[256];
            snprintf(sql, sizeof(sql), "SELECT count(*) FROM incident_traces WHERE trace_id = '%.32s'",
                     traces[i]);
            analysed += ts_pg_long(c, sql) == 1;
        }
    }
    ck_assert_int_eq(analysed, N);
    PQfinish(c);
    ts_stop(&pipeline, SIGTERM);
    ts_proxy_stop(rp);
}
END_TEST

START_TEST(postgres_outage_gives_503_then_recovers)
{
    ts_stop(&backend, SIGTERM);
    ts_proxy_t *pp = ts_proxy_start(ts_url_port(ts_env("PS_TEST_DATABASE_URL")));
    free(db_url);
    char suffix[9];
    ts_hex(suffix, 8);
    snprintf(prefix, sizeof(prefix), "t:%s:", suffix);
    char *real = ts_create_database("ingestpg");
    /* same database through the proxy */
    const char *dbname = strrchr(real, '/') + 1;
    char proxied[256];
    snprintf(proxied, sizeof(proxied), "postgresql://prodsentinel@127.0.0.1:%d/%s", ts_proxy_port(pp),
             dbname);
    db_url = real;
    ck_assert_int_eq(ts_start_backend(&backend, proxied, prefix, NULL), 0);
    char trace[33], *resp;
    ts_hex(trace, 32);
    char *body = spans_batch(trace, 4, -1);
    ts_proxy_cut(pp);
    long st = post("/ingest/traces", body, &resp);
    ck_assert_msg(st == 503, "status %ld: %s", st, resp);
    free(resp);
    char url[256];
    snprintf(url, sizeof(url), "%s/ingest/traces", backend.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    char *ra = ts_resp_header(&r, "retry-after");
    ck_assert_ptr_nonnull(ra);
    free(ra);
    ts_resp_free(&r);
    PGconn *c = ts_pg(real);
    ck_assert_int_eq(count_trace(c, trace), 0);
    ts_proxy_restore(pp);
    long status = 0;
    for (int i = 0; i < 50 && status != 200; i++) {
        usleep(200 * 1000);
        status = post("/ingest/traces", body, NULL);
    }
    ck_assert_int_eq(status, 200); /* recovered without a restart */
    ck_assert_int_eq(count_trace(c, trace), 4);
    PQfinish(c);
    free(body);
    ts_stop(&backend, SIGTERM);
    ts_proxy_stop(pp);
    /* teardown stops an already stopped backend: harmless */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ingest");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, spans_committed_then_deduplicated);
    tcase_add_test(tc, logs_metrics_events_deduplicated);
    tcase_add_test(tc, otlp_json_and_protobuf_accepted);
    tcase_add_test(tc, bad_input_names_the_path_and_stores_nothing);
    tcase_add_test(tc, limits_keys_paths_methods);
    tcase_add_test(tc, raw_tables_refuse_update_delete_truncate);
    tcase_add_test(tc, retention_drops_only_old_partitions);
    tcase_add_test(tc, records_outside_the_time_window_refused);
    tcase_add_test(tc, metrics_endpoint_counts);
    tcase_add_test(tc, redis_outage_loses_no_error_trace);
    tcase_add_test(tc, redis_stopped_30s_under_load_every_error_trace_analysed);
    tcase_add_test(tc, postgres_outage_gives_503_then_recovers);
    suite_add_tcase(s, tc);
    TCase *debounce = tcase_create("debounce");
    tcase_add_checked_fixture(debounce, setup_debounce, teardown);
    tcase_set_timeout(debounce, 120);
    tcase_add_test(debounce, debounce_hands_trace_over_once_after_quiet);
    tcase_add_test(debounce, debounce_max_wait_bounds_a_noisy_trace);
    suite_add_tcase(s, debounce);
    return ts_run(s);
}
