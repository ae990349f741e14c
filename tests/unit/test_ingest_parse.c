/* Ingest parsing without servers: timestamps, ids, the JSON scanner, our formats and OTLP, with the
 * exact error paths, COPY escaping and duplicate-hash behaviour. */
#include "hexid.h"
#include "ingest_json.h"
#include "jscan.h"
#include "rfc3339.h"

#include "ts.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(ingest_kind_t k, const char *body, ingest_batch_t *b, ingest_err_t *e)
{
    return ingest_json_native(k, body, strlen(body), 1000, 1 << 20, b, e);
}

START_TEST(rfc3339_offsets_fractions_and_ranges)
{
    int64_t a, b;
    const char *why;
    ck_assert_int_eq(rfc3339_parse("2026-11-22T14:32:05Z", 20, &a, &why), 0);
    ck_assert_int_eq(rfc3339_parse("2026-11-22T16:32:05.000000000+02:00", 35, &b, &why), 0);
    ck_assert_int_eq(a, b);
    ck_assert_int_eq(rfc3339_parse("2026-11-22t14:32:05.123456789z", 30, &b, &why), 0);
    ck_assert_int_eq(b - a, 123456789);
    ck_assert_int_eq(rfc3339_parse("2026-11-22 14:32:05.5-00:30", 27, &b, &why), 0);
    ck_assert_int_eq(b - a, 1800LL * 1000000000 + 500000000);
    ck_assert_int_eq(rfc3339_parse("2026-02-30T00:00:00Z", 20, &b, &why), -1);
    ck_assert_int_eq(rfc3339_parse("2026-11-22T14:32:05", 19, &b, &why), -1);
    ck_assert_int_eq(rfc3339_parse("2026-11-22T14:32:05.1234567891Z", 31, &b, &why), -1);
    ck_assert_int_eq(rfc3339_parse("1970-01-01T00:00:00Z", 20, &b, &why), -1); /* outside the sane range */
    ck_assert_int_eq(epoch_ns_parse("1764000000000000000", 19, &b, &why), 0);
    ck_assert_int_eq(epoch_ns_parse("1764000000", 10, &b, &why), -1); /* seconds, not ns */
    /* found by fuzzing: 19 digits above INT64_MAX overflowed */
    ck_assert_int_eq(epoch_ns_parse("9535792504017952017", 19, &b, &why), -1);
    char out[40];
    rfc3339_format(a + 7, out, sizeof(out));
    ck_assert_str_eq(out, "2026-11-22T14:32:05.000000007Z");
}
END_TEST

