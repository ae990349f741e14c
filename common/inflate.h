/* Bounded decompression of request bodies and gRPC messages (gzip, zlib and raw deflate): the output
 * can never grow past a cap the caller chooses, so a small compressed input cannot exhaust memory. */
#ifndef PS_INFLATE_H
#define PS_INFLATE_H

#include "buf.h"

#include <stddef.h>

typedef enum {
    INFLATE_GZIP,    /* RFC 1952; concatenated members are decoded one after another */
    INFLATE_DEFLATE, /* RFC 1950 zlib-wrapped; raw RFC 1951 deflate (as browsers send it) is accepted too */
} inflate_format_t;

/* Decompresses `in` (n bytes) and appends the result to `out` (initialised by the caller).
 * Returns 0 when the whole input was one complete stream (or gzip members) and nothing follows it;
 * -1 when the input is malformed, truncated, empty or followed by trailing bytes (`err` says why);
 * -2 when the output would pass `max_out` bytes (or `out`'s own cap): decoding stops as soon as the cap
 * is passed, so neither time nor memory depends on the claimed size (a decompression bomb).
 * On -1 and -2 `out` may hold a partial result; the caller discards it. `err` may be NULL.
 * Pure and reentrant: any thread. */
int inflate_bounded(inflate_format_t fmt, const void *in, size_t n, size_t max_out, buf_t *out, char *err,
                    size_t errlen);

#endif
