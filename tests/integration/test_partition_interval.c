/* PARTITION_INTERVAL (issue 16, migration 012): with "hour" the backend's ingest creates hour partitions
 * of every raw table, retention drops them once they end RETENTION_DAYS ago, and a day partitioned one
 * way keeps its layout when the setting changes (day and hour partitions never overlap). */
#include "ts.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *db_url;

static void setup(void)
{
    db_url = ts_create_database("partint");
}

static void teardown(void)
{
    free(db_url);
}

/* Partitions of `table` whose name is <table>_p<day offset from today, UTC><hours pattern>. */
static long partitions(PGconn *c, const char *table, int day_offset, const char *suffix_re)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = "
             "'%s'::regclass AND c.relname ~ ('^%s_p' || to_char((now() AT TIME ZONE 'UTC')::date + %d, "
             "'YYYYMMDD') || '%s$')",
             table, table, day_offset, suffix_re);
    return ts_pg_long(c, sql);
}

START_TEST(test_hour_partitions_created_and_dropped)
{
    ts_proc_t backend;
    const char *env[] = {"PARTITION_INTERVAL=hour", NULL};
    ck_assert_int_eq(ts_start_backend(&backend, db_url, "t:partint:", env), 0);
    char trace[33], body[512], url[256];
    ts_hex(trace, 32);
    long long now = (long long)time(NULL) * 1000000000LL;
    snprintf(body, sizeof(body),
             "{\"spans\":[{\"trace_id\":\"%s\",\"span_id\":\"d000000000000001\",\"service\":\"gateway\","
             "\"name\":\"GET /h\",\"start_time\":%lld,\"end_time\":%lld}]}",
             trace, now, now + 1000000);
    snprintf(url, sizeof(url), "%s/ingest/traces", backend.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ck_assert_msg(r.status == 200, "ingest: %ld %s", r.status, r.body);
    ts_resp_free(&r);
    ts_stop(&backend, SIGTERM);

    PGconn *c = ts_pg(db_url);
    const char *tables[] = {"spans", "logs", "metric_points", "change_events"};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(partitions(c, tables[i], 0, "[0-9]{2}"), 24);
        ck_assert_int_eq(partitions(c, tables[i], 0, ""), 0);
    }
    /* the span is in the partition of its own hour */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM spans WHERE trace_id = '%s' AND tableoid::regclass::text = 'spans_p' || "
             "to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDDHH24')",
             trace);
    ck_assert_int_eq(ts_pg_long(c, sql), 1);

    /* retention: hour partitions of 5 days ago go, those of yesterday stay (RETENTION_DAYS=2) */
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM (SELECT ensure_raw_partitions((now() AT TIME ZONE "
                                   "'UTC')::date - 5, true), ensure_raw_partitions((now() AT TIME ZONE "
                                   "'UTC')::date - 1, true)) x"),
                     1);
    ck_assert_int_eq(partitions(c, "logs", -5, "[0-9]{2}"), 24);
    const char *env2[] = {"PARTITION_INTERVAL=hour", "RETENTION_DAYS=2", NULL};
    /* its own Redis prefix, new on every run: retention runs once per period across instances (the first
     * backend ran it, and so did this test's last run on this Redis) */
    char prefix[64] = "t:partint:";
    ts_hex(prefix + strlen(prefix), 16);
    strcat(prefix, ":");
    ck_assert_int_eq(ts_start_backend(&backend, db_url, prefix, env2), 0);
    char old[512];
    snprintf(
        old, sizeof(old),
        "SELECT count(*) FROM pg_class WHERE relname ~ ('_p' || to_char((now() AT TIME ZONE 'UTC')::date "
        "- 5, 'YYYYMMDD') || '[0-9]{2}$') AND relkind = 'r'");
    long left = -1;
    for (int i = 0; i < 200 && left != 0; i++) { /* retention runs at the backend's start */
        left = ts_pg_long(c, old);
        if (left != 0) usleep(100 * 1000);
    }
    ck_assert_msg(left == 0, "%ld hour partitions of 5 days ago left", left);
    ts_stop(&backend, SIGTERM);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(partitions(c, tables[i], -1, "[0-9]{2}"), 24);
        ck_assert_int_eq(partitions(c, tables[i], 0, "[0-9]{2}"), 24);
    }
    PQfinish(c);
}
END_TEST

START_TEST(test_layout_kept_when_the_setting_changes)
{
    PGconn *c = ts_pg(db_url);
    /* migrations run at the backend's start */
    ts_proc_t backend;
    ck_assert_int_eq(ts_start_backend(&backend, db_url, "t:partint2:", NULL), 0);
    ts_stop(&backend, SIGTERM);
    /* a day made daily, asked for hourly: stays one partition; a day made hourly, asked daily: stays hourly
     */
    ck_assert_int_eq(
        ts_pg_long(c, "SELECT count(*) FROM (SELECT ensure_raw_partitions(date '2030-01-02', false), "
                      "ensure_raw_partitions(date '2030-01-02', true), "
                      "ensure_raw_partitions(date '2030-01-03', true), "
                      "ensure_raw_partitions(date '2030-01-03', false)) x"),
        1);
    ck_assert_int_eq(
        ts_pg_long(c,
                   "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname LIKE 'spans_p20300102%'"),
        1);
    ck_assert_int_eq(
        ts_pg_long(c, "SELECT count(*) FROM pg_class WHERE relname ~ '^spans_p20300103[0-9]{2}$'"), 24);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM pg_class WHERE relname = 'spans_p20300103'"), 0);
    /* the unique keys hold the distribution columns (migration 012) and still deduplicate */
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM pg_constraint WHERE conname IN ('logs_record_key', "
                                   "'metric_points_record_key') AND conrelid IN ('logs'::regclass, "
                                   "'metric_points'::regclass)"),
                     2);
    PQfinish(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("partition_interval");
    TCase *tc = tcase_create("partition_interval");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_hour_partitions_created_and_dropped);
    tcase_add_test(tc, test_layout_kept_when_the_setting_changes);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
