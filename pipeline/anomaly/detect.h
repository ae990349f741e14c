/* Metric anomaly detection, pure (no I/O): a robust baseline (median and MAD) of a series' history,
 * seasonality-aware once a day of history exists (the same time of day on earlier days), a robust
 * z-score per new point, and consecutive anomalies grouped into episodes (start, end, baseline,
 * peak, percent change, peak z). Same input, same output. */
#ifndef PS_ANOMALY_DETECT_H
#define PS_ANOMALY_DETECT_H

#include <stddef.h>
#include <stdint.h>

#define ANOMALY_NS_PER_S 1000000000LL
#define ANOMALY_DAY_NS (86400LL * ANOMALY_NS_PER_S)

typedef struct {
    int64_t ts_ns;
    double value;
} series_point_t;

typedef struct {
    double median;
    double mad;   /* median absolute deviation, raw */
    double scale; /* the spread used for z: 1.4826 * MAD, floored (see detect.c) */
    size_t n;
    int seasonal; /* 1 when taken from the same time of day on earlier days */
} baseline_t;

typedef struct {
    int64_t start_ns, end_ns;
    double baseline; /* median before the episode */
    double peak;     /* the most abnormal value */
    double pct_change;
    double peak_z;
    int direction; /* +1 above, -1 below */
    size_t points;
} episode_t;

typedef struct {
    double z_threshold;     /* default 3 */
    int64_t merge_gap_ns;   /* anomalies closer than this join one episode; default 2 minutes */
    size_t min_history;     /* fewer history points: no verdict; default 10 */
    int64_t trailing_ns;    /* non-seasonal baseline window before the point; default 1 hour */
    int64_t season_half_ns; /* seasonal window half-width around the same time of day; default 30 min */
} detect_opts_t;

void detect_opts_default(detect_opts_t *o);

/* Median and MAD of `values` (reordered in place). Returns -1 when n == 0. */
int baseline_of(double *values, size_t n, baseline_t *out);
/* Robust z of v against b (0 when the baseline has no spread and v equals the median). */
double baseline_z(const baseline_t *b, double v);

/* The baseline for a point at `at_ns` from `history` (sorted by time; only the points before at_ns
 * count, so a history that runs past at_ns, as a late batch's does, is fine): seasonal when the history
 * covers at least a day before at_ns, else the trailing window. Returns -1 when there is too little
 * history. `scratch` must hold nh doubles. */
int baseline_for(const series_point_t *history, size_t nh, int64_t at_ns, const detect_opts_t *o,
                 double *scratch, baseline_t *out);

/* Scores `recent` (sorted; each point against the history before it, so `history` may hold the recent
 * points too: late points are judged in their own time context) and groups anomalies into episodes. Returns
 * the number of episodes written to *out (malloc'd; caller frees) — 0 with *out NULL when none. */
size_t anomaly_detect(const series_point_t *history, size_t nh, const series_point_t *recent, size_t nr,
                      const detect_opts_t *o, episode_t **out);

#endif
