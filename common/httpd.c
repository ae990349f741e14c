/* H2O server plumbing shared by every program (see httpd.h). */
#include "httpd.h"
#include "alloc.h"
#include "cors.h"
#include "listen.h"
#include "log.h"
#include "peerlimit.h"
#include "ratelimit.h"
#include "tlsctx.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/ssl.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#define MAX_ROUTES 64
#define MAX_PREFIXES 16

/* Status codes we count per route; anything else lands in the last slot. */
static const int counted_statuses[] = {200, 201, 202, 204, 400, 401, 403, 404,
                                       405, 409, 413, 415, 429, 500, 502, 503};
#define N_STATUS (sizeof(counted_statuses) / sizeof(*counted_statuses) + 1)

typedef struct {
    char method[8];
    char pattern[128];
    const keyset_t *keys;
    httpd_handler_fn fn;
    void *ctx;
    int cors;                /* browsers may call it cross-origin (httpd_route_cors) */
    httpd_error_fn on_error; /* NULL: httpd_send_error() */
    _Atomic unsigned long counts[N_STATUS];
} route_t;

struct httpd_thread {
    h2o_context_t ctx;    /* first, so a request's conn->ctx leads back here */
    ratelimit_t rate;     /* token buckets per (route key set, key index): this thread's share of the rate */
    int open_connections; /* loop thread only */
    h2o_accept_ctx_t accept;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t replies;
    h2o_socket_t *listeners[HTTPD_MAX_PORTS];
    int fds[HTTPD_MAX_PORTS]; /* per port of the server: this thread's duplicate of its one socket */
    pthread_t tid;
    httpd_t *server;
};

typedef struct {
    h2o_handler_t super;
    httpd_t *server;
} router_handler_t;

typedef struct {
    h2o_logger_t super;
    httpd_t *server;
} counter_logger_t;

typedef struct {
    h2o_filter_t super;
    httpd_t *server;
} cors_filter_t;

struct httpd {
    h2o_globalconf_t conf;
    httpd_opts_t opts;
    route_t routes[MAX_ROUTES];
    size_t nroutes;
    int ports[HTTPD_MAX_PORTS];
    int nports;
    cors_origins_t *cors; /* NULL: CORS off */
    peerlimit_t *peers;   /* per-address connections and failed authentications, all threads */
    SSL_CTX *ssl_ctx;     /* NULL: cleartext */
    _Atomic unsigned long unrouted[N_STATUS];
    httpd_thread_t *threads;
    int started;
    atomic_int stopping;
};

/* ---------------- routing ---------------- */

/* Matches `path` (no query) against a pattern; fills params. */
static int pattern_match(const char *pattern, const char *path, size_t path_len, httpd_match_t *m)
{
    const char *p = pattern, *s = path, *end = path + path_len;
    m->nparams = 0;
    while (*p && s < end) {
        if (*p != '/' || *s != '/') return 0;
        p++, s++;
        const char *seg = s;
        while (s < end && *s != '/')
            s++;
        size_t seglen = (size_t)(s - seg);
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (close == NULL || seglen == 0 || m->nparams >= HTTPD_MAX_PARAMS) return 0;
            m->params[m->nparams++] = h2o_iovec_init(seg, seglen);
            p = close + 1;
        } else {
            const char *pend = strchr(p, '/');
            size_t plen = pend ? (size_t)(pend - p) : strlen(p);
            if (plen != seglen || memcmp(p, seg, plen) != 0) return 0;
            p += plen;
        }
    }
    /* a trailing slash on the request is tolerated */
    if (*p == '\0' && s + 1 == end && *s == '/') return 1;
    return *p == '\0' && s == end;
}

static size_t path_len_of(h2o_req_t *req)
{
    return req->query_at != SIZE_MAX ? req->query_at : req->path.len;
}

static int find_route(httpd_t *h, h2o_req_t *req, httpd_match_t *m, int *path_known)
{
    *path_known = 0;
    size_t plen = path_len_of(req);
    for (size_t i = 0; i < h->nroutes; i++) {
        if (!pattern_match(h->routes[i].pattern, req->path.base, plen, m)) continue;
        *path_known = 1;
        if (h2o_memis(req->method.base, req->method.len, h->routes[i].method, strlen(h->routes[i].method)) ||
            (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")) &&
             strcmp(h->routes[i].method, "GET") == 0)) {
            m->route_index = (int)i;
            return (int)i;
        }
    }
    return -1;
}

