/* bench-otlp-json: parse time of OTLP/HTTP JSON trace bodies, without servers: µs per request of
 * 1,000 spans (about 440 bytes each with three attributes, one resource), parsed into COPY rows.
 *
 *   bench-otlp-json [--spans 1000] [--requests 200] [--database-url URL [--migrations DIR]]
 *
 * Prints the body size and the mean µs per request (best of three runs). With a database, also the
 * µs of a bare COPY of the same rows (resources, then spans; each in a transaction rolled back, so
 * requests do not collide), and the share of bare COPY's rate that parse + COPY keeps. */
#include "alloc.h"
#include "db.h"
#include "ingest_batch.h"
#include "ingest_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* One ExportTraceServiceRequest of n spans in 10-span traces. Caller frees. */
static char *make_body(int n, size_t *len)
{
    size_t cap = (size_t)n * 1024 + 4096;
    char *b = xmalloc(cap);
    size_t o = 0;
    long long t0 = 1795357925000000000LL;
    o += (size_t)snprintf(
        b + o, cap - o,
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
        "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"checkout\"}},"
        "{\"key\":\"service.version\",\"value\":{\"stringValue\":\"1.4.2\"}},"
        "{\"key\":\"host.name\",\"value\":{\"stringValue\":\"checkout-7d9f-x2\"}}]},"
        "\"scopeSpans\":[{\"scope\":{\"name\":\"io.opentelemetry.spring-webmvc-6.0\",\"version\":\"2.1.0\"},"
        "\"spans\":[");
    for (int i = 0; i < n; i++) {
        unsigned trace = (unsigned)(i / 10) + 1, span = (unsigned)i + 1;
        long long start = t0 + (long long)i * 1000000;
        o += (size_t)snprintf(b + o, cap - o,
                              "%s{\"traceId\":\"5b8efff798038103d269b633%08x\",\"spanId\":\"eee19b7e%08x\","
                              "\"parentSpanId\":\"eee19b7e%08x\",\"name\":\"POST /checkout\",\"kind\":2,"
                              "\"startTimeUnixNano\":\"%lld\",\"endTimeUnixNano\":\"%lld\",\"attributes\":["
                              "{\"key\":\"http.request.method\",\"value\":{\"stringValue\":\"POST\"}},"
                              "{\"key\":\"http.response.status_code\",\"value\":{\"intValue\":\"200\"}},"
                              "{\"key\":\"url.path\",\"value\":{\"stringValue\":\"/checkout/%u\"}}],"
                              "\"status\":{\"code\":%d}}",
                              i ? "," : "", trace, span, i % 10 ? span - 1 : span + 100000, start,
                              start + 250000, span, i % 50 == 0 ? 2 : 0);
    }
    o += (size_t)snprintf(b + o, cap - o, "]}]}]}");
    *len = o;
    return b;
}

static int exec_ok(PGconn *c, const char *sql, ExecStatusType want)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == want;
    if (!ok) fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -1;
}

static int copy_rows(PGconn *c, const char *table, const char *columns, const buf_t *rows)
{
    char sql[1024];
    snprintf(sql, sizeof(sql), "COPY %s (%s) FROM STDIN", table, columns);
    if (exec_ok(c, sql, PGRES_COPY_IN) != 0) return -1;
    if (PQputCopyData(c, rows->data ? rows->data : "", (int)rows->len) != 1 || PQputCopyEnd(c, NULL) != 1)
        return -1;
    PGresult *r = PQgetResult(c);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) fprintf(stderr, "COPY %s: %s", table, PQerrorMessage(c));
    PQclear(r);
    while ((r = PQgetResult(c)) != NULL)
        PQclear(r);
    return ok ? 0 : -1;
}

/* Mean µs of a bare COPY of the batch's rows, best of three runs of `requests`. */
static double copy_us(PGconn *c, const ingest_batch_t *b, int requests)
{
    for (size_t i = 0; i < b->ndays; i++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "SELECT ensure_raw_partitions(to_timestamp(%lld)::date)",
                 (long long)b->days[i] * 86400);
        if (exec_ok(c, sql, PGRES_TUPLES_OK) != 0) return -1;
    }
    double best = 0;
    for (int run = 0; run < 3; run++) {
        double t = now_us();
        for (int r = 0; r < requests; r++)
            if (exec_ok(c, "BEGIN", PGRES_COMMAND_OK) != 0 ||
                copy_rows(c, "resources", ingest_batch_resource_columns(), &b->resources) != 0 ||
                copy_rows(c, ingest_batch_table(b->kind), ingest_batch_columns(b->kind), &b->copy) != 0 ||
                exec_ok(c, "ROLLBACK", PGRES_COMMAND_OK) != 0)
                return -1;
        double us = (now_us() - t) / requests;
        if (run == 0 || us < best) best = us;
    }
    return best;
}

int main(int argc, char **argv)
{
    int spans = 1000, requests = 200;
    const char *url = NULL, *migrations = "migrations";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--spans") == 0) spans = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--requests") == 0) requests = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--database-url") == 0) url = argv[i + 1];
        if (strcmp(argv[i], "--migrations") == 0) migrations = argv[i + 1];
    }
    size_t len;
    char *body = make_body(spans, &len);
    double best = 0;
    ingest_batch_t last = {0};
    for (int run = 0; run < 3; run++) {
        double t = now_us();
        for (int r = 0; r < requests; r++) {
            ingest_batch_t b;
            ingest_err_t e;
            if (ingest_json_otlp(INGEST_SPANS, body, len, (size_t)spans, (size_t)1 << 28, &b, &e) != 0) {
                fprintf(stderr, "refused: %d %s: %s\n", e.status, e.path, e.reason);
                return 1;
            }
            if (b.records != (size_t)spans) {
                fprintf(stderr, "%zu records stored, %zu rejected (%s: %s)\n", b.records, b.rejected,
                        b.first_rejection.path, b.first_rejection.reason);
                return 1;
            }
            ingest_batch_dispose(&last);
            last = b;
        }
        double us = (now_us() - t) / requests;
        if (run == 0 || us < best) best = us;
    }
    printf("otlp json: %d spans, %zu bytes per request: %.0f us per request (%.2f us per span)\n", spans, len,
           best, best / spans);
    int rc = 0;
    if (url) {
        char err[512] = "";
        double copy = -1;
        PGconn *c = db_connect(url, err, sizeof(err));
        if (c && db_migrate(c, migrations, err, sizeof(err)) >= 0)
            copy = copy_us(c, &last, requests);
        else
            fprintf(stderr, "database: %s\n", err);
        if (copy > 0)
            printf("bare COPY of the same %zu rows (%zu bytes): %.0f us; parse + COPY keeps %.0f%% of bare "
                   "COPY's "
                   "rate\n",
                   last.records, last.copy.len, copy, 100.0 * copy / (copy + best));
        else
            rc = 1;
        PQfinish(c);
    }
    ingest_batch_dispose(&last);
    free(body);
    return rc;
}
