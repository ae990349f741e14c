/* The analysis queue: a Redis stream (<prefix>jobs, written by the backend's debounce) read through a
 * consumer group, so a job is acknowledged only after its result is committed; a job claimed by a
 * worker that died is taken over by another after VISIBILITY_TIMEOUT_MS (XAUTOCLAIM), and every
 * delivery is counted so the worker can send a job that keeps failing to the dead-letter list.
 * One queue_t per worker thread: it owns its Redis connection. */
#ifndef PS_QUEUE_H
#define PS_QUEUE_H

#include "config.h"

#define QUEUE_GROUP "analysers"

typedef struct queue queue_t;

typedef struct {
    char id[64];       /* stream message id */
    char trace_id[64]; /* as found in the message; validated by the worker */
    long deliveries;   /* 1 on the first delivery */
    int force;         /* a re-run asked for: write a new report version even if the incident has one */
} queue_job_t;

/* `consumer` names this worker in the group. Borrows cfg. */
queue_t *queue_create(const config_t *cfg, const char *consumer);
void queue_free(queue_t *q);
/* Takes a stale job (claimed by someone else longer than the visibility timeout ago) or else a new
 * one, waiting up to block_ms. Returns 1 with `job` filled, 0 when none, -1 when Redis failed. */
int queue_claim(queue_t *q, queue_job_t *job, int block_ms);
/* Acknowledges (and deletes) the job. Returns 0 or -1. */
int queue_ack(queue_t *q, const queue_job_t *job);
/* Appends a job for `trace_id` (used by the manual trigger and tests). Returns 0 or -1. */
int queue_push(queue_t *q, const char *trace_id);

#endif
