/* Ingest parsing without servers (backend/ingest_json.h): the JSON scanner and our formats, with the
 * exact COPY rows, the exact error paths, COPY escaping, limits, day and error-trace bookkeeping and
 * duplicate-hash behaviour. OTLP JSON has its own test (test_ingest_otlp_json.c); timestamps and ids
 * too (test_timeparse.c, test_ids.c). */
#include "ingest_json.h"
#include "jscan.h"

#include "ts.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRACE "5b8efff798038103d269b633813fc60c"
#define SPAN "eee19b7ec3c1b174"
#define T0 "1795357925000000000" /* 2026-11-22T14:32:05Z */

/* ---------------- helpers ---------------- */

static int parse(ingest_kind_t k, const char *body, ingest_batch_t *b, ingest_err_t *e)
{
    return ingest_json_native(k, body, strlen(body), 1000, 1 << 20, b, e);
}

static int parse_otlp(ingest_kind_t k, const char *body, ingest_batch_t *b, ingest_err_t *e)
{
    return ingest_json_otlp(k, body, strlen(body), 1000, 1 << 20, b, e);
}

/* Parses one body that must be accepted and returns its COPY text (caller frees); checks the count. */
static char *rows_of(int otlp, ingest_kind_t k, const char *body, size_t records)
{
    ingest_batch_t b;
    ingest_err_t e;
    int rc = otlp ? parse_otlp(k, body, &b, &e) : parse(k, body, &b, &e);
    ck_assert_msg(rc == 0, "refused (%d %s: %s): %s", e.status, e.path, e.reason, body);
    ck_assert_msg(b.records == records, "%zu records, expected %zu: %s", b.records, records, b.copy.data);
    char *s = strdup(b.copy.data ? b.copy.data : "");
    ingest_batch_dispose(&b);
    return s;
}

/* Asserts that a body is refused with this status and path; the reason must contain `why` (may be
 * NULL). */
static void refused(int otlp, ingest_kind_t k, const char *body, int status, const char *path,
                    const char *why)
{
    ingest_batch_t b;
    ingest_err_t e;
    memset(&b, 0x5a, sizeof(b));
    int rc = otlp ? parse_otlp(k, body, &b, &e) : parse(k, body, &b, &e);
    ck_assert_msg(rc == -1, "accepted: %s", body);
    ck_assert_msg(e.status == status && strcmp(e.path, path) == 0, "got %d '%s' (%s), expected %d '%s': %s",
                  e.status, e.path, e.reason, status, path, body);
    if (why) ck_assert_msg(strstr(e.reason, why), "reason '%s' lacks '%s'", e.reason, why);
    /* nothing is left to free: the batch was disposed */
    ck_assert_ptr_null(b.copy.data);
    ck_assert_ptr_null(b.days);
    ck_assert_ptr_null(b.error_traces);
}

static void col_eq(const char *copy, int row, int col, const char *want)
{
    char *got = ts_copy_column(copy, row, col);
    ck_assert_msg(strcmp(got, want) == 0, "row %d col %d: '%s', expected '%s'", row, col, got, want);
    free(got);
}

/* A span with every required field; `extra` adds or overrides fields (later keys win is not assumed:
 * callers pass fields that are not in the base). */
static char *span_body(const char *extra)
{
    char *s;
    ck_assert_int_ge(asprintf(&s,
                              "{\"spans\":[{\"trace_id\":\"" TRACE "\",\"span_id\":\"" SPAN
                              "\",\"service\":\"s\","
                              "\"name\":\"n\",\"start_time\":\"2026-11-22T14:32:05Z\",\"end_time\":"
                              "\"2026-11-22T14:32:06Z\"%s%s}]}",
                              *extra ? "," : "", extra),
                     0);
    return s;
}

