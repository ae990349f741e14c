/* eval-offline: measures the window ranker (pipeline/rank) on a labelled fault dataset laid out like
 * datasets/nezha-train-ticket: cases.csv, <day>/trace/HH_MM_trace.csv.gz, <day>/log/HH_MM_log.csv.gz,
 * <day>/metric/<pod>_metric.csv.gz and baseline/<day>/{trace,log}/HH_MM_*.csv.gz, read with zcat.
 *
 * For each case: baseline = the case's baseline minute (spans and logs) plus the metric rows of the
 * hour before the target window; target = the case's minute files plus the metric rows from the
 * window's start to one minute after its end (a metric row is stamped at the end of its minute). The
 * labels (root_cause_service, fault_type) are only used to score the ranking, never passed to it.
 * Prints each case's rank of the true service (ties counted at the worst tied position), top-1, top-3
 * and Avg@5 overall and per fault type, and the ranking time per case. --quiet also ranks each case's
 * first minute alone (before the injection) to show how often the verdict is "nothing stands out".
 *
 * --delay-check MS M1,M2,M3 is a semi-synthetic check of network delay, which the labelled day lacks:
 * three quiet minutes of the day are made contiguous into one window, and for every service with at
 * least DELAY_MIN_CALLS incoming calls a delay of MS (+-10%) is injected from 40% of the window on,
 * once into the service only (its callers' client spans last longer, "ingress") and once on all its
 * traffic (also its own calls out, "egress"), spans after a delayed call moving later; each is ranked.
 *
 *   eval-offline [--dir DATASET] [--case CASE_ID] [--json] [--quiet] [--top N]
 *   eval-offline [--dir DATASET] --delay-check MS HH_MM,HH_MM,HH_MM */
#include "dataset/dataset.h"
#include "rank/rank.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct {
    const char *dir, *only_case, *stitch;
    int json, quiet;
    size_t top;
    double delay_ms;
} args_t;

static int parse_args(int argc, char **argv, args_t *a)
{
    a->dir = "/work/shared/datasets/nezha-train-ticket";
    a->only_case = NULL;
    a->json = a->quiet = 0;
    a->top = 3;
    a->stitch = NULL;
    a->delay_ms = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            a->dir = argv[++i];
        else if (strcmp(argv[i], "--case") == 0 && i + 1 < argc)
            a->only_case = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            a->json = 1;
        else if (strcmp(argv[i], "--quiet") == 0)
            a->quiet = 1;
        else if (strcmp(argv[i], "--top") == 0 && i + 1 < argc)
            a->top = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--delay-check") == 0 && i + 2 < argc) {
            a->delay_ms = strtod(argv[++i], NULL);
            a->stitch = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--dir DATASET] [--case CASE_ID] [--json] [--quiet] [--top N]\n",
                    argv[0]);
            return -1;
        }
    }
    return 0;
}

