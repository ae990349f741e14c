/* Database writer threads for ingest. Event-loop threads hand them parsed batches (ingest_job_t);
 * each writer takes every batch waiting (up to a cap), writes them with COPY inside one transaction
 * (group commit: one fsync for many requests), records error traces in pending_triggers in the same
 * transaction, commits, and only then hands each job back to its loop thread to be answered. After
 * the commit the error traces are scheduled in the Redis debounce.
 *
 * Per batch: a fast path COPYs straight into the raw table; if that hits a unique violation (the
 * batch, or part of it, was sent before) the batch is rolled back to its savepoint and re-done
 * through a temporary staging table with INSERT ... ON CONFLICT DO NOTHING, which counts duplicates.
 * Batches are isolated by savepoints: one bad batch never fails its neighbours. */
#ifndef PS_INGEST_WRITER_H
#define PS_INGEST_WRITER_H

#include "debounce.h"
#include "httpd.h"
#include "ingest_batch.h"
#include "ingest_stats.h"

typedef struct ingest_writer ingest_writer_t;

typedef struct ingest_job ingest_job_t;

/* Hands a written job back to whoever answers it (an HTTP loop thread, the gRPC server). Called once
 * per job on a writer thread, with the results set; takes ownership of the job. */
typedef void (*ingest_job_finish_fn)(ingest_job_t *job);

struct ingest_job {
    httpd_job_t super;           /* first: HTTP jobs are answered through httpd */
    ingest_job_finish_fn finish; /* NULL: httpd_job_finish(&super) */
    void *call;                  /* the finisher's own context (e.g. a gRPC call) */
    ingest_batch_t batch;        /* owned by the job */
    long long arrived_us;        /* monotonic, for the latency histogram */
    /* results, set by the writer before httpd_job_finish() */
    int status; /* 200, 400 (PostgreSQL refused the data), 503 (database unavailable) */
    size_t accepted, duplicates;
    char error[256];
};

typedef struct {
    int threads;
    const char *database_url;
    size_t max_queue_bytes;
    ingest_stats_t *stats; /* borrowed */
    debounce_t *debounce;  /* borrowed */
    int hourly_partitions; /* PARTITION_INTERVAL=hour: new raw partitions cover an hour, not a day */
} ingest_writer_opts_t;

ingest_writer_t *ingest_writer_create(const ingest_writer_opts_t *opts);
/* Queues a job (takes ownership until it is finished). Returns -1 when the queue is full: the caller
 * still owns the job and should answer 503. Any thread. */
int ingest_writer_submit(ingest_writer_t *w, ingest_job_t *job);
/* 1 when the last attempt to reach PostgreSQL failed less than a second ago (answer 503 at once). */
int ingest_writer_db_down(ingest_writer_t *w);
/* Writes what is queued, then stops the threads. NULL is fine. */
void ingest_writer_free(ingest_writer_t *w);

#endif