/* A string of n copies of c, as a JSON string's contents. Caller frees. */
static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* The identity hash column of row 0 (ingest_batch.h's column order). */
static char *hash_of(int otlp, ingest_kind_t k, const char *body)
{
    static const int hash_col[] = {[INGEST_LOGS] = 9, [INGEST_METRICS] = 5, [INGEST_EVENTS] = 5};
    char *rows = rows_of(otlp, k, body, 1);
    char *h = ts_copy_column(rows, 0, hash_col[k]);
    ck_assert_int_eq(strlen(h), 32);
    free(rows);
    return h;
}

/* ---------------- scanner ---------------- */

static int scan_all(const char *doc)
{
    jscan_t j;
    jscan_init(&j, doc, strlen(doc), 8);
    return jscan_skip(&j, NULL) == 0 && jscan_finish(&j) == 0 ? 0 : -1;
}

START_TEST(scanner_accepts_json_and_refuses_the_rest)
{
    ck_assert_int_eq(scan_all("{\"a\":[1,2.5e3,-0,\"x\\u00e9\\ud83d\\ude00\",true,false,null,{}],\"b\":{}}"),
                     0);
    ck_assert_int_eq(scan_all("  [ ]  "), 0);
    const char *bad[] = {"{\"a\":1,}",
                         "[1,]",
                         "{\"a\" 1}",
                         "[01]",
                         "[1.]",
                         "\"\\u0000\"",
                         "\"\\ud800\"",
                         "\"\xc3\x28\"",
                         "\"tab\there\"",
                         "{\"a\":1}}",
                         "[[[[[[[[[[1]]]]]]]]]]",
                         "tru",
                         "[1 2]",
                         "{\"a\":1",
                         "\"abc"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        ck_assert_msg(scan_all(bad[i]) == -1, "accepted: %s", bad[i]);
    jscan_t j;
    buf_t out;
    buf_init(&out, 1024);
    jstr_t s;
    jscan_init(&j, "\"a\\nb\\u00e9\\ud83d\\ude00\"", 25, 8);
    ck_assert_int_eq(jscan_string(&j, &s, &out), 0);
    ck_assert_int_eq(s.n, 9);
    ck_assert(memcmp(s.s, "a\nb\xc3\xa9\xf0\x9f\x98\x80", 9) == 0);
    buf_dispose(&out);
}
END_TEST

/* ---------------- COPY text ---------------- */

START_TEST(copy_escaping)
{
    buf_t b;
    buf_init(&b, 64);
    ck_assert_int_eq(ingest_copy_text(&b, "a\tb\nc\rd\\e", 9), 0);
    ck_assert_str_eq(b.data, "a\\tb\\nc\\rd\\\\e");
    buf_reset(&b);
    ck_assert_int_eq(ingest_copy_null(&b), 0);
    ck_assert_int_eq(ingest_copy_i64(&b, -42), 0);
    ck_assert_int_eq(ingest_copy_double(&b, 0.1), 0);
    ck_assert_str_eq(b.data, "\\N-420.10000000000000001");
    /* past the cap: refused, nothing appended */
    buf_reset(&b);
    char big[100];
    memset(big, 'x', sizeof(big));
    ck_assert_int_eq(ingest_copy_text(&b, big, sizeof(big)), -1);
    ck_assert_int_eq(b.len, 0);
    buf_dispose(&b);

    /* through the parser: every text column is escaped, ids and numbers need none */
    char *rows = rows_of(0, INGEST_LOGS,
                         "{\"logs\":[{\"timestamp\":\"2026-11-22T14:32:05Z\",\"service\":\"pay\\tment\","
                         "\"level\":\"ERROR\",\"message\":\"line1\\nline2\\r\\n\\\\path\\ttab\","
                         "\"stack_trace\":\"E: boom\\n\\tat A.b(A.java:1)\\n\",\"attributes\":{\"k\":"
                         "\"v\\\\w\\nx\"}}]}",
                         1);
    col_eq(rows, 0, 1, "pay\\tment");
    col_eq(rows, 0, 4, "line1\\nline2\\r\\n\\\\path\\ttab");
    col_eq(rows, 0, 7, "E: boom\\n\\tat A.b(A.java:1)\\n");
    col_eq(rows, 0, 8, "{\"k\":\"v\\\\\\\\w\\\\nx\"}");                  /* JSON's own escapes, then COPY's */
    ck_assert_int_eq(strchr(rows, '\n') - rows + 1, (long)strlen(rows)); /* one physical line per row */
    free(rows);
}
END_TEST

/* ---------------- native spans ---------------- */

START_TEST(native_span_row_and_error_signal)
{
    ingest_batch_t b;
    ingest_err_t e;
    const char *body =
        "{\"spans\":[{\"trace_id\":\"5B8EFFF798038103D269B633813FC60C\",\"span_id\":\"eee19b7ec3c1b174\","
        "\"service\":\"pay\\tment\",\"name\":\"POST /charge\",\"kind\":\"server\",\"start_time\":"
        "\"2026-11-22T14:32:05Z\",\"end_time\":1795365125500000000,\"status\":\"ERROR\",\"attributes\":"
        "{\"a\":\"x\\\\y\"},\"events\":[{\"name\":\"exception\",\"time\":\"2026-11-22T14:32:05.1Z\","
        "\"attributes\":{\"exception.type\":\"E\"}}]}]}";
    ck_assert_int_eq(parse(INGEST_SPANS, body, &b, &e), 0);
    ck_assert_int_eq(b.kind, INGEST_SPANS);
    ck_assert_int_eq(b.records, 1);
    ck_assert_int_eq(b.nerror_traces, 1);
    ck_assert_str_eq(b.error_traces[0], TRACE);
    ck_assert_int_eq(b.ndays, 1);
    ck_assert_int_eq(b.days[0], 1795357925000000000LL / INGEST_NS_PER_DAY);
    ck_assert_msg(
        strstr(b.copy.data,
               "pay\\tment\tPOST /charge\tSERVER\t1795357925000000000\t1795365125500000000\t2\t\\N\t"),
        "%s", b.copy.data);
    ck_assert_msg(strstr(b.copy.data, "{\"a\":\"x\\\\\\\\y\"}"), "%s",
                  b.copy.data); /* backslashes doubled for COPY */
    ck_assert_msg(strstr(b.copy.data, "\"time_ns\":1795357925100000000"), "%s", b.copy.data);
    ck_assert_int_eq(b.copy.data[b.copy.len - 1], '\n');
    ingest_batch_dispose(&b);
}
END_TEST

START_TEST(native_span_columns)
{
    /* base64 ids, an empty parent (a root span), OK status, message, events rebuilt with time_ns */
    char *rows = rows_of(
        0, INGEST_SPANS,
        "{\"spans\":[{\"trace_id\":\"W47/95gDgQPSabYzgT/"
        "GDA==\",\"span_id\":\"7uGbfsPBsXQ=\",\"parent_span_id\":"
        "\"\",\"service\":\"s\",\"name\":\"n\",\"kind\":\"Consumer\",\"start_time\":" T0 ",\"end_time\":" T0
        ",\"status\":\"ok\",\"status_message\":\"fine\",\"events\":[{\"name\":\"retry\",\"time\":\"" T0
        "\"},{\"name\":\"done\",\"time\":\"2026-11-22T14:32:05.000000002Z\",\"attributes\":null}]},"
        "{\"trace_id\":\"" TRACE "\",\"span_id\":\"eee19b7ec3c1b175\",\"parent_span_id\":\"" SPAN "\","
        "\"service\":\"s\",\"name\":\"child\",\"start_time\":" T0 ",\"end_time\":" T0 ",\"kind\":null}]}",
        2);
    static const char *const want0[] = {TRACE,
                                        SPAN,
                                        "\\N",
                                        "s",
                                        "n",
                                        "CONSUMER",
                                        T0,
                                        T0,
                                        "1",
                                        "fine",
                                        "{}",
                                        "[{\"name\":\"retry\",\"time_ns\":1795357925000000000,\"attributes\":"
                                        "{}},{\"name\":\"done\",\"time_ns\":"
                                        "1795357925000000002,\"attributes\":{}}]"};
    for (int c = 0; c < 12; c++)
        col_eq(rows, 0, c, want0[c]);
    static const char *const want1[] = {
        TRACE, "eee19b7ec3c1b175", SPAN, "s", "child", "\\N", T0, T0, "0", "\\N", "{}", "[]"};
    for (int c = 0; c < 12; c++)
        col_eq(rows, 1, c, want1[c]);
    free(rows);
    /* every kind, any case */
    const char *kinds[] = {"SERVER", "client", "Internal", "producer", "CONSUMER"};
    for (size_t i = 0; i < 5; i++) {
        char extra[64];
        snprintf(extra, sizeof(extra), "\"kind\":\"%s\"", kinds[i]);
        char *body = span_body(extra);
        free(rows_of(0, INGEST_SPANS, body, 1));
        free(body);
    }
}
END_TEST

START_TEST(native_span_errors_name_the_path)
{
    static const struct {
        const char *extra, *path, *why;
    } cases[] = {
        {"\"trace_id\":\"zz\"", "spans[0].trace_id", "expected 32 hex digits"},
        {"\"span_id\":12", "spans[0].span_id", "expected a string"},
        {"\"parent_span_id\":\"xyz\"", "spans[0].parent_span_id", "expected 16 hex digits"},
        {"\"kind\":\"weird\"", "spans[0].kind", "expected SERVER, CLIENT, INTERNAL, PRODUCER or CONSUMER"},
        {"\"status\":\"FAILED\"", "spans[0].status", "expected OK, ERROR or UNSET"},
        {"\"status_message\":7", "spans[0].status_message", "expected a string"},
        {"\"attributes\":[1]", "spans[0].attributes", "expected an object"},
        {"\"attributes\":\"a=b\"", "spans[0].attributes", "expected an object"},
        {"\"events\":{}", "spans[0].events", "expected an array"},
        {"\"events\":[3]", "spans[0].events[0]", "expected an object"},
        {"\"events\":[{\"time\":" T0 "}]", "spans[0].events[0].name", "missing"},
        {"\"events\":[{\"name\":\"\",\"time\":" T0 "}]", "spans[0].events[0].name", "must not be empty"},
        {"\"events\":[{\"name\":1,\"time\":" T0 "}]", "spans[0].events[0].name", "expected a string"},
        {"\"events\":[{\"name\":\"x\",\"time\":" T0 "},{\"name\":\"e\"}]", "spans[0].events[1].time",
         "missing"},
        {"\"events\":[{\"name\":\"x\",\"time\":\"bad\"}]", "spans[0].events[0].time", "expected an RFC 3339"},
        {"\"events\":[{\"name\":\"x\",\"time\":" T0 ",\"attributes\":[]}]", "spans[0].events[0].attributes",
         "expected an object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char *body = span_body(cases[i].extra);
        refused(0, INGEST_SPANS, body, 400, cases[i].path, cases[i].why);
        free(body);
    }
    /* required fields, one at a time: absent, then null (the same as absent) */
    static const char *required[] = {"trace_id", "span_id", "service", "name", "start_time", "end_time"};
    static const char *values[] = {"\"" TRACE "\"", "\"" SPAN "\"", "\"s\"", "\"n\"", T0, T0};
    for (int skip = 0; skip < 6; skip++) {
        for (int as_null = 0; as_null <= 1; as_null++) {
            char body[512] = "{\"spans\":[{";
            for (int f = 0; f < 6; f++) {
                if (f == skip && !as_null) continue;
                size_t n = strlen(body);
                snprintf(body + n, sizeof(body) - n, "%s\"%s\":%s", body[n - 1] == '{' ? "" : ",",
                         required[f], f == skip ? "null" : values[f]);
            }
            strcat(body, "}]}");
            char path[64];
            snprintf(path, sizeof(path), "spans[0].%s", required[skip]);
            refused(0, INGEST_SPANS, body, 400, path, "missing");
        }
    }
    refused(0, INGEST_SPANS,
            "{\"spans\":[{\"trace_id\":\"" TRACE "\",\"span_id\":\"" SPAN
            "\",\"service\":\"s\",\"name\":\"n\","
            "\"start_time\":\"2026-11-22T14:32:05Z\",\"end_time\":\"2026-11-22T14:32:04.999999999Z\"}]}",
            400, "spans[0].end_time", "end_time is before start_time");
    refused(0, INGEST_SPANS,
            "{\"spans\":[{\"trace_id\":\"" TRACE "\",\"span_id\":\"" SPAN
            "\",\"service\":\"\",\"name\":\"n\","
            "\"start_time\":" T0 ",\"end_time\":" T0 "}]}",
            400, "spans[0].service", "must not be empty");
    /* the second record is named */
    refused(
        0, INGEST_SPANS,
        "{\"spans\":[{\"trace_id\":\"" TRACE "\",\"span_id\":\"" SPAN "\",\"service\":\"s\",\"name\":\"n\","
        "\"start_time\":" T0 ",\"end_time\":" T0 "},{\"trace_id\":\"00000000000000000000000000000000\"}]}",
        400, "spans[1].trace_id", "all-zero");
}
END_TEST

START_TEST(native_times)
{
    static const char *ok[] = {"\"2026-11-22T14:32:05Z\"", "\"2026-11-22t16:32:05+02:00\"",
                               "\"2026-11-22 14:32:05.000Z\"", T0, "\"" T0 "\""};
    for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
        char body[256];
        snprintf(body, sizeof(body), "{\"events\":[{\"timestamp\":%s,\"type\":\"deploy\"}]}", ok[i]);
        char *rows = rows_of(0, INGEST_EVENTS, body, 1);
        col_eq(rows, 0, 0, T0);
        free(rows);
    }
    static const struct {
        const char *v, *why;
    } bad[] = {
        {"12.5", "expected integer epoch nanoseconds"},
        {"1.7953579250e18", "expected integer epoch nanoseconds"},
        {"true", "expected an RFC 3339 time string or integer epoch nanoseconds"},
        {"{}", "expected an RFC 3339 time string or integer epoch nanoseconds"},
        {"1795357925", "seconds or milliseconds sent?"},
        {"1795357925000", "seconds or milliseconds sent?"},
        {"-1795357925000000000", "outside 2000-01-01..2100-01-01"},
        {"\"1795357925\"", "seconds or milliseconds sent?"},
        {"\"1970-01-01T00:00:00Z\"", "time outside 2000-01-01..2100-01-01"},
        {"\"2100-01-01T00:00:00Z\"", "time outside 2000-01-01..2100-01-01"},
        {"\"2026-11-22T14:32:05\"", "expected an RFC 3339"},
        {"\"\"", "expected an RFC 3339"},
        {"99999999999999999999", "expected integer epoch nanoseconds"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        char body[256];
        snprintf(body, sizeof(body), "{\"events\":[{\"timestamp\":%s,\"type\":\"deploy\"}]}", bad[i].v);
        refused(0, INGEST_EVENTS, body, 400, "events[0].timestamp", bad[i].why);
    }
}
END_TEST

/* ---------------- native logs, metrics, events ---------------- */

#define LOG(ts, svc, lvl, msg, extra)                                                                        \
    "{\"logs\":[{\"timestamp\":" ts ",\"service\":\"" svc "\",\"level\":\"" lvl "\",\"message\":\"" msg      \
    "\"" extra "}]}"

START_TEST(native_log_rows_and_severity)
{
    char *rows = rows_of(
        0, INGEST_LOGS,
        "{\"logs\":[{\"timestamp\":\"2026-11-22T14:32:05Z\",\"service\":\"s\",\"level\":\"error\","
        "\"message\":\"boom\",\"trace_id\":\"W47/95gDgQPSabYzgT/GDA==\",\"span_id\":\"" SPAN "\","
        "\"stack_trace\":\"E\",\"attributes\":{\"a\":1}},"
        "{\"timestamp\":" T0 ",\"service\":\"s\",\"level\":\"INFO\",\"message\":\"\",\"span_id\":\"\","
        "\"trace_id\":null}]}",
        2);
    static const char *const want0[] = {T0, "s", "error", "5", "boom", TRACE, SPAN, "E", "{\"a\":1}"};
    for (int c = 0; c < 9; c++)
        col_eq(rows, 0, c, want0[c]);
    static const char *const want1[] = {T0, "s", "INFO", "3", "", "\\N", "\\N", "\\N", "{}"};
    for (int c = 0; c < 9; c++)
        col_eq(rows, 1, c, want1[c]);
    free(rows);
    static const struct {
        const char *level, *severity;
    } levels[] = {{"TRACE", "1"}, {"debug", "2"}, {"Info", "3"},     {"WARN", "4"}, {"warning", "4"},
                  {"ERROR", "5"}, {"FATAL", "6"}, {"critical", "6"}, {"PANIC", "6"}};
    for (size_t i = 0; i < sizeof(levels) / sizeof(*levels); i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"logs\":[{\"timestamp\":" T0 ",\"service\":\"s\",\"level\":\"%s\",\"message\":\"m\"}]}",
                 levels[i].level);
        rows = rows_of(0, INGEST_LOGS, body, 1);
        col_eq(rows, 0, 2, levels[i].level); /* stored as sent */
        col_eq(rows, 0, 3, levels[i].severity);
        free(rows);
    }
}
END_TEST

START_TEST(native_log_error_signal_needs_a_trace)
{
    ingest_batch_t b;
    ingest_err_t e;
    const char *body =
        "{\"logs\":["
        "{\"timestamp\":" T0 ",\"service\":\"s\",\"level\":\"ERROR\",\"message\":\"a\",\"trace_id\":\"" TRACE
        "\"},"
        "{\"timestamp\":" T0 ",\"service\":\"s\",\"level\":\"FATAL\",\"message\":\"b\",\"trace_id\":\"" TRACE
        "\"},"
        "{\"timestamp\":" T0 ",\"service\":\"s\",\"level\":\"ERROR\",\"message\":\"no trace\"},"
        "{\"timestamp\":" T0 ",\"service\":\"s\",\"level\":\"WARN\",\"message\":\"c\",\"trace_id\":"
        "\"5b8efff798038103d269b633813fc60d\"},"
        "{\"timestamp\":" T0 ",\"service\":\"s\",\"level\":\"critical\",\"message\":\"d\",\"trace_id\":"
        "\"5b8efff798038103d269b633813fc60e\"}]}";
    ck_assert_int_eq(parse(INGEST_LOGS, body, &b, &e), 0);
    ck_assert_int_eq(b.records, 5);
    ck_assert_int_eq(b.nerror_traces, 2); /* deduplicated; WARN does not count */
    ck_assert_str_eq(b.error_traces[0], TRACE);
    ck_assert_str_eq(b.error_traces[1], "5b8efff798038103d269b633813fc60e");
    ck_assert_int_eq(b.ndays, 1);
    ingest_batch_dispose(&b);
}
END_TEST

START_TEST(native_log_errors_name_the_path)
{
    static const struct {
        const char *body, *path, *why;
    } cases[] = {
        {LOG(T0, "s", "LOUD", "m", ""), "logs[0].level", "expected TRACE, DEBUG, INFO, WARN, ERROR or FATAL"},
        {LOG(T0, "s", "", "m", ""), "logs[0].level", "must not be empty"},
        {LOG(T0, "", "INFO", "m", ""), "logs[0].service", "must not be empty"},
        {LOG(T0, "s", "INFO", "m", ",\"trace_id\":\"xyz\""), "logs[0].trace_id", "expected 32 hex digits"},
        {LOG(T0, "s", "INFO", "m", ",\"span_id\":\"0000000000000000\""), "logs[0].span_id", "all-zero"},
        {LOG(T0, "s", "INFO", "m", ",\"stack_trace\":[\"a\"]"), "logs[0].stack_trace", "expected a string"},
        {LOG(T0, "s", "INFO", "m", ",\"attributes\":true"), "logs[0].attributes", "expected an object"},
        {LOG(T0, "s", "INFO", "a\\u0000b", ""), "logs[0].message", "\\u0000 is not allowed"},
        {LOG(T0, "s", "INFO", "\\ud800", ""), "logs[0].message", "malformed JSON"},
        {LOG(T0, "s", "INFO", "\xc3\x28", ""), "logs[0].message", "malformed JSON"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
        refused(0, INGEST_LOGS, cases[i].body, 400, cases[i].path, cases[i].why);
    refused(0, INGEST_LOGS, "{\"logs\":[{\"service\":\"s\",\"level\":\"INFO\",\"message\":\"m\"}]}", 400,
            "logs[0].timestamp", "missing");
    refused(0, INGEST_LOGS, "{\"logs\":[{\"timestamp\":" T0 ",\"level\":\"INFO\",\"message\":\"m\"}]}", 400,
            "logs[0].service", "missing");
    refused(0, INGEST_LOGS, "{\"logs\":[{\"timestamp\":" T0 ",\"service\":\"s\",\"message\":\"m\"}]}", 400,
            "logs[0].level", "missing");
    refused(0, INGEST_LOGS, "{\"logs\":[{\"timestamp\":" T0 ",\"service\":\"s\",\"level\":\"INFO\"}]}", 400,
            "logs[0].message", "missing");
}
END_TEST

START_TEST(native_metric_and_event_rows)
{
    char *rows =
        rows_of(0, INGEST_METRICS,
                "{\"metrics\":[{\"timestamp\":" T0 ",\"service\":\"s\",\"name\":\"cpu\",\"value\":0.5,"
                "\"labels\":{\"host\":\"a\"}},{\"timestamp\":\"2026-11-23T00:00:00Z\",\"service\":\"s\","
                "\"name\":\"q\",\"value\":-12}]}",
                2);
    static const char *const m0[] = {T0, "s", "cpu", "0.5", "{\"host\":\"a\"}"};
    for (int c = 0; c < 5; c++)
        col_eq(rows, 0, c, m0[c]);
    col_eq(rows, 1, 3, "-12");
    col_eq(rows, 1, 4, "{}");
    free(rows);
    refused(0, INGEST_METRICS, "{\"metrics\":[{\"timestamp\":" T0 ",\"service\":\"s\",\"name\":\"m\"}]}", 400,
            "metrics[0].value", "missing");
    refused(0, INGEST_METRICS,
            "{\"metrics\":[{\"timestamp\":" T0 ",\"service\":\"s\",\"name\":\"m\",\"value\":\"12\"}]}", 400,
            "metrics[0].value", "expected a number");
    refused(0, INGEST_METRICS,
            "{\"metrics\":[{\"timestamp\":" T0
            ",\"service\":\"s\",\"name\":\"m\",\"value\":1,\"labels\":\"x\"}]}",
            400, "metrics[0].labels", "expected an object");
    refused(0, INGEST_METRICS, "{\"metrics\":[{\"timestamp\":" T0 ",\"service\":\"s\",\"value\":1}]}", 400,
            "metrics[0].name", "missing");

    rows =
        rows_of(0, INGEST_EVENTS,
                "{\"events\":[{\"timestamp\":" T0 ",\"type\":\"deploy\",\"service\":\"pay\",\"description\":"
                "\"v1.2 -> v1.3\",\"meta\":{\"version\":\"1.3\"}},{\"timestamp\":" T0
                ",\"type\":\"feature-flag flip\"}]}",
                2);
    static const char *const e0[] = {T0, "pay", "deploy", "v1.2 -> v1.3", "{\"version\":\"1.3\"}"};
    for (int c = 0; c < 5; c++)
        col_eq(rows, 0, c, e0[c]);
    static const char *const e1[] = {T0, "\\N", "feature-flag flip", "\\N", "{}"};
    for (int c = 0; c < 5; c++)
        col_eq(rows, 1, c, e1[c]);
    free(rows);
    refused(0, INGEST_EVENTS, "{\"events\":[{\"timestamp\":" T0 ",\"type\":\"\"}]}", 400, "events[0].type",
            "must not be empty");
    refused(0, INGEST_EVENTS, "{\"events\":[{\"timestamp\":" T0 "}]}", 400, "events[0].type", "missing");
    refused(0, INGEST_EVENTS, "{\"events\":[{\"type\":\"deploy\"}]}", 400, "events[0].timestamp", "missing");
    refused(0, INGEST_EVENTS, "{\"events\":[{\"timestamp\":" T0 ",\"type\":\"deploy\",\"service\":\"\"}]}",
            400, "events[0].service", "must not be empty");
    refused(0, INGEST_EVENTS, "{\"events\":[{\"timestamp\":" T0 ",\"type\":\"deploy\",\"meta\":[]}]}", 400,
            "events[0].meta", "expected an object");
}
END_TEST

/* ---------------- native limits and batch shape ---------------- */

/* A string field at its limit is accepted, one byte more is refused naming the field. */
static void string_limit(ingest_kind_t k, const char *fmt, size_t max, const char *path)
{
    for (size_t n = max; n <= max + 1; n++) {
        char *s = repeat('x', n), *body;
        ck_assert_int_ge(asprintf(&body, fmt, s), 0);
        ingest_batch_t b;
        ingest_err_t e;
        int rc = ingest_json_native(k, body, strlen(body), 10, 8 << 20, &b, &e);
        if (n == max) {
            ck_assert_msg(rc == 0, "%s at %zu refused: %s", path, n, e.reason);
            ingest_batch_dispose(&b);
        } else {
            ck_assert_msg(rc == -1 && e.status == 400 && strcmp(e.path, path) == 0, "%s at %zu: %d %s", path,
                          n, rc, e.path);
            ck_assert_msg(strstr(e.reason, "longer than"), "%s", e.reason);
        }
        free(s);
        free(body);
    }
}

START_TEST(native_string_limits)
{
    string_limit(INGEST_SPANS,
                 "{\"spans\":[{\"trace_id\":\"" TRACE "\",\"span_id\":\"" SPAN
                 "\",\"service\":\"%s\",\"name\":"
                 "\"n\",\"start_time\":" T0 ",\"end_time\":" T0 "}]}",
                 IJ_MAX_SERVICE, "spans[0].service");
    string_limit(INGEST_SPANS,
                 "{\"spans\":[{\"trace_id\":\"" TRACE "\",\"span_id\":\"" SPAN
                 "\",\"service\":\"s\",\"name\":"
                 "\"%s\",\"start_time\":" T0 ",\"end_time\":" T0 "}]}",
                 IJ_MAX_NAME, "spans[0].name");
    string_limit(INGEST_LOGS,
                 "{\"logs\":[{\"timestamp\":" T0
                 ",\"service\":\"s\",\"level\":\"INFO\",\"message\":\"%s\"}]}",
                 IJ_MAX_MESSAGE, "logs[0].message");
    string_limit(INGEST_LOGS,
                 "{\"logs\":[{\"timestamp\":" T0 ",\"service\":\"s\",\"level\":\"INFO\",\"message\":\"m\","
                 "\"stack_trace\":\"%s\"}]}",
                 IJ_MAX_STACK, "logs[0].stack_trace");
    string_limit(INGEST_METRICS,
                 "{\"metrics\":[{\"timestamp\":" T0 ",\"service\":\"%s\",\"name\":\"m\",\"value\":1}]}",
                 IJ_MAX_SERVICE, "metrics[0].service");
    string_limit(INGEST_EVENTS, "{\"events\":[{\"timestamp\":" T0 ",\"type\":\"%s\"}]}", IJ_MAX_TYPE,
                 "events[0].type");
    /* a level longer than any known one */
    char *lv = repeat('E', IJ_MAX_LEVEL + 1), *body;
    ck_assert_int_ge(asprintf(&body,
                              "{\"logs\":[{\"timestamp\":" T0
                              ",\"service\":\"s\",\"level\":\"%s\",\"message\":"
                              "\"m\"}]}",
                              lv),
                     0);
    refused(0, INGEST_LOGS, body, 400, "logs[0].level", "longer than 32 bytes");
    free(lv);
    free(body);
}
END_TEST

START_TEST(native_attribute_limits)
{
    /* nesting: 8 levels inside attributes are accepted, 9 are refused, wherever the object sits */
    const char *deep8 = "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":1}}}}}}}}";
    const char *deep9 = "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":1}}}}}}}}}";
    char extra[256], *body;
    snprintf(extra, sizeof(extra), "\"attributes\":%s", deep8);
    body = span_body(extra);
    free(rows_of(0, INGEST_SPANS, body, 1));
    free(body);
    snprintf(extra, sizeof(extra), "\"attributes\":%s", deep9);
    body = span_body(extra);
    refused(0, INGEST_SPANS, body, 400, "spans[0].attributes", "nested");
    free(body);
    snprintf(extra, sizeof(extra), "\"events\":[{\"name\":\"x\",\"time\":" T0 ",\"attributes\":%s}]", deep9);
    body = span_body(extra);
    refused(0, INGEST_SPANS, body, 400, "spans[0].events[0].attributes", "nested too deeply");
    free(body);
    ck_assert_int_ge(asprintf(&body,
                              "{\"metrics\":[{\"timestamp\":" T0
                              ",\"service\":\"s\",\"name\":\"m\",\"value\":1,"
                              "\"labels\":%s}]}",
                              deep9),
                     0);
    refused(0, INGEST_METRICS, body, 400, "metrics[0].labels", "nested");
    free(body);
    ck_assert_int_ge(
        asprintf(&body, "{\"events\":[{\"timestamp\":" T0 ",\"type\":\"t\",\"meta\":%s}]}", deep9), 0);
    refused(0, INGEST_EVENTS, body, 400, "events[0].meta", "nested");
    free(body);
    /* size: an attributes object over 64 KiB */
    char *big = repeat('v', IJ_MAX_ATTR_BYTES);
    ck_assert_int_ge(asprintf(&body,
                              "{\"logs\":[{\"timestamp\":" T0
                              ",\"service\":\"s\",\"level\":\"INFO\",\"message\":"
                              "\"m\",\"attributes\":{\"k\":\"%s\"}}]}",
                              big),
                     0);
    refused(0, INGEST_LOGS, body, 400, "logs[0].attributes", "larger than 65536 bytes");
    free(body);
    free(big);
}
END_TEST