/* Ranks one window; prints a line (and the JSON when asked). Returns the rank of `truth`. */
static size_t run_case(const args_t *a, const ds_case_t *k, const ds_window_t *base,
                       const ds_window_t *target, const char *label, double *ms_out, double *cpu_out,
                       int *quiet_out, double *margin_out)
{
    rank_input_t bin = {
        base->spans, base->n_spans, base->logs, base->n_logs, base->metrics, base->n_metrics, NULL, 0, 0, 0};
    rank_input_t tin = {target->spans,
                        target->n_spans,
                        target->logs,
                        target->n_logs,
                        target->metrics,
                        target->n_metrics,
                        NULL,
                        0,
                        0,
                        0};
    rank_result_t r;
    double t = ds_clock_ms(CLOCK_MONOTONIC), cpu = ds_clock_ms(CLOCK_PROCESS_CPUTIME_ID);
    if (rank_window(&bin, &tin, NULL, &r)) {
        fprintf(stderr, "%s: rank_window failed\n", k->id);
        return 0;
    }
    *ms_out = ds_clock_ms(CLOCK_MONOTONIC) - t;
    *cpu_out = ds_clock_ms(CLOCK_PROCESS_CPUTIME_ID) - cpu;
    size_t rank = ds_strict_rank(&r, k->service);
    *quiet_out = r.nothing_stands_out;
    /* Margin: the true service's score minus the best other score (negative when it is not first). */
    double truth = 0, other = 0;
    for (size_t i = 0; i < r.n_services; i++) {
        if (strcmp(r.services[i].service, k->service) == 0)
            truth = r.services[i].score;
        else if (r.services[i].score > other)
            other = r.services[i].score;
    }
    *margin_out = truth - other;
    printf("%-28s %-15s %-30s %-6s rank %2zu  margin %5.1f  %6.1f ms  spans %6zu logs %5zu  |", k->id,
           k->fault, k->service, label, rank, *margin_out, *ms_out, target->n_spans, target->n_logs);
    for (size_t i = 0; i < a->top && i < r.n_services; i++)
        printf(" %s %.1f", r.services[i].service, r.services[i].score);
    printf("%s\n", r.nothing_stands_out ? "  [nothing stands out]" : "");
    if (a->json) {
        json_t *j = rank_result_to_json(&r);
        char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
        if (s) printf("%s\n", s);
        free(s);
        json_decref(j);
    }
    rank_result_dispose(&r);
    return rank;
}

/* ---- Semi-synthetic network delay (--delay-check) ---- */

#define DELAY_MIN_CALLS 20
#define DELAY_ONSET 0.4

/* Children of every span (sorted by start) in compressed rows, and the roots. */
typedef struct {
    uint32_t *first, *kids, *roots;
    size_t n_roots;
} tree_t;

typedef struct {
    uint64_t *keys;
    uint32_t *vals; /* span index + 1; 0 empty */
    size_t cap;
} idmap_t;

static uint64_t hash_ids(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = a ? a : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ 0x1f) * 1099511628211ULL;
    for (const char *p = b ? b : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h ? h : 1;
}

static int same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static int64_t idmap_find(const idmap_t *m, const rank_span_t *spans, const char *trace, const char *span)
{
    uint64_t h = hash_ids(trace, span);
    for (size_t i = h & (m->cap - 1); m->vals[i]; i = (i + 1) & (m->cap - 1)) {
        const rank_span_t *s = &spans[m->vals[i] - 1];
        if (m->keys[i] == h && same(s->trace_id, trace) && same(s->span_id, span)) return m->vals[i] - 1;
    }
    return -1;
}

static int cmp_kid(const void *a, const void *b, void *spans)
{
    const rank_span_t *s = spans;
    int64_t x = s[*(const uint32_t *)a].start_ns, y = s[*(const uint32_t *)b].start_ns;
    return (x > y) - (x < y);
}

static void tree_build(tree_t *t, const rank_span_t *spans, size_t n)
{
    idmap_t m = {0};
    m.cap = 16;
    while (m.cap < 2 * n + 2)
        m.cap *= 2;
    m.keys = calloc(m.cap, sizeof(uint64_t));
    m.vals = calloc(m.cap, sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) {
        uint64_t h = hash_ids(spans[i].trace_id, spans[i].span_id);
        size_t k = h & (m.cap - 1);
        while (m.vals[k])
            k = (k + 1) & (m.cap - 1);
        m.keys[k] = h;
        m.vals[k] = (uint32_t)i + 1;
    }
    int64_t *parent = malloc((n ? n : 1) * sizeof(int64_t));
    t->first = calloc(n + 2, sizeof(uint32_t));
    t->kids = calloc(n ? n : 1, sizeof(uint32_t));
    t->roots = calloc(n ? n : 1, sizeof(uint32_t));
    t->n_roots = 0;
    for (size_t i = 0; i < n; i++) {
        parent[i] =
            spans[i].parent_span_id ? idmap_find(&m, spans, spans[i].trace_id, spans[i].parent_span_id) : -1;
        if (parent[i] == (int64_t)i) parent[i] = -1;
        if (parent[i] < 0)
            t->roots[t->n_roots++] = (uint32_t)i;
        else
            t->first[parent[i] + 2]++;
    }
    for (size_t i = 0; i < n; i++)
        t->first[i + 2] += t->first[i + 1];
    for (size_t i = 0; i < n; i++)
        if (parent[i] >= 0) t->kids[t->first[parent[i] + 1]++] = (uint32_t)i;
    for (size_t i = 0; i < n; i++)
        qsort_r(t->kids + t->first[i], t->first[i + 1] - t->first[i], sizeof(uint32_t), cmp_kid,
                (void *)spans);
    free(parent);
    free(m.keys);
    free(m.vals);
}

