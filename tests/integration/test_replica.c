/* The query API on a PostgreSQL streaming replica (issue 16): QUERY_DATABASE_URL on the replica, the
 * query API's writes (feedback, rerun) on the primary through QUERY_WRITE_DATABASE_URL, and the
 * replication lag reported by /query/replication. Needs the servers of scripts/test-failover (a
 * primary and its replica on PS_TEST_REPLICA_PORT); skipped (77) without them. */
#include "ts.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const read_hdr[] = {"Authorization: Bearer " TS_READ_KEY, NULL};
static const char *const admin_hdr[] = {"Authorization: Bearer " TS_ADMIN_KEY, NULL};

static char *db_url;      /* the primary, as the owner */
static char *replica_url; /* the same database on the replica, as the owner */
static ts_proc_t backend;

/* `url` with its port replaced by `port`. Caller frees. */
static char *with_port(const char *url, const char *port)
{
    const char *at = strchr(url, '@');
    const char *colon = strchr(at ? at : url, ':');
    const char *slash = strchr(colon, '/');
    char *out;
    if (asprintf(&out, "%.*s:%s%s", (int)(colon - url), url, port, slash) < 0) abort();
    return out;
}

static void start_backend(ts_proc_t *p, int with_write_url)
{
    char *q = ts_role_url(replica_url, TS_ROLE_QUERY), *w = ts_role_url(db_url, TS_ROLE_QUERY);
    char qenv[256], wenv[256];
    snprintf(qenv, sizeof(qenv), "QUERY_DATABASE_URL=%s", q);
    snprintf(wenv, sizeof(wenv), "QUERY_WRITE_DATABASE_URL=%s", w);
    const char *env[] = {qenv, with_write_url ? wenv : "DEBOUNCE_QUIET_MS=200", NULL};
    ck_assert_int_eq(ts_start_backend(p, db_url, "t:replica:", env), 0);
    free(q);
    free(w);
}

static void setup(void)
{
    db_url = ts_create_database("replica");
    replica_url = with_port(db_url, ts_env("PS_TEST_REPLICA_PORT"));
    /* the new database reaches the replica by replay: wait for it before the backend connects there */
    for (int i = 0; i < 100; i++) {
        PGconn *c = PQconnectdb(replica_url);
        int ok = PQstatus(c) == CONNECTION_OK;
        PQfinish(c);
        if (ok) break;
        usleep(100 * 1000);
    }
    start_backend(&backend, 1);
}

static void teardown(void)
{
    ts_stop(&backend, SIGTERM);
    free(db_url);
    free(replica_url);
}

/* GET `path` with the read key; the status, the body parsed into *out (caller decrefs; may be NULL). */
static long get_json(const ts_proc_t *b, const char *path, json_t **out)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", b->url, path);
    ts_resp_t r;
    ck_assert_int_eq(ts_http("GET", url, read_hdr, NULL, 0, &r), 0);
    long st = r.status;
    if (out) *out = json_loadb(r.body ? r.body : "", r.len, 0, NULL);
    ts_resp_free(&r);
    return st;
}

static long post(const ts_proc_t *b, const char *path, const char *const *hdr, const char *body)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", b->url, path);
    ts_resp_t r;
    ck_assert_int_eq(ts_http("POST", url, hdr, body, strlen(body), &r), 0);
    long st = r.status;
    ts_resp_free(&r);
    return st;
}

static void ingest_trace(const char *trace)
{
    long long now = (long long)time(NULL) * 1000000000LL;
    char body[512], url[256];
    snprintf(body, sizeof(body),
             "{\"spans\":[{\"trace_id\":\"%s\",\"span_id\":\"b000000000000001\",\"service\":\"gateway\","
             "\"name\":\"GET /r\",\"start_time\":%lld,\"end_time\":%lld}]}",
             trace, now, now + 1000000);
    snprintf(url, sizeof(url), "%s/ingest/traces", backend.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ck_assert_msg(r.status == 200, "ingest: %ld %s", r.status, r.body);
    ts_resp_free(&r);
}

/* The replica's /query/replication answer's replication_lag_s (-1 when null). */
static double lag_s(void)
{
    json_t *o = NULL;
    ck_assert_int_eq(get_json(&backend, "/query/replication", &o), 200);
    ck_assert_msg(json_is_true(json_object_get(o, "in_recovery")), "the query API does not read the replica");
    json_t *lag = json_object_get(o, "replication_lag_s");
    double v = json_is_number(lag) ? json_number_value(lag) : -1;
    json_decref(o);
    return v;
}

START_TEST(test_ingested_record_readable_through_replica)
{
    char trace[33], path[96];
    ts_hex(trace, 32);
    ingest_trace(trace);
    snprintf(path, sizeof(path), "/query/traces/%s", trace);
    long st = 0;
    json_t *o = NULL;
    for (int i = 0; i < 100 && st != 200; i++) {
        json_decref(o);
        o = NULL;
        st = get_json(&backend, path, &o);
        if (st != 200) usleep(100 * 1000);
    }
    ck_assert_msg(st == 200, "the trace never became readable through the replica: %ld", st);
    ck_assert_int_eq(json_array_size(json_object_get(o, "spans")), 1);
    json_decref(o);
    double lag = lag_s();
    ck_assert_msg(lag >= 0 && lag < 5, "lag of a caught-up replica: %f", lag);
}
END_TEST

/* An incident written on the primary, once the replica shows it; returns its id. */
static long incident_on_both(PGconn *primary, const char *kind)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO incidents (fingerprint, kind, title, first_seen, last_seen, sample_trace_id, "
             "report_state) VALUES ('replica-%ld-%s', '%s', 'replica test', now(), now(), "
             "'c0ffee00000000000000000000000001', 'ready') RETURNING id",
             (long)random(), kind, kind);
    long id = ts_pg_long(primary, sql);
    ck_assert_int_gt(id, 0);
    char path[64];
    snprintf(path, sizeof(path), "/query/incidents/%ld", id);
    long st = 0;
    for (int i = 0; i < 100 && (st = get_json(&backend, path, NULL)) != 200; i++)
        usleep(100 * 1000);
    ck_assert_int_eq(st, 200);
    return id;
}

