/* Robust baselines, z-scores and episode grouping (see detect.h). */
#include "detect.h"
#include "alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* MAD of a flat series is 0; a floor keeps z finite and makes tiny wiggles of a constant series count
 * as small, not infinite: 1% of the median's magnitude, or an absolute epsilon near zero. */
#define SCALE_FLOOR_REL 0.01
#define SCALE_FLOOR_ABS 1e-6
#define MAD_TO_SIGMA 1.4826

void detect_opts_default(detect_opts_t *o)
{
    o->z_threshold = 3.0;
    o->merge_gap_ns = 120 * ANOMALY_NS_PER_S;
    o->min_history = 10;
    o->trailing_ns = 3600 * ANOMALY_NS_PER_S;
    o->season_half_ns = 1800 * ANOMALY_NS_PER_S;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_sorted(const double *v, size_t n)
{
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

int baseline_of(double *values, size_t n, baseline_t *out)
{
    if (n == 0) return -1;
    qsort(values, n, sizeof(double), cmp_double);
    double med = median_sorted(values, n);
    for (size_t i = 0; i < n; i++)
        values[i] = fabs(values[i] - med);
    qsort(values, n, sizeof(double), cmp_double);
    out->median = med;
    out->mad = median_sorted(values, n);
    double floor = fabs(med) * SCALE_FLOOR_REL;
    if (floor < SCALE_FLOOR_ABS) floor = SCALE_FLOOR_ABS;
    out->scale = MAD_TO_SIGMA * out->mad;
    if (out->scale < floor) out->scale = floor;
    out->n = n;
    out->seasonal = 0;
    return 0;
}

double baseline_z(const baseline_t *b, double v)
{
    return (v - b->median) / b->scale;
}

int baseline_for(const series_point_t *history, size_t nh, int64_t at_ns, const detect_opts_t *o,
                 double *scratch, baseline_t *out)
{
    size_t k = 0;
    int seasonal = nh > 0 && at_ns - history[0].ts_ns >= ANOMALY_DAY_NS;
    if (seasonal) {
        /* the same time of day on every earlier day in the history */
        for (size_t i = 0; i < nh; i++) {
            int64_t d = (at_ns - history[i].ts_ns) % ANOMALY_DAY_NS;
            if (d <= o->season_half_ns || ANOMALY_DAY_NS - d <= o->season_half_ns)
                if (at_ns - history[i].ts_ns >= ANOMALY_DAY_NS - o->season_half_ns)
                    scratch[k++] = history[i].value;
        }
        if (k < o->min_history) seasonal = 0;
    }
    if (!seasonal) {
        k = 0;
        for (size_t i = 0; i < nh; i++)
            if (history[i].ts_ns < at_ns && at_ns - history[i].ts_ns <= o->trailing_ns)
                scratch[k++] = history[i].value;
    }
    if (k < o->min_history) return -1;
    baseline_of(scratch, k, out);
    out->seasonal = seasonal;
    return 0;
}

size_t anomaly_detect(const series_point_t *history, size_t nh, const series_point_t *recent, size_t nr,
                      const detect_opts_t *o, episode_t **out)
{
    *out = NULL;
    if (nr == 0) return 0;
    double *scratch = xmalloc((nh ? nh : 1) * sizeof(double));
    episode_t *eps = NULL;
    size_t neps = 0;
    episode_t *open = NULL;
    for (size_t i = 0; i < nr; i++) {
        baseline_t b;
        /* the baseline never includes the points being judged: history only */
        if (baseline_for(history, nh, recent[i].ts_ns, o, scratch, &b) != 0) continue;
        double z = baseline_z(&b, recent[i].value);
        if (fabs(z) < o->z_threshold) continue;
        int dir = z > 0 ? 1 : -1;
        if (open && dir == open->direction && recent[i].ts_ns - open->end_ns <= o->merge_gap_ns) {
            open->end_ns = recent[i].ts_ns;
            open->points++;
            if (fabs(z) > fabs(open->peak_z)) {
                open->peak_z = z;
                open->peak = recent[i].value;
            }
        } else {
            eps = xrealloc(eps, (neps + 1) * sizeof(*eps));
            open = &eps[neps++];
            open->start_ns = open->end_ns = recent[i].ts_ns;
            open->baseline = b.median;
            open->peak = recent[i].value;
            open->peak_z = z;
            open->direction = dir;
            open->points = 1;
        }
        open->pct_change =
            open->baseline != 0 ? (open->peak - open->baseline) / fabs(open->baseline) * 100.0 : 0;
    }
    free(scratch);
    *out = eps;
    return neps;
}
