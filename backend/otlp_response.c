/* OTLP answer bodies (see otlp_response.h). Success responses are packed by protobuf-c's generated
 * code; google.rpc.Status, which OTLP's .proto files do not include, is written by hand (two fields). */
#include "otlp_response.h"
#include "grpc_status.h"

#include "jwrite.h"

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <string.h>

/* Appends a packed message; -1 (out unchanged) past out's cap. */
static int pack(buf_t *out, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m), mark = out->len;
    if (n == 0) return 0;
    /* grow by n (checked against the cap), then pack in place */
    if (out->len + n < out->len || out->len + n > out->max) return -1;
    static const char zeros[64];
    for (size_t left = n; left > 0;) {
        size_t k = left < sizeof(zeros) ? left : sizeof(zeros);
        if (buf_append(out, zeros, k) != 0) {
            out->len = mark;
            if (out->data) out->data[mark] = '\0';
            return -1;
        }
        left -= k;
    }
    protobuf_c_message_pack(m, (uint8_t *)out->data + mark);
    return 0;
}

int otlp_response_success_proto(buf_t *out, ingest_kind_t kind, size_t rejected, const char *message)
{
    char *msg = (char *)(message ? message : "");
    switch (kind) {
    case INGEST_SPANS: {
        Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse r =
            OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
        Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess p =
            OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
        p.rejected_spans = (int64_t)rejected;
        p.error_message = msg;
        if (rejected) r.partial_success = &p;
        return pack(out, &r.base);
    }
    case INGEST_LOGS: {
        Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse r =
            OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_RESPONSE__INIT;
        Opentelemetry__Proto__Collector__Logs__V1__ExportLogsPartialSuccess p =
            OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_PARTIAL_SUCCESS__INIT;
        p.rejected_log_records = (int64_t)rejected;
        p.error_message = msg;
        if (rejected) r.partial_success = &p;
        return pack(out, &r.base);
    }
    case INGEST_METRICS: {
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse r =
            OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_RESPONSE__INIT;
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsPartialSuccess p =
            OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_PARTIAL_SUCCESS__INIT;
        p.rejected_data_points = (int64_t)rejected;
        p.error_message = msg;
        if (rejected) r.partial_success = &p;
        return pack(out, &r.base);
    }
    default:
        return -1;
    }
}

static int rollback(buf_t *out, size_t mark)
{
    out->len = mark;
    if (out->data) out->data[mark] = '\0';
    return -1;
}

int otlp_response_success_json(buf_t *out, ingest_kind_t kind, size_t rejected, const char *message)
{
    static const char *const field[] = {[INGEST_SPANS] = "rejectedSpans",
                                        [INGEST_LOGS] = "rejectedLogRecords",
                                        [INGEST_METRICS] = "rejectedDataPoints"};
    if (kind != INGEST_SPANS && kind != INGEST_LOGS && kind != INGEST_METRICS) return -1;
    size_t mark = out->len;
    if (rejected == 0) return jw_raw(out, "{}", 2) == 0 ? 0 : rollback(out, mark);
    if (jw_raw(out, "{\"partialSuccess\":{\"", 20) != 0 ||
        jw_raw(out, field[kind], strlen(field[kind])) != 0 || jw_raw(out, "\":\"", 3) != 0 ||
        jw_u64(out, rejected) != 0 || jw_char(out, '"') != 0)
        return rollback(out, mark);
    if (message && *message &&
        (jw_raw(out, ",\"errorMessage\":", 16) != 0 || jw_string(out, message, strlen(message)) != 0))
        return rollback(out, mark);
    return jw_raw(out, "}}", 2) == 0 ? 0 : rollback(out, mark);
}

int otlp_response_status_proto(buf_t *out, int grpc_code, const char *message)
{
    return grpc_status_encode(grpc_code, message, NULL, out); /* the one google.rpc.Status encoder */
}

int otlp_response_status_json(buf_t *out, int grpc_code, const char *message)
{
    size_t mark = out->len;
    if (jw_raw(out, "{\"code\":", 8) != 0 || jw_i64(out, grpc_code) != 0 ||
        jw_raw(out, ",\"message\":", 11) != 0 ||
        jw_string(out, message ? message : "", message ? strlen(message) : 0) != 0 || jw_char(out, '}') != 0)
        return rollback(out, mark);
    return 0;
}

int otlp_response_grpc_code(int http_status)
{
    switch (http_status) {
    case 400:
    case 415:
        return 3;
    case 404:
        return 12;
    case 413:
        return 8;
    case 429:
    case 502:
    case 503:
    case 504:
        return 14;
    default:
        return http_status >= 500 ? 13 : 2;
    }
}
