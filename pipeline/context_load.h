/* Gathers a trace's context from PostgreSQL into the analysis model (rca/model.h): its spans
 * and logs (at most a limit of each: a larger trace is sampled in SQL, see context_load()), metric points of
 * the services involved from 10 minutes before to 1 minute after its window (at most 20,000, sorted by
 * service, name, time), their anomaly episodes overlapping that range (at most 64, strongest first),
 * change events of those services (or global ones) in the 10 minutes before it, and, for slow traces, the
 * usual (p50) duration of its operations over the last hour. Worker threads only. */
#ifndef PS_CONTEXT_LOAD_H
#define PS_CONTEXT_LOAD_H

#include "rca.h"

#include <libpq-fe.h>

typedef struct {
    rca_trace_t t;
    PGresult *res[5]; /* spans, logs, metrics, changes, episodes: strings of `t` point into them */
    rca_baseline_t *baselines;
    size_t nbaselines;
    PGresult *baseline_res;
    char trace_id[33];
} trace_ctx_t;

/* The most spans and logs of one trace loaded (MAX_SPANS_PER_TRACE, MAX_LOGS_PER_TRACE). */
typedef struct {
    int max_spans, max_logs;
} context_limits_t;

/* Loads at most lim->max_spans spans and lim->max_logs logs, so a worker's memory is bounded whatever
 * one trace holds. Past a limit the sample is chosen by PostgreSQL, in this order:
 *   spans: the error spans and every ancestor of one (their paths to the root), by start time; then
 *          the longest spans (up to a quarter of the limit); then the rest by start time;
 *   logs:  ERROR and above first, then the rest, each by time.
 * ctx->t.total_spans / total_logs say how many the trace has in all (equal to nspans / nlogs when not
 * sampled). Returns 0 (a trace with nothing stored has 0 spans and 0 logs), or -1 with err on a
 * database error. Dispose with context_dispose() in both cases. */
int context_load(PGconn *c, const char *trace_id, const context_limits_t *lim, trace_ctx_t *ctx, char *err,
                 size_t errlen);
/* Loads p50 durations of the trace's operations over the hour before it into ctx->baselines. */
int context_load_baselines(PGconn *c, trace_ctx_t *ctx, char *err, size_t errlen);
void context_dispose(trace_ctx_t *ctx);

#endif
