/* Writing JSON text into a bounded buffer (buf.h): strings escaped (control characters, quote,
 * backslash; invalid UTF-8 replaced by U+FFFD so the text is always valid JSON for jsonb), numbers in
 * their shortest exact form. Each function returns 0, or -1 when the buffer's cap would be exceeded
 * (nothing partial is left behind by that call). Pure; any thread. */
#ifndef PS_JWRITE_H
#define PS_JWRITE_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

/* "..." with escapes. */
int jw_string(buf_t *b, const char *s, size_t n) __attribute__((warn_unused_result));
/* Shortest text that reads back to the same double (1, 0.1, 1e+300); not-finite values, which JSON
 * cannot hold, are written as the strings "NaN", "Infinity", "-Infinity". */
int jw_double(buf_t *b, double v) __attribute__((warn_unused_result));
int jw_i64(buf_t *b, int64_t v) __attribute__((warn_unused_result));
int jw_u64(buf_t *b, uint64_t v) __attribute__((warn_unused_result));
int jw_bool(buf_t *b, int v) __attribute__((warn_unused_result));
/* Bytes as a JSON string in standard base64 with padding (OTLP's JSON form of bytes). */
int jw_base64(buf_t *b, const void *p, size_t n) __attribute__((warn_unused_result));
/* Raw text (already JSON) or punctuation. */
int jw_raw(buf_t *b, const char *s, size_t n) __attribute__((warn_unused_result));
int jw_char(buf_t *b, char c) __attribute__((warn_unused_result));

#endif
