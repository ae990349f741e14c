/* The HTTP server shared by the backend, the pipeline and the fake services: H2O event loops (one per
 * thread, each with its own SO_REUSEPORT listener), a method+path router with {param} segments,
 * per-route API-key checks, X-Request-Id on every answer, JSON responses, request counters, and
 * "jobs": work handed to other threads whose result is answered back on the request's loop thread
 * through H2O's multithread messages, safely even when the client has gone away meanwhile. */
#ifndef PS_HTTPD_H
#define PS_HTTPD_H

#include "auth.h"
#include "buf.h"

#include <h2o.h>
#include <jansson.h>

typedef struct httpd httpd_t;
typedef struct httpd_thread httpd_thread_t;

#define HTTPD_MAX_PARAMS 4
#define HTTPD_REQUEST_ID_LEN 64

typedef struct {
    h2o_iovec_t params[HTTPD_MAX_PARAMS]; /* the {x} segments of the pattern, borrowed from the request */
    int nparams;
    const char *request_id; /* lives as long as the request */
    int route_index;
} httpd_match_t;

/* A route handler runs on a loop thread; it must answer (now or through a job) and return 0.
 * `ctx` is the pointer given to httpd_route(). */
typedef int (*httpd_handler_fn)(void *ctx, h2o_req_t *req, const httpd_match_t *m);

typedef struct {
    const char *program;
    int port;
    int threads;
    size_t max_body_bytes;
    const char *static_dir; /* served at / when it exists; may be NULL */
    int max_connections;    /* open connections per loop thread; more are closed at once; 0: unlimited */
    int rate_per_key;       /* requests per second per API key (token bucket, burst 2 s); 0: unlimited */
    int request_timeout_ms; /* a client slower than this to send its request is dropped (slowloris); 0: 10 s
                             */
} httpd_opts_t;

/* The server borrows the strings of `opts`. */
httpd_t *httpd_create(const httpd_opts_t *opts);
/* Registers a route before httpd_start(). `keys` NULL means no key is needed; otherwise a request
 * needs `Authorization: Bearer <key>` or `X-API-Key: <key>` from the set, else 401. Patterns are
 * literal segments and {name} segments, e.g. "/query/incidents/{id}". `ctx` is borrowed. */
void httpd_route(httpd_t *h, const char *method, const char *pattern, const keyset_t *keys,
                 httpd_handler_fn fn, void *ctx);
/* Binds and starts the loop threads. Returns 0, or -1 with the reason in err. */
int httpd_start(httpd_t *h, char *err, size_t errlen);
/* Stops the loops and joins the threads; safe to call once after httpd_start(). */
void httpd_stop(httpd_t *h);
void httpd_free(httpd_t *h);
/* Appends Prometheus lines for requests by route and status. Any thread. */
void httpd_write_metrics(httpd_t *h, buf_t *out);

/* ---- answers (loop thread only) ---- */
/* Takes ownership of `body`. */
void httpd_send_json(h2o_req_t *req, int status, json_t *body);
/* {"error":{"code":code,"message":message[,"path":path]}}; path may be NULL. */
void httpd_send_error(h2o_req_t *req, int status, const char *code, const char *message, const char *path);
/* Copies `body` into the request's pool. */
void httpd_send_text(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len);
void httpd_add_header(h2o_req_t *req, const char *name, const char *value);
/* Query-string parameter `name`, URL-decoded into the request pool; NULL when absent. */
const char *httpd_query_param(h2o_req_t *req, const char *name);

/* ---- jobs: work done elsewhere, answered on the loop thread ---- */
typedef struct httpd_job httpd_job_t;
/* Runs on the request's loop thread. `req` is NULL when the client went away; the callback owns
 * `job` and frees it. */
typedef void (*httpd_job_done_fn)(httpd_job_t *job, h2o_req_t *req);

struct httpd_job {
    h2o_multithread_message_t msg;
    httpd_thread_t *thread;
    h2o_req_t *req; /* loop thread only */
    void *anchor;
    httpd_job_done_fn on_done;
    char request_id[HTTPD_REQUEST_ID_LEN + 1];
};

/* Ties `job` (usually embedded first in a larger struct) to `req`. Loop thread only. */
void httpd_job_attach(httpd_job_t *job, h2o_req_t *req, const char *request_id, httpd_job_done_fn on_done);
/* Unties a job that will not be finished (e.g. it could not be queued); the caller answers the request
 * itself and frees the job. Loop thread only. */
void httpd_job_detach(httpd_job_t *job);
/* Hands the job back to its loop thread, which calls on_done. Any thread; call exactly once. */
void httpd_job_finish(httpd_job_t *job);

#endif
