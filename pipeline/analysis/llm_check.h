/* The check of an LLM answer against the evidence, pure. The answer (the message content of a chat
 * completion, JSON, possibly inside ```json fences) is accepted only when:
 *   - it is one JSON object of bounded size with the report's fields and types: summary, root_cause
 *     {service, span_id, operation, exception} (strings or null), impact, evidence [ids],
 *     remediation [strings], confidence a number in [0,1], verdict "conclusive"|"inconclusive";
 *   - every service, span id and evidence id it cites exists in the evidence (else it is rejected
 *     as "invented: ..."): services from the evidence's "services", spans and logs from its ids;
 *   - its root cause names the evidence's root-cause service and span, unless the evidence has none.
 * Text fields are never interpreted: instructions inside them change nothing. Fields outside the
 * schema are dropped. */
#ifndef PS_ANALYSIS_LLM_CHECK_H
#define PS_ANALYSIS_LLM_CHECK_H

#include <jansson.h>
#include <stddef.h>

#define ANALYSIS_ANSWER_MAX (64 * 1024)

/* Checks content[0..len) against `evidence` (borrowed). Returns 0 with *report (new reference: the
 * accepted report rebuilt from the known fields, span ids as "<span_id>" in root_cause and
 * "span:<span_id>" in evidence, generated_by "llm"), or -1 with the reason in why (*report NULL). */
int analysis_llm_check(const char *content, size_t len, const json_t *evidence, json_t **report, char *why,
                       size_t whylen);

/* The message content of a chat-completions response body: choices[0].message.content. Returns 0
 * with *content (malloc'd, caller frees), or -1 with the reason in why (not JSON, no choices, a
 * refusal, a content that is not a string). */
int analysis_llm_content(const char *body, size_t len, char **content, char *why, size_t whylen);

#endif
