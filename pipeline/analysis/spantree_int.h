/* Internal to the span tree (spantree*.c): the passes run after the structure is built. */
#ifndef PS_ANALYSIS_SPANTREE_INT_H
#define PS_ANALYSIS_SPANTREE_INT_H

#include "spantree.h"

/* Raw times made safe for arithmetic: start within [0, 2^61], end within [start, start + 2^50]. */
int64_t an_span_start(const analysis_span_t *s);
int64_t an_span_end(const analysis_span_t *s);

/* Estimates skew per service pair and fills start_ns/end_ns/shift_ns of every node. */
void an_tree_skew(analysis_tree_t *t, int64_t tolerance_ns);
/* Fills self_ns, the critical path and critical_ns (needs corrected times). */
void an_tree_timing(analysis_tree_t *t);

#endif
