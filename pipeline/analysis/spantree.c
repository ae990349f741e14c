/* Span tree structure (see spantree.h): duplicates, parents, orphans, cycles, children, roots,
 * depths and the preorder. Clock skew and timings are in spantree_skew.c and spantree_timing.c. */
#include "spantree_int.h"
#include "alloc.h"
#include "strutil.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define MAX_START_NS ((int64_t)1 << 61)
#define MAX_DURATION_NS ((int64_t)1 << 50)
#define DEFAULT_SKEW_TOLERANCE_NS 1000000

int64_t an_span_start(const analysis_span_t *s)
{
    return s->start_ns < 0 ? 0 : s->start_ns > MAX_START_NS ? MAX_START_NS : s->start_ns;
}

int64_t an_span_end(const analysis_span_t *s)
{
    int64_t st = an_span_start(s);
    if (s->end_ns <= st) return st;
    return s->end_ns - st > MAX_DURATION_NS ? st + MAX_DURATION_NS : s->end_ns;
}

static int status_rank(int status)
{
    return status == ANALYSIS_STATUS_ERROR ? 0 : status == ANALYSIS_STATUS_OK ? 1 : 2;
}

/* Order of the input spans: by span_id, then the copy to keep first (error status, longer, earlier,
 * then every other column so that equal ids always resolve the same way). */
static int cmp_input(const void *pa, const void *pb)
{
    const analysis_span_t *a = *(const analysis_span_t *const *)pa, *b = *(const analysis_span_t *const *)pb;
    int c = strcmp(a->span_id, b->span_id);
    if (c) return c;
    if (status_rank(a->status) != status_rank(b->status))
        return status_rank(a->status) - status_rank(b->status);
    int64_t da = an_span_end(a) - an_span_start(a), db = an_span_end(b) - an_span_start(b);
    if (da != db) return da > db ? -1 : 1;
    if (an_span_start(a) != an_span_start(b)) return an_span_start(a) < an_span_start(b) ? -1 : 1;
    const char *fa[] = {a->service,        a->name,        a->parent_span_id, a->kind,
                        a->status_message, a->events_json, a->attributes_json};
    const char *fb[] = {b->service,        b->name,        b->parent_span_id, b->kind,
                        b->status_message, b->events_json, b->attributes_json};
    for (size_t i = 0; i < sizeof(fa) / sizeof(fa[0]); i++)
        if ((c = an_strcmp(fa[i], fb[i])) != 0) return c;
    return 0;
}

