/* Internal to the root-cause search (rootcause*.c). */
#ifndef PS_ANALYSIS_ROOTCAUSE_INT_H
#define PS_ANALYSIS_ROOTCAUSE_INT_H

#include "rootcause.h"

/* Slow traces (rootcause_slow.c): sets kind/node/self_ns/excess_ns/baseline_ms when a span clearly
 * stands out on the critical path. */
void an_rc_slow(const analysis_tree_t *t, const analysis_rc_opts_t *o, analysis_rc_t *rc);
/* Cited logs (rootcause_cite.c), once node and path are known. */
void an_rc_cite(const analysis_logs_t *logs, size_t max, analysis_rc_t *rc);

#endif
