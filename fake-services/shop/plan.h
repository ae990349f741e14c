/* A system's day plan: every fault type at every position (one service of the position per case,
 * rotating through that position's services) plus eight fault-free windows, shuffled, one case every
 * 8 minutes from 01:00; and the day's change events (routine deployments and the bad deploys).
 *
 *   case at minute M: M baseline (fault-free) | M+1 idle | M+2 M+3 M+4 minute files | M+5..M+7 idle
 *   injection at M+2 plus 5-40 s, the fault active until M+5 */
#ifndef PS_SHOP_PLAN_H
#define PS_SHOP_PLAN_H

#include "fault.h"
#include "gzw.h"
#include "topo.h"

#include <stdint.h>
#include <stdio.h>

#define PLAN_FAULTY (FAULT_TYPE_COUNT * POS_COUNT)
#define PLAN_FREE 8
#define PLAN_CASES (PLAN_FAULTY + PLAN_FREE)
#define PLAN_FIRST_MINUTE 60
#define PLAN_SPACING 8
#define PLAN_MAX_CHANGES 256

typedef struct {
    char id[64];
    int minute;     /* M, minute of the day: the baseline minute */
    topo_pos_t pos; /* POS_COUNT: a fault-free window */
    fault_t f;
} plan_case_t;

typedef struct {
    int64_t ts_ns;
    int svc;
    char type[16], desc[48];
} plan_change_t;

typedef struct {
    const topo_t *t; /* borrowed */
    int64_t day_start_s;
    char day[40];
    plan_case_t cases[PLAN_CASES];
    int n_changes;
    plan_change_t changes[PLAN_MAX_CHANGES];
} plan_t;

/* Builds the plan of topology t for the day starting at day_start_s (00:00 UTC). */
void plan_build(plan_t *p, const topo_t *t, int64_t day_start_s);
/* The cases.csv header, and one row per case of the plan. */
void plan_write_cases_header(FILE *f);
void plan_write_cases(const plan_t *p, FILE *f);
/* <day>/change/changes.csv.gz under root. -1 on a write failure. */
int plan_write_changes(const plan_t *p, const char *root);

#endif
