/* fake-service <gateway|payment|inventory>: simulated payment microservices that emit real telemetry
 * and fail on demand. gateway (8003) POST /orders → payment (8004) POST /charge → inventory (8002)
 * POST /reserve, over HTTP with W3C traceparent. Each request is served on a worker thread (outgoing
 * calls and injected delays never block an event loop). Failure triggers (docs/scenarios.md):
 *   order id containing "fail-pay": payment's database call times out (Java DbTimeoutException);
 *   "fail-inv": inventory throws OutOfStock (Python), payment wraps and re-raises (Java, Caused by);
 *   "slow-inv": inventory sleeps past the gateway's timeout.
 * Control: POST /control/fault {latency_ms, error_rate, crash_loop, duration_s},
 *          POST /control/network-delay {delay_ms, duration_s} (delay before the server span starts),
 *          POST /control/change {type, description, version} (records a change event at the backend).
 * GET /stats: requests, errors, telemetry sent and dropped. */
#include "alloc.h"
#include "buf.h"
#include "hexid.h"
#include "httpd.h"
#include "log.h"
#include "program.h"
#include "telemetry.h"
#include "workpool.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { ROLE_GATEWAY, ROLE_PAYMENT, ROLE_INVENTORY } role_t;
static const char *role_names[] = {"gateway", "payment", "inventory"};

#define LAT_SAMPLES 4096

typedef struct {
    role_t role;
    const char *service;
    int port;
    char downstream[256]; /* payment URL for the gateway, inventory URL for payment */
    int timeout_ms;       /* gateway's client timeout */
    telemetry_t *tel;
    workpool_t *pool;
    pthread_mutex_t lock; /* guards the fault settings and the request statistics below */
    long long fault_until_ms, delay_until_ms;
    int fault_latency_ms, fault_crash, delay_ms;
    double fault_error_rate;
    unsigned rng;
    long requests, errors;
    double lat[LAT_SAMPLES];
    int nlat;
    pthread_t metrics_tid;
    atomic_int stopping;
} svc_t;

/* ---------------- span helpers ---------------- */

typedef struct {
    char trace[33], span[17], parent[17];
    int64_t start;
    const char *name, *kind;
} span_t;

static void new_id(char *out, size_t bytes)
{
    unsigned char b[16];
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(b, 1, bytes, f) != bytes) {
        for (size_t i = 0; i < bytes; i++)
            b[i] = (unsigned char)(rand() & 0xff);
    }
    if (f) fclose(f);
    b[0] |= 1; /* never all zero */
    for (size_t i = 0; i < bytes; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static void span_begin(span_t *s, const char *trace, const char *parent, const char *name, const char *kind)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->trace, sizeof(s->trace), "%s", trace);
    new_id(s->span, 8);
    if (parent) snprintf(s->parent, sizeof(s->parent), "%s", parent);
    s->name = name;
    s->kind = kind;
    s->start = telemetry_now_ns();
}

static void span_end(svc_t *v, const span_t *s, int error, const char *message, const char *exc_type,
                     const char *exc_msg, const char *stack, json_t *attrs)
{
    int64_t end = telemetry_now_ns();
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "trace_id", s->trace, "span_id", s->span,
                          "service", v->service, "name", s->name, "kind", s->kind, "start_time",
                          (json_int_t)s->start, "end_time", (json_int_t)(end > s->start ? end : s->start),
                          "status", error ? "ERROR" : "OK");
    if (s->parent[0]) json_object_set_new(o, "parent_span_id", json_string(s->parent));
    if (message) json_object_set_new(o, "status_message", json_string(message));
    json_object_set_new(o, "attributes", attrs ? attrs : json_object());
    if (exc_type)
        json_object_set_new(o, "events",
                            json_pack("[{s:s,s:I,s:{s:s,s:s,s:s}}]", "name", "exception", "time",
                                      (json_int_t)end, "attributes", "exception.type", exc_type,
                                      "exception.message", exc_msg, "exception.stacktrace",
                                      stack ? stack : ""));
    telemetry_span(v->tel, o);
}

