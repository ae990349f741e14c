/* bench-ingest: sustained ingest against a bare COPY of the same rows into the same table, side by side
 * in one run, plus p99 latency at half the peak rate and the backend's peak RSS.
 *
 *   bench-ingest --url http://127.0.0.1:8000 --key K --database-url URL --backend-pid PID
 *                [--kind spans|logs] [--format F[,F...]] [--grpc-port P]
 *                [--batches 60] [--batch-size 1000] [--connections 4] [--rounds 2]
 *   bench-ingest --decode-only [--kind K] [--format F[,F...]] [--batches N] [--rounds N] [--redact]
 *       (no server: one thread decodes each format's batches as the backend does, for profiling;
 *       --redact decodes as REDACT_AT_INGEST=1 does, to measure what the option costs)
 *
 * Span formats (--format, default native; "all" for every one): native (our JSON on /ingest/traces),
 * otlp-json, otlp-proto, otlp-proto-gzip (OTLP/HTTP on /v1/traces), grpc, grpc-gzip (OTLP/gRPC
 * TraceService/Export on --grpc-port, h2c, one call in flight per connection). The same spans in each
 * encoding (benchlib/span_bodies.h); gzip is applied once before timing, as an exporter would.
 *
 * Each phase gets its own freshly generated rows (unique ids), so no phase meets another's duplicates.
 * The bare COPY of a format sends the exact COPY text the backend's decoder for that format produces
 * (the record layer's columns, ingest_batch.h), 1,000 rows per COPY and transaction, over as many
 * connections as the ingest phase uses. Phases interleave (per round: COPY, format A, COPY, format B,
 * ...) so load drift on this shared machine touches both sides of each ratio alike. */
#include "alloc.h"
#include "grpc_client.h"
#include "grpc_frame.h"
#include "inflate.h"
#include "ingest_batch.h"
#include "ingest_json.h"
#include "ingest_otlp_proto.h"
#include "span_bodies.h"

#include <curl/curl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GRPC_TRACE_EXPORT "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

/* The speed each format must reach, as a fraction of the bare COPY measured beside it (issue 13). */
static const double span_targets[SPAN_FMT_COUNT] = {
    [SPAN_FMT_NATIVE] = 0.7,          [SPAN_FMT_OTLP_JSON] = 0.5, [SPAN_FMT_OTLP_PROTO] = 0.7,
    [SPAN_FMT_OTLP_PROTO_GZIP] = 0.6, [SPAN_FMT_GRPC] = 0.6,      [SPAN_FMT_GRPC_GZIP] = 0.6};
#define LOG_TARGET 0.7

typedef struct {
    const char *url, *key, *database_url;
    int backend_pid, grpc_port;
    int decode_only;
    int redact; /* decode as REDACT_AT_INGEST=1 (the backend's own setting is its environment's) */
    ingest_kind_t kind;
    span_format_t formats[SPAN_FMT_COUNT];
    int nformats;
    int batches, batch_size, connections, rounds;
} opts_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of the calling thread: unlike wall time, not inflated by waiting for a shared core. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------- data ---------------- */

static const char *services[] = {"gateway", "payment", "inventory", "orders", "shipping", "users"};
static const char *ops[] = {"POST /orders",  "POST /charge",    "POST /reserve",
                            "SELECT orders", "GET /users/{id}", "publish order.created"};

/* One body of n logs in our JSON. Caller frees. */
static bench_body_t make_log_body(span_gen_t *g, int n, long long base_ns)
{
    size_t cap = (size_t)n * 900 + 64;
    char *b = xmalloc(cap);
    size_t o = 0;
    o += (size_t)snprintf(b + o, cap - o, "{\"logs\":[");
    char trace[33];
    for (int i = 0; i < n; i++) {
        if (i % 20 == 0)
            snprintf(trace, sizeof(trace), "%016llx%016llx", (unsigned long long)span_gen_next(g),
                     (unsigned long long)span_gen_next(g));
        int s = (int)(span_gen_next(g) % 6);
        long long start = base_ns + (long long)(span_gen_next(g) % 1000000000ULL);
        o += (size_t)snprintf(
            b + o, cap - o,
            "%s{\"timestamp\":%lld,\"service\":\"%s\",\"level\":\"%s\",\"message\":\"order "
            "ord-%llu %s handled in %llu ms for user u-%llu\",\"trace_id\":\"%s\",\"span_id\":"
            "\"%016llx\",\"attributes\":{\"logger\":\"com.acme.%s.Handler\",\"thread\":"
            "\"http-nio-8080-exec-%llu\",\"host\":\"%s-7d9f8b6c5-x2x4q\"}}",
            i ? "," : "", start, services[s], i % 50 ? "INFO" : "WARN",
            (unsigned long long)(span_gen_next(g) % 1000000), ops[s],
            (unsigned long long)(span_gen_next(g) % 500), (unsigned long long)(span_gen_next(g) % 100000),
            trace, (unsigned long long)span_gen_next(g), services[s],
            (unsigned long long)(span_gen_next(g) % 200), services[s]);
    }
    o += (size_t)snprintf(b + o, cap - o, "]}");
    return (bench_body_t){(uint8_t *)b, o};
}

