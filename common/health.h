/* GET /health and GET /ready, shared by the backend and the pipeline. /ready answers from a cached
 * probe: a thread of its own checks PostgreSQL and Redis every HEALTH_PROBE_MS on its own connections,
 * so a flood of unauthenticated /ready requests costs no database work and cannot take the query pool
 * from /query. /ready answers 503 naming the one that is not reachable (or "stale" when the probe
 * itself has not finished for HEALTH_STALE_MS: a hung connection). */
#ifndef PS_HEALTH_H
#define PS_HEALTH_H

#include "httpd.h"
#include "leader.h"

#define HEALTH_PROBE_MS 1000
#define HEALTH_STALE_MS 3000

typedef struct health health_t;

/* Starts the probe thread (the first probe runs before it returns, so /ready is right from the start).
 * The URLs are borrowed and must outlive it. Free with health_stop(). */
health_t *health_start(const char *database_url, const char *redis_url);
/* Makes /ready name this instance and the singleton duties it holds (leader.h); `l` is borrowed and must
 * outlive the server. Call before health_register(). */
void health_set_leader(health_t *hl, const leader_t *l);
/* Registers both routes; `hl` is borrowed and must outlive the server. */
void health_register(httpd_t *h, health_t *hl);
/* Stops and joins the probe thread and frees it. NULL is fine. */
void health_stop(health_t *hl);

#endif
