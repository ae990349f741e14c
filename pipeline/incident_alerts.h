/* The pipeline's side of incident transitions (common/incident_rows.h): a page queues the incident's
 * alert (a degradation's for a degradation) and the alert of its latest report, a resolution of an
 * incident that paged queues the "resolved" alert, in the transition's transaction. Dedup keys
 * ("incident:<id>", "degradation:<id>", "resolved:<id>", "report:<id>:v<n>:<analysis>") make every
 * notification exactly-once across restarts and pipelines. */
#ifndef PS_INCIDENT_ALERTS_H
#define PS_INCIDENT_ALERTS_H

#include "alerts.h"
#include "incident_rows.h"

/* A notifier queuing through `alerts` (borrowed; NULL: alerts off, notifications are no-ops). */
incident_notifier_t incident_alerts_notifier(const alerts_t *alerts);
/* Queues the alert of report `analysis_id` (0: the latest) of incident `id`, when the incident paged and
 * is not grouped under another: a report of an incident nobody was woken for (yet) is not pushed; its
 * page brings it along. With the caller's connection. Returns 0 (also when nothing is due) or -1. */
int incident_alerts_report(const alerts_t *alerts, PGconn *c, long long id, long long analysis_id);

#endif
