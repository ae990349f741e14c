/* Wiring of the pipeline: workers, and the HTTP routes on PIPELINE_PORT. */
#include "pipeline.h"
#include "alloc.h"
#include "db.h"
#include "health.h"
#include "hexid.h"
#include "log.h"
#include "window_analysis.h"
#include "window_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    httpd_job_t super;
    pipeline_t *p;
    char trace_id[33];
    int status;
    char *body; /* JSON answer */
} debug_job_t;

static void analyse_now(httpd_job_t *hjob, worker_t *w)
{
    debug_job_t *j = (debug_job_t *)hjob;
    pipeline_t *p = j->p;
    j->status = 503;
    if (!db_ensure(&w->pg, w->database_url)) goto out;
    analyse_request_t req = {.trace_id = j->trace_id, .job_id = NULL, .force_report = 1};
    analyse_outcome_t o;
    char err[512];
    if (analyse_trace(p->pool_analysers[w->index], w->pg, &req, &o, err, sizeof(err)) != 0) {
        json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code", "analysis_failed", "message", err);
        j->body = json_dumps(e, JSON_COMPACT);
        json_decref(e);
        j->status = 500;
        goto out;
    }
    if (!o.found) {
        j->status = 404;
    } else {
        json_t *r = json_pack("{s:s,s:I,s:I,s:i,s:O,s:O}", "trace_id", j->trace_id, "incident_id",
                              (json_int_t)o.incident_id, "analysis_id", (json_int_t)o.analysis_id, "version",
                              o.version, "report", o.report, "evidence", o.evidence);
        j->body = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(r);
        j->status = 200;
    }
    analyse_outcome_dispose(&o);
out:
    httpd_job_finish(hjob);
}

static void analyse_done(httpd_job_t *hjob, h2o_req_t *req)
{
    debug_job_t *j = (debug_job_t *)hjob;
    if (req) {
        if (j->status == 200 || (j->status == 500 && j->body))
            httpd_send_text(req, j->status, "application/json", j->body, strlen(j->body));
        else if (j->status == 404)
            httpd_send_error(req, 404, "not_found", "no span or log of this trace is stored", NULL);
        else {
            httpd_add_header(req, "Retry-After", "2");
            httpd_send_error(req, 503, "unavailable", "database unavailable; retry later", NULL);
        }
    }
    free(j->body);
    free(j);
}

static int on_analyze(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    pipeline_t *p = ctx;
    char trace[33];
    if (ids_parse_trace_id(m->params[0].base, m->params[0].len, trace) != 0) {
        httpd_send_error(req, 400, "invalid_parameter", "trace_id: expected 32 hex digits", "trace_id");
        return 0;
    }
    debug_job_t *j = xcalloc(1, sizeof(*j));
    j->p = p;
    memcpy(j->trace_id, trace, sizeof(trace));
    httpd_job_attach(&j->super, req, m->request_id, analyse_done);
    workpool_submit(p->pool, &j->super, analyse_now);
    return 0;
}

static int on_metrics(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    pipeline_t *p = ctx;
    (void)m;
    buf_t out;
    buf_init(&out, 1024 * 1024);
    httpd_write_metrics(p->http, &out);
    buf_printf(&out,
               "# TYPE pipeline_jobs_total counter\npipeline_jobs_total{result=\"done\"} %lu\n"
               "pipeline_jobs_total{result=\"failed\"} %lu\npipeline_jobs_total{result=\"dead_letter\"} %lu\n"
               "pipeline_jobs_total{result=\"redelivered\"} %lu\n"
               "# TYPE pipeline_llm_calls_total counter\npipeline_llm_calls_total %lu\n"
               "pipeline_llm_failures_total %lu\npipeline_llm_short_circuited_total %lu\n",
               atomic_load(&p->stats.jobs_done), atomic_load(&p->stats.jobs_failed),
               atomic_load(&p->stats.jobs_dead), atomic_load(&p->stats.jobs_redelivered),
               atomic_load(&p->shared.breaker.calls), atomic_load(&p->shared.breaker.failures),
               atomic_load(&p->shared.breaker.short_circuited));
    if (leader_write_metrics(p->leader, &out) != 0) log_warn("/metrics: output truncated");
    httpd_send_text(req, 200, "text/plain; version=0.0.4", out.data ? out.data : "", out.len);
    buf_dispose(&out);
    return 0;
}

