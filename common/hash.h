/* A fast 128-bit content hash for de-duplicating records (same log line, same metric point, same
 * event). Not cryptographic: it protects against accidental collisions, not crafted ones. */
#ifndef PS_HASH_H
#define PS_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t a, b;
} hash128_t;

typedef struct {
    uint64_t a, b;
    uint64_t len;
} hash128_state_t;

void hash128_init(hash128_state_t *s);
void hash128_update(hash128_state_t *s, const void *p, size_t n);
/* Adds a field and a separator, so ("ab","c") and ("a","bc") differ. */
void hash128_field(hash128_state_t *s, const void *p, size_t n);
hash128_t hash128_final(const hash128_state_t *s);
/* Writes 32 lowercase hex digits and a NUL (33 bytes): valid input for PostgreSQL's uuid type. */
void hash128_hex(hash128_t h, char out[33]);

#endif
