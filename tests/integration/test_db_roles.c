/* Least-privilege database roles (migrations/007_roles.sql, issue 14): connected as each role, every
 * forbidden statement is refused by PostgreSQL and every statement the programs need is allowed; analyses
 * are append-only even for the owner; and a backend and a pipeline running as the roles still ingest,
 * analyse and answer queries, with no program holding a connection as the owner. */
#include "ts.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INSUFFICIENT_PRIVILEGE "42501"

static char *db_url;  /* the owner's */
static char part[64]; /* a day partition of spans */
static long incident_id;

/* Runs `sql` as the role of `url` and checks that PostgreSQL refuses it for lack of privilege. */
static void refused(PGconn *c, const char *role, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    ck_assert_msg(st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK, "%s may run: %s", role, sql);
    ck_assert_msg(state && strcmp(state, INSUFFICIENT_PRIVILEGE) == 0, "%s: %s: refused with %s: %s", role,
                  sql, state ? state : "?", PQerrorMessage(c));
    PQclear(r);
}

static void allowed(PGconn *c, const char *role, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s may not run: %s: %s", role, sql,
                  PQerrorMessage(c));
    PQclear(r);
}

static PGconn *as(const char *role)
{
    char *url = ts_role_url(db_url, role);
    PGconn *c = ts_pg(url);
    free(url);
    return c;
}

/* Statements refused to every application role: the raw tables' and the schema's integrity. */
static void raw_tables_untouchable(PGconn *c, const char *role)
{
    char sql[256];
    const char *stmts[] = {"UPDATE spans SET name = 'x'",
                           "DELETE FROM spans",
                           "TRUNCATE spans",
                           "UPDATE logs SET message = 'x'",
                           "DELETE FROM logs",
                           "TRUNCATE metric_points",
                           "DELETE FROM change_events",
                           "UPDATE resources SET service = 'x'",
                           "ALTER TABLE spans DISABLE TRIGGER ALL",
                           "ALTER TABLE spans DISABLE TRIGGER spans_immutable",
                           "ALTER TABLE logs DISABLE TRIGGER USER",
                           "ALTER TABLE spans ALTER COLUMN name DROP NOT NULL",
                           "DROP TRIGGER spans_immutable ON spans",
                           "UPDATE analyses SET report = '{}'",
                           "DELETE FROM analyses",
                           "TRUNCATE analyses",
                           "DELETE FROM feedback",
                           "CREATE TABLE intruder (id int)",
                           "SELECT drop_raw_partitions_older_than(0)",
                           "CREATE OR REPLACE FUNCTION raw_immutable() RETURNS trigger LANGUAGE plpgsql AS "
                           "$$ BEGIN RETURN NULL; END $$",
                           "ALTER FUNCTION ensure_raw_partitions(date, boolean) OWNER TO CURRENT_USER",
                           NULL};
    for (int i = 0; stmts[i]; i++)
        refused(c, role, stmts[i]);
    const char *on_part[] = {"ALTER TABLE spans DETACH PARTITION %s",
                             "DROP TABLE %s",
                             "UPDATE %s SET name = 'x'",
                             "DELETE FROM %s",
                             "TRUNCATE %s",
                             "ALTER TABLE %s DISABLE TRIGGER ALL",
                             NULL};
    for (int i = 0; on_part[i]; i++) {
        snprintf(sql, sizeof(sql), on_part[i], part);
        refused(c, role, sql);
    }
}

