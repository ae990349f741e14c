/* Benchmark of the gRPC unary server (common/grpcd.h) in-process over loopback: `calls` unary calls of
 * a `size`-byte message spread over `conns` connections (one client thread each), `inflight` calls in
 * flight per connection; the handler answers OK with an empty response at once.
 *   Usage: bench-grpcd [calls=1000] [size=204800] [conns=1] [inflight=1] [gzip=0]
 *          bench-grpcd serve SECONDS   (server only, for an outside client such as h2load; prints the port)
 */
#include "grpc_frame.h"
#include "grpcd.h"

#include <arpa/inet.h>
#include <nghttp2/nghttp2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

typedef struct {
    int port, calls, inflight, gzip;
    const uint8_t *body; /* the framed request message */
    size_t body_len;
    int done, sent, failed, fd;
    nghttp2_session *session;
} client_t;

typedef struct {
    const client_t *c;
    size_t off;
} src_t;

static void answer(void *ctx, grpcd_call_t *call, const uint8_t *msg, size_t len)
{
    (void)ctx;
    (void)msg;
    (void)len;
    grpcd_call_finish(call, GRPC_OK, NULL, NULL, 0, NULL, 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static ssize_t on_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
    (void)s;
    (void)flags;
    client_t *c = ud;
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    return n < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : n;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    (void)s;
    (void)f;
    (void)flags;
    client_t *c = ud;
    if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0 && !(valuelen == 1 && value[0] == '0'))
        c->failed++;
    return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t error_code, void *ud)
{
    free(nghttp2_session_get_stream_user_data(s, id));
    client_t *c = ud;
    c->done++;
    if (error_code) c->failed++;
    return 0;
}

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)id;
    (void)ud;
    src_t *b = src->ptr;
    size_t left = b->c->body_len - b->off, n = left < len ? left : len;
    memcpy(buf, b->c->body + b->off, n);
    b->off += n;
    if (b->off == b->c->body_len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

#define RECV_BYTES (256 * 1024)
#define NV(n, v)                                                                                             \
    {                                                                                                        \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE                   \
    }

static void submit(client_t *c)
{
    nghttp2_nv gz[] = {NV(":method", "POST"),
                       NV(":scheme", "http"),
                       NV(":authority", "bench"),
                       NV(":path", "/bench.Svc/Export"),
                       NV("content-type", "application/grpc"),
                       NV("te", "trailers"),
                       NV("grpc-encoding", "gzip")};
    src_t *src = calloc(1, sizeof(*src));
    src->c = c;
    nghttp2_data_provider dp = {.source.ptr = src, .read_callback = read_body};
    if (nghttp2_submit_request(c->session, NULL, gz, c->gzip ? 7 : 6, &dp, src) < 0) abort();
    c->sent++;
}

static void *run_client(void *arg)
{
    client_t *c = arg;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) abort();
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, on_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    nghttp2_session_client_new(&c->session, cb, c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, 1);
    uint8_t *rbuf = malloc(RECV_BYTES);
    while (c->done < c->calls) {
        while (c->sent < c->calls && c->sent - c->done < c->inflight)
            submit(c);
        if (nghttp2_session_send(c->session) != 0) abort();
        ssize_t n = recv(c->fd, rbuf, RECV_BYTES, 0);
        if (n <= 0) abort();
        if (nghttp2_session_mem_recv(c->session, rbuf, (size_t)n) < 0) abort();
    }
    free(rbuf);
    nghttp2_session_del(c->session);
    close(c->fd);
    return NULL;
}

static int serve(int seconds)
{
    grpcd_options_t o;
    grpcd_options_default(&o);
    char err[256];
    grpcd_t *s = grpcd_create(&o, err, sizeof(err));
    if (s == NULL || grpcd_register(s, "/bench.Svc/Export", answer, NULL) != 0 ||
        grpcd_start(s, err, sizeof(err)))
        return fprintf(stderr, "bench-grpcd: %s\n", err), 1;
    printf("%d\n", grpcd_port(s));
    fflush(stdout);
    sleep((unsigned)seconds);
    grpcd_stats_t st;
    grpcd_stats(s, &st);
    fprintf(stderr, "bench-grpcd: %llu OK\n", (unsigned long long)st.calls[GRPC_OK]);
    grpcd_free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "serve") == 0) return serve(atoi(argv[2]));
    int calls = argc > 1 ? atoi(argv[1]) : 1000, conns = argc > 3 ? atoi(argv[3]) : 1;
    size_t size = argc > 2 ? (size_t)atol(argv[2]) : 204800;
    int inflight = argc > 4 ? atoi(argv[4]) : 1, gzip = argc > 5 ? atoi(argv[5]) : 0;
    /* protobuf-like content: short repeated fields with varying numbers, compressible as spans are */
    uint8_t *msg = malloc(size);
    for (size_t i = 0; i < size; i++)
        msg[i] =
            (uint8_t)((i % 64 < 40) ? (size_t)(uint8_t) "service.name=checkout span=GET /api/cart "[i % 40]
                                    : (i * 2654435761u) >> 24);
    size_t mlen = size;
    uint8_t *payload = msg;
    if (gzip) {
        uLongf zlen = compressBound(size) + 32;
        payload = malloc(zlen);
        z_stream zs = {0};
        deflateInit2(&zs, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
        zs.next_in = msg;
        zs.avail_in = (uInt)size;
        zs.next_out = payload;
        zs.avail_out = (uInt)zlen;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END) abort();
        mlen = zlen - zs.avail_out;
        deflateEnd(&zs);
    }
    uint8_t *body = malloc(mlen + GRPC_FRAME_HEADER_LEN);
    grpc_frame_header_write(body, gzip, (uint32_t)mlen);
    memcpy(body + GRPC_FRAME_HEADER_LEN, payload, mlen);

    grpcd_options_t o;
    grpcd_options_default(&o);
    char err[256];
    grpcd_t *s = grpcd_create(&o, err, sizeof(err));
    if (s == NULL || grpcd_register(s, "/bench.Svc/Export", answer, NULL) != 0 ||
        grpcd_start(s, err, sizeof(err)))
        return fprintf(stderr, "bench-grpcd: %s\n", err), 1;
    client_t *cl = calloc((size_t)conns, sizeof(*cl));
    pthread_t *th = calloc((size_t)conns, sizeof(*th));
    double t0 = now_s();
    for (int i = 0; i < conns; i++) {
        cl[i] = (client_t){.port = grpcd_port(s),
                           .calls = calls / conns + (i < calls % conns),
                           .inflight = inflight,
                           .gzip = gzip,
                           .body = body,
                           .body_len = mlen + GRPC_FRAME_HEADER_LEN};
        pthread_create(&th[i], NULL, run_client, &cl[i]);
    }
    int failed = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(th[i], NULL);
        failed += cl[i].failed;
    }
    double dt = now_s() - t0;
    grpcd_stats_t st;
    grpcd_stats(s, &st);
    printf("%d calls of %zu B (%s%zu B on the wire) over %d connection(s), %d in flight each: %.3f s, %.0f "
           "calls/s, "
           "%.0f MB/s of messages; %llu OK, %d failed\n",
           calls, size, gzip ? "gzip, " : "", mlen, conns, inflight, dt, calls / dt,
           calls * (double)size / dt / 1e6, (unsigned long long)st.calls[GRPC_OK], failed);
    grpcd_free(s);
    free(cl);
    free(th);
    free(body);
    if (payload != msg) free(payload);
    free(msg);
    return failed ? 1 : 0;
}
