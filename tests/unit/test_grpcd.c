/* The gRPC unary server (common/grpcd.h) in-process, with an nghttp2 client over a loopback socket:
 * OK answers with trailers, gzip requests, keys checked before any body, limits, unknown methods, wrong
 * content-type, calls finished after their client left, concurrent streams. Also the pure pieces:
 * the message reader (grpc_frame.h) and the status encoders (grpc_status.h). */
#include "grpc_frame.h"
#include "grpc_status.h"
#include "grpcd.h"
#include "h2c.h"
#include "ts_zlib.h"

#include "ts.h"

#include <arpa/inet.h>
#include <check.h>
#include <nghttp2/nghttp2.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define ECHO "/test.Svc/Echo"
#define LATER "/test.Svc/Later"
#define BUSY "/test.Svc/Busy"
#define KEY "secret-key-123"
#define MAX_STREAMS 8
#define MAX_LATER 64
#define RACES 40
#define WAIT_MS 10000

/* ---- server side --------------------------------------------------------------------------------- */

/* Calls of the "later" method, kept for the test thread to finish. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    grpcd_call_t *calls[MAX_LATER];
    size_t lens[MAX_LATER];
    int n;
} later_t;

static void echo(void *ctx, grpcd_call_t *call, const uint8_t *msg, size_t len)
{
    (void)ctx;
    grpcd_call_finish(call, GRPC_OK, NULL, msg, len, NULL, 0);
}

static void busy(void *ctx, grpcd_call_t *call, const uint8_t *msg, size_t len)
{
    (void)ctx;
    (void)msg;
    (void)len;
    buf_t st;
    buf_init(&st, 1024);
    grpc_duration_t d = {2, 500000000};
    ck_assert_int_eq(grpc_status_encode(GRPC_UNAVAILABLE, "try later: 100% busy", &d, &st), 0);
    grpcd_call_finish(call, GRPC_UNAVAILABLE, "try later: 100% busy", NULL, 0, st.data, st.len);
    buf_dispose(&st);
}

static void later(void *ctx, grpcd_call_t *call, const uint8_t *msg, size_t len)
{
    (void)msg;
    later_t *l = ctx;
    pthread_mutex_lock(&l->mu);
    l->lens[l->n] = len;
    l->calls[l->n++] = call;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

static grpcd_call_t *later_wait(later_t *l, int i)
{
    pthread_mutex_lock(&l->mu);
    while (l->n <= i)
        pthread_cond_wait(&l->cv, &l->mu);
    grpcd_call_t *c = l->calls[i];
    pthread_mutex_unlock(&l->mu);
    return c;
}

static later_t g_later = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, {0}, 0};

static grpcd_t *start_server_with(const grpcd_options_t *opts)
{
    grpcd_options_t o = *opts;
    char err[256];
    grpcd_t *s = grpcd_create(&o, err, sizeof(err));
    ck_assert_msg(s != NULL, "%s", err);
    ck_assert_int_gt(grpcd_port(s), 0);
    g_later.n = 0;
    ck_assert_int_eq(grpcd_register(s, ECHO, echo, NULL), 0);
    ck_assert_int_eq(grpcd_register(s, ECHO, echo, NULL), -1);
    ck_assert_int_eq(grpcd_register(s, LATER, later, &g_later), 0);
    ck_assert_int_eq(grpcd_register(s, BUSY, busy, NULL), 0);
    ck_assert_int_eq(grpcd_start(s, err, sizeof(err)), 0);
    return s;
}

static grpcd_t *start_server(const keyset_t *keys, size_t max_msg)
{
    grpcd_options_t o;
    grpcd_options_default(&o);
    o.keys = keys;
    if (max_msg) o.max_message_bytes = max_msg;
    return start_server_with(&o);
}

/* ---- client side (the shared HTTP/2 client, h2c.h) ------------------------------------------------ */

typedef h2c_stream_t resp_t;

typedef struct {
    h2c_t *h;
    resp_t resps[MAX_STREAMS];
    int n;
} client_t;

static resp_t *resp_of(client_t *c, int32_t id)
{
    for (int i = 0; i < c->n; i++)
        if (c->resps[i].id == id) return &c->resps[i];
    return NULL;
}

static void client_open(client_t *c, int port)
{
    memset(c, 0, sizeof(*c));
    char err[128];
    c->h = h2c_connect(port, NULL, err, sizeof(err));
    ck_assert_msg(c->h != NULL, "%s", err);
}

