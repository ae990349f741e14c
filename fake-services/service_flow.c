/* The work of one request in each role, on a pool thread (see service.h): the server span, an internal
 * span or two, the downstream call with traceparent, the deterministic failure triggers of
 * docs/scenarios.md and the injected faults, and the logs each service writes in its language.
 *
 *   gateway  POST /orders  → validate order → POST payment /charge (client timeout)
 *   payment  POST /charge  → validate card → POST inventory /reserve → db.query charge
 *   inventory POST /reserve → SELECT stock → UPDATE stock                                  */
#include "service.h"
#include "alloc.h"
#include "buf.h"
#include "program.h"
#include "stacks.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STACK_MAX 4096
#define MESSAGE_MAX 512
#define CALLEE_ANSWER_MAX (64 * 1024)

const char *const svc_server_span[ROLE_COUNT] = {"POST /orders", "POST /charge", "POST /reserve"};

typedef enum { CALL_OK, CALL_ANSWERED_ERROR, CALL_TIMEOUT, CALL_UNREACHABLE } call_outcome_t;

typedef struct {
    call_outcome_t outcome;
    long status;
    char detail[256]; /* the callee's error message, or curl's reason */
} call_result_t;

/* One request in progress on its pool thread. */
typedef struct {
    svc_t *v;
    svc_worker_t *w;
    svc_request_t *r;
    span_t server;
    int failed;
    const char *code;          /* error code of the answer */
    char message[MESSAGE_MAX]; /* why it failed: the server span's status message and the answer's */
} flow_t;

/* ---------------- small helpers ---------------- */

static void sleep_ms(int ms)
{
    if (ms <= 0) return;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static uint64_t rnd(svc_worker_t *w)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng;
}

/* A uniform int in lo..hi, for realistic small durations. */
static int jitter(flow_t *f, int lo, int hi)
{
    return lo + (int)(rnd(f->w) % (uint64_t)(hi - lo + 1));
}

static void emit_span(flow_t *f, span_t *s, int error, const char *status_message)
{
    telemetry_record(f->v->tel, TEL_SPANS, span_end(s, f->v->conf.service, error, status_message));
}

json_t *svc_log_record(const svc_t *v, const char *level, const char *message, const char *trace_id,
                       const char *span_id, const char *stack)
{
    json_t *o = json_pack("{s:I,s:s,s:s,s:s}", "timestamp", (json_int_t)span_now_ns(), "service",
                          v->conf.service, "level", level, "message", message);
    if (o == NULL) return NULL;
    if (trace_id) json_object_set_new(o, "trace_id", json_string(trace_id));
    if (span_id) json_object_set_new(o, "span_id", json_string(span_id));
    if (stack) json_object_set_new(o, "stack_trace", json_string(stack));
    return o;
}

/* A log of this request, tied to span `s`. */
static void emit_log(flow_t *f, const span_t *s, const char *level, const char *message, const char *stack)
{
    json_t *o = svc_log_record(f->v, level, message, s->trace_id, s->span_id, stack);
    if (o) json_object_set_new(o, "attributes", json_pack("{s:s}", "order_id", f->r->order_id));
    telemetry_record(f->v->tel, TEL_LOGS, o);
}

static void fail(flow_t *f, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(flow_t *f, int status, const char *code, const char *fmt, ...)
{
    f->failed = 1;
    f->r->status = status;
    f->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof(f->message), fmt, ap);
    va_end(ap);
}

static int has_trigger(const flow_t *f, const char *trigger)
{
    return strstr(f->r->order_id, trigger) != NULL;
}

/* ---------------- downstream call ---------------- */

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    buf_append(ud, p, size * n); /* past the cap the rest is ignored */
    return size * n;
}

/* The "message" of a {"error":{"message":...}} answer, else "HTTP <status>". */
static void callee_reason(const buf_t *answer, long status, char *out, size_t outlen)
{
    json_t *o = answer->len ? json_loadb(answer->data, answer->len, 0, NULL) : NULL;
    const char *m = json_string_value(json_object_get(json_object_get(o, "error"), "message"));
    if (m)
        snprintf(out, outlen, "%s", m);
    else
        snprintf(out, outlen, "HTTP %ld", status);
    json_decref(o);
}

/* POSTs the request's payload to the downstream service inside a CLIENT span that carries the
 * traceparent; blocks this pool thread for at most timeout_ms. */
