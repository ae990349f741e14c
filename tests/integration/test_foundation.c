/* Foundation against real servers: health and readiness, request ids, routing errors, migrations
 * (applied once, concurrent start, failing file named), configuration errors and --help. */
#include "ts.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static char *db_url;
static ts_proc_t backend;

static void setup(void)
{
    db_url = ts_create_database("foundation");
    ck_assert_int_eq(ts_start_backend(&backend, db_url, "t:foundation:", NULL), 0);
}

static void teardown(void)
{
    ts_stop(&backend, SIGTERM);
    free(db_url);
}

START_TEST(health_and_ready)
{
    char url[128];
    ts_resp_t r;
    snprintf(url, sizeof(url), "%s/health", backend.url);
    ck_assert_int_eq(ts_http("GET", url, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ts_resp_free(&r);
    snprintf(url, sizeof(url), "%s/ready", backend.url);
    ck_assert_int_eq(ts_http("GET", url, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"postgres\":\"ok\""));
    ts_resp_free(&r);
}
END_TEST

START_TEST(ready_names_unreachable_redis)
{
    ts_proc_t b2;
    char redis[64];
    snprintf(redis, sizeof(redis), "REDIS_URL=redis://127.0.0.1:%d/0", ts_free_port());
    const char *env[] = {redis, NULL};
    /* ts_start sets REDIS_URL first; the extra env overrides it */
    ck_assert_int_eq(ts_start_backend(&b2, db_url, "t:foundation2:", env), 0);
    char url[128];
    snprintf(url, sizeof(url), "%s/ready", b2.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_http("GET", url, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 503);
    ck_assert_ptr_nonnull(strstr(r.body, "\"redis\":\"unreachable\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"postgres\":\"ok\""));
    ts_resp_free(&r);
    ts_stop(&b2, SIGTERM);
}
END_TEST

START_TEST(request_id_echoed_or_made)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/health", backend.url);
    const char *h[] = {"X-Request-Id: my-req-42", NULL};
    ts_resp_t r;
    ck_assert_int_eq(ts_http("GET", url, h, NULL, 0, &r), 0);
    char *id = ts_resp_header(&r, "x-request-id");
    ck_assert_str_eq(id, "my-req-42");
    free(id);
    ts_resp_free(&r);
    ck_assert_int_eq(ts_http("GET", url, NULL, NULL, 0, &r), 0);
    id = ts_resp_header(&r, "x-request-id");
    ck_assert_ptr_nonnull(id);
    ck_assert_int_eq(strlen(id), 36);
    free(id);
    ts_resp_free(&r);
}
END_TEST

START_TEST(routing_errors)
{
    char url[128];
    ts_resp_t r;
    snprintf(url, sizeof(url), "%s/health/nope", backend.url);
    ck_assert_int_eq(ts_http("GET", url, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 404);
    ts_resp_free(&r);
    snprintf(url, sizeof(url), "%s/health", backend.url);
    ck_assert_int_eq(ts_http("DELETE", url, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 405);
    char *allow = ts_resp_header(&r, "allow");
    ck_assert_ptr_nonnull(allow);
    ck_assert_str_eq(allow, "GET");
    free(allow);
    ts_resp_free(&r);
}
END_TEST

START_TEST(migrations_recorded_once)
{
    PGconn *c = ts_pg(db_url);
    long n = ts_pg_long(c, "SELECT count(*) FROM schema_migrations");
    ck_assert_int_gt(n, 0);
    /* running migrate again applies nothing new */
    char dburl[512], mig[512], out[4096];
    snprintf(dburl, sizeof(dburl), "DATABASE_URL=%s", db_url);
    snprintf(mig, sizeof(mig), "MIGRATIONS_DIR=%s/migrations", ts_env("PS_SOURCE_DIR"));
    const char *env[] = {dburl,
                         mig,
                         "INGEST_API_KEYS=abcdefghijklmnop1",
                         "READ_API_KEYS=abcdefghijklmnop2",
                         "ADMIN_API_KEY=abcdefghijklmnop3",
                         NULL};
    ck_assert_int_eq(ts_run_program("backend/prodsentinel-backend", "migrate", env, out, sizeof(out)), 0);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM schema_migrations"), n);
    PQfinish(c);
}
END_TEST

START_TEST(concurrent_migrations_are_safe)
{
    char *fresh = ts_create_database("migrace");
    char dburl[512], mig[512];
    snprintf(dburl, sizeof(dburl), "DATABASE_URL=%s", fresh);
    snprintf(mig, sizeof(mig), "MIGRATIONS_DIR=%s/migrations", ts_env("PS_SOURCE_DIR"));
    const char *env[] = {dburl,
                         mig,
                         "INGEST_API_KEYS=abcdefghijklmnop1",
                         "READ_API_KEYS=abcdefghijklmnop2",
                         "ADMIN_API_KEY=abcdefghijklmnop3",
                         NULL};
    pid_t pids[4];
    for (int i = 0; i < 4; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            char out[4096];
            _exit(ts_run_program("backend/prodsentinel-backend", "migrate", env, out, sizeof(out)));
        }
    }
    for (int i = 0; i < 4; i++) {
        int st;
        waitpid(pids[i], &st, 0);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "migrator %d failed", i);
    }
    PGconn *c = ts_pg(fresh);
    ck_assert_int_gt(ts_pg_long(c, "SELECT count(*) FROM schema_migrations"), 0);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) - count(DISTINCT name) FROM schema_migrations"), 0);
    PQfinish(c);
    free(fresh);
}
END_TEST

START_TEST(failing_migration_names_file)
{
    char dir[] = "/tmp/ps-mig-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/001_ok.sql", dir);
    FILE *f = fopen(path, "w");
    fputs("CREATE TABLE ok_table (id int);\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/002_broken.sql", dir);
    f = fopen(path, "w");
    fputs("CREATE TABLE broken (id int);\nSELECT * FROM no_such_table;\n", f);
    fclose(f);
    char *fresh = ts_create_database("migfail");
    char dburl[512], mig[512], out[8192];
    snprintf(dburl, sizeof(dburl), "DATABASE_URL=%s", fresh);
    snprintf(mig, sizeof(mig), "MIGRATIONS_DIR=%s", dir);
    const char *env[] = {dburl,
                         mig,
                         "INGEST_API_KEYS=abcdefghijklmnop1",
                         "READ_API_KEYS=abcdefghijklmnop2",
                         "ADMIN_API_KEY=abcdefghijklmnop3",
                         NULL};
    ck_assert_int_ne(ts_run_program("backend/prodsentinel-backend", "migrate", env, out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, "002_broken.sql") && strstr(out, "no_such_table"), "output: %s", out);
    PGconn *c = ts_pg(fresh);
    /* the failing file left nothing behind; the good one stayed */
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM pg_tables WHERE tablename = 'broken'"), 0);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM schema_migrations"), 1);
    PQfinish(c);
    free(fresh);
}
END_TEST

