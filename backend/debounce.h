/* Trailing-edge debounce of error traces, between ingest and the analysis queue.
 *
 * Every error signal of a trace pushes its due time to min(now + quiet, first_error + max) in a Redis
 * sorted set; a scheduler thread moves due traces into the analysis stream (XADD) atomically with a
 * Lua script, so a trace is handed to the pipeline once, after DEBOUNCE_QUIET_MS without new errors
 * and at most DEBOUNCE_MAX_MS after its first error. PostgreSQL's pending_triggers table, written in
 * the ingest transaction, is the durable copy: when Redis was unreachable the scheduler re-schedules
 * every pending trace from it once Redis is back. The scheduler only marks a row handed over
 * (handed_at_ms); the pipeline deletes it in the transaction that commits the trace's analysis, and a
 * row handed over longer than TRIGGER_RESEND_MS ago is handed over again (its stream entry was lost).
 * Stream entries: trace_id, handed_ms (the hand-over time: the pipeline's analysis covers the errors
 * received up to it).
 *
 * Several backends: every backend's writers touch the one shared zset (the touch script is atomic and
 * only moves a due time later, so concurrent touches commute), but only the backend holding the
 * debounce duty (leader.h, LEADER_DEBOUNCE) runs the scheduler: pops, resyncs and trigger replay
 * happen in one thread, in order, as with a single backend. A backend not holding it that needs a
 * resync (its Redis failed) asks the holder through <p>debounce:resync. A new holder resyncs once.
 *
 * Redis keys (prefix from REDIS_PREFIX): <p>debounce (zset trace → due ms), <p>debounce:first (hash
 * trace → first error ms), <p>debounce:resync (a resync request), and the analysis stream (its name and
 * fields: common/queue_contract.h). */
#ifndef PS_DEBOUNCE_H
#define PS_DEBOUNCE_H

#include "config.h"
#include "ingest_batch.h"
#include "leader.h"
#include "ingest_stats.h"

#include <hiredis/hiredis.h>

typedef struct debounce debounce_t;

/* Borrows cfg, stats and leader (NULL: this backend always runs the scheduler), which must outlive it. */
debounce_t *debounce_create(const config_t *cfg, ingest_stats_t *stats, const leader_t *leader);
/* Starts the scheduler thread. */
void debounce_start(debounce_t *d);
/* Called by a writer thread after its commit with its own Redis connection (reopened as needed).
 * On Redis failure the traces stay in PostgreSQL and a resync is requested. */
void debounce_touch(debounce_t *d, redisContext **conn, const char (*traces)[INGEST_TRACE_ID_LEN + 1],
                    size_t n, long long now_ms);
/* Stops the scheduler thread and frees. NULL is fine. */
void debounce_free(debounce_t *d);

/* Stream and key names, for the pipeline and tests: writes "<prefix><suffix>" into out. */
void debounce_key(const char *prefix, const char *suffix, char *out, size_t outlen);

#endif