START_TEST(native_batch_shape)
{
    const char *one_event = "{\"timestamp\":" T0 ",\"type\":\"deploy\"}";
    /* malformed JSON and wrong shapes */
    refused(0, INGEST_EVENTS, "", 400, "", "expected a JSON object");
    refused(0, INGEST_EVENTS, "[1]", 400, "", "expected a JSON object");
    refused(0, INGEST_EVENTS, "\"events\"", 400, "", "expected a JSON object");
    refused(0, INGEST_EVENTS, "{\"events\":[]} x", 400, "", "unexpected data after the JSON document");
    refused(0, INGEST_EVENTS, "{\"events\":[],}", 400, "", "malformed JSON at byte");
    refused(0, INGEST_EVENTS, "{\"events\":{}}", 400, "events", "expected an array");
    refused(0, INGEST_EVENTS, "{\"logs\":[]}", 400, "", "unknown field \"logs\"");
    refused(0, INGEST_EVENTS, "{}", 400, "events", "missing");
    /* our own API: an unknown field is an error naming it, at any level */
    char *unknown = span_body("\"unknown\":[1,{\"x\":2}]");
    refused(0, INGEST_SPANS, unknown, 400, "spans[0].unknown", "unknown field");
    free(unknown);
    refused(0, INGEST_EVENTS, "{\"events\":[", 400, "events", "malformed JSON at byte");
    refused(0, INGEST_EVENTS, "{\"events\":[{\"timestamp\":" T0 ",\"type\":\"deploy\"},{\"type\"", 400,
            "events[1]", "malformed JSON at byte");
    refused(0, INGEST_EVENTS, "{\"events\":[\"deploy\"]}", 400, "events[0]", "expected an object");
    /* an empty batch is valid; unknown fields are errors naming them (our own API: a typo must not
     * silently drop data) */
    free(rows_of(0, INGEST_EVENTS, "{\"events\":[]}", 0));
    refused(0, INGEST_EVENTS,
            "{\"events\":[{\"timestamp\":" T0 ",\"type\":\"deploy\",\"who\":{\"a\":[1,2,{\"b\":null}]}}]}",
            400, "events[0].who", "unknown field");
    refused(0, INGEST_EVENTS, "{\"v\":2,\"events\":[]}", 400, "", "unknown field \"v\"");

    /* records: at the limit accepted, one more refused with 413 naming the array */
    char body[4096] = "{\"events\":[";
    for (int i = 0; i < 5; i++) {
        if (i) strcat(body, ",");
        strcat(body, one_event);
    }
    strcat(body, "]}");
    ingest_batch_t b;
    ingest_err_t e;
    ck_assert_int_eq(ingest_json_native(INGEST_EVENTS, body, strlen(body), 5, 1 << 20, &b, &e), 0);
    ck_assert_int_eq(b.records, 5);
    ingest_batch_dispose(&b);
    ck_assert_int_eq(ingest_json_native(INGEST_EVENTS, body, strlen(body), 4, 1 << 20, &b, &e), -1);
    ck_assert_int_eq(e.status, 413);
    ck_assert_str_eq(e.path, "events");
    ck_assert_msg(strstr(e.reason, "at most 4"), "%s", e.reason);
    /* COPY bytes: over the cap is a 413 */
    ck_assert_int_eq(ingest_json_native(INGEST_EVENTS, body, strlen(body), 5, 200, &b, &e), -1);
    ck_assert_int_eq(e.status, 413);
    ck_assert_str_eq(e.path, "");
    /* the same bodies in each kind's array name that array */
    refused(0, INGEST_LOGS, "{\"logs\":7}", 400, "logs", "expected an array");
    refused(0, INGEST_METRICS, "{\"metrics\":null}", 400, "metrics", "expected an array");
    refused(0, INGEST_SPANS, "{\"events\":[]}", 400, "", "unknown field \"events\" (expected \"spans\")");
    refused(0, INGEST_SPANS, "{}", 400, "spans", "missing");
}
END_TEST

