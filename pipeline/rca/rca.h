/* Deterministic root-cause analysis of one trace, pure (no I/O; same input, same output byte for
 * byte): the span tree (duplicates, orphans, clock skew, self time, critical path), the root-cause
 * span (the error span no erroring descendant explains, preferring propagated failures with
 * exceptions; for a slow trace without errors, the largest self time on the critical path against
 * the operation's usual duration), stack traces, the error fingerprint, the propagation path, logs
 * linked to spans, the evidence JSON and the deterministic report (built by report.h's report_build). */
#ifndef PS_RCA_H
#define PS_RCA_H

#include "model.h"
#include "suspects.h"

#include <jansson.h>

typedef struct {
    const char *service, *operation;
    double p50_ms;
} rca_baseline_t;

typedef struct {
    const rca_baseline_t *baselines; /* usual durations per operation; may be NULL */
    size_t nbaselines;
    size_t max_cited_logs;          /* default 20 */
    const suspect_opts_t *suspects; /* type priors (feedback-shifted, priors.h); NULL: the defaults */
} rca_opts_t;

typedef struct {
    int found_root; /* a root-cause span was named */
    int slow;       /* named for slowness, not an error */
    char fingerprint[33];
    char service[256], span_id[17], operation[1024], exception_type[256];
    char title[512];
    json_t *evidence; /* owned */
    json_t *report;   /* owned: the deterministic report */
    json_t *services; /* owned: array of services involved */
    json_t *endpoints;
    int64_t first_ns, last_ns;
} rca_result_t;

/* Analyses `t`. Returns 0 (always, for any input) with `out` filled; free with rca_result_dispose. */
int rca_analyse(const rca_trace_t *t, const rca_opts_t *opts, rca_result_t *out);
void rca_result_dispose(rca_result_t *r);

/* Message template: digits, hex ids, uuids and quoted values replaced, so that messages differing only
 * in ids and numbers compare equal. Writes at most outlen-1 bytes. */
void rca_template(const char *msg, char *out, size_t outlen);

#endif
