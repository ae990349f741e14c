/* Group-committing COPY writers (see ingest_writer.h). */
#include "ingest_writer.h"
#include "alloc.h"
#include "db.h"
#include "log.h"
#include "program.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GROUP_MAX_JOBS 64
#define GROUP_MAX_BYTES (16u * 1024 * 1024)
#define KNOWN_DAYS 64
#define KNOWN_RESOURCES 256

typedef struct node {
    struct node *next;
    ingest_job_t *job;
} node_t;

typedef struct {
    ingest_writer_t *w;
    int index;
    PGconn *pg;
    redisContext *redis;
    int staging_ready; /* temp staging tables exist on this connection */
    int64_t known_days[KNOWN_DAYS];
    size_t nknown;
    /* resources this thread has committed: an SDK repeats its resource in every batch, so after the
     * first commit nothing more is written for it. Filled only after COMMIT, so a rolled-back group
     * never leaves a row referring to a resource that is not stored. */
    char known_resources[KNOWN_RESOURCES][33];
    size_t nresources, next_resource;
} writer_thread_t;

struct ingest_writer {
    ingest_writer_opts_t opts;
    pthread_mutex_t lock;
    pthread_cond_t ready;
    node_t *head, *tail;
    size_t queued_bytes;
    int stopping;
    atomic_llong db_down_since_ms; /* 0 when the last attempt worked */
    pthread_t *tids;
    writer_thread_t *threads;
};

/* ---------------- queue ---------------- */

int ingest_writer_submit(ingest_writer_t *w, ingest_job_t *job)
{
    size_t bytes = job->batch.copy.len;
    pthread_mutex_lock(&w->lock);
    if (w->stopping || (w->queued_bytes > 0 && w->queued_bytes + bytes > w->opts.max_queue_bytes)) {
        pthread_mutex_unlock(&w->lock);
        return -1;
    }
    node_t *n = xmalloc(sizeof(*n));
    n->next = NULL;
    n->job = job;
    if (w->tail)
        w->tail->next = n;
    else
        w->head = n;
    w->tail = n;
    w->queued_bytes += bytes;
    atomic_fetch_add(&w->opts.stats->queue_depth, 1);
    atomic_fetch_add(&w->opts.stats->queue_bytes, (long)bytes);
    pthread_cond_signal(&w->ready);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

/* Takes up to GROUP_MAX_JOBS / GROUP_MAX_BYTES of waiting jobs; blocks while none. Returns the count,
 * 0 when stopping with an empty queue. */
static size_t take_group(ingest_writer_t *w, ingest_job_t **out)
{
    size_t n = 0, bytes = 0;
    pthread_mutex_lock(&w->lock);
    while (w->head == NULL && !w->stopping)
        pthread_cond_wait(&w->ready, &w->lock);
    while (w->head && n < GROUP_MAX_JOBS &&
           (n == 0 || bytes + w->head->job->batch.copy.len <= GROUP_MAX_BYTES)) {
        node_t *node = w->head;
        w->head = node->next;
        if (w->head == NULL) w->tail = NULL;
        out[n++] = node->job;
        bytes += node->job->batch.copy.len;
        free(node);
    }
    w->queued_bytes -= bytes;
    atomic_fetch_sub(&w->opts.stats->queue_depth, (long)n);
    atomic_fetch_sub(&w->opts.stats->queue_bytes, (long)bytes);
    pthread_mutex_unlock(&w->lock);
    return n;
}

int ingest_writer_db_down(ingest_writer_t *w)
{
    long long since = atomic_load(&w->db_down_since_ms);
    return since != 0 && mono_ms() - since < 1000;
}

/* ---------------- SQL steps ---------------- */

static int exec_ok(PGconn *c, const char *sql, char *err, size_t errlen)
{
    return db_exec(c, sql, err, errlen) == 0;
}

/* Runs `sql` (a COPY ... FROM STDIN) with `data`. Returns 0, or -1 with the SQLSTATE (or "" for a lost
 * connection). */
static int copy_rows(PGconn *c, const char *sql, const buf_t *data, char sqlstate[6], char *err,
                     size_t errlen)
{
    sqlstate[0] = '\0';
    PGresult *r = PQexec(c, sql);
    int rc = -1;
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        snprintf(err, errlen, "%s", PQerrorMessage(c));
        const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (st) snprintf(sqlstate, 6, "%s", st);
        PQclear(r);
        return -1;
    }
    PQclear(r);
    if (PQputCopyData(c, data->data ? data->data : "", (int)data->len) != 1 || PQputCopyEnd(c, NULL) != 1) {
        snprintf(err, errlen, "%s", PQerrorMessage(c));
        while ((r = PQgetResult(c)) != NULL)
            PQclear(r);
        return -1;
    }
    while ((r = PQgetResult(c)) != NULL) {
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            rc = 0;
        } else {
            snprintf(err, errlen, "%s", PQresultErrorMessage(r));
            const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            if (st) snprintf(sqlstate, 6, "%s", st);
            rc = -1;
        }
        PQclear(r);
    }
    return rc;
}

