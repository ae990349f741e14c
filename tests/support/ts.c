/* Test support implementation (see ts.h). */
#include "ts.h"

#include <curl/curl.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *ts_env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        fprintf(stderr, "%s is not set: run the tests through scripts/test\n", name);
        exit(77);
    }
    return v;
}

char *ts_program(const char *relpath)
{
    char *p;
    if (asprintf(&p, "%s/%s", ts_env("PS_BUILD_DIR"), relpath) < 0) abort();
    return p;
}

void ts_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[64];
    FILE *f = fopen("/dev/urandom", "rb"); /* tests run in forked children: no shared seed */
    size_t got = f ? fread(b, 1, n < sizeof(b) ? n : sizeof(b), f) : 0;
    if (f) fclose(f);
    for (size_t i = 0; i < n; i++)
        out[i] = hex[(i < got ? b[i] : (unsigned char)random()) & 15];
    out[n] = '\0';
}

char *ts_create_database(const char *prefix)
{
    PGconn *admin = ts_pg(ts_env("PS_TEST_PG_ADMIN_URL"));
    char name[64], sql[256], suffix[9];
    ts_hex(suffix, 8);
    snprintf(name, sizeof(name), "t_%s_%s", prefix, suffix);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER prodsentinel", name);
    PGresult *r = PQexec(admin, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "create database: %s", PQerrorMessage(admin));
    PQclear(r);
    PQfinish(admin);
    /* same server as the test database URL, other database name */
    const char *base = ts_env("PS_TEST_DATABASE_URL");
    const char *slash = strrchr(base, '/');
    char *url;
    if (asprintf(&url, "%.*s/%s", (int)(slash - base), base, name) < 0) abort();
    return url;
}

char *ts_role_url(const char *database_url, const char *role)
{
    const char *scheme = strstr(database_url, "://");
    const char *at = strchr(database_url, '@');
    char *url;
    if (scheme == NULL || at == NULL || at < scheme) return strdup(database_url);
    if (asprintf(&url, "%.*s%s%s", (int)(scheme + 3 - database_url), database_url, role, at) < 0) abort();
    return url;
}

int ts_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &len);
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int ts_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) return fd;
    if (fd >= 0) close(fd);
    return -1;
}

int ts_listen(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 128) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The inodes of the sockets listening on TCP `port` (any address, IPv4 or IPv6), from /proc; returns how
 * many (at most `max`). */
static size_t listening_inodes(int port, unsigned long *inodes, size_t max)
{
    static const char *tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    size_t n = 0;
    for (size_t t = 0; t < 2; t++) {
        FILE *f = fopen(tables[t], "r");
        char line[512];
        while (f && fgets(line, sizeof(line), f)) {
            unsigned local_port, state;
            unsigned long inode;
            /* sl: local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode */
            if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%X %*[0-9A-Fa-f]:%*X %X %*X:%*X %*X:%*X %*X %*u %*u %lu",
                       &local_port, &state, &inode) == 3 &&
                (int)local_port == port && state == 0x0A /* LISTEN */ && n < max)
                inodes[n++] = inode;
        }
        if (f) fclose(f);
    }
    return n;
}

/* 1 when process `pid` holds a socket listening on TCP `port`: the server answering there is ours, not
 * another that took the port between ts_free_port() and our bind. */
static int listens_on(pid_t pid, int port)
{
    unsigned long inodes[64];
    size_t n = listening_inodes(port, inodes, 64);
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = n ? opendir(dir) : NULL;
    int found = 0;
    for (struct dirent *e; d && !found && (e = readdir(d)) != NULL;) {
        char path[320], link[64];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ssize_t k = readlink(path, link, sizeof(link) - 1);
        unsigned long inode;
        if (k <= 0) continue;
        link[k] = '\0';
        if (sscanf(link, "socket:[%lu]", &inode) == 1)
            for (size_t i = 0; i < n; i++)
                found |= inodes[i] == inode;
    }
    if (d) closedir(d);
    return found;
}

/* Why a start failed: the process exited on its own (see its log), the port was not ours to take
 * (another process bound it first: a new port may be tried), or no answer came in time. */
typedef enum { START_OK, START_EXITED, START_PORT_TAKEN, START_TIMEOUT } start_result_t;

/* The port the log written from `from` on says the program could not bind (common/listen.c's "cannot
 * listen on ADDR port N: ..."): N, -1 when the line names no port, 0 when there is no such line. */