static void call_downstream(flow_t *f, const char *span_name, const char *peer, const char *path,
                            int timeout_ms, call_result_t *res)
{
    memset(res, 0, sizeof(*res));
    span_t s;
    span_start(&s, f->server.trace_id, f->server.span_id, span_name, "CLIENT");
    char url[320], tp[SPAN_TRACEPARENT_LEN + 1], header[96];
    snprintf(url, sizeof(url), "%s%s", f->v->conf.downstream_url, path);
    span_set_str(&s, "peer.service", peer);
    span_set_str(&s, "http.method", "POST");
    span_set_str(&s, "http.url", url);
    span_traceparent(&s, tp);
    snprintf(header, sizeof(header), "traceparent: %s", tp);
    char *body = json_dumps(f->r->payload, JSON_COMPACT);
    struct curl_slist *h = curl_slist_append(NULL, header);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    buf_t answer;
    buf_init(&answer, CALLEE_ANSWER_MAX);
    CURL *c = f->w->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "{}");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
    char status_message[400] = "";
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        res->outcome = CALL_TIMEOUT;
        snprintf(res->detail, sizeof(res->detail), "%s", curl_easy_strerror(rc));
        snprintf(status_message, sizeof(status_message), "%s timed out after %d ms", peer, timeout_ms);
    } else if (rc != CURLE_OK) {
        res->outcome = CALL_UNREACHABLE;
        snprintf(res->detail, sizeof(res->detail), "%s", curl_easy_strerror(rc));
        snprintf(status_message, sizeof(status_message), "%s unreachable: %s", peer, res->detail);
    } else if (res->status < 200 || res->status >= 300) {
        res->outcome = CALL_ANSWERED_ERROR;
        callee_reason(&answer, res->status, res->detail, sizeof(res->detail));
        snprintf(status_message, sizeof(status_message), "%s answered %ld: %s", peer, res->status,
                 res->detail);
    }
    if (res->status) span_set_int(&s, "http.status_code", res->status);
    emit_span(f, &s, res->outcome != CALL_OK, res->outcome != CALL_OK ? status_message : NULL);
    curl_slist_free_all(h);
    buf_dispose(&answer);
    free(body);
}

/* ---------------- gateway (Go) ---------------- */

static void gateway_flow(flow_t *f)
{
    span_t s;
    span_start(&s, f->server.trace_id, f->server.span_id, "validate order", "INTERNAL");
    span_set_int(&s, "order.items", (long long)json_array_size(json_object_get(f->r->payload, "items")));
    emit_span(f, &s, 0, NULL);

    int timeout = f->v->conf.call_timeout_ms;
    call_result_t c;
    call_downstream(f, "POST payment /charge", "payment", "/charge", timeout, &c);
    if (c.outcome == CALL_OK) return;
    char chain[700], stack[STACK_MAX];
    const char *url = f->v->conf.downstream_url;
    switch (c.outcome) {
    case CALL_TIMEOUT:
        snprintf(
            chain, sizeof(chain),
            "charge payment: Post \"%s/charge\": context deadline exceeded (Client.Timeout exceeded while "
            "awaiting headers)",
            url);
        fail(f, 504, "upstream_timeout", "payment timed out after %d ms", timeout);
        break;
    case CALL_UNREACHABLE:
        snprintf(chain, sizeof(chain), "charge payment: Post \"%s/charge\": dial tcp: %s", url, c.detail);
        fail(f, 502, "upstream_unreachable", "payment unreachable: %s", c.detail);
        break;
    default:
        snprintf(chain, sizeof(chain), "charge payment: payment answered %ld: %s", c.status, c.detail);
        fail(f, 502, "upstream_failed", "payment answered %ld: %s", c.status, c.detail);
        break;
    }
    stacks_go_upstream(stack, sizeof(stack), f->r->order_id, chain);
    emit_log(f, &f->server, "ERROR", f->message, stack);
}

/* ---------------- payment (Java) ---------------- */

