/* h2c unary gRPC client for the benchmarks (see grpc_client.h), on nghttp2's client session. */
#include "grpc_client.h"

#include <arpa/inet.h>
#include <nghttp2/nghttp2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RECV_BYTES (256 * 1024)
#define STREAM_WINDOW (1 << 20)
#define MAX_HEADERS 8

struct grpc_client {
    int fd;
    nghttp2_session *session;
    nghttp2_nv headers[MAX_HEADERS];
    size_t nheaders;
    char *path, *auth;
    /* the current run */
    size_t done;
    int failed;
    double *latencies;
    char error[256];
};

/* One call in flight: the request body being sent and, when the call ends, its status. */
typedef struct {
    grpc_client_t *c;
    const grpc_client_msg_t *msg;
    size_t off, index;
    double t0;
    int status; /* grpc-status; -1 until seen */
    char message[160];
} call_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static ssize_t on_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
    (void)s;
    (void)flags;
    grpc_client_t *c = ud;
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    return n < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : n;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    (void)flags;
    (void)ud;
    call_t *call = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (call == NULL) return 0;
    if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0)
        call->status = atoi((const char *)value); /* nghttp2 NUL-terminates header values */
    else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0)
        snprintf(call->message, sizeof(call->message), "%.*s", (int)valuelen, value);
    return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t error_code, void *ud)
{
    grpc_client_t *c = ud;
    call_t *call = nghttp2_session_get_stream_user_data(s, id);
    if (call == NULL) return 0;
    if (c->latencies) c->latencies[call->index] = now_s() - call->t0;
    if (error_code != 0 || call->status != 0) {
        if (c->failed++ == 0)
            snprintf(c->error, sizeof(c->error), "grpc-status %d (h2 error %u): %s", call->status, error_code,
                     call->message);
    }
    c->done++;
    free(call);
    return 0;
}

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)id;
    (void)ud;
    call_t *call = src->ptr;
    size_t left = call->msg->len - call->off, n = left < len ? left : len;
    memcpy(buf, call->msg->data + call->off, n);
    call->off += n;
    if (call->off == call->msg->len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static void add_header(grpc_client_t *c, const char *name, const char *value)
{
    c->headers[c->nheaders++] =
        (nghttp2_nv){(uint8_t *)name, (uint8_t *)value, strlen(name), strlen(value), NGHTTP2_NV_FLAG_NONE};
}

grpc_client_t *grpc_client_connect(int port, const char *path, const char *key, int gzip, char *err,
                                   size_t errlen)
{
    grpc_client_t *c = calloc(1, sizeof(*c));
    if (c == NULL) abort();
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        snprintf(err, errlen, "connect to port %d failed", port);
        if (c->fd >= 0) close(c->fd);
        free(c);
        return NULL;
    }
    c->path = strdup(path);
    add_header(c, ":method", "POST");
    add_header(c, ":scheme", "http");
    add_header(c, ":authority", "127.0.0.1");
    add_header(c, ":path", c->path);
    add_header(c, "content-type", "application/grpc");
    add_header(c, "te", "trailers");
    if (gzip) add_header(c, "grpc-encoding", "gzip");
    if (key != NULL) {
        size_t n = strlen(key) + 8;
        c->auth = malloc(n);
        snprintf(c->auth, n, "Bearer %s", key);
        add_header(c, "authorization", c->auth);
    }
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, on_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    nghttp2_session_client_new(&c->session, cb, c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW}};
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, 1);
    return c;
}

static int submit(grpc_client_t *c, const grpc_client_msg_t *msg, size_t index)
{
    call_t *call = calloc(1, sizeof(*call));
    if (call == NULL) abort();
    *call = (call_t){.c = c, .msg = msg, .index = index, .t0 = now_s(), .status = -1};
    nghttp2_data_provider dp = {.source.ptr = call, .read_callback = read_body};
    if (nghttp2_submit_request(c->session, NULL, c->headers, c->nheaders, &dp, call) < 0) {
        free(call);
        return -1;
    }
    return 0;
}

int grpc_client_run(grpc_client_t *c, const grpc_client_msg_t *msgs, size_t n, int inflight,
                    double *latencies)
{
    uint8_t *rbuf = malloc(RECV_BYTES);
    size_t sent = 0;
    int rc = -1;
    c->done = 0;
    c->failed = 0;
    c->latencies = latencies;
    while (c->done < n) {
        while (sent < n && sent - c->done < (size_t)inflight) {
            if (submit(c, &msgs[sent], sent) != 0) goto out;
            sent++;
        }
        if (nghttp2_session_send(c->session) != 0) goto out;
        ssize_t got = recv(c->fd, rbuf, RECV_BYTES, 0);
        if (got <= 0 || nghttp2_session_mem_recv(c->session, rbuf, (size_t)got) < 0) goto out;
    }
    rc = c->failed;
out:
    if (rc < 0) snprintf(c->error, sizeof(c->error), "connection failed");
    c->latencies = NULL;
    free(rbuf);
    return rc;
}

const char *grpc_client_error(const grpc_client_t *c)
{
    return c->error;
}

void grpc_client_free(grpc_client_t *c)
{
    if (c == NULL) return;
    nghttp2_session_del(c->session);
    close(c->fd);
    free(c->path);
    free(c->auth);
    free(c);
}
