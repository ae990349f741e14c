/* Incident rows and their transitions (see incident_rows.h). */
#include "incident_rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The entry point's error rate is measured over this much event time before the failing trace's end (the
 * trace's own clock, so a replayed dataset is judged in its own time). */
#define ENTRY_RATE_WINDOW_NS "60000000000"
/* Degradations resolve after this many healthy windows in a row. */
#define HEALTHY_WINDOWS_TO_RESOLVE 2

static const char *const event_names[] = {
    [INCIDENT_OPENED] = "opened",     [INCIDENT_GROUPED] = "grouped",   [INCIDENT_ESCALATED] = "escalated",
    [INCIDENT_PAGED] = "paged",       [INCIDENT_RESOLVED] = "resolved", [INCIDENT_REOPENED] = "reopened",
    [INCIDENT_RECURRED] = "recurred",
};

const char *incident_event_name(incident_event_kind_t k)
{
    return event_names[k];
}

void incident_policy_init(incident_policy_t *p, const config_t *cfg)
{
    p->resolve_after_s = cfg->incident_resolve_after_s;
    p->group_window_s = cfg->group_window_s;
    p->min_traces = cfg->alert_min_traces;
    p->entry_error_rate = cfg->alert_entry_error_rate;
}

/* ---------------- small helpers ---------------- */

static int exec_ok(PGconn *c, const char *sql, int n, const char *const *p)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
    PQclear(r);
    return rc;
}

static int begin(PGconn *c)
{
    return exec_ok(c, "BEGIN", 0, NULL);
}

/* COMMIT when rc is 0, else ROLLBACK; returns rc (or -1 when the COMMIT failed). */
static int finish(PGconn *c, int rc)
{
    if (rc == 0) return exec_ok(c, "COMMIT", 0, NULL);
    PQclear(PQexec(c, "ROLLBACK"));
    return -1;
}

static int event_add(PGconn *c, const char *id, incident_event_kind_t k, const char *detail)
{
    const char *p[] = {id, incident_event_name(k), detail ? detail : ""};
    return exec_ok(c, "INSERT INTO incident_events (incident_id, kind, detail) VALUES ($1::bigint, $2, $3)",
                   3, p);
}

