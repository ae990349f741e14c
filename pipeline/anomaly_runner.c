/* Incremental anomaly detection over stored metric points (see anomaly_runner.h). */
#include "anomaly_runner.h"
#include "alloc.h"
#include "db.h"
#include "detect.h"
#include "log.h"
#include "priors.h"
#include "program.h"
#include "suspects.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HISTORY_DAYS 3

struct anomaly_runner {
    const config_t *cfg;
    const leader_t *leader;
    pthread_t tid;
    atomic_int stopping;
};

/* The scan's progress: the arrival time (metric_points.arrived_ns, migration 011) up to which points
 * have been analysed, kept in detector_progress under the key ('*', ARRIVAL_KEY). The row ('*', '*') of
 * the earlier event-time scan is no longer read. */
#define ARRIVAL_KEY "arrived_ns"

static int64_t load_watermark(PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT scanned_to_ns FROM detector_progress WHERE service = '*' AND metric = "
                            "'" ARRIVAL_KEY "'");
    int64_t wm = 0;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        wm = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return wm;
}

static void save_watermark(PGconn *c, int64_t wm)
{
    char v[24];
    snprintf(v, sizeof(v), "%" PRId64, wm);
    const char *p[] = {v};
    PQclear(PQexecParams(
        c,
        "INSERT INTO detector_progress (service, metric, scanned_to_ns) VALUES ('*', '" ARRIVAL_KEY "', $1) "
        "ON CONFLICT (service, metric, labels) DO UPDATE SET scanned_to_ns = EXCLUDED.scanned_to_ns",
        1, NULL, p, NULL, NULL, 0));
}

static series_point_t *rows_to_points(PGresult *r, int first, int n, int ts_col, int val_col)
{
    series_point_t *p = xmalloc((size_t)(n ? n : 1) * sizeof(*p));
    for (int i = 0; i < n; i++) {
        p[i].ts_ns = strtoll(PQgetvalue(r, first + i, ts_col), NULL, 10);
        p[i].value = strtod(PQgetvalue(r, first + i, val_col), NULL);
    }
    return p;
}

/* The series' values from the trailing hour before `first_ns` up to `last_ns` (the new points' own
 * event-time range, so each is judged against the points before it, late ones included), and, for
 * seasonality, the same range around the same time of day on each of the previous HISTORY_DAYS days.
 * Values as metric_values() (migrations/006) derives them: a counter's rate, a histogram's quantiles, a
 * gauge as stored. */
static PGresult *load_history(PGconn *c, const char *service, const char *metric, const char *labels,
                              int64_t first_ns, int64_t last_ns)
{
    char first[24], last[24];
    snprintf(first, sizeof(first), "%" PRId64, first_ns);
    snprintf(last, sizeof(last), "%" PRId64, last_ns);
    const char *p[] = {service, metric, labels, first, last};
    return PQexecParams(
        c,
        "SELECT ts_ns, value FROM metric_values($4::bigint - 3600000000000, $5::bigint + 1, ARRAY[$1], "
        "  ARRAY[$2]) WHERE labels = $3::jsonb "
        "UNION ALL SELECT v.ts_ns, v.value FROM generate_series(1, " /* days back */ "3) d, "
        "  LATERAL metric_values($4::bigint - d * 86400000000000 - 1800000000000, "
        "    $5::bigint - d * 86400000000000 + 1800000000001, ARRAY[$1], ARRAY[$2]) v "
        "  WHERE v.labels = $3::jsonb ORDER BY 1",
        5, NULL, p, NULL, NULL, 0);
}

