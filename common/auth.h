/* API keys: kept only as SHA-256 hashes and compared in constant time, so neither memory dumps nor
 * timing reveal a key. */
#ifndef PS_AUTH_H
#define PS_AUTH_H

#include <stddef.h>

#define AUTH_HASH_LEN 32

typedef struct {
    unsigned char (*hashes)[AUTH_HASH_LEN];
    size_t count;
} keyset_t;

/* Parses a comma-separated key list. Keys must be 8..256 printable characters without spaces.
 * Returns 0, or -1 with a reason in `err`. Dispose with keyset_dispose(). */
int keyset_parse(keyset_t *ks, const char *list, char *err, size_t errlen);
void keyset_dispose(keyset_t *ks);
/* 1 when `key` (len bytes) is in the set. Time does not depend on which key matched or how. */
int keyset_contains(const keyset_t *ks, const char *key, size_t len);
/* Index of the matching key in the set, or -1; constant time like keyset_contains. */
int keyset_find(const keyset_t *ks, const char *key, size_t len);

#endif
