/* One LLM budget shared through PostgreSQL (see llm_budget.h). */
#include "llm_budget.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* hours kept once past: enough to see the last day's use */
#define KEEP_HOURS "24 hours"

int llm_budget_take(PGconn *c, int max_per_hour)
{
    if (max_per_hour <= 0) return 0;
    char max[16];
    snprintf(max, sizeof(max), "%d", max_per_hour);
    const char *p[] = {max};
    /* the row lock of ON CONFLICT orders concurrent takers: the count never passes the budget */
    PGresult *r = PQexecParams(c,
                               "INSERT INTO llm_budget (hour, calls) VALUES (date_trunc('hour', now()), 1) "
                               "ON CONFLICT (hour) DO UPDATE SET calls = llm_budget.calls + 1 "
                               "WHERE llm_budget.calls < $1::int RETURNING calls",
                               1, NULL, p, NULL, NULL, 0);
    int rc = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_warn("LLM budget: %s", PQerrorMessage(c));
        goto out;
    }
    rc = PQntuples(r) == 1;
    if (rc && strcmp(PQgetvalue(r, 0, 0), "1") == 0) /* the hour's first call: forget the old hours */
        PQclear(PQexec(c, "DELETE FROM llm_budget WHERE hour < now() - interval '" KEEP_HOURS "'"));
out:
    PQclear(r);
    return rc;
}