static json_t *suspects_for(PGconn *c, const char *service, const char *metric, const episode_t *ep,
                            char *why, size_t whylen)
{
    char from[24], to[24];
    suspect_opts_t so;
    suspect_opts_default(&so);
    char priors_note[512] = "";
    priors_load(c, &so, priors_note, sizeof(priors_note)); /* engineers' labels shift the type priors */
    snprintf(from, sizeof(from), "%" PRId64, ep->start_ns - so.window_ns);
    snprintf(to, sizeof(to), "%" PRId64, ep->start_ns);
    const char *p[] = {from, to};
    PGresult *r = PQexecParams(
        c,
        "SELECT ts_ns, service, type, description FROM change_events WHERE ts_ns BETWEEN $1 AND $2 "
        "ORDER BY ts_ns, event_hash",
        2, NULL, p, NULL, NULL, 0);
    int n = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : 0;
    change_event_t *ev = xcalloc((size_t)(n ? n : 1), sizeof(*ev));
    for (int i = 0; i < n; i++) {
        ev[i].ts_ns = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        ev[i].service = PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1);
        ev[i].type = PQgetvalue(r, i, 2);
        ev[i].description = PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3);
    }
    symptom_t sym = {.service = service, .what = metric, .ep = *ep};
    suspect_t *s;
    size_t ns = suspects_rank(ev, (size_t)n, &sym, 1, &so, &s);
    json_t *arr = suspects_to_json(ev, s, ns);
    char sym_text[400];
    symptom_describe(&sym, sym_text, sizeof(sym_text));
    if (ns == 0)
        snprintf(why, whylen, "%s; no change event in the 10 minutes before explains it", sym_text);
    else
        snprintf(why, whylen, "%s%s%s", s[0].evidence, priors_note[0] ? "; " : "", priors_note);
    free(s);
    free(ev);
    PQclear(r);
    return arr;
}

/* Stores an episode, extending one of the same series that ended within the merge gap. */
static int store_episode(PGconn *c, const char *service, const char *metric, const char *labels,
                         const episode_t *ep, int seasonal)
{
    char why[800];
    json_t *sus = suspects_for(c, service, metric, ep, why, sizeof(why));
    char *sus_s = json_dumps(sus, JSON_COMPACT);
    json_decref(sus);
    char start[24], end[24], base[40], peak[40], pct[40], z[40], dir[8], pts[16], gap[24];
    snprintf(start, sizeof(start), "%" PRId64, ep->start_ns);
    snprintf(end, sizeof(end), "%" PRId64, ep->end_ns);
    snprintf(base, sizeof(base), "%.17g", ep->baseline);
    snprintf(peak, sizeof(peak), "%.17g", ep->peak);
    snprintf(pct, sizeof(pct), "%.17g", ep->pct_change);
    snprintf(z, sizeof(z), "%.17g", ep->peak_z);
    snprintf(dir, sizeof(dir), "%d", ep->direction);
    snprintf(pts, sizeof(pts), "%zu", ep->points);
    snprintf(gap, sizeof(gap), "%lld", 120LL * ANOMALY_NS_PER_S);
    const char *p[] = {service, metric, labels, start, end,   base, peak,
                       pct,     z,      dir,    pts,   sus_s, why,  seasonal ? "true" : "false",
                       gap};
    /* extend a running episode of the same series and direction, else insert */
    PGresult *r = PQexecParams(
        c,
        "WITH prev AS (UPDATE anomaly_episodes SET end_ns = greatest(end_ns, $5::bigint), "
        "  points = points + $11::int, updated_at = now(), "
        "  peak = CASE WHEN abs($9::float8) > abs(peak_z) THEN $7::float8 ELSE peak END, "
        "  pct_change = CASE WHEN abs($9::float8) > abs(peak_z) THEN $8::float8 ELSE pct_change END, "
        "  suspects = CASE WHEN abs($9::float8) > abs(peak_z) THEN $12::jsonb ELSE suspects END, "
        "  explanation = CASE WHEN abs($9::float8) > abs(peak_z) THEN $13 ELSE explanation END, "
        "  peak_z = CASE WHEN abs($9::float8) > abs(peak_z) THEN $9::float8 ELSE peak_z END "
        "  WHERE id = (SELECT id FROM anomaly_episodes WHERE service = $1 AND metric = $2 AND labels = "
        "$3::jsonb "
        "    AND direction = $10::smallint AND end_ns >= $4::bigint - $15::bigint AND start_ns <= $4::bigint "
        "    ORDER BY end_ns DESC LIMIT 1) RETURNING id) "
        "INSERT INTO anomaly_episodes (service, metric, labels, start_ns, end_ns, baseline, peak, "
        "pct_change, peak_z, "
        "  direction, points, suspects, explanation, seasonal) "
        "SELECT $1, $2, $3::jsonb, $4::bigint, $5::bigint, $6::float8, $7::float8, $8::float8, $9::float8, "
        "  $10::smallint, $11::int, $12::jsonb, $13, $14::boolean WHERE NOT EXISTS (SELECT 1 FROM prev) "
        "ON CONFLICT (service, metric, labels, start_ns) DO NOTHING",
        15, NULL, p, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) log_warn("anomaly episode: %s", PQerrorMessage(c));
    PQclear(r);
    free(sus_s);
    return ok ? 0 : -1;
}

