/* Window ranking over stored telemetry: loads the spans, logs, metric points and change events of a
 * target window and of a baseline from PostgreSQL and ranks the services with the pure ranking of
 * pipeline/rank/. Used by POST /debug/analyze-window and by the reports of degradation incidents. */
#ifndef PS_WINDOW_RANK_H
#define PS_WINDOW_RANK_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

/* Ranks [from, to) against [bfrom, bto) (spans and logs by their start/time; the target's metric points
 * against the hour of history before `from`; change events from half an hour before `from`). Returns
 * the ranking (rank_result_to_json() plus "window"), a new reference; NULL when PostgreSQL failed
 * (*db_failed = 1) or the ranking could not be built (*db_failed = 0). Any thread, the caller's
 * connection. */
json_t *window_rank(PGconn *c, int64_t from, int64_t to, int64_t bfrom, int64_t bto, int *db_failed);

#endif
