/* Telemetry that tests send to a real backend's native ingest API (POST /ingest/...), asserting it is
 * accepted. */
#ifndef PS_TS_INGEST_H
#define PS_TS_INGEST_H

#include "ts.h"

/* One failing SERVER span "POST /charge" of `service` (5 ms, starting now) with an "exception" event of
 * type `exception`, in trace `trace` (32 hex digits; NULL: a new trace), sent with the ingest key; fails
 * the test unless the backend answers 200. */
void ts_ingest_failure(const ts_proc_t *backend, const char *service, const char *exception,
                       const char *trace);

#endif
