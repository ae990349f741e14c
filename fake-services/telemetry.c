/* Bounded, batching telemetry sender (see telemetry.h). */
#include "telemetry.h"
#include "alloc.h"
#include "buf.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char **items;
    size_t n;
} queue_t;

struct telemetry {
    char *backend_url, *auth;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    queue_t q[3];
    telemetry_stats_t stats;
    int stopping;
    pthread_t tid;
};

static const char *paths[] = {"/ingest/traces", "/ingest/logs", "/ingest/metrics"};
static const char *keys[] = {"spans", "logs", "metrics"};

int64_t telemetry_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void enqueue(telemetry_t *t, int kind, json_t *record)
{
    char *s = json_dumps(record, JSON_COMPACT);
    json_decref(record);
    if (s == NULL) return;
    pthread_mutex_lock(&t->lock);
    queue_t *q = &t->q[kind];
    if (q->n >= TELEMETRY_MAX_QUEUED || t->backend_url == NULL) {
        t->stats.dropped[kind]++;
        free(s);
    } else {
        q->items[q->n++] = s;
        if (q->n >= TELEMETRY_BATCH) pthread_cond_signal(&t->wake);
    }
    pthread_mutex_unlock(&t->lock);
}

void telemetry_span(telemetry_t *t, json_t *r)
{
    enqueue(t, 0, r);
}

void telemetry_log(telemetry_t *t, json_t *r)
{
    enqueue(t, 1, r);
}

void telemetry_metric(telemetry_t *t, json_t *r)
{
    enqueue(t, 2, r);
}

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p, (void)ud;
    return s * n;
}

static int post(telemetry_t *t, CURL *c, const char *path, const char *body)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", t->backend_url, path);
    struct curl_slist *h = curl_slist_append(NULL, t->auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    long status = 0;
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    return rc == CURLE_OK && status >= 200 && status < 300 ? 0 : -1;
}

/* Takes up to TELEMETRY_BATCH items of one kind and sends them; spans first so that a trace's
 * spans reach the backend before its error logs schedule it. */
static void flush(telemetry_t *t, CURL *c)
{
    for (int k = 0; k < 3; k++) {
        for (;;) {
            pthread_mutex_lock(&t->lock);
            queue_t *q = &t->q[k];
            size_t n = q->n < TELEMETRY_BATCH ? q->n : TELEMETRY_BATCH;
            char **items = NULL;
            if (n) {
                items = xmalloc(n * sizeof(char *));
                memcpy(items, q->items, n * sizeof(char *));
                memmove(q->items, q->items + n, (q->n - n) * sizeof(char *));
                q->n -= n;
            }
            pthread_mutex_unlock(&t->lock);
            if (n == 0) break;
            buf_t body;
            buf_init(&body, 64 * 1024 * 1024);
            buf_printf(&body, "{\"%s\":[", keys[k]);
            for (size_t i = 0; i < n; i++) {
                if (i) buf_append_char(&body, ',');
                buf_append_str(&body, items[i]);
                free(items[i]);
            }
            buf_append_str(&body, "]}");
            free(items);
            int ok = post(t, c, paths[k], body.data) == 0;
            buf_dispose(&body);
            pthread_mutex_lock(&t->lock);
            if (ok)
                t->stats.sent[k] += n;
            else
                t->stats.dropped[k] += n; /* the backend is away: telemetry is lost, requests are not */
            pthread_mutex_unlock(&t->lock);
        }
    }
}

static void *sender_main(void *arg)
{
    telemetry_t *t = arg;
    CURL *c = curl_easy_init();
    for (;;) {
        pthread_mutex_lock(&t->lock);
        if (!t->stopping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&t->wake, &t->lock, &until);
        }
        int stopping = t->stopping;
        pthread_mutex_unlock(&t->lock);
        if (t->backend_url) flush(t, c);
        if (stopping) break;
    }
    curl_easy_cleanup(c);
    return NULL;
}

telemetry_t *telemetry_start(const char *backend_url, const char *api_key)
{
    telemetry_t *t = xcalloc(1, sizeof(*t));
    t->backend_url = backend_url ? xstrdup(backend_url) : NULL;
    char auth[512];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", api_key ? api_key : "");
    t->auth = xstrdup(auth);
    for (int k = 0; k < 3; k++)
        t->q[k].items = xcalloc(TELEMETRY_MAX_QUEUED, sizeof(char *));
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, NULL);
    pthread_create(&t->tid, NULL, sender_main, t);
    return t;
}

void telemetry_stop(telemetry_t *t)
{
    if (t == NULL) return;
    pthread_mutex_lock(&t->lock);
    t->stopping = 1;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->tid, NULL);
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < t->q[k].n; i++)
            free(t->q[k].items[i]);
        free(t->q[k].items);
    }
    free(t->backend_url);
    free(t->auth);
    free(t);
}

int telemetry_event_now(telemetry_t *t, json_t *record)
{
    json_t *body = json_pack("{s:[o]}", "events", record);
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    int rc = -1;
    if (t->backend_url) {
        CURL *c = curl_easy_init();
        rc = post(t, c, "/ingest/events", s);
        curl_easy_cleanup(c);
    }
    free(s);
    return rc;
}

void telemetry_get_stats(telemetry_t *t, telemetry_stats_t *out)
{
    pthread_mutex_lock(&t->lock);
    *out = t->stats;
    pthread_mutex_unlock(&t->lock);
}
