/* OTLP/HTTP JSON (backend/ingest_otlp_json.c) without servers: the COPY rows of spans, logs and metric
 * points of every shape (columns looked up by name in ingest_batch_columns()), resources stored once,
 * AnyValue as plain JSON, partial success (a bad record rejected and counted, the others stored),
 * whole-body refusals (malformed JSON with its byte position, bad envelopes, 413), unknown fields
 * and snake_case names, free member order, nesting and string limits. */
#include "ingest_json.h"
#include "ingest_otlp_proto.h"
#include "ingest_record.h"

#include "ts.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRACE "5b8efff798038103d269b633813fc60c"
#define SPAN "eee19b7ec3c1b174"
#define T0 "1795357925000000000" /* 2026-11-22T14:32:05Z */

/* ---------------- helpers ---------------- */

static int parse_otlp(ingest_kind_t k, const char *body, ingest_batch_t *b, ingest_err_t *e)
{
    return ingest_json_otlp(k, body, strlen(body), 1000, 1 << 20, b, e);
}

/* Parses a body that must be accepted with `records` rows and no rejection; returns the COPY text
 * (caller frees). */
static char *rows_of(ingest_kind_t k, const char *body, size_t records)
{
    ingest_batch_t b;
    ingest_err_t e;
    int rc = parse_otlp(k, body, &b, &e);
    ck_assert_msg(rc == 0, "refused (%d %s: %s): %s", e.status, e.path, e.reason, body);
    ck_assert_msg(b.rejected == 0, "rejected %zu (%s: %s): %s", b.rejected, b.first_rejection.path,
                  b.first_rejection.reason, body);
    ck_assert_msg(b.records == records, "%zu records, expected %zu: %s", b.records, records, b.copy.data);
    char *s = strdup(b.copy.data ? b.copy.data : "");
    ingest_batch_dispose(&b);
    return s;
}

/* The whole body is refused with this status and path; the reason contains `why` (may be NULL). */
static void refused(ingest_kind_t k, const char *body, int status, const char *path, const char *why)
{
    ingest_batch_t b;
    ingest_err_t e;
    memset(&b, 0x5a, sizeof(b));
    int rc = parse_otlp(k, body, &b, &e);
    ck_assert_msg(rc == -1, "accepted: %s", body);
    ck_assert_msg(e.status == status && strcmp(e.path, path) == 0, "got %d '%s' (%s), expected %d '%s': %s",
                  e.status, e.path, e.reason, status, path, body);
    if (why) ck_assert_msg(strstr(e.reason, why), "reason '%s' lacks '%s'", e.reason, why);
    ck_assert_ptr_null(b.copy.data); /* nothing left to free */
    ck_assert_ptr_null(b.days);
    ck_assert_ptr_null(b.error_traces);
}

/* The body is accepted with `stored` records and exactly one rejected, for this path and reason. */
static void rejected_one(ingest_kind_t k, const char *body, size_t stored, const char *path, const char *why)
{
    ingest_batch_t b;
    ingest_err_t e;
    int rc = parse_otlp(k, body, &b, &e);
    ck_assert_msg(rc == 0, "refused (%d %s: %s): %s", e.status, e.path, e.reason, body);
    ck_assert_msg(b.rejected == 1 && b.records == stored, "%zu stored, %zu rejected: %s", b.records,
                  b.rejected, body);
    ck_assert_msg(b.first_rejection.status == 400 && strcmp(b.first_rejection.path, path) == 0,
                  "rejected at '%s' (%s), expected '%s': %s", b.first_rejection.path,
                  b.first_rejection.reason, path, body);
    if (why)
        ck_assert_msg(strstr(b.first_rejection.reason, why), "reason '%s' lacks '%s'",
                      b.first_rejection.reason, why);
    ingest_batch_dispose(&b);
}

/* Index of a column named in a comma-separated list. */
static int index_in(const char *list, const char *name)
{
    int i = 0;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, name, n) == 0) return i;
        p += len;
        while (*p == ',' || *p == ' ')
            p++;
        i++;
    }
    ck_abort_msg("no column %s in %s", name, list);
    return -1;
}

static char *cell(const char *copy, int row, ingest_kind_t k, const char *name)
{
    return ts_copy_column(copy, row, index_in(ingest_batch_columns(k), name));
}

static void cell_eq(const char *copy, int row, ingest_kind_t k, const char *name, const char *want)
{
    char *got = cell(copy, row, k, name);
    ck_assert_msg(strcmp(got, want) == 0, "row %d %s: '%s', expected '%s'", row, name, got, want);
    free(got);
}

/* The cell holds `bounds` read back as doubles between `head` and `tail` (however a double is
 * written: 50, 5e+01). */
static void hist_eq(const char *copy, int row, const char *head, const double *bounds, size_t n,
                    const char *tail)
{
    char *got = cell(copy, row, INGEST_METRICS, "hist");
    size_t h = strlen(head), t = strlen(tail), len = strlen(got);
    ck_assert_msg(len >= h + t && strncmp(got, head, h) == 0 && strcmp(got + len - t, tail) == 0,
                  "row %d hist: '%s', expected '%s...%s'", row, got, head, tail);
    char *p = got + h;
    for (size_t i = 0; i < n; i++) {
        char *end;
        double d = strtod(p, &end);
        ck_assert_msg(end != p && d == bounds[i], "row %d hist: '%s' bound %zu", row, got, i);
        p = end + (*end == ',');
    }
    ck_assert_msg(p == got + len - t, "row %d hist: '%s' has more bounds", row, got);
    free(got);
}

static void resource_eq(const char *copy, int row, const char *name, const char *want)
{
    char *got = ts_copy_column(copy, row, index_in(ingest_batch_resource_columns(), name));
    ck_assert_msg(strcmp(got, want) == 0, "resource %d %s: '%s', expected '%s'", row, name, got, want);
    free(got);
}

static size_t lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

static char *repeat(const char *unit, size_t n)
{
    size_t u = strlen(unit);
    char *s = malloc(u * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    return s;
}

/* A fixture file's bytes (NUL-terminated; *len without it). Caller frees. */
static char *fixture_bytes(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/tests/fixtures/otlp/%s", getenv("PS_SOURCE_DIR"), name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    char *s = calloc(1, 1 << 20);
    *len = fread(s, 1, (1 << 20) - 1, f);
    fclose(f);
    return s;
}

static char *fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/tests/fixtures/otlp/%s", getenv("PS_SOURCE_DIR"), name);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *s = calloc(1, 1 << 20);
    size_t n = fread(s, 1, (1 << 20) - 1, f);
    s[n] = '\0';
    fclose(f);
    return s;
}

#define RES "\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"pay\"}}]}"
#define OSPAN                                                                                                \
    "\"traceId\":\"" TRACE "\",\"spanId\":\"" SPAN "\",\"name\":\"n\",\"startTimeUnixNano\":\"" T0           \
    "\",\"endTimeUnixNano\":\"1795357925000000001\""
#define SPANS(x) "{\"resourceSpans\":[{" RES ",\"scopeSpans\":[{\"spans\":[" x "]}]}]}"
#define SPATH "resourceSpans[0].scopeSpans[0].spans[0]"
#define OLOG(x) "{\"resourceLogs\":[{" RES ",\"scopeLogs\":[{\"logRecords\":[" x "]}]}]}"
#define LPATH "resourceLogs[0].scopeLogs[0].logRecords[0]"
#define LTIME "\"timeUnixNano\":\"" T0 "\""
#define OMET(x) "{\"resourceMetrics\":[{" RES ",\"scopeMetrics\":[{\"metrics\":[" x "]}]}]}"
#define MPATH "resourceMetrics[0].scopeMetrics[0].metrics[0]"
#define ATTR(k, v) "{\"key\":\"" k "\",\"value\":" v "}"

/* ---------------- fixtures ---------------- */