static void allow_header(httpd_t *h, h2o_req_t *req)
{
    char allow[64] = "";
    httpd_match_t m;
    for (size_t i = 0; i < h->nroutes; i++) {
        if (!pattern_match(h->routes[i].pattern, req->path.base, path_len_of(req), &m)) continue;
        if (strstr(allow, h->routes[i].method)) continue;
        if (*allow) strncat(allow, ", ", sizeof(allow) - strlen(allow) - 1);
        strncat(allow, h->routes[i].method, sizeof(allow) - strlen(allow) - 1);
    }
    httpd_add_header(req, "Allow", allow);
}

static int bearer_key(h2o_req_t *req, h2o_iovec_t *key)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i != -1) {
        h2o_iovec_t v = req->headers.entries[i].value;
        if (v.len > 7 && h2o_lcstris(v.base, 7, H2O_STRLIT("bearer "))) {
            *key = h2o_iovec_init(v.base + 7, v.len - 7);
            while (key->len && key->base[0] == ' ')
                key->base++, key->len--;
            return 1;
        }
    }
    i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-api-key"), -1);
    if (i != -1) {
        *key = req->headers.entries[i].value;
        return 1;
    }
    return 0;
}

static int request_id_ok(h2o_iovec_t v)
{
    if (v.len == 0 || v.len > HTTPD_REQUEST_ID_LEN) return 0;
    for (size_t i = 0; i < v.len; i++) {
        char c = v.base[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.' || c == ':'))
            return 0;
    }
    return 1;
}

/* Takes the caller's X-Request-Id when it is sane, else makes one; echoes it on the answer. */
static const char *assign_request_id(h2o_req_t *req)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    h2o_iovec_t id;
    if (i != -1 && request_id_ok(req->headers.entries[i].value)) {
        id = h2o_strdup(&req->pool, req->headers.entries[i].value.base, req->headers.entries[i].value.len);
    } else {
        uuid_t u;
        uuid_generate(u);
        id.base = h2o_mem_alloc_pool(&req->pool, 37);
        uuid_unparse_lower(u, id.base);
        id.len = 36;
    }
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, "X-Request-Id",
                          id.base, id.len);
    return id.base;
}

static long long now_ms_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void route_error(const route_t *route, h2o_req_t *req, int status, const char *code,
                        const char *message)
{
    if (route->on_error)
        route->on_error(route->ctx, req, status, code, message);
    else
        httpd_send_error(req, status, code, message, NULL);
}

/* 1 when the key may make one more request now. Each loop thread gets its share of the rate because
 * connections spread over the threads; no locks. */
static int rate_allows(httpd_t *h, h2o_req_t *req, const keyset_t *keys, int index)
{
    httpd_thread_t *t = (httpd_thread_t *)req->conn->ctx;
    double rate = (double)h->opts.rate_per_key / (double)(h->opts.threads > 0 ? h->opts.threads : 1);
    return ratelimit_allow(&t->rate, keys, index, rate, now_ms_mono());
}

/* ---------------- CORS ---------------- */

/* 1 when a CORS route matches the request's path, whatever its method. */
static int cors_path(httpd_t *h, h2o_req_t *req)
{
    httpd_match_t m;
    for (size_t i = 0; i < h->nroutes; i++)
        if (h->routes[i].cors && pattern_match(h->routes[i].pattern, req->path.base, path_len_of(req), &m))
            return 1;
    return 0;
}

/* The request's Origin when CORS applies to it: a CORS path and an allowed Origin. */
static int cors_origin(httpd_t *h, h2o_req_t *req, h2o_iovec_t *origin)
{
    if (h->cors == NULL || req->path.base == NULL) return 0;
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1);
    if (i == -1) return 0;
    *origin = req->headers.entries[i].value;
    return cors_origin_allowed(h->cors, origin->base, origin->len) && cors_path(h, req);
}

/* Runs as every answer starts (handlers' and H2O's own errors alike), so that all of them carry the
 * CORS headers a browser needs to read them. */
static void on_cors_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    httpd_t *h = ((cors_filter_t *)self)->server;
    h2o_iovec_t origin;
    if (cors_origin(h, req, &origin)) {
        h2o_iovec_t o = h2o_strdup(&req->pool, origin.base, origin.len);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ACCESS_CONTROL_ALLOW_ORIGIN, NULL, o.base,
                       o.len);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_VARY, NULL, H2O_STRLIT("Origin"));
    }
    h2o_setup_next_ostream(req, slot);
}

