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
#include "rank/rank.h"
#include "rfc3339.h"

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

#define MAX_FIELDS 64
#define MAX_MINUTES 8
#define METRIC_HISTORY_NS (60LL * 60 * 1000000000LL)
#define METRIC_ROW_NS (60LL * 1000000000LL)

/* ---- Small growable helpers (the tool aborts on out-of-memory: it is a batch program). ---- */

static void *grow(void *p, size_t *cap, size_t need, size_t item)
{
    if (need <= *cap) return p;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    void *q = realloc(p, c * item);
    if (q == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    *cap = c;
    return q;
}

/* A string pool: chunks that live until pool_free(). */
typedef struct pool_chunk {
    struct pool_chunk *next;
    size_t used, cap;
    char data[];
} pool_chunk_t;

typedef struct {
    pool_chunk_t *head;
} pool_t;

static const char *pool_dup(pool_t *p, const char *s, size_t n)
{
    if (p->head == NULL || p->head->cap - p->head->used < n + 1) {
        size_t cap = n + 1 > (1 << 20) ? n + 1 : (1 << 20);
        pool_chunk_t *c = malloc(sizeof(pool_chunk_t) + cap);
        if (c == NULL) exit(2);
        c->next = p->head;
        c->used = 0;
        c->cap = cap;
        p->head = c;
    }
    char *d = p->head->data + p->head->used;
    memcpy(d, s, n);
    d[n] = '\0';
    p->head->used += n + 1;
    return d;
}

static void pool_free(pool_t *p)
{
    for (pool_chunk_t *c = p->head, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    p->head = NULL;
}

/* Formats a path into out; -1 when it does not fit (the caller skips that file). */
static int path_fmt(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int path_fmt(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* ---- CSV through zcat ---- */

typedef struct {
    FILE *f;
    char *line;
    size_t cap;
    char *field[MAX_FIELDS];
    int n;
} csv_t;

static int csv_open(csv_t *c, const char *path, int gz)
{
    memset(c, 0, sizeof(*c));
    if (strchr(path, '\'')) return -1;
    char cmd[4200];
    if (path_fmt(cmd, sizeof(cmd), "%s '%s' 2>/dev/null", gz ? "zcat" : "cat", path)) return -1;
    c->f = popen(cmd, "r");
    return c->f ? 0 : -1;
}

static void csv_close(csv_t *c)
{
    if (c->f) pclose(c->f);
    free(c->line);
    memset(c, 0, sizeof(*c));
}

/* Reads one record (quoted fields may hold commas, "" and newlines); fields point into c->line.
 * Returns the field count, or -1 at the end. */
static int csv_next(csv_t *c)
{
    size_t len = 0;
    int in_quotes = 0;
    for (;;) {
        int ch = getc(c->f);
        if (ch == EOF) {
            if (len == 0) return -1;
            break;
        }
        if (ch == '"') in_quotes = !in_quotes;
        if (ch == '\n' && !in_quotes) break;
        c->line = grow(c->line, &c->cap, len + 2, 1);
        c->line[len++] = (char)ch;
    }
    if (len && c->line[len - 1] == '\r') len--;
    c->line = grow(c->line, &c->cap, len + 1, 1);
    c->line[len] = '\0';
    /* Split in place, unquoting. */
    c->n = 0;
    char *r = c->line, *w = c->line;
    while (c->n < MAX_FIELDS) {
        c->field[c->n++] = w;
        if (*r == '"') {
            r++;
            for (;;) {
                if (*r == '\0') break;
                if (*r == '"' && r[1] == '"') {
                    *w++ = '"';
                    r += 2;
                } else if (*r == '"') {
                    r++;
                    break;
                } else {
                    *w++ = *r++;
                }
            }
        }
        while (*r && *r != ',')
            *w++ = *r++;
        int more = *r == ',';
        *w++ = '\0';
        if (!more) break;
        r++;
    }
    return c->n;
}

static int col_of(const csv_t *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->field[i], name) == 0) return i;
    return -1;
}

/* ---- Dataset records ---- */

/* "ts-basic-service-5dc8d4f9fd-llznp" -> "ts-basic-service". */
static const char *service_of_pod(pool_t *p, const char *pod)
{
    const char *last = strrchr(pod, '-');
    if (last == NULL) return pool_dup(p, pod, strlen(pod));
    const char *prev = last;
    while (prev > pod && *(prev - 1) != '-')
        prev--;
    if (prev <= pod) return pool_dup(p, pod, strlen(pod));
    return pool_dup(p, pod, (size_t)(prev - 1 - pod));
}

typedef struct {
    rank_span_t *spans;
    size_t n_spans, cap_spans;
    rank_log_t *logs;
    size_t n_logs, cap_logs;
    rank_metric_t *metrics;
    size_t n_metrics, cap_metrics;
    pool_t pool;
} window_t;

static void window_free(window_t *w)
{
    free(w->spans);
    free(w->logs);
    free(w->metrics);
    pool_free(&w->pool);
    memset(w, 0, sizeof(*w));
}

static int load_spans(window_t *w, const char *path)
{
    csv_t c;
    if (csv_open(&c, path, 1)) return -1;
    int rc = -1;
    if (csv_next(&c) < 0) goto out;
    int ti = col_of(&c, "TraceID"), si = col_of(&c, "SpanID"), pi = col_of(&c, "ParentID"),
        po = col_of(&c, "PodName"), op = col_of(&c, "OperationName"), st = col_of(&c, "StartTimeUnixNano"),
        en = col_of(&c, "EndTimeUnixNano");
    if (ti < 0 || si < 0 || pi < 0 || po < 0 || op < 0 || st < 0 || en < 0) goto out;
    int need = en > st ? en : st;
    while (csv_next(&c) >= 0) {
        if (c.n <= need) continue;
        w->spans = grow(w->spans, &w->cap_spans, w->n_spans + 1, sizeof(rank_span_t));
        rank_span_t *s = &w->spans[w->n_spans++];
        s->trace_id = pool_dup(&w->pool, c.field[ti], strlen(c.field[ti]));
        s->span_id = pool_dup(&w->pool, c.field[si], strlen(c.field[si]));
        s->parent_span_id =
            strcmp(c.field[pi], "root") == 0 ? NULL : pool_dup(&w->pool, c.field[pi], strlen(c.field[pi]));
        s->service = service_of_pod(&w->pool, c.field[po]);
        s->name = pool_dup(&w->pool, c.field[op], strlen(c.field[op]));
        s->start_ns = strtoll(c.field[st], NULL, 10);
        s->end_ns = strtoll(c.field[en], NULL, 10);
    }
    rc = 0;
out:
    csv_close(&c);
    return rc;
}

static int severity_of(const char *level, size_t n)
{
    static const struct {
        const char *name;
        int sev;
    } levels[] = {{"TRACE", 1},   {"DEBUG", 2}, {"INFO", 3}, {"WARN", 4},
                  {"WARNING", 4}, {"ERROR", 5}, {"FATAL", 6}};
    for (size_t i = 0; i < sizeof(levels) / sizeof(*levels); i++)
        if (strlen(levels[i].name) == n && strncasecmp(level, levels[i].name, n) == 0) return levels[i].sev;
    return 0;
}

/* The Docker JSON line's "log" text: "16:42:22.382 INFO  t.s.Class#532 message...". The level gives the
 * severity, the message starts at the logger. Lines in another shape keep severity 0 and all text. */
static void parse_log_text(const char *text, int *sev, const char **msg)
{
    const char *p = text;
    while (*p == ' ')
        p++;
    const char *clock = p;
    while (*p && *p != ' ')
        p++;
    int has_clock = memchr(clock, ':', (size_t)(p - clock)) != NULL;
    while (*p == ' ')
        p++;
    const char *lv = p;
    while (*p && *p != ' ')
        p++;
    int s = has_clock ? severity_of(lv, (size_t)(p - lv)) : 0;
    while (*p == ' ')
        p++;
    *sev = s;
    *msg = s ? p : text;
}

/* TimeUnixNano, or, when it is out of range (a few rows carry garbage there), the Timestamp column
 * (UTC, written without an offset in those rows). */
static int64_t log_time(const char *unix_ns, const char *stamp)
{
    int64_t ns = strtoll(unix_ns, NULL, 10);
    if ((ns >= RFC3339_MIN_NS && ns < RFC3339_MAX_NS) || stamp == NULL) return ns;
    char buf[64];
    size_t n = strlen(stamp);
    int has_offset = n && (stamp[n - 1] == 'Z' || strchr(stamp + (n > 6 ? n - 6 : 0), '+'));
    if (path_fmt(buf, sizeof(buf), "%s%s", stamp, has_offset ? "" : "Z")) return ns;
    int64_t parsed;
    const char *why;
    return rfc3339_parse(buf, strlen(buf), &parsed, &why) == 0 ? parsed : ns;
}

static int load_logs(window_t *w, const char *path)
{
    csv_t c;
    if (csv_open(&c, path, 1)) return -1;
    int rc = -1;
    if (csv_next(&c) < 0) goto out;
    int ts = col_of(&c, "TimeUnixNano"), po = col_of(&c, "PodName"), ti = col_of(&c, "TraceID"),
        si = col_of(&c, "SpanID"), lg = col_of(&c, "Log"), stamp = col_of(&c, "Timestamp");
    if (ts < 0 || po < 0 || ti < 0 || si < 0 || lg < 0) goto out;
    while (csv_next(&c) >= 0) {
        if (c.n <= lg) continue;
        json_error_t err;
        json_t *doc = json_loads(c.field[lg], JSON_DISABLE_EOF_CHECK, &err);
        const char *text = doc ? json_string_value(json_object_get(doc, "log")) : NULL;
        if (text == NULL) text = c.field[lg];
        int sev;
        const char *msg;
        parse_log_text(text, &sev, &msg);
        size_t mlen = strcspn(msg, "\n");
        w->logs = grow(w->logs, &w->cap_logs, w->n_logs + 1, sizeof(rank_log_t));
        rank_log_t *l = &w->logs[w->n_logs++];
        l->ts_ns = log_time(c.field[ts], stamp >= 0 ? c.field[stamp] : NULL);
        l->service = service_of_pod(&w->pool, c.field[po]);
        l->severity = sev;
        l->message = pool_dup(&w->pool, msg, mlen);
        l->trace_id = pool_dup(&w->pool, c.field[ti], strlen(c.field[ti]));
        l->span_id = pool_dup(&w->pool, c.field[si], strlen(c.field[si]));
        json_decref(doc);
    }
    rc = 0;
out:
    csv_close(&c);
    return rc;
}

/* Every per-pod metric row of the day, one point per numeric column. */
typedef struct {
    rank_metric_t *pts;
    size_t n, cap;
    pool_t pool;
} day_metrics_t;

static int load_metric_file(day_metrics_t *d, const char *path)
{
    csv_t c;
    if (csv_open(&c, path, 1)) return -1;
    int rc = -1;
    if (csv_next(&c) < 0) goto out;
    int ts = col_of(&c, "TimeStamp"), po = col_of(&c, "PodName");
    if (ts < 0 || po < 0) goto out;
    int ncol = c.n;
    const char *names[MAX_FIELDS];
    for (int i = 0; i < ncol; i++)
        names[i] = pool_dup(&d->pool, c.field[i], strlen(c.field[i]));
    while (csv_next(&c) >= 0) {
        if (c.n < ncol) continue;
        int64_t t = strtoll(c.field[ts], NULL, 10) * 1000000000LL;
        const char *svc = service_of_pod(&d->pool, c.field[po]);
        for (int i = 0; i < ncol; i++) {
            if (i == ts || i == po || strcmp(names[i], "Time") == 0) continue;
            char *end;
            double v = strtod(c.field[i], &end);
            if (end == c.field[i] || !isfinite(v)) continue;
            d->pts = grow(d->pts, &d->cap, d->n + 1, sizeof(rank_metric_t));
            d->pts[d->n++] = (rank_metric_t){t, svc, names[i], v};
        }
    }
    rc = 0;
out:
    csv_close(&c);
    return rc;
}

static int load_day_metrics(day_metrics_t *d, const char *dir)
{
    DIR *dh = opendir(dir);
    if (dh == NULL) return -1;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    while ((e = readdir(dh))) {
        if (strstr(e->d_name, "_metric.csv.gz") == NULL) continue; /* per-pod files only */
        names = grow(names, &cap, n + 1, sizeof(char *));
        names[n++] = strdup(e->d_name);
    }
    closedir(dh);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        if (path_fmt(path, sizeof(path), "%s/%s", dir, names[i]) || load_metric_file(d, path)) rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

/* ---- Cases ---- */

typedef struct {
    char id[96], day[16], service[128], fault[48], baseline_minute[8];
    char minutes[MAX_MINUTES][8];
    int n_minutes;
} case_t;

static void copy_field(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

static int load_cases(const char *dir, case_t **out, size_t *n_out)
{
    char path[4096];
    csv_t c;
    if (path_fmt(path, sizeof(path), "%s/cases.csv", dir) || csv_open(&c, path, 0)) return -1;
    int rc = -1;
    case_t *cases = NULL;
    size_t n = 0, cap = 0;
    if (csv_next(&c) < 0) goto out;
    int id = col_of(&c, "case_id"), day = col_of(&c, "day"), svc = col_of(&c, "root_cause_service"),
        ft = col_of(&c, "fault_type"), mf = col_of(&c, "minute_files"), bm = col_of(&c, "baseline_minute");
    if (id < 0 || day < 0 || svc < 0 || ft < 0 || mf < 0 || bm < 0) goto out;
    while (csv_next(&c) >= 0) {
        if (c.n <= id || c.n <= mf || c.n <= bm) continue;
        cases = grow(cases, &cap, n + 1, sizeof(case_t));
        case_t *k = &cases[n++];
        memset(k, 0, sizeof(*k));
        copy_field(k->id, sizeof(k->id), c.field[id]);
        copy_field(k->day, sizeof(k->day), c.field[day]);
        copy_field(k->service, sizeof(k->service), c.field[svc]);
        copy_field(k->fault, sizeof(k->fault), c.field[ft]);
        copy_field(k->baseline_minute, sizeof(k->baseline_minute), c.field[bm]);
        char *save = NULL;
        for (char *m = strtok_r(c.field[mf], ";", &save); m && k->n_minutes < MAX_MINUTES;
             m = strtok_r(NULL, ";", &save))
            copy_field(k->minutes[k->n_minutes++], sizeof(k->minutes[0]), m);
    }
    rc = 0;
out:
    csv_close(&c);
    if (rc == 0) {
        *out = cases;
        *n_out = n;
    } else {
        free(cases);
    }
    return rc;
}

/* The window's time range for choosing metric rows: its spans' start times. */
static void window_bounds(const window_t *w, int64_t *t0, int64_t *t1)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < w->n_spans; i++) {
        if (w->spans[i].start_ns < lo) lo = w->spans[i].start_ns;
        if (w->spans[i].start_ns > hi) hi = w->spans[i].start_ns;
    }
    *t0 = lo;
    *t1 = hi;
}

static void add_metrics(window_t *w, const day_metrics_t *d, int64_t from, int64_t to)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->pts[i].ts_ns < from || d->pts[i].ts_ns >= to) continue;
        w->metrics = grow(w->metrics, &w->cap_metrics, w->n_metrics + 1, sizeof(rank_metric_t));
        w->metrics[w->n_metrics++] = d->pts[i];
    }
}

