/* fake-service <gateway|payment|inventory>: simulated payment microservices that emit real telemetry
 * and fail on demand (docs/scenarios.md). gateway (8003) POST /orders → payment (8004) POST /charge →
 * inventory (8002) POST /reserve, over HTTP with W3C traceparent. This file is the HTTP side: request
 * validation on the loop thread, the work itself on pool threads (service_flow.c; outgoing calls and
 * injected delays never block the event loop), the control endpoints, GET /stats, the metrics thread
 * and main. */
#include "alloc.h"
#include "fake_env.h"
#include "hexid.h"
#include "log.h"
#include "program.h"
#include "service.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define MAX_BODY_BYTES (256 * 1024)
#define MAX_ITEMS 100
#define MAX_AMOUNT 1e9
#define DRAIN_MS 5000

static const char *const role_names[ROLE_COUNT] = {"gateway", "payment", "inventory"};
static const char *const role_paths[ROLE_COUNT] = {"/orders", "/charge", "/reserve"};
static const char *const change_types[] = {"deploy", "config", "flag", "migration"};

/* ---------------- orders ---------------- */

static int order_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ORDER_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.' || c == ':'))
            return 0;
    }
    return 1;
}

/* {"order_id":"...","amount":N?,"items":[...]?} into r. Returns 0, or -1 with the bad field in path and
 * the reason in err. */
static int parse_order(const h2o_req_t *req, svc_request_t *r, const char **path, char *err, size_t errlen)
{
    json_t *o = json_loadb(req->entity.base, req->entity.len, 0, NULL);
    const char *id = json_string_value(json_object_get(o, "order_id"));
    json_t *amount = json_object_get(o, "amount"), *items = json_object_get(o, "items");
    *path = NULL;
    if (!json_is_object(o)) {
        snprintf(err, errlen, "body: expected a JSON object");
    } else if (id == NULL || !order_id_ok(id)) {
        *path = "order_id";
        snprintf(err, errlen, "order_id: expected 1..%d characters of A-Z a-z 0-9 - _ . :", ORDER_ID_MAX);
    } else if (amount && (!json_is_number(amount) || !(json_number_value(amount) >= 0) ||
                          json_number_value(amount) > MAX_AMOUNT)) {
        *path = "amount";
        snprintf(err, errlen, "amount: expected a number in 0..%.0f", MAX_AMOUNT);
    } else if (items && (!json_is_array(items) || json_array_size(items) > MAX_ITEMS)) {
        *path = "items";
        snprintf(err, errlen, "items: expected an array of at most %d items", MAX_ITEMS);
    } else {
        snprintf(r->order_id, sizeof(r->order_id), "%s", id);
        r->payload = o;
        return 0;
    }
    json_decref(o);
    return -1;
}

static void send_unavailable(svc_t *v, h2o_req_t *req, const char *code, const char *message)
{
    atomic_fetch_add(&v->rejected, 1);
    httpd_add_header(req, "Retry-After", "1");
    httpd_send_error(req, 503, code, message, NULL);
}

static void served(httpd_job_t *job, h2o_req_t *req)
{
    svc_request_t *r = (svc_request_t *)job;
    if (req) { /* NULL when the caller gave up (e.g. the gateway's client timeout) */
        httpd_add_header(req, "X-Trace-Id", r->trace_id);
        if (r->reply)
            httpd_send_text(req, r->status, "application/json", r->reply, strlen(r->reply));
        else
            httpd_send_error(req, 500, "internal", "no answer", NULL);
    }
    atomic_fetch_sub(&r->svc->in_flight, 1);
    json_decref(r->payload);
    free(r->reply);
    free(r);
}