static void payment_reserve_failed(flow_t *f, const call_result_t *c)
{
    const char *cause_type;
    char cause[400], stack[STACK_MAX], message[300];
    switch (c->outcome) {
    case CALL_TIMEOUT:
        cause_type = "java.net.SocketTimeoutException";
        snprintf(cause, sizeof(cause), "Read timed out after %d ms", f->v->conf.call_timeout_ms);
        break;
    case CALL_UNREACHABLE:
        cause_type = "java.net.ConnectException";
        snprintf(cause, sizeof(cause), "Connection refused: %s", c->detail);
        break;
    default:
        cause_type = c->status == 409 ? EXC_OUT_OF_STOCK_JAVA : "com.acme.payment.client.InventoryException";
        snprintf(cause, sizeof(cause), "inventory answered %ld: %s", c->status, c->detail);
        break;
    }
    stacks_java_wrapped(stack, sizeof(stack), f->r->order_id, cause_type, cause);
    snprintf(message, sizeof(message), "could not reserve stock for order %s", f->r->order_id);
    span_add_exception(&f->server, EXC_PAYMENT, message, stack);
    emit_log(f, &f->server, "ERROR", "charge failed: could not reserve stock", stack);
    fail(f, 500, "reserve_failed", "charge failed: %s", cause);
}

static void payment_flow(flow_t *f)
{
    span_t s;
    span_start(&s, f->server.trace_id, f->server.span_id, "validate card", "INTERNAL");
    span_set_str(&s, "card.brand", "visa");
    sleep_ms(jitter(f, 1, 3));
    emit_span(f, &s, 0, NULL);

    call_result_t c;
    call_downstream(f, "POST inventory /reserve", "inventory", "/reserve", f->v->conf.call_timeout_ms, &c);
    if (c.outcome != CALL_OK) {
        payment_reserve_failed(f, &c);
        return;
    }

    span_t db;
    span_start(&db, f->server.trace_id, f->server.span_id, "db.query charge", "CLIENT");
    span_set_str(&db, "db.system", "postgresql");
    span_set_str(&db, "db.name", "payments");
    span_set_str(&db, "db.statement",
                 "INSERT INTO charges (order_id, amount, card_token) VALUES ($1, $2, $3)");
    if (!has_trigger(f, "fail-pay")) {
        sleep_ms(jitter(f, 3, 8));
        emit_span(f, &db, 0, NULL);
        return;
    }
    int ms = f->v->conf.db_timeout_ms;
    char message[200], stack[STACK_MAX];
    sleep_ms(ms);
    snprintf(message, sizeof(message), "query timed out after %d ms (statement_timeout)", ms);
    stacks_java_db_timeout(stack, sizeof(stack), f->r->order_id, ms);
    span_add_exception(&db, EXC_DB_TIMEOUT, message, stack);
    emit_log(f, &db, "ERROR", "charge failed: database timeout", stack);
    emit_span(f, &db, 1, message);
    fail(f, 500, "db_timeout", "charge failed: %s", message);
}

/* ---------------- inventory (Python) ---------------- */

static void inventory_flow(flow_t *f)
{
    const char *sku = json_string_value(json_array_get(json_object_get(f->r->payload, "items"), 0));
    if (sku == NULL) sku = "sku-4711";
    span_t sel;
    span_start(&sel, f->server.trace_id, f->server.span_id, "SELECT stock", "INTERNAL");
    span_set_str(&sel, "db.system", "postgresql");
    span_set_str(&sel, "db.statement", "SELECT quantity FROM stock WHERE sku = $1 FOR UPDATE");
    span_set_str(&sel, "inventory.sku", sku);
    if (has_trigger(f, "slow-inv")) {
        span_set_int(&sel, "lock.wait_ms", f->v->conf.slow_ms);
        sleep_ms(f->v->conf.slow_ms);
    } else {
        sleep_ms(jitter(f, 1, 3));
    }
    if (has_trigger(f, "fail-inv")) {
        char message[300], stack[STACK_MAX];
        snprintf(message, sizeof(message), "%s has 0 left", sku);
        stacks_python_out_of_stock(stack, sizeof(stack), f->r->order_id, sku);
        span_add_exception(&sel, EXC_OUT_OF_STOCK, message, stack);
        emit_log(f, &sel, "ERROR", "reserve failed: OutOfStock", stack);
        emit_span(f, &sel, 1, "out of stock");
        fail(f, 409, "out_of_stock", "out of stock: %s", message);
        return;
    }
    emit_span(f, &sel, 0, NULL);
    span_t upd;
    span_start(&upd, f->server.trace_id, f->server.span_id, "UPDATE stock", "INTERNAL");
    span_set_str(&upd, "db.statement", "UPDATE stock SET quantity = quantity - $2 WHERE sku = $1");
    sleep_ms(jitter(f, 1, 2));
    emit_span(f, &upd, 0, NULL);
}