/* Answers an OPTIONS preflight on a CORS path (no key needed): 204 with what the browser may send, or
 * 403 for an Origin not allowed. Access-Control-Allow-Origin comes from the filter above. */
static void send_preflight(httpd_t *h, h2o_req_t *req)
{
    h2o_iovec_t origin;
    if (!cors_origin(h, req, &origin)) {
        httpd_send_error(req, 403, "cors_origin_not_allowed",
                         "cross-origin requests from this Origin are not allowed (CORS_ALLOWED_ORIGINS)",
                         NULL);
        return;
    }
    char methods[64] = "", headers[256];
    httpd_match_t m;
    for (size_t i = 0; i < h->nroutes; i++) {
        route_t *r = &h->routes[i];
        if (!r->cors || strstr(methods, r->method) ||
            !pattern_match(r->pattern, req->path.base, path_len_of(req), &m))
            continue;
        size_t used = strlen(methods);
        snprintf(methods + used, sizeof(methods) - used, "%s, ", r->method);
    }
    size_t used = strlen(methods);
    snprintf(methods + used, sizeof(methods) - used, "OPTIONS");
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("access-control-request-headers"), -1);
    h2o_iovec_t asked = i != -1 ? req->headers.entries[i].value : h2o_iovec_init(NULL, 0);
    if (cors_allow_headers(asked.base, asked.len, headers, sizeof(headers)) != 0)
        snprintf(headers, sizeof(headers), "%s", CORS_BASE_HEADERS);
    httpd_add_header(req, "Access-Control-Allow-Methods", methods);
    httpd_add_header(req, "Access-Control-Allow-Headers", headers);
    httpd_add_header(req, "Access-Control-Max-Age", CORS_MAX_AGE);
    static h2o_generator_t generator = {NULL, NULL};
    req->res.status = 204;
    req->res.reason = "No Content";
    req->res.content_length = 0;
    h2o_start_response(req, &generator);
    h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
}

/* ---------------- dispatch ---------------- */

static int on_router_req(h2o_handler_t *self, h2o_req_t *req)
{
    httpd_t *h = ((router_handler_t *)self)->server;
    httpd_match_t m;
    memset(&m, 0, sizeof(m));
    m.route_index = -1;
    m.request_id = assign_request_id(req);
    int known;
    int r = find_route(h, req, &m, &known);
    if (r < 0 && h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS")) && cors_path(h, req)) {
        send_preflight(h, req);
        return 0;
    }
    if (r < 0) {
        if (known) {
            allow_header(h, req);
            httpd_send_error(req, 405, "method_not_allowed", "method not allowed on this path", NULL);
        } else {
            httpd_send_error(req, 404, "not_found", "no such path", NULL);
        }
        return 0;
    }
    route_t *route = &h->routes[r];
    if (route->keys != NULL) {
        struct sockaddr_storage peer;
        struct sockaddr *sa = (struct sockaddr *)&peer;
        if (req->conn->callbacks->get_peername(req->conn, sa) == 0) sa = NULL;
        int wait_s = peerlimit_auth_blocked(h->peers, sa, peerlimit_now_ms());
        if (wait_s > 0) {
            char retry[16];
            snprintf(retry, sizeof(retry), "%d", wait_s);
            httpd_add_header(req, "Retry-After", retry);
            req->http1_is_persistent = 0; /* the connection goes with the answer */
            route_error(route, req, 429, "too_many_auth_failures",
                        "too many failed authentications from this address; retry later");
            return 0;
        }
        h2o_iovec_t key;
        int index = bearer_key(req, &key) ? keyset_find(route->keys, key.base, key.len) : -2;
        if (index < 0) {
            peerlimit_auth_failed(h->peers, sa, peerlimit_now_ms());
            httpd_add_header(req, "WWW-Authenticate", "Bearer");
            route_error(route, req, 401, "unauthorized",
                        index == -2 ? "missing API key (Authorization: Bearer <key>)"
                                    : "API key not valid for this endpoint");
            return 0;
        }
        if (!rate_allows(h, req, route->keys, index)) {
            httpd_add_header(req, "Retry-After", "1");
            route_error(route, req, 429, "rate_limited", "too many requests for this API key; retry later");
            return 0;
        }
    }
    return route->fn(route->ctx, req, &m);
}