static void client_close(client_t *c)
{
    h2c_free(c->h);
    for (int i = 0; i < c->n; i++)
        h2c_stream_dispose(&c->resps[i]);
}

/* A request body: the framed gRPC message. */
typedef struct {
    const uint8_t *p;
    size_t len;
} body_src_t;

/* Submits a request; `body` (NULL with headers_only) must live until the stream ends. */
static int32_t client_request(client_t *c, const h2c_req_t *o, const body_src_t *body)
{
    ck_assert_int_lt(c->n, MAX_STREAMS);
    resp_t *r = &c->resps[c->n++];
    ck_assert_int_eq(h2c_submit(c->h, o, body ? body->p : NULL, body ? body->len : 0, r), 0);
    ck_assert_int_gt(r->id, 0);
    return r->id;
}

/* Runs the client until every stream has ended (END_STREAM from the server) or closed. */
static void client_run(client_t *c)
{
    ck_assert_msg(h2c_run(c->h, WAIT_MS) == 0, "no answer in time (or the connection failed)");
}

static void frame_into(buf_t *out, int compressed, const void *msg, size_t len)
{
    uint8_t h[GRPC_FRAME_HEADER_LEN];
    grpc_frame_header_write(h, compressed, (uint32_t)len);
    ck_assert_int_eq(buf_append(out, h, sizeof(h)), 0);
    ck_assert_int_eq(buf_append(out, msg, len), 0);
}

/* One call on a fresh connection; fills *r (its body is disposed by the caller). */
static void one_call(grpcd_t *s, const h2c_req_t *o, const void *msg, size_t len, int compressed, resp_t *r)
{
    client_t c;
    client_open(&c, grpcd_port(s));
    buf_t framed;
    buf_init(&framed, 64u << 20);
    frame_into(&framed, compressed, msg, len);
    body_src_t b = {(const uint8_t *)framed.data, framed.len};
    client_request(&c, o, &b);
    client_run(&c);
    *r = c.resps[0];
    c.n = 0; /* the record and its body move to *r */
    client_close(&c);
    buf_dispose(&framed);
}

static uint64_t stat_of(grpcd_t *s, int status)
{
    grpcd_stats_t st;
    grpcd_stats(s, &st);
    return st.calls[status];
}

/* ---- the server ---------------------------------------------------------------------------------- */

START_TEST(ok_call_has_response_and_trailers)
{
    grpcd_t *s = start_server(NULL, 0);
    h2c_req_t o = {.path = ECHO};
    resp_t r;
    one_call(s, &o, "hello", 5, 0, &r);
    ck_assert_int_eq(r.http_status, 200);
    ck_assert_str_eq(r.content_type, "application/grpc");
    ck_assert_int_eq(r.grpc_status, 0);
    ck_assert_uint_eq(r.body.len, 10);
    ck_assert(memcmp(r.body.data, "\0\0\0\0\5hello", 10) == 0);
    buf_dispose(&r.body);
    /* an empty message is a message too */
    one_call(s, &o, "", 0, 0, &r);
    ck_assert_int_eq(r.grpc_status, 0);
    ck_assert_uint_eq(r.body.len, 5);
    buf_dispose(&r.body);
    ck_assert_uint_eq(stat_of(s, GRPC_OK), 2);
    grpcd_free(s);
}
END_TEST

START_TEST(gzip_request_is_inflated)
{
    grpcd_t *s = start_server(NULL, 0);
    char plain[5000];
    for (size_t i = 0; i < sizeof(plain); i++)
        plain[i] = (char)('a' + i % 7);
    buf_t z;
    buf_init(&z, 1u << 20);
    ts_deflate(TS_GZIP_BITS, plain, sizeof(plain), &z);
    h2c_req_t o = {.path = ECHO, .encoding = "gzip"};
    resp_t r;
    one_call(s, &o, z.data, z.len, 1, &r);
    ck_assert_int_eq(r.grpc_status, 0);
    ck_assert_uint_eq(r.body.len, 5 + sizeof(plain));
    ck_assert_int_eq((uint8_t)r.body.data[0], 0); /* answered uncompressed */
    ck_assert(memcmp(r.body.data + 5, plain, sizeof(plain)) == 0);
    buf_dispose(&r.body);
    /* compressed flag without grpc-encoding: INTERNAL; with an unknown one: UNIMPLEMENTED */
    o.encoding = NULL;
    one_call(s, &o, z.data, z.len, 1, &r);
    ck_assert_int_eq(r.grpc_status, GRPC_INTERNAL);
    buf_dispose(&r.body);
    o.encoding = "snappy";
    one_call(s, &o, z.data, z.len, 1, &r);
    ck_assert_int_eq(r.grpc_status, GRPC_UNIMPLEMENTED);
    buf_dispose(&r.body);
    /* garbage under gzip: INTERNAL */
    o.encoding = "gzip";
    one_call(s, &o, "not gzip", 8, 1, &r);
    ck_assert_int_eq(r.grpc_status, GRPC_INTERNAL);
    buf_dispose(&r.body);
    buf_dispose(&z);
    grpcd_free(s);
}
END_TEST

