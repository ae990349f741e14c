/* bench-scale: the scaling phase of scripts/bench (issue 16), in three steps the script runs around
 * starting and stopping programs:
 *
 *   bench-scale send --url U --key K --database-url D --run R [--traces 90]
 *       sends --traces error traces, each with a cause of its own (so each is an incident of its own
 *       and costs one LLM call), and waits until the debounce has handed every one to the queue (sent
 *       within a second, they are handed over together, one quiet period later)
 *   bench-scale wait --database-url D --run R [--traces 90] [--pipelines P]
 *       waits until every trace of run R is analysed and prints the analyses per second, from the
 *       first analysis stored to the last; the last line is "rate <analyses/s>"
 *   bench-scale ingest --urls U1[,U2...] --key K [--batches 200] [--batch-size 1000] [--connections 4]
 *       sends native span batches to the backends side by side (connections per backend) and prints
 *       the spans per second accepted; the last line is "rate <spans/s>"
 *
 * A run's traces have ids starting with "5ca1e" and the run number, so runs never mix. */
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

#define MAX_URLS 8

typedef struct {
    const char *url, *urls, *key, *db;
    int run, traces, pipelines, batches, batch_size, connections;
} opts_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p, (void)ud;
    return s * n;
}

/* POSTs `body`; returns the HTTP status, 0 when no answer. */
static long post(CURL *c, const char *url, struct curl_slist *h, const void *body, size_t len)
{
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* The trace-id prefix of run R: "5ca1e" and R as three hex digits. */
static void run_prefix(int run, char out[9])
{
    snprintf(out, 9, "5ca1e%03x", run & 0xfff);
}

/* Waits until SQL (one bigint) reaches `want`, up to `seconds`; returns the last value. */
static long wait_count(PGconn *pg, const char *sql, const char *param, long want, int seconds)
{
    long got = -1;
    for (int i = 0; i < seconds * 5; i++) {
        const char *p[] = {param};
        PGresult *r = PQexecParams(pg, sql, 1, NULL, p, NULL, NULL, 0);
        got = PQresultStatus(r) == PGRES_TUPLES_OK ? atol(PQgetvalue(r, 0, 0)) : -1;
        PQclear(r);
        if (got >= want) break;
        usleep(200 * 1000);
    }
    return got;
}

static int cmd_send(const opts_t *o)
{
    char prefix[9], endpoint[256], auth[256], like[16];
    run_prefix(o->run, prefix);
    snprintf(endpoint, sizeof(endpoint), "%s/ingest/traces", o->url);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->key);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    CURL *c = curl_easy_init();
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)o->run;
    for (int i = 0; i < o->traces; i++) {
        char trace[33], cause[8];
        snprintf(trace, sizeof(trace), "%s%08x%08x%08x", prefix, rand_r(&seed), rand_r(&seed), (unsigned)i);
        /* letters, not digits: a fingerprint ignores digits, and each trace must be its own incident */
        int n = i + o->run * 1000;
        for (int k = 0; k < 6; k++, n /= 26)
            cause[k] = (char)('a' + n % 26);
        cause[6] = '\0';
        long long ns = (long long)time(NULL) * 1000000000LL;
        char body[1024];
        snprintf(
            body, sizeof(body),
            "{\"spans\":[{\"trace_id\":\"%s\",\"span_id\":\"00000000000000a1\",\"service\":\"gateway\","
            "\"name\":\"POST /%s\",\"start_time\":%lld,\"end_time\":%lld,\"status\":\"ERROR\"},"
            "{\"trace_id\":\"%s\",\"span_id\":\"00000000000000a2\",\"parent_span_id\":\"00000000000000a1\","
            "\"service\":\"payment\",\"name\":\"db.query %s\",\"start_time\":%lld,\"end_time\":%lld,"
            "\"status\":\"ERROR\",\"events\":[{\"name\":\"exception\",\"time\":%lld,\"attributes\":"
            "{\"exception.type\":\"Scale%sError\"}}]}]}",
            trace, cause, ns, ns + 1000000, trace, cause, ns + 1000, ns + 900000, ns + 900000, cause);
        long st = post(c, endpoint, h, body, strlen(body));
        if (st != 200) {
            fprintf(stderr, "bench-scale: ingest answered %ld\n", st);
            return 1;
        }
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    PGconn *pg = PQconnectdb(o->db);
    snprintf(like, sizeof(like), "%s%%", prefix);
    /* handed over: still pending in the queue, or already analysed (one snapshot: never both) */
    long handed =
        wait_count(pg,
                   "SELECT (SELECT count(*) FROM pending_triggers WHERE trace_id LIKE $1 AND handed_at_ms "
                   "IS NOT NULL) + (SELECT count(DISTINCT trace_id) FROM analyses WHERE trace_id LIKE $1)",
                   like, o->traces, 120);
    PQfinish(pg);
    printf("run %d: %d error traces sent, %ld handed to the queue\n", o->run, o->traces, handed);
    return handed == o->traces ? 0 : 1;
}