START_TEST(fixture_traces)
{
    ingest_batch_t b;
    ingest_err_t e;
    char *t = fixture("traces.json");
    ck_assert_msg(parse_otlp(INGEST_SPANS, t, &b, &e) == 0, "%s %s", e.path, e.reason);
    ck_assert_int_eq(b.records, 3);
    ck_assert_int_eq(b.rejected, 0);
    ck_assert_int_eq(b.nerror_traces, 1);
    const char *c = b.copy.data;
    /* row 0: the ERROR server span; resource attributes live in the resource row, not the span's */
    cell_eq(c, 0, INGEST_SPANS, "parent_span_id", "\\N");
    cell_eq(c, 0, INGEST_SPANS, "service", "checkout");
    cell_eq(c, 0, INGEST_SPANS, "kind", "SERVER");
    cell_eq(c, 0, INGEST_SPANS, "status", "2");
    cell_eq(c, 0, INGEST_SPANS, "status_message", "payment failed");
    cell_eq(
        c, 0, INGEST_SPANS, "attributes",
        "{\"http.request.method\":\"POST\",\"http.response.status_code\":500,\"url.path\":\"/checkout\"}");
    cell_eq(c, 0, INGEST_SPANS, "scope_name", "io.opentelemetry.spring-webmvc-6.0");
    cell_eq(c, 0, INGEST_SPANS, "scope_version", "2.1.0");
    /* row 1: the exception event keeps type, message and the multi-line stack trace */
    cell_eq(c, 1, INGEST_SPANS, "kind", "INTERNAL");
    char *ev = cell(c, 1, INGEST_SPANS, "events");
    ck_assert_msg(strstr(ev, "\"name\":\"exception\""), "%s", ev);
    ck_assert_msg(strstr(ev, "\"time_ns\":1764000000239000000"), "%s", ev);
    ck_assert_msg(strstr(ev, "\"exception.type\":\"com.acme.payment.GatewayTimeoutException\""), "%s", ev);
    ck_assert_msg(strstr(ev, "\"exception.message\":\"card gateway timed out after 200 ms\""), "%s", ev);
    ck_assert_msg(strstr(ev, "CardGateway.java:88)\\\\n\\\\tat com.acme.payment.ChargeService"), "%s", ev);
    free(ev);
    cell_eq(c, 1, INGEST_SPANS, "attributes",
            "{\"payment.amount\":42.5,\"payment.retry\":true,\"payment.tags\":[\"card\",\"eu\"]}");
    /* row 2: base64 ids, another resource, no scope */
    cell_eq(c, 2, INGEST_SPANS, "trace_id", TRACE);
    cell_eq(c, 2, INGEST_SPANS, "span_id", "eee19b7ec3c1b176");
    cell_eq(c, 2, INGEST_SPANS, "parent_span_id", "eee19b7ec3c1b174");
    cell_eq(c, 2, INGEST_SPANS, "service", "inventory");
    cell_eq(c, 2, INGEST_SPANS, "kind", "CLIENT");
    cell_eq(c, 2, INGEST_SPANS, "status", "0");
    cell_eq(c, 2, INGEST_SPANS, "status_message", "\\N");
    cell_eq(c, 2, INGEST_SPANS, "scope_name", "\\N");
    /* two resources, each stored once and referred to by hash */
    ck_assert_int_eq(b.nresources, 2);
    ck_assert_int_eq(lines(b.resources.data), 2);
    resource_eq(b.resources.data, 0, "service", "checkout");
    resource_eq(b.resources.data, 0, "attributes",
                "{\"host.cpu.count\":8,\"service.name\":\"checkout\",\"service.version\":\"1.4.2\"}");
    resource_eq(b.resources.data, 1, "service", "inventory");
    char *h0 = cell(c, 0, INGEST_SPANS, "resource_hash"), *h1 = cell(c, 1, INGEST_SPANS, "resource_hash"),
         *h2 = cell(c, 2, INGEST_SPANS, "resource_hash");
    ck_assert_str_eq(h0, h1);
    ck_assert_str_ne(h0, h2);
    ck_assert_str_eq(h0, b.resource_hashes[0]);
    free(h0), free(h1), free(h2);
    ingest_batch_dispose(&b);
    free(t);
}
END_TEST

START_TEST(fixture_logs)
{
    ingest_batch_t b;
    ingest_err_t e;
    char *t = fixture("logs.json");
    ck_assert_int_eq(parse_otlp(INGEST_LOGS, t, &b, &e), 0);
    ck_assert_int_eq(b.records, 2);
    ck_assert_int_eq(b.nerror_traces, 1);
    const char *c = b.copy.data;
    static const char *const l0[][2] = {
        {"ts_ns", "1764000000240000000"},
        {"service", "checkout"},
        {"level", "ERROR"},
        {"severity", "5"},
        {"message", "charge failed for order ord-1234"},
        {"trace_id", TRACE},
        {"span_id", "eee19b7ec3c1b175"},
        {"stack_trace", "com.acme.payment.GatewayTimeoutException: card gateway timed out\\n\\tat "
                        "com.acme.payment.CardGateway.charge(CardGateway.java:88)\\n"},
        /* the stack trace moved out of the attributes */
        {"attributes", "{\"exception.type\":\"com.acme.payment.GatewayTimeoutException\"}"},
        {"scope_name", "com.acme.checkout"},
        {"severity_number", "17"},
        {"observed_ns", "1764000000241000000"},
        {"body", "\\N"},
    };
    for (size_t i = 0; i < sizeof(l0) / sizeof(*l0); i++)
        cell_eq(c, 0, INGEST_LOGS, l0[i][0], l0[i][1]);
    /* timeUnixNano 0: the observed time is used; a kvlist body becomes JSON text and is kept as JSON */
    static const char *const l1[][2] = {
        {"ts_ns", "1764000000100000000"},
        {"level", "INFO"},
        {"severity", "3"},
        {"message", "{\"event\":\"cart loaded\",\"items\":3}"},
        {"body", "{\"event\":\"cart loaded\",\"items\":3}"},
        {"trace_id", "\\N"},
        {"span_id", "\\N"},
        {"stack_trace", "\\N"},
        {"attributes", "{}"},
        {"severity_number", "9"},
    };
    for (size_t i = 0; i < sizeof(l1) / sizeof(*l1); i++)
        cell_eq(c, 1, INGEST_LOGS, l1[i][0], l1[i][1]);
    ingest_batch_dispose(&b);
    free(t);
}
END_TEST

START_TEST(fixture_metrics)
{
    ingest_batch_t b;
    ingest_err_t e;
    char *t = fixture("metrics.json");
    ck_assert_int_eq(parse_otlp(INGEST_METRICS, t, &b, &e), 0);
    ck_assert_int_eq(b.records, 3); /* one row per data point, whatever its shape */
    const char *c = b.copy.data;
    static const struct {
        const char *name, *value, *labels, *kind, *temporality, *monotonic, *unit, *hist;
    } m[] = {
        {"process.cpu.utilization", "0.41999999999999998", "{}", "0", "0", "f", "1", "\\N"},
        {"http.server.requests", "9007199254740992", "{\"http.route\":\"/checkout\"}", "1", "2", "t", "\\N",
         "\\N"},
        {"http.server.duration", "10", "{\"http.route\":\"/checkout\"}", "2", "2", "f", "ms", NULL},
    };
    for (int r = 0; r < 3; r++) {
        cell_eq(c, r, INGEST_METRICS, "ts_ns", "1764000000000000000");
        cell_eq(c, r, INGEST_METRICS, "service", "checkout");
        cell_eq(c, r, INGEST_METRICS, "scope_name", "io.opentelemetry.runtime");
        cell_eq(c, r, INGEST_METRICS, "name", m[r].name);
        cell_eq(c, r, INGEST_METRICS, "value", m[r].value);
        cell_eq(c, r, INGEST_METRICS, "labels", m[r].labels);
        cell_eq(c, r, INGEST_METRICS, "kind", m[r].kind);
        cell_eq(c, r, INGEST_METRICS, "temporality", m[r].temporality);
        cell_eq(c, r, INGEST_METRICS, "monotonic", m[r].monotonic);
        cell_eq(c, r, INGEST_METRICS, "unit", m[r].unit);
        if (r < 2) cell_eq(c, r, INGEST_METRICS, "hist", m[r].hist);
    }
    static const double bounds[] = {50, 250};
    hist_eq(c, 2, "{\"count\":10,\"sum\":1234.5,\"bounds\":[", bounds, 2, "],\"counts\":[2,5,3]}");
    cell_eq(c, 2, INGEST_METRICS, "start_ns", "1763999940000000000");
    ingest_batch_dispose(&b);
    free(t);
}
END_TEST

