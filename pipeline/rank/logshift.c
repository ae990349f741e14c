/* Log evidence: how often each template is written per call of the operation whose span the line
 * belongs to (or per line of the service when the line has no span), baseline vs target, and the
 * share of error/warn lines of each service. A shift scores sqrt(G) x (relative change)^2 (a z-like
 * significance times an effect size in [0, 1], squared so that appearing and vanishing templates
 * count fully and mixes that drift with the workload little) in the bad direction: more error lines,
 * fewer usual lines. New non-error lines count RK_W_INFO_NEW; fewer error lines count nothing (a
 * recovery). Ids too large for the cell key (over 2^21 services or templates, 2^22 operations) are
 * not counted.
 *
 * Cells are counted once per target segment, so every cut of the scan is a sum:
 *   reference = baseline + segments before the cut, suffix = segments from the cut on. */
#include "rank_int.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#define SVC_BITS 21
#define OP_BITS 22
#define TMPL_BITS 21
#define OP_NONE ((1u << OP_BITS) - 1) /* lines without a span */
#define OP_ALL ((1u << OP_BITS) - 2)  /* every line of the service */
#define T_EXPOSURE ((1u << TMPL_BITS) - 1)
#define T_ERRLINES ((1u << TMPL_BITS) - 2)

typedef struct {
    uint32_t svc, op, tmpl;
    rk_counts_t n;
} cell_t;

static int in_range(uint32_t svc, uint32_t op, uint32_t tmpl)
{
    return svc < (1u << SVC_BITS) && op <= OP_NONE && tmpl <= T_EXPOSURE;
}

static cell_t *cell(rk_table_t *t, uint32_t svc, uint32_t op, uint32_t tmpl)
{
    uint64_t key = ((uint64_t)svc << (OP_BITS + TMPL_BITS)) | ((uint64_t)op << TMPL_BITS) | tmpl;
    int added;
    cell_t *c = rk_table_put(t, key, &added);
    if (added) {
        c->svc = svc;
        c->op = op;
        c->tmpl = tmpl;
    }
    return c;
}

static void bump(rk_table_t *t, uint32_t svc, uint32_t op, uint32_t tmpl, int target, uint8_t seg)
{
    if (!in_range(svc, op, tmpl)) return;
    cell_t *c = cell(t, svc, op, tmpl);
    if (target)
        c->n.seg[seg] += 1;
    else
        c->n.base += 1;
}

static void count_window(rk_table_t *t, const rk_window_t *w, int target)
{
    for (size_t i = 0; i < w->n_spans; i++)
        if (w->spans[i].op < OP_ALL)
            bump(t, w->spans[i].svc, w->spans[i].op, T_EXPOSURE, target, w->spans[i].seg);
    for (size_t i = 0; i < w->n_logs; i++) {
        const rk_log_t *l = &w->logs[i];
        int err = l->severity >= 4;
        /* A line of a sampled-away trace has no known operation, hence no calls to be a rate of; with
         * the lines that truly have no span (background work) it would make their mix follow the
         * traffic of every operation (a new endpoint's lines look new). It counts in the service's
         * error share only. */
        if (!l->trace_absent) {
            uint32_t op = l->op == RK_NONE || l->op >= OP_ALL ? OP_NONE : l->op;
            if (op == OP_NONE) bump(t, l->svc, OP_NONE, T_EXPOSURE, target, l->seg);
            if (l->tmpl < T_ERRLINES) bump(t, l->svc, op, l->tmpl, target, l->seg);
        }
        bump(t, l->svc, OP_ALL, T_EXPOSURE, target, l->seg);
        if (err) bump(t, l->svc, OP_ALL, T_ERRLINES, target, l->seg);
    }
}

static void emit(rk_run_t *run, const cell_t *x, int err, const rk_shift_t *s, int cut)
{
    rank_evidence_kind_t kind = RANK_EV_LOG_SHIFT;
    if (x->tmpl == T_ERRLINES)
        kind = RANK_EV_ERROR_RATE;
    else if (s->up && x->n.base == 0)
        kind = RANK_EV_LOG_NEW;
    else if (!s->up && s->kt == 0)
        kind = RANK_EV_LOG_VANISHED;
    rk_ev_t *ev = rk_ev_add(run, x->svc, RANK_CH_LOGS, kind, s->score);
    ev->error_up = err && s->up;
    ev->op = x->op < OP_ALL ? x->op : RK_NONE;
    ev->before = s->kb / s->nb;
    ev->after = s->kt / s->nt;
    ev->n_before = s->nb;
    ev->n_after = s->nt;
    const char *per = x->op == OP_ALL ? "lines" : x->op == OP_NONE ? "lines of the service" : "calls";
    ev->context = x->op < OP_ALL ? rk_arena_strdup(run->out, rk_op_name(run, x->op)) : NULL;
    if (kind == RANK_EV_ERROR_RATE) {
        ev->subject = "error/warn lines";
        ev->text = rk_arena_printf(
            run->out, "error/warn lines %s: %.0f of %.0f lines before, %.0f of %.0f after%s",
            s->up ? "rise" : "fall", s->kb, s->nb, s->kt, s->nt, cut ? " (from later in the window)" : "");
        return;
    }
    const char *t = rk_miner_text(run->miner, x->tmpl);
    ev->subject = rk_arena_strndup(run->out, t, strlen(t) > 200 ? 200 : strlen(t));
    static const char *what[] = {"new", "vanished", "shifted"};
    ev->text = rk_arena_printf(run->out,
                               "%s %s template \"%.120s\"%s%s: %.0f in %.0f %s before, %.0f in %.0f after%s",
                               what[kind - RANK_EV_LOG_NEW], err ? "error/warn" : "info", t,
                               ev->context ? " in " : "", ev->context ? ev->context : "", s->kb, s->nb, per,
                               s->kt, s->nt, cut ? " (from later in the window)" : "");
}

void rk_logshift_evidence(rk_run_t *run)
{
    rk_table_t t;
    rk_table_init(&t, sizeof(cell_t));
    count_window(&t, &run->base, 0);
    count_window(&t, &run->target, 1);
    size_t ncells = t.cells.len; /* exposure lookups below may not add cells */
    for (size_t i = 0; i < ncells; i++) {
        const cell_t *x = &RK_AT(&t.cells, cell_t, i);
        if (x->tmpl == T_EXPOSURE) continue;
        uint64_t ekey =
            ((uint64_t)x->svc << (OP_BITS + TMPL_BITS)) | ((uint64_t)x->op << TMPL_BITS) | T_EXPOSURE;
        const cell_t *e = rk_table_get(&t, ekey);
        if (e == NULL) continue;
        int err = x->tmpl == T_ERRLINES || (x->tmpl < T_ERRLINES && rk_miner_is_error(run->miner, x->tmpl));
        /* error lines: only more count (fewer is a recovery); usual lines: fewer count fully, more is
         * ambiguous (new traffic or a new code path) */
        double w_up = err ? 1.0 : RK_W_INFO_NEW, w_down = err ? 0.0 : 1.0;
        rk_shift_t s;
        int cut;
        if (rk_rate_shift(&x->n, &e->n, 0, w_up, w_down, 0, &s, &cut) && s.score > 0)
            emit(run, x, err, &s, cut);
    }
    rk_table_dispose(&t);
}
