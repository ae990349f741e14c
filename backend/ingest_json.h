/* Parsing and validation of ingest bodies into an ingest batch (ingest_batch.h): our JSON formats
 * (ingest_json_native.c) and OTLP/HTTP JSON (ingest_otlp_json*.c). Pure: no I/O; any thread.
 * Our formats are all or nothing: on any bad field the whole body is refused with the field's JSON
 * path. OTLP accepts what it can (partial success, see ingest_json_otlp()). */
#ifndef PS_INGEST_JSON_H
#define PS_INGEST_JSON_H

#include "ingest_batch.h"

/* Limits on what one record may carry (each violation is a 400 naming the field). */
#define IJ_MAX_SERVICE 256
#define IJ_MAX_NAME 1024
#define IJ_MAX_LEVEL 32
#define IJ_MAX_MESSAGE 65536
#define IJ_MAX_STACK 262144
#define IJ_MAX_TYPE 64
#define IJ_MAX_DESCRIPTION 4096
#define IJ_MAX_ATTR_BYTES 65536
#define IJ_MAX_DEPTH 8

/* Parse `body` (len bytes) for `kind` into `out` (initialised here; the caller owns it on success and
 * frees it with ingest_batch_dispose()). Returns 0, or -1 with `err` (status 400 or 413, path,
 * reason) and nothing left to free. More than max_records records, or COPY text over max_copy_bytes,
 * is a 413. */
/* The same within `limits` (records, bytes, and the accepted range of record times). */
int ingest_json_native_limited(ingest_kind_t kind, const char *body, size_t len,
                               const ingest_limits_t *limits, ingest_batch_t *out, ingest_err_t *err);
int ingest_json_otlp_limited(ingest_kind_t kind, const char *body, size_t len, const ingest_limits_t *limits,
                             ingest_batch_t *out, ingest_err_t *err);
int ingest_json_native(ingest_kind_t kind, const char *body, size_t len, size_t max_records,
                       size_t max_copy_bytes, ingest_batch_t *out, ingest_err_t *err);
/* OTLP/HTTP JSON: kind INGEST_SPANS for /v1/traces, INGEST_LOGS for /v1/logs, INGEST_METRICS for
 * /v1/metrics; one pass, no tree. Partial success: a record with a bad field (a span, a log record, a
 * metric data point) is counted in out->rejected (the first reason in out->first_rejection, its path
 * like "resourceSpans[0].scopeSpans[1].spans[3].traceId") and skipped; 0 is returned even when every
 * record was rejected. -1 with `err` and nothing left to free: 400 for malformed JSON (byte position
 * in the reason) or a bad envelope (resourceSpans not an array...), 413 past max_records records
 * (rejected ones count) or max_copy_bytes, 404 for another kind. */
int ingest_json_otlp(ingest_kind_t kind, const char *body, size_t len, size_t max_records,
                     size_t max_copy_bytes, ingest_batch_t *out, ingest_err_t *err);

/* ---- shared by the parsers (ingest_json_util.c) ---- */

/* Sets err (status, path, reason); returns -1 so callers can `return ij_fail(...)`. */
int ij_fail(ingest_err_t *err, int status, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
