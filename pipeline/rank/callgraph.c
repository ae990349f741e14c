/* The service call graph of the target window, from parent/child spans in different services, and the
 * push-down of blame along it. A caller writing more error lines (a symptom) is most likely suffering
 * from a callee that is abnormal in the very requests that fail: for each callee and each of the
 * callee's evidence items, the share of the caller's error lines whose trace ran the operation the
 * item is about (any operation for service-wide items) times min(symptom, item score) is what the
 * callee explains. Error lines may also name the service they failed to reach ("No instances available
 * for X", "connection refused by X"): the share of lines naming X times min(symptom, X's own score) is
 * what X explains. RK_PUSH_SHARE of the best explanation moves from the caller to that service. A line
 * that names X and was written as X's answer came back (its span's call to X ended at most
 * RK_REACTION_MS before) is the caller reacting to that answer ("unexpected response from X", a retry
 * follows): X explains it whatever X's own telemetry shows (a wrong answer leaves none), and all of it
 * moves. Only
 * error symptoms move; latency needs no push-down (self time excludes callees, and gaps are charged
 * to callees already). */
#include "rank_int.h"

#include "alloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    rk_map_t edges;   /* caller << 32 | callee -> call count */
    rk_map_t ran;     /* hash of (trace, service, operation or RK_NONE) -> 1 */
    rk_map_t answers; /* hash of (trace, caller, callee, end / RK_REACTION_MS) -> low 32 bits of the end */
} graph_t;

#define REACTION_NS ((int64_t)RK_REACTION_MS * 1000000)

static uint64_t answer_key(uint32_t trace, uint32_t caller, uint32_t callee, int64_t bucket)
{
    uint32_t k[4] = {trace, caller, callee, (uint32_t)bucket};
    return rk_hash_bytes(k, sizeof(k), 0xa5e);
}

static uint64_t ran_key(uint32_t trace, uint32_t svc, uint32_t op)
{
    uint32_t k[3] = {trace, svc, op};
    return rk_hash_bytes(k, sizeof(k), 0x5eed);
}

static void build(graph_t *g, const rk_window_t *w)
{
    int added;
    for (size_t i = 0; i < w->n_spans; i++) {
        const rk_span_t *s = &w->spans[i];
        rk_map_put(&g->ran, ran_key(s->trace, s->svc, RK_NONE), 1, &added);
        rk_map_put(&g->ran, ran_key(s->trace, s->svc, s->op), 1, &added);
        if (s->parent < 0) continue;
        uint32_t caller = w->spans[s->parent].svc;
        if (caller == s->svc) continue;
        uint32_t *c = rk_map_put(&g->edges, ((uint64_t)caller << 32) | s->svc, 0, &added);
        (*c)++;
        /* the caller's client span (the parent) got the callee's answer when it ended; the latest end
         * of a bucket is kept */
        const rk_span_t *client = &w->spans[s->parent];
        uint32_t *end =
            rk_map_put(&g->answers, answer_key(s->trace, caller, s->svc, client->end_ns / REACTION_NS),
                       (uint32_t)client->end_ns, &added);
        if ((int32_t)((uint32_t)client->end_ns - *end) > 0) *end = (uint32_t)client->end_ns;
    }
}

/* Fewest service hops from a trace root to each span, then the minimum per service. Parent chains are
 * followed iteratively; a malformed chain (a cycle) is cut where it would repeat. */
static void depths(const rk_window_t *w, rank_service_t *out, size_t n_services)
{
    size_t n = w->n_spans;
    int *d = xmalloc((n ? n : 1) * sizeof(int));
    size_t *stack = xmalloc((n ? n : 1) * sizeof(size_t));
    for (size_t i = 0; i < n; i++)
        d[i] = -1;
    for (size_t i = 0; i < n; i++) {
        size_t top = 0, j = i;
        while (d[j] < 0 && top < n) {
            stack[top++] = j;
            if (w->spans[j].parent < 0) break;
            j = (size_t)w->spans[j].parent;
        }
        while (top > 0) {
            size_t x = stack[--top];
            int32_t p = w->spans[x].parent;
            d[x] = p < 0 || d[p] < 0 ? 0 : d[p] + (w->spans[x].svc != w->spans[p].svc);
        }
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t svc = w->spans[i].svc;
        if (svc < n_services && (out[svc].depth < 0 || d[i] < out[svc].depth)) out[svc].depth = d[i];
    }
    free(stack);
    free(d);
}

