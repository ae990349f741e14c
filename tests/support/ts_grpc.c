/* Test support: blocking gRPC client and google.rpc.Status decoder (see ts_grpc.h). */
#include "ts_grpc.h"
#include "base64.h"

#include <arpa/inet.h>
#include <nghttp2/nghttp2.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---------------- the client ---------------- */

typedef struct {
    int fd;
    SSL *ssl; /* NULL: h2c */
    int32_t stream;
    const uint8_t *framed; /* request body: 5-byte gRPC header + message */
    size_t framed_len, sent;
    uint8_t *data; /* response DATA bytes */
    size_t data_len;
    int ended;
    ts_grpc_resp_t *out;
} call_t;

static ssize_t on_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
    (void)s;
    (void)flags;
    call_t *c = ud;
    if (c->ssl) {
        size_t n = 0;
        return SSL_write_ex(c->ssl, data, len, &n) == 1 ? (ssize_t)n : NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    return n < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : n;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static void percent_decode(char *dst, size_t cap, const uint8_t *v, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        if (v[i] == '%' && i + 2 < len && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0) {
            dst[o++] = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
            i += 2;
        } else
            dst[o++] = (char)v[i];
    }
    dst[o] = '\0';
}

/* Base64 with or without padding (common/base64.h); NULL on a bad character. Caller frees. */
static uint8_t *details_decode(const uint8_t *v, size_t len, size_t *outlen)
{
    buf_t out;
    buf_init(&out, len + 16);
    if (base64_decode((const char *)v, len, &out) != 0 || buf_append(&out, "", 0) != 0) {
        buf_dispose(&out);
        return NULL;
    }
    *outlen = out.len;
    return (uint8_t *)buf_take(&out);
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    (void)s;
    (void)flags;
    call_t *c = ud;
    if (f->hd.stream_id != c->stream) return 0;
    char v[64];
    size_t n = valuelen < sizeof(v) - 1 ? valuelen : sizeof(v) - 1;
    memcpy(v, value, n);
    v[n] = '\0';
    if (namelen == 7 && memcmp(name, ":status", 7) == 0)
        c->out->http_status = atoi(v);
    else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0)
        c->out->grpc_status = atoi(v);
    else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0)
        percent_decode(c->out->message, sizeof(c->out->message), value, valuelen);
    else if (namelen == 23 && memcmp(name, "grpc-status-details-bin", 23) == 0) {
        free(c->out->details);
        c->out->details = details_decode(value, valuelen, &c->out->details_len);
    }
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *ud)
{
    (void)s;
    (void)flags;
    call_t *c = ud;
    if (id != c->stream) return 0;
    c->data = realloc(c->data, c->data_len + len + 1);
    memcpy(c->data + c->data_len, data, len);
    c->data_len += len;
    return 0;
}

static int on_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)s;
    call_t *c = ud;
    if (f->hd.stream_id == c->stream && (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) c->ended = 1;
    return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t error_code, void *ud)
{
    (void)s;
    (void)error_code;
    call_t *c = ud;
    if (id == c->stream) c->ended = 1;
    return 0;
}

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)id;
    (void)src;
    call_t *c = ud;
    size_t n = c->framed_len - c->sent < len ? c->framed_len - c->sent : len;
    memcpy(buf, c->framed + c->sent, n);
    c->sent += n;
    if (c->sent == c->framed_len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

#define NV(n, v)                                                                                             \
    {                                                                                                        \
        (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE                           \
    }

/* Sends and receives until the stream ends. Returns 0, or -1. */
static int run(nghttp2_session *session, call_t *c, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    while (!c->ended) {
        if (nghttp2_session_send(session) != 0) return -1;
        if (now_ms() > deadline) return -1;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (!(c->ssl && SSL_pending(c->ssl) > 0) && poll(&pfd, 1, 50) <= 0) continue;
        uint8_t buf[65536];
        ssize_t got;
        if (c->ssl) {
            size_t n = 0;
            got = SSL_read_ex(c->ssl, buf, sizeof(buf), &n) == 1 ? (ssize_t)n : -1;
        } else
            got = recv(c->fd, buf, sizeof(buf), 0);
        if (got <= 0) return c->ended ? 0 : -1;
        if (nghttp2_session_mem_recv(session, buf, (size_t)got) != got) return -1;
    }
    return 0;
}

/* TLS on the connected socket: ALPN h2 offered, the server's certificate checked against `ca_file` and
 * 127.0.0.1. Returns the session, or NULL when the handshake fails. */
static SSL *tls_connect(int fd, const char *ca_file, int timeout_ms, ts_grpc_resp_t *out)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)); /* a blocking read cannot hang the test */
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    static const unsigned char alpn[] = {2, 'h', '2'};
    SSL *ssl = NULL;
    if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1 ||
        SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn)) != 0)
        goto fail;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 ||
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1") != 1 || SSL_connect(ssl) != 1)
        goto fail;
    const unsigned char *chosen = NULL;
    unsigned int chosen_len = 0;
    SSL_get0_alpn_selected(ssl, &chosen, &chosen_len);
    snprintf(out->alpn, sizeof(out->alpn), "%.*s", (int)chosen_len, chosen ? (const char *)chosen : "");
    SSL_CTX_free(ctx); /* the session holds its own reference */
    return ssl;
