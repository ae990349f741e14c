/* Liveness and readiness endpoints with a cached readiness probe (see health.h). */
#include "health.h"
#include "alloc.h"
#include "db.h"
#include "redisx.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define REDIS_PROBE_TIMEOUT_MS 1000

struct health {
    const char *database_url, *redis_url;
    const leader_t *leader; /* NULL: /ready names no instance */
    PGconn *pg;             /* probe thread only */
    redisContext *redis;    /* probe thread only */
    atomic_int pg_ok, redis_ok;
    atomic_llong probed_ms; /* monotonic time the last probe finished */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void probe(health_t *hl)
{
    int pg_ok = 0;
    if (db_ensure(&hl->pg, hl->database_url)) {
        PGresult *r = PQexec(hl->pg, "SELECT 1");
        pg_ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
    }
    atomic_store(&hl->pg_ok, pg_ok);
    atomic_store(&hl->redis_ok, redisx_ensure(&hl->redis, hl->redis_url, REDIS_PROBE_TIMEOUT_MS));
    atomic_store(&hl->probed_ms, now_ms());
}

static void *run(void *arg)
{
    health_t *hl = arg;
    pthread_mutex_lock(&hl->lock);
    while (!hl->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)(HEALTH_PROBE_MS % 1000) * 1000000;
        until.tv_sec += HEALTH_PROBE_MS / 1000 + until.tv_nsec / 1000000000;
        until.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&hl->wake, &hl->lock, &until);
        if (hl->stopping) break;
        pthread_mutex_unlock(&hl->lock);
        probe(hl);
        pthread_mutex_lock(&hl->lock);
    }
    pthread_mutex_unlock(&hl->lock);
    return NULL;
}

health_t *health_start(const char *database_url, const char *redis_url)
{
    health_t *hl = xcalloc(1, sizeof(*hl));
    hl->database_url = database_url;
    hl->redis_url = redis_url;
    pthread_mutex_init(&hl->lock, NULL);
    pthread_cond_init(&hl->wake, NULL);
    probe(hl);
    pthread_create(&hl->thread, NULL, run, hl);
    return hl;
}

void health_stop(health_t *hl)
{
    if (hl == NULL) return;
    pthread_mutex_lock(&hl->lock);
    hl->stopping = 1;
    pthread_cond_signal(&hl->wake);
    pthread_mutex_unlock(&hl->lock);
    pthread_join(hl->thread, NULL);
    PQfinish(hl->pg);
    redisFree(hl->redis);
    pthread_mutex_destroy(&hl->lock);
    pthread_cond_destroy(&hl->wake);
    free(hl);
}

static int on_health(void *app, h2o_req_t *req, const httpd_match_t *m)
{
    (void)app, (void)m;
    json_t *o = json_pack("{s:s}", "status", "ok");
    httpd_send_json(req, 200, o);
    return 0;
}

/* On the loop thread, from the cache only: no I/O. */
static int on_ready(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)m;
    health_t *hl = ctx;
    long long age = now_ms() - atomic_load(&hl->probed_ms);
    int fresh = age <= HEALTH_STALE_MS;
    int pg_ok = fresh && atomic_load(&hl->pg_ok), redis_ok = fresh && atomic_load(&hl->redis_ok);
    int ok = pg_ok && redis_ok;
    const char *why = !fresh ? "stale" : "unreachable";
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:I}", "status", ok ? "ready" : "not ready", "postgres", pg_ok ? "ok" : why,
                  "redis", redis_ok ? "ok" : why, "probe_age_ms", (json_int_t)age);
    if (hl->leader) { /* the instance and its duties: atomics only, no I/O */
        json_t *st = leader_status_json(hl->leader);
        json_object_update(o, st);
        json_decref(st);
    }
    if (!ok) httpd_add_header(req, "Retry-After", "5");
    httpd_send_json(req, ok ? 200 : 503, o);
    return 0;
}

void health_set_leader(health_t *hl, const leader_t *l)
{
    hl->leader = l;
}

void health_register(httpd_t *h, health_t *hl)
{
    httpd_route(h, "GET", "/health", NULL, on_health, NULL);
    httpd_route(h, "GET", "/ready", NULL, on_ready, hl);
}
