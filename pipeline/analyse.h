/* Analysis of one trace, end to end: load its context from PostgreSQL (context_load.h), correlate
 * (pure: rca/), open or join the incident of its fingerprint, and for a new incident (or on
 * demand) have the LLM write the report, checked against the evidence; then store the analysis as a
 * new version. Without an LLM, past the LLM budget (llm_budget.h), or when the LLM fails or invents, the
 * deterministic report is stored and says why. Each worker thread owns one analyser_t (it holds the thread's
 * LLM client). */
#ifndef PS_ANALYSE_H
#define PS_ANALYSE_H

#include "alerts.h"
#include "config.h"
#include "llm_client.h"

#include <jansson.h>
#include <libpq-fe.h>

/* Shared by every analyser; main-owned. */
typedef struct {
    const config_t *cfg;
    llm_breaker_t breaker;
    const alerts_t *alerts; /* may be NULL: alerts off */
} analyse_shared_t;

typedef struct analyser analyser_t;

analyser_t *analyser_create(analyse_shared_t *shared);
void analyser_free(analyser_t *a);

typedef struct {
    const char *trace_id; /* validated 32 lowercase hex */
    const char *job_id;   /* queue message id; NULL for manual runs */
    int force_report;     /* 1: write and store a report even if the incident has one (manual trigger) */
    long long handed_ms;  /* > 0: the debounce's hand-over time; the trace's pending trigger (its errors
                           * up to then) is consumed in the transaction that stores the outcome */
} analyse_request_t;

typedef struct {
    int found; /* 0: no span or log of the trace exists */
    long long incident_id;
    long long analysis_id; /* 0 when no analysis was stored (a trace joining an incident that has one) */
    int version;
    json_t *report;   /* owned */
    json_t *evidence; /* owned */
} analyse_outcome_t;

/* Returns 0 (out filled; found may be 0; the caller disposes it), or -1 with err when the job should be
 * retried (out holds nothing then). A stored report queues its alerts (alerts.h) before returning 0:
 * -1 when they could not be queued, though the analysis is stored. */
int analyse_trace(analyser_t *a, PGconn *pg, const analyse_request_t *req, analyse_outcome_t *out, char *err,
                  size_t errlen);
/* Does again what follows the analysis stored by queue job `job_id` (a job delivered again after its
 * analysis was stored, perhaps not what followed): pages its incident when due (common/incident_rows.h)
 * and queues the report's alert when the incident paged; deduplicated, so nothing is paged or queued
 * twice. Returns 0 (also when the job stored nothing), or -1. */
int analyse_realert(analyser_t *a, PGconn *pg, const char *job_id);
void analyse_outcome_dispose(analyse_outcome_t *o);

#endif
