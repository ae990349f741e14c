/* Clock skew between services (see spantree.h for the rules): every parent->child edge that crosses
 * services votes for its pair; a pair whose edges mostly break causality gets an offset, and the
 * child service's spans (with their same-service descendants) are shifted by it. Shifts add up down
 * the tree, so a service two hops from the entry is corrected against the entry's clock. */
#include "spantree_int.h"
#include "alloc.h"
#include "strutil.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SHIFT_NS ((int64_t)1 << 60)

typedef struct {
    const char *ps, *cs;
    int64_t offset;
    int violating;
} edge_t;

/* By pair, violating edges first, then offset: a group's violating offsets come out sorted. */
static int cmp_edge(const void *pa, const void *pb)
{
    const edge_t *a = pa, *b = pb;
    int c = strcmp(a->ps, b->ps);
    if (c == 0) c = strcmp(a->cs, b->cs);
    if (c == 0) c = b->violating - a->violating;
    if (c == 0 && a->offset != b->offset) c = a->offset < b->offset ? -1 : 1;
    return c;
}

static int is_async(const analysis_node_t *parent, const analysis_node_t *child)
{
    const char *pk = an_str(parent->span->kind), *ck = an_str(child->span->kind);
    return an_contains_ci(ck, strlen(ck), "consumer") || an_contains_ci(pk, strlen(pk), "producer");
}

/* The edge's vote: whether it breaks causality by more than tol, and the offset (child clock minus
 * parent clock) that would explain it. */
static edge_t edge_of(const analysis_node_t *p, const analysis_node_t *c, int64_t tol)
{
    edge_t e = {p->service, c->service, 0, 0};
    int64_t pd = p->end_ns - p->start_ns, cd = c->end_ns - c->start_ns;
    int async = is_async(p, c);
    int starts_early = c->start_ns < p->start_ns - tol;
    int ends_late =
        !async && p->span->status != ANALYSIS_STATUS_ERROR && cd <= pd && c->end_ns > p->end_ns + tol;
    e.violating = starts_early || ends_late;
    if (async || cd > pd)
        e.offset = c->start_ns - p->start_ns;
    else
        e.offset = (c->start_ns - p->start_ns) / 2 - (p->end_ns - c->end_ns) / 2;
    return e;
}

static int64_t add_sat(int64_t a, int64_t b)
{
    int64_t s = a + b; /* |a|, |b| <= 2^61: no overflow */
    return s > MAX_SHIFT_NS ? MAX_SHIFT_NS : s < -MAX_SHIFT_NS ? -MAX_SHIFT_NS : s;
}

static void group_pairs(analysis_tree_t *t, edge_t *edges, size_t n, int64_t tol)
{
    t->skews = xcalloc(n ? n : 1, sizeof(analysis_skew_t));
    for (size_t i = 0; i < n;) {
        size_t j = i, viol = 0;
        while (j < n && strcmp(edges[j].ps, edges[i].ps) == 0 && strcmp(edges[j].cs, edges[i].cs) == 0) {
            viol += (size_t)edges[j].violating;
            j++;
        }
        analysis_skew_t *s = &t->skews[t->nskews++];
        s->parent_service = edges[i].ps;
        s->child_service = edges[i].cs;
        s->edges = (int)(j - i);
        s->violations = (int)viol;
        if (viol > 0 && 2 * viol >= j - i) {
            int64_t median = edges[i + (viol - 1) / 2].offset; /* lower median of the violating */
            if (median > tol || median < -tol) {
                s->offset_ns = median;
                s->corrected = 1;
            }
        }
        i = j;
    }
}

const analysis_skew_t *analysis_tree_skew(const analysis_tree_t *t, const char *parent_service,
                                          const char *child_service)
{
    size_t lo = 0, hi = t->nskews;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(t->skews[mid].parent_service, parent_service);
        if (c == 0) c = strcmp(t->skews[mid].child_service, child_service);
        if (c == 0) return &t->skews[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void an_tree_skew(analysis_tree_t *t, int64_t tol)
{
    edge_t *edges = xcalloc(t->nnodes ? t->nnodes : 1, sizeof(edge_t));
    size_t n = 0;
    for (size_t i = 0; i < t->nnodes; i++) {
        const analysis_node_t *c = &t->nodes[i];
        if (c->parent < 0 || strcmp(c->service, t->nodes[c->parent].service) == 0) continue;
        edges[n++] = edge_of(&t->nodes[c->parent], c, tol);
    }
    qsort(edges, n, sizeof(edge_t), cmp_edge);
    group_pairs(t, edges, n, tol);
    free(edges);
    /* parents come before children in the preorder */
    for (size_t k = 0; k < t->nnodes; k++) {
        analysis_node_t *nd = &t->nodes[t->preorder[k]];
        int64_t shift = 0;
        if (nd->parent >= 0) {
            const analysis_node_t *p = &t->nodes[nd->parent];
            shift = p->shift_ns;
            if (strcmp(p->service, nd->service) != 0) {
                const analysis_skew_t *s = analysis_tree_skew(t, p->service, nd->service);
                if (s && s->corrected) shift = add_sat(shift, -s->offset_ns);
            }
        }
        nd->shift_ns = shift;
        nd->start_ns = nd->raw_start_ns + shift;
        nd->end_ns = nd->raw_end_ns + shift;
        if (shift) nd->flags |= ANALYSIS_NODE_SHIFTED;
    }
}
