/* gRPC length-prefixed message framing (PROTOCOL-HTTP2.md "Length-Prefixed-Message"): a pure,
 * incremental reader for the body of a unary request and the 5-byte header writer. No I/O.
 *
 *   +------------+---------------------------+------------------+
 *   | flag (1 B) | length (4 B, big-endian)  | message (length) |
 *   +------------+---------------------------+------------------+
 *   flag: 0 = uncompressed, 1 = compressed with the call's grpc-encoding; other bits are reserved. */
#ifndef PS_GRPC_FRAME_H
#define PS_GRPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define GRPC_FRAME_HEADER_LEN 5

typedef enum {
    GRPC_FRAME_ERR_NONE = 0,
    GRPC_FRAME_ERR_TOO_BIG,        /* the declared length passes max_len: RESOURCE_EXHAUSTED */
    GRPC_FRAME_ERR_BAD_FLAGS,      /* reserved flag bits set: INTERNAL */
    GRPC_FRAME_ERR_SECOND_MESSAGE, /* bytes after the one message of a unary call: INTERNAL */
    GRPC_FRAME_ERR_TRUNCATED,      /* the body ended inside a header or a message: INTERNAL */
    GRPC_FRAME_ERR_NO_MESSAGE,     /* the body ended before any message: INTERNAL */
} grpc_frame_err_t;

typedef struct {
    size_t max_len; /* the caller may lower it between feeds (e.g. to a remaining memory budget) */
    uint8_t header[GRPC_FRAME_HEADER_LEN];
    size_t header_have;
    uint32_t len;   /* declared message length, once the header is complete */
    uint8_t *msg;   /* exactly `len` bytes, allocated when the header is complete */
    size_t have;    /* message bytes received so far */
    int compressed; /* flag bit 0 of the message */
    int complete;   /* the one message is complete */
    grpc_frame_err_t err;
} grpc_frame_reader_t;

/* Prepares a reader for one unary request body whose message may be at most max_len bytes. */
void grpc_frame_reader_init(grpc_frame_reader_t *r, size_t max_len);
/* Frees the message. Accepts a reader that never allocated one. */
void grpc_frame_reader_dispose(grpc_frame_reader_t *r);
/* Bytes the reader holds or has reserved: the declared length once the header is complete. */
size_t grpc_frame_reserved(const grpc_frame_reader_t *r);
/* Feeds the next n body bytes (any split). When the header completes, a declared length above max_len
 * fails at once; otherwise exactly that many bytes are allocated (one allocation, no regrowth: the
 * length is known and bounded). Returns 0, or -1 with r->err set; once failed every call returns -1. */
int grpc_frame_feed(grpc_frame_reader_t *r, const uint8_t *p, size_t n);
/* The body ended (END_STREAM). Returns 0 when exactly one complete message was read (r->msg holds
 * r->len bytes, NULL when empty), else -1 with r->err set. */
int grpc_frame_end(grpc_frame_reader_t *r);
/* A short English reason for an error, for grpc-message. */
const char *grpc_frame_err_str(grpc_frame_err_t err);
/* Writes the 5-byte header of a message of `len` bytes. */
void grpc_frame_header_write(uint8_t out[GRPC_FRAME_HEADER_LEN], int compressed, uint32_t len);

#endif
