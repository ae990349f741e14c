/* Ingest counters shown by GET /metrics. Updated with relaxed atomics by any thread. */
#ifndef PS_INGEST_STATS_H
#define PS_INGEST_STATS_H

#include "buf.h"
#include "ingest_batch.h"

#include <stdatomic.h>

/* Upper bounds (ms) of the batch latency histogram buckets; the last bucket is +Inf. */
#define INGEST_LATENCY_BUCKETS 12

typedef struct {
    atomic_ulong accepted[INGEST_KIND_COUNT];
    atomic_ulong duplicates[INGEST_KIND_COUNT];
    atomic_ulong rejected[INGEST_KIND_COUNT]; /* records in refused batches (400/413/503) */
    atomic_ulong batches_rejected[INGEST_KIND_COUNT];
    atomic_ulong latency_buckets[INGEST_LATENCY_BUCKETS + 1];
    atomic_ulong latency_count;
    atomic_ulong latency_sum_us;
    atomic_long queue_depth;       /* batches waiting for a writer */
    atomic_long queue_bytes;       /* their COPY bytes */
    atomic_ulong commits;          /* group commits */
    atomic_ulong traces_scheduled; /* error traces touched in the debounce */
    atomic_ulong traces_enqueued;  /* traces handed to the analysis queue */
    atomic_ulong redis_failures;
    atomic_int db_up;
    atomic_int redis_up;
} ingest_stats_t;

/* Records one batch's time from arrival to answer. */
void ingest_stats_observe_latency(ingest_stats_t *s, long long us);
/* Appends the Prometheus text of every counter. */
void ingest_stats_write(const ingest_stats_t *s, buf_t *out);

#endif