/* Counts every finished request by route and status (runs when H2O logs the access). */
static void on_access(h2o_logger_t *self, h2o_req_t *req)
{
    httpd_t *h = ((counter_logger_t *)self)->server;
    size_t slot = N_STATUS - 1;
    for (size_t i = 0; i + 1 < N_STATUS; i++)
        if (counted_statuses[i] == req->res.status) slot = i;
    httpd_match_t m;
    int known;
    int r = find_route(h, req, &m, &known);
    if (r >= 0)
        atomic_fetch_add(&h->routes[r].counts[slot], 1);
    else
        atomic_fetch_add(&h->unrouted[slot], 1);
}

void httpd_write_metrics(httpd_t *h, buf_t *out)
{
    buf_append_str(out, "# HELP http_requests_total HTTP requests by route and status.\n"
                        "# TYPE http_requests_total counter\n");
    for (size_t r = 0; r <= h->nroutes; r++) {
        _Atomic unsigned long *counts = r < h->nroutes ? h->routes[r].counts : h->unrouted;
        for (size_t i = 0; i < N_STATUS; i++) {
            unsigned long n = atomic_load(&counts[i]);
            if (n == 0) continue;
            char status[8];
            if (i + 1 < N_STATUS)
                snprintf(status, sizeof(status), "%d", counted_statuses[i]);
            else
                snprintf(status, sizeof(status), "other");
            if (r < h->nroutes)
                buf_printf(out, "http_requests_total{method=\"%s\",route=\"%s\",status=\"%s\"} %lu\n",
                           h->routes[r].method, h->routes[r].pattern, status, n);
            else
                buf_printf(out, "http_requests_total{route=\"unmatched\",status=\"%s\"} %lu\n", status, n);
        }
    }
}

/* ---------------- answers ---------------- */

void httpd_add_header(h2o_req_t *req, const char *name, const char *value)
{
    size_t n = strlen(name);
    char *lower = h2o_mem_alloc_pool(&req->pool, n + 1);
    for (size_t i = 0; i <= n; i++)
        lower[i] = (char)h2o_tolower(name[i]);
    /* H2O keeps the pointers until the response is written: copy both into the request's pool */
    h2o_iovec_t v = h2o_strdup(&req->pool, value, strlen(value));
    h2o_iovec_t orig = h2o_strdup(&req->pool, name, n);
    h2o_add_header_by_str(&req->pool, &req->res.headers, lower, n, 1, orig.base, v.base, v.len);
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

void httpd_send_text(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len)
{
    static h2o_generator_t generator = {NULL, NULL};
    h2o_iovec_t b = h2o_strdup(&req->pool, body, len);
    req->res.status = status;
    req->res.reason = reason_phrase(status);
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type,
                   strlen(content_type));
    h2o_start_response(req, &generator);
    h2o_send(req, &b, 1, 1);
}

void httpd_send_json(h2o_req_t *req, int status, json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (s == NULL) {
        httpd_send_text(req, 500, "application/json", "{\"error\":{\"code\":\"internal\"}}", 29);
        return;
    }
    httpd_send_text(req, status, "application/json", s, strlen(s));
    free(s);
}

void httpd_send_error(h2o_req_t *req, int status, const char *code, const char *message, const char *path)
{
    json_t *e = json_object();
    json_object_set_new(e, "code", json_string(code));
    json_t *msg = json_string(message);
    json_object_set_new(e, "message", msg ? msg : json_string("(not valid UTF-8)"));
    if (path) {
        json_t *p = json_string(path);
        json_object_set_new(e, "path", p ? p : json_string("?"));
    }
    json_t *o = json_object();
    json_object_set_new(o, "error", e);
    httpd_send_json(req, status, o);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

const char *httpd_query_param(h2o_req_t *req, const char *name)
{
    if (req->query_at == SIZE_MAX) return NULL;
    const char *q = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    size_t nlen = strlen(name);
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        if (amp == NULL) amp = end;
        const char *eq = memchr(q, '=', (size_t)(amp - q));
        const char *kend = eq ? eq : amp;
        if ((size_t)(kend - q) == nlen && memcmp(q, name, nlen) == 0) {
            const char *v = eq ? eq + 1 : amp;
            size_t vlen = (size_t)(amp - v);
            char *out = h2o_mem_alloc_pool(&req->pool, vlen + 1);
            size_t o = 0;
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] == '+') {
                    out[o++] = ' ';
                } else if (v[i] == '%' && i + 2 < vlen && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0) {
                    out[o++] = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
                    i += 2;
                } else {
                    out[o++] = v[i];
                }
            }
            out[o] = '\0';
            return out;
        }
        q = amp + 1;
    }
    return NULL;
}