static const char *value_or_null(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* Activity on a grouped child keeps its parent open too: one fault, one lifetime. */
static int touch_parent(PGconn *c, const char *id)
{
    const char *p[] = {id};
    return exec_ok(c,
                   "UPDATE incidents SET last_activity_at = now() WHERE status = 'open' AND id = "
                   "(SELECT parent_id FROM incidents WHERE id = $1::bigint)",
                   1, p);
}

/* The "opened" event, and "recurred" when the fingerprint had a resolved incident (previous, may be NULL). */
static int record_opening(PGconn *c, const char *id, const char *previous, const char *detail)
{
    if (event_add(c, id, INCIDENT_OPENED, detail) != 0) return -1;
    if (previous == NULL) return 0;
    const char *p[] = {id, previous};
    return exec_ok(
        c,
        "INSERT INTO incident_events (incident_id, kind, detail) SELECT $1::bigint, 'recurred', "
        "format('recurred, last seen %s in incident #%s (resolved %s)', "
        "to_char(p.last_activity_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"'), p.id, "
        "coalesce(to_char(p.resolved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"'), '-')) "
        "FROM incidents p WHERE p.id = $2::bigint",
        2, p);
}

/* ---------------- transitions ---------------- */

/* What every transition's guarded UPDATE returns, in this order: the row's description for a notification,
 * then the event's detail, whether to notify (a bool), and the page's severity (NULL for others). The
 * columns are qualified: a transition's UPDATE may join a CTE with columns of the same names. */
#define TRANSITION_RETURNING                                                                                 \
    " RETURNING incidents.kind, incidents.title, incidents.root_service, incidents.services[1], "            \
    "incidents.endpoints[1], "
enum {
    COL_KIND,
    COL_TITLE,
    COL_ROOT_SERVICE,
    COL_SERVICE,
    COL_ENDPOINT,
    COL_DETAIL,
    COL_NOTIFY,
    COL_SEVERITY
};
/* A transition's own RETURNING columns, if any, come after these. */
#define COL_OWN (COL_SEVERITY + 1)

/* Applies one transition of the incident whose id is params[0] ($1), inside the caller's transaction:
 * `sql` is its guarded UPDATE (the guard makes a second pipeline's attempt match no row) ending in
 * TRANSITION_RETURNING's columns. When the guard held: the event `ev` with the row's detail and, when
 * the row says so, the notifier (-1 from it rolls the transition back with the caller's ROLLBACK).
 * Returns 1 when applied, 0 when the guard did not hold, -1 on failure. With `row` (may be NULL), an
 * applied row is handed over for the transition's own columns: the caller PQclear()s it. */
static int transition(PGconn *c, const incident_notifier_t *nt, incident_event_kind_t ev, const char *sql,
                      int nparams, const char *const *params, PGresult **row)
{
    PGresult *r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
    int rc = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) goto out;
    rc = 0;
    if (PQntuples(r) != 1) goto out;
    rc = 1;
    if (event_add(c, params[0], ev, PQgetvalue(r, 0, COL_DETAIL)) != 0) {
        rc = -1;
        goto out;
    }
    if (strcmp(PQgetvalue(r, 0, COL_NOTIFY), "t") == 0 && nt && nt->fn) {
        /* a degradation is its endpoint's service; a trace incident its root cause's */
        int degradation = strcmp(PQgetvalue(r, 0, COL_KIND), "degradation") == 0;
        incident_note_t n = {.event = ev,
                             .id = strtoll(params[0], NULL, 10),
                             .kind = PQgetvalue(r, 0, COL_KIND),
                             .title = PQgetvalue(r, 0, COL_TITLE),
                             .service = value_or_null(r, 0, degradation ? COL_SERVICE : COL_ROOT_SERVICE),
                             .endpoint = value_or_null(r, 0, COL_ENDPOINT),
                             .severity = value_or_null(r, 0, COL_SEVERITY)};
        if (nt->fn(nt->ctx, c, &n) != 0) rc = -1;
    }
out:
    if (row && rc == 1) {
        *row = r;
        return rc;
    }
    PQclear(r);
    return rc;
}

/* ---------------- grouping ---------------- */

/* The grouping rule, one statement: an open top-level incident with a root service, not paged and with
 * no children of its own, joins the open top-level incident of the same root service opened within
 * GROUP_WINDOW_S of it (before or after) that already paged, else the earliest such (created_at, then
 * id: deterministic). Any kinds: degradations of several endpoints and error or slow traces with other
 * fingerprints (a timeout and a NullPointerException in payment at once) are one fault of that service
 * as far as the on-call engineer is concerned; each child keeps its own report. $1 id, $2 window
 * seconds. Returns transition()'s columns, then the parent's id and the detail of the parent's event. */
static const char group_sql[] =
    "WITH me AS (SELECT id, kind, root_service, created_at FROM incidents WHERE id = $1::bigint "
    "   AND status = 'open' "
    "   AND parent_id IS NULL AND paged_at IS NULL AND root_service IS NOT NULL "
    "   AND NOT EXISTS (SELECT 1 FROM incidents k WHERE k.parent_id = $1::bigint)), "
    " p AS (SELECT i.id, extract(epoch FROM me.created_at - i.created_at)::bigint AS ago FROM incidents i, "
    "me "
    "   WHERE i.status = 'open' AND i.parent_id IS NULL AND i.id <> me.id AND i.root_service = "
    "me.root_service "
    "     AND i.created_at BETWEEN me.created_at - $2::int * interval '1 second' "
    "                          AND me.created_at + $2::int * interval '1 second' "
    "   ORDER BY i.paged_at IS NULL, i.created_at, i.id LIMIT 1) "
    "UPDATE incidents SET parent_id = p.id, updated_at = now(), group_reason = format("
    "  'root service %s matches incident #%s opened %s %s', me.root_service, p.id, "
    "  CASE WHEN abs(p.ago) < 120 THEN abs(p.ago) || ' s' ELSE abs(p.ago) / 60 || ' min' END, "
    "  CASE WHEN p.ago >= 0 THEN 'earlier' ELSE 'later' END) "
    "FROM me, p WHERE incidents.id = me.id" TRANSITION_RETURNING
    "'grouped because ' || incidents.group_reason, false, NULL::text, "
    /* the parent's own event: which incident joined it, and why */
    "p.id, format('incident #%s (%s) grouped under this one: %s', incidents.id, left(incidents.title, 600), "
    "incidents.group_reason)";

