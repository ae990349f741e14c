/* Dataset reader for the evaluation tools (see dataset.h). */
#include "dataset.h"
#include "rfc3339.h"

#include <ctype.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
/* ---- Small growable helpers (the tool aborts on out-of-memory: it is a batch program). ---- */

void *ds_grow(void *p, size_t *cap, size_t need, size_t item)
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

const char *ds_pool_dup(ds_pool_t *p, const char *s, size_t n)
{
    if (p->head == NULL || p->head->cap - p->head->used < n + 1) {
        size_t cap = n + 1 > (1 << 20) ? n + 1 : (1 << 20);
        ds_pool_chunk_t *c = malloc(sizeof(ds_pool_chunk_t) + cap);
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

void ds_pool_free(ds_pool_t *p)
{
    for (ds_pool_chunk_t *c = p->head, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    p->head = NULL;
}

/* Formats a path into out; -1 when it does not fit (the caller skips that file). */
int ds_path_fmt(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* ---- CSV through zcat ---- */

int ds_csv_open(ds_csv_t *c, const char *path, int gz)
{
    memset(c, 0, sizeof(*c));
    if (strchr(path, '\'')) return -1;
    char cmd[4200];
    if (ds_path_fmt(cmd, sizeof(cmd), "%s '%s' 2>/dev/null", gz ? "zcat" : "cat", path)) return -1;
    c->f = popen(cmd, "r");
    return c->f ? 0 : -1;
}

void ds_csv_close(ds_csv_t *c)
{
    if (c->f) pclose(c->f);
    free(c->line);
    memset(c, 0, sizeof(*c));
}

/* Reads one record (quoted fields may hold commas, "" and newlines); fields point into c->line.
 * Returns the field count, or -1 at the end. */
int ds_csv_next(ds_csv_t *c)
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
        c->line = ds_grow(c->line, &c->cap, len + 2, 1);
        c->line[len++] = (char)ch;
    }
    if (len && c->line[len - 1] == '\r') len--;
    c->line = ds_grow(c->line, &c->cap, len + 1, 1);
    c->line[len] = '\0';
    /* Split in place, unquoting. */
    c->n = 0;
    char *r = c->line, *w = c->line;
    while (c->n < DS_MAX_FIELDS) {
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

int ds_col_of(const ds_csv_t *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->field[i], name) == 0) return i;
    return -1;
}

/* ---- Dataset records ---- */

/* "ts-basic-service-5dc8d4f9fd-llznp" -> "ts-basic-service". */
const char *ds_service_of_pod(ds_pool_t *p, const char *pod)
{
    const char *last = strrchr(pod, '-');
    if (last == NULL) return ds_pool_dup(p, pod, strlen(pod));
    const char *prev = last;
    while (prev > pod && *(prev - 1) != '-')
        prev--;
    if (prev <= pod) return ds_pool_dup(p, pod, strlen(pod));
    return ds_pool_dup(p, pod, (size_t)(prev - 1 - pod));
}

void ds_window_free(ds_window_t *w)
{
    free(w->spans);
    free(w->logs);
    free(w->metrics);
    free(w->changes);
    ds_pool_free(&w->pool);
    memset(w, 0, sizeof(*w));
}

int ds_load_spans(ds_window_t *w, const char *path)
{
    ds_csv_t c;
    if (ds_csv_open(&c, path, 1)) return -1;
    int rc = -1;
    if (ds_csv_next(&c) < 0) goto out;
    int ti = ds_col_of(&c, "TraceID"), si = ds_col_of(&c, "SpanID"), pi = ds_col_of(&c, "ParentID"),
        po = ds_col_of(&c, "PodName"), op = ds_col_of(&c, "OperationName"),
        st = ds_col_of(&c, "StartTimeUnixNano"), en = ds_col_of(&c, "EndTimeUnixNano"),
        sc = ds_col_of(&c, "StatusCode"), ex = ds_col_of(&c, "ExceptionType");
    if (ti < 0 || si < 0 || pi < 0 || po < 0 || op < 0 || st < 0 || en < 0) goto out;
    int need = en > st ? en : st;
    while (ds_csv_next(&c) >= 0) {
        if (c.n <= need) continue;
        w->spans = ds_grow(w->spans, &w->cap_spans, w->n_spans + 1, sizeof(rank_span_t));
        rank_span_t *s = &w->spans[w->n_spans++];
        *s = (rank_span_t){0}; /* every field the file lacks stays empty */
        s->trace_id = ds_pool_dup(&w->pool, c.field[ti], strlen(c.field[ti]));
        s->span_id = ds_pool_dup(&w->pool, c.field[si], strlen(c.field[si]));
        s->parent_span_id =
            strcmp(c.field[pi], "root") == 0 ? NULL : ds_pool_dup(&w->pool, c.field[pi], strlen(c.field[pi]));
        s->service = ds_service_of_pod(&w->pool, c.field[po]);
        s->name = ds_pool_dup(&w->pool, c.field[op], strlen(c.field[op]));
        s->start_ns = strtoll(c.field[st], NULL, 10);
        s->end_ns = strtoll(c.field[en], NULL, 10);
        /* Train-Ticket has no span status: unset, as OTLP says when nobody set it */
        s->status = sc >= 0 && sc < c.n ? atoi(c.field[sc]) : 0;
        if (s->status < 0 || s->status > 2) s->status = 0;
        /* Train-Ticket records no exceptions; an empty field is a span that recorded none */
        s->exception_type = ex >= 0 && ex < c.n && c.field[ex][0]
                                ? ds_pool_dup(&w->pool, c.field[ex], strlen(c.field[ex]))
                                : NULL;
    }
    rc = 0;
out:
    ds_csv_close(&c);
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
void ds_parse_log_text(const char *text, int *sev, const char **msg)
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
int64_t ds_log_time(const char *unix_ns, const char *stamp)
{
    int64_t ns = strtoll(unix_ns, NULL, 10);
    if ((ns >= RFC3339_MIN_NS && ns < RFC3339_MAX_NS) || stamp == NULL) return ns;
    char buf[64];
    size_t n = strlen(stamp);
    int has_offset = n && (stamp[n - 1] == 'Z' || strchr(stamp + (n > 6 ? n - 6 : 0), '+'));
    if (ds_path_fmt(buf, sizeof(buf), "%s%s", stamp, has_offset ? "" : "Z")) return ns;
    int64_t parsed;
    const char *why;
    return rfc3339_parse(buf, strlen(buf), &parsed, &why) == 0 ? parsed : ns;
}

int ds_load_logs(ds_window_t *w, const char *path)
{
    ds_csv_t c;
    if (ds_csv_open(&c, path, 1)) return -1;
    int rc = -1;
    if (ds_csv_next(&c) < 0) goto out;
    int ts = ds_col_of(&c, "TimeUnixNano"), po = ds_col_of(&c, "PodName"), ti = ds_col_of(&c, "TraceID"),
        si = ds_col_of(&c, "SpanID"), lg = ds_col_of(&c, "Log"), stamp = ds_col_of(&c, "Timestamp");
    if (ts < 0 || po < 0 || ti < 0 || si < 0 || lg < 0) goto out;
    while (ds_csv_next(&c) >= 0) {
        if (c.n <= lg) continue;
        json_error_t err;
        json_t *doc = json_loads(c.field[lg], JSON_DISABLE_EOF_CHECK, &err);
        const char *text = doc ? json_string_value(json_object_get(doc, "log")) : NULL;
        if (text == NULL) text = c.field[lg];
        int sev;
        const char *msg;
        ds_parse_log_text(text, &sev, &msg);
        size_t mlen = strcspn(msg, "\n");
        w->logs = ds_grow(w->logs, &w->cap_logs, w->n_logs + 1, sizeof(rank_log_t));
        rank_log_t *l = &w->logs[w->n_logs++];
        l->ts_ns = ds_log_time(c.field[ts], stamp >= 0 ? c.field[stamp] : NULL);
        l->service = ds_service_of_pod(&w->pool, c.field[po]);
        l->severity = sev;
        l->message = ds_pool_dup(&w->pool, msg, mlen);
        l->trace_id = ds_pool_dup(&w->pool, c.field[ti], strlen(c.field[ti]));
        l->span_id = ds_pool_dup(&w->pool, c.field[si], strlen(c.field[si]));
        json_decref(doc);
    }
    rc = 0;
out:
    ds_csv_close(&c);
    return rc;
}

static int load_metric_file(ds_metrics_t *d, const char *path)
{
    ds_csv_t c;
    if (ds_csv_open(&c, path, 1)) return -1;
    int rc = -1;
    if (ds_csv_next(&c) < 0) goto out;
    int ts = ds_col_of(&c, "TimeStamp"), po = ds_col_of(&c, "PodName");
    if (ts < 0 || po < 0) goto out;
    int ncol = c.n;
    const char *names[DS_MAX_FIELDS];
    for (int i = 0; i < ncol; i++)
        names[i] = ds_pool_dup(&d->pool, c.field[i], strlen(c.field[i]));
    while (ds_csv_next(&c) >= 0) {
        if (c.n < ncol) continue;
        int64_t t = strtoll(c.field[ts], NULL, 10) * 1000000000LL;
        const char *svc = ds_service_of_pod(&d->pool, c.field[po]);
        const char *pod = ds_pool_dup(&d->pool, c.field[po], strlen(c.field[po]));
        for (int i = 0; i < ncol; i++) {
            if (i == ts || i == po || strcmp(names[i], "Time") == 0) continue;
            char *end;
            double v = strtod(c.field[i], &end);
            if (end == c.field[i] || !isfinite(v)) continue;
            d->pts = ds_grow(d->pts, &d->cap, d->n + 1, sizeof(rank_metric_t));
            d->pods = ds_grow(d->pods, &d->cap_pods, d->n + 1, sizeof(char *));
            d->pods[d->n] = pod;
            d->pts[d->n++] = (rank_metric_t){t, svc, names[i], v};
        }
    }
    rc = 0;
out:
    ds_csv_close(&c);
    return rc;
}

int ds_load_day_metrics(ds_metrics_t *d, const char *dir)
{
    DIR *dh = opendir(dir);
    if (dh == NULL) return -1;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    while ((e = readdir(dh))) {
        if (strstr(e->d_name, "_metric.csv.gz") == NULL) continue; /* per-pod files only */
        names = ds_grow(names, &cap, n + 1, sizeof(char *));
        names[n++] = strdup(e->d_name);
    }
    closedir(dh);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        if (ds_path_fmt(path, sizeof(path), "%s/%s", dir, names[i]) || load_metric_file(d, path)) rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

/* ---- Cases ---- */

void ds_copy_field(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

int ds_load_cases(const char *dir, ds_case_t **out, size_t *n_out)
{
    char path[4096];
    ds_csv_t c;
    if (ds_path_fmt(path, sizeof(path), "%s/cases.csv", dir) || ds_csv_open(&c, path, 0)) return -1;
    int rc = -1;
    ds_case_t *cases = NULL;
    size_t n = 0, cap = 0;
    if (ds_csv_next(&c) < 0) goto out;
    int id = ds_col_of(&c, "case_id"), day = ds_col_of(&c, "day"), svc = ds_col_of(&c, "root_cause_service"),
        ft = ds_col_of(&c, "fault_type"), mf = ds_col_of(&c, "minute_files"),
        bm = ds_col_of(&c, "baseline_minute"), pos = ds_col_of(&c, "position");
    if (id < 0 || day < 0 || svc < 0 || ft < 0 || mf < 0 || bm < 0) goto out;
    while (ds_csv_next(&c) >= 0) {
        if (c.n <= id || c.n <= mf || c.n <= bm) continue;
        cases = ds_grow(cases, &cap, n + 1, sizeof(ds_case_t));
        ds_case_t *k = &cases[n++];
        memset(k, 0, sizeof(*k));
        ds_copy_field(k->id, sizeof(k->id), c.field[id]);
        ds_copy_field(k->day, sizeof(k->day), c.field[day]);
        ds_copy_field(k->service, sizeof(k->service), c.field[svc]);
        ds_copy_field(k->fault, sizeof(k->fault), c.field[ft]);
        ds_copy_field(k->baseline_minute, sizeof(k->baseline_minute), c.field[bm]);
        if (pos >= 0 && pos < c.n) ds_copy_field(k->position, sizeof(k->position), c.field[pos]);
        k->faulty = k->service[0] != '\0';
        char *save = NULL;
        for (char *m = strtok_r(c.field[mf], ";", &save); m && k->n_minutes < DS_MAX_MINUTES;
             m = strtok_r(NULL, ";", &save))
            ds_copy_field(k->minutes[k->n_minutes++], sizeof(k->minutes[0]), m);
    }
    rc = 0;
out:
    ds_csv_close(&c);
    if (rc == 0) {
        *out = cases;
        *n_out = n;
    } else {
        free(cases);
    }
    return rc;
}

/* The window's time range for choosing metric rows: its spans' start times. */
void ds_window_bounds(const ds_window_t *w, int64_t *t0, int64_t *t1)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < w->n_spans; i++) {
        if (w->spans[i].start_ns < lo) lo = w->spans[i].start_ns;
        if (w->spans[i].start_ns > hi) hi = w->spans[i].start_ns;
    }
    *t0 = lo;
    *t1 = hi;
}

void ds_add_metrics(ds_window_t *w, const ds_metrics_t *d, int64_t from, int64_t to)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->pts[i].ts_ns < from || d->pts[i].ts_ns >= to) continue;
        w->metrics = ds_grow(w->metrics, &w->cap_metrics, w->n_metrics + 1, sizeof(rank_metric_t));
        w->metrics[w->n_metrics++] = d->pts[i];
    }
}

