/* The HTTP server shared by the backend, the pipeline and the fake services: H2O event loops (one per
 * thread, all sharing one listening socket per port of the server: listen.h), a method+path router
 * with {param} segments, per-route API-key checks, CORS for the routes browsers may call,
 * X-Request-Id on every answer, JSON responses, request counters, and
 * "jobs": work handed to other threads whose result is answered back on the request's loop thread
 * through H2O's multithread messages, safely even when the client has gone away meanwhile. */
#ifndef PS_HTTPD_H
#define PS_HTTPD_H

#include "auth.h"
#include "buf.h"
#include "listen.h"

#include <h2o.h>
#include <jansson.h>

typedef struct httpd httpd_t;
typedef struct httpd_thread httpd_thread_t;

#define HTTPD_MAX_PARAMS 4
#define HTTPD_MAX_PORTS 4 /* opts.port and the ports added with httpd_add_port() */
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
    const char *static_dir;   /* served at / when it exists; may be NULL */
    int max_connections;      /* open connections per loop thread; more are closed at once; 0: unlimited */
    int rate_per_key;         /* requests per second per API key (token bucket, burst 2 s); 0: unlimited */
    int request_timeout_ms;   /* a client slower than this to send its request is dropped (slowloris); 0: 10 s
                               */
    const char *bind_addr;    /* IPv4 or IPv6 literal every port binds (BIND_ADDR); NULL: 127.0.0.1 */
    const char *cors_origins; /* origins allowed on CORS routes, cors.h syntax; NULL or "": no CORS */
    /* Borrowed; NULL: none of this. Per client address over all ports and threads of the server: past
     * max_connections_per_addr open connections a new one is closed at once; past
     * auth_failures_per_min failed key checks in a minute every request to a route with keys gets 429
     * (Retry-After: the rest of the minute; the connection is closed after it). With tls_cert_file and
     * tls_key_file every port speaks HTTPS only (TLS 1.2+, HTTP/1.1). */
    const listen_edge_t *edge;
} httpd_opts_t;

/* The server borrows the strings of `opts`. */
httpd_t *httpd_create(const httpd_opts_t *opts);
/* Registers a route before httpd_start(). `keys` NULL means no key is needed; otherwise a request
 * needs `Authorization: Bearer <key>` or `X-API-Key: <key>` from the set, else 401. Patterns are
 * literal segments and {name} segments, e.g. "/query/incidents/{id}". `ctx` is borrowed. */
void httpd_route(httpd_t *h, const char *method, const char *pattern, const keyset_t *keys,
                 httpd_handler_fn fn, void *ctx);
/* Registers a route that browsers may call from another origin (CORS), e.g. the OTLP/HTTP and ingest
 * routes for browser exporters; otherwise like httpd_route(). On every path such a route matches:
 *  - an OPTIONS preflight needs no key: from an Origin listed in opts.cors_origins it answers 204 with
 *    Access-Control-Allow-Methods (the CORS routes' methods on the path, then OPTIONS),
 *    Access-Control-Allow-Headers (cors_allow_headers()) and Access-Control-Max-Age; from any other
 *    Origin (or without one, or with CORS off) 403 without CORS headers;
 *  - every answer to an allowed Origin (errors too: 401, 413, 429, 503, H2O's own 413) carries
 *    Access-Control-Allow-Origin (the Origin echoed) and Vary: Origin.
 * Without opts.cors_origins the route behaves as a plain one and preflights answer 403. */
void httpd_route_cors(httpd_t *h, const char *method, const char *pattern, const keyset_t *keys,
                      httpd_handler_fn fn, void *ctx);
/* Answers the errors httpd itself gives on a route (401 key missing or not valid, 429 over the rate) in
 * the route's own format, e.g. OTLP's google.rpc.Status. Runs on the loop thread; must answer.
 * Headers httpd adds (WWW-Authenticate, Retry-After) are already set. */
typedef void (*httpd_error_fn)(void *ctx, h2o_req_t *req, int status, const char *code, const char *message);
/* Sets the error responder of the route registered last (before httpd_start()). */
void httpd_route_on_error(httpd_t *h, httpd_error_fn fn);
/* Adds a port served by the same routes as opts.port on the same address (e.g. OTLP_HTTP_PORT), before
 * httpd_start(). Port 0 adds nothing (a disabled listener). Returns 0, or -1 when the server already
 * has HTTPD_MAX_PORTS ports. */
int httpd_add_port(httpd_t *h, int port);
/* Binds every port (refusing one anybody listens on already, another instance of ours included: err
 * says "cannot listen on ADDR port N: Address already in use") and starts the loop threads. Only
 * HTTP/1.x is served (no h2c upgrade, no ALPN h2): H2O 2.2.5 buffers each request's whole body before
 * any handler runs, and HTTP/1.x holds one request per connection, so a connection holds at most one
 * body of max_body_bytes. Returns 0, or -1 with the reason in err (a TLS file that cannot be loaded is
 * named by its variable, TLS_CERT_FILE or TLS_KEY_FILE). */
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
