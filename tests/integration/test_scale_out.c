/* Scale-out (issue 16): 2 backends and 3 pipelines on one PostgreSQL and one Redis. Error traces and a
 * metric step go in through both backends while the instance holding each singleton duty is killed
 * (SIGKILL) in turn: the anomaly scan's holder, the degradation scan's holder, a holder frozen with
 * SIGSTOP (pipelines), then the debounce scheduler's and retention's holder (a backend). Afterwards:
 *   - every error trace is analysed exactly once (one analyses row, one incident_traces row);
 *   - the metric step is one anomaly episode, and no series has two overlapping episodes;
 *   - retention ran, its runs (logged by whoever held it) at least RETENTION_PERIOD_S apart;
 *   - each takeover, measured from the kill to another instance's /ready naming the duty, took less
 *     than LEADER_TAKEOVER_S.
 * A second case: a backend cut from Redis stores its error traces' triggers in PostgreSQL only; as it
 * does not run the debounce scheduler, it asks the holder for a resync once Redis is back, and the
 * holder hands them over (each analysed once).
 * Alerts: every one delivered once to a local receiver (the alert sender claims its deliveries), save
 * at most one per killed pipeline (a post in flight when it died). */
#include "ts.h"
#include "ts_proxy.h"
#include "ts_sink.h"
#include "buf.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BACKENDS 2
#define PIPELINES 3
#define TAKEOVER_S 5
#define RETENTION_PERIOD_S 3
#define MAX_TRACES 400
#define PIPELINE_KILLS 3 /* two SIGKILLs, one SIGSTOP then SIGKILL */
#define BACKFILL_MIN 50  /* minutes of metric baseline sent before the live points */

static char *db_url;
static char prefix[48];
static ts_proc_t backends[BACKENDS], pipelines[PIPELINES];
static pthread_mutex_t procs_mu = PTHREAD_MUTEX_INITIALIZER; /* backends[] while one restarts */
static atomic_int stopping;
static char traces[MAX_TRACES][33];
static atomic_int ntraces;
static atomic_int metric_points;

static const char *const backend_env[] = {"DEBOUNCE_QUIET_MS=300",
                                          "DEBOUNCE_MAX_MS=3000",
                                          "LEADER_TAKEOVER_S=5",
                                          "RETENTION_PERIOD_S=3",
                                          "HTTP_THREADS=1",
                                          "WRITER_THREADS=1",
                                          NULL};
static char alert_env[96];
/* GROUP_WINDOW_S=0: every error trace is its own fault of `store`; not grouped, each pages, so there
 * are many alerts to count exactly once */
static const char *pipeline_env[] = {"LEADER_TAKEOVER_S=5",
                                     "ANOMALY_PERIOD_S=1",
                                     "ANOMALY_LAG_S=1",
                                     "DEGRADE_PERIOD_S=2",
                                     "VISIBILITY_TIMEOUT_MS=3000",
                                     "WORKERS=2",
                                     "HTTP_THREADS=1",
                                     "ALERT_RATE_PER_MIN=100000",
                                     "GROUP_WINDOW_S=0",
                                     alert_env,
                                     NULL};

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* POSTs to backend `first`, else the other: a killed backend's clients go to the survivor. Returns 1 on
 * a 200. */
static int post_any(int first, const char *path, const char *body)
{
    for (int attempt = 0; attempt < 40; attempt++) {
        char url[160];
        pthread_mutex_lock(&procs_mu);
        snprintf(url, sizeof(url), "%s%s", backends[(first + attempt) % BACKENDS].url, path);
        pthread_mutex_unlock(&procs_mu);
        ts_resp_t r;
        int ok = ts_post_json(url, TS_INGEST_KEY, body, &r) == 0 && r.status == 200;
        ts_resp_free(&r);
        if (ok) return 1;
        usleep(100 * 1000);
    }
    return 0;
}

/* A number as letters: fingerprints ignore digits, and each trace must be an incident of its own. */
static void letters(int n, char *out)
{
    for (int i = 0; i < 4; i++, n /= 26)
        out[i] = (char)('a' + n % 26);
    out[4] = '\0';
}