/* Groups incident `id` when the rule finds it a parent; *grouped says whether it did. 0 or -1. */
static int group_try(PGconn *c, const incident_policy_t *pol, const char *id, int *grouped)
{
    *grouped = 0;
    if (pol->group_window_s <= 0) return 0;
    char win[16];
    snprintf(win, sizeof(win), "%d", pol->group_window_s);
    const char *p[] = {id, win};
    /* two incidents of one root service grouping at once could each pick the other: grouping of a root
     * service is serialised (until commit), so the second sees the first's outcome */
    if (exec_ok(c,
                "SELECT pg_advisory_xact_lock(hashtext('incident-group:' || root_service)) FROM incidents "
                "WHERE id = $1::bigint AND root_service IS NOT NULL",
                1, p) != 0)
        return -1;
    PGresult *r = NULL;
    int applied = transition(c, NULL, INCIDENT_GROUPED, group_sql, 2, p, &r);
    if (applied <= 0) return applied;
    *grouped = 1;
    /* the parent's event; a child opening is activity of the fault */
    int rc = 0;
    if (event_add(c, PQgetvalue(r, 0, COL_OWN), INCIDENT_GROUPED, PQgetvalue(r, 0, COL_OWN + 1)) != 0 ||
        touch_parent(c, id) != 0)
        rc = -1;
    PQclear(r);
    return rc;
}

/* ---------------- paging ---------------- */

