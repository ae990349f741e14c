/* Fault magnitudes and activity (see fault.h). */
#include "fault.h"

#include <stdio.h>
#include <string.h>

const char *fault_kind_name(fault_kind_t k)
{
    static const char *const names[] = {
        "latency",           "cpu",          "network-delay",      "error",
        "exception-caught",  "wrong-return", "dependency-stopped", "memory-gc",
        "bad-deploy",        "none-steady",  "none-ramp",          "none-burst",
        "none-new-endpoint",
    };
    return k < FAULT_KIND_COUNT ? names[k] : "?";
}

/* One of the services `svc` calls from an op requests reach, or -1 when it calls none (a leaf). */
static int pick_callee_service(const topo_t *t, int svc, prng_t *r)
{
    int cand[TOPO_MAX_SVC * TOPO_MAX_OPS], n = 0;
    const topo_service_t *s = &t->svc[svc];
    for (int k = 0; k < s->n_ops; k++)
        for (int c = 0; c < s->ops[k].n_calls && s->ops[k].reachable; c++)
            cand[n++] = s->ops[k].calls[c].svc;
    return n ? cand[prng_range(r, 0, n - 1)] : -1;
}

/* One of the service's ops that requests reach (see topo_op_t.reachable). */
static int reachable_op(const topo_service_t *s, prng_t *r)
{
    int cand[TOPO_MAX_OPS], n = 0;
    for (int k = 0; k < s->n_ops; k++)
        if (s->ops[k].reachable) cand[n++] = k;
    return n ? cand[prng_range(r, 0, n - 1)] : 0;
}

static void draw_effect(fault_t *f, const topo_t *t, prng_t *r)
{
    const topo_service_t *s = &t->svc[f->svc];
    switch (f->effect) {
    case FAULT_LATENCY:
        f->ms = prng_uniform(r, 50, 300);
        f->op = prng_chance(r, 0.5) ? reachable_op(s, r) : -1;
        break;
    case FAULT_CPU:
        f->factor = prng_uniform(r, 2, 4);
        f->cpu_points = prng_uniform(r, 30, 60);
        break;
    case FAULT_NETWORK_DELAY:
        f->ms = prng_uniform(r, 40, 200);
        break;
    case FAULT_ERROR:
    case FAULT_EXCEPTION_CAUGHT:
    case FAULT_WRONG_RETURN:
        f->prob = prng_uniform(r, 0.2, 0.6);
        f->fallback = prng_chance(r, 0.5);
        f->retry = prng_chance(r, 0.5);
        break;
    case FAULT_DEPENDENCY_STOPPED:
        f->prob = prng_uniform(r, 0.5, 1.0);
        f->stop_svc = pick_callee_service(t, f->svc, r);
        break;
    case FAULT_MEMORY_GC:
        f->prob = prng_uniform(r, 0.05, 0.15);
        f->mem_points = prng_uniform(r, 20, 40);
        f->pause_lo_ms = 50;
        f->pause_hi_ms = prng_uniform(r, 150, 400);
        break;
    default:
        break;
    }
}

void fault_draw(fault_t *f, const topo_t *t, fault_kind_t kind, int svc, int64_t start_ns, int64_t end_ns,
                prng_t *r)
{
    memset(f, 0, sizeof(*f));
    f->kind = f->effect = kind;
    f->svc = svc;
    f->start_ns = start_ns;
    f->end_ns = end_ns;
    f->op = -1;
    f->stop_svc = -1;
    f->traffic_peak = 1.0;
    switch (kind) {
    case FAULT_NONE_RAMP:
        f->traffic_peak = 1.5;
        return;
    case FAULT_NONE_BURST:
        f->traffic_peak = prng_uniform(r, 2, 3);
        f->burst_ns = (int64_t)(prng_uniform(r, 15, 30) * 1e9);
        return;
    case FAULT_NONE_STEADY:
    case FAULT_NONE_NEW_ENDPOINT:
        return;
    case FAULT_BAD_DEPLOY:
        f->effect = (fault_kind_t)prng_range(r, FAULT_LATENCY, FAULT_MEMORY_GC);
        snprintf(f->version, sizeof(f->version), "v%d.%d.%d", prng_range(r, 1, 4), prng_range(r, 0, 30),
                 prng_range(r, 0, 9));
        break;
    default:
        break;
    }
    draw_effect(f, t, r);
}

int fault_on(const fault_t *f, fault_kind_t effect, int svc, int64_t ts)
{
    return f != NULL && f->svc == svc && f->effect == effect && ts >= f->start_ns && ts < f->end_ns;
}

double fault_traffic(const fault_t *f, int64_t ts)
{
    if (f == NULL || ts < f->start_ns || ts >= f->end_ns) return 1.0;
    if (f->kind == FAULT_NONE_RAMP)
        return 1.0 + (f->traffic_peak - 1.0) * (double)(ts - f->start_ns) / (double)(f->end_ns - f->start_ns);
    if (f->kind == FAULT_NONE_BURST && ts < f->start_ns + f->burst_ns) return f->traffic_peak;
    return 1.0;
}

int fault_new_endpoint(const fault_t *f, int64_t ts)
{
    return f != NULL && f->kind == FAULT_NONE_NEW_ENDPOINT && ts >= f->start_ns && ts < f->end_ns;
}
