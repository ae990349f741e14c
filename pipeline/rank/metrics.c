/* Metric evidence: each (service, metric) of the target against the same series in the baseline (its
 * history). The shift is how far the target's extreme point leaves the history's P5..P95 range, in
 * units of that range (at least RK_METRIC_REL_FLOOR of the median, so flat series do not explode),
 * scored log2(1 + exceedance), and it must hold at the end of the window (the last segment keeps half
 * of it). Resource metrics (CPU, memory) count upward only and fully: they are causes local to a pod.
 * Other metrics (latency, traffic, network) echo faults elsewhere: both directions, RK_W_SYMPTOM_METRIC,
 * and they only corroborate a service's other evidence (score.c).
 * Node-level metrics are shared by every pod of a node and are not charged to a service. */
#include "rank_int.h"

#include "alloc.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { M_RESOURCE, M_SYMPTOM, M_NODE } mclass_t;

typedef struct {
    uint32_t svc, name;
    rk_vec_t hist;   /* double */
    rk_vec_t points; /* rk_metric_t (target) */
} mseries_t;

static int contains_ci(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (; *s; s++)
        if (strncasecmp(s, word, n) == 0) return 1;
    return 0;
}

static mclass_t class_of(const char *name)
{
    if (contains_ci(name, "node")) return M_NODE;
    if (contains_ci(name, "cpu") || contains_ci(name, "mem")) return M_RESOURCE;
    return M_SYMPTOM;
}

static mseries_t *series(rk_map_t *idx, rk_vec_t *all, uint32_t svc, uint32_t name)
{
    int added;
    uint32_t *slot = rk_map_put(idx, ((uint64_t)svc << 32) | name, (uint32_t)all->len, &added);
    if (added) {
        mseries_t *m = rk_vec_push(all);
        m->svc = svc;
        m->name = name;
        rk_vec_init(&m->hist, sizeof(double));
        rk_vec_init(&m->points, sizeof(rk_metric_t));
    }
    return &RK_AT(all, mseries_t, *slot);
}

/* Signed exceedance of v beyond [lo, hi] in units of `spread` (positive above, negative below). */
static double exceed(double v, double lo, double hi, double spread)
{
    if (v > hi) return (v - hi) / spread;
    if (v < lo) return -(lo - v) / spread;
    return 0;
}

static int cmp_point(const void *a, const void *b)
{
    const rk_metric_t *x = a, *y = b;
    if (x->ts_ns != y->ts_ns) return x->ts_ns < y->ts_ns ? -1 : 1;
    return (x->value > y->value) - (x->value < y->value);
}

static void judge(rk_run_t *run, mseries_t *m)
{
    size_t nh = m->hist.len, np = m->points.len;
    if (nh < RK_MIN_HISTORY || np == 0) return;
    const char *name = m->name < run->metric_names.n ? run->metric_names.str[m->name] : "";
    mclass_t cls = class_of(name);
    if (cls == M_NODE) return;
    double *h = m->hist.data;
    qsort(h, nh, sizeof(double), rk_cmp_double);
    double lo = rk_quantile_sorted(h, nh, 0.05), hi = rk_quantile_sorted(h, nh, 0.95);
    double med = rk_quantile_sorted(h, nh, 0.5);
    double spread = hi - lo;
    if (spread < RK_METRIC_REL_FLOOR * fabs(med)) spread = RK_METRIC_REL_FLOOR * fabs(med);
    if (spread <= 0) spread = 1e-12;
    rk_metric_t *p = m->points.data;
    qsort(p, np, sizeof(rk_metric_t), cmp_point);
    double best = 0, best_v = med;
    for (size_t i = 0; i < np; i++) {
        double e = exceed(p[i].value, lo, hi, spread);
        if (cls == M_RESOURCE && e < 0) e = 0;
        if (fabs(e) > fabs(best)) {
            best = e;
            best_v = p[i].value;
        }
    }
    if (best == 0) return;
    /* The end of the window (its last segment, else the latest point) keeps half of it, same way. */
    double sign = best > 0 ? 1 : -1, end = exceed(p[np - 1].value, lo, hi, spread) * sign;
    for (size_t i = 0; i < np; i++)
        if (p[i].seg == RK_N_SEGMENTS - 1) {
            double e = exceed(p[i].value, lo, hi, spread) * sign;
            if (e > end) end = e;
        }
    if (end < RK_PERSIST_SHARE * fabs(best)) return;
    double w = cls == M_RESOURCE ? 1.0 : RK_W_SYMPTOM_METRIC;
    double score = w * log2(1 + fabs(best));
    rk_ev_t *ev = rk_ev_add(run, m->svc, cls == M_RESOURCE ? RANK_CH_METRICS : RANK_CH_METRIC_ECHOES,
                            RANK_EV_METRIC, score);
    ev->subject = rk_arena_strdup(run->out, name);
    ev->before = med;
    ev->after = best_v;
    ev->n_before = (double)nh;
    ev->n_after = (double)np;
    ev->text = rk_arena_printf(
        run->out, "%s %s to %.4g against a history median of %.4g (P5..P95 %.4g..%.4g, %zu points)%s", name,
        best > 0 ? "rises" : "falls", best_v, med, lo, hi, nh,
        cls == M_RESOURCE ? "" : " (an echo metric: it only corroborates)");
}

void rk_metrics_evidence(rk_run_t *run)
{
    rk_map_t idx;
    rk_map_init(&idx);
    rk_vec_t all;
    rk_vec_init(&all, sizeof(mseries_t));
    for (size_t i = 0; i < run->base.n_metrics; i++) {
        const rk_metric_t *x = &run->base.metrics[i];
        *(double *)rk_vec_push(&series(&idx, &all, x->svc, x->name)->hist) = x->value;
    }
    for (size_t i = 0; i < run->target.n_metrics; i++) {
        const rk_metric_t *x = &run->target.metrics[i];
        mseries_t *m = series(&idx, &all, x->svc, x->name);
        *(rk_metric_t *)rk_vec_push(&m->points) = *x;
    }
    for (size_t i = 0; i < all.len; i++) {
        mseries_t *m = &RK_AT(&all, mseries_t, i);
        judge(run, m);
        rk_vec_dispose(&m->hist);
        rk_vec_dispose(&m->points);
    }
    rk_vec_dispose(&all);
    rk_map_dispose(&idx);
}
