/* REDACT_AT_INGEST in the record layer (ingest_record.c), pure: with the limits' `redact` set, secrets
 * are gone from every stored text (log messages, structured bodies, stack traces, attributes, span
 * names, status messages, events, links, metric labels, change events, resources) before the COPY row
 * is written; identities are computed on the redacted text, so one log sent as our JSON and as OTLP JSON
 * is still one record; without the option every byte is kept. */
#include "ingest_batch.h"
#include "ingest_json.h"
#include "ingest_otlp_proto.h"
#include "ts.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define TRACE "5b8efff798038103d269b633813fc60c"
#define T0 "1795357925000000000" /* 2026-11-22T14:32:05Z */
#define CARD "4111 1111 1111 1111"
#define TOKEN "tok3nAbCdEf0123456789"
#define PASSWORD "hunter2-s3cr3t"
#define SECRETS "card " CARD " auth Bearer " TOKEN " login password=" PASSWORD

static const char *const secrets[] = {CARD, TOKEN, PASSWORD};

/* The rows (and resources) of `body` parsed with redaction on or off; caller frees. */
static char *rows(int otlp, ingest_kind_t k, const char *body, int redact, char **resources)
{
    ingest_limits_t limits = ingest_limits_default(100, 1 << 20);
    limits.redact = redact;
    ingest_batch_t b;
    ingest_err_t e;
    int rc = otlp ? ingest_json_otlp_limited(k, body, strlen(body), &limits, &b, &e)
                  : ingest_json_native_limited(k, body, strlen(body), &limits, &b, &e);
    ck_assert_msg(rc == 0, "refused (%d %s: %s): %s", e.status, e.path, e.reason, body);
    ck_assert_msg(b.rejected == 0, "rejected: %s %s", b.first_rejection.path, b.first_rejection.reason);
    char *s = strdup(b.copy.data ? b.copy.data : "");
    if (resources) *resources = strdup(b.resources.data ? b.resources.data : "");
    ingest_batch_dispose(&b);
    return s;
}

static void no_secret(const char *text)
{
    for (size_t i = 0; i < sizeof(secrets) / sizeof(*secrets); i++)
        ck_assert_msg(strstr(text, secrets[i]) == NULL, "%s survived in: %s", secrets[i], text);
}

static void every_secret(const char *text)
{
    for (size_t i = 0; i < sizeof(secrets) / sizeof(*secrets); i++)
        ck_assert_msg(strstr(text, secrets[i]) != NULL, "%s missing from: %s", secrets[i], text);
}

/* Column `name` of row 0 (ingest_batch_columns() order). */
static char *cell(const char *copy, ingest_kind_t k, const char *name)
{
    const char *list = ingest_batch_columns(k);
    int i = 0;
    size_t n = strlen(name);
    for (const char *p = list; *p; i++) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, name, n) == 0) return ts_copy_column(copy, 0, i);
        p += len;
        while (*p == ',' || *p == ' ')
            p++;
    }
    ck_abort_msg("no column %s", name);
    return NULL;
}

#define ATTR(k, v) "{\"key\":\"" k "\",\"value\":" v "}"
#define SVAL(s) "{\"stringValue\":\"" s "\"}"
#define RES                                                                                                  \
    "\"resource\":{\"attributes\":[" ATTR("service.name", SVAL("pay")) "," ATTR("process.command_line",      \
                                                                                SVAL(SECRETS)) "]}"

START_TEST(logs_of_both_formats_redacted_and_still_one_record)
{
    const char *native =
        "{\"logs\":[{\"timestamp\":" T0 ",\"service\":\"pay\",\"level\":\"ERROR\",\"message\":\"" SECRETS
        "\",\"trace_id\":\"" TRACE "\",\"stack_trace\":\"at x(" SECRETS ")\",\"attributes\":"
        "{\"note\":\"" SECRETS "\",\"password\":12345}}]}";
    const char *otlp = "{\"resourceLogs\":[{\"resource\":{\"attributes\":[" ATTR(
        "service.name",
        SVAL("pay")) "]},\"scopeLogs\":[{"
                     "\"logRecords\":[{\"timeUnixNano\":\"" T0 "\",\"severityText\":\"ERROR\",\"body\":" SVAL(
                         SECRETS) ","
                                  "\"traceId\":\"" TRACE "\",\"attributes\":[" ATTR(
                                      "exception.stacktrace",
                                      SVAL("at x(" SECRETS
                                           ")")) "," ATTR("note",
                                                          SVAL(SECRETS)) "," ATTR("password",
                                                                                  "{\"intValue\":"
                                                                                  "\"12345\"}") "]}]}]}]}";
    char *n_on = rows(0, INGEST_LOGS, native, 1, NULL), *o_on = rows(1, INGEST_LOGS, otlp, 1, NULL);
    no_secret(n_on);
    no_secret(o_on);
    char *msg = cell(n_on, INGEST_LOGS, "message"), *attrs = cell(n_on, INGEST_LOGS, "attributes");
    ck_assert_str_eq(msg,
                     "card [REDACTED:card] auth Bearer [REDACTED:token] login password=[REDACTED:secret]");
    /* a key that names a secret loses its value whatever its type */
    ck_assert_msg(strstr(attrs, "\"password\":\"[REDACTED:secret]\"") != NULL, "attributes: %s", attrs);
    ck_assert_msg(strstr(attrs, "12345") == NULL, "attributes: %s", attrs);
    char *h1 = cell(n_on, INGEST_LOGS, "content_hash"), *h2 = cell(o_on, INGEST_LOGS, "content_hash");
    ck_assert_str_eq(h1, h2); /* hashed on the redacted form, alike in both formats */
    char *n_off = rows(0, INGEST_LOGS, native, 0, NULL);
    every_secret(n_off);
    char *h3 = cell(n_off, INGEST_LOGS, "content_hash");
    ck_assert_str_ne(h1, h3);
    free(msg), free(attrs), free(h1), free(h2), free(h3), free(n_on), free(o_on), free(n_off);
}
END_TEST