/* The server answers from the headers alone: the client sends no DATA and never ends its side. */
START_TEST(missing_key_is_refused_before_any_body)
{
    keyset_t ks;
    char err[128];
    ck_assert_int_eq(keyset_parse(&ks, KEY ",other-key-456", err, sizeof(err)), 0);
    grpcd_t *s = start_server(&ks, 0);
    client_t c;
    client_open(&c, grpcd_port(s));
    h2c_req_t o = {.path = ECHO, .headers_only = 1};
    client_request(&c, &o, NULL);
    client_run(&c);
    ck_assert_int_eq(c.resps[0].http_status, 200);
    ck_assert_int_eq(c.resps[0].grpc_status, GRPC_UNAUTHENTICATED);
    ck_assert_uint_eq(c.resps[0].body.len, 0);
    /* the refused stream is then reset with NO_ERROR: the client stops sending, the slot is free */
    for (int i = 0; i < 100 && !c.resps[0].closed; i++)
        ck_assert_int_eq(h2c_pump(c.h, 50), 0);
    ck_assert_int_eq(c.resps[0].closed, 1);
    ck_assert_uint_eq(c.resps[0].close_error, NGHTTP2_NO_ERROR);
    client_close(&c);
    /* an unknown method with no key is still UNAUTHENTICATED: nothing is told before the key */
    resp_t r;
    h2c_req_t u = {.path = "/nope.Svc/Nope"};
    one_call(s, &u, "x", 1, 0, &r);
    ck_assert_int_eq(r.grpc_status, GRPC_UNAUTHENTICATED);
    buf_dispose(&r.body);
    ck_assert_uint_eq(stat_of(s, GRPC_UNAUTHENTICATED), 2);
    grpcd_free(s);
    keyset_dispose(&ks);
}
END_TEST

START_TEST(keys_from_bearer_or_x_api_key)
{
    keyset_t ks;
    char err[128];
    ck_assert_int_eq(keyset_parse(&ks, KEY ",other-key-456", err, sizeof(err)), 0);
    grpcd_t *s = start_server(&ks, 0);
    resp_t r;
    h2c_req_t wrong = {.path = ECHO, .auth_name = "authorization", .auth_value = "Bearer wrong-key-000"};
    one_call(s, &wrong, "x", 1, 0, &r);
    ck_assert_int_eq(r.grpc_status, GRPC_UNAUTHENTICATED);
    ck_assert_str_eq(r.grpc_message, "invalid API key");
    buf_dispose(&r.body);
    h2c_req_t not_bearer = {.path = ECHO, .auth_name = "authorization", .auth_value = KEY};
    one_call(s, &not_bearer, "x", 1, 0, &r);
    ck_assert_int_eq(r.grpc_status, GRPC_UNAUTHENTICATED);
    buf_dispose(&r.body);
    h2c_req_t bearer = {.path = ECHO, .auth_name = "authorization", .auth_value = "Bearer " KEY};
    one_call(s, &bearer, "x", 1, 0, &r);
    ck_assert_int_eq(r.grpc_status, 0);
    buf_dispose(&r.body);
    h2c_req_t xkey = {.path = ECHO, .auth_name = "x-api-key", .auth_value = "other-key-456"};
    one_call(s, &xkey, "x", 1, 0, &r);
    ck_assert_int_eq(r.grpc_status, 0);
    buf_dispose(&r.body);
    /* the key's index reaches the handler's call */
    client_t c;
    client_open(&c, grpcd_port(s));
    h2c_req_t lat = {.path = LATER, .auth_name = "x-api-key", .auth_value = "other-key-456"};
    body_src_t b = {(const uint8_t *)"\0\0\0\0\0", 5};
    client_request(&c, &lat, &b);
    ck_assert_int_eq(h2c_send(c.h), 0);
    grpcd_call_t *call = later_wait(&g_later, 0);
    ck_assert_int_eq(grpcd_call_key_index(call), 1);
    grpcd_call_finish(call, GRPC_OK, NULL, NULL, 0, NULL, 0);
    client_run(&c);
    ck_assert_int_eq(c.resps[0].grpc_status, 0);
    client_close(&c);
    grpcd_free(s);
    keyset_dispose(&ks);
}
END_TEST

