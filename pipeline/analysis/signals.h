/* Context signals around a failure, pure: change events before it as suspects, and metric shifts of
 * a service during the trace. Both are hints for the reader, never the root cause itself. */
#ifndef PS_ANALYSIS_SIGNALS_H
#define PS_ANALYSIS_SIGNALS_H

#include "model.h"

#include <jansson.h>
#include <stdint.h>

#define ANALYSIS_CHANGE_WINDOW_NS ((int64_t)600 * 1000000000) /* changes this long before count */

/* How a change's service relates to the failure. */
typedef struct {
    const char *root_service;         /* may be NULL */
    const char *const *path_services; /* services on the propagation path; may be NULL */
    size_t npath;
    const char *const *services; /* every service of the trace */
    size_t nservices;
} analysis_roles_t;

/* Change events in the ANALYSIS_CHANGE_WINDOW_NS before failure_ns, as a new JSON array of
 * {type, service, ts_ns, delta_ms, description, score}, at most `max`, best first. The score in
 * [0,1] is proximity (1 at the failure, 0 at the window's start) times the service's role (root
 * cause 1, path 0.7, trace 0.5, global 0.4, other 0.2) times the type's weight (deploy 1, config and
 * flag 0.9, migration 0.8, other 0.6), rounded to 3 decimals. */
json_t *analysis_change_suspects(const trace_ctx_t *ctx, const analysis_roles_t *roles, int64_t failure_ns,
                                 size_t max);

/* Metric series (name + labels) of `service` whose mean inside [start_ns - 60 s, end_ns + 60 s]
 * moved away from the mean of the 10 minutes before by more than 3 standard deviations and 50%: a
 * new JSON array of {metric, labels, before_mean, during_mean, change_pct, direction, points_before,
 * points_during}, at most `max`, largest relative change first. */
json_t *analysis_metric_hints(const trace_ctx_t *ctx, const char *service, int64_t start_ns, int64_t end_ns,
                              size_t max);

/* x rounded to `decimals` decimals (0..6), for stable JSON numbers. */
double analysis_round(double x, int decimals);

#endif
