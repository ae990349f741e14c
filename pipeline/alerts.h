/* Alerts: webhooks for each new incident, each degradation and each finished report, in a
 * Slack-compatible form ({"text": ...}) or a plain JSON form. Alerts are first stored in
 * alert_deliveries (deduplicated per destination); a sender thread posts them with retries and
 * exponential backoff, at most ALERT_RATE_PER_MIN per destination, so a receiver that is down loses
 * nothing. Alerts below ALERT_MIN_CONFIDENCE are stored as suppressed, not sent. */
#ifndef PS_ALERTS_H
#define PS_ALERTS_H

#include "config.h"

#include <jansson.h>
#include <libpq-fe.h>

typedef struct alerts alerts_t;

/* Starts the sender thread when ALERT_WEBHOOKS is set; returns NULL (alerts off) otherwise. */
alerts_t *alerts_start(const config_t *cfg);
void alerts_stop(alerts_t *a);
/* Queues an alert for every destination. `payload` (borrowed) is the plain JSON form and must hold a
 * "text" string used for Slack. confidence < 0 means "not a report" (never suppressed). Any thread,
 * with the caller's connection. Returns 0 or -1. NULL `a` is a no-op. */
int alerts_enqueue(const alerts_t *a, PGconn *c, const char *kind, const char *dedup_key, json_t *payload,
                   double confidence);

#endif
