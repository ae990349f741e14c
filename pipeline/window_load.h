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

/* Warms a connection just opened for window ranking, so that its first window_load() does not pay for
 * the new server process: loads (and drops) the 3 minutes up to the latest span stored, against the 3
 * minutes before, as a report of the latest window would. A new PostgreSQL backend builds its catalog
 * caches (the tables, their partitions and time indexes, metric_values() and what it inlines) on its
 * first load, and maps each page of shared memory the first time it reads it; measured on our 2-core VM,
 * where a page fault costs 15-115 us, that made the first load of a connection 3-4x its warm time
 * (server CPU 110-130 ms against 38 ms for the same window). Returns 0, or -1 when PostgreSQL failed
 * (logged; the connection is then as window_load() leaves it). `*end_ns` (NULL: not wanted) receives the
 * end of the window loaded: the latest span's start + 1 ns, or now when no span is stored. Same
 * connection contract as window_load(). */
int window_load_warm(PGconn *c, int64_t *end_ns);

/* Frees what window_load() filled; accepts a zeroed or already disposed *w. */
void window_data_dispose(window_data_t *w);

#endif
