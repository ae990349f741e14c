/* The root-cause report's schema and constructor (see report.h). */
#include "report.h"

#include <string.h>

const char *const report_root_fields[REPORT_ROOT_NFIELDS] = {"service", "span_id", "operation", "exception"};

/* A JSON string that cannot fail on bad bytes (json_string refuses invalid UTF-8); NULL is null. */
static json_t *text_or_null(const char *s)
{
    if (s == NULL) return json_null();
    json_t *v = json_string(s);
    return v ? v : json_string("(not valid UTF-8)");
}

json_t *report_build(const report_finding_t *f)
{
    json_t *evidence = f->evidence ? f->evidence : json_array();
    json_t *remediation = f->remediation ? f->remediation : json_array();
    json_t *report = json_pack(
        "{s:o,s:{s:o,s:o,s:o,s:o},s:o,s:o,s:o,s:f,s:s,s:s}", "summary",
        text_or_null(f->summary ? f->summary : ""), "root_cause", report_root_fields[0],
        text_or_null(f->service), report_root_fields[1], text_or_null(f->span_id), report_root_fields[2],
        text_or_null(f->operation), report_root_fields[3], text_or_null(f->exception), "impact",
        text_or_null(f->impact ? f->impact : ""), "evidence", evidence, "remediation", remediation,
        "confidence", f->confidence, "verdict", f->conclusive ? "conclusive" : "inconclusive", "generated_by",
        f->generated_by ? f->generated_by : REPORT_BY_DETERMINISTIC);
    if (report == NULL) return NULL;
    if (f->explanation) json_object_set_new(report, "explanation", text_or_null(f->explanation));
    if (f->note) json_object_set_new(report, "note", text_or_null(f->note));
    if (f->sample) json_object_set_new(report, "sample", text_or_null(f->sample));
    return report;
}

json_t *report_answer_schema(void)
{
    json_t *root_props = json_object(), *root_required = json_array();
    for (int i = 0; i < REPORT_ROOT_NFIELDS; i++) {
        json_object_set_new(root_props, report_root_fields[i],
                            json_pack("{s:[s,s]}", "type", "string", "null"));
        json_array_append_new(root_required, json_string(report_root_fields[i]));
    }
    return json_pack("{s:s,s:{s:{s:s},s:{s:s,s:o,s:o,s:b},s:{s:s},s:{s:s,s:{s:s}},s:{s:s,s:{s:s}},"
                     "s:{s:s,s:[s,s]}},s:[s,s,s,s,s,s],s:b}",
                     "type", "object", "properties", "summary", "type", "string", "root_cause", "type",
                     "object", "properties", root_props, "required", root_required, "additionalProperties", 0,
                     "impact", "type", "string", "evidence", "type", "array", "items", "type", "string",
                     "remediation", "type", "array", "items", "type", "string", "verdict", "type", "string",
                     "enum", "conclusive", "inconclusive", "required", "summary", "root_cause", "impact",
                     "evidence", "remediation", "verdict", "additionalProperties", 0);
}

int report_verdict_valid(const char *verdict)
{
    return verdict && (!strcmp(verdict, "conclusive") || !strcmp(verdict, "inconclusive"));
}