/* The requests the OpenTelemetry JS exporters sent as OTLP/HTTP JSON and as protobuf for the same
 * records (tests/fixtures/otlp/README.md) give the same rows, byte for byte, and the same resources. */
START_TEST(json_and_protobuf_give_the_same_rows)
{
    static const struct {
        const char *json, *pb;
        ingest_kind_t kind;
        size_t records;
    } pairs[] = {{"traces.captured.json", "traces.pb", INGEST_SPANS, 3},
                 {"logs.captured.json", "logs.pb", INGEST_LOGS, 3},
                 {"metrics.captured.json", "metrics.pb", INGEST_METRICS, 4},
                 {"metrics-2.captured.json", "metrics-2.pb", INGEST_METRICS, 4}};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(*pairs); i++) {
        size_t jn, pn;
        char *json = fixture_bytes(pairs[i].json, &jn), *pb = fixture_bytes(pairs[i].pb, &pn);
        ingest_batch_t j, p;
        ingest_err_t e;
        ck_assert_msg(ingest_json_otlp(pairs[i].kind, json, jn, 1000, 1 << 20, &j, &e) == 0, "%s: %s %s",
                      pairs[i].json, e.path, e.reason);
        ck_assert_msg(ingest_otlp_proto(pairs[i].kind, (const uint8_t *)pb, pn, 1000, 1 << 20, &p, &e) == 0,
                      "%s: %s %s", pairs[i].pb, e.path, e.reason);
        ck_assert_msg(j.records == pairs[i].records && j.rejected == 0, "%s: %zu records, %zu rejected (%s)",
                      pairs[i].json, j.records, j.rejected, j.first_rejection.reason);
        ck_assert_msg(strcmp(j.copy.data, p.copy.data) == 0, "%s rows differ:\njson:\n%s\nprotobuf:\n%s",
                      pairs[i].json, j.copy.data, p.copy.data);
        ck_assert_msg(strcmp(j.resources.data, p.resources.data) == 0,
                      "%s resources differ:\njson:\n%s\nprotobuf:\n%s", pairs[i].json, j.resources.data,
                      p.resources.data);
        ck_assert_int_eq(j.nerror_traces, p.nerror_traces);
        ck_assert_int_eq(j.ndays, p.ndays);
        ingest_batch_dispose(&j);
        ingest_batch_dispose(&p);
        free(json);
        free(pb);
    }
}
END_TEST

/* ---------------- spans ---------------- */

START_TEST(span_values)
{
    char *rows = rows_of(
        INGEST_SPANS,
        SPANS(
            "{" OSPAN ",\"kind\":\"SPAN_KIND_PRODUCER\",\"status\":{\"code\":\"STATUS_CODE_OK\"},"
            "\"attributes\":[" ATTR("s", "{\"stringValue\":\"a\\tb\"}") "," ATTR(
                "i",
                "{\"intValue\":\"-"
                "42\"}") "," ATTR("j", "{\"intValue\":7}") "," ATTR("d",
                                                                    "{\"doubleValue\":1.5}") "," ATTR("b", "{"
                                                                                                           "\"boolValue\":false}") "," ATTR("y",
                                                                                                                                            "{\"bytesValue\":\"AQI\"}") "," ATTR("arr",
                                                                                                                                                                                 "{\"arrayValue\":{"
                                                                                                                                                                                 "\"values\":[{"
                                                                                                                                                                                 "\"intValue\":"
                                                                                                                                                                                 "\"1\"},{"
                                                                                                                                                                                 "\"stringValue\":"
                                                                                                                                                                                 "\"x\"}]}}") "," ATTR("kv", "{\"kvlistValue\":{\"values\":[" ATTR("z", "{\"doubleValue\":2.5}") "]}}") "," ATTR("big", "{\"intValue\":"
                                                                                                                                                                                                                                                                                                        "\"18446744073709551616\""
                                                                                                                                                                                                                                                                                                        "}") "," ATTR("e", "{}") "," ATTR("nan",
                                                                                                                                                                                                                                                                                                                                          "{"
                                                                                                                                                                                                                                                                                                                                          "\"doubleValue\""
                                                                                                                                                                                                                                                                                                                                          ":\"NaN\"}") "]},"
                                                                                                                                                                                                                                                                                                                                                       "{" OSPAN
                                                                                                                                                                                                                                                                                                                                                       ",\"kind\":4,\"status\":{\"code\":1}},{" OSPAN
                                                                                                                                                                                                                                                                                                                                                       ",\"kind\":0,\"status\":{\"code\":0}}"),
        3);
    cell_eq(rows, 0, INGEST_SPANS, "service", "pay");
    cell_eq(rows, 0, INGEST_SPANS, "kind", "PRODUCER");
    cell_eq(rows, 0, INGEST_SPANS, "status", "1");
    /* AnyValue as plain JSON; bytes in padded standard base64; ints past 64 bits keep their digits */
    cell_eq(rows, 0, INGEST_SPANS, "attributes",
            "{\"arr\":[1,\"x\"],\"b\":false,\"big\":18446744073709551616,\"d\":1.5,\"e\":null,\"i\":-42,"
            "\"j\":7,\"kv\":{\"z\":2.5},\"nan\":\"NaN\",\"s\":\"a\\\\tb\",\"y\":\"AQI=\"}");
    cell_eq(rows, 1, INGEST_SPANS, "kind", "PRODUCER");
    cell_eq(rows, 1, INGEST_SPANS, "status", "1");
    cell_eq(rows, 2, INGEST_SPANS, "kind", "\\N"); /* SPAN_KIND_UNSPECIFIED */
    cell_eq(rows, 2, INGEST_SPANS, "status", "0");
    free(rows);
    /* no resource: unknown_service; base64 ids */
    rows =
        rows_of(INGEST_SPANS,
                "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"W47/95gDgQPSabYzgT/GDA==\","
                "\"spanId\":\"7uGbfsPBsXQ=\",\"name\":\"n\",\"startTimeUnixNano\":" T0
                ",\"endTimeUnixNano\":" T0 "}]}]}]}",
                1);
    cell_eq(rows, 0, INGEST_SPANS, "trace_id", TRACE);
    cell_eq(rows, 0, INGEST_SPANS, "span_id", SPAN);
    cell_eq(rows, 0, INGEST_SPANS, "service", "unknown_service");
    free(rows);
    /* an empty export is valid */
    free(rows_of(INGEST_SPANS, "{}", 0));
    free(rows_of(INGEST_SPANS, "{\"resourceSpans\":[]}", 0));
    free(rows_of(INGEST_SPANS, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[]}]}]}", 0));
}
END_TEST