/* n bodies of one format, fresh rows each. */
typedef struct {
    bench_body_t *bodies;
    int n;
    span_format_t format; /* spans */
} body_set_t;

static body_set_t make_set(const opts_t *o, span_gen_t *g, span_format_t f, int n)
{
    body_set_t s = {xcalloc((size_t)n, sizeof(bench_body_t)), n, f};
    long long base = (long long)time(NULL) * 1000000000LL;
    for (int i = 0; i < n; i++) {
        if (o->kind == INGEST_SPANS)
            span_body_make(g, f, o->batch_size, base, &s.bodies[i]);
        else
            s.bodies[i] = make_log_body(g, o->batch_size, base);
    }
    return s;
}

static void free_set(body_set_t *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->bodies[i].data);
    free(s->bodies);
}

/* ---------------- RSS sampling ---------------- */

typedef struct {
    int pid;
    atomic_int stop;
    atomic_long max_kb;
} rss_t;

static long rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = 0;
    if (f == NULL) return 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0) kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static void *rss_main(void *arg)
{
    rss_t *r = arg;
    while (!atomic_load(&r->stop)) {
        long kb = rss_kb(r->pid);
        if (kb > atomic_load(&r->max_kb)) atomic_store(&r->max_kb, kb);
        usleep(50 * 1000);
    }
    return NULL;
}

/* ---------------- bare COPY ---------------- */

typedef struct {
    const opts_t *o;
    buf_t *rows;
    int first, step, n;
    int failed;
} copy_worker_t;

static void *copy_main(void *arg)
{
    copy_worker_t *w = arg;
    PGconn *c = PQconnectdb(w->o->database_url);
    char sql[768];
    snprintf(sql, sizeof(sql), "COPY %s (%s) FROM STDIN", ingest_batch_table(w->o->kind),
             ingest_batch_columns(w->o->kind));
    for (int i = w->first; i < w->n; i += w->step) {
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COPY_IN) w->failed = 1;
        PQclear(r);
        PQputCopyData(c, w->rows[i].data, (int)w->rows[i].len);
        PQputCopyEnd(c, NULL);
        while ((r = PQgetResult(c)) != NULL) {
            if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                fprintf(stderr, "COPY: %s", PQresultErrorMessage(r));
                w->failed = 1;
            }
            PQclear(r);
        }
    }
    PQfinish(c);
    return NULL;
}

/* Decodes one body of `f` (a plain format: native, otlp-json, otlp-proto) as the backend does. */
static int decode(const opts_t *o, span_format_t f, const bench_body_t *body, ingest_batch_t *b,
                  ingest_err_t *err)
{
    ingest_limits_t limits = ingest_limits_default(1000000, 1u << 30);
    limits.redact = o->redact;
    if (o->kind != INGEST_SPANS || f == SPAN_FMT_NATIVE)
        return ingest_json_native_limited(o->kind, (const char *)body->data, body->len, &limits, b, err);
    if (f == SPAN_FMT_OTLP_JSON)
        return ingest_json_otlp_limited(o->kind, (const char *)body->data, body->len, &limits, b, err);
    return ingest_otlp_proto_limited(o->kind, body->data, body->len, &limits, b, err);
}

/* Decodes every body of `set` (in its plain format) as the backend does: decompression and gRPC
 * framing aside, the whole work of an ingest request before the writers. rows (NULL: dropped) gets
 * each batch's COPY text. Returns the mean CPU milliseconds per batch. */
