/* The metrics around a failing trace, summarised for the evidence and the prompt, pure (no I/O): the
 * metric points of the trace's services loaded by context_load() and their anomaly episodes become a
 * bounded JSON summary the report (deterministic or LLM) can cite by id. */
#ifndef PS_RCA_EVIDENCE_METRICS_H
#define PS_RCA_EVIDENCE_METRICS_H

#include "model.h"

#include <jansson.h>

#define EVIDENCE_METRICS_MAX_SERIES 12    /* series kept, the most moved first */
#define EVIDENCE_METRICS_BUCKETS 20       /* averaged points per series, for a sparkline */
#define EVIDENCE_METRICS_MAX_ANOMALIES 10 /* episodes kept, the strongest first */

/* {"fail_ns", "series": [{"id": "metric:<n>", "service", "name", "points", "before_mean",
 *   "after_mean", "change_pct" (null when a side has no point or the mean before is 0), "min", "max",
 *   "last", "spark": [EVIDENCE_METRICS_BUCKETS averages or null over the loaded range], "from_ns",
 *   "to_ns"}], "anomalies": [{"id": "anomaly:<n>", "service", "metric", "start_ns", "end_ns",
 *   "baseline", "peak", "pct_change", "peak_z", "direction", "text"}], "omitted_series",
 *   "omitted_anomalies"}
 * "before" is before `fail_ns` (the failure), "after" from it on. Series of `root_service` (may be NULL)
 * come first, then by how much they moved. New reference; never NULL. */
json_t *evidence_metrics(const rca_trace_t *t, int64_t fail_ns, const char *root_service);

#endif
