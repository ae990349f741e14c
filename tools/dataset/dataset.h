/* Reading a labelled fault dataset laid out like datasets/nezha-train-ticket (see its README.md):
 * cases.csv, <day>/trace/HH_MM_trace.csv.gz, <day>/log/HH_MM_log.csv.gz, <day>/metric/<pod>_metric.csv.gz
 * and baseline/<day>/{trace,log}/HH_MM_*.csv.gz, read through zcat, into the ranker's record types.
 * Optional parts the simulated shop (fake-services/shop) writes and Train-Ticket lacks: a trailing
 * StatusCode column of the trace files (0 unset, 1 ok, 2 error), an ExceptionType column (the type of
 * the exception the span recorded: rank_span_t.exception_type; empty or absent: none),
 * <day>/change/changes.csv.gz
 * (TimeUnixNano,Service,Type,Description), a `position` column of cases.csv, and fault-free cases (an
 * empty root_cause_service). Shared by eval-offline (ranks in process) and eval-replay (sends the records
 * through the ingest API); tally.h scores their answers.
 * Batch-program conventions: out-of-memory exits; strings live in the window's or metrics' pool. */
#ifndef PS_DATASET_H
#define PS_DATASET_H

#include "rank/rank.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define DS_MAX_FIELDS 64
#define DS_MAX_MINUTES 8
#define DS_MAX_TYPES 16
#define DS_METRIC_HISTORY_NS (60LL * 60 * 1000000000LL)
#define DS_METRIC_ROW_NS (60LL * 1000000000LL)
/* the body of a window lies between these quantiles of its span starts (ds_window_span_range) */
#define DS_WINDOW_QUANTILE 0.005

/* A string pool: chunks that live until ds_pool_free(). */
typedef struct ds_pool_chunk {
    struct ds_pool_chunk *next;
    size_t used, cap;
    char data[];
} ds_pool_chunk_t;

typedef struct {
    ds_pool_chunk_t *head;
} ds_pool_t;

typedef struct {
    FILE *f;
    char *line;
    size_t cap;
    char *field[DS_MAX_FIELDS];
    int n;
} ds_csv_t;

typedef struct {
    rank_span_t *spans;
    size_t n_spans, cap_spans;
    rank_log_t *logs;
    size_t n_logs, cap_logs;
    rank_metric_t *metrics;
    size_t n_metrics, cap_metrics;
    rank_change_t *changes;
    size_t n_changes, cap_changes;
    int64_t from, to; /* the range the window was asked for (as the stack's request); 0: its records' */
    ds_pool_t pool;
} ds_window_t;

/* Every per-pod metric row of the day, one point per numeric column. */
typedef struct {
    rank_metric_t *pts;
    const char **pods; /* pods[i]: the pod of pts[i] */
    size_t n, cap, cap_pods;
    ds_pool_t pool;
} ds_metrics_t;

/* The change events of a day (<day>/change/changes.csv.gz), sorted by time. */
typedef struct {
    rank_change_t *ev;
    size_t n, cap;
    ds_pool_t pool;
} ds_changes_t;

/* One row of cases.csv. `service` is empty for a fault-free window (then `faulty` is 0: the right
 * answer is "nothing stands out"); `position` is empty when the dataset has no such column. */
typedef struct {
    char id[96], day[16], service[128], fault[48], baseline_minute[8], position[16];
    char minutes[DS_MAX_MINUTES][8];
    int n_minutes, faulty;
} ds_case_t;

/* What the evaluation drops from what it ranks (or sends), the same way in baseline and target, to
 * measure the ranking on systems that emit less: no logs, no metrics, a share of the traces (kept by
 * a hash of the trace id, so a trace is kept whole or not at all, as head sampling does; logs are never
 * sampled, as in real systems). */
typedef struct {
    int without_logs, without_metrics;
    double trace_share; /* (0, 1]; 1 keeps every trace */
} ds_filter_t;