START_TEST(days_are_recorded_once_each)
{
    ingest_batch_t b;
    ingest_err_t e;
    const char *body = "{\"events\":[{\"timestamp\":\"2026-11-22T00:00:00Z\",\"type\":\"a\"},"
                       "{\"timestamp\":\"2026-11-22T23:59:59.999999999Z\",\"type\":\"a\"},"
                       "{\"timestamp\":\"2026-11-23T00:00:00Z\",\"type\":\"a\"},"
                       "{\"timestamp\":\"2026-11-22T12:00:00Z\",\"type\":\"a\"},"
                       "{\"timestamp\":\"2026-11-23T01:00:00+02:00\",\"type\":\"a\"}]}";
    ck_assert_int_eq(parse(INGEST_EVENTS, body, &b, &e), 0);
    ck_assert_int_eq(b.records, 5);
    ck_assert_int_eq(b.ndays, 2);
    ck_assert_int_eq(b.days[0], 20779); /* 2026-11-22 */
    ck_assert_int_eq(b.days[1], 20780);
    ingest_batch_dispose(&b);
    /* spans count their start */
    const char *sp = "{\"spans\":[{\"trace_id\":\"" TRACE "\",\"span_id\":\"" SPAN "\",\"service\":\"s\","
                     "\"name\":\"n\",\"start_time\":\"2026-11-22T23:59:59Z\",\"end_time\":"
                     "\"2026-11-23T00:00:01Z\"}]}";
    ck_assert_int_eq(parse(INGEST_SPANS, sp, &b, &e), 0);
    ck_assert_int_eq(b.ndays, 1);
    ck_assert_int_eq(b.days[0], 20779);
    ingest_batch_dispose(&b);
}
END_TEST

