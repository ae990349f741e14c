/* Retention: a thread that drops whole raw-telemetry day partitions older than RETENTION_DAYS, at
 * start and then hourly (PostgreSQL function drop_raw_partitions_older_than, migration 001). */
#ifndef PS_RETENTION_H
#define PS_RETENTION_H

#include "config.h"

typedef struct retention retention_t;

/* Starts the thread; borrows cfg. */
retention_t *retention_start(const config_t *cfg);
/* Stops the thread (within a second) and frees. NULL is fine. */
void retention_stop(retention_t *r);

#endif
