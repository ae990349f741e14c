/* TLS on the OTLP/gRPC listener against a real backend (issue 14, point 7), with a self-signed
 * certificate made here: with TLS_CERT_FILE/TLS_KEY_FILE a gRPC client over TLS (ALPN h2, the
 * certificate checked) is served and its records stored; an h2c client, and a client sending garbage,
 * are closed during the handshake and the server goes on serving; without the files the port speaks
 * h2c and refuses a TLS client. */
#include "ts.h"
#include "ts_grpc.h"
#include "ts_otlp.h"
#include "ts_tls.h"

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char *db_url;
static ts_tls_t certs;  /* the self-signed certificate of `tls` */
static ts_proc_t tls;   /* TLS on every listener, OTLP/gRPC on a free port */
static ts_proc_t plain; /* no TLS files: h2c */

static void setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    db_url = ts_create_database("grpc_tls");
    ts_tls_make(&certs, "grpc");
    const char *env[] = {certs.cert_env, certs.key_env, NULL};
    ck_assert_int_eq(ts_start_backend_otlp(&tls, db_url, "t:grpc-tls:", env, 0, TS_FREE_PORT), 0);
    ck_assert_int_eq(ts_start_backend_otlp(&plain, db_url, "t:grpc-plain:", NULL, 0, TS_FREE_PORT), 0);
}

static void teardown(void)
{
    ts_stop(&tls, SIGTERM);
    ts_stop(&plain, SIGTERM);
    ts_tls_remove(&certs);
    free(db_url);
}

/* An ExportLogsServiceRequest with `n` logs of service "tls" whose body is `message` (one nanosecond
 * apart: n distinct records). Caller frees. */
static uint8_t *log_request_n(const char *message, size_t n, size_t *len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts_otlp_log_t *logs = calloc(n, sizeof(*logs));
    for (size_t i = 0; i < n; i++)
        logs[i] =
            (ts_otlp_log_t){.time_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec + i,
                            .severity = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_INFO,
                            .body = message};
    uint8_t *msg = ts_otlp_logs_request("tls", logs, n, len);
    free(logs);
    return msg;
}

static uint8_t *log_request(const char *message, size_t *len)
{
    return log_request_n(message, 1, len);
}

static long logs_with(const char *message)
{
    PGconn *c = ts_pg(db_url);
    const char *params[1] = {message};
    PGresult *r =
        PQexecParams(c, "SELECT count(*) FROM logs WHERE message = $1", 1, NULL, params, NULL, NULL, 0);
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    long n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return n;
}

/* One TLS call with the ingest key storing a log `message`; fails the test unless it is served. */
static void tls_call_ok(const char *message)
{
    size_t len;
    uint8_t *msg = log_request(message, &len);
    ts_grpc_req_t req = {TS_GRPC_LOGS, TS_INGEST_KEY, NULL, 0};
    ts_grpc_resp_t r;
    ck_assert_int_eq(ts_grpc_call_tls(tls.otlp_grpc_port, certs.cert, &req, msg, len, 10000, &r), 0);
    ck_assert_msg(r.grpc_status == 0, "grpc-status %d: %s", r.grpc_status, r.message);
    ck_assert_str_eq(r.alpn, "h2");
    ts_grpc_resp_free(&r);
    free(msg);
    ck_assert_int_eq(logs_with(message), 1);
}