static void send_error_trace(int i)
{
    char trace[33], tag[5];
    ts_hex(trace, 32);
    letters(i, tag);
    long long now = (long long)time(NULL) * 1000000000LL;
    char body[2048];
    snprintf(body, sizeof(body),
             "{\"spans\":["
             "{\"trace_id\":\"%s\",\"span_id\":\"b000000000000001\",\"service\":\"gateway\",\"name\":\"GET "
             "/%s\",\"kind\":\"SERVER\",\"start_time\":%lld,\"end_time\":%lld,\"status\":\"ERROR\"},"
             "{\"trace_id\":\"%s\",\"span_id\":\"b000000000000002\",\"parent_span_id\":\"b000000000000001\","
             "\"service\":\"store\",\"name\":\"query %s\",\"kind\":\"CLIENT\",\"start_time\":%lld,"
             "\"end_time\":%lld,\"status\":\"ERROR\",\"events\":[{\"name\":\"exception\",\"time\":%lld,"
             "\"attributes\":{\"exception.type\":\"Fault%s\",\"exception.message\":\"boom\"}}]}]}",
             trace, tag, now, now + 50000000, trace, tag, now + 1000000, now + 40000000, now + 40000000, tag);
    if (post_any(i % BACKENDS, "/ingest/traces", body)) {
        memcpy(traces[i], trace, sizeof(trace));
        atomic_store(&ntraces, i + 1);
    } else {
        fprintf(stderr, "scale: trace %d not accepted by any backend\n", i);
    }
}

/* One point of the step series: 100 +-2 before `step_ns`, 200 after. */
static int send_metric(int via, long long ts_ns, double value)
{
    char body[256];
    snprintf(
        body, sizeof(body),
        "{\"metrics\":[{\"timestamp\":%lld,\"service\":\"ledger\",\"name\":\"queue_depth\",\"value\":%g}]}",
        ts_ns, value);
    return post_any(via, "/ingest/metrics", body);
}

static void backfill_metrics(void)
{
    long long now = (long long)time(NULL) * 1000000000LL;
    /* one batch: the first anomaly scan sees all of it at once, before any live point */
    size_t cap = 64 * 1024, o = 0;
    char *body = malloc(cap);
    o += (size_t)snprintf(body + o, cap - o, "{\"metrics\":[");
    int n = 0;
    for (long long t = now - BACKFILL_MIN * 60 * 1000000000LL; t < now - 120 * 1000000000LL;
         t += 20000000000LL, n++)
        o += (size_t)snprintf(body + o, cap - o,
                              "%s{\"timestamp\":%lld,\"service\":\"ledger\",\"name\":\"queue_depth\","
                              "\"value\":%d}",
                              n ? "," : "", t, 98 + n % 5);
    snprintf(body + o, cap - o, "]}");
    ck_assert_msg(post_any(0, "/ingest/metrics", body), "metric baseline not accepted");
    free(body);
}

static void *sender_main(void *arg)
{
    (void)arg;
    long long next_metric = mono();
    for (int i = 0; i < MAX_TRACES && !atomic_load(&stopping); i++) {
        send_error_trace(i);
        if (mono() >= next_metric) {
            next_metric += 1000;
            if (send_metric(i % BACKENDS, (long long)time(NULL) * 1000000000LL, 200))
                atomic_fetch_add(&metric_points, 1);
        }
        usleep(300 * 1000);
    }
    return NULL;
}

/* 1 when `p`'s /ready names `duty` among the duties it holds. */
static int holds(const ts_proc_t *p, const char *duty)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/ready", p->url);
    ts_resp_t r;
    if (ts_http("GET", url, NULL, NULL, 0, &r) != 0) return 0;
    int found = 0;
    json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
    json_t *d = json_object_get(j, "duties");
    for (size_t i = 0; i < json_array_size(d); i++)
        found |= strcmp(json_string_value(json_array_get(d, i)) ?: "", duty) == 0;
    json_decref(j);
    ts_resp_free(&r);
    return found;
}

/* Index of the one process of `ps` holding `duty`; fails the test when none or several do. */
static int holder(ts_proc_t *ps, int n, const char *duty)
{
    for (int tries = 0; tries < 100; tries++) {
        int who = -1, count = 0;
        for (int i = 0; i < n; i++)
            if (ps[i].pid > 0 && holds(&ps[i], duty)) who = i, count++;
        ck_assert_msg(count <= 1, "%d instances hold %s at once", count, duty);
        if (count == 1) return who;
        usleep(100 * 1000);
    }
    ck_abort_msg("nobody holds %s", duty);
    return -1;
}

/* Sends `sig` to the holder of duties[0] (SIGKILL: a crash; SIGSTOP: a frozen process, whose connection
 * stays open and whose kernel still answers keepalives), then measures until each of `duties` is held
 * by another instance. The victim is killed for good and the index returned; the takeover times are
 * printed and checked. */
