/* String interning and a 64-bit key map: the indexes every other file of the module builds on. Open
 * addressing with linear probing, tables kept at most half full. */
#include "rank_int.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

uint64_t rk_hash_bytes(const void *p, size_t n, uint64_t seed)
{
    /* FNV-1a, then a splitmix finaliser so low bits are usable as a table index. */
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void rk_intern_init(rk_intern_t *t)
{
    memset(t, 0, sizeof(*t));
}

void rk_intern_dispose(rk_intern_t *t)
{
    free(t->str);
    free(t->len);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

static size_t slot_of(const rk_intern_t *t, const char *s, size_t n)
{
    size_t mask = t->nslots - 1;
    size_t i = (size_t)rk_hash_bytes(s, n, 0) & mask;
    for (;;) {
        uint32_t id = t->slots[i];
        if (id == 0) return i;
        if (t->len[id - 1] == n && memcmp(t->str[id - 1], s, n) == 0) return i;
        i = (i + 1) & mask;
    }
}

static void grow(rk_intern_t *t)
{
    size_t nslots = t->nslots ? t->nslots * 2 : 256;
    free(t->slots);
    t->slots = xcalloc(nslots, sizeof(uint32_t));
    t->nslots = nslots;
    for (uint32_t id = 0; id < t->n; id++)
        t->slots[slot_of(t, t->str[id], t->len[id])] = id + 1;
}

uint32_t rk_intern_find(const rk_intern_t *t, const char *s, size_t n)
{
    if (t->nslots == 0) return RK_NONE;
    uint32_t id = t->slots[slot_of(t, s, n)];
    return id ? id - 1 : RK_NONE;
}

uint32_t rk_intern(rk_intern_t *t, const char *s, size_t n)
{
    if (2 * ((size_t)t->n + 1) > t->nslots) grow(t);
    size_t i = slot_of(t, s, n);
    if (t->slots[i]) return t->slots[i] - 1;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->str = xrealloc(t->str, t->cap * sizeof(*t->str));
        t->len = xrealloc(t->len, t->cap * sizeof(*t->len));
    }
    t->str[t->n] = s;
    t->len[t->n] = n;
    t->slots[i] = ++t->n;
    return t->n - 1;
}

void rk_map_init(rk_map_t *m)
{
    memset(m, 0, sizeof(*m));
}

void rk_map_dispose(rk_map_t *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    memset(m, 0, sizeof(*m));
}

static size_t map_slot(const rk_map_t *m, uint64_t key)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)mix64(key) & mask;
    while (m->used[i] && m->keys[i] != key)
        i = (i + 1) & mask;
    return i;
}

static void map_grow(rk_map_t *m)
{
    rk_map_t old = *m;
    m->cap = old.cap ? old.cap * 2 : 256;
    m->keys = xmalloc(m->cap * sizeof(uint64_t));
    m->vals = xmalloc(m->cap * sizeof(uint32_t));
    m->used = xcalloc(m->cap, 1);
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.used[i]) continue;
        size_t j = map_slot(m, old.keys[i]);
        m->used[j] = 1;
        m->keys[j] = old.keys[i];
        m->vals[j] = old.vals[i];
    }
    free(old.keys);
    free(old.vals);
    free(old.used);
}

uint32_t *rk_map_put(rk_map_t *m, uint64_t key, uint32_t init, int *added)
{
    if (2 * (m->n + 1) > m->cap) map_grow(m);
    size_t i = map_slot(m, key);
    *added = !m->used[i];
    if (*added) {
        m->used[i] = 1;
        m->keys[i] = key;
        m->vals[i] = init;
        m->n++;
    }
    return &m->vals[i];
}

const uint32_t *rk_map_get(const rk_map_t *m, uint64_t key)
{
    if (m->cap == 0) return NULL;
    size_t i = map_slot(m, key);
    return m->used[i] ? &m->vals[i] : NULL;
}
