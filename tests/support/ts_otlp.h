/* OTLP protobuf requests for tests that send telemetry the way an OpenTelemetry exporter does (over
 * OTLP/HTTP or OTLP/gRPC): built with protobuf-c's generated structs and packed. */
#ifndef PS_TS_OTLP_H
#define PS_TS_OTLP_H

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <stddef.h>
#include <stdint.h>

typedef Opentelemetry__Proto__Common__V1__AnyValue ts_otlp_any_t;
typedef Opentelemetry__Proto__Common__V1__KeyValue ts_otlp_kv_t;
typedef Opentelemetry__Proto__Resource__V1__Resource ts_otlp_resource_t;
typedef Opentelemetry__Proto__Logs__V1__LogRecord ts_otlp_log_record_t;
typedef Opentelemetry__Proto__Trace__V1__Span ts_otlp_span_t;

/* A string AnyValue holding `s` (borrowed). */
ts_otlp_any_t ts_otlp_str(const char *s);
/* A KeyValue of `key` and `value` (both borrowed). */
ts_otlp_kv_t ts_otlp_kv(const char *key, ts_otlp_any_t *value);

/* Packs an ExportLogsServiceRequest of one resource `res` (borrowed; NULL: none) with one scope holding
 * records[0..n). Returns the bytes (malloc'd with 64 spare bytes after them; caller frees) with their
 * length in *len. */
uint8_t *ts_otlp_pack_logs(ts_otlp_resource_t *res, ts_otlp_log_record_t **records, size_t n, size_t *len);
/* The same for an ExportTraceServiceRequest holding spans[0..n). */
uint8_t *ts_otlp_pack_spans(ts_otlp_resource_t *res, ts_otlp_span_t **spans, size_t n, size_t *len);

/* One log record; every pointer is borrowed for the call. */
typedef struct {
    uint64_t time_ns;
    int severity;              /* SeverityNumber, e.g. 9 INFO, 13 WARN, 17 ERROR */
    const char *severity_text; /* NULL: none */
    const char *body;          /* a string body */
    const uint8_t *trace_id;   /* 16 bytes; NULL: none */
    const uint8_t *span_id;    /* 8 bytes; NULL: none */
    const char *attr_key;      /* one string attribute; NULL: none */
    const char *attr_value;
} ts_otlp_log_t;

/* A packed ExportLogsServiceRequest (ts_otlp_pack_logs()) of one resource with service.name `service` and
 * one string attribute at most per record. */
uint8_t *ts_otlp_logs_request(const char *service, const ts_otlp_log_t *logs, size_t n, size_t *len);

#endif
