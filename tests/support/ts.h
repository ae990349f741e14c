/* Test support: what integration tests need to talk to the real servers. Each test program makes its
 * own PostgreSQL database and Redis key prefix and starts its own backend/pipeline processes, so
 * tests never see each other's data. Everything here aborts the test on set-up failure. */
#ifndef PS_TS_H
#define PS_TS_H

#include <check.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <sys/types.h>

#define TS_INGEST_KEY "test-ingest-key-1"
#define TS_READ_KEY "test-read-key-0001"
#define TS_ADMIN_KEY "test-admin-key-1"

/* Runs a suite with Check's usual runner; returns the process exit status (0 when all passed). */
int ts_run(Suite *s);
/* A required environment variable (set by scripts/test); the test is skipped with a clear message
 * when it is missing. */
const char *ts_env(const char *name);
/* Path of a built program, e.g. ts_program("backend/prodsentinel-backend"). Caller frees. */
char *ts_program(const char *relpath);
/* Creates a fresh empty database; returns its URL (caller frees). */
char *ts_create_database(const char *prefix);
/* The least-privilege database roles (migrations/007_roles.sql; scripts/lib/stack.sh creates them). */
#define TS_ROLE_INGEST "prodsentinel_ingest"
#define TS_ROLE_QUERY "prodsentinel_query"
#define TS_ROLE_PIPELINE "prodsentinel_pipeline"
/* `database_url` (postgresql://user@host:port/db, as ts_create_database() returns) with `role` as the user
 * (the test cluster trusts loopback: no password); a URL without a user comes back unchanged. Caller
 * frees. */
char *ts_role_url(const char *database_url, const char *role);
/* A loopback port nobody listens on right now. */
int ts_free_port(void);
/* A TCP connection to 127.0.0.1:port: the socket, or -1 when nobody accepts it. */
int ts_connect(int port);
/* A socket listening on 127.0.0.1:port (0: a free port; SO_REUSEADDR), or -1. */
int ts_listen(int port);

typedef struct {
    pid_t pid;
    int port;
    char url[64]; /* http://<BIND_ADDR's loopback>:<port>, e.g. http://[::1]:40123 */
    char log_path[256];
    int otlp_http_port; /* ts_start_backend_otlp() only; 0: none */
    int otlp_grpc_port;
    char otlp_http_url[64]; /* "" without an OTLP/HTTP port */
} ts_proc_t;

/* Starts `program` (relative to the build dir) with the standard test environment plus `extra_env`
 * (the standard environment runs it as the least-privilege roles: DATABASE_URL is `database_url`, the
 * owner's, and INGEST_, QUERY_ and PIPELINE_DATABASE_URL are the same database as the roles'),
 * ("NAME=value" strings, NULL-terminated; may be NULL), on a free port given in `port_var`, and
 * waits up to 60 s for GET /health answered by that process's own socket (not by another server that took
 * the port: then the program cannot bind, exits, and a new port is tried, up to 5). A port the program
 * could not bind that was not chosen here (one in `extra_env`) fails the start at once, as does a process
 * that exits before it is ready for any other reason, naming its log. The standard environment has
 * OTLP_HTTP_PORT=0 and OTLP_GRPC_PORT=0, so that parallel backends never compete for 4318/4317 (use
 * ts_start_backend_otlp() for those listeners); a BIND_ADDR in `extra_env` is used for the URL; with a
 * TLS_CERT_FILE in `extra_env` the URL is https:// and /health is awaited over TLS trusting that certificate
 * (ts_tls.h makes one). Returns 0 or -1. */
int ts_start(ts_proc_t *p, const char *program, const char *port_var, const char *database_url,
             const char *redis_prefix, const char *const *extra_env);
/* Same on a given port (to restart a killed process where its clients expect it); no other port is
 * tried. */
int ts_start_port(ts_proc_t *p, int port, const char *program, const char *port_var, const char *database_url,
                  const char *redis_prefix, const char *const *extra_env);
int ts_start_backend(ts_proc_t *p, const char *database_url, const char *redis_prefix,
                     const char *const *extra_env);
