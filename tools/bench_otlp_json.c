/* bench-otlp-json: parse time of OTLP/HTTP JSON trace bodies, without servers: µs per request of
 * 1,000 spans (about 440 bytes each with three attributes, one resource), parsed into COPY rows.
 *
 *   bench-otlp-json [--spans 1000] [--requests 200]
 *
 * Prints the body size and the mean µs per request (best of three runs). */
#include "alloc.h"
#include "ingest_batch.h"
#include "ingest_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* One ExportTraceServiceRequest of n spans in 10-span traces. Caller frees. */
static char *make_body(int n, size_t *len)
{
    size_t cap = (size_t)n * 1024 + 4096;
    char *b = xmalloc(cap);
    size_t o = 0;
    long long t0 = 1795357925000000000LL;
    o += (size_t)snprintf(
        b + o, cap - o,
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
        "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"checkout\"}},"
        "{\"key\":\"service.version\",\"value\":{\"stringValue\":\"1.4.2\"}},"
        "{\"key\":\"host.name\",\"value\":{\"stringValue\":\"checkout-7d9f-x2\"}}]},"
        "\"scopeSpans\":[{\"scope\":{\"name\":\"io.opentelemetry.spring-webmvc-6.0\",\"version\":\"2.1.0\"},"
        "\"spans\":[");
    for (int i = 0; i < n; i++) {
        unsigned trace = (unsigned)(i / 10) + 1, span = (unsigned)i + 1;
        long long start = t0 + (long long)i * 1000000;
        o += (size_t)snprintf(b + o, cap - o,
                              "%s{\"traceId\":\"5b8efff798038103d269b633%08x\",\"spanId\":\"eee19b7e%08x\","
                              "\"parentSpanId\":\"eee19b7e%08x\",\"name\":\"POST /checkout\",\"kind\":2,"
                              "\"startTimeUnixNano\":\"%lld\",\"endTimeUnixNano\":\"%lld\",\"attributes\":["
                              "{\"key\":\"http.request.method\",\"value\":{\"stringValue\":\"POST\"}},"
                              "{\"key\":\"http.response.status_code\",\"value\":{\"intValue\":\"200\"}},"
                              "{\"key\":\"url.path\",\"value\":{\"stringValue\":\"/checkout/%u\"}}],"
                              "\"status\":{\"code\":%d}}",
                              i ? "," : "", trace, span, i % 10 ? span - 1 : span + 100000, start,
                              start + 250000, span, i % 50 == 0 ? 2 : 0);
    }
    o += (size_t)snprintf(b + o, cap - o, "]}]}]}");
    *len = o;
    return b;
}

int main(int argc, char **argv)
{
    int spans = 1000, requests = 200;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--spans") == 0) spans = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--requests") == 0) requests = atoi(argv[i + 1]);
    }
    size_t len;
    char *body = make_body(spans, &len);
    double best = 0;
    for (int run = 0; run < 3; run++) {
        double t = now_us();
        for (int r = 0; r < requests; r++) {
            ingest_batch_t b;
            ingest_err_t e;
            if (ingest_json_otlp(INGEST_SPANS, body, len, (size_t)spans, (size_t)1 << 28, &b, &e) != 0) {
                fprintf(stderr, "refused: %d %s: %s\n", e.status, e.path, e.reason);
                return 1;
            }
            if (b.records != (size_t)spans) {
                fprintf(stderr, "%zu records stored, %zu rejected (%s: %s)\n", b.records, b.rejected,
                        b.first_rejection.path, b.first_rejection.reason);
                return 1;
            }
            ingest_batch_dispose(&b);
        }
        double us = (now_us() - t) / requests;
        if (run == 0 || us < best) best = us;
    }
    printf("otlp json: %d spans, %zu bytes per request: %.0f us per request (%.2f us per span)\n", spans, len,
           best, best / spans);
    free(body);
    return 0;
}
