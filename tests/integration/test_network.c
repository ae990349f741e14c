/* Network defaults against real backends: the API on BACKEND_PORT and on OTLP_HTTP_PORT alike, no
 * listener when a port is 0, loopback by default, BIND_ADDR (IPv6 too, bad values refused), a port
 * another backend holds refused, and CORS for browser exporters (preflights allowed and refused,
 * Access-Control-Allow-Origin on answers, none without CORS_ALLOWED_ORIGINS). */
#include "ts.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ORIGIN "https://app.example.com"
#define ORIGIN2 "http://localhost:3000"
#define MAX_BODY 2048

static char *db_url;
static ts_proc_t plain;  /* defaults of the tests: OTLP ports 0, no CORS */
static ts_proc_t withal; /* OTLP/HTTP on a free port, CORS for ORIGIN and ORIGIN2, MAX_BODY_BYTES small */

static void setup(void)
{
    db_url = ts_create_database("network");
    ck_assert_int_eq(ts_start_backend(&plain, db_url, "t:network:", NULL), 0);
    const char *env[] = {"CORS_ALLOWED_ORIGINS=" ORIGIN ", " ORIGIN2, "MAX_BODY_BYTES=2048", NULL};
    ck_assert_int_eq(ts_start_backend_otlp(&withal, db_url, "t:network2:", env, TS_FREE_PORT, TS_FREE_PORT),
                     0);
}

static void teardown(void)
{
    ts_stop(&plain, SIGTERM);
    ts_stop(&withal, SIGTERM);
    free(db_url);
}

/* ---- what a process listens on, from /proc ---- */

typedef struct {
    char addr[INET6_ADDRSTRLEN];
    int port;
} listener_t;

/* The inodes of the sockets `pid` holds; returns how many (at most `max`). */
static int socket_inodes(pid_t pid, unsigned long *out, int max)
{
    char dir[64], link[128], path[320];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < max;) {
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ssize_t k = readlink(path, link, sizeof(link) - 1);
        if (k <= 0) continue;
        link[k] = '\0';
        if (sscanf(link, "socket:[%lu]", &out[n]) == 1) n++;
    }
    closedir(d);
    return n;
}

/* Appends the listening sockets of /proc/<pid>/net/<file> owned by `pid` (distinct address+port). */
static void scan_listeners(pid_t pid, const char *file, int v6, const unsigned long *inodes, int ninodes,
                           listener_t *out, int *n, int max)
{
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, file);
    FILE *f = fopen(path, "r");
    if (f == NULL) return; /* no IPv6 in this kernel */
    while (fgets(line, sizeof(line), f)) {
        char local[64];
        unsigned state, port;
        unsigned long inode;
        if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*s %*s %lu", local, &port, &state,
                   &inode) != 4 ||
            state != 0x0A) /* TCP_LISTEN */
            continue;
        int mine = 0;
        for (int i = 0; i < ninodes; i++)
            mine |= inodes[i] == inode;
        if (!mine) continue;
        listener_t l = {.port = (int)port};
        if (v6) {
            struct in6_addr a;
            for (int w = 0; w < 4; w++) {
                char word[9];
                memcpy(word, local + 8 * w, 8);
                word[8] = '\0';
                uint32_t v = (uint32_t)strtoul(word, NULL, 16);
                memcpy(a.s6_addr + 4 * w, &v, 4); /* the kernel prints each 32-bit word in host order */
            }
            inet_ntop(AF_INET6, &a, l.addr, sizeof(l.addr));
        } else {
            struct in_addr a = {.s_addr = (uint32_t)strtoul(local, NULL, 16)};
            inet_ntop(AF_INET, &a, l.addr, sizeof(l.addr));
        }
        int seen = 0;
        for (int i = 0; i < *n; i++)
            seen |= out[i].port == l.port && strcmp(out[i].addr, l.addr) == 0;
        if (!seen && *n < max) out[(*n)++] = l;
    }
    fclose(f);
}

/* The distinct (address, port) pairs `pid` listens on; returns how many. */
static int listeners_of(pid_t pid, listener_t *out, int max)
{
    unsigned long inodes[256];
    int ninodes = socket_inodes(pid, inodes, 256), n = 0;
    scan_listeners(pid, "tcp", 0, inodes, ninodes, out, &n, max);
    scan_listeners(pid, "tcp6", 1, inodes, ninodes, out, &n, max);
    return n;
}

