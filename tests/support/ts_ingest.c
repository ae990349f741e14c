/* Telemetry sent to a backend's native ingest API (see ts_ingest.h). */
#include "ts_ingest.h"

#include <stdio.h>
#include <time.h>

void ts_ingest_failure(const ts_proc_t *backend, const char *service, const char *exception,
                       const char *trace)
{
    char fresh[33], body[2048], url[256];
    if (trace == NULL) {
        ts_hex(fresh, 32);
        trace = fresh;
    }
    long long now = (long long)time(NULL) * 1000000000LL;
    snprintf(
        body, sizeof(body),
        "{\"spans\":[{\"trace_id\":\"%s\",\"span_id\":\"b000000000000001\",\"service\":\"%s\",\"name\":"
        "\"POST /charge\",\"kind\":\"SERVER\",\"start_time\":%lld,\"end_time\":%lld,\"status\":\"ERROR\","
        "\"events\":[{\"name\":\"exception\",\"time\":%lld,\"attributes\":{\"exception.type\":\"%s\","
        "\"exception.message\":\"it failed\"}}]}]}",
        trace, service, now, now + 5000000, now + 4000000, exception);
    snprintf(url, sizeof(url), "%s/ingest/traces", backend->url);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ck_assert_msg(r.status == 200, "ingest: %ld %s", r.status, r.body);
    ts_resp_free(&r);
}
