/* The span tree of one trace, pure: duplicate spans (the same span_id more than once) are merged
 * keeping one copy by a fixed preference; spans whose parent is not in the trace (orphans) and spans
 * cut out of a parent cycle become extra roots, flagged; clock skew between services is estimated
 * per (parent service, child service) pair and corrected; then each span's exclusive (self) time and
 * the trace's critical path are computed on the corrected times.
 *
 * Clock skew: a child cannot start before its parent, and a synchronous child of a parent that ended
 * normally cannot end after it. When at least half the edges of a service pair break one of these
 * rules by more than the tolerance, the pair's offset is the median of the violating edges' estimates
 * (the child centred in its parent, or aligned on its start when longer) and the child service's spans
 * are shifted by it. A child outliving a parent that failed is a timeout, not skew.
 *
 * Everything is ordered by span_id, times and service names only, never by input order or address. */
#ifndef PS_ANALYSIS_SPANTREE_H
#define PS_ANALYSIS_SPANTREE_H

#include "model.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t skew_tolerance_ns; /* 0: 1 ms */
} analysis_tree_opts_t;

enum {
    ANALYSIS_NODE_ORPHAN = 1,  /* parent_span_id names a span that is not in the trace */
    ANALYSIS_NODE_CYCLE = 2,   /* its parent link was cut to break a cycle */
    ANALYSIS_NODE_SHIFTED = 4, /* its times were corrected for clock skew */
    ANALYSIS_NODE_CRITICAL = 8 /* on the critical path */
};

typedef struct {
    const analysis_span_t *span;      /* borrowed: the copy kept */
    const char *service, *name;       /* never NULL */
    int parent;                       /* index of the parent node, -1 for a root */
    int first_child, nchildren;       /* tree->children[first_child ..]: by raw start, then span_id */
    int depth;                        /* 0 for a root */
    int copies;                       /* how many times its span_id appeared (1 without duplicates) */
    unsigned flags;                   /* ANALYSIS_NODE_* */
    int64_t raw_start_ns, raw_end_ns; /* as recorded (end >= start; absurd values clamped) */
    int64_t start_ns, end_ns;         /* corrected for clock skew: raw + shift_ns */
    int64_t shift_ns;
    int64_t self_ns;     /* duration not covered by the union of its children (clipped to it) */
    int64_t critical_ns; /* its own time on the critical path; 0 when not on it */
} analysis_node_t;

typedef struct {
    const char *parent_service, *child_service; /* borrowed */
    int edges, violations;
    int64_t offset_ns; /* child clock minus parent clock; 0 when the pair is not corrected */
    int corrected;
} analysis_skew_t;

typedef struct {
    analysis_node_t *nodes; /* one per distinct span_id, sorted by span_id */
    size_t nnodes;
    int *children;
    int *roots; /* parentless spans first, then orphans and cycle cuts; each by (start, span_id) */
    size_t nroots, nparentless;
    int *preorder; /* every node, parents before children, roots in `roots` order */
    int entry;     /* the trace's entry span (the first root); -1 when there are no spans */
    size_t nspans_in, nduplicates, ninvalid, norphans, ncycles;
    analysis_skew_t *skews; /* one per cross-service pair seen, by (parent, child) service */
    size_t nskews;
    int *critical; /* the critical path from the entry span, by corrected start (then depth) */
    size_t ncritical;
    int64_t start_ns, end_ns; /* the trace window (corrected times) */
} analysis_tree_t;

/* Builds the tree of ctx->spans. Returns 0 (any input, even no spans, gives a tree), or -1 when the
 * trace has more spans than an int can index. Dispose with analysis_tree_dispose() either way. The
 * tree borrows ctx's spans and strings. */
int analysis_tree_build(const trace_ctx_t *ctx, const analysis_tree_opts_t *opts, analysis_tree_t *out);
void analysis_tree_dispose(analysis_tree_t *t);

/* The node of span_id, or -1. */
int analysis_tree_find(const analysis_tree_t *t, const char *span_id);

/* 1 when node x is an entry point of its service: a SERVER or CONSUMER span, a root, or (kind
 * unknown) a span called from another service. */
int analysis_tree_is_entry_point(const analysis_tree_t *t, int x);

/* The skew entry of a service pair, or NULL. */
const analysis_skew_t *analysis_tree_skew(const analysis_tree_t *t, const char *parent_service,
                                          const char *child_service);

#endif
