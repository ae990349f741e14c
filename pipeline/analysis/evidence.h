/* The evidence of one analysis and the deterministic report written from it, pure. Both are jansson
 * objects whose keys are inserted in a fixed order and whose arrays are sorted, so that the same
 * trace gives the same bytes (dump them with analysis_json_dump()).
 *
 * Evidence ids: "span:<span_id>" for spans, "log:<n>" for logs (n in the order of loglink.h). Every
 * id, service and span id that a report may cite appears in the evidence; llm_check.h checks
 * answers against exactly that. */
#ifndef PS_ANALYSIS_EVIDENCE_H
#define PS_ANALYSIS_EVIDENCE_H

#include "exception.h"
#include "loglink.h"
#include "rootcause.h"
#include "spantree.h"

#include <jansson.h>

typedef struct {
    const trace_ctx_t *ctx;
    const analysis_tree_t *tree;
    const analysis_logs_t *logs;
    const analysis_rc_t *rc;
    const analysis_exc_info_t *exc; /* of rc->node; may be NULL */
    const char *fingerprint;        /* 32 hex */
} analysis_evidence_in_t;

/* Builds the evidence: a new object (see docs in evidence.c for its layout). Never NULL. */
json_t *analysis_evidence_build(const analysis_evidence_in_t *in);

/* Writes the deterministic report from the evidence alone: a new object {summary, root_cause
 * {service, span_id, operation, exception}, impact, evidence [ids], remediation [..], confidence,
 * verdict "conclusive"|"inconclusive", generated_by "deterministic"}. Never NULL. */
json_t *analysis_report_build(const json_t *evidence);

/* Writes "span:<id>" into out. */
void analysis_span_ref(const char *span_id, char *out, size_t outlen);

#endif