START_TEST(span_otel_fields)
{
    char *rows = rows_of(
        INGEST_SPANS,
        "{\"resourceSpans\":[{" RES ",\"scopeSpans\":[{\"scope\":{\"name\":\"lib\",\"version\":\"1.0\","
        "\"attributes\":[]},\"spans\":[{" OSPAN ",\"traceState\":\"vendor=a\",\"flags\":257,"
        "\"droppedAttributesCount\":1,\"droppedEventsCount\":\"2\",\"droppedLinksCount\":3,"
        "\"events\":[{\"timeUnixNano\":\"" T0 "\",\"name\":\"retry\",\"attributes\":[" ATTR(
            "n",
            "{\"intValue\":\"2\"}") "],\"droppedAttributesCount\":4}],"
                                    "\"links\":[{\"traceId\":\"" TRACE "\",\"spanId\":\"eee19b7ec3c1b175\","
                                    "\"traceState\":\"x=1\",\"flags\":1,\"attributes\":[" ATTR(
                                        "l",
                                        "{\"boolValue\":true}") "]}]}]}],\"schemaUrl\":\"https://s/1\"}]}",
        1);
    cell_eq(rows, 0, INGEST_SPANS, "scope_name", "lib");
    cell_eq(rows, 0, INGEST_SPANS, "scope_version", "1.0");
    cell_eq(rows, 0, INGEST_SPANS, "trace_state", "vendor=a");
    cell_eq(rows, 0, INGEST_SPANS, "flags", "257");
    cell_eq(rows, 0, INGEST_SPANS, "dropped_attributes_count", "1");
    cell_eq(rows, 0, INGEST_SPANS, "dropped_events_count", "2");
    cell_eq(rows, 0, INGEST_SPANS, "dropped_links_count", "3");
    cell_eq(rows, 0, INGEST_SPANS, "events",
            "[{\"name\":\"retry\",\"time_ns\":" T0
            ",\"attributes\":{\"n\":2},\"dropped_attributes_count\":4}]");
    cell_eq(rows, 0, INGEST_SPANS, "links",
            "[{\"trace_id\":\"" TRACE
            "\",\"span_id\":\"eee19b7ec3c1b175\",\"trace_state\":\"x=1\",\"flags\":1,"
            "\"attributes\":{\"l\":true}}]");
    free(rows);
}
END_TEST

START_TEST(span_error_signals)
{
    ingest_batch_t b;
    ingest_err_t e;
    const char *body =
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
        "{\"traceId\":\"5b8efff798038103d269b633813fc601\",\"spanId\":\"" SPAN "\",\"name\":\"a\","
        "\"startTimeUnixNano\":" T0 ",\"endTimeUnixNano\":" T0 ",\"status\":{\"code\":2}},"
        "{\"traceId\":\"5b8efff798038103d269b633813fc602\",\"spanId\":\"" SPAN "\",\"name\":\"b\","
        "\"startTimeUnixNano\":" T0 ",\"endTimeUnixNano\":" T0 ",\"events\":[{\"name\":\"exception\","
        "\"timeUnixNano\":" T0 "}]},"
        "{\"traceId\":\"5b8efff798038103d269b633813fc603\",\"spanId\":\"" SPAN "\",\"name\":\"c\","
        "\"startTimeUnixNano\":" T0 ",\"endTimeUnixNano\":" T0 ",\"events\":[{\"name\":\"retry\","
        "\"timeUnixNano\":" T0 "}],\"status\":{\"code\":1}},"
        "{\"traceId\":\"5b8efff798038103d269b633813fc601\",\"spanId\":\"eee19b7ec3c1b175\",\"name\":\"d\","
        "\"startTimeUnixNano\":" T0 ",\"endTimeUnixNano\":" T0 ",\"status\":{\"code\":\"STATUS_CODE_ERROR\"}}"
        "]}]}]}";
    ck_assert_int_eq(parse_otlp(INGEST_SPANS, body, &b, &e), 0);
    ck_assert_int_eq(b.records, 4);
    ck_assert_int_eq(b.nerror_traces, 2);
    ck_assert_str_eq(b.error_traces[0], "5b8efff798038103d269b633813fc601");
    ck_assert_str_eq(b.error_traces[1], "5b8efff798038103d269b633813fc602");
    ingest_batch_dispose(&b);
}
END_TEST

