/* eval-replay: measures the root-cause ranking of a running stack on a labelled fault dataset laid out
 * like datasets/nezha-train-ticket (see tools/dataset/dataset.h), end to end through the public API:
 * for each case it sends the baseline minute (once), the per-pod metric rows of the hour before the
 * window up to one row after it (each row once), and the case's minute files of spans and logs through
 * POST /ingest/{traces,logs,metrics} of the backend, then asks the pipeline's
 * POST /debug/analyze-window for the ranking of the case's window against the baseline minute's. The
 * labels (root_cause_service, fault_type) are read only to score the answer; nothing of them is sent.
 *
 * A window is where its records lie in time: the 0.5 % to 99.5 % quantiles of the start times of the
 * spans sent for it find its body, widened to every span and log near it. Minute files are not clock
 * minutes (a file holds the traces collected up to its name's minute, mostly from the minute before)
 * and a few spans carry broken clocks.
 *
 * The dataset's records map onto ours as its README says: the service is the pod name without its
 * last two dash-separated parts, a span's name its OperationName, a log's level and message come from
 * the text inside the Docker JSON line (a line without a level is sent as INFO with all its text).
 *
 * Spans carry their status when the dataset has one (StatusCode), and an "exception" event (with its
 * exception.type, at the span's end) when the span recorded one (ExceptionType); the day's change events
 * (when the dataset has <day>/change/changes.csv.gz) are sent once per day through POST /ingest/events, and
 * the pipeline picks those of the window and its change lookback. --without logs|metrics and
 * --sample-traces SHARE apply to what is sent, baseline and target alike (logs are never sampled).
 *
 * Prints each case (rank of the true service with ties at the worst tied position, the answer's wall
 * time, what the ranking looked at), then (tools/dataset/tally.h) top-1 / top-3 / Avg@5 per fault type
 * x position and overall, the share of fault-free windows answered "nothing stands out" with the false
 * alarms, and the ranking time per window (mean, p95, max). --json: stdout holds one JSON document with
 * all of it and each case's answer, the text goes to stderr.
 *
 *   eval-replay --backend URL --pipeline URL [--dir DATASET] [--case CASE_ID] [--top N] [--json]
 *               [--batch N] [--without logs|metrics] [--sample-traces SHARE]
 *               [--require-top1 PCT] [--require-top3 PCT] [--require-quiet PCT]
 * Keys come from INGEST_KEY and ADMIN_KEY in the environment (scripts/eval sets them). Exit status 0
 * when every case was sent and ranked (and reached the required figures), 1 otherwise, 2 on bad
 * arguments. */
#include "dataset/dataset.h"
#include "dataset/tally.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_MESSAGE 65536          /* the ingest API's limit on a log message */
#define MAX_BODY (4 * 1024 * 1024) /* bytes per request: well under the API's default 16 MiB */
#define SEND_ATTEMPTS 20           /* 503 and 429 are retried after Retry-After (1 s when absent) */
#define WINDOW_TIMEOUT_S 120

typedef struct {
    const char *dir, *backend, *pipeline, *only_case, *ingest_key, *admin_key;
    size_t top, batch;
    int json;
    ds_filter_t filter; /* what is not sent */
    ds_require_t req;   /* a lower figure fails the run */
} args_t;

typedef struct {
    CURL *curl;
    char *body; /* last answer */
    size_t len, cap;
    long retry_after;
} http_t;

/* ---- HTTP ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    http_t *h = ud;
    size_t add = size * n;
    h->body = ds_grow(h->body, &h->cap, h->len + add + 1, 1);
    memcpy(h->body + h->len, p, add);
    h->len += add;
    h->body[h->len] = '\0';
    return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    http_t *h = ud;
    size_t len = size * n;
    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) h->retry_after = strtol(p + 12, NULL, 10);
    return len;
}

/* POSTs a JSON body; returns the HTTP status (0 on a transport error). The answer is in h->body. */
static long post(http_t *h, const char *url, const char *key, const char *json, size_t len, long timeout_s)
{
    char auth[512];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    struct curl_slist *hd = curl_slist_append(NULL, auth);
    hd = curl_slist_append(hd, "Content-Type: application/json");
    h->len = 0;
    h->retry_after = 0;
    if (h->body) h->body[0] = '\0';
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, timeout_s);
    long status = 0;
    if (curl_easy_perform(h->curl) == CURLE_OK) curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hd);
    return status;
}