/* ---------------- any role ---------------- */

static void injected_failure(flow_t *f)
{
    char type[64], stack[STACK_MAX];
    stacks_injected(stack, sizeof(stack), type, sizeof(type), f->v->conf.service, f->r->order_id);
    span_add_exception(&f->server, type, "injected fault", stack);
    emit_log(f, &f->server, "ERROR", "request failed: injected fault", stack);
    fail(f, 500, "internal", "internal error (injected fault)");
}

void svc_flow_crash_log(svc_t *v)
{
    static const char *const crash[ROLE_COUNT] = {
        "fatal error: runtime: out of memory\n\ngoroutine 1 [running]:\n"
        "main.(*Gateway).placeOrder(0xc0000a4000, {0xc000128000, 0x1a})\n\t/app/gateway/orders.go:74 "
        "+0x1d4\n",
        "java.lang.OutOfMemoryError: Java heap space\n"
        "\tat com.acme.payment.ChargeService.charge(ChargeService.java:41)\n"
        "\tat java.base/java.lang.Thread.run(Thread.java:833)\n",
        "Traceback (most recent call last):\n  File \"/app/inventory/api.py\", line 31, in post_reserve\n"
        "    stock.reserve(order_id, items)\nMemoryError\n",
    };
    telemetry_record(v->tel, TEL_LOGS,
                     svc_log_record(v, "FATAL", "process crashed; restarting (crash loop)", NULL, NULL,
                                    crash[v->conf.role]));
}

static void reply(flow_t *f)
{
    svc_request_t *r = f->r;
    json_t *o;
    if (!f->failed) {
        r->status = 200;
        o = json_pack("{s:s,s:s,s:s,s:s}", "status", "ok", "service", f->v->conf.service, "order_id",
                      r->order_id, "trace_id", r->trace_id);
    } else {
        o = json_pack("{s:{s:s,s:s},s:s,s:s}", "error", "code", f->code, "message", f->message, "service",
                      f->v->conf.service, "trace_id", r->trace_id);
    }
    r->reply = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
}

void svc_flow_run(httpd_job_t *job, worker_t *w)
{
    svc_request_t *r = (svc_request_t *)job;
    svc_t *v = r->svc;
    flow_t f;
    memset(&f, 0, sizeof(f));
    f.v = v;
    f.w = &v->workers[w->index];
    f.r = r;
    sleep_ms(r->faults.delay_ms); /* network delay in front of this service: before its server span */
    long long t0 = mono_us();
    span_start(&f.server, r->trace_id, r->parent_id, svc_server_span[v->conf.role], "SERVER");
    span_set_str(&f.server, "http.method", "POST");
    span_set_str(&f.server, "http.route", strchr(svc_server_span[v->conf.role], '/'));
    span_set_str(&f.server, "order.id", r->order_id);
    if (r->faults.latency_ms) {
        span_set_int(&f.server, "fault.latency_ms", r->faults.latency_ms);
        sleep_ms(r->faults.latency_ms);
    }
    if (r->faults.error_rate > 0 && (double)(rnd(f.w) % 1000000) / 1e6 < r->faults.error_rate) {
        injected_failure(&f);
    } else {
        switch (v->conf.role) {
        case ROLE_GATEWAY:
            gateway_flow(&f);
            break;
        case ROLE_PAYMENT:
            payment_flow(&f);
            break;
        case ROLE_INVENTORY:
        case ROLE_COUNT:
            inventory_flow(&f);
            break;
        }
    }
    if (!f.failed) {
        static const char *const done[ROLE_COUNT] = {"order placed", "order charged", "stock reserved"};
        emit_log(&f, &f.server, "INFO", done[v->conf.role], NULL);
    }
    reply(&f);
    span_set_int(&f.server, "http.status_code", r->status);
    emit_span(&f, &f.server, f.failed, f.failed ? f.message : NULL);
    reqstats_record(&v->stats, (double)(mono_us() - t0) / 1000.0, f.failed);
    httpd_job_finish(job);
}
