/* The queue loop of the analysis workers (see worker.h). */
#include "worker.h"
#include "alloc.h"
#include "db.h"
#include "hexid.h"
#include "log.h"
#include "program.h"
#include "queue.h"
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLAIM_BLOCK_MS 500
/* the renewer renews every claim this many times per visibility timeout */
#define RENEWALS_PER_TIMEOUT 3
#define RENEWER_SLICE_MS 50
/* a worker waiting for another job of its trace polls the turn this often at most */
#define TURN_POLL_MAX_MS 500
/* "<INSTANCE_ID>-w<n>": distinct across instances, so the group never mixes two workers' claims */
#define CONSUMER_LEN 96

typedef struct {
    workers_t *owner;
    int index;
    pthread_t tid;
    /* the job this thread works on ("" when none) and its consumer name: read by the renewer */
    char job_id[64];
    char consumer[CONSUMER_LEN];
} worker_thread_t;

struct workers {
    const config_t *cfg;
    analyse_shared_t *shared;
    worker_stats_t *stats;
    atomic_int stopping;
    int n;
    worker_thread_t *threads;
    pthread_mutex_t held_mu; /* guards every thread's job_id and consumer */
    pthread_t renewer;
};

/* handle()'s work on a job of `trace` while it holds the trace's turn. Same return. */
static int handle_trace(workers_t *ws, analyser_t *a, PGconn **pg, const queue_job_t *job, const char *trace)
{
    char err[512] = "";
    if (job->handed_ms > 0) {
        /* the debounce hands a trace over again when its analysis seems lost: once is enough */
        int pending = store_trigger_pending(*pg, trace);
        if (pending < 0) return 0;
        if (pending == 0) {
            log_write(LOG_DEBUG, NULL, trace, "job %s: the trace's trigger is already analysed", job->id);
            return 1;
        }
    }
    if (job->deliveries > ws->cfg->max_attempts) {
        snprintf(err, sizeof(err), "failed %ld deliveries (MAX_ATTEMPTS %d)", job->deliveries - 1,
                 ws->cfg->max_attempts);
        if (store_dead_letter(*pg, job->id, trace, job->deliveries - 1, err, job->handed_ms) != 0) return 0;
        atomic_fetch_add(&ws->stats->jobs_dead, 1);
        log_write(LOG_ERROR, NULL, trace, "job %s sent to the dead-letter list: %s", job->id, err);
        return 1;
    }
    if (job->deliveries > 1) {
        atomic_fetch_add(&ws->stats->jobs_redelivered, 1);
        /* the previous worker may have committed before dying: never store a result twice, but
         * queue its alerts, which it may not have done (deduplicated when it had) */
        if (store_job_done(*pg, job->id) == 1) return analyse_realert(a, *pg, job->id) == 0;
    }
    analyse_request_t req = {
        .trace_id = trace, .job_id = job->id, .force_report = job->force, .handed_ms = job->handed_ms};
    analyse_outcome_t out;
    if (analyse_trace(a, *pg, &req, &out, err, sizeof(err)) != 0) {
        atomic_fetch_add(&ws->stats->jobs_failed, 1);
        log_write(LOG_WARN, NULL, trace, "analysis failed (delivery %ld): %s", job->deliveries, err);
        return 0;
    }
    analyse_outcome_dispose(&out);
    atomic_fetch_add(&ws->stats->jobs_done, 1);
    return 1;
}

/* Waits up to `wait_ms` for the turn of `trace` (see handle()); the claim is renewed meanwhile. Returns
 * 1 taken, 0 not (too long, or stopping), -1 on error. */
static int take_turn(workers_t *ws, PGconn *pg, const char *trace, long long wait_ms)
{
    long long deadline = mono_ms() + wait_ms;
    int pause = 20;
    for (;;) {
        int rc = store_trace_try_lock(pg, trace);
        if (rc != 0) return rc;
        if (mono_ms() >= deadline || atomic_load(&ws->stopping)) return 0;
        usleep((useconds_t)pause * 1000);
        if (pause < TURN_POLL_MAX_MS) pause *= 2;
    }
}

/* Handles one delivered job. Returns 1 when it may be acknowledged, 0 when it must stay pending
 * (it will be delivered again after the visibility timeout). */
