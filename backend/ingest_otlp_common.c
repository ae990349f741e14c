/* OTLP semantics shared by the protobuf and JSON encodings (see ingest_otlp_common.h). */
#include "ingest_otlp_common.h"

#include "jwrite.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define STACK_KEY "exception.stacktrace"
#define SERVICE_KEY "service.name"

int ingest_otlp_fail(ingest_err_t *err, int status, const char *path, const char *fmt, ...)
{
    err->status = status;
    snprintf(err->path, sizeof(err->path), "%s", path ? path : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
    va_end(ap);
    return -1;
}

static int istr_eq(istr_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.s != NULL && s.n == n && memcmp(s.s, lit, n) == 0;
}

/* ---------------- AnyValue → JSON ---------------- */

/* 0, -1 when out is full, -2 when too deep. Leaves partial text on failure (the caller rolls back). */
static int any_json(buf_t *out, const otlp_any_ops_t *ops, const void *v, int depth);

static int kv_json(buf_t *out, const otlp_any_ops_t *ops, const void *list, size_t n, istr_t *stack,
                   int depth)
{
    if (jw_char(out, '{') != 0) return -1;
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        istr_t key;
        const void *val = ops->kv_item(list, i, &key);
        if (key.s == NULL) continue;
        if (stack != NULL && istr_eq(key, STACK_KEY)) {
            otlp_any_t a;
            ops->read(val, &a);
            if (a.type == OTLP_ANY_STRING) {
                *stack = a.str;
                continue;
            }
        }
        if ((!first && jw_char(out, ',') != 0) || jw_string(out, key.s, key.n) != 0 || jw_char(out, ':') != 0)
            return -1;
        first = 0;
        int rc = any_json(out, ops, val, depth + 1);
        if (rc != 0) return rc;
    }
    return jw_char(out, '}');
}

static int any_json(buf_t *out, const otlp_any_ops_t *ops, const void *v, int depth)
{
    if (depth > OTLP_ANY_MAX_DEPTH) return -2;
    otlp_any_t a;
    ops->read(v, &a);
    switch (a.type) {
    case OTLP_ANY_STRING:
        return jw_string(out, a.str.s, a.str.n);
    case OTLP_ANY_BOOL:
        return jw_bool(out, a.b);
    case OTLP_ANY_INT:
        return jw_i64(out, a.i);
    case OTLP_ANY_INT_TEXT:
        return jw_raw(out, a.str.s, a.str.n);
    case OTLP_ANY_DOUBLE:
        return jw_double(out, a.d);
    case OTLP_ANY_BYTES:
        return jw_base64(out, a.str.s, a.str.n);
    case OTLP_ANY_ARRAY:
        if (jw_char(out, '[') != 0) return -1;
        for (size_t i = 0; i < a.n; i++) {
            if (i > 0 && jw_char(out, ',') != 0) return -1;
            int rc = any_json(out, ops, ops->array_item(a.list, i), depth + 1);
            if (rc != 0) return rc;
        }
        return jw_char(out, ']');
    case OTLP_ANY_KVLIST:
        return kv_json(out, ops, a.list, a.n, NULL, depth);
    case OTLP_ANY_EMPTY:
        break;
    }
    return jw_raw(out, "null", 4);
}

static int conversion_result(buf_t *out, size_t mark, int rc, const char *path, ingest_err_t *err)
{
    if (rc == 0) return 0;
    out->len = mark;
    if (out->data) out->data[mark] = '\0';
    if (rc == -2) return ingest_otlp_fail(err, 400, path, "nested deeper than %d levels", OTLP_ANY_MAX_DEPTH);
    return ingest_otlp_fail(err, 400, path, "longer than %zu bytes", out->max);
}

int ingest_otlp_any_json(buf_t *out, const otlp_any_ops_t *ops, const void *v, const char *path,
                         ingest_err_t *err)
{
    size_t mark = out->len;
    return conversion_result(out, mark, any_json(out, ops, v, 0), path, err);
}

