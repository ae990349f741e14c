/* Ingest route handlers (see ingest_http.h). */
#include "ingest_http.h"
#include "alloc.h"
#include "ingest_json.h"
#include "log.h"
#include "program.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void reject(ingest_http_t *ih, ingest_kind_t kind, h2o_req_t *req, const ingest_err_t *err)
{
    atomic_fetch_add(&ih->stats->batches_rejected[kind], 1);
    const char *code = err->status == 413   ? "too_large"
                       : err->status == 415 ? "unsupported_media_type"
                                            : "invalid";
    httpd_send_error(req, err->status, code, err->reason, err->path);
}

static void on_written(httpd_job_t *hjob, h2o_req_t *req)
{
    ingest_job_t *job = (ingest_job_t *)hjob;
    if (req != NULL) {
        if (job->status == 200) {
            json_t *o = json_pack("{s:I,s:I,s:{}}", "accepted", (json_int_t)job->accepted, "duplicates",
                                  (json_int_t)job->duplicates, "partialSuccess");
            httpd_send_json(req, 200, o);
        } else {
            if (job->status == 503) httpd_add_header(req, "Retry-After", "2");
            httpd_send_error(req, job->status, job->status == 503 ? "unavailable" : "refused", job->error,
                             NULL);
        }
    }
    ingest_batch_dispose(&job->batch);
    free(job);
}

/* OTLP exporters say what they send in Content-Type; protobuf is not supported (JSON is). */
static int content_type_ok(h2o_req_t *req, wire_format_t format, ingest_err_t *err)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (i != -1) {
        h2o_iovec_t v = req->headers.entries[i].value;
        if (h2o_strstr(v.base, v.len, H2O_STRLIT("protobuf")) != SIZE_MAX) {
            err->status = 415;
            err->path[0] = '\0';
            snprintf(err->reason, sizeof(err->reason),
                     "protobuf bodies are not supported: send OTLP/HTTP with JSON encoding "
                     "(Content-Type: application/json)");
            return 0;
        }
    }
    i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_ENCODING, -1);
    if (i != -1 && !h2o_memis(req->headers.entries[i].value.base, req->headers.entries[i].value.len,
                              H2O_STRLIT("identity"))) {
        err->status = 415;
        err->path[0] = '\0';
        snprintf(err->reason, sizeof(err->reason),
                 "Content-Encoding %.*s is not supported; send uncompressed JSON",
                 (int)req->headers.entries[i].value.len, req->headers.entries[i].value.base);
        return 0;
    }
    (void)format;
    return 1;
}

static int on_ingest(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    ingest_route_t *route = ctx;
    ingest_http_t *ih = route->ih;
    long long arrived = mono_us();
    ingest_err_t err;
    memset(&err, 0, sizeof(err));
    if (!content_type_ok(req, route->format, &err)) {
        reject(ih, route->kind, req, &err);
        return 0;
    }
    if (ingest_writer_db_down(ih->writer)) {
        httpd_add_header(req, "Retry-After", "2");
        httpd_send_error(req, 503, "unavailable", "database unavailable; retry later", NULL);
        return 0;
    }
    ingest_job_t *job = xcalloc(1, sizeof(*job));
    size_t max_records = (size_t)ih->cfg->max_batch_records;
    size_t max_copy = (size_t)ih->cfg->max_body_bytes * 4;
    int rc = route->format == FORMAT_NATIVE
                 ? ingest_json_native(route->kind, req->entity.base, req->entity.len, max_records, max_copy,
                                      &job->batch, &err)
                 : ingest_json_otlp(route->kind, req->entity.base, req->entity.len, max_records, max_copy,
                                    &job->batch, &err);
    if (rc != 0) {
        free(job);
        reject(ih, route->kind, req, &err);
        return 0;
    }
    if (job->batch.records == 0) {
        ingest_batch_dispose(&job->batch);
        free(job);
        httpd_send_json(req, 200,
                        json_pack("{s:i,s:i,s:{}}", "accepted", 0, "duplicates", 0, "partialSuccess"));
        return 0;
    }
    job->arrived_us = arrived;
    httpd_job_attach(&job->super, req, m->request_id, on_written);
    if (ingest_writer_submit(ih->writer, job) != 0) {
        /* The writers are saturated: refuse now rather than hold memory without bound. */
        httpd_job_detach(&job->super);
        atomic_fetch_add(&ih->stats->batches_rejected[route->kind], 1);
        httpd_add_header(req, "Retry-After", "1");
        httpd_send_error(req, 503, "overloaded", "ingest queue full; retry later", NULL);
        ingest_batch_dispose(&job->batch);
        free(job);
    }
    return 0;
}

void ingest_http_register(httpd_t *h, ingest_http_t *ih)
{
    static const struct {
        const char *path;
        wire_format_t format;
        ingest_kind_t kind;
    } routes[INGEST_ROUTES] = {
        {"/ingest/traces", FORMAT_NATIVE, INGEST_SPANS},    {"/ingest/logs", FORMAT_NATIVE, INGEST_LOGS},
        {"/ingest/metrics", FORMAT_NATIVE, INGEST_METRICS}, {"/ingest/events", FORMAT_NATIVE, INGEST_EVENTS},
        {"/v1/traces", FORMAT_OTLP, INGEST_SPANS},          {"/v1/logs", FORMAT_OTLP, INGEST_LOGS},
        {"/v1/metrics", FORMAT_OTLP, INGEST_METRICS},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(*routes); i++) {
        ingest_route_t *r = &ih->routes[i];
        r->ih = ih;
        r->format = routes[i].format;
        r->kind = routes[i].kind;
        httpd_route_cors(h, "POST", routes[i].path, &ih->cfg->ingest_keys, on_ingest, r);
    }
}
