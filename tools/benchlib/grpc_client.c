/* h2c unary gRPC client for the benchmarks (see grpc_client.h), on the shared HTTP/2 client (h2c.h). */
#include "grpc_client.h"
#include "h2c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_WINDOW (1 << 20)

struct grpc_client {
    h2c_t *h2c;
    h2c_req_t req;
    char *path, *auth;
    char error[256];
};

grpc_client_t *grpc_client_connect(int port, const char *path, const char *key, int gzip, char *err,
                                   size_t errlen)
{
    h2c_opts_t o = {.stream_window = STREAM_WINDOW};
    h2c_t *h = h2c_connect(port, &o, err, errlen);
    if (h == NULL) return NULL;
    grpc_client_t *c = calloc(1, sizeof(*c));
    if (c == NULL) abort();
    c->h2c = h;
    c->path = strdup(path);
    if (c->path == NULL) abort();
    c->req.path = c->path;
    if (gzip) c->req.encoding = "gzip";
    if (key != NULL) {
        size_t n = strlen(key) + 8;
        c->auth = malloc(n);
        if (c->auth == NULL) abort();
        snprintf(c->auth, n, "Bearer %s", key);
        c->req.auth_name = "authorization";
        c->req.auth_value = c->auth;
    }
    return c;
}

/* A closed call's slot: its latency, and the first failure's status. */
static void call_done(grpc_client_t *c, h2c_stream_t *s, size_t index, double *latencies, int *failed)
{
    if (latencies) latencies[index] = s->closed_s - s->submitted_s;
    if (s->close_error != 0 || s->grpc_status != 0) {
        if ((*failed)++ == 0)
            snprintf(c->error, sizeof(c->error), "grpc-status %d (h2 error %u): %.160s", s->grpc_status,
                     s->close_error, s->grpc_message);
    }
    h2c_stream_dispose(s);
}

int grpc_client_run(grpc_client_t *c, const grpc_client_msg_t *msgs, size_t n, int inflight,
                    double *latencies)
{
    if (c->h2c == NULL) { /* a run failed before: the connection was dropped */
        snprintf(c->error, sizeof(c->error), "connection failed");
        return -1;
    }
    size_t slots = inflight > 0 ? (size_t)inflight : 1;
    h2c_stream_t *calls = calloc(slots, sizeof(*calls));
    size_t *index = calloc(slots, sizeof(*index));
    int *busy = calloc(slots, sizeof(*busy));
    if (calls == NULL || index == NULL || busy == NULL) abort();
    size_t sent = 0, done = 0;
    int failed = 0, rc = -1;
    while (done < n) {
        for (size_t k = 0; k < slots && sent < n; k++) {
            if (busy[k]) continue;
            if (h2c_submit(c->h2c, &c->req, msgs[sent].data, msgs[sent].len, &calls[k]) != 0) goto out;
            index[k] = sent++;
            busy[k] = 1;
        }
        if (h2c_pump(c->h2c, -1) != 0) goto out;
        /* a slot is reused once its stream is closed: nghttp2 holds it until then */
        for (size_t k = 0; k < slots; k++) {
            if (!busy[k] || !calls[k].closed) continue;
            call_done(c, &calls[k], index[k], latencies, &failed);
            busy[k] = 0;
            done++;
        }
    }
    rc = failed;
out:
    if (rc < 0) snprintf(c->error, sizeof(c->error), "connection failed");
    if (rc < 0) { /* streams still open: the connection is unusable, drop it with them */
        h2c_free(c->h2c);
        c->h2c = NULL;
    }
    for (size_t k = 0; k < slots; k++)
        h2c_stream_dispose(&calls[k]);
    free(calls);
    free(index);
    free(busy);
    return rc;
}

const char *grpc_client_error(const grpc_client_t *c)
{
    return c->error;
}

void grpc_client_free(grpc_client_t *c)
{
    if (c == NULL) return;
    h2c_free(c->h2c);
    free(c->path);
    free(c->auth);
    free(c);
}
