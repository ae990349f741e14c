/* Late metric points are analysed (issue 15, point 6), against the real backend, pipeline and
 * PostgreSQL: the anomaly detector scans points by arrival (metric_points.arrived_ns), not by event
 * time, and judges them in their own time context. 90 minutes of history sent in one batch has its step
 * found; a Collector that retries after a 5-minute outage (its points arrive after the detector has
 * passed their event time) still yields the anomaly; the episode is linked to the open incident of its
 * service. */
#include "ts.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL

static char *db_url;
static ts_proc_t backend, pipeline;

static void setup(void)
{
    db_url = ts_create_database("late");
    ck_assert_int_eq(ts_start_backend(&backend, db_url, "t:late:", NULL), 0);
    const char *env[] = {"ANOMALY_PERIOD_S=1", "ANOMALY_LAG_S=1", NULL};
    ck_assert_int_eq(ts_start_pipeline(&pipeline, db_url, "t:late:", env), 0);
}

static void teardown(void)
{
    ts_stop(&pipeline, SIGTERM);
    ts_stop(&backend, SIGTERM);
    free(db_url);
}

/* Deterministic noise in [-1, 1]. */
static double noise(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return ((double)((*state >> 8) % 2001) - 1000.0) / 1000.0;
}

/* Sends the gauge `name` of payment every 30 s over [from, to), 100 +- 5, and `high` from `step` on. */
static void send_series(const char *name, long long from, long long to, long long step, double high)
{
    size_t cap = 1 << 20, len = 0;
    char *body = malloc(cap);
    unsigned st = 7;
    len += (size_t)snprintf(body + len, cap - len, "{\"metrics\":[");
    for (long long t = from; t < to; t += 30 * NS) {
        double v = (t >= step ? high : 100.0) + 5.0 * noise(&st);
        len +=
            (size_t)snprintf(body + len, cap - len,
                             "%s{\"timestamp\":%lld,\"service\":\"payment\",\"name\":\"%s\",\"value\":%.3f}",
                             t == from ? "" : ",", t, name, v);
        ck_assert(len < cap - 256);
    }
    len += (size_t)snprintf(body + len, cap - len, "]}");
    char url[128];
    snprintf(url, sizeof(url), "%s/ingest/metrics", backend.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ck_assert_msg(r.status == 200, "ingest: %ld %s", r.status, r.body);
    ts_resp_free(&r);
    free(body);
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * NS + ts.tv_nsec;
}

/* Waits up to `seconds` for an upward episode of payment's `name`; returns its start (ns) and incident
 * id ("" when not linked), or 0 when none came. */
static long long wait_episode(PGconn *c, const char *name, int seconds, char *incident, size_t n)
{
    const char *p[] = {name};
    for (int i = 0; i < seconds * 2; i++) {
        PGresult *r =
            PQexecParams(c,
                         "SELECT start_ns, coalesce(incident_id::text, '') FROM anomaly_episodes WHERE "
                         "service = 'payment' AND metric = $1 AND direction = 1 ORDER BY start_ns",
                         1, NULL, p, NULL, NULL, 0);
        ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
        long long start = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
        if (start && incident) snprintf(incident, n, "%s", PQgetvalue(r, 0, 1));
        PQclear(r);
        if (start && (!incident || *incident)) return start;
        usleep(500000);
    }
    return 0;
}

START_TEST(ninety_minutes_in_one_batch_has_its_step_found_and_linked)
{
    PGconn *c = ts_pg(db_url);
    /* an open incident of payment around the step: the episode explains it */
    PGresult *r = PQexec(c, "INSERT INTO incidents (fingerprint, title, root_service, first_seen, last_seen, "
                            "trace_count, services) VALUES ('late-fp', 'payment errors', 'payment', now() - "
                            "interval '25 minutes', now(), 4, ARRAY['gateway', 'payment']) RETURNING id");
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    char want[24];
    snprintf(want, sizeof(want), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    /* the detector has made its first pass: an event-time watermark would now be past every point sent */
    ck_assert_int_eq(
        ts_pg_wait_long(c, "SELECT count(*) FROM detector_progress WHERE metric = 'arrived_ns'", 1, 30), 1);
    long long now = now_ns(), step = now - 30 * 60 * NS;
    send_series("queue_depth", now - 90 * 60 * NS, now, step, 400);
    char incident[24] = "";
    long long start = wait_episode(c, "queue_depth", 60, incident, sizeof(incident));
    ck_assert_msg(start != 0, "no episode for the step sent in one batch");
    /* the step itself, not some later point: the new points were judged against the ones before them */
    ck_assert_msg(start >= step && start <= step + 60 * NS, "episode starts %lld s after the step",
                  (start - step) / NS);
    ck_assert_str_eq(incident, want);
    /* nothing before the step is anomalous */
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM anomaly_episodes WHERE metric = 'queue_depth' AND start_ns < %lld", step);
    ck_assert_int_eq(ts_pg_long(c, sql), 0);
    PQfinish(c);
}
END_TEST

START_TEST(a_collector_retrying_after_an_outage_still_yields_the_anomaly)
{
    PGconn *c = ts_pg(db_url);
    long long now = now_ns(), outage = now - 5 * 60 * NS;
    /* the hour before the outage arrives on time (no step in it) */
    send_series("conn_pool_wait_ms", now - 65 * 60 * NS, outage, now + 3600 * NS, 0);
    /* the detector has scanned past it, and past the outage's event times */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM detector_progress WHERE metric = 'arrived_ns' AND scanned_to_ns > %lld",
             now_ns() + 2 * NS);
    ck_assert_int_eq(ts_pg_wait_long(c, sql, 1, 30), 1);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM anomaly_episodes"), 0);
    /* the Collector's retry: the outage's five minutes at once, the last three of them abnormal */
    long long spike = outage + 2 * 60 * NS;
    send_series("conn_pool_wait_ms", outage, now, spike, 900);
    long long start = wait_episode(c, "conn_pool_wait_ms", 30, NULL, 0);
    ck_assert_msg(start != 0, "the late points were never analysed");
    ck_assert_msg(start >= spike && start <= spike + 60 * NS, "episode starts %lld s after the spike",
                  (start - spike) / NS);
    PQfinish(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("late_data");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, ninety_minutes_in_one_batch_has_its_step_found_and_linked);
    tcase_add_test(tc, a_collector_retrying_after_an_outage_still_yields_the_anomaly);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
