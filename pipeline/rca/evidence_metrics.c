/* Metric summary of a trace's evidence (see evidence_metrics.h). */
#include "evidence_metrics.h"
#include "alloc.h"
#include "suspects.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t first, n; /* the series' points: t->metrics[first .. first + n) */
    double before_sum, after_sum, min, max;
    size_t before_n, after_n;
    int root;
    double moved; /* |change|, for ordering; -1 when unknown */
} series_t;

static int same_series(const rca_metric_t *a, const rca_metric_t *b)
{
    return strcmp(a->service ? a->service : "", b->service ? b->service : "") == 0 &&
           strcmp(a->name ? a->name : "", b->name ? b->name : "") == 0;
}

static double change_pct(const series_t *s)
{
    if (!s->before_n || !s->after_n) return NAN;
    double b = s->before_sum / (double)s->before_n, a = s->after_sum / (double)s->after_n;
    return b != 0 ? (a - b) / fabs(b) * 100.0 : NAN;
}

static int cmp_series(const void *x, const void *y, void *ctx)
{
    const series_t *a = x, *b = y;
    const rca_trace_t *t = ctx;
    if (a->root != b->root) return b->root - a->root;
    if (a->moved != b->moved) return a->moved < b->moved ? 1 : -1;
    int c = strcmp(t->metrics[a->first].service, t->metrics[b->first].service);
    return c ? c : strcmp(t->metrics[a->first].name, t->metrics[b->first].name);
}

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(round(v * 1e4) / 1e4) : json_null();
}

static json_t *spark(const rca_trace_t *t, const series_t *s)
{
    int64_t lo = t->metrics[s->first].ts_ns, hi = t->metrics[s->first + s->n - 1].ts_ns;
    double sum[EVIDENCE_METRICS_BUCKETS] = {0};
    int cnt[EVIDENCE_METRICS_BUCKETS] = {0};
    for (size_t i = 0; i < s->n; i++) {
        const rca_metric_t *m = &t->metrics[s->first + i];
        int b =
            hi > lo ? (int)((double)(m->ts_ns - lo) / (double)(hi - lo) * (EVIDENCE_METRICS_BUCKETS - 1)) : 0;
        sum[b] += m->value, cnt[b]++;
    }
    json_t *arr = json_array();
    for (int b = 0; b < EVIDENCE_METRICS_BUCKETS; b++)
        json_array_append_new(arr, cnt[b] ? num_or_null(sum[b] / cnt[b]) : json_null());
    return arr;
}

static json_t *series_json(const rca_trace_t *t, const series_t *s, size_t idx)
{
    const rca_metric_t *m0 = &t->metrics[s->first], *ml = &t->metrics[s->first + s->n - 1];
    char id[32];
    snprintf(id, sizeof(id), "metric:%zu", idx);
    return json_pack("{s:s,s:s,s:s,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:I}", "id", id, "service",
                     m0->service, "name", m0->name, "points", (json_int_t)s->n, "before_mean",
                     num_or_null(s->before_n ? s->before_sum / (double)s->before_n : NAN), "after_mean",
                     num_or_null(s->after_n ? s->after_sum / (double)s->after_n : NAN), "change_pct",
                     num_or_null(change_pct(s)), "min", num_or_null(s->min), "max", num_or_null(s->max),
                     "last", num_or_null(ml->value), "spark", spark(t, s), "from_ns", (json_int_t)m0->ts_ns,
                     "to_ns", (json_int_t)ml->ts_ns);
}

static int cmp_episode(const void *x, const void *y)
{
    const rca_episode_t *a = *(const rca_episode_t *const *)x, *b = *(const rca_episode_t *const *)y;
    if (fabs(a->peak_z) != fabs(b->peak_z)) return fabs(a->peak_z) < fabs(b->peak_z) ? 1 : -1;
    return a->start_ns < b->start_ns ? -1 : a->start_ns > b->start_ns;
}

static json_t *anomalies_json(const rca_trace_t *t, size_t *omitted)
{
    json_t *arr = json_array();
    const rca_episode_t **e = xmalloc((t->nepisodes ? t->nepisodes : 1) * sizeof(*e));
    for (size_t i = 0; i < t->nepisodes; i++)
        e[i] = &t->episodes[i];
    qsort(e, t->nepisodes, sizeof(*e), cmp_episode);
    size_t keep =
        t->nepisodes < EVIDENCE_METRICS_MAX_ANOMALIES ? t->nepisodes : EVIDENCE_METRICS_MAX_ANOMALIES;
    for (size_t i = 0; i < keep; i++) {
        symptom_t sym = {e[i]->service,
                         e[i]->metric,
                         {e[i]->start_ns, e[i]->end_ns, e[i]->baseline, e[i]->peak, e[i]->pct_change,
                          e[i]->peak_z, e[i]->direction, 0}};
        char text[400], id[32];
        symptom_describe(&sym, text, sizeof(text));
        snprintf(id, sizeof(id), "anomaly:%zu", i);
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:s,s:I,s:I,s:o,s:o,s:o,s:o,s:i,s:s}", "id", id, "service",
                           e[i]->service, "metric", e[i]->metric, "start_ns", (json_int_t)e[i]->start_ns,
                           "end_ns", (json_int_t)e[i]->end_ns, "baseline", num_or_null(e[i]->baseline),
                           "peak", num_or_null(e[i]->peak), "pct_change", num_or_null(e[i]->pct_change),
                           "peak_z", num_or_null(e[i]->peak_z), "direction", e[i]->direction, "text", text));
    }
    *omitted = t->nepisodes - keep;
    free(e);
    return arr;
}

json_t *evidence_metrics(const rca_trace_t *t, int64_t fail_ns, const char *root_service)
{
    /* the loader sorts points by service, name, time: a series is a run */
    series_t *s = xmalloc((t->nmetrics ? t->nmetrics : 1) * sizeof(*s));
    size_t ns = 0;
    for (size_t i = 0; i < t->nmetrics;) {
        series_t *x = &s[ns++];
        memset(x, 0, sizeof(*x));
        x->first = i;
        x->min = INFINITY, x->max = -INFINITY;
        for (; i < t->nmetrics && same_series(&t->metrics[i], &t->metrics[x->first]); i++) {
            double v = t->metrics[i].value;
            if (!isfinite(v)) continue;
            x->n = i - x->first + 1;
            if (t->metrics[i].ts_ns < fail_ns)
                x->before_sum += v, x->before_n++;
            else
                x->after_sum += v, x->after_n++;
            if (v < x->min) x->min = v;
            if (v > x->max) x->max = v;
        }
        x->n = i - x->first;
        x->root = root_service && t->metrics[x->first].service &&
                  strcmp(root_service, t->metrics[x->first].service) == 0;
        double c = change_pct(x);
        x->moved = isfinite(c) ? fabs(c) : -1;
    }
    qsort_r(s, ns, sizeof(*s), cmp_series, (void *)t);
    json_t *series = json_array();
    size_t keep = ns < EVIDENCE_METRICS_MAX_SERIES ? ns : EVIDENCE_METRICS_MAX_SERIES;
    for (size_t i = 0; i < keep; i++)
        json_array_append_new(series, series_json(t, &s[i], i));
    free(s);
    size_t omitted_anomalies = 0;
    json_t *anomalies = anomalies_json(t, &omitted_anomalies);
    return json_pack("{s:I,s:o,s:o,s:I,s:I}", "fail_ns", (json_int_t)fail_ns, "series", series, "anomalies",
                     anomalies, "omitted_series", (json_int_t)(ns - keep), "omitted_anomalies",
                     (json_int_t)omitted_anomalies);
}
