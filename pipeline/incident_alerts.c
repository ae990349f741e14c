/* Alerts of incident transitions (see incident_alerts.h). */
#include "incident_alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int incident_alerts_report(const alerts_t *alerts, PGconn *c, long long id, long long analysis_id)
{
    if (alerts == NULL) return 0;
    char ids[24], aid[24];
    snprintf(ids, sizeof(ids), "%lld", id);
    snprintf(aid, sizeof(aid), "%lld", analysis_id);
    const char *p[] = {ids, aid};
    PGresult *r =
        PQexecParams(c,
                     "SELECT a.version, a.id, i.title, a.root_service, a.report::text FROM analyses a "
                     "JOIN incidents i ON i.id = a.incident_id WHERE a.incident_id = $1::bigint "
                     "AND ($2::bigint = 0 OR a.id = $2::bigint) AND i.paged_at IS NOT NULL "
                     "AND i.parent_id IS NULL ORDER BY a.id DESC LIMIT 1",
                     2, NULL, p, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
    if (rc == 0 && PQntuples(r) == 1) {
        json_t *report = json_loads(PQgetvalue(r, 0, 4), 0, NULL);
        int version = atoi(PQgetvalue(r, 0, 0));
        char key[96];
        snprintf(key, sizeof(key), "report:%lld:v%d:%s", id, version, PQgetvalue(r, 0, 1));
        json_t *payload = alerts_report_payload(id, version, PQgetvalue(r, 0, 2),
                                                PQgetisnull(r, 0, 3) ? NULL : PQgetvalue(r, 0, 3), report);
        rc = alerts_enqueue(alerts, c, "report", key, payload, alerts_report_confidence(report));
        json_decref(payload);
        json_decref(report);
    }
    PQclear(r);
    return rc;
}

static int notify(void *ctx, PGconn *c, const incident_note_t *n)
{
    const alerts_t *alerts = ctx;
    if (alerts == NULL) return 0;
    char key[64];
    json_t *payload;
    const char *kind;
    if (n->event == INCIDENT_RESOLVED) {
        kind = "resolved";
        snprintf(key, sizeof(key), "resolved:%lld", n->id);
        payload = alerts_resolved_payload(n->id, n->title, n->service);
    } else if (strcmp(n->kind, "degradation") == 0) {
        kind = "degradation";
        snprintf(key, sizeof(key), "degradation:%lld", n->id);
        payload = alerts_degradation_payload(n->id, n->service, n->endpoint ? n->endpoint : "", n->title);
    } else {
        kind = "incident";
        snprintf(key, sizeof(key), "incident:%lld", n->id);
        payload = alerts_incident_payload(n->id, n->title, n->service);
    }
    int rc = alerts_enqueue(alerts, c, kind, key, payload, -1);
    json_decref(payload);
    /* a page that comes after the report (the third trace) brings the report along */
    if (rc == 0 && n->event == INCIDENT_PAGED) rc = incident_alerts_report(alerts, c, n->id, 0);
    return rc;
}

incident_notifier_t incident_alerts_notifier(const alerts_t *alerts)
{
    return (incident_notifier_t){notify, (void *)alerts};
}
