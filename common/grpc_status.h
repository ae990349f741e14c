/* gRPC status vocabulary, pure: the status codes, grpc-message percent-encoding, the unpadded base64
 * of binary ("-bin") metadata, and an encoder of google.rpc.Status (optionally carrying one
 * google.rpc.RetryInfo, which OTLP servers send with UNAVAILABLE so exporters back off). No I/O. */
#ifndef PS_GRPC_STATUS_H
#define PS_GRPC_STATUS_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    GRPC_OK = 0,
    GRPC_CANCELLED = 1,
    GRPC_UNKNOWN = 2,
    GRPC_INVALID_ARGUMENT = 3,
    GRPC_DEADLINE_EXCEEDED = 4,
    GRPC_NOT_FOUND = 5,
    GRPC_ALREADY_EXISTS = 6,
    GRPC_PERMISSION_DENIED = 7,
    GRPC_RESOURCE_EXHAUSTED = 8,
    GRPC_FAILED_PRECONDITION = 9,
    GRPC_ABORTED = 10,
    GRPC_OUT_OF_RANGE = 11,
    GRPC_UNIMPLEMENTED = 12,
    GRPC_INTERNAL = 13,
    GRPC_UNAVAILABLE = 14,
    GRPC_DATA_LOSS = 15,
    GRPC_UNAUTHENTICATED = 16,
} grpc_code_t;

#define GRPC_CODE_COUNT 17

/* Appends `s` percent-encoded as grpc-message wants it: bytes outside 0x20..0x7E and '%' become %XX.
 * Returns 0, or -1 when out's cap is reached, after appending the whole escapes that fit (a cut text). */
int grpc_percent_encode(const char *s, buf_t *out) __attribute__((warn_unused_result));
/* Appends the base64 (standard alphabet, no padding) of n bytes, as "-bin" metadata is sent.
 * Returns 0, or -1 when out's cap is reached. */
int grpc_base64_encode(const void *p, size_t n, buf_t *out) __attribute__((warn_unused_result));

typedef struct {
    int64_t seconds;
    int32_t nanos;
} grpc_duration_t;

/* Appends the protobuf encoding of google.rpc.Status{code, message, details}. When retry_delay is not
 * NULL, details holds one google.protobuf.Any of type "type.googleapis.com/google.rpc.RetryInfo" with
 * retry_delay. `message` may be NULL. Returns 0, or -1 when out's cap is reached (out unchanged). */
int grpc_status_encode(int code, const char *message, const grpc_duration_t *retry_delay, buf_t *out)
    __attribute__((warn_unused_result));

#endif
