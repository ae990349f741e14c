/* fake-shop's driver: for each of K systems, generate the topology of seed N+k, plan its day, simulate
 * the baseline minute and the three minute files of every case in virtual time, and write the dataset
 * (cases.csv, README.md, topology.json, <day>/{trace,log,metric,change}, baseline/<day>/{trace,log}). */
#ifndef PS_SHOP_SHOP_H
#define PS_SHOP_SHOP_H

#include <stdint.h>

#define SHOP_DAY0 1767225600LL /* 2026-01-01 00:00:00 UTC */

typedef struct {
    const char *out;
    uint64_t seed;
    int systems;
    double rate;         /* requests per second at the entry */
    const char *command; /* the command line, for README.md */
} shop_opts_t;

typedef struct {
    long cases, spans, logs;
} shop_summary_t;

/* Writes the dataset under o->out. -1 on a write failure (message on stderr). */
int shop_run(const shop_opts_t *o, shop_summary_t *sum);

#endif