static int on_order(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    svc_t *v = ctx;
    faults_now_t faults;
    faults_get(&v->faults, &faults);
    if (faults.crash_loop) { /* the process is "restarting": no work, no telemetry */
        send_unavailable(v, req, "restarting", "service restarting (crash loop)");
        return 0;
    }
    if (atomic_load(&v->draining)) {
        send_unavailable(v, req, "shutting_down", "service shutting down");
        return 0;
    }
    if (atomic_load(&v->in_flight) >= v->conf.max_in_flight) {
        send_unavailable(v, req, "overloaded", "too many requests in flight");
        return 0;
    }
    svc_request_t *r = xcalloc(1, sizeof(*r));
    r->svc = v;
    r->faults = faults;
    const char *path;
    char err[200];
    if (parse_order(req, r, &path, err, sizeof(err)) != 0) {
        free(r);
        httpd_send_error(req, 400, "invalid", err, path);
        return 0;
    }
    /* continue the caller's trace, or start one */
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("traceparent"), -1);
    int sampled;
    if (i < 0 || traceparent_parse(req->headers.entries[i].value.base, req->headers.entries[i].value.len,
                                   r->trace_id, r->parent_id, &sampled) != 0) {
        span_new_id(r->trace_id, SPAN_TRACE_ID_LEN / 2);
        r->parent_id[0] = '\0';
    }
    atomic_fetch_add(&v->in_flight, 1);
    httpd_job_attach(&r->super, req, m->request_id, served);
    workpool_submit(v->pool, &r->super, svc_flow_run);
    return 0;
}

/* ---------------- control ---------------- */

static int on_fault(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)m;
    svc_t *v = ctx;
    fault_spec_t spec;
    char err[200];
    if (faults_parse_fault(req->entity.base, req->entity.len, &spec, err, sizeof(err)) != 0) {
        httpd_send_error(req, 400, "invalid", err, NULL);
        return 0;
    }
    faults_set_fault(&v->faults, &spec);
    log_info("fault set: latency %d ms, error rate %.2f, crash loop %s, for %d s", spec.latency_ms,
             spec.error_rate, spec.crash_loop ? "on" : "off", spec.duration_s);
    if (spec.crash_loop) svc_flow_crash_log(v);
    faults_now_t now;
    faults_get(&v->faults, &now);
    httpd_send_json(req, 200,
                    json_pack("{s:s,s:o}", "service", v->conf.service, "faults", faults_to_json(&now)));
    return 0;
}

static int on_delay(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)m;
    svc_t *v = ctx;
    delay_spec_t spec;
    char err[200];
    if (faults_parse_delay(req->entity.base, req->entity.len, &spec, err, sizeof(err)) != 0) {
        httpd_send_error(req, 400, "invalid", err, NULL);
        return 0;
    }
    faults_set_delay(&v->faults, &spec);
    log_info("network delay set: %d ms for %d s", spec.delay_ms, spec.duration_s);
    faults_now_t now;
    faults_get(&v->faults, &now);
    httpd_send_json(req, 200,
                    json_pack("{s:s,s:o}", "service", v->conf.service, "faults", faults_to_json(&now)));
    return 0;
}

static int on_reset(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)m;
    svc_t *v = ctx;
    faults_reset(&v->faults);
    faults_now_t now;
    faults_get(&v->faults, &now);
    httpd_send_json(req, 200,
                    json_pack("{s:s,s:o}", "service", v->conf.service, "faults", faults_to_json(&now)));
    return 0;
}

typedef struct {
    httpd_job_t super;
    svc_t *v;
    json_t *event; /* owned */
    int recorded;
    char err[300];
} change_job_t;

/* Builds the change event of {"type","description"?,"version"?,"meta"?}. Returns it (new reference), or
 * NULL with the bad field in path and the reason in err. */