static int has_listener(const listener_t *l, int n, const char *addr, int port)
{
    for (int i = 0; i < n; i++)
        if (l[i].port == port && strcmp(l[i].addr, addr) == 0) return 1;
    return 0;
}

/* ---- HTTP helpers ---- */

/* Asserts that response header `name` is `want` (NULL: absent). */
static void expect_header(const ts_resp_t *r, const char *name, const char *want)
{
    char *v = ts_resp_header(r, name);
    if (want == NULL)
        ck_assert_msg(v == NULL, "%s should be absent, is \"%s\" (status %ld)", name, v, r->status);
    else
        ck_assert_msg(v != NULL && strcmp(v, want) == 0, "%s: \"%s\", want \"%s\" (status %ld)", name,
                      v ? v : "(absent)", want, r->status);
    free(v);
}

/* A native logs request with one record whose message is `message`. Caller frees. */
static char *native_log(const char *message)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    char *s;
    if (asprintf(&s,
                 "{\"logs\":[{\"timestamp\":\"%s.%03ldZ\",\"service\":\"network-test\",\"level\":\"INFO\","
                 "\"message\":\"%s\"}]}",
                 when, ts.tv_nsec / 1000000, message) < 0)
        abort();
    return s;
}

static long stored_logs(const char *message)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM logs WHERE message = '%s'", message);
    PGconn *c = ts_pg(db_url);
    long n = ts_pg_wait_long(c, sql, 1, 10);
    PQfinish(c);
    return n;
}

static long preflight(const char *base, const char *path, const char *const *headers, ts_resp_t *r)
{
    char url[192];
    snprintf(url, sizeof(url), "%s%s", base, path);
    ck_assert_int_eq(ts_http("OPTIONS", url, headers, NULL, 0, r), 0);
    return r->status;
}

/* ---- listeners ---- */

START_TEST(api_on_main_and_otlp_ports)
{
    const char *bases[] = {withal.url, withal.otlp_http_url};
    for (int i = 0; i < 2; i++) {
        /* a record goes all the way to the database through either port */
        char message[64], url[192], hex[17];
        ts_hex(hex, 16);
        snprintf(message, sizeof(message), "network-%d-%s", i, hex);
        snprintf(url, sizeof(url), "%s/ingest/logs", bases[i]);
        char *body = native_log(message);
        ts_resp_t r;
        ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
        ck_assert_msg(r.status == 200, "%s: %ld %s", url, r.status, r.body);
        ck_assert_ptr_nonnull(strstr(r.body, "\"accepted\":1"));
        ts_resp_free(&r);
        free(body);
        ck_assert_int_eq(stored_logs(message), 1);
        /* the OTLP routes answer there, the key checked as on the main port */
        const char *otlp[] = {"/v1/traces", "/v1/logs", "/v1/metrics"};
        const char *empty[] = {"{\"resourceSpans\":[]}", "{\"resourceLogs\":[]}", "{\"resourceMetrics\":[]}"};
        for (int k = 0; k < 3; k++) {
            snprintf(url, sizeof(url), "%s%s", bases[i], otlp[k]);
            ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, empty[k], &r), 0);
            /* an empty Export*ServiceResponse: nothing was refused, so no partialSuccess */
            ck_assert_msg(r.status == 200 && strcmp(r.body, "{}") == 0, "%s: %ld %s", url, r.status, r.body);
            ts_resp_free(&r);
            ck_assert_int_eq(ts_post_json(url, NULL, empty[k], &r), 0);
            ck_assert_int_eq(r.status, 401);
            ts_resp_free(&r);
        }
    }
}
END_TEST

START_TEST(loopback_only_and_no_listener_for_port_zero)
{
    listener_t l[16];
    /* OTLP_HTTP_PORT=0 (and OTLP_GRPC_PORT=0): the main port only, on loopback */
    int n = listeners_of(plain.pid, l, 16);
    ck_assert_msg(n == 1 && has_listener(l, n, "127.0.0.1", plain.port), "%d listeners, first %s:%d", n,
                  n ? l[0].addr : "-", n ? l[0].port : 0);
    /* with ports: the API, OTLP/HTTP and OTLP/gRPC, all on loopback (BIND_ADDR's default) */
    n = listeners_of(withal.pid, l, 16);
    ck_assert_msg(n == 3 && has_listener(l, n, "127.0.0.1", withal.port) &&
                      has_listener(l, n, "127.0.0.1", withal.otlp_http_port) &&
                      has_listener(l, n, "127.0.0.1", withal.otlp_grpc_port),
                  "%d listeners, first %s:%d", n, n ? l[0].addr : "-", n ? l[0].port : 0);
}
END_TEST

