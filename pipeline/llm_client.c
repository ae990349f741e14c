/* libcurl chat-completions client with retries and a circuit breaker (see llm_client.h). */
#include "llm_client.h"
#include "alloc.h"
#include "buf.h"
#include "log.h"
#include "program.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_RETRY_AFTER_S 10

struct llm_client {
    const config_t *cfg;
    llm_breaker_t *breaker;
    CURL *curl;
    char url[1024];
    char auth[512];
};

typedef struct {
    buf_t body;
    int overflow;
    long retry_after_s;
} response_t;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    response_t *r = ud;
    if (buf_append(&r->body, p, size * n) != 0) {
        r->overflow = 1;
        return 0; /* abort the transfer: the answer is larger than we accept */
    }
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    response_t *r = ud;
    size_t len = size * n;
    if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0) r->retry_after_s = strtol(p + 12, NULL, 10);
    return len;
}

llm_client_t *llm_client_create(const config_t *cfg, llm_breaker_t *breaker)
{
    if (cfg->llm_base_url == NULL) return NULL;
    llm_client_t *c = xcalloc(1, sizeof(*c));
    c->cfg = cfg;
    c->breaker = breaker;
    c->curl = curl_easy_init();
    size_t n = strlen(cfg->llm_base_url);
    while (n && cfg->llm_base_url[n - 1] == '/')
        n--;
    snprintf(c->url, sizeof(c->url), "%.*s/chat/completions", (int)n, cfg->llm_base_url);
    snprintf(c->auth, sizeof(c->auth), "Authorization: Bearer %s", cfg->llm_api_key ? cfg->llm_api_key : "");
    return c;
}

void llm_client_free(llm_client_t *c)
{
    if (c == NULL) return;
    curl_easy_cleanup(c->curl);
    free(c);
}

const char *llm_client_model(const llm_client_t *c)
{
    return c->cfg->llm_model;
}

void llm_answer_dispose(llm_answer_t *a)
{
    if (a == NULL) return;
    free(a->content);
    a->content = NULL;
}

/* Picks the content and usage out of a chat-completions answer. */
static int parse_answer(const char *body, llm_answer_t *out)
{
    json_error_t jerr;
    json_t *root = json_loads(body, 0, &jerr);
    if (root == NULL) {
        snprintf(out->error, sizeof(out->error), "answer is not JSON: %s", jerr.text);
        return -1;
    }
    json_t *content = json_object_get(
        json_object_get(json_array_get(json_object_get(root, "choices"), 0), "message"), "content");
    int rc = -1;
    if (!json_is_string(content)) {
        snprintf(out->error, sizeof(out->error), "answer has no choices[0].message.content string");
    } else {
        out->content = xstrdup(json_string_value(content));
        json_t *usage = json_object_get(root, "usage");
        out->prompt_tokens = (int)json_integer_value(json_object_get(usage, "prompt_tokens"));
        out->completion_tokens = (int)json_integer_value(json_object_get(usage, "completion_tokens"));
        rc = 0;
    }
    json_decref(root);
    return rc;
}

/* One HTTP attempt. Returns 0 on success, 1 when worth retrying, -1 when not. */
static int attempt(llm_client_t *c, const char *request_json, llm_answer_t *out, long *retry_after_s)
{
    response_t resp;
    memset(&resp, 0, sizeof(resp));
    buf_init(&resp.body, LLM_MAX_ANSWER_BYTES);
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, c->auth);
    h = curl_slist_append(h, "Expect:");
    CURL *e = c->curl;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, request_json);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &resp);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->cfg->llm_timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    CURLcode cc = curl_easy_perform(e);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    int rc;
    if (cc != CURLE_OK) {
        snprintf(out->error, sizeof(out->error), "%s",
                 resp.overflow ? "answer too large" : curl_easy_strerror(cc));
        rc = resp.overflow ? -1 : 1;
    } else if (status == 429 || status >= 500) {
        snprintf(out->error, sizeof(out->error), "LLM answered HTTP %ld", status);
        *retry_after_s = resp.retry_after_s;
        rc = 1;
    } else if (status != 200) {
        snprintf(out->error, sizeof(out->error), "LLM answered HTTP %ld", status);
        rc = -1;
    } else {
        rc = parse_answer(resp.body.data ? resp.body.data : "", out) == 0 ? 0 : -1;
    }
    buf_dispose(&resp.body);
    return rc;
}

static void breaker_result(llm_breaker_t *b, int ok)
{
    if (ok) {
        atomic_store(&b->consecutive_failures, 0);
        atomic_store(&b->open_until_ms, 0);
        return;
    }
    atomic_fetch_add(&b->failures, 1);
    if (atomic_fetch_add(&b->consecutive_failures, 1) + 1 >= LLM_BREAKER_FAILURES) {
        atomic_store(&b->open_until_ms, mono_ms() + b->open_ms);
        log_warn("LLM circuit breaker open for %d ms after %d consecutive failures", b->open_ms,
                 LLM_BREAKER_FAILURES);
    }
}

int llm_client_complete(llm_client_t *c, const char *request_json, llm_answer_t *out)
{
    memset(out, 0, sizeof(*out));
    long long open_until = atomic_load(&c->breaker->open_until_ms);
    if (open_until && mono_ms() < open_until) {
        atomic_fetch_add(&c->breaker->short_circuited, 1);
        snprintf(out->error, sizeof(out->error), "LLM circuit breaker open after repeated failures");
        return -1;
    }
    atomic_fetch_add(&c->breaker->calls, 1);
    long long started = mono_ms();
    int rc = -1;
    long backoff_ms = 500;
    for (int i = 0; i < LLM_MAX_ATTEMPTS; i++) {
        long retry_after = 0;
        out->attempts = i + 1;
        rc = attempt(c, request_json, out, &retry_after);
        if (rc <= 0) break;
        if (i + 1 == LLM_MAX_ATTEMPTS) break;
        long wait_ms = retry_after > 0
                           ? (retry_after > MAX_RETRY_AFTER_S ? MAX_RETRY_AFTER_S : retry_after) * 1000
                           : backoff_ms;
        log_info("LLM call failed (%s); retry %d in %ld ms", out->error, i + 1, wait_ms);
        usleep((useconds_t)wait_ms * 1000);
        backoff_ms *= 2;
    }
    out->latency_ms = (long)(mono_ms() - started);
    breaker_result(c->breaker, rc == 0);
    return rc == 0 ? 0 : -1;
}
