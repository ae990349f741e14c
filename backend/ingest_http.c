/* Ingest route handlers (see ingest_http.h). */
#include "ingest_http.h"
#include "alloc.h"
#include "inflate.h"
#include "ingest_json.h"
#include "ingest_otlp_proto.h"
#include "otlp_response.h"
#include "log.h"
#include "program.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What a request body is, from its Content-Type and Content-Encoding. */
typedef enum { BODY_JSON, BODY_PROTOBUF } body_encoding_t;

typedef struct {
    body_encoding_t encoding;
    int compressed;               /* 0: identity */
    inflate_format_t compression; /* when compressed */
} body_form_t;

/* The answer's encoding follows the request's (OTLP: a protobuf request gets a protobuf answer). */
static int otlp_answer_proto(const ingest_route_t *route, const body_form_t *form)
{
    return route->format == FORMAT_OTLP && form->encoding == BODY_PROTOBUF;
}

/* An error answer: our JSON routes say {"error":{code,message,path}}; OTLP routes answer a
 * google.rpc.Status in the request's encoding, the path leading the message. */
static void send_error(const ingest_route_t *route, const body_form_t *form, h2o_req_t *req, int status,
                       const char *code, const char *reason, const char *path)
{
    if ((status == 503 || status == 429) &&
        h2o_find_header(&req->res.headers, H2O_TOKEN_RETRY_AFTER, -1) == -1)
        httpd_add_header(req, "Retry-After", status == 503 ? "2" : "1");
    if (route->format != FORMAT_OTLP) {
        httpd_send_error(req, status, code, reason, path && *path ? path : NULL);
        return;
    }
    char message[600];
    snprintf(message, sizeof(message), "%s%s%s", path && *path ? path : "", path && *path ? ": " : "",
             reason);
    buf_t out;
    buf_init(&out, 4096);
    int grpc_code = otlp_response_grpc_code(status);
    int proto = otlp_answer_proto(route, form);
    if ((proto ? otlp_response_status_proto(&out, grpc_code, message)
               : otlp_response_status_json(&out, grpc_code, message)) != 0)
        buf_reset(&out);
    httpd_send_text(req, status, proto ? "application/x-protobuf" : "application/json",
                    out.data ? out.data : "", out.len);
    buf_dispose(&out);
}

static void send_batch_error(ingest_http_t *ih, const ingest_route_t *route, const body_form_t *form,
                             h2o_req_t *req, const ingest_err_t *err)
{
    atomic_fetch_add(&ih->stats->batches_rejected[route->kind], 1);
    const char *code = err->status == 413   ? "too_large"
                       : err->status == 415 ? "unsupported_media_type"
                                            : "invalid";
    send_error(route, form, req, err->status, code, err->reason, err->path);
}

/* The success answer. Our JSON: {"accepted","duplicates"}. OTLP: Export*ServiceResponse in the
 * request's encoding, partialSuccess only when records were rejected (the specification's shape). */
static void send_success(const ingest_route_t *route, const body_form_t *form, h2o_req_t *req,
                         const ingest_batch_t *b, size_t accepted, size_t duplicates)
{
    if (route->format != FORMAT_OTLP) {
        httpd_send_json(
            req, 200,
            json_pack("{s:I,s:I}", "accepted", (json_int_t)accepted, "duplicates", (json_int_t)duplicates));
        return;
    }
    char message[600] = "";
    if (b->rejected)
        snprintf(message, sizeof(message), "%.250s: %.300s", b->first_rejection.path,
                 b->first_rejection.reason);
    buf_t out;
    buf_init(&out, 4096);
    int proto = otlp_answer_proto(route, form);
    const char *msg = b->rejected ? message : NULL;
    if ((proto ? otlp_response_success_proto(&out, b->kind, b->rejected, msg)
               : otlp_response_success_json(&out, b->kind, b->rejected, msg)) != 0)
        buf_reset(&out);
    httpd_send_text(req, 200, proto ? "application/x-protobuf" : "application/json", out.data ? out.data : "",
                    out.len);
    buf_dispose(&out);
}