static void positions(const graph_t *g, rank_service_t *out, size_t n)
{
    for (size_t i = 0; i < g->edges.cap; i++) {
        if (!g->edges.used[i]) continue;
        uint32_t caller = (uint32_t)(g->edges.keys[i] >> 32), callee = (uint32_t)g->edges.keys[i];
        if (caller < n) out[caller].n_callees++;
        if (callee < n) out[callee].n_callers++;
    }
}

/* Strongest error symptom of each service (its log items saying it writes more errors). */
static double *symptoms(rk_run_t *run, size_t n)
{
    double *sym = rk_arena_alloc(run->scratch, (n ? n : 1) * sizeof(double));
    for (size_t i = 0; i < run->ev.len; i++) {
        const rk_ev_t *ev = &RK_AT(&run->ev, rk_ev_t, i);
        if (ev->error_up && ev->svc < n && ev->score > sym[ev->svc]) sym[ev->svc] = ev->score;
    }
    return sym;
}

/* Evidence items grouped by service (graph items excluded): items[first[s] .. first[s+1]). */
static const rk_ev_t **items_by_service(rk_run_t *run, size_t n, size_t **first_out)
{
    size_t *first = rk_arena_alloc(run->scratch, (n + 2) * sizeof(size_t));
    const rk_ev_t **items = rk_arena_alloc(run->scratch, (run->ev.len ? run->ev.len : 1) * sizeof(*items));
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < run->ev.len; i++) {
            const rk_ev_t *e = &RK_AT(&run->ev, rk_ev_t, i);
            if (e->svc >= n || e->score <= 0 || e->channel == RANK_CH_GRAPH) continue;
            if (pass == 0)
                first[e->svc + 2]++;
            else
                items[first[e->svc + 1]++] = e;
        }
        if (pass == 0)
            for (size_t s = 0; s < n; s++)
                first[s + 2] += first[s + 1];
    }
    *first_out = first;
    return items;
}

/* `caller`'s target error lines: their indexes, and the traces of those whose trace the window holds.
 * A line of a trace sampled away cannot show which callees its request reached nor what they answered:
 * *n_seen counts the lines that can (all but those), the sample the shares of reactions are read on. */
static void error_lines(const rk_run_t *run, uint32_t caller, uint32_t *lines, size_t *n_lines,
                        uint32_t *traces, size_t *n_traces, size_t *n_seen)
{
    *n_lines = *n_traces = *n_seen = 0;
    for (size_t i = 0; i < run->target.n_logs; i++) {
        const rk_log_t *l = &run->target.logs[i];
        if (l->svc != caller || l->severity < 4) continue;
        lines[(*n_lines)++] = (uint32_t)i;
        if (l->trace_absent) continue;
        (*n_seen)++;
        if (l->trace != RK_NONE) traces[(*n_traces)++] = l->trace;
    }
}

/* What callee y explains of a symptom `sym` seen on error lines in traces[0..nt), x's traces being
 * all[0..n_all). Only what sets the failing traces apart counts: the share of them that ran the item's
 * operation above the share of all x's traces that did, (hit - base) / (1 - base). A callee every
 * request reaches (a shared database proxy) explains nothing by being reached. */
static double explained(const graph_t *g, uint32_t y, const rk_ev_t **items, size_t n_items,
                        const uint32_t *traces, size_t nt, const uint32_t *all, size_t n_all, double sym)
{
    double best = 0;
    for (size_t k = 0; k < n_items; k++) {
        const rk_ev_t *e = items[k];
        double cap = e->score < sym ? e->score : sym;
        if (cap <= best) continue;
        size_t hit = 0, base_hit = 0;
        for (size_t t = 0; t < nt; t++)
            hit += rk_map_get(&g->ran, ran_key(traces[t], y, e->op)) != NULL;
        for (size_t t = 0; t < n_all; t++)
            base_hit += rk_map_get(&g->ran, ran_key(all[t], y, e->op)) != NULL;
        double share = (double)hit / (double)nt, base = n_all ? (double)base_hit / (double)n_all : 0;
        if (base >= 1 || share <= base) continue;
        double x = cap * (share - base) / (1 - base);
        if (x > best) best = x;
    }
    return best;
}

