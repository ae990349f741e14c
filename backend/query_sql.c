/* Pool-thread execution of JSON-producing SQL (see query_sql.h). */
#include "query_sql.h"
#include "alloc.h"
#include "db.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_STATEMENT_TIMEOUT "15s" /* per read query */

typedef struct {
    httpd_job_t super;
    char *sql;
    int nparams;
    char *params[QUERY_MAX_PARAMS];
    char *not_found;
    int read_only;
    int created;
    /* result */
    int status;
    char *json;
    char error[256];
} query_job_t;

static void run(httpd_job_t *hjob, worker_t *w)
{
    query_job_t *j = (query_job_t *)hjob;
    j->status = 503;
    snprintf(j->error, sizeof(j->error), "database unavailable; retry later");
    if (!db_ensure(&w->pg, w->database_url)) goto out;
    PGresult *r = NULL;
    if (j->read_only) {
        /* a heavy query (a wide time range on a busy system) must not hold a pool thread for long: it is
         * cancelled and the client told to narrow it */
        r = PQexec(w->pg, "BEGIN READ ONLY; SET LOCAL statement_timeout = '" QUERY_STATEMENT_TIMEOUT "'");
        PQclear(r);
    }
    /* cancelled in PostgreSQL when the client goes away meanwhile */
    r = workpool_exec_params(w, j->sql, j->nparams, (const char *const *)j->params);
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        if (PQntuples(r) == 0 || PQgetisnull(r, 0, 0)) {
            j->status = 404;
            snprintf(j->error, sizeof(j->error), "%s", j->not_found ? j->not_found : "not found");
        } else {
            j->status = j->created ? 201 : 200;
            j->json = xstrdup(PQgetvalue(r, 0, 0));
        }
    } else if (PQstatus(w->pg) == CONNECTION_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        /* 22xxx: a parameter PostgreSQL could not use (e.g. an out-of-range number); 57014: cancelled by
         * the statement timeout */
        j->status = state && strncmp(state, "22", 2) == 0  ? 400
                    : state && strcmp(state, "57014") == 0 ? 504
                                                           : 500;
        snprintf(j->error, sizeof(j->error), "%s",
                 j->status == 400   ? PQresultErrorMessage(r)
                 : j->status == 504 ? "query took longer than " QUERY_STATEMENT_TIMEOUT
                                      "; narrow the time range"
                                    : "query failed");
        if (j->status == 500) log_error("query failed: %s", PQerrorMessage(w->pg));
    }
    PQclear(r);
    if (j->read_only && PQstatus(w->pg) == CONNECTION_OK) PQclear(PQexec(w->pg, "COMMIT"));
out:
    httpd_job_finish(hjob);
}

static void job_free(query_job_t *j)
{
    free(j->sql);
    for (int i = 0; i < j->nparams; i++)
        free(j->params[i]);
    free(j->not_found);
    free(j->json);
    free(j);
}

static void done(httpd_job_t *hjob, h2o_req_t *req)
{
    query_job_t *j = (query_job_t *)hjob;
    if (req) {
        if (j->status == 200 || j->status == 201) {
            httpd_send_text(req, j->status, "application/json", j->json, strlen(j->json));
        } else {
            if (j->status == 503) httpd_add_header(req, "Retry-After", "2");
            const char *code = j->status == 404   ? "not_found"
                               : j->status == 400 ? "invalid"
                               : j->status == 504 ? "timeout"
                                                  : "unavailable";
            httpd_send_error(req, j->status, code, j->error, NULL);
        }
    }
    job_free(j);
}

void query_sql_busy(h2o_req_t *req)
{
    httpd_add_header(req, "Retry-After", "1");
    httpd_send_error(req, 503, "busy", "too many queries waiting (QUERY_MAX_QUEUE); retry later", NULL);
}

void query_sql_submit(workpool_t *pool, h2o_req_t *req, const httpd_match_t *m, const query_sql_t *q)
{
    query_job_t *j = xcalloc(1, sizeof(*j));
    j->sql = xstrdup(q->sql);
    j->nparams = q->nparams;
    for (int i = 0; i < q->nparams; i++)
        j->params[i] = q->params[i] ? xstrdup(q->params[i]) : NULL;
    j->not_found = q->not_found ? xstrdup(q->not_found) : NULL;
    j->read_only = q->read_only;
    j->created = q->created;
    httpd_job_attach(&j->super, req, m->request_id, done);
    if (workpool_submit_cancellable(pool, &j->super, run) != 0) {
        httpd_job_detach(&j->super);
        query_sql_busy(req);
        job_free(j);
    }
}