/* ---------------- jobs ---------------- */

typedef struct {
    httpd_job_t *job;
} job_anchor_t;

static void on_anchor_dispose(void *p)
{
    job_anchor_t *a = p;
    if (a->job) a->job->req = NULL;
}

void httpd_job_attach(httpd_job_t *job, h2o_req_t *req, const char *request_id, httpd_job_done_fn on_done)
{
    memset(&job->msg, 0, sizeof(job->msg));
    job->thread = (httpd_thread_t *)req->conn->ctx;
    job->req = req;
    job->on_done = on_done;
    snprintf(job->request_id, sizeof(job->request_id), "%s", request_id ? request_id : "");
    job_anchor_t *a = h2o_mem_alloc_shared(&req->pool, sizeof(*a), on_anchor_dispose);
    a->job = job;
    job->anchor = a;
}

void httpd_job_detach(httpd_job_t *job)
{
    if (job->req != NULL) ((job_anchor_t *)job->anchor)->job = NULL;
    job->req = NULL;
}

void httpd_job_finish(httpd_job_t *job)
{
    h2o_multithread_send_message(&job->thread->replies, &job->msg);
}

static void on_replies(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *msg =
            H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&msg->link);
        httpd_job_t *job = H2O_STRUCT_FROM_MEMBER(httpd_job_t, msg, msg);
        h2o_req_t *req = job->req;
        if (req != NULL) ((job_anchor_t *)job->anchor)->job = NULL;
        job->on_done(job, req);
    }
}

/* ---------------- server ---------------- */

httpd_t *httpd_create(const httpd_opts_t *opts)
{
    httpd_t *h = xcalloc(1, sizeof(*h));
    h->opts = *opts;
    h->ports[h->nports++] = opts->port;
    return h;
}

static void add_route(httpd_t *h, const char *method, const char *pattern, const keyset_t *keys,
                      httpd_handler_fn fn, void *ctx, int cors)
{
    if (h->nroutes >= MAX_ROUTES) {
        log_error("too many routes; %s %s not registered", method, pattern);
        return;
    }
    route_t *r = &h->routes[h->nroutes++];
    snprintf(r->method, sizeof(r->method), "%s", method);
    snprintf(r->pattern, sizeof(r->pattern), "%s", pattern);
    r->keys = keys;
    r->fn = fn;
    r->ctx = ctx;
    r->cors = cors;
}

void httpd_route(httpd_t *h, const char *method, const char *pattern, const keyset_t *keys,
                 httpd_handler_fn fn, void *ctx)
{
    add_route(h, method, pattern, keys, fn, ctx, 0);
}

void httpd_route_cors(httpd_t *h, const char *method, const char *pattern, const keyset_t *keys,
                      httpd_handler_fn fn, void *ctx)
{
    add_route(h, method, pattern, keys, fn, ctx, 1);
}

void httpd_route_on_error(httpd_t *h, httpd_error_fn fn)
{
    if (h->nroutes > 0) h->routes[h->nroutes - 1].on_error = fn;
}

int httpd_add_port(httpd_t *h, int port)
{
    if (port == 0) return 0;
    if (h->nports >= HTTPD_MAX_PORTS) return -1;
    h->ports[h->nports++] = port;
    return 0;
}

/* What a connection's close must undo; freed when it closes. */
typedef struct {
    httpd_thread_t *thread;
    struct sockaddr_storage peer;
    int counted_peer; /* counted in server->peers */
} conn_note_t;

