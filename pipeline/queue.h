/* The analysis queue: a Redis stream (<prefix>jobs, written by the backend's debounce) read through a
 * consumer group, so a job is acknowledged only after its result is committed; a job claimed by a
 * worker that died is taken over by another after VISIBILITY_TIMEOUT_MS (XAUTOCLAIM), and every
 * delivery is counted so the worker can send a job that keeps failing to the dead-letter list.
 * A worker alive renews its claim while it works (queue_renew(), from another thread with its own
 * queue_t), so a job slower than the visibility timeout (a slow LLM) is neither taken over nor counted
 * as failed. One queue_t per thread: it owns its Redis connection. */
#ifndef PS_QUEUE_H
#define PS_QUEUE_H

#include "config.h"
#include "queue_contract.h" /* stream, group and field names, shared with the backend */

typedef struct queue queue_t;

typedef struct {
    char id[64];         /* stream message id */
    char trace_id[64];   /* as found in the message; validated by the worker */
    long deliveries;     /* 1 on the first delivery */
    int force;           /* a re-run asked for: write a new report version even if the incident has one */
    long long handed_ms; /* when the debounce handed the trace over (its pending trigger covers errors up
                          * to then); 0 for jobs not from the debounce (manual re-runs) */
} queue_job_t;

/* `consumer` names this worker in the group. Borrows cfg. */
queue_t *queue_create(const config_t *cfg, const char *consumer);
void queue_free(queue_t *q);
/* Takes a stale job (claimed by someone else longer than the visibility timeout ago) or else a new
 * one, waiting up to block_ms. Returns 1 with `job` filled, 0 when none, -1 when Redis failed. */
int queue_claim(queue_t *q, queue_job_t *job, int block_ms);
/* Acknowledges (and deletes) the job. Returns 0 or -1. */
int queue_ack(queue_t *q, const queue_job_t *job);
/* Renews `consumer`'s claim on job `job_id` (its idle time starts again) while `consumer` still holds
 * it. Returns 1 when renewed, 0 when someone else holds it or it is acknowledged, -1 when Redis failed. */
int queue_renew(queue_t *q, const char *job_id, const char *consumer);
/* This queue's consumer name in the group (borrowed). */
const char *queue_consumer(const queue_t *q);

#endif
