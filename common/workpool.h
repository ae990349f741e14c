/* A pool of threads for blocking work (PostgreSQL queries, Redis calls) on behalf of HTTP requests,
 * so event loops never wait. Each thread owns its own PostgreSQL and Redis connections, opened
 * lazily and reopened after failures. The queue of jobs waiting for a thread can be bounded, and a
 * request's statement is cancelled (PQcancel) when its client goes away. */
#ifndef PS_WORKPOOL_H
#define PS_WORKPOOL_H

#include "httpd.h"

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

typedef struct workpool workpool_t;
typedef struct workpool_cancel workpool_cancel_t;

typedef struct {
    int index;
    const char *database_url;
    const char *redis_url;
    PGconn *pg;                /* owned by the thread; may be NULL or broken: use db_ensure() */
    redisContext *redis;       /* likewise: use redisx_ensure() */
    void *app;                 /* borrowed from workpool_create() */
    workpool_cancel_t *cancel; /* the running job's (workpool_submit_cancellable()), else NULL */
    workpool_t *pool;          /* the pool the thread belongs to */
} worker_t;

/* Runs on a pool thread; must end with httpd_job_finish(job). */
typedef void (*workpool_fn)(httpd_job_t *job, worker_t *w);

workpool_t *workpool_create(int threads, const char *database_url, const char *redis_url, void *app);
/* Runs once on each pool thread before its first job (jobs queued meanwhile wait): e.g. opens w->pg and
 * warms it, so that the first request does not pay for the new connection. */
typedef void (*workpool_warm_fn)(worker_t *w);
/* workpool_create(), with `warm` (NULL: none) run first on each thread. */
workpool_t *workpool_create_warm(int threads, const char *database_url, const char *redis_url, void *app,
                                 workpool_warm_fn warm);
/* Bounds the jobs waiting for a thread (0, the default: unbounded). Before the first submit. */
void workpool_set_max_queue(workpool_t *p, int max_queue);
/* Queues `job` (attached to its request already). Returns 0, or -1 when the queue is full: the caller
 * still owns the job (httpd_job_detach() it, answer 503, free it). Loop thread or any thread. */
int workpool_submit(workpool_t *p, httpd_job_t *job, workpool_fn fn);
/* Like workpool_submit(), and watches the job's client: a job whose client went away before it ran
 * is finished without running `fn` (on_done gets req NULL); a statement run with
 * workpool_exec_params() while the client goes away is cancelled (PQcancel). Loop thread only, with
 * `job` attached to a live request. */
int workpool_submit_cancellable(workpool_t *p, httpd_job_t *job, workpool_fn fn);
/* On the pool thread: PQexecParams on w->pg (text parameters and results); for a cancellable job it
 * waits in steps of 200 ms, looking whether the client is still there, and cancels the statement when
 * it is not (the result then says 57014, query_canceled). Returns the result (caller PQclear()s it),
 * or NULL when the statement could not be sent. */
PGresult *workpool_exec_params(worker_t *w, const char *sql, int nparams, const char *const *params);
/* Statements cancelled because their client went away, since start. Any thread. */
unsigned long workpool_cancelled(workpool_t *p);
/* Finishes queued jobs, then joins the threads and frees the pool. NULL is fine. */
void workpool_free(workpool_t *p);

#endif
