/* OTLP/gRPC ingest (see ingest_grpc.h): grpcd hands each Export call's message to on_export() on its
 * loop thread; the message is decoded there (as HTTP bodies are on H2O's loop threads), handed to the
 * writers, and answered from the writer thread after the commit through grpcd_call_finish(). */
#include "ingest_grpc.h"
#include "alloc.h"
#include "ingest_otlp_proto.h"
#include "log.h"
#include "otlp_response.h"
#include "program.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long exporters are told to wait when we are unavailable or they are over their rate. */
#define RETRY_AFTER_UNAVAILABLE_S 2
#define RETRY_AFTER_RATE_S 1

typedef struct {
    ingest_grpc_t *g;
    ingest_kind_t kind;
    const char *path;
} method_t;

struct ingest_grpc {
    const config_t *cfg;
    ingest_writer_t *writer;
    ingest_stats_t *stats;
    grpcd_t *server;
    method_t methods[3];
    ratelimit_t rate; /* the server's loop thread only */
};

/* Answers a call with an error status; retry_s > 0 adds RetryInfo (exporters retry only then). */
static void refuse(grpcd_call_t *call, int code, const char *message, int retry_s)
{
    buf_t details;
    buf_init(&details, 4096);
    grpc_duration_t delay = {.seconds = retry_s, .nanos = 0};
    int has = grpc_status_encode(code, message, retry_s > 0 ? &delay : NULL, &details) == 0;
    grpcd_call_finish(call, code, message, NULL, 0, has ? details.data : NULL, has ? details.len : 0);
    buf_dispose(&details);
}

/* The success answer: the Export*ServiceResponse, with partial_success when records were rejected. */
static void succeed(grpcd_call_t *call, const ingest_batch_t *b)
{
    buf_t out;
    buf_init(&out, 4096);
    char message[600] = "";
    if (b->rejected)
        snprintf(message, sizeof(message), "%.250s: %.300s", b->first_rejection.path,
                 b->first_rejection.reason);
    if (otlp_response_success_proto(&out, b->kind, b->rejected, b->rejected ? message : NULL) != 0)
        buf_reset(&out);
    grpcd_call_finish(call, GRPC_OK, NULL, out.data ? out.data : "", out.len, NULL, 0);
    buf_dispose(&out);
}

/* Writer thread: the batch is committed (or refused); answer the call. */
static void on_written(ingest_job_t *job)
{
    grpcd_call_t *call = job->call;
    if (job->status == 200)
        succeed(call, &job->batch);
    else if (job->status == 503)
        refuse(call, GRPC_UNAVAILABLE, job->error, RETRY_AFTER_UNAVAILABLE_S);
    else
        refuse(call, GRPC_INVALID_ARGUMENT, job->error, 0);
    ingest_batch_dispose(&job->batch);
    free(job);
}

static void on_export(void *ctx, grpcd_call_t *call, const uint8_t *msg, size_t len)
{
    method_t *m = ctx;
    ingest_grpc_t *g = m->g;
    long long arrived = mono_us();
    if (!ratelimit_allow(&g->rate, g, grpcd_call_key_index(call), g->cfg->rate_per_key, mono_ms())) {
        refuse(call, GRPC_RESOURCE_EXHAUSTED, "too many requests for this API key; retry later",
               RETRY_AFTER_RATE_S);
        return;
    }
    if (ingest_writer_db_down(g->writer)) {
        refuse(call, GRPC_UNAVAILABLE, "database unavailable; retry later", RETRY_AFTER_UNAVAILABLE_S);
        return;
    }
    ingest_job_t *job = xcalloc(1, sizeof(*job));
    ingest_err_t err;
    memset(&err, 0, sizeof(err));
    const config_t *cfg = g->cfg;
    ingest_limits_t limits =
        ingest_limits_of((size_t)cfg->max_batch_records, (size_t)cfg->max_body_bytes * 4, cfg->retention_days,
                         cfg->ingest_max_future_s, now_ms() * 1000000LL);
    limits.redact = cfg->redact_at_ingest;
    if (ingest_otlp_proto_limited(m->kind, msg, len, &limits, &job->batch, &err) != 0) {
        free(job);
        atomic_fetch_add(&g->stats->batches_rejected[m->kind], 1);
        char message[600];
        snprintf(message, sizeof(message), "%s%s%s", err.path, err.path[0] ? ": " : "", err.reason);
        /* a batch over its size is not worth retrying either: no RetryInfo */
        refuse(call, err.status == 413 ? GRPC_RESOURCE_EXHAUSTED : GRPC_INVALID_ARGUMENT, message, 0);
        return;
    }
    if (job->batch.records == 0) {
        succeed(call, &job->batch);
        ingest_batch_dispose(&job->batch);
        free(job);
        return;
    }
    job->arrived_us = arrived;
    job->finish = on_written;
    job->call = call;
    if (ingest_writer_submit(g->writer, job) != 0) {
        atomic_fetch_add(&g->stats->batches_rejected[m->kind], 1);
        refuse(call, GRPC_UNAVAILABLE, "ingest queue full; retry later", RETRY_AFTER_RATE_S);
        ingest_batch_dispose(&job->batch);
        free(job);
    }
}