static json_t *parse_change(const svc_t *v, const h2o_req_t *req, const char **path, char *err, size_t errlen)
{
    json_t *o = json_loadb(req->entity.base, req->entity.len, 0, NULL), *ev = NULL;
    const char *type = json_string_value(json_object_get(o, "type"));
    json_t *desc = json_object_get(o, "description"), *version = json_object_get(o, "version");
    json_t *meta = json_object_get(o, "meta");
    size_t t = 0;
    while (type && t < sizeof(change_types) / sizeof(*change_types) && strcmp(type, change_types[t]))
        t++;
    *path = NULL;
    if (!json_is_object(o)) {
        snprintf(err, errlen, "body: expected a JSON object");
    } else if (!type || t == sizeof(change_types) / sizeof(*change_types)) {
        *path = "type";
        snprintf(err, errlen, "type: expected deploy, config, flag or migration");
    } else if (desc && (!json_is_string(desc) || json_string_length(desc) > 1000)) {
        *path = "description";
        snprintf(err, errlen, "description: expected a string of at most 1000 bytes");
    } else if (version && (!json_is_string(version) || json_string_length(version) > 100)) {
        *path = "version";
        snprintf(err, errlen, "version: expected a string of at most 100 bytes");
    } else if (meta && !json_is_object(meta)) {
        *path = "meta";
        snprintf(err, errlen, "meta: expected an object");
    } else {
        char text[1200];
        if (desc)
            snprintf(text, sizeof(text), "%s", json_string_value(desc));
        else
            snprintf(text, sizeof(text), "%s of %s%s%s", type, v->conf.service, version ? " " : "",
                     version ? json_string_value(version) : "");
        json_t *m2 = meta ? json_deep_copy(meta) : json_object();
        if (version) json_object_set(m2, "version", version);
        json_object_set_new(m2, "source", json_string("fake-service /control/change"));
        ev = json_pack("{s:I,s:s,s:s,s:s,s:o}", "timestamp", (json_int_t)span_now_ns(), "service",
                       v->conf.service, "type", type, "description", text, "meta", m2);
    }
    json_decref(o);
    return ev;
}

static void change_run(httpd_job_t *job, worker_t *w)
{
    (void)w;
    change_job_t *j = (change_job_t *)job;
    j->recorded = telemetry_send_event(j->v->tel, json_incref(j->event), j->err, sizeof(j->err)) == 0;
    httpd_job_finish(job);
}

static void change_done(httpd_job_t *job, h2o_req_t *req)
{
    change_job_t *j = (change_job_t *)job;
    if (req && j->recorded) {
        httpd_send_json(req, 200, json_pack("{s:b,s:O}", "recorded", 1, "event", j->event));
    } else if (req) {
        char message[400];
        snprintf(message, sizeof(message), "the backend did not record the event: %s", j->err);
        httpd_send_error(req, 502, "backend_unavailable", message, NULL);
    }
    json_decref(j->event);
    free(j);
}

/* POST /control/change: records a change event for this service at the backend; the POST to the
 * backend runs on a pool thread. */
static int on_change(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    svc_t *v = ctx;
    const char *path;
    char err[200];
    json_t *ev = parse_change(v, req, &path, err, sizeof(err));
    if (ev == NULL) {
        httpd_send_error(req, 400, "invalid", err, path);
        return 0;
    }
    change_job_t *j = xcalloc(1, sizeof(*j));
    j->v = v;
    j->event = ev;
    httpd_job_attach(&j->super, req, m->request_id, change_done);
    workpool_submit(v->pool, &j->super, change_run);
    return 0;
}

/* ---------------- stats and health ---------------- */

static json_t *per_kind(const unsigned long *counts)
{
    json_t *o = json_object();
    for (int k = 0; k < TEL_KINDS; k++)
        json_object_set_new(o, telemetry_kind_name((tel_kind_t)k), json_integer((json_int_t)counts[k]));
    return o;
}

static int on_stats(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)m;
    svc_t *v = ctx;
    telemetry_stats_t t;
    telemetry_get_stats(v->tel, &t);
    long requests, errors;
    reqstats_totals(&v->stats, &requests, &errors);
    faults_now_t now;
    faults_get(&v->faults, &now);
    httpd_send_json(req, 200,
                    json_pack("{s:s,s:I,s:I,s:I,s:i,s:o,s:o,s:o,s:I,s:o}", "service", v->conf.service,
                              "requests", (json_int_t)requests, "errors", (json_int_t)errors, "rejected",
                              (json_int_t)atomic_load(&v->rejected), "in_flight", atomic_load(&v->in_flight),
                              "telemetry_sent", per_kind(t.sent), "telemetry_dropped", per_kind(t.dropped),
                              "telemetry_queued", per_kind(t.queued), "telemetry_failed_posts",
                              (json_int_t)t.failed_posts, "faults", faults_to_json(&now)));
    return 0;
}