static void emit_log(svc_t *v, const span_t *s, const char *level, const char *msg, const char *stack)
{
    json_t *o =
        json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "timestamp", (json_int_t)telemetry_now_ns(), "service",
                  v->service, "level", level, "message", msg, "trace_id", s->trace, "span_id", s->span);
    if (stack) json_object_set_new(o, "stack_trace", json_string(stack));
    telemetry_log(v->tel, o);
}

/* ---------------- outgoing call ---------------- */

static size_t collect(char *p, size_t s, size_t n, void *ud)
{
    buf_append(ud, p, s * n);
    return s * n;
}

/* POSTs body to url with traceparent; returns HTTP status, 0 on transport error, -1 on timeout. */
static long call(const char *url, const char *trace, const char *parent_span, const char *body,
                 int timeout_ms)
{
    CURL *c = curl_easy_init();
    char tp[56], hdr[80];
    traceparent_format(trace, parent_span, tp);
    snprintf(hdr, sizeof(hdr), "traceparent: %s", tp);
    struct curl_slist *h = curl_slist_append(NULL, hdr);
    h = curl_slist_append(h, "Content-Type: application/json");
    buf_t out;
    buf_init(&out, 1 << 20);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    buf_dispose(&out);
    if (rc == CURLE_OPERATION_TIMEDOUT) return -1;
    return rc == CURLE_OK ? status : 0;
}

/* ---------------- stack traces in three languages ---------------- */

static const char java_db_timeout[] =
    "com.acme.payment.DbTimeoutException: database timeout after 3000 ms (charge %s)\n"
    "\tat com.acme.payment.ChargeRepository.save(ChargeRepository.java:88)\n"
    "\tat com.acme.payment.ChargeService.charge(ChargeService.java:41)\n"
    "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:897)\n";
static const char java_wrapped[] =
    "com.acme.payment.PaymentException: could not reserve stock for %s\n"
    "\tat com.acme.payment.ChargeService.reserve(ChargeService.java:63)\n"
    "\tat com.acme.payment.ChargeService.charge(ChargeService.java:39)\n"
    "Caused by: com.acme.inventory.OutOfStockException: inventory answered 409 out of stock\n"
    "\tat com.acme.payment.InventoryClient.reserve(InventoryClient.java:52)\n"
    "\t... 2 more\n";
static const char python_oos[] = "Traceback (most recent call last):\n"
                                 "  File \"/app/inventory/api.py\", line 31, in post_reserve\n"
                                 "    stock.reserve(order_id, items)\n"
                                 "  File \"/app/inventory/stock.py\", line 57, in reserve\n"
                                 "    raise OutOfStock(sku)\n"
                                 "inventory.errors.OutOfStock: sku-4711 has 0 left (order %s)\n";
static const char go_timeout[] = "panic: upstream payment timed out after %d ms (order %s)\n\n"
                                 "goroutine 57 [running]:\n"
                                 "main.(*Gateway).placeOrder(0xc0000a4000, 0xc000128000)\n"
                                 "\t/app/gateway/orders.go:74 +0x1d4\n"
                                 "net/http.HandlerFunc.ServeHTTP(0xc0000b2000)\n"
                                 "\t/usr/local/go/src/net/http/server.go:2136 +0x29\n";
static const char go_upstream[] = "panic: payment answered %ld (order %s)\n\n"
                                  "goroutine 58 [running]:\n"
                                  "main.(*Gateway).placeOrder(0xc0000a4000, 0xc000128000)\n"
                                  "\t/app/gateway/orders.go:81 +0x2a1\n";

/* ---------------- request handling ---------------- */

typedef struct {
    httpd_job_t super;
    svc_t *v;
    char trace[33], parent[17];
    char order[128];
    char *body;
    int status;
    char reply[512];
} req_job_t;

static int active(long long until)
{
    return until > now_ms();
}

static double rnd01(svc_t *v)
{
    return (double)(rand_r(&v->rng) % 10000) / 10000.0;
}

static void record(svc_t *v, double ms, int error)
{
    pthread_mutex_lock(&v->lock);
    v->requests++;
    v->errors += error;
    v->lat[v->nlat++ % LAT_SAMPLES] = ms;
    pthread_mutex_unlock(&v->lock);
}

