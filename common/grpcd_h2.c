/* Inside one HTTP/2 session of the gRPC server: gathers each request's headers and body, runs the
 * checks of grpcd.h in order, hands complete messages to handlers and submits their answers. All of
 * it runs on the loop thread, inside nghttp2 callbacks or from the finished-call queue. */
#include "grpcd_int.h"

#include "alloc.h"
#include "inflate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_KEY_LEN 512       /* longer authorization values cannot hold a valid key */
#define CONN_WINDOW_STREAMS 4 /* the connection window holds this many stream windows */
#define HEADER_OVERHEAD 32    /* RFC 7540 6.5.2: each header counts name + value + 32 */
#define ACCEPT_ENCODING "gzip,deflate,identity"

typedef enum { ENC_IDENTITY, ENC_GZIP, ENC_DEFLATE, ENC_UNKNOWN } encoding_t;

struct grpcd_stream {
    conn_t *conn;
    int32_t id;
    stream_t *prev, *next;
    size_t header_bytes;
    int is_post, is_grpc;
    encoding_t encoding;
    char *path, *key;
    int key_index;                /* in the keyset, once authenticated; -1 without a keyset */
    const grpcd_method_t *method; /* set once the headers passed every check */
    int answered;                 /* a response was submitted or a handler holds the call */
    grpc_frame_reader_t reader;   /* holds the request message */
    size_t counted;               /* bytes of the reader counted in conn->buffered */
    grpcd_call_t *call;
    uint8_t *out; /* OK answer being sent: the framed response */
    size_t out_len, out_off;
};

/* ---- streams ------------------------------------------------------------------------------------- */

static stream_t *stream_new(conn_t *c, int32_t id)
{
    stream_t *st = xcalloc(1, sizeof(*st));
    st->conn = c;
    st->id = id;
    st->next = c->streams;
    if (c->streams) c->streams->prev = st;
    c->streams = st;
    c->nstreams++;
    return st;
}

/* Releases the buffered request bytes (and their count in the connection's budget). */
static void stream_drop_body(stream_t *st)
{
    st->conn->buffered -= st->counted;
    st->counted = 0;
    grpc_frame_reader_dispose(&st->reader);
}

static void stream_free(stream_t *st)
{
    conn_t *c = st->conn;
    if (st->call) { /* the call is freed when finished */
        st->call->stream = NULL;
        c->held--;
    }
    stream_drop_body(st);
    if (st->prev)
        st->prev->next = st->next;
    else
        c->streams = st->next;
    if (st->next) st->next->prev = st->prev;
    c->nstreams--;
    free(st->path);
    free(st->key);
    free(st->out);
    free(st);
}

/* ---- answers ------------------------------------------------------------------------------------- */

#define NV(n, v)                                                                                             \
    {                                                                                                        \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE                       \
    }

static void count_status(conn_t *c, int status)
{
    atomic_fetch_add(&c->srv->count.calls[status], 1);
}

/* Trailers-only answer: one HEADERS frame with END_STREAM carrying the status. `message` is already
 * percent-encoded; `details` already base64. */
static void answer_status(stream_t *st, int status, const char *message, const char *details)
{
    char code[4];
    snprintf(code, sizeof(code), "%d", status);
    nghttp2_nv nv[6] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                        NV("grpc-accept-encoding", ACCEPT_ENCODING), NV("grpc-status", code)};
    size_t n = 4;
    if (message && *message) nv[n++] = (nghttp2_nv)NV("grpc-message", message);
    if (details && *details) nv[n++] = (nghttp2_nv)NV("grpc-status-details-bin", details);
    st->answered = 1;
    stream_drop_body(st);
    count_status(st->conn, status);
    if (nghttp2_submit_response(st->conn->session, st->id, nv, n, NULL) != 0)
        nghttp2_submit_rst_stream(st->conn->session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
}

/* A server-made error; `message` is plain text. */
static void answer_error(stream_t *st, int status, const char *message)
{
    char *enc = grpcd_message_encode(message);
    answer_status(st, status, enc, NULL);
    free(enc);
}

