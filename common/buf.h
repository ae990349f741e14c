/* A growable byte buffer with a hard cap: growth past `max` fails (returns -1) and leaves the buffer
 * as it was, so input-sized data can never exhaust memory. Always NUL-terminated when non-empty. */
#ifndef PS_BUF_H
#define PS_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
} buf_t;

void buf_init(buf_t *b, size_t max);
void buf_dispose(buf_t *b);
void buf_reset(buf_t *b);
/* Each append returns 0, or -1 when the cap would be exceeded (nothing is appended then). */
int buf_append(buf_t *b, const void *p, size_t n);
int buf_append_str(buf_t *b, const char *s);
int buf_append_char(buf_t *b, char c);
int buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the bytes to the caller (free with free()); the buffer is left empty. */
char *buf_take(buf_t *b);

#endif