static int kill_holder(ts_proc_t *ps, int n, const char *const *duties, int nduties, int sig)
{
    int victim = holder(ps, n, duties[0]);
    long long t0 = mono();
    pid_t frozen = 0;
    pthread_mutex_lock(&procs_mu);
    if (sig == SIGSTOP) {
        frozen = ps[victim].pid;
        kill(frozen, SIGSTOP);
    } else {
        ts_stop(&ps[victim], sig);
    }
    ps[victim].pid = 0;
    pthread_mutex_unlock(&procs_mu);
    for (int d = 0; d < nduties; d++) {
        long long took = -1;
        while (mono() - t0 < 3 * TAKEOVER_S * 1000 && took < 0) {
            for (int i = 0; i < n && took < 0; i++)
                if (i != victim && ps[i].pid > 0 && holds(&ps[i], duties[d])) took = mono() - t0;
            if (took < 0) usleep(50 * 1000);
        }
        fprintf(stderr, "scale: duty %s taken over %lld ms after its holder was %s (limit %d s)\n", duties[d],
                took, sig == SIGSTOP ? "frozen" : "killed", TAKEOVER_S);
        ck_assert_msg(took >= 0 && took < TAKEOVER_S * 1000, "duty %s: takeover %lld ms", duties[d], took);
    }
    if (frozen) {
        ps[victim].pid = frozen;
        ts_stop(&ps[victim], SIGKILL);
    }
    return victim;
}

