/* The one HTTP/2 client of the tests and the benchmarks, for gRPC-style calls (POST, a body, an answer
 * with trailers): one connection over cleartext TCP with prior knowledge (h2c) or over TLS with ALPN "h2",
 * driven by one thread with blocking I/O, several streams in flight if asked. It only moves bytes and
 * records what came back per stream; gRPC framing and status decoding are the callers' (grpc_frame.h,
 * tests/support/ts_grpc.h). */
#ifndef PS_H2C_H
#define PS_H2C_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct h2c h2c_t;

typedef struct {
    const char *ca_file;    /* TLS trusting only this PEM certificate, which must name 127.0.0.1; NULL: h2c */
    int timeout_ms;         /* TLS: the limit of the handshake and of each read (0: none) */
    uint32_t stream_window; /* SETTINGS_INITIAL_WINDOW_SIZE announced; 0: the protocol's default */
} h2c_opts_t;

/* One request. Strings are borrowed for the h2c_submit() call. */
typedef struct {
    const char *path;         /* :path, e.g. "/pkg.Svc/Method" */
    const char *content_type; /* NULL: application/grpc */
    const char *auth_name;    /* one header more (e.g. "x-api-key", "authorization"); NULL: none */
    const char *auth_value;
    const char *encoding; /* grpc-encoding; NULL: none */
    int headers_only;     /* send HEADERS alone: no DATA and no END_STREAM */
} h2c_req_t;

#define H2C_VALUE_MAX 2048 /* longer header values are cut: callers decoding them then fail visibly */

/* One stream, as it goes. Owned by the caller (it must stay in place until the stream is closed or the
 * connection freed); dispose with h2c_stream_dispose(). */
typedef struct {
    int32_t id;
    int http_status, grpc_status; /* -1 until seen (grpc-status from headers or trailers) */
    char content_type[64];
    char grpc_message[H2C_VALUE_MAX]; /* as sent: percent-encoded ("" when absent) */
    char details[H2C_VALUE_MAX];      /* grpc-status-details-bin as sent: base64 ("" when absent) */
    buf_t body;                       /* the DATA bytes as received (gRPC-framed), at most 64 MiB */
    int ended;                        /* the server sent END_STREAM */
    int closed;                       /* the stream is closed */
    uint32_t close_error;             /* its HTTP/2 error code when closed (RST_STREAM, GOAWAY) */
    double submitted_s, closed_s;     /* monotonic clock, seconds */
    /* the request body being sent (borrowed) */
    const uint8_t *req;
    size_t req_len, req_off;
    int counted; /* internal: already counted as finished */
} h2c_stream_t;

/* Connects to 127.0.0.1:port (TLS handshake included when opts->ca_file) and queues the client's SETTINGS.
 * Returns NULL with `err` on failure. Free with h2c_free(). */
h2c_t *h2c_connect(int port, const h2c_opts_t *opts, char *err, size_t errlen);
/* The protocol the server chose by ALPN ("" over h2c). Borrowed from `c`. */
const char *h2c_alpn(const h2c_t *c);
/* The socket, for tests that look at the connection itself. */
int h2c_fd(const h2c_t *c);

/* Starts a stream for `r` with `body` (borrowed until the stream ends), recorded in `s`. Nothing is sent
 * before h2c_send(), h2c_pump() or h2c_run(). Returns 0, or -1. */
int h2c_submit(h2c_t *c, const h2c_req_t *r, const void *body, size_t len, h2c_stream_t *s);
/* Sends what is queued. Returns 0, or -1 when the connection failed. */
int h2c_send(h2c_t *c);
/* Sends what is queued, waits up to `wait_ms` (-1: for ever) for bytes and reads them once. Returns 0 (also
 * when nothing came in time), or -1 when the connection failed or the server closed it. */
int h2c_pump(h2c_t *c, int wait_ms);
/* Pumps until every stream submitted has ended or closed. Returns 0, or -1 on a connection failure or
 * when `timeout_ms` passed first. */
int h2c_run(h2c_t *c, int timeout_ms);
/* Streams submitted and not yet ended or closed. */
size_t h2c_pending(const h2c_t *c);

/* Frees the body. Accepts a zeroed stream. */
void h2c_stream_dispose(h2c_stream_t *s);
/* Closes the connection (streams still open are dropped, their records untouched). Accepts NULL. */
void h2c_free(h2c_t *c);

#endif
