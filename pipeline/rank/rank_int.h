/* Internal contract of the ranking module (the .c files of pipeline/rank); callers use rank.h only.
 *
 * A run goes: window.c prepares both windows (interned services and operations, spans linked to
 * parents, self times, logs linked to the operation of their span, time segments), templates.c mines
 * log templates over both windows at once, then each evidence file appends rk_ev_t items to the run
 * (logshift.c, latency.c, metrics.c, changes.c), score.c combines them per service, callgraph.c pushes
 * callers' error symptoms down to the service that explains them, and rank.c copies the ranking into
 * the result arena. Statistics helpers are in stats.c, the indexes in intern.c and arena.c. */
#ifndef PS_RANK_INT_H
#define PS_RANK_INT_H

#include "rank.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define RK_NONE UINT32_MAX

/* ---- Model constants (the only tuned numbers; docs/ranking.md says why each has its value). ---- */

/* Scan of the target window: each statistic compares the part after a cut (the suffix) with the
 * baseline plus the part before it, for cuts at these fractions of the window; the strongest cut
 * wins, and the shift must still hold in the last segment against that cut's reference. */
#define RK_N_SEGMENTS 4
#define RK_N_CUTS 4
static inline double rk_cut_frac(int i)
{
    static const double cuts[RK_N_CUTS] = {0.0, 1.0 / 3.0, 1.0 / 2.0, 2.0 / 3.0};
    return cuts[i];
}
#define RK_DRAIN_SIM 0.5         /* a line joins a template when this share of tokens agree (Drain) */
#define RK_PERSIST_SHARE 0.5     /* last segment's effect must keep this share of the best cut's */
#define RK_W_INFO_NEW 0.3        /* a new or more frequent non-error template: ambiguous, counts less */
#define RK_LAT_FLOOR_MS 1.0      /* added to medians so sub-millisecond jitter is no ratio */
#define RK_Z_FULL 3.0            /* rank-test z at which a latency shift counts fully */
#define RK_MIN_SAMPLES 5         /* per side of a comparison; fewer at the end cannot refute a shift */
#define RK_MIN_HISTORY 5         /* metric points of history */
#define RK_METRIC_REL_FLOOR 0.1  /* metric spread is at least this share of its median */
#define RK_W_SYMPTOM_METRIC 0.25 /* latency/traffic metrics echo faults elsewhere: they only corroborate */
#define RK_CHANGE_SCORE 2.0      /* a change of the service inside the window */
#define RK_FEW_EVENTS 2.0        /* events of a rate shift at which it counts half (rateshift.c) */
#define RK_CORROB 0.5            /* weight of a service's other channels next to its strongest */
#define RK_GAP_OUT_SHARE 0.5     /* share of an outgoing call's gap charged to the caller */
#define RK_REACTION_MS 10        /* a caller's line this soon after a callee's answer reacts to it */
#define RK_PUSH_SHARE 0.5        /* share of a caller's explained symptoms moved to the explaining service */
#define RK_W_CALLS_MORE                                                                                      \
    0.6 /* more calls per invocation: a retry loop, or a loop over more data (as                             \
           ambiguous as a new info line, RK_W_INFO_NEW) */
#define RK_CALLS_USUAL                                                                                       \
    0.5                     /* calls per invocation (before or after) for a call to be part of the           \
                               operation's pattern, not one branch of a routing mix */
#define RK_MIN_GAP_SHARED 2 /* gapped edges an endpoint needs before it is charged for all of them */
#define RK_GAP_EDGE_MIN 1.0 /* an edge counts as gapped from this score on (its gap doubled, full z) */

/* Bounds on what untrusted text can cost. */
#define RK_MSG_MAX 2048
#define RK_MAX_TOKENS 64
#define RK_MAX_CLUSTERS_PER_GROUP 512
#define RK_MAX_TEMPLATES (1u << 20)