START_TEST(ids_hex_base64_traceparent)
{
    char t[33], s[17];
    const char *why;
    ck_assert_int_eq(hexid_parse("5B8EFFF798038103D269B633813FC60C", 32, 16, t, &why), 0);
    ck_assert_str_eq(t, "5b8efff798038103d269b633813fc60c");
    ck_assert_int_eq(hexid_parse("W47/95gDgQPSabYzgT/GDA==", 24, 16, t, &why), 0);
    ck_assert_str_eq(t, "5b8efff798038103d269b633813fc60c");
    ck_assert_int_eq(hexid_parse("7uGbfsPBsXQ=", 12, 8, s, &why), 0);
    ck_assert_str_eq(s, "eee19b7ec3c1b174");
    ck_assert_int_eq(hexid_parse("00000000000000000000000000000000", 32, 16, t, &why), -1);
    ck_assert_int_eq(hexid_parse("xyz", 3, 16, t, &why), -1);
    int sampled;
    ck_assert_int_eq(
        traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 55, t, s, &sampled), 0);
    ck_assert_str_eq(s, "00f067aa0ba902b7");
    ck_assert_int_eq(sampled, 1);
    ck_assert_int_eq(
        traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", 55, t, s, &sampled), -1);
    char tp[56];
    traceparent_format("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", tp);
    ck_assert_str_eq(tp, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}
END_TEST

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

START_TEST(native_span_row_and_error_signal)
{
    ingest_batch_t b;
    ingest_err_t e;
    const char *body =
        "{\"spans\":[{\"trace_id\":\"5B8EFFF798038103D269B633813FC60C\",\"span_id\":\"eee19b7ec3c1b174\","
        "\"service\":\"pay\\tment\",\"name\":\"POST /charge\",\"kind\":\"server\",\"start_time\":"
        "\"2026-11-22T14:32:05Z\",\"end_time\":1795365125500000000,\"status\":\"ERROR\",\"attributes\":"
        "{\"a\":\"x\\\\y\"},\"events\":[{\"name\":\"exception\",\"time\":\"2026-11-22T14:32:05.1Z\","
        "\"attributes\":{\"exception.type\":\"E\"}}],\"unknown\":[1,{\"x\":2}]}]}";
    ck_assert_int_eq(parse(INGEST_SPANS, body, &b, &e), 0);
    ck_assert_int_eq(b.records, 1);
    ck_assert_int_eq(b.nerror_traces, 1);
    ck_assert_str_eq(b.error_traces[0], "5b8efff798038103d269b633813fc60c");
    ck_assert_int_eq(b.ndays, 1);
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

START_TEST(native_errors_name_the_path)
{
    ingest_batch_t b;
    ingest_err_t e;
    struct {
        const char *body, *path;
        int status;
    } cases[] = {
        {"{\"spans\":[{}]}", "spans[0].trace_id", 400},
        {"{\"spans\":{}}", "spans", 400},
        {"{\"logs\":[]}", "spans", 400},
        {"[1]", "", 400},
        {"{\"spans\":[{\"trace_id\":\"5b8efff798038103d269b633813fc60c\",\"span_id\":\"eee19b7ec3c1b174\","
         "\"service\":\"s\",\"name\":\"n\",\"start_time\":\"2026-11-22T14:32:05Z\",\"end_time\":\"2026-11-"
         "22T14:32:04Z\"}]}",
         "spans[0].end_time", 400},
        {"{\"spans\":[{\"trace_id\":\"5b8efff798038103d269b633813fc60c\",\"span_id\":\"eee19b7ec3c1b174\","
         "\"service\":\"s\",\"name\":\"n\",\"start_time\":\"2026-11-22T14:32:05Z\",\"end_time\":\"2026-11-"
         "22T14:32:06Z\","
         "\"events\":[{\"name\":\"e\"}]}]}",
         "spans[0].events[0].time", 400},
        {"{\"spans\":[{\"trace_id\":\"5b8efff798038103d269b633813fc60c\",\"span_id\":12}]}",
         "spans[0].span_id", 400},
        {"{\"spans\":[{\"trace_id\":\"5b8efff798038103d269b633813fc60c\",\"span_id\":\"eee19b7ec3c1b174\","
         "\"service\":\"s\",\"name\":\"n\",\"start_time\":\"2026-11-22T14:32:05Z\",\"end_time\":\"2026-11-"
         "22T14:32:06Z\","
         "\"attributes\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":1}}}}}}}}}}]}",
         "spans[0].attributes", 400},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        ck_assert_msg(parse(INGEST_SPANS, cases[i].body, &b, &e) == -1, "case %zu accepted", i);
        ck_assert_msg(strcmp(e.path, cases[i].path) == 0, "case %zu: path %s (%s)", i, e.path, e.reason);
        ck_assert_int_eq(e.status, cases[i].status);
    }
    ck_assert_int_eq(
        parse(INGEST_LOGS,
              "{\"logs\":[{\"timestamp\":\"2026-11-22T14:32:05Z\",\"service\":\"s\",\"level\":\"LOUD\","
              "\"message\":\"m\"}]}",
              &b, &e),
        -1);
    ck_assert_str_eq(e.path, "logs[0].level");
    ck_assert_int_eq(
        parse(INGEST_METRICS,
              "{\"metrics\":[{\"timestamp\":\"2026-11-22T14:32:05Z\",\"service\":\"s\",\"name\":\"m\","
              "\"value\":\"12\"}]}",
              &b, &e),
        -1);
    ck_assert_str_eq(e.path, "metrics[0].value");
    /* too many records is a 413 */
    char *many = malloc(200000);
    strcpy(many, "{\"events\":[");
    for (int i = 0; i < 1001; i++)
        strcat(many, i ? ",{\"timestamp\":1764000000000000000,\"type\":\"deploy\"}"
                       : "{\"timestamp\":1764000000000000000,\"type\":\"deploy\"}");
    strcat(many, "]}");
    ck_assert_int_eq(parse(INGEST_EVENTS, many, &b, &e), -1);
    ck_assert_int_eq(e.status, 413);
    free(many);
}
END_TEST

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
    const char *hx = x.copy.data + x.copy.len - 33, *hz = z.copy.data + z.copy.len - 33;
    ck_assert(memcmp(hx, hz, 32) != 0);
    ck_assert_int_eq(x.nerror_traces, 1); /* an ERROR log with a trace id schedules the trace */
    ingest_batch_dispose(&x);
    ingest_batch_dispose(&y);
    ingest_batch_dispose(&z);
}
END_TEST

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