static void tree_free(tree_t *t)
{
    free(t->first);
    free(t->kids);
    free(t->roots);
}

typedef struct {
    const char *service;
    int64_t ns, onset;
    int egress;
    uint64_t rng;
} delay_t;

static int64_t jittered(delay_t *d)
{
    d->rng = d->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int64_t)((double)d->ns * (0.9 + 0.2 * (double)(d->rng >> 11) / (double)(1ULL << 53)));
}

/* Moves span i (and its subtree) `shift` later and returns the delay added inside it. Children are
 * taken as sequential: each starts after the delays of the children before it. */
static int64_t relayout(rank_span_t *s, const tree_t *t, uint32_t i, int64_t shift, delay_t *d)
{
    rank_span_t *sp = &s[i];
    int active = sp->start_ns >= d->onset, into = 0, out_of = 0, remote_child = 0;
    for (uint32_t k = t->first[i]; k < t->first[i + 1]; k++) {
        if (strcmp(s[t->kids[k]].service, sp->service) != 0) remote_child = 1;
        if (strcmp(s[t->kids[k]].service, d->service) == 0 && strcmp(sp->service, d->service) != 0) into = 1;
    }
    /* The service's own calls out: its client spans to other services, and its leaf spans (databases). */
    if (d->egress && strcmp(sp->service, d->service) == 0 && sp->name && sp->name[0] != '/' &&
        sp->parent_span_id && (remote_child || t->first[i] == t->first[i + 1]))
        out_of = 1;
    int64_t inner = active && out_of ? jittered(d) : 0;
    for (uint32_t k = t->first[i]; k < t->first[i + 1]; k++)
        inner += relayout(s, t, t->kids[k], shift + inner, d);
    if (active && into) inner += jittered(d);
    sp->start_ns += shift;
    sp->end_ns += shift + inner;
    return inner;
}

/* Loads minutes "M1,M2,M3" of `day` as one window, minute k moved to start 60 s after minute k-1. */
static int load_stitched(ds_window_t *w, const char *root, const char *day, const char *list)
{
    char buf[256], minute[1][8];
    snprintf(buf, sizeof(buf), "%s", list);
    int64_t start0 = 0;
    int k = 0;
    char *save = NULL;
    for (char *m = strtok_r(buf, ",", &save); m; m = strtok_r(NULL, ",", &save), k++) {
        size_t ns0 = w->n_spans, nl0 = w->n_logs;
        ds_copy_field(minute[0], sizeof(minute[0]), m);
        if (ds_load_minutes(w, root, day, minute, 1)) return -1;
        int64_t lo = INT64_MAX;
        for (size_t i = ns0; i < w->n_spans; i++)
            if (w->spans[i].start_ns < lo) lo = w->spans[i].start_ns;
        if (k == 0) start0 = lo;
        int64_t shift = k == 0 ? 0 : start0 + (int64_t)k * DS_METRIC_ROW_NS - lo;
        for (size_t i = ns0; i < w->n_spans; i++) {
            w->spans[i].start_ns += shift;
            w->spans[i].end_ns += shift;
        }
        for (size_t i = nl0; i < w->n_logs; i++)
            w->logs[i].ts_ns += shift;
    }
    return k > 0 ? 0 : -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Services with at least DELAY_MIN_CALLS calls from other services, sorted by name (caller frees). */
static size_t delay_candidates(const ds_window_t *w, const tree_t *t, const char ***out)
{
    const char **names = calloc(w->n_spans + 1, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < w->n_spans; i++)
        for (uint32_t k = t->first[i]; k < t->first[i + 1]; k++) {
            const char *callee = w->spans[t->kids[k]].service;
            if (strcmp(callee, w->spans[i].service) != 0) names[n++] = callee;
        }
    qsort(names, n, sizeof(char *), cmp_str);
    size_t kept = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(names[j], names[i]) == 0)
            j++;
        if (j - i >= DELAY_MIN_CALLS) names[kept++] = names[i];
        i = j;
    }
    *out = names;
    return kept;
}

