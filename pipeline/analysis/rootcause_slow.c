/* Slow traces without failures (see rootcause.h): the critical-path span whose self time exceeds its
 * operation's usual duration by the most, when the excess is a clear share of the trace. */
#include "rootcause_int.h"

#include <string.h>

#define DEFAULT_SLOW_SHARE 0.3
#define BASELINE_FACTOR 2 /* with a baseline, the self time must be at least this many times it */

double analysis_baseline_p50(const analysis_rc_opts_t *o, const char *service, const char *operation)
{
    double best = -1;
    if (o == NULL || o->baselines == NULL) return -1;
    /* the smallest of duplicate entries, so that their order does not matter */
    for (size_t i = 0; i < o->nbaselines; i++) {
        const analysis_baseline_t *b = &o->baselines[i];
        if (b->service == NULL || b->operation == NULL || !(b->p50_ms >= 0)) continue;
        if (strcmp(b->service, service) || strcmp(b->operation, operation)) continue;
        if (best < 0 || b->p50_ms < best) best = b->p50_ms;
    }
    return best;
}

void an_rc_slow(const analysis_tree_t *t, const analysis_rc_opts_t *o, analysis_rc_t *rc)
{
    if (t->entry < 0) return;
    const analysis_node_t *entry = &t->nodes[t->entry];
    double total = (double)(entry->end_ns - entry->start_ns);
    double share = o->slow_min_share > 0 ? o->slow_min_share : DEFAULT_SLOW_SHARE;
    int best = -1;
    int64_t best_excess = 0;
    double best_p50 = -1;
    /* t->critical is by start: on equal excess the earlier span wins */
    for (size_t i = 0; i < t->ncritical; i++) {
        int x = t->critical[i];
        const analysis_node_t *nd = &t->nodes[x];
        double p50 = analysis_baseline_p50(o, nd->service, nd->name);
        int64_t base = p50 >= 0 ? (int64_t)(p50 * 1e6) : 0;
        int64_t excess = nd->self_ns - base;
        if (best < 0 || excess > best_excess || (excess == best_excess && nd->depth > t->nodes[best].depth)) {
            best = x;
            best_excess = excess;
            best_p50 = p50;
        }
    }
    if (best < 0) return;
    const analysis_node_t *b = &t->nodes[best];
    int clear = best_excess > 0 && (double)best_excess >= share * total &&
                (best_p50 < 0 || (double)b->self_ns >= BASELINE_FACTOR * best_p50 * 1e6);
    if (!clear) return;
    rc->kind = ANALYSIS_RC_SLOW;
    rc->node = best;
    rc->self_ns = b->self_ns;
    rc->excess_ns = best_excess;
    rc->baseline_ms = best_p50;
}