static void on_connection_closed(void *data)
{
    conn_note_t *note = data;
    note->thread->open_connections--;
    if (note->counted_peer) peerlimit_conn_close(note->thread->server->peers, (struct sockaddr *)&note->peer);
    free(note);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL) return;
    httpd_thread_t *t = listener->data;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock == NULL) return;
    int cap = t->server->opts.max_connections;
    if (cap > 0 && t->open_connections >= cap) {
        /* over the cap: close at once rather than let idle or slow clients starve the others */
        h2o_socket_close(sock);
        return;
    }
    conn_note_t *note = xcalloc(1, sizeof(*note));
    note->thread = t;
    struct sockaddr *sa = (struct sockaddr *)&note->peer;
    if (h2o_socket_getpeername(sock, sa) != 0) {
        if (peerlimit_conn_open(t->server->peers, sa) != 0) {
            free(note); /* this address holds its share of connections already */
            h2o_socket_close(sock);
            return;
        }
        note->counted_peer = 1;
    }
    t->open_connections++;
    sock->on_close.cb = on_connection_closed;
    sock->on_close.data = note;
    h2o_accept(&t->accept, sock);
}

static void *thread_main(void *arg)
{
    httpd_thread_t *t = arg;
    h2o_context_init(&t->ctx, h2o_evloop_create(), &t->server->conf);
    t->accept.ctx = &t->ctx;
    t->accept.hosts = t->server->conf.hosts;
    t->accept.ssl_ctx = t->server->ssl_ctx;
    t->queue = h2o_multithread_create_queue(t->ctx.loop);
    h2o_multithread_register_receiver(t->queue, &t->replies, on_replies);
    for (int i = 0; i < t->server->nports; i++) {
        t->listeners[i] = h2o_evloop_socket_create(t->ctx.loop, t->fds[i], H2O_SOCKET_FLAG_DONT_READ);
        t->listeners[i]->data = t;
        h2o_socket_read_start(t->listeners[i], on_accept);
    }
    while (!atomic_load(&t->server->stopping))
        h2o_evloop_run(t->ctx.loop, 100);
    for (int i = 0; i < t->server->nports; i++) {
        h2o_socket_read_stop(t->listeners[i]);
        h2o_socket_close(t->listeners[i]);
    }
    /* connections still open die with the process; we do not tear the loop down further */
    return NULL;
}

static void add_cors_filter(httpd_t *h, h2o_pathconf_t *pc)
{
    if (h->cors == NULL) return;
    cors_filter_t *f = (cors_filter_t *)h2o_create_filter(pc, sizeof(*f));
    f->super.on_setup_ostream = on_cors_setup_ostream;
    f->server = h;
}

