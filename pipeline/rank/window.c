/* Window preparation: interns services and operations, links spans to their parents and logs to the
 * operation of their span, computes every span's self time, and places target records in time
 * segments (segment i starts at cut i of the scan, see rank_int.h). */
#include "rank_int.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#define BOUND_QUANTILE 0.005

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static size_t slen(const char *s)
{
    return s ? strlen(s) : 0;
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

uint8_t rk_segment_of(const rk_window_t *w, int64_t ts_ns)
{
    double span = (double)w->t1 - (double)w->t0;
    if (span <= 0) return RK_N_SEGMENTS - 1;
    double f = ((double)ts_ns - (double)w->t0) / span; /* in double: a broken clock must not overflow */
    uint8_t seg = 0;
    for (int i = 1; i < RK_N_CUTS; i++)
        if (f >= rk_cut_frac(i)) seg = (uint8_t)i;
    return seg;
}

typedef struct {
    int64_t a, b;
    uint32_t svc;
} ival_t;

static int cmp_ival(const void *x, const void *y)
{
    const ival_t *p = x, *q = y;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    return (p->b > q->b) - (p->b < q->b);
}

/* Self time of span i: its duration minus the union of its children's intervals clipped to it. The
 * first child (earliest start) in another service names the callee its self time is a gap to; a child
 * in another service that began after the span ended (a message and its consumer) adds the time the
 * message waited, so a slow queue or a delayed consumer pod shows as that consumer's gap. */
static void self_times(rk_run_t *run, rk_window_t *w, const uint32_t *first, const uint32_t *kids)
{
    size_t cap = 16;
    ival_t *iv = xmalloc(cap * sizeof(ival_t));
    for (size_t i = 0; i < w->n_spans; i++) {
        rk_span_t *s = &w->spans[i];
        int64_t dur = s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0;
        size_t n = first[i + 1] - first[i];
        if (n > cap) {
            cap = n;
            iv = xrealloc(iv, cap * sizeof(ival_t));
        }
        size_t m = 0;
        int64_t lag = 0; /* a message: its consumer began after the producer's span ended */
        for (size_t k = 0; k < n; k++) {
            const rk_span_t *c = &w->spans[kids[first[i] + k]];
            int64_t a = c->start_ns > s->start_ns ? c->start_ns : s->start_ns;
            int64_t b = c->end_ns < s->end_ns ? c->end_ns : s->end_ns;
            if (c->svc != s->svc) {
                const char *cn = rk_svc_name(run, c->svc);
                if (s->remote_svc == RK_NONE || strcmp(cn, rk_svc_name(run, s->remote_svc)) < 0)
                    s->remote_svc = c->svc; /* any remote child; the name keeps it order-free */
                /* the time the message waited (the queue, the consumer's pod) is the gap of an
                 * asynchronous call, as the wire is for a synchronous one */
                if (c->start_ns >= s->end_ns && c->start_ns - s->end_ns > lag) lag = c->start_ns - s->end_ns;
            }
            if (b > a) iv[m++] = (ival_t){a, b, c->svc};
        }
        qsort(iv, m, sizeof(ival_t), cmp_ival);
        int64_t covered = 0, ca = 0, cb = 0;
        int open = 0;
        for (size_t k = 0; k < m; k++) {
            if (!open || iv[k].a > cb) {
                if (open) covered += cb - ca;
                ca = iv[k].a;
                cb = iv[k].b;
                open = 1;
            } else if (iv[k].b > cb) {
                cb = iv[k].b;
            }
        }
        if (open) covered += cb - ca;
        int64_t self = dur - covered + lag;
        s->self_ms = self > 0 ? (double)self / 1e6 : 0.0;
    }
    free(iv);
}

#define MAX_HOPS 256 /* parent chains followed at most this far: a malformed chain cannot loop */

/* The invocation each span belongs to (the topmost span of its service above it), and whether an
 * error span began its failure itself: a failed span of another service below it means the error
 * came from there. Likewise a recorded exception: one below it in another service (or a failure
 * there) means the exception came from there (a client library turning an error answer into one). */
static void invocations(rk_window_t *w)
{
    size_t n = w->n_spans;
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        for (int hop = 0; hop < MAX_HOPS; hop++) {
            int32_t p = w->spans[j].parent;
            if (p < 0 || w->spans[p].svc != w->spans[i].svc) break;
            j = (size_t)p;
        }
        w->spans[i].entry = (uint32_t)j;
        w->spans[i].own_error = w->spans[i].error;
        w->spans[i].own_exception = w->spans[i].exception;
    }
    for (size_t i = 0; i < n; i++) {
        if (!w->spans[i].error && !w->spans[i].exception) continue;
        int32_t p = w->spans[i].parent;
        for (int hop = 0; p >= 0 && hop < MAX_HOPS; hop++, p = w->spans[p].parent)
            if (w->spans[p].svc != w->spans[i].svc) {
                if (w->spans[i].error) w->spans[p].own_error = 0;
                w->spans[p].own_exception = 0;
            }
    }
}

