/* The fake-shop driver (see shop.h). */
#include "shop.h"

#include "alloc.h"
#include "gzw.h"
#include "logline.h"
#include "metrics.h"
#include "plan.h"
#include "prng.h"
#include "sim.h"
#include "stats.h"
#include "topo.h"
#include "topo_doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS 1000000000LL
#define BURST_HEADROOM 3.0 /* arrivals are drawn at this multiple of the rate, then thinned */

typedef struct {
    const shop_opts_t *o;
    const topo_t *t;
    metrics_t *m;
    stats_minute_t st;
    shop_summary_t *sum;
} system_run_t;

/* Poisson arrivals over one minute, thinned by the window's traffic multiplier. */
static void simulate_minute(system_run_t *x, sim_t *s, int64_t from_ns)
{
    double max_rate = x->o->rate * BURST_HEADROOM;
    for (double t = prng_exponential(s->r, 1.0 / max_rate); t < 60.0;
         t += prng_exponential(s->r, 1.0 / max_rate)) {
        int64_t ts = from_ns + (int64_t)(t * 1e9);
        if (prng_chance(s->r, fault_traffic(s->f, ts) / BURST_HEADROOM)) sim_request(s, ts);
    }
}

/* One minute file pair (trace and log) under root/<day>; its figures go to the metric rows. */
static int write_minute(system_run_t *x, const char *root, const char *day, int minute, int64_t day_start_s,
                        const fault_t *f)
{
    char tp[4096], lp[4096];
    if (snprintf(tp, sizeof(tp), "%s/%s/trace/%02d_%02d_trace.csv.gz", root, day, minute / 60, minute % 60) >=
            (int)sizeof(tp) ||
        snprintf(lp, sizeof(lp), "%s/%s/log/%02d_%02d_log.csv.gz", root, day, minute / 60, minute % 60) >=
            (int)sizeof(lp)) {
        fprintf(stderr, "fake-shop: output path too long\n");
        return -1;
    }
    gzw_t tw, lw;
    if (gzw_open(&tw, tp)) return -1;
    if (gzw_open(&lw, lp)) {
        gzw_close(&tw);
        return -1;
    }
    gzw_printf(&tw, "%s", SIM_TRACE_HEADER);
    gzw_printf(&lw, "%s", LOGLINE_HEADER);
    prng_t r;
    prng_seed(&r, prng_derive(x->t->seed, 0x5100000 + (uint64_t)minute));
    sim_t s = {.t = x->t, .f = f, .r = &r, .spans = &tw, .logs = &lw, .st = &x->st};
    simulate_minute(x, &s, (day_start_s + 60LL * minute) * NS);
    stats_finish(&x->st, x->t->n_svc, x->m->rows[minute]);
    x->sum->spans += s.n_spans;
    x->sum->logs += s.n_logs;
    int a = gzw_close(&tw), b = gzw_close(&lw);
    return a || b ? -1 : 0;
}

/* The nominal per-minute figures of every pod: one healthy minute simulated without output. */
static void calibrate(system_run_t *x)
{
    prng_t r;
    prng_seed(&r, prng_derive(x->t->seed, 0xca1));
    sim_t s = {.t = x->t, .f = NULL, .r = &r, .spans = NULL, .logs = NULL, .st = &x->st};
    simulate_minute(x, &s, 0);
    stats_finish(&x->st, x->t->n_svc, x->m->nominal);
}

static int run_system(const shop_opts_t *o, int k, FILE *cases, topo_t *t, plan_t *p, shop_summary_t *sum)
{
    int64_t day_start = SHOP_DAY0 + 86400LL * k;
    topo_generate(t, o->seed + (uint64_t)k);
    plan_build(p, t, day_start);
    system_run_t x = {.o = o, .t = t, .m = metrics_create(t, day_start), .sum = sum};
    stats_init(&x.st);
    calibrate(&x);
    int rc = 0;
    char base[4096], mdir[4096];
    if (snprintf(base, sizeof(base), "%s/baseline", o->out) >= (int)sizeof(base) ||
        snprintf(mdir, sizeof(mdir), "%s/%s/metric", o->out, p->day) >= (int)sizeof(mdir)) {
        rc = -1;
        goto out;
    }
    for (int i = 0; i < PLAN_CASES && rc == 0; i++) {
        const plan_case_t *c = &p->cases[i];
        rc = write_minute(&x, base, p->day, c->minute, day_start, NULL);
        for (int m = 2; m <= 4 && rc == 0; m++)
            rc = write_minute(&x, o->out, p->day, c->minute + m, day_start, &c->f);
    }
    fault_t faults[PLAN_CASES];
    for (int i = 0; i < PLAN_CASES; i++)
        faults[i] = p->cases[i].f;
    if (rc == 0) rc = metrics_write(x.m, mdir, faults, PLAN_CASES);
    if (rc == 0) rc = plan_write_changes(p, o->out);
    plan_write_cases(p, cases);
    sum->cases += PLAN_CASES;
out:
    stats_dispose(&x.st);
    metrics_free(x.m);
    return rc;
}

int shop_run(const shop_opts_t *o, shop_summary_t *sum)
{
    memset(sum, 0, sizeof(*sum));
    char path[4096];
    if (snprintf(path, sizeof(path), "%s/cases.csv", o->out) >= (int)sizeof(path) || gzw_mkdirs(path))
        return -1;
    FILE *cases = fopen(path, "w");
    if (cases == NULL) {
        fprintf(stderr, "fake-shop: cannot write %s\n", path);
        return -1;
    }
    plan_write_cases_header(cases);
    topo_t *topos = xcalloc((size_t)o->systems, sizeof(topo_t));
    plan_t *plans = xcalloc((size_t)o->systems, sizeof(plan_t));
    int rc = 0;
    for (int k = 0; k < o->systems && rc == 0; k++)
        rc = run_system(o, k, cases, &topos[k], &plans[k], sum);
    if (fclose(cases) != 0) rc = -1;
    if (rc == 0) rc = topo_doc_write(o, topos, plans, o->systems);
    free(topos);
    free(plans);
    return rc;
}