START_TEST(oversized_message_is_resource_exhausted)
{
    grpcd_t *s = start_server(NULL, 2048);
    char big[3000];
    memset(big, 'x', sizeof(big));
    h2c_req_t o = {.path = ECHO};
    resp_t r;
    one_call(s, &o, big, sizeof(big), 0, &r);
    ck_assert_int_eq(r.grpc_status, GRPC_RESOURCE_EXHAUSTED);
    buf_dispose(&r.body);
    one_call(s, &o, big, 2048, 0, &r); /* exactly the limit passes */
    ck_assert_int_eq(r.grpc_status, 0);
    buf_dispose(&r.body);
    /* small when compressed, too big once inflated */
    char *zeros = calloc(1, 1u << 20);
    buf_t z;
    buf_init(&z, 1u << 20);
    ts_deflate(TS_GZIP_BITS, zeros, 1u << 20, &z);
    ck_assert_uint_lt(z.len, 2048);
    o.encoding = "gzip";
    one_call(s, &o, z.data, z.len, 1, &r);
    ck_assert_int_eq(r.grpc_status, GRPC_RESOURCE_EXHAUSTED);
    buf_dispose(&r.body);
    buf_dispose(&z);
    free(zeros);
    grpcd_free(s);
}
END_TEST

START_TEST(unknown_method_is_unimplemented)
{
    grpcd_t *s = start_server(NULL, 0);
    h2c_req_t o = {.path = "/nope.Svc/Nope"};
    resp_t r;
    one_call(s, &o, "x", 1, 0, &r);
    ck_assert_int_eq(r.http_status, 200);
    ck_assert_int_eq(r.grpc_status, GRPC_UNIMPLEMENTED);
    ck_assert_str_eq(r.grpc_message, "unknown method /nope.Svc/Nope");
    buf_dispose(&r.body);
    ck_assert_uint_eq(stat_of(s, GRPC_UNIMPLEMENTED), 1);
    grpcd_free(s);
}
END_TEST

START_TEST(wrong_content_type_is_415)
{
    grpcd_t *s = start_server(NULL, 0);
    h2c_req_t o = {.path = ECHO, .content_type = "application/json"};
    resp_t r;
    one_call(s, &o, "x", 1, 0, &r);
    ck_assert_int_eq(r.http_status, 415);
    buf_dispose(&r.body);
    o.content_type = "application/grpc+proto";
    one_call(s, &o, "x", 1, 0, &r);
    ck_assert_int_eq(r.http_status, 200);
    ck_assert_int_eq(r.grpc_status, 0);
    buf_dispose(&r.body);
    grpcd_stats_t st;
    grpcd_stats(s, &st);
    ck_assert_uint_eq(st.http_rejected, 1);
    grpcd_free(s);
}
END_TEST

START_TEST(error_answer_carries_message_and_details)
{
    grpcd_t *s = start_server(NULL, 0);
    h2c_req_t o = {.path = BUSY};
    resp_t r;
    one_call(s, &o, "x", 1, 0, &r);
    ck_assert_int_eq(r.http_status, 200);
    ck_assert_int_eq(r.grpc_status, GRPC_UNAVAILABLE);
    ck_assert_str_eq(r.grpc_message, "try later: 100%25 busy");
    ck_assert_uint_eq(r.body.len, 0);
    buf_t st, b64;
    buf_init(&st, 1024);
    buf_init(&b64, 2048);
    grpc_duration_t d = {2, 500000000};
    ck_assert_int_eq(grpc_status_encode(GRPC_UNAVAILABLE, "try later: 100% busy", &d, &st), 0);
    ck_assert_int_eq(grpc_base64_encode(st.data, st.len, &b64), 0);
    ck_assert_str_eq(r.details, b64.data);
    buf_dispose(&st);
    buf_dispose(&b64);
    buf_dispose(&r.body);
    grpcd_free(s);
}
END_TEST

