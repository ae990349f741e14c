/* rank_window(): prepares the windows, mines templates, gathers evidence, scores, applies the call
 * graph and copies the ranking into the result's arena. */
#include "rank_int.h"

#include "alloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rank_opts_default(rank_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->quiet_threshold = 3.0;
    o->max_evidence = 6;
    o->max_services = 0;
    o->change_lookback_ns = 30LL * 60 * 1000000000LL;
}

const char *rk_svc_name(const rk_run_t *run, uint32_t svc)
{
    return svc < run->services.n ? run->services.str[svc] : "";
}

const char *rk_op_name(const rk_run_t *run, uint32_t op)
{
    return op < run->ops.n ? run->ops.str[op] : "";
}

const char *rank_evidence_kind_name(rank_evidence_kind_t k)
{
    static const char *const names[] = {"log_new",
                                        "log_vanished",
                                        "log_shift",
                                        "error_rate",
                                        "self_time",
                                        "gap_in",
                                        "gap_out",
                                        "metric",
                                        "change",
                                        "callers",
                                        "explained_by_callee",
                                        "call_pattern",
                                        "span_errors",
                                        "gap_shared",
                                        "log_unpaired",
                                        "span_exceptions"};
    _Static_assert(sizeof(names) / sizeof(names[0]) == RANK_EV_KINDS, "a JSON name for every kind");
    return (unsigned)k < RANK_EV_KINDS ? names[k] : "unknown";
}

typedef struct {
    double final;
    const char *name;
    uint32_t svc;
} order_t;

