/* The lifecycle of incidents (issue 15) through the real backend, pipeline, PostgreSQL, Redis and a webhook
 * receiver (tests/support/ts_sink.h), with short timers: a quiet incident resolves by the timer (not by the
 * next arrival) and its page is resolved at the receiver; the next failure of the same cause opens a new
 * incident linked to the previous one; a new error incident pages only at ALERT_MIN_TRACES traces unless
 * its entry point is failing, and one that resolves before it qualifies never pages; a degradation resolves
 * after two healthy windows and its recurrence gets a new incident, page and report; a degradation and the
 * error traces of the same root service are one incident with the reason written down, paged once, and so
 * are two exceptions of one service at once (two pages with GROUP_WINDOW_S=0). Every
 * transition is checked as its event row. */
#include "ts.h"
#include "ts_sink.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000LL

static char *db_url;
static char prefix[64];
static ts_proc_t backend, pipeline;
static ts_sink_t *sink;

/* Starts backend and pipeline with a plain JSON receiver; `penv` adds to the pipeline's environment
 * (NULL-terminated, at most 8). */
static void start_stack(const char *const *penv)
{
    char suffix[9];
    ts_hex(suffix, 8);
    snprintf(prefix, sizeof(prefix), "t:%s:", suffix);
    db_url = ts_create_database("lifecycle");
    sink = ts_sink_create();
    ts_sink_up(sink, 200);
    const char *benv[] = {"DEBOUNCE_QUIET_MS=300", "DEBOUNCE_MAX_MS=2000", NULL};
    ck_assert_int_eq(ts_start_backend(&backend, db_url, prefix, benv), 0);
    static char hook[128];
    snprintf(hook, sizeof(hook), "ALERT_WEBHOOKS=json:http://127.0.0.1:%d/json", ts_sink_port(sink));
    const char *env[12] = {"WORKERS=2", hook, "ALERT_RETRY_BASE_MS=50", NULL};
    int n = 3;
    for (int i = 0; penv[i] && n < 11; i++)
        env[n++] = penv[i];
    env[n] = NULL;
    ck_assert_int_eq(ts_start_pipeline(&pipeline, db_url, prefix, env), 0);
}

static void stop_stack(void)
{
    ts_stop(&pipeline, SIGTERM);
    ts_stop(&backend, SIGTERM);
    ts_sink_free(sink);
    sink = NULL;
    free(db_url);
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * NS_PER_S + t.tv_nsec;
}

/* `n` root SERVER spans of `service` `name`, each its own trace, starting at `start` every `step` ns and
 * lasting `dur` ns; failing with `exception` when it is not NULL. */