/* Sends one ingest batch, retrying what the API asks to retry; 0 when committed. */
static int send_batch(http_t *h, const args_t *a, const char *path, const char *kind, json_t *records,
                      size_t *sent)
{
    if (json_array_size(records) == 0) return 0;
    json_t *doc = json_pack("{s:O}", kind, records);
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (body == NULL) return -1;
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", a->backend, path);
    long st = 0;
    for (int attempt = 0; attempt < SEND_ATTEMPTS; attempt++) {
        st = post(h, url, a->ingest_key, body, strlen(body), 60);
        if (st != 503 && st != 429 && st != 0) break;
        sleep(h->retry_after > 0 && h->retry_after < 30 ? (unsigned)h->retry_after : 1);
    }
    free(body);
    if (st != 200) {
        fprintf(stderr, "%s: HTTP %ld %.300s\n", path, st, h->body ? h->body : "");
        return -1;
    }
    *sent += json_array_size(records);
    json_array_clear(records);
    return 0;
}

/* Appends a record; sends the batch when it is full (by count or by an estimate of its bytes). */
static int add_record(http_t *h, const args_t *a, const char *path, const char *kind, json_t *batch,
                      size_t *bytes, json_t *rec, size_t rec_bytes, size_t *sent)
{
    json_array_append_new(batch, rec);
    *bytes += rec_bytes + 200;
    if (json_array_size(batch) < a->batch && *bytes < MAX_BODY) return 0;
    *bytes = 0;
    return send_batch(h, a, path, kind, batch, sent);
}

/* ---- Dataset records as ingest JSON ---- */

static const char *level_name(int sev)
{
    static const char *names[] = {"INFO", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    return sev >= 0 && sev <= 6 ? names[sev] : "INFO";
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max) return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

static int send_window(http_t *h, const args_t *a, const ds_window_t *w, size_t *n_spans, size_t *n_logs)
{
    json_t *batch = json_array();
    size_t bytes = 0;
    int rc = 0;
    for (size_t i = 0; i < w->n_spans && rc == 0; i++) {
        const rank_span_t *s = &w->spans[i];
        json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "trace_id", s->trace_id, "span_id",
                              s->span_id, "service", s->service, "name", s->name, "start_time",
                              (json_int_t)s->start_ns, "end_time", (json_int_t)s->end_ns);
        if (r && s->parent_span_id) json_object_set_new(r, "parent_span_id", json_string(s->parent_span_id));
        /* status unset (0) is sent as no status, as OTLP has it */
        if (r && s->status) json_object_set_new(r, "status", json_string(s->status == 2 ? "ERROR" : "OK"));
        /* a recorded exception as OTel's span.recordException() sends it: an "exception" event (at the
         * span's end: the dataset keeps no time of its own for it); "" is one without a type */
        size_t ex_len = s->exception_type ? strlen(s->exception_type) : 0;
        if (r && s->exception_type) {
            json_t *attrs = ex_len ? json_pack("{s:s}", "exception.type", s->exception_type) : json_object();
            json_object_set_new(r, "events",
                                json_pack("[{s:s, s:I, s:o}]", "name", "exception", "time",
                                          (json_int_t)s->end_ns, "attributes", attrs));
        }
        rc = r ? add_record(h, a, "/ingest/traces", "spans", batch, &bytes, r, strlen(s->name) + ex_len,
                            n_spans)
               : -1;
    }
    if (rc == 0) rc = send_batch(h, a, "/ingest/traces", "spans", batch, n_spans);
    bytes = 0;
    for (size_t i = 0; i < w->n_logs && rc == 0; i++) {
        const rank_log_t *l = &w->logs[i];
        size_t mlen = utf8_cut(l->message, MAX_MESSAGE);
        json_t *r = json_pack("{s:I, s:s, s:s, s:s%}", "timestamp", (json_int_t)l->ts_ns, "service",
                              l->service, "level", level_name(l->severity), "message", l->message, mlen);
        if (r && l->trace_id && *l->trace_id) json_object_set_new(r, "trace_id", json_string(l->trace_id));
        if (r && l->span_id && *l->span_id) json_object_set_new(r, "span_id", json_string(l->span_id));
        rc = r ? add_record(h, a, "/ingest/logs", "logs", batch, &bytes, r, mlen, n_logs) : -1;
    }
    if (rc == 0) rc = send_batch(h, a, "/ingest/logs", "logs", batch, n_logs);
    json_decref(batch);
    return rc;
}