static double decode_set(const opts_t *o, const body_set_t *set, buf_t *rows)
{
    span_format_t plain = span_format_plain(set->format);
    double t0 = cpu_s();
    for (int i = 0; i < set->n; i++) {
        ingest_batch_t b;
        ingest_err_t err;
        if (decode(o, plain, &set->bodies[i], &b, &err) != 0 || b.rejected) {
            fprintf(stderr, "decode %s: %s %s\n", span_format_name(plain), err.path, err.reason);
            exit(1);
        }
        if (rows) {
            rows[i] = b.copy;
            b.copy.data = NULL;
        }
        ingest_batch_dispose(&b);
    }
    return (cpu_s() - t0) * 1e3 / set->n;
}

/* COPYs the rows the backend would write for `set` (decoded here, in its plain format). Returns rows/s;
 * *decode_ms gets the single-thread decode + record layer CPU time per batch. */
static double run_copy(const opts_t *o, body_set_t *set, double *decode_ms)
{
    buf_t *rows = xcalloc((size_t)set->n, sizeof(buf_t));
    *decode_ms = decode_set(o, set, rows);
    pthread_t *t = xcalloc((size_t)o->connections, sizeof(pthread_t));
    copy_worker_t *w = xcalloc((size_t)o->connections, sizeof(copy_worker_t));
    double t0 = now_s();
    for (int i = 0; i < o->connections; i++) {
        w[i] = (copy_worker_t){o, rows, i, o->connections, set->n, 0};
        pthread_create(&t[i], NULL, copy_main, &w[i]);
    }
    int failed = 0;
    for (int i = 0; i < o->connections; i++) {
        pthread_join(t[i], NULL);
        failed |= w[i].failed;
    }
    double secs = now_s() - t0;
    for (int i = 0; i < set->n; i++)
        buf_dispose(&rows[i]);
    free(rows);
    free(t);
    free(w);
    if (failed) {
        fprintf(stderr, "bare COPY failed\n");
        exit(1);
    }
    return (double)set->n * o->batch_size / secs;
}

/* ---------------- ingest: HTTP and gRPC ---------------- */

typedef struct {
    const opts_t *o;
    body_set_t *set;
    int first, step;
    double interval_s; /* 0: as fast as possible */
    double *latencies;
    int nlat;
    int failed;
} ingest_worker_t;

/* Keeps the start of the answer, to show why a batch failed. */
typedef struct {
    char text[512];
    size_t len;
} answer_t;

static size_t keep_answer(char *p, size_t s, size_t n, void *ud)
{
    answer_t *a = ud;
    size_t room = sizeof(a->text) - 1 - a->len, take = s * n < room ? s * n : room;
    memcpy(a->text + a->len, p, take);
    a->len += take;
    a->text[a->len] = '\0';
    return s * n;
}

/* Waits for the paced start of the next batch (interval_s 0: no pacing). */
static void pace(const ingest_worker_t *w, double *next)
{
    if (w->interval_s <= 0) return;
    double wait = *next - now_s();
    if (wait > 0) usleep((useconds_t)(wait * 1e6));
    *next += w->interval_s;
}

static void *http_main(void *arg)
{
    ingest_worker_t *w = arg;
    span_format_t f = w->set->format;
    int otlp = w->o->kind == INGEST_SPANS && f != SPAN_FMT_NATIVE;
    CURL *c = curl_easy_init();
    char url[256], auth[256];
    snprintf(url, sizeof(url), "%s%s", w->o->url,
             otlp                         ? "/v1/traces"
             : w->o->kind == INGEST_SPANS ? "/ingest/traces"
                                          : "/ingest/logs");
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->o->key);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, otlp && f != SPAN_FMT_OTLP_JSON ? "Content-Type: application/x-protobuf"
                                                             : "Content-Type: application/json");
    if (otlp && span_format_is_gzip(f)) h = curl_slist_append(h, "Content-Encoding: gzip");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    answer_t answer;
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_answer);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    /* independent clients: connection k starts k/connections of an interval later, not all at once */
    double next = now_s() + w->interval_s * w->first / w->step;
    for (int i = w->first; i < w->set->n; i += w->step) {
        pace(w, &next);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)w->set->bodies[i].len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, w->set->bodies[i].data);
        answer.len = 0;
        answer.text[0] = '\0';
        double t0 = now_s();
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK || status != 200) {
            fprintf(stderr, "HTTP batch failed: %s status %ld: %.300s\n", curl_easy_strerror(rc), status,
                    answer.text);
            w->failed = 1;
        }
        w->latencies[w->nlat++] = now_s() - t0;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