static void send_spans(const char *service, const char *name, int n, long long start, long long step,
                       long long dur, const char *exception)
{
    size_t cap = 1024 + (size_t)n * 700;
    char *body = malloc(cap);
    size_t len = (size_t)snprintf(body, cap, "{\"spans\":[");
    for (int i = 0; i < n; i++) {
        char trace[33], events[256] = "";
        ts_hex(trace, 32);
        long long s = start + i * step;
        if (exception)
            snprintf(events, sizeof(events),
                     ",\"events\":[{\"name\":\"exception\",\"time\":%lld,\"attributes\":{\"exception.type\":"
                     "\"%s\",\"exception.message\":\"it failed\"}}]",
                     s + dur / 2, exception);
        len += (size_t)snprintf(body + len, cap - len,
                                "%s{\"trace_id\":\"%s\",\"span_id\":\"b000000000000001\",\"service\":\"%s\","
                                "\"name\":\"%s\",\"kind\":\"SERVER\",\"start_time\":%lld,\"end_time\":%lld,"
                                "\"status\":\"%s\"%s}",
                                i ? "," : "", trace, service, name, s, s + dur, exception ? "ERROR" : "OK",
                                events);
        ck_assert_uint_lt(len, cap);
    }
    len += (size_t)snprintf(body + len, cap - len, "]}");
    char url[256];
    snprintf(url, sizeof(url), "%s/ingest/traces", backend.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ck_assert_msg(r.status == 200, "ingest: %ld %s", r.status, r.body);
    ts_resp_free(&r);
    free(body);
}

static void send_failure(const char *exception)
{
    send_spans("payment", "POST /charge", 1, now_ns(), 0, 5000000, exception);
}

/* The incident's events as "kind,kind,..." in order. Caller frees. */
static char *events_of(PGconn *c, long id)
{
    char sql[256];
    snprintf(
        sql, sizeof(sql),
        "SELECT coalesce(string_agg(kind, ',' ORDER BY at, id), '') FROM incident_events WHERE incident_id "
        "= %ld",
        id);
    PGresult *r = PQexec(c, sql);
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    char *s = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return s;
}

/* A text value of the first row, "" for NULL. Caller frees. */
static char *pg_text(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    char *s = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return s;
}

/* How many bodies at the receiver have "kind" `kind` and "incident_id" `id`. */
static int received(const char *kind, long id)
{
    int n = 0;
    for (size_t i = 0; i < ts_sink_count(sink); i++) {
        char *b = ts_sink_body(sink, i);
        json_t *j = json_loads(b, 0, NULL);
        free(b);
        const char *k = json_string_value(json_object_get(j, "kind"));
        if (k && strcmp(k, kind) == 0 && json_integer_value(json_object_get(j, "incident_id")) == id) n++;
        json_decref(j);
    }
    return n;
}

static void wait_received(const char *kind, long id, int seconds)
{
    for (int i = 0; i < seconds * 10 && received(kind, id) == 0; i++)
        usleep(100 * 1000);
    ck_assert_msg(received(kind, id) == 1, "receiver got %d '%s' alerts of incident %ld", received(kind, id),
                  kind, id);
}

START_TEST(a_quiet_incident_resolves_by_the_timer_its_page_is_resolved_and_a_recurrence_is_linked)
{
    const char *penv[] = {"INCIDENT_RESOLVE_AFTER_S=3", NULL};
    start_stack(penv);
    PGconn *c = ts_pg(db_url);
    /* the entry point failed every request of the last minute: it pages at its first trace */
    send_failure("com.acme.DbTimeoutException");
    ck_assert_int_eq(ts_pg_wait_long(c, "SELECT count(*) FROM incidents WHERE paged_at IS NOT NULL", 1, 30),
                     1);
    wait_received("incident", 1, 10);
    /* no new trace: the timer resolves it, with no arrival needed */
    ck_assert_int_eq(ts_pg_wait_long(c, "SELECT count(*) FROM incidents WHERE status = 'resolved'", 1, 15),
                     1);
    wait_received("resolved", 1, 10);
    char *ev = events_of(c, 1);
    ck_assert_str_eq(ev, "opened,paged,resolved");
    free(ev);
    char *detail =
        pg_text(c, "SELECT detail FROM incident_events WHERE incident_id = 1 AND kind = 'resolved'");
    ck_assert_msg(strstr(detail, "INCIDENT_RESOLVE_AFTER_S 3"), "resolved: %s", detail);
    free(detail);
    detail = pg_text(c, "SELECT detail FROM incident_events WHERE incident_id = 1 AND kind = 'paged'");
    ck_assert_msg(strstr(detail, "entry point payment POST /charge failed 100%"), "paged: %s", detail);
    free(detail);
    /* a failing entry point is the critical page (destinations filter on it with min_severity) */
    detail = pg_text(c, "SELECT payload->>'severity' FROM alert_deliveries WHERE dedup_key = 'incident:1'");
    ck_assert_str_eq(detail, "critical");
    free(detail);
    /* the same cause again: a new incident, linked to the one it recurs */
    send_failure("com.acme.DbTimeoutException");
    ck_assert_int_eq(
        ts_pg_wait_long(c, "SELECT count(*) FROM incidents WHERE previous_id = 1 AND id = 2", 1, 30), 1);
    ev = events_of(c, 2);
    ck_assert_msg(strncmp(ev, "opened,recurred", 15) == 0, "events of #2: %s", ev);
    free(ev);
    detail = pg_text(c, "SELECT detail FROM incident_events WHERE incident_id = 2 AND kind = 'recurred'");
    ck_assert_msg(strstr(detail, "recurred, last seen ") && strstr(detail, "in incident #1"), "recurred: %s",
                  detail);
    free(detail);
    wait_received("incident", 2, 10);
    /* the resolve was queued once, whatever the timer's ticks */
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM alert_deliveries WHERE dedup_key = 'resolved:1'"),
                     1);
    PQfinish(c);
    stop_stack();
}
END_TEST

