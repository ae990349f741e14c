/* The fake services' telemetry client: spans, logs, metric points and change events are queued in a
 * bounded buffer (per kind, by count and by bytes) and sent to the backend's ingest API in batches by
 * one background thread: every flush interval, or as soon as a kind has a full batch. Recording never
 * waits for I/O and never fails a request: when the buffer is full or the backend does not accept a
 * batch, the records are dropped and counted. */
#ifndef PS_FAKE_TELEMETRY_H
#define PS_FAKE_TELEMETRY_H

#include <jansson.h>

typedef enum { TEL_SPANS, TEL_LOGS, TEL_METRICS, TEL_EVENTS, TEL_KINDS } tel_kind_t;

typedef struct telemetry telemetry_t;

typedef struct {
    const char *backend_url; /* e.g. http://127.0.0.1:8000; NULL: every record is dropped */
    const char *api_key;     /* sent as Authorization: Bearer; NULL or "": none */
    int flush_ms;            /* 0: 1000 */
    int batch;               /* records per POST; 0: 500 */
    int max_queued;          /* per kind; 0: 10000 */
    long max_queued_bytes;   /* all kinds together; 0: 32 MiB */
    int timeout_ms;          /* per POST; 0: 3000 */
} telemetry_opts_t;

typedef struct {
    unsigned long sent[TEL_KINDS];    /* accepted by the backend */
    unsigned long dropped[TEL_KINDS]; /* buffer full, backend down or batch refused */
    unsigned long queued[TEL_KINDS];  /* waiting now */
    unsigned long failed_posts;
} telemetry_stats_t;

/* Starts the sender thread. Copies the strings of `opts`. Call after curl_global_init(). */
telemetry_t *telemetry_create(const telemetry_opts_t *opts);
/* Sends what is queued (one attempt), stops the thread and frees everything. NULL is fine. */
void telemetry_free(telemetry_t *t);
/* Queues one record (a JSON object in the ingest format of `kind`); takes ownership, NULL is counted
 * as dropped. Any thread; never blocks on I/O. */
void telemetry_record(telemetry_t *t, tel_kind_t kind, json_t *record);
/* Sends one change event now and waits for the answer (blocking: worker threads only). Takes ownership
 * of `event`. Returns 0 when the backend accepted it, or -1 with the reason in err. */
int telemetry_send_event(telemetry_t *t, json_t *event, char *err, size_t errlen);
void telemetry_get_stats(telemetry_t *t, telemetry_stats_t *out);
/* "spans", "logs", "metrics", "events". */
const char *telemetry_kind_name(tel_kind_t kind);

#endif