/* One h2c connection, one call in flight (an exporter's behaviour), paced like the HTTP clients. */
static void *grpc_main(void *arg)
{
    ingest_worker_t *w = arg;
    char err[256];
    grpc_client_t *c = grpc_client_connect(w->o->grpc_port, GRPC_TRACE_EXPORT, w->o->key,
                                           span_format_is_gzip(w->set->format), err, sizeof(err));
    if (c == NULL) {
        fprintf(stderr, "gRPC: %s\n", err);
        w->failed = 1;
        return NULL;
    }
    double next = now_s() + w->interval_s * w->first / w->step;
    for (int i = w->first; i < w->set->n; i += w->step) {
        pace(w, &next);
        grpc_client_msg_t msg = {w->set->bodies[i].data, w->set->bodies[i].len};
        int failed = grpc_client_run(c, &msg, 1, 1, &w->latencies[w->nlat]);
        if (failed != 0) {
            fprintf(stderr, "gRPC call failed: %s\n", grpc_client_error(c));
            w->failed = 1;
            if (failed < 0) break;
        }
        w->nlat++;
    }
    grpc_client_free(c);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sends the set over o->connections connections (HTTP/1.1 keep-alive, or h2c for the gRPC formats);
 * rate_rows_s 0 = as fast as possible. Returns rows/s; fills p50/p99 (seconds). */
static double run_ingest(const opts_t *o, body_set_t *set, double rate_rows_s, double *p50, double *p99)
{
    int grpc = o->kind == INGEST_SPANS && span_format_is_grpc(set->format);
    pthread_t *t = xcalloc((size_t)o->connections, sizeof(pthread_t));
    ingest_worker_t *w = xcalloc((size_t)o->connections, sizeof(ingest_worker_t));
    double per_conn_interval = rate_rows_s > 0 ? (double)o->batch_size * o->connections / rate_rows_s : 0;
    double t0 = now_s();
    for (int i = 0; i < o->connections; i++) {
        w[i] = (ingest_worker_t){
            o, set, i, o->connections, per_conn_interval, xcalloc((size_t)set->n, sizeof(double)), 0, 0};
        pthread_create(&t[i], NULL, grpc ? grpc_main : http_main, &w[i]);
    }
    int failed = 0, nlat = 0;
    double *all = xcalloc((size_t)set->n, sizeof(double));
    for (int i = 0; i < o->connections; i++) {
        pthread_join(t[i], NULL);
        failed |= w[i].failed;
        memcpy(all + nlat, w[i].latencies, (size_t)w[i].nlat * sizeof(double));
        nlat += w[i].nlat;
        free(w[i].latencies);
    }
    double secs = now_s() - t0;
    qsort(all, (size_t)nlat, sizeof(double), cmp_double);
    *p50 = nlat ? all[nlat / 2] : 0;
    *p99 = nlat ? all[(int)((nlat - 1) * 0.99)] : 0;
    free(all);
    free(t);
    free(w);
    if (failed) {
        fprintf(stderr, "%s ingest phase had failures\n", span_format_name(set->format));
        exit(1);
    }
    return (double)set->n * o->batch_size / secs;
}

/* ---------------- driver ---------------- */

static void usage(void)
{
    fprintf(
        stderr,
        "usage: bench-ingest --url URL --key KEY --database-url URL --backend-pid PID [--kind spans|logs]\n"
        "       [--format native|otlp-json|otlp-proto|otlp-proto-gzip|grpc|grpc-gzip[,...]|all]\n"
        "       [--grpc-port PORT] [--batches N] [--batch-size N] [--connections N] [--rounds N]\n"
        "       bench-ingest --decode-only [--kind K] [--format F[,...]] [--batches N] [--rounds N] "
        "[--redact]\n");
    exit(2);
}

/* Parses a comma-separated list of formats (or "all") into o->formats. Returns 0 or -1. */
static int parse_formats(opts_t *o, const char *list)
{
    o->nformats = 0;
    if (strcmp(list, "all") == 0) {
        for (int f = 0; f < SPAN_FMT_COUNT; f++)
            o->formats[o->nformats++] = (span_format_t)f;
        return 0;
    }
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", list);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        span_format_t f;
        if (span_format_parse(tok, &f) != 0) return -1;
        int seen = 0;
        for (int i = 0; i < o->nformats; i++)
            seen |= o->formats[i] == f;
        if (!seen) o->formats[o->nformats++] = f;
    }
    return o->nformats ? 0 : -1;
}

