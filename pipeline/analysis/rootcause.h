/* The root-cause span of a trace, pure: hard signals only.
 *
 * A span has failed when its status is ERROR, or when its status is unset and it recorded an
 * exception event or has error logs tied to it; a span with status OK has not failed, whatever it
 * logged (it handled the error). A failure propagates up through spans that are not OK: an
 * ancestor that returned OK swallowed it. For an erroring trace:
 *   1. the failure that surfaced is the topmost failing span (entry tree first, then a failure that
 *      reached the entry unswallowed, then shallowest, earliest);
 *   2. its candidates are the failing spans below it, reached through non-OK spans, that no failing
 *      child explains;
 *   3. among candidates: with an exception first, then deepest, then earliest (retried calls thus
 *      resolve to the first attempt's cause; the attempts are counted);
 *   4. a candidate that timed out ("timeout", "timed out", "deadline exceeded") while a callee was
 *      still running names that slow callee instead (descending while a child was still running at
 *      the moment of the timeout), and records the span that timed out.
 * For a trace without failures: the span on the critical path whose self time exceeds the usual
 * duration of its operation (baseline p50; 0 without one) by the most, when that excess is a clear
 * share of the trace's duration; otherwise no root cause (inconclusive).
 *
 * Then the propagation path (the root-cause span up to its root) and the cited logs: error logs of
 * the root-cause span, then of the path, then warnings of both, then other error logs, then the root
 * cause's other logs, at most max_cited_logs. */
#ifndef PS_ANALYSIS_ROOTCAUSE_H
#define PS_ANALYSIS_ROOTCAUSE_H

#include "loglink.h"
#include "spantree.h"

typedef struct {
    const char *service, *operation;
    double p50_ms; /* usual duration of the operation's spans */
} analysis_baseline_t;

typedef struct {
    const analysis_baseline_t *baselines; /* may be NULL; any order */
    size_t nbaselines;
    size_t max_cited_logs; /* 0: 20 */
    double slow_min_share; /* a slow span's excess must be this share of the trace; 0: 0.3 */
} analysis_rc_opts_t;

typedef enum { ANALYSIS_RC_NONE = 0, ANALYSIS_RC_ERROR, ANALYSIS_RC_SLOW } analysis_rc_kind_t;

enum {
    ANALYSIS_RC_FAILED = 1,    /* the span failed (see above) */
    ANALYSIS_RC_EXCEPTION = 2, /* it recorded an exception event or has an error log with a stack trace */
    ANALYSIS_RC_OK = 4         /* its status is OK */
};

typedef struct {
    analysis_rc_kind_t kind;
    int node;       /* the root-cause span; -1 when none */
    int top;        /* ERROR: the topmost failing span of its chain (where the failure surfaced) */
    int surfaced;   /* ERROR: no OK span between `top` and its root */
    int timeout_in; /* the span that timed out waiting for `node` (a slow callee), else -1 */
    int *path;      /* node, its parent, ... its root */
    size_t npath;
    size_t ncandidates;
    int retry_node; /* the first span on the path called more than once by its parent, else -1 */
    int attempts;   /* calls of that operation by that parent */
    int failed_attempts;
    int *others; /* other failures: topmost failing spans besides `top`, by start */
    size_t nothers;
    unsigned char *flags; /* per node: ANALYSIS_RC_* */
    int *error_logs;      /* per node: error logs tied to it */
    size_t nfailed;
    int64_t self_ns;    /* SLOW: the span's self time */
    int64_t excess_ns;  /* SLOW: self time over the baseline */
    double baseline_ms; /* SLOW: the operation's p50, -1 when unknown */
    int *cited;         /* indexes into analysis_logs_t.logs, most relevant first */
    size_t ncited;
} analysis_rc_t;

/* Finds the root cause. Returns 0 (any tree; kind NONE when there is none). Dispose with
 * analysis_rc_dispose(). Borrows nothing after it returns. */
int analysis_rootcause_find(const analysis_tree_t *t, const analysis_logs_t *logs,
                            const analysis_rc_opts_t *opts, analysis_rc_t *out);
void analysis_rc_dispose(analysis_rc_t *rc);

/* The baseline p50 in ms of (service, operation), or -1. */
double analysis_baseline_p50(const analysis_rc_opts_t *opts, const char *service, const char *operation);

#endif
