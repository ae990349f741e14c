/* What crosses to and from the LLM, pure: redaction of secrets and personal data before anything
 * leaves, the chat-completions request (telemetry quoted as data inside delimiters, never as
 * instructions, with a JSON-schema response format), and the check of the answer against the evidence:
 * a service, span or log id the evidence does not contain is rejected as invented. */
#ifndef PS_RCA_LLM_IO_H
#define PS_RCA_LLM_IO_H

#include <jansson.h>
#include <stddef.h>

/* Redacts card numbers (Luhn-checked), emails, bearer tokens, password=/secret=/token=/api_key= values
 * and common key shapes (sk-..., AKIA...) in `in`; returns a malloc'd string. */
char *llm_redact(const char *in);
/* Deep copy of `v` with every string redacted. */
json_t *llm_redact_json(json_t *v);
/* The request body for POST /chat/completions. Takes nothing; caller frees the string. */
char *llm_build_request(const char *model, json_t *evidence);
/* Checks an answer's message content against the evidence. Returns the accepted report (new
 * reference, with generated_by "llm") or NULL with a reason in why. */
json_t *llm_check_answer(const char *content, json_t *evidence, char *why, size_t whylen);

#endif
