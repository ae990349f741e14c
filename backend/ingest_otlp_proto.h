/* OTLP protobuf (OTLP/HTTP with Content-Type application/x-protobuf, and the messages of OTLP/gRPC):
 * ExportTraceServiceRequest, ExportLogsServiceRequest and ExportMetricsServiceRequest decoded into
 * the record layer (ingest_record.h). Pure: no I/O; any thread. */
#ifndef PS_INGEST_OTLP_PROTO_H
#define PS_INGEST_OTLP_PROTO_H

#include "ingest_batch.h"

#include <stddef.h>
#include <stdint.h>

/* Unpacking never needs more than this many bytes of memory per body byte (plus a fixed allowance);
 * a body that would is refused with a 413 before anything is allocated for it. */
#define OTLP_PROTO_MEM_PER_BYTE 32
#define OTLP_PROTO_MEM_BASE (1u << 20)

/* Decodes `body` (len bytes) for `kind` (INGEST_SPANS: /v1/traces, INGEST_LOGS: /v1/logs,
 * INGEST_METRICS: /v1/metrics) into `out`, which is initialised here; on success the caller owns it
 * and frees it with ingest_batch_dispose().
 * Partial success (OTLP): a record the record layer refuses with a 400 (or with a bad id, ...) is
 * counted in out->rejected (first reason in out->first_rejection) and skipped; the rest is stored.
 * Returns -1 with `err` and nothing left to free: 400 for malformed protobuf (path of the field in
 * OTLP JSON style and byte offset in the reason), 413 for more than max_records records, COPY text
 * over max_copy_bytes, or a body that would need too much memory to unpack; 404 for another kind. */
/* The same within `limits` (records, bytes, and the accepted range of record times). */
int ingest_otlp_proto_limited(ingest_kind_t kind, const uint8_t *body, size_t len,
                              const ingest_limits_t *limits, ingest_batch_t *out, ingest_err_t *err);
int ingest_otlp_proto(ingest_kind_t kind, const uint8_t *body, size_t len, size_t max_records,
                      size_t max_copy_bytes, ingest_batch_t *out, ingest_err_t *err);

#endif
