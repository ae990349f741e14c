/* Latency evidence from spans, no error flag needed:
 *   - self time: a span's duration minus its children's, per (service, operation). CPU contention or a
 *     slow code path raises the service's own self time; a slow callee does not.
 *   - gap: the self time of a client span whose child runs in another service is the time between the
 *     caller sending and the callee's server span covering it (network, queueing, a starved callee).
 *     It is charged to the callee in full and to the caller in part (its egress may be the cause).
 * A shift scores log2((median after + 1 ms) / (median before + 1 ms)) times min(1, z / RK_Z_FULL), z the
 * Mann-Whitney statistic of "after is slower", at the best cut of the scan that still holds in the
 * last segment. */
#include "rank_int.h"

#include "alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KIND_SELF 0u
#define KIND_GAP 1u
#define GROUP_BASE 0 /* target samples are 1 + segment */

typedef struct {
    double v;
    uint8_t group;
} sample_t;

typedef struct {
    uint32_t kind, a, b; /* self: service, operation; gap: caller, callee */
    rk_vec_t samples;    /* sample_t */
} series_t;

typedef struct {
    double score, effect, z, med_ref, med_suf;
    size_t n_ref, n_suf;
} lshift_t;

static int cmp_sample(const void *x, const void *y)
{
    const sample_t *p = x, *q = y;
    if (p->v != q->v) return p->v < q->v ? -1 : 1;
    return (int)p->group - (int)q->group;
}

/* Side of a sample at cut `cut`: 0 reference (baseline and segments before the cut), 1 suffix
 * (segments from the cut on), -1 left out. A cut + LAST_ONLY keeps only the last segment as suffix. */
#define LAST_ONLY 16

static int side_of(uint8_t group, int cut)
{
    if (group == GROUP_BASE) return 0;
    int seg = group - 1, c = cut & (LAST_ONLY - 1);
    if (seg < c) return 0;
    if ((cut & LAST_ONLY) && seg != RK_N_SEGMENTS - 1) return -1;
    return 1;
}

static double median_of(const sample_t *s, size_t n, int cut, int side, size_t count)
{
    size_t want_lo = (count - 1) / 2, want_hi = count / 2, k = 0;
    double lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (side_of(s[i].group, cut) != side) continue;
        if (k == want_lo) lo = s[i].v;
        if (k == want_hi) {
            hi = s[i].v;
            break;
        }
        k++;
    }
    return (lo + hi) / 2;
}

/* Rank sum of the suffix among the samples on either side of `cut` (sorted input, ties averaged). */
static double rank_sum(const sample_t *s, size_t n, int cut, size_t *n_ref, size_t *n_suf)
{
    double rsum = 0, placed = 0;
    *n_ref = *n_suf = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, in_ref = 0, in_suf = 0;
        while (j < n && s[j].v == s[i].v) {
            int side = side_of(s[j].group, cut);
            in_ref += side == 0;
            in_suf += side == 1;
            j++;
        }
        double tied = (double)(in_ref + in_suf);
        rsum += (double)in_suf * (placed + (tied + 1) / 2);
        placed += tied;
        *n_ref += in_ref;
        *n_suf += in_suf;
        i = j;
    }
    return rsum;
}

static lshift_t compare(const sample_t *s, size_t n, int cut)
{
    lshift_t r = {0};
    double rsum = rank_sum(s, n, cut, &r.n_ref, &r.n_suf);
    if (r.n_ref < RK_MIN_SAMPLES || r.n_suf < RK_MIN_SAMPLES) return r;
    double n1 = (double)r.n_ref, n2 = (double)r.n_suf;
    double u = rsum - n2 * (n2 + 1) / 2;
    r.z = (u - n1 * n2 / 2) / sqrt(n1 * n2 * (n1 + n2 + 1) / 12);
    r.med_ref = median_of(s, n, cut, 0, r.n_ref);
    r.med_suf = median_of(s, n, cut, 1, r.n_suf);
    r.effect = log2((r.med_suf + RK_LAT_FLOOR_MS) / (r.med_ref + RK_LAT_FLOOR_MS));
    if (r.effect > 0 && r.z > 0) r.score = r.effect * (r.z < RK_Z_FULL ? r.z / RK_Z_FULL : 1.0);
    return r;
}

static int best_cut(series_t *x, lshift_t *out, int *cut)
{
    sample_t *s = x->samples.data;
    size_t n = x->samples.len;
    qsort(s, n, sizeof(sample_t), cmp_sample);
    lshift_t best = {0};
    int bc = -1;
    for (int c = 0; c < RK_N_CUTS; c++) {
        lshift_t r = compare(s, n, c);
        if (r.score > best.score) {
            best = r;
            bc = c;
        }
    }
    if (bc < 0) return 0;
    /* The shift must hold in the last segment against the same reference; too few samples there to
     * refute it: keep it. */
    lshift_t last = compare(s, n, bc | LAST_ONLY);
    if (last.n_suf >= RK_MIN_SAMPLES && last.effect < RK_PERSIST_SHARE * best.effect) return 0;
    *out = best;
    *cut = bc;
    return 1;
}