/* Span ids of one window: (interned trace id, interned span id) -> span index. */
typedef struct {
    rk_intern_t ids;
    rk_map_t by_id;
} span_index_t;

static const uint32_t *span_lookup(const span_index_t *x, uint32_t trace, const char *span_id)
{
    uint32_t sid = span_id ? rk_intern_find(&x->ids, span_id, strlen(span_id)) : RK_NONE;
    return sid == RK_NONE ? NULL : rk_map_get(&x->by_id, ((uint64_t)trace << 32) | sid);
}

static void prepare_spans(rk_run_t *run, rk_window_t *w, const rank_input_t *in, span_index_t *x)
{
    w->spans = xcalloc(in->n_spans ? in->n_spans : 1, sizeof(rk_span_t));
    const rank_span_t **src = xcalloc(in->n_spans ? in->n_spans : 1, sizeof(*src));
    size_t n = 0;
    for (size_t i = 0; i < in->n_spans; i++) {
        const rank_span_t *r = &in->spans[i];
        if (r->service == NULL || *r->service == '\0') continue;
        rk_span_t *s = &w->spans[n];
        s->svc = rk_intern(&run->services, r->service, strlen(r->service));
        s->op = rk_intern(&run->ops, nz(r->name), slen(r->name));
        s->trace = rk_intern(&run->traces, nz(r->trace_id), slen(r->trace_id));
        s->start_ns = r->start_ns;
        s->end_ns = r->end_ns;
        s->parent = -1;
        s->remote_svc = RK_NONE;
        s->error = r->status == 2;
        s->exception = r->exception_type != NULL;
        s->exc_type = r->exception_type;
        uint64_t key = ((uint64_t)s->trace << 32) | rk_intern(&x->ids, nz(r->span_id), slen(r->span_id));
        int added;
        rk_map_put(&x->by_id, key, (uint32_t)n, &added);
        src[n++] = r;
    }
    w->n_spans = n;
    uint32_t *first = xcalloc(n + 2, sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) {
        const char *p = src[i]->parent_span_id;
        if (p == NULL || *p == '\0') continue;
        const uint32_t *pi = span_lookup(x, w->spans[i].trace, p);
        if (pi == NULL || *pi == i) continue;
        w->spans[i].parent = (int32_t)*pi;
        first[*pi + 2]++;
    }
    /* Children in compressed rows: kids[first[i] .. first[i+1]) are the children of span i. */
    for (size_t i = 0; i < n; i++)
        first[i + 2] += first[i + 1];
    uint32_t *kids = xcalloc(n ? n : 1, sizeof(uint32_t));
    for (size_t i = 0; i < n; i++)
        if (w->spans[i].parent >= 0) kids[first[w->spans[i].parent + 1]++] = (uint32_t)i;
    self_times(run, w, first, kids);
    invocations(w);
    free(kids);
    free(first);
    free(src);
}

/* Links each log to its span's operation through (trace id, span id), and marks the lines whose trace
 * has no span in the window at all (head sampling keeps whole traces and every log line). */