START_TEST(test_writes_go_to_the_primary)
{
    PGconn *primary = ts_pg(db_url);
    long id = incident_on_both(primary, "error");
    char path[96], sql[160];
    snprintf(path, sizeof(path), "/query/incidents/%ld/feedback", id);
    ck_assert_int_eq(post(&backend, path, read_hdr, "{\"verdict\":\"wrong\",\"true_service\":\"db\"}"), 201);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM feedback WHERE incident_id = %ld AND true_service = 'db'", id);
    ck_assert_int_eq(ts_pg_long(primary, sql), 1);

    long deg = incident_on_both(primary, "degradation");
    snprintf(path, sizeof(path), "/query/incidents/%ld/rerun", deg);
    ck_assert_int_eq(post(&backend, path, admin_hdr, "{}"), 202);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM incidents WHERE id = %ld AND report_state = 'pending'",
             deg);
    ck_assert_int_eq(ts_pg_long(primary, sql), 1);

    /* the same backend without QUERY_WRITE_DATABASE_URL writes to the replica, which refuses: the split
     * above is what makes feedback work */
    ts_proc_t alone;
    start_backend(&alone, 0);
    snprintf(path, sizeof(path), "/query/incidents/%ld/feedback", id);
    char url[256];
    snprintf(url, sizeof(url), "%s%s", alone.url, path);
    ts_resp_t r;
    const char body[] = "{\"verdict\":\"right\"}";
    ck_assert_int_eq(ts_http("POST", url, read_hdr, body, strlen(body), &r), 0);
    ck_assert_msg(r.status >= 500, "feedback on a read-only replica answered %ld", r.status);
    ts_resp_free(&r);
    ts_stop(&alone, SIGTERM);
    PQfinish(primary);
}
END_TEST

START_TEST(test_lag_reported)
{
    char *admin = with_port(ts_env("PS_TEST_PG_ADMIN_URL"), ts_env("PS_TEST_REPLICA_PORT"));
    PGconn *replica = ts_pg(admin);
    ck_assert_int_eq(ts_pg_long(replica, "SELECT count(*) FROM (SELECT pg_wal_replay_pause()) p"), 1);
    char trace[33];
    ts_hex(trace, 32);
    ingest_trace(trace); /* WAL the replica receives and does not replay */
    sleep(3);
    double lag = lag_s();
    ck_assert_int_eq(ts_pg_long(replica, "SELECT count(*) FROM (SELECT pg_wal_replay_resume()) p"), 1);
    ck_assert_msg(lag >= 2.5, "replication lag with replay paused for 3 s: %f", lag);
    int caught_up = 0;
    for (int i = 0; i < 100 && !caught_up; i++) {
        caught_up = lag_s() < 1;
        if (!caught_up) usleep(100 * 1000);
    }
    ck_assert_msg(caught_up, "the lag did not fall after replay resumed");
    PQfinish(replica);
    free(admin);
}
END_TEST

int main(void)
{
    if (getenv("PS_TEST_REPLICA_PORT") == NULL) {
        fprintf(stderr, "PS_TEST_REPLICA_PORT is not set: run through scripts/test-failover\n");
        return 77;
    }
    srandom((unsigned)time(NULL) ^ (unsigned)getpid());
    Suite *s = suite_create("replica");
    TCase *tc = tcase_create("replica");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_ingested_record_readable_through_replica);
    tcase_add_test(tc, test_writes_go_to_the_primary);
    tcase_add_test(tc, test_lag_reported);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
