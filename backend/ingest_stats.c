/* Prometheus rendering of the ingest counters (see ingest_stats.h). */
#include "ingest_stats.h"

static const double bucket_ms[INGEST_LATENCY_BUCKETS] = {1,   2,   5,   10,   20,   50,
                                                         100, 200, 500, 1000, 2000, 5000};

void ingest_stats_observe_latency(ingest_stats_t *s, long long us)
{
    int i = 0;
    while (i < INGEST_LATENCY_BUCKETS && (double)us / 1000.0 > bucket_ms[i])
        i++;
    atomic_fetch_add_explicit(&s->latency_buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->latency_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->latency_sum_us, (unsigned long)us, memory_order_relaxed);
}

static void counter_per_kind(buf_t *out, const char *name, const char *help, const atomic_ulong *v)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (int k = 0; k < INGEST_KIND_COUNT; k++)
        buf_printf(out, "%s{kind=\"%s\"} %lu\n", name, ingest_kind_name((ingest_kind_t)k),
                   atomic_load(&v[k]));
}

void ingest_stats_write(const ingest_stats_t *s, buf_t *out)
{
    counter_per_kind(out, "ingest_records_accepted_total", "Records stored.", s->accepted);
    counter_per_kind(out, "ingest_records_duplicate_total", "Records already stored (re-sent).",
                     s->duplicates);
    counter_per_kind(out, "ingest_records_rejected_total", "Records in refused batches.", s->rejected);
    counter_per_kind(out, "ingest_batches_rejected_total", "Refused batches.", s->batches_rejected);
    buf_append_str(out, "# HELP ingest_batch_latency_seconds Time from a batch's arrival to its answer.\n"
                        "# TYPE ingest_batch_latency_seconds histogram\n");
    unsigned long cum = 0;
    for (int i = 0; i <= INGEST_LATENCY_BUCKETS; i++) {
        cum += atomic_load(&s->latency_buckets[i]);
        if (i < INGEST_LATENCY_BUCKETS)
            buf_printf(out, "ingest_batch_latency_seconds_bucket{le=\"%g\"} %lu\n", bucket_ms[i] / 1000.0,
                       cum);
        else
            buf_printf(out, "ingest_batch_latency_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
    }
    buf_printf(out, "ingest_batch_latency_seconds_sum %.6f\n", (double)atomic_load(&s->latency_sum_us) / 1e6);
    buf_printf(out, "ingest_batch_latency_seconds_count %lu\n", atomic_load(&s->latency_count));
    buf_printf(
        out,
        "# HELP ingest_queue_depth Batches waiting for a database writer.\n# TYPE ingest_queue_depth gauge\n"
        "ingest_queue_depth %ld\n"
        "# HELP ingest_queue_bytes Bytes of rows waiting for a database writer.\n"
        "# TYPE ingest_queue_bytes gauge\ningest_queue_bytes %ld\n"
        "# HELP ingest_commits_total Group commits.\n# TYPE ingest_commits_total counter\n"
        "ingest_commits_total %lu\n"
        "# HELP ingest_traces_scheduled_total Error signals scheduled for analysis (debounced).\n"
        "# TYPE ingest_traces_scheduled_total counter\ningest_traces_scheduled_total %lu\n"
        "# HELP ingest_traces_enqueued_total Traces handed to the analysis queue.\n"
        "# TYPE ingest_traces_enqueued_total counter\ningest_traces_enqueued_total %lu\n"
        "# HELP ingest_redis_failures_total Redis calls that failed (triggers kept in PostgreSQL).\n"
        "# TYPE ingest_redis_failures_total counter\ningest_redis_failures_total %lu\n"
        "# HELP ingest_database_up Whether the last database write succeeded.\n"
        "# TYPE ingest_database_up gauge\ningest_database_up %d\n"
        "# HELP ingest_redis_up Whether the last Redis call succeeded.\n"
        "# TYPE ingest_redis_up gauge\ningest_redis_up %d\n",
        atomic_load(&s->queue_depth), atomic_load(&s->queue_bytes), atomic_load(&s->commits),
        atomic_load(&s->traces_scheduled), atomic_load(&s->traces_enqueued), atomic_load(&s->redis_failures),
        atomic_load(&s->db_up), atomic_load(&s->redis_up));
}