static int port_taken_in_log(const char *log_path, long from)
{
    FILE *f = fopen(log_path, "r");
    char line[1024];
    int taken = 0;
    if (f && fseek(f, from, SEEK_SET) == 0)
        while (!taken && fgets(line, sizeof(line), f)) {
            const char *at = strstr(line, "cannot listen on ");
            const char *port = at ? strstr(at, " port ") : NULL;
            int n = 0;
            if (at) taken = port && sscanf(port, " port %d", &n) == 1 && n > 0 ? n : -1;
        }
    if (f) fclose(f);
    return taken;
}

/* Waits up to `seconds` until the started process answers GET /health with 200 on its own socket.
 * Returns at once when it exits (a program that cannot start says why in its log, from `log_from`); on
 * START_PORT_TAKEN `taken` is port_taken_in_log()'s port. */
static start_result_t wait_ready(ts_proc_t *p, int seconds, long log_from, const char *ca_file, int *taken)
{
    char u[128];
    snprintf(u, sizeof(u), "%s/health", p->url);
    const long long deadline = mono_ms() + seconds * 1000LL;
    do {
        int status;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0; /* reaped: ts_stop() has nothing left to stop */
            if ((*taken = port_taken_in_log(p->log_path, log_from)) != 0) return START_PORT_TAKEN;
            fprintf(stderr, "%s exited (%s %d) before it was ready: see %s\n", p->url,
                    WIFEXITED(status) ? "status" : "signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), p->log_path);
            return START_EXITED;
        }
        /* over HTTPS when the program was given a certificate (the test's: its own CA) */
        long s = -1;
        int rc = 0;
        if (ca_file) {
            s = ts_https_get(u, ca_file);
        } else {
            ts_resp_t r;
            rc = ts_http_quiet("GET", u, NULL, NULL, 0, &r);
            s = r.status;
            ts_resp_free(&r);
        }
        /* an answer from a server that is not ours (it took the port first) does not count: ours fails to
         * bind and exits, which the next turn sees */
        if (rc == 0 && s == 200 && listens_on(p->pid, p->port)) return START_OK;
        usleep(50 * 1000);
    } while (mono_ms() < deadline);
    fprintf(stderr, "%s not ready after %d s: see %s\n", p->url, seconds, p->log_path);
    return START_TIMEOUT;
}

/* The host part of a URL reaching a server bound to `bind_addr` (NULL: the default, loopback). */
static void url_host(const char *bind_addr, char *out, size_t outlen)
{
    if (bind_addr == NULL || strcmp(bind_addr, "0.0.0.0") == 0 || strcmp(bind_addr, "::") == 0)
        snprintf(out, outlen, "127.0.0.1");
    else if (strchr(bind_addr, ':'))
        snprintf(out, outlen, "[%s]", bind_addr);
    else
        snprintf(out, outlen, "%s", bind_addr);
}

static const char *env_value(const char *const *env, const char *name)
{
    size_t n = strlen(name);
    const char *v = NULL;
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=') v = env[i] + n + 1;
    return v;
}

static start_result_t start_port(ts_proc_t *p, int port, const char *program, const char *port_var,
                                 const char *database_url, const char *redis_prefix,
                                 const char *const *extra_env, int *taken);

/* One port a started program listens on: its own (first, given in ts_start()'s `port_var`) and the
 * backend's OTLP ones (given as "VAR=port" before `extra_env`). */
typedef struct {
    const char *var; /* "BACKEND_PORT", "OTLP_GRPC_PORT", ... */
    int want;        /* TS_FREE_PORT: chosen anew on every try; 0: no listener; else that port, every try */
    int port;        /* this try's */
    char env[48];    /* "VAR=port" */
} listener_t;

/* Sets this try's port of each listener: for those that want TS_FREE_PORT a fresh one from `pick`
 * (ts_free_port() when NULL), other than the ports chosen before it and the ports given. */
static void choose_ports(listener_t *l, size_t n, ts_pick_port_fn pick, void *ctx)
{
    for (size_t i = 0; i < n; i++)
        l[i].port = l[i].want;
    for (size_t i = 0; i < n; i++) {
        int clash = l[i].want == TS_FREE_PORT;
        while (clash) {
            l[i].port = pick ? pick(ctx, l[i].var) : ts_free_port();
            clash = 0;
            for (size_t k = 0; k < n; k++)
                clash |= k != i && l[k].port == l[i].port && (k < i || l[k].want > 0);
        }
        snprintf(l[i].env, sizeof(l[i].env), "%s=%d", l[i].var, l[i].port);
    }
}

