/* The anomaly detector's thread: every ANOMALY_PERIOD_S seconds (points younger than ANOMALY_LAG_S wait) it
 * reads only the metric points that arrived since its watermark (kept in detector_progress), fetches each
 * touched series' baseline window (trailing hour, and the same time of day on the previous days for
 * seasonality), runs the pure detector (anomaly/detect.h), ranks change-event suspects (anomaly/suspects.h)
 * and stores episodes in anomaly_episodes, extending an episode that is still going on. */
#ifndef PS_ANOMALY_RUNNER_H
#define PS_ANOMALY_RUNNER_H

#include "config.h"
#include "leader.h"

typedef struct anomaly_runner anomaly_runner_t;

/* Borrows cfg and leader: the scan runs only while this instance holds LEADER_ANOMALY (its watermark is
 * one for all pipelines); NULL leader: always. */
anomaly_runner_t *anomaly_runner_start(const config_t *cfg, const leader_t *leader);
void anomaly_runner_stop(anomaly_runner_t *r);

#endif