/* ---------------- duplicate hashes ---------------- */

START_TEST(duplicate_hash_is_stable_and_sensitive)
{
    const char *a =
        "{\"logs\":[{\"timestamp\":\"2026-11-22T14:32:05Z\",\"service\":\"s\",\"level\":\"ERROR\","
        "\"message\":\"boom\",\"trace_id\":\"5b8efff798038103d269b633813fc60c\"}]}";
    const char *b2 =
        "{\"logs\":[{\"timestamp\":\"2026-11-22T14:32:05Z\",\"service\":\"s\",\"level\":\"ERROR\","
        "\"message\":\"boom!\",\"trace_id\":\"5b8efff798038103d269b633813fc60c\"}]}";
    ingest_batch_t x, y, z;
    ingest_err_t e;
    ck_assert_int_eq(parse(INGEST_LOGS, a, &x, &e), 0);
    ck_assert_int_eq(parse(INGEST_LOGS, a, &y, &e), 0);
    ck_assert_int_eq(parse(INGEST_LOGS, b2, &z, &e), 0);
    ck_assert_str_eq(x.copy.data, y.copy.data);
    char *hx = ts_copy_column(x.copy.data, 0, 9), *hz = ts_copy_column(z.copy.data, 0, 9);
    ck_assert_str_ne(hx, hz);
    free(hx);
    free(hz);
    ck_assert_int_eq(x.nerror_traces, 1); /* an ERROR log with a trace id schedules the trace */
    ingest_batch_dispose(&x);
    ingest_batch_dispose(&y);
    ingest_batch_dispose(&z);
}
END_TEST

