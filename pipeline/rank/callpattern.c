/* Span-shape evidence that needs no log line and no latency change:
 *   - call pattern: how many calls each invocation of an operation makes to each callee operation
 *     (an invocation is the topmost span of a service in a trace: its server or root span, with the
 *     service's own spans below it). A fault that makes a service return early, skip a dependency or
 *     repeat a call changes these rates. Fewer calls (over the invocations that did not fail) count
 *     fully and charge the caller; more calls to another service count RK_W_CALLS_MORE and charge
 *     that service (the caller asks again because of its answer). Both weigh the relative change
 *     once, not squared as log lines do.
 *     A leaf's own steps below an invocation (its database and disk client spans) count the same
 *     way: a step it stops taking is a skipped dependency too.
 *   - own error spans: error spans per span of a (service, operation) that began there (no span of
 *     another service below them failed), so an error a callee returned is not charged to its
 *     callers, and an entry service's own error responses count for it.
 *   - own exceptions: spans recording an exception event (OTel's span.recordException, handled or
 *     not) per span, counted the same way: a caught exception that leaves no error status and no log
 *     line (logs not collected) still shows where it was thrown.
 * Both are rate shifts over the scan (rateshift.c) with at least RK_MIN_SAMPLES invocations or spans
 * a side. A call counts only when at least RK_CALLS_USUAL of the invocations make it, before or after:
 * an operation that routes each request to one of many endpoints (a gateway routing every path) changes its
 * mix with the traffic, and that is no fault. */
#include "rank_int.h"

#include <string.h>

/* *_CLEAN: the same counted over the invocations that did not fail (no error status, no error/warn line
 * of the service in the trace). Fewer calls are read there only: an invocation that fails returns
 * early, and the calls it then skips are the failure's consequence, already counted as errors. */
typedef enum {
    CELL_INVOCATIONS,
    CELL_CALLS,
    CELL_SPANS,
    CELL_OWN_ERRORS,
    CELL_OWN_EXCEPTIONS,
    CELL_INVOCATIONS_CLEAN,
    CELL_CALLS_CLEAN
} cell_kind_t;

typedef struct {
    cell_kind_t kind;
    uint32_t svc, op, callee, callee_op; /* callee fields: RK_NONE unless CELL_CALLS */
    uint8_t repeated;                    /* some invocation made this call more than once */
    const char *example;                 /* CELL_OWN_EXCEPTIONS: the first type seen in the target, by name */
    rk_counts_t n;
} cell_t;

typedef struct {
    rk_map_t index;
    rk_vec_t cells; /* cell_t */
} table_t;

static uint64_t key_of(cell_kind_t kind, uint32_t svc, uint32_t op, uint32_t callee, uint32_t callee_op)
{
    uint32_t k[5] = {(uint32_t)kind, svc, op, callee, callee_op};
    return rk_hash_bytes(k, sizeof(k), 0xca11);
}

static cell_t *bump(table_t *t, cell_kind_t kind, uint32_t svc, uint32_t op, uint32_t callee,
                    uint32_t callee_op, int target, uint8_t seg)
{
    int added;
    uint32_t *slot =
        rk_map_put(&t->index, key_of(kind, svc, op, callee, callee_op), (uint32_t)t->cells.len, &added);
    if (added)
        *(cell_t *)rk_vec_push(&t->cells) = (cell_t){kind, svc, op, callee, callee_op, 0, NULL, {0, {0}}};
    cell_t *c = &RK_AT(&t->cells, cell_t, *slot);
    if (target)
        c->n.seg[seg] += 1;
    else
        c->n.base += 1;
    return c;
}

/* Calls are counted in the segment of their invocation, so that a call and the invocation that made
 * it always fall on the same side of a cut. */
/* Marks the services that call another service in w (calls[svc] = 1; n entries). */
static void mark_callers(const rk_window_t *w, uint8_t *calls, size_t n)
{
    for (size_t i = 0; i < w->n_spans; i++) {
        const rk_span_t *s = &w->spans[i];
        if (s->parent < 0) continue;
        uint32_t caller = w->spans[s->parent].svc;
        if (caller != s->svc && caller < n) calls[caller] = 1;
    }
}

/* Whether invocation span `inv` failed: its status, or an error/warn line of its service in its trace
 * (`failed_lines`: keys trace << 32 | service). */
