/* Token buckets (see ratelimit.h). */
#include "ratelimit.h"

#include <stddef.h>

int ratelimit_allow(ratelimit_t *r, const void *owner, int index, double rate, long long now_ms)
{
    if (rate <= 0) return 1;
    ratelimit_bucket_t *b = NULL;
    for (int i = 0; i < r->n && !b; i++)
        if (r->buckets[i].owner == owner && r->buckets[i].index == index) b = &r->buckets[i];
    if (b == NULL) {
        if (r->n == RATELIMIT_MAX_BUCKETS) return 1;
        b = &r->buckets[r->n++];
        b->owner = owner;
        b->index = index;
        b->tokens = rate * 2;
        b->last_ms = now_ms;
    }
    b->tokens += rate * (double)(now_ms - b->last_ms) / 1000.0;
    if (b->tokens > rate * 2) b->tokens = rate * 2;
    b->last_ms = now_ms;
    if (b->tokens < 1.0) return 0;
    b->tokens -= 1.0;
    return 1;
}