void *ds_grow(void *p, size_t *cap, size_t need, size_t item);
const char *ds_pool_dup(ds_pool_t *p, const char *s, size_t n);
void ds_pool_free(ds_pool_t *p);
/* Formats a path into out; -1 when it does not fit (the caller skips that file). */
int ds_path_fmt(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ds_copy_field(char *dst, size_t cap, const char *src);

/* CSV through zcat (gz=1) or cat: ds_csv_next() returns the field count of the next record, -1 at the
 * end; fields point into the record until the next call. */
int ds_csv_open(ds_csv_t *c, const char *path, int gz);
int ds_csv_next(ds_csv_t *c);
void ds_csv_close(ds_csv_t *c);
int ds_col_of(const ds_csv_t *c, const char *name);

/* "ts-basic-service-5dc8d4f9fd-llznp" -> "ts-basic-service" (pooled copy). */
const char *ds_service_of_pod(ds_pool_t *p, const char *pod);
/* The Docker JSON line's "log" text "16:42:22.382 INFO  t.s.Class#532 message": severity 1..6 (0 when
 * the line has another shape) and where the message starts (the logger). */
void ds_parse_log_text(const char *text, int *sev, const char **msg);
int64_t ds_log_time(const char *unix_ns, const char *stamp);

/* One minute file of a dataset (its trace and log parts) as the replay sends it. */
typedef struct {
    const char *root; /* the dataset, or its baseline/ folder */
    char day[16], minute[8];
    int64_t minute_ns; /* the file's name as a time of its day (UTC) */
} ds_file_t;

/* "2023-01-29", "10_45" -> that minute in ns since the epoch (UTC); -1 when malformed. */
int64_t ds_minute_ns(const char *day, const char *minute);
/* Makes w what the stack holds for [from, to) once w's own files and `files` were sent: its spans and
 * logs in the range, plus those of `files` in the range (only files whose minute is near it are read),
 * one copy of a record (as the ingest keeps); w->from/to become the range (tools/dataset/stored.c). */
void ds_as_stored(ds_window_t *w, const ds_file_t *files, size_t n_files, int64_t from, int64_t to);
void ds_window_free(ds_window_t *w);
int ds_load_spans(ds_window_t *w, const char *path);
int ds_load_logs(ds_window_t *w, const char *path);
/* Loads the trace and log files of the given minutes; a missing file is reported and skipped; -1 only
 * when no file could be read. */
int ds_load_minutes(ds_window_t *w, const char *root, const char *day, char minutes[][8], int n);
/* [from, to): the q and 1 - q quantiles of the window's span start times (a few spans of this kind of
 * data carry broken clocks), widened to every span start and log time within 5% of that range's
 * length of it; -1 when the window has no spans. */
int ds_window_span_range(const ds_window_t *w, double q, int64_t *from, int64_t *to);
/* The window's first and last span start. */
void ds_window_bounds(const ds_window_t *w, int64_t *t0, int64_t *t1);

/* Every per-pod metric row of a day (<day>/metric/<pod>_metric.csv.gz), one point per numeric column. */
int ds_load_day_metrics(ds_metrics_t *d, const char *dir);
void ds_metrics_free(ds_metrics_t *d);
/* Appends the points of d with from <= ts < to to the window. */
void ds_add_metrics(ds_window_t *w, const ds_metrics_t *d, int64_t from, int64_t to);

int ds_load_cases(const char *dir, ds_case_t **out, size_t *n_out);

/* The day's change events from <day>/change/changes.csv.gz under `root`; a day without the file has
 * none (returns 0); -1 when the file exists but has no such header. */
int ds_load_day_changes(ds_changes_t *c, const char *root, const char *day);
void ds_changes_free(ds_changes_t *c);
/* Appends the events with from <= ts < to to the window (strings stay in c's pool). */
void ds_add_changes(ds_window_t *w, const ds_changes_t *c, int64_t from, int64_t to);

/* Filters: every trace, logs and metrics kept. ds_filter_arg() reads "--without logs|metrics" and
 * "--sample-traces SHARE" at argv[*i]: 1 (and *i past the value) when it took them, 0 when argv[*i]
 * is another option, -1 with a message on stderr for a bad value. */
void ds_filter_init(ds_filter_t *f);
int ds_filter_arg(ds_filter_t *f, int argc, char **argv, int *i);
/* Whether the trace is kept: a hash of its id against the share (the same answer every time). */
int ds_filter_keeps_trace(const ds_filter_t *f, const char *trace_id);
/* Drops the window's spans of dropped traces, and its logs or metrics when those are dropped. */
void ds_filter_window(ds_window_t *w, const ds_filter_t *f);
/* "logs dropped, 10% of traces" or "all signals" into out. */
void ds_filter_describe(const ds_filter_t *f, char *out, size_t cap);

double ds_clock_ms(clockid_t id);

#endif