/* 1 when `port` (-1: the log did not say which) may be chosen anew: it is one choose_ports() chose. */
static int chosen(const listener_t *l, size_t n, int port)
{
    int found = port == -1;
    for (size_t i = 0; i < n; i++)
        found |= l[i].want == TS_FREE_PORT && l[i].port == port;
    return found;
}

/* Starts `program` on the ports of `l` (the first is its own port, in `l[0].var`). ts_free_port()'s ports
 * are free when asked, but another process may bind one before the program does: then the program says
 * which ("cannot listen on ADDR port N") and exits, and every listener that wants TS_FREE_PORT gets a new
 * port (the API's and gRPC's alike). A port the caller gave cannot be chosen anew: the start fails. */
static int start_listeners(ts_proc_t *p, const char *program, listener_t *l, size_t n,
                           const char *database_url, const char *redis_prefix, const char *const *extra_env,
                           ts_pick_port_fn pick, void *ctx)
{
    size_t extra = 0;
    while (extra_env && extra_env[extra])
        extra++;
    /* the OTLP ports first: a caller's own value in extra_env comes later and wins (putenv) */
    const char **env = calloc(n + extra + 1, sizeof(*env));
    if (env == NULL) abort();
    start_result_t rc = START_PORT_TAKEN;
    for (int attempt = 1;; attempt++) {
        choose_ports(l, n, pick, ctx);
        for (size_t i = 1; i < n; i++)
            env[i - 1] = l[i].env;
        for (size_t i = 0; i < extra; i++)
            env[n - 1 + i] = extra_env[i];
        int taken = 0;
        rc = start_port(p, l[0].port, program, l[0].var, database_url, redis_prefix, env, &taken);
        if (rc != START_PORT_TAKEN) break;
        if (!chosen(l, n, taken)) {
            fprintf(stderr, "%s: port %d, given not chosen, is taken: see %s\n", program, taken, p->log_path);
            break;
        }
        if (attempt == 5) {
            fprintf(stderr, "%s: every port tried was taken: see %s\n", program, p->log_path);
            break;
        }
    }
    free(env);
    return rc == START_OK ? 0 : -1;
}

int ts_start(ts_proc_t *p, const char *program, const char *port_var, const char *database_url,
             const char *redis_prefix, const char *const *extra_env)
{
    listener_t own = {.var = port_var, .want = TS_FREE_PORT};
    return start_listeners(p, program, &own, 1, database_url, redis_prefix, extra_env, NULL, NULL);
}

int ts_start_port(ts_proc_t *p, int port, const char *program, const char *port_var, const char *database_url,
                  const char *redis_prefix, const char *const *extra_env)
{
    int taken = 0;
    start_result_t rc = start_port(p, port, program, port_var, database_url, redis_prefix, extra_env, &taken);
    if (rc == START_PORT_TAKEN)
        fprintf(stderr, "%s: port %d is taken: see %s\n", program, taken > 0 ? taken : port, p->log_path);
    return rc == START_OK ? 0 : -1;
}