static int cmp_order(const void *a, const void *b)
{
    const order_t *x = a, *y = b;
    if (x->final != y->final) return x->final > y->final ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_evidence(const void *a, const void *b)
{
    const rk_ev_t *x = *(const rk_ev_t *const *)a, *y = *(const rk_ev_t *const *)b;
    double ax = fabs(x->score), ay = fabs(y->score); /* a blame moved away matters as much as one gained */
    if (ax != ay) return ax > ay ? -1 : 1;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    if (x->kind != y->kind) return (int)x->kind - (int)y->kind;
    return strcmp(x->text ? x->text : "", y->text ? y->text : "");
}

/* Evidence pointers grouped by service: by_svc[first[s] .. first[s+1]) belong to service s. */
static rk_ev_t **group_evidence(rk_run_t *run, size_t n, size_t **first_out)
{
    size_t *first = rk_arena_alloc(run->scratch, (n + 2) * sizeof(size_t));
    for (size_t i = 0; i < run->ev.len; i++) {
        const rk_ev_t *e = &RK_AT(&run->ev, rk_ev_t, i);
        if (e->svc < n && e->score != 0) first[e->svc + 2]++;
    }
    for (size_t s = 0; s < n; s++)
        first[s + 2] += first[s + 1];
    rk_ev_t **by_svc = rk_arena_alloc(run->scratch, (run->ev.len ? run->ev.len : 1) * sizeof(rk_ev_t *));
    for (size_t i = 0; i < run->ev.len; i++) {
        rk_ev_t *e = &RK_AT(&run->ev, rk_ev_t, i);
        if (e->svc < n && e->score != 0) by_svc[first[e->svc + 1]++] = e;
    }
    for (size_t s = 0; s < n; s++)
        qsort(by_svc + first[s], first[s + 1] - first[s], sizeof(rk_ev_t *), cmp_evidence);
    *first_out = first;
    return by_svc;
}

static void copy_evidence(rk_run_t *run, rank_service_t *s, rk_ev_t **items, size_t n)
{
    if (n > run->opts->max_evidence) n = run->opts->max_evidence;
    s->evidence = rk_arena_alloc(run->out, (n ? n : 1) * sizeof(rank_evidence_t));
    s->n_evidence = n;
    for (size_t i = 0; i < n; i++) {
        const rk_ev_t *e = items[i];
        s->evidence[i] = (rank_evidence_t){e->kind,  e->score,    e->subject, e->context, e->before,
                                           e->after, e->n_before, e->n_after, e->text};
    }
}

static void build_result(rk_run_t *run, rank_service_t *all, rank_result_t *out)
{
    size_t n = run->services.n;
    order_t *order = rk_arena_alloc(run->scratch, (n ? n : 1) * sizeof(order_t));
    for (uint32_t s = 0; s < n; s++)
        order[s] = (order_t){run->score[s] + run->channel[s * RANK_CHANNELS + RANK_CH_GRAPH],
                             rk_svc_name(run, s), s};
    qsort(order, n, sizeof(order_t), cmp_order);
    size_t *first;
    rk_ev_t **by_svc = group_evidence(run, n, &first);
    size_t keep = run->opts->max_services && run->opts->max_services < n ? run->opts->max_services : n;
    out->services = rk_arena_alloc(run->out, (keep ? keep : 1) * sizeof(rank_service_t));
    out->n_services = keep;
    for (size_t k = 0; k < keep; k++) {
        uint32_t s = order[k].svc;
        rank_service_t *r = &out->services[k];
        *r = all[s];
        r->service = rk_arena_strdup(run->out, order[k].name);
        r->score = order[k].final;
        memcpy(r->channel, &run->channel[s * RANK_CHANNELS], sizeof(r->channel));
        copy_evidence(run, r, by_svc + first[s], first[s + 1] - first[s]);
    }
    out->top_score = keep ? out->services[0].score : 0.0;
    out->quiet_threshold = run->opts->quiet_threshold;
    out->nothing_stands_out = !(keep && out->top_score >= run->opts->quiet_threshold);
    if (out->nothing_stands_out)
        snprintf(out->verdict, sizeof(out->verdict), "nothing stands out (top score %.1f < %.1f)",
                 out->top_score, out->quiet_threshold);
    else
        snprintf(out->verdict, sizeof(out->verdict), "%.160s stands out (score %.1f)",
                 out->services[0].service, out->top_score);
}

int rank_window(const rank_input_t *baseline, const rank_input_t *target, const rank_opts_t *opts,
                rank_result_t *out)
{
    if (out == NULL) return -1;
    memset(out, 0, sizeof(*out));
    if (baseline == NULL || target == NULL) return -1;
    rank_opts_t defaults;
    rank_opts_default(&defaults);
    rk_run_t run;
    memset(&run, 0, sizeof(run));
    run.opts = opts ? opts : &defaults;
    run.scratch = rk_arena_create();
    run.out = rk_arena_create();
    rk_intern_init(&run.services);
    rk_intern_init(&run.ops);
    rk_intern_init(&run.metric_names);
    rk_intern_init(&run.traces);
    rk_vec_init(&run.ev, sizeof(rk_ev_t));
    run.miner = rk_miner_create();

    rk_window_prepare(&run, baseline, target);
    rk_changes_evidence(&run, target); /* interns the services of changes before anything counts them */
    rk_miner_run(run.miner, &run);
    rk_logshift_evidence(&run);
    rk_logpairs_evidence(&run);
    rk_latency_evidence(&run);
    rk_gap_share(&run);
    rk_callpattern_evidence(&run);
    rk_metrics_evidence(&run);
    rk_score_channels(&run);
    rank_service_t *all =
        rk_arena_alloc(run.scratch, (run.services.n ? run.services.n : 1) * sizeof(rank_service_t));
    rk_callgraph_apply(&run, all);
    rk_coverage_count(&run, all);
    build_result(&run, all, out);
    rk_coverage_verdict(out);
    out->n_templates = rk_miner_count(run.miner);
    out->n_target_spans = run.target.n_spans;
    out->n_target_logs = run.target.n_logs;
    out->n_target_metrics = run.target.n_metrics;
    out->arena = run.out;

    rk_miner_free(run.miner);
    rk_vec_dispose(&run.ev);
    rk_intern_dispose(&run.services);
    rk_intern_dispose(&run.ops);
    rk_intern_dispose(&run.metric_names);
    rk_intern_dispose(&run.traces);
    rk_window_dispose(&run.base);
    rk_window_dispose(&run.target);
    rk_arena_free(run.scratch);
    return 0;
}

void rank_result_dispose(rank_result_t *r)
{
    if (r == NULL) return;
    rk_arena_free(r->arena);
    memset(r, 0, sizeof(*r));
}
