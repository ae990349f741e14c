/* The analysis core of the pipeline, pure: no I/O, no globals, deterministic (the same trace context
 * gives the same bytes, whatever the order of its rows). One call analyses one trace:
 *
 *   trace_ctx_t ──▶ span tree (spantree.h) ──▶ logs tied to spans (loglink.h)
 *               ──▶ root cause, path, retries, cited logs (rootcause.h) ──▶ exception (exception.h)
 *               ──▶ fingerprint (fingerprint.h) ──▶ evidence + deterministic report (evidence.h)
 *
 * The LLM side is separate: prompt.h builds the request from the evidence (redacted, redact.h) and
 * llm_check.h checks the answer against it. Any thread may call these functions; calls share nothing. */
#ifndef PS_ANALYSIS_H
#define PS_ANALYSIS_H

#include "model.h"
#include "fingerprint.h"
#include "rootcause.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const analysis_baseline_t *baselines; /* usual p50 per (service, operation); may be NULL */
    size_t nbaselines;
    size_t max_cited_logs;     /* 0: 20 */
    int64_t skew_tolerance_ns; /* 0: 1 ms */
    double slow_min_share;     /* 0: 0.3 */
} analysis_opts_t;

typedef struct {
    char *service, *operation; /* owned */
} analysis_endpoint_t;

typedef struct {
    json_t *evidence; /* owned */
    json_t *report;   /* owned: the deterministic report (generated_by "deterministic") */
    char fingerprint[ANALYSIS_FP_SIZE];
    analysis_rc_kind_t kind; /* ERROR, SLOW or NONE (inconclusive) */
    int conclusive;
    /* the root cause; all NULL when there is none (exception_type NULL without an exception) */
    char *service, *span_id, *operation, *exception_type;
    char **services; /* every service of the trace, sorted; owned */
    size_t nservices;
    analysis_endpoint_t *endpoints; /* entry points, sorted by (service, operation); owned */
    size_t nendpoints;
    int64_t start_ns, end_ns; /* the trace window */
} analysis_result_t;

/* Analyses ctx (borrowed for the call only). opts may be NULL. Returns 0 with out filled, or -1 when
 * the trace is too large to index (more than INT_MAX/4 spans); dispose out with
 * analysis_result_dispose() in both cases. */
int analysis_run(const trace_ctx_t *ctx, const analysis_opts_t *opts, analysis_result_t *out);
void analysis_result_dispose(analysis_result_t *r);

/* The canonical text of a JSON value (compact, fixed key order, short reals): the bytes to store or
 * compare. malloc'd; the caller frees it. NULL for NULL. */
char *analysis_json_dump(const json_t *v);

#endif