/* Sends the metric points with from <= ts < to (each row carries its pod as a label). */
static int send_metrics(http_t *h, const args_t *a, const ds_metrics_t *d, int64_t from, int64_t to,
                        size_t *sent)
{
    json_t *batch = json_array();
    size_t bytes = 0;
    int rc = 0;
    for (size_t i = 0; i < d->n && rc == 0; i++) {
        const rank_metric_t *m = &d->pts[i];
        if (m->ts_ns < from || m->ts_ns >= to) continue;
        json_t *r = json_pack("{s:I, s:s, s:s, s:f, s:{s:s}}", "timestamp", (json_int_t)m->ts_ns, "service",
                              m->service, "name", m->name, "value", m->value, "labels", "pod", d->pods[i]);
        rc = r ? add_record(h, a, "/ingest/metrics", "metrics", batch, &bytes, r, 0, sent) : -1;
    }
    if (rc == 0) rc = send_batch(h, a, "/ingest/metrics", "metrics", batch, sent);
    json_decref(batch);
    return rc;
}

/* Sends the day's change events (each once: the pipeline takes those of a window's lookback). */
static int send_changes(http_t *h, const args_t *a, const ds_changes_t *c, size_t *sent)
{
    json_t *batch = json_array();
    size_t bytes = 0;
    int rc = 0;
    for (size_t i = 0; i < c->n && rc == 0; i++) {
        const rank_change_t *e = &c->ev[i];
        json_t *r = json_pack("{s:I, s:s}", "timestamp", (json_int_t)e->ts_ns, "type", e->type);
        if (r && e->service) json_object_set_new(r, "service", json_string(e->service));
        if (r && e->description) json_object_set_new(r, "description", json_string(e->description));
        rc = r ? add_record(h, a, "/ingest/events", "events", batch, &bytes, r, 200, sent) : -1;
    }
    if (rc == 0) rc = send_batch(h, a, "/ingest/events", "events", batch, sent);
    json_decref(batch);
    return rc;
}

/* ---- One case ---- */

/* Asks for the ranking of [from, to) against [bfrom, bto) into *o, and prints the case's line to `txt`.
 * Returns 0, or -1 when the pipeline gave no ranking (o stays failed). */
static int ask_ranking(http_t *h, const args_t *a, FILE *txt, int64_t from, int64_t to, int64_t bfrom,
                       int64_t bto, ds_outcome_t *o)
{
    char url[1024], body[256];
    snprintf(url, sizeof(url), "%s/debug/analyze-window", a->pipeline);
    snprintf(body, sizeof(body),
             "{\"from\":%" PRId64 ",\"to\":%" PRId64 ",\"baseline_from\":%" PRId64 ",\"baseline_to\":%" PRId64
             "}",
             from, to, bfrom, bto);
    double t0 = ds_clock_ms(CLOCK_MONOTONIC);
    long st = post(h, url, a->admin_key, body, strlen(body), WINDOW_TIMEOUT_S);
    double ms = ds_clock_ms(CLOCK_MONOTONIC) - t0;
    json_t *doc = st == 200 ? json_loads(h->body, 0, NULL) : NULL;
    if (doc == NULL) {
        fprintf(stderr, "%s: analyze-window HTTP %ld %.300s\n", o->id, st, h->body ? h->body : "");
        return -1;
    }
    json_t *svcs = json_object_get(doc, "services");
    size_t n = json_array_size(svcs);
    const char **names = calloc(n + 1, sizeof(char *));
    double *scores = calloc(n + 1, sizeof(double));
    if (names == NULL || scores == NULL) exit(2);
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(svcs, i);
        names[i] = json_string_value(json_object_get(s, "service"));
        scores[i] = json_number_value(json_object_get(s, "score"));
        if (names[i] == NULL) names[i] = "";
    }
    ds_outcome_rank(o, names, scores, n, json_is_true(json_object_get(doc, "nothing_stands_out")), ms);
    json_t *seen = json_object_get(doc, "looked_at");
    char what[64];
    snprintf(what, sizeof(what), "spans %6zu logs %5zu",
             (size_t)json_integer_value(json_object_get(seen, "spans")),
             (size_t)json_integer_value(json_object_get(seen, "logs")));
    ds_outcome_print(o, txt, a->top, what);
    free(names);
    free(scores);
    if (a->json)
        o->ranking = doc;
    else
        json_decref(doc);
    return 0;
}

/* ---- Baselines: each (day, minute) sent once; its window is where its spans lie ---- */

typedef struct {
    char key[24];
    int64_t from, to;
} baseline_t;

typedef struct {
    baseline_t *b;
    size_t n, cap;
} baselines_t;

