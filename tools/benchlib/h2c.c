/* The HTTP/2 client of the tests and the benchmarks (see h2c.h), on nghttp2's client session and, for
 * TLS, OpenSSL. */
#include "h2c.h"

#include <arpa/inet.h>
#include <nghttp2/nghttp2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

#define RECV_BYTES (256 * 1024)
#define BODY_MAX (64u << 20)

struct h2c {
    int fd;
    SSL *ssl; /* NULL: h2c */
    nghttp2_session *session;
    size_t pending;
    char alpn[16];
    uint8_t *rbuf;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A stream ended or closed: no longer pending (once). */
static void finished(h2c_t *c, h2c_stream_t *s)
{
    if (s->counted) return;
    s->counted = 1;
    c->pending--;
}

static ssize_t on_send(nghttp2_session *session, const uint8_t *data, size_t len, int flags, void *ud)
{
    (void)session;
    (void)flags;
    h2c_t *c = ud;
    if (c->ssl) {
        size_t n = 0;
        return SSL_write_ex(c->ssl, data, len, &n) == 1 ? (ssize_t)n : NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    return n < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : n;
}

static void copy_value(char *dst, size_t cap, const uint8_t *v, size_t len)
{
    if (len >= cap) len = cap - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

static int on_header(nghttp2_session *session, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    (void)flags;
    (void)ud;
    h2c_stream_t *s = nghttp2_session_get_stream_user_data(session, f->hd.stream_id);
    if (s == NULL) return 0;
    char v[32];
    copy_value(v, sizeof(v), value, valuelen);
    if (namelen == 7 && memcmp(name, ":status", 7) == 0)
        s->http_status = atoi(v);
    else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0)
        s->grpc_status = atoi(v);
    else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0)
        copy_value(s->grpc_message, sizeof(s->grpc_message), value, valuelen);
    else if (namelen == 23 && memcmp(name, "grpc-status-details-bin", 23) == 0)
        copy_value(s->details, sizeof(s->details), value, valuelen);
    else if (namelen == 12 && memcmp(name, "content-type", 12) == 0)
        copy_value(s->content_type, sizeof(s->content_type), value, valuelen);
    return 0;
}

static int on_data(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *ud)
{
    (void)flags;
    (void)ud;
    h2c_stream_t *s = nghttp2_session_get_stream_user_data(session, id);
    if (s == NULL) return 0;
    return buf_append(&s->body, data, len) == 0 ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static int on_frame(nghttp2_session *session, const nghttp2_frame *f, void *ud)
{
    h2c_stream_t *s = nghttp2_session_get_stream_user_data(session, f->hd.stream_id);
    if (s && (f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        s->ended = 1;
        finished(ud, s);
    }
    return 0;
}

static int on_close(nghttp2_session *session, int32_t id, uint32_t error_code, void *ud)
{
    h2c_stream_t *s = nghttp2_session_get_stream_user_data(session, id);
    if (s == NULL) return 0;
    s->closed = 1;
    s->close_error = error_code;
    s->closed_s = now_s();
    finished(ud, s);
    return 0;
}

static ssize_t read_body(nghttp2_session *session, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    (void)session;
    (void)id;
    (void)ud;
    h2c_stream_t *s = src->ptr;
    size_t left = s->req_len - s->req_off, n = left < len ? left : len;
    if (n) memcpy(buf, s->req + s->req_off, n);
    s->req_off += n;
    if (s->req_off == s->req_len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* TLS on the connected socket: ALPN h2 offered, the server's certificate checked against `ca_file` and
 * 127.0.0.1. Returns 0, or -1 when the handshake fails. */
static int tls_connect(h2c_t *c, const char *ca_file, int timeout_ms)
{
    if (timeout_ms > 0) { /* a blocking read cannot hang the caller */
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    static const unsigned char alpn[] = {2, 'h', '2'};
    int rc = -1;
    if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1 ||
        SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn)) != 0)
        goto out;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    c->ssl = SSL_new(ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), "127.0.0.1") != 1 || SSL_connect(c->ssl) != 1)
        goto out;
    const unsigned char *chosen = NULL;
    unsigned int chosen_len = 0;
    SSL_get0_alpn_selected(c->ssl, &chosen, &chosen_len);
    snprintf(c->alpn, sizeof(c->alpn), "%.*s", (int)chosen_len, chosen ? (const char *)chosen : "");
    rc = 0;
out:
    if (rc != 0) {
        ERR_clear_error();
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    SSL_CTX_free(ctx); /* the session holds its own reference */
    return rc;
}

h2c_t *h2c_connect(int port, const h2c_opts_t *opts, char *err, size_t errlen)
{
    h2c_t *c = calloc(1, sizeof(*c));
    if (c == NULL) abort();
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        snprintf(err, errlen, "connect to port %d failed", port);
        goto fail;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (opts && opts->ca_file && tls_connect(c, opts->ca_file, opts->timeout_ms) != 0) {
        snprintf(err, errlen, "TLS handshake with port %d failed", port);
        goto fail;
    }
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0) abort();
    nghttp2_session_callbacks_set_send_callback(cb, on_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    int made = nghttp2_session_client_new(&c->session, cb, c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, opts ? opts->stream_window : 0}};
    size_t niv = opts && opts->stream_window ? 1 : 0;
    if (made != 0 || nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, niv) != 0) {
        snprintf(err, errlen, "nghttp2 session failed");
        goto fail;
    }
    c->rbuf = malloc(RECV_BYTES);
    if (c->rbuf == NULL) abort();
    return c;
fail:
    h2c_free(c);
    return NULL;
}