/* ---- Arena: bump allocation freed at once; allocation failure aborts (control structures only). */
typedef struct rk_arena rk_arena_t;
rk_arena_t *rk_arena_create(void);
void rk_arena_free(rk_arena_t *a);
/* Zeroed, 16-byte aligned. */
void *rk_arena_alloc(rk_arena_t *a, size_t n);
char *rk_arena_strndup(rk_arena_t *a, const char *s, size_t n);
char *rk_arena_strdup(rk_arena_t *a, const char *s); /* NULL gives NULL */
char *rk_arena_printf(rk_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- Growable array of fixed-size items (aborting allocation). ---- */
typedef struct {
    void *data;
    size_t len, cap, size;
} rk_vec_t;
void rk_vec_init(rk_vec_t *v, size_t item_size);
void *rk_vec_push(rk_vec_t *v); /* a zeroed new item at the end */
void rk_vec_dispose(rk_vec_t *v);
#define RK_AT(v, type, i) (((type *)(v)->data)[i])

/* ---- Interning: strings to dense ids 0..n-1 in first-seen order. Strings are borrowed. ---- */
typedef struct {
    const char **str;
    size_t *len;
    uint32_t n, cap;
    uint32_t *slots; /* id + 1; 0 empty */
    size_t nslots;
} rk_intern_t;
void rk_intern_init(rk_intern_t *t);
void rk_intern_dispose(rk_intern_t *t);
uint32_t rk_intern(rk_intern_t *t, const char *s, size_t n);
uint32_t rk_intern_find(const rk_intern_t *t, const char *s, size_t n); /* RK_NONE when absent */

/* ---- Map from 64-bit keys to 32-bit values. ---- */
typedef struct {
    uint64_t *keys;
    uint32_t *vals;
    uint8_t *used;
    size_t cap, n;
} rk_map_t;
void rk_map_init(rk_map_t *m);
void rk_map_dispose(rk_map_t *m);
/* The value slot of `key`, inserted (value `init`) when absent; *added says which. */
uint32_t *rk_map_put(rk_map_t *m, uint64_t key, uint32_t init, int *added);
const uint32_t *rk_map_get(const rk_map_t *m, uint64_t key);
uint64_t rk_hash_bytes(const void *p, size_t n, uint64_t seed);

/* ---- Cells keyed by a 64-bit hash, kept in insertion order (table.c). ---- */
typedef struct {
    rk_map_t index; /* key -> index into cells */
    rk_vec_t cells;
} rk_table_t;
void rk_table_init(rk_table_t *t, size_t cell_size);
void rk_table_dispose(rk_table_t *t);
/* The cell of `key`, appended zeroed when absent (*added says which). Valid until the next insert. */
void *rk_table_put(rk_table_t *t, uint64_t key, int *added);
void *rk_table_get(const rk_table_t *t, uint64_t key); /* NULL when absent */

/* ---- Statistics (stats.c). ---- */
/* Poisson rate comparison: G statistic (likelihood ratio, 1 df) of k_b events in exposure n_b vs k_t
 * in n_t. 0 when either exposure is 0. */
double rk_g_rates(double kb, double nb, double kt, double nt);
/* The same for shares: kb of nb units hold the event vs kt of nt (at most one per unit): binomial G. Falls
 * back to rk_g_rates() when a count exceeds its units. */
double rk_g_shares(double kb, double nb, double kt, double nt);
/* |rt - rb| / max(rt, rb) in [0, 1]; 0 when both are 0. */
double rk_rel_change(double rb, double rt);
int rk_cmp_double(const void *a, const void *b);
/* Linear-interpolated quantile of sorted values (n > 0). */
double rk_quantile_sorted(const double *v, size_t n, double q);

/* ---- Rate shifts over the scan (rateshift.c): events per exposure, baseline + target segments. ---- */
typedef struct {
    double base, seg[RK_N_SEGMENTS];
} rk_counts_t;

typedef struct {
    double score, effect;  /* sqrt(G) x effect^2 x direction weight; effect = relative change in [0, 1] */
    int up;                /* the suffix's rate is higher */
    double kb, nb, kt, nt; /* events and exposure: reference, suffix */
} rk_shift_t;

/* The strongest shift of k per n over the cuts of the scan, weighted w_up when the rate rises and
 * w_down when it falls, with at least min_exposure on each side; it must still hold in the last
 * segment (RK_PERSIST_SHARE). `shares`: no unit of n holds more than one event (a share, compared
 * binomially), else a rate (Poisson). Returns 1 and fills *out and *cut, or 0 when nothing shifts. */
int rk_rate_shift(const rk_counts_t *k, const rk_counts_t *n, int shares, double w_up, double w_down,
                  double min_exposure, rk_shift_t *out, int *cut);

/* ---- Prepared windows (window.c). ---- */
typedef struct {
    uint32_t svc, op;
    int64_t start_ns, end_ns;
    uint32_t trace;        /* interned trace id */
    int32_t parent;        /* index in the window, -1 for roots and orphans */
    uint32_t remote_svc;   /* service of the first child in another service; RK_NONE */
    double self_ms;        /* duration minus the union of its children's intervals */
    uint8_t seg;           /* time segment (target only) */
    uint8_t error;         /* status error */
    uint8_t own_error;     /* status error and no span of another service below it failed: it began here */
    uint8_t exception;     /* recorded an exception event */
    uint8_t own_exception; /* recorded one, and no span of another service below it failed or recorded one */
    const char *exc_type;  /* the exception's type ("" untyped), borrowed from the input; NULL: none */
    uint32_t entry;        /* the invocation this span belongs to: the topmost span of its service above
                              it (itself for a root or a span called from another service) */
} rk_span_t;

typedef struct {
    uint32_t svc;
    uint32_t op;   /* operation of the log's span; RK_NONE when not linked */
    uint32_t span; /* index of that span in the window; RK_NONE when not linked */
    uint32_t trace;
    uint32_t tmpl;
    int severity;
    int64_t ts_ns;
    const char *msg;
    uint8_t seg;
    uint8_t trace_absent; /* names a trace of which the window holds no span (sampled away): its operation is
                         unknown, and it is no line without a span either */
} rk_log_t;

typedef struct {
    uint32_t svc, name;
    int64_t ts_ns;
    double value;
    uint8_t seg;
} rk_metric_t;

typedef struct {
    rk_span_t *spans;
    size_t n_spans;
    rk_log_t *logs;
    size_t n_logs;
    rk_metric_t *metrics;
    size_t n_metrics;
    int64_t t0, t1;
} rk_window_t;

/* One evidence item of one service. Strings live in the run's result arena. */
typedef struct {
    uint32_t svc;
    rank_channel_t channel;
    rank_evidence_kind_t kind;
    double score;
    uint32_t peer; /* the other service of a gap or push-down; RK_NONE */
    uint32_t op;   /* the operation the item is about; RK_NONE when it concerns the whole service */
    int error_up;  /* a log item saying this service writes more errors (a symptom callers push down) */
    const char *subject, *context, *text;
    double before, after, n_before, n_after;
} rk_ev_t;

typedef struct rk_miner rk_miner_t;

typedef struct {
    const rank_opts_t *opts;
    rk_arena_t *scratch; /* dies with the run */
    rk_arena_t *out;     /* becomes the result's arena */
    rk_intern_t services, ops, metric_names, traces;
    rk_window_t base, target;
    rk_miner_t *miner;
    rk_vec_t ev; /* rk_ev_t */
    /* Filled by score.c. */
    double *channel; /* n_services x RANK_CHANNELS */
    double *score;
} rk_run_t;

/* window.c: prepares both windows; 0, or -1 when the input is unusable (never for valid input). */
int rk_window_prepare(rk_run_t *run, const rank_input_t *baseline, const rank_input_t *target);
void rk_window_dispose(rk_window_t *w);
/* Segment 0..RK_N_SEGMENTS-1 of a target timestamp (segment i starts at cut i). */
uint8_t rk_segment_of(const rk_window_t *w, int64_t ts_ns);

/* templates.c */
rk_miner_t *rk_miner_create(void);
void rk_miner_free(rk_miner_t *m); /* accepts NULL */
/* Mines templates for every log of both windows (sets rk_log_t.tmpl); deterministic whatever the
 * input order. */
void rk_miner_run(rk_miner_t *m, rk_run_t *run);
const char *rk_miner_text(const rk_miner_t *m, uint32_t tmpl);
/* Whether the template's lines are error/warn lines (severity 4 or more); 0 for an unknown id. */
int rk_miner_is_error(const rk_miner_t *m, uint32_t tmpl);
size_t rk_miner_count(const rk_miner_t *m);
/* Masks variable parts of one line into out (cap outlen): numbers, hex ids, UUIDs, quoted values. */
void rk_mask_line(const char *msg, char *out, size_t outlen);

/* Evidence producers: each appends rk_ev_t items to run->ev. */
void rk_logshift_evidence(rk_run_t *run);
void rk_logpairs_evidence(rk_run_t *run); /* logpairs.c: a line that stops following its usual partner */
void rk_latency_evidence(rk_run_t *run);
void rk_metrics_evidence(rk_run_t *run);
void rk_changes_evidence(rk_run_t *run, const rank_input_t *target);
void rk_callpattern_evidence(rk_run_t *run); /* callpattern.c: calls per invocation, own error spans */
/* gapshare.c: after rk_latency_evidence(): an endpoint shared by several gapped edges is charged for
 * them in full, its peers in part (a delay on one pod's interface shows on every edge touching it). */
void rk_gap_share(rk_run_t *run);
/* Appends an item (zeroed but for the fields given) and returns it. The pointer (and any other into
 * run->ev) is valid until the next rk_ev_add(): the array may move. */
rk_ev_t *rk_ev_add(rk_run_t *run, uint32_t svc, rank_channel_t ch, rank_evidence_kind_t kind, double score);

/* score.c: channel scores and combined score per service (before the call graph). */
void rk_score_channels(rk_run_t *run);
/* callgraph.c: pushes callers' symptoms down to abnormal callees (adds RANK_CH_GRAPH and evidence),
 * and fills the graph position of every service in `services`. */
void rk_callgraph_apply(rk_run_t *run, rank_service_t *services);

/* coverage.c: calls per service in both windows (fills n_base_calls, n_target_calls, thin). */
void rk_coverage_count(rk_run_t *run, rank_service_t *services);
/* Totals into *out and, when nothing stands out and some services are too thin to judge, the verdict
 * that says so. After the services are ranked. */
void rk_coverage_verdict(rank_result_t *out);

const char *rk_svc_name(const rk_run_t *run, uint32_t svc);
const char *rk_op_name(const rk_run_t *run, uint32_t op);

#endif