/* Loads the trace and log files of the given minutes. A missing or unreadable file is reported and
 * skipped (the window is ranked with what there is); -1 only when no file could be read. */
static int load_minutes(window_t *w, const char *root, const char *day, char minutes[][8], int n)
{
    int loaded = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        if (path_fmt(path, sizeof(path), "%s/%s/trace/%s_trace.csv.gz", root, day, minutes[i]) == 0 &&
            load_spans(w, path) == 0)
            loaded++;
        else
            fprintf(stderr, "warning: cannot read %s\n", path);
        if (path_fmt(path, sizeof(path), "%s/%s/log/%s_log.csv.gz", root, day, minutes[i]) == 0 &&
            load_logs(w, path) == 0)
            loaded++;
        else
            fprintf(stderr, "warning: cannot read %s\n", path);
    }
    return loaded ? 0 : -1;
}

static double clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Rank of `service`, ties at the worst tied position; n + 1 when absent. */
static size_t strict_rank(const rank_result_t *r, const char *service)
{
    for (size_t i = 0; i < r->n_services; i++) {
        if (strcmp(r->services[i].service, service) != 0) continue;
        size_t k = i;
        while (k + 1 < r->n_services && r->services[k + 1].score == r->services[i].score)
            k++;
        return k + 1;
    }
    return r->n_services + 1;
}

