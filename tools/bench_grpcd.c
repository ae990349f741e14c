/* Benchmark of the gRPC unary server (common/grpcd.h) in-process over loopback: `calls` unary calls of
 * a `size`-byte message spread over `conns` connections (one client thread each), `inflight` calls in
 * flight per connection; the handler answers OK with an empty response at once.
 *   Usage: bench-grpcd [calls=1000] [size=204800] [conns=1] [inflight=1] [gzip=0]
 *          bench-grpcd serve SECONDS   (server only, for an outside client such as h2load; prints the port)
 */
#include "grpc_client.h"
#include "grpc_frame.h"
#include "grpcd.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define BENCH_PATH "/bench.Svc/Export"

/* One client connection: `calls` calls of the same message, `inflight` in flight. */
typedef struct {
    int port, calls, inflight, gzip, failed;
    grpc_client_msg_t msg;
} client_t;

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

static void *run_client(void *arg)
{
    client_t *c = arg;
    char err[128];
    grpc_client_t *g = grpc_client_connect(c->port, BENCH_PATH, NULL, c->gzip, err, sizeof(err));
    if (g == NULL) abort();
    grpc_client_msg_t *msgs = malloc((size_t)c->calls * sizeof(*msgs));
    for (int i = 0; i < c->calls; i++)
        msgs[i] = c->msg;
    c->failed = grpc_client_run(g, msgs, (size_t)c->calls, c->inflight, NULL);
    if (c->failed < 0) abort();
    free(msgs);
    grpc_client_free(g);
    return NULL;
}

static int serve(int seconds)
{
    grpcd_options_t o;
    grpcd_options_default(&o);
    char err[256];
    grpcd_t *s = grpcd_create(&o, err, sizeof(err));
    if (s == NULL || grpcd_register(s, BENCH_PATH, answer, NULL) != 0 || grpcd_start(s, err, sizeof(err)))
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
    if (s == NULL || grpcd_register(s, BENCH_PATH, answer, NULL) != 0 || grpcd_start(s, err, sizeof(err)))
        return fprintf(stderr, "bench-grpcd: %s\n", err), 1;
    client_t *cl = calloc((size_t)conns, sizeof(*cl));
    pthread_t *th = calloc((size_t)conns, sizeof(*th));
    double t0 = now_s();
    for (int i = 0; i < conns; i++) {
        cl[i] = (client_t){.port = grpcd_port(s),
                           .calls = calls / conns + (i < calls % conns),
                           .inflight = inflight,
                           .gzip = gzip,
                           .msg = {body, mlen + GRPC_FRAME_HEADER_LEN}};
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