int analysis_tree_find(const analysis_tree_t *t, const char *span_id)
{
    if (span_id == NULL) return -1;
    size_t lo = 0, hi = t->nnodes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(t->nodes[mid].span->span_id, span_id);
        if (c == 0) return (int)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* One node per distinct span_id, the preferred copy of each. */
static void dedupe(const trace_ctx_t *ctx, analysis_tree_t *t)
{
    const analysis_span_t **in = xcalloc(ctx->nspans ? ctx->nspans : 1, sizeof(*in));
    size_t n = 0;
    for (size_t i = 0; i < ctx->nspans; i++) {
        if (ctx->spans[i].span_id && ctx->spans[i].span_id[0])
            in[n++] = &ctx->spans[i];
        else
            t->ninvalid++;
    }
    qsort(in, n, sizeof(*in), cmp_input);
    t->nodes = xcalloc(n ? n : 1, sizeof(analysis_node_t));
    for (size_t i = 0; i < n; i++) {
        if (t->nnodes && strcmp(t->nodes[t->nnodes - 1].span->span_id, in[i]->span_id) == 0) {
            t->nodes[t->nnodes - 1].copies++;
            t->nduplicates++;
            continue;
        }
        analysis_node_t *nd = &t->nodes[t->nnodes++];
        nd->span = in[i];
        nd->service = in[i]->service ? in[i]->service : "unknown";
        nd->name = an_str(in[i]->name);
        nd->copies = 1;
        nd->parent = -1;
        nd->raw_start_ns = nd->start_ns = an_span_start(in[i]);
        nd->raw_end_ns = nd->end_ns = an_span_end(in[i]);
    }
    free(in);
}

/* Parent links; a parent that is missing or the span itself makes an orphan. Then cycles are cut:
 * each walk up from an unvisited span either reaches a root or comes back to a span of the same walk,
 * whose parent link is then cut. Walks start in span_id order, so the cut is always the same. */
static void link_parents(analysis_tree_t *t)
{
    int n = (int)t->nnodes;
    for (int i = 0; i < n; i++) {
        analysis_node_t *nd = &t->nodes[i];
        const char *pid = nd->span->parent_span_id;
        if (pid == NULL || an_is_null_id(pid)) continue;
        int p = analysis_tree_find(t, pid);
        if (p < 0 || p == i) {
            nd->flags |= p == i ? ANALYSIS_NODE_CYCLE : ANALYSIS_NODE_ORPHAN;
            if (p == i)
                t->ncycles++;
            else
                t->norphans++;
            continue;
        }
        nd->parent = p;
    }
    int *mark = xcalloc((size_t)n + 1, sizeof(int)); /* 0 new, -(walk) in the walk, 1 done */
    for (int i = 0; i < n; i++) {
        if (mark[i]) continue;
        int walk = -(i + 1), x = i;
        while (x >= 0 && mark[x] == 0) {
            mark[x] = walk;
            x = t->nodes[x].parent;
        }
        if (x >= 0 && mark[x] == walk) {
            t->nodes[x].parent = -1;
            t->nodes[x].flags |= ANALYSIS_NODE_CYCLE;
            t->ncycles++;
        }
        for (int y = i; y >= 0 && mark[y] == walk; y = t->nodes[y].parent)
            mark[y] = 1;
    }
    free(mark);
}

/* By raw start, then node order (span_id). */
static int cmp_start(const void *pa, const void *pb, void *arg)
{
    const analysis_node_t *nodes = arg;
    int a = *(const int *)pa, b = *(const int *)pb;
    if (nodes[a].start_ns != nodes[b].start_ns) return nodes[a].start_ns < nodes[b].start_ns ? -1 : 1;
    return (a > b) - (a < b);
}

static void sort_by_start(analysis_node_t *nodes, int *a, size_t n)
{
    qsort_r(a, n, sizeof(int), cmp_start, nodes);
}

static void build_children(analysis_tree_t *t)
{
    size_t n = t->nnodes;
    t->children = xcalloc(n ? n : 1, sizeof(int));
    for (size_t i = 0; i < n; i++)
        if (t->nodes[i].parent >= 0) t->nodes[t->nodes[i].parent].nchildren++;
    int off = 0;
    for (size_t i = 0; i < n; i++) {
        t->nodes[i].first_child = off;
        off += t->nodes[i].nchildren;
        t->nodes[i].nchildren = 0;
    }
    for (size_t i = 0; i < n; i++) {
        int p = t->nodes[i].parent;
        if (p >= 0) t->children[t->nodes[p].first_child + t->nodes[p].nchildren++] = (int)i;
    }
    for (size_t i = 0; i < n; i++)
        sort_by_start(t->nodes, t->children + t->nodes[i].first_child, (size_t)t->nodes[i].nchildren);
}

static void build_roots(analysis_tree_t *t)
{
    size_t n = t->nnodes;
    t->roots = xcalloc(n ? n : 1, sizeof(int));
    for (size_t i = 0; i < n; i++)
        if (t->nodes[i].parent < 0 && !(t->nodes[i].flags & (ANALYSIS_NODE_ORPHAN | ANALYSIS_NODE_CYCLE)))
            t->roots[t->nroots++] = (int)i;
    t->nparentless = t->nroots;
    for (size_t i = 0; i < n; i++)
        if (t->nodes[i].parent < 0 && (t->nodes[i].flags & (ANALYSIS_NODE_ORPHAN | ANALYSIS_NODE_CYCLE)))
            t->roots[t->nroots++] = (int)i;
    sort_by_start(t->nodes, t->roots, t->nparentless);
    sort_by_start(t->nodes, t->roots + t->nparentless, t->nroots - t->nparentless);
    t->entry = t->nroots ? t->roots[0] : -1;
}

/* Depths and the preorder, with an explicit stack (a trace may be one long chain). */
static void build_preorder(analysis_tree_t *t)
{
    size_t n = t->nnodes, k = 0, sp = 0;
    t->preorder = xcalloc(n ? n : 1, sizeof(int));
    int *stack = xcalloc(n ? n : 1, sizeof(int));
    for (size_t r = 0; r < t->nroots; r++) {
        stack[sp++] = t->roots[r];
        while (sp) {
            int x = stack[--sp];
            analysis_node_t *nd = &t->nodes[x];
            nd->depth = nd->parent >= 0 ? t->nodes[nd->parent].depth + 1 : 0;
            t->preorder[k++] = x;
            /* pushed last child first, so children come out in their order */
            for (int c = nd->nchildren; c-- > 0;)
                stack[sp++] = t->children[nd->first_child + c];
        }
    }
    free(stack);
}

int analysis_tree_build(const trace_ctx_t *ctx, const analysis_tree_opts_t *opts, analysis_tree_t *out)
{
    memset(out, 0, sizeof(*out));
    out->entry = -1;
    out->nspans_in = ctx->nspans;
    if (ctx->nspans > (size_t)INT_MAX / 4) return -1;
    dedupe(ctx, out);
    link_parents(out);
    build_children(out);
    build_roots(out);
    build_preorder(out);
    int64_t tol = opts && opts->skew_tolerance_ns > 0 ? opts->skew_tolerance_ns : DEFAULT_SKEW_TOLERANCE_NS;
    an_tree_skew(out, tol);
    an_tree_timing(out);
    return 0;
}

void analysis_tree_dispose(analysis_tree_t *t)
{
    if (t == NULL) return;
    free(t->nodes);
    free(t->children);
    free(t->roots);
    free(t->preorder);
    free(t->skews);
    free(t->critical);
    memset(t, 0, sizeof(*t));
    t->entry = -1;
}

int analysis_tree_is_entry_point(const analysis_tree_t *t, int x)
{
    const analysis_node_t *nd = &t->nodes[x];
    const char *k = an_str(nd->span->kind);
    size_t kn = strlen(k);
    if (an_contains_ci(k, kn, "server") || an_contains_ci(k, kn, "consumer")) return 1;
    if (nd->parent < 0) return 1;
    return kn == 0 && strcmp(t->nodes[nd->parent].service, nd->service) != 0;
}