/* ---- Scoring ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define MAX_TYPES 16

typedef struct {
    char name[48];
    int n;
    int hit[5]; /* top-1..top-5 */
} tally_t;

static void tally_add(tally_t *t, size_t rank)
{
    t->n++;
    for (int k = 0; k < 5; k++)
        if (rank <= (size_t)k + 1) t->hit[k]++;
}

static void tally_print(const tally_t *t)
{
    if (t->n == 0) return;
    double avg5 = 0;
    for (int k = 0; k < 5; k++)
        avg5 += (double)t->hit[k] / t->n;
    printf("%-16s n=%-3d top-1 %5.1f%%  top-3 %5.1f%%  Avg@5 %5.1f%%\n", t->name, t->n,
           100.0 * t->hit[0] / t->n, 100.0 * t->hit[2] / t->n, 100.0 * avg5 / 5);
}

static tally_t *tally_for(tally_t *types, int *n_types, const char *name)
{
    for (int i = 0; i < *n_types; i++)
        if (strcmp(types[i].name, name) == 0) return &types[i];
    if (*n_types == MAX_TYPES) return NULL;
    tally_t *t = &types[(*n_types)++];
    memset(t, 0, sizeof(*t));
    copy_field(t->name, sizeof(t->name), name);
    return t;
}

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
static size_t run_case(const args_t *a, const case_t *k, const window_t *base, const window_t *target,
                       const char *label, double *ms_out, double *cpu_out, int *quiet_out, double *margin_out)
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
    double t = clock_ms(CLOCK_MONOTONIC), cpu = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
    if (rank_window(&bin, &tin, NULL, &r)) {
        fprintf(stderr, "%s: rank_window failed\n", k->id);
        return 0;
    }
    *ms_out = clock_ms(CLOCK_MONOTONIC) - t;
    *cpu_out = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - cpu;
    size_t rank = strict_rank(&r, k->service);
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
static int load_stitched(window_t *w, const char *root, const char *day, const char *list)
{
    char buf[256], minute[1][8];
    snprintf(buf, sizeof(buf), "%s", list);
    int64_t start0 = 0;
    int k = 0;
    char *save = NULL;
    for (char *m = strtok_r(buf, ",", &save); m; m = strtok_r(NULL, ",", &save), k++) {
        size_t ns0 = w->n_spans, nl0 = w->n_logs;
        copy_field(minute[0], sizeof(minute[0]), m);
        if (load_minutes(w, root, day, minute, 1)) return -1;
        int64_t lo = INT64_MAX;
        for (size_t i = ns0; i < w->n_spans; i++)
            if (w->spans[i].start_ns < lo) lo = w->spans[i].start_ns;
        if (k == 0) start0 = lo;
        int64_t shift = k == 0 ? 0 : start0 + (int64_t)k * METRIC_ROW_NS - lo;
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
static size_t delay_candidates(const window_t *w, const tree_t *t, const char ***out)
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

static int run_delay_check(const args_t *a, const case_t *k0)
{
    window_t base = {0}, win = {0};
    char broot[4096], bmin[1][8];
    int rc = -1;
    tree_t t = {0};
    const char **cands = NULL;
    rank_span_t *work = NULL;
    copy_field(bmin[0], sizeof(bmin[0]), k0->baseline_minute);
    if (path_fmt(broot, sizeof(broot), "%s/baseline", a->dir) ||
        load_minutes(&base, broot, k0->day, bmin, 1) || load_stitched(&win, a->dir, k0->day, a->stitch)) {
        fprintf(stderr, "delay check: cannot read the baseline or the minutes %s\n", a->stitch);
        goto out;
    }
    tree_build(&t, win.spans, win.n_spans);
    size_t nc = delay_candidates(&win, &t, &cands);
    int64_t t0, t1;
    window_bounds(&win, &t0, &t1);
    work = malloc((win.n_spans ? win.n_spans : 1) * sizeof(rank_span_t));
    static const char *models[] = {"ingress", "egress"};
    for (int model = 0; model < 2; model++) {
        tally_t tally = {0};
        copy_field(tally.name, sizeof(tally.name), models[model]);
        for (size_t c = 0; c < nc; c++) {
            memcpy(work, win.spans, win.n_spans * sizeof(rank_span_t));
            delay_t d = {cands[c], (int64_t)(a->delay_ms * 1e6),
                         t0 + (int64_t)(DELAY_ONSET * (double)(t1 - t0)), model,
                         hash_ids(cands[c], models[model])};
            for (size_t r = 0; r < t.n_roots; r++)
                relayout(work, &t, t.roots[r], 0, &d);
            window_t tw = win;
            tw.spans = work;
            case_t k = *k0;
            snprintf(k.id, sizeof(k.id), "delay-%s", models[model]);
            copy_field(k.service, sizeof(k.service), cands[c]);
            copy_field(k.fault, sizeof(k.fault), "network_delay");
            double ms, cpu, margin;
            int quiet;
            tally_add(&tally, run_case(a, &k, &base, &tw, models[model], &ms, &cpu, &quiet, &margin));
        }
        tally_print(&tally);
    }
    rc = 0;
out:
    free(work);
    free(cands);
    tree_free(&t);
    window_free(&base);
    window_free(&win);
    return rc;
}

int main(int argc, char **argv)
{
    args_t a;
    if (parse_args(argc, argv, &a)) return 2;
    case_t *cases = NULL;
    size_t n_cases = 0;
    if (load_cases(a.dir, &cases, &n_cases)) {
        fprintf(stderr, "cannot read %s/cases.csv\n", a.dir);
        return 1;
    }
    if (a.delay_ms > 0) {
        int drc = n_cases ? run_delay_check(&a, &cases[0]) : 1;
        free(cases);
        return drc ? 1 : 0;
    }
    day_metrics_t metrics;
    memset(&metrics, 0, sizeof(metrics));
    char loaded_day[16] = "";
    tally_t all = {.name = "all"}, types[MAX_TYPES];
    int n_types = 0, quiet_windows = 0, quiet_said_quiet = 0, fault_said_quiet = 0;
    double total_ms = 0, max_ms = 0, total_cpu = 0, max_cpu = 0;
    double *margins = calloc(n_cases ? n_cases : 1, sizeof(double));
    size_t n_margins = 0;
    int rc = 0;
    for (size_t i = 0; i < n_cases; i++) {
        const case_t *k = &cases[i];
        if (a.only_case && strcmp(a.only_case, k->id) != 0) continue;
        if (strcmp(loaded_day, k->day) != 0) {
            free(metrics.pts);
            pool_free(&metrics.pool);
            memset(&metrics, 0, sizeof(metrics));
            char dir[4096];
            if (path_fmt(dir, sizeof(dir), "%s/%s/metric", a.dir, k->day) || load_day_metrics(&metrics, dir))
                fprintf(stderr, "warning: some metric files of %s unreadable\n", k->day);
            copy_field(loaded_day, sizeof(loaded_day), k->day);
        }
        window_t base = {0}, target = {0};
        char broot[4096];
        if (path_fmt(broot, sizeof(broot), "%s/baseline", a.dir)) continue;
        char bmin[1][8];
        copy_field(bmin[0], sizeof(bmin[0]), k->baseline_minute);
        if (load_minutes(&base, broot, k->day, bmin, 1)) fprintf(stderr, "%s: no baseline files\n", k->id);
        if (load_minutes(&target, a.dir, k->day, (char(*)[8])k->minutes, k->n_minutes))
            fprintf(stderr, "%s: no target files; ranked empty (counted as a miss)\n", k->id);
        int64_t t0, t1;
        window_bounds(&target, &t0, &t1);
        add_metrics(&base, &metrics, t0 - METRIC_HISTORY_NS, t0);
        add_metrics(&target, &metrics, t0, t1 + METRIC_ROW_NS);
        double ms, cpu, margin;
        int quiet;
        size_t rank = run_case(&a, k, &base, &target, "fault", &ms, &cpu, &quiet, &margin);
        total_cpu += cpu;
        if (cpu > max_cpu) max_cpu = cpu;
        margins[n_margins++] = margin;
        fault_said_quiet += quiet;
        total_ms += ms;
        if (ms > max_ms) max_ms = ms;
        tally_add(&all, rank);
        tally_t *t = tally_for(types, &n_types, k->fault);
        if (t) tally_add(t, rank);
        if (a.quiet) {
            /* The first minute file ends before (or seconds after) the injection: a mostly quiet window. */
            window_t first = {0};
            if (load_minutes(&first, a.dir, k->day, (char(*)[8])k->minutes, 1) == 0) {
                window_bounds(&first, &t0, &t1);
                add_metrics(&first, &metrics, t0, t1 + METRIC_ROW_NS);
                run_case(&a, k, &base, &first, "quiet", &ms, &cpu, &quiet, &margin);
                quiet_windows++;
                quiet_said_quiet += quiet;
            }
            window_free(&first);
        }
        window_free(&base);
        window_free(&target);
    }
    printf("\n");
    tally_print(&all);
    for (int i = 0; i < n_types; i++)
        tally_print(&types[i]);
    if (all.n)
        printf(
            "ranking time per case: wall mean %.1f ms, max %.1f ms; cpu mean %.1f ms, max %.1f ms (loading "
            "excluded)\n",
            total_ms / all.n, max_ms, total_cpu / all.n, max_cpu);
    printf("fault windows judged \"nothing stands out\": %d of %d\n", fault_said_quiet, all.n);
    if (n_margins) {
        qsort(margins, n_margins, sizeof(double), cmp_double);
        printf("margin of the true service over the best other (score points): min %.2f, median %.2f\n",
               margins[0], margins[n_margins / 2]);
    }
    free(margins);
    if (a.quiet)
        printf("first-minute windows judged \"nothing stands out\": %d of %d\n", quiet_said_quiet,
               quiet_windows);
    free(metrics.pts);
    pool_free(&metrics.pool);
    free(cases);
    return rc;
}
