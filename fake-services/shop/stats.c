/* Per-minute pod figures (see stats.h). */
#include "stats.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

void stats_init(stats_minute_t *m)
{
    memset(m, 0, sizeof(*m));
}

void stats_dispose(stats_minute_t *m)
{
    for (int i = 0; i < TOPO_MAX_SVC; i++) {
        free(m->server[i].v);
        free(m->client[i].v);
    }
    memset(m, 0, sizeof(*m));
}

static void push(stats_vec_t *v, double x)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 256;
        v->v = xrealloc(v->v, v->cap * sizeof(double));
    }
    v->v[v->n++] = x;
}

void stats_add_server(stats_minute_t *m, int svc, double ms, int failed)
{
    push(&m->server[svc], ms);
    m->calls[svc]++;
    m->failed[svc] += failed != 0;
}

void stats_add_client(stats_minute_t *m, int svc, double ms)
{
    push(&m->client[svc], ms);
}

void stats_add_gc(stats_minute_t *m, int svc, double ms)
{
    m->gc_ms[svc] += ms;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double p90_s(stats_vec_t *v)
{
    if (v->n == 0) return 0;
    qsort(v->v, v->n, sizeof(double), cmp);
    return v->v[(size_t)(0.9 * (double)(v->n - 1))] / 1000.0;
}

void stats_finish(stats_minute_t *m, int n_svc, stats_row_t *rows)
{
    for (int i = 0; i < n_svc; i++) {
        stats_row_t *r = &rows[i];
        r->simulated = 1;
        r->server_p90_s = p90_s(&m->server[i]);
        r->client_p90_s = p90_s(&m->client[i]);
        r->workload = (double)m->calls[i];
        r->success_pct =
            m->calls[i] ? 100.0 * (double)(m->calls[i] - m->failed[i]) / (double)m->calls[i] : 100.0;
        r->gc_ms = m->gc_ms[i];
        m->server[i].n = m->client[i].n = 0;
        m->calls[i] = m->failed[i] = 0;
        m->gc_ms[i] = 0;
    }
}
