/* OTLP/HTTP JSON: one log record read into an ingest_log_t. */
#include "ingest_otlp_json_int.h"
#include "hexid.h"

#include <string.h>

/* SeverityNumber by name: "SEVERITY_NUMBER_ERROR2" or "ERROR2" → 18. */
static const char *const severity_number_names[] = {
    "UNSPECIFIED", "TRACE",  "TRACE2", "TRACE3", "TRACE4", "DEBUG",  "DEBUG2", "DEBUG3", "DEBUG4",
    "INFO",        "INFO2",  "INFO3",  "INFO4",  "WARN",   "WARN2",  "WARN3",  "WARN4",  "ERROR",
    "ERROR2",      "ERROR3", "ERROR4", "FATAL",  "FATAL2", "FATAL3", "FATAL4"};

#define OTLP_STACK_KEY "exception.stacktrace"

/* The body: a string is the message; any other AnyValue is stored as JSON and its compact text is the
 * message. */
static int log_body(parser_t *p, ingest_log_t *l)
{
    log_bufs_t *lb = &p->lg;
    buf_reset(&lb->body);
    if (oj_any_value(p, &lb->body, 1, "body", &lb->message) != 0) return -1;
    if (lb->message.s.s) { /* a string */
        l->message = oj_istr_of(&lb->message);
        l->body = ISTR_NONE;
    } else if (lb->body.len == 4 && memcmp(lb->body.data, "null", 4) == 0) {
        l->message = ISTR_LIT("");
        l->body = ISTR_NONE;
    } else {
        l->message = oj_istr_buf(&lb->body);
        l->body = oj_istr_buf(&lb->body);
    }
    return 0;
}

static int log_field(parser_t *p, const jstr_t *k, ingest_log_t *l, int *has_attrs, int *number)
{
    log_bufs_t *lb = &p->lg;
    if (oj_is(k, "timeUnixNano", "time_unix_nano")) return oj_read_time(p, "timeUnixNano", &l->ts_ns);
    if (oj_is(k, "observedTimeUnixNano", "observed_time_unix_nano"))
        return oj_read_time(p, "observedTimeUnixNano", &l->observed_ns);
    if (oj_is(k, "severityNumber", "severity_number"))
        return oj_read_enum(p, "severityNumber", "SEVERITY_NUMBER_", severity_number_names, 25, number);
    if (oj_is(k, "severityText", "severity_text")) return oj_read_text(p, "severityText", &lb->level);
    if (oj_is(k, "body", NULL)) return log_body(p, l);
    if (oj_is(k, "attributes", NULL)) {
        *has_attrs = 1;
        return oj_attributes(p, &lb->attrs, "attributes", OTLP_STACK_KEY, &lb->stack, 1);
    }
    if (oj_is(k, "droppedAttributesCount", "dropped_attributes_count"))
        return oj_read_u32(p, "droppedAttributesCount", &l->dropped_attributes);
    if (oj_is(k, "flags", NULL)) return oj_read_u32(p, "flags", &l->flags);
    if (oj_is(k, "traceId", "trace_id")) return oj_read_id(p, "traceId", TRACE_ID_BYTES, 1, l->trace_id);
    if (oj_is(k, "spanId", "span_id")) return oj_read_id(p, "spanId", SPAN_ID_BYTES, 1, l->span_id);
    if (oj_is(k, "eventName", "event_name")) return oj_read_text(p, "eventName", &lb->event_name);
    return oj_skip_value(p);
}

int oj_one_log(parser_t *p)
{
    if (jscan_peek(&p->j) != JT_OBJECT) return oj_not_an_object(p);
    log_bufs_t *lb = &p->lg;
    ingest_log_t l;
    memset(&l, 0, sizeof(l));
    l.resource = &p->res;
    l.scope = &p->scope;
    l.message = ISTR_LIT("");
    lb->level.s.s = lb->event_name.s.s = lb->stack.s.s = NULL;
    int has_attrs = 0, number = 0, m;
    jscan_object_begin(&p->j);
    jstr_t k;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1)
        if (log_field(p, &k, &l, &has_attrs, &number) != 0) return -1;
    if (m < 0) return oj_syntax_fail(p);
    if (oj_rejected(p)) return 0;
    l.severity = ingest_otlp_severity(number, oj_istr_of(&lb->level), &l.level);
    l.severity_number = number; /* as sent, like the protobuf decoder (an open enum) */
    l.stack_trace = oj_istr_of(&lb->stack);
    l.event_name = oj_istr_of(&lb->event_name);
    l.attributes = has_attrs ? oj_istr_buf(&lb->attrs) : ISTR_NONE;
    ingest_err_t e;
    return oj_finish(p, ingest_record_log(p->b, &l, otlp_log_names, p->path, &e), &e);
}