static void serve(httpd_job_t *hjob, worker_t *w)
{
    (void)w;
    req_job_t *j = (req_job_t *)hjob;
    svc_t *v = j->v;
    pthread_mutex_lock(&v->lock);
    int delay = active(v->delay_until_ms) ? v->delay_ms : 0;
    int latency = active(v->fault_until_ms) ? v->fault_latency_ms : 0;
    double err_rate = active(v->fault_until_ms) ? v->fault_error_rate : 0;
    int crash = active(v->fault_until_ms) && v->fault_crash;
    pthread_mutex_unlock(&v->lock);
    if (crash) {
        j->status = 503;
        snprintf(j->reply, sizeof(j->reply), "{\"error\":\"restarting (crash loop)\"}");
        httpd_job_finish(hjob);
        return;
    }
    if (delay) usleep((useconds_t)delay * 1000); /* network delay: before our server span starts */
    int64_t t0 = telemetry_now_ns();
    static const char *server_names[] = {"POST /orders", "POST /charge", "POST /reserve"};
    span_t server;
    span_begin(&server, j->trace, j->parent[0] ? j->parent : NULL, server_names[v->role], "SERVER");
    if (latency) usleep((useconds_t)latency * 1000);
    int error = 0;
    char msg[512], stack[2048];
    const char *exc = NULL;
    char body[256];
    snprintf(body, sizeof(body), "{\"order_id\":\"%s\"}", j->order);
    if (!error && err_rate > 0 && rnd01(v) < err_rate) {
        error = 1;
        j->status = 500;
        snprintf(msg, sizeof(msg), "injected error");
        emit_log(v, &server, "ERROR", "injected error (fault injection)", NULL);
    }
    if (!error && v->role == ROLE_GATEWAY) {
        span_t client;
        span_begin(&client, j->trace, server.span, "POST payment /charge", "CLIENT");
        char url[300];
        snprintf(url, sizeof(url), "%s/charge", v->downstream);
        long st = call(url, j->trace, client.span, body, v->timeout_ms);
        if (st != 200) {
            error = 1;
            j->status = st == -1 ? 504 : 502;
            if (st == -1) {
                snprintf(msg, sizeof(msg), "payment timed out after %d ms", v->timeout_ms);
                snprintf(stack, sizeof(stack), go_timeout, v->timeout_ms, j->order);
            } else {
                snprintf(msg, sizeof(msg), "payment answered %ld", st);
                snprintf(stack, sizeof(stack), go_upstream, st, j->order);
            }
            span_end(v, &client, 1, msg, NULL, NULL, NULL,
                     json_pack("{s:I}", "http.status_code", (json_int_t)st));
            emit_log(v, &server, "ERROR", msg, stack);
        } else {
            span_end(v, &client, 0, NULL, NULL, NULL, NULL, json_pack("{s:i}", "http.status_code", 200));
        }
    } else if (!error && v->role == ROLE_PAYMENT) {
        span_t validate;
        span_begin(&validate, j->trace, server.span, "validate card", "INTERNAL");
        span_end(v, &validate, 0, NULL, NULL, NULL, NULL, NULL);
        span_t client;
        span_begin(&client, j->trace, server.span, "POST inventory /reserve", "CLIENT");
        char url[300];
        snprintf(url, sizeof(url), "%s/reserve", v->downstream);
        long st = call(url, j->trace, client.span, body, 10000);
        if (st != 200) {
            error = 1;
            j->status = 500;
            snprintf(msg, sizeof(msg), "inventory answered %ld", st);
            span_end(v, &client, 1, msg, NULL, NULL, NULL,
                     json_pack("{s:I}", "http.status_code", (json_int_t)st));
            snprintf(stack, sizeof(stack), java_wrapped, j->order);
            exc = "com.acme.payment.PaymentException";
            emit_log(v, &server, "ERROR", "charge failed: could not reserve stock", stack);
        } else {
            span_end(v, &client, 0, NULL, NULL, NULL, NULL, NULL);
            span_t db;
            span_begin(&db, j->trace, server.span, "db.query charge", "CLIENT");
            if (strstr(j->order, "fail-pay")) {
                usleep(300 * 1000);
                error = 1;
                j->status = 500;
                snprintf(msg, sizeof(msg), "database timeout after 3000 ms");
                snprintf(stack, sizeof(stack), java_db_timeout, j->order);
                span_end(v, &db, 1, msg, "com.acme.payment.DbTimeoutException", msg, stack,
                         json_pack("{s:s,s:s}", "db.system", "postgresql", "db.statement",
                                   "INSERT INTO charges ..."));
                emit_log(v, &db, "ERROR", "charge failed: database timeout", stack);
            } else {
                usleep(5 * 1000);
                span_end(v, &db, 0, NULL, NULL, NULL, NULL, json_pack("{s:s}", "db.system", "postgresql"));
            }
        }
    } else if (!error && v->role == ROLE_INVENTORY) {
        span_t sel;
        span_begin(&sel, j->trace, server.span, "SELECT stock", "INTERNAL");
        if (strstr(j->order, "slow-inv")) usleep(2500 * 1000);
        if (strstr(j->order, "fail-inv")) {
            error = 1;
            j->status = 409;
            snprintf(msg, sizeof(msg), "out of stock");
            snprintf(stack, sizeof(stack), python_oos, j->order);
            span_end(v, &sel, 1, msg, "inventory.errors.OutOfStock", "sku-4711 has 0 left", stack, NULL);
            emit_log(v, &sel, "ERROR", "reserve failed: OutOfStock", stack);
        } else {
            usleep(2 * 1000);
            span_end(v, &sel, 0, NULL, NULL, NULL, NULL, NULL);
        }
    }
    if (!error) {
        j->status = 200;
        snprintf(j->reply, sizeof(j->reply), "{\"status\":\"ok\",\"order_id\":\"%s\",\"trace_id\":\"%s\"}",
                 j->order, j->trace);
        emit_log(v, &server, "INFO", "request handled", NULL);
    } else {
        snprintf(j->reply, sizeof(j->reply), "{\"error\":\"%.400s\",\"trace_id\":\"%s\"}", msg, j->trace);
    }
    span_end(v, &server, error, error ? msg : NULL, exc, exc ? msg : NULL, exc ? stack : NULL,
             json_pack("{s:s,s:i}", "order.id", j->order, "http.status_code", j->status));
    record(v, (double)(telemetry_now_ns() - t0) / 1e6, error);
    httpd_job_finish(hjob);
}