START_TEST(ipv6_bind_addr)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int have_v6 = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0) close(fd);
    if (!have_v6) {
        fprintf(stderr, "ipv6_bind_addr: skipped, this machine has no IPv6 loopback (::1)\n");
        return;
    }
    ts_proc_t b6;
    const char *env[] = {"BIND_ADDR=::1", NULL};
    ck_assert_int_eq(ts_start_backend_otlp(&b6, db_url, "t:network6:", env, TS_FREE_PORT, 0), 0);
    ck_assert_ptr_nonnull(strstr(b6.url, "[::1]"));
    char url[192];
    ts_resp_t r;
    snprintf(url, sizeof(url), "%s/health", b6.otlp_http_url);
    ck_assert_int_eq(ts_http("GET", url, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ts_resp_free(&r);
    /* bound to ::1 only: nothing answers on the IPv4 loopback */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", b6.port);
    ck_assert_int_eq(ts_http("GET", url, NULL, NULL, 0, &r), -1);
    ts_resp_free(&r);
    listener_t l[16];
    int n = listeners_of(b6.pid, l, 16);
    ck_assert_msg(n == 2 && has_listener(l, n, "::1", b6.port) &&
                      has_listener(l, n, "::1", b6.otlp_http_port),
                  "%d listeners, first %s:%d", n, n ? l[0].addr : "-", n ? l[0].port : 0);
    ts_stop(&b6, SIGTERM);
}
END_TEST

/* Runs the backend's migrate with `bad` on top of a valid configuration; returns its exit status. */
static int start_with(const char *bad, char *out, size_t outlen)
{
    const char *env[] = {"INGEST_API_KEYS=abcdefghijklmnop1",
                         "READ_API_KEYS=abcdefghijklmnop2",
                         "ADMIN_API_KEY=abcdefghijklmnop3",
                         "DATABASE_URL=postgresql://nobody@127.0.0.1:1/none",
                         bad,
                         NULL};
    return ts_run_program("backend/prodsentinel-backend", "migrate", env, out, outlen);
}

START_TEST(bad_values_refused_naming_the_variable)
{
    static const struct {
        const char *env, *name;
    } cases[] = {
        {"BIND_ADDR=localhost", "BIND_ADDR"},
        {"BIND_ADDR=[::1]", "BIND_ADDR"},
        {"BIND_ADDR=127.0.0.256", "BIND_ADDR"},
        {"OTLP_HTTP_PORT=8000", "OTLP_HTTP_PORT"}, /* BACKEND_PORT's default */
        {"OTLP_GRPC_PORT=65536", "OTLP_GRPC_PORT"},
        {"CORS_ALLOWED_ORIGINS=https://a.example.com/path", "CORS_ALLOWED_ORIGINS"},
        {"CORS_ALLOWED_ORIGINS=app.example.com", "CORS_ALLOWED_ORIGINS"},
    };
    char out[4096];
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        ck_assert_msg(start_with(cases[i].env, out, sizeof(out)) == 2, "%s accepted: %s", cases[i].env, out);
        ck_assert_msg(strstr(out, cases[i].name) != NULL, "%s: %s", cases[i].env, out);
        ck_assert_msg(strchr(out, '\n') == strrchr(out, '\n'), "not one line: %s", out);
    }
}
END_TEST