START_TEST(paging_waits_for_min_traces_and_an_incident_resolving_before_it_qualifies_never_pages)
{
    /* A and B are two faults here, each judged on its own count (grouped, B's trace would count for A:
     * see the grouping test below) */
    const char *penv[] = {"INCIDENT_RESOLVE_AFTER_S=5", "ALERT_MIN_TRACES=3", "GROUP_WINDOW_S=0", NULL};
    start_stack(penv);
    PGconn *c = ts_pg(db_url);
    /* the entry point mostly works: its error rate stays under ALERT_ENTRY_ERROR_RATE */
    send_spans("payment", "POST /charge", 12, now_ns() - 20 * NS_PER_S, NS_PER_S, 5000000, NULL);
    ck_assert_int_eq(ts_pg_wait_long(c, "SELECT count(*) FROM spans", 12, 10), 12);
    send_failure("com.acme.AException");
    send_failure("com.acme.AException");
    send_failure("com.acme.BException");
    ck_assert_int_eq(ts_pg_wait_long(c, "SELECT count(*) FROM incident_traces", 3, 30), 3);
    long a = ts_pg_long(c, "SELECT id FROM incidents WHERE exception_type = 'com.acme.AException'");
    long b = ts_pg_long(c, "SELECT id FROM incidents WHERE exception_type = 'com.acme.BException'");
    ck_assert_int_gt(a, 0);
    ck_assert_int_gt(b, 0);
    sleep(1);
    /* two traces: no page, and no report pushed either */
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM alert_deliveries"), 0);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM incidents WHERE paged_at IS NOT NULL"), 0);
    /* the third trace pages, and brings the report along */
    send_failure("com.acme.AException");
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM incidents WHERE id = %ld AND paged_at IS NOT NULL", a);
    ck_assert_int_eq(ts_pg_wait_long(c, sql, 1, 30), 1);
    wait_received("incident", a, 10);
    wait_received("report", a, 10);
    snprintf(sql, sizeof(sql),
             "SELECT detail FROM incident_events WHERE incident_id = %ld AND kind = 'paged'", a);
    char *detail = pg_text(c, sql);
    ck_assert_str_eq(detail, "3 traces reached ALERT_MIN_TRACES (3)");
    free(detail);
    snprintf(sql, sizeof(sql),
             "SELECT payload->>'severity' FROM alert_deliveries WHERE dedup_key = 'incident:%ld'", a);
    detail = pg_text(c, sql);
    ck_assert_str_eq(detail, "error");
    free(detail);
    /* B had one trace and goes quiet: it resolves without ever paging, so nothing is sent about it */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM incidents WHERE id = %ld AND status = 'resolved'", b);
    ck_assert_int_eq(ts_pg_wait_long(c, sql, 1, 20), 1);
    char *ev = events_of(c, b);
    ck_assert_str_eq(ev, "opened,resolved");
    free(ev);
    /* A resolves too, and its page is resolved at the receiver */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM incidents WHERE id = %ld AND status = 'resolved'", a);
    ck_assert_int_eq(ts_pg_wait_long(c, sql, 1, 20), 1);
    wait_received("resolved", a, 10);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM alert_deliveries WHERE payload->>'incident_id' = '%ld'",
             b);
    ck_assert_int_eq(ts_pg_long(c, sql), 0);
    ck_assert_int_eq(received("incident", b) + received("resolved", b) + received("report", b), 0);
    ev = events_of(c, a);
    ck_assert_str_eq(ev, "opened,paged,resolved");
    free(ev);
    PQfinish(c);
    stop_stack();
}
END_TEST

/* Degradation watcher settings for the tests below: a 15 s window after a 30 s baseline, judged each
 * second. The spans of degrade_payment() keep the window degraded for 9 s after they are sent, room
 * enough for a loaded machine to store them and run a pass. */
#define DEGRADE_ENV "DEGRADE_PERIOD_S=1", "DEGRADE_WINDOW_S=15", "DEGRADE_BASELINE_S=30"
#define DEGRADE_SPAN_S 45 /* window + baseline: what one pass looks at */

/* payment POST /charge: a healthy baseline, then a slow and failing window just now. Returns now. */
static long long degrade_payment(void)
{
    long long now = now_ns();
    send_spans("payment", "POST /charge", 40, now - 44 * NS_PER_S, NS_PER_S * 7 / 10, 10000000, NULL);
    send_spans("payment", "POST /charge", 30, now - 6 * NS_PER_S, NS_PER_S / 6, 400000000, "com.acme.SlowDb");
    return now;
}