START_TEST(otlp_fixtures)
{
    ingest_batch_t b;
    ingest_err_t e;
    char *t = fixture("traces.json");
    ck_assert_msg(ingest_json_otlp(INGEST_SPANS, t, strlen(t), 1000, 1 << 20, &b, &e) == 0, "%s %s", e.path,
                  e.reason);
    ck_assert_int_eq(b.records, 3);
    ck_assert_int_eq(b.nerror_traces, 1);
    ck_assert_msg(strstr(b.copy.data, "\tcheckout\tcharge card\tINTERNAL\t"), "%s", b.copy.data);
    ck_assert_msg(strstr(b.copy.data, "exception.stacktrace"), "%s", b.copy.data);
    ck_assert_msg(strstr(b.copy.data,
                         "5b8efff798038103d269b633813fc60c\teee19b7ec3c1b176\teee19b7ec3c1b174\tinventory"),
                  "base64 ids: %s", b.copy.data);
    ingest_batch_dispose(&b);
    free(t);
    t = fixture("logs.json");
    ck_assert_int_eq(ingest_json_otlp(INGEST_LOGS, t, strlen(t), 1000, 1 << 20, &b, &e), 0);
    ck_assert_int_eq(b.records, 2);
    ck_assert_int_eq(b.nerror_traces, 1);
    ingest_batch_dispose(&b);
    free(t);
    t = fixture("metrics.json");
    ck_assert_int_eq(ingest_json_otlp(INGEST_METRICS, t, strlen(t), 1000, 1 << 20, &b, &e), 0);
    ck_assert_int_eq(b.records, 2 + 2 + 3); /* gauge, sum, histogram count+sum+3 buckets */
    ck_assert_msg(strstr(b.copy.data, "9007199254740992"), "asInt as string: %s", b.copy.data);
    ck_assert_msg(strstr(b.copy.data, "\"le\":\"+Inf\""), "%s", b.copy.data);
    ingest_batch_dispose(&b);
    free(t);
    const char *empty_span = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{}]}]}]}";
    ck_assert_int_eq(ingest_json_otlp(INGEST_SPANS, empty_span, strlen(empty_span), 10, 1 << 20, &b, &e), -1);
    ck_assert_str_eq(e.path, "resourceSpans[0].scopeSpans[0].spans[0].traceId");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ingest_parse");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, rfc3339_offsets_fractions_and_ranges);
    tcase_add_test(tc, ids_hex_base64_traceparent);
    tcase_add_test(tc, scanner_accepts_json_and_refuses_the_rest);
    tcase_add_test(tc, native_span_row_and_error_signal);
    tcase_add_test(tc, native_errors_name_the_path);
    tcase_add_test(tc, duplicate_hash_is_stable_and_sensitive);
    tcase_add_test(tc, otlp_fixtures);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