/* HTTP-level refusal (405, 415): gRPC clients map the HTTP status; grpc-status INTERNAL as grpc-go. */
static void answer_http(stream_t *st, const char *http_status, const char *message)
{
    char code[4];
    snprintf(code, sizeof(code), "%d", GRPC_INTERNAL);
    nghttp2_nv nv[4] = {NV(":status", http_status), NV("content-type", "application/grpc"),
                        NV("grpc-status", code), NV("grpc-message", message)};
    st->answered = 1;
    stream_drop_body(st);
    atomic_fetch_add(&st->conn->srv->count.http_rejected, 1);
    if (nghttp2_submit_response(st->conn->session, st->id, nv, 4, NULL) != 0)
        nghttp2_submit_rst_stream(st->conn->session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
}

/* Data source of an OK answer: the framed response, then the trailers (grpc-status: 0). */
static ssize_t read_response(nghttp2_session *session, int32_t id, uint8_t *dst, size_t len, uint32_t *flags,
                             nghttp2_data_source *source, void *user_data)
{
    (void)user_data;
    stream_t *st = source->ptr;
    size_t left = st->out_len - st->out_off;
    size_t n = left < len ? left : len;
    memcpy(dst, st->out + st->out_off, n);
    st->out_off += n;
    if (st->out_off == st->out_len) {
        nghttp2_nv trailers[] = {NV("grpc-status", "0")};
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (nghttp2_submit_trailer(session, id, trailers, 1) == 0) *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
    return (ssize_t)n;
}

static void answer_ok(stream_t *st, grpcd_call_t *call)
{
    nghttp2_nv nv[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                       NV("grpc-accept-encoding", ACCEPT_ENCODING)};
    st->out = call->body; /* the stream takes the framed response */
    st->out_len = call->body_len;
    st->out_off = 0;
    call->body = NULL;
    count_status(st->conn, GRPC_OK);
    nghttp2_data_provider dp = {.source.ptr = st, .read_callback = read_response};
    if (nghttp2_submit_response(st->conn->session, st->id, nv, sizeof(nv) / sizeof(*nv), &dp) != 0)
        nghttp2_submit_rst_stream(st->conn->session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
}

conn_t *grpcd_call_deliver(grpcd_call_t *call)
{
    stream_t *st = call->stream;
    conn_t *c = NULL;
    if (st == NULL) {
        atomic_fetch_add(&call->srv->count.calls_abandoned, 1);
    } else {
        c = st->conn;
        st->call = NULL;
        c->held--;
        if (call->status == GRPC_OK)
            answer_ok(st, call);
        else
            answer_status(st, call->status, call->message, call->details);
    }
    free(call->message);
    free(call->body);
    free(call->details);
    free(call);
    return c;
}

/* ---- requests ------------------------------------------------------------------------------------ */

static int header_is(const uint8_t *name, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(name, want, len) == 0;
}

static encoding_t parse_encoding(const uint8_t *v, size_t len)
{
    if (header_is(v, len, "identity")) return ENC_IDENTITY;
    if (header_is(v, len, "gzip")) return ENC_GZIP;
    if (header_is(v, len, "deflate")) return ENC_DEFLATE;
    return ENC_UNKNOWN;
}

/* Keeps the key of "authorization: Bearer <key>" or "x-api-key: <key>" (the first one seen). */
static void take_key(stream_t *st, const uint8_t *v, size_t len, int bearer)
{
    static const char prefix[] = "Bearer ";
    if (st->key != NULL) return;
    if (bearer) {
        if (len < sizeof(prefix) - 1 || strncasecmp((const char *)v, prefix, sizeof(prefix) - 1) != 0) return;
        v += sizeof(prefix) - 1;
        len -= sizeof(prefix) - 1;
    }
    if (len > MAX_KEY_LEN) len = MAX_KEY_LEN; /* too long to match any key, still refused below */
    st->key = xstrndup((const char *)v, len);
}

static const grpcd_method_t *find_method(const grpcd_t *s, const char *path)
{
    for (size_t i = 0; i < s->nmethods; i++)
        if (strcmp(s->methods[i].path, path) == 0) return &s->methods[i];
    return NULL;
}

/* The checks of grpcd.h, in order, once the request headers are complete. */
static void check_request(stream_t *st)
{
    grpcd_t *s = st->conn->srv;
    if (!st->is_post) return answer_http(st, "405", "method must be POST");
    if (!st->is_grpc) return answer_http(st, "415", "content-type must be application/grpc");
    st->key_index = -1;
    if (s->opt.keys != NULL) {
        const struct sockaddr *peer = (const struct sockaddr *)&st->conn->peer;
        if (peerlimit_auth_blocked(s->peers, peer, peerlimit_now_ms()) > 0)
            return answer_error(st, GRPC_RESOURCE_EXHAUSTED,
                                "too many failed authentications from this address; retry later");
        if (st->key != NULL) st->key_index = keyset_find(s->opt.keys, st->key, strlen(st->key));
        if (st->key_index < 0) {
            peerlimit_auth_failed(s->peers, peer, peerlimit_now_ms());
            return answer_error(st, GRPC_UNAUTHENTICATED, st->key ? "invalid API key" : "missing API key");
        }
    }
    st->method = st->path ? find_method(s, st->path) : NULL;
    if (st->method == NULL) {
        char why[160];
        snprintf(why, sizeof(why), "unknown method %.100s", st->path ? st->path : "(none)");
        return answer_error(st, GRPC_UNIMPLEMENTED, why);
    }
    grpc_frame_reader_init(&st->reader, s->opt.max_message_bytes);
}

static int frame_err_status(grpc_frame_err_t err)
{
    return err == GRPC_FRAME_ERR_TOO_BIG ? GRPC_RESOURCE_EXHAUSTED : GRPC_INTERNAL;
}

static void dispatch(stream_t *st, const uint8_t *msg, size_t len)
{
    grpcd_t *s = st->conn->srv;
    grpcd_call_t *call = xcalloc(1, sizeof(*call));
    call->srv = s;
    call->stream = st;
    call->key_index = st->key_index;
    st->call = call;
    st->answered = 1;
    st->conn->held++;
    pthread_mutex_lock(&s->mu);
    s->outstanding++;
    pthread_mutex_unlock(&s->mu);
    st->method->fn(st->method->ctx, call, msg, len);
}

/* Inflates the message per grpc-encoding into `plain`. Returns 0, or -1 after answering the error. */
static int decompress(stream_t *st, buf_t *plain)
{
    if (st->encoding == ENC_IDENTITY) {
        answer_error(st, GRPC_INTERNAL, "compressed message without grpc-encoding");
        return -1;
    }
    if (st->encoding == ENC_UNKNOWN) {
        answer_error(st, GRPC_UNIMPLEMENTED, "unsupported grpc-encoding");
        return -1;
    }
    char err[128], why[200];
    int rc = inflate_bounded(st->encoding == ENC_GZIP ? INFLATE_GZIP : INFLATE_DEFLATE, st->reader.msg,
                             st->reader.len, st->conn->srv->opt.max_message_bytes, plain, err, sizeof(err));
    if (rc == 0) return 0;
    snprintf(why, sizeof(why), "compressed message: %s", err);
    answer_error(st, rc == -2 ? GRPC_RESOURCE_EXHAUSTED : GRPC_INTERNAL, why);
    return -1;
}

/* END_STREAM from the client: the body is complete. */
static void complete_request(stream_t *st)
{
    if (st->answered) return;
    if (grpc_frame_end(&st->reader) != 0)
        return answer_error(st, frame_err_status(st->reader.err), grpc_frame_err_str(st->reader.err));
    if (!st->reader.compressed) {
        dispatch(st, st->reader.msg, st->reader.len);
        stream_drop_body(st);
        return;
    }
    buf_t plain;
    buf_init(&plain, st->conn->srv->opt.max_message_bytes);
    if (decompress(st, &plain) == 0) {
        stream_drop_body(st);
        dispatch(st, (const uint8_t *)plain.data, plain.len);
    }
    buf_dispose(&plain);
}

/* ---- nghttp2 callbacks --------------------------------------------------------------------------- */

static stream_t *stream_of(nghttp2_session *session, int32_t id)
{
    return nghttp2_session_get_stream_user_data(session, id);
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    conn_t *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    stream_t *st = stream_new(c, frame->hd.stream_id);
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, st);
    return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
    (void)flags;
    conn_t *c = user_data;
    stream_t *st = stream_of(session, frame->hd.stream_id);
    if (st == NULL || frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    st->header_bytes += namelen + valuelen + HEADER_OVERHEAD;
    if (st->header_bytes > c->srv->opt.max_header_list_bytes) {
        atomic_fetch_add(&c->srv->count.streams_reset, 1);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* nghttp2 resets the stream */
    }
    if (header_is(name, namelen, ":method"))
        st->is_post = header_is(value, valuelen, "POST");
    else if (header_is(name, namelen, ":path") && st->path == NULL)
        st->path = xstrndup((const char *)value, valuelen);
    else if (header_is(name, namelen, "content-type"))
        st->is_grpc = valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0;
    else if (header_is(name, namelen, "grpc-encoding"))
        st->encoding = parse_encoding(value, valuelen);
    else if (header_is(name, namelen, "authorization"))
        take_key(st, value, valuelen, 1);
    else if (header_is(name, namelen, "x-api-key"))
        take_key(st, value, valuelen, 0);
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)user_data;
    stream_t *st;
    if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
        (st = stream_of(session, frame->hd.stream_id)) == NULL)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) check_request(st);
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) complete_request(st);
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                         void *user_data)
{
    (void)flags;
    conn_t *c = user_data;
    stream_t *st = stream_of(session, id);
    if (st == NULL || st->answered) return 0; /* refused already: the bytes are dropped */
    /* The whole declared message is reserved when its header completes: it must fit both the message
     * limit and what is left of the connection's budget. */
    size_t left = c->srv->opt.max_conn_buffered_bytes - c->buffered + st->counted;
    if (left < st->reader.max_len) st->reader.max_len = left;
    if (grpc_frame_feed(&st->reader, data, len) != 0) {
        answer_error(st, frame_err_status(st->reader.err), grpc_frame_err_str(st->reader.err));
        return 0;
    }
    size_t reserved = grpc_frame_reserved(&st->reader);
    c->buffered += reserved - st->counted;
    st->counted = reserved;
    return 0;
}