const char *h2c_alpn(const h2c_t *c)
{
    return c->alpn;
}

int h2c_fd(const h2c_t *c)
{
    return c->fd;
}

#define NV(n, v)                                                                                             \
    (nghttp2_nv)                                                                                             \
    {                                                                                                        \
        (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE                           \
    }

int h2c_submit(h2c_t *c, const h2c_req_t *r, const void *body, size_t len, h2c_stream_t *s)
{
    memset(s, 0, sizeof(*s));
    s->http_status = s->grpc_status = -1;
    buf_init(&s->body, BODY_MAX);
    s->req = body;
    s->req_len = len;
    s->submitted_s = now_s();
    nghttp2_nv nv[8] = {NV(":method", "POST"),
                        NV(":scheme", c->ssl ? "https" : "http"),
                        NV(":authority", "localhost"),
                        NV(":path", r->path),
                        NV("content-type", r->content_type ? r->content_type : "application/grpc"),
                        NV("te", "trailers")};
    size_t n = 6;
    if (r->auth_name) nv[n++] = NV(r->auth_name, r->auth_value);
    if (r->encoding) nv[n++] = NV("grpc-encoding", r->encoding);
    if (r->headers_only) {
        s->id = nghttp2_submit_headers(c->session, NGHTTP2_FLAG_NONE, -1, NULL, nv, n, s);
    } else {
        nghttp2_data_provider dp = {.source.ptr = s, .read_callback = read_body};
        s->id = nghttp2_submit_request(c->session, NULL, nv, n, &dp, s);
    }
    if (s->id <= 0) return -1;
    c->pending++;
    return 0;
}

int h2c_send(h2c_t *c)
{
    return nghttp2_session_send(c->session) == 0 ? 0 : -1;
}

int h2c_pump(h2c_t *c, int wait_ms)
{
    if (h2c_send(c) != 0) return -1;
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    if (!(c->ssl && SSL_pending(c->ssl) > 0) && poll(&pfd, 1, wait_ms) <= 0) return 0;
    ssize_t got;
    if (c->ssl) {
        size_t n = 0;
        got = SSL_read_ex(c->ssl, c->rbuf, RECV_BYTES, &n) == 1 ? (ssize_t)n : -1;
    } else
        got = recv(c->fd, c->rbuf, RECV_BYTES, 0);
    if (got <= 0) return -1;
    return nghttp2_session_mem_recv(c->session, c->rbuf, (size_t)got) == got ? 0 : -1;
}

int h2c_run(h2c_t *c, int timeout_ms)
{
    double deadline = now_s() + timeout_ms / 1000.0;
    while (c->pending > 0) {
        if (now_s() > deadline) return -1;
        if (h2c_pump(c, 50) != 0) return c->pending == 0 ? 0 : -1;
    }
    return 0;
}

size_t h2c_pending(const h2c_t *c)
{
    return c->pending;
}

void h2c_stream_dispose(h2c_stream_t *s)
{
    buf_dispose(&s->body);
}

void h2c_free(h2c_t *c)
{
    if (c == NULL) return;
    nghttp2_session_del(c->session);
    SSL_free(c->ssl);
    if (c->fd >= 0) close(c->fd);
    free(c->rbuf);
    free(c);
}
