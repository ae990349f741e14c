/* Alerts: each new incident, degradation, finished report and resolution goes to the destinations of
 * ALERT_WEBHOOKS (common/alert_dest.h: PagerDuty, Alertmanager, Slack, Teams, plain JSON), each in its
 * own form built at send time from the stored plain payload (alert_formats.h). Alerts are first stored
 * in alert_deliveries, one row per destination (deduplicated per destination by dedup_key), named by
 * the destination's id, never its URL; a sender thread in every pipeline claims due rows with FOR
 * UPDATE SKIP LOCKED and a lease (state 'sending' until next_attempt_at), so several pipelines send
 * each alert once, and posts them with retries and exponential backoff, at most ALERT_RATE_PER_MIN per
 * destination, so a receiver that is down loses nothing. A destination that answers a permanent 4xx
 * (not 408 or 429) is tried 3 times in all, then the delivery is marked failed with the status and the
 * start of the answer; pending deliveries to a destination no longer configured are marked abandoned at
 * start. What is not sent is stored with its reason: 'suppressed' (a report below
 * ALERT_MIN_CONFIDENCE), 'filtered' (below the destination's min_severity), 'silenced' (an active
 * silence matches its service and endpoint, when it is queued or while it waits to be sent). A
 * "resolved" alert goes only where its incident's page went, after it, and is never silenced (it closes
 * what was sent). Links are absolute under PUBLIC_URL. */
#ifndef PS_ALERTS_H
#define PS_ALERTS_H

#include "config.h"

#include <jansson.h>
#include <libpq-fe.h>

typedef struct alerts alerts_t;

/* Starts the sender thread when ALERT_WEBHOOKS is set; returns NULL (alerts off) otherwise. */
alerts_t *alerts_start(const config_t *cfg);
void alerts_stop(alerts_t *a);
/* Queues an alert for every destination that takes its kind (PagerDuty and Alertmanager take no
 * "report"). `payload` (borrowed) is the plain JSON form and must hold a "text" string used for Slack; its
 * optional "severity" (critical, error, warning, info; absent: error) meets each destination's
 * min_severity. `dedup_key` names the alert: queuing it again for a destination that
 * has it is a no-op, so callers may queue whenever in doubt. confidence < 0 means "not a report"
 * (never suppressed). Any thread, with the caller's connection. Returns 0, or -1 when some
 * destination's row could not be stored (or `payload` is NULL). NULL `a` is a no-op. */
int alerts_enqueue(const alerts_t *a, PGconn *c, const char *kind, const char *dedup_key, json_t *payload,
                   double confidence);

/* ---- Payloads (pure): the plain JSON form; its "text" is what Slack shows. Every string of a payload
 * (the embedded report included) is redacted (redact.h). Each returns a new reference, or NULL when a
 * string is not UTF-8. `service` may be NULL; `report` is borrowed. */

/* A new incident: kind, incident_id, title, service, link (the dashboard's page of the incident). */
json_t *alerts_incident_payload(long long incident_id, const char *title, const char *service);
/* An incident resolved (issue 15's lifecycle): kind "resolved", incident_id, title, service, link. Queued
 * with dedup key "resolved:<incident_id>" by the module owning incident rows; destinations that know
 * resolution (PagerDuty, Alertmanager) close the alert the incident's trigger opened. */
json_t *alerts_resolved_payload(long long incident_id, const char *title, const char *service);
/* A degradation of `endpoint` of `service`: kind, incident_id, title (the `explanation`), service,
 * endpoint, link. */
json_t *alerts_degradation_payload(long long incident_id, const char *service, const char *endpoint,
                                   const char *explanation);
/* A finished report (analysis `version` of the incident): kind, incident_id, version, title, service,
 * summary, confidence (the report's, null when it has none), link, and the whole report. */
json_t *alerts_report_payload(long long incident_id, int version, const char *title, const char *service,
                              json_t *report);
/* The report's confidence for alerts_enqueue(): its "confidence", or 0 when it has none (a report
 * that does not say how sure it is counts as unsure). Stored reports carry the code's confidence,
 * computed from the evidence (llm_check_answer() replaces whatever the model said). */
double alerts_report_confidence(const json_t *report);
/* The Slack body {"text"} of a stored plain payload (JSON text): its "text" redacted again and escaped
 * for Slack (& < > as entities, so no <!channel>, <@U...> or <url|label> from telemetry or the model
 * survives; @here/@channel/@everyone lose their '@'). Caller frees; NULL when the payload has no
 * "text" string. */
char *alerts_slack_body(const char *payload_json);

#endif
