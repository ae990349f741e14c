/* REDACT_AT_INGEST against real backends (issue 14, point 8): a log and a span carrying a card number, a
 * bearer token and a password= pair, sent as our JSON, OTLP/HTTP JSON and OTLP protobuf over gRPC, are
 * read back from PostgreSQL: with the option on no secret is in any stored column (messages, stack
 * traces, status messages, span names, attributes, events) and a re-send is still a duplicate; with it
 * off everything is stored as sent. */
#include "ts.h"
#include "ts_grpc.h"
#include "ts_otlp.h"

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CARD "4111 1111 1111 1111" /* Luhn-valid test card */
#define TOKEN "tok3nAbCdEf0123456789"
#define PASSWORD "hunter2-s3cr3t"
/* One text carrying the three secrets. */
#define SECRETS "card " CARD " auth Bearer " TOKEN " login password=" PASSWORD

static const char *const secrets[] = {CARD, TOKEN, PASSWORD};

static char *db_on, *db_off;
static ts_proc_t on, off; /* REDACT_AT_INGEST=1 and 0, each on its own database */

static void setup(void)
{
    db_on = ts_create_database("redact_on");
    db_off = ts_create_database("redact_off");
    const char *env_on[] = {"REDACT_AT_INGEST=1", NULL};
    const char *env_off[] = {"REDACT_AT_INGEST=0", NULL};
    ck_assert_int_eq(ts_start_backend_otlp(&on, db_on, "t:redact-on:", env_on, 0, TS_FREE_PORT), 0);
    ck_assert_int_eq(ts_start_backend_otlp(&off, db_off, "t:redact-off:", env_off, 0, TS_FREE_PORT), 0);
}

static void teardown(void)
{
    ts_stop(&on, SIGTERM);
    ts_stop(&off, SIGTERM);
    free(db_on);
    free(db_off);
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* POSTs `body` to the backend's `path`; returns the answer's JSON (caller frees), failing unless 200. */
static json_t *post(const ts_proc_t *b, const char *path, const char *body)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", b->url, path);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ck_assert_msg(r.status == 200, "%s: %ld %s", path, r.status, r.body);
    json_t *o = json_loadb(r.body, r.len, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ts_resp_free(&r);
    return o;
}

/* Our JSON: one ERROR log (message, stack trace, attributes) and one ERROR span (name, status message,
 * attributes, an exception event), all carrying the secrets. */
static void send_native(const ts_proc_t *b, const char *trace, long long ts, int expect_accepted)
{
    char *logs, *spans;
    ck_assert_int_ge(asprintf(&logs,
                              "{\"logs\":[{\"timestamp\":%lld,\"service\":\"native\",\"level\":\"ERROR\","
                              "\"message\":\"%s\",\"trace_id\":\"%s\",\"stack_trace\":\"at pay(%s)\","
                              "\"attributes\":{\"note\":\"%s\",\"password\":\"" PASSWORD "\"}}]}",
                              ts, SECRETS, trace, SECRETS, SECRETS),
                     0);
    ck_assert_int_ge(
        asprintf(&spans,
                 "{\"spans\":[{\"trace_id\":\"%s\",\"span_id\":\"00000000000000a1\",\"service\":\"native\","
                 "\"name\":\"GET /pay?password=" PASSWORD "\",\"start_time\":%lld,\"end_time\":%lld,"
                 "\"status\":\"ERROR\",\"status_message\":\"%s\",\"attributes\":{\"http.url\":\"%s\"},"
                 "\"events\":[{\"name\":\"exception\",\"time\":%lld,\"attributes\":{\"exception.message\":"
                 "\"%s\",\"exception.stacktrace\":\"%s\"}}]}]}",
                 trace, ts, ts + 1000, SECRETS, SECRETS, ts, SECRETS, SECRETS),
        0);
    json_t *o = post(b, "/ingest/logs", logs);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "accepted")), expect_accepted);
    json_decref(o);
    o = post(b, "/ingest/traces", spans);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "accepted")), expect_accepted);
    json_decref(o);
    free(logs);
    free(spans);
}

/* OTLP/HTTP JSON: the same shapes (the stack trace as exception.stacktrace). */
static void send_otlp_json(const ts_proc_t *b, const char *trace, long long ts)
{
    char *logs, *spans;
    const char *res =
        "\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
        "\"otlpjson\"}},{\"key\":\"process.command_line\",\"value\":{\"stringValue\":\"" SECRETS "\"}}]}";
    ck_assert_int_ge(
        asprintf(&logs,
                 "{\"resourceLogs\":[{%s,\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"%lld\","
                 "\"severityNumber\":17,\"body\":{\"stringValue\":\"%s\"},\"traceId\":\"%s\",\"attributes\":["
                 "{\"key\":\"exception.stacktrace\",\"value\":{\"stringValue\":\"at pay(%s)\"}},"
                 "{\"key\":\"note\",\"value\":{\"stringValue\":\"%s\"}}]}]}]}]}",
                 res, ts, SECRETS, trace, SECRETS, SECRETS),
        0);
    ck_assert_int_ge(
        asprintf(&spans,
                 "{\"resourceSpans\":[{%s,\"scopeSpans\":[{\"spans\":[{\"traceId\":\"%s\",\"spanId\":"
                 "\"00000000000000b1\",\"name\":\"GET /pay\",\"kind\":2,\"startTimeUnixNano\":\"%lld\","
                 "\"endTimeUnixNano\":\"%lld\",\"status\":{\"code\":2,\"message\":\"%s\"},\"attributes\":["
                 "{\"key\":\"http.url\",\"value\":{\"stringValue\":\"%s\"}}],\"events\":[{\"timeUnixNano\":"
                 "\"%lld\",\"name\":\"exception\",\"attributes\":[{\"key\":\"exception.message\",\"value\":"
                 "{\"stringValue\":\"%s\"}}]}]}]}]}]}",
                 res, trace, ts, ts + 1000, SECRETS, SECRETS, ts, SECRETS),
        0);
    json_t *o = post(b, "/v1/logs", logs);
    ck_assert_msg(json_object_get(o, "partialSuccess") == NULL, "logs refused in part");
    json_decref(o);
    o = post(b, "/v1/traces", spans);
    ck_assert_msg(json_object_get(o, "partialSuccess") == NULL, "spans refused in part");
    json_decref(o);
    free(logs);
    free(spans);
}

