/* Request statistics of one service for its periodic metrics: per window, the number of requests, of
 * failed ones and a bounded sample of latencies for the p95; plus totals since start. Any thread. */
#ifndef PS_FAKE_REQSTATS_H
#define PS_FAKE_REQSTATS_H

#include <pthread.h>
#include <stdint.h>

#define REQSTATS_SAMPLES 4096

typedef struct {
    pthread_mutex_t lock;
    long requests, errors; /* this window */
    long total_requests, total_errors;
    double samples[REQSTATS_SAMPLES];
    long seen; /* latencies offered this window; past REQSTATS_SAMPLES a reservoir keeps a fair sample */
    uint64_t rng;
} reqstats_t;

typedef struct {
    long requests, errors;
    int have_latency; /* 0 when the window had no request */
    double p95_ms;
} reqstats_window_t;

void reqstats_init(reqstats_t *r);
void reqstats_dispose(reqstats_t *r);
void reqstats_record(reqstats_t *r, double latency_ms, int failed);
/* Returns the window since the last call and starts a new one. */
void reqstats_take(reqstats_t *r, reqstats_window_t *out);
void reqstats_totals(reqstats_t *r, long *requests, long *errors);

#endif
