/* The degradation watcher's thread: every DEGRADE_PERIOD_S it compares each service endpoint's last
 * DEGRADE_WINDOW_S of entry spans (SERVER spans and roots) with the DEGRADE_BASELINE_S before, adds the
 * service's metric anomaly episodes, and when two signals agree (anomaly/degrade.h) opens (or keeps
 * open) a 'degradation' incident with the explanation; an endpoint judged healthy in two passes in a
 * row resolves its incident (common/incident_rows.h). Each second it also writes the window-ranking
 * reports of pending degradation incidents (degradation_report.h, which pages them) and runs the resolve
 * timer of every incident (INCIDENT_RESOLVE_AFTER_S without activity). The three periods come from the
 * configuration (defaults 30 s, 300 s, 1800 s). */
#ifndef PS_DEGRADATION_RUNNER_H
#define PS_DEGRADATION_RUNNER_H

#include "alerts.h"
#include "config.h"
#include "leader.h"

typedef struct degradation_runner degradation_runner_t;

/* Borrows cfg, alerts (which may be NULL) and leader: scans and reports run only while this instance
 * holds LEADER_DEGRADATION; NULL leader: always. */
degradation_runner_t *degradation_runner_start(const config_t *cfg, const alerts_t *alerts,
                                               const leader_t *leader);
void degradation_runner_stop(degradation_runner_t *r);

#endif
