/* Redis failover through Sentinel under ingest (issue 16): a backend and a pipeline find the Redis master
 * through three sentinels (REDIS_SENTINELS, REDIS_MASTER_NAME) while error traces keep arriving; the
 * master is failed over twice, first with SENTINEL FAILOVER, then by shutting the new master down.
 * Every batch must be answered 200, every span stored, and every error trace analysed (its trigger
 * gone and the trace in an incident). Needs the servers of scripts/test-failover (a master, two
 * replicas, three sentinels); skipped (77) without them. */
#include "ts.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRACES 600
#define SEND_GAP_MS 100
#define FAILOVER_WAIT_S 30

static char *db_url;
static ts_proc_t backend, pipeline;
static char traces[MAX_TRACES][33];
static int ntraces;
static char sentinel_host[64];
static int sentinel_port;

static void setup(void)
{
    const char *list = ts_env("PS_TEST_REDIS_SENTINELS");
    char sentinels[256], master[96];
    snprintf(sentinels, sizeof(sentinels), "REDIS_SENTINELS=%s", list);
    snprintf(master, sizeof(master), "REDIS_MASTER_NAME=%s", ts_env("PS_TEST_REDIS_MASTER_NAME"));
    size_t hl = strcspn(list, ":");
    snprintf(sentinel_host, sizeof(sentinel_host), "%.*s", (int)hl, list);
    sentinel_port = atoi(list + hl + 1);
    db_url = ts_create_database("sentinel");
    /* TRIGGER_RESEND_MS short: a job written to a master that died before replicating it is handed over
     * again from PostgreSQL within the test's patience */
    const char *benv[] = {
        sentinels, master, "DEBOUNCE_QUIET_MS=300", "DEBOUNCE_MAX_MS=2000", "TRIGGER_RESEND_MS=5000", NULL};
    ck_assert_int_eq(ts_start_backend(&backend, db_url, "t:sentinel:", benv), 0);
    const char *penv[] = {sentinels, master, "WORKERS=2", "VISIBILITY_TIMEOUT_MS=3000", NULL};
    ck_assert_int_eq(ts_start_pipeline(&pipeline, db_url, "t:sentinel:", penv), 0);
}

static void teardown(void)
{
    ts_stop(&pipeline, SIGTERM);
    ts_stop(&backend, SIGTERM);
    free(db_url);
}

/* The master's port as the first sentinel names it; -1 when it cannot say. */
static int master_port(void)
{
    redisContext *c = redisConnect(sentinel_host, sentinel_port);
    int port = -1;
    if (c && !c->err) {
        redisReply *r =
            redisCommand(c, "SENTINEL get-master-addr-by-name %s", ts_env("PS_TEST_REDIS_MASTER_NAME"));
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) port = atoi(r->element[1]->str);
        freeReplyObject(r);
    }
    redisFree(c);
    return port;
}

/* One error trace: gateway → payment, the payment span failing with an exception. */
static void send_error_trace(void)
{
    ck_assert_int_lt(ntraces, MAX_TRACES);
    char *trace = traces[ntraces++];
    ts_hex(trace, 32);
    long long now = (long long)time(NULL) * 1000000000LL;
    char body[2048], url[256];
    snprintf(body, sizeof(body),
             "{\"spans\":[{\"trace_id\":\"%s\",\"span_id\":\"c000000000000001\",\"service\":\"gateway\","
             "\"name\":\"POST /orders\",\"kind\":\"SERVER\",\"start_time\":%lld,\"end_time\":%lld,\"status\":"
             "\"ERROR\"},{\"trace_id\":\"%s\",\"span_id\":\"c000000000000002\",\"parent_span_id\":"
             "\"c000000000000001\",\"service\":\"payment\",\"name\":\"POST /charge\",\"kind\":\"SERVER\","
             "\"start_time\":%lld,\"end_time\":%lld,\"status\":\"ERROR\",\"events\":[{\"name\":\"exception\","
             "\"time\":%lld,\"attributes\":{\"exception.type\":\"PaymentTimeout\",\"exception.message\":"
             "\"card processor timed out\"}}]}]}",
             trace, now, now + 500000000, trace, now + 1000000, now + 400000000, now + 400000000);
    snprintf(url, sizeof(url), "%s/ingest/traces", backend.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    /* Redis holds only the debounce and the queue: ingest never waits for it */
    ck_assert_msg(r.status == 200, "ingest during failover: %ld %s", r.status, r.body);
    ts_resp_free(&r);
    usleep(SEND_GAP_MS * 1000);
}

/* Keeps sending until the sentinels name a master other than `old`; returns the new master's port. */
static int send_until_master_changes(int old)
{
    int now = old;
    for (int i = 0; i < FAILOVER_WAIT_S * 1000 / SEND_GAP_MS && (now == old || now < 0); i++) {
        send_error_trace();
        now = master_port();
    }
    ck_assert_msg(now != old && now > 0, "no failover within %d s (master still %d)", FAILOVER_WAIT_S, old);
    return now;
}

/* Runs `cmd` on the master at `port`. */
static void master_command(int port, const char *cmd)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    ck_assert_msg(c && !c->err, "cannot reach the master on %d", port);
    redisReply *r = redisCommand(c, cmd);
    freeReplyObject(r); /* SHUTDOWN answers nothing: the connection closes */
    redisFree(c);
}