static void parse_args(opts_t *o, int argc, char **argv)
{
    *o = (opts_t){.kind = INGEST_SPANS,
                  .formats = {SPAN_FMT_NATIVE},
                  .nformats = 1,
                  .batches = 60,
                  .batch_size = 1000,
                  .connections = 4,
                  .rounds = 2};
    for (int i = 1; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(k, "--url"))
            o->url = v;
        else if (!strcmp(k, "--key"))
            o->key = v;
        else if (!strcmp(k, "--database-url"))
            o->database_url = v;
        else if (!strcmp(k, "--backend-pid"))
            o->backend_pid = atoi(v);
        else if (!strcmp(k, "--grpc-port"))
            o->grpc_port = atoi(v);
        else if (!strcmp(k, "--kind"))
            o->kind = !strcmp(v, "logs") ? INGEST_LOGS : INGEST_SPANS;
        else if (!strcmp(k, "--format")) {
            if (parse_formats(o, v) != 0) usage();
        } else if (!strcmp(k, "--batches"))
            o->batches = atoi(v);
        else if (!strcmp(k, "--batch-size"))
            o->batch_size = atoi(v);
        else if (!strcmp(k, "--connections"))
            o->connections = atoi(v);
        else if (!strcmp(k, "--rounds"))
            o->rounds = atoi(v);
        else if (!strcmp(k, "--decode-only")) {
            o->decode_only = 1;
            i--; /* a flag: no value */
        } else if (!strcmp(k, "--redact")) {
            o->redact = 1;
            i--;
        } else
            usage();
    }
    if (o->decode_only) {
        if (o->batches < 1 || o->rounds < 1) usage();
    } else if ((argc - 1 - o->redact) % 2 != 0 || !o->url || !o->key || !o->database_url || o->batches < 1 ||
               o->connections < 1 || o->rounds < 1)
        usage();
    if (o->kind == INGEST_LOGS) {
        o->formats[0] = SPAN_FMT_NATIVE; /* logs: our JSON only */
        o->nformats = 1;
    }
    for (int i = 0; i < o->nformats; i++)
        if (!o->decode_only && span_format_is_grpc(o->formats[i]) && o->grpc_port <= 0) {
            fprintf(stderr, "bench-ingest: format %s needs --grpc-port\n", span_format_name(o->formats[i]));
            exit(2);
        }
}

/* Sums over the rounds of one format. */
typedef struct {
    double copy, ingest, decode_ms;
    double ratio_min, ratio_max; /* of the rounds */
} totals_t;

/* CPU milliseconds per body to gunzip the set's bodies (after a gRPC frame header for gRPC formats). */
static double inflate_set(const body_set_t *set)
{
    size_t skip = span_format_is_grpc(set->format) ? GRPC_FRAME_HEADER_LEN : 0;
    double t0 = cpu_s();
    for (int i = 0; i < set->n; i++) {
        buf_t plain;
        buf_init(&plain, 1u << 30);
        char why[128];
        if (inflate_bounded(INFLATE_GZIP, set->bodies[i].data + skip, set->bodies[i].len - skip, 1u << 30,
                            &plain, why, sizeof(why)) != 0) {
            fprintf(stderr, "inflate: %s\n", why);
            exit(1);
        }
        buf_dispose(&plain);
    }
    return (cpu_s() - t0) * 1e3 / set->n;
}

/* --decode-only: the best of o->rounds single-thread passes over each format's batches, no I/O: the
 * decoder and record layer (once per plain encoding), and gunzip for the compressed formats. */
