/* Two independent 64-bit multiply-xorshift lanes with a strong final mix (see hash.h). */
#include "hash.h"

#include <string.h>

#define K1 0x9E3779B97F4A7C15ULL
#define K2 0xC2B2AE3D27D4EB4FULL
#define K3 0x165667B19E3779F9ULL

static uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* splitmix64's finaliser: every input bit affects every output bit. */
static uint64_t fmix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    x ^= x >> 31;
    return x;
}

void hash128_init(hash128_state_t *s)
{
    s->a = 0x243F6A8885A308D3ULL;
    s->b = 0x13198A2E03707344ULL;
    s->len = 0;
}

static void mix_word(hash128_state_t *s, uint64_t w)
{
    s->a = rotl(s->a ^ (w * K1), 31) * K2;
    s->b = rotl(s->b ^ (w * K3), 29) * K1 + s->a;
}

void hash128_update(hash128_state_t *s, const void *p, size_t n)
{
    const unsigned char *c = p;
    s->len += n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, c, 8);
        mix_word(s, w);
        c += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, c, n);
        mix_word(s, w ^ ((uint64_t)n << 56));
    }
}

void hash128_field(hash128_state_t *s, const void *p, size_t n)
{
    hash128_update(s, p, n);
    mix_word(s, 0xFFFFFFFFFFFFFFFFULL ^ n);
}

hash128_t hash128_final(const hash128_state_t *s)
{
    hash128_t h;
    h.a = fmix(s->a ^ s->len ^ rotl(s->b, 17));
    h.b = fmix(s->b + h.a + K3);
    return h;
}

void hash128_hex(hash128_t h, char out[33])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        uint64_t v = i < 8 ? h.a : h.b;
        int shift = 56 - 8 * (i % 8);
        unsigned byte = (unsigned)(v >> shift) & 0xff;
        out[2 * i] = hex[byte >> 4];
        out[2 * i + 1] = hex[byte & 15];
    }
    out[32] = '\0';
}
