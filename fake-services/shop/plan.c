/* The day plan of one system (see plan.h). */
#include "plan.h"

#include "prng.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS 1000000000LL
#define ROUTINE_DEPLOY_MEAN_S (20 * 60)

/* The services of each position, the asynchronous consumer last (it is chosen least). */
static int services_at(const topo_t *t, topo_pos_t pos, int *out)
{
    int n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < t->n_svc; i++)
            if (t->svc[i].pos == pos && (t->svc[i].kind == TOPO_ASYNC) == pass) out[n++] = i;
    return n;
}

static void window(const plan_case_t *c, int64_t day_start_s, int64_t *from_ns, int64_t *to_ns)
{
    *from_ns = (day_start_s + 60LL * (c->minute + 2)) * NS;
    *to_ns = (day_start_s + 60LL * (c->minute + 5)) * NS;
}

static void draw_case(plan_t *p, plan_case_t *c, fault_kind_t kind, int svc, prng_t *r)
{
    int64_t from, to;
    window(c, p->day_start_s, &from, &to);
    int64_t start = from + (int64_t)(prng_uniform(r, 5, 40) * NS);
    if (kind == FAULT_NONE_RAMP) start = from;
    if (kind == FAULT_NONE_BURST) start = from + (int64_t)(prng_uniform(r, 5, 140) * NS);
    fault_draw(&c->f, p->t, kind, svc, start, to, r);
    time_t sec = (time_t)(start / NS);
    struct tm tm;
    gmtime_r(&sec, &tm);
    snprintf(c->id, sizeof(c->id), "%s-%02d%02d", p->t->system, tm.tm_hour, tm.tm_min);
}

static int cmp_change(const void *a, const void *b)
{
    const plan_change_t *x = a, *y = b;
    return (x->ts_ns > y->ts_ns) - (x->ts_ns < y->ts_ns);
}

static void add_change(plan_t *p, int64_t ts, int svc, const char *type, const char *version)
{
    if (p->n_changes >= PLAN_MAX_CHANGES) return; /* a day holds about 72 routine deploys */
    plan_change_t *c = &p->changes[p->n_changes++];
    c->ts_ns = ts;
    c->svc = svc;
    snprintf(c->type, sizeof(c->type), "%s", type);
    snprintf(c->desc, sizeof(c->desc), "deploy %s", version);
}

static void plan_changes(plan_t *p, prng_t *r)
{
    p->n_changes = 0;
    for (double t = prng_exponential(r, ROUTINE_DEPLOY_MEAN_S); t < 86400;
         t += prng_exponential(r, ROUTINE_DEPLOY_MEAN_S)) {
        char v[16];
        snprintf(v, sizeof(v), "v%d.%d.%d", prng_range(r, 1, 4), prng_range(r, 0, 30), prng_range(r, 0, 9));
        add_change(p, (p->day_start_s + (int64_t)t) * NS + prng_range(r, 0, 999) * 1000000LL,
                   prng_range(r, 0, p->t->n_svc - 1), "deployment", v);
    }
    for (int i = 0; i < PLAN_CASES; i++)
        if (p->cases[i].f.kind == FAULT_BAD_DEPLOY)
            add_change(p, p->cases[i].f.start_ns, p->cases[i].f.svc, "deployment", p->cases[i].f.version);
    qsort(p->changes, (size_t)p->n_changes, sizeof(plan_change_t), cmp_change);
}

void plan_build(plan_t *p, const topo_t *t, int64_t day_start_s)
{
    memset(p, 0, sizeof(*p));
    p->t = t;
    p->day_start_s = day_start_s;
    time_t sec = (time_t)day_start_s;
    struct tm tm;
    gmtime_r(&sec, &tm);
    snprintf(p->day, sizeof(p->day), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    prng_t r;
    prng_seed(&r, prng_derive(t->seed, 0x91a4));
    /* (kind, service, position) of every case, then a shuffled order of minutes */
    int kind[PLAN_CASES], svc[PLAN_CASES], pos[PLAN_CASES], n = 0;
    for (int ps = 0; ps < POS_COUNT; ps++) {
        int list[TOPO_MAX_SVC], nl = services_at(t, (topo_pos_t)ps, list);
        for (int k = 0; k < FAULT_TYPE_COUNT; k++, n++) {
            kind[n] = k;
            svc[n] = list[k % nl];
            pos[n] = ps;
        }
    }
    for (int k = 0; k < PLAN_FREE; k++, n++) {
        kind[n] = FAULT_NONE_STEADY + k / 2;
        svc[n] = -1;
        pos[n] = POS_COUNT;
    }
    int order[PLAN_CASES];
    for (int i = 0; i < PLAN_CASES; i++)
        order[i] = i;
    prng_shuffle(&r, order, PLAN_CASES);
    for (int i = 0; i < PLAN_CASES; i++) {
        plan_case_t *c = &p->cases[i];
        int j = order[i];
        c->minute = PLAN_FIRST_MINUTE + PLAN_SPACING * i;
        c->pos = (topo_pos_t)pos[j];
        draw_case(p, c, (fault_kind_t)kind[j], svc[j], &r);
    }
    plan_changes(p, &r);
}

void plan_write_cases_header(FILE *f)
{
    fprintf(
        f, "case_id,system,day,inject_time_utc,inject_timestamp,root_cause_service,root_cause_pod,fault_type,"
           "minute_files,baseline_minute,position\n");
}

static void hhmm(char *out, size_t cap, int minute)
{
    snprintf(out, cap, "%02d_%02d", minute / 60, minute % 60);
}

void plan_write_cases(const plan_t *p, FILE *f)
{
    for (int i = 0; i < PLAN_CASES; i++) {
        const plan_case_t *c = &p->cases[i];
        time_t sec = (time_t)(c->f.start_ns / NS);
        struct tm tm;
        gmtime_r(&sec, &tm);
        char m[3][16], b[16];
        for (int k = 0; k < 3; k++)
            hhmm(m[k], sizeof(m[k]), c->minute + 2 + k);
        hhmm(b, sizeof(b), c->minute);
        const topo_service_t *s = c->f.svc >= 0 ? &p->t->svc[c->f.svc] : NULL;
        fprintf(f, "%s,%s,%s,%s %02d:%02d:%02d,%lld,%s,%s,%s,%s;%s;%s,%s,%s\n", c->id, p->t->system, p->day,
                p->day, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)sec, s ? s->name : "", s ? s->pod : "",
                fault_kind_name(c->f.kind), m[0], m[1], m[2], b, topo_pos_name(c->pos));
    }
}

int plan_write_changes(const plan_t *p, const char *root)
{
    char path[4096];
    if (snprintf(path, sizeof(path), "%s/%s/change/changes.csv.gz", root, p->day) >= (int)sizeof(path))
        return -1;
    gzw_t w;
    if (gzw_open(&w, path)) return -1;
    gzw_printf(&w, "TimeUnixNano,Service,Type,Description\n");
    for (int i = 0; i < p->n_changes; i++)
        gzw_printf(&w, "%lld,%s,%s,%s\n", (long long)p->changes[i].ts_ns, p->t->svc[p->changes[i].svc].name,
                   p->changes[i].type, p->changes[i].desc);
    return gzw_close(&w);
}