START_TEST(a_degradation_resolves_after_two_healthy_windows_and_its_recurrence_pages_again)
{
    const char *penv[] = {DEGRADE_ENV, "GROUP_WINDOW_S=0", NULL};
    start_stack(penv);
    PGconn *c = ts_pg(db_url);
    long long t0 = degrade_payment();
    ck_assert_int_eq(
        ts_pg_wait_long(c,
                        "SELECT count(*) FROM incidents WHERE kind = 'degradation' AND paged_at IS "
                        "NOT NULL AND report_state = 'ready'",
                        1, 40),
        1);
    long d1 = ts_pg_long(c, "SELECT id FROM incidents WHERE kind = 'degradation'");
    wait_received("degradation", d1, 10);
    char sql[256];
    /* a degradation pages once its report named the root cause, at severity error (not critical: no
     * entry point failing at once) */
    snprintf(sql, sizeof(sql),
             "SELECT detail FROM incident_events WHERE incident_id = %ld AND kind = 'paged'", d1);
    char *paged = pg_text(c, sql);
    ck_assert_str_eq(paged, "degradation confirmed and reported (root cause payment)");
    free(paged);
    snprintf(sql, sizeof(sql),
             "SELECT payload->>'severity' FROM alert_deliveries WHERE payload->>'incident_id' = '%ld' AND "
             "kind = 'degradation'",
             d1);
    paged = pg_text(c, sql);
    ck_assert_str_eq(paged, "error");
    free(paged);
    /* the bad window slides out: two healthy windows in a row resolve it */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM incidents WHERE id = %ld AND status = 'resolved'", d1);
    ck_assert_int_eq(ts_pg_wait_long(c, sql, 1, 40), 1);
    snprintf(sql, sizeof(sql),
             "SELECT detail FROM incident_events WHERE incident_id = %ld AND kind = 'resolved'", d1);
    char *detail = pg_text(c, sql);
    ck_assert_str_eq(detail, "2 consecutive healthy windows of payment POST /charge");
    free(detail);
    wait_received("resolved", d1, 10);
    /* the same endpoint degrades again, against a healthy baseline (the first episode out of what the
     * watcher looks at): a new incident, linked, with its own page and report */
    while (now_ns() < t0 + (DEGRADE_SPAN_S + 1) * NS_PER_S)
        usleep(200 * 1000);
    degrade_payment();
    snprintf(
        sql, sizeof(sql),
        "SELECT count(*) FROM incidents WHERE kind = 'degradation' AND previous_id = %ld AND paged_at IS NOT "
        "NULL AND report_state = 'ready'",
        d1);
    ck_assert_int_eq(ts_pg_wait_long(c, sql, 1, 40), 1);
    snprintf(sql, sizeof(sql), "SELECT id FROM incidents WHERE previous_id = %ld", d1);
    long d2 = ts_pg_long(c, sql);
    wait_received("degradation", d2, 10);
    wait_received("report", d2, 10);
    char *ev = events_of(c, d2);
    ck_assert_msg(strncmp(ev, "opened,recurred,", 16) == 0 && strstr(ev, "paged"), "events of #%ld: %s", d2,
                  ev);
    free(ev);
    PQfinish(c);
    stop_stack();
}
END_TEST

START_TEST(a_degradation_and_the_error_traces_of_its_root_service_are_one_paged_incident)
{
    const char *penv[] = {DEGRADE_ENV, NULL};
    start_stack(penv);
    PGconn *c = ts_pg(db_url);
    degrade_payment();
    /* both incidents exist and one of them is grouped under the other, whichever came first */
    ck_assert_int_eq(ts_pg_wait_long(c, "SELECT count(*) FROM incidents WHERE parent_id IS NOT NULL", 1, 40),
                     1);
    sleep(2);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM incidents"), 2);
    char *reason = pg_text(c, "SELECT group_reason FROM incidents WHERE parent_id IS NOT NULL");
    long parent = ts_pg_long(c, "SELECT parent_id FROM incidents WHERE parent_id IS NOT NULL");
    char want[96];
    snprintf(want, sizeof(want), "root service payment matches incident #%ld opened ", parent);
    ck_assert_msg(strncmp(reason, want, strlen(want)) == 0, "reason: %s", reason);
    char *detail = pg_text(c, "SELECT detail FROM incident_events WHERE kind = 'grouped' AND incident_id = "
                              "(SELECT id FROM incidents WHERE parent_id IS NOT NULL)");
    ck_assert_msg(strncmp(detail, "grouped because root service payment matches", 44) == 0, "grouped: %s",
                  detail);
    free(detail);
    free(reason);
    /* one fault, one page: the child never pages itself */
    ck_assert_int_eq(ts_pg_wait_long(c, "SELECT count(*) FROM incidents WHERE paged_at IS NOT NULL", 1, 20),
                     1);
    ck_assert_int_eq(ts_pg_long(c,
                                "SELECT count(*) FROM incidents WHERE paged_at IS NOT NULL AND parent_id IS "
                                "NULL"),
                     1);
    sleep(2);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM alert_deliveries WHERE kind IN ('incident', "
                                   "'degradation')"),
                     1);
    ck_assert_int_eq(received("incident", parent) + received("degradation", parent), 1);
    PQfinish(c);
    stop_stack();
}
END_TEST

