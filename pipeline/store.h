/* The pipeline's writes to PostgreSQL: the transactions around incidents (whose rows
 * common/incident_rows.h owns), versioned analyses (a re-analysis adds a version; a re-delivered queue job is
 * stored once, keyed by its message id) and the dead-letter list. Each transaction that records what
 * became of a trace from the debounce (its analysis, its joining an incident that has its report, its
 * dead letter) also consumes the trace's pending trigger (pending_triggers, written by the backend), so
 * a trigger leaves PostgreSQL only with the outcome that answers it. Worker threads only, each with its
 * own connection. */
#ifndef PS_STORE_H
#define PS_STORE_H

#include "incident_rows.h"

#include <jansson.h>
#include <libpq-fe.h>

/* Opens or joins the trace's incident (common/incident_rows.h: recurrence, grouping, paging with `nt`)
 * and, when joining is all there is to do (no report needed) and trigger_handed_ms > 0, consumes the
 * trace's pending trigger up to that hand-over time, in one transaction. Returns 0, or -1 with
 * PostgreSQL's message in err (nothing stored). */
int store_incident_join(PGconn *c, const incident_policy_t *pol, const incident_notifier_t *nt,
                        const incident_trace_in_t *in, long long trigger_handed_ms, incident_trace_out_t *out,
                        char *err, size_t errlen);

typedef struct {
    long long incident_id; /* 0: none */
    const char *trace_id;
    const char *job_id; /* NULL for manual analyses */
    const char *fingerprint, *root_service, *root_span_id, *root_operation, *exception_type;
    json_t *evidence, *report; /* borrowed */
    const char *generated_by;  /* llm, deterministic */
    const char *llm_model, *llm_error;
    int prompt_tokens, completion_tokens;
    long llm_latency_ms, analysis_cpu_us;
    long long trigger_handed_ms; /* > 0: consume the trace's pending trigger up to this hand-over time */
} analysis_row_t;

/* Stores a new version (and consumes the trigger, row->trigger_handed_ms) in one transaction. Returns 0
 * with id/version (id 0 when this job was already stored), or -1 with err (nothing stored). */
int store_analysis(PGconn *c, const analysis_row_t *row, long long *id, int *version, char *err,
                   size_t errlen);
/* 1 when the queue job was already stored (a re-delivery after a crash), 0 when not, -1 on error. */
int store_job_done(PGconn *c, const char *job_id);
/* Records a job that kept failing and, when trigger_handed_ms > 0, consumes the trace's pending trigger
 * up to then, in one transaction. Returns 0 (also when the job was already recorded) or -1. */
int store_dead_letter(PGconn *c, const char *job_id, const char *trace_id, long attempts, const char *error,
                      long long trigger_handed_ms);
/* Consumes the pending trigger of `trace_id` when it holds no error received after `handed_ms` (a newer
 * error keeps it: the debounce hands the trace over again). For a trace with nothing to analyse.
 * Returns 0 or -1. */
int store_trigger_consume(PGconn *c, const char *trace_id, long long handed_ms);
/* 1 when `trace_id` still has a pending trigger, 0 when not (its analysis is committed: a job handed
 * over twice needs doing once), -1 on error. */
int store_trigger_pending(PGconn *c, const char *trace_id);
/* Takes the turn of `trace_id` among every pipeline's analyses if no one holds it (a session advisory
 * lock on `c`, so a worker that dies releases it with its connection). Returns 1 taken, 0 another
 * holds it, -1 on error. Pair a 1 with store_trace_unlock() on the same connection. */
int store_trace_try_lock(PGconn *c, const char *trace_id);
/* Gives the turn back. Returns 0, or -1 when it could not be released (closing `c` releases it). */
int store_trace_unlock(PGconn *c, const char *trace_id);

#endif
