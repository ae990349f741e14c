/* A deterministic root-cause report for an incident with no failing trace (a degradation), built from
 * the window ranking of its window (window_rank.h). Pure: no I/O. The report is built by report_build()
 * (rca/report.h, the one owner of the report's schema), as the per-trace reports are, so the dashboard
 * and the alerts read both alike; its "evidence" holds sentences (no trace failed, so no span is cited). */
#ifndef PS_WINDOW_REPORT_H
#define PS_WINDOW_REPORT_H

#include <jansson.h>

/* `ranking`: window_rank()'s answer (borrowed). `symptom`: one sentence saying what degraded.
 * `suspects`: change events suspected of it, best first, each {"type", "service", "ts_ns",
 * "description", "confidence", "evidence"} (borrowed; NULL or empty: none). Returns the report (new
 * reference) and sets *evidence_out to the evidence to store beside it (new reference):
 * {"window_ranking": the ranking cut to its first WINDOW_REPORT_SERVICES services, "root_cause":
 * {"service", "operation", "reason"} or null, "suspects": the suspects}; the suspect of the highest
 * confidence (anomaly/suspects.h, the one suspect model, ranks them) is named in
 * the report's evidence and remediation. Confidence: "nothing stands out" gives
 * 0.2 and verdict "inconclusive"; otherwise 0.5 + 0.1 x (top score - next score), within 0.3..0.95,
 * verdict "conclusive" from a lead of 1 point. NULL on allocation failure. */
json_t *window_report_build(const json_t *ranking, const char *symptom, const json_t *suspects,
                            json_t **evidence_out);

#define WINDOW_REPORT_SERVICES 5
#define WINDOW_REPORT_QUIET_CONFIDENCE 0.2

#endif
