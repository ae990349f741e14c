/* The LLM budget: at most LLM_MAX_CALLS_PER_HOUR calls per clock hour, counted in PostgreSQL
 * (llm_budget, one row per hour) so every worker of every pipeline process draws on one budget and an
 * ingest key that sends a storm of distinct errors cannot drive the LLM's cost. Past the budget the
 * analysis writes the deterministic report, which says why. */
#ifndef PS_LLM_BUDGET_H
#define PS_LLM_BUDGET_H

#include <libpq-fe.h>

/* Takes one call from this hour's budget of `max_per_hour` (0: no call ever). Returns 1 when granted,
 * 0 when the budget is spent, -1 when PostgreSQL failed (the caller should not call then). Any thread,
 * with its own connection, outside a transaction. */
int llm_budget_take(PGconn *c, int max_per_hour);

#endif
