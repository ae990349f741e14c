/* Wiring of the pipeline: its HTTP routes and threads. */
#include "pipeline.h"
#include "health.h"

int pipeline_start(pipeline_t *p, char *err, size_t errlen)
{
    httpd_opts_t opts = {.program = "prodsentinel-pipeline",
                         .port = p->cfg.pipeline_port,
                         .threads = 1,
                         .max_body_bytes = 1024 * 1024};
    p->http = httpd_create(&opts);
    p->pool = workpool_create(2, p->cfg.database_url, p->cfg.redis_url, p);
    health_register(p->http, p->pool);
    if (httpd_start(p->http, err, errlen) != 0) {
        workpool_free(p->pool);
        httpd_free(p->http);
        return -1;
    }
    return 0;
}

void pipeline_stop(pipeline_t *p)
{
    httpd_stop(p->http);
    workpool_free(p->pool);
    httpd_free(p->http);
}