/* After an answer ends our side of a stream whose request is still coming (an early refusal), ask the
 * client to stop sending with RST_STREAM(NO_ERROR) (RFC 9113 8.1), which also frees the stream's slot. */
static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)user_data;
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && frame->hd.stream_id > 0 &&
        nghttp2_session_get_stream_remote_close(session, frame->hd.stream_id) == 0)
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t error_code, void *user_data)
{
    (void)error_code;
    (void)user_data;
    stream_t *st = stream_of(session, id);
    if (st != NULL) {
        nghttp2_session_set_stream_user_data(session, id, NULL);
        stream_free(st);
    }
    return 0;
}

/* ---- session ------------------------------------------------------------------------------------- */

int grpcd_conn_session_open(conn_t *c)
{
    const grpcd_options_t *o = &c->srv->opt;
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0) return -1;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    int rc = nghttp2_session_server_new(&c->session, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rc != 0) return -1;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, o->max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, o->stream_window_bytes},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, o->max_header_list_bytes},
    };
    if (nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(*iv)) != 0) return -1;
    uint64_t conn_window = (uint64_t)o->stream_window_bytes * CONN_WINDOW_STREAMS;
    if (conn_window > NGHTTP2_MAX_WINDOW_SIZE) conn_window = NGHTTP2_MAX_WINDOW_SIZE;
    if (nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, (int32_t)conn_window) != 0)
        return -1;
    return 0;
}

void grpcd_conn_session_close(conn_t *c)
{
    while (c->streams) {
        nghttp2_session_set_stream_user_data(c->session, c->streams->id, NULL);
        stream_free(c->streams);
    }
    nghttp2_session_del(c->session);
    c->session = NULL;
}
