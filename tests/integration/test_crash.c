/* Crash safety under sustained ingest: the backend is killed with SIGKILL at random moments, several
 * times, while clients keep sending; every record of every batch that got a 2xx must be in PostgreSQL
 * exactly once (a batch that got no answer may or may not be stored, but never twice). */
#include "ts.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CLIENTS 3
#define SPANS_PER_BATCH 200
#define MAX_BATCHES 4000

typedef struct {
    char trace[33];
    int acked;
} batch_rec_t;

static char *db_url;
static ts_proc_t backend;
static atomic_int port;
static atomic_int stopping;
static batch_rec_t batches[CLIENTS][MAX_BATCHES];
static int nbatches[CLIENTS];

static char *batch_body(const char *trace)
{
    size_t cap = SPANS_PER_BATCH * 256 + 32;
    char *b = malloc(cap);
    size_t o = (size_t)snprintf(b, cap, "{\"spans\":[");
    long long now = (long long)time(NULL) * 1000000000LL;
    for (int i = 0; i < SPANS_PER_BATCH; i++)
        o += (size_t)snprintf(
            b + o, cap - o,
            "%s{\"trace_id\":\"%s\",\"span_id\":\"%016x\",\"service\":\"svc\",\"name\":\"op\","
            "\"start_time\":%lld,\"end_time\":%lld,\"attributes\":{\"i\":%d}}",
            i ? "," : "", trace, i + 1, now + i, now + i + 1000, i);
    snprintf(b + o, cap - o, "]}");
    return b;
}

static void *client_main(void *arg)
{
    int id = (int)(long)arg;
    while (!atomic_load(&stopping) && nbatches[id] < MAX_BATCHES) {
        batch_rec_t *rec = &batches[id][nbatches[id]];
        ts_hex(rec->trace, 32);
        char *body = batch_body(rec->trace);
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/ingest/traces", atomic_load(&port));
        ts_resp_t r;
        int rc = ts_post_json(url, TS_INGEST_KEY, body, &r);
        rec->acked = rc == 0 && r.status == 200;
        nbatches[id]++;
        ts_resp_free(&r);
        /* a batch without an answer is re-sent once the backend is back, as a real client would */
        if (!rec->acked) {
            usleep(100 * 1000);
            snprintf(url, sizeof(url), "http://127.0.0.1:%d/ingest/traces", atomic_load(&port));
            if (ts_post_json(url, TS_INGEST_KEY, body, &r) == 0 && r.status == 200) rec->acked = 1;
            ts_resp_free(&r);
        }
        free(body);
    }
    return NULL;
}

START_TEST(kill9_loses_nothing_acknowledged)
{
    db_url = ts_create_database("crash");
    ck_assert_int_eq(ts_start_backend(&backend, db_url, "t:crash:", NULL), 0);
    atomic_store(&port, backend.port);
    pthread_t t[CLIENTS];
    for (long i = 0; i < CLIENTS; i++)
        pthread_create(&t[i], NULL, client_main, (void *)i);
    srandom((unsigned)time(NULL));
    const int kills = 4;
    for (int k = 0; k < kills; k++) {
        usleep((useconds_t)(700 + random() % 1500) * 1000);
        ts_stop(&backend, SIGKILL);
        /* restart on the same port so clients find it again */
        int p = backend.port;
        ck_assert_int_eq(ts_start_port(&backend, p, "backend/prodsentinel-backend", "BACKEND_PORT", db_url,
                                       "t:crash:", NULL),
                         0);
        atomic_store(&port, backend.port);
    }
    usleep(1500 * 1000);
    atomic_store(&stopping, 1);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(t[i], NULL);

    PGconn *c = ts_pg(db_url);
    long acked = 0, total = 0;
    for (int i = 0; i < CLIENTS; i++) {
        for (int b = 0; b < nbatches[i]; b++) {
            char sql[160];
            snprintf(sql, sizeof(sql), "SELECT count(*) FROM spans WHERE trace_id = '%s'",
                     batches[i][b].trace);
            long n = ts_pg_long(c, sql);
            ck_assert_msg(n == 0 || n == SPANS_PER_BATCH, "batch partly stored: %ld spans", n);
            if (batches[i][b].acked) {
                ck_assert_msg(n == SPANS_PER_BATCH, "acknowledged batch %s missing (%ld spans)",
                              batches[i][b].trace, n);
                acked++;
            }
            total++;
        }
    }
    long dup = ts_pg_long(c, "SELECT count(*) FROM (SELECT trace_id, span_id FROM spans GROUP BY 1, 2 "
                             "HAVING count(*) > 1) d");
    ck_assert_int_eq(dup, 0);
    fprintf(stderr, "crash test: %d kill -9, %ld batches sent, %ld acknowledged, all present exactly once\n",
            kills, total, acked);
    ck_assert_int_gt(acked, 10);
    PQfinish(c);
    ts_stop(&backend, SIGTERM);
    free(db_url);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("kill9");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, kill9_loses_nothing_acknowledged);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