static int run_delay_check(const args_t *a, const ds_case_t *k0)
{
    ds_window_t base = {0}, win = {0};
    char broot[4096], bmin[1][8];
    int rc = -1;
    tree_t t = {0};
    const char **cands = NULL;
    rank_span_t *work = NULL;
    ds_copy_field(bmin[0], sizeof(bmin[0]), k0->baseline_minute);
    if (ds_path_fmt(broot, sizeof(broot), "%s/baseline", a->dir) ||
        ds_load_minutes(&base, broot, k0->day, bmin, 1) || load_stitched(&win, a->dir, k0->day, a->stitch)) {
        fprintf(stderr, "delay check: cannot read the baseline or the minutes %s\n", a->stitch);
        goto out;
    }
    tree_build(&t, win.spans, win.n_spans);
    size_t nc = delay_candidates(&win, &t, &cands);
    int64_t t0, t1;
    ds_window_bounds(&win, &t0, &t1);
    work = malloc((win.n_spans ? win.n_spans : 1) * sizeof(rank_span_t));
    static const char *models[] = {"ingress", "egress"};
    for (int model = 0; model < 2; model++) {
        ds_tally_t tally = {0};
        ds_copy_field(tally.name, sizeof(tally.name), models[model]);
        for (size_t c = 0; c < nc; c++) {
            memcpy(work, win.spans, win.n_spans * sizeof(rank_span_t));
            delay_t d = {cands[c], (int64_t)(a->delay_ms * 1e6),
                         t0 + (int64_t)(DELAY_ONSET * (double)(t1 - t0)), model,
                         hash_ids(cands[c], models[model])};
            for (size_t r = 0; r < t.n_roots; r++)
                relayout(work, &t, t.roots[r], 0, &d);
            ds_window_t tw = win;
            tw.spans = work;
            ds_case_t k = *k0;
            snprintf(k.id, sizeof(k.id), "delay-%s", models[model]);
            ds_copy_field(k.service, sizeof(k.service), cands[c]);
            ds_copy_field(k.fault, sizeof(k.fault), "network_delay");
            double ms, cpu, margin;
            int quiet;
            ds_tally_add(&tally, run_case(a, &k, &base, &tw, models[model], &ms, &cpu, &quiet, &margin));
        }
        ds_tally_print(&tally);
    }
    rc = 0;
out:
    free(work);
    free(cands);
    tree_free(&t);
    ds_window_free(&base);
    ds_window_free(&win);
    return rc;
}