/* COPY the batch rows `data` of `kind` into `table`. */
static int copy_into(PGconn *c, const char *table, ingest_kind_t kind, const buf_t *data, char sqlstate[6],
                     char *err, size_t errlen)
{
    char sql[768];
    snprintf(sql, sizeof(sql), "COPY %s (%s) FROM STDIN", table, ingest_batch_columns(kind));
    return copy_rows(c, sql, data, sqlstate, err, errlen);
}

static const char *staging_table(ingest_kind_t kind)
{
    static const char *names[] = {"stage_spans", "stage_logs", "stage_metric_points", "stage_change_events"};
    return names[kind];
}

/* Temp tables live as long as the connection; ON COMMIT DELETE ROWS keeps them empty between groups.
 * Their columns are read from the catalog, not with LIKE: LIKE needs SELECT on the raw table, which the
 * ingest role does not have (migrations/007_roles.sql). Defaults are not needed: rows go on to the raw
 * table naming the same columns they were copied with, and the raw table fills in the rest. */
static int ensure_staging(writer_thread_t *t, char *err, size_t errlen)
{
    if (t->staging_ready) return 0;
    for (int k = 0; k <= INGEST_KIND_COUNT; k++) {
        char sql[640];
        snprintf(
            sql, sizeof(sql),
            "DO $$ BEGIN EXECUTE (SELECT format('CREATE TEMP TABLE IF NOT EXISTS %s (%%s) ON COMMIT "
            "DELETE ROWS', string_agg(format('%%I %%s', attname, format_type(atttypid, atttypmod)), ', ' "
            "ORDER BY attnum)) FROM pg_attribute WHERE attrelid = 'public.%s'::regclass AND attnum > 0 "
            "AND NOT attisdropped); END $$",
            k < INGEST_KIND_COUNT ? staging_table((ingest_kind_t)k) : "stage_resources",
            k < INGEST_KIND_COUNT ? ingest_batch_table((ingest_kind_t)k) : "resources");
        if (!exec_ok(t->pg, sql, err, errlen)) return -1;
    }
    t->staging_ready = 1;
    return 0;
}

/* The slow path for a batch that overlaps stored rows: stage, then insert what is new. */
static int insert_deduplicated(writer_thread_t *t, ingest_job_t *job, char sqlstate[6], char *err,
                               size_t errlen)
{
    ingest_kind_t kind = job->batch.kind;
    char sql[1536];
    snprintf(sql, sizeof(sql), "DELETE FROM %s", staging_table(kind));
    if (!exec_ok(t->pg, sql, err, errlen)) return -1;
    if (copy_into(t->pg, staging_table(kind), kind, &job->batch.copy, sqlstate, err, errlen) != 0) return -1;
    snprintf(sql, sizeof(sql), "INSERT INTO %s (%s) SELECT %s FROM %s ON CONFLICT DO NOTHING",
             ingest_batch_table(kind), ingest_batch_columns(kind), ingest_batch_columns(kind),
             staging_table(kind));
    PGresult *r = PQexec(t->pg, sql);
    int rc = -1;
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        job->accepted = strtoul(PQcmdTuples(r), NULL, 10);
        job->duplicates = job->batch.records - job->accepted;
        rc = 0;
    } else {
        snprintf(err, errlen, "%s", PQerrorMessage(t->pg));
        const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (st) snprintf(sqlstate, 6, "%s", st);
    }
    PQclear(r);
    return rc;
}

static int day_known(writer_thread_t *t, int64_t day)
{
    for (size_t i = 0; i < t->nknown; i++)
        if (t->known_days[i] == day) return 1;
    return 0;
}

