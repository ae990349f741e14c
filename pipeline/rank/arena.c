/* Arena and growable array of the ranking module: a run's many small allocations die together. */
#include "rank_int.h"

#include "alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN (64 * 1024)

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} chunk_t;

struct rk_arena {
    chunk_t *head;
};

rk_arena_t *rk_arena_create(void)
{
    return xcalloc(1, sizeof(rk_arena_t));
}

void rk_arena_free(rk_arena_t *a)
{
    if (a == NULL) return;
    chunk_t *c = a->head;
    while (c) {
        chunk_t *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

void *rk_arena_alloc(rk_arena_t *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    chunk_t *c = a->head;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
        c = xmalloc(sizeof(chunk_t) + cap);
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *rk_arena_strndup(rk_arena_t *a, const char *s, size_t n)
{
    char *p = rk_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *rk_arena_strdup(rk_arena_t *a, const char *s)
{
    return s ? rk_arena_strndup(a, s, strlen(s)) : NULL;
}

char *rk_arena_printf(rk_arena_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return rk_arena_strdup(a, "");
    char *p = rk_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void rk_vec_init(rk_vec_t *v, size_t item_size)
{
    memset(v, 0, sizeof(*v));
    v->size = item_size;
}

void *rk_vec_push(rk_vec_t *v)
{
    if (v->len == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 64;
        v->data = xrealloc(v->data, v->cap * v->size);
    }
    void *p = (char *)v->data + v->len * v->size;
    memset(p, 0, v->size);
    v->len++;
    return p;
}

void rk_vec_dispose(rk_vec_t *v)
{
    free(v->data);
    memset(v, 0, sizeof(*v));
}