static void wait_until_closed(grpcd_t *s)
{
    for (int i = 0; i < 1000; i++) {
        grpcd_stats_t st;
        grpcd_stats(s, &st);
        if (st.connections_open == 0) return;
        usleep(10000);
    }
    ck_abort_msg("the server kept the connection");
}

START_TEST(finish_after_client_left)
{
    grpcd_t *s = start_server(NULL, 0);
    client_t c;
    client_open(&c, grpcd_port(s));
    h2c_req_t o = {.path = LATER};
    body_src_t b = {(const uint8_t *)"\0\0\0\0\3abc", 8};
    client_request(&c, &o, &b);
    ck_assert_int_eq(h2c_send(c.h), 0);
    grpcd_call_t *call = later_wait(&g_later, 0);
    ck_assert_uint_eq(g_later.lens[0], 3);
    client_close(&c); /* the client goes away with the call pending */
    wait_until_closed(s);
    grpcd_call_finish(call, GRPC_OK, NULL, "late", 4, NULL, 0);
    for (int i = 0; i < 500; i++) {
        grpcd_stats_t st;
        grpcd_stats(s, &st);
        if (st.calls_abandoned == 1) break;
        usleep(10000);
    }
    grpcd_stats_t st;
    grpcd_stats(s, &st);
    ck_assert_uint_eq(st.calls_abandoned, 1);
    /* the server still serves */
    resp_t r;
    h2c_req_t e = {.path = ECHO};
    one_call(s, &e, "x", 1, 0, &r);
    ck_assert_int_eq(r.grpc_status, 0);
    buf_dispose(&r.body);
    grpcd_free(s);
}
END_TEST

static void *finish_soon(void *arg)
{
    usleep(200000);
    grpcd_call_finish(arg, GRPC_UNAVAILABLE, "shutting down", NULL, 0, NULL, 0);
    return NULL;
}

/* grpcd_free() with a call still held by another thread waits for it to be finished. */
START_TEST(free_waits_for_pending_calls)
{
    grpcd_t *s = start_server(NULL, 0);
    client_t c;
    client_open(&c, grpcd_port(s));
    h2c_req_t o = {.path = LATER};
    body_src_t b = {(const uint8_t *)"\0\0\0\0\0", 5};
    client_request(&c, &o, &b);
    ck_assert_int_eq(h2c_send(c.h), 0);
    grpcd_call_t *call = later_wait(&g_later, 0);
    pthread_t t;
    pthread_create(&t, NULL, finish_soon, call);
    grpcd_free(s);
    pthread_join(t, NULL);
    client_close(&c);
}
END_TEST

START_TEST(concurrent_streams_on_one_connection)
{
    grpcd_t *s = start_server(NULL, 0);
    client_t c;
    client_open(&c, grpcd_port(s));
    h2c_req_t lat = {.path = LATER}, ech = {.path = ECHO};
    body_src_t b1 = {(const uint8_t *)"\0\0\0\0\1a", 6}, b2 = {(const uint8_t *)"\0\0\0\0\2bb", 7},
               b3 = {(const uint8_t *)"\0\0\0\0\3ccc", 8};
    client_request(&c, &lat, &b1);
    client_request(&c, &lat, &b2);
    ck_assert_int_eq(h2c_send(c.h), 0);
    grpcd_call_t *first = later_wait(&g_later, 0), *second = later_wait(&g_later, 1);
    /* an echo call on the same connection passes the two pending ones */
    client_request(&c, &ech, &b3);
    while (!c.resps[2].ended)
        ck_assert_int_eq(h2c_pump(c.h, -1), 0);
    ck_assert_int_eq(c.resps[0].ended + c.resps[1].ended, 0);
    /* finished in reverse order from this thread, each answer reaches its own stream */
    grpcd_call_finish(second, GRPC_OK, NULL, "second", 6, NULL, 0);
    grpcd_call_finish(first, GRPC_OK, NULL, "first", 5, NULL, 0);
    client_run(&c);
    resp_t *r1 = resp_of(&c, c.resps[0].id), *r2 = resp_of(&c, c.resps[1].id);
    int swapped = g_later.lens[0] == 2; /* which request arrived first at the server */
    resp_t *got_first = swapped ? r2 : r1, *got_second = swapped ? r1 : r2;
    ck_assert_int_eq(got_first->grpc_status, 0);
    ck_assert_int_eq(got_second->grpc_status, 0);
    ck_assert(got_first->body.len == 10 && memcmp(got_first->body.data + 5, "first", 5) == 0);
    ck_assert(got_second->body.len == 11 && memcmp(got_second->body.data + 5, "second", 6) == 0);
    ck_assert(c.resps[2].body.len == 8 && memcmp(c.resps[2].body.data + 5, "ccc", 3) == 0);
    client_close(&c);
    ck_assert_uint_eq(stat_of(s, GRPC_OK), 3);
    grpcd_free(s);
}
END_TEST