/* Creates missing day partitions, outside the group's transaction (DDL takes strong locks). */
static int ensure_partitions(writer_thread_t *t, ingest_job_t **jobs, size_t n, char *err, size_t errlen)
{
    for (size_t j = 0; j < n; j++) {
        for (size_t d = 0; d < jobs[j]->batch.ndays; d++) {
            int64_t day = jobs[j]->batch.days[d];
            if (day_known(t, day)) continue;
            time_t secs = (time_t)(day * 86400);
            struct tm tm;
            gmtime_r(&secs, &tm);
            char date[16];
            strftime(date, sizeof(date), "%Y-%m-%d", &tm);
            /* one call per day either way: an hourly day gets its 24 partitions at once (012) */
            const char *params[] = {date, t->w->opts.hourly_partitions ? "true" : "false"};
            PGresult *r = PQexecParams(t->pg, "SELECT ensure_raw_partitions($1::date, $2::boolean)", 2, NULL,
                                       params, NULL, NULL, 0);
            int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
            if (!ok) snprintf(err, errlen, "partition %s: %s", date, PQerrorMessage(t->pg));
            PQclear(r);
            if (!ok) return -1;
            if (t->nknown == KNOWN_DAYS) t->nknown = 0; /* forget the oldest; re-checking is cheap */
            t->known_days[t->nknown++] = day;
        }
    }
    return 0;
}

static int trace_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Gathers the distinct error traces of the committed jobs (status 200) into a sorted array. */
static size_t collect_error_traces(ingest_job_t **jobs, size_t n, char (**out)[INGEST_TRACE_ID_LEN + 1])
{
    size_t total = 0;
    for (size_t j = 0; j < n; j++)
        if (jobs[j]->status == 200) total += jobs[j]->batch.nerror_traces;
    *out = NULL;
    if (total == 0) return 0;
    char(*all)[INGEST_TRACE_ID_LEN + 1] = xmalloc(total * sizeof(*all));
    size_t k = 0;
    for (size_t j = 0; j < n; j++)
        if (jobs[j]->status == 200)
            for (size_t i = 0; i < jobs[j]->batch.nerror_traces; i++)
                memcpy(all[k++], jobs[j]->batch.error_traces[i], sizeof(*all));
    qsort(all, k, sizeof(*all), trace_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || strcmp(all[u - 1], all[i]) != 0) memcpy(all[u++], all[i], sizeof(*all));
    *out = all;
    return u;
}

/* Records error traces in pending_triggers (same transaction as the rows). */
static int record_triggers(PGconn *c, char (*traces)[INGEST_TRACE_ID_LEN + 1], size_t n, long long now,
                           char *err, size_t errlen)
{
    buf_t arr;
    buf_init(&arr, n * (INGEST_TRACE_ID_LEN + 1) + 8);
    buf_append_char(&arr, '{');
    for (size_t i = 0; i < n; i++) {
        if (i) buf_append_char(&arr, ',');
        buf_append_str(&arr, traces[i]);
    }
    buf_append_char(&arr, '}');
    char nowbuf[24];
    snprintf(nowbuf, sizeof(nowbuf), "%lld", now);
    const char *params[] = {arr.data, nowbuf};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO pending_triggers (trace_id, first_seen_ms, last_seen_ms) "
                               "SELECT t, $2::bigint, $2::bigint FROM unnest($1::text[]) AS t "
                               "ON CONFLICT (trace_id) DO UPDATE SET last_seen_ms = EXCLUDED.last_seen_ms, "
                               "errors = pending_triggers.errors + 1",
                               2, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) snprintf(err, errlen, "pending_triggers: %s", PQerrorMessage(c));
    PQclear(r);
    buf_dispose(&arr);
    return ok ? 0 : -1;
}

static int resource_known(const writer_thread_t *t, const char *hash)
{
    for (size_t i = 0; i < t->nresources; i++)
        if (memcmp(t->known_resources[i], hash, 32) == 0) return 1;
    return 0;
}

static void remember_resources(writer_thread_t *t, const ingest_batch_t *b)
{
    for (size_t i = 0; i < b->nresources; i++) {
        if (resource_known(t, b->resource_hashes[i])) continue;
        memcpy(t->known_resources[t->next_resource], b->resource_hashes[i], 33);
        t->next_resource = (t->next_resource + 1) % KNOWN_RESOURCES;
        if (t->nresources < KNOWN_RESOURCES) t->nresources++;
    }
}

