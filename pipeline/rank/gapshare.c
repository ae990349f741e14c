/* Gapped edges that share an endpoint. A delay on one pod's network interface shows on every edge
 * touching it: its callers' client spans to it grow (its responses are late) while its server spans do
 * not, and its own client spans to its callees grow (its requests are late). latency.c charges each
 * edge's gap to the callee in full and to the caller in part, which is right for one edge but wrong
 * for an orchestrator whose calls out are all delayed: each callee would be charged separately and the
 * orchestrator rank far down. Here an edge is charged in full to its caller instead when the caller
 * touches at least RK_MIN_GAP_SHARED gapped edges and more than the callee does; the callee keeps
 * RK_GAP_OUT_SHARE of it. Ties keep the callee (one delayed callee, or a shared leaf). An edge counts
 * as gapped from RK_GAP_EDGE_MIN on: jitter on a healthy edge must not make its endpoint "shared". */
#include "rank_int.h"

#include "alloc.h"

#include <stdlib.h>

typedef struct {
    size_t in, out; /* indexes of the edge's GAP_IN (callee) and GAP_OUT (caller) items in run->ev */
} edge_t;

void rk_gap_share(rk_run_t *run)
{
    size_t n = run->services.n, n_ev = run->ev.len, n_edges = 0;
    edge_t *edges = xcalloc(n_ev ? n_ev : 1, sizeof(edge_t));
    /* latency.c adds each edge as a GAP_IN item followed by its GAP_OUT item */
    for (size_t i = 0; i + 1 < n_ev; i++) {
        const rk_ev_t *a = &RK_AT(&run->ev, rk_ev_t, i), *b = &RK_AT(&run->ev, rk_ev_t, i + 1);
        if (a->kind == RANK_EV_GAP_IN && b->kind == RANK_EV_GAP_OUT && a->subject == b->subject &&
            a->score >= RK_GAP_EDGE_MIN)
            edges[n_edges++] = (edge_t){i, i + 1};
    }
    size_t *deg = xcalloc(n ? n : 1, sizeof(size_t));
    double *shared = xcalloc(n ? n : 1, sizeof(double)); /* strongest edge charged to a shared caller */
    for (size_t k = 0; k < n_edges; k++) {
        deg[RK_AT(&run->ev, rk_ev_t, edges[k].in).svc]++;
        deg[RK_AT(&run->ev, rk_ev_t, edges[k].out).svc]++;
    }
    for (size_t k = 0; k < n_edges; k++) {
        rk_ev_t *in = &RK_AT(&run->ev, rk_ev_t, edges[k].in), *out = &RK_AT(&run->ev, rk_ev_t, edges[k].out);
        size_t dc = deg[out->svc], dd = deg[in->svc];
        if (dc < RK_MIN_GAP_SHARED || dc <= dd) continue;
        double g = in->score;
        out->score = g;
        in->score = RK_GAP_OUT_SHARE * g;
        if (g > shared[out->svc]) shared[out->svc] = g;
    }
    for (uint32_t s = 0; s < n; s++) {
        if (shared[s] <= 0) continue;
        /* counted in the gap channel's outgoing slot, which already holds this strongest edge: the
         * item says why, it adds nothing */
        rk_ev_t *ev = rk_ev_add(run, s, RANK_CH_GAP, RANK_EV_GAP_SHARED, shared[s]);
        ev->subject = rk_arena_strdup(run->out, rk_svc_name(run, s));
        ev->n_after = (double)deg[s];
        ev->text =
            rk_arena_printf(run->out,
                            "%zu gapped edges share %s: a delay on its own pod (requests out, responses "
                            "back) explains them, so their gaps are charged to it, not to each peer",
                            deg[s], rk_svc_name(run, s));
    }
    free(shared);
    free(deg);
    free(edges);
}
