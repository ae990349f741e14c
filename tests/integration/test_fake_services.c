/* The simulated payment services over real HTTP, with their telemetry caught by an ingest stub in this
 * process (our own httpd): the gateway → payment → inventory chain continues one W3C trace (three
 * SERVER spans, each the child of its caller's CLIENT span), the failure triggers produce the spans,
 * exceptions and language-specific stack traces of docs/scenarios.md, the control endpoints (faults,
 * crash loop, network delay, change events) behave, metrics arrive, a down backend costs telemetry and
 * never requests, and traffic-gen is deterministic. */
#include "httpd.h"
#include "ts.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define SLOW_MS 1500

/* ---------------- ingest stub ---------------- */

typedef struct {
    pthread_mutex_t lock;
    json_t *records[4]; /* spans, logs, metrics, events */
    int refuse;         /* answer 503 to everything */
    long unauthorized;
} stub_t;

static const char *const stub_kinds[] = {"traces", "logs", "metrics", "events"};
static const char *const stub_keys[] = {"spans", "logs", "metrics", "events"};
enum { SPANS, LOGS, METRICS, EVENTS };

static stub_t stub;
static httpd_t *stub_server;
static char stub_url[64];
static ts_proc_t inventory, payment, gateway;

static int on_ingest(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    stub_t *s = ctx;
    int k = 0;
    while (k < 4 && !h2o_memis(m->params[0].base, m->params[0].len, stub_kinds[k], strlen(stub_kinds[k])))
        k++;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    const char *want = "Bearer " TS_INGEST_KEY;
    json_t *body = json_loadb(req->entity.base, req->entity.len, 0, NULL);
    json_t *arr = k < 4 ? json_object_get(body, stub_keys[k]) : NULL;
    pthread_mutex_lock(&s->lock);
    int refuse = s->refuse,
        authorized = i >= 0 && h2o_memis(req->headers.entries[i].value.base,
                                         req->headers.entries[i].value.len, want, strlen(want));
    if (!authorized) s->unauthorized++;
    if (!refuse && authorized && json_is_array(arr)) json_array_extend(s->records[k], arr);
    pthread_mutex_unlock(&s->lock);
    size_t n = json_array_size(arr);
    int is_array = json_is_array(arr);
    json_decref(body); /* arr dies with it */
    if (refuse)
        httpd_send_error(req, 503, "unavailable", "stub refuses", NULL);
    else if (!authorized)
        httpd_send_error(req, 401, "unauthorized", "bad key", NULL);
    else if (!is_array)
        httpd_send_error(req, 400, "invalid", "no records array", NULL);
    else
        httpd_send_json(req, 200, json_pack("{s:I}", "accepted", (json_int_t)n));
    return 0;
}

static int on_stub_health(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)ctx, (void)m;
    httpd_send_json(req, 200, json_pack("{s:s}", "status", "ok"));
    return 0;
}

static void stub_start(void)
{
    pthread_mutex_init(&stub.lock, NULL);
    for (int k = 0; k < 4; k++)
        stub.records[k] = json_array();
    int port = ts_free_port();
    snprintf(stub_url, sizeof(stub_url), "http://127.0.0.1:%d", port);
    httpd_opts_t o = {.program = "ingest-stub", .port = port, .threads = 1, .max_body_bytes = 64 << 20};
    stub_server = httpd_create(&o);
    httpd_route(stub_server, "POST", "/ingest/{kind}", NULL, on_ingest, &stub);
    httpd_route(stub_server, "GET", "/health", NULL, on_stub_health, &stub);
    char err[200];
    ck_assert_msg(httpd_start(stub_server, err, sizeof(err)) == 0, "stub: %s", err);
}

static void stub_stop(void)
{
    httpd_stop(stub_server);
    httpd_free(stub_server);
    for (int k = 0; k < 4; k++)
        json_decref(stub.records[k]);
}

static void stub_refuse(int on)
{
    pthread_mutex_lock(&stub.lock);
    stub.refuse = on;
    pthread_mutex_unlock(&stub.lock);
}

