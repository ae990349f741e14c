/* The per-pod metric model and its files (see metrics.h). */
#include "metrics.h"

#include "alloc.h"
#include "gzw.h"
#include "prng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

metrics_t *metrics_create(const topo_t *t, int64_t day_start_s)
{
    metrics_t *m = xcalloc(1, sizeof(*m));
    m->t = t;
    m->day_start_s = day_start_s;
    return m;
}

void metrics_free(metrics_t *m)
{
    free(m);
}

/* Share of minute [a, a + 60 s) during which f acts with `effect` on svc, and how far into the fault the
 * minute's end is (0..1). */
static double active_share(const fault_t *f, fault_kind_t effect, int svc, int64_t a_ns, double *progress)
{
    if (f->svc != svc || f->effect != effect) return 0;
    int64_t b_ns = a_ns + 60000000000LL;
    int64_t lo = a_ns > f->start_ns ? a_ns : f->start_ns, hi = b_ns < f->end_ns ? b_ns : f->end_ns;
    if (hi <= lo) return 0;
    double p = (double)(hi - f->start_ns) / (double)(f->end_ns - f->start_ns);
    if (p > *progress) *progress = p;
    return (double)(hi - lo) / 60e9;
}

typedef struct {
    double cpu, mem, gc_extra;
} effect_t;

static effect_t fault_effects(const fault_t *faults, size_t n, int svc, int64_t a_ns)
{
    effect_t e = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        double prog = 0;
        e.cpu += faults[i].cpu_points * active_share(&faults[i], FAULT_CPU, svc, a_ns, &prog);
        double share = active_share(&faults[i], FAULT_MEMORY_GC, svc, a_ns, &prog);
        if (share > 0) {
            e.mem += faults[i].mem_points * prog;
            e.gc_extra += share * 60 * faults[i].prob * 10; /* young collections under pressure */
        }
    }
    return e;
}

static int write_pod(const metrics_t *m, int svc, const char *dir, const fault_t *faults, size_t n_faults)
{
    const topo_service_t *s = &m->t->svc[svc];
    char path[4096];
    if (snprintf(path, sizeof(path), "%s/%s_metric.csv.gz", dir, s->pod) >= (int)sizeof(path)) return -1;
    gzw_t w;
    if (gzw_open(&w, path)) return -1;
    gzw_printf(&w, "%s", METRICS_HEADER);
    prng_t r;
    prng_seed(&r, prng_derive(m->t->seed, 0x3e7000 + (uint64_t)svc));
    double period = prng_uniform(&r, 300, 900), phase = prng_uniform(&r, 0, 6.283), mem_walk = 0;
    const stats_row_t *nom = &m->nominal[svc];
    for (int k = 0; k < METRICS_MINUTES; k++) {
        const stats_row_t *row = &m->rows[k][svc];
        double drift = 1.0 + 0.08 * sin(6.283185307 * k / period + phase);
        double load = row->simulated ? row->workload : nom->workload * drift * (1 + 0.04 * prng_normal(&r));
        if (load < 0) load = 0;
        double ratio = nom->workload > 0 ? load / nom->workload : 1.0;
        double sp90 = row->simulated && row->workload > 0 ? row->server_p90_s
                                                          : nom->server_p90_s * (1 + 0.06 * prng_normal(&r));
        double cp90 = row->simulated && row->client_p90_s > 0
                          ? row->client_p90_s
                          : nom->client_p90_s * (1 + 0.06 * prng_normal(&r));
        int64_t a_ns = (m->day_start_s + 60LL * k) * 1000000000LL;
        effect_t e = fault_effects(faults, n_faults, svc, a_ns);
        mem_walk += 0.05 * prng_normal(&r);
        mem_walk *= 0.98;
        double cpu = s->cpu_base * pow(ratio, 0.8) + prng_normal(&r) + e.cpu;
        double mem = s->mem_base + 2 * drift + mem_walk + 0.3 * prng_normal(&r) + e.mem;
        double gc = s->gc_base_ms * ratio * (1 + 0.2 * prng_normal(&r)) + row->gc_ms + e.gc_extra;
        double rx = load * s->bytes_per_op * (1 + 0.05 * prng_normal(&r));
        double tx = load * s->bytes_per_op * 1.6 * (1 + 0.05 * prng_normal(&r));
        double success = row->simulated ? row->success_pct : 100.0;
        time_t stamp = (time_t)(m->day_start_s + 60LL * k + 59);
        struct tm tm;
        gmtime_r(&stamp, &tm);
        gzw_printf(
            &w,
            "%04d-%02d-%02d %02d:%02d:%02d +0000 UTC,%lld,%s,%.2f,%.2f,%.0f,%.0f,%.4f,%.4f,%.0f,%.2f,%.1f\n",
            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)stamp,
            s->pod, cpu < 0.1 ? 0.1 : (cpu > 100 ? 100 : cpu), mem > 99 ? 99 : mem, rx < 0 ? 0 : rx,
            tx < 0 ? 0 : tx, cp90 < 0 ? 0 : cp90, sp90 < 0 ? 0 : sp90, load, success, gc < 0 ? 0 : gc);
    }
    return gzw_close(&w);
}

int metrics_write(const metrics_t *m, const char *dir, const fault_t *faults, size_t n_faults)
{
    int rc = 0;
    for (int i = 0; i < m->t->n_svc; i++)
        if (write_pod(m, i, dir, faults, n_faults)) rc = -1;
    return rc;
}
