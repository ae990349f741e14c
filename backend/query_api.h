/* The read-only query API (READ_API_KEYS): incidents, their analyses, traces, dead letters.
 * Every handler validates its filters on the loop thread and runs one parameterised statement on a
 * pool thread in a READ ONLY transaction; PostgreSQL renders the JSON. */
#ifndef PS_QUERY_API_H
#define PS_QUERY_API_H

#include "config.h"
#include "httpd.h"
#include "workpool.h"

typedef struct {
    const config_t *cfg;
    workpool_t *pool;       /* reads: QUERY_DATABASE_URL, which may be a streaming replica */
    workpool_t *write_pool; /* feedback and rerun: QUERY_WRITE_DATABASE_URL (the primary); may be `pool` */
} query_api_t;

/* Registers the routes; `q` is borrowed and must outlive the server. */
void query_api_register(httpd_t *h, query_api_t *q);
/* The search, services, metrics, anomalies, suspects, accuracy and feedback routes (query_more.c). */
void query_more_register(httpd_t *h, query_api_t *q);
/* GET /query/replication: whether the read database is a replica and how far behind
 * (query_replication.c). */
void query_replication_register(httpd_t *h, query_api_t *q);
/* POST /query/incidents/{id}/rerun, with the ADMIN key (query_more.c). */
void query_admin_register(httpd_t *h, query_api_t *q);
/* GET /query/alerts, GET and POST /query/silences, DELETE /query/silences/{id} (query_alerts.c). */
void query_alerts_register(httpd_t *h, query_api_t *q);

#endif
