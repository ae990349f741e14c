/* The faults the shop injects, one at a time into one service, with magnitudes drawn from the seed,
 * and the fault-free window kinds. The simulator asks fault_active() at each step; everything else
 * about a fault's footprint follows from the simulation. Pure: no I/O. */
#ifndef PS_SHOP_FAULT_H
#define PS_SHOP_FAULT_H

#include "prng.h"
#include "topo.h"

#include <stdint.h>

typedef enum {
    FAULT_LATENCY,
    FAULT_CPU,
    FAULT_NETWORK_DELAY,
    FAULT_ERROR,
    FAULT_EXCEPTION_CAUGHT,
    FAULT_WRONG_RETURN,
    FAULT_DEPENDENCY_STOPPED,
    FAULT_MEMORY_GC,
    FAULT_BAD_DEPLOY,
    FAULT_TYPE_COUNT,
    /* fault-free windows */
    FAULT_NONE_STEADY = FAULT_TYPE_COUNT,
    FAULT_NONE_RAMP,
    FAULT_NONE_BURST,
    FAULT_NONE_NEW_ENDPOINT,
    FAULT_KIND_COUNT
} fault_kind_t;

typedef struct {
    fault_kind_t kind;        /* as labelled in cases.csv */
    fault_kind_t effect;      /* what acts: kind, or for a bad deploy the underlying fault */
    int svc;                  /* -1 for a fault-free window */
    int64_t start_ns, end_ns; /* active in [start, end): the injection (or traffic change) to its end */
    int op;                   /* latency on one op (>= 0) or all (-1) */
    double ms;                /* latency, network delay each way */
    double factor;            /* cpu: self time multiplier */
    double prob;              /* error, exception, wrong return, dependency stopped, gc pause share */
    double cpu_points, mem_points;
    double pause_lo_ms, pause_hi_ms;
    int fallback;        /* exception-caught: takes a fallback path after the exception */
    int retry;           /* wrong-return: the caller retries (1) or takes another branch (0) */
    int stop_svc;        /* dependency-stopped: the callee no longer called (-1: a leaf's own work) */
    double traffic_peak; /* ramp: 1.5 at the end; burst: 2-3x */
    int64_t burst_ns;    /* burst length */
    char version[16];    /* bad deploy */
} fault_t;

const char *fault_kind_name(fault_kind_t k);
/* Draws the magnitudes of a fault of `kind` on service `svc` (-1 for fault-free kinds), active from
 * start_ns to end_ns. */
void fault_draw(fault_t *f, const topo_t *t, fault_kind_t kind, int svc, int64_t start_ns, int64_t end_ns,
                prng_t *r);
/* 1 when the fault acts at `ts` with effect `effect` on service `svc`. NULL f: never. */
int fault_on(const fault_t *f, fault_kind_t effect, int svc, int64_t ts);
/* Traffic multiplier at `ts` of fault-free traffic-change windows (1.0 otherwise). */
double fault_traffic(const fault_t *f, int64_t ts);
/* 1 when the gateway's new endpoint takes traffic at `ts`. */
int fault_new_endpoint(const fault_t *f, int64_t ts);

#endif