/* Loads the trace and log files of the given minutes. A missing or unreadable file is reported and
 * skipped (the window is ranked with what there is); -1 only when no file could be read. */
int ds_load_minutes(ds_window_t *w, const char *root, const char *day, char minutes[][8], int n)
{
    int loaded = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        if (ds_path_fmt(path, sizeof(path), "%s/%s/trace/%s_trace.csv.gz", root, day, minutes[i]) == 0 &&
            ds_load_spans(w, path) == 0)
            loaded++;
        else
            fprintf(stderr, "warning: cannot read %s\n", path);
        if (ds_path_fmt(path, sizeof(path), "%s/%s/log/%s_log.csv.gz", root, day, minutes[i]) == 0 &&
            ds_load_logs(w, path) == 0)
            loaded++;
        else
            fprintf(stderr, "warning: cannot read %s\n", path);
    }
    return loaded ? 0 : -1;
}

double ds_clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Share of the body's length by which a window reaches past its quantiles for records near them. */
#define RANGE_SLACK 0.05

static void widen(int64_t ts, int64_t b0, int64_t b1, int64_t *from, int64_t *to)
{
    if (ts < b0 || ts > b1) return;
    if (ts < *from) *from = ts;
    if (ts > *to) *to = ts;
}

int ds_window_span_range(const ds_window_t *w, double q, int64_t *from, int64_t *to)
{
    if (w->n_spans == 0) return -1;
    int64_t *t = malloc(w->n_spans * sizeof(int64_t));
    if (t == NULL) exit(2);
    for (size_t i = 0; i < w->n_spans; i++)
        t[i] = w->spans[i].start_ns;
    qsort(t, w->n_spans, sizeof(int64_t), cmp_i64);
    size_t lo = (size_t)(q * (double)(w->n_spans - 1)), hi = w->n_spans - 1 - lo;
    /* The quantiles find the body; every span and log close to it belongs to the window too (cutting
     * them off would rank a window that differs from the files' at both edges). */
    int64_t slack = (int64_t)((double)(t[hi] - t[lo]) * RANGE_SLACK);
    int64_t b0 = t[lo] - slack, b1 = t[hi] + slack;
    *from = t[lo];
    *to = t[hi];
    free(t);
    for (size_t i = 0; i < w->n_spans; i++)
        widen(w->spans[i].start_ns, b0, b1, from, to);
    for (size_t i = 0; i < w->n_logs; i++)
        widen(w->logs[i].ts_ns, b0, b1, from, to);
    *to += 1;
    return 0;
}

