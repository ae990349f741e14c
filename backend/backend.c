/* Wiring of the backend: which routes exist and which threads serve them. */
#include "backend.h"
#include "health.h"
#include "log.h"

#include <stdlib.h>

static int on_metrics(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    backend_t *b = ctx;
    (void)m;
    buf_t out;
    buf_init(&out, 4 * 1024 * 1024);
    httpd_write_metrics(b->http, &out);
    httpd_send_text(req, 200, "text/plain; version=0.0.4", out.data ? out.data : "", out.len);
    buf_dispose(&out);
    return 0;
}

int backend_start(backend_t *b, char *err, size_t errlen)
{
    httpd_opts_t opts = {.program = "prodsentinel-backend",
                         .port = b->cfg.backend_port,
                         .threads = b->cfg.http_threads,
                         .max_body_bytes = (size_t)b->cfg.max_body_bytes,
                         .static_dir = b->cfg.frontend_dir};
    b->http = httpd_create(&opts);
    b->pool = workpool_create(2, b->cfg.database_url, b->cfg.redis_url, b);
    health_register(b->http, b->pool);
    httpd_route(b->http, "GET", "/metrics", NULL, on_metrics, b);
    if (httpd_start(b->http, err, errlen) != 0) {
        workpool_free(b->pool);
        httpd_free(b->http);
        return -1;
    }
    return 0;
}

void backend_stop(backend_t *b)
{
    httpd_stop(b->http);
    workpool_free(b->pool);
    httpd_free(b->http);
}
