/* libFuzzer target: the check of an LLM answer against a fixed evidence (pipeline/rca/llm_io.h) and the
 * redaction of any text. An accepted report must name the evidence's root cause, cite only ids the
 * evidence holds, carry the code's confidence (never the model's) and say it came from the LLM; a refusal
 * must say why. */
#include "llm_io.h"
#include "redact.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_report(const json_t *r)
{
    const json_t *rc = json_object_get(r, "root_cause"), *x;
    const char *svc = json_string_value(json_object_get(rc, "service"));
    if (!svc || strcmp(svc, "payment") != 0) abort();
    size_t i;
    json_array_foreach(json_object_get(r, "evidence"), i, x)
    {
        const char *id = json_string_value(x);
        if (id && (!strncmp(id, "span:", 5) || !strncmp(id, "log:", 4)) &&
            strcmp(id, "span:00000000000000a2") && strcmp(id, "span:00000000000000a1") && strcmp(id, "log:0"))
            abort();
    }
    double c = json_number_value(json_object_get(r, "confidence"));
    if (c != 0.5) abort();
    const char *by = json_string_value(json_object_get(r, "generated_by"));
    if (!by || strcmp(by, "llm") != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *evidence =
        json_pack("{s:{s:s,s:s,s:s},s:[{s:s},{s:s}],s:[{s:s}],s:[s,s]}", "root_cause", "id",
                  "span:00000000000000a2", "service", "payment", "span_id", "00000000000000a2",
                  "propagation_path", "id", "span:00000000000000a2", "id", "span:00000000000000a1", "logs",
                  "id", "log:0", "services", "gateway", "payment");
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char why[256] = "";
    json_t *r = llm_check_answer(text, evidence, 0.5, why, sizeof(why));
    if (r)
        check_report(r);
    else if (why[0] == '\0')
        abort();
    json_decref(r);
    char *red = redact_str(text);
    if (red == NULL || strlen(red) > redact_bound(size)) abort();
    free(red);
    free(text);
    json_decref(evidence);
    return 0;
}
