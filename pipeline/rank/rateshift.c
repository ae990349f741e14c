/* Rate shifts with the scan of the target window: events per unit of exposure (template lines per
 * call, calls to a callee per invocation, error spans per span), reference (baseline plus the segments
 * before a cut) against suffix (the segments from the cut on). Shared by every count-based channel so
 * that they weigh a shift the same way: sqrt(G) x (relative change)^2, the best cut winning, and the
 * shift still holding in the last segment. */
#include "rank_int.h"

#include <math.h>

/* Counts of one cell on either side of cut `c`: the reference is the baseline plus the segments before
 * the cut, the suffix the segments from the cut on, or only the last one. */
static void sides(const rk_counts_t *x, int c, int last_only, double *ref, double *suf)
{
    *ref = x->base;
    *suf = 0;
    for (int s = 0; s < RK_N_SEGMENTS; s++) {
        if (s < c)
            *ref += x->seg[s];
        else if (!last_only || s == RK_N_SEGMENTS - 1)
            *suf += x->seg[s];
    }
}

static rk_shift_t compare(const rk_counts_t *k, const rk_counts_t *n, int shares, int c, int last_only,
                          double w_up, double w_down)
{
    rk_shift_t s = {0};
    sides(k, c, last_only, &s.kb, &s.kt);
    sides(n, c, last_only, &s.nb, &s.nt);
    if (s.nb <= 0 || s.nt <= 0) return s;
    double rb = s.kb / s.nb, rt = s.kt / s.nt;
    s.up = rt > rb;
    s.effect = rk_rel_change(rb, rt);
    /* A handful of events is no pattern: a rare line that happens to fall after the cut reaches a
     * high G with an effect of 1. What the suffix holds, or would hold at the reference's rate when
     * that is more (a vanished line), counts as m / (m + RK_FEW_EVENTS). */
    double expected = s.kb * s.nt / s.nb, m = s.kt > expected ? s.kt : expected;
    double g = shares ? rk_g_shares(s.kb, s.nb, s.kt, s.nt) : rk_g_rates(s.kb, s.nb, s.kt, s.nt);
    s.score = sqrt(g) * s.effect * s.effect * (s.up ? w_up : w_down) * (m / (m + RK_FEW_EVENTS));
    return s;
}

int rk_rate_shift(const rk_counts_t *k, const rk_counts_t *n, int shares, double w_up, double w_down,
                  double min_exposure, rk_shift_t *out, int *cut)
{
    rk_shift_t best = {0};
    int bc = -1;
    for (int c = 0; c < RK_N_CUTS; c++) {
        rk_shift_t s = compare(k, n, shares, c, 0, w_up, w_down);
        if (s.nb < min_exposure || s.nt < min_exposure) continue;
        if (s.score > best.score) {
            best = s;
            bc = c;
        }
    }
    if (bc < 0) return 0;
    /* Too few in the last segment to refute the shift: keep it. A shift that is over by the end of the
     * window is not the ongoing fault. */
    rk_shift_t last = compare(k, n, shares, bc, 1, w_up, w_down);
    if (last.nt >= RK_MIN_SAMPLES && (last.up != best.up || last.effect < RK_PERSIST_SHARE * best.effect))
        return 0;
    *out = best;
    *cut = bc;
    return 1;
}