/* Every trace sent: its 2 spans stored, its trigger gone, and the trace in an incident. */
static long traces_done(PGconn *c, const char *what)
{
    char *list = malloc((size_t)ntraces * 35 + 8);
    size_t o = 0;
    list[o++] = '{';
    for (int i = 0; i < ntraces; i++)
        o += (size_t)sprintf(list + o, "%s%s", i ? "," : "", traces[i]);
    list[o++] = '}';
    list[o] = '\0';
    const char *sql =
        strcmp(what, "stored") == 0
            ? "SELECT count(*) FROM (SELECT trace_id FROM spans WHERE trace_id = ANY($1::text[]) "
              "GROUP BY trace_id HAVING count(*) = 2) s"
            : "SELECT count(*) FROM unnest($1::text[]) t(id) WHERE EXISTS (SELECT 1 FROM "
              "incident_traces i WHERE i.trace_id = t.id) AND NOT EXISTS (SELECT 1 FROM "
              "pending_triggers p WHERE p.trace_id = t.id)";
    const char *p[] = {list};
    PGresult *r = PQexecParams(c, sql, 1, NULL, p, NULL, NULL, 0);
    long n = PQresultStatus(r) == PGRES_TUPLES_OK ? atol(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    free(list);
    return n;
}

START_TEST(test_failover_under_ingest)
{
    int first = master_port();
    ck_assert_int_gt(first, 0);
    for (int i = 0; i < 10; i++)
        send_error_trace();
    /* 1: a planned failover */
    redisContext *s = redisConnect(sentinel_host, sentinel_port);
    ck_assert(s && !s->err);
    redisReply *r = redisCommand(s, "SENTINEL FAILOVER %s", ts_env("PS_TEST_REDIS_MASTER_NAME"));
    ck_assert_msg(r && r->type == REDIS_REPLY_STATUS, "SENTINEL FAILOVER: %s", r ? r->str : s->errstr);
    freeReplyObject(r);
    redisFree(s);
    int second = send_until_master_changes(first);
    for (int i = 0; i < 10; i++)
        send_error_trace();
    /* 2: the new master dies */
    master_command(second, "SHUTDOWN NOSAVE");
    int third = send_until_master_changes(second);
    for (int i = 0; i < 10; i++)
        send_error_trace();
    fprintf(stderr, "test_sentinel: masters %d -> %d -> %d, %d error traces sent\n", first, second, third,
            ntraces);

    PGconn *c = ts_pg(db_url);
    long stored = 0, analysed = 0;
    for (int i = 0; i < 600 && (stored < ntraces || analysed < ntraces); i++) {
        stored = traces_done(c, "stored");
        analysed = traces_done(c, "analysed");
        if (stored < ntraces || analysed < ntraces) usleep(100 * 1000);
    }
    ck_assert_msg(stored == ntraces, "%ld of %d traces stored", stored, ntraces);
    ck_assert_msg(analysed == ntraces, "%ld of %d error traces analysed", analysed, ntraces);
    PQfinish(c);
}
END_TEST

int main(void)
{
    if (getenv("PS_TEST_REDIS_SENTINELS") == NULL) {
        fprintf(stderr, "PS_TEST_REDIS_SENTINELS is not set: run through scripts/test-failover\n");
        return 77;
    }
    Suite *s = suite_create("sentinel");
    TCase *tc = tcase_create("sentinel");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_failover_under_ingest);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