int ingest_otlp_attrs_json(buf_t *out, const otlp_any_ops_t *ops, const void *list, size_t n, istr_t *stack,
                           const char *path, ingest_err_t *err)
{
    size_t mark = out->len;
    if (stack) *stack = ISTR_NONE;
    int rc = kv_json(out, ops, list, n, stack, 0);
    if (rc != 0 && stack) *stack = ISTR_NONE;
    return conversion_result(out, mark, rc, path, err);
}

/* ---------------- resource, severity, body, span ---------------- */

istr_t ingest_otlp_service(const otlp_any_ops_t *ops, const void *attrs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        istr_t key;
        const void *val = ops->kv_item(attrs, i, &key);
        if (!istr_eq(key, SERVICE_KEY)) continue;
        otlp_any_t a;
        ops->read(val, &a);
        if (a.type == OTLP_ANY_STRING && a.str.n > 0) return a.str;
    }
    return ISTR_NONE;
}

int ingest_otlp_severity(int64_t number, istr_t text, istr_t *level)
{
    int has_text = text.s != NULL && text.n > 0;
    int severity = ingest_severity_of_number(number);
    if (severity == 0 && has_text) severity = ingest_severity_of_level(text.s, text.n);
    if (severity == 0) severity = SEV_INFO; /* OTLP allows unspecified severity */
    if (has_text && text.n <= INGEST_MAX_LEVEL) {
        *level = text;
    } else {
        const char *name = ingest_severity_name(severity);
        *level = (istr_t){name, strlen(name)};
    }
    return severity;
}

int ingest_otlp_log_body(buf_t *scratch, const otlp_any_ops_t *ops, const void *body, istr_t *message,
                         istr_t *body_json, const char *path, ingest_err_t *err)
{
    otlp_any_t a;
    ops->read(body, &a);
    *body_json = ISTR_NONE;
    if (a.type == OTLP_ANY_STRING) {
        *message = a.str;
        return 0;
    }
    if (a.type == OTLP_ANY_EMPTY) {
        *message = ISTR_LIT("");
        return 0;
    }
    buf_reset(scratch);
    if (ingest_otlp_any_json(scratch, ops, body, path, err) != 0) return -1;
    *message = (istr_t){scratch->data, scratch->len};
    *body_json = *message;
    return 0;
}

int ingest_otlp_span_kind(int64_t kind)
{
    return kind >= SPAN_KIND_UNSPECIFIED && kind <= SPAN_KIND_CONSUMER ? (int)kind : SPAN_KIND_UNSPECIFIED;
}

int ingest_otlp_span_status(int64_t code)
{
    return code == 2 ? SPAN_STATUS_ERROR : code == 1 ? SPAN_STATUS_OK : SPAN_STATUS_UNSET;
}

/* ---------------- field names ---------------- */

const char *const otlp_span_names[SF_COUNT] = {[SF_TRACE_ID] = "traceId",
                                               [SF_SPAN_ID] = "spanId",
                                               [SF_PARENT] = "parentSpanId",
                                               [SF_SERVICE] = "resource.attributes.service.name",
                                               [SF_NAME] = "name",
                                               [SF_START] = "startTimeUnixNano",
                                               [SF_END] = "endTimeUnixNano",
                                               [SF_STATUS_MESSAGE] = "status.message",
                                               [SF_ATTRIBUTES] = "attributes",
                                               [SF_EVENTS] = "events",
                                               [SF_LINKS] = "links",
                                               [SF_TRACE_STATE] = "traceState"};

const char *const otlp_log_names[LF_COUNT] = {[LF_TIME] = "timeUnixNano",
                                              [LF_SERVICE] = "resource.attributes.service.name",
                                              [LF_LEVEL] = "severityText",
                                              [LF_MESSAGE] = "body",
                                              [LF_TRACE_ID] = "traceId",
                                              [LF_SPAN_ID] = "spanId",
                                              [LF_STACK] = "attributes.exception.stacktrace",
                                              [LF_ATTRIBUTES] = "attributes",
                                              [LF_BODY] = "body",
                                              [LF_EVENT_NAME] = "eventName"};