static int on_health(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)m;
    svc_t *v = ctx;
    httpd_send_json(req, 200, json_pack("{s:s,s:s}", "status", "ok", "service", v->conf.service));
    return 0;
}

/* ---------------- metrics ---------------- */

typedef struct {
    svc_t *v;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    pthread_t tid;
} metrics_thread_t;

static void metric(svc_t *v, json_int_t ts, const char *name, double value)
{
    telemetry_record(v->tel, TEL_METRICS,
                     json_pack("{s:I,s:s,s:s,s:f,s:{s:s}}", "timestamp", ts, "service", v->conf.service,
                               "name", name, "value", value, "labels", "endpoint",
                               svc_server_span[v->conf.role]));
}

/* requests_per_s, error_rate and p95_latency_ms of the last window; nothing while crash-looping (a
 * restarting process reports nothing). */
static void emit_metrics(svc_t *v)
{
    reqstats_window_t w;
    reqstats_take(&v->stats, &w);
    faults_now_t now;
    faults_get(&v->faults, &now);
    if (now.crash_loop) return;
    json_int_t ts = (json_int_t)span_now_ns();
    metric(v, ts, "requests_per_s", (double)w.requests * 1000.0 / v->conf.metrics_interval_ms);
    metric(v, ts, "error_rate", w.requests ? (double)w.errors / (double)w.requests : 0.0);
    if (w.have_latency) metric(v, ts, "p95_latency_ms", w.p95_ms);
}