void ds_metrics_free(ds_metrics_t *d)
{
    free(d->pts);
    free(d->pods);
    ds_pool_free(&d->pool);
    memset(d, 0, sizeof(*d));
}

/* ---- Change events ---- */

static int cmp_change(const void *a, const void *b)
{
    int64_t x = ((const rank_change_t *)a)->ts_ns, y = ((const rank_change_t *)b)->ts_ns;
    return (x > y) - (x < y);
}

int ds_load_day_changes(ds_changes_t *d, const char *root, const char *day)
{
    char path[4096];
    if (ds_path_fmt(path, sizeof(path), "%s/%s/change/changes.csv.gz", root, day)) return -1;
    FILE *probe = fopen(path, "r");
    if (probe == NULL) return 0; /* Train-Ticket has no change events */
    fclose(probe);
    ds_csv_t c;
    if (ds_csv_open(&c, path, 1)) return -1;
    int rc = -1;
    if (ds_csv_next(&c) < 0) goto out;
    int ts = ds_col_of(&c, "TimeUnixNano"), sv = ds_col_of(&c, "Service"), ty = ds_col_of(&c, "Type"),
        de = ds_col_of(&c, "Description");
    if (ts < 0 || sv < 0 || ty < 0) goto out;
    while (ds_csv_next(&c) >= 0) {
        if (c.n <= ts || c.n <= sv || c.n <= ty) continue;
        d->ev = ds_grow(d->ev, &d->cap, d->n + 1, sizeof(rank_change_t));
        rank_change_t *e = &d->ev[d->n++];
        e->ts_ns = strtoll(c.field[ts], NULL, 10);
        /* an event without a service is a global change, charged to no service */
        e->service = c.field[sv][0] ? ds_pool_dup(&d->pool, c.field[sv], strlen(c.field[sv])) : NULL;
        e->type = ds_pool_dup(&d->pool, c.field[ty], strlen(c.field[ty]));
        e->description = de >= 0 && de < c.n ? ds_pool_dup(&d->pool, c.field[de], strlen(c.field[de])) : NULL;
    }
    qsort(d->ev, d->n, sizeof(rank_change_t), cmp_change);
    rc = 0;
out:
    ds_csv_close(&c);
    return rc;
}

