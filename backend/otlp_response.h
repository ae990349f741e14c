/* Bodies of OTLP answers, in both encodings: the Export*ServiceResponse of a success (with
 * partial_success only when records were rejected) and the google.rpc.Status of an error. Pure
 * functions writing into a bounded buffer; any thread. */
#ifndef PS_OTLP_RESPONSE_H
#define PS_OTLP_RESPONSE_H

#include "buf.h"
#include "ingest_batch.h"

#include <stddef.h>

/* ExportTraceServiceResponse / ExportLogsServiceResponse / ExportMetricsServiceResponse for `kind`
 * (INGEST_SPANS, INGEST_LOGS, INGEST_METRICS): when rejected > 0, partial_success {rejected_spans |
 * rejected_log_records | rejected_data_points, error_message} (message may be NULL); else the empty
 * message (protobuf: zero bytes; JSON: {}). JSON: int64 as a decimal string (OTLP's JSON mapping).
 * Each appends to out and returns 0, or -1 (out's cap, or another kind) with out unchanged. */
int otlp_response_success_proto(buf_t *out, ingest_kind_t kind, size_t rejected, const char *message)
    __attribute__((warn_unused_result));
int otlp_response_success_json(buf_t *out, ingest_kind_t kind, size_t rejected, const char *message)
    __attribute__((warn_unused_result));

/* google.rpc.Status {code, message} (protobuf: fields 1 and 2; JSON: {"code":n,"message":"..."}).
 * Returns 0, or -1 with out unchanged. */
int otlp_response_status_proto(buf_t *out, int grpc_code, const char *message)
    __attribute__((warn_unused_result));
int otlp_response_status_json(buf_t *out, int grpc_code, const char *message)
    __attribute__((warn_unused_result));

/* The gRPC status code for an HTTP error status: 400/415 INVALID_ARGUMENT (3), 404 UNIMPLEMENTED (12),
 * 413 RESOURCE_EXHAUSTED (8), 429/502/503/504 UNAVAILABLE (14, retryable per OTLP), others
 * INTERNAL (13) for 5xx and UNKNOWN (2) otherwise. */
int otlp_response_grpc_code(int http_status);

#endif
