/* Analysis worker threads: each takes due trace ids from the queue, analyses the trace (analyse.h),
 * and acknowledges the job only after the result is committed. A job delivered more than
 * MAX_ATTEMPTS times goes to the dead-letter list instead. A renewer thread renews the claim of every
 * job being worked on (queue_renew()), so a slow LLM never makes a healthy job look abandoned. Each
 * worker owns its PostgreSQL connection, queue (Redis) connection and LLM client. */
#ifndef PS_WORKER_H
#define PS_WORKER_H

#include "analyse.h"
#include "config.h"
#include "llm_client.h"

#include <stdatomic.h>

typedef struct workers workers_t;

typedef struct {
    atomic_ulong jobs_done, jobs_failed, jobs_dead, jobs_redelivered;
} worker_stats_t;

/* Starts cfg->workers threads. Borrows everything. */
workers_t *workers_start(const config_t *cfg, analyse_shared_t *shared, worker_stats_t *stats);
/* Asks the threads to stop after their current job, joins and frees. NULL is fine. */
void workers_stop(workers_t *w);

#endif
