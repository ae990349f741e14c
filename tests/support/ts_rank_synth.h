/* Test support: a synthetic system for the window ranker's unit tests. A builder holds the rank core's
 * input records in growable arrays, a seeded PRNG (one seed, one sequence of records) and a fixed string
 * arena; checks read a rank result. The scenarios themselves (who calls whom, the faults) stay in each
 * test. Nothing here touches PostgreSQL or Redis; everything fails the test instead of returning an
 * error. */
#ifndef PS_TS_RANK_SYNTH_H
#define PS_TS_RANK_SYNTH_H

#include "rank/rank.h"

#include <stddef.h>
#include <stdint.h>

/* Embedded; the records' strings point into `pool`, which never moves, so they stay valid until
 * ts_synth_dispose(). Tests read the arrays and counts directly. */
typedef struct {
    rank_span_t *spans;
    size_t n_spans, cap_spans;
    rank_log_t *logs;
    size_t n_logs, cap_logs;
    rank_metric_t *metrics;
    size_t n_metrics, cap_metrics;
    char *pool;
    size_t pool_size, pool_used;
    uint64_t rng;
    unsigned next_id; /* the last id ts_synth_id() gave; scenarios also vary their messages with it */
} ts_synth_t;

/* An empty builder whose PRNG starts at `seed`, with a string arena of `pool_bytes` (running out of it
 * fails the test). Free with ts_synth_dispose(). */
void ts_synth_init(ts_synth_t *s, uint64_t seed, size_t pool_bytes);
/* Frees the arrays and the arena (every string handed out dies with it). Accepts NULL. */
void ts_synth_dispose(ts_synth_t *s);

/* The PRNG's next value in [0, 1). */
double ts_synth_unit(ts_synth_t *s);
/* A duration of about `ms` milliseconds, +-20 %, in nanoseconds (draws one ts_synth_unit()). */
int64_t ts_synth_jit(ts_synth_t *s, double ms);

/* printf into the arena. */
const char *ts_synth_fmt(ts_synth_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A new id in the arena: the next number, `width` hex digits (16: a span id, 32: a trace id). */
const char *ts_synth_id(ts_synth_t *s, int width);

/* Adds a span with a new 16-digit id; returns that id. `status` as rank_span_t's (0 unset, 1 ok, 2
 * error). The strings are borrowed: they must outlive the builder (literals or the arena's). */
const char *ts_synth_span(ts_synth_t *s, const char *trace, const char *parent, const char *svc,
                          const char *name, int64_t start, int64_t end, int status);
/* The span added last records an exception event of `type` (OTel's span.recordException). Borrowed. */
void ts_synth_record_exception(ts_synth_t *s, const char *type);
/* Adds a log line (trace and span_id may be NULL). Strings borrowed as above. */
void ts_synth_log(ts_synth_t *s, int64_t ts, const char *svc, int sev, const char *msg, const char *trace,
                  const char *span_id);
/* Adds a metric point. Strings borrowed as above. */
void ts_synth_metric(ts_synth_t *s, int64_t ts, const char *svc, const char *name, double v);

/* The builder's records as a rank input bounded by [start_ns, end_ns] (0, 0: by its records, as
 * rank_input_t says), without change events (the caller may add them). Borrows the builder's arrays. */
rank_input_t ts_synth_input(const ts_synth_t *s, int64_t start_ns, int64_t end_ns);
/* rank_window() with default options, failing the test unless it returns 0; with RANK_DEBUG set in the
 * environment the result is printed to stderr as JSON. Dispose `r` with rank_result_dispose(). */
void ts_synth_rank(const rank_input_t *base, const rank_input_t *target, rank_result_t *r);

/* A test's two windows and the ranking of one against the other. */
typedef struct {
    ts_synth_t base, target;
    rank_result_t r;
} ts_synth_pair_t;

/* Disposes the ranking and both builders (after ts_synth_init() of both and a ranking into `r`). Accepts
 * NULL. */
void ts_synth_pair_dispose(ts_synth_pair_t *p);

/* The service named `svc` in `r`; fails the test when it is missing. Borrowed from `r`. */
const rank_service_t *ts_synth_find(const rank_result_t *r, const char *svc);
/* The service's first evidence item of `kind`, or NULL. Borrowed from the result. */
const rank_evidence_t *ts_synth_evidence(const rank_service_t *s, rank_evidence_kind_t kind);
/* Fails the test unless `svc` is ranked first, strictly ahead of the second, and something stands out. */
void ts_synth_assert_first(const rank_result_t *r, const char *svc);

#endif