void ds_changes_free(ds_changes_t *c)
{
    free(c->ev);
    ds_pool_free(&c->pool);
    memset(c, 0, sizeof(*c));
}

void ds_add_changes(ds_window_t *w, const ds_changes_t *c, int64_t from, int64_t to)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->ev[i].ts_ns < from || c->ev[i].ts_ns >= to) continue;
        w->changes = ds_grow(w->changes, &w->cap_changes, w->n_changes + 1, sizeof(rank_change_t));
        w->changes[w->n_changes++] = c->ev[i];
    }
}

/* ---- Dropping signals ---- */

void ds_filter_init(ds_filter_t *f)
{
    *f = (ds_filter_t){0, 0, 1.0};
}

int ds_filter_arg(ds_filter_t *f, int argc, char **argv, int *i)
{
    const char *opt = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (strcmp(opt, "--without") == 0) {
        if (v && strcmp(v, "logs") == 0)
            f->without_logs = 1;
        else if (v && strcmp(v, "metrics") == 0)
            f->without_metrics = 1;
        else {
            fprintf(stderr, "--without takes logs or metrics\n");
            return -1;
        }
    } else if (strcmp(opt, "--sample-traces") == 0) {
        char *end = NULL;
        double share = v ? strtod(v, &end) : 0;
        if (v == NULL || *end != '\0' || !(share > 0 && share <= 1)) {
            fprintf(stderr, "--sample-traces takes the share of traces kept, in (0, 1]\n");
            return -1;
        }
        f->trace_share = share;
    } else {
        return 0;
    }
    (*i)++;
    return 1;
}