static series_t *series(rk_map_t *idx, rk_vec_t *all, uint32_t kind, uint32_t a, uint32_t b)
{
    uint64_t key = ((uint64_t)kind << 63) | ((uint64_t)(a & 0x7fffffffu) << 32) | b;
    int added;
    uint32_t *slot = rk_map_put(idx, key, (uint32_t)all->len, &added);
    if (added) {
        series_t *x = rk_vec_push(all);
        x->kind = kind;
        x->a = a;
        x->b = b;
        rk_vec_init(&x->samples, sizeof(sample_t));
    }
    return &RK_AT(all, series_t, *slot);
}

static void collect(rk_map_t *idx, rk_vec_t *all, const rk_window_t *w, int target)
{
    for (size_t i = 0; i < w->n_spans; i++) {
        const rk_span_t *s = &w->spans[i];
        series_t *x = s->remote_svc == RK_NONE ? series(idx, all, KIND_SELF, s->svc, s->op)
                                               : series(idx, all, KIND_GAP, s->svc, s->remote_svc);
        sample_t *p = rk_vec_push(&x->samples);
        p->v = s->self_ms;
        p->group = target ? (uint8_t)(1 + s->seg) : GROUP_BASE;
    }
}

static void emit(rk_run_t *run, const series_t *x, const lshift_t *r, int cut)
{
    const char *later = cut ? " (from later in the window)" : "";
    if (x->kind == KIND_SELF) {
        rk_ev_t *ev = rk_ev_add(run, x->a, RANK_CH_LATENCY, RANK_EV_SELF_TIME, r->score);
        ev->op = x->b;
        const char *op = rk_op_name(run, x->b);
        ev->subject = rk_arena_strdup(run->out, op);
        ev->context = ev->subject;
        ev->before = r->med_ref;
        ev->after = r->med_suf;
        ev->n_before = (double)r->n_ref;
        ev->n_after = (double)r->n_suf;
        ev->text = rk_arena_printf(run->out,
                                   "self time of %s: median %.2f ms -> %.2f ms (%zu -> %zu spans, z %.1f)%s",
                                   op, r->med_ref, r->med_suf, r->n_ref, r->n_suf, r->z, later);
        return;
    }
    const char *caller = rk_svc_name(run, x->a), *callee = rk_svc_name(run, x->b);
    char *edge = rk_arena_printf(run->out, "%s -> %s", caller, callee);
    char *text =
        rk_arena_printf(run->out,
                        "gap between %s's client spans and %s's server spans: median %.2f ms -> %.2f ms "
                        "(%zu -> %zu calls, z %.1f)%s",
                        caller, callee, r->med_ref, r->med_suf, r->n_ref, r->n_suf, r->z, later);
    size_t first = run->ev.len; /* adding an item may move the others: take pointers after both */
    rk_ev_add(run, x->b, RANK_CH_GAP, RANK_EV_GAP_IN, r->score);
    rk_ev_add(run, x->a, RANK_CH_GAP, RANK_EV_GAP_OUT, RK_GAP_OUT_SHARE * r->score);
    rk_ev_t *in = &RK_AT(&run->ev, rk_ev_t, first), *out = &RK_AT(&run->ev, rk_ev_t, first + 1);
    in->peer = x->a;
    out->peer = x->b;
    rk_ev_t *both[2] = {in, out};
    for (int i = 0; i < 2; i++) {
        both[i]->subject = edge;
        both[i]->before = r->med_ref;
        both[i]->after = r->med_suf;
        both[i]->n_before = (double)r->n_ref;
        both[i]->n_after = (double)r->n_suf;
        both[i]->text = text;
    }
}

void rk_latency_evidence(rk_run_t *run)
{
    rk_map_t idx;
    rk_map_init(&idx);
    rk_vec_t all;
    rk_vec_init(&all, sizeof(series_t));
    collect(&idx, &all, &run->base, 0);
    collect(&idx, &all, &run->target, 1);
    for (size_t i = 0; i < all.len; i++) {
        series_t *x = &RK_AT(&all, series_t, i);
        lshift_t r;
        int cut;
        if (best_cut(x, &r, &cut) && r.score > 0) emit(run, x, &r, cut);
        rk_vec_dispose(&x->samples);
    }
    rk_vec_dispose(&all);
    rk_map_dispose(&idx);
}