/* Wall-clock ms of each "retention: run by" line in the backends' logs, sorted. */
static size_t retention_runs(long long *out, size_t max)
{
    size_t n = 0;
    for (int b = 0; b < BACKENDS; b++) {
        FILE *f = fopen(backends[b].log_path, "r");
        ck_assert_ptr_nonnull(f);
        char line[2048];
        while (fgets(line, sizeof(line), f) && n < max) {
            if (!strstr(line, "retention: run by")) continue;
            struct tm tm = {0};
            int ms = 0;
            const char *ts = strstr(line, "\"ts\":\"");
            ck_assert_ptr_nonnull(ts);
            ck_assert_int_eq(sscanf(ts + 6, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms),
                             7);
            tm.tm_year -= 1900;
            tm.tm_mon -= 1;
            out[n++] = (long long)timegm(&tm) * 1000 + ms;
        }
        fclose(f);
    }
    for (size_t i = 1; i < n; i++) /* insertion sort: a handful of runs */
        for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
            long long t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

START_TEST(singleton_duties_move_and_effects_happen_once)
{
    char hex[9];
    ts_hex(hex, 8);
    snprintf(prefix, sizeof(prefix), "t:scale:%s:", hex);
    db_url = ts_create_database("scale");
    ts_sink_t *sink = ts_sink_create();
    ts_sink_up(sink, 200);
    snprintf(alert_env, sizeof(alert_env), "ALERT_WEBHOOKS=json:http://127.0.0.1:%d/hook",
             ts_sink_port(sink));
    for (int i = 0; i < BACKENDS; i++)
        ck_assert_int_eq(ts_start_backend(&backends[i], db_url, prefix, backend_env), 0);
    for (int i = 0; i < PIPELINES; i++)
        ck_assert_int_eq(ts_start_pipeline(&pipelines[i], db_url, prefix, pipeline_env), 0);
    long long started_ms = wall_ms();
    backfill_metrics();
    sleep(3); /* the first anomaly scan takes the baseline in */
    pthread_t sender;
    pthread_create(&sender, NULL, sender_main, NULL);

    /* the pipelines' duties, one holder after another */
    const char *anomaly_first[] = {"anomaly", "degradation"},
               *degradation_first[] = {"degradation", "anomaly"};
    sleep(4);
    int v = kill_holder(pipelines, PIPELINES, anomaly_first, 2, SIGKILL);
    ck_assert_int_eq(ts_start_pipeline(&pipelines[v], db_url, prefix, pipeline_env), 0);
    sleep(4);
    v = kill_holder(pipelines, PIPELINES, degradation_first, 2, SIGKILL);
    ck_assert_int_eq(ts_start_pipeline(&pipelines[v], db_url, prefix, pipeline_env), 0);
    sleep(3);
    v = kill_holder(pipelines, PIPELINES, anomaly_first, 2, SIGSTOP);
    ck_assert_int_eq(ts_start_pipeline(&pipelines[v], db_url, prefix, pipeline_env), 0);
    /* the backends' duties */
    sleep(3);
    const char *debounce_first[] = {"debounce", "retention"};
    v = kill_holder(backends, BACKENDS, debounce_first, 2, SIGKILL);
    pthread_mutex_lock(&procs_mu);
    int port = backends[v].port;
    ck_assert_int_eq(ts_start_port(&backends[v], port, "backend/prodsentinel-backend", "BACKEND_PORT", db_url,
                                   prefix, backend_env),
                     0);
    pthread_mutex_unlock(&procs_mu);
    sleep(5);
    atomic_store(&stopping, 1);
    pthread_join(sender, NULL);
    long long ended_ms = wall_ms();

    /* every error trace analysed exactly once */
    int n = atomic_load(&ntraces);
    ck_assert_int_gt(n, 20);
    PGconn *c = ts_pg(db_url);
    buf_t list;
    buf_init(&list, (size_t)n * 40 + 8);
    ck_assert_int_eq(buf_append_char(&list, '{'), 0);
    for (int i = 0; i < n; i++) {
        if (traces[i][0] == '\0') continue;
        if (list.len > 1) ck_assert_int_eq(buf_append_char(&list, ','), 0);
        ck_assert_int_eq(buf_append(&list, traces[i], 32), 0);
    }
    ck_assert_int_eq(buf_append(&list, "}", 2), 0); /* with its NUL */
    const char *lp[] = {list.data};
    long analysed = -1;
    for (int s = 0; s < 120; s++) {
        PGresult *r =
            PQexecParams(c, "SELECT count(DISTINCT trace_id) FROM analyses WHERE trace_id = ANY($1::text[])",
                         1, NULL, lp, NULL, NULL, 0);
        analysed = atol(PQgetvalue(r, 0, 0));
        PQclear(r);
        if (analysed >= n) break;
        sleep(1);
    }
    ck_assert_msg(analysed == n, "%ld of %d error traces analysed", analysed, n);
    sleep(2); /* a duplicate analysis, if any, would land now */
    PGresult *r = PQexecParams(c,
                               "SELECT (SELECT count(*) FROM analyses WHERE trace_id = ANY($1::text[])), "
                               "(SELECT count(*) FROM incident_traces WHERE trace_id = ANY($1::text[])), "
                               "(SELECT count(*) FROM dead_letters), (SELECT count(*) FROM pending_triggers)",
                               1, NULL, lp, NULL, NULL, 0);
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    fprintf(stderr, "scale: %d error traces: %s analyses, %s incident traces, %s dead letters, %s pending\n",
            n, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3));
    ck_assert_int_eq(atol(PQgetvalue(r, 0, 0)), n);
    ck_assert_int_eq(atol(PQgetvalue(r, 0, 1)), n);
    ck_assert_int_eq(atol(PQgetvalue(r, 0, 2)), 0);
    PQclear(r);
    buf_dispose(&list);

    /* the metric step: one episode, and never two overlapping episodes of one series */
    long eps = ts_pg_wait_long(
        c, "SELECT count(*) FROM anomaly_episodes WHERE service = 'ledger' AND metric = 'queue_depth'", 1,
        20);
    fprintf(stderr, "scale: %d live metric points, %ld episode(s) of the step\n", atomic_load(&metric_points),
            eps);
    ck_assert_int_eq(eps, 1);
    ck_assert_int_eq(
        ts_pg_long(c, "SELECT count(*) FROM anomaly_episodes a JOIN anomaly_episodes b ON "
                      "a.id < b.id AND a.service = b.service AND a.metric = b.metric AND "
                      "a.labels = b.labels AND a.direction = b.direction AND a.start_ns <= b.end_ns "
                      "AND b.start_ns <= a.end_ns"),
        0);

    /* retention: run, and never twice within a period whoever held it */
    long long runs[256];
    size_t nruns = retention_runs(runs, 256);
    long long span = ended_ms - started_ms;
    fprintf(stderr, "scale: retention ran %zu times in %lld ms (period %d s)\n", nruns, span,
            RETENTION_PERIOD_S);
    ck_assert_uint_ge(nruns, 2);
    ck_assert_uint_le(nruns, (size_t)(span / (RETENTION_PERIOD_S * 1000)) + 2);
    for (size_t i = 1; i < nruns; i++)
        ck_assert_msg(runs[i] - runs[i - 1] >= RETENTION_PERIOD_S * 1000 - 50,
                      "retention ran twice within %lld ms", runs[i] - runs[i - 1]);

    /* alerts: each delivered once (the alert sender claims deliveries, FOR UPDATE SKIP LOCKED). A webhook
     * post is at-least-once at a crash: a sender killed after posting, before marking it delivered, has
     * it posted again, so each of the KILLS pipeline kills may add one; PS_TEST_SCALE_ALERTS=strict
     * asks for none. */
    /* negated: ts_pg_wait_long() waits for a value to rise, here until no delivery is pending */
    long pending =
        ts_pg_wait_long(c, "SELECT -count(*) FROM alert_deliveries WHERE state = 'pending'", 0, 30);
    ck_assert_int_eq(pending, 0);
    size_t got = ts_sink_count(sink);
    long stored = ts_pg_long(c, "SELECT count(*) FROM alert_deliveries WHERE state = 'delivered'");
    fprintf(stderr, "scale: %zu alert requests received for %ld alert deliveries\n", got, stored);
    ck_assert_int_ge((long)got, stored);
    /* not vacuous: each trace is its own incident (GROUP_WINDOW_S=0) and pages (its report alert too) */
    ck_assert_int_ge(stored, n);
    const char *strict = getenv("PS_TEST_SCALE_ALERTS");
    ck_assert_int_le((long)got - stored, strict && strcmp(strict, "strict") == 0 ? 0 : PIPELINE_KILLS);

    PQfinish(c);
    for (int i = 0; i < PIPELINES; i++)
        ts_stop(&pipelines[i], SIGTERM);
    for (int i = 0; i < BACKENDS; i++)
        ts_stop(&backends[i], SIGTERM);
    ts_sink_free(sink);
    free(db_url);
}
END_TEST