/* The distinct traces of each service in the window: traces[first[s] .. first[s+1]). */
static uint32_t *traces_by_service(rk_run_t *run, size_t n, size_t **first_out)
{
    const rk_window_t *w = &run->target;
    size_t *first = rk_arena_alloc(run->scratch, (n + 2) * sizeof(size_t));
    uint32_t *out = rk_arena_alloc(run->scratch, (w->n_spans ? w->n_spans : 1) * sizeof(uint32_t));
    rk_map_t seen;
    for (int pass = 0; pass < 2; pass++) {
        rk_map_init(&seen);
        for (size_t i = 0; i < w->n_spans; i++) {
            const rk_span_t *sp = &w->spans[i];
            int added;
            if (sp->svc >= n) continue;
            rk_map_put(&seen, ((uint64_t)sp->svc << 32) | sp->trace, 1, &added);
            if (!added) continue;
            if (pass == 0)
                first[sp->svc + 2]++;
            else
                out[first[sp->svc + 1]++] = sp->trace;
        }
        rk_map_dispose(&seen);
        if (pass == 0)
            for (size_t s = 0; s < n; s++)
                first[s + 2] += first[s + 1];
    }
    *first_out = first;
    return out;
}

static int is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* Whether the first line of `msg` (at most RK_MSG_MAX bytes) names `name` as a whole word. */
static int names_service(const char *msg, const char *name)
{
    size_t n = strcspn(msg, "\r\n"), len = strlen(name);
    if (n > RK_MSG_MAX) n = RK_MSG_MAX;
    if (len == 0) return 0;
    for (const char *p = msg, *end = msg + n; (p = memmem(p, (size_t)(end - p), name, len)); p++) {
        if ((p == msg || !is_name_char(p[-1])) && (p + len == end || !is_name_char(p[len]))) return 1;
    }
    return 0;
}

/* Whether log line l of caller x in its trace came at most REACTION_NS after an answer of y. */
static int reacts_to(const graph_t *g, const rk_log_t *l, uint32_t x, uint32_t y)
{
    if (l->trace == RK_NONE) return 0;
    for (int64_t b = l->ts_ns / REACTION_NS - 1; b <= l->ts_ns / REACTION_NS; b++) {
        const uint32_t *end = rk_map_get(&g->answers, answer_key(l->trace, x, y, b));
        if (end == NULL) continue;
        int32_t after = (int32_t)((uint32_t)l->ts_ns - *end); /* low 32 bits: exact within 2 s */
        if (after >= 0 && after <= REACTION_NS) return 1;
    }
    return 0;
}

/* How x's error lines lines[0..n_lines) point at y: those that name it ("No instances available for y",
 * "connection refused by y": the failing requests may never reach y, so the traces cannot show it), and
 * those written in reaction to an answer of y, naming it or not. One scan of the lines per pair. */
typedef struct {
    size_t named, named_reactions, unnamed_reactions;
} pointing_t;

static pointing_t pointing(const rk_run_t *run, const graph_t *g, const uint32_t *lines, size_t n_lines,
                           uint32_t x, uint32_t y, int callee)
{
    pointing_t pt = {0, 0, 0};
    const char *name = rk_svc_name(run, y);
    for (size_t i = 0; i < n_lines; i++) {
        const rk_log_t *l = &run->target.logs[lines[i]];
        int names = names_service(l->msg, name), reacts = callee && reacts_to(g, l, x, y);
        pt.named += names;
        pt.named_reactions += names && reacts;
        pt.unnamed_reactions += !names && reacts;
    }
    return pt;
}

typedef struct {
    uint32_t from, to;
    double moved;
    int named; /* 1 named, 2 a reaction to y's answer */
} push_t;

static void record_push(rk_run_t *run, const push_t *p)
{
    const char *from = rk_svc_name(run, p->from), *to = rk_svc_name(run, p->to);
    const char *edge = rk_arena_printf(run->out, "%s -> %s", from, to);
    rk_ev_t *ev = rk_ev_add(run, p->from, RANK_CH_GRAPH, RANK_EV_EXPLAINED, -p->moved);
    ev->peer = p->to;
    ev->subject = edge;
    static const char *const by[] = {"its abnormal callee", "the service they name,",
                                     "the answers of the service they name,"};
    ev->text = rk_arena_printf(run->out, "error lines of %s are explained by %s %s (%.1f moved to it)", from,
                               by[p->named], to, p->moved);
    ev = rk_ev_add(run, p->to, RANK_CH_GRAPH, RANK_EV_CALLERS, p->moved);
    ev->peer = p->from;
    ev->subject = edge;
    static const char *const how[] = {"in traces that reach", "that name", "about the answers of"};
    ev->text = rk_arena_printf(run->out, "%s writes more error lines %s %s (%.1f moved here)", from,
                               how[p->named], to, p->moved);
}