fail:
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return NULL;
}

static int call_on(int port, const char *ca_file, const ts_grpc_req_t *req, const void *msg, size_t len,
                   int timeout_ms, ts_grpc_resp_t *out)
{
    memset(out, 0, sizeof(*out));
    out->http_status = out->grpc_status = -1;
    call_t c = {.out = out, .fd = socket(AF_INET, SOCK_STREAM, 0)};
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint8_t *framed = malloc(len + 5);
    framed[0] = req->compressed ? 1 : 0;
    framed[1] = (uint8_t)(len >> 24);
    framed[2] = (uint8_t)(len >> 16);
    framed[3] = (uint8_t)(len >> 8);
    framed[4] = (uint8_t)len;
    if (len) memcpy(framed + 5, msg, len);
    c.framed = framed;
    c.framed_len = len + 5;
    nghttp2_session *session = NULL;
    int rc = -1;
    if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) goto out;
    if (ca_file && (c.ssl = tls_connect(c.fd, ca_file, timeout_ms, out)) == NULL) goto out;
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, on_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    int made = nghttp2_session_client_new(&session, cb, &c);
    nghttp2_session_callbacks_del(cb);
    if (made != 0) goto out;
    if (nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, NULL, 0) != 0) goto out;
    nghttp2_nv nv[9] = {
        NV(":method", "POST"),  NV(":scheme", ca_file ? "https" : "http"), NV(":authority", "localhost"),
        NV(":path", req->path), NV("content-type", "application/grpc"),    NV("te", "trailers")};
    size_t n = 6;
    if (req->key) nv[n++] = (nghttp2_nv)NV("x-api-key", req->key);
    if (req->encoding) nv[n++] = (nghttp2_nv)NV("grpc-encoding", req->encoding);
    nghttp2_data_provider dp = {.read_callback = read_body};
    c.stream = nghttp2_submit_request(session, NULL, nv, n, &dp, NULL);
    if (c.stream <= 0) goto out;
    if (run(session, &c, timeout_ms) != 0) goto out;
    /* one uncompressed message, or none (a trailers-only answer) */
    if (c.data_len >= 5 && c.data[0] == 0) {
        size_t mlen = (size_t)c.data[1] << 24 | (size_t)c.data[2] << 16 | (size_t)c.data[3] << 8 | c.data[4];
        if (mlen + 5 != c.data_len) goto out;
        out->body = malloc(mlen + 1);
        memcpy(out->body, c.data + 5, mlen);
        out->body_len = mlen;
    } else if (c.data_len != 0)
        goto out;
    rc = 0;
out:
    nghttp2_session_del(session);
    SSL_free(c.ssl);
    if (c.fd >= 0) close(c.fd);
    free(c.data);
    free(framed);
    return rc;
}

int ts_grpc_call(int port, const ts_grpc_req_t *req, const void *msg, size_t len, int timeout_ms,
                 ts_grpc_resp_t *out)
{
    return call_on(port, NULL, req, msg, len, timeout_ms, out);
}

