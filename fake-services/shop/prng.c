/* xoshiro256** (Blackman and Vigna) seeded by splitmix64; see prng.h. */
#include "prng.h"

#include <math.h>

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void prng_seed(prng_t *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&x);
}

uint64_t prng_derive(uint64_t seed, uint64_t label)
{
    uint64_t x = seed ^ (label * 0xd1b54a32d192ed03ULL);
    splitmix(&x);
    return splitmix(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t prng_next(prng_t *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double prng_unit(prng_t *r)
{
    return (double)(prng_next(r) >> 11) * 0x1.0p-53;
}

int prng_range(prng_t *r, int lo, int hi)
{
    if (hi <= lo) return lo;
    return lo + (int)(prng_next(r) % (uint64_t)(hi - lo + 1));
}

double prng_uniform(prng_t *r, double lo, double hi)
{
    return lo + (hi - lo) * prng_unit(r);
}

int prng_chance(prng_t *r, double p)
{
    return prng_unit(r) < p;
}

double prng_normal(prng_t *r)
{
    double u = 1.0 - prng_unit(r), v = prng_unit(r); /* u in (0, 1]: log(u) is finite */
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

double prng_lognormal(prng_t *r, double median, double sigma)
{
    return median * exp(sigma * prng_normal(r));
}

double prng_exponential(prng_t *r, double mean)
{
    return -mean * log(1.0 - prng_unit(r));
}

void prng_hex(prng_t *r, char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++)
        out[i] = hex[prng_next(r) & 15];
    out[n] = '\0';
}

void prng_alnum(prng_t *r, char *out, size_t n)
{
    static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = 0; i < n; i++)
        out[i] = al[prng_next(r) % (sizeof(al) - 1)];
    out[n] = '\0';
}

void prng_shuffle(prng_t *r, int *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(prng_next(r) % i);
        int t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}