START_TEST(port_held_by_another_backend_refused)
{
    /* with SO_REUSEPORT a second backend would share any of withal's ports silently: it must stop at
     * its start naming the port, and withal must go on serving on all three */
    const struct {
        const char *var;
        int port;
    } held[] = {{"BACKEND_PORT", withal.port},
                {"OTLP_HTTP_PORT", withal.otlp_http_port},
                {"OTLP_GRPC_PORT", withal.otlp_grpc_port}};
    for (size_t i = 0; i < sizeof(held) / sizeof(*held); i++) {
        char db[300], mig[300], redis[300], out[4096], vars[3][40];
        snprintf(db, sizeof(db), "DATABASE_URL=%s", db_url);
        snprintf(redis, sizeof(redis), "REDIS_URL=%s", ts_env("PS_TEST_REDIS_URL"));
        snprintf(mig, sizeof(mig), "MIGRATIONS_DIR=%s/migrations", ts_env("PS_SOURCE_DIR"));
        /* the held port in its variable, free ports (or none) in the others */
        const char *names[] = {"BACKEND_PORT", "OTLP_HTTP_PORT", "OTLP_GRPC_PORT"};
        for (int k = 0; k < 3; k++)
            snprintf(vars[k], sizeof(vars[k]), "%s=%d", names[k],
                     strcmp(names[k], held[i].var) == 0 ? held[i].port
                     : k == 0                           ? ts_free_port()
                                                        : 0);
        const char *env[] = {db,
                             redis,
                             mig,
                             vars[0],
                             vars[1],
                             vars[2],
                             "INGEST_API_KEYS=abcdefghijklmnop1",
                             "READ_API_KEYS=abcdefghijklmnop2",
                             "ADMIN_API_KEY=abcdefghijklmnop3",
                             NULL};
        int rc = ts_run_program("backend/prodsentinel-backend", NULL, env, out, sizeof(out));
        ck_assert_msg(rc == 1, "%s held: exit status %d: %s", held[i].var, rc, out);
        char want[96];
        snprintf(want, sizeof(want), "cannot listen on 127.0.0.1 port %d: Address already in use",
                 held[i].port);
        ck_assert_msg(strstr(out, want) != NULL, "%s held: output: %s", held[i].var, out);
    }
    const char *bases[] = {withal.url, withal.otlp_http_url};
    for (int b = 0; b < 2; b++) {
        char url[192];
        snprintf(url, sizeof(url), "%s/health", bases[b]);
        ts_resp_t r;
        ck_assert_int_eq(ts_http("GET", url, NULL, NULL, 0, &r), 0);
        ck_assert_msg(r.status == 200, "%s: %ld after the refused starts", url, r.status);
        ts_resp_free(&r);
    }
    int c = ts_connect(withal.otlp_grpc_port);
    ck_assert_msg(c >= 0, "OTLP/gRPC port %d no longer accepts", withal.otlp_grpc_port);
    close(c);
}
END_TEST

/* ---- CORS ---- */

START_TEST(cors_preflight_allowed)
{
    const char *bases[] = {withal.url, withal.otlp_http_url};
    const char *paths[] = {"/v1/traces", "/v1/logs", "/v1/metrics", "/ingest/logs"};
    for (int b = 0; b < 2; b++) {
        for (int p = 0; p < 4; p++) {
            const char *h[] = {"Origin: " ORIGIN, "Access-Control-Request-Method: POST", NULL};
            ts_resp_t r;
            ck_assert_int_eq(preflight(bases[b], paths[p], h, &r), 204);
            expect_header(&r, "Access-Control-Allow-Origin", ORIGIN);
            expect_header(&r, "Vary", "Origin");
            expect_header(&r, "Access-Control-Allow-Methods", "POST, OPTIONS");
            expect_header(&r, "Access-Control-Allow-Headers",
                          "content-type, content-encoding, authorization, x-api-key");
            expect_header(&r, "Access-Control-Max-Age", "7200");
            ck_assert_int_eq(r.len, 0);
            ts_resp_free(&r);
        }
    }
    /* the second origin; asked-for headers within the allowed set are granted, others are not */
    const char *h[] = {"Origin: " ORIGIN2, "Access-Control-Request-Method: POST",
                       "Access-Control-Request-Headers: Content-Type, X-Request-Id, X-Secret, traceparent",
                       NULL};
    ts_resp_t r;
    ck_assert_int_eq(preflight(withal.otlp_http_url, "/v1/traces", h, &r), 204);
    expect_header(&r, "Access-Control-Allow-Origin", ORIGIN2);
    expect_header(&r, "Access-Control-Allow-Headers",
                  "content-type, content-encoding, authorization, x-api-key, x-request-id, traceparent");
    ts_resp_free(&r);
}
END_TEST

START_TEST(cors_preflight_refused)
{
    const char *evil[] = {"Origin: https://evil.example.com", "Access-Control-Request-Method: POST", NULL};
    const char *prefix[] = {"Origin: https://app.example.com.evil.example", NULL};
    const char *none[] = {"Access-Control-Request-Method: POST", NULL};
    const char *const *cases[] = {evil, prefix, none};
    for (int i = 0; i < 3; i++) {
        ts_resp_t r;
        ck_assert_int_eq(preflight(withal.url, "/v1/traces", cases[i], &r), 403);
        expect_header(&r, "Access-Control-Allow-Origin", NULL);
        expect_header(&r, "Access-Control-Allow-Methods", NULL);
        expect_header(&r, "Access-Control-Allow-Headers", NULL);
        ts_resp_free(&r);
    }
    /* a route not marked for CORS has no preflight, even from an allowed origin */
    const char *ok[] = {"Origin: " ORIGIN, "Access-Control-Request-Method: GET", NULL};
    ts_resp_t r;
    ck_assert_int_eq(preflight(withal.url, "/query/incidents", ok, &r), 405);
    expect_header(&r, "Access-Control-Allow-Origin", NULL);
    ts_resp_free(&r);
}
END_TEST

