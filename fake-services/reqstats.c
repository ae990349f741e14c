/* Windowed request statistics (see reqstats.h). */
#include "reqstats.h"
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

void reqstats_init(reqstats_t *r)
{
    memset(r, 0, sizeof(*r));
    r->rng = 0x2545f4914f6cdd1dull;
    pthread_mutex_init(&r->lock, NULL);
}

void reqstats_dispose(reqstats_t *r)
{
    pthread_mutex_destroy(&r->lock);
}

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

void reqstats_record(reqstats_t *r, double latency_ms, int failed)
{
    pthread_mutex_lock(&r->lock);
    r->requests++;
    r->total_requests++;
    if (failed) r->errors++, r->total_errors++;
    if (r->seen < REQSTATS_SAMPLES) {
        r->samples[r->seen] = latency_ms;
    } else {
        uint64_t j = next(&r->rng) % (uint64_t)(r->seen + 1); /* reservoir sampling */
        if (j < REQSTATS_SAMPLES) r->samples[j] = latency_ms;
    }
    r->seen++;
    pthread_mutex_unlock(&r->lock);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void reqstats_take(reqstats_t *r, reqstats_window_t *out)
{
    double *copy = xmalloc(REQSTATS_SAMPLES * sizeof(double));
    pthread_mutex_lock(&r->lock);
    out->requests = r->requests;
    out->errors = r->errors;
    size_t n = r->seen < REQSTATS_SAMPLES ? (size_t)r->seen : REQSTATS_SAMPLES;
    memcpy(copy, r->samples, n * sizeof(double));
    r->requests = r->errors = 0;
    r->seen = 0;
    pthread_mutex_unlock(&r->lock);
    out->have_latency = n > 0;
    out->p95_ms = 0;
    if (n > 0) {
        qsort(copy, n, sizeof(double), cmp_double);
        out->p95_ms = copy[(size_t)((double)(n - 1) * 0.95 + 0.5)];
    }
    free(copy);
}

void reqstats_totals(reqstats_t *r, long *requests, long *errors)
{
    pthread_mutex_lock(&r->lock);
    *requests = r->total_requests;
    *errors = r->total_errors;
    pthread_mutex_unlock(&r->lock);
}
