/* The pipeline's main-owned context: configuration, debug HTTP server, worker threads. */
#ifndef PS_PIPELINE_H
#define PS_PIPELINE_H

#include "config.h"
#include "httpd.h"
#include "workpool.h"

typedef struct {
    config_t cfg;
    httpd_t *http;
    workpool_t *pool; /* debug API and readiness checks */
} pipeline_t;

int pipeline_start(pipeline_t *p, char *err, size_t errlen);
void pipeline_stop(pipeline_t *p);

#endif