/* A bad span is rejected and counted with the path of its field; the good span next to it is stored. */
START_TEST(span_rejections_name_the_path)
{
    static const struct {
        const char *span, *field, *why;
    } cases[] = {
        {"{" OSPAN ",\"traceId\":\"abc\"}", ".traceId", "expected 32 hex digits"},
        {"{" OSPAN ",\"spanId\":5}", ".spanId", "expected a string"},
        {"{" OSPAN ",\"parentSpanId\":\"xyz\"}", ".parentSpanId", "expected 16 hex digits"},
        {"{" OSPAN ",\"startTimeUnixNano\":\"12\"}", ".startTimeUnixNano", "outside the accepted range"},
        {"{" OSPAN ",\"endTimeUnixNano\":1.5}", ".endTimeUnixNano", "expected an integer"},
        {"{" OSPAN ",\"endTimeUnixNano\":\"1795357924000000000\"}", ".endTimeUnixNano", "is before"},
        {"{" OSPAN ",\"name\":\"\"}", ".name", "must not be empty"},
        {"{" OSPAN ",\"name\":3}", ".name", "expected a string"},
        {"{" OSPAN ",\"kind\":\"SPAN_KIND_SIDEWAYS\"}", ".kind", "unknown"},
        {"{" OSPAN ",\"flags\":-1}", ".flags", "expected an integer"},
        {"{" OSPAN ",\"status\":[]}", ".status", "expected an object"},
        {"{" OSPAN ",\"events\":[{\"timeUnixNano\":" T0 "}]}", ".events[0].name", "missing"},
        {"{" OSPAN ",\"links\":[{\"traceId\":\"" TRACE "\"}]}", ".links[0].spanId", "missing"},
        {"{" OSPAN ",\"attributes\":{\"a\":1}}", ".attributes", "expected an array of KeyValue"},
        {"{" OSPAN ",\"attributes\":[" ATTR("a", "{\"intValue\":\"x1\"}") "]}", ".attributes", "intValue"},
        {"{" OSPAN ",\"attributes\":[" ATTR("a", "{\"bytesValue\":\"!!\"}") "]}", ".attributes", "base64"},
        {"{\"spanId\":\"" SPAN "\"}", ".traceId", "missing"},
        {"3", "", "expected an object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char body[4096], path[256];
        snprintf(body, sizeof(body), SPANS("{" OSPAN "},%s"), cases[i].span);
        snprintf(path, sizeof(path), "resourceSpans[0].scopeSpans[0].spans[1]%s", cases[i].field);
        rejected_one(INGEST_SPANS, body, 1, path, cases[i].why);
    }
    /* paths count every level */
    rejected_one(INGEST_SPANS,
                 "{\"resourceSpans\":[{},{\"scopeSpans\":[{},{},{\"spans\":[{\"traceId\":\"" TRACE
                 "\"}]}]}]}",
                 0, "resourceSpans[1].scopeSpans[2].spans[0].spanId", "missing");
}
END_TEST

/* Partial success: rejected records are counted, the first reason kept, every good record stored. */
START_TEST(partial_success)
{
    ingest_batch_t b;
    ingest_err_t e;
    const char *body = SPANS("{" OSPAN "},{" OSPAN ",\"traceId\":\"nothex\"},{" OSPAN
                             ",\"spanId\":\"eee19b7ec3c1b175\"},{" OSPAN ",\"name\":\"\"}");
    ck_assert_int_eq(parse_otlp(INGEST_SPANS, body, &b, &e), 0);
    ck_assert_int_eq(b.records, 2);
    ck_assert_int_eq(b.rejected, 2);
    ck_assert_str_eq(b.first_rejection.path, "resourceSpans[0].scopeSpans[0].spans[1].traceId");
    ck_assert_int_eq(lines(b.copy.data), 2);
    cell_eq(b.copy.data, 1, INGEST_SPANS, "span_id", "eee19b7ec3c1b175");
    ingest_batch_dispose(&b);
    /* every record rejected: still an answer, with nothing to store */
    const char *all_bad = SPANS("{\"traceId\":1},{\"traceId\":2}");
    ck_assert_int_eq(parse_otlp(INGEST_SPANS, all_bad, &b, &e), 0);
    ck_assert_int_eq(b.records, 0);
    ck_assert_int_eq(b.rejected, 2);
    ingest_batch_dispose(&b);
    /* a bad resource rejects each of its records, not the other resources' */
    char svc[400];
    memset(svc, 'x', 300);
    svc[300] = '\0';
    char big[2048];
    snprintf(big, sizeof(big),
             "{\"resourceSpans\":[{\"resource\":{\"attributes\":[" ATTR(
                 "service.name", "{\"stringValue\":\"%s\"}") "]},\"scopeSpans\":[{\"spans\":[{" OSPAN
                                                             "},{" OSPAN "}]}]},{" RES
                                                             ",\"scopeSpans\":[{\"spans\":[{" OSPAN "}]}]}]}",
             svc);
    ck_assert_int_eq(parse_otlp(INGEST_SPANS, big, &b, &e), 0);
    ck_assert_int_eq(b.records, 1);
    ck_assert_int_eq(b.rejected, 2);
    ck_assert_str_eq(b.first_rejection.path, "resourceSpans[0].resource.attributes.service.name");
    ck_assert_int_eq(b.nresources, 1);
    ingest_batch_dispose(&b);
}
END_TEST

/* ---------------- whole-body refusals ---------------- */

START_TEST(body_refusals)
{
    static const struct {
        const char *body, *path, *why;
    } cases[] = {
        {"{\"resourceSpans\":{}}", "resourceSpans", "expected an array"},
        {"{\"resourceSpans\":[{\"scopeSpans\":{}}]}", "resourceSpans[0].scopeSpans", "expected an array"},
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":{}}]}]}", "resourceSpans[0].scopeSpans[0].spans",
         "expected an array"},
        {"{\"resourceSpans\":[3]}", "resourceSpans[0]", "expected an object"},
        {"[]", "", "expected a JSON object"},
        {"", "", "malformed JSON at byte 0"},
        {"{\"resourceSpans\":[}", "", "malformed JSON at byte 18"},
        {"{\"resourceSpans\":[]} x", "", "malformed JSON at byte 21"},
        {SPANS("{" OSPAN ",\"attributes\":[" ATTR("s", "{\"stringValue\":\"a\\u0000b\"}") "]}"), "",
         "\\u0000 is not allowed"},
        /* malformed JSON after good records: the whole body, not a rejection */
        {SPANS("{" OSPAN "},{" OSPAN ",\"name\":\"n\" \"x\"}"), "", "malformed JSON at byte"},
        {SPANS("{" OSPAN ",\"unknown\":[1,{\"a\":tru}]}"), "", "malformed JSON at byte"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
        refused(INGEST_SPANS, cases[i].body, 400, cases[i].path, cases[i].why);
}
END_TEST

START_TEST(batch_limits)
{
    ingest_batch_t b;
    ingest_err_t e;
    const char *three = SPANS("{" OSPAN "},{" OSPAN "},{" OSPAN "}");
    ck_assert_int_eq(ingest_json_otlp(INGEST_SPANS, three, strlen(three), 3, 1 << 20, &b, &e), 0);
    ingest_batch_dispose(&b);
    ck_assert_int_eq(ingest_json_otlp(INGEST_SPANS, three, strlen(three), 2, 1 << 20, &b, &e), -1);
    ck_assert_int_eq(e.status, 413);
    ck_assert_str_eq(e.path, "resourceSpans");
    ck_assert_int_eq(ingest_json_otlp(INGEST_SPANS, three, strlen(three), 3, 100, &b, &e), -1);
    ck_assert_int_eq(e.status, 413);
    /* rejected records count too: the cap bounds the work, not the rows */
    const char *bad = SPANS("{},{},{}");
    ck_assert_int_eq(ingest_json_otlp(INGEST_SPANS, bad, strlen(bad), 2, 1 << 20, &b, &e), -1);
    ck_assert_int_eq(e.status, 413);
    /* metric data points are the records: a histogram point is one */
    const char *h =
        OMET("{\"name\":\"h\",\"histogram\":{\"dataPoints\":[{\"timeUnixNano\":\"" T0 "\",\"count\":\"1\","
             "\"bucketCounts\":[\"1\",\"0\"],\"explicitBounds\":[1]},{\"timeUnixNano\":\"" T0
             "\"}],\"aggregationTemporality\":2}}");
    ck_assert_int_eq(ingest_json_otlp(INGEST_METRICS, h, strlen(h), 2, 1 << 20, &b, &e), 0);
    ck_assert_int_eq(b.records, 2);
    ingest_batch_dispose(&b);
    ck_assert_int_eq(ingest_json_otlp(INGEST_METRICS, h, strlen(h), 1, 1 << 20, &b, &e), -1);
    ck_assert_int_eq(e.status, 413);
    ck_assert_str_eq(e.path, "resourceMetrics");
}
END_TEST

/* ---------------- the JSON mapping ---------------- */

START_TEST(unknown_fields_snake_case_and_member_order)
{
    /* unknown fields at every level are skipped, whatever their value */
    char *a =
        rows_of(INGEST_SPANS,
                "{\"x\":{\"y\":[1,2,{\"z\":null}]},\"resourceSpans\":[{\"u\":1,\"resource\":{\"attributes\":["
                "{\"key\":\"service.name\",\"u\":[],\"value\":{\"stringValue\":\"pay\",\"u\":true}}],"
                "\"entityRefs\":[]},\"scopeSpans\":[{\"u\":\"v\",\"spans\":[{" OSPAN
                ",\"u\":{\"deep\":[[[]]]}}]}]}]}",
                1);
    /* snake_case names (the proto's) are the same fields */
    char *b =
        rows_of(INGEST_SPANS,
                "{\"resource_spans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{"
                "\"string_value\":\"pay\"}}]},\"scope_spans\":[{\"spans\":[{\"trace_id\":\"" TRACE
                "\",\"span_id\":\"" SPAN "\",\"name\":\"n\",\"start_time_unix_nano\":\"" T0
                "\",\"end_time_unix_nano\":\"1795357925000000001\"}]}]}]}",
                1);
    /* members in any order: scopes before the resource, spans before the scope, value before key */
    char *c = rows_of(INGEST_SPANS,
                      "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{" OSPAN
                      "}]}],\"resource\":{\"attributes\":[{\"value\":{\"stringValue\":\"pay\"},\"key\":"
                      "\"service.name\"}]}}]}",
                      1);
    ck_assert_str_eq(a, b);
    ck_assert_str_eq(a, c);
    free(a), free(b), free(c);
    char *d = rows_of(
        INGEST_SPANS,
        "{\"resourceSpans\":[{" RES ",\"scopeSpans\":[{\"spans\":[{" OSPAN
        "}],\"scope\":{\"name\":\"late\"}}],\"schemaUrl\":\"https://opentelemetry.io/schemas/1.21.0\"}]}",
        1);
    cell_eq(d, 0, INGEST_SPANS, "scope_name", "late");
    free(d);
    /* the schema URL is part of the resource even when it comes after the scopes */
    ingest_batch_t bt;
    ingest_err_t e;
    const char *s = "{\"resourceSpans\":[{" RES ",\"scopeSpans\":[{\"spans\":[{" OSPAN
                    "}]}],\"schemaUrl\":\"https://s/1\"}]}";
    ck_assert_int_eq(parse_otlp(INGEST_SPANS, s, &bt, &e), 0);
    resource_eq(bt.resources.data, 0, "schema_url", "https://s/1");
    ingest_batch_dispose(&bt);
    /* enums by name, 64-bit integers as numbers or strings, null as absent */
    char *f =
        rows_of(INGEST_SPANS,
                SPANS("{\"traceId\":\"" TRACE "\",\"spanId\":\"" SPAN "\",\"parentSpanId\":null,\"name\":"
                      "\"n\",\"kind\":\"SERVER\",\"startTimeUnixNano\":" T0 ",\"endTimeUnixNano\":\"" T0
                      "\",\"status\":{\"code\":\"ERROR\",\"message\":null},\"flags\":\"1\"}"),
                1);
    cell_eq(f, 0, INGEST_SPANS, "kind", "SERVER");
    cell_eq(f, 0, INGEST_SPANS, "status", "2");
    cell_eq(f, 0, INGEST_SPANS, "flags", "1");
    free(f);
}
END_TEST

START_TEST(nesting_is_bounded)
{
    /* kvlists nested to the record layer's depth are stored; one more level is rejected */
    char *inner = strdup("{\"stringValue\":\"x\"}");
    for (int d = 2; d <= INGEST_MAX_DEPTH + 3; d++) {
        char *next, *body;
        ck_assert_int_ge(
            asprintf(&next, "{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":%s}]}}", inner), 0);
        free(inner);
        inner = next;
        ck_assert_int_ge(asprintf(&body, SPANS("{" OSPAN ",\"attributes\":[" ATTR("a", "%s") "]}"), inner),
                         0);
        /* the attribute object is level 1, each kvlist one more */
        if (d <= INGEST_MAX_DEPTH - 1)
            free(rows_of(INGEST_SPANS, body, 1));
        else if (d >= INGEST_MAX_DEPTH + 2)
            rejected_one(INGEST_SPANS, body, 0, SPATH ".attributes", "nested deeper than 8 levels");
        free(body);
    }
    free(inner);
    /* arrays too, and far deeper values end in a clean refusal, never a crash */
    char *open = repeat("{\"arrayValue\":{\"values\":[", 5000), *close = repeat("]}}", 5000);
    size_t n = strlen(open) + strlen(close) + 1024;
    char *body = malloc(n);
    snprintf(body, n, SPANS("{" OSPAN ",\"attributes\":[" ATTR("a", "%s%s") "]}"), open, close);
    ingest_batch_t b;
    ingest_err_t e;
    int rc = parse_otlp(INGEST_SPANS, body, &b, &e);
    if (rc == 0) {
        ck_assert_int_eq(b.records, 0);
        ck_assert_int_eq(b.rejected, 1);
        ingest_batch_dispose(&b);
    } else {
        ck_assert_int_eq(e.status, 400);
    }
    free(open), free(close), free(body);
}
END_TEST

