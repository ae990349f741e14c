/* Reports of degradation incidents: a degradation has no failing trace to analyse, so its report
 * comes from the window ranking (window_rank.h) of the incident's detection window against the window
 * before it. Incidents wait with report_state 'pending' (opened by the degradation runner, or sent back
 * by POST /query/incidents/{id}/rerun) and each gets a new analysis version. */
#ifndef PS_DEGRADATION_REPORT_H
#define PS_DEGRADATION_REPORT_H

#include "alerts.h"
#include "incident_rows.h"

#include <libpq-fe.h>

/* Writes the report of at most `max` pending degradation incidents, oldest first, each over the
 * `window_s` seconds before its first_seen; its root cause then groups or pages the incident
 * (incident_rows_report_root with `pol` and `nt`). Alerts each finished report of an incident that paged
 * (NULL alerts: none). Returns how many were written, -1 when PostgreSQL failed. */
int degradation_report_pending(PGconn *c, const alerts_t *alerts, const incident_policy_t *pol,
                               const incident_notifier_t *nt, int window_s, int max);

#endif