START_TEST(ipv6_and_bad_addresses)
{
    grpcd_options_t o;
    grpcd_options_default(&o);
    char err[256];
    o.bind = "::1";
    grpcd_t *s = grpcd_create(&o, err, sizeof(err));
    if (s != NULL) { /* a host without IPv6 loopback cannot run this part */
        ck_assert_int_gt(grpcd_port(s), 0);
        grpcd_free(s);
    }
    o.bind = "localhost";
    ck_assert_ptr_null(grpcd_create(&o, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "literal"));
}
END_TEST

START_TEST(connection_buffer_cap)
{
    grpcd_options_t o;
    grpcd_options_default(&o);
    o.max_conn_buffered_bytes = 1000;
    grpcd_t *s = start_server_with(&o);
    char big[3000];
    memset(big, 'y', sizeof(big));
    h2c_req_t e = {.path = ECHO};
    resp_t r;
    one_call(s, &e, big, sizeof(big), 0, &r);
    ck_assert_int_eq(r.grpc_status, GRPC_RESOURCE_EXHAUSTED);
    buf_dispose(&r.body);
    one_call(s, &e, big, 900, 0, &r);
    ck_assert_int_eq(r.grpc_status, 0);
    buf_dispose(&r.body);
    grpcd_free(s);
}
END_TEST

START_TEST(header_list_limit_resets_the_stream)
{
    grpcd_t *s = start_server(NULL, 0);
    char *huge = malloc(20000);
    memset(huge, 'h', 19999);
    huge[19999] = '\0';
    h2c_req_t o = {.path = ECHO, .auth_name = "x-padding", .auth_value = huge};
    resp_t r;
    one_call(s, &o, "x", 1, 0, &r);
    ck_assert_int_eq(r.closed, 1);
    ck_assert_int_eq(r.grpc_status, -1);
    ck_assert_uint_ne(r.close_error, 0);
    buf_dispose(&r.body);
    free(huge);
    grpcd_stats_t st;
    grpcd_stats(s, &st);
    ck_assert_uint_eq(st.streams_reset, 1);
    grpcd_free(s);
}
END_TEST

START_TEST(connection_limit_and_idle_timeout)
{
    grpcd_options_t o;
    grpcd_options_default(&o);
    o.max_connections = 1;
    o.idle_timeout_ms = 100;
    grpcd_t *s = start_server_with(&o);
    client_t a, b;
    client_open(&a, grpcd_port(s));
    ck_assert_int_eq(h2c_send(a.h), 0);
    uint8_t buf[1024];
    ck_assert_int_gt(recv(h2c_fd(a.h), buf, sizeof(buf), 0), 0); /* the server's SETTINGS: a is in */
    client_open(&b, grpcd_port(s));
    ck_assert_int_eq(recv(h2c_fd(b.h), buf, sizeof(buf), 0), 0); /* b is closed at once */
    grpcd_stats_t st;
    grpcd_stats(s, &st);
    ck_assert_uint_eq(st.connections_refused, 1);
    wait_until_closed(s); /* a goes idle and is closed */
    client_close(&a);
    client_close(&b);
    grpcd_free(s);
}
END_TEST

static void *finish_all_later(void *arg)
{
    (void)arg;
    for (int i = 0; i < RACES; i++) {
        grpcd_call_t *call = later_wait(&g_later, i);
        usleep((useconds_t)(rand() % 3000));
        grpcd_call_finish(call, i % 2 ? GRPC_OK : GRPC_UNAVAILABLE, "racing", "r", 1, "d", 1);
    }
    return NULL;
}