START_TEST(config_errors_name_the_variable)
{
    char out[16384]; /* room for --help: a cut output closes the pipe and SIGPIPE kills it */
    const char *bad_port[] = {"BACKEND_PORT=80x", "INGEST_API_KEYS=abcdefghijklmnop1",
                              "READ_API_KEYS=abcdefghijklmnop2", "ADMIN_API_KEY=abcdefghijklmnop3", NULL};
    ck_assert_int_eq(ts_run_program("backend/prodsentinel-backend", "migrate", bad_port, out, sizeof(out)),
                     2);
    ck_assert_msg(strstr(out, "BACKEND_PORT") != NULL, "output: %s", out);
    ck_assert_ptr_null(strchr(strchr(out, '\n') + 1, '\n')); /* one line */
    unsetenv("ADMIN_API_KEY");
    const char *missing[] = {"INGEST_API_KEYS=abcdefghijklmnop1", "READ_API_KEYS=abcdefghijklmnop2", NULL};
    ck_assert_int_eq(ts_run_program("backend/prodsentinel-backend", "migrate", missing, out, sizeof(out)), 2);
    ck_assert_msg(strstr(out, "ADMIN_API_KEY") && strstr(out, "missing"), "output: %s", out);
    ck_assert_int_eq(ts_run_program("backend/prodsentinel-backend", "--help", NULL, out, sizeof(out)), 0);
    const char *vars[] = {"DATABASE_URL",   "REDIS_URL",      "BACKEND_PORT",        "INGEST_API_KEYS",
                          "READ_API_KEYS",  "ADMIN_API_KEY",  "LOG_LEVEL",           "BIND_ADDR",
                          "OTLP_HTTP_PORT", "OTLP_GRPC_PORT", "CORS_ALLOWED_ORIGINS"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(*vars); i++)
        ck_assert_msg(strstr(out, vars[i]) != NULL, "--help lacks %s", vars[i]);
    ck_assert_int_eq(ts_run_program("pipeline/prodsentinel-pipeline", "--help", NULL, out, sizeof(out)), 0);
    const char *pvars[] = {"PIPELINE_PORT", "LLM_BASE_URL", "LLM_API_KEY",
                           "LLM_MODEL",     "WORKERS",      "BIND_ADDR"};
    for (size_t i = 0; i < sizeof(pvars) / sizeof(*pvars); i++)
        ck_assert_msg(strstr(out, pvars[i]) != NULL, "pipeline --help lacks %s", pvars[i]);
    /* prompts never cross the network unencrypted unless asked for; loopback is fine */
    const char *insecure[] = {"LLM_BASE_URL=http://llm.example.com/v1", "ADMIN_API_KEY=abcdefghijklmnop3",
                              NULL};
    ck_assert_int_eq(ts_run_program("pipeline/prodsentinel-pipeline", NULL, insecure, out, sizeof(out)), 2);
    ck_assert_msg(strstr(out, "LLM_BASE_URL") && strstr(out, "LLM_ALLOW_INSECURE"), "output: %s", out);
    /* a malformed URL is named, never echoed: it may hold a password */
    const char *leaky[] = {"DATABASE_URL=not-a-url-but-a-secretpass", "INGEST_API_KEYS=abcdefghijklmnop1",
                           "READ_API_KEYS=abcdefghijklmnop2", "ADMIN_API_KEY=abcdefghijklmnop3", NULL};
    ck_assert_int_eq(ts_run_program("backend/prodsentinel-backend", "migrate", leaky, out, sizeof(out)), 2);
    ck_assert_msg(strstr(out, "DATABASE_URL") && !strstr(out, "secretpass"), "output: %s", out);
}
END_TEST

