/* The simulated payment services (one program, three roles), shared between the HTTP side
 * (service.c: routes, control endpoints, metrics thread, main) and the request flows that run on pool
 * threads (service_flow.c: spans, downstream calls, failure triggers, logs). */
#ifndef PS_FAKE_SERVICE_H
#define PS_FAKE_SERVICE_H

#include "faults.h"
#include "httpd.h"
#include "reqstats.h"
#include "span.h"
#include "telemetry.h"
#include "workpool.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdint.h>

typedef enum { ROLE_GATEWAY, ROLE_PAYMENT, ROLE_INVENTORY, ROLE_COUNT } role_t;

#define ORDER_ID_MAX 128

/* Read-only after main has filled it. */
typedef struct {
    role_t role;
    const char *service; /* "gateway", "payment", "inventory" */
    int port;
    char downstream_url[256]; /* payment for the gateway, inventory for payment; "" for inventory */
    int call_timeout_ms;      /* client timeout of the downstream call */
    int db_timeout_ms;        /* payment: the statement timeout that fail-pay runs into */
    int slow_ms;              /* inventory: how long slow-inv sleeps */
    int metrics_interval_ms;
    int workers;
    int max_in_flight;
    int control; /* FAKE_CONTROL: the fault-injection routes under /control exist */
} svc_conf_t;

/* State of one pool thread, touched by that thread only. */
typedef struct {
    CURL *curl; /* reused for keep-alive to the downstream service */
    uint64_t rng;
} svc_worker_t;

typedef struct {
    svc_conf_t conf;
    telemetry_t *tel;
    faults_t faults;
    reqstats_t stats;
    workpool_t *pool;
    svc_worker_t *workers; /* conf.workers entries, indexed by worker_t.index */
    atomic_int in_flight;
    atomic_long rejected; /* answered 503 without work: crash loop, overload or shutdown */
    atomic_int draining;  /* set by main at shutdown: new orders get 503 */
} svc_t;

/* One order request, from the loop thread to a pool thread and back. */
typedef struct {
    httpd_job_t super; /* first: handed around as httpd_job_t */
    svc_t *svc;
    char trace_id[SPAN_TRACE_ID_LEN + 1];
    char parent_id[SPAN_ID_LEN + 1]; /* the caller's span; "" when the request came without traceparent */
    char order_id[ORDER_ID_MAX + 1];
    json_t *payload;     /* the validated request body, forwarded downstream; owned */
    faults_now_t faults; /* as they were when the request arrived */
    /* the answer, filled by the flow */
    int status;
    char *reply; /* JSON text; owned */
} svc_request_t;

/* Server span names: "POST /orders", "POST /charge", "POST /reserve". */
extern const char *const svc_server_span[ROLE_COUNT];

/* Runs one request's work on a pool thread and ends with httpd_job_finish(). */
void svc_flow_run(httpd_job_t *job, worker_t *w);
/* Emits the log a crashing process writes as the crash loop starts (loop thread is fine: no I/O). */
void svc_flow_crash_log(svc_t *v);
/* A log record in the ingest format; trace and span ids may be NULL; stack may be NULL. Takes nothing. */
json_t *svc_log_record(const svc_t *v, const char *level, const char *message, const char *trace_id,
                       const char *span_id, const char *stack);

#endif