/* Each pool thread connects at start and warms its connection for window ranking (window_load_warm()):
 * the first POST /debug/analyze-window of a thread then costs what the next ones do. */
static void warm_worker(worker_t *w)
{
    if (db_ensure(&w->pg, w->database_url)) window_load_warm(w->pg, NULL);
}

int pipeline_start(pipeline_t *p, char *err, size_t errlen)
{
    p->shared.cfg = &p->cfg;
    p->shared.breaker.open_ms = p->cfg.llm_breaker_open_ms;
    p->alerts = alerts_start(&p->cfg);
    p->shared.alerts = p->alerts;
    for (int i = 0; i < PIPELINE_POOL_THREADS; i++)
        p->pool_analysers[i] = analyser_create(&p->shared);
    httpd_opts_t opts = {.program = "prodsentinel-pipeline",
                         .port = p->cfg.pipeline_port,
                         .threads = 1,
                         .max_body_bytes = 1024 * 1024,
                         .bind_addr = p->cfg.bind_addr,
                         .edge = &p->cfg.edge};
    p->http = httpd_create(&opts);
    p->pool = workpool_create_warm(PIPELINE_POOL_THREADS, p->cfg.pipeline_database_url, p->cfg.redis_url, p,
                                   warm_worker);
    p->health = health_start(p->cfg.pipeline_database_url, p->cfg.redis_url);
    /* the pipeline's singleton duties, elected among every pipeline on this database (leader.h); the
     * analysis jobs need none: the consumer group gives each job to one worker */
    static const leader_duty_t duties[] = {LEADER_ANOMALY, LEADER_DEGRADATION};
    p->leader = leader_start(p->cfg.pipeline_database_url, p->cfg.instance_id, p->cfg.leader_takeover_s,
                             duties, sizeof(duties) / sizeof(*duties));
    health_set_leader(p->health, p->leader);
    health_register(p->http, p->health);
    httpd_route(p->http, "GET", "/metrics", NULL, on_metrics, p);
    httpd_route(p->http, "POST", "/debug/analyze/{trace_id}", &p->cfg.admin_keys, on_analyze, p);
    window_analysis_register(p->http, p->pool, &p->cfg.admin_keys);
    if (httpd_start(p->http, err, errlen) != 0) {
        workpool_free(p->pool);
        health_stop(p->health);
        leader_stop(p->leader);
        httpd_free(p->http);
        for (int i = 0; i < PIPELINE_POOL_THREADS; i++)
            analyser_free(p->pool_analysers[i]);
        alerts_stop(p->alerts);
        return -1;
    }
    p->workers = workers_start(&p->cfg, &p->shared, &p->stats);
    p->anomalies = anomaly_runner_start(&p->cfg, p->leader);
    p->degradation = degradation_runner_start(&p->cfg, p->alerts, p->leader);
    return 0;
}

void pipeline_stop(pipeline_t *p)
{
    httpd_stop(p->http);
    workers_stop(p->workers);
    anomaly_runner_stop(p->anomalies);
    degradation_runner_stop(p->degradation);
    workpool_free(p->pool);
    health_stop(p->health);
    leader_stop(p->leader); /* after its duties stopped; frees the locks for the other pipelines */
    httpd_free(p->http);
    for (int i = 0; i < PIPELINE_POOL_THREADS; i++)
        analyser_free(p->pool_analysers[i]);
    alerts_stop(p->alerts);
}