/* A job and what its answer needs besides the batch. */
typedef struct {
    ingest_job_t job; /* first */
    const ingest_route_t *route;
    body_form_t form;
} http_job_t;

static void on_written(httpd_job_t *hjob, h2o_req_t *req)
{
    http_job_t *hj = (http_job_t *)hjob;
    ingest_job_t *job = &hj->job;
    if (req != NULL) {
        if (job->status == 200)
            send_success(hj->route, &hj->form, req, &job->batch, job->accepted, job->duplicates);
        else
            send_error(hj->route, &hj->form, req, job->status, job->status == 503 ? "unavailable" : "refused",
                       job->error, NULL);
    }
    ingest_batch_dispose(&job->batch);
    free(hj);
}

static int header_is(h2o_iovec_t v, const char *word)
{
    size_t n = strlen(word);
    /* the media type is what comes before any ';' parameter, spaces ignored */
    size_t end = 0;
    while (end < v.len && v.base[end] != ';')
        end++;
    while (end > 0 && v.base[end - 1] == ' ')
        end--;
    return end == n && h2o_lcstris(v.base, n, word, n);
}

/* Reads Content-Type and Content-Encoding. Our JSON routes take JSON; OTLP routes take JSON or
 * protobuf (OTLP/HTTP's two encodings). Bodies may be gzip or deflate compressed. Returns 0, or -1 with
 * a 415 in err. */
static int body_form_of(h2o_req_t *req, wire_format_t format, body_form_t *form, ingest_err_t *err)
{
    memset(form, 0, sizeof(*form));
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (i != -1) {
        h2o_iovec_t v = req->headers.entries[i].value;
        /* curl -d sends form-urlencoded unless told otherwise: our JSON routes take it as JSON */
        if (header_is(v, "application/json") ||
            (format == FORMAT_NATIVE && header_is(v, "application/x-www-form-urlencoded")))
            form->encoding = BODY_JSON;
        else if (format == FORMAT_OTLP &&
                 (header_is(v, "application/x-protobuf") || header_is(v, "application/protobuf")))
            form->encoding = BODY_PROTOBUF;
        else {
            err->status = 415;
            snprintf(err->reason, sizeof(err->reason), "Content-Type %.*s is not accepted here; send %s",
                     (int)(v.len > 80 ? 80 : v.len), v.base,
                     format == FORMAT_OTLP ? "application/x-protobuf or application/json"
                                           : "application/json");
            return -1;
        }
    }
    i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_ENCODING, -1);
    if (i != -1) {
        h2o_iovec_t v = req->headers.entries[i].value;
        if (header_is(v, "gzip") || header_is(v, "x-gzip")) {
            form->compressed = 1;
            form->compression = INFLATE_GZIP;
        } else if (header_is(v, "deflate")) {
            form->compressed = 1;
            form->compression = INFLATE_DEFLATE;
        } else if (!header_is(v, "identity")) {
            err->status = 415;
            snprintf(err->reason, sizeof(err->reason),
                     "Content-Encoding %.*s is not supported; send gzip, deflate or identity",
                     (int)(v.len > 80 ? 80 : v.len), v.base);
            return -1;
        }
    }
    return 0;
}

/* Decompresses a compressed body into `plain` within the body size limit: a decompression bomb gets a
 * 413 and costs no more memory than the limit. */
static int decompress(const body_form_t *form, h2o_req_t *req, size_t max, buf_t *plain, ingest_err_t *err)
{
    char why[200];
    int rc =
        inflate_bounded(form->compression, req->entity.base, req->entity.len, max, plain, why, sizeof(why));
    if (rc == 0) return 0;
    err->status = rc == -2 ? 413 : 400;
    if (rc == -2)
        snprintf(err->reason, sizeof(err->reason), "decompressed body larger than %zu bytes", max);
    else
        snprintf(err->reason, sizeof(err->reason), "body is not valid %s: %.180s",
                 form->compression == INFLATE_GZIP ? "gzip" : "deflate", why);
    return -1;
}