static void served(httpd_job_t *hjob, h2o_req_t *req)
{
    req_job_t *j = (req_job_t *)hjob;
    if (req) httpd_send_text(req, j->status, "application/json", j->reply, strlen(j->reply));
    free(j->body);
    free(j);
}

static int on_request(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    svc_t *v = ctx;
    req_job_t *j = xcalloc(1, sizeof(*j));
    j->v = v;
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("traceparent"), -1);
    int sampled;
    if (i < 0 || traceparent_parse(req->headers.entries[i].value.base, req->headers.entries[i].value.len,
                                   j->trace, j->parent, &sampled) != 0) {
        new_id(j->trace, 16);
        j->parent[0] = '\0';
    }
    json_t *b = json_loadb(req->entity.base, req->entity.len, 0, NULL);
    const char *order = json_string_value(json_object_get(b, "order_id"));
    snprintf(j->order, sizeof(j->order), "%s", order ? order : "ord-anonymous");
    json_decref(b);
    httpd_job_attach(&j->super, req, m->request_id, served);
    workpool_submit(v->pool, &j->super, serve);
    return 0;
}

static int on_fault(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)m;
    svc_t *v = ctx;
    json_t *b = json_loadb(req->entity.base, req->entity.len, 0, NULL);
    int dur = (int)json_integer_value(json_object_get(b, "duration_s"));
    pthread_mutex_lock(&v->lock);
    v->fault_latency_ms = (int)json_integer_value(json_object_get(b, "latency_ms"));
    v->fault_error_rate = json_number_value(json_object_get(b, "error_rate"));
    v->fault_crash = json_is_true(json_object_get(b, "crash_loop"));
    v->fault_until_ms = now_ms() + (dur > 0 ? dur : 60) * 1000LL;
    pthread_mutex_unlock(&v->lock);
    json_decref(b);
    httpd_send_json(req, 200, json_pack("{s:s,s:i}", "fault", "set", "duration_s", dur > 0 ? dur : 60));
    return 0;
}

