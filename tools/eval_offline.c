/* eval-offline: measures the window ranker (pipeline/rank) on a labelled fault dataset laid out like
 * datasets/nezha-train-ticket: cases.csv, <day>/trace/HH_MM_trace.csv.gz, <day>/log/HH_MM_log.csv.gz,
 * <day>/metric/<pod>_metric.csv.gz and baseline/<day>/{trace,log}/HH_MM_*.csv.gz, read with zcat.
 *
 * For each case: baseline = the case's baseline minute (spans and logs) plus the metric rows of the
 * hour before the target window; target = the case's minute files plus the metric rows from the
 * window's start to one minute after its end (a metric row is stamped at the end of its minute), and
 * the day's change events from the ranker's change lookback before the window to its end (the baseline
 * gets those inside it), as the pipeline loads them. Spans and logs are what the stack would hold in
 * each window's range after scripts/eval replayed the cases so far (tools/dataset/stored.c): minute
 * files overlap in time, so a baseline minute also holds the start of the next case's first file. The
 * labels (root_cause_service, fault_type, position) are only used to score the ranking, never passed
 * to it. A fault-free case (no root_cause_service) is right when the answer is "nothing stands out".
 * Prints each case's rank of the true service (ties counted at the worst tied position), then
 * (tools/dataset/tally.h) top-1 / top-3 / Avg@5 per fault type x position and overall, the fault-free
 * share and false alarms, and the ranking time per window. --json: stdout holds one JSON document with
 * all of it and each case's ranking, the text goes to stderr. --without logs|metrics and
 * --sample-traces SHARE drop signals from baseline and target alike; --require-top1/-top3/-quiet PCT
 * exit 1 below those figures. --quiet also ranks each case's first minute alone (before the injection)
 * to show how often the verdict is "nothing stands out".
 *
 * --delay-check MS M1,M2,M3 is a semi-synthetic check of network delay, which the labelled day lacks:
 * three quiet minutes of the day are made contiguous into one window, and for every service with at
 * least DELAY_MIN_CALLS incoming calls a delay of MS (+-10%) is injected from 40% of the window on,
 * once into the service only (its callers' client spans last longer, "ingress") and once on all its
 * traffic (also its own calls out, "egress"), spans after a delayed call moving later; each is ranked.
 *
 *   eval-offline [--dir DATASET] [--case CASE_ID] [--json] [--quiet] [--top N] [--without logs|metrics]
 *                [--sample-traces SHARE] [--require-top1 PCT] [--require-top3 PCT] [--require-quiet PCT]
 *   eval-offline [--dir DATASET] --delay-check MS HH_MM,HH_MM,HH_MM */
#include "dataset/dataset.h"
#include "dataset/tally.h"
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
    ds_filter_t filter;
    ds_require_t req;
} args_t;

#define USAGE                                                                                                \
    "usage: %s [--dir DATASET] [--case CASE_ID] [--json] [--quiet] [--top N] [--without logs|metrics]\n"     \
    "          [--sample-traces SHARE] [--require-top1 PCT] [--require-top3 PCT] [--require-quiet PCT]\n"    \
    "       %s [--dir DATASET] --delay-check MS HH_MM,HH_MM,HH_MM\n"

static int parse_args(int argc, char **argv, args_t *a)
{
    a->dir = "/work/shared/datasets/nezha-train-ticket";
    a->only_case = NULL;
    a->json = a->quiet = 0;
    a->top = 3;
    a->stitch = NULL;
    a->delay_ms = 0;
    ds_filter_init(&a->filter);
    a->req = (ds_require_t){0};
    for (int i = 1; i < argc; i++) {
        int took = ds_filter_arg(&a->filter, argc, argv, &i);
        if (took == 0) took = ds_require_arg(&a->req, argc, argv, &i);
        if (took < 0) return -1;
        if (took > 0) continue;
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
            fprintf(stderr, USAGE, argv[0], argv[0]);
            return -1;
        }
    }
    return 0;
}

static rank_input_t input_of(const ds_window_t *w)
{
    return (rank_input_t){w->spans,     w->n_spans, w->logs,      w->n_logs, w->metrics,
                          w->n_metrics, w->changes, w->n_changes, w->from,   w->to};
}

/* Ranks one window into *o (which carries the case's labels) and prints its line to `txt`; the whole
 * answer is kept in o->ranking with --json. *cpu_ms: the process CPU time the ranking took. */
