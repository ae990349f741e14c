/* Token buckets for per-key request rates (burst: two seconds' worth). Used by the HTTP server (a set
 * per loop thread) and the gRPC server (a set on its loop thread): a set is not locked, so each set
 * belongs to one thread. */
#ifndef PS_RATELIMIT_H
#define PS_RATELIMIT_H

#define RATELIMIT_MAX_BUCKETS 64

typedef struct {
    const void *owner; /* e.g. the key set a key index belongs to */
    int index;         /* the key's index in it */
    double tokens;
    long long last_ms;
} ratelimit_bucket_t;

typedef struct {
    ratelimit_bucket_t buckets[RATELIMIT_MAX_BUCKETS];
    int n;
} ratelimit_t;

/* 1 when key (owner, index) may make one more request at now_ms (monotonic) under `rate` requests per
 * second, taking a token; 0 when it must wait. rate <= 0: unlimited. Past RATELIMIT_MAX_BUCKETS keys
 * the extra keys are not limited (there are never that many configured keys). */
int ratelimit_allow(ratelimit_t *r, const void *owner, int index, double rate, long long now_ms);

#endif
