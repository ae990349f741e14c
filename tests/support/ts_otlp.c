/* OTLP protobuf requests for tests (see ts_otlp.h). */
#include "ts_otlp.h"

#include <check.h>
#include <stdlib.h>

typedef ts_otlp_any_t any_t;
typedef ts_otlp_kv_t kv_t;
typedef ts_otlp_log_record_t log_t;

any_t ts_otlp_str(const char *s)
{
    any_t a = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    a.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    a.string_value = (char *)s;
    return a;
}

kv_t ts_otlp_kv(const char *key, any_t *value)
{
    kv_t kv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    kv.key = (char *)key;
    kv.value = value;
    return kv;
}

/* The packed message; 64 spare bytes after it let tests append to a copy in place. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *p = malloc(*len + 64);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(protobuf_c_message_pack(m, p), *len);
    return p;
}

uint8_t *ts_otlp_pack_logs(ts_otlp_resource_t *res, ts_otlp_log_record_t **records, size_t n, size_t *len)
{
    Opentelemetry__Proto__Logs__V1__ScopeLogs sl = OPENTELEMETRY__PROTO__LOGS__V1__SCOPE_LOGS__INIT;
    sl.n_log_records = n;
    sl.log_records = records;
    Opentelemetry__Proto__Logs__V1__ScopeLogs *slp[1] = {&sl};
    Opentelemetry__Proto__Logs__V1__ResourceLogs rl = OPENTELEMETRY__PROTO__LOGS__V1__RESOURCE_LOGS__INIT;
    rl.resource = res;
    rl.n_scope_logs = 1;
    rl.scope_logs = slp;
    Opentelemetry__Proto__Logs__V1__ResourceLogs *rlp[1] = {&rl};
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest req =
        OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_REQUEST__INIT;
    req.n_resource_logs = 1;
    req.resource_logs = rlp;
    return pack(&req.base, len);
}

uint8_t *ts_otlp_pack_spans(ts_otlp_resource_t *res, ts_otlp_span_t **spans, size_t n, size_t *len)
{
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss = OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    ss.n_spans = n;
    ss.spans = spans;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp[1] = {&ss};
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs = OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    rs.resource = res;
    rs.n_scope_spans = 1;
    rs.scope_spans = ssp;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp[1] = {&rs};
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    req.n_resource_spans = 1;
    req.resource_spans = rsp;
    return pack(&req.base, len);
}

uint8_t *ts_otlp_logs_request(const char *service, const ts_otlp_log_t *logs, size_t n, size_t *len)
{
    any_t svc = ts_otlp_str(service);
    kv_t rkv = ts_otlp_kv("service.name", &svc), *rkvp[1] = {&rkv};
    Opentelemetry__Proto__Resource__V1__Resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    res.n_attributes = 1;
    res.attributes = rkvp;
    /* per record: the record, its body, its attribute (all live until packed) */
    log_t *lr = calloc(n, sizeof(*lr)), **lrp = calloc(n, sizeof(*lrp));
    any_t *values = calloc(2 * n, sizeof(*values));
    kv_t *attrs = calloc(n, sizeof(*attrs)), **attrp = calloc(n, sizeof(*attrp));
    ck_assert(n == 0 || (lr && lrp && values && attrs && attrp));
    for (size_t i = 0; i < n; i++) {
        const ts_otlp_log_t *l = &logs[i];
        log_t one = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
        one.time_unix_nano = l->time_ns;
        one.severity_number = (Opentelemetry__Proto__Logs__V1__SeverityNumber)l->severity;
        if (l->severity_text) one.severity_text = (char *)l->severity_text;
        values[2 * i] = ts_otlp_str(l->body);
        one.body = &values[2 * i];
        if (l->trace_id) one.trace_id = (ProtobufCBinaryData){16, (uint8_t *)l->trace_id};
        if (l->span_id) one.span_id = (ProtobufCBinaryData){8, (uint8_t *)l->span_id};
        if (l->attr_key) {
            values[2 * i + 1] = ts_otlp_str(l->attr_value);
            attrs[i] = ts_otlp_kv(l->attr_key, &values[2 * i + 1]);
            attrp[i] = &attrs[i];
            one.n_attributes = 1;
            one.attributes = &attrp[i];
        }
        lr[i] = one;
        lrp[i] = &lr[i];
    }
    uint8_t *msg = ts_otlp_pack_logs(&res, lrp, n, len);
    free(lr);
    free(lrp);
    free(values);
    free(attrs);
    free(attrp);
    return msg;
}
