/* The LLM client: OpenAI-compatible POST {LLM_BASE_URL}/chat/completions over libcurl, with a
 * timeout, retries with backoff on 429, 5xx and transport errors (honouring Retry-After), a bounded
 * answer size, and a circuit breaker shared by all workers: after LLM_BREAKER_FAILURES consecutive
 * failed calls it stays open for LLM_BREAKER_OPEN_MS (configuration) and calls fail at once (the
 * deterministic report is used), then one trial call decides whether it closes again. One llm_client_t per
 * worker thread (it owns a CURL handle); the breaker is shared. */
#ifndef PS_LLM_CLIENT_H
#define PS_LLM_CLIENT_H

#include "config.h"

#include <stdatomic.h>
#include <stddef.h>

#define LLM_BREAKER_FAILURES 5
#define LLM_MAX_ATTEMPTS 3
#define LLM_MAX_ANSWER_BYTES (1024 * 1024)

typedef struct {
    int open_ms; /* set once at start from LLM_BREAKER_OPEN_MS */
    atomic_int consecutive_failures;
    atomic_llong open_until_ms; /* monotonic; 0 when closed */
    atomic_ulong calls, failures, short_circuited;
} llm_breaker_t;

typedef struct llm_client llm_client_t;

typedef struct {
    char *content; /* choices[0].message.content, malloc'd; NULL on failure */
    int prompt_tokens;
    int completion_tokens;
    long latency_ms; /* of the whole call, retries included */
    int attempts;
    char error[256]; /* why it failed */
} llm_answer_t;

/* Returns NULL when no LLM is configured (cfg->llm_base_url NULL): no call is ever made then.
 * Borrows cfg and breaker. */
llm_client_t *llm_client_create(const config_t *cfg, llm_breaker_t *breaker);
void llm_client_free(llm_client_t *c);
/* Sends a chat-completions request body. Returns 0 with out->content set, or -1 with out->error.
 * Caller disposes `out` with llm_answer_dispose(). Blocks up to about LLM_MAX_ATTEMPTS timeouts. */
int llm_client_complete(llm_client_t *c, const char *request_json, llm_answer_t *out);
void llm_answer_dispose(llm_answer_t *a);
const char *llm_client_model(const llm_client_t *c);

#endif