/* Answers from another thread race with clients leaving: each call is answered or dropped, never
 * touched after its stream is gone (ASan). */
START_TEST(finish_races_with_disconnects)
{
    grpcd_t *s = start_server(NULL, 0);
    srand(7);
    pthread_t t;
    pthread_create(&t, NULL, finish_all_later, NULL);
    for (int i = 0; i < RACES; i++) {
        client_t c;
        client_open(&c, grpcd_port(s));
        h2c_req_t o = {.path = LATER};
        body_src_t b = {(const uint8_t *)"\0\0\0\0\0", 5};
        client_request(&c, &o, &b);
        ck_assert_int_eq(h2c_send(c.h), 0);
        later_wait(&g_later, i);
        usleep((useconds_t)(rand() % 3000));
        client_close(&c);
    }
    pthread_join(t, NULL);
    grpcd_free(s); /* every call was finished: nothing to wait for */
}
END_TEST

/* ---- pure pieces --------------------------------------------------------------------------------- */

START_TEST(frame_reader_any_split)
{
    const uint8_t body[] = {0, 0, 0, 0, 3, 'a', 'b', 'c'};
    for (size_t cut = 0; cut <= sizeof(body); cut++) {
        grpc_frame_reader_t r;
        grpc_frame_reader_init(&r, 16);
        ck_assert_int_eq(grpc_frame_feed(&r, body, cut), 0);
        ck_assert_uint_eq(grpc_frame_reserved(&r), cut >= 5 ? 3 : 0);
        ck_assert_int_eq(grpc_frame_feed(&r, body + cut, sizeof(body) - cut), 0);
        ck_assert_int_eq(grpc_frame_end(&r), 0);
        ck_assert_uint_eq(r.len, 3);
        ck_assert(memcmp(r.msg, "abc", 3) == 0);
        grpc_frame_reader_dispose(&r);
    }
}
END_TEST

START_TEST(frame_reader_errors)
{
    struct {
        const char *p;
        size_t n;
        grpc_frame_err_t err;
    } cases[] = {
        {"", 0, GRPC_FRAME_ERR_NO_MESSAGE},
        {"\0\0\0", 3, GRPC_FRAME_ERR_TRUNCATED},
        {"\0\0\0\0\3ab", 7, GRPC_FRAME_ERR_TRUNCATED},
        {"\0\0\0\0\1a\0", 7, GRPC_FRAME_ERR_SECOND_MESSAGE},
        {"\2\0\0\0\1a", 6, GRPC_FRAME_ERR_BAD_FLAGS},
        {"\0\0\0\0\21", 5, GRPC_FRAME_ERR_TOO_BIG},
        {"\0\xff\xff\xff\xff", 5, GRPC_FRAME_ERR_TOO_BIG},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        grpc_frame_reader_t r;
        grpc_frame_reader_init(&r, 16);
        int rc = grpc_frame_feed(&r, (const uint8_t *)cases[i].p, cases[i].n);
        if (rc == 0) rc = grpc_frame_end(&r);
        ck_assert_msg(rc == -1 && r.err == cases[i].err, "case %zu: rc %d err %d", i, rc, r.err);
        if (cases[i].err == GRPC_FRAME_ERR_TOO_BIG) ck_assert_uint_eq(grpc_frame_reserved(&r), 0);
        ck_assert_str_ne(grpc_frame_err_str(r.err), "");
        grpc_frame_reader_dispose(&r);
    }
    /* a lowered limit between feeds (the connection's budget) applies to the header still to come */
    grpc_frame_reader_t r;
    grpc_frame_reader_init(&r, 16);
    ck_assert_int_eq(grpc_frame_feed(&r, (const uint8_t *)"\0\0\0", 3), 0);
    r.max_len = 4;
    ck_assert_int_eq(grpc_frame_feed(&r, (const uint8_t *)"\0\5", 2), -1);
    ck_assert_int_eq(r.err, GRPC_FRAME_ERR_TOO_BIG);
    grpc_frame_reader_dispose(&r);
}
END_TEST

