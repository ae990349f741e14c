/* OTLP/gRPC ingest: the TraceService, LogsService and MetricsService Export RPCs on OTLP_GRPC_PORT.
 * Messages are decoded by the same protobuf decoder as OTLP/HTTP (ingest_otlp_proto.h) into the same
 * record layer and stored by the same writer threads; a call is answered OK only after the commit.
 * Status codes follow the OTLP specification: INVALID_ARGUMENT naming the bad field (not retried),
 * UNAVAILABLE with RetryInfo when PostgreSQL is down or the writers are saturated, RESOURCE_EXHAUSTED
 * with RetryInfo past the per-key rate, UNAUTHENTICATED without a valid key (grpcd checks it). */
#ifndef PS_INGEST_GRPC_H
#define PS_INGEST_GRPC_H

#include "config.h"
#include "grpcd.h"
#include "ingest_stats.h"
#include "ingest_writer.h"
#include "ratelimit.h"

typedef struct ingest_grpc ingest_grpc_t;

/* Starts listening on cfg->bind_addr:cfg->otlp_grpc_port (the caller checks the port is not 0).
 * Everything given is borrowed and must outlive the server. Returns NULL with err on failure. */
ingest_grpc_t *ingest_grpc_start(const config_t *cfg, ingest_writer_t *writer, ingest_stats_t *stats,
                                 char *err, size_t errlen);
/* The port listened on. */
int ingest_grpc_port(const ingest_grpc_t *g);
/* Appends Prometheus lines of the gRPC server's counters. */
void ingest_grpc_write_metrics(const ingest_grpc_t *g, buf_t *out);
/* Closes the server and frees it. Call after ingest_writer_free() has answered every queued job (a call
 * arriving meanwhile is refused UNAVAILABLE by the stopping writers), so no call is left unfinished.
 * NULL is fine. */
void ingest_grpc_stop(ingest_grpc_t *g);

#endif