static int failed(const rk_span_t *inv, const rk_map_t *failed_lines)
{
    return inv->error || rk_map_get(failed_lines, ((uint64_t)inv->trace << 32) | inv->svc) != NULL;
}

static void count_window(table_t *t, const rk_window_t *w, int target, const uint8_t *calls, size_t n)
{
    rk_map_t failed_lines, per_invocation; /* the latter: calls of each (invocation, callee operation) */
    rk_map_init(&failed_lines);
    rk_map_init(&per_invocation);
    for (size_t i = 0; i < w->n_logs; i++) {
        const rk_log_t *l = &w->logs[i];
        int added;
        if (l->severity >= 4 && l->trace != RK_NONE)
            rk_map_put(&failed_lines, ((uint64_t)l->trace << 32) | l->svc, 1, &added);
    }
    for (size_t i = 0; i < w->n_spans; i++) {
        const rk_span_t *s = &w->spans[i];
        bump(t, CELL_SPANS, s->svc, s->op, RK_NONE, RK_NONE, target, s->seg);
        if (s->own_error) bump(t, CELL_OWN_ERRORS, s->svc, s->op, RK_NONE, RK_NONE, target, s->seg);
        if (s->own_exception) {
            cell_t *c = bump(t, CELL_OWN_EXCEPTIONS, s->svc, s->op, RK_NONE, RK_NONE, target, s->seg);
            const char *type = s->exc_type ? s->exc_type : "";
            if (target && (c->example == NULL || strcmp(type, c->example) < 0)) c->example = type;
        }
        if (s->entry == i) {
            bump(t, CELL_INVOCATIONS, s->svc, s->op, RK_NONE, RK_NONE, target, s->seg);
            if (!failed(s, &failed_lines))
                bump(t, CELL_INVOCATIONS_CLEAN, s->svc, s->op, RK_NONE, RK_NONE, target, s->seg);
        }
        if (s->parent < 0) continue;
        const rk_span_t *p = &w->spans[s->parent];
        /* A call to another service counts for the caller's invocation. A span of a leaf's own below
         * its invocation (a query, a cache lookup, a disk read) counts for that invocation: for a
         * service that calls no other, its steps are the only trace of its dependencies; the internal
         * spans of one with callees vary with the data (error handlers, loops over items). */
        if (p->svc == s->svc && (s->svc >= n || calls[s->svc])) continue;
        uint32_t inv_i = p->svc == s->svc ? s->entry : p->entry;
        const rk_span_t *inv = &w->spans[inv_i];
        /* a call no invocation makes twice is a share of the invocations (compared binomially) */
        uint32_t ik[3] = {inv_i, s->svc, s->op};
        int added;
        uint32_t *made = rk_map_put(&per_invocation, rk_hash_bytes(ik, sizeof(ik), 0x1a7), 0, &added);
        int again = ++*made > 1;
        bump(t, CELL_CALLS, inv->svc, inv->op, s->svc, s->op, target, inv->seg)->repeated |= again;
        if (!failed(inv, &failed_lines))
            bump(t, CELL_CALLS_CLEAN, inv->svc, inv->op, s->svc, s->op, target, inv->seg)->repeated |= again;
    }
    rk_map_dispose(&per_invocation);
    rk_map_dispose(&failed_lines);
}

