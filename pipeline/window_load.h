/* Loading of what a window ranking compares: the spans, logs, metric values and change events of a target
 * window and of its baseline, read from PostgreSQL as the two inputs of rank_window() (pipeline/rank/). */
#ifndef PS_WINDOW_LOAD_H
#define PS_WINDOW_LOAD_H

#include "rank.h"

#include <libpq-fe.h>
#include <stdint.h>

#define WINDOW_LOAD_RESULTS 8

/* Both inputs and what they borrow from; fields other than `base` and `target` are the loader's. */
typedef struct {
    rank_input_t base, target;
    PGresult *res[WINDOW_LOAD_RESULTS];
    rank_span_t *spans;     /* the baseline's, then the target's */
    rank_log_t *logs;       /* same */
    rank_metric_t *metrics; /* same */
    rank_change_t *changes; /* same */
} window_data_t;

/* Loads the target [from, to) and the baseline [bfrom, bto): spans and logs by their start/time; as
 * the baseline's metric values the hour of history before `from`; as the target's those of [from, to)
 * and up to one reporting period of their series after `to` (at most 10 minutes); change events from
 * half an hour before `from` for the target and inside the baseline for the baseline. One round trip:
 * every query is sent at once (libpq pipeline mode) and results are converted while later ones run.
 * Returns 0, or -1 when PostgreSQL failed (logged). Either way free with window_data_dispose(). `c` is
 * the caller's connection, idle, outside a transaction block (a planner setting of the load lasts until
 * the end of the transaction) and not in pipeline mode; it is left so unless it broke. */
int window_load(PGconn *c, int64_t from, int64_t to, int64_t bfrom, int64_t bto, window_data_t *w);

/* Frees what window_load() filled; accepts a zeroed or already disposed *w. */
void window_data_dispose(window_data_t *w);

#endif
