/* TLS on the OTLP/gRPC listener against a real backend (issue 14, point 7), with a self-signed
 * certificate made here: with TLS_CERT_FILE/TLS_KEY_FILE a gRPC client over TLS (ALPN h2, the
 * certificate checked) is served and its records stored; an h2c client, and a client sending garbage,
 * are closed during the handshake and the server goes on serving; without the files the port speaks
 * h2c and refuses a TLS client. */
#include "ts.h"
#include "ts_grpc.h"

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
static char tls_dir[64], cert[128], key[128];
static ts_proc_t tls;   /* TLS on every listener, OTLP/gRPC on a free port */
static ts_proc_t plain; /* no TLS files: h2c */

static void make_cert(void)
{
    snprintf(tls_dir, sizeof(tls_dir), "/tmp/ps-grpc-tls.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tls_dir));
    snprintf(cert, sizeof(cert), "%s/cert.pem", tls_dir);
    snprintf(key, sizeof(key), "%s/key.pem", tls_dir);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             key, cert);
    ck_assert_int_eq(system(cmd), 0);
}

static size_t discard(void *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

/* GET `url` trusting only the test's certificate; the status, or -1 when no answer came. */
static long https_get(const char *url)
{
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, cert);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

/* Starts a backend with the test's certificate and an OTLP/gRPC port (ts_start() waits over plain
 * HTTP, so this one waits over HTTPS). */
static void start_tls_backend(ts_proc_t *p)
{
    memset(p, 0, sizeof(*p));
    p->port = ts_free_port();
    p->otlp_grpc_port = ts_free_port();
    while (p->otlp_grpc_port == p->port)
        p->otlp_grpc_port = ts_free_port();
    snprintf(p->url, sizeof(p->url), "https://127.0.0.1:%d", p->port);
    char *path = ts_program("backend/prodsentinel-backend");
    pid_t pid = fork();
    if (pid == 0) {
        char buf[512];
        snprintf(buf, sizeof(buf), "%d", p->port);
        setenv("BACKEND_PORT", buf, 1);
        snprintf(buf, sizeof(buf), "%d", p->otlp_grpc_port);
        setenv("OTLP_GRPC_PORT", buf, 1);
        setenv("OTLP_HTTP_PORT", "0", 1);
        setenv("DATABASE_URL", db_url, 1);
        setenv("REDIS_URL", ts_env("PS_TEST_REDIS_URL"), 1);
        setenv("REDIS_PREFIX", "t:grpc-tls:", 1);
        setenv("INGEST_API_KEYS", TS_INGEST_KEY, 1);
        setenv("READ_API_KEYS", TS_READ_KEY, 1);
        setenv("ADMIN_API_KEY", TS_ADMIN_KEY, 1);
        snprintf(buf, sizeof(buf), "%s/migrations", ts_env("PS_SOURCE_DIR"));
        setenv("MIGRATIONS_DIR", buf, 1);
        setenv("TLS_CERT_FILE", cert, 1);
        setenv("TLS_KEY_FILE", key, 1);
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    free(path);
    p->pid = pid;
    char url[128];
    snprintf(url, sizeof(url), "%s/health", p->url);
    for (int i = 0; i < 600 && https_get(url) != 200; i++)
        usleep(50 * 1000);
    ck_assert_int_eq(https_get(url), 200);
}

static void setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    db_url = ts_create_database("grpc_tls");
    make_cert();
    start_tls_backend(&tls);
    ck_assert_int_eq(ts_start_backend_otlp(&plain, db_url, "t:grpc-plain:", NULL, 0, TS_FREE_PORT), 0);
}

static void teardown(void)
{
    ts_stop(&tls, SIGTERM);
    ts_stop(&plain, SIGTERM);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tls_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tls_dir);
    free(db_url);
}

/* An ExportLogsServiceRequest with `n` logs of service "tls" whose body is `message` (one nanosecond
 * apart: n distinct records). Caller frees. */
static uint8_t *log_request_n(const char *message, size_t n, size_t *len)
{
    typedef Opentelemetry__Proto__Common__V1__AnyValue any_t;
    any_t svc = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT, body = svc;
    svc.value_case = body.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    svc.string_value = "tls";
    body.string_value = (char *)message;
    Opentelemetry__Proto__Common__V1__KeyValue kv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT,
                                               *kvp[1] = {&kv};
    kv.key = "service.name";
    kv.value = &svc;
    Opentelemetry__Proto__Resource__V1__Resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    res.n_attributes = 1;
    res.attributes = kvp;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    Opentelemetry__Proto__Logs__V1__LogRecord *lr = calloc(n, sizeof(*lr)), **lrp = calloc(n, sizeof(*lrp));
    for (size_t i = 0; i < n; i++) {
        Opentelemetry__Proto__Logs__V1__LogRecord one = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
        one.time_unix_nano = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec + i;
        one.severity_number = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_INFO;
        one.body = &body;
        lr[i] = one;
        lrp[i] = &lr[i];
    }
    Opentelemetry__Proto__Logs__V1__ScopeLogs sl = OPENTELEMETRY__PROTO__LOGS__V1__SCOPE_LOGS__INIT;
    sl.n_log_records = n;
    sl.log_records = lrp;
    Opentelemetry__Proto__Logs__V1__ScopeLogs *slp[1] = {&sl};
    Opentelemetry__Proto__Logs__V1__ResourceLogs rl = OPENTELEMETRY__PROTO__LOGS__V1__RESOURCE_LOGS__INIT;
    rl.resource = &res;
    rl.n_scope_logs = 1;
    rl.scope_logs = slp;
    Opentelemetry__Proto__Logs__V1__ResourceLogs *rlp[1] = {&rl};
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest req =
        OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_REQUEST__INIT;
    req.n_resource_logs = 1;
    req.resource_logs = rlp;
    *len = protobuf_c_message_get_packed_size(&req.base);
    uint8_t *msg = malloc(*len);
    protobuf_c_message_pack(&req.base, msg);
    free(lr);
    free(lrp);
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
    ck_assert_int_eq(ts_grpc_call_tls(tls.otlp_grpc_port, cert, &req, msg, len, 10000, &r), 0);
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
    ck_assert_int_eq(ts_grpc_call_tls(tls.otlp_grpc_port, cert, &bad, "", 0, 10000, &r), 0);
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
    ck_assert_int_eq(ts_grpc_call_tls(tls.otlp_grpc_port, cert, &req, msg, len, 20000, &r), 0);
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
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)tls.otlp_grpc_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
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
    ck_assert_int_ne(ts_grpc_call_tls(plain.otlp_grpc_port, cert, &req, msg, len, 5000, &r), 0);
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
