/* Hashed API key sets (see auth.h). */
#include "auth.h"
#include "alloc.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int key_char_ok(char c)
{
    return c > 0x20 && c < 0x7f && c != ',';
}

int keyset_parse(keyset_t *ks, const char *list, char *err, size_t errlen)
{
    ks->hashes = NULL;
    ks->count = 0;
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len < 8 || len > 256) {
            snprintf(err, errlen, "each key must be 8 to 256 characters (key %zu has %zu)", ks->count + 1,
                     len);
            goto fail;
        }
        for (size_t i = 0; i < len; i++) {
            if (!key_char_ok(p[i])) {
                snprintf(err, errlen, "key %zu has a space or control character", ks->count + 1);
                goto fail;
            }
        }
        ks->hashes = xrealloc(ks->hashes, (ks->count + 1) * sizeof(*ks->hashes));
        SHA256((const unsigned char *)p, len, ks->hashes[ks->count]);
        ks->count++;
        p = end ? end + 1 : p + len;
    }
    if (ks->count == 0) {
        snprintf(err, errlen, "needs at least one key");
        goto fail;
    }
    return 0;
fail:
    keyset_dispose(ks);
    return -1;
}

void keyset_dispose(keyset_t *ks)
{
    if (ks == NULL) return;
    free(ks->hashes);
    ks->hashes = NULL;
    ks->count = 0;
}

int keyset_find(const keyset_t *ks, const char *key, size_t len)
{
    unsigned char h[AUTH_HASH_LEN];
    SHA256((const unsigned char *)key, len, h);
    int found = -1;
    for (size_t i = 0; i < ks->count; i++) {
        int eq = CRYPTO_memcmp(h, ks->hashes[i], AUTH_HASH_LEN) == 0;
        found = eq ? (int)i : found; /* every key is compared: time does not tell which matched */
    }
    return found;
}

int keyset_contains(const keyset_t *ks, const char *key, size_t len)
{
    return keyset_find(ks, key, len) >= 0;
}
