/* The input of one trace analysis: a trace context as stored in PostgreSQL (migrations/
 * 001_raw_telemetry.sql), one struct per table row. The analysis only reads it.
 *
 * Ownership: every pointer is borrowed. The caller keeps the strings and arrays alive until
 * analysis_run() returns (pointing straight into PGresult rows is fine). NULL is allowed wherever a
 * column is nullable and wherever noted; arrays need no particular order (the analysis sorts).
 *
 *   trace_ctx_t
 *     spans    all spans of the trace            (spans table, WHERE trace_id = $1)
 *     logs     all logs of the trace             (logs table, WHERE trace_id = $1)
 *     metrics  points of the involved services   (metric_points, from ~10 min before the trace
 *                                                 window to ~1 min after it)
 *     changes  change events of those services   (change_events, the 10 min before the window;
 *                                                 service NULL = a global change)
 */
#ifndef PS_ANALYSIS_MODEL_H
#define PS_ANALYSIS_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* spans.status */
typedef enum {
    ANALYSIS_STATUS_UNSET = 0,
    ANALYSIS_STATUS_OK = 1,
    ANALYSIS_STATUS_ERROR = 2
} analysis_status_t;

/* log severities (logs.severity) */
enum { ANALYSIS_SEV_WARN = 4, ANALYSIS_SEV_ERROR = 5, ANALYSIS_SEV_FATAL = 6 };

typedef struct {
    const char *span_id;        /* required; spans without one are ignored */
    const char *parent_span_id; /* NULL, "" or all zeros for a root */
    const char *service;        /* NULL read as "unknown" */
    const char *name;           /* the operation, e.g. "POST /charge"; NULL read as "" */
    const char *kind;           /* "SERVER", "CLIENT", "INTERNAL", "PRODUCER", "CONSUMER"; may be NULL */
    int64_t start_ns, end_ns;   /* end before start is read as a zero-length span */
    int status;                 /* analysis_status_t */
    const char *status_message; /* may be NULL */
    /* The jsonb columns as text (e.g. `attributes::text`), may be NULL. events is the array
     * [{"name":"exception","time":<ns>,"attributes":{"exception.type":...,"exception.message":...,
     * "exception.stacktrace":...}}]; "time_ns" is read as well as "time". */
    const char *attributes_json;
    const char *events_json;
} analysis_span_t;

typedef struct {
    int64_t ts_ns;
    const char *service;         /* NULL read as "unknown" */
    const char *level;           /* as sent, e.g. "ERROR"; may be NULL */
    int severity;                /* 1 trace .. 6 fatal; 0 unknown */
    const char *message;         /* NULL read as "" */
    const char *span_id;         /* may be NULL: the log is then tied to a span by service and time */
    const char *stack_trace;     /* may be NULL */
    const char *attributes_json; /* may be NULL; not read today */
} analysis_log_t;

typedef struct {
    int64_t ts_ns;
    const char *service;     /* NULL read as "unknown" */
    const char *name;        /* e.g. "p95_latency_ms" */
    double value;            /* NaN and infinities are skipped */
    const char *labels_json; /* may be NULL; points of one name with other labels are another series */
} analysis_metric_t;

typedef struct {
    int64_t ts_ns;
    const char *service;     /* NULL: a global change */
    const char *type;        /* "deploy", "config", "flag", "migration" or anything else */
    const char *description; /* may be NULL */
    const char *meta_json;   /* may be NULL; not read today */
} analysis_change_t;

typedef struct {
    const char *trace_id; /* 32 lowercase hex digits */
    const analysis_span_t *spans;
    size_t nspans;
    const analysis_log_t *logs;
    size_t nlogs;
    const analysis_metric_t *metrics;
    size_t nmetrics;
    const analysis_change_t *changes;
    size_t nchanges;
} trace_ctx_t;

#endif
