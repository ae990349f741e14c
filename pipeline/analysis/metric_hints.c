/* Metric shifts of one service around the trace (see signals.h). Series are read in a fixed order
 * (name, labels, time, value) so the sums, and thus the numbers printed, never depend on row order. */
#include "signals.h"
#include "alloc.h"
#include "strutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAD_NS ((int64_t)60 * 1000000000)
#define MIN_BEFORE 3
#define SIGMAS 3.0
#define MIN_REL_CHANGE 0.5

typedef struct {
    const char *name, *labels;
    double before_mean, during_mean, rel;
    size_t nb, nd;
} hint_t;

static int cmp_point(const void *pa, const void *pb)
{
    const analysis_metric_t *a = *(const analysis_metric_t *const *)pa,
                            *b = *(const analysis_metric_t *const *)pb;
    int c = an_strcmp(a->name, b->name);
    if (c == 0) c = an_strcmp(a->labels_json, b->labels_json);
    if (c) return c;
    if (a->ts_ns != b->ts_ns) return a->ts_ns < b->ts_ns ? -1 : 1;
    return (a->value > b->value) - (a->value < b->value);
}

static int cmp_hint(const void *pa, const void *pb)
{
    const hint_t *a = pa, *b = pb;
    double ra = fabs(a->rel), rb = fabs(b->rel);
    if (ra != rb) return ra > rb ? -1 : 1;
    int c = an_strcmp(a->name, b->name);
    return c ? c : an_strcmp(a->labels, b->labels);
}

/* Looks at one series p[0..n) and fills h when it shifted. */
static int shifted(const analysis_metric_t *const *p, size_t n, int64_t start, int64_t end, hint_t *h)
{
    double sb = 0, sbb = 0, sd = 0;
    size_t nb = 0, nd = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t ts = p[i]->ts_ns;
        double v = p[i]->value;
        if (ts >= start - PAD_NS && ts <= end + PAD_NS) {
            sd += v;
            nd++;
        } else if (ts < start - PAD_NS && ts >= start - ANALYSIS_CHANGE_WINDOW_NS) {
            sb += v;
            sbb += v * v;
            nb++;
        }
    }
    if (nb < MIN_BEFORE || nd == 0) return 0;
    double mb = sb / (double)nb, md = sd / (double)nd;
    double var = sbb / (double)nb - mb * mb;
    double sdv = var > 0 ? sqrt(var) : 0;
    double change = md - mb;
    double rel = mb != 0 ? change / fabs(mb) : (change != 0 ? (change > 0 ? 1e9 : -1e9) : 0);
    if (!(fabs(change) > SIGMAS * sdv) || fabs(rel) < MIN_REL_CHANGE || !isfinite(rel)) return 0;
    h->name = p[0]->name;
    h->labels = p[0]->labels_json;
    h->before_mean = mb;
    h->during_mean = md;
    h->rel = rel;
    h->nb = nb;
    h->nd = nd;
    return 1;
}

static json_t *hint_json(const hint_t *h)
{
    json_t *o = json_object();
    json_object_set_new(o, "metric", an_json_cstr(h->name, 256));
    json_object_set_new(o, "labels", h->labels ? an_json_cstr(h->labels, 512) : json_null());
    json_object_set_new(o, "before_mean", json_real(analysis_round(h->before_mean, 3)));
    json_object_set_new(o, "during_mean", json_real(analysis_round(h->during_mean, 3)));
    if (fabs(h->rel) < 1e8)
        json_object_set_new(o, "change_pct", json_real(analysis_round(h->rel * 100, 1)));
    else
        json_object_set_new(o, "change_pct", json_null()); /* from zero */
    json_object_set_new(o, "direction", json_string(h->during_mean > h->before_mean ? "up" : "down"));
    json_object_set_new(o, "points_before", json_integer((json_int_t)h->nb));
    json_object_set_new(o, "points_during", json_integer((json_int_t)h->nd));
    return o;
}

json_t *analysis_metric_hints(const trace_ctx_t *ctx, const char *service, int64_t start_ns, int64_t end_ns,
                              size_t max)
{
    json_t *out = json_array();
    if (service == NULL || ctx->nmetrics == 0) return out;
    const analysis_metric_t **p = xcalloc(ctx->nmetrics, sizeof(*p));
    size_t n = 0;
    for (size_t i = 0; i < ctx->nmetrics; i++) {
        const analysis_metric_t *m = &ctx->metrics[i];
        if (m->name && isfinite(m->value) && strcmp(m->service ? m->service : "unknown", service) == 0)
            p[n++] = m;
    }
    qsort(p, n, sizeof(*p), cmp_point);
    hint_t *hints = xcalloc(n ? n : 1, sizeof(hint_t));
    size_t nh = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(p[j]->name, p[i]->name) == 0 &&
               an_strcmp(p[j]->labels_json, p[i]->labels_json) == 0)
            j++;
        if (shifted(p + i, j - i, start_ns, end_ns, &hints[nh])) nh++;
        i = j;
    }
    qsort(hints, nh, sizeof(hint_t), cmp_hint);
    for (size_t i = 0; i < nh && i < max; i++)
        json_array_append_new(out, hint_json(&hints[i]));
    free(hints);
    free(p);
    return out;
}