static void setup_db(void)
{
    db_url = ts_create_database("roles");
    char dburl[512], mig[512], out[8192];
    snprintf(dburl, sizeof(dburl), "DATABASE_URL=%s", db_url);
    snprintf(mig, sizeof(mig), "MIGRATIONS_DIR=%s/migrations", ts_env("PS_SOURCE_DIR"));
    const char *env[] = {dburl,
                         mig,
                         "INGEST_API_KEYS=" TS_INGEST_KEY,
                         "READ_API_KEYS=" TS_READ_KEY,
                         "ADMIN_API_KEY=" TS_ADMIN_KEY,
                         NULL};
    ck_assert_msg(ts_run_program("backend/prodsentinel-backend", "migrate", env, out, sizeof(out)) == 0,
                  "migrate: %s", out);
    /* a day partition (made through the ingest role's only way) and an incident to give feedback on */
    PGconn *in = as(TS_ROLE_INGEST);
    allowed(in, "ingest", "SELECT ensure_raw_partitions(current_date)");
    PQfinish(in);
    PGconn *c = ts_pg(db_url);
    PGresult *r = PQexec(c, "SELECT 'spans_p' || to_char(current_date, 'YYYYMMDD')");
    snprintf(part, sizeof(part), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    incident_id = ts_pg_long(c, "INSERT INTO incidents (fingerprint, title, first_seen, last_seen) VALUES "
                                "('fp-roles', 'roles', now(), now()) RETURNING id");
    ck_assert_int_gt(incident_id, 0);
    PQfinish(c);
}

static void teardown_db(void)
{
    free(db_url);
}

START_TEST(no_role_is_superuser_or_owner)
{
    PGconn *c = ts_pg(db_url);
    ck_assert_int_eq(
        ts_pg_long(c, "SELECT count(*) FROM pg_roles WHERE rolname IN ('prodsentinel_ingest', "
                      "'prodsentinel_query', 'prodsentinel_pipeline', current_user) AND "
                      "(rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls OR rolreplication)"),
        0);
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM pg_class WHERE pg_get_userbyid(relowner) IN "
                                   "('prodsentinel_ingest', 'prodsentinel_query', 'prodsentinel_pipeline')"),
                     0);
    ck_assert_int_eq(ts_pg_long(c,
                                "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
                                "WHERE r.rolname IN ('prodsentinel_ingest', 'prodsentinel_query', "
                                "'prodsentinel_pipeline')"),
                     0);
    /* the partition function runs as the owner, with a search_path callers cannot hijack */
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM pg_proc WHERE proname = 'ensure_raw_partitions' AND "
                                   "prosecdef AND proconfig::text LIKE '%search_path=pg_catalog, pg_temp%'"),
                     1);
    PQfinish(c);
}
END_TEST

START_TEST(ingest_may_only_insert)
{
    PGconn *c = as(TS_ROLE_INGEST);
    raw_tables_untouchable(c, "ingest");
    refused(c, "ingest", "SELECT count(*) FROM spans");
    refused(c, "ingest", "SELECT count(*) FROM incidents");
    refused(c, "ingest",
            "INSERT INTO analyses (trace_id, version, evidence, report, generated_by) VALUES "
            "('t', 1, '{}', '{}', 'x')");
    refused(c, "ingest", "INSERT INTO feedback (incident_id, verdict) VALUES (1, 'right')");
    refused(c, "ingest", "UPDATE pending_triggers SET first_seen_ms = 0");
    long long now = (long long)time(NULL) * 1000000000LL;
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO spans (trace_id, span_id, service, name, start_ns, end_ns) VALUES "
             "('0123456789abcdef0123456789abcdef', '0123456789abcdef', 'svc', 'op', %lld, %lld) "
             "ON CONFLICT DO NOTHING",
             now, now + 1000);
    allowed(c, "ingest", sql);
    allowed(c, "ingest", sql); /* the duplicate path */
    const char *resource = "INSERT INTO resources (resource_hash, service) VALUES "
                           "('00000000-0000-0000-0000-000000000001', 'svc') ON CONFLICT DO NOTHING";
    allowed(c, "ingest", resource);
    allowed(c, "ingest", resource);
    refused(c, "ingest",
            "INSERT INTO resources (resource_hash, service) VALUES "
            "('00000000-0000-0000-0000-000000000001', 'svc') ON CONFLICT (resource_hash) DO NOTHING");
    allowed(c, "ingest", "SELECT ensure_raw_partitions(current_date + 1)");
    allowed(c, "ingest", "CREATE TEMP TABLE stage_x (id int) ON COMMIT DELETE ROWS");
    const char *trigger = "INSERT INTO pending_triggers (trace_id, first_seen_ms, last_seen_ms) VALUES "
                          "('trace-roles', 1, 2) ON CONFLICT (trace_id) DO UPDATE SET last_seen_ms = "
                          "EXCLUDED.last_seen_ms, errors = pending_triggers.errors + 1";
    allowed(c, "ingest", trigger);
    allowed(c, "ingest", trigger);
    allowed(c, "ingest", "SELECT trace_id FROM pending_triggers");
    /* the debounce marks a hand-over; only the pipeline's analysis removes a trigger (issue 14, 12) */
    allowed(c, "ingest", "UPDATE pending_triggers SET handed_at_ms = 3 WHERE trace_id = 'trace-roles'");
    refused(c, "ingest", "DELETE FROM pending_triggers WHERE trace_id = 'trace-roles'");
    PQfinish(c);
}
END_TEST