/* A string decoded from escapes is checked against its field's limit, never stored cut short. */
START_TEST(long_escaped_strings)
{
    /* 40,000 escapes decode to 40,000 bytes: within the message limit, stored whole */
    char *esc = repeat("\\n", 40000), *body;
    ck_assert_int_ge(asprintf(&body, OLOG("{" LTIME ",\"body\":{\"stringValue\":\"%s\"}}"), esc), 0);
    ingest_batch_t b;
    ingest_err_t e;
    ck_assert_int_eq(ingest_json_otlp(INGEST_LOGS, body, strlen(body), 10, 1 << 22, &b, &e), 0);
    ck_assert_int_eq(b.records, 1);
    char *msg = cell(b.copy.data, 0, INGEST_LOGS, "message");
    ck_assert_int_eq(strlen(msg), 80000); /* COPY's \n for each newline */
    free(msg);
    ingest_batch_dispose(&b);
    free(body);
    free(esc);
    /* past the limit: rejected naming the body */
    esc = repeat("\\u00e9", INGEST_MAX_MESSAGE / 2 + 1);
    ck_assert_int_ge(asprintf(&body, OLOG("{" LTIME ",\"body\":{\"stringValue\":\"%s\"}}"), esc), 0);
    rejected_one(INGEST_LOGS, body, 0, LPATH ".body", "longer than 65536");
    free(body);
    free(esc);
    /* a span name past its limit, written with escapes */
    esc = repeat("\\t", INGEST_MAX_NAME + 1);
    ck_assert_int_ge(asprintf(&body, SPANS("{" OSPAN "},{" OSPAN ",\"name\":\"%s\"}"), esc), 0);
    rejected_one(INGEST_SPANS, body, 1, "resourceSpans[0].scopeSpans[0].spans[1].name", "longer than 1024");
    free(body);
    free(esc);
    /* an attribute set past its cap */
    esc = repeat("\\\"", INGEST_MAX_ATTR_BYTES / 2 + 10);
    ck_assert_int_ge(
        asprintf(&body, SPANS("{" OSPAN ",\"attributes\":[" ATTR("a", "{\"stringValue\":\"%s\"}") "]}"), esc),
        0);
    rejected_one(INGEST_SPANS, body, 0, SPATH ".attributes", "larger than");
    free(body);
    free(esc);
}
END_TEST

/* ---------------- logs ---------------- */

START_TEST(log_values)
{
    static const struct {
        const char *number, *level, *severity;
    } sev[] = {{"1", "TRACE", "1"},
               {"4", "TRACE", "1"},
               {"5", "DEBUG", "2"},
               {"8", "DEBUG", "2"},
               {"9", "INFO", "3"},
               {"12", "INFO", "3"},
               {"13", "WARN", "4"},
               {"16", "WARN", "4"},
               {"17", "ERROR", "5"},
               {"20", "ERROR", "5"},
               {"21", "FATAL", "6"},
               {"24", "FATAL", "6"},
               {"\"SEVERITY_NUMBER_ERROR2\"", "ERROR", "5"},
               {"\"WARN\"", "WARN", "4"}};
    for (size_t i = 0; i < sizeof(sev) / sizeof(*sev); i++) {
        char body[512];
        snprintf(body, sizeof(body), OLOG("{" LTIME ",\"severityNumber\":%s}"), sev[i].number);
        char *rows = rows_of(INGEST_LOGS, body, 1);
        cell_eq(rows, 0, INGEST_LOGS, "level", sev[i].level); /* no severityText: named after the number */
        cell_eq(rows, 0, INGEST_LOGS, "severity", sev[i].severity);
        free(rows);
    }
    /* severityText is kept as sent; the number wins; the text alone gives the severity; a text too long
     * for a level is replaced by the class's name */
    char *rows = rows_of(
        INGEST_LOGS,
        OLOG("{" LTIME ",\"severityNumber\":18,\"severityText\":\"Err\"},{" LTIME
             ",\"severityText\":\"warning\"},{" LTIME ",\"body\":{\"doubleValue\":2.5}},{" LTIME
             ",\"body\":{\"stringValue\":\"a\\nb\"},\"severityText\":\"LOUD\"},{" LTIME
             ",\"severityNumber\":17,\"severityText\":\"ERROR-with-a-level-name-longer-than-32\"},{" LTIME
             ",\"body\":{\"arrayValue\":{\"values\":[{\"intValue\":1},{\"boolValue\":true}]}},"
             "\"eventName\":\"cart.loaded\",\"flags\":1,\"droppedAttributesCount\":2}"),
        6);
    cell_eq(rows, 0, INGEST_LOGS, "level", "Err");
    cell_eq(rows, 0, INGEST_LOGS, "severity", "5");
    cell_eq(rows, 0, INGEST_LOGS, "severity_number", "18");
    cell_eq(rows, 1, INGEST_LOGS, "level", "warning");
    cell_eq(rows, 1, INGEST_LOGS, "severity", "4");
    cell_eq(rows, 1, INGEST_LOGS, "severity_number", "\\N");
    cell_eq(rows, 2, INGEST_LOGS, "level", "INFO"); /* unspecified severity is stored as INFO */
    cell_eq(rows, 2, INGEST_LOGS, "severity", "3");
    cell_eq(rows, 2, INGEST_LOGS, "message", "2.5");
    cell_eq(rows, 2, INGEST_LOGS, "body", "2.5");
    cell_eq(rows, 3, INGEST_LOGS, "level", "LOUD");
    cell_eq(rows, 3, INGEST_LOGS, "message", "a\\nb");
    cell_eq(rows, 3, INGEST_LOGS, "body", "\\N");
    cell_eq(rows, 4, INGEST_LOGS, "level", "ERROR");
    cell_eq(rows, 4, INGEST_LOGS, "severity", "5");
    cell_eq(rows, 5, INGEST_LOGS, "message", "[1,true]");
    cell_eq(rows, 5, INGEST_LOGS, "body", "[1,true]");
    cell_eq(rows, 5, INGEST_LOGS, "event_name", "cart.loaded");
    cell_eq(rows, 5, INGEST_LOGS, "flags", "1");
    cell_eq(rows, 5, INGEST_LOGS, "dropped_attributes_count", "2");
    free(rows);
    /* no body: an empty message */
    rows = rows_of(INGEST_LOGS, OLOG("{" LTIME "}"), 1);
    cell_eq(rows, 0, INGEST_LOGS, "message", "");
    free(rows);
    /* exception.stacktrace (a string) leaves the attributes for the stack_trace column */
    rows = rows_of(INGEST_LOGS,
                   OLOG("{" LTIME ",\"attributes\":[" ATTR("a", "{\"intValue\":1}") "," ATTR(
                       "exception.stacktrace",
                       "{\"stringValue\":\"E\\n\\tat x\"}") "," ATTR("b", "{\"intValue\":2}") "]}"),
                   1);
    cell_eq(rows, 0, INGEST_LOGS, "stack_trace", "E\\n\\tat x");
    cell_eq(rows, 0, INGEST_LOGS, "attributes", "{\"a\":1,\"b\":2}");
    free(rows);
}
END_TEST

