/* Real OpenTelemetry clients: the official OpenTelemetry JS exporters (tests/otel/send.mjs, pinned in
 * tests/otel/package-lock.json) send one failing checkout -> payment trace, its logs and two metric
 * collections to a real backend over OTLP/HTTP JSON, OTLP/HTTP protobuf and OTLP/gRPC, gzip on, with
 * nothing configured but the endpoint (the exporters append /v1/traces etc. themselves) and a key
 * header. Checked in PostgreSQL: every span stored once with its exception event and typed attributes,
 * every log once (the ERROR one with its stack trace, the map-bodied one), both metric collections,
 * and the failing trace turned into an incident with a report naming payment "POST /charge". The same
 * records sent through two transports are stored once.
 *
 * The backend is given OTLP_HTTP_PORT and OTLP_GRPC_PORT on free ports. Until it listens on them, the
 * HTTP cases use BACKEND_PORT (today's /v1 routes) and the gRPC cases are skipped with a message.
 * The whole program is skipped (exit 0, with a message) when Node.js 20+ or tests/otel/node_modules
 * is missing (the message says what to run): scripts/test installs the modules with `npm ci` when
 * Node.js 20+ and npm are there. */
#include "ts.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SEND_TIMEOUT_S "90"   /* one send.mjs run: 3 exports of at most 10 s each, plus retries */
#define REPORT_WAIT_S 60      /* debounce (quiet 500 ms) + analysis + the fake LLM */
#define SEND_OUTPUT_MAX 65536 /* send.mjs prints one JSON line of a few kB */

static char *db_url;
static char prefix[64];
static ts_proc_t backend, pipeline, llm;
static int otlp_http_port, otlp_grpc_port;
/* putenv() keeps pointers into these in the children: they must live as long as the test */
static char llm_url_env[96];

/* ---------------------------------------------------------------- stack */

static void setup(void)
{
    char suffix[9];
    ts_hex(suffix, 8);
    snprintf(prefix, sizeof(prefix), "t:%s:", suffix);
    db_url = ts_create_database("otelclients");
    /* ports picked by ts.c: one taken before the backend binds it is picked anew */
    const char *benv[] = {"DEBOUNCE_QUIET_MS=500", "DEBOUNCE_MAX_MS=3000", NULL};
    ck_assert_int_eq(ts_start_backend_otlp(&backend, db_url, prefix, benv, TS_FREE_PORT, TS_FREE_PORT), 0);
    otlp_http_port = backend.otlp_http_port;
    otlp_grpc_port = backend.otlp_grpc_port;
    const char *lenv[] = {"FAKE_LLM_MODE=normal", NULL};
    ck_assert_int_eq(ts_start(&llm, "fake-services/fake-llm", "FAKE_LLM_PORT", db_url, prefix, lenv), 0);
    snprintf(llm_url_env, sizeof(llm_url_env), "LLM_BASE_URL=%s/v1", llm.url);
    const char *penv[] = {llm_url_env, "LLM_MODEL=fake-llm", "LLM_TIMEOUT_MS=5000", NULL};
    ck_assert_int_eq(ts_start_pipeline(&pipeline, db_url, prefix, penv), 0);
}

static void teardown(void)
{
    ts_stop(&pipeline, SIGTERM);
    ts_stop(&llm, SIGTERM);
    ts_stop(&backend, SIGTERM);
    free(db_url);
}

/* 1 when something accepts TCP connections on 127.0.0.1:port. */
static int listening(int port)
{
    int fd = ts_connect(port);
    if (fd >= 0) close(fd);
    return fd >= 0;
}

typedef enum { TR_HTTP_JSON, TR_HTTP_PROTOBUF, TR_GRPC } transport_t;

static const char *transport_arg(transport_t t)
{
    switch (t) {
    case TR_HTTP_JSON:
        return "http";
    case TR_HTTP_PROTOBUF:
        return "proto";
    case TR_GRPC:
        return "grpc";
    }
    return "?";
}

/* The endpoint an application would configure (OTEL_EXPORTER_OTLP_ENDPOINT) for transport `t`, or 0
 * when the backend does not serve that transport yet (the caller skips). */
