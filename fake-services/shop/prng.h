/* A seeded pseudo-random generator (xoshiro256** seeded through splitmix64) whose whole state lives in
 * a caller-owned struct, so the same seed always gives the same simulated shop, byte for byte. */
#ifndef PS_SHOP_PRNG_H
#define PS_SHOP_PRNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4];
} prng_t;

void prng_seed(prng_t *r, uint64_t seed);
/* A seed for an independent stream, from a parent seed and a label (e.g. a minute number). */
uint64_t prng_derive(uint64_t seed, uint64_t label);
uint64_t prng_next(prng_t *r);
/* Uniform in [0, 1). */
double prng_unit(prng_t *r);
/* Uniform integer in [lo, hi]. */
int prng_range(prng_t *r, int lo, int hi);
double prng_uniform(prng_t *r, double lo, double hi);
int prng_chance(prng_t *r, double p);
double prng_normal(prng_t *r);
/* exp(N(log(median), sigma)): a positive value whose median is `median`. */
double prng_lognormal(prng_t *r, double median, double sigma);
double prng_exponential(prng_t *r, double mean);
/* n lowercase hex digits and a NUL into out (out holds n + 1 bytes). */
void prng_hex(prng_t *r, char *out, size_t n);
/* n lowercase letters and digits and a NUL into out. */
void prng_alnum(prng_t *r, char *out, size_t n);
/* Fisher-Yates shuffle of n ints. */
void prng_shuffle(prng_t *r, int *v, size_t n);

#endif
