/* GET /health and GET /ready, shared by the backend and the pipeline. /ready checks PostgreSQL and
 * Redis from a pool thread and answers 503 naming the one that is not reachable. */
#ifndef PS_HEALTH_H
#define PS_HEALTH_H

#include "httpd.h"
#include "workpool.h"

/* Registers both routes; `pool` is borrowed and must outlive the server. */
void health_register(httpd_t *h, workpool_t *pool);

#endif
