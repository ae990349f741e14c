/* Rolling-window degradation detection over stored spans (see degradation_runner.h). */
#include "degradation_runner.h"
#include "alloc.h"
#include "db.h"
#include "degradation_report.h"
#include "degrade.h"
#include "incident_alerts.h"
#include "incident_rows.h"
#include "log.h"
#include "program.h"
#include "window_load.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEGRADE_REPORTS_PER_PASS 4
#define RESOLVE_PER_PASS 32 /* incidents resolved per second at most: a backlog drains over seconds */

struct degradation_runner {
    const config_t *cfg;
    const alerts_t *alerts;
    const leader_t *leader;
    incident_policy_t policy;
    incident_notifier_t notifier;
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

/* Opens the degradation incident (or confirms the open one): common/incident_rows.h. Its report waits as
 * 'pending' for degradation_report_pending(), which pages it (or groups it) once the report names the
 * root cause. */
static void degraded(PGconn *c, const char *service, const char *endpoint, const degrade_verdict_t *v,
                     const char *split, const char *to)
{
    long long id;
    int created;
    if (incident_rows_degraded(c, service, endpoint, v->explanation, split, to, &id, &created) != 0)
        log_warn("degradation incident of %s %s: %s", service, endpoint, PQerrorMessage(c));
    else if (created)
        log_warn("degradation (incident %lld): %s", id, v->explanation);
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
        if (v.degraded)
            degraded(c, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), &v, split, to);
        else if (incident_rows_healthy(c, &dr->notifier, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)) != 0)
            log_warn("degradation resolve: %s", PQerrorMessage(c));
    }
    PQclear(r);
}

static void *runner_main(void *arg)
{
    degradation_runner_t *dr = arg;
    PGconn *c = NULL;
    int warmed = 0; /* the connection warmed for the reports' window rankings (window_load_warm()) */
    for (int waited = 0; !atomic_load(&dr->stopping); waited++) {
        if (!leader_holds(dr->leader, LEADER_DEGRADATION)) { /* another pipeline scans */
            sleep(1);
            continue;
        }
        if (!warmed && db_ensure(&c, dr->cfg->pipeline_database_url)) {
            window_load_warm(c, NULL); /* once: a failure is logged, and costs the first report only */
            warmed = 1;
        }
        if (waited >= dr->cfg->degrade_period_s) {
            waited = 0;
            if (db_ensure(&c, dr->cfg->pipeline_database_url)) pass(dr, c);
        }
        /* new incidents and re-runs: reports over their window, a few per second */
        if (db_ensure(&c, dr->cfg->pipeline_database_url) &&
            degradation_report_pending(c, dr->alerts, &dr->policy, &dr->notifier, dr->cfg->degrade_window_s,
                                       DEGRADE_REPORTS_PER_PASS) < 0)
            log_warn("degradation reports: %s", PQerrorMessage(c));
        /* the resolve timer: quiet incidents resolve by themselves, not at the next arrival */
        if (db_ensure(&c, dr->cfg->pipeline_database_url) &&
            incident_rows_resolve_idle(c, &dr->policy, &dr->notifier, RESOLVE_PER_PASS) < 0)
            log_warn("incident resolve timer: %s", PQerrorMessage(c));
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
    incident_policy_init(&r->policy, cfg);
    r->notifier = incident_alerts_notifier(alerts);
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
