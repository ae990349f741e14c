/* The fake services' telemetry client: spans, logs and metric points are queued in a bounded buffer
 * and sent to the backend's ingest API in batches by a background thread, so telemetry never blocks or
 * fails a user request; when the buffer is full or the backend is down, records are dropped and
 * counted. Any thread may record. */
#ifndef PS_FAKE_TELEMETRY_H
#define PS_FAKE_TELEMETRY_H

#include <jansson.h>
#include <stdint.h>

#define TELEMETRY_MAX_QUEUED 20000
#define TELEMETRY_BATCH 500

typedef struct telemetry telemetry_t;

typedef struct {
    unsigned long sent[3], dropped[3]; /* spans, logs, metrics */
} telemetry_stats_t;

/* backend_url NULL: records are counted as dropped (no backend configured). */
telemetry_t *telemetry_start(const char *backend_url, const char *api_key);
void telemetry_stop(telemetry_t *t);
/* Each takes ownership of `record` (a JSON object in the ingest format). */
void telemetry_span(telemetry_t *t, json_t *record);
void telemetry_log(telemetry_t *t, json_t *record);
void telemetry_metric(telemetry_t *t, json_t *record);
/* Sends one change event now (used by /control/change); returns 0 when the backend accepted it. */
int telemetry_event_now(telemetry_t *t, json_t *record);
void telemetry_get_stats(telemetry_t *t, telemetry_stats_t *out);
int64_t telemetry_now_ns(void);

#endif
