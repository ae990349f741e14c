/* What crosses to and from the LLM, pure: the chat-completions request (the evidence redacted by
 * redact.h, quoted as data between LLM_EVIDENCE_OPEN and LLM_EVIDENCE_CLOSE with '<' and '>' escaped so
 * telemetry cannot close the block, never as instructions, with a JSON-schema response format), and the
 * check of the answer, which is untrusted: a service, span or log id the evidence does not contain is
 * rejected as invented, free text is cleaned (safetext.h) and capped, and the confidence is the code's. */
#ifndef PS_RCA_LLM_IO_H
#define PS_RCA_LLM_IO_H

#include <jansson.h>
#include <stddef.h>

#define LLM_EVIDENCE_OPEN "<evidence>"
#define LLM_EVIDENCE_CLOSE "</evidence>"

/* The request body for POST /chat/completions; `evidence` is borrowed and redacted on the way.
 * Caller frees the string; NULL when the evidence cannot be serialised. */
char *llm_build_request(const char *model, json_t *evidence);
/* Checks an answer's message content against the evidence. Returns the accepted report (new
 * reference, with generated_by "llm") or NULL with a reason in why. The report holds the schema's
 * fields only; summary, impact, remediation and root_cause.operation/exception are cleaned of links,
 * mentions and markup and capped; its "confidence" is `confidence` (the deterministic analysis's,
 * computed from the evidence): whatever the model says about its confidence is dropped. */
json_t *llm_check_answer(const char *content, json_t *evidence, double confidence, char *why, size_t whylen);

#endif