/* Copies of the records of `kind` whose `field` equals `value` (all when field is NULL). */
static json_t *stub_find(int kind, const char *field, const char *value)
{
    json_t *out = json_array(), *x;
    size_t i;
    pthread_mutex_lock(&stub.lock);
    json_array_foreach(stub.records[kind], i, x)
    {
        const char *v = field ? json_string_value(json_object_get(x, field)) : NULL;
        if (field == NULL || (v && strcmp(v, value) == 0)) json_array_append_new(out, json_deep_copy(x));
    }
    pthread_mutex_unlock(&stub.lock);
    return out;
}

/* Waits up to `ms` for at least `want` records of `kind` with field == value. */
static json_t *stub_wait(int kind, const char *field, const char *value, size_t want, int ms)
{
    for (int waited = 0;; waited += 50) {
        json_t *a = stub_find(kind, field, value);
        if (json_array_size(a) >= want || waited >= ms) return a;
        json_decref(a);
        usleep(50 * 1000);
    }
}

/* ---------------- fixture ---------------- */

static void start_service(ts_proc_t *p, const char *role, const char *port_var, const char *extra)
{
    char be[96], r[64];
    snprintf(be, sizeof(be), "BACKEND_URL=%s", stub_url);
    snprintf(r, sizeof(r), "FAKE_SERVICE_ROLE=%s", role);
    const char *env[] = {be,
                         r,
                         "INGEST_API_KEY=" TS_INGEST_KEY,
                         "TELEMETRY_FLUSH_MS=100",
                         "METRICS_INTERVAL_MS=300",
                         "INVENTORY_SLOW_MS=1500",
                         "GATEWAY_TIMEOUT_MS=800",
                         extra,
                         NULL};
    ck_assert_int_eq(ts_start(p, "fake-services/fake-service", port_var, "postgresql://unused", "t:", env),
                     0);
}

static void setup(void)
{
    stub_start();
    start_service(&inventory, "inventory", "INVENTORY_PORT", NULL);
    char inv[96], pay[96];
    snprintf(inv, sizeof(inv), "INVENTORY_URL=%s", inventory.url);
    start_service(&payment, "payment", "PAYMENT_PORT", inv);
    snprintf(pay, sizeof(pay), "PAYMENT_URL=%s", payment.url);
    start_service(&gateway, "gateway", "GATEWAY_PORT", pay);
}

static void teardown(void)
{
    ts_stop(&gateway, SIGTERM);
    ts_stop(&payment, SIGTERM);
    ts_stop(&inventory, SIGTERM);
    stub_stop();
}

/* ---------------- helpers ---------------- */

static long long now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Places an order (with `traceparent` when not NULL); returns the status, the trace id into trace. */
static long order(const char *id, const char *traceparent, char trace[33])
{
    char url[128], body[256], tp[128];
    snprintf(url, sizeof(url), "%s/orders", gateway.url);
    snprintf(body, sizeof(body), "{\"order_id\":\"%s\",\"amount\":12.5,\"items\":[\"sku-042\"]}", id);
    snprintf(tp, sizeof(tp), "traceparent: %s", traceparent ? traceparent : "");
    const char *h[] = {"Content-Type: application/json", traceparent ? tp : NULL, NULL};
    ts_resp_t r;
    ck_assert_int_eq(ts_http("POST", url, h, body, strlen(body), &r), 0);
    json_t *o = json_loads(r.body, 0, NULL);
    snprintf(trace, 33, "%s", json_string_value(json_object_get(o, "trace_id")) ?: "");
    json_decref(o);
    long st = r.status;
    ts_resp_free(&r);
    return st;
}

static long post(const ts_proc_t *p, const char *path, const char *body, char **answer)
{
    char url[160];
    snprintf(url, sizeof(url), "%s%s", p->url, path);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, NULL, body, &r), 0);
    long st = r.status;
    if (answer) *answer = strdup(r.body);
    ts_resp_free(&r);
    return st;
}

static json_t *get_json(const ts_proc_t *p, const char *path)
{
    char url[160];
    snprintf(url, sizeof(url), "%s%s", p->url, path);
    ts_resp_t r;
    ck_assert_int_eq(ts_http("GET", url, NULL, NULL, 0, &r), 0);
    json_t *o = json_loads(r.body, 0, NULL);
    ts_resp_free(&r);
    return o;
}