/* The analysable values of the points that arrived in (wm, upto] (by arrived_ns, whatever their event
 * time): each service's derived values over the new points' event-time range, kept where a new point
 * gave them (same service, labels and time; the name itself or a name derived from it, e.g. .p95). */
static const char new_points_sql[] =
    "WITH n AS (SELECT service, name, labels, ts_ns FROM metric_points WHERE arrived_ns > $1::bigint AND "
    "  arrived_ns <= $2::bigint), "
    "r AS (SELECT service, min(ts_ns) AS lo, max(ts_ns) AS hi FROM n GROUP BY service) "
    "SELECT v.service, v.name, v.labels::text, v.ts_ns, v.value FROM r "
    "  CROSS JOIN LATERAL metric_values(r.lo, r.hi + 1, ARRAY[r.service]) v "
    " WHERE EXISTS (SELECT 1 FROM n WHERE n.service = v.service AND n.labels = v.labels AND n.ts_ns = "
    "v.ts_ns "
    "   AND (n.name = v.name OR left(v.name, length(n.name) + 1) = n.name || '.')) "
    "ORDER BY 1, 2, 3, 4";

/* Links episodes not yet linked to the open incident they explain: one of the episode's service (its
 * root service first, then one the service took part in), seen from ten minutes before the episode
 * to ten minutes after it; the latest such. Reads incidents, writes anomaly_episodes.incident_id only.
 * Episodes of the last day are looked at. Returns the number linked, or -1. */
static int link_episodes(PGconn *c)
{
    PGresult *r = PQexec(
        c, "WITH m AS (SELECT e.id, (SELECT x.id FROM incidents x WHERE x.status = 'open' "
           "    AND (x.root_service = e.service OR e.service = ANY (x.services)) "
           "    AND x.first_seen <= to_timestamp(e.end_ns / 1e9) + interval '10 minutes' "
           "    AND x.last_seen >= to_timestamp(e.start_ns / 1e9) - interval '10 minutes' "
           "    ORDER BY x.root_service = e.service DESC, x.last_seen DESC, x.id DESC LIMIT 1) AS incident "
           "  FROM anomaly_episodes e WHERE e.incident_id IS NULL "
           "    AND e.end_ns > (extract(epoch FROM now()) * 1e9)::bigint - 86400000000000) "
           "UPDATE anomaly_episodes e SET incident_id = m.incident, updated_at = now() FROM m "
           "WHERE e.id = m.id AND m.incident IS NOT NULL");
    int n = PQresultStatus(r) == PGRES_COMMAND_OK ? atoi(PQcmdTuples(r)) : -1;
    if (n < 0) log_warn("anomaly episodes: linking to incidents: %s", PQerrorMessage(c));
    PQclear(r);
    return n;
}

/* The database's clock in epoch ns, the clock arrived_ns is stamped with; 0 on error. */
static int64_t db_now_ns(PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT (extract(epoch FROM clock_timestamp()) * 1000000000)::bigint");
    int64_t v = PQresultStatus(r) == PGRES_TUPLES_OK ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return v;
}

