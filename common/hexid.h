/* Trace and span ids: 32 and 16 hex digits (W3C sizes), lowercased; OTLP exporters that send the raw
 * bytes base64-encoded are accepted too. All-zero ids are invalid (W3C). Also the W3C traceparent
 * header. Pure functions; any thread. */
#ifndef PS_HEXID_H
#define PS_HEXID_H

#include <stddef.h>

#define TRACE_ID_BYTES 16
#define SPAN_ID_BYTES 8

/* Parses an id of `nbytes` bytes given as hex (2*nbytes digits, any case) or base64 (standard or
 * URL-safe alphabet, padding optional) into lowercase hex in out (2*nbytes+1 bytes).
 * Returns 0, or -1 with a reason. */
int hexid_parse(const char *s, size_t n, size_t nbytes, char *out, const char **why);
/* Shorthands for hex-only ids (query paths, queue messages). */
int ids_parse_trace_id(const char *s, size_t n, char out[33]);

/* "00-<trace>-<span>-<flags>" → trace (33 bytes), span (17 bytes), sampled flag. Returns 0 or -1. */
int traceparent_parse(const char *s, size_t n, char trace[33], char span[17], int *sampled);
/* Writes "00-<trace>-<span>-01" (56 bytes with NUL). */
void traceparent_format(const char *trace, const char *span, char out[56]);

#endif
