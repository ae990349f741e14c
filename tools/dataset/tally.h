/* Scoring the answers of a window ranking over a labelled dataset, shared by eval-offline and
 * eval-replay so that both count the same way: the rank of the true service (ties at the worst tied
 * position), top-1 / top-3 / Avg@5 per fault type x position and overall over the faulty cases, the
 * share of fault-free windows answered "nothing stands out" (the right answer there) with the false
 * alarms, and the ranking time; as text and as JSON; and the thresholds a run must reach.
 * Batch-program conventions: out-of-memory exits. */
#ifndef PS_DATASET_TALLY_H
#define PS_DATASET_TALLY_H

#include "dataset.h"

#include <jansson.h>
#include <stdio.h>

#define DS_TOP_KEPT 5 /* services kept per answer: Avg@5 needs five */

/* Hits at top-1..top-5 of a set of cases. */
typedef struct {
    char name[48];
    int n;
    int hit[5];
} ds_tally_t;

/* One ranked window: the case's labels and what the ranking answered. */
typedef struct {
    char id[96], fault[48], position[16], service[128];
    int faulty;        /* 0: a fault-free window, right when `quiet` */
    int failed;        /* not ranked (not sent, or the ranking failed): a miss, and no time */
    int quiet;         /* the answer was "nothing stands out" */
    size_t rank;       /* of the true service; n + 1 when absent; SIZE_MAX when failed */
    double ms, margin; /* ranking time; true service's score minus the best other one */
    size_t n_top;
    char top[DS_TOP_KEPT][128];
    double top_score[DS_TOP_KEPT];
    json_t *ranking; /* the whole answer when the caller keeps it (--json); owned, may be NULL */
} ds_outcome_t;

/* Every outcome of a run. Zero-initialise; free with ds_score_free(). */
typedef struct {
    ds_outcome_t *o;
    size_t n, cap;
} ds_score_t;

/* Figures a run must reach, in percent (0: no requirement). */
typedef struct {
    double top1, top3, quiet;
} ds_require_t;

/* The rank of `service` among names sorted best first, ties at the worst tied position; n + 1 when
 * absent. */
size_t ds_strict_rank_of(const char *const *names, const double *scores, size_t n, const char *service);
int ds_cmp_double(const void *a, const void *b);

void ds_tally_add(ds_tally_t *t, size_t rank);
/* "name  n=..  top-1 ..%  top-3 ..%  Avg@5 ..%" on stdout; nothing for an empty tally. */
void ds_tally_print(const ds_tally_t *t);

/* A failed outcome carrying the case's labels (ds_outcome_rank() then fills the answer). */
void ds_outcome_init(ds_outcome_t *o, const ds_case_t *k);
/* Fills the answer from the services sorted best first (borrowed), the verdict and the time. */
void ds_outcome_rank(ds_outcome_t *o, const char *const *names, const double *scores, size_t n, int quiet,
                     double ms);
/* One line per case: id, fault, position, true service, rank, margin, time, `what` (what was looked
 * at, may be NULL), the first `top` services. */
void ds_outcome_print(const ds_outcome_t *o, FILE *f, size_t top, const char *what);

/* Adds a copy of *o; takes ownership of o->ranking. */
void ds_score_add(ds_score_t *s, ds_outcome_t *o);
/* The table (rows fault types, columns positions and "all"), the faulty cases overall, the fault-free
 * share and false alarms, the margins, the ranking time (`time_what` says what was timed) and one
 * "summary:" line scripts/eval reads. */
void ds_score_print(const ds_score_t *s, FILE *f, const char *time_what);
/* All of it as JSON, with each case (and its ranking when kept) and the requirements; new reference. */
json_t *ds_score_to_json(const ds_score_t *s, const ds_require_t *r, const char *signals);

/* Reads "--require-top1|--require-top3|--require-quiet PCT" at argv[*i], as ds_filter_arg() does. */
int ds_require_arg(ds_require_t *r, int argc, char **argv, int *i);
/* 1 when the run reaches every figure; 0 after printing which it missed. */
int ds_score_meets(const ds_score_t *s, const ds_require_t *r, FILE *f);
void ds_score_free(ds_score_t *s);

#endif
