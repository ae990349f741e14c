/* The root-cause report, pure (no I/O): the one owner of its schema. Every report the dashboard and the
 * alerts read (a trace's, rca.h; a window's or a degradation's, window_report.h; an LLM's answer once
 * checked, llm_io.h) is made here by report_build(), so their fields cannot drift apart:
 *
 *   {"summary": str, "root_cause": {"service", "span_id", "operation", "exception"}: str or null,
 *    "impact": str, "evidence": [cited ids or sentences], "remediation": [str], "confidence": 0..1,
 *    "verdict": "conclusive" | "inconclusive", "generated_by": "deterministic" | "llm",
 *    then, when given: "explanation", "note", "sample" (str)}
 *
 * The fields an LLM writes, their JSON schema and the caps of their cleaned text are here too
 * (llm_io.c checks an answer with them). */
#ifndef PS_RCA_REPORT_H
#define PS_RCA_REPORT_H

#include <jansson.h>
#include <stddef.h>

#define REPORT_BY_DETERMINISTIC "deterministic"
#define REPORT_BY_LLM "llm"

/* An LLM answer: a free-text field longer than this is refused; the arrays are bounded. */
#define REPORT_ANSWER_FIELD_MAX 8192
#define REPORT_ANSWER_EVIDENCE_MAX 100
#define REPORT_ANSWER_REMEDIATION_MAX 20
/* Caps of an answer's free-text fields once cleaned (safetext_clean), in bytes. */
#define REPORT_SUMMARY_MAX 2000
#define REPORT_IMPACT_MAX 1000
#define REPORT_REMEDIATION_MAX 500
#define REPORT_ROOT_FIELD_MAX 300

/* The fields of "root_cause", in the report's order; each a string or null. */
#define REPORT_ROOT_NFIELDS 4
extern const char *const report_root_fields[REPORT_ROOT_NFIELDS];

/* What an analysis found, to be written as a report. Strings are borrowed; NULL root fields are JSON
 * null; NULL explanation, note or sample are left out. */
typedef struct {
    const char *summary, *impact;
    const char *service, *span_id, *operation, *exception; /* the root cause */
    json_t *evidence;    /* array: cited evidence ids (trace) or sentences (window); the report takes it */
    json_t *remediation; /* array of strings; the report takes it */
    double confidence;
    int conclusive;           /* verdict "conclusive", else "inconclusive" */
    const char *generated_by; /* REPORT_BY_DETERMINISTIC or REPORT_BY_LLM */
    const char *explanation, *note, *sample;
} report_finding_t;

/* The report of `f` (new reference), fields in the order above; a string that is not valid UTF-8 is
 * written as "(not valid UTF-8)". Takes f->evidence and f->remediation (NULL: empty arrays) even when
 * it fails. NULL only on allocation failure. */
json_t *report_build(const report_finding_t *f);

/* The JSON schema of the fields an LLM writes (summary, root_cause, impact, evidence, remediation,
 * verdict: no confidence, which is the code's), for a strict response format. New reference. */
json_t *report_answer_schema(void);

/* 1 when `verdict` is one of the report's verdicts. */
int report_verdict_valid(const char *verdict);

#endif