int main(int argc, char **argv)
{
    args_t a;
    if (parse_args(argc, argv, &a)) return 2;
    ds_case_t *cases = NULL;
    size_t n_cases = 0;
    if (ds_load_cases(a.dir, &cases, &n_cases)) {
        fprintf(stderr, "cannot read %s/cases.csv\n", a.dir);
        return 1;
    }
    if (a.delay_ms > 0) {
        int drc = n_cases ? run_delay_check(&a, &cases[0]) : 1;
        free(cases);
        return drc ? 1 : 0;
    }
    ds_metrics_t metrics;
    memset(&metrics, 0, sizeof(metrics));
    char loaded_day[16] = "";
    ds_tally_t all = {.name = "all"}, types[DS_MAX_TYPES];
    int n_types = 0, quiet_windows = 0, quiet_said_quiet = 0, fault_said_quiet = 0;
    double total_ms = 0, max_ms = 0, total_cpu = 0, max_cpu = 0;
    double *margins = calloc(n_cases ? n_cases : 1, sizeof(double));
    size_t n_margins = 0;
    int rc = 0;
    for (size_t i = 0; i < n_cases; i++) {
        const ds_case_t *k = &cases[i];
        if (a.only_case && strcmp(a.only_case, k->id) != 0) continue;
        if (strcmp(loaded_day, k->day) != 0) {
            ds_metrics_free(&metrics);
            char dir[4096];
            if (ds_path_fmt(dir, sizeof(dir), "%s/%s/metric", a.dir, k->day) ||
                ds_load_day_metrics(&metrics, dir))
                fprintf(stderr, "warning: some metric files of %s unreadable\n", k->day);
            ds_copy_field(loaded_day, sizeof(loaded_day), k->day);
        }
        ds_window_t base = {0}, target = {0};
        char broot[4096];
        if (ds_path_fmt(broot, sizeof(broot), "%s/baseline", a.dir)) continue;
        char bmin[1][8];
        ds_copy_field(bmin[0], sizeof(bmin[0]), k->baseline_minute);
        if (ds_load_minutes(&base, broot, k->day, bmin, 1)) fprintf(stderr, "%s: no baseline files\n", k->id);
        if (ds_load_minutes(&target, a.dir, k->day, (char(*)[8])k->minutes, k->n_minutes))
            fprintf(stderr, "%s: no target files; ranked empty (counted as a miss)\n", k->id);
        int64_t t0, t1;
        ds_window_bounds(&target, &t0, &t1);
        ds_add_metrics(&base, &metrics, t0 - DS_METRIC_HISTORY_NS, t0);
        ds_add_metrics(&target, &metrics, t0, t1 + DS_METRIC_ROW_NS);
        double ms, cpu, margin;
        int quiet;
        size_t rank = run_case(&a, k, &base, &target, "fault", &ms, &cpu, &quiet, &margin);
        total_cpu += cpu;
        if (cpu > max_cpu) max_cpu = cpu;
        margins[n_margins++] = margin;
        fault_said_quiet += quiet;
        total_ms += ms;
        if (ms > max_ms) max_ms = ms;
        ds_tally_add(&all, rank);
        ds_tally_t *t = ds_tally_for(types, &n_types, k->fault);
        if (t) ds_tally_add(t, rank);
        if (a.quiet) {
            /* The first minute file ends before (or seconds after) the injection: a mostly quiet window. */
            ds_window_t first = {0};
            if (ds_load_minutes(&first, a.dir, k->day, (char(*)[8])k->minutes, 1) == 0) {
                ds_window_bounds(&first, &t0, &t1);
                ds_add_metrics(&first, &metrics, t0, t1 + DS_METRIC_ROW_NS);
                run_case(&a, k, &base, &first, "quiet", &ms, &cpu, &quiet, &margin);
                quiet_windows++;
                quiet_said_quiet += quiet;
            }
            ds_window_free(&first);
        }
        ds_window_free(&base);
        ds_window_free(&target);
    }
    printf("\n");
    ds_tally_print(&all);
    for (int i = 0; i < n_types; i++)
        ds_tally_print(&types[i]);
    if (all.n)
        printf(
            "ranking time per case: wall mean %.1f ms, max %.1f ms; cpu mean %.1f ms, max %.1f ms (loading "
            "excluded)\n",
            total_ms / all.n, max_ms, total_cpu / all.n, max_cpu);
    printf("fault windows judged \"nothing stands out\": %d of %d\n", fault_said_quiet, all.n);
    if (n_margins) {
        qsort(margins, n_margins, sizeof(double), ds_cmp_double);
        printf("margin of the true service over the best other (score points): min %.2f, median %.2f\n",
               margins[0], margins[n_margins / 2]);
    }
    free(margins);
    if (a.quiet)
        printf("first-minute windows judged \"nothing stands out\": %d of %d\n", quiet_said_quiet,
               quiet_windows);
    ds_metrics_free(&metrics);
    free(cases);
    return rc;
}