/* The case's baseline window, its minute sent first when it was not yet; -1 when it cannot be. */
static int baseline_of(baselines_t *tab, http_t *h, const args_t *a, const ds_case_t *k, size_t *spans_sent,
                       size_t *logs_sent, baseline_t *out)
{
    char key[24];
    snprintf(key, sizeof(key), "%.15s %.7s", k->day, k->baseline_minute);
    for (size_t i = 0; i < tab->n; i++)
        if (strcmp(tab->b[i].key, key) == 0) {
            *out = tab->b[i];
            return 0;
        }
    tab->b = ds_grow(tab->b, &tab->cap, tab->n + 1, sizeof(baseline_t));
    baseline_t *b = &tab->b[tab->n];
    ds_window_t w = {0};
    char root[4096], minute[1][8];
    ds_copy_field(minute[0], sizeof(minute[0]), k->baseline_minute);
    int ok = ds_path_fmt(root, sizeof(root), "%s/baseline", a->dir) == 0 &&
             ds_load_minutes(&w, root, k->day, minute, 1) == 0;
    if (ok) ds_filter_window(&w, &a->filter);
    ok = ok && ds_window_span_range(&w, DS_WINDOW_QUANTILE, &b->from, &b->to) == 0 &&
         send_window(h, a, &w, spans_sent, logs_sent) == 0;
    ds_window_free(&w);
    if (!ok) {
        fprintf(stderr, "%s: baseline minute %s not readable or not accepted\n", k->id, key);
        return -1;
    }
    snprintf(b->key, sizeof(b->key), "%s", key);
    tab->n++;
    *out = *b;
    return 0;
}

/* ---- Main ---- */

static int parse_args(int argc, char **argv, args_t *a)
{
    *a = (args_t){.dir = "../shared/datasets/nezha-train-ticket", .top = 3, .batch = 2000};
    ds_filter_init(&a->filter);
    a->ingest_key = getenv("INGEST_KEY");
    a->admin_key = getenv("ADMIN_KEY");
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int took = ds_filter_arg(&a->filter, argc, argv, &i);
        if (took == 0) took = ds_require_arg(&a->req, argc, argv, &i);
        if (took < 0) goto usage;
        if (took > 0) continue;
        if (strcmp(argv[i], "--json") == 0)
            a->json = 1;
        else if (v && strcmp(argv[i], "--dir") == 0)
            a->dir = argv[++i];
        else if (v && strcmp(argv[i], "--backend") == 0)
            a->backend = argv[++i];
        else if (v && strcmp(argv[i], "--pipeline") == 0)
            a->pipeline = argv[++i];
        else if (v && strcmp(argv[i], "--case") == 0)
            a->only_case = argv[++i];
        else if (v && strcmp(argv[i], "--top") == 0)
            a->top = (size_t)strtoul(argv[++i], NULL, 10);
        else if (v && strcmp(argv[i], "--batch") == 0)
            a->batch = (size_t)strtoul(argv[++i], NULL, 10);
        else
            goto usage;
    }
    if (a->backend && a->pipeline && a->ingest_key && a->admin_key && a->batch > 0) return 0;
usage:
    fprintf(stderr,
            "usage: INGEST_KEY=... ADMIN_KEY=... %s --backend URL --pipeline URL [--dir DATASET] [--case ID] "
            "[--top N] [--json] [--batch N] [--without logs|metrics] [--sample-traces SHARE] "
            "[--require-top1 PCT] [--require-top3 PCT] [--require-quiet PCT]\n",
            argv[0]);
    return -1;
}

/* The day's metric rows and change events, loaded when a case of another day comes; the change events
 * are sent at once. Returns -1 when they could not be sent. */
typedef struct {
    char day[16];
    ds_metrics_t metrics;
    ds_changes_t changes;
    int64_t metrics_lo, metrics_hi; /* the metric rows already sent: [lo, hi) of the day */
} day_t;

static int day_switch(day_t *d, http_t *h, const args_t *a, const ds_case_t *k, size_t *changes_sent)
{
    if (strcmp(d->day, k->day) == 0) return 0;
    ds_metrics_free(&d->metrics);
    ds_changes_free(&d->changes);
    char dir[4096];
    if (ds_path_fmt(dir, sizeof(dir), "%s/%s/metric", a->dir, k->day) ||
        ds_load_day_metrics(&d->metrics, dir))
        fprintf(stderr, "warning: some metric files of %s unreadable\n", k->day);
    if (ds_load_day_changes(&d->changes, a->dir, k->day))
        fprintf(stderr, "warning: the change events of %s are unreadable\n", k->day);
    ds_copy_field(d->day, sizeof(d->day), k->day);
    d->metrics_lo = d->metrics_hi = 0;
    return send_changes(h, a, &d->changes, changes_sent);
}