int ts_grpc_call_tls(int port, const char *ca_file, const ts_grpc_req_t *req, const void *msg, size_t len,
                     int timeout_ms, ts_grpc_resp_t *out)
{
    return call_on(port, ca_file, req, msg, len, timeout_ms, out);
}

void ts_grpc_resp_free(ts_grpc_resp_t *r)
{
    free(r->details);
    free(r->body);
    r->details = r->body = NULL;
}

/* ---------------- google.rpc.Status ---------------- */

static int varint(const uint8_t *p, size_t len, size_t *i, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*i >= len) return -1;
        uint8_t b = p[(*i)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 0;
    }
    return -1;
}

/* Calls fn for each field of a message; length-delimited fields come as (p, n), varints as v.
 * Returns 0, or -1 on malformed input or when fn fails. */
typedef int (*field_fn)(void *ud, uint32_t field, int wt, uint64_t v, const uint8_t *p, size_t n);

static int each_field(const uint8_t *p, size_t len, field_fn fn, void *ud)
{
    size_t i = 0;
    while (i < len) {
        uint64_t key, v = 0;
        if (varint(p, len, &i, &key) != 0) return -1;
        int wt = (int)(key & 7);
        const uint8_t *sub = NULL;
        size_t n = 0;
        if (wt == 0) {
            if (varint(p, len, &i, &v) != 0) return -1;
        } else if (wt == 2) {
            if (varint(p, len, &i, &v) != 0 || v > len - i) return -1;
            sub = p + i;
            n = (size_t)v;
            i += n;
        } else if (wt == 1 || wt == 5) {
            size_t w = wt == 1 ? 8 : 4;
            if (w > len - i) return -1;
            i += w;
        } else
            return -1;
        if (fn(ud, (uint32_t)(key >> 3), wt, v, sub, n) != 0) return -1;
    }
    return 0;
}

static int duration_field(void *ud, uint32_t field, int wt, uint64_t v, const uint8_t *p, size_t n)
{
    (void)p;
    (void)n;
    ts_rpc_status_t *s = ud;
    if (field == 1 && wt == 0) s->retry_seconds = (int64_t)v;
    if (field == 2 && wt == 0) s->retry_nanos = (int32_t)v;
    return 0;
}

static int retry_info_field(void *ud, uint32_t field, int wt, uint64_t v, const uint8_t *p, size_t n)
{
    (void)v;
    ts_rpc_status_t *s = ud;
    if (field == 1 && wt == 2) {
        s->retry_seconds = 0;
        return each_field(p, n, duration_field, s);
    }
    return 0;
}

typedef struct {
    char type[128];
    const uint8_t *value;
    size_t value_len;
} any_t;

static int any_field(void *ud, uint32_t field, int wt, uint64_t v, const uint8_t *p, size_t n)
{
    (void)v;
    any_t *a = ud;
    if (field == 1 && wt == 2) snprintf(a->type, sizeof(a->type), "%.*s", (int)n, (const char *)p);
    if (field == 2 && wt == 2) {
        a->value = p;
        a->value_len = n;
    }
    return 0;
}

static int status_field(void *ud, uint32_t field, int wt, uint64_t v, const uint8_t *p, size_t n)
{
    ts_rpc_status_t *s = ud;
    if (field == 1) {
        if (wt != 0) return -1;
        s->code = (int)v;
    } else if (field == 2) {
        if (wt != 2) return -1;
        snprintf(s->message, sizeof(s->message), "%.*s", (int)n, (const char *)p);
    } else if (field == 3) {
        if (wt != 2) return -1;
        if (s->ndetails++ > 0) return 0;
        any_t a = {{0}, NULL, 0};
        if (each_field(p, n, any_field, &a) != 0) return -1;
        snprintf(s->detail_type, sizeof(s->detail_type), "%s", a.type);
        if (strcmp(a.type, "type.googleapis.com/google.rpc.RetryInfo") == 0 &&
            each_field(a.value, a.value_len, retry_info_field, s) != 0)
            return -1;
    }
    return 0;
}

int ts_rpc_status_decode(const uint8_t *p, size_t len, ts_rpc_status_t *out)
{
    memset(out, 0, sizeof(*out));
    out->retry_seconds = -1;
    return each_field(p, len, status_field, out);
}