/* The span of `spans` with service and name; NULL when absent. Borrowed. */
static json_t *span_named(json_t *spans, const char *service, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(spans, i,
                       s) if (!strcmp(json_string_value(json_object_get(s, "service")), service) &&
                              !strcmp(json_string_value(json_object_get(s, "name")), name)) return s;
    return NULL;
}

static const char *sf(json_t *o, const char *f)
{
    return json_string_value(json_object_get(o, f));
}

static double duration_ms(json_t *span)
{
    return (double)(json_integer_value(json_object_get(span, "end_time")) -
                    json_integer_value(json_object_get(span, "start_time"))) /
           1e6;
}

static int is_hex(const char *s, size_t n)
{
    if (s == NULL || strlen(s) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

/* The first log of trace `trace` from `service` at `level`. Borrowed from logs. */
static json_t *log_of(json_t *logs, const char *service, const char *level)
{
    size_t i;
    json_t *l;
    json_array_foreach(logs, i,
                       l) if (!strcmp(sf(l, "service"), service) && !strcmp(sf(l, "level"), level)) return l;
    return NULL;
}

static const char *exception_type(json_t *span)
{
    json_t *ev = json_array_get(json_object_get(span, "events"), 0);
    return json_string_value(json_object_get(json_object_get(ev, "attributes"), "exception.type"));
}

/* ---------------- tests ---------------- */

/* The unauthenticated fault-injection routes exist only when asked for (issue 14: never by default). */
START_TEST(control_routes_only_with_fake_control)
{
    ts_proc_t quiet;
    char be[96];
    snprintf(be, sizeof(be), "BACKEND_URL=%s", stub_url);
    const char *env[] = {be, "FAKE_SERVICE_ROLE=inventory", "INGEST_API_KEY=" TS_INGEST_KEY, "FAKE_CONTROL=0",
                         NULL};
    ck_assert_int_eq(
        ts_start(&quiet, "fake-services/fake-service", "INVENTORY_PORT", "postgresql://unused", "t:", env),
        0);
    ck_assert_int_eq(post(&quiet, "/control/fault", "{\"error_rate\":1}", NULL), 404);
    ck_assert_int_eq(post(&inventory, "/control/reset", "{}", NULL), 200); /* the tests' services have them */
    ts_stop(&quiet, SIGTERM);
}
END_TEST

START_TEST(chain_continues_one_trace)
{
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    char trace[33];
    ck_assert_int_eq(order("ord-t-1", tp, trace), 200);
    ck_assert_str_eq(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
    /* gateway: SERVER, INTERNAL, CLIENT; payment: SERVER, INTERNAL, CLIENT, CLIENT (db); inventory: 3 */
    json_t *spans = stub_wait(SPANS, "trace_id", trace, 10, 5000);
    ck_assert_int_eq(json_array_size(spans), 10);
    json_t *gw = span_named(spans, "gateway", "POST /orders"),
           *gwc = span_named(spans, "gateway", "POST payment /charge");
    json_t *pay = span_named(spans, "payment", "POST /charge"),
           *payc = span_named(spans, "payment", "POST inventory /reserve");
    json_t *inv = span_named(spans, "inventory", "POST /reserve");
    ck_assert(gw && gwc && pay && payc && inv);
    ck_assert_ptr_nonnull(span_named(spans, "payment", "validate card"));
    ck_assert_ptr_nonnull(span_named(spans, "payment", "db.query charge"));
    ck_assert_ptr_nonnull(span_named(spans, "inventory", "SELECT stock"));
    ck_assert_str_eq(sf(gw, "kind"), "SERVER");
    ck_assert_str_eq(sf(pay, "kind"), "SERVER");
    ck_assert_str_eq(sf(inv, "kind"), "SERVER");
    ck_assert_str_eq(sf(gwc, "kind"), "CLIENT");
    /* each SERVER span is the child of its caller's CLIENT span; the gateway's of the incoming header */
    ck_assert_str_eq(sf(gw, "parent_span_id"), "00f067aa0ba902b7");
    ck_assert_str_eq(sf(gwc, "parent_span_id"), sf(gw, "span_id"));
    ck_assert_str_eq(sf(pay, "parent_span_id"), sf(gwc, "span_id"));
    ck_assert_str_eq(sf(payc, "parent_span_id"), sf(pay, "span_id"));
    ck_assert_str_eq(sf(inv, "parent_span_id"), sf(payc, "span_id"));
    size_t i;
    json_t *s;
    json_array_foreach(spans, i, s)
    {
        ck_assert(is_hex(sf(s, "trace_id"), 32) && is_hex(sf(s, "span_id"), 16));
        ck_assert_str_eq(sf(s, "status"), "OK");
        ck_assert(json_integer_value(json_object_get(s, "end_time")) >=
                  json_integer_value(json_object_get(s, "start_time")));
    }
    /* a client span covers its callee's server span */
    ck_assert(json_integer_value(json_object_get(gwc, "start_time")) <=
              json_integer_value(json_object_get(pay, "start_time")));
    ck_assert(json_integer_value(json_object_get(gwc, "end_time")) >=
              json_integer_value(json_object_get(pay, "end_time")));
    json_decref(spans);
    json_t *logs = stub_wait(LOGS, "trace_id", trace, 3, 3000);
    ck_assert_int_eq(json_array_size(logs), 3);
    ck_assert_ptr_nonnull(log_of(logs, "inventory", "INFO"));
    json_decref(logs);

    /* without traceparent the gateway starts a new trace: a root span */
    char t2[33];
    ck_assert_int_eq(order("ord-t-2", NULL, t2), 200);
    ck_assert(is_hex(t2, 32) && strcmp(t2, trace) != 0);
    spans = stub_wait(SPANS, "trace_id", t2, 10, 5000);
    gw = span_named(spans, "gateway", "POST /orders");
    ck_assert_ptr_nonnull(gw);
    ck_assert_ptr_null(json_object_get(gw, "parent_span_id"));
    ck_assert_int_eq(json_array_size(spans), 10);
    json_decref(spans);
    pthread_mutex_lock(&stub.lock);
    ck_assert_int_eq(stub.unauthorized, 0);
    pthread_mutex_unlock(&stub.lock);
}
END_TEST

START_TEST(fail_pay_db_timeout_in_java)
{
    char trace[33];
    ck_assert_int_eq(order("ord-t-fail-pay", NULL, trace), 502);
    json_t *spans = stub_wait(SPANS, "trace_id", trace, 10, 5000);
    json_t *db = span_named(spans, "payment", "db.query charge");
    ck_assert_ptr_nonnull(db);
    ck_assert_str_eq(sf(db, "status"), "ERROR");
    ck_assert_str_eq(exception_type(db), "com.acme.payment.DbTimeoutException");
    ck_assert_str_eq(sf(span_named(spans, "payment", "POST /charge"), "status"), "ERROR");
    ck_assert_str_eq(sf(span_named(spans, "gateway", "POST payment /charge"), "status"), "ERROR");
    ck_assert_str_eq(sf(span_named(spans, "inventory", "POST /reserve"), "status"), "OK");
    json_t *logs = stub_wait(LOGS, "trace_id", trace, 3, 3000);
    json_t *pl = log_of(logs, "payment", "ERROR"), *gl = log_of(logs, "gateway", "ERROR");
    ck_assert(pl && gl);
    ck_assert_str_eq(sf(pl, "span_id"), sf(db, "span_id"));
    const char *st = sf(pl, "stack_trace");
    ck_assert_msg(strncmp(st, "com.acme.payment.DbTimeoutException: ", 37) == 0 &&
                      strstr(st, "\n\tat com.acme."),
                  "%s", st);
    ck_assert(strstr(sf(gl, "stack_trace"), "panic: ") && strstr(sf(gl, "stack_trace"), "\ngoroutine "));
    json_decref(logs);
    json_decref(spans);
}
END_TEST

START_TEST(fail_inv_python_wrapped_in_java)
{
    char trace[33];
    ck_assert_int_eq(order("ord-t-fail-inv", NULL, trace), 502);
    json_t *spans = stub_wait(SPANS, "trace_id", trace, 8, 5000);
    json_t *sel = span_named(spans, "inventory", "SELECT stock");
    ck_assert_ptr_nonnull(sel);
    ck_assert_str_eq(sf(sel, "status"), "ERROR");
    ck_assert_str_eq(exception_type(sel), "inventory.errors.OutOfStock");
    ck_assert_str_eq(exception_type(span_named(spans, "payment", "POST /charge")),
                     "com.acme.payment.PaymentException");
    ck_assert_ptr_null(span_named(spans, "payment", "db.query charge"));
    json_t *logs = stub_wait(LOGS, "trace_id", trace, 3, 3000);
    json_t *il = log_of(logs, "inventory", "ERROR"), *pl = log_of(logs, "payment", "ERROR");
    ck_assert(il && pl);
    ck_assert(strncmp(sf(il, "stack_trace"), "Traceback (most recent call last):\n", 35) == 0);
    ck_assert_ptr_nonnull(strstr(sf(il, "stack_trace"), "\ninventory.errors.OutOfStock: "));
    ck_assert_ptr_nonnull(
        strstr(sf(pl, "stack_trace"), "\nCaused by: com.acme.inventory.OutOfStockException: "));
    json_decref(logs);
    json_decref(spans);
}
END_TEST

START_TEST(slow_inv_times_out_at_the_gateway)
{
    char trace[33];
    long long t0 = now_ms();
    ck_assert_int_eq(order("ord-t-slow-inv", NULL, trace), 504);
    long long took = now_ms() - t0;
    ck_assert_msg(took >= 750 && took < SLOW_MS, "took %lld ms", took);
    /* the inventory spans arrive after inventory is done */
    json_t *spans = stub_wait(SPANS, "trace_id", trace, 9, 5000);
    json_t *sel = span_named(spans, "inventory", "SELECT stock"),
           *gwc = span_named(spans, "gateway", "POST payment /charge");
    ck_assert(sel && gwc);
    ck_assert_str_eq(sf(sel, "status"), "OK");
    ck_assert(duration_ms(sel) >= SLOW_MS);
    ck_assert_str_eq(sf(gwc, "status"), "ERROR");
    ck_assert_ptr_nonnull(strstr(sf(gwc, "status_message"), "timed out"));
    json_decref(spans);
    json_t *logs = stub_wait(LOGS, "trace_id", trace, 1, 3000);
    json_t *gl = log_of(logs, "gateway", "ERROR");
    ck_assert_ptr_nonnull(gl);
    ck_assert_ptr_nonnull(strstr(sf(gl, "stack_trace"), "context deadline exceeded"));
    json_decref(logs);
}
END_TEST

START_TEST(faults_and_crash_loop)
{
    char trace[33], *ans;
    ck_assert_int_eq(post(&inventory, "/control/fault", "{\"error_rate\":2}", NULL), 400);
    ck_assert_int_eq(post(&inventory, "/control/fault", "{\"latency_ms\":-1}", NULL), 400);
    ck_assert_int_eq(post(&inventory, "/control/fault", "[]", NULL), 400);
    ck_assert_int_eq(post(&inventory, "/control/fault", "{\"error_rate\":1,\"duration_s\":30}", NULL), 200);
    ck_assert_int_eq(order("ord-t-injected", NULL, trace), 502);
    json_t *spans = stub_wait(SPANS, "trace_id", trace, 7, 5000);
    json_t *inv = span_named(spans, "inventory", "POST /reserve");
    ck_assert_ptr_nonnull(inv);
    ck_assert_str_eq(exception_type(inv), "RuntimeError");
    json_decref(spans);
    ck_assert_int_eq(post(&inventory, "/control/reset", "{}", NULL), 200);
    ck_assert_int_eq(order("ord-t-after-reset", NULL, trace), 200);

    /* crash loop: 503 "restarting" without work or spans, until it expires */
    ck_assert_int_eq(post(&payment, "/control/fault", "{\"crash_loop\":true,\"duration_s\":1}", &ans), 200);
    free(ans);
    ck_assert_int_eq(order("ord-t-crash", NULL, trace), 502);
    json_t *st = get_json(&payment, "/stats");
    ck_assert_int_ge(json_integer_value(json_object_get(st, "rejected")), 1);
    ck_assert(json_is_true(json_object_get(json_object_get(st, "faults"), "crash_loop")));
    json_decref(st);
    spans = stub_wait(SPANS, "trace_id", trace, 3, 1000);
    ck_assert_ptr_nonnull(span_named(spans, "gateway", "POST payment /charge"));
    ck_assert_ptr_null(span_named(spans, "payment", "POST /charge"));
    ck_assert_ptr_nonnull(
        strstr(sf(span_named(spans, "gateway", "POST payment /charge"), "status_message"), "restarting"));
    json_decref(spans);
    json_t *fatal = stub_wait(LOGS, "level", "FATAL", 1, 2000);
    ck_assert_int_eq(json_array_size(fatal), 1);
    ck_assert(strncmp(sf(json_array_get(fatal, 0), "stack_trace"), "java.lang.OutOfMemoryError", 26) == 0);
    json_decref(fatal);
    usleep(1200 * 1000);
    ck_assert_int_eq(order("ord-t-recovered", NULL, trace), 200);

    /* invalid orders */
    char url[128];
    snprintf(url, sizeof(url), "%s/orders", gateway.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, NULL, "{\"order_id\":\"a b\"}", &r), 0);
    ck_assert_int_eq(r.status, 400);
    ts_resp_free(&r);
    ck_assert_int_eq(ts_post_json(url, NULL, "{\"order_id\":\"ok\",\"amount\":-3}", &r), 0);
    ck_assert_int_eq(r.status, 400);
    ts_resp_free(&r);
}
END_TEST

START_TEST(network_delay_before_the_server_span)
{
    ck_assert_int_eq(post(&payment, "/control/network-delay", "{\"delay_ms\":400,\"duration_s\":30}", NULL),
                     200);
    ck_assert_int_eq(post(&payment, "/control/network-delay", "{\"duration_s\":30}", NULL), 400);
    char trace[33];
    ck_assert_int_eq(order("ord-t-netdelay", NULL, trace), 200);
    json_t *spans = stub_wait(SPANS, "trace_id", trace, 10, 5000);
    json_t *gwc = span_named(spans, "gateway", "POST payment /charge"),
           *pay = span_named(spans, "payment", "POST /charge");
    ck_assert(gwc && pay);
    ck_assert_msg(duration_ms(gwc) >= 400, "client span %.1f ms", duration_ms(gwc));
    ck_assert_msg(duration_ms(pay) < 200, "server span %.1f ms", duration_ms(pay));
    json_decref(spans);
}
END_TEST

START_TEST(change_events_reach_the_backend)
{
    char *ans;
    ck_assert_int_eq(post(&payment, "/control/change", "{\"type\":\"deploy\",\"version\":\"v2.3.1\"}", &ans),
                     200);
    ck_assert_ptr_nonnull(strstr(ans, "\"recorded\":true"));
    free(ans);
    ck_assert_int_eq(post(&payment, "/control/change", "{\"type\":\"reboot\"}", NULL), 400);
    json_t *ev = stub_wait(EVENTS, "service", "payment", 1, 2000);
    ck_assert_int_eq(json_array_size(ev), 1);
    json_t *e = json_array_get(ev, 0);
    ck_assert_str_eq(sf(e, "type"), "deploy");
    ck_assert_str_eq(sf(json_object_get(e, "meta"), "version"), "v2.3.1");
    ck_assert_ptr_nonnull(strstr(sf(e, "description"), "v2.3.1"));
    ck_assert(json_integer_value(json_object_get(e, "timestamp")) > 1600000000000000000LL);
    json_decref(ev);
    /* the backend refuses: the caller hears it */
    stub_refuse(1);
    ck_assert_int_eq(
        post(&payment, "/control/change", "{\"type\":\"flag\",\"description\":\"new checkout\"}", NULL), 502);
    stub_refuse(0);
}
END_TEST

START_TEST(metrics_per_endpoint)
{
    char trace[33];
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(order("ord-t-metrics", NULL, trace), 200);
    const char *names[] = {"requests_per_s", "error_rate", "p95_latency_ms"};
    for (int k = 0; k < 3; k++) {
        /* every service flushes on its own clock: under load the first points may all be another
         * service's, so wait for the gateway's (not for a count) */
        int gateway_seen = 0;
        for (int waited = 0; !gateway_seen && waited <= 15000; waited += 100) {
            json_t *m = stub_find(METRICS, "name", names[k]), *x;
            size_t i;
            json_array_foreach(m, i, x)
            {
                ck_assert(json_is_number(json_object_get(x, "value")));
                if (strcmp(sf(x, "service"), "gateway") == 0) {
                    ck_assert_str_eq(sf(json_object_get(x, "labels"), "endpoint"), "POST /orders");
                    gateway_seen = 1;
                }
            }
            json_decref(m);
            if (!gateway_seen) usleep(100 * 1000);
        }
        ck_assert_msg(gateway_seen, "no %s from the gateway", names[k]);
    }
}
END_TEST

START_TEST(down_backend_costs_telemetry_not_requests)
{
    stub_refuse(1);
    char trace[33];
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(order("ord-t-nobackend", NULL, trace), 200);
    usleep(600 * 1000);
    json_t *st = get_json(&gateway, "/stats");
    ck_assert_int_gt(json_integer_value(json_object_get(json_object_get(st, "telemetry_dropped"), "spans")),
                     0);
    ck_assert_int_gt(json_integer_value(json_object_get(st, "telemetry_failed_posts")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "requests")), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "errors")), 0);
    json_decref(st);
    stub_refuse(0);
    ck_assert_int_eq(order("ord-t-backend-back", NULL, trace), 200);
    json_t *spans = stub_wait(SPANS, "trace_id", trace, 10, 5000);
    ck_assert_int_eq(json_array_size(spans), 10);
    json_decref(spans);
    st = get_json(&gateway, "/stats");
    ck_assert_int_gt(json_integer_value(json_object_get(json_object_get(st, "telemetry_sent"), "spans")), 0);
    json_decref(st);
}
END_TEST

