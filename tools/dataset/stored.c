/* What the stack holds for a time range once a dataset has been replayed through it: the records of a
 * window's own files and of the other files sent before it that fall into the range, one copy of a
 * record sent twice (spans by trace id, span id and start; logs by time, trace id, service and message,
 * as the ingest's unique keys). Minute files overlap in time (a file holds the traces collected up to
 * its name's minute), so a baseline minute and the next case's first file share a minute or more; ranking
 * only the baseline's own file made eval-offline see a thinner baseline than the stack. */
#include "dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t *slot; /* 0: empty */
    size_t cap, n;
} keyset_t;

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t mix_str(uint64_t h, const char *s)
{
    return mix(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

static uint64_t span_key(const rank_span_t *s)
{
    uint64_t h = mix_str(0xcbf29ce484222325ULL, s->trace_id);
    h = mix_str(h, s->span_id);
    h = mix(h, &s->start_ns, sizeof(s->start_ns));
    return h ? h : 1;
}

static uint64_t log_key(const rank_log_t *l)
{
    uint64_t h = mix(0x84222325cbf29ce4ULL, &l->ts_ns, sizeof(l->ts_ns));
    h = mix_str(h, l->trace_id);
    h = mix_str(h, l->service);
    h = mix_str(h, l->message);
    return h ? h : 1;
}

static void keyset_init(keyset_t *k, size_t expected)
{
    k->cap = 64;
    while (k->cap < expected * 2)
        k->cap *= 2;
    k->slot = calloc(k->cap, sizeof(uint64_t));
    if (k->slot == NULL) exit(2);
    k->n = 0;
}

/* 1 when `key` was added, 0 when the set held it already. */
static int keyset_add(keyset_t *k, uint64_t key)
{
    size_t i = (size_t)key & (k->cap - 1);
    while (k->slot[i] != 0) {
        if (k->slot[i] == key) return 0;
        i = (i + 1) & (k->cap - 1);
    }
    k->slot[i] = key;
    k->n++;
    return 1;
}

/* Makes room for `more` keys, keeping the set at most half full. */
static void keyset_reserve(keyset_t *k, size_t more)
{
    if ((k->n + more) * 2 <= k->cap) return;
    keyset_t bigger;
    keyset_init(&bigger, k->n + more);
    for (size_t i = 0; i < k->cap; i++)
        if (k->slot[i]) keyset_add(&bigger, k->slot[i]);
    free(k->slot);
    *k = bigger;
}

/* Keeps w's records from index `first` on that lie in [from, to) and are not yet in `seen`. */
static void keep_new_spans(ds_window_t *w, size_t first, int64_t from, int64_t to, keyset_t *seen)
{
    size_t out = first;
    for (size_t i = first; i < w->n_spans; i++) {
        const rank_span_t *s = &w->spans[i];
        if (s->start_ns < from || s->start_ns >= to || !keyset_add(seen, span_key(s))) continue;
        w->spans[out++] = *s;
    }
    w->n_spans = out;
}

static void keep_new_logs(ds_window_t *w, size_t first, int64_t from, int64_t to, keyset_t *seen)
{
    size_t out = first;
    for (size_t i = first; i < w->n_logs; i++) {
        const rank_log_t *l = &w->logs[i];
        if (l->ts_ns < from || l->ts_ns >= to || !keyset_add(seen, log_key(l))) continue;
        w->logs[out++] = *l;
    }
    w->n_logs = out;
}

int64_t ds_minute_ns(const char *day, const char *minute)
{
    struct tm tm = {0};
    int y, mo, d, h, mi;
    if (sscanf(day, "%d-%d-%d", &y, &mo, &d) != 3 || sscanf(minute, "%d_%d", &h, &mi) != 2) return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (int64_t)timegm(&tm) * 1000000000LL;
}

void ds_as_stored(ds_window_t *w, const ds_file_t *files, size_t n_files, int64_t from, int64_t to)
{
    size_t s0 = w->n_spans, l0 = w->n_logs;
    keyset_t spans, logs;
    keyset_init(&spans, s0 + 1024);
    keyset_init(&logs, l0 + 1024);
    keep_new_spans(w, 0, from, to, &spans);
    keep_new_logs(w, 0, from, to, &logs);
    w->from = from;
    w->to = to;
    /* a file named HH_MM holds records from about two minutes before to one after that minute */
    int64_t lo = from - 2 * DS_METRIC_ROW_NS, hi = to + 3 * DS_METRIC_ROW_NS;
    for (size_t f = 0; f < n_files; f++) {
        if (files[f].minute_ns < lo || files[f].minute_ns > hi) continue;
        size_t fs = w->n_spans, fl = w->n_logs;
        char minute[1][8];
        ds_copy_field(minute[0], sizeof(minute[0]), files[f].minute);
        if (ds_load_minutes(w, files[f].root, files[f].day, minute, 1) != 0) continue;
        /* a file adds at most its records */
        keyset_reserve(&spans, w->n_spans - fs);
        keyset_reserve(&logs, w->n_logs - fl);
        keep_new_spans(w, fs, from, to, &spans);
        keep_new_logs(w, fl, from, to, &logs);
    }
    free(spans.slot);
    free(logs.slot);
}
