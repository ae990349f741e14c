/* The ingest routes: POST /ingest/{traces,logs,metrics,events} (our JSON) and POST /v1/{traces,logs,
 * metrics} (OTLP/HTTP, protobuf or JSON encoding per Content-Type). Every route takes gzip or deflate
 * bodies (Content-Encoding), decompressed within the body size limit. Bodies are parsed and validated
 * on the loop thread (cheap and bounded), then handed to the writer threads; the answer comes only
 * after the commit. OTLP routes answer as the OTLP specification says: Export*ServiceResponse (with
 * partialSuccess when records were refused one by one) or a google.rpc.Status, in the request's
 * encoding. */
#ifndef PS_INGEST_HTTP_H
#define PS_INGEST_HTTP_H

#include "config.h"
#include "httpd.h"
#include "ingest_stats.h"
#include "ingest_writer.h"

typedef enum { FORMAT_NATIVE, FORMAT_OTLP } wire_format_t;

typedef struct ingest_http ingest_http_t;

/* One registered route: which format and kind it takes. */
typedef struct {
    ingest_http_t *ih;
    wire_format_t format;
    ingest_kind_t kind;
} ingest_route_t;

#define INGEST_ROUTES 7

struct ingest_http {
    const config_t *cfg;
    ingest_writer_t *writer;
    ingest_stats_t *stats;
    ingest_route_t routes[INGEST_ROUTES];
};

/* Registers the routes; `ih` is borrowed and must outlive the server. */
void ingest_http_register(httpd_t *h, ingest_http_t *ih);

#endif
