/* Incident, analysis and dead-letter writes (see store.h). */
#include "store.h"
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(PGconn *c, PGresult *r, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", what, PQerrorMessage(c));
    PQclear(r);
    PQclear(PQexec(c, "ROLLBACK"));
    return -1;
}

/* The DELETE of a consumed trigger, inside the caller's transaction or alone. Returns 0 or -1. */
static int consume_trigger(PGconn *c, const char *trace_id, long long handed_ms)
{
    if (handed_ms <= 0) return 0;
    char handed[24];
    snprintf(handed, sizeof(handed), "%lld", handed_ms);
    const char *p[] = {trace_id, handed};
    PGresult *r =
        PQexecParams(c, "DELETE FROM pending_triggers WHERE trace_id = $1 AND last_seen_ms <= $2::bigint", 2,
                     NULL, p, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    PQclear(r);
    return rc;
}

int store_trigger_consume(PGconn *c, const char *trace_id, long long handed_ms)
{
    return consume_trigger(c, trace_id, handed_ms);
}

int store_trigger_pending(PGconn *c, const char *trace_id)
{
    const char *p[] = {trace_id};
    PGresult *r =
        PQexecParams(c, "SELECT 1 FROM pending_triggers WHERE trace_id = $1", 1, NULL, p, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) > 0 : -1;
    PQclear(r);
    return rc;
}

int store_incident_join(PGconn *c, const incident_policy_t *pol, const incident_notifier_t *nt,
                        const incident_trace_in_t *in, long long trigger_handed_ms, incident_trace_out_t *out,
                        char *err, size_t errlen)
{
    PGresult *r = PQexec(c, "BEGIN");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return fail(c, r, "begin", err, errlen);
    PQclear(r);
    if (incident_rows_join_trace(c, pol, nt, in, out, err, errlen) != 0) {
        PQclear(PQexec(c, "ROLLBACK"));
        return -1;
    }
    if (!out->needs_report && consume_trigger(c, in->trace_id, trigger_handed_ms) != 0)
        return fail(c, NULL, "pending trigger", err, errlen);
    r = PQexec(c, "COMMIT");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return fail(c, r, "commit", err, errlen);
    PQclear(r);
    return 0;
}

/* One transaction: the analysis row, the incident's report state, the trigger. Returns 0, or -1 with
 * *retry set when another analysis took the version number first. */
static int insert_analysis(PGconn *c, const analysis_row_t *row, const char *const *p, long long *id,
                           int *version, int *retry, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, "BEGIN");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return fail(c, r, "begin", err, errlen);
    PQclear(r);
    r = PQexecParams(
        c,
        "INSERT INTO analyses (incident_id, trace_id, version, job_id, fingerprint, root_service, "
        "root_span_id, root_operation, exception_type, evidence, report, generated_by, llm_model, llm_error, "
        "prompt_tokens, completion_tokens, llm_latency_ms, analysis_cpu_us) "
        "SELECT $1::bigint, $2, coalesce((SELECT max(version) FROM analyses WHERE trace_id = $2), 0) + 1, "
        "$3, "
        "$4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $12, $13, $14::int, $15::int, $16::int, $17::int "
        "ON CONFLICT (job_id) DO NOTHING RETURNING id, version",
        17, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        *retry = state && strcmp(state, "23505") == 0;
        return fail(c, r, "analysis", err, errlen);
    }
    if (PQntuples(r) == 1) {
        *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        *version = atoi(PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    if (row->incident_id && incident_rows_report_ready(c, row->incident_id) != 0)
        return fail(c, NULL, "incident report state", err, errlen);
    if (consume_trigger(c, row->trace_id, row->trigger_handed_ms) != 0)
        return fail(c, NULL, "pending trigger", err, errlen);
    r = PQexec(c, "COMMIT");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return fail(c, r, "commit", err, errlen);
    PQclear(r);
    return 0;
}

int store_analysis(PGconn *c, const analysis_row_t *row, long long *id, int *version, char *err,
                   size_t errlen)
{
    *id = 0;
    *version = 0;
    char *evidence = json_dumps(row->evidence, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *report = json_dumps(row->report, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char incident[24], pt[16], ct[16], lat[24], cpu[24];
    snprintf(incident, sizeof(incident), "%lld", row->incident_id);
    snprintf(pt, sizeof(pt), "%d", row->prompt_tokens);
    snprintf(ct, sizeof(ct), "%d", row->completion_tokens);
    snprintf(lat, sizeof(lat), "%ld", row->llm_latency_ms);
    snprintf(cpu, sizeof(cpu), "%ld", row->analysis_cpu_us);
    int llm = strcmp(row->generated_by, "llm") == 0;
    const char *p[] = {row->incident_id ? incident : NULL,
                       row->trace_id,
                       row->job_id,
                       row->fingerprint,
                       row->root_service,
                       row->root_span_id,
                       row->root_operation,
                       row->exception_type,
                       evidence,
                       report,
                       row->generated_by,
                       row->llm_model,
                       row->llm_error,
                       llm ? pt : NULL,
                       llm ? ct : NULL,
                       row->llm_model ? lat : NULL,
                       cpu};
    int rc = -1;
    /* two analyses of one trace at once may race for a version number: try again */
    for (int attempt = 0; attempt < 3 && rc != 0; attempt++) {
        int retry = 0;
        rc = insert_analysis(c, row, p, id, version, &retry, err, errlen);
        if (!retry) break;
    }
    free(evidence);
    free(report);
    return rc;
}

int store_job_done(PGconn *c, const char *job_id)
{
    const char *p[] = {job_id};
    PGresult *r = PQexecParams(c, "SELECT 1 FROM analyses WHERE job_id = $1", 1, NULL, p, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) > 0 : -1;
    PQclear(r);
    return rc;
}

int store_dead_letter(PGconn *c, const char *job_id, const char *trace_id, long attempts, const char *error,
                      long long trigger_handed_ms)
{
    char n[24], err[256];
    snprintf(n, sizeof(n), "%ld", attempts);
    const char *p[] = {job_id, trace_id, n, error};
    PGresult *r = PQexec(c, "BEGIN");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return fail(c, r, "begin", err, sizeof(err));
    PQclear(r);
    r = PQexecParams(c,
                     "INSERT INTO dead_letters (job_id, trace_id, attempts, last_error) VALUES ($1, $2, "
                     "$3::int, $4) ON CONFLICT (job_id) DO NOTHING",
                     4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return fail(c, r, "dead letter", err, sizeof(err));
    PQclear(r);
    if (consume_trigger(c, trace_id, trigger_handed_ms) != 0)
        return fail(c, NULL, "trigger", err, sizeof(err));
    r = PQexec(c, "COMMIT");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return fail(c, r, "commit", err, sizeof(err));
    PQclear(r);
    return 0;
}

/* One key per trace in the advisory lock space; the prefix keeps it apart from other users of that space
 * (migrations, incident grouping, alert claims), whose keys a 64-bit hash does not meet in practice. */
#define TRACE_LOCK_KEY "hashtextextended('analysis:' || $1, 0)"

/* The boolean a lock function answered: 1 true, 0 false, -1 on error. */
static int trace_lock_call(PGconn *c, const char *sql, const char *trace_id)
{
    const char *p[] = {trace_id};
    PGresult *r = PQexecParams(c, sql, 1, NULL, p, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? strcmp(PQgetvalue(r, 0, 0), "t") == 0
                                                                       : -1;
    PQclear(r);
    return rc;
}

int store_trace_try_lock(PGconn *c, const char *trace_id)
{
    return trace_lock_call(c, "SELECT pg_try_advisory_lock(" TRACE_LOCK_KEY ")", trace_id);
}

int store_trace_unlock(PGconn *c, const char *trace_id)
{
    return trace_lock_call(c, "SELECT pg_advisory_unlock(" TRACE_LOCK_KEY ")", trace_id) == 1 ? 0 : -1;
}
