/* Bounded, batching telemetry sender (see telemetry.h).
 *
 * Each kind has a ring of serialized records:
 *
 *   items: [ . . r3 r4 r5 . . ]   head = 2, count = 3; a batch takes from head, a record goes to
 *                                  (head + count) % max_queued
 *
 * Records are serialized when recorded, so the sender only concatenates them into
 * {"<kind>":[r,r,...]} and the lock is held for pointer moves only. */
#include "telemetry.h"
#include "alloc.h"
#include "buf.h"
#include "log.h"
#include "program.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RECORD_BYTES (256 * 1024)
#define MAX_BODY_BYTES (16 * 1024 * 1024)
#define WARN_EVERY_MS 60000

typedef struct {
    char **items;
    size_t head, count;
} ring_t;

struct telemetry {
    telemetry_opts_t opts;
    char *auth_header; /* NULL without a key */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    ring_t rings[TEL_KINDS];
    long queued_bytes;
    telemetry_stats_t stats;
    int stopping;
    int failing; /* the last POST failed: warn on the change, not on every batch */
    long long last_warn_ms;
    pthread_t tid;
};

static const char *kind_names[TEL_KINDS] = {"spans", "logs", "metrics", "events"};
static const char *kind_paths[TEL_KINDS] = {"/ingest/traces", "/ingest/logs", "/ingest/metrics",
                                            "/ingest/events"};

const char *telemetry_kind_name(tel_kind_t kind)
{
    return kind_names[kind];
}

void telemetry_record(telemetry_t *t, tel_kind_t kind, json_t *record)
{
    char *s = record ? json_dumps(record, JSON_COMPACT) : NULL;
    json_decref(record);
    size_t n = s ? strlen(s) : 0;
    pthread_mutex_lock(&t->lock);
    ring_t *r = &t->rings[kind];
    if (s == NULL || t->opts.backend_url == NULL || n > MAX_RECORD_BYTES ||
        r->count >= (size_t)t->opts.max_queued || t->queued_bytes + (long)n > t->opts.max_queued_bytes) {
        t->stats.dropped[kind]++;
        free(s);
    } else {
        r->items[(r->head + r->count) % (size_t)t->opts.max_queued] = s;
        r->count++;
        t->queued_bytes += (long)n;
        if (r->count >= (size_t)t->opts.batch) pthread_cond_signal(&t->wake);
    }
    pthread_mutex_unlock(&t->lock);
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    buf_append(ud, p, size * n); /* past the cap the rest is ignored: only a snippet is logged */
    return size * n;
}

/* POSTs body to backend_url + path. Returns 0 on a 2xx answer, else -1 with the reason in err. */
static int post(telemetry_t *t, CURL *c, const char *path, const char *body, size_t len, char *err,
                size_t errlen)
{
    char url[600];
    snprintf(url, sizeof(url), "%s%s", t->opts.backend_url, path);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    if (t->auth_header) h = curl_slist_append(h, t->auth_header);
    buf_t resp;
    buf_init(&resp, 4096);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)t->opts.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(t->opts.timeout_ms < 1000 ? t->opts.timeout_ms : 1000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    int ok = rc == CURLE_OK && status >= 200 && status < 300;
    if (!ok && rc != CURLE_OK)
        snprintf(err, errlen, "%s: %s", path, curl_easy_strerror(rc));
    else if (!ok)
        snprintf(err, errlen, "%s answered %ld: %.200s", path, status, resp.data ? resp.data : "");
    buf_dispose(&resp);
    return ok ? 0 : -1;
}

/* Logs a failing backend once when it starts failing and then once a minute; and its recovery. */
static void note_result(telemetry_t *t, int ok, const char *err)
{
    long long now = mono_ms();
    if (ok && t->failing) log_info("telemetry: backend accepts batches again");
    if (!ok && (!t->failing || now - t->last_warn_ms >= WARN_EVERY_MS)) {
        log_warn("telemetry: %s; records are dropped until the backend answers", err);
        t->last_warn_ms = now;
    }
    t->failing = !ok;
}

/* Takes up to one batch of `kind` off its ring into body ({"<kind>":[...]}); returns the count taken.
 * Records that do not fit the body are dropped and counted. */
static size_t take_batch(telemetry_t *t, tel_kind_t kind, buf_t *body)
{
    pthread_mutex_lock(&t->lock);
    ring_t *r = &t->rings[kind];
    size_t n = r->count < (size_t)t->opts.batch ? r->count : (size_t)t->opts.batch;
    char **items = n ? xmalloc(n * sizeof(char *)) : NULL;
    for (size_t i = 0; i < n; i++) {
        items[i] = r->items[r->head];
        r->head = (r->head + 1) % (size_t)t->opts.max_queued;
        t->queued_bytes -= (long)strlen(items[i]);
    }
    r->count -= n;
    pthread_mutex_unlock(&t->lock);

    size_t taken = 0, too_big = 0;
    buf_reset(body);
    buf_printf(body, "{\"%s\":[", kind_names[kind]);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(items[i]);
        if (body->len + len + 3 > body->max) {
            too_big++;
        } else {
            if (taken) buf_append_char(body, ',');
            buf_append(body, items[i], len);
            taken++;
        }
        free(items[i]);
    }
    buf_append_str(body, "]}");
    free(items);
    if (too_big) {
        pthread_mutex_lock(&t->lock);
        t->stats.dropped[kind] += too_big;
        pthread_mutex_unlock(&t->lock);
    }
    return taken;
}

