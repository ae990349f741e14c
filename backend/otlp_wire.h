/* A light walk over protobuf wire format guided by protobuf-c's message descriptors, done before
 * protobuf-c unpacks an OTLP request, because protobuf-c itself
 *   - only says "failed" on malformed input (this walk names the field path, OTLP JSON style, e.g.
 *     "resourceSpans[0].scopeSpans[1].spans[3].traceId", and the byte offset),
 *   - recurses once per nesting level with no limit (a deep AnyValue would overflow the stack), and
 *   - allocates memory sized by the input (this walk bounds what unpacking will need).
 * Unknown fields are skipped (protobuf-c keeps a copy of them: counted). Pure; any thread. */
#ifndef PS_OTLP_WIRE_H
#define PS_OTLP_WIRE_H

#include <protobuf-c/protobuf-c.h>

#include <stddef.h>
#include <stdint.h>

/* Message nesting accepted (an OTLP span with an 8-level attribute value needs about 30). */
#define OTLP_WIRE_MAX_DEPTH 64

typedef struct {
    size_t need;    /* upper bound of the bytes protobuf-c's unpack allocates, each allocation rounded
                       up to OTLP_WIRE_ALIGN (merges of a non-repeated message sent twice excepted) */
    size_t offset;  /* on failure: byte offset of the bad field */
    char path[200]; /* on failure: the bad field's path ("" for the top level) */
    const char *why;
} otlp_wire_t;

#define OTLP_WIRE_ALIGN 16

/* Walks the `len` bytes of a message of type `d`. Returns 0 with w->need set, or -1 with
 * w->offset, w->path and w->why set (truncated, bad wire type for the field, nesting deeper than
 * OTLP_WIRE_MAX_DEPTH, groups). */
int otlp_wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len, otlp_wire_t *w);

#endif
