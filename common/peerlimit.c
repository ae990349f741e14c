/* Per-address connection counts and failed-authentication windows (see peerlimit.h).
 *
 *   buckets[hash(addr) % NBUCKETS] -> entry -> entry -> NULL     (chained; nentries <= PEERLIMIT_MAX_ADDRS)
 *   entry: addr (4 bytes IPv4 or the 8-byte IPv6 /64), conns, failures in the window from window_ms */
#include "peerlimit.h"
#include "alloc.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NBUCKETS 4096
#define IPV6_PREFIX_BYTES 8 /* a /64 */

typedef struct {
    uint8_t bytes[IPV6_PREFIX_BYTES];
    uint8_t len; /* 4 or 8; 0: not an IP address */
} addr_key_t;

typedef struct entry {
    struct entry *next;
    addr_key_t key;
    int conns;
    int failures;
    long long window_ms; /* start of the failure window */
} entry_t;

struct peerlimit {
    pthread_mutex_t mu;
    int max_conns, max_failures;
    entry_t *buckets[NBUCKETS];
    size_t nentries;
};

static addr_key_t key_of(const struct sockaddr *sa)
{
    addr_key_t k;
    memset(&k, 0, sizeof(k));
    if (sa == NULL) return k;
    if (sa->sa_family == AF_INET) {
        memcpy(k.bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        k.len = 4;
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            memcpy(k.bytes, a->s6_addr + 12, 4);
            k.len = 4;
        } else {
            memcpy(k.bytes, a->s6_addr, IPV6_PREFIX_BYTES);
            k.len = IPV6_PREFIX_BYTES;
        }
    }
    return k;
}

static size_t bucket_of(const addr_key_t *k)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (uint8_t i = 0; i < k->len; i++)
        h = (h ^ k->bytes[i]) * 16777619u;
    return h % NBUCKETS;
}

static int key_eq(const addr_key_t *a, const addr_key_t *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

peerlimit_t *peerlimit_create(int max_connections_per_addr, int auth_failures_per_min)
{
    peerlimit_t *p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    p->max_conns = max_connections_per_addr;
    p->max_failures = auth_failures_per_min;
    return p;
}

void peerlimit_free(peerlimit_t *p)
{
    if (p == NULL) return;
    for (size_t i = 0; i < NBUCKETS; i++) {
        for (entry_t *e = p->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    }
    pthread_mutex_destroy(&p->mu);
    free(p);
}

long long peerlimit_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Unlinks and frees `e`, found through `link` (the pointer that points at it). */
static void entry_remove(peerlimit_t *p, entry_t **link)
{
    entry_t *e = *link;
    *link = e->next;
    free(e);
    p->nentries--;
}

/* Makes room when the table is full: drops the entry without connections whose failure window is
 * oldest. Returns 0, or -1 when every entry holds a connection. */
static int evict_one(peerlimit_t *p)
{
    entry_t **victim = NULL;
    for (size_t i = 0; i < NBUCKETS; i++)
        for (entry_t **l = &p->buckets[i]; *l; l = &(*l)->next)
            if ((*l)->conns == 0 && (victim == NULL || (*l)->window_ms < (*victim)->window_ms)) victim = l;
    if (victim == NULL) return -1;
    entry_remove(p, victim);
    return 0;
}

/* The entry of `k`, through the link that points at it; created when `create` (NULL when the table is
 * full of connected addresses). Under the lock. */
static entry_t **lookup(peerlimit_t *p, const addr_key_t *k, int create)
{
    entry_t **l = &p->buckets[bucket_of(k)];
    for (; *l; l = &(*l)->next)
        if (key_eq(&(*l)->key, k)) return l;
    if (!create || (p->nentries >= PEERLIMIT_MAX_ADDRS && evict_one(p) != 0)) return NULL;
    entry_t *e = xcalloc(1, sizeof(*e));
    e->key = *k;
    e->next = p->buckets[bucket_of(k)];
    p->buckets[bucket_of(k)] = e;
    p->nentries++;
    return &p->buckets[bucket_of(k)];
}

/* Drops the entry when it no longer holds anything at now_ms. */
static void maybe_release(peerlimit_t *p, entry_t **l, long long now_ms)
{
    entry_t *e = *l;
    if (e->conns == 0 && (e->failures == 0 || now_ms - e->window_ms >= PEERLIMIT_WINDOW_MS))
        entry_remove(p, l);
}

int peerlimit_conn_open(peerlimit_t *p, const struct sockaddr *peer)
{
    addr_key_t k = key_of(peer);
    if (p == NULL || p->max_conns <= 0 || k.len == 0) return 0;
    int rc = -1;
    pthread_mutex_lock(&p->mu);
    entry_t **l = lookup(p, &k, 1);
    if (l != NULL && (*l)->conns < p->max_conns) {
        (*l)->conns++;
        rc = 0;
    } else if (l != NULL) {
        maybe_release(p, l, peerlimit_now_ms());
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void peerlimit_conn_close(peerlimit_t *p, const struct sockaddr *peer)
{
    addr_key_t k = key_of(peer);
    if (p == NULL || p->max_conns <= 0 || k.len == 0) return;
    pthread_mutex_lock(&p->mu);
    entry_t **l = lookup(p, &k, 0);
    if (l != NULL && (*l)->conns > 0) {
        (*l)->conns--;
        maybe_release(p, l, peerlimit_now_ms());
    }
    pthread_mutex_unlock(&p->mu);
}

int peerlimit_auth_blocked(peerlimit_t *p, const struct sockaddr *peer, long long now_ms)
{
    addr_key_t k = key_of(peer);
    if (p == NULL || p->max_failures <= 0 || k.len == 0) return 0;
    int wait_s = 0;
    pthread_mutex_lock(&p->mu);
    entry_t **l = lookup(p, &k, 0);
    if (l != NULL) {
        entry_t *e = *l;
        long long left = e->window_ms + PEERLIMIT_WINDOW_MS - now_ms;
        if (left > 0 && e->failures >= p->max_failures)
            wait_s = (int)((left + 999) / 1000);
        else
            maybe_release(p, l, now_ms);
    }
    pthread_mutex_unlock(&p->mu);
    return wait_s;
}

void peerlimit_auth_failed(peerlimit_t *p, const struct sockaddr *peer, long long now_ms)
{
    addr_key_t k = key_of(peer);
    if (p == NULL || p->max_failures <= 0 || k.len == 0) return;
    pthread_mutex_lock(&p->mu);
    entry_t **l = lookup(p, &k, 1);
    if (l != NULL) {
        entry_t *e = *l;
        if (e->failures == 0 || now_ms - e->window_ms >= PEERLIMIT_WINDOW_MS) {
            e->window_ms = now_ms;
            e->failures = 0;
        }
        e->failures++;
    }
    pthread_mutex_unlock(&p->mu);
}