static char *run_capture(const char *args)
{
    char *prog = ts_program("fake-services/traffic-gen"), *cmd;
    ck_assert_int_ge(asprintf(&cmd, "%s %s", prog, args), 0);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char *out = NULL;
    size_t cap = 0, len = 0;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
        out = realloc(out, cap = len + n + 1);
        memcpy(out + len, chunk, n);
        len += n;
        out[len] = '\0';
    }
    ck_assert_int_eq(pclose(p), 0);
    free(cmd);
    free(prog);
    (void)cap;
    return out ? out : strdup("");
}

START_TEST(traffic_gen_is_deterministic)
{
    char *a = run_capture("--dry-run --rate 50 --duration 2 --fail-share 0.3 --seed 42");
    char *b = run_capture("--dry-run --rate 50 --duration 2 --fail-share 0.3 --seed 42");
    char *c = run_capture("--dry-run --rate 50 --duration 2 --fail-share 0.3 --seed 43");
    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, c);
    ck_assert_ptr_nonnull(strstr(a, "fail-pay"));
    ck_assert_ptr_nonnull(strstr(a, "slow-inv"));
    free(a), free(b), free(c);
    /* live: every fail-pay order fails with 502, the others succeed */
    char args[256];
    snprintf(args, sizeof(args),
             "--target %s --rate 20 --duration 1.5 --fail-share 0.4 --scenarios fail-pay --seed 5 --json",
             gateway.url);
    char *out = run_capture(args);
    json_t *s = json_loads(out, 0, NULL);
    ck_assert_msg(s != NULL, "%s", out);
    long sent = (long)json_integer_value(json_object_get(s, "sent"));
    long failing = (long)json_integer_value(json_object_get(json_object_get(s, "triggered"), "fail-pay"));
    ck_assert_int_eq(sent, 30);
    ck_assert_int_gt(failing, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(s, "status"), "502")), failing);
    ck_assert_int_eq(json_integer_value(json_object_get(s, "ok")), sent - failing);
    ck_assert(json_number_value(json_object_get(json_object_get(s, "latency_ms"), "p95")) > 0);
    json_decref(s);
    free(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fake_services");
    TCase *tc = tcase_create("chain");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, control_routes_only_with_fake_control);
    tcase_add_test(tc, chain_continues_one_trace);
    tcase_add_test(tc, fail_pay_db_timeout_in_java);
    tcase_add_test(tc, fail_inv_python_wrapped_in_java);
    tcase_add_test(tc, slow_inv_times_out_at_the_gateway);
    tcase_add_test(tc, faults_and_crash_loop);
    tcase_add_test(tc, network_delay_before_the_server_span);
    tcase_add_test(tc, change_events_reach_the_backend);
    tcase_add_test(tc, metrics_per_endpoint);
    tcase_add_test(tc, down_backend_costs_telemetry_not_requests);
    tcase_add_test(tc, traffic_gen_is_deterministic);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
