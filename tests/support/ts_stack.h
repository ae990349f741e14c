/* The end-to-end stack of fake-services/ simulated services: inventory, payment (calling inventory) and
 * gateway (calling payment), each sending its telemetry to a real backend, usually with a pipeline behind
 * it. One struct holds the whole stack so that every test brings it up and down the same way. Everything
 * here fails the test on set-up failure. */
#ifndef PS_TS_STACK_H
#define PS_TS_STACK_H

#include "ts.h"

#include <jansson.h>
#include <libpq-fe.h>

typedef struct {
    char *db_url;    /* the stack's own database (ts_stack_start() makes it; ts_stack_stop() frees it) */
    char prefix[64]; /* its Redis key prefix */
    ts_proc_t backend, pipeline, inventory, payment, gateway;
} ts_stack_t;

typedef struct {
    const char *db_name;             /* ts_create_database()'s prefix */
    const char *redis_prefix;        /* NULL: a fresh "t:<hex>:" */
    const char *const *backend_env;  /* added to each program's environment ("NAME=value", NULL-ended; */
    const char *const *pipeline_env; /* may be NULL) */
    const char *const *service_env;  /* the three services' (at most 8 entries) */
} ts_stack_opts_t;

/* Makes the database and starts the backend, the pipeline, then the three services. */
void ts_stack_start(ts_stack_t *s, const ts_stack_opts_t *o);
/* Stops whatever ts_stack_start() started (services first) and frees the database URL. */
void ts_stack_stop(ts_stack_t *s);

/* POSTs the order JSON `body` to `gateway`'s /orders, with a `traceparent` header unless NULL; returns the
 * HTTP status, with the trace id of the gateway's answer in `trace` ("" when it has none). */
long ts_stack_post_order(const ts_proc_t *gateway, const char *body, const char *traceparent, char trace[33]);
/* ts_stack_post_order() of {"order_id": id, "amount": 12} at the stack's gateway. */
long ts_stack_order(const ts_stack_t *s, const char *id, char trace[33]);
/* POSTs JSON `body` to `path` of one service (a /control/ endpoint) and asserts a 200. */
void ts_stack_control(const ts_proc_t *service, const char *path, const char *body);

/* Waits up to `seconds` (polled every 200 ms) for the newest analysis of an incident holding `trace`, and
 * returns `expr` of it parsed as JSON (an SQL expression over `analyses a`, e.g. "a.evidence"); with the
 * incident's id in `incident` when not NULL. NULL when none came in time. Caller frees with json_decref. */
json_t *ts_stack_wait_analysis(PGconn *c, const char *expr, const char *trace, char incident[24],
                               int seconds);

#endif
