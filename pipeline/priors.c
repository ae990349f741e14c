/* Feedback-shifted suspect priors (see priors.h). */
#include "priors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double priors_shift(double base, long right, long wrong)
{
    return (base * PRIORS_BASE_WEIGHT + (double)right) / (PRIORS_BASE_WEIGHT + (double)right + (double)wrong);
}

int priors_load(PGconn *c, suspect_opts_t *o, char *explain, size_t explain_len)
{
    /* the latest label per incident, against the type of the first suspect its latest analysis named */
    PGresult *r =
        PQexec(c, "WITH l AS (SELECT DISTINCT ON (f.incident_id) f.incident_id, f.verdict, "
                  "a.evidence->'suspects'->0->>'type' AS type FROM feedback f JOIN analyses a ON a.id = "
                  "f.analysis_id ORDER BY f.incident_id, f.created_at DESC, f.id DESC) "
                  "SELECT type, count(*) FILTER (WHERE verdict = 'right'), count(*) FILTER (WHERE verdict = "
                  "'wrong') FROM l WHERE type IS NOT NULL GROUP BY type ORDER BY type");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return -1;
    }
    suspect_opts_t base;
    suspect_opts_default(&base);
    size_t used = 0;
    if (explain && explain_len) explain[0] = '\0';
    for (int i = 0; i < PQntuples(r); i++) {
        change_type_t t = change_type_of(PQgetvalue(r, i, 0));
        long right = atol(PQgetvalue(r, i, 1)), wrong = atol(PQgetvalue(r, i, 2));
        o->prior[t] = priors_shift(base.prior[t], right, wrong);
        if (explain && used < explain_len)
            used += (size_t)snprintf(explain + used, explain_len - used,
                                     "%sprior %s %.2f (base %.2f, %ld right / %ld wrong)", used ? "; " : "",
                                     PQgetvalue(r, i, 0), o->prior[t], base.prior[t], right, wrong);
    }
    PQclear(r);
    return 0;
}