START_TEST(query_may_only_read_and_give_feedback)
{
    PGconn *c = as(TS_ROLE_QUERY);
    raw_tables_untouchable(c, "query");
    refused(c, "query",
            "INSERT INTO spans (trace_id, span_id, service, name, start_ns, end_ns) VALUES "
            "('t', 's', 'svc', 'op', 1, 2)");
    refused(c, "query",
            "INSERT INTO logs (ts_ns, service, level, severity, message, content_hash) VALUES "
            "(1, 's', 'ERROR', 5, 'm', gen_random_uuid())");
    refused(c, "query", "SELECT ensure_raw_partitions(current_date)");
    refused(c, "query",
            "INSERT INTO analyses (trace_id, version, evidence, report, generated_by) VALUES "
            "('t', 1, '{}', '{}', 'x')");
    refused(c, "query",
            "INSERT INTO incidents (fingerprint, title, first_seen, last_seen) VALUES "
            "('x', 'x', now(), now())");
    refused(c, "query", "UPDATE incidents SET title = 'x'");
    refused(c, "query", "DELETE FROM incidents");
    refused(c, "query", "UPDATE feedback SET verdict = 'wrong'");
    refused(c, "query", "DELETE FROM pending_triggers");
    refused(c, "query", "CREATE TEMP TABLE t (id int)");
    allowed(c, "query", "SELECT count(*) FROM spans");
    allowed(c, "query", "SELECT count(*) FROM analyses");
    allowed(c, "query", "SELECT count(*) FROM metric_values(0, 1)");
    allowed(c, "query", "SELECT count(*) FROM metric_value_names(0::smallint, 'x', NULL)");
    char sql[256];
    snprintf(sql, sizeof(sql),
             "INSERT INTO feedback (incident_id, verdict) VALUES (%ld, 'right') RETURNING *", incident_id);
    allowed(c, "query", sql);
    snprintf(sql, sizeof(sql),
             "UPDATE incidents SET report_state = 'pending', updated_at = now() WHERE id = %ld", incident_id);
    allowed(c, "query", sql); /* rerun of a degradation report */
    PQfinish(c);
}
END_TEST

