/* One trace from context to stored analysis (see analyse.h). */
#include "analyse.h"
#include "alloc.h"
#include "buf.h"
#include "context_load.h"
#include "incident_alerts.h"
#include "llm_budget.h"
#include "llm_io.h"
#include "log.h"
#include "priors.h"
#include "rca.h"
#include "redact.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct analyser {
    analyse_shared_t *shared;
    llm_client_t *llm; /* NULL: no LLM configured */
};

analyser_t *analyser_create(analyse_shared_t *shared)
{
    analyser_t *a = xcalloc(1, sizeof(*a));
    a->shared = shared;
    a->llm = llm_client_create(shared->cfg, &shared->breaker);
    return a;
}

void analyser_free(analyser_t *a)
{
    if (a == NULL) return;
    llm_client_free(a->llm);
    free(a);
}

void analyse_outcome_dispose(analyse_outcome_t *o)
{
    if (o == NULL) return;
    json_decref(o->report);
    json_decref(o->evidence);
    o->report = o->evidence = NULL;
}

static long cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

/* PostgreSQL array literal of a JSON array of strings. */
static void array_literal(json_t *arr, buf_t *out)
{
    buf_append_char(out, '{');
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (i) buf_append_char(out, ',');
        buf_append_char(out, '"');
        for (const char *p = json_string_value(v); p && *p; p++) {
            if (*p == '"' || *p == '\\') buf_append_char(out, '\\');
            buf_append_char(out, *p);
        }
        buf_append_char(out, '"');
    }
    buf_append_char(out, '}');
}

/* The report to store: the LLM's when it answered and passed the check, else the deterministic one,
 * which then says why. Fills the LLM bookkeeping of `row`. Returns a new reference. */
static json_t *write_report(analyser_t *a, PGconn *pg, rca_result_t *res, analysis_row_t *row,
                            char *llm_error, size_t errlen)
{
    row->generated_by = "deterministic";
    if (a->llm == NULL) {
        snprintf(llm_error, errlen, "no LLM configured: deterministic report");
        row->llm_error = llm_error;
        json_t *r = json_deep_copy(res->report);
        json_object_set_new(r, "note",
                            json_string("No LLM is configured; this report was written by the "
                                        "deterministic analysis alone."));
        return r;
    }
    llm_answer_t ans;
    memset(&ans, 0, sizeof(ans));
    int rc = -1;
    int budget = a->shared->cfg->llm_max_calls_per_hour;
    int granted = llm_budget_take(pg, budget);
    char *request = NULL;
    if (granted == 1) {
        row->llm_model = llm_client_model(a->llm);
        request = llm_build_request(llm_client_model(a->llm), res->evidence);
        if (request)
            rc = llm_client_complete(a->llm, request, &ans);
        else
            snprintf(ans.error, sizeof(ans.error), "the evidence could not be serialised");
    }
    free(request);
    row->llm_latency_ms = ans.latency_ms;
    row->prompt_tokens = ans.prompt_tokens;
    row->completion_tokens = ans.completion_tokens;
    json_t *checked = NULL;
    if (rc == 0) {
        char why[256];
        /* the confidence shown and used for alert suppression is the code's, never the model's */
        double confidence = json_number_value(json_object_get(res->report, "confidence"));
        checked = llm_check_answer(ans.content, res->evidence, confidence, why, sizeof(why));
        if (!checked) snprintf(llm_error, errlen, "LLM answer rejected: %s", why);
    } else if (granted == 0) {
        snprintf(llm_error, errlen, "LLM budget of %d calls per hour reached (LLM_MAX_CALLS_PER_HOUR)",
                 budget);
    } else if (granted < 0) {
        snprintf(llm_error, errlen, "LLM budget could not be checked (PostgreSQL): no call made");
    } else {
        snprintf(llm_error, errlen, "LLM call failed: %s", ans.error);
    }
    llm_answer_dispose(&ans);
    if (checked) {
        row->generated_by = "llm";
        return checked;
    }
    row->llm_error = llm_error;
    log_write(LOG_WARN, NULL,
              res->evidence ? json_string_value(json_object_get(res->evidence, "trace_id")) : NULL,
              "%s; the deterministic report stands", llm_error);
    json_t *r = json_deep_copy(res->report);
    char note[600];
    snprintf(note, sizeof(note),
             "The LLM's report was not used (%.400s); this report was written by the "
             "deterministic analysis.",
             llm_error);
    json_object_set_new(r, "note", json_string(note));
    return r;
}

/* Queues the alert of a stored report when its incident paged (incident_alerts.h): the incident's own page
 * is queued by its transition (common/incident_rows.h), in the transaction that joined the trace. Returns
 * 0, or -1 when the alert could not be stored. */
static int alert_report(const alerts_t *al, PGconn *pg, long long incident, long long analysis_id)
{
    return incident_alerts_report(al, pg, incident, analysis_id);
}

