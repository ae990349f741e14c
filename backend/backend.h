/* The backend's main-owned context: configuration, HTTP server, worker pool, ingest writers,
 * debounce scheduler and retention. */
#ifndef PS_BACKEND_H
#define PS_BACKEND_H

#include "config.h"
#include "debounce.h"
#include "httpd.h"
#include "ingest_grpc.h"
#include "ingest_http.h"
#include "ingest_stats.h"
#include "ingest_writer.h"
#include "leader.h"
#include "query_api.h"
#include "retention.h"
#include "health.h"
#include "workpool.h"

typedef struct {
    config_t cfg;
    httpd_t *http;
    workpool_t *pool;       /* query API reads (QUERY_DATABASE_URL: may be a replica) */
    workpool_t *write_pool; /* its writes (QUERY_WRITE_DATABASE_URL, the primary); `pool` when the same */
    health_t *health;       /* the cached readiness probe */
    ingest_stats_t stats;
    debounce_t *debounce;
    ingest_writer_t *writer;
    ingest_http_t ingest;
    ingest_grpc_t *grpc; /* NULL when OTLP_GRPC_PORT is 0 */
    retention_t *retention;
    leader_t *leader; /* which singleton duties (retention, debounce scheduler) this instance holds */
    query_api_t query;
} backend_t;

/* Registers the routes and starts every thread. Returns 0 or -1 with err. */
int backend_start(backend_t *b, char *err, size_t errlen);
/* Stops the server first (no new work), then drains and stops the threads. */
void backend_stop(backend_t *b);

#endif
