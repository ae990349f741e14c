/* OTLP protobuf requests for tests that send telemetry the way an OpenTelemetry exporter does (over
 * OTLP/HTTP or OTLP/gRPC): built with protobuf-c's generated structs and packed. */
#ifndef PS_TS_OTLP_H
#define PS_TS_OTLP_H

#include <stddef.h>
#include <stdint.h>

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

/* A packed ExportLogsServiceRequest: one resource with service.name `service`, one scope holding
 * logs[0..n). Returns the bytes (malloc'd, caller frees) with their length in *len. */
uint8_t *ts_otlp_logs_request(const char *service, const ts_otlp_log_t *logs, size_t n, size_t *len);

#endif
