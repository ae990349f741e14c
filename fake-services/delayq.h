/* Jobs answered later without a thread per waiting request: one thread sleeps until the earliest
 * deadline and finishes the due jobs (httpd_job_finish) back to their loop threads. Used by the fake
 * LLM's slow mode, so a slow answer never holds an event loop or a worker. */
#ifndef PS_FAKE_DELAYQ_H
#define PS_FAKE_DELAYQ_H

#include "httpd.h"

typedef struct delayq delayq_t;

delayq_t *delayq_create(void);
/* Finishes `job` (attached to its request) after delay_ms. Any thread. */
void delayq_add(delayq_t *q, httpd_job_t *job, int delay_ms);
/* Finishes every pending job now, stops the thread and frees the queue; call while the loops still run.
 * NULL is fine. */
void delayq_free(delayq_t *q);

#endif