START_TEST(grpc_over_tls_served)
{
    char message[48];
    ts_hex(message, 24);
    tls_call_ok(message);
    /* the checks of the plain port hold over TLS: a wrong key is refused */
    ts_grpc_req_t bad = {TS_GRPC_LOGS, "not-the-ingest-key", NULL, 0};
    ts_grpc_resp_t r;
    ck_assert_int_eq(ts_grpc_call_tls(tls.otlp_grpc_port, certs.cert, &bad, "", 0, 10000, &r), 0);
    ck_assert_int_eq(r.grpc_status, 16); /* UNAUTHENTICATED */
    ts_grpc_resp_free(&r);
    /* a message of many TLS records (about 1 MiB: flow control and reads across records) */
    char big[4097];
    memset(big, 'b', sizeof(big) - 1);
    ts_hex(big, 24);
    big[24] = 'b';
    big[sizeof(big) - 1] = '\0';
    size_t len;
    uint8_t *msg = log_request_n(big, 250, &len);
    ck_assert_uint_gt(len, 1000000);
    ts_grpc_req_t req = {TS_GRPC_LOGS, TS_INGEST_KEY, NULL, 0};
    ck_assert_int_eq(ts_grpc_call_tls(tls.otlp_grpc_port, certs.cert, &req, msg, len, 20000, &r), 0);
    ck_assert_msg(r.grpc_status == 0, "grpc-status %d: %s", r.grpc_status, r.message);
    ts_grpc_resp_free(&r);
    free(msg);
    ck_assert_int_eq(logs_with(big), 250);
}
END_TEST

/* Connects to the TLS port, sends `bytes`, and waits up to 5 s for the server to close the connection.
 * Returns 1 when it did (recv() read the end or an error), 0 when it answered or held the connection. */
static int closed_after(const void *bytes, size_t n)
{
    int fd = ts_connect(tls.otlp_grpc_port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(send(fd, bytes, n, MSG_NOSIGNAL), (ssize_t)n);
    int closed = 0;
    for (int i = 0; i < 50 && !closed; i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) continue;
        char buf[4096];
        ssize_t got = recv(fd, buf, sizeof(buf), 0);
        if (got <= 0) closed = 1;
        /* an alert record (0x15) may come before the close: keep reading */
        else if (buf[0] != 0x15)
            break;
    }
    close(fd);
    return closed;
}

START_TEST(cleartext_client_refused_cleanly)
{
    /* an h2c gRPC client: its preface is no ClientHello; the call fails, nothing is stored */
    char message[48];
    ts_hex(message, 24);
    size_t len;
    uint8_t *msg = log_request(message, &len);
    ts_grpc_req_t req = {TS_GRPC_LOGS, TS_INGEST_KEY, NULL, 0};
    ts_grpc_resp_t r;
    int rc = ts_grpc_call(tls.otlp_grpc_port, &req, msg, len, 5000, &r);
    ck_assert_msg(rc != 0 && r.grpc_status == -1, "an h2c call was answered on the TLS port (grpc-status %d)",
                  r.grpc_status);
    ts_grpc_resp_free(&r);
    free(msg);
    ck_assert_int_eq(logs_with(message), 0);
    /* the connection is closed, not held open: the HTTP/2 preface, then random bytes */
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    ck_assert(closed_after(preface, sizeof(preface) - 1));
    unsigned char junk[512];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)(rand() & 0xff);
    junk[0] = 0x16; /* a handshake record's type, then nonsense */
    ck_assert(closed_after(junk, sizeof(junk)));
    /* the server still runs and serves TLS clients */
    ck_assert_int_eq(kill(tls.pid, 0), 0);
    ts_hex(message, 24);
    tls_call_ok(message);
}
END_TEST

START_TEST(h2c_without_tls_files)
{
    char message[48];
    ts_hex(message, 24);
    size_t len;
    uint8_t *msg = log_request(message, &len);
    ts_grpc_req_t req = {TS_GRPC_LOGS, TS_INGEST_KEY, NULL, 0};
    ts_grpc_resp_t r;
    ck_assert_int_eq(ts_grpc_call(plain.otlp_grpc_port, &req, msg, len, 10000, &r), 0);
    ck_assert_int_eq(r.grpc_status, 0);
    ts_grpc_resp_free(&r);
    ck_assert_int_eq(logs_with(message), 1);
    /* a TLS client gets no handshake from an h2c port */
    ck_assert_int_ne(ts_grpc_call_tls(plain.otlp_grpc_port, certs.cert, &req, msg, len, 5000, &r), 0);
    ts_grpc_resp_free(&r);
    free(msg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("grpc_tls");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, grpc_over_tls_served);
    tcase_add_test(tc, cleartext_client_refused_cleanly);
    tcase_add_test(tc, h2c_without_tls_files);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
