/* Per-pod metric files: one row per minute of the day for every pod. A simulated minute takes the
 * figures measured from its spans (latency P90s, calls, success rate, GC pauses); other minutes come
 * from the pod's nominal figures (measured on a calibration minute) with noise and a slow drift. CPU,
 * memory and network follow from the workload, plus the active fault's effect on its pod. */
#ifndef PS_SHOP_METRICS_H
#define PS_SHOP_METRICS_H

#include "fault.h"
#include "stats.h"
#include "topo.h"

#include <stddef.h>
#include <stdint.h>

#define METRICS_MINUTES 1440
#define METRICS_HEADER                                                                                       \
    "Time,TimeStamp,PodName,CpuUsageRate(%),MemoryUsageRate(%),NetworkReceiveBytes,NetworkTransmitBytes,"    \
    "PodClientLatencyP90(s),PodServerLatencyP90(s),PodWorkload(Ops),PodSuccessRate(%),JvmGcPauseTime(ms)\n"

typedef struct {
    const topo_t *t;                   /* borrowed */
    int64_t day_start_s;               /* 00:00 UTC of the system's day */
    stats_row_t nominal[TOPO_MAX_SVC]; /* per minute at the base rate */
    stats_row_t rows[METRICS_MINUTES][TOPO_MAX_SVC];
} metrics_t;

/* Caller frees with metrics_free(). */
metrics_t *metrics_create(const topo_t *t, int64_t day_start_s);
void metrics_free(metrics_t *m);
/* Writes <dir>/<pod>_metric.csv.gz for every pod; faults[0..n) are the day's faults (their CPU and
 * memory effects). -1 when a file could not be written. */
int metrics_write(const metrics_t *m, const char *dir, const fault_t *faults, size_t n_faults);

#endif