/* Every variant must hash differently from the base and from each other; the same record sent again
 * (even with the time written differently, or the id in another case) hashes the same. */
static void hashes_differ(ingest_kind_t k, const char *base, const char *same, const char *const *variants,
                          size_t n)
{
    char *h0 = hash_of(0, k, base), *h1 = hash_of(0, k, same);
    ck_assert_str_eq(h0, h1);
    char **hs = calloc(n, sizeof(*hs));
    for (size_t i = 0; i < n; i++) {
        hs[i] = hash_of(0, k, variants[i]);
        ck_assert_msg(strcmp(hs[i], h0) != 0, "variant %zu hashes like the base: %s", i, variants[i]);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(hs[i], hs[j]) != 0, "variants %zu and %zu collide", i, j);
    }
    for (size_t i = 0; i < n; i++)
        free(hs[i]);
    free(hs);
    free(h0);
    free(h1);
}

START_TEST(log_hash_covers_every_field)
{
    static const char *const variants[] = {
        LOG(T0, "s", "ERROR", "m", ",\"trace_id\":\"" TRACE "\""),
        LOG(T0, "s", "ERROR", "m", ",\"span_id\":\"" SPAN "\""),
        LOG(T0, "s", "ERROR", "m", ",\"stack_trace\":\"E\""),
        LOG(T0, "s", "ERROR", "m", ",\"attributes\":{\"a\":1}"),
        LOG(T0, "s", "ERROR", "m", ",\"attributes\":{\"a\":2}"),
        LOG(T0, "s", "ERROR", "m2", ""),
        LOG(T0, "s", "WARN", "m", ""), /* the severity counts, not the level's spelling (ERR = ERROR) */
        LOG(T0, "s2", "ERROR", "m", ""),
        LOG("1795357925000000001", "s", "ERROR", "m", ""),
        LOG(T0, "s", "ERROR", "", ",\"stack_trace\":\"m\""), /* content moved between fields */
    };
    hashes_differ(INGEST_LOGS, LOG(T0, "s", "ERROR", "m", ""),
                  LOG("\"2026-11-22T16:32:05+02:00\"", "s", "ERROR", "m", ""), variants,
                  sizeof(variants) / sizeof(*variants));
    /* ids are hashed in their stored (lowercase hex) form */
    char *h1 = hash_of(0, INGEST_LOGS, LOG(T0, "s", "ERROR", "m", ",\"trace_id\":\"" TRACE "\""));
    char *h2 =
        hash_of(0, INGEST_LOGS, LOG(T0, "s", "ERROR", "m", ",\"trace_id\":\"W47/95gDgQPSabYzgT/GDA==\""));
    ck_assert_str_eq(h1, h2);
    free(h1);
    free(h2);
}
END_TEST

