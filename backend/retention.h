/* Retention: a thread that drops whole raw-telemetry partitions (of a day or, with PARTITION_INTERVAL=hour,
 * of an hour) that end RETENTION_DAYS ago or earlier, every RETENTION_PERIOD_S (PostgreSQL function
 * drop_raw_partitions_older_than, migrations 001 and 012).
 *
 * A singleton duty (leader.h, LEADER_RETENTION): with several backends only the one holding the duty
 * runs it, and a Redis key "<prefix>retention:last" (SET NX with the period as its expiry) spaces runs a
 * period apart across instances, so a takeover does not run it again early. Each run is logged
 * ("retention: run by <instance>") and counted (prodsentinel_retention_runs_total). */
#ifndef PS_RETENTION_H
#define PS_RETENTION_H

#include "buf.h"
#include "config.h"
#include "leader.h"

typedef struct retention retention_t;

/* Starts the thread; borrows cfg and `leader` (NULL: this instance always holds the duty). */
retention_t *retention_start(const config_t *cfg, const leader_t *leader);
/* Stops the thread (within a second) and frees. NULL is fine. */
void retention_stop(retention_t *r);
/* Appends prodsentinel_retention_runs_total. Returns 0, or -1 when `out` is full. NULL writes nothing. */
int retention_write_metrics(const retention_t *r, buf_t *out);

#endif