START_TEST(logs_are_json_lines)
{
    FILE *f = fopen(backend.log_path, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    int lines = 0;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "==", 2) == 0) continue; /* sanitizer output */
        ck_assert_msg(line[0] == '{' && strstr(line, "\"ts\":") && strstr(line, "\"level\":") &&
                          strstr(line, "\"program\":\"prodsentinel-backend\"") && strstr(line, "\"msg\":"),
                      "not a JSON log line: %s", line);
        lines++;
    }
    fclose(f);
    ck_assert_int_gt(lines, 0);
}
END_TEST

START_TEST(rate_limit_per_key_answers_429)
{
    ts_proc_t b2;
    const char *env[] = {"RATE_LIMIT_PER_KEY=5", "HTTP_THREADS=1", NULL};
    ck_assert_int_eq(ts_start_backend(&b2, db_url, "t:foundation3:", env), 0);
    char url[128], auth[96];
    snprintf(url, sizeof(url), "%s/ingest/logs", b2.url);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", TS_INGEST_KEY);
    const char *h[] = {auth, NULL};
    int limited = 0, ok = 0;
    for (int i = 0; i < 40; i++) {
        ts_resp_t r;
        ck_assert_int_eq(ts_http("POST", url, h, "{\"logs\":[]}", 11, &r), 0);
        if (r.status == 429) {
            char *ra = ts_resp_header(&r, "retry-after");
            ck_assert_ptr_nonnull(ra);
            free(ra);
            limited++;
        } else if (r.status == 200) {
            ok++;
        }
        ts_resp_free(&r);
    }
    ck_assert_int_gt(limited, 0);
    ck_assert_int_ge(ok, 5);
    /* another key has its own budget */
    snprintf(auth, sizeof(auth), "Authorization: Bearer test-ingest-key-2");
    ts_resp_t r;
    ck_assert_int_eq(ts_http("POST", url, h, "{\"logs\":[]}", 11, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ts_resp_free(&r);
    ts_stop(&b2, SIGTERM);
}
END_TEST

static int connect_to(int port)
{
    int fd = ts_connect(port);
    ck_assert_int_ge(fd, 0);
    return fd;
}

START_TEST(connection_cap_and_slow_clients)
{
    ts_proc_t b2;
    const char *env[] = {"MAX_CONNECTIONS=4", "HTTP_THREADS=1", "REQUEST_TIMEOUT_MS=1000", NULL};
    ck_assert_int_eq(ts_start_backend(&b2, db_url, "t:foundation4:", env), 0);
    usleep(300 * 1000); /* the health probe's connection is closed by now */
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = connect_to(b2.port);
        /* slowloris: a request that never ends */
        static const char partial[] = "GET /health HTTP/1.1\r\nHost: x\r\n";
        ck_assert_int_eq(write(fds[i], partial, sizeof(partial) - 1), (ssize_t)(sizeof(partial) - 1));
    }
    usleep(300 * 1000);
    /* a fifth connection is closed at once while the four slow ones are open */
    int extra = connect_to(b2.port);
    char c;
    struct timeval tv = {2, 0};
    setsockopt(extra, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ck_assert_int_eq(read(extra, &c, 1), 0);
    close(extra);
    /* the slow clients are dropped after REQUEST_TIMEOUT_MS, and service resumes */
    sleep(2);
    char url[128];
    snprintf(url, sizeof(url), "%s/health", b2.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_http("GET", url, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ts_resp_free(&r);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    ts_stop(&b2, SIGTERM);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("foundation");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, health_and_ready);
    tcase_add_test(tc, ready_names_unreachable_redis);
    tcase_add_test(tc, request_id_echoed_or_made);
    tcase_add_test(tc, routing_errors);
    tcase_add_test(tc, migrations_recorded_once);
    tcase_add_test(tc, concurrent_migrations_are_safe);
    tcase_add_test(tc, failing_migration_names_file);
    tcase_add_test(tc, config_errors_name_the_variable);
    tcase_add_test(tc, logs_are_json_lines);
    tcase_add_test(tc, rate_limit_per_key_answers_429);
    tcase_add_test(tc, connection_cap_and_slow_clients);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