#define METRIC(ts, svc, name, value, extra)                                                                  \
    "{\"metrics\":[{\"timestamp\":" ts ",\"service\":\"" svc "\",\"name\":\"" name                           \
    "\",\"value\":" value extra "}]}"

START_TEST(metric_hash_covers_every_field)
{
    static const char *const variants[] = {
        METRIC(T0, "s", "m", "1.5", ",\"labels\":{\"a\":\"1\"}"),
        METRIC(T0, "s", "m", "1.5", ",\"labels\":{\"a\":\"2\"}"),
        METRIC(T0, "s", "m", "1.25", ""),
        METRIC(T0, "s", "m2", "1.5", ""),
        METRIC(T0, "s2", "m", "1.5", ""),
        METRIC("1795357925000000001", "s", "m", "1.5", ""),
    };
    hashes_differ(INGEST_METRICS, METRIC(T0, "s", "m", "1.5", ""),
                  METRIC("\"2026-11-22T14:32:05Z\"", "s", "m", "15e-1", ""), variants,
                  sizeof(variants) / sizeof(*variants));
}
END_TEST

#define EVENT(ts, extra) "{\"events\":[{\"timestamp\":" ts ",\"type\":\"deploy\"" extra "}]}"

START_TEST(event_hash_covers_every_field)
{
    static const char *const variants[] = {
        EVENT(T0, ",\"service\":\"s\""),
        EVENT(T0, ",\"description\":\"s\""),
        EVENT(T0, ",\"meta\":{\"v\":1}"),
        EVENT(T0, ",\"meta\":{\"v\":2}"),
        "{\"events\":[{\"timestamp\":" T0 ",\"type\":\"config\"}]}",
        EVENT("1795357925000000001", ""),
    };
    hashes_differ(INGEST_EVENTS, EVENT(T0, ""), EVENT("\"2026-11-22T14:32:05.000Z\"", ""), variants,
                  sizeof(variants) / sizeof(*variants));
}
END_TEST

