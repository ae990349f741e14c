/* Deterministic report from a window ranking (see window_report.h). */
#include "window_report.h"
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static double num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

/* What to do first, by the kind of the strongest evidence. */
static void remedy(const json_t *ev, const char *svc, char *out, size_t n)
{
    const char *kind = str(ev, "kind"), *subject = str(ev, "subject");
    if (strcmp(kind, "metric") == 0)
        snprintf(out, n, "Check %.100s's resources: %.200s moved (CPU or memory pressure, a noisy neighbour)",
                 svc, subject);
    else if (strcmp(kind, "change") == 0)
        snprintf(out, n, "Review or roll back the recent change on %.100s: %.200s", svc, subject);
    else if (strcmp(kind, "gap_in") == 0 || strcmp(kind, "gap_out") == 0)
        snprintf(out, n,
                 "Check the network path and queueing of %.100s (%.200s): calls wait before it serves them",
                 svc, subject);
    else if (strcmp(kind, "self_time") == 0)
        snprintf(out, n, "Look at what %.100s does in %.200s: its own time rose, not its callees'", svc,
                 subject);
    else if (strncmp(kind, "log_", 4) == 0 || strcmp(kind, "error_rate") == 0)
        snprintf(out, n, "Read %.100s's changed log lines (%.200s): its code path changed", svc, subject);
    else
        snprintf(out, n, "Start with %.100s: %.200s", svc, subject);
}

/* The suspect to name: the highest confidence (suspects_to_json() writes them best first; a list from
 * elsewhere may not be), the first of equals. NULL when there is none. */
static const json_t *best_suspect(const json_t *suspects)
{
    const json_t *best = NULL, *s;
    size_t i;
    json_array_foreach(suspects, i, s)
    {
        if (best == NULL || num(s, "confidence") > num(best, "confidence")) best = s;
    }
    return best;
}

json_t *window_report_build(const json_t *ranking, const char *symptom_in, const json_t *suspects,
                            json_t **evidence_out)
{
    char symptom[640]; /* a sentence: ends with a full stop */
    size_t sn = strlen(symptom_in);
    snprintf(symptom, sizeof(symptom), "%.600s%s", symptom_in, sn && symptom_in[sn - 1] == '.' ? "" : ".");
    *evidence_out = NULL;
    const json_t *svcs = json_object_get(ranking, "services");
    const json_t *top = json_array_get(svcs, 0), *next = json_array_get(svcs, 1);
    int quiet = json_is_true(json_object_get(ranking, "nothing_stands_out")) || top == NULL;
    json_t *cut = json_deep_copy(ranking);
    json_t *cut_svcs = json_object_get(cut, "services");
    while (json_array_size(cut_svcs) > WINDOW_REPORT_SERVICES)
        json_array_remove(cut_svcs, json_array_size(cut_svcs) - 1);
    json_t *evidence = json_pack("{s:o}", "window_ranking", cut ? cut : json_null());
    json_t *cites = json_array(), *remediation = json_array();
    char summary[1536], line[512];
    double confidence = WINDOW_REPORT_QUIET_CONFIDENCE;
    const char *svc = str(top, "service");
    const json_t *ev0 = json_array_get(json_object_get(top, "evidence"), 0);
    if (quiet) {
        snprintf(
            summary, sizeof(summary),
            "%.600s Nothing in the window's spans, logs and metrics stands out against the window before it "
            "(top score %.1f below %.1f), so no service is named.",
            symptom, num(ranking, "top_score"), num(ranking, "quiet_threshold"));
        json_object_set_new(evidence, "root_cause", json_null());
        json_array_append_new(
            remediation,
            json_string("Look at the degraded endpoint's slowest traces and at changes outside the "
                        "telemetry (load, dependencies that are not traced)"));
    } else {
        double lead = num(top, "score") - (next ? num(next, "score") : 0);
        confidence = fmin(0.95, fmax(0.3, 0.5 + 0.1 * lead));
        char runner_up[160] = "";
        if (next)
            snprintf(runner_up, sizeof(runner_up), ", next %.100s %.1f", str(next, "service"),
                     num(next, "score"));
        snprintf(summary, sizeof(summary),
                 "%.600s The window ranking puts %.100s first (score %.1f%s): %.600s", symptom, svc,
                 num(top, "score"), runner_up, str(ev0, "text"));
        const json_t *ev;
        size_t i;
        json_array_foreach(json_object_get(top, "evidence"), i, ev)
        {
            if (i >= 5) break;
            json_array_append_new(cites, json_string(str(ev, "text")));
        }
        remedy(ev0, svc, line, sizeof(line));
        json_array_append_new(remediation, json_string(line));
        json_array_foreach(json_object_get(top, "evidence"), i, ev)
        {
            if (i == 0 || strcmp(str(ev, "kind"), "change") != 0) continue;
            snprintf(line, sizeof(line),
                     "A change came with it: %.400s. Roll it back if the evidence above points at it",
                     str(ev, "text"));
            json_array_append_new(remediation, json_string(line));
            break;
        }
        const char *op = str(ev0, "context");
        if (!*op && strcmp(str(ev0, "kind"), "self_time") == 0) op = str(ev0, "subject");
        json_object_set_new(evidence, "root_cause",
                            json_pack("{s:s, s:s?, s:s}", "service", svc, "operation", *op ? op : NULL,
                                      "reason", str(ev0, "text")));
    }
    json_object_set_new(evidence, "suspects",
                        json_is_array(suspects) ? json_deep_copy(suspects) : json_array());
    const json_t *best = best_suspect(suspects);
    if (best) {
        snprintf(line, sizeof(line), "suspect change (confidence %.0f%%): %.400s",
                 100 * num(best, "confidence"), str(best, "evidence"));
        json_array_append_new(cites, json_string(line));
        snprintf(line, sizeof(line),
                 "Review or roll back the %.40s%s%.100s%s%.200s: the most likely change before it",
                 str(best, "type"), *str(best, "service") ? " of " : "", str(best, "service"),
                 *str(best, "description") ? ", " : "", str(best, "description"));
        json_array_append_new(remediation, json_string(line));
    }
    const json_t *rc = json_object_get(evidence, "root_cause");
    report_finding_t f = {
        .summary = summary,
        .impact = symptom,
        .service = quiet ? NULL : json_string_value(json_object_get(rc, "service")),
        .operation = quiet ? NULL : json_string_value(json_object_get(rc, "operation")),
        .evidence = cites,
        .remediation = remediation,
        .confidence = confidence,
        .conclusive = !quiet && confidence >= 0.6,
        .generated_by = REPORT_BY_DETERMINISTIC,
        .note =
            "Window ranking of the incident's window against the window before it (spans' self time and "
            "client/server gaps, log templates, metrics, the call graph, change events); no trace failed, "
            "so no span is cited."};
    json_t *report = report_build(&f);
    if (report == NULL) {
        json_decref(evidence);
        return NULL;
    }
    *evidence_out = evidence;
    return report;
}
