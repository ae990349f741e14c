/* Partition retention, run by the instance holding the retention duty (see retention.h). */
#include "retention.h"
#include "alloc.h"
#include "db.h"
#include "log.h"
#include "redisx.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define REDIS_TIMEOUT_MS 1000

struct retention {
    const config_t *cfg;
    const leader_t *leader;
    char last_key[160]; /* "<prefix>retention:last": present while the last run is younger than a period */
    atomic_ulong runs;
    pthread_t tid;
    atomic_int stopping;
};

static void run_once(const config_t *cfg)
{
    PGconn *c = NULL;
    if (!db_ensure(&c, cfg->database_url)) return;
    char days[16];
    snprintf(days, sizeof(days), "%d", cfg->retention_days);
    const char *params[] = {days};
    PGresult *r =
        PQexecParams(c, "SELECT drop_raw_partitions_older_than($1::int)", 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        log_warn("retention: %s", PQerrorMessage(c));
    else
        for (int i = 0; i < PQntuples(r); i++)
            log_info("retention: dropped partition %s (older than %d days)", PQgetvalue(r, i, 0),
                     cfg->retention_days);
    PQclear(r);
    PQfinish(c);
}

/* 1 when a period has passed since the last run of any instance (and marks this one), 0 when not or
 * when Redis cannot tell: retention can wait, running it twice at once is what must not happen. */
static int period_due(retention_t *r, redisContext **rc)
{
    if (!redisx_ensure(rc, r->cfg->redis_url, REDIS_TIMEOUT_MS)) return 0;
    char px[24];
    snprintf(px, sizeof(px), "%lld", r->cfg->retention_period_s * 1000LL);
    redisReply *rep = redisCommand(*rc, "SET %s %s NX PX %s", r->last_key, leader_instance(r->leader), px);
    int due = rep && rep->type == REDIS_REPLY_STATUS;
    freeReplyObject(rep);
    return due;
}

static void *retention_main(void *arg)
{
    retention_t *r = arg;
    redisContext *rc = NULL;
    while (!atomic_load(&r->stopping)) {
        if (leader_holds(r->leader, LEADER_RETENTION) && period_due(r, &rc)) {
            atomic_fetch_add(&r->runs, 1);
            log_info("retention: run by %s", leader_instance(r->leader));
            run_once(r->cfg);
        }
        sleep(1);
    }
    redisFree(rc);
    return NULL;
}

retention_t *retention_start(const config_t *cfg, const leader_t *leader)
{
    retention_t *r = xcalloc(1, sizeof(*r));
    r->cfg = cfg;
    r->leader = leader;
    snprintf(r->last_key, sizeof(r->last_key), "%sretention:last", cfg->redis_prefix);
    pthread_create(&r->tid, NULL, retention_main, r);
    return r;
}

void retention_stop(retention_t *r)
{
    if (r == NULL) return;
    atomic_store(&r->stopping, 1);
    pthread_join(r->tid, NULL);
    free(r);
}

int retention_write_metrics(const retention_t *r, buf_t *out)
{
    if (r == NULL) return 0;
    return buf_printf(
        out, "# TYPE prodsentinel_retention_runs_total counter\nprodsentinel_retention_runs_total %lu\n",
        atomic_load(&((retention_t *)r)->runs));
}
