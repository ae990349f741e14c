/* The window ranker tests' synthetic-system builder and result checks (ts_rank_synth.h). */
#include "ts_rank_synth.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS_NS 1000000LL

void ts_synth_init(ts_synth_t *s, uint64_t seed, size_t pool_bytes)
{
    memset(s, 0, sizeof(*s));
    s->pool = malloc(pool_bytes);
    ck_assert_ptr_nonnull(s->pool);
    s->pool_size = pool_bytes;
    s->rng = seed;
}

void ts_synth_dispose(ts_synth_t *s)
{
    if (!s) return;
    free(s->spans);
    free(s->logs);
    free(s->metrics);
    free(s->pool);
    memset(s, 0, sizeof(*s));
}

/* Knuth's MMIX linear congruential generator; its top 53 bits make the double. The tests' expectations
 * were tuned on exactly this sequence: changing it changes every scenario. */
double ts_synth_unit(ts_synth_t *s)
{
    s->rng = s->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(s->rng >> 11) / (double)(1ULL << 53);
}

int64_t ts_synth_jit(ts_synth_t *s, double ms)
{
    return (int64_t)(ms * (0.8 + 0.4 * ts_synth_unit(s)) * MS_NS);
}

static const char *vfmt(ts_synth_t *s, const char *fmt, va_list ap)
{
    char *p = s->pool + s->pool_used;
    int n = vsnprintf(p, s->pool_size - s->pool_used, fmt, ap);
    ck_assert_msg(n >= 0 && s->pool_used + (size_t)n + 1 < s->pool_size, "string arena of %zu bytes is full",
                  s->pool_size);
    s->pool_used += (size_t)n + 1;
    return p;
}

const char *ts_synth_fmt(ts_synth_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *p = vfmt(s, fmt, ap);
    va_end(ap);
    return p;
}

const char *ts_synth_id(ts_synth_t *s, int width)
{
    return ts_synth_fmt(s, "%0*x", width, ++s->next_id);
}

/* `items` (`n` of `size` bytes, room for *cap) with room for one more: doubled from `first` when full. */
static void *grow(void *items, size_t n, size_t *cap, size_t first, size_t size)
{
    if (n < *cap) return items;
    *cap = *cap ? 2 * *cap : first;
    items = realloc(items, *cap * size);
    ck_assert_ptr_nonnull(items);
    return items;
}

const char *ts_synth_span(ts_synth_t *s, const char *trace, const char *parent, const char *svc,
                          const char *name, int64_t start, int64_t end, int status)
{
    const char *id = ts_synth_id(s, 16);
    s->spans = grow(s->spans, s->n_spans, &s->cap_spans, 1024, sizeof(rank_span_t));
    s->spans[s->n_spans++] = (rank_span_t){trace, id, parent, svc, name, start, end, status, NULL};
    return id;
}

void ts_synth_record_exception(ts_synth_t *s, const char *type)
{
    ck_assert_uint_gt(s->n_spans, 0);
    s->spans[s->n_spans - 1].exception_type = type;
}

void ts_synth_log(ts_synth_t *s, int64_t ts, const char *svc, int sev, const char *msg, const char *trace,
                  const char *span_id)
{
    s->logs = grow(s->logs, s->n_logs, &s->cap_logs, 1024, sizeof(rank_log_t));
    s->logs[s->n_logs++] = (rank_log_t){ts, svc, sev, msg, trace, span_id};
}

void ts_synth_metric(ts_synth_t *s, int64_t ts, const char *svc, const char *name, double v)
{
    s->metrics = grow(s->metrics, s->n_metrics, &s->cap_metrics, 256, sizeof(rank_metric_t));
    s->metrics[s->n_metrics++] = (rank_metric_t){ts, svc, name, v};
}

rank_input_t ts_synth_input(const ts_synth_t *s, int64_t start_ns, int64_t end_ns)
{
    return (rank_input_t){.spans = s->spans,
                          .n_spans = s->n_spans,
                          .logs = s->logs,
                          .n_logs = s->n_logs,
                          .metrics = s->metrics,
                          .n_metrics = s->n_metrics,
                          .start_ns = start_ns,
                          .end_ns = end_ns};
}

void ts_synth_rank(const rank_input_t *base, const rank_input_t *target, rank_result_t *r)
{
    ck_assert_int_eq(rank_window(base, target, NULL, r), 0);
    if (!getenv("RANK_DEBUG")) return;
    json_t *j = rank_result_to_json(r);
    char *d = json_dumps(j, JSON_INDENT(1));
    fprintf(stderr, "%s\n", d);
    free(d);
    json_decref(j);
}

void ts_synth_pair_dispose(ts_synth_pair_t *p)
{
    if (!p) return;
    rank_result_dispose(&p->r);
    ts_synth_dispose(&p->base);
    ts_synth_dispose(&p->target);
}

const rank_service_t *ts_synth_find(const rank_result_t *r, const char *svc)
{
    for (size_t i = 0; i < r->n_services; i++)
        if (strcmp(r->services[i].service, svc) == 0) return &r->services[i];
    ck_abort_msg("no service %s", svc);
    return NULL;
}

const rank_evidence_t *ts_synth_evidence(const rank_service_t *s, rank_evidence_kind_t kind)
{
    for (size_t i = 0; i < s->n_evidence; i++)
        if (s->evidence[i].kind == kind) return &s->evidence[i];
    return NULL;
}

void ts_synth_assert_first(const rank_result_t *r, const char *svc)
{
    ck_assert_uint_ge(r->n_services, 2);
    ck_assert_msg(strcmp(r->services[0].service, svc) == 0, "first is %s (%.2f), then %s (%.2f)",
                  r->services[0].service, r->services[0].score, r->services[1].service, r->services[1].score);
    ck_assert_msg(r->services[0].score > r->services[1].score, "tie for first");
    ck_assert(!r->nothing_stands_out);
}