static int endpoint_for(transport_t t, char *out, size_t n)
{
    if (t == TR_GRPC) {
        if (!listening(otlp_grpc_port)) return 0;
        snprintf(out, n, "http://127.0.0.1:%d", otlp_grpc_port);
        return 1;
    }
    if (listening(otlp_http_port))
        snprintf(out, n, "http://127.0.0.1:%d", otlp_http_port);
    else {
        fprintf(stderr,
                "test_otel_clients: no listener on OTLP_HTTP_PORT yet: OTLP/HTTP through BACKEND_PORT\n");
        snprintf(out, n, "%s", backend.url);
    }
    return 1;
}

/* ---------------------------------------------------------------- the client */

typedef struct {
    json_t *root;      /* send.mjs's answer; owned */
    const char *trace; /* borrowed from root */
    const char *run;
    long long base_ms;
} sent_t;

/* Runs tests/otel/send.mjs once and parses the JSON line it prints. Returns its exit status (0 when
 * every export succeeded); on 0 `out` holds the answer (free with sent_free()). The key goes in
 * x-api-key for HTTP JSON and in Authorization: Bearer (gRPC: metadata) otherwise, so both forms are
 * exercised. */
static int send_otel(transport_t t, int gzip, const char *run_id, long long base_ms, sent_t *out)
{
    char endpoint[96], cmd[1024];
    memset(out, 0, sizeof(*out));
    if (!endpoint_for(t, endpoint, sizeof(endpoint))) return -1;
    snprintf(cmd, sizeof(cmd),
             "timeout " SEND_TIMEOUT_S " node '%s/tests/otel/send.mjs' --transport %s --endpoint %s --key %s "
             "--auth %s%s --run-id %s --base-time-ms %lld",
             ts_env("PS_SOURCE_DIR"), transport_arg(t), endpoint, TS_INGEST_KEY,
             t == TR_HTTP_JSON ? "x-api-key" : "bearer", gzip ? " --gzip" : "", run_id, base_ms);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char *buf = calloc(1, SEND_OUTPUT_MAX);
    size_t n = fread(buf, 1, SEND_OUTPUT_MAX - 1, p);
    int st = pclose(p);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    if (rc == 0) {
        json_error_t e;
        out->root = json_loadb(buf, n, 0, &e);
        ck_assert_msg(out->root != NULL, "send.mjs printed no JSON: %s (%s)", buf, e.text);
        out->trace = json_string_value(json_object_get(out->root, "trace_id"));
        out->run = json_string_value(json_object_get(out->root, "run_id"));
        out->base_ms = json_integer_value(json_object_get(out->root, "base_time_ms"));
        ck_assert_msg(out->trace && strlen(out->trace) == 32, "%s", buf);
    }
    free(buf);
    return rc;
}

static void sent_free(sent_t *s)
{
    json_decref(s->root);
    memset(s, 0, sizeof(*s));
}

static const char *span_id(const sent_t *s, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(s->root, "spans"), i), "span_id"));
}

/* ---------------------------------------------------------------- PostgreSQL */

