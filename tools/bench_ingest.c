/* bench-ingest: sustained ingest over HTTP against a bare COPY of the same kind of rows into the same
 * tables, in one run, plus p99 latency at half the peak rate and the backend's peak RSS.
 *
 *   bench-ingest --url http://127.0.0.1:8000 --key K --database-url URL --backend-pid PID
 *                [--kind spans|logs] [--batches 60] [--batch-size 1000] [--connections 4] [--rounds 2]
 *
 * Each phase gets its own freshly generated rows (unique ids), so no phase meets another's duplicates.
 * The bare COPY sends the exact COPY text our parser produces for those bodies, 1,000 rows per COPY
 * and transaction, over as many connections as the HTTP phase uses. */
#include "alloc.h"
#include "ingest_batch.h"
#include "ingest_json.h"

#include <curl/curl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *url, *key, *database_url;
    int backend_pid;
    ingest_kind_t kind;
    int batches, batch_size, connections, rounds;
} opts_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------- data ---------------- */

static unsigned long long rng_state = 88172645463325252ULL;
static unsigned long long rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static const char *services[] = {"gateway", "payment", "inventory", "orders", "shipping", "users"};
static const char *ops[] = {"POST /orders",  "POST /charge",    "POST /reserve",
                            "SELECT orders", "GET /users/{id}", "publish order.created"};

/* One body of n records with realistic attributes (about 10 per span). Caller frees. */
static char *make_body(ingest_kind_t kind, int n, long long base_ns)
{
    size_t cap = (size_t)n * 900 + 64;
    char *b = xmalloc(cap);
    size_t o = 0;
    o += (size_t)snprintf(b + o, cap - o, kind == INGEST_SPANS ? "{\"spans\":[" : "{\"logs\":[");
    char trace[33];
    for (int i = 0; i < n; i++) {
        if (i % 20 == 0) snprintf(trace, sizeof(trace), "%016llx%016llx", rnd(), rnd());
        int s = (int)(rnd() % 6);
        long long start = base_ns + (long long)(rnd() % 1000000000ULL);
        long long dur = 100000 + (long long)(rnd() % 50000000ULL);
        if (kind == INGEST_SPANS) {
            o += (size_t)snprintf(
                b + o, cap - o,
                "%s{\"trace_id\":\"%s\",\"span_id\":\"%016llx\",\"parent_span_id\":\"%016llx\",\"service\":"
                "\"%s\","
                "\"name\":\"%s\",\"kind\":\"SERVER\",\"start_time\":%lld,\"end_time\":%lld,\"status\":\"OK\","
                "\"attributes\":{\"http.method\":\"POST\",\"http.route\":\"/api/v1/"
                "orders\",\"http.status_code\":200,"
                "\"net.peer.name\":\"%s.prod.svc.cluster.local\",\"net.peer.port\":8080,\"http.user_agent\":"
                "\"okhttp/4.9.3\",\"db.system\":\"postgresql\",\"db.statement\":\"SELECT * FROM orders WHERE "
                "id = $1\","
                "\"k8s.pod.name\":\"%s-7d9f8b6c5-x2x4q\",\"order.id\":\"ord-%llu\"}}",
                i ? "," : "", trace, rnd(), rnd(), services[s], ops[s], start, start + dur,
                services[(s + 1) % 6], services[s], rnd() % 1000000);
        } else {
            o += (size_t)snprintf(
                b + o, cap - o,
                "%s{\"timestamp\":%lld,\"service\":\"%s\",\"level\":\"%s\",\"message\":\"order "
                "ord-%llu %s handled in %llu ms for user u-%llu\",\"trace_id\":\"%s\",\"span_id\":"
                "\"%016llx\",\"attributes\":{\"logger\":\"com.acme.%s.Handler\",\"thread\":"
                "\"http-nio-8080-exec-%llu\",\"host\":\"%s-7d9f8b6c5-x2x4q\"}}",
                i ? "," : "", start, services[s], i % 50 ? "INFO" : "WARN", rnd() % 1000000, ops[s],
                rnd() % 500, rnd() % 100000, trace, rnd(), services[s], rnd() % 200, services[s]);
        }
    }
    o += (size_t)snprintf(b + o, cap - o, "]}");
    return b;
}

typedef struct {
    char **bodies;
    int n;
} body_set_t;

static body_set_t make_set(const opts_t *o, int n)
{
    body_set_t s = {xcalloc((size_t)n, sizeof(char *)), n};
    long long base = (long long)time(NULL) * 1000000000LL;
    for (int i = 0; i < n; i++)
        s.bodies[i] = make_body(o->kind, o->batch_size, base);
    return s;
}

static void free_set(body_set_t *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->bodies[i]);
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
    char sql[512];
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

static double run_copy(const opts_t *o, body_set_t *set)
{
    buf_t *rows = xcalloc((size_t)set->n, sizeof(buf_t));
    double parse_t0 = now_s();
    for (int i = 0; i < set->n; i++) {
        ingest_batch_t b;
        ingest_err_t err;
        if (ingest_json_native(o->kind, set->bodies[i], strlen(set->bodies[i]), 1000000, 1u << 30, &b,
                               &err) != 0) {
            fprintf(stderr, "parse: %s %s\n", err.path, err.reason);
            exit(1);
        }
        rows[i] = b.copy;
        b.copy.data = NULL;
        ingest_batch_dispose(&b);
    }
    double parse_s = now_s() - parse_t0;
    printf("        parse+validate+COPY encoding: %.2f ms per %d-row batch (one thread)\n",
           parse_s * 1e3 / set->n, o->batch_size);
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

/* ---------------- HTTP ---------------- */

typedef struct {
    const opts_t *o;
    body_set_t *set;
    int first, step;
    double interval_s; /* 0: as fast as possible */
    double *latencies;
    int nlat;
    int failed;
} http_worker_t;

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p, (void)ud;
    return s * n;
}