START_TEST(a_structured_body_and_the_resource_redacted)
{
    const char *otlp =
        "{\"resourceLogs\":[{" RES ",\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"" T0 "\","
        "\"severityNumber\":9,\"body\":{\"kvlistValue\":{\"values\":[" ATTR("text", SVAL(SECRETS)) "," ATTR(
            "api_key", SVAL("abc")) "," ATTR("list",
                                             "{\"arrayValue\":{\"values\":[" SVAL(CARD) "]}}") "]}}}]}]}]}";
    char *res_on, *res_off;
    char *on = rows(1, INGEST_LOGS, otlp, 1, &res_on), *off = rows(1, INGEST_LOGS, otlp, 0, &res_off);
    no_secret(on);
    no_secret(res_on);
    char *body = cell(on, INGEST_LOGS, "body");
    ck_assert_msg(strstr(body, "\"api_key\":\"[REDACTED:secret]\"") && strstr(body, "[\"[REDACTED:card]\"]"),
                  "body: %s", body);
    every_secret(off);
    every_secret(res_off);
    /* the resource is identified by its stored (redacted) form */
    char *r1 = ts_copy_column(res_on, 0, 0), *r2 = ts_copy_column(res_off, 0, 0);
    ck_assert_str_ne(r1, r2);
    free(body), free(r1), free(r2), free(on), free(off), free(res_on), free(res_off);
}
END_TEST

START_TEST(spans_events_links_metrics_and_changes_redacted)
{
    const char *spans =
        "{\"spans\":[{\"trace_id\":\"" TRACE
        "\",\"span_id\":\"00000000000000a1\",\"service\":\"pay\",\"name\":\"GET "
        "/p?token=" TOKEN "\",\"start_time\":" T0 ",\"end_time\":" T0
        ",\"status\":\"ERROR\",\"status_message\":\"" SECRETS "\",\"attributes\":{\"url\":\"" SECRETS
        "\"},\"events\":[{\"name\":\"exception\",\"time\":" T0 ","
        "\"attributes\":{\"exception.message\":\"" SECRETS "\",\"exception.stacktrace\":\"" SECRETS
        "\"}}]}]}";
    char *on = rows(0, INGEST_SPANS, spans, 1, NULL), *off = rows(0, INGEST_SPANS, spans, 0, NULL);
    no_secret(on);
    every_secret(off);
    char *name = cell(on, INGEST_SPANS, "name"), *events = cell(on, INGEST_SPANS, "events");
    ck_assert_str_eq(name, "GET /p?token=[REDACTED:secret]");
    /* the stored shape is kept: name, time, attributes; the trace id of a link is no secret */
    ck_assert_msg(strncmp(events, "[{\"name\":\"exception\",\"time_ns\":" T0 ",\"attributes\":{", 50) == 0,
                  "events: %s", events);
    free(name), free(events), free(on), free(off);
    const char *links =
        "{\"resourceSpans\":[{" RES ",\"scopeSpans\":[{\"spans\":[{\"traceId\":\"" TRACE "\",\"spanId\":"
        "\"00000000000000b1\",\"name\":\"x\",\"startTimeUnixNano\":\"" T0 "\",\"endTimeUnixNano\":\"" T0 "\","
        "\"links\":[{\"traceId\":\"" TRACE
        "\",\"spanId\":\"00000000000000c1\",\"attributes\":[" ATTR("why", SVAL(SECRETS)) "]}]}]}]}]}";
    on = rows(1, INGEST_SPANS, links, 1, NULL);
    no_secret(on);
    char *l = cell(on, INGEST_SPANS, "links");
    ck_assert_msg(strstr(l, "\"trace_id\":\"" TRACE "\"") && strstr(l, "[REDACTED:card]"), "links: %s", l);
    free(l), free(on);
    const char *metrics =
        "{\"metrics\":[{\"timestamp\":" T0 ",\"service\":\"pay\",\"name\":\"m\",\"value\":1,"
        "\"labels\":{\"who\":\"" SECRETS "\"}}]}";
    const char *changes = "{\"events\":[{\"timestamp\":" T0 ",\"service\":\"pay\",\"type\":\"deploy\","
                          "\"description\":\"" SECRETS "\",\"meta\":{\"by\":\"" SECRETS "\"}}]}";
    on = rows(0, INGEST_METRICS, metrics, 1, NULL);
    no_secret(on);
    free(on);
    on = rows(0, INGEST_EVENTS, changes, 1, NULL);
    no_secret(on);
    off = rows(0, INGEST_EVENTS, changes, 0, NULL);
    every_secret(off);
    free(on), free(off);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ingest_redact");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, logs_of_both_formats_redacted_and_still_one_record);
    tcase_add_test(tc, a_structured_body_and_the_resource_redacted);
    tcase_add_test(tc, spans_events_links_metrics_and_changes_redacted);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