/* Sends every kind, spans first so a trace's spans reach the backend before its error logs make it
 * schedule an analysis. After a failed POST the rest of that kind waits for the next round (still
 * bounded), so a backend that is down costs one quick attempt per kind and round. */
static void flush(telemetry_t *t, CURL *c)
{
    buf_t body;
    buf_init(&body, MAX_BODY_BYTES);
    for (int k = 0; k < TEL_KINDS; k++) {
        size_t n;
        int ok = 1;
        while (ok && (n = take_batch(t, (tel_kind_t)k, &body)) > 0) {
            char err[300];
            ok = post(t, c, kind_paths[k], body.data, body.len, err, sizeof(err)) == 0;
            pthread_mutex_lock(&t->lock);
            if (ok) {
                t->stats.sent[k] += n;
            } else {
                t->stats.dropped[k] += n; /* the backend is away: telemetry is lost, requests are not */
                t->stats.failed_posts++;
            }
            pthread_mutex_unlock(&t->lock);
            note_result(t, ok, err);
        }
    }
    buf_dispose(&body);
}

static int batch_ready(const telemetry_t *t)
{
    for (int k = 0; k < TEL_KINDS; k++)
        if (t->rings[k].count >= (size_t)t->opts.batch) return 1;
    return 0;
}

static void *sender_main(void *arg)
{
    telemetry_t *t = arg;
    CURL *c = curl_easy_init();
    pthread_mutex_lock(&t->lock);
    while (!t->stopping) {
        if (!batch_ready(t)) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            long long ns = until.tv_nsec + (long long)t->opts.flush_ms * 1000000;
            until.tv_sec += (time_t)(ns / 1000000000);
            until.tv_nsec = (long)(ns % 1000000000);
            pthread_cond_timedwait(&t->wake, &t->lock, &until);
        }
        pthread_mutex_unlock(&t->lock);
        flush(t, c);
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    flush(t, c); /* what was recorded before stopping */
    curl_easy_cleanup(c);
    return NULL;
}

telemetry_t *telemetry_create(const telemetry_opts_t *opts)
{
    telemetry_t *t = xcalloc(1, sizeof(*t));
    t->opts = *opts;
    t->opts.backend_url = opts->backend_url ? xstrdup(opts->backend_url) : NULL;
    t->opts.api_key = NULL;
    if (t->opts.flush_ms <= 0) t->opts.flush_ms = 1000;
    if (t->opts.batch <= 0) t->opts.batch = 500;
    if (t->opts.max_queued <= 0) t->opts.max_queued = 10000;
    if (t->opts.max_queued_bytes <= 0) t->opts.max_queued_bytes = 32L * 1024 * 1024;
    if (t->opts.timeout_ms <= 0) t->opts.timeout_ms = 3000;
    if (opts->api_key && *opts->api_key) {
        size_t n = strlen(opts->api_key) + 32;
        t->auth_header = xmalloc(n);
        snprintf(t->auth_header, n, "Authorization: Bearer %s", opts->api_key);
    }
    for (int k = 0; k < TEL_KINDS; k++)
        t->rings[k].items = xcalloc((size_t)t->opts.max_queued, sizeof(char *));
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_create(&t->tid, NULL, sender_main, t);
    return t;
}

void telemetry_free(telemetry_t *t)
{
    if (t == NULL) return;
    pthread_mutex_lock(&t->lock);
    t->stopping = 1;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->tid, NULL);
    for (int k = 0; k < TEL_KINDS; k++) {
        ring_t *r = &t->rings[k];
        for (size_t i = 0; i < r->count; i++)
            free(r->items[(r->head + i) % (size_t)t->opts.max_queued]);
        free(r->items);
    }
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->wake);
    free((char *)t->opts.backend_url);
    free(t->auth_header);
    free(t);
}

int telemetry_send_event(telemetry_t *t, json_t *event, char *err, size_t errlen)
{
    json_t *body = json_pack("{s:[o]}", "events", event);
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    int rc = -1;
    if (s == NULL) {
        snprintf(err, errlen, "event is not valid JSON");
    } else if (t->opts.backend_url == NULL) {
        snprintf(err, errlen, "no backend configured");
    } else {
        CURL *c = curl_easy_init();
        rc = post(t, c, kind_paths[TEL_EVENTS], s, strlen(s), err, errlen);
        curl_easy_cleanup(c);
    }
    free(s);
    pthread_mutex_lock(&t->lock);
    if (rc == 0)
        t->stats.sent[TEL_EVENTS]++;
    else
        t->stats.dropped[TEL_EVENTS]++;
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void telemetry_get_stats(telemetry_t *t, telemetry_stats_t *out)
{
    pthread_mutex_lock(&t->lock);
    *out = t->stats;
    for (int k = 0; k < TEL_KINDS; k++)
        out->queued[k] = t->rings[k].count;
    pthread_mutex_unlock(&t->lock);
}
