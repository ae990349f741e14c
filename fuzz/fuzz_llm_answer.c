/* libFuzzer target: the check of an LLM answer against a fixed evidence, and redaction of any text. */
#include "llm_io.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *evidence;
    if (evidence == NULL)
        evidence = json_pack("{s:{s:s,s:s,s:s},s:[{s:s}],s:[{s:s}],s:[s]}", "root_cause", "id",
                             "span:00000000000000a2", "service", "payment", "span_id", "00000000000000a2",
                             "propagation_path", "id", "span:00000000000000a1", "logs", "id", "log:0",
                             "services", "payment");
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char why[256];
    json_t *r = llm_check_answer(text, evidence, why, sizeof(why));
    json_decref(r);
    free(llm_redact(text));
    free(text);
    return 0;
}