int analyse_trace(analyser_t *a, PGconn *pg, const analyse_request_t *req, analyse_outcome_t *out, char *err,
                  size_t errlen)
{
    memset(out, 0, sizeof(*out));
    trace_ctx_t ctx;
    int rc = -1;
    rca_result_t res;
    memset(&res, 0, sizeof(res));
    context_limits_t lim = {a->shared->cfg->max_spans_per_trace, a->shared->cfg->max_logs_per_trace};
    if (context_load(pg, req->trace_id, &lim, &ctx, err, errlen) != 0) goto out;
    if (ctx.t.nspans + ctx.t.nlogs == 0) {
        /* found = 0: nothing will ever be analysed; a trigger of it (its records dropped) is done */
        if (store_trigger_consume(pg, req->trace_id, req->handed_ms) != 0)
            snprintf(err, errlen, "pending trigger: %s", PQerrorMessage(pg));
        else
            rc = 0;
        goto out;
    }
    long cpu0 = cpu_us();
    suspect_opts_t priors;
    suspect_opts_default(&priors);
    priors_load(pg, &priors, NULL, 0); /* engineers' labels shift the suspect type priors */
    rca_opts_t opts = {NULL, 0, 20, &priors};
    rca_analyse(&ctx.t, &opts, &res);
    if (res.slow) {
        /* no error: judge slowness against the operations' usual durations */
        if (context_load_baselines(pg, &ctx, err, errlen) != 0) goto out;
        rca_result_dispose(&res);
        opts.baselines = ctx.baselines;
        opts.nbaselines = ctx.nbaselines;
        rca_analyse(&ctx.t, &opts, &res);
    }
    long cpu = cpu_us() - cpu0;
    out->found = 1;

    buf_t svc, eps;
    buf_init(&svc, 1 << 20);
    buf_init(&eps, 1 << 20);
    array_literal(res.services, &svc);
    array_literal(res.endpoints, &eps);
    incident_trace_in_t in = {.fingerprint = res.fingerprint,
                              .title = res.title,
                              .kind = res.slow ? "slow" : "error",
                              .root_service = res.found_root ? res.service : NULL,
                              .root_operation = res.found_root ? res.operation : NULL,
                              .exception_type = res.exception_type[0] ? res.exception_type : NULL,
                              .trace_id = req->trace_id,
                              .services_literal = svc.data,
                              .endpoints_literal = eps.data,
                              .first_ns = res.first_ns,
                              .last_ns = res.last_ns};
    incident_trace_out_t inc;
    incident_policy_t pol;
    incident_policy_init(&pol, a->shared->cfg);
    incident_notifier_t nt = incident_alerts_notifier(a->shared->alerts);
    /* joining is the whole analysis unless a report is asked for */
    int joined =
        store_incident_join(pg, &pol, &nt, &in, req->force_report ? 0 : req->handed_ms, &inc, err, errlen);
    buf_dispose(&svc);
    buf_dispose(&eps);
    if (joined != 0) goto out;
    out->incident_id = inc.id;
    out->evidence = json_incref(res.evidence);
    if (!inc.needs_report && !req->force_report) {
        /* a storm of traces with one cause: one report (and one LLM call) per incident */
        out->report = json_incref(res.report);
        rc = 0;
        goto out;
    }
    analysis_row_t row = {.incident_id = inc.id,
                          .trace_id = req->trace_id,
                          .job_id = req->job_id,
                          .fingerprint = res.fingerprint,
                          .root_service = res.found_root ? res.service : NULL,
                          .root_span_id = res.found_root ? res.span_id : NULL,
                          .root_operation = res.found_root ? res.operation : NULL,
                          .exception_type = res.exception_type[0] ? res.exception_type : NULL,
                          .evidence = res.evidence,
                          .analysis_cpu_us = cpu,
                          .trigger_handed_ms = req->handed_ms};
    char llm_error[400];
    /* the stored report is what alerts and the dashboard show: redacted like everything that leaves */
    json_t *written = write_report(a, pg, &res, &row, llm_error, sizeof(llm_error));
    json_t *report = redact_json(written);
    json_decref(written);
    row.report = report;
    long long id;
    int version;
    if (store_analysis(pg, &row, &id, &version, err, errlen) != 0) {
        json_decref(report);
        goto out;
    }
    out->analysis_id = id;
    out->version = version;
    out->report = report;
    if (id == 0) {
        /* another delivery of this job stored it first: queue its alerts, they may not be yet */
        rc = analyse_realert(a, pg, req->job_id);
        if (rc != 0) snprintf(err, errlen, "alerts of job %s not queued", req->job_id);
        goto out;
    }
    if (alert_report(a->shared->alerts, pg, inc.id, id) != 0) {
        /* the analysis is stored: the redelivered job queues the alerts again (analyse_realert) */
        snprintf(err, errlen, "analysis %lld stored, its alerts not queued", id);
        goto out;
    }
    log_write(LOG_INFO, NULL, req->trace_id, "analysed: incident %lld, %s, root cause %s/%s (%s)", inc.id,
              row.generated_by, res.found_root ? res.service : "-", res.found_root ? res.operation : "-",
              res.fingerprint);
    rc = 0;
out:
    if (rc != 0) analyse_outcome_dispose(out);
    rca_result_dispose(&res);
    context_dispose(&ctx);
    return rc;
}

int analyse_realert(analyser_t *a, PGconn *pg, const char *job_id)
{
    if (a->shared->alerts == NULL || job_id == NULL) return 0;
    const char *p[] = {job_id};
    PGresult *r = PQexecParams(pg,
                               "SELECT a.incident_id, a.id FROM analyses a WHERE a.job_id = $1 "
                               "AND a.incident_id IS NOT NULL",
                               1, NULL, p, NULL, NULL, 0);
    int rc = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_warn("alerts of job %s: %s", job_id, PQerrorMessage(pg));
        goto out;
    }
    rc = 0;
    if (PQntuples(r) == 0) goto out; /* no analysis, or one of no incident: nothing to announce */
    rc = alert_report(a->shared->alerts, pg, strtoll(PQgetvalue(r, 0, 0), NULL, 10),
                      strtoll(PQgetvalue(r, 0, 1), NULL, 10));
out:
    PQclear(r);
    return rc;
}
