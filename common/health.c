/* Liveness and readiness endpoints (see health.h). */
#include "health.h"
#include "alloc.h"
#include "db.h"
#include "redisx.h"

#include <stdlib.h>

typedef struct {
    httpd_job_t super;
    int pg_ok, redis_ok;
} ready_job_t;

static int on_health(void *app, h2o_req_t *req, const httpd_match_t *m)
{
    (void)app, (void)m;
    json_t *o = json_pack("{s:s}", "status", "ok");
    httpd_send_json(req, 200, o);
    return 0;
}

static void check(httpd_job_t *job, worker_t *w)
{
    ready_job_t *j = (ready_job_t *)job;
    j->pg_ok = 0;
    if (db_ensure(&w->pg, w->database_url)) {
        PGresult *r = PQexec(w->pg, "SELECT 1");
        j->pg_ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
    }
    j->redis_ok = redisx_ensure(&w->redis, w->redis_url, 1000);
    httpd_job_finish(job);
}

static void ready_done(httpd_job_t *job, h2o_req_t *req)
{
    ready_job_t *j = (ready_job_t *)job;
    if (req) {
        int ok = j->pg_ok && j->redis_ok;
        json_t *o = json_pack("{s:s,s:s,s:s}", "status", ok ? "ready" : "not ready", "postgres",
                              j->pg_ok ? "ok" : "unreachable", "redis", j->redis_ok ? "ok" : "unreachable");
        if (!ok) httpd_add_header(req, "Retry-After", "5");
        httpd_send_json(req, ok ? 200 : 503, o);
    }
    free(j);
}

static int on_ready(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    workpool_t *pool = ctx;
    ready_job_t *j = xcalloc(1, sizeof(*j));
    httpd_job_attach(&j->super, req, m->request_id, ready_done);
    workpool_submit(pool, &j->super, check);
    return 0;
}

void health_register(httpd_t *h, workpool_t *pool)
{
    httpd_route(h, "GET", "/health", NULL, on_health, NULL);
    httpd_route(h, "GET", "/ready", NULL, on_ready, pool);
}