START_TEST(log_error_signals_and_rejections)
{
    ingest_batch_t b;
    ingest_err_t e;
    const char *body =
        OLOG("{" LTIME ",\"severityNumber\":17,\"traceId\":\"W47/95gDgQPSabYzgT/GDA==\"},{" LTIME
             ",\"severityNumber\":17},{" LTIME ",\"severityNumber\":13,\"traceId\":"
             "\"5b8efff798038103d269b633813fc601\"},{" LTIME ",\"severityText\":\"FATAL\","
             "\"traceId\":\"5b8efff798038103d269b633813fc602\",\"spanId\":\"\"}");
    ck_assert_int_eq(parse_otlp(INGEST_LOGS, body, &b, &e), 0);
    ck_assert_int_eq(b.records, 4);
    ck_assert_int_eq(b.nerror_traces, 2);
    ck_assert_str_eq(b.error_traces[0], TRACE);
    ck_assert_str_eq(b.error_traces[1], "5b8efff798038103d269b633813fc602");
    ingest_batch_dispose(&b);
    /* neither time nor observed time */
    rejected_one(INGEST_LOGS, OLOG("{\"severityNumber\":3}"), 0, LPATH ".timeUnixNano", "missing");
    rejected_one(INGEST_LOGS, OLOG("{" LTIME ",\"traceId\":\"zz\"}"), 0, LPATH ".traceId",
                 "expected 32 hex digits");
    /* all-zero ids in a log mean "no trace context" (as in protobuf); in a span they are refused */
    char *rows = rows_of(
        INGEST_LOGS,
        OLOG("{" LTIME ",\"spanId\":\"AAAAAAAAAAA=\",\"traceId\":\"00000000000000000000000000000000\"}"), 1);
    cell_eq(rows, 0, INGEST_LOGS, "span_id", "\\N");
    cell_eq(rows, 0, INGEST_LOGS, "trace_id", "\\N");
    free(rows);
    rejected_one(INGEST_SPANS, SPANS("{" OSPAN ",\"spanId\":\"AAAAAAAAAAA=\"}"), 0, SPATH ".spanId",
                 "all-zero");
    rejected_one(INGEST_LOGS, OLOG("{" LTIME ",\"severityNumber\":\"LOUDEST\"}"), 0, LPATH ".severityNumber",
                 "unknown");
    rejected_one(INGEST_LOGS, OLOG("{" LTIME ",\"body\":\"text\"}"), 0, LPATH ".body",
                 "expected an AnyValue");
    refused(INGEST_LOGS, "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":7}]}]}", 400,
            "resourceLogs[0].scopeLogs[0].logRecords", "expected an array");
    char *big = repeat("m", INGEST_MAX_MESSAGE + 1), *bb;
    ck_assert_int_ge(asprintf(&bb, OLOG("{" LTIME ",\"body\":{\"stringValue\":\"%s\"}}"), big), 0);
    rejected_one(INGEST_LOGS, bb, 0, LPATH ".body", "longer than 65536");
    free(bb);
    free(big);
}
END_TEST

/* The same log line sent as OTLP JSON and as our JSON is the same record (the same identity hash). */
START_TEST(log_identity_matches_our_json)
{
    ingest_batch_t o, n;
    ingest_err_t e;
    const char *otlp = OLOG("{" LTIME ",\"severityText\":\"ERROR\",\"body\":{\"stringValue\":\"boom\"},"
                            "\"traceId\":\"" TRACE "\",\"attributes\":[" ATTR(
                                "b", "{\"intValue\":\"2\"}") "," ATTR("a", "{\"stringValue\":\"x\"}") "]}");
    const char *ours = "{\"logs\":[{\"timestamp\":" T0 ",\"service\":\"pay\",\"level\":\"ERROR\",\"message\":"
                       "\"boom\",\"trace_id\":\"" TRACE "\",\"attributes\":{\"a\":\"x\",\"b\":2}}]}";
    ck_assert_int_eq(parse_otlp(INGEST_LOGS, otlp, &o, &e), 0);
    ck_assert_msg(ingest_json_native(INGEST_LOGS, ours, strlen(ours), 10, 1 << 20, &n, &e) == 0, "%s %s",
                  e.path, e.reason);
    char *h1 = cell(o.copy.data, 0, INGEST_LOGS, "content_hash"),
         *h2 = cell(n.copy.data, 0, INGEST_LOGS, "content_hash");
    ck_assert_str_eq(h1, h2);
    free(h1), free(h2);
    ingest_batch_dispose(&o);
    ingest_batch_dispose(&n);
}
END_TEST

/* ---------------- metrics ---------------- */

