/* Window-level root-cause ranking of services, pure (no I/O, no globals, no training): compares a
 * target window of spans, logs, metric points and change events with a baseline window of the same
 * system and ranks the services by how much of the target's abnormality their own behaviour
 * explains. Nothing needs an error flag: the evidence is
 *   - log templates (mined drain-like from masked messages): new, vanished and shifted templates per
 *     operation call, and the error/warn rate of each service;
 *   - self time of each service's own spans per operation, and the gap between a caller's client
 *     span and the callee's server span (network or queueing delay, charged to the callee);
 *   - metric shifts against the metric history given as the baseline (resource metrics first);
 *   - the service call graph: error symptoms of a caller are pushed down to a callee that is abnormal in
 *     the failing requests, or to the service its error lines name;
 *   - change events (deploys, config changes) of a service inside or shortly before the window.
 * Each service gets a score, the evidence behind it, and the window a verdict: a top candidate, or
 * "nothing stands out" when the top score is weak. The method is described in docs/ranking.md.
 *
 * Thread-safety: rank_window() keeps all its state in its arguments; calls on different results may
 * run on different threads at once. */
#ifndef PS_RANK_H
#define PS_RANK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* ---- Input: all strings are borrowed and must outlive rank_window(); NULL strings are allowed where
 * marked. Arrays need no particular order. ---- */

typedef struct {
    const char *trace_id, *span_id;
    const char *parent_span_id; /* NULL or "" for a root */
    const char *service, *name; /* spans without a service are ignored */
    int64_t start_ns, end_ns;
    int status; /* 0 unset, 1 ok, 2 error (OTLP's codes) */
    /* exception.type of an "exception" event recorded on the span (OTel: span.recordException), "" for
     * one without a type; NULL when the span recorded none */
    const char *exception_type;
} rank_span_t;

typedef struct {
    int64_t ts_ns;
    const char *service;
    int severity;        /* 1 trace, 2 debug, 3 info, 4 warn, 5 error, 6 fatal; 0 unknown (read as info) */
    const char *message; /* only its first line is templated */
    const char *trace_id, *span_id; /* may be NULL: the log is then counted per service, not per call */
} rank_log_t;

typedef struct {
    int64_t ts_ns;
    const char *service, *name;
    double value; /* NaN and infinities are skipped */
} rank_metric_t;

typedef struct {
    int64_t ts_ns;
    const char *service; /* NULL: a global change, charged to no service */
    const char *type, *description;
} rank_change_t;

/* One window. For the baseline, metric points are the history the target's points are compared with
 * (e.g. the hour before the target window). start_ns/end_ns bound the window; 0 means "from the
 * spans and logs" (their earliest and latest timestamps). */
typedef struct {
    const rank_span_t *spans;
    size_t n_spans;
    const rank_log_t *logs;
    size_t n_logs;
    const rank_metric_t *metrics;
    size_t n_metrics;
    const rank_change_t *changes;
    size_t n_changes;
    int64_t start_ns, end_ns;
} rank_input_t;

typedef struct {
    double quiet_threshold;     /* top score below this: "nothing stands out"; default 3.0 */
    size_t max_evidence;        /* evidence items kept per service; default 6 */
    size_t max_services;        /* services kept in the result, best first; 0 = all; default 0 */
    int64_t change_lookback_ns; /* change events this long before the window count; default 30 min */
} rank_opts_t;

/* ---- Output ---- */

typedef enum {
    RANK_EV_LOG_NEW = 0,     /* a template absent (or rare) in the baseline appears */
    RANK_EV_LOG_VANISHED,    /* a template usual per call of an operation disappears */
    RANK_EV_LOG_SHIFT,       /* a template's rate per call changes */
    RANK_EV_ERROR_RATE,      /* error/warn lines per span of the service change */
    RANK_EV_SELF_TIME,       /* self time of the service's own spans of one operation rises */
    RANK_EV_GAP_IN,          /* client span -> this service's server span gap rises (network, queueing) */
    RANK_EV_GAP_OUT,         /* gap of this service's calls to a callee rises (its egress, or the callee) */
    RANK_EV_METRIC,          /* a metric of the service leaves its history's range */
    RANK_EV_CHANGE,          /* a change event of the service in or shortly before the window */
    RANK_EV_CALLERS,         /* callers' symptoms pushed down to this service by the call graph */
    RANK_EV_EXPLAINED,       /* this service's error symptoms are explained by an abnormal callee */
    RANK_EV_CALL_PATTERN,    /* calls to a callee operation per invocation of an operation change */
    RANK_EV_SPAN_ERRORS,     /* error spans that began in this service (none below them failed) rise */
    RANK_EV_GAP_SHARED,      /* this service is the endpoint shared by several gapped edges */
    RANK_EV_LOG_UNPAIRED,    /* a template stops following the one it always followed in an operation */
    RANK_EV_SPAN_EXCEPTIONS, /* spans recording an exception that began in this service rise */
    RANK_EV_KINDS
} rank_evidence_kind_t;

