/* Test support: a minimal blocking OTLP/gRPC client (one unary call per connection, HTTP/2 cleartext
 * with prior knowledge or over TLS with ALPN, on the tree's one HTTP/2 client, tools/benchlib/h2c.h)
 * and a decoder of google.rpc.Status, for integration tests that talk to a real backend's
 * OTLP_GRPC_PORT. */
#ifndef PS_TS_GRPC_H
#define PS_TS_GRPC_H

#include <stddef.h>
#include <stdint.h>

#define TS_GRPC_TRACES "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define TS_GRPC_LOGS "/opentelemetry.proto.collector.logs.v1.LogsService/Export"

typedef struct {
    const char *path;     /* e.g. TS_GRPC_TRACES */
    const char *key;      /* sent as x-api-key; NULL: no key */
    const char *encoding; /* grpc-encoding; NULL: none sent */
    int compressed;       /* the message's compressed flag (the message is sent as given) */
} ts_grpc_req_t;

typedef struct {
    int http_status;   /* :status; -1 when none came */
    int grpc_status;   /* grpc-status (headers or trailers); -1 when none came */
    char message[512]; /* grpc-message, percent-decoded ("" when absent) */
    uint8_t *details;  /* grpc-status-details-bin, base64-decoded; NULL when absent */
    size_t details_len;
    uint8_t *body; /* the response message, unframed; NULL when none */
    size_t body_len;
    char alpn[16]; /* ts_grpc_call_tls(): the protocol the server chose by ALPN ("" when none) */
} ts_grpc_resp_t;

/* Makes one call to 127.0.0.1:port with `msg` (len bytes) framed as one gRPC message, and waits up to
 * `timeout_ms` for the end of the response. Returns 0 when the stream ended (any status), -1 on a
 * connection or protocol failure or a timeout. Free *out with ts_grpc_resp_free() either way. */
int ts_grpc_call(int port, const ts_grpc_req_t *req, const void *msg, size_t len, int timeout_ms,
                 ts_grpc_resp_t *out);
/* The same over TLS (offering ALPN "h2"), trusting only the PEM certificate in `ca_file` and checking
 * that it names 127.0.0.1. -1 too when the handshake fails. */
int ts_grpc_call_tls(int port, const char *ca_file, const ts_grpc_req_t *req, const void *msg, size_t len,
                     int timeout_ms, ts_grpc_resp_t *out);
void ts_grpc_resp_free(ts_grpc_resp_t *r);

/* What a google.rpc.Status holds, as far as tests look: code, message and the first detail's type URL,
 * with the retry delay when that detail is a google.rpc.RetryInfo. */
typedef struct {
    int code;
    char message[512];
    int ndetails;
    char detail_type[128]; /* type_url of details[0]; "" when none */
    int64_t retry_seconds; /* RetryInfo.retry_delay, when details[0] is one; else -1 */
    int32_t retry_nanos;
} ts_rpc_status_t;

/* Decodes protobuf google.rpc.Status {1 code, 2 message, 3 repeated Any details}. Returns 0, or -1
 * when the bytes are not one (truncated, wrong wire types). */
int ts_rpc_status_decode(const uint8_t *p, size_t len, ts_rpc_status_t *out);

#endif