static void emit(rk_run_t *run, const cell_t *x, const rk_shift_t *s, int cut)
{
    const char *later = cut ? " (from later in the window)" : "";
    const char *op = rk_op_name(run, x->op);
    rk_ev_t *ev;
    if (x->kind == CELL_CALLS || x->kind == CELL_CALLS_CLEAN) {
        /* more calls to another service per invocation: the caller asks again (a retry, another
         * operation of the same service) because of what that service answered; charged to it */
        int again = s->up && x->callee != x->svc;
        ev = rk_ev_add(run, again ? x->callee : x->svc, RANK_CH_CALLS, RANK_EV_CALL_PATTERN, s->score);
        ev->peer = again ? x->svc : x->callee;
        const char *callee = rk_svc_name(run, x->callee), *cop = rk_op_name(run, x->callee_op);
        int own = x->callee == x->svc;
        ev->subject = rk_arena_printf(run->out, "%s -> %s %s", op, callee, cop);
        ev->text = rk_arena_printf(run->out,
                                   "%s%s %s per invocation of %s %s: %.2f -> %.2f (%.0f in %.0f "
                                   "invocations before, %.0f in %.0f after)%s",
                                   own ? "own steps" : "calls to ", own ? "" : callee, cop, op,
                                   s->up ? "rise" : "fall", s->kb / s->nb, s->kt / s->nt, s->kb, s->nb, s->kt,
                                   s->nt, later);
    } else if (x->kind == CELL_OWN_EXCEPTIONS) {
        ev = rk_ev_add(run, x->svc, RANK_CH_ERRORS, RANK_EV_SPAN_EXCEPTIONS, s->score);
        ev->subject = rk_arena_strdup(run->out, op);
        const char *type = x->example && *x->example ? x->example : "untyped";
        ev->text =
            rk_arena_printf(run->out,
                            "spans of %s recording an exception that began in this service (%.120s): %.0f "
                            "of %.0f before, %.0f of %.0f after%s",
                            op, type, s->kb, s->nb, s->kt, s->nt, later);
    } else {
        ev = rk_ev_add(run, x->svc, RANK_CH_ERRORS, RANK_EV_SPAN_ERRORS, s->score);
        ev->subject = rk_arena_strdup(run->out, op);
        ev->text =
            rk_arena_printf(run->out,
                            "error spans of %s that began in this service: %.0f of %.0f before, %.0f of "
                            "%.0f after%s",
                            op, s->kb, s->nb, s->kt, s->nt, later);
    }
    ev->op = x->op;
    ev->context = rk_arena_strdup(run->out, op);
    ev->before = s->kb / s->nb;
    ev->after = s->kt / s->nt;
    ev->n_before = s->nb;
    ev->n_after = s->nt;
}

void rk_callpattern_evidence(rk_run_t *run)
{
    table_t t;
    rk_map_init(&t.index);
    rk_vec_init(&t.cells, sizeof(cell_t));
    size_t n = run->services.n;
    uint8_t *calls = rk_arena_alloc(run->scratch, n ? n : 1);
    mark_callers(&run->base, calls, n);
    mark_callers(&run->target, calls, n);
    count_window(&t, &run->base, 0, calls, n);
    count_window(&t, &run->target, 1, calls, n);
    size_t ncells = t.cells.len; /* exposure lookups below add no cells */
    for (size_t i = 0; i < ncells; i++) {
        const cell_t *x = &RK_AT(&t.cells, cell_t, i);
        if (x->kind == CELL_SPANS || x->kind == CELL_INVOCATIONS || x->kind == CELL_INVOCATIONS_CLEAN)
            continue;
        int is_calls = x->kind == CELL_CALLS || x->kind == CELL_CALLS_CLEAN;
        cell_kind_t ek = x->kind == CELL_CALLS         ? CELL_INVOCATIONS
                         : x->kind == CELL_CALLS_CLEAN ? CELL_INVOCATIONS_CLEAN
                                                       : CELL_SPANS;
        const uint32_t *ei = rk_map_get(&t.index, key_of(ek, x->svc, x->op, RK_NONE, RK_NONE));
        if (ei == NULL) continue;
        const cell_t *e = &RK_AT(&t.cells, cell_t, *ei);
        /* more calls over every invocation, fewer over the clean ones; fewer own errors is a recovery */
        double w_up = x->kind == CELL_CALLS ? RK_W_CALLS_MORE : x->kind == CELL_CALLS_CLEAN ? 0.0 : 1.0;
        double w_down = x->kind == CELL_CALLS_CLEAN ? 1.0 : 0.0;
        rk_shift_t s;
        int cut;
        /* own error spans are a share of the spans; calls are one when no invocation repeats them */
        int shares = !is_calls || !x->repeated;
        if (!rk_rate_shift(&x->n, &e->n, shares, w_up, w_down, RK_MIN_SAMPLES, &s, &cut) || s.score <= 0)
            continue;
        if (is_calls && s.kb < RK_CALLS_USUAL * s.nb && s.kt < RK_CALLS_USUAL * s.nt) continue;
        /* A usual call or step an operation stops making is its code path changing, not a mix that
         * drifts with the workload: the effect counts once, not squared as for log lines. */
        if (is_calls && s.effect > 0) s.score /= s.effect;
        emit(run, x, &s, cut);
    }
    rk_vec_dispose(&t.cells);
    rk_map_dispose(&t.index);
}