START_TEST(found_in_review_infinity_events)
{
    ingest_batch_t b;
    ingest_err_t e;
    /* a metric value of 1e999 is infinity: refused, not stored */
    const char *m = "{\"metrics\":[{\"timestamp\":1764000000000000000,\"service\":\"s\",\"name\":\"m\","
                    "\"value\":1e999}]}";
    ck_assert_int_eq(ingest_json_native(INGEST_METRICS, m, strlen(m), 10, 1 << 20, &b, &e), -1);
    ck_assert_str_eq(e.path, "metrics[0].value");
    /* events past their buffer: 413, never truncated JSON */
    size_t n = 60000;
    char *big = malloc(n * 120 + 512);
    size_t o =
        (size_t)sprintf(big, "{\"spans\":[{\"trace_id\":\"5b8efff798038103d269b633813fc60c\",\"span_id\":"
                             "\"eee19b7ec3c1b174\",\"service\":\"s\",\"name\":\"n\",\"start_time\":"
                             "1764000000000000000,\"end_time\":1764000000000000001,\"events\":[");
    for (size_t i = 0; i < n; i++)
        o += (size_t)sprintf(big + o,
                             "%s{\"name\":\"event-with-a-long-name-%06zu\",\"time\":1764000000000000000}",
                             i ? "," : "", i);
    strcpy(big + o, "]}]}");
    int rc = ingest_json_native(INGEST_SPANS, big, strlen(big), 10, (size_t)1 << 30, &b, &e);
    if (rc == 0) {
        /* accepted only if the events JSON is whole */
        ck_assert_ptr_nonnull(strstr(b.copy.data, "000000}]"));
        ingest_batch_dispose(&b);
    } else {
        ck_assert_int_eq(e.status, 413);
    }
    free(big);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ingest_parse");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, scanner_accepts_json_and_refuses_the_rest);
    tcase_add_test(tc, copy_escaping);
    tcase_add_test(tc, native_span_row_and_error_signal);
    tcase_add_test(tc, native_span_columns);
    tcase_add_test(tc, native_span_errors_name_the_path);
    tcase_add_test(tc, native_times);
    tcase_add_test(tc, native_log_rows_and_severity);
    tcase_add_test(tc, native_log_error_signal_needs_a_trace);
    tcase_add_test(tc, native_log_errors_name_the_path);
    tcase_add_test(tc, native_metric_and_event_rows);
    tcase_add_test(tc, native_string_limits);
    tcase_add_test(tc, native_attribute_limits);
    tcase_add_test(tc, native_batch_shape);
    tcase_add_test(tc, days_are_recorded_once_each);
    tcase_add_test(tc, duplicate_hash_is_stable_and_sensitive);
    tcase_add_test(tc, log_hash_covers_every_field);
    tcase_add_test(tc, metric_hash_covers_every_field);
    tcase_add_test(tc, event_hash_covers_every_field);
    tcase_add_test(tc, found_in_review_infinity_events);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
