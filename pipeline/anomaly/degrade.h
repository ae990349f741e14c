/* Degradation without errors, pure: compares an endpoint's current rolling window (p95 latency,
 * error rate) with its baseline window and says whether it degraded. Low noise by design: a
 * degradation needs at least two agreeing signals (latency, errors, a metric anomaly episode of the
 * service), and each signal needs enough requests and both a relative and an absolute change. */
#ifndef PS_ANOMALY_DEGRADE_H
#define PS_ANOMALY_DEGRADE_H

typedef struct {
    long requests;
    double p95_ms;
    double error_rate; /* 0..1 */
} window_stats_t;

#define DEGRADE_MIN_REQUESTS 20
#define DEGRADE_LATENCY_RATIO 1.5
#define DEGRADE_LATENCY_MIN_MS 50.0
#define DEGRADE_ERROR_RATIO 2.0
#define DEGRADE_ERROR_MIN_DELTA 0.05

typedef struct {
    int latency, errors, metrics; /* which signals fired */
    int agreeing;                 /* how many */
    int degraded;                 /* agreeing >= 2 */
    char explanation[512];
} degrade_verdict_t;

/* `metric_episodes`: anomaly episodes of the service in the current window. Fills `out` always. */
void degrade_judge(const char *service, const char *endpoint, const window_stats_t *base,
                   const window_stats_t *cur, int metric_episodes, degrade_verdict_t *out);

#endif
