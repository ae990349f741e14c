/* Alert destinations as configured in ALERT_WEBHOOKS, parsed in one place: config.c validates the value
 * at start with it, the pipeline's sender (pipeline/alerts.c) builds its destinations from it. Pure; any
 * thread.
 *
 * ALERT_WEBHOOKS is a comma-separated list of entries, each
 *
 *     [type:]target[;option]...        type: json (the default), slack, teams, pagerduty, alertmanager
 *
 * where target is an http(s) URL, except for pagerduty, whose target is the integration's routing key
 * (the events URL is PAGERDUTY_EVENTS_URL), and for alertmanager the base URL (http://host:9093; the
 * sender posts to <base>/api/v2/alerts). Options, after the target, each ";name=value" (a ';' followed by
 * anything else stays part of the URL):
 *   min_severity=critical|error|warning|info   alerts below it are not sent there (stored 'filtered')
 *   name=<id>                                  the destination's id instead of the derived one
 * Targets are secrets (the token is in the URL's path, or is the routing key): what is stored in
 * alert_deliveries.destination and logged is the destination's id, never the target:
 *     <type>:<host[:port]>#<h>     e.g. slack:hooks.slack.com#3f9a, alertmanager:am.local:9093#08c1
 *     pagerduty#<h>                e.g. pagerduty#51d0
 * where <h> is the first 4 hex digits of SHA-256(target): stable across restarts and reorderings, and
 * different for two webhooks on one host (migration 010 derives the same ids for rows stored before). */
#ifndef PS_ALERT_DEST_H
#define PS_ALERT_DEST_H

#include <stddef.h>

#define ALERT_DEST_MAX 16
#define ALERT_DEST_TARGET_MAX 1024
#define ALERT_DEST_ID_MAX 128

typedef enum {
    ALERT_DEST_JSON,
    ALERT_DEST_SLACK,
    ALERT_DEST_TEAMS,
    ALERT_DEST_PAGERDUTY,
    ALERT_DEST_ALERTMANAGER,
} alert_dest_type_t;

/* Ordered: a destination takes alerts at or above its minimum. */
typedef enum {
    ALERT_SEV_INFO,
    ALERT_SEV_WARNING,
    ALERT_SEV_ERROR,
    ALERT_SEV_CRITICAL,
} alert_severity_t;

typedef struct {
    alert_dest_type_t type;
    char target[ALERT_DEST_TARGET_MAX]; /* secret: the URL, or PagerDuty's routing key */
    char id[ALERT_DEST_ID_MAX];         /* stored and logged instead of the target */
    alert_severity_t min_severity;      /* ALERT_SEV_INFO when not set: everything */
} alert_dest_t;

/* Parses `value` (ALERT_WEBHOOKS) into out[0..*n). Returns 0, or -1 with `err` naming the entry by its
 * position and what is wrong (never quoting the target): an unknown type or option, a target that is
 * not an http(s) URL (or not a routing key), more than ALERT_DEST_MAX entries, two entries with one id. */
int alert_dest_parse(const char *value, alert_dest_t *out, int *n, char *err, size_t errlen);

/* "json", "slack", "teams", "pagerduty", "alertmanager" (alert_deliveries.format). */
const char *alert_dest_type_name(alert_dest_type_t t);

/* "critical", "error", "warning", "info" -> the level. Returns 0, or -1 for anything else. */
int alert_severity_parse(const char *s, alert_severity_t *out);
const char *alert_severity_name(alert_severity_t s);

#endif