static int decode_only(const opts_t *o, span_gen_t *gen)
{
    int done[SPAN_FMT_COUNT] = {0};
    const char *kind = o->kind == INGEST_SPANS ? "spans" : "logs";
    for (int i = 0; i < o->nformats; i++) {
        span_format_t f = o->formats[i], plain = span_format_plain(f);
        span_format_t what[2] = {plain, f};
        for (int k = 0; k < 2; k++) {
            int gunzip = k == 1;
            if (gunzip ? !span_format_is_gzip(f) : done[plain]) continue;
            done[plain] = 1;
            body_set_t set = make_set(o, gen, what[k], o->batches);
            size_t bytes = 0;
            for (int b = 0; b < set.n; b++)
                bytes += set.bodies[b].len;
            double best = 0;
            for (int r = 0; r < o->rounds; r++) {
                double ms = gunzip ? inflate_set(&set) : decode_set(o, &set, NULL);
                if (r == 0 || ms < best) best = ms;
            }
            printf("%-6s %-5s %-15s %7.2f CPU ms per %d-record batch of %zu bytes (one thread)\n",
                   gunzip ? "gunzip" : "decode", kind, span_format_name(what[k]), best, o->batch_size,
                   bytes / (size_t)set.n);
            free_set(&set);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts_t o;
    parse_args(&o, argc, argv);
    span_gen_t gen = {88172645463325252ULL};
    if (o.decode_only) return decode_only(&o, &gen);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rss_t rss = {o.backend_pid, 0, 0};
    pthread_t rss_tid;
    if (o.backend_pid) pthread_create(&rss_tid, NULL, rss_main, &rss);

    /* warm-up: creates today's partitions, the writers' connections and the resources rows */
    double p50, p99;
    for (int i = 0; i < o.nformats; i++) {
        body_set_t warm = make_set(&o, &gen, o.formats[i], 4);
        run_ingest(&o, &warm, 0, &p50, &p99);
        free_set(&warm);
    }

    const char *kind = o.kind == INGEST_SPANS ? "spans" : "logs";
    totals_t sum[SPAN_FMT_COUNT];
    memset(sum, 0, sizeof(sum));
    for (int r = 0; r < o.rounds; r++) {
        for (int i = 0; i < o.nformats; i++) {
            span_format_t f = o.formats[i];
            double decode_ms;
            body_set_t a = make_set(&o, &gen, span_format_plain(f), o.batches);
            double copy_rate = run_copy(&o, &a, &decode_ms);
            free_set(&a);
            body_set_t b = make_set(&o, &gen, f, o.batches);
            double rate = run_ingest(&o, &b, 0, &p50, &p99);
            free_set(&b);
            printf("round %d %-5s %-15s bare COPY %9.0f rows/s   ingest %9.0f rows/s   ratio %.2f   (p50 "
                   "%.1f ms; decode %.2f CPU ms/batch)\n",
                   r + 1, kind, span_format_name(f), copy_rate, rate, rate / copy_rate, p50 * 1e3, decode_ms);
            fflush(stdout);
            sum[f].copy += copy_rate;
            sum[f].ingest += rate;
            sum[f].decode_ms += decode_ms;
            double ratio = rate / copy_rate;
            if (r == 0 || ratio < sum[f].ratio_min) sum[f].ratio_min = ratio;
            if (r == 0 || ratio > sum[f].ratio_max) sum[f].ratio_max = ratio;
        }
    }

    /* latency at half the peak rate: the first format (our JSON by default) */
    span_format_t lf = o.formats[0];
    double peak = sum[lf].ingest / o.rounds;
    body_set_t half = make_set(&o, &gen, lf, o.batches * 3); /* enough requests for a meaningful p99 */
    double half_rate = run_ingest(&o, &half, peak / 2, &p50, &p99);
    free_set(&half);
    if (o.backend_pid) {
        atomic_store(&rss.stop, 1);
        pthread_join(rss_tid, NULL);
    }

    printf("\n%-6s %-16s %10s %12s %6s %11s %7s %6s %s\n", "kind", "format", "rows/s", "COPY rows/s", "ratio",
           "rounds", "target", "result", "decode CPU/batch");
    for (int i = 0; i < o.nformats; i++) {
        span_format_t f = o.formats[i];
        double copy = sum[f].copy / o.rounds, rate = sum[f].ingest / o.rounds, ratio = rate / copy;
        double target = o.kind == INGEST_SPANS ? span_targets[f] : LOG_TARGET;
        printf("%-6s %-16s %10.0f %12.0f %6.2f %5.2f-%-5.2f %4s%.1f %6s %.2f ms\n", kind, span_format_name(f),
               rate, copy, ratio, sum[f].ratio_min, sum[f].ratio_max, ">=", target,
               ratio >= target ? "pass" : "FAIL", sum[f].decode_ms / o.rounds);
    }
    printf(
        "SUMMARY %s %s: at half peak (%.0f rows/s): p50 %.1f ms, p99 %.1f ms; backend peak RSS %.1f MB\n\n",
        kind, span_format_name(lf), half_rate, p50 * 1e3, p99 * 1e3,
        (double)atomic_load(&rss.max_kb) / 1024.0);
    curl_global_cleanup();
    return 0;
}
