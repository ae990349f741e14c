/* libFuzzer target: the LLM answer check (pipeline/analysis/llm_check.h) against a fixed evidence, the
 * completion-body reader, and redaction, on any bytes. An accepted report must hold only what the
 * evidence allows; redaction stays within its bound. */
#include "llm_check.h"
#include "redact.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static json_t *evidence(void)
{
    return json_pack("{s:{s:s,s:s,s:s,s:s},s:[{s:s,s:s,s:s},{s:s,s:s,s:s}],s:[{s:s}],s:{s:[s]},s:[s,s]}",
                     "root_cause", "id", "span:00000000000000a2", "span_id", "00000000000000a2", "service",
                     "payment", "operation", "POST /charge", "propagation_path", "id",
                     "span:00000000000000a2", "span_id", "00000000000000a2", "service", "payment", "id",
                     "span:00000000000000a1", "span_id", "00000000000000a1", "service", "gateway", "logs",
                     "id", "log:0", "span_tree", "critical_path", "span:00000000000000a1", "services",
                     "gateway", "payment");
}

/* An accepted report names the evidence's root cause and only its ids. */
static void check_report(const json_t *r)
{
    const json_t *rc = json_object_get(r, "root_cause"), *x;
    const char *svc = json_string_value(json_object_get(rc, "service"));
    const char *span = json_string_value(json_object_get(rc, "span_id"));
    if (!svc || strcmp(svc, "payment") || !span || strcmp(span, "00000000000000a2")) abort();
    size_t i;
    json_array_foreach(json_object_get(r, "evidence"), i, x)
    {
        const char *id = json_string_value(x);
        if (strcmp(id, "span:00000000000000a2") && strcmp(id, "span:00000000000000a1") && strcmp(id, "log:0"))
            abort();
    }
    double c = json_number_value(json_object_get(r, "confidence"));
    if (!(c >= 0 && c <= 1)) abort();
    if (strcmp(json_string_value(json_object_get(r, "generated_by")), "llm") != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    json_t *ev = evidence(), *report = NULL;
    char why[256];
    if (analysis_llm_check(text, size, ev, &report, why, sizeof(why)) == 0)
        check_report(report);
    else if (report != NULL || why[0] == '\0')
        abort();
    json_decref(report);
    char *content = NULL;
    if (analysis_llm_content(text, size, &content, why, sizeof(why)) == 0) {
        if (analysis_llm_check(content, strlen(content), ev, &report, why, sizeof(why)) == 0)
            check_report(report);
        json_decref(report);
    }
    free(content);
    json_decref(ev);
    size_t count;
    char *red = analysis_redact(text, size, &count);
    if (strlen(red) > 4 * size + 64) abort();
    free(red);
    return 0;
}
