/* The analysis queue's wire format: the one place the backend (which writes jobs: backend/debounce.c)
 * and the pipeline (which reads them: pipeline/queue.c) agree on, so instances of different programs
 * cannot drift apart. A job is one entry of the Redis stream "<REDIS_PREFIX>jobs", read through the
 * consumer group QUEUE_GROUP; its fields:
 *
 *   trace_id   32 hex digits: the trace to analyse (validated by the worker)
 *   handed_ms  ms since the epoch the debounce handed the trace over: the analysis covers the errors
 *              received up to then, and its pending trigger (pending_triggers) is consumed with it;
 *              absent for jobs that do not come from the debounce (manual re-runs)
 *   force      "1": write a new report version even if the incident has one (re-runs)
 *
 * Each worker thread of each pipeline reads as its own consumer, "<INSTANCE_ID>-w<n>". */
#ifndef PS_QUEUE_CONTRACT_H
#define PS_QUEUE_CONTRACT_H

#include <stdio.h>

#define QUEUE_STREAM_SUFFIX "jobs"
#define QUEUE_GROUP "analysers"
#define QUEUE_FIELD_TRACE_ID "trace_id"
#define QUEUE_FIELD_HANDED_MS "handed_ms"
#define QUEUE_FIELD_FORCE "force"

/* Writes the stream's key, "<prefix>jobs", into out. */
static inline void queue_contract_stream(const char *prefix, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s" QUEUE_STREAM_SUFFIX, prefix);
}

#endif