static int on_delay(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)m;
    svc_t *v = ctx;
    json_t *b = json_loadb(req->entity.base, req->entity.len, 0, NULL);
    int dur = (int)json_integer_value(json_object_get(b, "duration_s"));
    pthread_mutex_lock(&v->lock);
    v->delay_ms = (int)json_integer_value(json_object_get(b, "delay_ms"));
    v->delay_until_ms = now_ms() + (dur > 0 ? dur : 60) * 1000LL;
    pthread_mutex_unlock(&v->lock);
    json_decref(b);
    httpd_send_json(req, 200, json_pack("{s:s}", "network_delay", "set"));
    return 0;
}

static int on_change(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)m;
    svc_t *v = ctx;
    json_t *b = json_loadb(req->entity.base, req->entity.len, 0, NULL);
    const char *type = json_string_value(json_object_get(b, "type"));
    const char *desc = json_string_value(json_object_get(b, "description"));
    const char *version = json_string_value(json_object_get(b, "version"));
    json_t *ev = json_pack("{s:I,s:s,s:s,s:s,s:{s:s?}}", "timestamp", (json_int_t)telemetry_now_ns(),
                           "service", v->service, "type", type ? type : "deploy", "description",
                           desc ? desc : (version ? version : "change"), "meta", "version", version);
    json_decref(b);
    /* a short blocking call on the loop thread is acceptable for this rare control endpoint */
    int rc = telemetry_event_now(v->tel, ev);
    httpd_send_json(req, rc == 0 ? 200 : 502, json_pack("{s:b}", "recorded", rc == 0));
    return 0;
}

static int on_stats(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)m;
    svc_t *v = ctx;
    telemetry_stats_t t;
    telemetry_get_stats(v->tel, &t);
    pthread_mutex_lock(&v->lock);
    json_t *o = json_pack("{s:s,s:I,s:I,s:{s:I,s:I,s:I},s:{s:I,s:I,s:I}}", "service", v->service, "requests",
                          (json_int_t)v->requests, "errors", (json_int_t)v->errors, "telemetry_sent", "spans",
                          (json_int_t)t.sent[0], "logs", (json_int_t)t.sent[1], "metrics",
                          (json_int_t)t.sent[2], "telemetry_dropped", "spans", (json_int_t)t.dropped[0],
                          "logs", (json_int_t)t.dropped[1], "metrics", (json_int_t)t.dropped[2]);
    pthread_mutex_unlock(&v->lock);
    httpd_send_json(req, 200, o);
    return 0;
}

static int on_health(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)m;
    svc_t *v = ctx;
    httpd_send_json(req, 200, json_pack("{s:s,s:s}", "status", "ok", "service", v->service));
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Every 5 s: request rate, error rate and p95 latency of the window. */
static void *metrics_main(void *arg)
{
    svc_t *v = arg;
    static const char *endpoints[] = {"/orders", "/charge", "/reserve"};
    while (!atomic_load(&v->stopping)) {
        for (int i = 0; i < 50 && !atomic_load(&v->stopping); i++)
            usleep(100 * 1000);
        pthread_mutex_lock(&v->lock);
        long req = v->requests, err = v->errors;
        int n = v->nlat < LAT_SAMPLES ? v->nlat : LAT_SAMPLES;
        double *lat = xmalloc((size_t)(n ? n : 1) * sizeof(double));
        memcpy(lat, v->lat, (size_t)n * sizeof(double));
        v->requests = v->errors = 0;
        v->nlat = 0;
        pthread_mutex_unlock(&v->lock);
        if (n > 1) qsort(lat, (size_t)n, sizeof(double), cmp_d);
        double p95 = n ? lat[(int)((n - 1) * 0.95)] : 0;
        free(lat);
        json_int_t ts = (json_int_t)telemetry_now_ns();
        const char *ep = endpoints[v->role];
        telemetry_metric(v->tel,
                         json_pack("{s:I,s:s,s:s,s:f,s:{s:s}}", "timestamp", ts, "service", v->service,
                                   "name", "requests_per_s", (double)req / 5.0, "labels", "endpoint", ep));
        telemetry_metric(v->tel, json_pack("{s:I,s:s,s:s,s:f,s:{s:s}}", "timestamp", ts, "service",
                                           v->service, "name", "error_rate",
                                           req ? (double)err / (double)req : 0.0, "labels", "endpoint", ep));
        if (n)
            telemetry_metric(v->tel,
                             json_pack("{s:I,s:s,s:s,s:f,s:{s:s}}", "timestamp", ts, "service", v->service,
                                       "name", "p95_latency_ms", p95, "labels", "endpoint", ep));
    }
    return NULL;
}

