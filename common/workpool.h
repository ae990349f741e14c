/* A pool of threads for blocking work (PostgreSQL queries, Redis calls) on behalf of HTTP requests,
 * so event loops never wait. Each thread owns its own PostgreSQL and Redis connections, opened
 * lazily and reopened after failures. */
#ifndef PS_WORKPOOL_H
#define PS_WORKPOOL_H

#include "httpd.h"

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

typedef struct workpool workpool_t;

typedef struct {
    int index;
    const char *database_url;
    const char *redis_url;
    PGconn *pg;          /* owned by the thread; may be NULL or broken: use db_ensure() */
    redisContext *redis; /* likewise: use redisx_ensure() */
    void *app;           /* borrowed from workpool_create() */
} worker_t;

/* Runs on a pool thread; must end with httpd_job_finish(job). */
typedef void (*workpool_fn)(httpd_job_t *job, worker_t *w);

workpool_t *workpool_create(int threads, const char *database_url, const char *redis_url, void *app);
/* Queues `job` (attached to its request already). Loop thread or any thread. */
void workpool_submit(workpool_t *p, httpd_job_t *job, workpool_fn fn);
/* Finishes queued jobs, then joins the threads and frees the pool. NULL is fine. */
void workpool_free(workpool_t *p);

#endif
