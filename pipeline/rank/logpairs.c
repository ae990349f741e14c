/* Log evidence from lines an operation writes together. Within one operation some templates always
 * come in pairs: a line written before a step and one written after it ("calculating distance", then
 * the distance). When the second stops following the first, the code between them broke off (an
 * exception thrown between two statements). Counted per call of the operation (logshift.c), such a
 * line also moves with the workload: when more requests take the branch that writes both, the first
 * rises, and the second's fall per call is diluted. Counted per call that wrote the first line, it is
 * not.
 *
 * A unit is one span with its lines. A pair (A, B) of templates of one operation holds in the baseline
 * when at least RK_PAIR_HOLDS of the spans writing A (RK_MIN_SAMPLES of them at least) also write B.
 * Its break is a rate shift (rateshift.c) of spans writing both per span writing A, counted when it
 * falls; one item per (operation, B): the anchor A with the strongest break. B is a usual line:
 * fewer error lines are a recovery. A span whose lines hold more than RK_PAIR_MAX_TEMPLATES templates
 * is a loop over data, not one path, and is not counted. */
#include "rank_int.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#define RK_PAIR_HOLDS 0.9
#define RK_PAIR_MAX_TEMPLATES 32

typedef struct {
    uint32_t op, anchor, tmpl; /* tmpl RK_NONE: the count of spans writing the anchor */
    uint32_t svc;
    rk_counts_t n;
} cell_t;

typedef struct {
    uint32_t span, tmpl;
} line_t;

static uint64_t key_of(uint32_t op, uint32_t anchor, uint32_t tmpl)
{
    uint32_t k[3] = {op, anchor, tmpl};
    return rk_hash_bytes(k, sizeof(k), 0x9a125);
}

/* The cell of (op, anchor, tmpl), created only when `create`; NULL otherwise when absent. */
static cell_t *cell(rk_table_t *t, uint32_t svc, uint32_t op, uint32_t anchor, uint32_t tmpl, int create)
{
    uint64_t key = key_of(op, anchor, tmpl);
    if (!create) return rk_table_get(t, key);
    int added;
    cell_t *c = rk_table_put(t, key, &added);
    if (added) *c = (cell_t){op, anchor, tmpl, svc, {0, {0}}};
    return c;
}

static void bump(cell_t *c, int target, uint8_t seg)
{
    if (c == NULL) return;
    if (target)
        c->n.seg[seg] += 1;
    else
        c->n.base += 1;
}

static int cmp_line(const void *a, const void *b)
{
    const line_t *x = a, *y = b;
    if (x->span != y->span) return x->span < y->span ? -1 : 1;
    return x->tmpl < y->tmpl ? -1 : x->tmpl > y->tmpl;
}

/* The distinct (span, template) of w's lines linked to a span, sorted; *n_out of them. */
static line_t *span_lines(const rk_window_t *w, size_t *n_out)
{
    line_t *v = xcalloc(w->n_logs ? w->n_logs : 1, sizeof(line_t));
    size_t n = 0;
    for (size_t i = 0; i < w->n_logs; i++) {
        const rk_log_t *l = &w->logs[i];
        if (l->span != RK_NONE && l->tmpl != RK_NONE) v[n++] = (line_t){l->span, l->tmpl};
    }
    qsort(v, n, sizeof(line_t), cmp_line);
    size_t d = 0;
    for (size_t i = 0; i < n; i++)
        if (d == 0 || cmp_line(&v[d - 1], &v[i]) != 0) v[d++] = v[i];
    *n_out = d;
    return v;
}

/* Counts the spans writing each anchor, and those writing each pair. The baseline creates the pairs;
 * the target only counts those the baseline had (a pair new in the target cannot break). */
static void count_window(rk_table_t *t, const rk_window_t *w, int target)
{
    size_t n;
    line_t *v = span_lines(w, &n);
    for (size_t a = 0, b; a < n; a = b) {
        for (b = a; b < n && v[b].span == v[a].span; b++)
            ;
        if (b - a > RK_PAIR_MAX_TEMPLATES) continue;
        const rk_span_t *s = &w->spans[v[a].span];
        for (size_t i = a; i < b; i++) {
            bump(cell(t, s->svc, s->op, v[i].tmpl, RK_NONE, 1), target, s->seg);
            for (size_t j = a; j < b; j++)
                if (j != i) bump(cell(t, s->svc, s->op, v[i].tmpl, v[j].tmpl, !target), target, s->seg);
        }
    }
    free(v);
}

