/* Root cause of an erroring trace, the propagation path and retries (see rootcause.h). */
#include "rootcause_int.h"
#include "alloc.h"
#include "exception.h"
#include "strutil.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_CITED 20
#define MIN_TIMEOUT_SLACK_NS 1000000 /* a callee ending this close before the timeout still counts */

static int failed(const analysis_rc_t *rc, int x)
{
    return (rc->flags[x] & ANALYSIS_RC_FAILED) != 0;
}

static int ok(const analysis_rc_t *rc, int x)
{
    return (rc->flags[x] & ANALYSIS_RC_OK) != 0;
}

static void classify(const analysis_tree_t *t, const analysis_logs_t *logs, analysis_rc_t *rc)
{
    for (size_t x = 0; x < t->nnodes; x++) {
        const analysis_span_t *s = t->nodes[x].span;
        int with_stack = 0;
        for (int k = logs->first[x]; k < logs->first[x + 1]; k++) {
            const analysis_logref_t *r = &logs->logs[logs->of_node[k]];
            if (r->severity < ANALYSIS_SEV_ERROR) continue;
            rc->error_logs[x]++;
            with_stack |= r->log->stack_trace && r->log->stack_trace[0];
        }
        unsigned char f = 0;
        if (s->status == ANALYSIS_STATUS_OK)
            f |= ANALYSIS_RC_OK;
        else if (with_stack || analysis_span_has_exception(s))
            f |= ANALYSIS_RC_EXCEPTION;
        if (s->status == ANALYSIS_STATUS_ERROR ||
            (s->status != ANALYSIS_STATUS_OK && ((f & ANALYSIS_RC_EXCEPTION) || rc->error_logs[x] > 0)))
            f |= ANALYSIS_RC_FAILED;
        rc->flags[x] = f;
        rc->nfailed += (f & ANALYSIS_RC_FAILED) != 0;
    }
}

/* Whether a is a better surfaced failure than b: in the entry's tree, reached its root unswallowed,
 * shallower, earlier, node order. */
static int better_top(const analysis_tree_t *t, const int *root_of, const unsigned char *clear, int a, int b)
{
    if (b < 0) return 1;
    int ea = root_of[a] == t->entry, eb = root_of[b] == t->entry;
    if (ea != eb) return ea;
    if (clear[a] != clear[b]) return clear[a];
    const analysis_node_t *na = &t->nodes[a], *nb = &t->nodes[b];
    if (na->depth != nb->depth) return na->depth < nb->depth;
    if (na->start_ns != nb->start_ns) return na->start_ns < nb->start_ns;
    return a < b;
}

/* Whether a is a better root-cause candidate than b: exception, deeper, earlier, node order. */
static int better_candidate(const analysis_tree_t *t, const analysis_rc_t *rc, int a, int b)
{
    if (b < 0) return 1;
    int ea = (rc->flags[a] & ANALYSIS_RC_EXCEPTION) != 0, eb = (rc->flags[b] & ANALYSIS_RC_EXCEPTION) != 0;
    if (ea != eb) return ea;
    const analysis_node_t *na = &t->nodes[a], *nb = &t->nodes[b];
    if (na->depth != nb->depth) return na->depth > nb->depth;
    if (na->start_ns != nb->start_ns) return na->start_ns < nb->start_ns;
    return a < b;
}

/* The error search. down[x]: a failure is reachable from x (x itself or below, through spans that
 * are not OK). */
static void find_error(const analysis_tree_t *t, analysis_rc_t *rc)
{
    size_t n = t->nnodes;
    unsigned char *down = xcalloc(n, 1), *covered = xcalloc(n, 1), *clear = xcalloc(n, 1);
    int *root_of = xcalloc(n, sizeof(int)), *stack = xcalloc(n, sizeof(int));
    for (size_t k = n; k-- > 0;) { /* children before parents */
        int x = t->preorder[k];
        const analysis_node_t *nd = &t->nodes[x];
        int below = 0;
        for (int c = 0; c < nd->nchildren && !below; c++)
            below = down[t->children[nd->first_child + c]];
        down[x] = failed(rc, x) || (!ok(rc, x) && below);
    }
    int top = -1;
    for (size_t k = 0; k < n; k++) { /* parents before children */
        int x = t->preorder[k], p = t->nodes[x].parent;
        root_of[x] = p < 0 ? x : root_of[p];
        covered[x] = p >= 0 && !ok(rc, p) && (failed(rc, p) || covered[p]);
        clear[x] = p < 0 || (!ok(rc, p) && clear[p]);
        if (failed(rc, x) && !covered[x] && better_top(t, root_of, clear, x, top)) top = x;
    }
    rc->others = xcalloc(n, sizeof(int));
    for (size_t k = 0; k < n; k++) {
        int x = t->preorder[k];
        if (failed(rc, x) && !covered[x] && x != top) rc->others[rc->nothers++] = x;
    }
    /* candidates: unexplained failures below top */
    int best = -1;
    size_t sp = 0;
    stack[sp++] = top;
    while (sp) {
        int x = stack[--sp];
        const analysis_node_t *nd = &t->nodes[x];
        int explained = 0;
        for (int c = 0; c < nd->nchildren; c++) {
            int ch = t->children[nd->first_child + c];
            if (!down[ch]) continue;
            explained = 1;
            stack[sp++] = ch;
        }
        if (failed(rc, x) && !explained) {
            rc->ncandidates++;
            if (better_candidate(t, rc, x, best)) best = x;
        }
    }
    rc->kind = ANALYSIS_RC_ERROR;
    rc->node = best;
    rc->top = top;
    rc->surfaced = clear[top];
    free(down);
    free(covered);
    free(clear);
    free(root_of);
    free(stack);
}

