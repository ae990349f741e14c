/* Window-ranking reports of degradation incidents (see degradation_report.h). */
#include "degradation_report.h"
#include "log.h"
#include "store.h"
#include "window_rank.h"
#include "window_report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The change events suspected by the metric anomaly episodes that overlap [from, to): each once (the
 * highest confidence any episode gave it, with that episode's evidence), best first. */
static json_t *episode_suspects(PGconn *c, int64_t from, int64_t to)
{
    char f[24], t[24];
    snprintf(f, sizeof(f), "%" PRId64, from);
    snprintf(t, sizeof(t), "%" PRId64, to);
    const char *p[] = {f, t};
    PGresult *r =
        PQexecParams(c,
                     "SELECT coalesce(jsonb_agg(s ORDER BY (s->>'confidence')::float8 DESC, s->>'ts_ns'), "
                     "'[]')::text FROM (SELECT DISTINCT ON (x->>'type', x->>'service', x->>'ts_ns') x AS s "
                     "  FROM anomaly_episodes e, jsonb_array_elements(e.suspects) x "
                     "  WHERE e.end_ns >= $1::bigint AND e.start_ns < $2::bigint "
                     "  ORDER BY x->>'type', x->>'service', x->>'ts_ns', (x->>'confidence')::float8 DESC) d",
                     2, NULL, p, NULL, NULL, 0);
    json_t *out = PQresultStatus(r) == PGRES_TUPLES_OK ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
    PQclear(r);
    return out ? out : json_array();
}

static int report_one(PGconn *c, const alerts_t *alerts, PGresult *r, int i, int window_s)
{
    const char *id = PQgetvalue(r, i, 0), *title = PQgetvalue(r, i, 1);
    const char *sample = PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3);
    int64_t to = strtoll(PQgetvalue(r, i, 2), NULL, 10);
    int64_t len = (int64_t)window_s * 1000000000;
    int db_failed = 0;
    json_t *ranking = window_rank(c, to - len, to, to - 2 * len, to - len, &db_failed);
    if (ranking == NULL) return db_failed ? -1 : 0;
    json_t *evidence = NULL, *suspects = episode_suspects(c, to - len, to);
    json_t *report = window_report_build(ranking, title, suspects, &evidence);
    json_decref(ranking);
    json_decref(suspects);
    if (report == NULL) return 0;
    char trace[64];
    snprintf(trace, sizeof(trace), "window:%s", id); /* a degradation without any trace of its endpoint */
    const json_t *rc = json_object_get(evidence, "root_cause");
    analysis_row_t row = {
        .incident_id = strtoll(id, NULL, 10),
        .trace_id = sample ? sample : trace,
        .root_service = json_string_value(json_object_get(rc, "service")),
        .root_operation = json_string_value(json_object_get(rc, "operation")),
        .evidence = evidence,
        .report = report,
        .generated_by = "deterministic",
    };
    long long aid;
    int version;
    char err[512];
    int ok = store_analysis(c, &row, &aid, &version, err, sizeof(err)) == 0;
    if (!ok) log_warn("degradation report of incident %s: %s", id, err);
    if (ok && row.root_service) {
        const char *p[] = {id, row.root_service, row.root_operation};
        PQclear(
            PQexecParams(c,
                         "UPDATE incidents SET root_service = $2, root_operation = $3, updated_at = now() "
                         "WHERE id = $1::bigint",
                         3, NULL, p, NULL, NULL, 0));
    }
    if (ok && alerts) {
        char key[96], text[2048];
        snprintf(key, sizeof(key), "report:%s:%d", id, version);
        snprintf(text, sizeof(text), "Report for incident #%s (v%d): %s", id, version,
                 json_string_value(json_object_get(report, "summary")));
        json_t *payload =
            json_pack("{s:s, s:I, s:i, s:O, s:s}", "kind", "report", "incident_id",
                      (json_int_t)row.incident_id, "version", version, "report", report, "text", text);
        alerts_enqueue(alerts, c, "report", key, payload,
                       json_number_value(json_object_get(report, "confidence")));
        json_decref(payload);
    }
    json_decref(report);
    json_decref(evidence);
    return ok ? 1 : -1;
}

int degradation_report_pending(PGconn *c, const alerts_t *alerts, int window_s, int max)
{
    char lim[16];
    snprintf(lim, sizeof(lim), "%d", max);
    const char *p[] = {lim};
    PGresult *r =
        PQexecParams(c,
                     "SELECT id, title, (extract(epoch FROM first_seen) * 1e9)::bigint, sample_trace_id "
                     "FROM incidents WHERE kind = 'degradation' AND report_state = 'pending' "
                     "ORDER BY id LIMIT $1::int",
                     1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return -1;
    }
    int done = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        int rc = report_one(c, alerts, r, i, window_s);
        if (rc < 0) {
            done = -1;
            break;
        }
        done += rc;
    }
    PQclear(r);
    return done;
}
