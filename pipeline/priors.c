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
    PGresult *r = PQexec(c, "SELECT judged_type, count(*) FILTER (WHERE judged_cause), count(*) FILTER "
                            "(WHERE NOT judged_cause) FROM suspect_labels WHERE judged_type IS NOT NULL "
                            "GROUP BY judged_type ORDER BY judged_type");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return -1;
    }
    /* several stored spellings fold into one type: sum before shifting */
    long right[CHANGE_TYPES] = {0}, wrong[CHANGE_TYPES] = {0};
    int seen[CHANGE_TYPES] = {0};
    for (int i = 0; i < PQntuples(r); i++) {
        change_type_t t = change_type_of(PQgetvalue(r, i, 0));
        right[t] += atol(PQgetvalue(r, i, 1));
        wrong[t] += atol(PQgetvalue(r, i, 2));
        seen[t] = 1;
    }
    PQclear(r);
    suspect_opts_t base;
    suspect_opts_default(&base);
    size_t used = 0;
    if (explain && explain_len) explain[0] = '\0';
    for (int t = 0; t < CHANGE_TYPES; t++) {
        if (!seen[t]) continue;
        o->prior[t] = priors_shift(base.prior[t], right[t], wrong[t]);
        if (explain && used < explain_len) {
            int w =
                snprintf(explain + used, explain_len - used,
                         "%sprior %s %.2f (base %.2f, %ld right / %ld wrong)", used ? "; " : "",
                         change_type_name((change_type_t)t), o->prior[t], base.prior[t], right[t], wrong[t]);
            if (w > 0) used += (size_t)w;
        }
    }
    return 0;
}
