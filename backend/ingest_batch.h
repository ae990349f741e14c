/* A parsed, validated ingest batch, ready for the writer threads: the rows of one raw table in
 * PostgreSQL's COPY text format, plus what the writer needs besides the rows (the day partitions
 * they touch and the trace ids that carry an error signal). Parsers (ingest_json_*.c) fill it on an
 * event-loop thread; a writer thread (ingest_writer.c) takes ownership and stores it.
 *
 * COPY text format: one row per line, columns separated by '\t', NULL written as \N, and inside
 * values backslash, newline, carriage return and tab escaped as \\ \n \r \t. Column order per kind:
 *   spans:         trace_id span_id parent_span_id service name kind start_ns end_ns status
 *                  status_message attributes events
 *   logs:          ts_ns service level severity message trace_id span_id stack_trace attributes
 *                  content_hash
 *   metric_points: ts_ns service name value labels point_hash
 *   change_events: ts_ns service type description meta event_hash
 * (ingest_batch_columns() returns the list to put in "COPY table (...) FROM STDIN".) */
#ifndef PS_INGEST_BATCH_H
#define PS_INGEST_BATCH_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    INGEST_SPANS = 0,
    INGEST_LOGS,
    INGEST_METRICS,
    INGEST_EVENTS,
    INGEST_KIND_COUNT
} ingest_kind_t;

/* Span status as stored (spans.status). */
enum { SPAN_STATUS_UNSET = 0, SPAN_STATUS_OK = 1, SPAN_STATUS_ERROR = 2 };

#define INGEST_TRACE_ID_LEN 32
#define INGEST_SPAN_ID_LEN 16
#define INGEST_NS_PER_DAY 86400000000000LL

/* Why a batch was refused: HTTP status (400, 413 or 415), the JSON path of the bad field (e.g.
 * "spans[3].start_time", empty for the whole body) and the reason. */
typedef struct {
    int status;
    char path[256];
    char reason[256];
} ingest_err_t;

typedef struct {
    ingest_kind_t kind;
    size_t records;  /* rows in `copy` */
    buf_t copy;      /* the rows; bounded by the cap given to ingest_batch_init() */
    buf_t resources; /* rows of the `resources` table (COPY text), distinct within the batch */
    char (*resource_hashes)[33];
    size_t nresources;
    int64_t min_ns, max_ns; /* acceptance window of record times (ingest_batch_set_window) */
    size_t rejected;        /* records refused one by one (OTLP partial success) */
    ingest_err_t first_rejection;
    buf_t scratch[2];  /* the record layer's working buffers, reused from record to record */
    int redact;        /* REDACT_AT_INGEST: free text and attribute strings are stored redacted */
    buf_t redacted[4]; /* the record layer's redacted copies of one record's texts (when `redact`) */
    int64_t *days;     /* distinct UTC day numbers (ns / INGEST_NS_PER_DAY) of the rows' times */
    size_t ndays;
    char (*error_traces)[INGEST_TRACE_ID_LEN + 1]; /* distinct trace ids carrying an error signal */
    size_t nerror_traces;
} ingest_batch_t;

/* Error signals: a log of severity >= ERROR with a trace_id, a span with status ERROR, a span with an
 * event named "exception". */

void ingest_batch_init(ingest_batch_t *b, ingest_kind_t kind, size_t max_copy_bytes);
void ingest_batch_dispose(ingest_batch_t *b);
/* Records the day of `ns` (deduplicated). */
void ingest_batch_add_day(ingest_batch_t *b, int64_t ns);
/* Records an error trace (deduplicated; linear scan is fine: few per batch). */
void ingest_batch_add_error_trace(ingest_batch_t *b, const char *trace_id);

const char *ingest_batch_table(ingest_kind_t kind);
const char *ingest_batch_columns(ingest_kind_t kind);
const char *ingest_kind_name(ingest_kind_t kind); /* "spans", "logs", "metrics", "events" */

/* COPY text helpers: append a value then the separator yourself ('\t' or '\n').
 * Each returns 0, or -1 when the batch's byte cap is exceeded. */
int ingest_copy_text(buf_t *b, const char *s, size_t n); /* escaped */
int ingest_copy_null(buf_t *b);
int ingest_copy_i64(buf_t *b, int64_t v);
int ingest_copy_double(buf_t *b, double v); /* round-trips exactly (%.17g) */

/* What one request may hold: records, bytes of COPY text, and the accepted range of record times. */
typedef struct {
    size_t max_records;
    size_t max_copy_bytes;
    int64_t min_ns, max_ns; /* [min_ns, max_ns) */
    int redact;             /* REDACT_AT_INGEST: store texts redacted (redact.h); 0 by default */
} ingest_limits_t;

/* ingest_batch_init() then the window and the redaction of `limits`. */
void ingest_batch_init_limited(ingest_batch_t *b, ingest_kind_t kind, const ingest_limits_t *limits);
/* The limits of one request under the configuration: at most max_records records and max_copy_bytes of
 * rows, times from the start of the oldest day retention keeps (retention_days before today, UTC) to
 * max_future_s ahead of now_ns. So one batch can neither create partitions that retention drops at
 * once nor reach far into the future. */
ingest_limits_t ingest_limits_of(size_t max_records, size_t max_copy_bytes, int retention_days,
                                 int max_future_s, int64_t now_ns);
/* Limits with the widest window (RFC 3339's range, rfc3339.h): for tools, tests and replays. */
ingest_limits_t ingest_limits_default(size_t max_records, size_t max_copy_bytes);

/* Records a refused record (partial success): counts it and keeps the first reason. */
void ingest_batch_reject(ingest_batch_t *b, const ingest_err_t *err);
/* Records are accepted with times in [min_ns, max_ns) only; the default is RFC 3339's range of
 * rfc3339.h (2000..2100). */
void ingest_batch_set_window(ingest_batch_t *b, int64_t min_ns, int64_t max_ns);
/* Columns of the `resources` table rows. */
const char *ingest_batch_resource_columns(void);

#endif