START_TEST(cors_headers_on_answers)
{
    char url[192], auth[96];
    snprintf(url, sizeof(url), "%s/v1/logs", withal.otlp_http_url);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", TS_INGEST_KEY);
    const char *body = "{\"resourceLogs\":[]}";
    char big[MAX_BODY * 2];
    memset(big, ' ', sizeof(big));
    big[0] = '{', big[sizeof(big) - 1] = '}';
    const char *with_key[] = {"Origin: " ORIGIN, auth, "Content-Type: application/json", NULL};
    const char *no_key[] = {"Origin: " ORIGIN, "Content-Type: application/json", NULL};
    const char *other[] = {"Origin: https://evil.example.com", auth, "Content-Type: application/json", NULL};
    static const struct {
        int headers; /* 0 with_key, 1 no_key, 2 other */
        int body;    /* 0 log, 1 bad JSON, 2 too large */
        long status;
        int cors;
    } cases[] = {
        {0, 0, 200, 1}, {1, 0, 401, 1}, {0, 1, 400, 1}, {0, 2, 413, 1}, {2, 0, 200, 0}, {2, 2, 413, 0},
    };
    const char *const *hs[] = {with_key, no_key, other};
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        const char *b = cases[i].body == 0 ? body : cases[i].body == 1 ? "{\"resourceLogs\":[" : big;
        size_t len = cases[i].body == 2 ? sizeof(big) : strlen(b);
        ts_resp_t r;
        ck_assert_int_eq(ts_http("POST", url, hs[cases[i].headers], b, len, &r), 0);
        ck_assert_msg(r.status == cases[i].status, "case %zu: %ld %s", i, r.status, r.body);
        expect_header(&r, "Access-Control-Allow-Origin", cases[i].cors ? ORIGIN : NULL);
        expect_header(&r, "Vary", cases[i].cors ? "Origin" : NULL);
        ts_resp_free(&r);
    }
    /* routes not marked for CORS answer without it */
    snprintf(url, sizeof(url), "%s/health", withal.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_http("GET", url, no_key, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    expect_header(&r, "Access-Control-Allow-Origin", NULL);
    ts_resp_free(&r);
}
END_TEST

START_TEST(no_cors_without_allowed_origins)
{
    const char *h[] = {"Origin: " ORIGIN, "Access-Control-Request-Method: POST", NULL};
    ts_resp_t r;
    ck_assert_int_eq(preflight(plain.url, "/v1/traces", h, &r), 403);
    expect_header(&r, "Access-Control-Allow-Origin", NULL);
    expect_header(&r, "Access-Control-Allow-Methods", NULL);
    ts_resp_free(&r);
    char url[192], auth[96];
    snprintf(url, sizeof(url), "%s/v1/logs", plain.url);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", TS_INGEST_KEY);
    const char *post[] = {"Origin: " ORIGIN, auth, "Content-Type: application/json", NULL};
    const char *nokey[] = {"Origin: " ORIGIN, NULL};
    ck_assert_int_eq(ts_http("POST", url, post, "{\"resourceLogs\":[]}", 19, &r), 0);
    ck_assert_int_eq(r.status, 200);
    expect_header(&r, "Access-Control-Allow-Origin", NULL);
    expect_header(&r, "Vary", NULL);
    ts_resp_free(&r);
    ck_assert_int_eq(ts_http("POST", url, nokey, "{}", 2, &r), 0);
    ck_assert_int_eq(r.status, 401);
    expect_header(&r, "Access-Control-Allow-Origin", NULL);
    ts_resp_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("network");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, api_on_main_and_otlp_ports);
    tcase_add_test(tc, loopback_only_and_no_listener_for_port_zero);
    tcase_add_test(tc, ipv6_bind_addr);
    tcase_add_test(tc, bad_values_refused_naming_the_variable);
    tcase_add_test(tc, port_held_by_another_backend_refused);
    tcase_add_test(tc, cors_preflight_allowed);
    tcase_add_test(tc, cors_preflight_refused);
    tcase_add_test(tc, cors_headers_on_answers);
    tcase_add_test(tc, no_cors_without_allowed_origins);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
