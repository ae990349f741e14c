/* Leader election of the singleton duties, so any number of backends and pipelines can run against one
 * PostgreSQL: each duty that must run in one place at a time (it keeps a watermark, or its effects are
 * not idempotent) is owned by whichever instance holds its PostgreSQL session advisory lock.
 *
 *   lock key (two-int form): (LEADER_LOCK_CLASS, duty)    e.g. (7263516, 1) is retention
 *
 * A thread of its own holds the locks on a dedicated connection and re-checks them every
 * LEADER_CHECK_MS: it confirms those it holds (pg_locks of its own session) and tries to take the others
 * (pg_try_advisory_lock). A lease is the time of the last confirmation: leader_holds() answers 1 only
 * while that confirmation is younger than a third of LEADER_TAKEOVER_S, so a holder cut off from
 * PostgreSQL stops its duties (fencing) before the server can have freed the lock for someone else.
 *
 * When a holder dies (kill -9) its kernel closes the socket and PostgreSQL frees the lock at once. When
 * it freezes (stopped, starved, its network dropping packets) its session stays open (a frozen
 * process's kernel still answers keepalives), but it stops running its checks: the others end a session
 * holding a duty lock that has been idle for two fifths of LEADER_TAKEOVER_S (pg_terminate_backend,
 * same role: no privilege needed; pg_stat_activity must show the holder's state, so every instance
 * competing for a duty uses the same role). When its machine or network dies, the TCP keepalives and
 * TCP_USER_TIMEOUT set on both ends also make PostgreSQL close the session within about two thirds.
 * Another instance takes the lock at its next check: takeover within LEADER_TAKEOVER_S (measured by
 * tests/integration/test_scale_out.c: ~0.3-1 s after kill -9, ~2 s after SIGSTOP, with 5 s). A duty's
 * iteration is written to be idempotent across a takeover (watermarks in PostgreSQL, upserts), so the rare
 * overlap of a holder that had already started an iteration when it lost its lease costs repeated work at
 * worst, never a lost one. */
#ifndef PS_LEADER_H
#define PS_LEADER_H

#include "buf.h"

#include <jansson.h>
#include <stddef.h>

/* The first key of every duty lock: distinct from the migrations' single-int keys (7263514/5). */
#define LEADER_LOCK_CLASS 7263516
/* How often the locks are confirmed or tried. */
#define LEADER_CHECK_MS 1000

/* Singleton duties; the value is the lock's second key, so never renumber one. */
typedef enum {
    LEADER_RETENTION = 1,   /* backend: drops old raw partitions (backend/retention.c) */
    LEADER_DEBOUNCE = 2,    /* backend: due traces to the stream, trigger replay (backend/debounce.c) */
    LEADER_ANOMALY = 3,     /* pipeline: the metric scan and its watermark (pipeline/anomaly_runner.c) */
    LEADER_DEGRADATION = 4, /* pipeline: the degradation scan and its reports (degradation_runner.c) */
    LEADER_DUTY_MAX = 4
} leader_duty_t;

typedef struct leader leader_t;

/* The duty's name in logs and metrics ("retention", ...); "?" for an unknown value. */
const char *leader_duty_name(leader_duty_t duty);

/* Starts the election thread on its own connection to `database_url` (borrowed, must outlive it) for
 * the `nduties` duties of `duties` (copied), as `instance_id` (copied: the instance's name in /ready,
 * /metrics and logs). takeover_s is LEADER_TAKEOVER_S. The first check runs before it returns, so an
 * instance alone finds its duties held at once. Free with leader_stop(). */
leader_t *leader_start(const char *database_url, const char *instance_id, int takeover_s,
                       const leader_duty_t *duties, size_t nduties);
/* Releases every lock (the connection closes), joins the thread and frees. NULL is fine. */
void leader_stop(leader_t *l);

/* 1 while this instance holds `duty` with a fresh lease, else 0. Any thread; no I/O. Call it at the top of
 * every iteration of the duty. A NULL `l` holds every duty (tools and tests that run a duty alone). */
int leader_holds(const leader_t *l, leader_duty_t duty);
/* The instance id (borrowed); "" for NULL. */
const char *leader_instance(const leader_t *l);

/* Appends prodsentinel_leader{instance,duty} 0/1 and prodsentinel_leader_acquired_total{instance,duty}
 * for each duty of this instance, in Prometheus text. Returns 0, or -1 when `out` is full. */
int leader_write_metrics(const leader_t *l, buf_t *out);
/* {"instance": id, "duties": [names of the duties held now]}: a new reference (for /ready). */
json_t *leader_status_json(const leader_t *l);

/* The default instance id: "<hostname>-<pid>" (also the stem of the queue's consumer names). */
void leader_default_instance(char *out, size_t outlen);

#endif