static int mentions_timeout(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return an_contains_ci(s, n, "timeout") || an_contains_ci(s, n, "timed out") ||
           an_contains_ci(s, n, "deadline exceeded") || an_contains_ci(s, n, "deadlineexceeded");
}

static int timed_out(const analysis_tree_t *t, const analysis_logs_t *logs, const analysis_rc_t *rc, int x)
{
    if (mentions_timeout(t->nodes[x].span->status_message)) return 1;
    for (int k = logs->first[x]; k < logs->first[x + 1]; k++) {
        const analysis_logref_t *r = &logs->logs[logs->of_node[k]];
        if (r->severity >= ANALYSIS_SEV_ERROR && mentions_timeout(r->log->message)) return 1;
    }
    if (!(rc->flags[x] & ANALYSIS_RC_EXCEPTION)) return 0;
    analysis_exc_info_t e;
    analysis_exception_of(t, logs, x, &e);
    int yes = mentions_timeout(e.type) || mentions_timeout(e.message) || mentions_timeout(e.root_type) ||
              mentions_timeout(e.root_message);
    analysis_exc_info_dispose(&e);
    return yes;
}

/* A timed-out span's slow callee: descending from x through the child still running when x gave up
 * (the longest one when several were). Returns x itself when no child was. */
static int slow_callee(const analysis_tree_t *t, int x)
{
    const analysis_node_t *tx = &t->nodes[x];
    int64_t at = tx->end_ns, dur = tx->end_ns - tx->start_ns;
    int64_t slack = dur / 50 > MIN_TIMEOUT_SLACK_NS ? dur / 50 : MIN_TIMEOUT_SLACK_NS;
    int cur = x;
    for (;;) {
        const analysis_node_t *nd = &t->nodes[cur];
        int next = -1;
        for (int c = 0; c < nd->nchildren; c++) {
            int ch = t->children[nd->first_child + c];
            const analysis_node_t *cn = &t->nodes[ch];
            if (cn->start_ns >= at || cn->end_ns < at - slack) continue;
            if (next < 0 || cn->end_ns - cn->start_ns > t->nodes[next].end_ns - t->nodes[next].start_ns)
                next = ch;
        }
        if (next < 0) return cur;
        cur = next;
    }
}

static void path_and_retries(const analysis_tree_t *t, analysis_rc_t *rc)
{
    rc->path = xcalloc((size_t)t->nodes[rc->node].depth + 1, sizeof(int));
    for (int x = rc->node; x >= 0; x = t->nodes[x].parent)
        rc->path[rc->npath++] = x;
    for (size_t i = 0; i < rc->npath && rc->retry_node < 0; i++) {
        int x = rc->path[i], p = t->nodes[x].parent;
        if (p < 0) break;
        const analysis_node_t *pn = &t->nodes[p];
        int attempts = 0, failures = 0;
        for (int c = 0; c < pn->nchildren; c++) {
            int s = t->children[pn->first_child + c];
            if (strcmp(t->nodes[s].service, t->nodes[x].service) ||
                strcmp(t->nodes[s].name, t->nodes[x].name))
                continue;
            attempts++;
            failures += failed(rc, s);
        }
        if (attempts > 1) {
            rc->retry_node = x;
            rc->attempts = attempts;
            rc->failed_attempts = failures;
        }
    }
}

int analysis_rootcause_find(const analysis_tree_t *t, const analysis_logs_t *logs,
                            const analysis_rc_opts_t *opts, analysis_rc_t *out)
{
    static const analysis_rc_opts_t defaults = {NULL, 0, 0, 0};
    const analysis_rc_opts_t *o = opts ? opts : &defaults;
    memset(out, 0, sizeof(*out));
    out->node = out->top = out->timeout_in = out->retry_node = -1;
    out->baseline_ms = -1;
    size_t n = t->nnodes;
    out->flags = xcalloc(n ? n : 1, 1);
    out->error_logs = xcalloc(n ? n : 1, sizeof(int));
    classify(t, logs, out);
    if (out->nfailed > 0) {
        find_error(t, out);
        if (timed_out(t, logs, out, out->node)) {
            int callee = slow_callee(t, out->node);
            if (callee != out->node) {
                out->timeout_in = out->node;
                out->node = callee;
            }
        }
    } else {
        an_rc_slow(t, o, out);
    }
    if (out->node >= 0) path_and_retries(t, out);
    an_rc_cite(logs, o->max_cited_logs ? o->max_cited_logs : DEFAULT_MAX_CITED, out);
    return 0;
}

void analysis_rc_dispose(analysis_rc_t *rc)
{
    if (rc == NULL) return;
    free(rc->path);
    free(rc->others);
    free(rc->flags);
    free(rc->error_logs);
    free(rc->cited);
    memset(rc, 0, sizeof(*rc));
    rc->node = rc->top = rc->timeout_in = rc->retry_node = -1;
}