static int register_paths(httpd_t *h)
{
    h2o_hostconf_t *host = h2o_config_register_host(&h->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    /* H2O answers some errors itself (413 over max_request_entity_size, 400) on this path */
    add_cors_filter(h, &host->fallback_path);
    char prefixes[MAX_PREFIXES][64];
    size_t nprefix = 0;
    for (size_t i = 0; i < h->nroutes; i++) {
        char first[64];
        const char *p = h->routes[i].pattern;
        const char *slash = strchr(p + 1, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n >= sizeof(first)) n = sizeof(first) - 1;
        memcpy(first, p, n);
        first[n] = '\0';
        size_t k;
        for (k = 0; k < nprefix; k++)
            if (strcmp(prefixes[k], first) == 0) break;
        if (k == nprefix && nprefix < MAX_PREFIXES) snprintf(prefixes[nprefix++], 64, "%s", first);
    }
    for (size_t k = 0; k < nprefix; k++) {
        h2o_pathconf_t *pc = h2o_config_register_path(host, prefixes[k], 0);
        router_handler_t *rh = (router_handler_t *)h2o_create_handler(pc, sizeof(*rh));
        rh->super.on_req = on_router_req;
        rh->server = h;
        counter_logger_t *lg = (counter_logger_t *)h2o_create_logger(pc, sizeof(*lg));
        lg->super.log_access = on_access;
        lg->server = h;
        add_cors_filter(h, pc);
    }
    h2o_pathconf_t *root = h2o_config_register_path(host, "/", 0);
    add_cors_filter(h, root);
    struct stat st;
    if (h->opts.static_dir && stat(h->opts.static_dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        h2o_file_register(root, h->opts.static_dir, h2o_file_default_index_files, NULL, 0);
    } else {
        router_handler_t *rh = (router_handler_t *)h2o_create_handler(root, sizeof(*rh));
        rh->super.on_req = on_router_req;
        rh->server = h;
    }
    return 0;
}

/* Closes the sockets of threads [0, nthreads) and ports [0, nports) of thread `nthreads`. */
static void close_listeners(httpd_t *h, int nthreads, int nports)
{
    for (int t = 0; t <= nthreads; t++)
        for (int i = 0; i < (t < nthreads ? h->nports : nports); i++)
            close(h->threads[t].fds[i]);
}

/* Opens one socket per port (listen.h: fails when anyone listens there already) and gives each loop
 * thread a duplicate of it, as H2O's own server does without SO_REUSEPORT: every loop watches the same
 * accept queue and whichever wakes first takes a connection (the others find none and wait again).
 * Returns 0, or -1 with every socket closed. */
static int open_listeners(httpd_t *h, int nthreads, char *err, size_t errlen)
{
    for (int i = 0; i < h->nports; i++) {
        h->threads[0].fds[i] = listen_open(h->opts.bind_addr, h->ports[i], err, errlen);
        if (h->threads[0].fds[i] < 0) {
            close_listeners(h, 0, i);
            return -1;
        }
    }
    for (int t = 1; t < nthreads; t++) {
        for (int i = 0; i < h->nports; i++) {
            h->threads[t].fds[i] = fcntl(h->threads[0].fds[i], F_DUPFD_CLOEXEC, 0);
            if (h->threads[t].fds[i] < 0) {
                snprintf(err, errlen, "cannot share the socket of port %d: %s", h->ports[i], strerror(errno));
                close_listeners(h, t, i);
                return -1;
            }
        }
    }
    return 0;
}

/* The server's TLS context from opts.edge's files (tlsctx.h; HTTP/1.1: no ALPN h2), or NULL without
 * them. Returns 0, or -1 with `err` naming the variable at fault. */
static int tls_create(httpd_t *h, char *err, size_t errlen)
{
    return tlsctx_create(h->opts.edge, &h->ssl_ctx, err, errlen);
}

int httpd_start(httpd_t *h, char *err, size_t errlen)
{
    char why[200];
    if (cors_origins_parse(h->opts.cors_origins, &h->cors, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "CORS origins: %s", why);
        return -1;
    }
    if (tls_create(h, err, errlen) != 0) return -1;
    if (h->opts.edge)
        h->peers =
            peerlimit_create(h->opts.edge->max_connections_per_addr, h->opts.edge->auth_failures_per_min);
    h2o_config_init(&h->conf);
    /* HTTP/1.x only: an HTTP/2 connection would hold a buffered body per stream (see httpd.h) */
    h->conf.http1.upgrade_to_http2 = 0;
    h->conf.max_request_entity_size = h->opts.max_body_bytes ? h->opts.max_body_bytes : 1024 * 1024;
    h->conf.server_name = h2o_iovec_init(H2O_STRLIT("prodsentinel"));
    /* a client that takes longer than this to send its request is dropped (slowloris) */
    h->conf.http1.req_timeout =
        (uint64_t)(h->opts.request_timeout_ms > 0 ? h->opts.request_timeout_ms : 10000);
    register_paths(h);
    int n = h->opts.threads > 0 ? h->opts.threads : 1;
    h->threads = xcalloc((size_t)n, sizeof(*h->threads));
    for (int i = 0; i < n; i++)
        h->threads[i].server = h;
    if (open_listeners(h, n, err, errlen) != 0) {
        h2o_config_dispose(&h->conf);
        free(h->threads);
        h->threads = NULL;
        SSL_CTX_free(h->ssl_ctx);
        h->ssl_ctx = NULL;
        peerlimit_free(h->peers);
        h->peers = NULL;
        return -1;
    }
    for (int i = 0; i < n; i++)
        pthread_create(&h->threads[i].tid, NULL, thread_main, &h->threads[i]);
    h->started = n;
    return 0;
}

void httpd_stop(httpd_t *h)
{
    if (h == NULL || !h->started) return;
    atomic_store(&h->stopping, 1);
    for (int i = 0; i < h->started; i++)
        pthread_join(h->threads[i].tid, NULL);
    h->started = 0;
}

void httpd_free(httpd_t *h)
{
    if (h == NULL) return;
    if (h->threads) h2o_config_dispose(&h->conf); /* after the loops stopped: nothing uses it any more */
    free(h->threads);
    cors_origins_free(h->cors);
    /* connections still open at exit keep pointers to both: freed only once the loops are stopped */
    SSL_CTX_free(h->ssl_ctx);
    peerlimit_free(h->peers);
    free(h);
}