/* The id of the incident that pages for `id`: its parent when it is grouped, else itself. 0 or -1. */
static int top_level(PGconn *c, const char *id, char *top, size_t len)
{
    const char *p[] = {id};
    PGresult *r = PQexecParams(c, "SELECT coalesce(parent_id, id) FROM incidents WHERE id = $1::bigint", 1,
                               NULL, p, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? 0 : -1;
    if (rc == 0) snprintf(top, len, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

/* Pages incident `id` at once when `why` says why (the entry point is failing, a degradation reported its
 * root cause), else when it has pol->min_traces traces (its grouped children's counted: one fault, one
 * count); once (paged_at), never a grouped child, and only once its first report is stored: the page
 * carries the root cause, and the report's alert goes with it. The "paged" event says why; the page is
 * critical when an error or slow incident pages at once. 0 or -1. */
static int page_try(PGconn *c, const incident_policy_t *pol, const incident_notifier_t *nt, const char *id,
                    const char *why)
{
    char min[16];
    snprintf(min, sizeof(min), "%d", pol->min_traces);
    const char *p[] = {id, min, why};
    /* k: the grouped children's traces, which count towards this incident's */
    int rc = transition(
        c, nt, INCIDENT_PAGED,
        "WITH k AS (SELECT coalesce(sum(trace_count), 0) AS traces FROM incidents "
        "  WHERE parent_id = $1::bigint) "
        "UPDATE incidents SET paged_at = now(), updated_at = now() FROM k WHERE id = $1::bigint "
        "AND status = 'open' AND paged_at IS NULL AND parent_id IS NULL AND report_state = 'ready' "
        "AND ($3::text IS NOT NULL OR trace_count + k.traces >= $2::int)" TRANSITION_RETURNING
        "coalesce($3::text, (trace_count + k.traces) || ' traces reached ALERT_MIN_TRACES (' || $2::int "
        "  || ')'), true, "
        "CASE WHEN incidents.kind <> 'degradation' AND $3::text IS NOT NULL THEN 'critical' ELSE 'error' END",
        3, p, NULL);
    return rc < 0 ? -1 : 0;
}

/* Whether the trace's entry point (its failed root span) failed more than pol->entry_error_rate of its
 * requests in the minute before: such a failure pages at once. Writes the reason into why. 1, 0 or -1. */
static int entry_point_failing(PGconn *c, const incident_policy_t *pol, const char *trace_id, char *why,
                               size_t len)
{
    const char *p[] = {trace_id};
    PGresult *r = PQexecParams(
        c,
        "SELECT e.service, e.name, count(*), avg((s.status = 2)::int)::float8 FROM "
        " (SELECT service, name, end_ns FROM spans WHERE trace_id = $1 AND parent_span_id IS NULL "
        "  AND status = 2 ORDER BY start_ns LIMIT 1) e "
        "JOIN spans s ON s.service = e.service AND s.name = e.name AND s.parent_span_id IS NULL "
        " AND s.start_ns BETWEEN e.end_ns - " ENTRY_RATE_WINDOW_NS "::bigint AND e.end_ns "
        "GROUP BY e.service, e.name",
        1, NULL, p, NULL, NULL, 0);
    int rc = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) goto out;
    rc = 0;
    if (PQntuples(r) != 1) goto out;
    double rate = strtod(PQgetvalue(r, 0, 3), NULL);
    if (rate <= pol->entry_error_rate) goto out;
    rc = 1;
    snprintf(why, len,
             "entry point %s %s failed %.0f%% of its %s requests in the minute before (above "
             "ALERT_ENTRY_ERROR_RATE %.2f): paged at once",
             PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), rate * 100, PQgetvalue(r, 0, 2),
             pol->entry_error_rate);
out:
    PQclear(r);
    return rc;
}

/* ---------------- resolution ---------------- */

/* Resolves open incident `id` inside the caller's transaction: the event with `detail`, and the
 * notifier when it paged. A second resolver finds it resolved already and does nothing. 0 or -1. */
static int resolve_in_tx(PGconn *c, const incident_notifier_t *nt, const char *id, const char *detail)
{
    const char *p[] = {id, detail};
    /* a resolution is told only to those who heard the page */
    int rc = transition(c, nt, INCIDENT_RESOLVED,
                        "UPDATE incidents SET status = 'resolved', resolved_at = now(), updated_at = now() "
                        "WHERE id = $1::bigint AND status = 'open'" TRANSITION_RETURNING
                        "$2::text, paged_at IS NOT NULL, NULL::text",
                        2, p, NULL);
    return rc < 0 ? -1 : 0;
}

int incident_rows_resolve_idle(PGconn *c, const incident_policy_t *pol, const incident_notifier_t *nt,
                               int max)
{
    char after[16];
    snprintf(after, sizeof(after), "%d", pol->resolve_after_s);
    const char *p[] = {after};
    int done = 0;
    while (done < max) {
        if (begin(c) != 0) return -1;
        /* SKIP LOCKED: pipelines running this timer at once each take a different incident */
        PGresult *r = PQexecParams(
            c,
            "SELECT id, to_char(last_activity_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"') FROM "
            "incidents WHERE status = 'open' AND last_activity_at < now() - $1::int * interval '1 second' "
            "ORDER BY last_activity_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
            1, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0) {
            int failed = PQresultStatus(r) != PGRES_TUPLES_OK;
            PQclear(r);
            finish(c, -1);
            return failed ? -1 : done;
        }
        char id[24], detail[256];
        snprintf(id, sizeof(id), "%s", PQgetvalue(r, 0, 0));
        snprintf(detail, sizeof(detail),
                 "no new trace or degraded window since %s (INCIDENT_RESOLVE_AFTER_S %d)",
                 PQgetvalue(r, 0, 1), pol->resolve_after_s);
        PQclear(r);
        if (finish(c, resolve_in_tx(c, nt, id, detail)) != 0) return -1;
        done++;
    }
    return done;
}

/* ---------------- error and slow traces ---------------- */

int incident_rows_join_trace(PGconn *c, const incident_policy_t *pol, const incident_notifier_t *nt,
                             const incident_trace_in_t *in, incident_trace_out_t *out, char *err,
                             size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char first[24], last[24], id[24];
    snprintf(first, sizeof(first), "%lld", in->first_ns);
    snprintf(last, sizeof(last), "%lld", in->last_ns);
    const char *what = "incident";
    const char *p1[] = {in->fingerprint,
                        in->title,
                        in->kind ? in->kind : "error",
                        in->root_service,
                        in->root_operation,
                        in->exception_type,
                        first,
                        last,
                        in->services_literal,
                        in->endpoints_literal,
                        in->trace_id};
    /* The open incident when there is one, else a new one (ON CONFLICT: another worker's at once). The
     * INSERT runs only when the UPDATE found nothing, so joining draws no id from the sequence: incident
     * numbers stay dense. Arrival time is now(), set with the trace count below. */
    PGresult *r = PQexecParams(
        c,
        "WITH open AS (UPDATE incidents SET updated_at = now() WHERE fingerprint = $1 AND status = 'open' "
        "  RETURNING id, false, report_state, sample_trace_id, previous_id), "
        "ins AS (INSERT INTO incidents (fingerprint, title, kind, root_service, root_operation, "
        "  exception_type, first_seen, last_seen, services, endpoints, sample_trace_id, previous_id) "
        "  SELECT $1, $2, $3, $4, $5, $6, to_timestamp($7::bigint / 1e9), to_timestamp($8::bigint / 1e9), "
        "  $9::text[], $10::text[], $11, "
        "  (SELECT max(id) FROM incidents WHERE fingerprint = $1 AND status = 'resolved') "
        "  WHERE NOT EXISTS (SELECT 1 FROM open) "
        "  ON CONFLICT (fingerprint) WHERE status = 'open' DO UPDATE SET updated_at = now() "
        "  RETURNING id, (xmax = 0), report_state, sample_trace_id, previous_id) "
        "SELECT * FROM open UNION ALL SELECT * FROM ins",
        11, NULL, p1, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) goto fail;
    out->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    snprintf(id, sizeof(id), "%lld", out->id);
    out->created = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    out->needs_report = out->created || (strcmp(PQgetvalue(r, 0, 2), "pending") == 0 &&
                                         strcmp(PQgetvalue(r, 0, 3), in->trace_id) == 0);
    char previous[24] = "";
    if (!PQgetisnull(r, 0, 4)) snprintf(previous, sizeof(previous), "%s", PQgetvalue(r, 0, 4));
    PQclear(r);
    r = NULL;
    int grouped = 0;
    if (out->created) {
        char detail[160];
        snprintf(detail, sizeof(detail), "first trace %s", in->trace_id);
        what = "incident opening";
        if (record_opening(c, id, previous[0] ? previous : NULL, detail) != 0) goto fail;
        what = "incident grouping";
        if (group_try(c, pol, id, &grouped) != 0) goto fail;
    }
    const char *p2[] = {id, in->trace_id};
    what = "incident trace";
    r = PQexecParams(
        c, "INSERT INTO incident_traces (incident_id, trace_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", 2,
        NULL, p2, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) goto fail;
    out->joined = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    r = NULL;
    if (!out->joined) return 0; /* a re-delivered trace: counted, paged or not, already */
    /* counted once per trace however often its job is delivered */
    const char *p3[] = {id, first, last, in->services_literal, in->endpoints_literal};
    what = "incident counts";
    if (exec_ok(c,
                "UPDATE incidents SET trace_count = trace_count + 1, updated_at = now(), last_activity_at = "
                "now(), first_seen = least(first_seen, to_timestamp($2::bigint / 1e9)), "
                "last_seen = greatest(last_seen, to_timestamp($3::bigint / 1e9)), "
                "services = ARRAY(SELECT DISTINCT x FROM unnest(services || $4::text[]) x ORDER BY x), "
                "endpoints = ARRAY(SELECT DISTINCT x FROM unnest(endpoints || $5::text[]) x ORDER BY x) "
                "WHERE id = $1::bigint",
                5, p3) != 0 ||
        touch_parent(c, id) != 0)
        goto fail;
    /* a grouped child's trace counts for its parent, which pages for the fault (the child never does) */
    what = "incident paging";
    char top[24], why[512];
    if (top_level(c, id, top, sizeof(top)) != 0) goto fail;
    int entry = entry_point_failing(c, pol, in->trace_id, why, sizeof(why));
    if (entry < 0 || page_try(c, pol, nt, top, entry ? why : NULL) != 0) goto fail;
    return 0;
fail:
    snprintf(err, errlen, "%s: %s", what, PQerrorMessage(c));
    PQclear(r);
    return -1;
}

int incident_rows_page_due(PGconn *c, const incident_policy_t *pol, const incident_notifier_t *nt,
                           long long id, const char *trace_id)
{
    char ids[24], why[512];
    snprintf(ids, sizeof(ids), "%lld", id);
    if (begin(c) != 0) return -1;
    int entry = entry_point_failing(c, pol, trace_id, why, sizeof(why));
    int rc = entry < 0 ? -1 : page_try(c, pol, nt, ids, entry ? why : NULL);
    return finish(c, rc);
}

int incident_rows_report_ready(PGconn *c, long long id)
{
    char s[24];
    snprintf(s, sizeof(s), "%lld", id);
    const char *p[] = {s};
    return exec_ok(c, "UPDATE incidents SET report_state = 'ready', updated_at = now() WHERE id = $1::bigint",
                   1, p);
}

/* ---------------- degradations ---------------- */

int incident_rows_degraded(PGconn *c, const char *service, const char *endpoint, const char *explanation,
                           const char *window_from_ns, const char *window_to_ns, long long *id, int *created)
{
    char fp[600];
    snprintf(fp, sizeof(fp), "degradation:%s:%s", service, endpoint);
    const char *p[] = {fp, explanation, service, endpoint, window_from_ns, window_to_ns};
    *id = 0;
    *created = 0;
    if (begin(c) != 0) return -1;
    /* the open incident when there is one (no id drawn from the sequence: numbers stay dense), else a new
     * one whose sample trace is the endpoint's slowest in the window */
    PGresult *r = PQexecParams(
        c,
        "WITH open AS (UPDATE incidents SET last_seen = now(), last_activity_at = now(), "
        "  healthy_windows = 0, updated_at = now(), title = $2 WHERE fingerprint = $1 AND status = 'open' "
        "  RETURNING id, false, previous_id), "
        "ins AS (INSERT INTO incidents (fingerprint, kind, title, root_service, root_operation, "
        "  first_seen, last_seen, trace_count, services, endpoints, report_state, sample_trace_id, "
        "  previous_id) "
        "  SELECT $1, 'degradation', $2, $3, $4, now(), now(), 0, ARRAY[$3], ARRAY[$4], 'pending', "
        "  (SELECT trace_id FROM spans WHERE service = $3 AND name = $4 AND start_ns >= $5::bigint "
        "   AND start_ns < $6::bigint ORDER BY end_ns - start_ns DESC LIMIT 1), "
        "  (SELECT max(id) FROM incidents WHERE fingerprint = $1 AND status = 'resolved') "
        "  WHERE NOT EXISTS (SELECT 1 FROM open) "
        "  ON CONFLICT (fingerprint) WHERE status = 'open' DO UPDATE SET last_seen = now(), "
        "  last_activity_at = now(), healthy_windows = 0, updated_at = now(), title = EXCLUDED.title "
        "  RETURNING id, (xmax = 0), previous_id) "
        "SELECT * FROM open UNION ALL SELECT * FROM ins",
        6, NULL, p, NULL, NULL, 0);
    int rc = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) goto out;
    char ids[24];
    snprintf(ids, sizeof(ids), "%s", PQgetvalue(r, 0, 0));
    *id = strtoll(ids, NULL, 10);
    *created = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    rc = *created ? record_opening(c, ids, value_or_null(r, 0, 2), explanation) : touch_parent(c, ids);
out:
    PQclear(r);
    return finish(c, rc);
}