static int handle(workers_t *ws, analyser_t *a, PGconn **pg, const queue_job_t *job)
{
    if (!db_ensure(pg, ws->cfg->pipeline_database_url)) {
        log_warn("job %s: PostgreSQL unreachable; left for redelivery", job->id);
        return 0;
    }
    char trace[33];
    if (ids_parse_trace_id(job->trace_id, strlen(job->trace_id), trace) != 0) {
        store_dead_letter(*pg, job->id, job->trace_id, job->deliveries, "not a trace id", 0);
        atomic_fetch_add(&ws->stats->jobs_dead, 1);
        return 1;
    }
    /* Jobs of one trace take turns. A trace handed over again while its first job is still with the LLM
     * (an error log committed after the hand-over, a job taken over from a stalled worker) would
     * otherwise be analysed twice at once, both seeing its incident's report pending: two LLM calls for
     * one incident. Waiting, the second finds the first's outcome (its trigger consumed, its report
     * stored) and only joins. */
    long long wait_ms = 2LL * ws->cfg->llm_timeout_ms + ws->cfg->visibility_timeout_ms;
    int turn = take_turn(ws, *pg, trace, wait_ms);
    if (turn < 0) {
        log_warn("job %s: trace lock: %s; left for redelivery", job->id, PQerrorMessage(*pg));
        return 0;
    }
    if (turn == 0 && atomic_load(&ws->stopping)) return 0;
    if (turn == 0) {
        /* left pending, the job would be taken again as soon as its claim lapsed and tie up a worker
         * each time: a dead letter shows it, and the trace can be analysed again on demand */
        char err[160];
        snprintf(err, sizeof(err), "another job of this trace held its turn over %lld ms (a stuck analysis)",
                 wait_ms);
        if (store_dead_letter(*pg, job->id, trace, job->deliveries, err, job->handed_ms) != 0) return 0;
        atomic_fetch_add(&ws->stats->jobs_dead, 1);
        log_write(LOG_ERROR, NULL, trace, "job %s sent to the dead-letter list: %s", job->id, err);
        return 1;
    }
    int done = handle_trace(ws, a, pg, job, trace);
    if (store_trace_unlock(*pg, trace) != 0) {
        /* a lock left behind would stall this trace's next jobs: closing the session releases it */
        log_warn("job %s: trace unlock: %s; reconnecting", job->id, PQerrorMessage(*pg));
        PQfinish(*pg);
        *pg = NULL;
    }
    return done;
}

/* Publishes the job this thread holds ("" for none) to the renewer. */
static void hold(worker_thread_t *t, const char *job_id)
{
    pthread_mutex_lock(&t->owner->held_mu);
    snprintf(t->job_id, sizeof(t->job_id), "%s", job_id);
    pthread_mutex_unlock(&t->owner->held_mu);
}

/* Renews the claim of every job being worked on, RENEWALS_PER_TIMEOUT times per visibility timeout, so
 * only a worker that stopped (died, hung in Redis) loses its job to another. Its own Redis connection. */
static void *renewer_main(void *arg)
{
    workers_t *ws = arg;
    queue_t *q = queue_create(ws->cfg, "renewer");
    long long period = ws->cfg->visibility_timeout_ms / RENEWALS_PER_TIMEOUT, next = mono_ms() + period;
    char(*ids)[2][CONSUMER_LEN] = xcalloc((size_t)ws->n, sizeof(*ids));
    while (!atomic_load(&ws->stopping)) {
        usleep(RENEWER_SLICE_MS * 1000);
        if (mono_ms() < next) continue;
        next = mono_ms() + period;
        int n = 0;
        pthread_mutex_lock(&ws->held_mu);
        for (int i = 0; i < ws->n; i++)
            if (ws->threads[i].job_id[0]) {
                snprintf(ids[n][0], sizeof(ids[n][0]), "%s", ws->threads[i].job_id);
                memcpy(ids[n][1], ws->threads[i].consumer, sizeof(ids[n][1]));
                n++;
            }
        pthread_mutex_unlock(&ws->held_mu);
        for (int i = 0; i < n; i++)
            if (queue_renew(q, ids[i][0], ids[i][1]) < 0)
                log_warn("job %s: claim not renewed (Redis); another worker may take it over", ids[i][0]);
    }
    free(ids);
    queue_free(q);
    return NULL;
}

static void *worker_main(void *arg)
{
    worker_thread_t *t = arg;
    workers_t *ws = t->owner;
    char consumer[CONSUMER_LEN];
    snprintf(consumer, sizeof(consumer), "%s-w%d", ws->cfg->instance_id, t->index);
    queue_t *q = queue_create(ws->cfg, consumer);
    pthread_mutex_lock(&ws->held_mu);
    snprintf(t->consumer, sizeof(t->consumer), "%s", consumer);
    pthread_mutex_unlock(&ws->held_mu);
    analyser_t *a = analyser_create(ws->shared);
    PGconn *pg = NULL;
    while (!atomic_load(&ws->stopping)) {
        queue_job_t job;
        int got = queue_claim(q, &job, CLAIM_BLOCK_MS);
        if (got < 0) {
            sleep(1); /* Redis away: the backend keeps the triggers in PostgreSQL meanwhile */
            continue;
        }
        if (got == 0) continue;
        hold(t, job.id);
        if (handle(ws, a, &pg, &job)) queue_ack(q, &job);
        hold(t, "");
    }
    analyser_free(a);
    queue_free(q);
    PQfinish(pg);
    return NULL;
}

workers_t *workers_start(const config_t *cfg, analyse_shared_t *shared, worker_stats_t *stats)
{
    workers_t *ws = xcalloc(1, sizeof(*ws));
    ws->cfg = cfg;
    ws->shared = shared;
    ws->stats = stats;
    ws->n = cfg->workers;
    ws->threads = xcalloc((size_t)ws->n, sizeof(*ws->threads));
    pthread_mutex_init(&ws->held_mu, NULL);
    for (int i = 0; i < ws->n; i++) {
        ws->threads[i].owner = ws;
        ws->threads[i].index = i;
        pthread_create(&ws->threads[i].tid, NULL, worker_main, &ws->threads[i]);
    }
    pthread_create(&ws->renewer, NULL, renewer_main, ws);
    return ws;
}

void workers_stop(workers_t *ws)
{
    if (ws == NULL) return;
    atomic_store(&ws->stopping, 1);
    for (int i = 0; i < ws->n; i++)
        pthread_join(ws->threads[i].tid, NULL);
    pthread_join(ws->renewer, NULL);
    pthread_mutex_destroy(&ws->held_mu);
    free(ws->threads);
    free(ws);
}