static void prepare_logs(rk_run_t *run, rk_window_t *w, const rank_input_t *in, const span_index_t *x)
{
    w->logs = xcalloc(in->n_logs ? in->n_logs : 1, sizeof(rk_log_t));
    size_t n_traces = run->traces.n; /* traces interned from here on have no span anywhere */
    uint8_t *has_spans = xcalloc(n_traces ? n_traces : 1, 1);
    for (size_t i = 0; i < w->n_spans; i++)
        has_spans[w->spans[i].trace] = 1;
    size_t n = 0;
    for (size_t i = 0; i < in->n_logs; i++) {
        const rank_log_t *r = &in->logs[i];
        if (r->service == NULL || *r->service == '\0') continue;
        rk_log_t *l = &w->logs[n++];
        l->svc = rk_intern(&run->services, r->service, strlen(r->service));
        l->op = RK_NONE;
        l->span = RK_NONE;
        l->trace = RK_NONE;
        l->tmpl = RK_NONE;
        l->severity = r->severity;
        l->ts_ns = r->ts_ns;
        l->msg = nz(r->message);
        if (r->trace_id && *r->trace_id) {
            l->trace = rk_intern(&run->traces, r->trace_id, strlen(r->trace_id));
            const uint32_t *si = span_lookup(x, l->trace, r->span_id);
            if (si && w->spans[*si].svc == l->svc) {
                l->op = w->spans[*si].op;
                l->span = *si;
            }
            l->trace_absent = l->trace >= n_traces || !has_spans[l->trace];
        }
    }
    w->n_logs = n;
    free(has_spans);
}

static void prepare_metrics(rk_run_t *run, rk_window_t *w, const rank_input_t *in)
{
    w->metrics = xcalloc(in->n_metrics ? in->n_metrics : 1, sizeof(rk_metric_t));
    size_t n = 0;
    for (size_t i = 0; i < in->n_metrics; i++) {
        const rank_metric_t *r = &in->metrics[i];
        if (r->service == NULL || *r->service == '\0' || r->name == NULL) continue;
        if (r->value != r->value || r->value > 1e300 || r->value < -1e300) continue; /* NaN, inf */
        rk_metric_t *m = &w->metrics[n++];
        m->svc = rk_intern(&run->services, r->service, strlen(r->service));
        m->name = rk_intern(&run->metric_names, r->name, strlen(r->name));
        m->ts_ns = r->ts_ns;
        m->value = r->value;
    }
    w->n_metrics = n;
}

/* The window's time range when the input gives none: the 0.5% and 99.5% quantiles of its span starts
 * and log times, so a few records with a broken clock cannot stretch the window (they fall into the
 * first or last segment). */
static void bounds(rk_window_t *w, const rank_input_t *in)
{
    size_t n = w->n_spans + w->n_logs;
    int64_t lo = 0, hi = 0;
    if (n > 0 && (in->start_ns == 0 || in->end_ns == 0)) {
        int64_t *t = xmalloc(n * sizeof(int64_t));
        for (size_t i = 0; i < w->n_spans; i++)
            t[i] = w->spans[i].start_ns;
        for (size_t i = 0; i < w->n_logs; i++)
            t[w->n_spans + i] = w->logs[i].ts_ns;
        qsort(t, n, sizeof(int64_t), cmp_i64);
        lo = t[(size_t)((double)(n - 1) * BOUND_QUANTILE)];
        hi = t[(size_t)((double)(n - 1) * (1.0 - BOUND_QUANTILE) + 0.5)];
        free(t);
    }
    w->t0 = in->start_ns ? in->start_ns : lo;
    w->t1 = in->end_ns ? in->end_ns : hi;
    if (w->t1 < w->t0) w->t1 = w->t0;
}

static void prepare(rk_run_t *run, rk_window_t *w, const rank_input_t *in, int segment)
{
    span_index_t x;
    rk_intern_init(&x.ids);
    rk_map_init(&x.by_id);
    prepare_spans(run, w, in, &x);
    prepare_logs(run, w, in, &x);
    rk_map_dispose(&x.by_id);
    rk_intern_dispose(&x.ids);
    prepare_metrics(run, w, in);
    bounds(w, in);
    if (!segment) return;
    for (size_t i = 0; i < w->n_spans; i++)
        w->spans[i].seg = rk_segment_of(w, w->spans[i].start_ns);
    for (size_t i = 0; i < w->n_logs; i++)
        w->logs[i].seg = rk_segment_of(w, w->logs[i].ts_ns);
    for (size_t i = 0; i < w->n_metrics; i++)
        w->metrics[i].seg = rk_segment_of(w, w->metrics[i].ts_ns);
}

int rk_window_prepare(rk_run_t *run, const rank_input_t *baseline, const rank_input_t *target)
{
    prepare(run, &run->base, baseline, 0);
    prepare(run, &run->target, target, 1);
    return 0;
}

void rk_window_dispose(rk_window_t *w)
{
    free(w->spans);
    free(w->logs);
    free(w->metrics);
    memset(w, 0, sizeof(*w));
}
