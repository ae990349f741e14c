/* Trace shapes the root-span choice must read before it blames the deepest failure (issue 17 §3),
 * pure (no I/O): failures a later retry of the same operation recovered from, client errors (4xx)
 * the caller handled while the entry span answered OK ("no fault"), a fallback after an early
 * independent failure, a client that timed out while its callee kept running, and a slow trace whose
 * operations have no history to compare with. rca.c asks; the choice itself stays there. */
#ifndef PS_RCA_SHAPES_H
#define PS_RCA_SHAPES_H

#include "model.h"

#include <jansson.h>
#include <stdint.h>

typedef struct {
    uint8_t *ignore; /* per tr->spans index: 1 when the span's failure is not the cause */
    int no_fault;    /* every failure was a handled client error (4xx) and every entry span is OK */
    int fallback;    /* a warning or error says the trace fell back: the earliest failure is the cause */
    int recovered;   /* failed attempts a later attempt of the same operation recovered from */
} rca_shapes_t;

/* Reads the shapes of `tr` into *out (free with rca_shapes_dispose()). Allocation failure aborts. */
void rca_shapes_read(const rca_trace_t *tr, rca_shapes_t *out);
void rca_shapes_dispose(rca_shapes_t *s); /* accepts NULL and a disposed value */

/* Whether the failure of `span` (an element of tr->spans) is not the cause. */
int rca_shapes_ignored(const rca_shapes_t *s, const rca_trace_t *tr, const rca_span_t *span);

/* Whether the span ended by a timeout or deadline (its status message or an exception event says so):
 * then its exception is the caller giving up, and the callee that kept it waiting is the cause. */
int rca_shapes_is_timeout(const rca_span_t *span);

/* Adjusts the deterministic report after it is built: a no-fault trace says so (conclusively); a slow
 * answer without history for its operation (`had_history` 0) says there was none to compare with and
 * lowers its confidence; recovered attempts are mentioned. `report` is borrowed. */
void rca_shapes_annotate(const rca_shapes_t *s, int slow, int had_history, json_t *report, json_t *evidence);

#endif