START_TEST(status_encoding_bytes)
{
    buf_t b;
    buf_init(&b, 1024);
    ck_assert_int_eq(grpc_status_encode(GRPC_UNAVAILABLE, "busy", NULL, &b), 0);
    ck_assert_uint_eq(b.len, 8);
    ck_assert(memcmp(b.data,
                     "\x08\x0e\x12\x04"
                     "busy",
                     8) == 0);
    buf_reset(&b);
    grpc_duration_t d = {5, 0};
    ck_assert_int_eq(grpc_status_encode(GRPC_UNAVAILABLE, NULL, &d, &b), 0);
    /* Status{code 14, details [Any{type_url, value RetryInfo{retry_delay Duration{seconds 5}}}]} */
    const char url[] = "type.googleapis.com/google.rpc.RetryInfo";
    buf_t want;
    buf_init(&want, 1024);
    ck_assert_int_eq(buf_append(&want, "\x08\x0e\x1a", 3), 0);
    ck_assert_int_eq(buf_append_char(&want, (char)(2 + 40 + 2 + 4)), 0);
    ck_assert_int_eq(buf_append(&want, "\x0a\x28", 2), 0);
    ck_assert_int_eq(buf_append(&want, url, 40), 0);
    ck_assert_int_eq(buf_append(&want, "\x12\x04\x0a\x02\x08\x05", 6), 0);
    ck_assert_uint_eq(b.len, want.len);
    ck_assert(memcmp(b.data, want.data, want.len) == 0);
    buf_reset(&b);
    /* nanos and a large seconds value use multi-byte varints */
    grpc_duration_t d2 = {300, 250000000};
    ck_assert_int_eq(grpc_status_encode(GRPC_OK, NULL, &d2, &b), 0);
    const char tail[] = "\x0a\x08\x08\xac\x02\x10\x80\xe5\x9a\x77";
    ck_assert(memcmp(b.data + b.len - 10, tail, 10) == 0);
    /* past the cap nothing is left half-written */
    buf_t small;
    buf_init(&small, 20);
    ck_assert_int_eq(buf_append(&small, "ab", 2), 0);
    ck_assert_int_eq(grpc_status_encode(GRPC_UNAVAILABLE, "a longer message", &d, &small), -1);
    ck_assert_uint_eq(small.len, 2);
    buf_dispose(&small);
    buf_dispose(&want);
    buf_dispose(&b);
}
END_TEST

START_TEST(percent_and_base64)
{
    buf_t b;
    buf_init(&b, 1024);
    ck_assert_int_eq(grpc_percent_encode("a b%c\n\xc3\xa9~", &b), 0);
    ck_assert_str_eq(b.data, "a b%25c%0A%C3%A9~");
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        buf_reset(&b);
        ck_assert_int_eq(grpc_base64_encode(in[i], strlen(in[i]), &b), 0);
        ck_assert_str_eq(b.len ? b.data : "", out[i]);
    }
    buf_t small;
    buf_init(&small, 3);
    ck_assert_int_eq(grpc_base64_encode("foobar", 6, &small), -1);
    buf_dispose(&small);
    buf_dispose(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("grpcd");
    TCase *pure = tcase_create("pure");
    tcase_add_test(pure, frame_reader_any_split);
    tcase_add_test(pure, frame_reader_errors);
    tcase_add_test(pure, status_encoding_bytes);
    tcase_add_test(pure, percent_and_base64);
    suite_add_tcase(s, pure);
    TCase *srv = tcase_create("server");
    tcase_add_test(srv, ok_call_has_response_and_trailers);
    tcase_add_test(srv, gzip_request_is_inflated);
    tcase_add_test(srv, missing_key_is_refused_before_any_body);
    tcase_add_test(srv, keys_from_bearer_or_x_api_key);
    tcase_add_test(srv, oversized_message_is_resource_exhausted);
    tcase_add_test(srv, unknown_method_is_unimplemented);
    tcase_add_test(srv, wrong_content_type_is_415);
    tcase_add_test(srv, error_answer_carries_message_and_details);
    tcase_add_test(srv, finish_after_client_left);
    tcase_add_test(srv, free_waits_for_pending_calls);
    tcase_add_test(srv, concurrent_streams_on_one_connection);
    tcase_add_test(srv, ipv6_and_bad_addresses);
    tcase_add_test(srv, connection_buffer_cap);
    tcase_add_test(srv, header_list_limit_resets_the_stream);
    tcase_add_test(srv, connection_limit_and_idle_timeout);
    tcase_add_test(srv, finish_races_with_disconnects);
    suite_add_tcase(s, srv);
    return ts_run(s);
}
