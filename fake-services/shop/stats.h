/* Per-pod figures of one simulated minute (server and client latency P90, calls, failures, GC pauses),
 * gathered while the simulator writes spans, and turned into one row per pod at the minute's end for
 * the metric files. */
#ifndef PS_SHOP_STATS_H
#define PS_SHOP_STATS_H

#include "topo.h"

#include <stddef.h>

typedef struct {
    double *v;
    size_t n, cap;
} stats_vec_t;

typedef struct {
    stats_vec_t server[TOPO_MAX_SVC], client[TOPO_MAX_SVC];
    long calls[TOPO_MAX_SVC], failed[TOPO_MAX_SVC];
    double gc_ms[TOPO_MAX_SVC];
} stats_minute_t;

typedef struct {
    int simulated; /* 0: the minute was not simulated; the metric model fills it in */
    double server_p90_s, client_p90_s, workload, success_pct, gc_ms;
} stats_row_t;

void stats_init(stats_minute_t *m);
void stats_dispose(stats_minute_t *m);
void stats_add_server(stats_minute_t *m, int svc, double ms, int failed);
void stats_add_client(stats_minute_t *m, int svc, double ms);
void stats_add_gc(stats_minute_t *m, int svc, double ms);
/* Writes one row per service into rows[0..n_svc) and empties m for the next minute. */
void stats_finish(stats_minute_t *m, int n_svc, stats_row_t *rows);

#endif