START_TEST(pipeline_appends_analyses)
{
    PGconn *c = as(TS_ROLE_PIPELINE);
    raw_tables_untouchable(c, "pipeline");
    refused(c, "pipeline",
            "INSERT INTO spans (trace_id, span_id, service, name, start_ns, end_ns) VALUES "
            "('t', 's', 'svc', 'op', 1, 2)");
    refused(c, "pipeline", "SELECT ensure_raw_partitions(current_date)");
    refused(c, "pipeline", "DELETE FROM incidents");
    refused(c, "pipeline", "DELETE FROM alert_deliveries");
    refused(c, "pipeline", "INSERT INTO feedback (incident_id, verdict) VALUES (1, 'right')");
    refused(c, "pipeline", "UPDATE pending_triggers SET handed_at_ms = 1");
    /* a trigger leaves with the analysis that answers it (issue 14, 12) */
    allowed(c, "pipeline", "DELETE FROM pending_triggers WHERE trace_id = 'no-such-trace'");
    allowed(c, "pipeline",
            "INSERT INTO llm_budget (hour, calls) VALUES (date_trunc('hour', now()), 1) "
            "ON CONFLICT (hour) DO UPDATE SET calls = llm_budget.calls + 1");
    allowed(c, "pipeline", "SELECT count(*) FROM spans");
    allowed(c, "pipeline", "SELECT count(*) FROM metric_values(0, 1)");
    char sql[512];
    for (int v = 1; v <= 2; v++) { /* a new version is a new row */
        snprintf(
            sql, sizeof(sql),
            "INSERT INTO analyses (incident_id, trace_id, version, evidence, report, generated_by) VALUES "
            "(%ld, 'trace-roles', %d, '{}', '{}', 'deterministic')",
            incident_id, v);
        allowed(c, "pipeline", sql);
    }
    snprintf(sql, sizeof(sql),
             "UPDATE incidents SET report_state = 'ready', updated_at = now() WHERE id = %ld", incident_id);
    allowed(c, "pipeline", sql);
    refused(c, "pipeline", "UPDATE analyses SET generated_by = 'llm' WHERE trace_id = 'trace-roles'");
    PQfinish(c);
    /* append-only in the database itself: the owner's UPDATE and DELETE are refused too */
    PGconn *o = ts_pg(db_url);
    refused(o, "owner", "UPDATE analyses SET generated_by = 'llm'");
    refused(o, "owner", "DELETE FROM analyses");
    refused(o, "owner", "TRUNCATE analyses CASCADE");
    ck_assert_int_eq(ts_pg_long(o, "SELECT count(*) FROM analyses WHERE trace_id = 'trace-roles'"), 2);
    PQfinish(o);
}
END_TEST

/* ---------------- a backend and a pipeline running as the roles ---------------- */

static ts_proc_t backend, pipeline;
static char prefix[64];

static void setup_stack(void)
{
    char suffix[9];
    ts_hex(suffix, 8);
    snprintf(prefix, sizeof(prefix), "t:%s:", suffix);
    db_url = ts_create_database("rolese2e");
    const char *benv[] = {"DEBOUNCE_QUIET_MS=300", "DEBOUNCE_MAX_MS=2000", NULL};
    ck_assert_int_eq(ts_start_backend(&backend, db_url, prefix, benv), 0);
    /* the pipeline is not even given the owner's URL */
    static char pdb[512];
    char *purl = ts_role_url(db_url, TS_ROLE_PIPELINE);
    snprintf(pdb, sizeof(pdb), "DATABASE_URL=%s", purl);
    free(purl);
    const char *penv[] = {pdb, NULL};
    ck_assert_int_eq(ts_start_pipeline(&pipeline, db_url, prefix, penv), 0);
}

static void teardown_stack(void)
{
    ts_stop(&pipeline, SIGTERM);
    ts_stop(&backend, SIGTERM);
    free(db_url);
}

