/* The pipeline's writes to PostgreSQL: incidents (one open incident per error fingerprint; traces
 * join it idempotently), versioned analyses (a re-analysis adds a version; a re-delivered queue job is
 * stored once, keyed by its message id) and the dead-letter list. Each transaction that records what
 * became of a trace from the debounce (its analysis, its joining an incident that has its report, its
 * dead letter) also consumes the trace's pending trigger (pending_triggers, written by the backend), so
 * a trigger leaves PostgreSQL only with the outcome that answers it. Worker threads only, each with its
 * own connection. */
#ifndef PS_STORE_H
#define PS_STORE_H

#include <jansson.h>
#include <libpq-fe.h>

/* An open incident with no new trace for this long is resolved; the next trace opens a new one. */
#define STORE_INCIDENT_WINDOW "30 minutes"

typedef struct {
    const char *fingerprint;
    const char *title;
    const char *kind;                                           /* error, anomaly, degradation */
    const char *root_service, *root_operation, *exception_type; /* may be NULL */
    const char *trace_id;
    const char *services_literal;  /* PostgreSQL array literal, e.g. {gateway,payment} */
    const char *endpoints_literal; /* likewise */
    long long first_ns, last_ns;   /* the trace's time span */
    long long trigger_handed_ms;   /* > 0: when joining is all there is to do (needs_report 0), consume
                                    * the trace's pending trigger up to this hand-over time */
} incident_in_t;

typedef struct {
    long long id;
    int created;      /* this call opened the incident */
    int needs_report; /* no report stored yet for it and this trace is its sample */
    int joined;       /* this trace was new to the incident */
} incident_out_t;

/* Opens or joins the incident. Returns 0, or -1 with PostgreSQL's message in err. */
int store_incident_join(PGconn *c, const incident_in_t *in, incident_out_t *out, char *err, size_t errlen);

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

#endif