/* Two exceptions of payment at once (a timeout and a NullPointerException): with grouping, one paged
 * parent and one grouped child saying why; with GROUP_WINDOW_S=0, two incidents and two pages. */
START_TEST(two_exceptions_of_one_service_at_once_are_one_paged_incident_unless_grouping_is_off)
{
    for (int window = 1; window >= 0; window--) {
        const char *penv[] = {window ? "GROUP_WINDOW_S=600" : "GROUP_WINDOW_S=0", NULL};
        start_stack(penv);
        PGconn *c = ts_pg(db_url);
        send_failure("com.acme.DbTimeoutException");
        send_failure("java.lang.NullPointerException");
        ck_assert_int_eq(ts_pg_wait_long(c, "SELECT count(*) FROM incidents", 2, 30), 2);
        if (window) {
            ck_assert_int_eq(
                ts_pg_wait_long(c, "SELECT count(*) FROM incidents WHERE paged_at IS NOT NULL", 1, 30), 1);
            long parent = ts_pg_long(c, "SELECT id FROM incidents WHERE paged_at IS NOT NULL");
            long child = ts_pg_long(c, "SELECT id FROM incidents WHERE paged_at IS NULL");
            char sql[160], want[96];
            snprintf(sql, sizeof(sql), "SELECT count(*) FROM incidents WHERE id = %ld AND parent_id = %ld",
                     child, parent);
            ck_assert_int_eq(ts_pg_long(c, sql), 1);
            snprintf(sql, sizeof(sql), "SELECT group_reason FROM incidents WHERE id = %ld", child);
            char *reason = pg_text(c, sql);
            snprintf(want, sizeof(want), "root service payment matches incident #%ld opened ", parent);
            ck_assert_msg(strncmp(reason, want, strlen(want)) == 0, "reason: %s", reason);
            free(reason);
            snprintf(sql, sizeof(sql),
                     "SELECT detail FROM incident_events WHERE kind = 'grouped' AND incident_id = %ld",
                     child);
            char *detail = pg_text(c, sql);
            ck_assert_msg(strncmp(detail, "grouped because root service payment matches", 44) == 0,
                          "grouped: %s", detail);
            free(detail);
            /* the parent's own event names the child, its title and the reason */
            char q[320];
            snprintf(
                q, sizeof(q),
                "SELECT e.detail = format('incident #%%s (%%s) grouped under this one: %%s', k.id, k.title, "
                "k.group_reason) FROM incident_events e, incidents k WHERE e.kind = 'grouped' AND "
                "e.incident_id = %ld AND k.id = %ld",
                parent, child);
            detail = pg_text(c, q);
            ck_assert_str_eq(detail, "t");
            free(detail);
            /* one fault, one page: the child's report is written, and still no second page */
            snprintf(sql, sizeof(sql),
                     "SELECT count(*) FROM incidents WHERE id = %ld AND report_state = 'ready'", child);
            ck_assert_int_eq(ts_pg_wait_long(c, sql, 1, 30), 1);
            wait_received("incident", parent, 10);
            sleep(2);
            ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM alert_deliveries WHERE kind = 'incident'"),
                             1);
            ck_assert_int_eq(received("incident", child), 0);
        } else {
            /* grouping off: each exception is its own incident and pages on its own */
            ck_assert_int_eq(
                ts_pg_wait_long(c, "SELECT count(*) FROM incidents WHERE paged_at IS NOT NULL", 2, 30), 2);
            ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM incidents WHERE parent_id IS NOT NULL"), 0);
            wait_received("incident", 1, 10);
            wait_received("incident", 2, 10);
        }
        PQfinish(c);
        stop_stack();
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("incident_lifecycle");
    TCase *tc = tcase_create("lifecycle");
    tcase_set_timeout(tc, 150);
    tcase_add_test(tc,
                   a_quiet_incident_resolves_by_the_timer_its_page_is_resolved_and_a_recurrence_is_linked);
    tcase_add_test(tc, paging_waits_for_min_traces_and_an_incident_resolving_before_it_qualifies_never_pages);
    tcase_add_test(tc, a_degradation_resolves_after_two_healthy_windows_and_its_recurrence_pages_again);
    tcase_add_test(tc, a_degradation_and_the_error_traces_of_its_root_service_are_one_paged_incident);
    tcase_add_test(tc, two_exceptions_of_one_service_at_once_are_one_paged_incident_unless_grouping_is_off);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