static int cmd_wait(const opts_t *o)
{
    char prefix[9], like[16];
    run_prefix(o->run, prefix);
    snprintf(like, sizeof(like), "%s%%", prefix);
    PGconn *pg = PQconnectdb(o->db);
    long got = wait_count(pg, "SELECT count(DISTINCT trace_id) FROM analyses WHERE trace_id LIKE $1", like,
                          o->traces, 600);
    const char *p[] = {like};
    PGresult *r = PQexecParams(pg,
                               "SELECT extract(epoch FROM max(created_at) - min(created_at)), "
                               "count(*) FILTER (WHERE generated_by = 'llm') "
                               "FROM analyses WHERE trace_id LIKE $1",
                               1, NULL, p, NULL, NULL, 0);
    double span = PQresultStatus(r) == PGRES_TUPLES_OK ? atof(PQgetvalue(r, 0, 0)) : 0;
    long by_llm = PQresultStatus(r) == PGRES_TUPLES_OK ? atol(PQgetvalue(r, 0, 1)) : -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) fprintf(stderr, "bench-scale: %s", PQerrorMessage(pg));
    PQclear(r);
    PQfinish(pg);
    double rate = span > 0 ? (double)(got - 1) / span : 0;
    printf("%d pipeline(s): %ld/%d analysed (%ld written by the LLM) in %.2f s: %.2f analyses/s\n",
           o->pipelines, got, o->traces, by_llm, span, rate);
    printf("rate %.3f\n", rate);
    return got == o->traces ? 0 : 1;
}

typedef struct {
    const char *url;
    struct curl_slist *h;
    bench_body_t *bodies;
    int first, step, n, batch_size;
    atomic_long *accepted;
} ingest_worker_t;

static void *ingest_main(void *arg)
{
    ingest_worker_t *w = arg;
    CURL *c = curl_easy_init();
    for (int i = w->first; i < w->n; i += w->step)
        if (post(c, w->url, w->h, w->bodies[i].data, w->bodies[i].len) == 200)
            atomic_fetch_add(w->accepted, w->batch_size);
    curl_easy_cleanup(c);
    return NULL;
}

static int cmd_ingest(const opts_t *o)
{
    char *urls = strdup(o->urls), *save = NULL, endpoints[MAX_URLS][256];
    int nurls = 0;
    for (char *t = strtok_r(urls, ",", &save); t && nurls < MAX_URLS; t = strtok_r(NULL, ",", &save))
        snprintf(endpoints[nurls++], sizeof(endpoints[0]), "%s/ingest/traces", t);
    free(urls);
    char auth[256];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->key);
    struct curl_slist *h = curl_slist_append(curl_slist_append(NULL, auth), "Content-Type: application/json");
    /* fresh spans for every run, made before the clock starts */
    bench_body_t *bodies = calloc((size_t)o->batches, sizeof(*bodies));
    span_gen_t g = {(uint64_t)time(NULL) * 2654435761u + (uint64_t)nurls};
    long long base = (long long)time(NULL) * 1000000000LL;
    for (int i = 0; i < o->batches; i++)
        span_body_make(&g, SPAN_FMT_NATIVE, o->batch_size, base, &bodies[i]);
    int nw = nurls * o->connections;
    ingest_worker_t *ws = calloc((size_t)nw, sizeof(*ws));
    pthread_t *tids = calloc((size_t)nw, sizeof(*tids));
    atomic_long accepted = 0;
    double t0 = now_s();
    for (int i = 0; i < nw; i++) {
        ws[i] =
            (ingest_worker_t){endpoints[i % nurls], h, bodies, i, nw, o->batches, o->batch_size, &accepted};
        pthread_create(&tids[i], NULL, ingest_main, &ws[i]);
    }
    for (int i = 0; i < nw; i++)
        pthread_join(tids[i], NULL);
    double took = now_s() - t0;
    long spans = atomic_load(&accepted);
    printf("%d backend(s), %d connections each: %ld spans in %.2f s: %.0f spans/s\n", nurls, o->connections,
           spans, took, spans / took);
    printf("rate %.0f\n", spans / took);
    for (int i = 0; i < o->batches; i++)
        free(bodies[i].data);
    free(bodies);
    free(ws);
    free(tids);
    curl_slist_free_all(h);
    return spans == (long)o->batches * o->batch_size ? 0 : 1;
}

int main(int argc, char **argv)
{
    opts_t o = {.traces = 90, .pipelines = 1, .batches = 200, .batch_size = 1000, .connections = 4};
    if (argc < 2) goto usage;
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--url"))
            o.url = v;
        else if (!strcmp(k, "--urls"))
            o.urls = v;
        else if (!strcmp(k, "--key"))
            o.key = v;
        else if (!strcmp(k, "--database-url"))
            o.db = v;
        else if (!strcmp(k, "--run"))
            o.run = atoi(v);
        else if (!strcmp(k, "--traces"))
            o.traces = atoi(v);
        else if (!strcmp(k, "--pipelines"))
            o.pipelines = atoi(v);
        else if (!strcmp(k, "--batches"))
            o.batches = atoi(v);
        else if (!strcmp(k, "--batch-size"))
            o.batch_size = atoi(v);
        else if (!strcmp(k, "--connections"))
            o.connections = atoi(v);
        else
            goto usage;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 2;
    if (!strcmp(argv[1], "send") && o.url && o.key && o.db && o.traces > 0)
        rc = cmd_send(&o);
    else if (!strcmp(argv[1], "wait") && o.db && o.traces > 1)
        rc = cmd_wait(&o);
    else if (!strcmp(argv[1], "ingest") && o.urls && o.key && o.batches > 0 && o.connections > 0)
        rc = cmd_ingest(&o);
    curl_global_cleanup();
    if (rc != 2) return rc;
usage:
    fprintf(stderr, "usage: bench-scale send --url U --key K --database-url D --run R [--traces N]\n"
                    "       bench-scale wait --database-url D --run R [--traces N] [--pipelines P]\n"
                    "       bench-scale ingest --urls U1[,U2] --key K [--batches N] [--batch-size N] "
                    "[--connections N]\n");
    return 2;
}