/* Channels an evidence item adds to; a service's score combines its channels (docs/ranking.md). */
typedef enum {
    RANK_CH_LOGS = 0,
    RANK_CH_LATENCY,
    RANK_CH_GAP,
    RANK_CH_METRICS,       /* resource metrics (CPU, memory) */
    RANK_CH_METRIC_ECHOES, /* latency/traffic metrics: they only corroborate, never carry a service */
    RANK_CH_CHANGES,
    RANK_CH_GRAPH,
    RANK_CH_CALLS,  /* call pattern: child calls per invocation of each operation */
    RANK_CH_ERRORS, /* error spans that began in the service */
    RANK_CHANNELS
} rank_channel_t;

typedef struct {
    rank_evidence_kind_t kind;
    double score;             /* this item's contribution before channel combination */
    const char *subject;      /* template text, operation, metric name, "caller -> callee", change type */
    const char *context;      /* operation the rates are per call of; NULL when none */
    double before, after;     /* rate per call, median ms, or metric value: the reference (baseline plus
                                 the window before the cut) vs the rest of the window */
    double n_before, n_after; /* calls / samples / points behind before and after */
    const char *text;         /* one sentence for people */
} rank_evidence_t;

typedef struct {
    const char *service;
    double score;
    double channel[RANK_CHANNELS];
    rank_evidence_t *evidence; /* largest |score| first */
    size_t n_evidence;
    /* Call-graph position in the target window. */
    size_t n_callers, n_callees;
    int depth; /* fewest service hops from a trace root; -1 when the service has no spans */
    /* What its span statistics rest on: its calls (root spans and spans called from another service)
     * in the baseline and in the window; `thin` has RANK_THIN_BASELINE and/or RANK_THIN_WINDOW when
     * one of them holds fewer than rank_min_samples() calls (0 for a service without spans: its logs
     * and metrics judge it). */
    size_t n_base_calls, n_target_calls;
    int thin;
} rank_service_t;

#define RANK_THIN_BASELINE 1
#define RANK_THIN_WINDOW 2

typedef struct {
    rank_service_t *services; /* best first; ties broken by service name */
    size_t n_services;
    int nothing_stands_out; /* 1 when the top score is below opts.quiet_threshold */
    double top_score, quiet_threshold;
    char verdict[256];
    /* What was looked at. */
    size_t n_templates, n_target_spans, n_target_logs, n_target_metrics;
    /* Whether it could judge: calls of all services in each window; services with spans that have
     * enough calls on both sides, and those that do not. With nothing standing out and thin services,
     * the verdict says so ("baseline too thin: N calls") instead of a plain "nothing stands out". */
    size_t n_base_calls, n_target_calls, n_judged, n_thin;
    void *arena; /* owns every string and array above */
} rank_result_t;

/* Fills the defaults listed in rank_opts_t. */
void rank_opts_default(rank_opts_t *o);

/* Ranks the services of `target` against `baseline`. `opts` may be NULL (defaults). Returns 0 and
 * fills *out (free with rank_result_dispose()), or -1 with *out empty when an argument is NULL. A
 * target without records gives no evidence and the "nothing stands out" verdict. Deterministic: the
 * same sets of records give the same result whatever their order. Allocation failure aborts (as for
 * every control structure); only the first 2 KiB of a message's first line are read. */
int rank_window(const rank_input_t *baseline, const rank_input_t *target, const rank_opts_t *opts,
                rank_result_t *out);

/* {"verdict", "nothing_stands_out", "top_score", "quiet_threshold", "looked_at": {...}, "samples":
 * {"baseline_calls", "window_calls", "min_calls", "services_judged", "services_too_thin"}, "services":
 * [{"service", "rank", "score", "channels": {...}, "graph": {...}, "samples": {"baseline_calls",
 * "window_calls", "judged", "note"}, "evidence": [{"kind", "score", "subject", "context", "before",
 * "after", "n_before", "n_after", "text"}]}]}. New reference; the caller
 * releases it with json_decref(). NULL on allocation failure. */
json_t *rank_result_to_json(const rank_result_t *r);

/* Frees everything *r owns and empties it; accepts NULL and an already disposed result. */
void rank_result_dispose(rank_result_t *r);

/* Calls a side of a comparison needs (the minimum samples per statistic). */
int rank_min_samples(void);

/* "log_new", "self_time", ...: the JSON name of a kind. */
const char *rank_evidence_kind_name(rank_evidence_kind_t k);

#endif