static start_result_t start_port(ts_proc_t *p, int port, const char *program, const char *port_var,
                                 const char *database_url, const char *redis_prefix,
                                 const char *const *extra_env, int *taken)
{
    memset(p, 0, sizeof(*p));
    p->port = port;
    char host[40]; /* fits ts_proc_t.url with the scheme and port */
    url_host(env_value(extra_env, "BIND_ADDR"), host, sizeof(host));
    /* a program given a certificate serves only TLS; the test's certificates are self-signed: their own CA */
    const char *ca_file = env_value(extra_env, "TLS_CERT_FILE");
    snprintf(p->url, sizeof(p->url), "%s://%s:%d", ca_file ? "https" : "http", host, p->port);
    const char *artifacts = getenv("PS_TEST_ARTIFACTS");
    const char *slash = strrchr(program, '/');
    snprintf(p->log_path, sizeof(p->log_path), "%s/%s-%d.log", artifacts ? artifacts : "/tmp",
             slash ? slash + 1 : program, p->port);
    char *path = ts_program(program);
    struct stat st;
    long log_from = stat(p->log_path, &st) == 0 ? (long)st.st_size : 0; /* the log is appended to */
    pid_t pid = fork();
    if (pid == 0) {
        char buf[512];
        snprintf(buf, sizeof(buf), "%d", p->port);
        setenv(port_var, buf, 1);
        setenv("DATABASE_URL", database_url, 1);
        const char *roles[][2] = {{"INGEST_DATABASE_URL", TS_ROLE_INGEST},
                                  {"QUERY_DATABASE_URL", TS_ROLE_QUERY},
                                  {"PIPELINE_DATABASE_URL", TS_ROLE_PIPELINE}};
        for (size_t i = 0; i < sizeof(roles) / sizeof(*roles); i++) {
            char *u = ts_role_url(database_url, roles[i][1]);
            setenv(roles[i][0], u, 1);
            free(u);
        }
        setenv("REDIS_URL", ts_env("PS_TEST_REDIS_URL"), 1);
        setenv("REDIS_PREFIX", redis_prefix, 1);
        setenv("INGEST_API_KEYS", TS_INGEST_KEY ",test-ingest-key-2", 1);
        setenv("READ_API_KEYS", TS_READ_KEY, 1);
        setenv("ADMIN_API_KEY", TS_ADMIN_KEY, 1);
        snprintf(buf, sizeof(buf), "%s/migrations", ts_env("PS_SOURCE_DIR"));
        setenv("MIGRATIONS_DIR", buf, 1);
        setenv("OTLP_HTTP_PORT", "0", 1);
        setenv("OTLP_GRPC_PORT", "0", 1);
        /* tests and fixtures carry fixed dates: accept them whatever day the suite runs (a test of the
         * acceptance window sets its own RETENTION_DAYS) */
        setenv("RETENTION_DAYS", "36500", 1);
        setenv("FAKE_CONTROL", "1", 1); /* the fake services' fault injection, which tests drive */
        for (size_t i = 0; extra_env && extra_env[i]; i++)
            putenv((char *)extra_env[i]);
        FILE *log = fopen(p->log_path, "a");
        if (log) dup2(fileno(log), 2);
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    free(path);
    p->pid = pid;
    /* 60 s: a fresh database's migrations under ASan on a loaded machine take a while */
    start_result_t rc = wait_ready(p, 60, log_from, ca_file, taken);
    if (rc != START_OK) ts_stop(p, SIGKILL);
    return rc;
}

int ts_start_backend(ts_proc_t *p, const char *database_url, const char *redis_prefix,
                     const char *const *extra_env)
{
    return ts_start(p, "backend/prodsentinel-backend", "BACKEND_PORT", database_url, redis_prefix, extra_env);
}

int ts_start_backend_otlp(ts_proc_t *p, const char *database_url, const char *redis_prefix,
                          const char *const *extra_env, int otlp_http_port, int otlp_grpc_port)
{
    return ts_start_backend_otlp_picking(p, database_url, redis_prefix, extra_env, otlp_http_port,
                                         otlp_grpc_port, NULL, NULL);
}

int ts_start_backend_otlp_picking(ts_proc_t *p, const char *database_url, const char *redis_prefix,
                                  const char *const *extra_env, int otlp_http_port, int otlp_grpc_port,
                                  ts_pick_port_fn pick, void *ctx)
{
    listener_t l[] = {{.var = "BACKEND_PORT", .want = TS_FREE_PORT},
                      {.var = "OTLP_HTTP_PORT", .want = otlp_http_port},
                      {.var = "OTLP_GRPC_PORT", .want = otlp_grpc_port}};
    int rc = start_listeners(p, "backend/prodsentinel-backend", l, 3, database_url, redis_prefix, extra_env,
                             pick, ctx);
    p->otlp_http_port = l[1].port;
    p->otlp_grpc_port = l[2].port;
    if (l[1].port > 0) {
        char host[40]; /* fits ts_proc_t.url with the scheme and port */
        url_host(env_value(extra_env, "BIND_ADDR"), host, sizeof(host));
        snprintf(p->otlp_http_url, sizeof(p->otlp_http_url), "http://%s:%d", host, l[1].port);
    }
    return rc;
}

int ts_start_pipeline(ts_proc_t *p, const char *database_url, const char *redis_prefix,
                      const char *const *extra_env)
{
    return ts_start(p, "pipeline/prodsentinel-pipeline", "PIPELINE_PORT", database_url, redis_prefix,
                    extra_env);
}

int ts_run_program(const char *program, const char *arg, const char *const *env, char *out, size_t outlen)
{
    char *path = ts_program(program);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        alarm(20); /* survives exec: SIGALRM ends a program that should have stopped by itself */
        execl(path, path, arg, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t k;
    while (n + 1 < outlen && (k = read(fds[0], out + n, outlen - n - 1)) > 0)
        n += (size_t)k;
    out[n] = '\0';
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    free(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void ts_stop(ts_proc_t *p, int sig)
{
    if (p->pid <= 0) return;
    kill(p->pid, sig);
    int status;
    waitpid(p->pid, &status, 0);
    p->pid = 0;
}

typedef struct {
    char *data;
    size_t len;
} sink_t;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    sink_t *s = ud;
    size_t n = size * nmemb;
    s->data = realloc(s->data, s->len + n + 1);
    memcpy(s->data + s->len, ptr, n);
    s->len += n;
    s->data[s->len] = '\0';
    return n;
}

/* ts_http() within `timeout_s`; `quiet`: no message on a failure (polling a server still starting). */
static int http_request(const char *method, const char *url, const char *const *headers, const char *body,
                        size_t len, ts_resp_t *out, long timeout_s, int quiet)
{
    char why[CURL_ERROR_SIZE] = "";
    memset(out, 0, sizeof(*out));
    CURL *c = curl_easy_init();
    sink_t b = {0}, h = {0};
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, why);
    if (strcmp(method, "HEAD") == 0) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    /* a failed request says how: refused, reset, timed out (the assertion only shows -1) */
    if (rc != CURLE_OK && !quiet)
        fprintf(stderr, "ts_http %s %s: curl error %d: %s\n", method, url, (int)rc,
                why[0] ? why : curl_easy_strerror(rc));
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    out->body = b.data ? b.data : strdup("");
    out->len = b.len;
    out->headers = h.data ? h.data : strdup("");
    return rc == CURLE_OK ? 0 : -1;
}

int ts_http(const char *method, const char *url, const char *const *headers, const char *body, size_t len,
            ts_resp_t *out)
{
    return http_request(method, url, headers, body, len, out, 60, 0);
}

int ts_http_quiet(const char *method, const char *url, const char *const *headers, const char *body,
                  size_t len, ts_resp_t *out)
{
    /* short: a port that accepts but never answers (not our server) must not hold the poll up */
    return http_request(method, url, headers, body, len, out, 5, 1);
}

static size_t discard(void *p, size_t size, size_t nmemb, void *ud)
{
    (void)p;
    (void)ud;
    return size * nmemb;
}

long ts_https_get(const char *url, const char *ca_file)
{
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

int ts_post_json(const char *url, const char *key, const char *body, ts_resp_t *out)
{
    /* formatted only with a key: printf's %s of NULL is undefined ("(null)" with glibc), and a request
     * meant to carry no key must not carry a bogus one */
    char auth[256] = "";
    if (key) snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    const char *h[] = {auth, "Content-Type: application/json", NULL};
    return ts_http("POST", url, key ? h : h + 1, body, strlen(body), out);
}

char *ts_resp_header(const ts_resp_t *r, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *eol = strstr(line, "\r\n");
        size_t ll = eol ? (size_t)(eol - line) : strlen(line);
        if (ll > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            return strndup(v, ll - (size_t)(v - line));
        }
        line = eol ? eol + 2 : line + ll;
    }
    return NULL;
}

void ts_resp_free(ts_resp_t *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}

PGconn *ts_pg(const char *url)
{
    PGconn *c = PQconnectdb(url);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect %s: %s", url, PQerrorMessage(c));
    return c;
}

long ts_pg_long(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

long ts_pg_wait_long(PGconn *c, const char *sql, long want, int seconds)
{
    long n = -1;
    for (int i = 0; i < seconds * 10; i++) {
        n = ts_pg_long(c, sql);
        if (n >= want) return n;
        usleep(100 * 1000);
    }
    return n;
}

int ts_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

char *ts_copy_column(const char *copy, int row, int col)
{
    const char *p = copy;
    for (int r = 0; r < row; r++) {
        p = strchr(p, '\n');
        ck_assert_ptr_nonnull(p);
        p++;
    }
    for (int c = 0; c < col; c++) {
        p = strpbrk(p, "\t\n");
        ck_assert_msg(p && *p == '\t', "row %d has no column %d", row, col);
        p++;
    }
    size_t n = strcspn(p, "\t\n");
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}
