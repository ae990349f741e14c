/* Unary gRPC calls for the benchmarks, on the shared HTTP/2 client (h2c.h): one connection driven by one
 * thread, several calls in flight on it if asked. Blocking I/O. */
#ifndef PS_GRPC_CLIENT_H
#define PS_GRPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

/* One request message, already framed (grpc_frame.h header, then the message, compressed or not). */
typedef struct {
    const uint8_t *data;
    size_t len;
} grpc_client_msg_t;

typedef struct grpc_client grpc_client_t;

/* Connects to 127.0.0.1:port for calls of `path` (e.g. "/pkg.Svc/Method"); `key` (may be NULL) is sent
 * as "authorization: Bearer <key>", `gzip` adds "grpc-encoding: gzip" (the messages must then carry the
 * compressed flag). Returns NULL with `err` on failure; free with grpc_client_free(). */
grpc_client_t *grpc_client_connect(int port, const char *path, const char *key, int gzip, char *err,
                                   size_t errlen);

/* Makes one unary call per message of msgs[0..n) (borrowed for the call), at most `inflight` at a time,
 * and waits for all. latencies (NULL or n slots) gets each call's seconds from submit to close.
 * Returns the number of calls that did not end with grpc-status 0 (the first one's grpc-message is in
 * grpc_client_error()), or -1 when the connection failed. */
int grpc_client_run(grpc_client_t *c, const grpc_client_msg_t *msgs, size_t n, int inflight,
                    double *latencies);

/* The grpc-status and grpc-message of the first failed call ("" when none). Borrowed from `c`. */
const char *grpc_client_error(const grpc_client_t *c);

/* Closes the connection. Accepts NULL. */
void grpc_client_free(grpc_client_t *c);

#endif