/* OTLP protobuf over gRPC: one log whose body and attribute carry the secrets. */
static void send_grpc(const ts_proc_t *b, long long ts)
{
    ts_otlp_log_t log = {.time_ns = (uint64_t)ts,
                         .severity = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_WARN,
                         .body = SECRETS,
                         .attr_key = "note",
                         .attr_value = SECRETS};
    size_t n;
    uint8_t *msg = ts_otlp_logs_request("grpc", &log, 1, &n);
    ts_grpc_req_t call = {TS_GRPC_LOGS, TS_INGEST_KEY, NULL, 0};
    ts_grpc_resp_t r;
    ck_assert_int_eq(ts_grpc_call(b->otlp_grpc_port, &call, msg, n, 10000, &r), 0);
    ck_assert_msg(r.grpc_status == 0, "grpc-status %d: %s", r.grpc_status, r.message);
    ts_grpc_resp_free(&r);
    free(msg);
}

/* How many stored rows of `table` hold `needle` anywhere (every column, as JSON text). */
static long rows_with(PGconn *c, const char *table, const char *needle)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s t WHERE strpos(row_to_json(t)::text, $1) > 0", table);
    const char *params[1] = {needle};
    PGresult *res = PQexecParams(c, sql, 1, NULL, params, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    long n = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

static void send_all(const ts_proc_t *b, const char *trace, long long ts)
{
    send_native(b, trace, ts, 1);
    send_otlp_json(b, trace, ts);
    send_grpc(b, ts);
}

START_TEST(secrets_redacted_before_storage)
{
    char trace[33];
    ts_hex(trace, 32);
    long long ts = now_ns() - 1000000000LL;
    send_all(&on, trace, ts);
    PGconn *c = ts_pg(db_on);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM logs"), 3);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM spans"), 2);
    for (size_t i = 0; i < sizeof(secrets) / sizeof(*secrets); i++) {
        ck_assert_msg(rows_with(c, "logs", secrets[i]) == 0, "a log still holds %s", secrets[i]);
        ck_assert_msg(rows_with(c, "spans", secrets[i]) == 0, "a span still holds %s", secrets[i]);
        ck_assert_msg(rows_with(c, "resources", secrets[i]) == 0, "a resource still holds %s", secrets[i]);
    }
    /* each stored field kept its text around the markers, and each format went through redaction */
    ck_assert_int_eq(rows_with(c, "logs", "[REDACTED:card]"), 3);
    ck_assert_int_eq(rows_with(c, "logs", "Bearer [REDACTED:token]"), 3);
    ck_assert_int_eq(rows_with(c, "spans", "password=[REDACTED:secret]"), 2);
    ck_assert_int_eq(
        ts_pg_long(c, "SELECT count(*) FROM logs WHERE stack_trace LIKE 'at pay(card [REDACTED:card]%'"), 2);
    ck_assert_int_eq(
        ts_pg_long(c, "SELECT count(*) FROM logs WHERE attributes->>'password' = '[REDACTED:secret]'"), 1);
    ck_assert_int_eq(
        ts_pg_long(c, "SELECT count(*) FROM spans WHERE status_message LIKE 'card [REDACTED:card]%' AND "
                      "events->0->'attributes'->>'exception.message' LIKE 'card [REDACTED:card]%'"),
        2);
    /* identities are computed on the redacted form: the same records again are duplicates */
    send_native(&on, trace, ts, 0);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM logs"), 3);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM spans"), 2);
    PQfinish(c);
}
END_TEST

START_TEST(secrets_stored_as_sent_when_off)
{
    char trace[33];
    ts_hex(trace, 32);
    send_all(&off, trace, now_ns() - 1000000000LL);
    PGconn *c = ts_pg(db_off);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM logs"), 3);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM spans"), 2);
    for (size_t i = 0; i < sizeof(secrets) / sizeof(*secrets); i++) {
        ck_assert_msg(rows_with(c, "logs", secrets[i]) == 3, "%s not kept in every log", secrets[i]);
        ck_assert_msg(rows_with(c, "spans", secrets[i]) == 2, "%s not kept in every span", secrets[i]);
    }
    ck_assert_int_eq(rows_with(c, "resources", PASSWORD), 1);
    ck_assert_int_eq(rows_with(c, "logs", "[REDACTED:"), 0);
    ck_assert_int_eq(rows_with(c, "spans", "[REDACTED:"), 0);
    PQfinish(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("redact_ingest");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, secrets_redacted_before_storage);
    tcase_add_test(tc, secrets_stored_as_sent_when_off);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
