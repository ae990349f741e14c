/* Allocation of small control structures: these wrappers abort on out-of-memory, because a process
 * that cannot allocate a few hundred bytes cannot do anything useful. Anything sized by untrusted
 * input goes through buf_t (buf.h), which fails cleanly past its cap instead. */
#ifndef PS_ALLOC_H
#define PS_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