/* Sends the metric rows the window needs that were not sent yet: the hour before it and the rows that
 * describe it (each row is stamped at the end of its minute). */
static int send_window_metrics(day_t *d, http_t *h, const args_t *a, int64_t from, int64_t to, size_t *sent)
{
    int64_t mlo = from - DS_METRIC_HISTORY_NS, mhi = to + DS_METRIC_ROW_NS;
    if (a->filter.without_metrics || (mlo >= d->metrics_lo && mhi <= d->metrics_hi)) return 0;
    int64_t start = mlo >= d->metrics_lo && mlo <= d->metrics_hi ? d->metrics_hi : mlo;
    int rc = send_metrics(h, a, &d->metrics, start, mhi, sent);
    if (start == mlo) d->metrics_lo = mlo;
    d->metrics_hi = mhi;
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
    curl_global_init(CURL_GLOBAL_DEFAULT);
    http_t h = {.curl = curl_easy_init()};
    FILE *txt = a.json ? stderr : stdout; /* with --json, stdout holds only the JSON document */
    day_t day = {0};
    baselines_t baselines = {0};
    int failures = 0;
    size_t spans_sent = 0, logs_sent = 0, metrics_sent = 0, changes_sent = 0;
    double send_ms = 0;
    ds_score_t score = {0};
    char signals[96];
    ds_filter_describe(&a.filter, signals, sizeof(signals));
    fprintf(txt, "dataset %s; signals sent: %s\n", a.dir, signals);
    for (size_t i = 0; i < n_cases; i++) {
        const ds_case_t *k = &cases[i];
        if (a.only_case && strcmp(a.only_case, k->id) != 0) continue;
        double t0 = ds_clock_ms(CLOCK_MONOTONIC);
        baseline_t base = {0};
        int rc = day_switch(&day, &h, &a, k, &changes_sent);
        if (rc == 0) rc = baseline_of(&baselines, &h, &a, k, &spans_sent, &logs_sent, &base);
        ds_window_t target = {0};
        int64_t from = 0, to = 0;
        if (rc == 0 && ds_load_minutes(&target, a.dir, k->day, (char(*)[8])k->minutes, k->n_minutes) == 0)
            ds_filter_window(&target, &a.filter);
        if (rc == 0 && ds_window_span_range(&target, DS_WINDOW_QUANTILE, &from, &to)) {
            fprintf(stderr, "%s: no spans in the case's files\n", k->id);
            rc = -1;
        }
        if (rc == 0) rc = send_window_metrics(&day, &h, &a, from, to, &metrics_sent);
        if (rc == 0) rc = send_window(&h, &a, &target, &spans_sent, &logs_sent);
        ds_window_free(&target);
        send_ms += ds_clock_ms(CLOCK_MONOTONIC) - t0;
        ds_outcome_t o;
        ds_outcome_init(&o, k); /* a case that could not be ranked counts as a miss */
        if (rc != 0 || ask_ranking(&h, &a, txt, from, to, base.from, base.to, &o) != 0) {
            failures++;
            ds_outcome_print(&o, txt, 0, NULL);
        }
        ds_score_add(&score, &o);
        fflush(txt);
    }
    ds_score_print(&score, txt, "POST /debug/analyze-window, wall, loading from PostgreSQL included");
    fprintf(txt, "cases failed to send or rank: %d\n", failures);
    fprintf(txt,
            "replayed through the ingest API: %zu spans, %zu logs, %zu metric points, %zu change events in "
            "%.1f s\n",
            spans_sent, logs_sent, metrics_sent, changes_sent, send_ms / 1000.0);
    int met = ds_score_meets(&score, &a.req, txt);
    if (a.json) {
        json_t *doc = ds_score_to_json(&score, &a.req, signals);
        if (json_dumpf(doc, stdout, JSON_INDENT(1)) || fputc('\n', stdout) == EOF) met = 0;
        json_decref(doc);
    }
    ds_score_free(&score);
    free(baselines.b);
    ds_metrics_free(&day.metrics);
    ds_changes_free(&day.changes);
    free(h.body);
    curl_easy_cleanup(h.curl);
    curl_global_cleanup();
    free(cases);
    return failures || !met ? 1 : 0;
}