/* Stores the batch's resources not yet known to be stored (in the open transaction). */
static int write_resources(writer_thread_t *t, ingest_job_t *job, char sqlstate[6], char *err, size_t errlen)
{
    const ingest_batch_t *b = &job->batch;
    size_t unknown = 0;
    for (size_t i = 0; i < b->nresources; i++)
        unknown += !resource_known(t, b->resource_hashes[i]);
    if (unknown == 0) return 0;
    if (ensure_staging(t, err, errlen) != 0 || !exec_ok(t->pg, "DELETE FROM stage_resources", err, errlen))
        return -1;
    char sql[512];
    snprintf(sql, sizeof(sql), "COPY stage_resources (%s) FROM STDIN", ingest_batch_resource_columns());
    if (copy_rows(t->pg, sql, &b->resources, sqlstate, err, errlen) != 0) return -1;
    /* no conflict target: naming one needs SELECT on it, which the ingest role does not have (the
     * primary key is the table's only unique index, so this is the same rule) */
    snprintf(sql, sizeof(sql),
             "INSERT INTO resources (%s) SELECT %s FROM stage_resources ON CONFLICT DO NOTHING",
             ingest_batch_resource_columns(), ingest_batch_resource_columns());
    return exec_ok(t->pg, sql, err, errlen) ? 0 : -1;
}

/* Writes one job inside the open transaction, isolated by a savepoint. Returns -1 only when the
 * connection is lost (the whole group fails); a refused batch gets status 400 and returns 0. */
static int write_job(writer_thread_t *t, ingest_job_t *job)
{
    char err[512], sqlstate[6];
    if (!exec_ok(t->pg, "SAVEPOINT job", err, sizeof(err))) return -1;
    sqlstate[0] = '\0';
    if (write_resources(t, job, sqlstate, err, sizeof(err)) != 0) {
        if (PQstatus(t->pg) != CONNECTION_OK) return -1;
        if (!exec_ok(t->pg, "ROLLBACK TO SAVEPOINT job", err, sizeof(err))) return -1;
        job->status = 400;
        snprintf(job->error, sizeof(job->error), "database refused the batch's resources: %.200s", err);
        log_warn("resources refused by PostgreSQL (%s): %s", sqlstate, err);
        return 0;
    }
    if (copy_into(t->pg, ingest_batch_table(job->batch.kind), job->batch.kind, &job->batch.copy, sqlstate,
                  err, sizeof(err)) == 0) {
        job->accepted = job->batch.records;
        job->duplicates = 0;
        job->status = 200;
        return exec_ok(t->pg, "RELEASE SAVEPOINT job", err, sizeof(err)) ? 0 : -1;
    }
    if (PQstatus(t->pg) != CONNECTION_OK) return -1;
    if (!exec_ok(t->pg, "ROLLBACK TO SAVEPOINT job", err, sizeof(err))) return -1;
    if (strcmp(sqlstate, "23505") == 0) {
        /* the rollback undid the resources too: write them again with the new rows */
        if (write_resources(t, job, sqlstate, err, sizeof(err)) == 0 &&
            insert_deduplicated(t, job, sqlstate, err, sizeof(err)) == 0) {
            job->status = 200;
            return exec_ok(t->pg, "RELEASE SAVEPOINT job", err, sizeof(err)) ? 0 : -1;
        }
        if (PQstatus(t->pg) != CONNECTION_OK) return -1;
        if (!exec_ok(t->pg, "ROLLBACK TO SAVEPOINT job", err, sizeof(err))) return -1;
    }
    /* PostgreSQL refused the data itself (it passed our validation): tell the client why. */
    job->status = 400;
    snprintf(job->error, sizeof(job->error), "database refused the batch: %.200s", err);
    log_warn("batch refused by PostgreSQL (%s): %s", sqlstate, err);
    return 0;
}

static void fail_group(ingest_writer_t *w, ingest_job_t **jobs, size_t n, const char *why)
{
    atomic_store(&w->opts.stats->db_up, 0);
    long long expected = 0;
    atomic_compare_exchange_strong(&w->db_down_since_ms, &expected, mono_ms());
    for (size_t j = 0; j < n; j++) {
        jobs[j]->status = 503;
        jobs[j]->accepted = jobs[j]->duplicates = 0;
        snprintf(jobs[j]->error, sizeof(jobs[j]->error), "database unavailable: %.200s", why);
    }
}