static void *http_main(void *arg)
{
    http_worker_t *w = arg;
    CURL *c = curl_easy_init();
    char url[256], auth[256];
    snprintf(url, sizeof(url), "%s/ingest/%s", w->o->url, w->o->kind == INGEST_SPANS ? "traces" : "logs");
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->o->key);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    /* independent clients: connection k starts k/connections of an interval later, not all at once */
    double next = now_s() + w->interval_s * w->first / w->step;
    for (int i = w->first; i < w->set->n; i += w->step) {
        if (w->interval_s > 0) {
            double wait = next - now_s();
            if (wait > 0) usleep((useconds_t)(wait * 1e6));
            next += w->interval_s;
        }
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, w->set->bodies[i]);
        double t0 = now_s();
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK || status != 200) {
            fprintf(stderr, "HTTP batch failed: %s status %ld\n", curl_easy_strerror(rc), status);
            w->failed = 1;
        }
        w->latencies[w->nlat++] = now_s() - t0;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sends the set over o->connections connections; rate_rows_s 0 = as fast as possible.
 * Returns rows/s; fills p50/p99 (seconds). */
static double run_http(const opts_t *o, body_set_t *set, double rate_rows_s, double *p50, double *p99)
{
    pthread_t *t = xcalloc((size_t)o->connections, sizeof(pthread_t));
    http_worker_t *w = xcalloc((size_t)o->connections, sizeof(http_worker_t));
    double per_conn_interval = rate_rows_s > 0 ? (double)o->batch_size * o->connections / rate_rows_s : 0;
    double t0 = now_s();
    for (int i = 0; i < o->connections; i++) {
        w[i] = (http_worker_t){
            o, set, i, o->connections, per_conn_interval, xcalloc((size_t)set->n, sizeof(double)), 0, 0};
        pthread_create(&t[i], NULL, http_main, &w[i]);
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
        fprintf(stderr, "HTTP phase had failures\n");
        exit(1);
    }
    return (double)set->n * o->batch_size / secs;
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: bench-ingest --url URL --key KEY --database-url URL --backend-pid PID [--kind spans|logs]\n"
        "       [--batches N] [--batch-size N] [--connections N] [--rounds N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    opts_t o = {NULL, NULL, NULL, 0, INGEST_SPANS, 60, 1000, 4, 2};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--url"))
            o.url = argv[i + 1];
        else if (!strcmp(argv[i], "--key"))
            o.key = argv[i + 1];
        else if (!strcmp(argv[i], "--database-url"))
            o.database_url = argv[i + 1];
        else if (!strcmp(argv[i], "--backend-pid"))
            o.backend_pid = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--kind"))
            o.kind = !strcmp(argv[i + 1], "logs") ? INGEST_LOGS : INGEST_SPANS;
        else if (!strcmp(argv[i], "--batches"))
            o.batches = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch-size"))
            o.batch_size = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--connections"))
            o.connections = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds"))
            o.rounds = atoi(argv[i + 1]);
        else
            usage();
    }
    if (!o.url || !o.key || !o.database_url || o.batches < 1 || o.connections < 1) usage();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rss_t rss = {o.backend_pid, 0, 0};
    pthread_t rss_tid;
    if (o.backend_pid) pthread_create(&rss_tid, NULL, rss_main, &rss);

    /* warm-up: creates today's partitions and the writers' connections */
    body_set_t warm = make_set(&o, 4);
    double p50, p99;
    run_http(&o, &warm, 0, &p50, &p99);
    free_set(&warm);

    const char *kind = o.kind == INGEST_SPANS ? "spans" : "logs";
    double copy_sum = 0, http_sum = 0;
    for (int r = 0; r < o.rounds; r++) {
        body_set_t a = make_set(&o, o.batches), b = make_set(&o, o.batches);
        double copy_rate = run_copy(&o, &a);
        double http_rate = run_http(&o, &b, 0, &p50, &p99);
        printf("round %d %-5s bare COPY %9.0f rows/s   HTTP ingest %9.0f rows/s   ratio %.2f   (HTTP p50 "
               "%.1f ms)\n",
               r + 1, kind, copy_rate, http_rate, http_rate / copy_rate, p50 * 1e3);
        copy_sum += copy_rate;
        http_sum += http_rate;
        free_set(&a);
        free_set(&b);
    }
    double peak = http_sum / o.rounds;
    body_set_t half = make_set(&o, o.batches * 3); /* enough requests for a meaningful p99 */
    double half_rate = run_http(&o, &half, peak / 2, &p50, &p99);
    free_set(&half);
    if (o.backend_pid) {
        atomic_store(&rss.stop, 1);
        pthread_join(rss_tid, NULL);
    }
    printf("SUMMARY %s: bare COPY %.0f rows/s, HTTP %.0f rows/s, ratio %.2f; at half peak (%.0f rows/s): p50 "
           "%.1f ms, "
           "p99 %.1f ms; backend peak RSS %.1f MB\n",
           kind, copy_sum / o.rounds, peak, peak / (copy_sum / o.rounds), half_rate, p50 * 1e3, p99 * 1e3,
           (double)atomic_load(&rss.max_kb) / 1024.0);
    curl_global_cleanup();
    return 0;
}
