/* POST /debug/analyze-window (ADMIN key) on the pipeline: {"from","to"[, "baseline_from",
 * "baseline_to"]} (RFC 3339 or epoch ns). Loads the spans, logs, metric points and change events of the
 * target window and of a baseline (default: the window of equal length just before it; metric history
 * from the hour before), ranks the services with the pure ranking of pipeline/rank/, and answers the
 * ranking with its evidence and verdict. Runs on a pool thread. An unknown field, a missing or malformed
 * time, or an empty window is a 400 naming the field. The answer's "window" echoes the windows used
 * (epoch ns and RFC 3339) and whether the baseline was given or the default; "samples" and each
 * service's "samples" say when a side held too few calls to judge. */
#ifndef PS_WINDOW_ANALYSIS_H
#define PS_WINDOW_ANALYSIS_H

#include "httpd.h"
#include "workpool.h"

/* Registers the route; `pool` and `admin_keys` are borrowed. */
void window_analysis_register(httpd_t *h, workpool_t *pool, const keyset_t *admin_keys);

#endif