static int parse(const ingest_route_t *route, const body_form_t *form, const char *body, size_t len,
                 const ingest_limits_t *limits, ingest_batch_t *batch, ingest_err_t *err)
{
    if (route->format == FORMAT_NATIVE)
        return ingest_json_native_limited(route->kind, body, len, limits, batch, err);
    if (form->encoding == BODY_PROTOBUF)
        return ingest_otlp_proto_limited(route->kind, (const uint8_t *)body, len, limits, batch, err);
    return ingest_json_otlp_limited(route->kind, body, len, limits, batch, err);
}

/* httpd's own refusals (401, 429) on an OTLP route, as the specification wants them: a google.rpc.Status
 * in the request's encoding. */
static void on_otlp_refusal(void *ctx, h2o_req_t *req, int status, const char *code, const char *message)
{
    const ingest_route_t *route = ctx;
    body_form_t form;
    ingest_err_t ignored;
    if (body_form_of(req, route->format, &form, &ignored) != 0) form.encoding = BODY_JSON;
    send_error(route, &form, req, status, code, message, NULL);
}

static int on_ingest(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    ingest_route_t *route = ctx;
    ingest_http_t *ih = route->ih;
    long long arrived = mono_us();
    ingest_err_t err;
    memset(&err, 0, sizeof(err));
    body_form_t form;
    if (body_form_of(req, route->format, &form, &err) != 0) {
        send_batch_error(ih, route, &form, req, &err);
        return 0;
    }
    if (ingest_writer_db_down(ih->writer)) {
        send_error(route, &form, req, 503, "unavailable", "database unavailable; retry later", NULL);
        return 0;
    }
    size_t max_body = (size_t)ih->cfg->max_body_bytes;
    buf_t plain;
    buf_init(&plain, max_body);
    const char *body = req->entity.base;
    size_t len = req->entity.len;
    if (form.compressed) {
        if (decompress(&form, req, max_body, &plain, &err) != 0) {
            buf_dispose(&plain);
            send_batch_error(ih, route, &form, req, &err);
            return 0;
        }
        body = plain.data ? plain.data : "";
        len = plain.len;
    }
    http_job_t *hj = xcalloc(1, sizeof(*hj));
    hj->route = route;
    hj->form = form;
    ingest_job_t *job = &hj->job;
    const config_t *cfg = ih->cfg;
    ingest_limits_t limits =
        ingest_limits_of((size_t)cfg->max_batch_records, max_body * 4, cfg->retention_days,
                         cfg->ingest_max_future_s, now_ms() * 1000000LL);
    limits.redact = cfg->redact_at_ingest;
    int rc = parse(route, &form, body, len, &limits, &job->batch, &err);
    buf_dispose(&plain);
    if (rc != 0) {
        free(hj);
        send_batch_error(ih, route, &form, req, &err);
        return 0;
    }
    if (job->batch.records == 0) {
        send_success(route, &form, req, &job->batch, 0, 0);
        ingest_batch_dispose(&job->batch);
        free(hj);
        return 0;
    }
    job->arrived_us = arrived;
    httpd_job_attach(&job->super, req, m->request_id, on_written);
    if (ingest_writer_submit(ih->writer, job) != 0) {
        /* The writers are saturated: refuse now rather than hold memory without bound. */
        httpd_job_detach(&job->super);
        atomic_fetch_add(&ih->stats->batches_rejected[route->kind], 1);
        send_error(route, &form, req, 503, "overloaded", "ingest queue full; retry later", NULL);
        ingest_batch_dispose(&job->batch);
        free(hj);
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
        if (r->format == FORMAT_OTLP) httpd_route_on_error(h, on_otlp_refusal);
    }
}
