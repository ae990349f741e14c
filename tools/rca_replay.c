/* rca-replay: runs the per-trace analysis (pipeline/rca) over every trace of a labelled dataset's
 * minute files (layout of datasets/nezha-train-ticket), whole and then with a share of its spans and
 * logs dropped at random, as a worker sees a trace whose debounce fired before all of it arrived
 * (orphans, missing roots, logs of absent spans). A robustness harness for the sanitizer build: real
 * traces, odd shapes; it checks only that every analysis returns a result with evidence and a report.
 *
 *   rca-replay [--dir DATASET] [--minutes HH_MM,HH_MM,...] [--drop PCT] [--rounds N] [--seed S] */
#include "dataset/dataset.h"
#include "rca.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t idx;
    const char *trace;
} ref_t;

static int by_trace(const void *a, const void *b)
{
    const ref_t *x = a, *y = b;
    int c = strcmp(x->trace, y->trace);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static uint64_t next_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static const char *level_of(int sev)
{
    static const char *names[] = {"INFO", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    return sev >= 0 && sev <= 6 ? names[sev] : "INFO";
}

int main(int argc, char **argv)
{
    const char *dir = "../shared/datasets/nezha-train-ticket", *minutes = NULL;
    int drop = 30, rounds = 3;
    uint64_t seed = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
        else if (!strcmp(argv[i], "--minutes"))
            minutes = argv[i + 1];
        else if (!strcmp(argv[i], "--drop"))
            drop = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds"))
            rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed"))
            seed = strtoull(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr,
                    "usage: %s [--dir DATASET] [--minutes HH_MM,...] [--drop PCT] [--rounds N] [--seed S]\n",
                    argv[0]);
            return 2;
        }
    }
    ds_case_t *cases = NULL;
    size_t n_cases = 0;
    if (ds_load_cases(dir, &cases, &n_cases) || n_cases == 0) {
        fprintf(stderr, "cannot read %s/cases.csv\n", dir);
        return 1;
    }
    /* the first case's minute files unless told otherwise */
    char list[DS_MAX_MINUTES][8];
    int n_list = 0;
    if (minutes) {
        char buf[256], *save = NULL;
        snprintf(buf, sizeof(buf), "%s", minutes);
        for (char *m = strtok_r(buf, ",", &save); m && n_list < DS_MAX_MINUTES;
             m = strtok_r(NULL, ",", &save))
            ds_copy_field(list[n_list++], sizeof(list[0]), m);
    } else {
        for (int i = 0; i < cases[0].n_minutes; i++)
            ds_copy_field(list[n_list++], sizeof(list[0]), cases[0].minutes[i]);
    }
    ds_window_t w = {0};
    if (ds_load_minutes(&w, dir, cases[0].day, list, n_list)) return 1;
    ref_t *spans = calloc(w.n_spans + 1, sizeof(ref_t)), *logs = calloc(w.n_logs + 1, sizeof(ref_t));
    for (size_t i = 0; i < w.n_spans; i++)
        spans[i] = (ref_t){i, w.spans[i].trace_id};
    for (size_t i = 0; i < w.n_logs; i++)
        logs[i] = (ref_t){i, w.logs[i].trace_id ? w.logs[i].trace_id : ""};
    qsort(spans, w.n_spans, sizeof(ref_t), by_trace);
    qsort(logs, w.n_logs, sizeof(ref_t), by_trace);
    json_t *no_attrs = json_object(), *no_events = json_array();
    rca_span_t *ts = calloc(w.n_spans + 1, sizeof(rca_span_t));
    rca_log_t *tl = calloc(w.n_logs + 1, sizeof(rca_log_t));
    size_t analyses = 0, found = 0, li = 0;
    for (size_t i = 0; i < w.n_spans;) {
        size_t j = i;
        while (j < w.n_spans && !strcmp(spans[j].trace, spans[i].trace))
            j++;
        while (li < w.n_logs && strcmp(logs[li].trace, spans[i].trace) < 0)
            li++;
        size_t lj = li;
        while (lj < w.n_logs && !strcmp(logs[lj].trace, spans[i].trace))
            lj++;
        for (int round = 0; round <= rounds; round++) {
            size_t ns = 0, nl = 0;
            for (size_t k = i; k < j; k++) {
                if (round && (int)(next_rand(&seed) % 100) < drop) continue;
                const rank_span_t *s = &w.spans[spans[k].idx];
                ts[ns++] =
                    (rca_span_t){s->span_id, s->parent_span_id, s->service, s->name,  NULL,     s->start_ns,
                                 s->end_ns,  RCA_STATUS_UNSET,  NULL,       no_attrs, no_events};
            }
            for (size_t k = li; k < lj; k++) {
                if (round && (int)(next_rand(&seed) % 100) < drop) continue;
                const rank_log_t *l = &w.logs[logs[k].idx];
                tl[nl++] = (rca_log_t){
                    l->ts_ns,   l->service, level_of(l->severity), l->severity ? l->severity : 3, l->message,
                    l->span_id, NULL};
            }
            rca_trace_t t = {spans[i].trace, ts, ns, tl, nl, NULL, 0, NULL, 0, 0, 0, NULL, 0};
            rca_result_t r;
            rca_analyse(&t, NULL, &r);
            if (r.evidence == NULL || r.report == NULL) {
                fprintf(stderr, "trace %s: no evidence or report\n", spans[i].trace);
                return 1;
            }
            analyses++;
            found += r.found_root;
            rca_result_dispose(&r);
        }
        i = j;
        li = lj;
    }
    printf("%zu analyses of %zu spans and %zu logs (drop %d%%, %d rounds): root cause named in %zu\n",
           analyses, w.n_spans, w.n_logs, drop, rounds, found);
    free(ts);
    free(tl);
    free(spans);
    free(logs);
    json_decref(no_attrs);
    json_decref(no_events);
    ds_window_free(&w);
    free(cases);
    return 0;
}
