/* What each kind of alert destination is sent, built at send time from the stored plain payload
 * (alerts.h): PagerDuty Events API v2, Prometheus Alertmanager's POST /api/v2/alerts, Slack, Microsoft
 * Teams (an Adaptive Card message) and the plain JSON itself. Pure: no I/O; any thread.
 *
 * Which kinds go where: PagerDuty and Alertmanager open an alert for "incident" and "degradation" and
 * close it on "resolved" (a "report" is not a second page); Slack, Teams and JSON get every kind. */
#ifndef PS_ALERT_FORMATS_H
#define PS_ALERT_FORMATS_H

#include "alert_dest.h"

#include <jansson.h>
#include <stddef.h>

/* PagerDuty's limit on payload.summary, in bytes. */
#define ALERT_PD_SUMMARY_MAX 1024

/* 1 when destinations of type `t` take alerts of `kind`, else 0. */
int alert_format_takes(alert_dest_type_t t, const char *kind);

/* The payload's "severity" (critical, error, warning, info); error when it has none or another. */
alert_severity_t alert_payload_severity(const json_t *payload);

/* Makes the payload's "link" (a relative "/#/incident/N") absolute under `public_url` (NULL or "": left
 * as it is; a trailing '/' of public_url is dropped), in "link" and where "text" quotes it. Returns 0, or
 * -1 when the payload has no string "link" (nothing changed). */
int alert_format_absolute_links(json_t *payload, const char *public_url);

/* PagerDuty's dedup key of an incident: trigger and resolve events of one incident carry it, so PagerDuty
 * groups them and the resolve closes the trigger's alert. Writes "prodsentinel-incident-<id>". */
void alert_format_pd_dedup_key(long long incident_id, char *out, size_t outlen);

typedef struct {
    alert_dest_type_t type;
    const char *payload_json; /* the stored plain payload (borrowed) */
    const char *queued_at;    /* RFC 3339: when this alert was queued (Alertmanager's startsAt/endsAt) */
    const char *routing_key;  /* PagerDuty only (borrowed, secret) */
    /* Alertmanager "resolved" only: the incident's triggers sent to this destination, a JSON array of
     * {"payload": <plain payload>, "queued_at": "<RFC 3339>"}; each is sent again with endsAt, with the
     * labels it fired with, so Alertmanager matches and closes it. NULL or "[]": nothing to close. */
    const char *triggers_json;
} alert_format_in_t;

/* The body to POST (JSON text; caller frees), redacted again like everything leaving (redact.h).
 * Returns NULL with `err` when the payload cannot be read or has nothing this destination can send (a
 * kind it does not take, a resolve with no trigger to close). */
char *alert_format_body(const alert_format_in_t *in, char *err, size_t errlen);

/* Alertmanager forgets a firing alert it has not heard of for its resolve_timeout: the pages of incidents
 * still open are sent again (alerts.c, every ALERTMANAGER_RESEND_S). The body (caller frees) fires again
 * every trigger of `triggers_json` (as alert_format_in_t.triggers_json, with the labels and startsAt they
 * fired with); NULL with `err` when there is none. */
char *alert_format_am_firing(const char *triggers_json, char *err, size_t errlen);

/* `in` (NULL: "") escaped for the Markdown of a Teams Adaptive Card TextBlock: the punctuation that could
 * format or link (\ ` * _ { } [ ] ( ) # < > ~ |) gets CommonMark's backslash, so telemetry or a model
 * cannot make a link, a mention or a {{DATE()}} function. Caller frees. */
char *alert_format_teams_escape(const char *in);

#endif