static void emit(rk_run_t *run, const cell_t *x, const rk_shift_t *s, int cut)
{
    rk_ev_t *ev = rk_ev_add(run, x->svc, RANK_CH_LOGS, RANK_EV_LOG_UNPAIRED, s->score);
    const char *b = rk_miner_text(run->miner, x->tmpl), *a = rk_miner_text(run->miner, x->anchor);
    const char *op = rk_op_name(run, x->op);
    ev->op = x->op;
    ev->context = rk_arena_strdup(run->out, op);
    ev->subject = rk_arena_strndup(run->out, b, strlen(b) > 200 ? 200 : strlen(b));
    ev->before = s->kb / s->nb;
    ev->after = s->kt / s->nt;
    ev->n_before = s->nb;
    ev->n_after = s->nt;
    ev->text =
        rk_arena_printf(run->out,
                        "info template \"%.120s\" no longer follows \"%.120s\" in %s: in %.0f of %.0f calls "
                        "writing it before, %.0f of %.0f after%s",
                        b, a, op, s->kb, s->nb, s->kt, s->nt, cut ? " (from later in the window)" : "");
}

void rk_logpairs_evidence(rk_run_t *run)
{
    rk_table_t t;
    rk_table_init(&t, sizeof(cell_t));
    count_window(&t, &run->base, 0);
    count_window(&t, &run->target, 1);

    /* the strongest break of each (operation, template): best[key] = its cell's index */
    rk_map_t best;
    rk_map_init(&best);
    rk_shift_t *shift = xcalloc(t.cells.len ? t.cells.len : 1, sizeof(rk_shift_t));
    int *cut = xcalloc(t.cells.len ? t.cells.len : 1, sizeof(int));
    rk_vec_t order; /* uint32_t: cells that won a slot, in first-won order */
    rk_vec_init(&order, sizeof(uint32_t));
    for (size_t i = 0; i < t.cells.len; i++) {
        const cell_t *x = &RK_AT(&t.cells, cell_t, i);
        if (x->tmpl == RK_NONE || rk_miner_is_error(run->miner, x->tmpl)) continue;
        const cell_t *e = cell(&t, x->svc, x->op, x->anchor, RK_NONE, 0);
        if (e == NULL || e->n.base < RK_MIN_SAMPLES || x->n.base < RK_PAIR_HOLDS * e->n.base) continue;
        if (!rk_rate_shift(&x->n, &e->n, 1, 0.0, 1.0, RK_MIN_SAMPLES, &shift[i], &cut[i]) ||
            shift[i].score <= 0)
            continue;
        int added;
        uint32_t *slot = rk_map_put(&best, key_of(x->op, RK_NONE, x->tmpl), (uint32_t)i, &added);
        if (added)
            *(uint32_t *)rk_vec_push(&order) = (uint32_t)i;
        else if (shift[i].score > shift[*slot].score ||
                 (shift[i].score == shift[*slot].score &&
                  strcmp(rk_miner_text(run->miner, x->anchor),
                         rk_miner_text(run->miner, RK_AT(&t.cells, cell_t, *slot).anchor)) < 0))
            *slot = (uint32_t)i;
    }
    for (size_t k = 0; k < order.len; k++) {
        uint32_t first = RK_AT(&order, uint32_t, k);
        const cell_t *x = &RK_AT(&t.cells, cell_t, first);
        uint32_t i = *rk_map_get(&best, key_of(x->op, RK_NONE, x->tmpl));
        emit(run, &RK_AT(&t.cells, cell_t, i), &shift[i], cut[i]);
    }
    rk_vec_dispose(&order);
    free(cut);
    free(shift);
    rk_map_dispose(&best);
    rk_table_dispose(&t);
}
