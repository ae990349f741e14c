/* Hourly partition retention (see retention.h). */
#include "retention.h"
#include "alloc.h"
#include "db.h"
#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define RETENTION_PERIOD_S 3600

struct retention {
    const config_t *cfg;
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

static void *retention_main(void *arg)
{
    retention_t *r = arg;
    for (int waited = RETENTION_PERIOD_S; !atomic_load(&r->stopping); waited++) {
        if (waited >= RETENTION_PERIOD_S) {
            run_once(r->cfg);
            waited = 0;
        }
        sleep(1);
    }
    return NULL;
}

retention_t *retention_start(const config_t *cfg)
{
    retention_t *r = xcalloc(1, sizeof(*r));
    r->cfg = cfg;
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
