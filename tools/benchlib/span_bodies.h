/* Span batches for the ingest benchmark, the same spans in every wire format we accept: our JSON,
 * OTLP/HTTP JSON, OTLP protobuf (plain or gzip'd once, as an exporter compresses a request) and
 * OTLP/gRPC messages (framed, plain or gzip). Each span carries about ten realistic attributes; one in
 * ten carries an event. Pure: no I/O; one generator per thread. */
#ifndef PS_SPAN_BODIES_H
#define PS_SPAN_BODIES_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    SPAN_FMT_NATIVE = 0,      /* POST /ingest/traces, application/json */
    SPAN_FMT_OTLP_JSON,       /* POST /v1/traces, application/json */
    SPAN_FMT_OTLP_PROTO,      /* POST /v1/traces, application/x-protobuf */
    SPAN_FMT_OTLP_PROTO_GZIP, /* the same, Content-Encoding: gzip */
    SPAN_FMT_GRPC,            /* TraceService/Export over h2c */
    SPAN_FMT_GRPC_GZIP,       /* the same, grpc-encoding: gzip */
    SPAN_FMT_COUNT
} span_format_t;

/* "native", "otlp-json", "otlp-proto", "otlp-proto-gzip", "grpc", "grpc-gzip". */
const char *span_format_name(span_format_t f);
/* 0 and *out set, or -1 for an unknown name. */
int span_format_parse(const char *name, span_format_t *out);
/* The uncompressed, unframed encoding whose decoder the backend runs for `f`: native, otlp-json or
 * otlp-proto. */
span_format_t span_format_plain(span_format_t f);
/* 1 for the gRPC formats. */
int span_format_is_grpc(span_format_t f);
/* 1 for the compressed formats. */
int span_format_is_gzip(span_format_t f);

typedef struct {
    uint8_t *data; /* NUL-terminated for the JSON formats */
    size_t len;
} bench_body_t;

/* xorshift state; any non-zero seed. */
typedef struct {
    uint64_t state;
} span_gen_t;

uint64_t span_gen_next(span_gen_t *g);

/* Generates n fresh spans (unique ids, 20 spans per trace, start times within a second of base_ns) and
 * encodes them as format `f` into `out`; the caller frees out->data with free(). Aborts on
 * out-of-memory (a benchmark tool). */
void span_body_make(span_gen_t *g, span_format_t f, int n, int64_t base_ns, bench_body_t *out);

#endif
