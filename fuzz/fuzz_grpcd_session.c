/* libFuzzer target: a whole HTTP/2 connection into the gRPC server's session (grpcd_h2.c) without a
 * socket: the client preface is prepended, the input is fed through nghttp2_session_mem_recv, finished
 * calls are delivered and the connection is freed. A call left pending by one input is finished during
 * the next, after its connection is gone. The first byte picks a server with or without API keys. */
#include "grpcd_int.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_KEY "fuzz-key-0001"

/* The harness's fixtures, made once per process (libFuzzer's model), never library state. */
static grpcd_t *servers[2];
static keyset_t keys;
static grpcd_call_t *pending;

static void echo(void *ctx, grpcd_call_t *call, const uint8_t *msg, size_t len)
{
    (void)ctx;
    grpcd_call_finish(call, GRPC_OK, NULL, msg, len, NULL, 0);
}

static void busy(void *ctx, grpcd_call_t *call, const uint8_t *msg, size_t len)
{
    (void)ctx;
    (void)msg;
    buf_t st;
    buf_init(&st, 256);
    grpc_duration_t d = {1, (int32_t)len};
    if (grpc_status_encode(GRPC_UNAVAILABLE, "busy \x01%", &d, &st) != 0) abort();
    grpcd_call_finish(call, GRPC_UNAVAILABLE, "busy \x01%", NULL, 0, st.data, st.len);
    buf_dispose(&st);
}

static void later(void *ctx, grpcd_call_t *call, const uint8_t *msg, size_t len)
{
    (void)ctx;
    (void)msg;
    (void)len;
    if (pending != NULL) grpcd_call_finish(pending, GRPC_OK, NULL, "x", 1, NULL, 0);
    pending = call;
}

static grpcd_t *make(const keyset_t *ks)
{
    grpcd_options_t o;
    grpcd_options_default(&o);
    o.keys = ks;
    o.max_message_bytes = 64 * 1024;
    o.max_header_list_bytes = 4096;
    char err[256];
    grpcd_t *s = grpcd_create(&o, err, sizeof(err));
    if (s == NULL || grpcd_register(s, "/f.S/Echo", echo, NULL) != 0 ||
        grpcd_register(s, "/f.S/Busy", busy, NULL) != 0 || grpcd_register(s, "/f.S/Later", later, NULL) != 0)
        abort();
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char preface[] = NGHTTP2_CLIENT_MAGIC;
    if (servers[0] == NULL) {
        char err[128];
        if (keyset_parse(&keys, FUZZ_KEY, err, sizeof(err)) != 0) abort();
        servers[0] = make(NULL);
        servers[1] = make(&keys);
    }
    if (size < 1) return 0;
    grpcd_t *s = servers[data[0] & 1];
    if (pending != NULL) { /* its connection is gone: the answer is dropped */
        grpcd_call_finish(pending, GRPC_OK, NULL, "late", 4, NULL, 0);
        pending = NULL;
    }
    conn_t *c = grpcd_conn_new(s, -1);
    if (c == NULL) abort();
    if (nghttp2_session_mem_recv(c->session, (const uint8_t *)preface, sizeof(preface) - 1) >= 0 &&
        nghttp2_session_mem_recv(c->session, data + 1, size - 1) >= 0) {
        if (c->buffered > s->opt.max_conn_buffered_bytes) abort();
        /* delivering answers may end the connection (the server closes it then): it is the server's
         * only one, so it is alive exactly when the list is not empty */
        grpcd_drain_finished(s);
        if (s->conns == c && grpcd_conn_flush(c) != 0) grpcd_conn_close(c);
    }
    if (s->conns == c) grpcd_conn_close(c);
    if (s->conns != NULL) abort();
    grpcd_drain_finished(s);
    return 0;
}
