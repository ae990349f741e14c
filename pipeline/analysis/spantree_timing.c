/* Self time and the critical path, on skew-corrected times.
 *
 * Self time: a span's duration minus the union of its children's intervals, each clipped to the span
 * (children running past their parent, e.g. after a timeout, count only inside it).
 *
 * Critical path: walking back from the end of a span, the child that finished last before the
 * cursor is on the path; the cursor then jumps to that child's start, and the span owns the gaps.
 *
 *   parent  |==========================================|
 *   child A    |=======|                                 <- on the path (ends before B starts)
 *   child B          |==========|                        <- overlapped by C's window: not on it
 *   child C                 |===================|        <- on the path (finished last)
 *   parent's own critical time: the gaps  ^^^      ^^^^^^   (and before A)
 */
#include "spantree_int.h"
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t start, end;
    int node;
} iv_t;

static int cmp_iv_start(const void *pa, const void *pb)
{
    const iv_t *a = pa, *b = pb;
    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    if (a->end != b->end) return a->end < b->end ? -1 : 1;
    return (a->node > b->node) - (a->node < b->node);
}

/* latest end first; ties: later start first, then node order */
static int cmp_iv_end_desc(const void *pa, const void *pb)
{
    const iv_t *a = pa, *b = pb;
    if (a->end != b->end) return a->end > b->end ? -1 : 1;
    if (a->start != b->start) return a->start > b->start ? -1 : 1;
    return (a->node > b->node) - (a->node < b->node);
}

/* The node's children as intervals clipped to it; returns how many (empty ones dropped). */
static size_t clipped_children(const analysis_tree_t *t, int x, iv_t *out)
{
    const analysis_node_t *nd = &t->nodes[x];
    size_t k = 0;
    for (int i = 0; i < nd->nchildren; i++) {
        int c = t->children[nd->first_child + i];
        iv_t v = {t->nodes[c].start_ns, t->nodes[c].end_ns, c};
        if (v.start < nd->start_ns) v.start = nd->start_ns;
        if (v.end > nd->end_ns) v.end = nd->end_ns;
        if (v.end > v.start) out[k++] = v;
    }
    return k;
}

static void self_times(analysis_tree_t *t, iv_t *scratch)
{
    for (size_t x = 0; x < t->nnodes; x++) {
        analysis_node_t *nd = &t->nodes[x];
        size_t k = clipped_children(t, (int)x, scratch);
        qsort(scratch, k, sizeof(iv_t), cmp_iv_start);
        int64_t covered = 0, cs = 0, ce = 0;
        for (size_t i = 0; i < k; i++) {
            if (i == 0 || scratch[i].start > ce) {
                covered += ce - cs;
                cs = scratch[i].start;
                ce = scratch[i].end;
            } else if (scratch[i].end > ce) {
                ce = scratch[i].end;
            }
        }
        covered += ce - cs;
        nd->self_ns = (nd->end_ns - nd->start_ns) - covered;
    }
}

static int cmp_critical(const void *pa, const void *pb, void *arg)
{
    const analysis_node_t *nodes = arg;
    int a = *(const int *)pa, b = *(const int *)pb;
    if (nodes[a].start_ns != nodes[b].start_ns) return nodes[a].start_ns < nodes[b].start_ns ? -1 : 1;
    if (nodes[a].depth != nodes[b].depth) return nodes[a].depth - nodes[b].depth;
    return (a > b) - (a < b);
}

typedef struct {
    int node;
    int64_t until; /* the part of the node after this is not on the path */
} work_t;

static void critical_path(analysis_tree_t *t, iv_t *scratch)
{
    t->critical = xcalloc(t->nnodes ? t->nnodes : 1, sizeof(int));
    if (t->entry < 0) return;
    work_t *stack = xcalloc(t->nnodes, sizeof(work_t));
    size_t sp = 0;
    stack[sp++] = (work_t){t->entry, t->nodes[t->entry].end_ns};
    while (sp) {
        work_t w = stack[--sp];
        analysis_node_t *nd = &t->nodes[w.node];
        nd->flags |= ANALYSIS_NODE_CRITICAL;
        t->critical[t->ncritical++] = w.node;
        int64_t cursor = w.until < nd->end_ns ? w.until : nd->end_ns;
        size_t k = clipped_children(t, w.node, scratch);
        qsort(scratch, k, sizeof(iv_t), cmp_iv_end_desc);
        for (size_t i = 0; i < k && cursor > nd->start_ns; i++) {
            if (scratch[i].start >= cursor) continue; /* inside a later child's window */
            int64_t end = scratch[i].end < cursor ? scratch[i].end : cursor;
            nd->critical_ns += cursor - end;
            stack[sp++] = (work_t){scratch[i].node, end};
            cursor = scratch[i].start;
        }
        if (cursor > nd->start_ns) nd->critical_ns += cursor - nd->start_ns;
    }
    free(stack);
    qsort_r(t->critical, t->ncritical, sizeof(int), cmp_critical, t->nodes);
}

void an_tree_timing(analysis_tree_t *t)
{
    iv_t *scratch = xcalloc(t->nnodes ? t->nnodes : 1, sizeof(iv_t));
    self_times(t, scratch);
    critical_path(t, scratch);
    if (t->nnodes) {
        t->start_ns = t->nodes[0].start_ns;
        t->end_ns = t->nodes[0].end_ns;
    }
    for (size_t i = 0; i < t->nnodes; i++) {
        if (t->nodes[i].start_ns < t->start_ns) t->start_ns = t->nodes[i].start_ns;
        if (t->nodes[i].end_ns > t->end_ns) t->end_ns = t->nodes[i].end_ns;
    }
    free(scratch);
}