/* One pass over the points that arrived since the watermark (their analysable values: a cumulative
 * counter is judged by its rate, so one that only grows is never an anomaly), each series' new points
 * judged in their own time context (load_history). Points younger than `lag_s` by arrival wait for the
 * next pass: a writer's transaction still open may yet commit points stamped before now. Returns
 * episodes stored or -1. */
static int pass(PGconn *c, int lag_s)
{
    int64_t wm = load_watermark(c), now = db_now_ns(c);
    if (now == 0) return -1;
    int64_t upto = now - lag_s * ANOMALY_NS_PER_S;
    if (wm == 0) wm = upto - 3600LL * ANOMALY_NS_PER_S; /* first run: what arrived in the last hour */
    if (upto <= wm) return 0;
    char a[24], b[24];
    snprintf(a, sizeof(a), "%" PRId64, wm);
    snprintf(b, sizeof(b), "%" PRId64, upto);
    const char *p[] = {a, b};
    PGresult *r = PQexecParams(c, new_points_sql, 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_warn("anomaly scan: %s", PQerrorMessage(c));
        PQclear(r);
        return -1;
    }
    int rows = PQntuples(r), stored = 0;
    detect_opts_t o;
    detect_opts_default(&o);
    for (int i = 0; i < rows;) {
        int j = i;
        while (j < rows && !strcmp(PQgetvalue(r, j, 0), PQgetvalue(r, i, 0)) &&
               !strcmp(PQgetvalue(r, j, 1), PQgetvalue(r, i, 1)) &&
               !strcmp(PQgetvalue(r, j, 2), PQgetvalue(r, i, 2)))
            j++;
        const char *service = PQgetvalue(r, i, 0), *metric = PQgetvalue(r, i, 1),
                   *labels = PQgetvalue(r, i, 2);
        series_point_t *recent = rows_to_points(r, i, j - i, 3, 4);
        PGresult *h = load_history(c, service, metric, labels, recent[0].ts_ns, recent[j - i - 1].ts_ns);
        if (PQresultStatus(h) == PGRES_TUPLES_OK) {
            series_point_t *hist = rows_to_points(h, 0, PQntuples(h), 0, 1);
            episode_t *eps;
            size_t n = anomaly_detect(hist, (size_t)PQntuples(h), recent, (size_t)(j - i), &o, &eps);
            int seasonal = PQntuples(h) > 0 && recent[0].ts_ns - hist[0].ts_ns >= ANOMALY_DAY_NS;
            for (size_t k = 0; k < n; k++)
                if (store_episode(c, service, metric, labels, &eps[k], seasonal) == 0) stored++;
            free(eps);
            free(hist);
        }
        PQclear(h);
        free(recent);
        i = j;
    }
    PQclear(r);
    save_watermark(c, upto);
    link_episodes(c);
    if (stored) log_info("anomaly detector: %d episodes stored or extended", stored);
    return stored;
}

static void *runner_main(void *arg)
{
    anomaly_runner_t *ar = arg;
    PGconn *c = NULL;
    for (int waited = ar->cfg->anomaly_period_s; !atomic_load(&ar->stopping); waited++) {
        if (waited >= ar->cfg->anomaly_period_s) {
            waited = 0;
            if (leader_holds(ar->leader, LEADER_ANOMALY) && db_ensure(&c, ar->cfg->pipeline_database_url))
                pass(c, ar->cfg->anomaly_lag_s);
        }
        sleep(1);
    }
    PQfinish(c);
    return NULL;
}

anomaly_runner_t *anomaly_runner_start(const config_t *cfg, const leader_t *leader)
{
    anomaly_runner_t *r = xcalloc(1, sizeof(*r));
    r->cfg = cfg;
    r->leader = leader;
    pthread_create(&r->tid, NULL, runner_main, r);
    return r;
}

void anomaly_runner_stop(anomaly_runner_t *r)
{
    if (r == NULL) return;
    atomic_store(&r->stopping, 1);
    pthread_join(r->tid, NULL);
    free(r);
}
