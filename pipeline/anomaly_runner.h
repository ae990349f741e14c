/* The anomaly detector's thread: every ANOMALY_PERIOD_S seconds it reads the metric points that ARRIVED
 * since its watermark (metric_points.arrived_ns, migration 011; kept in detector_progress), whatever
 * their event time, so late points (a Collector retrying after an outage, a backfill) are analysed too;
 * points younger than ANOMALY_LAG_S by arrival wait for the next pass. Each touched series' new points
 * are judged in their own time context: against the series' points before each of them by event time
 * (trailing hour, and the same time of day on the previous days for seasonality), by the pure detector
 * (anomaly/detect.h). Episodes get change-event suspects (anomaly/suspects.h) and are stored in
 * anomaly_episodes, extending one still going on; then episodes not yet linked are linked to the open
 * incident of their service around their time (anomaly_episodes.incident_id; incidents are read, never
 * written). */
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
