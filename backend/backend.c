/* Wiring of the backend: which routes exist and which threads serve them. */
#include "backend.h"
#include "health.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* Bytes of parsed rows allowed to wait for the writers before ingest answers 503. */
#define MAX_QUEUE_BYTES (64u * 1024 * 1024)

static int on_metrics(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    backend_t *b = ctx;
    (void)m;
    buf_t out;
    buf_init(&out, 4 * 1024 * 1024);
    httpd_write_metrics(b->http, &out);
    ingest_stats_write(&b->stats, &out);
    ingest_grpc_write_metrics(b->grpc, &out);
    /* a full buffer only truncates the scrape */
    if (leader_write_metrics(b->leader, &out) != 0 || retention_write_metrics(b->retention, &out) != 0)
        log_warn("/metrics: output truncated");
    httpd_send_text(req, 200, "text/plain; version=0.0.4", out.data ? out.data : "", out.len);
    buf_dispose(&out);
    return 0;
}

static void free_query_pools(backend_t *b)
{
    if (b->write_pool != b->pool) workpool_free(b->write_pool);
    workpool_free(b->pool);
    b->pool = b->write_pool = NULL;
}

int backend_start(backend_t *b, char *err, size_t errlen)
{
    httpd_opts_t opts = {.program = "prodsentinel-backend",
                         .port = b->cfg.backend_port,
                         .threads = b->cfg.http_threads,
                         .max_body_bytes = (size_t)b->cfg.max_body_bytes,
                         .static_dir = b->cfg.frontend_dir,
                         .rate_per_key = b->cfg.rate_per_key,
                         .max_connections =
                             (b->cfg.max_connections + b->cfg.http_threads - 1) / b->cfg.http_threads,
                         .request_timeout_ms = b->cfg.request_timeout_ms,
                         .bind_addr = b->cfg.bind_addr,
                         .cors_origins = b->cfg.cors_allowed_origins,
                         .edge = &b->cfg.edge};
    atomic_store(&b->stats.db_up, 1);
    b->http = httpd_create(&opts);
    if (httpd_add_port(b->http, b->cfg.otlp_http_port) != 0) { /* the same API for OTLP/HTTP exporters */
        snprintf(err, errlen, "OTLP_HTTP_PORT: too many ports on one server");
        httpd_free(b->http);
        return -1;
    }
    b->pool = workpool_create(2, b->cfg.query_database_url, b->cfg.redis_url, b); /* /query */
    workpool_set_max_queue(b->pool, b->cfg.query_max_queue);
    /* the backend's singleton duties, elected among every backend on this database (leader.h) */
    static const leader_duty_t duties[] = {LEADER_RETENTION, LEADER_DEBOUNCE};
    b->leader = leader_start(b->cfg.ingest_database_url, b->cfg.instance_id, b->cfg.leader_takeover_s, duties,
                             sizeof(duties) / sizeof(*duties));
    /* reads may go to a replica; the few writes need the primary, on their own small pool */
    if (strcmp(b->cfg.query_write_database_url, b->cfg.query_database_url) == 0) {
        b->write_pool = b->pool;
    } else {
        b->write_pool = workpool_create(1, b->cfg.query_write_database_url, b->cfg.redis_url, b);
        workpool_set_max_queue(b->write_pool, b->cfg.query_max_queue);
    }
    b->health = health_start(b->cfg.query_database_url, b->cfg.redis_url); /* /ready */
    health_set_leader(b->health, b->leader);
    b->debounce = debounce_create(&b->cfg, &b->stats, b->leader);
    ingest_writer_opts_t wo = {.threads = b->cfg.writer_threads,
                               .database_url = b->cfg.ingest_database_url,
                               .max_queue_bytes = MAX_QUEUE_BYTES,
                               .stats = &b->stats,
                               .debounce = b->debounce,
                               .hourly_partitions = b->cfg.partition_hourly};
    b->writer = ingest_writer_create(&wo);
    b->ingest.cfg = &b->cfg;
    b->ingest.writer = b->writer;
    b->ingest.stats = &b->stats;

    health_register(b->http, b->health);
    httpd_route(b->http, "GET", "/metrics", NULL, on_metrics, b);
    ingest_http_register(b->http, &b->ingest);
    b->query.cfg = &b->cfg;
    b->query.pool = b->pool;
    b->query.write_pool = b->write_pool;
    query_api_register(b->http, &b->query);
    query_replication_register(b->http, &b->query);
    /* gRPC listens before the HTTP loops start: /health and /ready answer only once every listener
     * (API, OTLP/HTTP, OTLP/gRPC) accepts connections, so a client that waits for /health may send at
     * once on any of them. httpd_start() binds all its ports before its first loop runs. */
    if ((b->cfg.otlp_grpc_port != 0 &&
         (b->grpc = ingest_grpc_start(&b->cfg, b->writer, &b->stats, err, errlen)) == NULL) ||
        httpd_start(b->http, err, errlen) != 0) {
        ingest_writer_free(b->writer); /* before ingest_grpc_stop(): answers its queued calls */
        ingest_grpc_stop(b->grpc);
        b->grpc = NULL;
        debounce_free(b->debounce);
        free_query_pools(b);
        health_stop(b->health);
        leader_stop(b->leader);
        httpd_free(b->http);
        return -1;
    }
    debounce_start(b->debounce);
    b->retention = retention_start(&b->cfg, b->leader);
    return 0;
}

void backend_stop(backend_t *b)
{
    httpd_stop(b->http);
    ingest_writer_free(b->writer); /* answers every queued job, gRPC calls included */
    ingest_grpc_stop(b->grpc);
    retention_stop(b->retention);
    debounce_free(b->debounce);
    free_query_pools(b);
    health_stop(b->health);
    leader_stop(b->leader); /* after its duties stopped; frees the locks for the other backends */
    httpd_free(b->http);
}