static void write_group(writer_thread_t *t, ingest_job_t **jobs, size_t n)
{
    ingest_writer_t *w = t->w;
    char err[512] = "";
    char(*traces)[INGEST_TRACE_ID_LEN + 1] = NULL;
    size_t ntraces = 0;
    long long now = now_ms();
    if (!db_ensure(&t->pg, w->opts.database_url)) {
        t->staging_ready = 0;
        fail_group(w, jobs, n, "cannot connect");
        return;
    }
    /* Staging tables are made outside the transaction: made inside a job's savepoint, a rollback to it
     * would drop them while this thread believes they exist. */
    if (ensure_staging(t, err, sizeof(err)) != 0 || ensure_partitions(t, jobs, n, err, sizeof(err)) != 0 ||
        !exec_ok(t->pg, "BEGIN", err, sizeof(err)))
        goto lost;
    for (size_t j = 0; j < n; j++)
        if (write_job(t, jobs[j]) != 0) goto lost;
    ntraces = collect_error_traces(jobs, n, &traces);
    /* the debounce counts from now, not from the group's start: creating a day's partitions can take
     * longer than the quiet period */
    now = now_ms();
    if (ntraces && record_triggers(t->pg, traces, ntraces, now, err, sizeof(err)) != 0) goto lost;
    if (!exec_ok(t->pg, "COMMIT", err, sizeof(err))) goto lost;
    for (size_t j = 0; j < n; j++)
        if (jobs[j]->status == 200) remember_resources(t, &jobs[j]->batch);
    atomic_store(&w->opts.stats->db_up, 1);
    atomic_store(&w->db_down_since_ms, 0);
    atomic_fetch_add(&w->opts.stats->commits, 1);
    if (ntraces)
        debounce_touch(w->opts.debounce, &t->redis, (const char(*)[INGEST_TRACE_ID_LEN + 1]) traces, ntraces,
                       now);
    free(traces);
    return;
lost:
    /* Nothing of this group is acknowledged: roll back (if the connection still works) and answer 503. */
    if (PQstatus(t->pg) == CONNECTION_OK) {
        char ignored[128];
        db_exec(t->pg, "ROLLBACK", ignored, sizeof(ignored));
    } else {
        t->staging_ready = 0;
    }
    log_warn("group of %zu batches not written: %s", n, err);
    fail_group(w, jobs, n, err);
    free(traces);
}

static void answer(ingest_writer_t *w, ingest_job_t *job)
{
    ingest_stats_t *s = w->opts.stats;
    ingest_kind_t k = job->batch.kind;
    if (job->status == 200) {
        atomic_fetch_add(&s->accepted[k], job->accepted);
        atomic_fetch_add(&s->duplicates[k], job->duplicates);
    } else {
        atomic_fetch_add(&s->rejected[k], job->batch.records);
        atomic_fetch_add(&s->batches_rejected[k], 1);
    }
    ingest_stats_observe_latency(s, mono_us() - job->arrived_us);
    if (job->finish)
        job->finish(job);
    else
        httpd_job_finish(&job->super);
}

static void *writer_main(void *arg)
{
    writer_thread_t *t = arg;
    ingest_job_t *jobs[GROUP_MAX_JOBS];
    size_t n;
    while ((n = take_group(t->w, jobs)) > 0) {
        write_group(t, jobs, n);
        for (size_t j = 0; j < n; j++)
            answer(t->w, jobs[j]);
    }
    PQfinish(t->pg);
    redisFree(t->redis);
    return NULL;
}

/* ---------------- lifecycle ---------------- */

ingest_writer_t *ingest_writer_create(const ingest_writer_opts_t *opts)
{
    ingest_writer_t *w = xcalloc(1, sizeof(*w));
    w->opts = *opts;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->ready, NULL);
    w->tids = xcalloc((size_t)opts->threads, sizeof(*w->tids));
    w->threads = xcalloc((size_t)opts->threads, sizeof(*w->threads));
    for (int i = 0; i < opts->threads; i++) {
        w->threads[i].w = w;
        w->threads[i].index = i;
        pthread_create(&w->tids[i], NULL, writer_main, &w->threads[i]);
    }
    return w;
}

void ingest_writer_free(ingest_writer_t *w)
{
    if (w == NULL) return;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    pthread_cond_broadcast(&w->ready);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < w->opts.threads; i++)
        pthread_join(w->tids[i], NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->ready);
    free(w->tids);
    free(w->threads);
    free(w);
}