/* First cell of `sql` with up to two text parameters, as a malloc'd string ("" for NULL). */
static char *pg_text(PGconn *c, const char *sql, const char *p1, const char *p2)
{
    const char *params[] = {p1, p2};
    PGresult *r = PQexecParams(c, sql, p2 ? 2 : p1 ? 1 : 0, NULL, params, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    char *v = strdup(PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return v;
}

static long pg_count(PGconn *c, const char *sql, const char *p1, const char *p2)
{
    char *v = pg_text(c, sql, p1, p2);
    long n = strtol(v, NULL, 10);
    free(v);
    return n;
}

static void expect_text(PGconn *c, const char *what, const char *sql, const char *p1, const char *want)
{
    char *v = pg_text(c, sql, p1, NULL);
    ck_assert_msg(strcmp(v, want) == 0, "%s: got '%s', want '%s'", what, v, want);
    free(v);
}

/* The latest report of the incident holding `trace`, as {report, evidence}, or NULL after `seconds`. */
static json_t *wait_report(PGconn *c, const char *trace, int seconds)
{
    for (int i = 0; i < seconds * 5; i++) {
        char *v =
            pg_text(c,
                    "SELECT json_build_object('report', report, 'evidence', evidence)::text FROM analyses a "
                    "JOIN incident_traces t ON t.incident_id = a.incident_id WHERE t.trace_id = $1 "
                    "ORDER BY a.id DESC LIMIT 1",
                    trace, NULL);
        json_t *o = *v ? json_loads(v, 0, NULL) : NULL;
        free(v);
        if (o) return o;
        usleep(200 * 1000);
    }
    return NULL;
}

/* ---------------------------------------------------------------- what must be stored */

static void expect_spans(PGconn *c, const sent_t *s)
{
    const char *t = s->trace;
    ck_assert_int_eq(pg_count(c, "SELECT count(*) FROM spans WHERE trace_id = $1", t, NULL), 3);
    for (size_t i = 0; i < 3; i++)
        ck_assert_msg(pg_count(c, "SELECT count(*) FROM spans WHERE trace_id = $1 AND span_id = $2", t,
                               span_id(s, i)) == 1,
                      "span %s stored once", span_id(s, i));
    const char *root = span_id(s, 0), *client = span_id(s, 1), *failing = span_id(s, 2);
    ck_assert_int_eq(pg_count(c,
                              "SELECT count(*) FROM spans WHERE trace_id = $1 AND span_id = $2 AND "
                              "parent_span_id IS NULL AND service = 'checkout' AND name = 'POST /checkout' "
                              "AND kind = 'SERVER'",
                              t, root),
                     1);
    ck_assert_int_eq(pg_count(c,
                              "SELECT count(*) FROM spans WHERE trace_id = $1 AND parent_span_id = $2 AND "
                              "service = 'checkout' AND kind = 'CLIENT' AND status = 2",
                              t, root),
                     1);
    ck_assert_int_eq(pg_count(c,
                              "SELECT count(*) FROM spans WHERE trace_id = $1 AND parent_span_id = $2 AND "
                              "service = 'payment' AND name = 'POST /charge' AND status = 2 AND "
                              "status_message = 'card declined by issuer'",
                              t, client),
                     1);
    /* the exception event with type, message and the whole stack trace */
    ck_assert_msg(pg_count(c,
                           "SELECT count(*) FROM spans WHERE trace_id = $1 AND span_id = $2 AND "
                           "events::text LIKE '%\"exception\"%' AND events::text LIKE '%CardDeclinedError%' "
                           "AND events::text LIKE '%card declined by issuer (code 51)%' AND "
                           "events::text LIKE '%processPayment (/srv/payment/src/payment.js:17:5)%'",
                           t, failing) == 1,
                  "exception event of %s", failing);
    /* every AnyValue type of the attributes keeps its JSON type */
    ck_assert_msg(pg_count(c,
                           "SELECT count(*) FROM spans WHERE trace_id = $1 AND span_id = $2 AND "
                           "attributes->>'ps.run_id' IS NOT NULL AND "
                           "jsonb_typeof(attributes->'http.response.status_code') = 'number' AND "
                           "(attributes->>'ps.ratio')::float8 = 0.25 AND "
                           "attributes->'ps.retried' = 'false'::jsonb AND "
                           "attributes->'ps.tags' = '[\"alpha\",\"beta\"]'::jsonb AND "
                           "attributes->'ps.attempts' = '[1,2,3]'::jsonb",
                           t, root) == 1,
                  "typed attributes of %s", root);
}

static void expect_logs(PGconn *c, const sent_t *s)
{
    const char *t = s->trace, *failing = span_id(s, 2);
    ck_assert_int_eq(pg_count(c, "SELECT count(*) FROM logs WHERE trace_id = $1", t, NULL), 3);
    ck_assert_int_eq(pg_count(c,
                              "SELECT count(*) FROM logs WHERE trace_id = $1 AND span_id = $2 AND "
                              "service = 'checkout' AND severity = 3 AND message LIKE 'checkout started%'",
                              t, span_id(s, 0)),
                     1);
    ck_assert_msg(pg_count(c,
                           "SELECT count(*) FROM logs WHERE trace_id = $1 AND span_id = $2 AND "
                           "service = 'payment' AND severity = 5 AND message LIKE 'payment failed:%' AND "
                           "coalesce(stack_trace, '') || attributes::text LIKE '%payment.js:17:5%'",
                           t, failing) == 1,
                  "ERROR log with its stack trace");
    /* the body is a map (kvlist): its fields are kept, not dropped or refused */
    ck_assert_msg(pg_count(c,
                           "SELECT count(*) FROM logs WHERE trace_id = $1 AND span_id = $2 AND "
                           "service = 'payment' AND severity = 3 AND "
                           "message || attributes::text LIKE '%payment_declined%' AND "
                           "message || attributes::text LIKE '%42.5%'",
                           t, failing) == 1,
                  "map-bodied log");
}

static void expect_metrics(PGconn *c, const sent_t *s)
{
    const char *run = s->run;
    const char *series = "SELECT string_agg(value::text, ',' ORDER BY ts_ns) FROM metric_points WHERE "
                         "service = 'checkout' AND labels->>'ps.run_id' = $1 AND name = ";
    char sql[512];
    /* two collections of a cumulative monotonic counter, an up-down counter and a gauge */
    snprintf(sql, sizeof(sql), "%s'orders_total'", series);
    expect_text(c, "orders_total", sql, run, "3,7");
    snprintf(sql, sizeof(sql), "%s'inflight_requests'", series);
    expect_text(c, "inflight_requests", sql, run, "2,1");
    snprintf(sql, sizeof(sql), "%s'queue_depth'", series);
    expect_text(c, "queue_depth", sql, run, "5,9");
    /* the histogram: both collections, their sums (290 then 297) among the stored points */
    ck_assert_int_eq(
        pg_count(c,
                 "SELECT count(DISTINCT ts_ns) FROM metric_points WHERE labels->>'ps.run_id' = $1 "
                 "AND name LIKE 'request_duration_ms%'",
                 run, NULL),
        2);
    ck_assert_int_eq(
        pg_count(c,
                 "SELECT count(*) FROM metric_points WHERE labels->>'ps.run_id' = $1 AND "
                 "name = 'request_duration_ms' AND kind = 2 AND (hist->>'sum')::float8 IN (290, 297) "
                 "AND jsonb_array_length(hist->'counts') = jsonb_array_length(hist->'bounds') + 1",
                 run, NULL),
        2);
    /* the collection times are the ones sent (pinned by send.mjs: base + 1 s, base + 2 s) */
    char want[64];
    snprintf(want, sizeof(want), "%lld000000,%lld000000", s->base_ms + 1000, s->base_ms + 2000);
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(ts_ns::text, ',' ORDER BY ts_ns) FROM metric_points WHERE "
             "labels->>'ps.run_id' = $1 AND name = 'orders_total'");
    expect_text(c, "orders_total times", sql, run, want);
    /* the cumulative counter is analysed as a rate, never as an ever-growing level: (7 - 3) / 1 s */
    snprintf(sql, sizeof(sql),
             "SELECT string_agg(value::text, ',' ORDER BY ts_ns) FROM metric_values(%lld000000, %lld000000, "
             "ARRAY['checkout'], ARRAY['orders_total']) WHERE labels->>'ps.run_id' = $1",
             s->base_ms, s->base_ms + 3000);
    expect_text(c, "orders_total as analysed", sql, run, "4");
}

/* The failing trace becomes one incident whose report names payment "POST /charge" and the exception. */
static void expect_incident(PGconn *c, const sent_t *s)
{
    json_t *a = wait_report(c, s->trace, REPORT_WAIT_S);
    ck_assert_msg(a != NULL, "no report for trace %s", s->trace);
    json_t *rc = json_object_get(json_object_get(a, "report"), "root_cause");
    char *dump = json_dumps(rc, 0);
    ck_assert_msg(strcmp(json_string_value(json_object_get(rc, "service")) ?: "", "payment") == 0 &&
                      strcmp(json_string_value(json_object_get(rc, "operation")) ?: "", "POST /charge") == 0,
                  "root cause %s", dump);
    const char *exc = json_string_value(json_object_get(rc, "exception"));
    ck_assert_msg(exc && strstr(exc, "CardDeclinedError"), "exception in %s", dump);
    free(dump);
    json_decref(a);
    ck_assert_int_eq(
        pg_count(c,
                 "SELECT count(*) FROM incidents i JOIN incident_traces t ON t.incident_id = i.id "
                 "WHERE t.trace_id = $1 AND i.root_service = 'payment'",
                 s->trace, NULL),
        1);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One transport end to end: send, then everything stored once and the incident reported. */
static void one_transport(transport_t t, int gzip)
{
    char run[17];
    ts_hex(run, 16);
    sent_t s;
    int rc = send_otel(t, gzip, run, now_ms(), &s);
    if (rc == -1) {
        fprintf(stderr, "SKIPPED %s: the backend does not listen on OTLP_GRPC_PORT (%d) yet\n",
                transport_arg(t), otlp_grpc_port);
        return;
    }
    ck_assert_msg(rc == 0, "send.mjs --transport %s%s failed (exit %d; its stderr is above)",
                  transport_arg(t), gzip ? " --gzip" : "", rc);
    PGconn *c = ts_pg(db_url);
    expect_spans(c, &s);
    expect_logs(c, &s);
    expect_metrics(c, &s);
    expect_incident(c, &s);
    PQfinish(c);
    sent_free(&s);
}

/* ---------------------------------------------------------------- tests */

/* Today's path (OTLP/HTTP JSON, uncompressed): the harness's own sanity check. */
START_TEST(http_json_plain)
{
    one_transport(TR_HTTP_JSON, 0);
}
END_TEST

START_TEST(http_json_gzip)
{
    one_transport(TR_HTTP_JSON, 1);
}
END_TEST

START_TEST(http_protobuf_gzip)
{
    one_transport(TR_HTTP_PROTOBUF, 1);
}
END_TEST

START_TEST(grpc_gzip)
{
    one_transport(TR_GRPC, 1);
}
END_TEST

/* The same records (same run id and clock: same ids, times and content) through every transport the
 * backend serves (HTTP JSON uncompressed, protobuf and gRPC with gzip): stored once, one incident, one
 * report. */
START_TEST(same_records_through_two_transports_stored_once)
{
    char run[17];
    ts_hex(run, 16);
    long long base = now_ms();
    const transport_t order[] = {TR_HTTP_JSON, TR_HTTP_PROTOBUF, TR_GRPC};
    sent_t first = {0};
    int sent = 0;
    PGconn *c = ts_pg(db_url);
    for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++) {
        sent_t s;
        int gzip = order[i] != TR_HTTP_JSON; /* JSON plain, the others compressed: every decoder path */
        int rc = send_otel(order[i], gzip, run, base, &s);
        if (rc == -1) {
            fprintf(stderr, "SKIPPED the %s leg: no listener on OTLP_GRPC_PORT yet\n",
                    transport_arg(order[i]));
            continue;
        }
        ck_assert_msg(rc == 0, "send.mjs --transport %s%s failed (exit %d)", transport_arg(order[i]),
                      gzip ? " --gzip" : "", rc);
        if (!first.root)
            first = s;
        else {
            ck_assert_str_eq(s.trace, first.trace);
            sent_free(&s);
        }
        sent++;
        expect_spans(c, &first);
        expect_logs(c, &first);
        expect_metrics(c, &first);
    }
    ck_assert_int_ge(sent, 2);
    expect_incident(c, &first);
    /* give a second (wrong) trigger time to be analysed, then: one incident, one analysis */
    sleep(3);
    ck_assert_int_eq(
        pg_count(c, "SELECT count(*) FROM incident_traces WHERE trace_id = $1", first.trace, NULL), 1);
    ck_assert_int_eq(pg_count(c, "SELECT count(*) FROM analyses WHERE trace_id = $1", first.trace, NULL), 1);
    PQfinish(c);
    sent_free(&first);
}
END_TEST

/* ---------------------------------------------------------------- main */

/* 1 when node and tests/otel's npm packages are there: node first, since the packages need it. The
 * packages are looked for where send.mjs is run from: PS_SOURCE_DIR's tests/otel (scripts/test installs
 * them there), never another checkout's (a git worktree has its own, possibly other, package-lock.json). */
static int clients_installed(void)
{
    const char *src = getenv("PS_SOURCE_DIR");
    if (!src) return 1; /* ts_env() will skip with its own message */
    if (system(
            "node -e 'process.exit(+process.versions.node.split(\".\")[0] >= 20 ? 0 : 1)' >/dev/null 2>&1") !=
        0) {
        fprintf(stderr, "test_otel_clients SKIPPED: Node.js 20+ is not installed\n");
        return 0;
    }
    char path[512];
    snprintf(path, sizeof(path),
             "%s/tests/otel/node_modules/@opentelemetry/exporter-trace-otlp-grpc/package.json", src);
    struct stat st;
    if (stat(path, &st) != 0) {
        int npm = system("command -v npm >/dev/null 2>&1") == 0;
        fprintf(
            stderr,
            "test_otel_clients SKIPPED: %s is missing: %srun `cd '%s/tests/otel' && npm ci` (scripts/test "
            "does it when Node.js 20+ and npm are installed)\n",
            path, npm ? "" : "install npm, then ", src);
        return 0;
    }
    return 1;
}

int main(void)
{
    if (!clients_installed()) return 0;
    Suite *s = suite_create("otel_clients");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, http_json_plain);
    tcase_add_test(tc, http_json_gzip);
    tcase_add_test(tc, http_protobuf_gzip);
    tcase_add_test(tc, grpc_gzip);
    tcase_add_test(tc, same_records_through_two_transports_stored_once);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
