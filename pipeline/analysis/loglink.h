/* Logs of a trace in their evidence order, each tied to its span, pure. The order is by time, then
 * by every column, so log ids ("log:<index>") never depend on the order rows came in. A log names
 * its span by span_id; a log without one (or naming a span the trace lacks) goes to the innermost
 * span of its own service running at its time, looking back over a bounded number of spans. */
#ifndef PS_ANALYSIS_LOGLINK_H
#define PS_ANALYSIS_LOGLINK_H

#include "model.h"
#include "spantree.h"

typedef struct {
    const analysis_log_t *log; /* borrowed */
    int severity;              /* 1..6: the column, or read from the level when the column is 0 */
    int node;                  /* its span's node, -1 when none */
    int by_time;               /* 1: tied by service and time, not by span_id */
} analysis_logref_t;

typedef struct {
    analysis_logref_t *logs; /* logs[i] is "log:<i>" */
    size_t nlogs;
    int *first; /* logs of node x: of_node[first[x] .. first[x+1]) in log order; nnodes+1 entries */
    int *of_node;
    size_t nerror; /* logs with severity >= ANALYSIS_SEV_ERROR */
} analysis_logs_t;

/* Orders and links ctx->logs against the tree. Returns 0; dispose with analysis_logs_dispose(). */
int analysis_logs_link(const trace_ctx_t *ctx, const analysis_tree_t *t, analysis_logs_t *out);
void analysis_logs_dispose(analysis_logs_t *l);

/* Writes "log:<i>" into out (at least 24 bytes). */
void analysis_log_id(size_t i, char *out, size_t outlen);

#endif
