/* The pipeline's main-owned context: configuration, shared analysis state (LLM circuit breaker),
 * worker threads, the debug HTTP server and its pool (whose threads each own an analyser). */
#ifndef PS_PIPELINE_H
#define PS_PIPELINE_H

#include "alerts.h"
#include "analyse.h"
#include "anomaly_runner.h"
#include "degradation_runner.h"
#include "config.h"
#include "httpd.h"
#include "leader.h"
#include "worker.h"
#include "health.h"
#include "workpool.h"

#define PIPELINE_POOL_THREADS 2

typedef struct {
    config_t cfg;
    analyse_shared_t shared;
    worker_stats_t stats;
    workers_t *workers;
    alerts_t *alerts; /* NULL when ALERT_WEBHOOKS is empty */
    anomaly_runner_t *anomalies;
    degradation_runner_t *degradation;
    leader_t *leader; /* which singleton duties (anomaly and degradation scans) this instance holds */
    httpd_t *http;
    workpool_t *pool;                                  /* debug API */
    health_t *health;                                  /* the cached readiness probe */
    analyser_t *pool_analysers[PIPELINE_POOL_THREADS]; /* one per pool thread, indexed by worker_t.index */
} pipeline_t;

int pipeline_start(pipeline_t *p, char *err, size_t errlen);
void pipeline_stop(pipeline_t *p);

#endif