START_TEST(a_backend_cut_from_redis_has_the_holder_resync)
{
    char hex[9];
    ts_hex(hex, 8);
    snprintf(prefix, sizeof(prefix), "t:scale2:%s:", hex);
    db_url = ts_create_database("scale_resync");
    ts_proc_t holder_backend, cut_backend, pipeline;
    ck_assert_int_eq(ts_start_backend(&holder_backend, db_url, prefix, backend_env), 0);
    for (int i = 0; i < 50 && !holds(&holder_backend, "debounce"); i++)
        usleep(100 * 1000);
    ck_assert(holds(&holder_backend, "debounce"));
    ts_proxy_t *proxy = ts_proxy_start(ts_url_port(ts_env("PS_TEST_REDIS_URL")));
    char redis_env[64];
    snprintf(redis_env, sizeof(redis_env), "REDIS_URL=redis://127.0.0.1:%d/0", ts_proxy_port(proxy));
    const char *cut_env[] = {backend_env[0], backend_env[1], backend_env[2], backend_env[3], redis_env, NULL};
    ck_assert_int_eq(ts_start_backend(&cut_backend, db_url, prefix, cut_env), 0);
    const char *penv[] = {"LEADER_TAKEOVER_S=5", NULL};
    ck_assert_int_eq(ts_start_pipeline(&pipeline, db_url, prefix, penv), 0);
    ck_assert(!holds(&cut_backend, "debounce"));

    ts_proxy_cut(proxy);
    pthread_mutex_lock(&procs_mu);
    backends[0] = cut_backend; /* post_any() tries the cut backend first */
    backends[1] = cut_backend;
    pthread_mutex_unlock(&procs_mu);
    atomic_store(&ntraces, 0);
    const int n = 5;
    for (int i = 0; i < n; i++)
        send_error_trace(i);
    ck_assert_int_eq(atomic_load(&ntraces), n);
    PGconn *c = ts_pg(db_url);
    char sql[2048];
    int o = snprintf(sql, sizeof(sql), "SELECT count(*) FROM analyses WHERE trace_id IN (");
    for (int i = 0; i < n; i++)
        o += snprintf(sql + o, sizeof(sql) - (size_t)o, "%s'%s'", i ? "," : "", traces[i]);
    snprintf(sql + o, sizeof(sql) - (size_t)o, ")");
    sleep(3); /* the holder knows nothing of them: they are in PostgreSQL only */
    ck_assert_int_eq(ts_pg_long(c, sql), 0);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM pending_triggers WHERE handed_at_ms IS NULL"), n);

    ts_proxy_restore(proxy);
    long analysed = ts_pg_wait_long(c, sql, n, 30);
    sleep(1);
    analysed = ts_pg_long(c, sql);
    fprintf(stderr, "scale: %ld of %d error traces ingested while cut from Redis analysed after the resync\n",
            analysed, n);
    ck_assert_int_eq(analysed, n); /* each once */
    PQfinish(c);
    ts_stop(&pipeline, SIGTERM);
    ts_stop(&cut_backend, SIGTERM);
    ts_stop(&holder_backend, SIGTERM);
    ts_proxy_stop(proxy);
    free(db_url);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scale_out");
    TCase *tc = tcase_create("kill_holders");
    tcase_set_timeout(tc, 400);
    tcase_add_test(tc, singleton_duties_move_and_effects_happen_once);
    tcase_add_test(tc, a_backend_cut_from_redis_has_the_holder_resync);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
