/* Window-ranking reports of degradation incidents (see degradation_report.h). */
#include "degradation_report.h"
#include "alloc.h"
#include "incident_alerts.h"
#include "log.h"
#include "priors.h"
#include "suspects.h"
#include "store.h"
#include "window_rank.h"
#include "redact.h"
#include "window_report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The window's call graph for the suspect model: distinct (parent service, child service) pairs of
 * spans that both began in [$1, $2), the same parent/child pairs the window ranking builds its graph
 * from (rank/callgraph.c), read here as a few rows rather than exported from the ranking's arena.
 * Capped: a relation needs an edge, not every edge of a huge mesh. */
static const char EDGES_SQL[] =
    "SELECT DISTINCT p.service, c.service FROM spans c JOIN spans p ON p.trace_id = c.trace_id "
    "AND p.span_id = c.parent_span_id AND p.start_ns >= $1::bigint AND p.start_ns < $2::bigint "
    "WHERE c.start_ns >= $1::bigint AND c.start_ns < $2::bigint AND p.service <> c.service "
    "ORDER BY 1, 2 LIMIT 512";

/* The change events suspected of the degradation, ranked now by the one suspect model
 * (anomaly/suspects.h) rather than taken from the episodes' stored lists: an episode that began before
 * a deploy (and was extended) kept the suspects of its start. Symptoms: the metric episodes overlapping
 * [from, to) and the degradation itself, seen at `to` on `service` (the incident's service) and on
 * `ranked` (the ranking's leader, may be NULL); the call graph is the window's (EDGES_SQL; none known
 * when that query fails). Best first, as suspects_to_json() writes them, like trace and window reports. */
static json_t *rank_suspects(PGconn *c, int64_t from, int64_t to, const char *service, const char *ranked)
{
    suspect_opts_t so;
    suspect_opts_default(&so);
    priors_load(c, &so, NULL, 0); /* engineers' labels shift the type priors */
    char f[24], t[24], lo[24];
    snprintf(f, sizeof(f), "%" PRId64, from);
    snprintf(t, sizeof(t), "%" PRId64, to);
    snprintf(lo, sizeof(lo), "%" PRId64, from - so.window_ns);
    const char *p[] = {f, t};
    PGresult *er =
        PQexecParams(c,
                     "SELECT service, metric, start_ns, end_ns, baseline, peak, pct_change, peak_z, "
                     "direction FROM anomaly_episodes WHERE end_ns >= $1::bigint AND start_ns < "
                     "$2::bigint ORDER BY start_ns LIMIT 64",
                     2, NULL, p, NULL, NULL, 0);
    const char *q[] = {lo, t};
    PGresult *cr =
        PQexecParams(c,
                     "SELECT ts_ns, service, type, description FROM change_events WHERE ts_ns BETWEEN "
                     "$1::bigint AND $2::bigint ORDER BY ts_ns, event_hash LIMIT 1000",
                     2, NULL, q, NULL, NULL, 0);
    PGresult *gr = NULL;
    json_t *arr = NULL;
    if (PQresultStatus(er) == PGRES_TUPLES_OK && PQresultStatus(cr) == PGRES_TUPLES_OK && PQntuples(cr) > 0) {
        gr = PQexecParams(c, EDGES_SQL, 2, NULL, p, NULL, NULL, 0);
        int ne = PQntuples(er), nc = PQntuples(cr);
        int ng = PQresultStatus(gr) == PGRES_TUPLES_OK ? PQntuples(gr) : 0;
        if (PQresultStatus(gr) != PGRES_TUPLES_OK)
            log_warn("degradation suspects: call graph: %s", PQerrorMessage(c));
        symptom_t *sym = xcalloc((size_t)ne + 2, sizeof(*sym));
        size_t ns = 0;
        for (int i = 0; i < ne; i++) {
            symptom_t *y = &sym[ns++];
            y->service = PQgetvalue(er, i, 0);
            y->what = PQgetvalue(er, i, 1);
            y->ep = (episode_t){strtoll(PQgetvalue(er, i, 2), NULL, 10),
                                strtoll(PQgetvalue(er, i, 3), NULL, 10),
                                strtod(PQgetvalue(er, i, 4), NULL),
                                strtod(PQgetvalue(er, i, 5), NULL),
                                strtod(PQgetvalue(er, i, 6), NULL),
                                strtod(PQgetvalue(er, i, 7), NULL),
                                atoi(PQgetvalue(er, i, 8)),
                                1};
        }
        const char *who[] = {service, ranked && strcmp(ranked, service) ? ranked : NULL};
        for (int k = 0; k < 2; k++)
            if (who[k])
                sym[ns++] =
                    (symptom_t){who[k], "degradation", {.start_ns = to, .end_ns = to, .direction = 1}};
        change_event_t *ev = xcalloc((size_t)nc, sizeof(*ev));
        for (int i = 0; i < nc; i++)
            ev[i] = (change_event_t){
                strtoll(PQgetvalue(cr, i, 0), NULL, 10), PQgetisnull(cr, i, 1) ? NULL : PQgetvalue(cr, i, 1),
                PQgetvalue(cr, i, 2), PQgetisnull(cr, i, 3) ? NULL : PQgetvalue(cr, i, 3)};
        call_edge_t *edges = xcalloc((size_t)ng + 1, sizeof(*edges));
        for (int i = 0; i < ng; i++)
            edges[i] = (call_edge_t){PQgetvalue(gr, i, 0), PQgetvalue(gr, i, 1)};
        suspect_input_t in = {ev, (size_t)nc, sym, ns, edges, (size_t)ng};
        suspect_t *s = NULL;
        size_t n = suspects_rank_input(&in, &so, &s);
        arr = suspects_to_json(ev, s, n);
        free(s);
        free(edges);
        free(ev);
        free(sym);
    }
    PQclear(er);
    PQclear(cr);
    PQclear(gr);
    return arr ? arr : json_array();
}

