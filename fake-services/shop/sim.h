/* The request simulator: one request arriving at the gateway becomes a call tree walked in virtual
 * time, written as spans (the caller's client span, the callee's server span 0.5-2 ms of network later,
 * the server's internal work span) and log rows, with the active fault (if any) acting on its service
 * only. Everything else a fault shows (slow callers, errors at the entry, retries) follows from the walk.
 * A server span whose code caught an exception (exception-caught) or failed with one (error) records it,
 * as OTel's span.recordException() does: its ExceptionType column names the type its stack text names.
 *
 *   client span (caller pod)  |--net--[ server span (callee pod) ]--net--|
 *   server span               [ pre-work (internal span) | calls: seq / parallel groups | post-work ] */
#ifndef PS_SHOP_SIM_H
#define PS_SHOP_SIM_H

#include "fault.h"
#include "gzw.h"
#include "prng.h"
#include "stats.h"
#include "topo.h"

#include <stdint.h>

#define SIM_TRACE_HEADER                                                                                     \
    "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration,StatusCode,"   \
    "ExceptionType\n"

typedef enum { SPAN_UNSET = 0, SPAN_OK = 1, SPAN_ERROR = 2 } sim_status_t;

typedef struct {
    const topo_t *t;
    const fault_t *f;    /* borrowed; NULL: no fault and ordinary traffic */
    prng_t *r;           /* borrowed */
    gzw_t *spans, *logs; /* borrowed; NULL: simulate without writing (calibration) */
    stats_minute_t *st;  /* borrowed */
    long n_spans, n_logs;
} sim_t;

/* Simulates one request arriving at the gateway at ts_ns. */
void sim_request(sim_t *s, int64_t ts_ns);

#endif