static void *metrics_main(void *arg)
{
    metrics_thread_t *mt = arg;
    pthread_mutex_lock(&mt->lock);
    while (!mt->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        long long ns = until.tv_nsec + (long long)mt->v->conf.metrics_interval_ms * 1000000;
        until.tv_sec += (time_t)(ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        while (!mt->stopping && pthread_cond_timedwait(&mt->wake, &mt->lock, &until) == 0)
            ;
        if (mt->stopping) break;
        pthread_mutex_unlock(&mt->lock);
        emit_metrics(mt->v);
        pthread_mutex_lock(&mt->lock);
    }
    pthread_mutex_unlock(&mt->lock);
    return NULL;
}

static void metrics_start(metrics_thread_t *mt, svc_t *v)
{
    memset(mt, 0, sizeof(*mt));
    mt->v = v;
    pthread_mutex_init(&mt->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&mt->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_create(&mt->tid, NULL, metrics_main, mt);
}

static void metrics_stop(metrics_thread_t *mt)
{
    pthread_mutex_lock(&mt->lock);
    mt->stopping = 1;
    pthread_cond_signal(&mt->wake);
    pthread_mutex_unlock(&mt->lock);
    pthread_join(mt->tid, NULL);
    pthread_mutex_destroy(&mt->lock);
    pthread_cond_destroy(&mt->wake);
}

/* ---------------- main ---------------- */

static const fake_env_var_t env_vars[] = {
    {"FAKE_SERVICE_ROLE", NULL, "gateway, payment or inventory, when not given as the first argument"},
    {"GATEWAY_PORT", "8003", "gateway's HTTP port"},
    {"PAYMENT_PORT", "8004", "payment's HTTP port"},
    {"INVENTORY_PORT", "8002", "inventory's HTTP port"},
    {"PAYMENT_URL", "http://127.0.0.1:8004", "where the gateway calls payment"},
    {"INVENTORY_URL", "http://127.0.0.1:8002", "where payment calls inventory"},
    {"GATEWAY_TIMEOUT_MS", "1000", "gateway's client timeout for payment (slow-inv runs into it)"},
    {"PAYMENT_TIMEOUT_MS", "5000", "payment's client timeout for inventory"},
    {"PAYMENT_DB_TIMEOUT_MS", "250", "payment's statement timeout, hit by fail-pay orders"},
    {"INVENTORY_SLOW_MS", "2500", "how long inventory's SELECT stock takes for slow-inv orders"},
    {"INGEST_API_KEY", NULL, "key for the backend's ingest API (Authorization: Bearer)"},
    {"METRICS_INTERVAL_MS", "5000", "period of requests_per_s, error_rate and p95_latency_ms"},
    {"TELEMETRY_FLUSH_MS", "1000", "telemetry is sent at least this often (or per 500 records)"},
    {"FAKE_WORKERS", "32", "threads doing the requests' work (outgoing calls, injected delays)"},
    {"FAKE_MAX_IN_FLIGHT", "512", "requests in progress before answering 503 overloaded"},
    {"FAKE_CONTROL", "0",
     "1 adds the unauthenticated /control/* routes that inject faults (tests and scripts/up's demo only)"},
};

static void usage(FILE *out)
{
    fprintf(out,
            "fake-service: a simulated payment microservice (gateway, payment or inventory) for tests and\n"
            "local runs. Order ids containing fail-pay, fail-inv or slow-inv fail on purpose; see\n"
            "docs/scenarios.md.\n\n");
    fake_env_print_help(out, "fake-service <gateway|payment|inventory>", env_vars,
                        sizeof(env_vars) / sizeof(*env_vars));
}

/* Reads the role's variables into c. Returns 0, or -1 with one line in err. */
static int load_conf(role_t role, svc_conf_t *c, char *err, size_t errlen)
{
    static const char *const port_vars[ROLE_COUNT] = {"GATEWAY_PORT", "PAYMENT_PORT", "INVENTORY_PORT"};
    static const int default_ports[ROLE_COUNT] = {8003, 8004, 8002};
    memset(c, 0, sizeof(*c));
    c->role = role;
    c->service = role_names[role];
    if (fake_env_int(port_vars[role], default_ports[role], 1, 65535, &c->port, err, errlen) != 0 ||
        fake_env_int("PAYMENT_DB_TIMEOUT_MS", 250, 1, 60000, &c->db_timeout_ms, err, errlen) != 0 ||
        fake_env_int("INVENTORY_SLOW_MS", 2500, 1, 600000, &c->slow_ms, err, errlen) != 0 ||
        fake_env_int("METRICS_INTERVAL_MS", 5000, 100, 3600000, &c->metrics_interval_ms, err, errlen) != 0 ||
        fake_env_int("FAKE_WORKERS", 32, 1, 1024, &c->workers, err, errlen) != 0 ||
        fake_env_int("FAKE_MAX_IN_FLIGHT", 512, 1, 100000, &c->max_in_flight, err, errlen) != 0 ||
        fake_env_int("FAKE_CONTROL", 0, 0, 1, &c->control, err, errlen) != 0)
        return -1;
    if (role == ROLE_GATEWAY)
        return fake_env_url("PAYMENT_URL", "http://127.0.0.1:8004", c->downstream_url,
                            sizeof(c->downstream_url), err, errlen) != 0 ||
                       fake_env_int("GATEWAY_TIMEOUT_MS", 1000, 1, 600000, &c->call_timeout_ms, err,
                                    errlen) != 0
                   ? -1
                   : 0;
    if (role == ROLE_PAYMENT)
        return fake_env_url("INVENTORY_URL", "http://127.0.0.1:8002", c->downstream_url,
                            sizeof(c->downstream_url), err, errlen) != 0 ||
                       fake_env_int("PAYMENT_TIMEOUT_MS", 5000, 1, 600000, &c->call_timeout_ms, err,
                                    errlen) != 0
                   ? -1
                   : 0;
    return 0;
}

static int role_of(int argc, char **argv)
{
    const char *name = argc >= 2 && argv[1][0] != '-' ? argv[1] : fake_env_str("FAKE_SERVICE_ROLE");
    for (int r = 0; name && r < ROLE_COUNT; r++)
        if (strcmp(name, role_names[r]) == 0) return r;
    return -1;
}

static void workers_init(svc_t *v)
{
    v->workers = xcalloc((size_t)v->conf.workers, sizeof(*v->workers));
    for (int i = 0; i < v->conf.workers; i++) {
        v->workers[i].curl = curl_easy_init();
        if (getrandom(&v->workers[i].rng, sizeof(v->workers[i].rng), 0) != sizeof(v->workers[i].rng))
            v->workers[i].rng = (uint64_t)mono_us();
        v->workers[i].rng |= 1; /* xorshift must not start at 0 */
    }
}

static void routes(httpd_t *h, svc_t *v)
{
    httpd_route(h, "POST", role_paths[v->conf.role], NULL, on_order, v);
    if (v->conf.control) { /* unauthenticated fault injection: never on by default */
        httpd_route(h, "POST", "/control/fault", NULL, on_fault, v);
        httpd_route(h, "POST", "/control/network-delay", NULL, on_delay, v);
        httpd_route(h, "POST", "/control/change", NULL, on_change, v);
        httpd_route(h, "POST", "/control/reset", NULL, on_reset, v);
    }
    httpd_route(h, "GET", "/stats", NULL, on_stats, v);
    httpd_route(h, "GET", "/health", NULL, on_health, v);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    int role = role_of(argc, argv);
    if (role < 0) {
        fprintf(stderr, "fake-service: expected a role (gateway, payment or inventory) as the first argument "
                        "or in FAKE_SERVICE_ROLE; see --help\n");
        return 2;
    }
    config_t cfg;
    program_init(1, argv, role_names[role], CFG_FAKE, &cfg);
    svc_t v;
    memset(&v, 0, sizeof(v));
    char err[300];
    if (load_conf((role_t)role, &v.conf, err, sizeof(err)) != 0) {
        log_write(LOG_FATAL, NULL, NULL, "configuration: %s", err);
        return 2;
    }
    int flush_ms;
    if (fake_env_int("TELEMETRY_FLUSH_MS", 1000, 10, 60000, &flush_ms, err, sizeof(err)) != 0) {
        log_write(LOG_FATAL, NULL, NULL, "configuration: %s", err);
        return 2;
    }
    const char *key = fake_env_str("INGEST_API_KEY");
    if (key == NULL) log_warn("INGEST_API_KEY is not set: the backend will refuse our telemetry");

    curl_global_init(CURL_GLOBAL_DEFAULT);
    program_block_signals();
    faults_init(&v.faults);
    reqstats_init(&v.stats);
    workers_init(&v);
    telemetry_opts_t topts = {.backend_url = cfg.backend_url, .api_key = key, .flush_ms = flush_ms};
    v.tel = telemetry_create(&topts);
    v.pool = workpool_create(v.conf.workers, NULL, NULL, &v);
    httpd_opts_t o = {.program = v.conf.service,
                      .port = v.conf.port,
                      .threads = 1,
                      .max_body_bytes = MAX_BODY_BYTES,
                      .bind_addr = cfg.bind_addr};
    httpd_t *h = httpd_create(&o);
    routes(h, &v);
    int rc = 0;
    metrics_thread_t mt;
    if (httpd_start(h, err, sizeof(err)) != 0) {
        log_error("cannot start: %s", err);
        rc = 1;
    } else {
        metrics_start(&mt, &v);
        log_info("%s listening on port %d%s%s; telemetry to %s", v.conf.service, v.conf.port,
                 v.conf.downstream_url[0] ? ", calling " : "", v.conf.downstream_url, cfg.backend_url);
        program_wait_signal();
        /* let requests in progress finish while the loop still runs, so their answers go out */
        atomic_store(&v.draining, 1);
        for (long long until = mono_ms() + DRAIN_MS; atomic_load(&v.in_flight) > 0 && mono_ms() < until;)
            nanosleep(&(struct timespec){0, 20 * 1000000}, NULL);
        metrics_stop(&mt);
        httpd_stop(h);
    }
    workpool_free(v.pool);
    telemetry_free(v.tel);
    httpd_free(h);
    for (int i = 0; i < v.conf.workers; i++)
        curl_easy_cleanup(v.workers[i].curl);
    free(v.workers);
    reqstats_dispose(&v.stats);
    faults_dispose(&v.faults);
    config_dispose(&cfg);
    curl_global_cleanup();
    return rc;
}
