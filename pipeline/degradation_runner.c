/* Rolling-window degradation detection over stored spans (see degradation_runner.h). */
#include "degradation_runner.h"
#include "alloc.h"
#include "db.h"
#include "degradation_report.h"
#include "degrade.h"
#include "log.h"
#include "program.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEGRADE_REPORTS_PER_PASS 4

struct degradation_runner {
    const config_t *cfg;
    const alerts_t *alerts;
    const leader_t *leader;
    pthread_t tid;
    atomic_int stopping;
};

static const char windows_sql[] =
    "SELECT s.service, s.name,"
    " count(*) FILTER (WHERE s.start_ns < $2::bigint),"
    " coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY (s.end_ns - s.start_ns) / 1e6)"
    "   FILTER (WHERE s.start_ns < $2::bigint), 0),"
    " coalesce(avg((s.status = 2)::int) FILTER (WHERE s.start_ns < $2::bigint), 0),"
    " count(*) FILTER (WHERE s.start_ns >= $2::bigint),"
    " coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY (s.end_ns - s.start_ns) / 1e6)"
    "   FILTER (WHERE s.start_ns >= $2::bigint), 0),"
    " coalesce(avg((s.status = 2)::int) FILTER (WHERE s.start_ns >= $2::bigint), 0),"
    " (SELECT count(*) FROM anomaly_episodes e WHERE e.service = s.service AND e.end_ns >= $2::bigint)"
    " FROM spans s WHERE s.start_ns >= $1::bigint AND s.start_ns < $3::bigint"
    "   AND (s.kind = 'SERVER' OR s.parent_span_id IS NULL)"
    " GROUP BY s.service, s.name ORDER BY s.service, s.name";

/* Opens the incident (or refreshes the open one). Its report waits as 'pending' for
 * degradation_report_pending(); its sample trace is the endpoint's slowest in the window. */
static void open_incident(degradation_runner_t *dr, PGconn *c, const char *service, const char *endpoint,
                          const degrade_verdict_t *v, const char *split, const char *to)
{
    char fp[600];
    snprintf(fp, sizeof(fp), "degradation:%s:%s", service, endpoint);
    const char *p[] = {fp, v->explanation, service, endpoint, split, to};
    PGresult *r = PQexecParams(
        c,
        "INSERT INTO incidents (fingerprint, kind, title, root_service, root_operation, "
        "first_seen, last_seen, trace_count, services, endpoints, report_state, sample_trace_id) "
        "VALUES ($1, 'degradation', $2, $3, $4, now(), now(), 0, ARRAY[$3], ARRAY[$4], 'pending', "
        " (SELECT trace_id FROM spans WHERE service = $3 AND name = $4 AND start_ns >= $5::bigint "
        "  AND start_ns < $6::bigint ORDER BY end_ns - start_ns DESC LIMIT 1)) "
        "ON CONFLICT (fingerprint) WHERE status = 'open' DO UPDATE SET last_seen = now(), "
        "updated_at = now(), title = EXCLUDED.title RETURNING id, (xmax = 0)",
        6, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 1), "t") == 0) {
        log_warn("degradation: %s", v->explanation);
        json_t *payload = alerts_degradation_payload(strtoll(PQgetvalue(r, 0, 0), NULL, 10), service,
                                                     endpoint, v->explanation);
        char key[640];
        snprintf(key, sizeof(key), "degradation:%s", PQgetvalue(r, 0, 0));
        alerts_enqueue(dr->alerts, c, "degradation", key, payload, -1);
        json_decref(payload);
    }
    PQclear(r);
}

static void pass(degradation_runner_t *dr, PGconn *c)
{
    const int64_t ns_per_s = 1000000000;
    int64_t now = (int64_t)now_ms() * 1000000;
    int64_t from_ns = now - (int64_t)(dr->cfg->degrade_window_s + dr->cfg->degrade_baseline_s) * ns_per_s;
    int64_t split_ns = now - (int64_t)dr->cfg->degrade_window_s * ns_per_s;
    char from[24], split[24], to[24];
    snprintf(from, sizeof(from), "%" PRId64, from_ns);
    snprintf(split, sizeof(split), "%" PRId64, split_ns);
    snprintf(to, sizeof(to), "%" PRId64, now);
    const char *p[] = {from, split, to};
    PGresult *r = PQexecParams(c, windows_sql, 3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_warn("degradation scan: %s", PQerrorMessage(c));
        PQclear(r);
        return;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        window_stats_t base = {atol(PQgetvalue(r, i, 2)), atof(PQgetvalue(r, i, 3)),
                               atof(PQgetvalue(r, i, 4))};
        window_stats_t cur = {atol(PQgetvalue(r, i, 5)), atof(PQgetvalue(r, i, 6)),
                              atof(PQgetvalue(r, i, 7))};
        degrade_verdict_t v;
        degrade_judge(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), &base, &cur, atoi(PQgetvalue(r, i, 8)), &v);
        if (v.degraded) open_incident(dr, c, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), &v, split, to);
    }
    PQclear(r);
}

static void *runner_main(void *arg)
{
    degradation_runner_t *dr = arg;
    PGconn *c = NULL;
    for (int waited = 0; !atomic_load(&dr->stopping); waited++) {
        if (!leader_holds(dr->leader, LEADER_DEGRADATION)) { /* another pipeline scans */
            sleep(1);
            continue;
        }
        if (waited >= dr->cfg->degrade_period_s) {
            waited = 0;
            if (db_ensure(&c, dr->cfg->pipeline_database_url)) pass(dr, c);
        }
        /* new incidents and re-runs: reports over their window, a few per second */
        if (db_ensure(&c, dr->cfg->pipeline_database_url) &&
            degradation_report_pending(c, dr->alerts, dr->cfg->degrade_window_s, DEGRADE_REPORTS_PER_PASS) <
                0)
            log_warn("degradation reports: %s", PQerrorMessage(c));
        sleep(1);
    }
    PQfinish(c);
    return NULL;
}

degradation_runner_t *degradation_runner_start(const config_t *cfg, const alerts_t *alerts,
                                               const leader_t *leader)
{
    degradation_runner_t *r = xcalloc(1, sizeof(*r));
    r->cfg = cfg;
    r->alerts = alerts;
    r->leader = leader;
    pthread_create(&r->tid, NULL, runner_main, r);
    return r;
}

void degradation_runner_stop(degradation_runner_t *r)
{
    if (r == NULL) return;
    atomic_store(&r->stopping, 1);
    pthread_join(r->tid, NULL);
    free(r);
}