int ds_filter_keeps_trace(const ds_filter_t *f, const char *trace_id)
{
    if (f->trace_share >= 1) return 1;
    /* FNV-1a, then a finaliser (splitmix64's) so that ids differing in the last digits spread evenly */
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = trace_id ? trace_id : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return (double)(h >> 11) / (double)(1ULL << 53) < f->trace_share;
}

void ds_filter_window(ds_window_t *w, const ds_filter_t *f)
{
    size_t kept = 0;
    for (size_t i = 0; i < w->n_spans; i++)
        if (ds_filter_keeps_trace(f, w->spans[i].trace_id)) w->spans[kept++] = w->spans[i];
    w->n_spans = kept;
    if (f->without_logs) w->n_logs = 0;
    if (f->without_metrics) w->n_metrics = 0;
}

void ds_filter_describe(const ds_filter_t *f, char *out, size_t cap)
{
    char share[48] = "";
    if (f->trace_share < 1) snprintf(share, sizeof(share), "%g%% of traces", 100 * f->trace_share);
    if (!f->without_logs && !f->without_metrics && !share[0]) {
        snprintf(out, cap, "all signals");
        return;
    }
    snprintf(out, cap, "%s%s%s%s%s", f->without_logs ? "logs dropped" : "",
             f->without_logs && (f->without_metrics || share[0]) ? ", " : "",
             f->without_metrics ? "metrics dropped" : "", f->without_metrics && share[0] ? ", " : "", share);
}