START_TEST(metric_values)
{
    char *rows = rows_of(
        INGEST_METRICS,
        OMET("{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"" T0 "\",\"asInt\":\"-7\","
             "\"attributes\":[" ATTR(
                 "host",
                 "{\"stringValue\":\"a\"}") "]},{\"timeUnixNano\":" T0 ",\"asDouble\":0.25}]}},"
                                            "{\"name\":\"c\",\"unit\":\"By\",\"sum\":{\"dataPoints\":[{"
                                            "\"startTimeUnixNano\":\"1795357920000000000\","
                                            "\"timeUnixNano\":\"" T0
                                            "\",\"asInt\":12}],\"aggregationTemporality\":\"AGGREGATION_"
                                            "TEMPORALITY_DELTA\","
                                            "\"isMonotonic\":true}},"
                                            "{\"name\":\"h\",\"histogram\":{\"dataPoints\":[{"
                                            "\"timeUnixNano\":\"" T0 "\",\"count\":\"6\","
                                            "\"sum\":7.5,\"min\":0.5,\"max\":12,\"bucketCounts\":[\"1\","
                                            "\"2\",\"0\",\"3\"],\"explicitBounds\":[1,"
                                            "2.5,10],\"attributes\":[" ATTR(
                                                "r",
                                                "{\"stringValue\":\"/x\"}") "]}],\"aggregationTemporality\":"
                                                                            "2}},"
                                                                            "{\"name\":\"x\","
                                                                            "\"exponentialHistogram\":{"
                                                                            "\"aggregationTemporality\":1,"
                                                                            "\"dataPoints\":[{"
                                                                            "\"timeUnixNano\":\"" T0
                                                                            "\",\"count\":\"5\",\"sum\":9,"
                                                                            "\"scale\":2,\"zeroCount\":\"1\","
                                                                            "\"zeroThreshold\":0.001,"
                                                                            "\"positive\":{\"offset\":-1,"
                                                                            "\"bucketCounts\":[\"1\",\"2\"]},"
                                                                            "\"negative\":{\"bucketCounts\":["
                                                                            "1]}}]}},"
                                                                            "{\"name\":\"s\",\"summary\":{"
                                                                            "\"dataPoints\":[{"
                                                                            "\"timeUnixNano\":\"" T0
                                                                            "\",\"count\":\"3\","
                                                                            "\"sum\":1.5,\"quantileValues\":["
                                                                            "{\"quantile\":0.5,\"value\":1},{"
                                                                            "\"quantile\":0.99,\"value\":2}]}"
                                                                            "]}}"),
        6);
    static const struct {
        const char *name, *value, *labels, *kind, *temporality, *monotonic, *start, *unit, *hist;
    } want[] = {
        {"g", "-7", "{\"host\":\"a\"}", "0", "0", "f", "\\N", "\\N", "\\N"},
        {"g", "0.25", "{}", "0", "0", "f", "\\N", "\\N", "\\N"},
        {"c", "12", "{}", "1", "1", "t", "1795357920000000000", "By", "\\N"},
        {"h", "6", "{\"r\":\"/x\"}", "2", "2", "f", "\\N", "\\N", NULL},
        {"x", "5", "{}", "3", "1", "f", "\\N", "\\N",
         "{\"count\":5,\"sum\":9,\"scale\":2,\"zero_count\":1,\"zero_threshold\":0.001,\"positive\":{"
         "\"offset\":-1,"
         "\"counts\":[1,2]},\"negative\":{\"offset\":0,\"counts\":[1]}}"},
        {"s", "3", "{}", "4", "0", "f", "\\N", "\\N",
         "{\"count\":3,\"sum\":1.5,\"quantiles\":[[0.5,1],[0.99,2]]}"},
    };
    for (int r = 0; r < 6; r++) {
        cell_eq(rows, r, INGEST_METRICS, "ts_ns", T0);
        cell_eq(rows, r, INGEST_METRICS, "service", "pay");
        cell_eq(rows, r, INGEST_METRICS, "name", want[r].name);
        cell_eq(rows, r, INGEST_METRICS, "value", want[r].value);
        cell_eq(rows, r, INGEST_METRICS, "labels", want[r].labels);
        cell_eq(rows, r, INGEST_METRICS, "kind", want[r].kind);
        cell_eq(rows, r, INGEST_METRICS, "temporality", want[r].temporality);
        cell_eq(rows, r, INGEST_METRICS, "monotonic", want[r].monotonic);
        cell_eq(rows, r, INGEST_METRICS, "start_ns", want[r].start);
        cell_eq(rows, r, INGEST_METRICS, "unit", want[r].unit);
        if (want[r].hist) cell_eq(rows, r, INGEST_METRICS, "hist", want[r].hist);
    }
    static const double bounds[] = {1, 2.5, 10};
    hist_eq(rows, 3, "{\"count\":6,\"sum\":7.5,\"min\":0.5,\"max\":12,\"bounds\":[", bounds, 3,
            "],\"counts\":[1,2,0,3]}");
    free(rows);
    /* OTLP leaves zero counts out: an empty histogram point is accepted */
    rows = rows_of(INGEST_METRICS,
                   OMET("{\"name\":\"h\",\"histogram\":{\"dataPoints\":[{\"timeUnixNano\":\"" T0
                        "\",\"bucketCounts\":[\"0\",\"0\"],\"explicitBounds\":[0.1]}]}}"),
                   1);
    cell_eq(rows, 0, INGEST_METRICS, "hist", "{\"count\":0,\"bounds\":[0.1],\"counts\":[0,0]}");
    free(rows);
}
END_TEST

START_TEST(metric_rejections)
{
    rejected_one(INGEST_METRICS,
                 OMET("{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"" T0 "\"}]}}"), 0,
                 MPATH ".gauge.dataPoints[0].asDouble", "expected asDouble or asInt");
    rejected_one(INGEST_METRICS, OMET("{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"asDouble\":1}]}}"), 0,
                 MPATH ".gauge.dataPoints[0].timeUnixNano", "outside the accepted range");
    rejected_one(INGEST_METRICS, OMET("{\"name\":\"g\"}"), 0, MPATH,
                 "expected one of gauge, sum, histogram, exponentialHistogram, summary");
    rejected_one(INGEST_METRICS,
                 OMET("{\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"" T0 "\",\"asDouble\":1}]}}"), 0,
                 MPATH ".name", "missing");
    rejected_one(INGEST_METRICS,
                 OMET("{\"name\":\"h\",\"histogram\":{\"dataPoints\":[{\"timeUnixNano\":\"" T0
                      "\",\"count\":\"2\",\"bucketCounts\":[\"1\",\"x\"],\"explicitBounds\":[1]}]}}"),
                 0, MPATH ".histogram.dataPoints[0].bucketCounts", "expected an integer");
    rejected_one(INGEST_METRICS,
                 OMET("{\"name\":\"h\",\"histogram\":{\"dataPoints\":[{\"timeUnixNano\":\"" T0
                      "\",\"count\":\"2\",\"bucketCounts\":[\"1\",\"1\",\"0\"],\"explicitBounds\":[1]}]}}"),
                 0, MPATH ".histogram.dataPoints[0].bucketCounts", "bucket counts");
    rejected_one(INGEST_METRICS,
                 OMET("{\"name\":\"s\",\"sum\":{\"dataPoints\":[{\"timeUnixNano\":\"" T0
                      "\",\"asDouble\":\"NaN\"}]}}"),
                 0, MPATH ".sum.dataPoints[0].asDouble", "not a finite number");
    rejected_one(INGEST_METRICS,
                 OMET("{\"name\":\"s\",\"sum\":{\"dataPoints\":[{\"timeUnixNano\":\"" T0
                      "\",\"asDouble\":1}],\"aggregationTemporality\":\"SOMETIMES\"}}"),
                 0, MPATH ".sum.aggregationTemporality", "unknown");
    /* a bad point is rejected alone */
    rejected_one(INGEST_METRICS,
                 OMET("{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"" T0
                      "\",\"asDouble\":1},{\"timeUnixNano\":\"" T0 "\",\"asDouble\":[]}]}}"),
                 1, MPATH ".gauge.dataPoints[1].asDouble", "expected a number");
    char *many = repeat("1,", INGEST_MAX_BUCKETS + 2), *body;
    many[strlen(many) - 1] = '\0';
    ck_assert_int_ge(asprintf(&body,
                              OMET("{\"name\":\"h\",\"histogram\":{\"dataPoints\":[{\"timeUnixNano\":\"" T0
                                   "\",\"bucketCounts\":[%s]}]}}"),
                              many),
                     0);
    rejected_one(INGEST_METRICS, body, 0, MPATH ".histogram.dataPoints[0].bucketCounts", "more than");
    free(body);
    free(many);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ingest_otlp_json");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, fixture_traces);
    tcase_add_test(tc, fixture_logs);
    tcase_add_test(tc, fixture_metrics);
    tcase_add_test(tc, json_and_protobuf_give_the_same_rows);
    tcase_add_test(tc, span_values);
    tcase_add_test(tc, span_otel_fields);
    tcase_add_test(tc, span_error_signals);
    tcase_add_test(tc, span_rejections_name_the_path);
    tcase_add_test(tc, partial_success);
    tcase_add_test(tc, body_refusals);
    tcase_add_test(tc, batch_limits);
    tcase_add_test(tc, unknown_fields_snake_case_and_member_order);
    tcase_add_test(tc, nesting_is_bounded);
    tcase_add_test(tc, long_escaped_strings);
    tcase_add_test(tc, log_values);
    tcase_add_test(tc, log_error_signals_and_rejections);
    tcase_add_test(tc, log_identity_matches_our_json);
    tcase_add_test(tc, metric_values);
    tcase_add_test(tc, metric_rejections);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