int incident_rows_healthy(PGconn *c, const incident_notifier_t *nt, const char *service, const char *endpoint)
{
    char fp[600];
    snprintf(fp, sizeof(fp), "degradation:%s:%s", service, endpoint);
    const char *p[] = {fp};
    if (begin(c) != 0) return -1;
    PGresult *r =
        PQexecParams(c,
                     "UPDATE incidents SET healthy_windows = healthy_windows + 1, updated_at = now() "
                     "WHERE fingerprint = $1 AND status = 'open' AND kind = 'degradation' "
                     "RETURNING id, healthy_windows",
                     1, NULL, p, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
    if (rc == 0 && PQntuples(r) == 1 && atoi(PQgetvalue(r, 0, 1)) >= HEALTHY_WINDOWS_TO_RESOLVE) {
        char detail[700];
        snprintf(detail, sizeof(detail), "%d consecutive healthy windows of %.300s %.300s",
                 HEALTHY_WINDOWS_TO_RESOLVE, service, endpoint);
        rc = resolve_in_tx(c, nt, PQgetvalue(r, 0, 0), detail);
    }
    PQclear(r);
    return finish(c, rc);
}

int incident_rows_report_root(PGconn *c, const incident_policy_t *pol, const incident_notifier_t *nt,
                              long long id, const char *service, const char *operation)
{
    char ids[24];
    snprintf(ids, sizeof(ids), "%lld", id);
    const char *p[] = {ids, service, operation};
    if (begin(c) != 0) return -1;
    int grouped = 0;
    int rc = exec_ok(c,
                     "UPDATE incidents SET root_service = coalesce($2, root_service), root_operation = "
                     "coalesce($3, root_operation), updated_at = now() WHERE id = $1::bigint",
                     3, p);
    if (rc == 0) rc = group_try(c, pol, ids, &grouped);
    if (rc == 0 && !grouped) {
        char why[512];
        snprintf(why, sizeof(why), "degradation confirmed and reported (root cause %.200s)",
                 service ? service : "not named");
        rc = page_try(c, pol, nt, ids, why);
    }
    return finish(c, rc);
}

/* ---------------- the backend's rerun ---------------- */

int incident_rows_rerun(PGconn *c, const char *id, incident_rerun_t *out)
{
    memset(out, 0, sizeof(*out));
    const char *p[] = {id};
    /* a degradation has no failing trace: its report is a window ranking, which the pipeline's
     * degradation runner writes again for an incident sent back to 'pending' */
    PGresult *r = PQexecParams(c,
                               "WITH d AS (UPDATE incidents SET report_state = 'pending', updated_at = now() "
                               "  WHERE id = $1::bigint AND kind = 'degradation' RETURNING id) "
                               "SELECT i.sample_trace_id, EXISTS (SELECT 1 FROM d) FROM incidents i "
                               "WHERE i.id = $1::bigint",
                               1, NULL, p, NULL, NULL, 0);
    int rc = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) goto out;
    rc = 0;
    if (PQntuples(r) != 1) goto out;
    out->found = 1;
    out->window = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    if (!PQgetisnull(r, 0, 0)) snprintf(out->sample, sizeof(out->sample), "%s", PQgetvalue(r, 0, 0));
out:
    PQclear(r);
    return rc;
}