/* Asks ts_start_backend_otlp() for a free port. */
#define TS_FREE_PORT (-1)
/* Starts a backend whose OTLP/HTTP and OTLP/gRPC listeners are on `otlp_http_port` and `otlp_grpc_port`:
 * TS_FREE_PORT picks a free loopback port (distinct from the others), 0 disables the listener, any other
 * value is used as it is. As ts_start(): when a port picked here turns out taken, the backend is started
 * again with new ports for every listener asked TS_FREE_PORT (the API's too); a given port that is taken
 * fails the start. The ports used are in p->otlp_http_port, p->otlp_grpc_port and p->otlp_http_url.
 * `extra_env` as ts_start(). Returns 0 or -1. */
int ts_start_backend_otlp(ts_proc_t *p, const char *database_url, const char *redis_prefix,
                          const char *const *extra_env, int otlp_http_port, int otlp_grpc_port);
/* Picks the port a listener tries, in place of ts_free_port(): `port_var` names the listener
 * ("BACKEND_PORT", "OTLP_HTTP_PORT", "OTLP_GRPC_PORT"); called again on every try, and again when it
 * returns a port another listener of the same try has. */
typedef int (*ts_pick_port_fn)(void *ctx, const char *port_var);
/* ts_start_backend_otlp() picking its free ports with `pick(ctx, ...)`: for the test of the retry, whose
 * picker hands out a port the test holds, as another process would have taken it. */
int ts_start_backend_otlp_picking(ts_proc_t *p, const char *database_url, const char *redis_prefix,
                                  const char *const *extra_env, int otlp_http_port, int otlp_grpc_port,
                                  ts_pick_port_fn pick, void *ctx);
int ts_start_pipeline(ts_proc_t *p, const char *database_url, const char *redis_prefix,
                      const char *const *extra_env);
/* Runs a built program (relative to the build dir) with `arg` (may be NULL) and `env` added to this
 * process's environment, and waits for it (killed after 20 s: a server that starts by mistake does not
 * hang the test). Returns its exit status (-1 when killed) with its stdout and stderr in `out`. */
int ts_run_program(const char *program, const char *arg, const char *const *env, char *out, size_t outlen);
/* Sends `sig` and waits for the process. */
void ts_stop(ts_proc_t *p, int sig);

typedef struct {
    long status;
    char *body;
    size_t len;
    char *headers; /* raw response headers */
} ts_resp_t;

/* One HTTP request with curl. `headers` is NULL-terminated ("Name: value"); may be NULL.
 * Returns 0 when an answer came (any status), -1 on connection failure (curl's reason printed to stderr). */
int ts_http(const char *method, const char *url, const char *const *headers, const char *body, size_t len,
            ts_resp_t *out);
/* GET `url` trusting only the PEM certificate in `ca_file`: the HTTP status, or -1 when no answer came. */
long ts_https_get(const char *url, const char *ca_file);
/* ts_http() without the message it prints on a connection failure, and giving up after 5 s: for polling
 * a server still starting. */
int ts_http_quiet(const char *method, const char *url, const char *const *headers, const char *body,
                  size_t len, ts_resp_t *out);
/* POST of a JSON body with `key` as "Authorization: Bearer <key>"; NULL: no Authorization header. */
int ts_post_json(const char *url, const char *key, const char *body, ts_resp_t *out);
/* The value of response header `name` (case-insensitive), malloc'd, or NULL. */
char *ts_resp_header(const ts_resp_t *r, const char *name);
void ts_resp_free(ts_resp_t *r);

PGconn *ts_pg(const char *url);
/* First column of the first row as a long; -1 on error. */
long ts_pg_long(PGconn *c, const char *sql);
/* Polls ts_pg_long() every 100 ms until it reaches `want` or `seconds` pass; returns the last value. */
long ts_pg_wait_long(PGconn *c, const char *sql, long want, int seconds);
/* A random lowercase hex string of `n` digits into out (n+1 bytes). */
void ts_hex(char *out, size_t n);

/* Column `col` (0-based) of line `row` of COPY text (ingest_batch.h's rows), as a new string; fails the
 * test when the row or column is missing. Caller frees. */
char *ts_copy_column(const char *copy, int row, int col);

#endif