static void run_case(const args_t *a, FILE *txt, const ds_window_t *base, const ds_window_t *target,
                     ds_outcome_t *o, double *cpu_ms)
{
    rank_input_t bin = input_of(base), tin = input_of(target);
    rank_result_t r;
    double t = ds_clock_ms(CLOCK_MONOTONIC), cpu = ds_clock_ms(CLOCK_PROCESS_CPUTIME_ID);
    if (rank_window(&bin, &tin, NULL, &r)) {
        fprintf(stderr, "%s: rank_window failed\n", o->id);
        return;
    }
    double ms = ds_clock_ms(CLOCK_MONOTONIC) - t;
    *cpu_ms = ds_clock_ms(CLOCK_PROCESS_CPUTIME_ID) - cpu;
    const char **names = calloc(r.n_services + 1, sizeof(char *));
    double *scores = calloc(r.n_services + 1, sizeof(double));
    if (names == NULL || scores == NULL) exit(2);
    for (size_t i = 0; i < r.n_services; i++) {
        names[i] = r.services[i].service;
        scores[i] = r.services[i].score;
    }
    ds_outcome_rank(o, names, scores, r.n_services, r.nothing_stands_out, ms);
    if (a->json) o->ranking = rank_result_to_json(&r);
    char what[64];
    snprintf(what, sizeof(what), "spans %6zu logs %5zu", target->n_spans, target->n_logs);
    ds_outcome_print(o, txt, a->top, what);
    free(names);
    free(scores);
    rank_result_dispose(&r);
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
            k.faulty = 1;
            ds_outcome_t o;
            ds_outcome_init(&o, &k);
            double cpu = 0;
            run_case(a, stdout, &base, &tw, &o, &cpu);
            ds_tally_add(&tally, o.rank);
            json_decref(o.ranking);
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

/* Loads the day's metric rows and change events when the case is of another day than the last one. */
/* The minute files the replay has sent so far, in its order: each case's baseline minute, then its own. */
typedef struct {
    ds_file_t *f;
    size_t n, cap;
} sent_t;

static int sent_has(const sent_t *s, const char *root, const char *day, const char *minute)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->f[i].root == root && strcmp(s->f[i].day, day) == 0 && strcmp(s->f[i].minute, minute) == 0)
            return 1;
    return 0;
}

static void sent_add(sent_t *s, const char *root, const char *day, const char *minute)
{
    if (sent_has(s, root, day, minute)) return;
    s->f = ds_grow(s->f, &s->cap, s->n + 1, sizeof(ds_file_t));
    ds_file_t *f = &s->f[s->n++];
    f->root = root;
    ds_copy_field(f->day, sizeof(f->day), day);
    ds_copy_field(f->minute, sizeof(f->minute), minute);
    f->minute_ns = ds_minute_ns(day, minute);
}

/* The other files the stack holds by the time case k is ranked, except `own` (already loaded). */
static size_t others(const sent_t *s, const char *own_root, const char *day, char own[][8], int n_own,
                     ds_file_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        int mine = 0;
        for (int j = 0; j < n_own && !mine; j++)
            mine = s->f[i].root == own_root && strcmp(s->f[i].day, day) == 0 &&
                   strcmp(s->f[i].minute, own[j]) == 0;
        if (!mine) out[n++] = s->f[i];
    }
    return n;
}

/* Adds to the baseline and the target what the stack holds in their ranges beyond their own files,
 * after case k's files were sent (the ranges eval-replay asks for: ds_window_span_range). `broot`
 * and `dir` must be the same strings for every case (files are told apart by them). */
static void add_stored(ds_window_t *base, ds_window_t *target, sent_t *sent, const char *dir,
                       const ds_case_t *k, const char *broot, const ds_filter_t *filter)
{
    sent_add(sent, broot, k->day, k->baseline_minute);
    for (int j = 0; j < k->n_minutes; j++)
        sent_add(sent, dir, k->day, k->minutes[j]);
    ds_file_t *other = malloc((sent->n + 1) * sizeof(ds_file_t));
    if (other == NULL) exit(2);
    int64_t from, to;
    char bmin[1][8];
    ds_copy_field(bmin[0], sizeof(bmin[0]), k->baseline_minute);
    size_t n = others(sent, broot, k->day, bmin, 1, other);
    if (ds_window_span_range(base, DS_WINDOW_QUANTILE, &from, &to) == 0)
        ds_as_stored(base, other, n, from, to);
    n = others(sent, dir, k->day, (char(*)[8])k->minutes, k->n_minutes, other);
    if (ds_window_span_range(target, DS_WINDOW_QUANTILE, &from, &to) == 0)
        ds_as_stored(target, other, n, from, to);
    free(other);
    ds_filter_window(base, filter);
    ds_filter_window(target, filter);
}