START_TEST(programs_work_as_the_roles)
{
    char trace[33], url[256], body[2048];
    ts_hex(trace, 32);
    long long now = (long long)time(NULL) * 1000000000LL;
    snprintf(
        body, sizeof(body),
        "{\"spans\":[{\"trace_id\":\"%s\",\"span_id\":\"b000000000000001\",\"service\":\"gateway\","
        "\"name\":\"POST /orders\",\"kind\":\"SERVER\",\"start_time\":%lld,\"end_time\":%lld,"
        "\"status\":\"ERROR\"},{\"trace_id\":\"%s\",\"span_id\":\"b000000000000002\",\"parent_span_id\":"
        "\"b000000000000001\",\"service\":\"payment\",\"name\":\"db.query charge\",\"kind\":\"CLIENT\","
        "\"start_time\":%lld,\"end_time\":%lld,\"status\":\"ERROR\",\"status_message\":\"db timeout\"}]}",
        trace, now, now + 900000000, trace, now + 1000000, now + 880000000);
    snprintf(url, sizeof(url), "%s/ingest/traces", backend.url);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ck_assert_msg(r.status == 200, "ingest: %ld %s", r.status, r.body);
    ts_resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"logs\":[{\"timestamp\":%lld,\"service\":\"payment\",\"level\":\"ERROR\",\"message\":"
             "\"charge failed: db timeout\",\"trace_id\":\"%s\",\"span_id\":\"b000000000000002\"}]}",
             now + 880000000, trace);
    snprintf(url, sizeof(url), "%s/ingest/logs", backend.url);
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ck_assert_msg(r.status == 200, "ingest logs: %ld %s", r.status, r.body);
    ts_resp_free(&r);

    /* OTLP: resources are written too (stored once, by hash) */
    snprintf(
        body, sizeof(body),
        "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
        "{\"stringValue\":\"payment\"}}]},\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"%lld\","
        "\"severityText\":\"ERROR\",\"body\":{\"stringValue\":\"retry failed\"},\"traceId\":\"%s\"}]}]}]}",
        now + 885000000, trace);
    snprintf(url, sizeof(url), "%s/v1/logs", backend.url);
    ck_assert_int_eq(ts_post_json(url, TS_INGEST_KEY, body, &r), 0);
    ck_assert_msg(r.status == 200 && !strstr(r.body, "rejected"), "otlp logs: %ld %s", r.status, r.body);
    ts_resp_free(&r);

    PGconn *c = ts_pg(db_url);
    char sql[256];
    ck_assert_int_eq(ts_pg_long(c, "SELECT count(*) FROM resources WHERE service = 'payment'"), 1);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM analyses WHERE trace_id = '%s'", trace);
    ck_assert_msg(ts_pg_wait_long(c, sql, 1, 30) >= 1, "no analysis of %s (see %s)", trace,
                  pipeline.log_path);
    incident_id = ts_pg_long(c, "SELECT max(incident_id) FROM analyses");
    PQfinish(c);

    /* the query API answers, and its one write (feedback) goes through */
    char auth[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", TS_READ_KEY);
    const char *h[] = {auth, "Content-Type: application/json", NULL};
    snprintf(url, sizeof(url), "%s/query/incidents/%ld", backend.url, incident_id);
    ck_assert_int_eq(ts_http("GET", url, h, NULL, 0, &r), 0);
    ck_assert_msg(r.status == 200 && strstr(r.body, trace), "query: %ld %s", r.status, r.body);
    ts_resp_free(&r);
    snprintf(url, sizeof(url), "%s/query/incidents/%ld/feedback", backend.url, incident_id);
    const char *fb = "{\"verdict\":\"right\"}";
    ck_assert_int_eq(ts_http("POST", url, h, fb, strlen(fb), &r), 0);
    ck_assert_msg(r.status == 201, "feedback: %ld %s", r.status, r.body);
    ts_resp_free(&r);
    snprintf(url, sizeof(url), "%s/ready", backend.url);
    ck_assert_int_eq(ts_http("GET", url, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ts_resp_free(&r);

    /* who is connected: each program as its role, nobody as the owner (migrations and retention have
     * closed their connections) */
    PGconn *admin = ts_pg(ts_env("PS_TEST_PG_ADMIN_URL"));
    const char *dbname = strrchr(db_url, '/') + 1;
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND usename NOT IN "
             "('prodsentinel_ingest', 'prodsentinel_query', 'prodsentinel_pipeline')",
             dbname);
    ck_assert_int_eq(ts_pg_long(admin, sql), 0);
    snprintf(sql, sizeof(sql),
             "SELECT count(DISTINCT usename) FROM pg_stat_activity WHERE datname = '%s' AND usename IN "
             "('prodsentinel_ingest', 'prodsentinel_query', 'prodsentinel_pipeline')",
             dbname);
    ck_assert_int_eq(ts_pg_long(admin, sql), 3);
    PQfinish(admin);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("db_roles");
    TCase *priv = tcase_create("privileges");
    tcase_add_checked_fixture(priv, setup_db, teardown_db);
    tcase_set_timeout(priv, 60);
    tcase_add_test(priv, no_role_is_superuser_or_owner);
    tcase_add_test(priv, ingest_may_only_insert);
    tcase_add_test(priv, query_may_only_read_and_give_feedback);
    tcase_add_test(priv, pipeline_appends_analyses);
    suite_add_tcase(s, priv);
    TCase *e2e = tcase_create("programs");
    tcase_add_checked_fixture(e2e, setup_stack, teardown_stack);
    tcase_set_timeout(e2e, 90);
    tcase_add_test(e2e, programs_work_as_the_roles);
    suite_add_tcase(s, e2e);
    return ts_run(s);
}
