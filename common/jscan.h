/* A pull scanner for JSON: walks a body in place without building a tree, validating as it goes
 * (grammar, UTF-8, escapes, nesting depth), so ingest can turn a 1,000-span batch into COPY rows in a
 * single pass. Strings without escapes are returned as slices of the body; strings with escapes are
 * decoded into a caller-owned buffer. \u0000 is refused (PostgreSQL text cannot hold NUL), and so are
 * lone surrogates. Pure; any thread.
 *
 * Usage: jscan_init(); jscan_object_begin(); while ((r = jscan_object_next(&key)) == 1) { ...value... }
 * Every function returns -1 on malformed input with j->err and j->err_at set. */
#ifndef PS_JSCAN_H
#define PS_JSCAN_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    JT_ERROR = -1,
    JT_END = 0,
    JT_NULL,
    JT_FALSE,
    JT_TRUE,
    JT_NUMBER,
    JT_STRING,
    JT_ARRAY,
    JT_OBJECT
} jtype_t;

typedef struct {
    const char *s;
    size_t n;
} jstr_t;

typedef struct {
    const char *start, *p, *end;
    const char *err; /* why the input is malformed */
    size_t err_at;   /* byte offset */
    int max_depth;
} jscan_t;

void jscan_init(jscan_t *j, const char *body, size_t len, int max_depth);
/* Type of the next value (whitespace skipped), JT_END at the end of input. Consumes nothing. */
jtype_t jscan_peek(jscan_t *j);
/* After the whole document: 0 when only whitespace is left, else -1. */
int jscan_finish(jscan_t *j);

int jscan_object_begin(jscan_t *j);
/* 1 with the next key (its ':' consumed; `key_buf` holds it when it had escapes), 0 at the closing
 * brace (consumed), -1 on error. */
int jscan_object_next(jscan_t *j, jstr_t *key, buf_t *key_buf);
int jscan_array_begin(jscan_t *j);
/* 1 when another element follows (ready to be read), 0 at the closing bracket (consumed), -1. */
int jscan_array_next(jscan_t *j);

/* A string value: a slice of the body, or decoded into `out` (reset first) when it has escapes. */
int jscan_string(jscan_t *j, jstr_t *s, buf_t *out);
/* A number: its text (a slice), and as an integer when it is one that fits in int64. */
int jscan_number(jscan_t *j, jstr_t *text, int64_t *i, int *is_int);
int jscan_double(jscan_t *j, double *d);
/* null, true or false. */
int jscan_literal(jscan_t *j, jtype_t *t);
/* Skips any value, validating it; `raw` (may be NULL) gets its text. */
int jscan_skip(jscan_t *j, jstr_t *raw);

#endif