ingest_grpc_t *ingest_grpc_start(const config_t *cfg, ingest_writer_t *writer, ingest_stats_t *stats,
                                 char *err, size_t errlen)
{
    static const struct {
        const char *path;
        ingest_kind_t kind;
    } methods[3] = {
        {"/opentelemetry.proto.collector.trace.v1.TraceService/Export", INGEST_SPANS},
        {"/opentelemetry.proto.collector.logs.v1.LogsService/Export", INGEST_LOGS},
        {"/opentelemetry.proto.collector.metrics.v1.MetricsService/Export", INGEST_METRICS},
    };
    ingest_grpc_t *g = xcalloc(1, sizeof(*g));
    g->cfg = cfg;
    g->writer = writer;
    g->stats = stats;
    grpcd_options_t o;
    grpcd_options_default(&o);
    o.bind = cfg->bind_addr;
    o.port = cfg->otlp_grpc_port;
    o.keys = &cfg->ingest_keys;
    o.edge = &cfg->edge;
    o.max_message_bytes = (size_t)cfg->max_body_bytes;
    o.max_connections = (size_t)cfg->max_connections;
    /* what one connection may buffer: a few calls in flight, not grpcd's 64 MiB default */
    o.max_conn_buffered_bytes = (size_t)cfg->max_body_bytes * 4;
    g->server = grpcd_create(&o, err, errlen);
    if (g->server == NULL) {
        free(g);
        return NULL;
    }
    for (int i = 0; i < 3; i++) {
        g->methods[i] = (method_t){.g = g, .kind = methods[i].kind, .path = methods[i].path};
        grpcd_register(g->server, methods[i].path, on_export, &g->methods[i]);
    }
    if (grpcd_start(g->server, err, errlen) != 0) {
        grpcd_free(g->server);
        free(g);
        return NULL;
    }
    return g;
}

int ingest_grpc_port(const ingest_grpc_t *g)
{
    return grpcd_port(g->server);
}

void ingest_grpc_write_metrics(const ingest_grpc_t *g, buf_t *out)
{
    if (g == NULL) return;
    grpcd_stats_t s;
    grpcd_stats(g->server, &s);
    static const char *names[GRPC_CODE_COUNT] = {
        "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
        "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
        "DATA_LOSS", "UNAUTHENTICATED"};
    int failed = buf_append_str(out, "# TYPE prodsentinel_grpc_calls_total counter\n");
    for (int c = 0; c < GRPC_CODE_COUNT && !failed; c++)
        if (s.calls[c])
            failed = buf_printf(out, "prodsentinel_grpc_calls_total{code=\"%s\"} %llu\n", names[c],
                                (unsigned long long)s.calls[c]);
    if (!failed)
        failed =
            buf_printf(out,
                       "# TYPE prodsentinel_grpc_connections_open gauge\n"
                       "prodsentinel_grpc_connections_open %llu\n"
                       "# TYPE prodsentinel_grpc_connections_refused_total counter\n"
                       "prodsentinel_grpc_connections_refused_total %llu\n",
                       (unsigned long long)s.connections_open, (unsigned long long)s.connections_refused);
    if (failed) log_warn("metrics: gRPC counters cut short (output cap)");
}

void ingest_grpc_stop(ingest_grpc_t *g)
{
    if (g == NULL) return;
    grpcd_free(g->server);
    free(g);
}