static int env_int(const char *name, int def)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}

int main(int argc, char **argv)
{
    const char *role_arg = argc >= 2 ? argv[1] : getenv("FAKE_SERVICE_ROLE");
    if (role_arg == NULL || !strcmp(role_arg, "--help")) {
        printf(
            "usage: fake-service gateway|payment|inventory   (or FAKE_SERVICE_ROLE)\n"
            "  BACKEND_URL (http://127.0.0.1:8000), INGEST_API_KEY, GATEWAY_PORT 8003, PAYMENT_PORT 8004,\n"
            "  INVENTORY_PORT 8002, PAYMENT_URL, INVENTORY_URL, GATEWAY_TIMEOUT_MS 1000\n"
            "Triggers: order ids with fail-pay, fail-inv, slow-inv. See docs/scenarios.md.\n");
        return role_arg == NULL ? 2 : 0;
    }
    svc_t v;
    memset(&v, 0, sizeof(v));
    int r;
    for (r = 0; r < 3 && strcmp(role_arg, role_names[r]); r++)
        ;
    if (r == 3) {
        fprintf(stderr, "fake-service: unknown role %s\n", role_arg);
        return 2;
    }
    v.role = (role_t)r;
    v.service = role_names[r];
    log_setup(v.service, LOG_INFO);
    static const char *port_vars[] = {"GATEWAY_PORT", "PAYMENT_PORT", "INVENTORY_PORT"};
    static const int ports[] = {8003, 8004, 8002};
    v.port = env_int(port_vars[r], ports[r]);
    v.timeout_ms = env_int("GATEWAY_TIMEOUT_MS", 1000);
    const char *down = r == ROLE_GATEWAY ? getenv("PAYMENT_URL") : getenv("INVENTORY_URL");
    snprintf(v.downstream, sizeof(v.downstream), "%s",
             down ? down : (r == ROLE_GATEWAY ? "http://127.0.0.1:8004" : "http://127.0.0.1:8002"));
    v.rng = (unsigned)getpid();
    pthread_mutex_init(&v.lock, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    program_block_signals();
    const char *backend = getenv("BACKEND_URL");
    v.tel =
        telemetry_start(backend && *backend ? backend : "http://127.0.0.1:8000", getenv("INGEST_API_KEY"));
    v.pool = workpool_create(16, NULL, NULL, &v);
    httpd_opts_t o = {.program = v.service, .port = v.port, .threads = 1, .max_body_bytes = 1 << 20};
    httpd_t *h = httpd_create(&o);
    static const char *paths[] = {"/orders", "/charge", "/reserve"};
    httpd_route(h, "POST", paths[r], NULL, on_request, &v);
    httpd_route(h, "POST", "/control/fault", NULL, on_fault, &v);
    httpd_route(h, "POST", "/control/network-delay", NULL, on_delay, &v);
    httpd_route(h, "POST", "/control/change", NULL, on_change, &v);
    httpd_route(h, "GET", "/stats", NULL, on_stats, &v);
    httpd_route(h, "GET", "/health", NULL, on_health, &v);
    char err[256];
    if (httpd_start(h, err, sizeof(err)) != 0) {
        log_error("cannot start: %s", err);
        return 1;
    }
    pthread_create(&v.metrics_tid, NULL, metrics_main, &v);
    log_info("%s listening on port %d", v.service, v.port);
    program_wait_signal();
    atomic_store(&v.stopping, 1);
    httpd_stop(h);
    pthread_join(v.metrics_tid, NULL);
    workpool_free(v.pool);
    telemetry_stop(v.tel);
    httpd_free(h);
    curl_global_cleanup();
    return 0;
}
