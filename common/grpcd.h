/* A gRPC unary server over HTTP/2 on libnghttp2: cleartext with prior knowledge (h2c, how gRPC clients
 * connect without TLS), or TLS with ALPN "h2" when the edge names a certificate. One epoll loop thread owns
 * every socket and every nghttp2 session; handlers run on it with the complete, decompressed request message,
 * and answer -- then or later, from any thread -- through grpcd_call_finish().
 *
 * Per call the server checks, in this order, as soon as the request headers are complete and before any
 * body byte is buffered: :method POST (else HTTP 405), content-type application/grpc* (else HTTP 415),
 * the client address's failed authentications (options' edge; over the limit RESOURCE_EXHAUSTED), the
 * API key (authorization: Bearer <key> or x-api-key: <key>, when a keyset is given; else
 * UNAUTHENTICATED, counted as a failure of the address), a registered :path (else UNIMPLEMENTED). The body
 * must hold exactly one message; a compressed one (flag 1) is inflated per grpc-encoding gzip or deflate
 * (unknown encoding: UNIMPLEMENTED; compressed without an encoding: INTERNAL); a message larger than
 * max_message_bytes, before or after inflating, is RESOURCE_EXHAUSTED and is not buffered further. Answers
 * advertise grpc-accept-encoding: gzip,deflate,identity. An answer that ends our side before the request is
 * complete is followed by RST_STREAM(NO_ERROR), so the client stops sending.
 *
 * Lifecycle: grpcd_create() (binds and listens, so grpcd_port() is known), grpcd_register() each
 * method, grpcd_start(), ..., grpcd_free(). */
#ifndef PS_GRPCD_H
#define PS_GRPCD_H

#include "auth.h"
#include "grpc_status.h"
#include "listen.h"

#include <stddef.h>
#include <stdint.h>

typedef struct grpcd grpcd_t;
typedef struct grpcd_call grpcd_call_t;

typedef struct {
    const char *bind;                /* IPv4 or IPv6 literal: "127.0.0.1", "::1", "0.0.0.0", "::" */
    int port;                        /* 0 picks a free port; read it with grpcd_port() */
    const keyset_t *keys;            /* borrowed, must outlive the server; NULL: no authentication */
    size_t max_message_bytes;        /* request message, compressed and decompressed */
    size_t max_connections;          /* connections past this are closed at once */
    uint32_t max_concurrent_streams; /* SETTINGS_MAX_CONCURRENT_STREAMS */
    uint32_t max_header_list_bytes;  /* SETTINGS_MAX_HEADER_LIST_SIZE, enforced per request */
    int idle_timeout_ms;             /* no traffic and no call held this long: closed; <= 0: never */
    size_t max_conn_buffered_bytes;  /* request bytes buffered per connection over all its streams */
    uint32_t stream_window_bytes;    /* HTTP/2 flow-control window per stream */
    /* Borrowed; NULL: no per-address limits. Per client address: a connection past
     * max_connections_per_addr is closed at once (counted in connections_refused); past
     * auth_failures_per_min failed key checks in a minute every call gets RESOURCE_EXHAUSTED at its
     * headers, before its key is looked at, until the minute ends. With tls_cert_file and tls_key_file
     * every connection is TLS (1.2 at least, ALPN "h2"; a client offering ALPN without h2, or not
     * speaking TLS, is closed during the handshake); without them, h2c. */
    const listen_edge_t *edge;
} grpcd_options_t;

/* Fills defaults: 127.0.0.1, port 0, no keys, 4 MiB messages, 1024 connections, 100 streams, 16 KiB
 * header lists, 120 s idle timeout, 64 MiB per connection, 1 MiB stream windows. */
void grpcd_options_default(grpcd_options_t *o);

/* The handler of a method: runs on the server thread with the complete request message, `msg` borrowed
 * for the duration of the call only (copy what you keep). It must not block; it calls
 * grpcd_call_finish(call, ...) exactly once, now or later from any thread. */
typedef void (*grpcd_handler_fn)(void *ctx, grpcd_call_t *call, const uint8_t *msg, size_t len);

/* Creates the server and binds/listens on o->bind:o->port. Returns NULL with `err` on failure (bad
 * address, port in use, TLS files that do not load: named TLS_CERT_FILE or TLS_KEY_FILE). Free with
 * grpcd_free(). */
grpcd_t *grpcd_create(const grpcd_options_t *o, char *err, size_t errlen);
/* Registers the handler of a full method path, e.g. "/opentelemetry.proto.collector.trace.v1.
 * TraceService/Export"; `ctx` is borrowed and passed to fn. Only before grpcd_start(). Returns 0, or -1
 * when the path is already registered or does not start with '/'. */
int grpcd_register(grpcd_t *s, const char *path, grpcd_handler_fn fn, void *ctx);
/* Starts the loop thread. Returns 0, or -1 with `err`. */
int grpcd_start(grpcd_t *s, char *err, size_t errlen);
/* The port listened on (the chosen one when options asked for 0). Any thread. */
int grpcd_port(const grpcd_t *s);

/* Answers a call; exactly once per call, from any thread (a handler, or a writer thread later).
 * grpc_status GRPC_OK sends HTTP 200, the response as one uncompressed message, then the trailer
 * grpc-status: 0. Any other status sends a trailers-only response with grpc-status, grpc-message
 * (`message`, may be NULL; percent-encoded here) and, when details_len > 0, grpc-status-details-bin
 * (`status_details`, typically from grpc_status_encode()). All buffers are copied before it returns.
 * When the client has gone meanwhile the answer is dropped; either way the call is freed by the server
 * after this and must not be used again. */
void grpcd_call_finish(grpcd_call_t *call, int grpc_status, const char *message, const void *response,
                       size_t response_len, const void *status_details, size_t details_len);
/* The index in the keyset of the key the call authenticated with, or -1 without a keyset. Valid until
 * grpcd_call_finish(). */
int grpcd_call_key_index(const grpcd_call_t *call);

/* Counters since creation, read with atomics: any thread, at any time. */
typedef struct {
    uint64_t calls[GRPC_CODE_COUNT]; /* calls answered, by grpc-status (server-made errors included) */
    uint64_t http_rejected;          /* requests answered 405 or 415 */
    uint64_t calls_abandoned;        /* calls finished after their client had gone */
    uint64_t streams_reset;          /* streams the server reset (e.g. header list too large) */
    uint64_t connections_accepted;
    uint64_t connections_refused; /* closed at once: over max_connections */
    uint64_t connections_open;
} grpcd_stats_t;

void grpcd_stats(const grpcd_t *s, grpcd_stats_t *out);

/* Stops the loop thread, closes every connection and the listener, then waits until every call handed
 * to a handler has been finished (calls of closed connections are dropped when they finish), and frees
 * the server. The owner makes sure every call will be finished (stop or drain its writer threads so
 * they finish or fail the calls they hold). Not from a handler. Accepts NULL. */
void grpcd_free(grpcd_t *s);

#endif
