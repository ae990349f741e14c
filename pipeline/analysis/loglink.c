/* Log order and log-to-span links (see loglink.h). */
#include "loglink.h"
#include "alloc.h"
#include "strutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIME_LINK_SCAN 64 /* spans looked at, backwards from the log's time, per log */

/* Severity from the level text when the column says nothing. */
static int severity_of(const analysis_log_t *l)
{
    if (l->severity >= 1 && l->severity <= 6) return l->severity;
    const char *v = an_str(l->level);
    size_t n = strlen(v);
    static const struct {
        const char *word;
        int sev;
    } words[] = {{"fatal", 6}, {"crit", 6}, {"panic", 6},  {"emerg", 6}, {"alert", 6}, {"err", 5},
                 {"warn", 4},  {"info", 3}, {"notice", 3}, {"debug", 2}, {"trace", 1}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (an_contains_ci(v, n, words[i].word)) return words[i].sev;
    return 3;
}

static int cmp_log(const void *pa, const void *pb)
{
    const analysis_logref_t *ra = pa, *rb = pb;
    const analysis_log_t *a = ra->log, *b = rb->log;
    if (a->ts_ns != b->ts_ns) return a->ts_ns < b->ts_ns ? -1 : 1;
    if (ra->severity != rb->severity) return rb->severity - ra->severity;
    const char *fa[] = {a->service, a->message, a->span_id, a->level, a->stack_trace, a->attributes_json};
    const char *fb[] = {b->service, b->message, b->span_id, b->level, b->stack_trace, b->attributes_json};
    for (size_t i = 0; i < sizeof(fa) / sizeof(fa[0]); i++) {
        int c = an_strcmp(fa[i], fb[i]);
        if (c) return c;
    }
    return 0;
}

/* Spans by (service, raw start, node) for the time fallback. */
static int cmp_by_service(const void *pa, const void *pb, void *arg)
{
    const analysis_tree_t *t = arg;
    int a = *(const int *)pa, b = *(const int *)pb;
    int c = strcmp(t->nodes[a].service, t->nodes[b].service);
    if (c) return c;
    int64_t sa = t->nodes[a].raw_start_ns, sb = t->nodes[b].raw_start_ns;
    if (sa != sb) return sa < sb ? -1 : 1;
    return (a > b) - (a < b);
}

/* Whether candidate c is a better home than the current best b for a log: deeper, then shorter,
 * then later start, then node order. */
static int better(const analysis_tree_t *t, int c, int b)
{
    if (b < 0) return 1;
    const analysis_node_t *nc = &t->nodes[c], *nb = &t->nodes[b];
    if (nc->depth != nb->depth) return nc->depth > nb->depth;
    int64_t dc = nc->raw_end_ns - nc->raw_start_ns, db = nb->raw_end_ns - nb->raw_start_ns;
    if (dc != db) return dc < db;
    if (nc->raw_start_ns != nb->raw_start_ns) return nc->raw_start_ns > nb->raw_start_ns;
    return c < b;
}

/* The innermost span of the log's service running at its time (raw clock: the log and the span come
 * from the same host), or -1. */
static int link_by_time(const analysis_tree_t *t, const int *by_service, const analysis_log_t *l)
{
    const char *svc = l->service ? l->service : "unknown";
    size_t lo = 0, hi = t->nnodes;
    /* first index past the last span of svc that starts at or before the log */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const analysis_node_t *nd = &t->nodes[by_service[mid]];
        int c = strcmp(nd->service, svc);
        if (c < 0 || (c == 0 && nd->raw_start_ns <= l->ts_ns))
            lo = mid + 1;
        else
            hi = mid;
    }
    int best = -1;
    for (size_t k = lo, seen = 0; k-- > 0 && seen < TIME_LINK_SCAN; seen++) {
        int x = by_service[k];
        const analysis_node_t *nd = &t->nodes[x];
        if (strcmp(nd->service, svc) != 0) break;
        if (nd->raw_end_ns >= l->ts_ns && better(t, x, best)) best = x;
    }
    return best;
}

int analysis_logs_link(const trace_ctx_t *ctx, const analysis_tree_t *t, analysis_logs_t *out)
{
    memset(out, 0, sizeof(*out));
    size_t n = ctx->nlogs;
    out->logs = xcalloc(n ? n : 1, sizeof(analysis_logref_t));
    out->nlogs = n;
    for (size_t i = 0; i < n; i++) {
        out->logs[i].log = &ctx->logs[i];
        out->logs[i].severity = severity_of(&ctx->logs[i]);
    }
    qsort(out->logs, n, sizeof(analysis_logref_t), cmp_log);
    int *by_service = xcalloc(t->nnodes ? t->nnodes : 1, sizeof(int));
    for (size_t i = 0; i < t->nnodes; i++)
        by_service[i] = (int)i;
    qsort_r(by_service, t->nnodes, sizeof(int), cmp_by_service, (void *)t);
    out->first = xcalloc(t->nnodes + 1, sizeof(int));
    for (size_t i = 0; i < n; i++) {
        analysis_logref_t *r = &out->logs[i];
        r->node = analysis_tree_find(t, r->log->span_id);
        if (r->node < 0) {
            r->node = link_by_time(t, by_service, r->log);
            r->by_time = r->node >= 0;
        }
        if (r->node >= 0) out->first[r->node + 1]++;
        if (r->severity >= ANALYSIS_SEV_ERROR) out->nerror++;
    }
    free(by_service);
    for (size_t x = 0; x < t->nnodes; x++)
        out->first[x + 1] += out->first[x];
    out->of_node = xcalloc(n ? n : 1, sizeof(int));
    int *fill = xcalloc(t->nnodes ? t->nnodes : 1, sizeof(int));
    for (size_t i = 0; i < n; i++) {
        int x = out->logs[i].node;
        if (x >= 0) out->of_node[out->first[x] + fill[x]++] = (int)i;
    }
    free(fill);
    return 0;
}

void analysis_logs_dispose(analysis_logs_t *l)
{
    if (l == NULL) return;
    free(l->logs);
    free(l->first);
    free(l->of_node);
    memset(l, 0, sizeof(*l));
}

void analysis_log_id(size_t i, char *out, size_t outlen)
{
    snprintf(out, outlen, "log:%zu", i);
}