static void push_down(rk_run_t *run, const graph_t *g, size_t n)
{
    double *sym = symptoms(run, n);
    double *moved_in = rk_arena_alloc(run->scratch, (n ? n : 1) * sizeof(double));
    size_t *first;
    const rk_ev_t **items = items_by_service(run, n, &first);
    size_t *x_first;
    const uint32_t *x_traces = traces_by_service(run, n, &x_first);
    size_t cap = run->target.n_logs ? run->target.n_logs : 1;
    uint32_t *traces = rk_arena_alloc(run->scratch, cap * sizeof(uint32_t));
    uint32_t *lines = rk_arena_alloc(run->scratch, cap * sizeof(uint32_t));
    push_t *pushes = rk_arena_alloc(run->scratch, (n ? n : 1) * sizeof(push_t));
    size_t n_pushes = 0;
    for (uint32_t x = 0; x < n; x++) {
        if (sym[x] <= 0) continue;
        size_t nl, nt, ns;
        error_lines(run, x, lines, &nl, traces, &nt, &ns);
        if (nl == 0) continue;
        uint32_t best_y = RK_NONE;
        double best = 0;
        int best_named = 0;
        for (uint32_t y = 0; y < n; y++) {
            if (y == x) continue;
            int callee = rk_map_get(&g->edges, ((uint64_t)x << 32) | y) != NULL;
            double e = callee && nt ? explained(g, y, items + first[y], first[y + 1] - first[y], traces, nt,
                                                x_traces + x_first[x], x_first[x + 1] - x_first[x], sym[x])
                                    : 0;
            /* Lines naming y, and reactions to y's answer that do not name it ("upstream returned
             * 500"), explain as far as y is abnormal itself; a share of the best explanation moves.
             * A reaction naming y moves in full, whatever y's own telemetry shows. */
            pointing_t pt = pointing(run, g, lines, nl, x, y, callee);
            double own = run->score[y] < sym[x] ? run->score[y] : sym[x];
            if (own < 0) own = 0;
            /* a line's text is always there; whether it reacted to an answer, only in a kept trace */
            double m = own * (double)pt.named / (double)nl;
            double unnamed = ns ? own * (double)pt.unnamed_reactions / (double)ns : 0;
            if (unnamed > e) e = unnamed;
            double move = RK_PUSH_SHARE * (m > e ? m : e);
            double r = ns ? sym[x] * (double)pt.named_reactions / (double)ns : 0;
            int how = m >= e && m > 0;
            if (r > 0 && r >= move) {
                move = r;
                how = 2;
            }
            if (move > best ||
                (move == best && move > 0 && strcmp(rk_svc_name(run, y), rk_svc_name(run, best_y)) < 0)) {
                best = move;
                best_y = y;
                best_named = how;
            }
        }
        if (best_y == RK_NONE || best <= 0) continue;
        push_t *p = &pushes[n_pushes++];
        *p = (push_t){x, best_y, best, best_named};
        run->channel[x * RANK_CHANNELS + RANK_CH_GRAPH] -= p->moved;
        moved_in[best_y] += p->moved;
    }
    /* Evidence last: adding items may move the ones `items` points at. */
    for (size_t i = 0; i < n_pushes; i++)
        record_push(run, &pushes[i]);
    for (uint32_t y = 0; y < n; y++)
        run->channel[y * RANK_CHANNELS + RANK_CH_GRAPH] += moved_in[y];
}

void rk_callgraph_apply(rk_run_t *run, rank_service_t *services)
{
    size_t n = run->services.n;
    graph_t g;
    rk_map_init(&g.edges);
    rk_map_init(&g.ran);
    rk_map_init(&g.answers);
    build(&g, &run->target);
    for (size_t i = 0; i < n; i++)
        services[i].depth = -1;
    depths(&run->target, services, n);
    positions(&g, services, n);
    push_down(run, &g, n);
    rk_map_dispose(&g.edges);
    rk_map_dispose(&g.ran);
    rk_map_dispose(&g.answers);
}
