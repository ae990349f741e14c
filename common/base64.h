/* Base64 (RFC 4648), the one codec of the tree: ids sent as base64 by OTLP exporters, OTLP JSON's bytes,
 * gRPC's binary metadata. Pure; any thread. */
#ifndef PS_BASE64_H
#define PS_BASE64_H

#include "buf.h"

#include <stddef.h>

/* Appends the encoding of p (n bytes) in the standard alphabet, with '=' padding when `pad`. Returns 0,
 * or -1 when out's cap would be passed (out unchanged then). */
int base64_encode(const void *p, size_t n, int pad, buf_t *out) __attribute__((warn_unused_result));
/* Appends the bytes of s (n characters, standard or URL-safe alphabet, padding optional). Returns 0, or
 * -1 when s is not base64 or out's cap would be passed (out unchanged then). */
int base64_decode(const char *s, size_t n, buf_t *out) __attribute__((warn_unused_result));

#endif