static int report_one(PGconn *c, const alerts_t *alerts, const incident_policy_t *pol,
                      const incident_notifier_t *nt, PGresult *r, int i, int window_s)
{
    const char *id = PQgetvalue(r, i, 0), *title = PQgetvalue(r, i, 1);
    const char *sample = PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3);
    int64_t to = strtoll(PQgetvalue(r, i, 2), NULL, 10);
    int64_t len = (int64_t)window_s * 1000000000;
    int db_failed = 0;
    json_t *ranking = window_rank(c, to - len, to, to - 2 * len, to - len, &db_failed);
    if (ranking == NULL) return db_failed ? -1 : 0;
    const json_t *lead = json_array_get(json_object_get(ranking, "services"), 0);
    const char *leader = json_is_true(json_object_get(ranking, "nothing_stands_out"))
                             ? NULL
                             : json_string_value(json_object_get(lead, "service"));
    json_t *evidence = NULL, *suspects = rank_suspects(c, to - len, to, PQgetvalue(r, i, 4), leader);
    json_t *built = window_report_build(ranking, title, suspects, &evidence);
    json_decref(ranking);
    json_decref(suspects);
    if (built == NULL) return 0;
    /* the stored report is what alerts and the dashboard show: redacted like everything that leaves */
    json_t *report = redact_json(built);
    json_decref(built);
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
    /* the root cause decides grouping, so the page waits for it; the page brings this report along */
    if (ok &&
        incident_rows_report_root(c, pol, nt, row.incident_id, row.root_service, row.root_operation) != 0)
        log_warn("degradation incident %s: grouping or paging: %s", id, PQerrorMessage(c));
    if (ok && aid && incident_alerts_report(alerts, c, row.incident_id, aid) != 0)
        log_warn("degradation report of incident %s: alert not queued", id);
    json_decref(report);
    json_decref(evidence);
    return ok ? 1 : -1;
}

int degradation_report_pending(PGconn *c, const alerts_t *alerts, const incident_policy_t *pol,
                               const incident_notifier_t *nt, int window_s, int max)
{
    char lim[16];
    snprintf(lim, sizeof(lim), "%d", max);
    const char *p[] = {lim};
    PGresult *r =
        PQexecParams(c,
                     "SELECT id, title, (extract(epoch FROM first_seen) * 1e9)::bigint, sample_trace_id, "
                     "coalesce(services[1], root_service, '') "
                     "FROM incidents WHERE kind = 'degradation' AND report_state = 'pending' "
                     "ORDER BY id LIMIT $1::int",
                     1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return -1;
    }
    int done = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        int rc = report_one(c, alerts, pol, nt, r, i, window_s);
        if (rc < 0) {
            done = -1;
            break;
        }
        done += rc;
    }
    PQclear(r);
    return done;
}
