/* The input of a trace analysis, as loaded from PostgreSQL (context_load.c): every span and log of
 * the trace (or a sample), metric points of the services involved around its window (sorted by
 * service, name, time), their anomaly episodes there, and change events of those services before it. Strings
 * are owned by the context (one arena per context). */
#ifndef PS_RCA_MODEL_H
#define PS_RCA_MODEL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum { RCA_STATUS_UNSET = 0, RCA_STATUS_OK = 1, RCA_STATUS_ERROR = 2 };

typedef struct {
    const char *span_id, *parent_span_id; /* parent NULL for a root */
    const char *service, *name, *kind;    /* kind may be NULL */
    int64_t start_ns, end_ns;
    int status;
    const char *status_message;
    json_t *attributes; /* borrowed from the context */
    json_t *events;     /* [{name, time_ns, attributes}] */
} rca_span_t;

typedef struct {
    int64_t ts_ns;
    const char *service, *level;
    int severity; /* 1..6; 5 error, 6 fatal */
    const char *message;
    const char *span_id; /* may be NULL */
    const char *stack_trace;
} rca_log_t;

typedef struct {
    int64_t ts_ns;
    const char *service, *name;
    double value;
} rca_metric_t;

typedef struct {
    int64_t ts_ns;
    const char *service, *type, *description;
} rca_change_t;

/* A metric anomaly episode (anomaly_episodes) of a service of the trace around its window. */
typedef struct {
    const char *service, *metric;
    int64_t start_ns, end_ns;
    double baseline, peak, pct_change, peak_z;
    int direction; /* +1 above the baseline, -1 below */
} rca_episode_t;

typedef struct {
    const char *trace_id;
    rca_span_t *spans;
    size_t nspans;
    rca_log_t *logs;
    size_t nlogs;
    rca_metric_t *metrics;
    size_t nmetrics;
    rca_change_t *changes;
    size_t nchanges;
    /* how many spans and logs the trace has in all: more than nspans / nlogs when the loader took a
     * sample (context_load.h says which); 0 means "as many as loaded" */
    size_t total_spans, total_logs;
    rca_episode_t *episodes; /* may be NULL */
    size_t nepisodes;
} rca_trace_t;

#endif