static void load_day(const args_t *a, const ds_case_t *k, char *loaded_day, size_t cap, ds_metrics_t *metrics,
                     ds_changes_t *changes)
{
    if (strcmp(loaded_day, k->day) == 0) return;
    ds_metrics_free(metrics);
    ds_changes_free(changes);
    char dir[4096];
    if (ds_path_fmt(dir, sizeof(dir), "%s/%s/metric", a->dir, k->day) || ds_load_day_metrics(metrics, dir))
        fprintf(stderr, "warning: some metric files of %s unreadable\n", k->day);
    if (ds_load_day_changes(changes, a->dir, k->day))
        fprintf(stderr, "warning: the change events of %s are unreadable\n", k->day);
    ds_copy_field(loaded_day, cap, k->day);
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
    FILE *txt = a.json ? stderr : stdout; /* with --json, stdout holds only the JSON document */
    sent_t sent = {0};
    ds_metrics_t metrics = {0};
    ds_changes_t changes = {0};
    char loaded_day[16] = "", signals[96];
    ds_filter_describe(&a.filter, signals, sizeof(signals));
    ds_score_t score = {0};
    rank_opts_t opts;
    rank_opts_default(&opts);
    int quiet_windows = 0, quiet_said_quiet = 0;
    double total_cpu = 0, max_cpu = 0;
    fprintf(txt, "dataset %s; signals: %s\n", a.dir, signals);
    char broot[4096];
    if (ds_path_fmt(broot, sizeof(broot), "%s/baseline", a.dir)) return 2;
    for (size_t i = 0; i < n_cases; i++) {
        const ds_case_t *k = &cases[i];
        if (a.only_case && strcmp(a.only_case, k->id) != 0) continue;
        load_day(&a, k, loaded_day, sizeof(loaded_day), &metrics, &changes);
        ds_window_t base = {0}, target = {0};
        char bmin[1][8];
        ds_copy_field(bmin[0], sizeof(bmin[0]), k->baseline_minute);
        if (ds_load_minutes(&base, broot, k->day, bmin, 1)) fprintf(stderr, "%s: no baseline files\n", k->id);
        if (ds_load_minutes(&target, a.dir, k->day, (char(*)[8])k->minutes, k->n_minutes))
            fprintf(stderr, "%s: no target files; ranked empty (counted as a miss)\n", k->id);
        ds_filter_window(&base, &a.filter);
        ds_filter_window(&target, &a.filter);
        add_stored(&base, &target, &sent, a.dir, k, broot, &a.filter);
        int64_t t0, t1, b0, b1;
        ds_window_bounds(&target, &t0, &t1);
        ds_window_bounds(&base, &b0, &b1);
        if (!a.filter.without_metrics) {
            ds_add_metrics(&base, &metrics, t0 - DS_METRIC_HISTORY_NS, t0);
            ds_add_metrics(&target, &metrics, t0, t1 + DS_METRIC_ROW_NS);
        }
        ds_add_changes(&base, &changes, b0, b1 + 1);
        ds_add_changes(&target, &changes, t0 - opts.change_lookback_ns, t1 + 1);
        ds_outcome_t o;
        ds_outcome_init(&o, k);
        double cpu = 0;
        run_case(&a, txt, &base, &target, &o, &cpu);
        total_cpu += cpu;
        if (cpu > max_cpu) max_cpu = cpu;
        ds_score_add(&score, &o);
        if (a.quiet) {
            /* The first minute file ends before (or seconds after) the injection: a mostly quiet window. */
            ds_window_t first = {0};
            if (ds_load_minutes(&first, a.dir, k->day, (char(*)[8])k->minutes, 1) == 0) {
                ds_filter_window(&first, &a.filter);
                ds_window_bounds(&first, &t0, &t1);
                if (!a.filter.without_metrics) ds_add_metrics(&first, &metrics, t0, t1 + DS_METRIC_ROW_NS);
                ds_add_changes(&first, &changes, t0 - opts.change_lookback_ns, t1 + 1);
                ds_outcome_t q;
                ds_outcome_init(&q, k);
                snprintf(q.id, sizeof(q.id), "%.80s/first", k->id);
                run_case(&a, txt, &base, &first, &q, &cpu);
                json_decref(q.ranking);
                quiet_windows++;
                quiet_said_quiet += !q.failed && q.quiet;
            }
            ds_window_free(&first);
        }
        ds_window_free(&base);
        ds_window_free(&target);
    }
    ds_score_print(&score, txt, "rank_window in process, loading excluded");
    if (score.n)
        fprintf(txt, "ranking cpu time per window: mean %.1f ms, max %.1f ms\n", total_cpu / (double)score.n,
                max_cpu);
    if (a.quiet)
        fprintf(txt, "first-minute windows judged \"nothing stands out\": %d of %d\n", quiet_said_quiet,
                quiet_windows);
    int met = ds_score_meets(&score, &a.req, txt);
    if (a.json) {
        json_t *doc = ds_score_to_json(&score, &a.req, signals);
        if (json_dumpf(doc, stdout, JSON_INDENT(1)) || fputc('\n', stdout) == EOF) met = 0;
        json_decref(doc);
    }
    ds_score_free(&score);
    ds_metrics_free(&metrics);
    free(sent.f);
    ds_changes_free(&changes);
    free(cases);
    return met ? 0 : 1;
}
