/* Deterministic trace correlation (see rca.h). */
#include "rca.h"
#include "alloc.h"
#include "evidence_metrics.h"
#include "hash.h"
#include "report.h"
#include "shapes.h"
#include "stacktrace.h"
#include "suspects.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SKEW_TOLERANCE_NS 1000000LL /* 1 ms: below this, a child sticking out of its parent is noise */

typedef struct {
    const rca_span_t *s;
    int parent; /* index into nodes, -1 for roots and orphans */
    int orphan; /* has a parent id that is not in the trace */
    int depth;
    int error;     /* status ERROR, an exception event, or an error log linked to it */
    int exception; /* an exception event or a stack trace in a linked log */
    int *children;
    int nchildren;
    int64_t self_ns;
    int64_t start, end; /* after clock-skew correction (child clipped into its parent) */
} node_t;

typedef struct {
    node_t *nodes;
    int n;
    int duplicates;
    int orphans;
    json_t *skews;
    int *log_span; /* per log: node index or -1 */
} tree_t;

/* ---------------- ordering helpers (all deterministic) ---------------- */

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int cmp_span_ptr(const void *a, const void *b)
{
    const rca_span_t *x = *(const rca_span_t *const *)a, *y = *(const rca_span_t *const *)b;
    int c = cmp_str(x->span_id, y->span_id);
    if (c) return c;
    if (x->start_ns != y->start_ns) return x->start_ns < y->start_ns ? -1 : 1;
    if (x->end_ns != y->end_ns) return x->end_ns < y->end_ns ? -1 : 1;
    if ((c = cmp_str(x->service, y->service))) return c;
    if ((c = cmp_str(x->name, y->name))) return c;
    return x->status - y->status;
}

static int find_node(const tree_t *t, const char *span_id)
{
    int lo = 0, hi = t->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = cmp_str(t->nodes[mid].s->span_id, span_id);
        if (c == 0) return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* qsort_r comparator: children by start, then span id; `tree` is the tree they belong to. */
static int cmp_child(const void *a, const void *b, void *tree)
{
    const tree_t *t = tree;
    const node_t *x = &t->nodes[*(const int *)a], *y = &t->nodes[*(const int *)b];
    if (x->s->start_ns != y->s->start_ns) return x->s->start_ns < y->s->start_ns ? -1 : 1;
    return cmp_str(x->s->span_id, y->s->span_id);
}

/* ---------------- tree ---------------- */

static int has_exception_event(const rca_span_t *s)
{
    size_t i;
    json_t *e;
    json_array_foreach(s->events, i, e)
    {
        json_t *name = json_object_get(e, "name");
        if (json_is_string(name) && strcmp(json_string_value(name), "exception") == 0) return 1;
    }
    return 0;
}

static void sort_children(tree_t *t, int *idx, int n)
{
    /* the tree goes to the comparator as an argument: worker threads sort their trees at once */
    qsort_r(idx, (size_t)n, sizeof(int), cmp_child, t);
}

static void build_tree(const rca_trace_t *tr, tree_t *t)
{
    memset(t, 0, sizeof(*t));
    t->skews = json_array();
    const rca_span_t **sorted = xmalloc((tr->nspans ? tr->nspans : 1) * sizeof(*sorted));
    for (size_t i = 0; i < tr->nspans; i++)
        sorted[i] = &tr->spans[i];
    qsort(sorted, tr->nspans, sizeof(*sorted), cmp_span_ptr);
    t->nodes = xcalloc(tr->nspans ? tr->nspans : 1, sizeof(node_t));
    for (size_t i = 0; i < tr->nspans; i++) {
        if (t->n > 0 && cmp_str(t->nodes[t->n - 1].s->span_id, sorted[i]->span_id) == 0) {
            t->duplicates++; /* same span id sent twice with other content: the first (ordered) stays */
            continue;
        }
        node_t *n = &t->nodes[t->n++];
        n->s = sorted[i];
        n->parent = -1;
        n->start = n->s->start_ns;
        n->end = n->s->end_ns;
        n->error = n->s->status == RCA_STATUS_ERROR;
        n->exception = has_exception_event(n->s);
        if (n->exception) n->error = 1;
    }
    free(sorted);
    int *counts = xcalloc((size_t)t->n + 1, sizeof(int));
    for (int i = 0; i < t->n; i++) {
        const char *pid = t->nodes[i].s->parent_span_id;
        if (pid == NULL || *pid == '\0') continue;
        int p = find_node(t, pid);
        if (p < 0 || p == i) {
            t->nodes[i].orphan = 1;
            t->orphans++;
            continue;
        }
        t->nodes[i].parent = p;
        counts[p]++;
    }
    for (int i = 0; i < t->n; i++) {
        t->nodes[i].children = xmalloc((size_t)(counts[i] ? counts[i] : 1) * sizeof(int));
    }
    for (int i = 0; i < t->n; i++)
        if (t->nodes[i].parent >= 0) {
            node_t *p = &t->nodes[t->nodes[i].parent];
            p->children[p->nchildren++] = i;
        }
    free(counts);
    for (int i = 0; i < t->n; i++)
        sort_children(t, t->nodes[i].children, t->nodes[i].nchildren);
    /* a parent cycle would loop forever below: break it by treating such spans as orphans */
    for (int i = 0; i < t->n; i++) {
        int hops = 0, p = t->nodes[i].parent;
        while (p >= 0 && hops <= t->n)
            p = t->nodes[p].parent, hops++;
        if (hops > t->n) {
            t->nodes[i].parent = -1;
            t->nodes[i].orphan = 1;
            t->orphans++;
        }
    }
}

/* Depth, clock-skew correction (children clipped into parents, skew per service pair reported) and
 * self time, in one pass from every root down (iterative: traces can be 100,000 spans deep). */
static void walk_tree(tree_t *t)
{
    int *stack = xmalloc((size_t)(t->n ? t->n : 1) * sizeof(int));
    json_t *seen = json_object();
    for (int r = 0; r < t->n; r++) {
        if (t->nodes[r].parent >= 0) continue;
        int sp = 0;
        stack[sp++] = r;
        while (sp > 0) {
            int i = stack[--sp];
            node_t *n = &t->nodes[i];
            if (n->parent >= 0) {
                node_t *p = &t->nodes[n->parent];
                n->depth = p->depth + 1;
                int64_t shift = 0;
                if (n->start < p->start - SKEW_TOLERANCE_NS)
                    shift = p->start - n->start;
                else if (n->end > p->end + SKEW_TOLERANCE_NS && n->end - n->start <= p->end - p->start)
                    shift = p->end - n->end;
                if (shift != 0 && cmp_str(n->s->service, p->s->service) != 0) {
                    char key[600];
                    snprintf(key, sizeof(key), "%s<-%s", n->s->service, p->s->service);
                    if (json_object_get(seen, key) == NULL) {
                        json_object_set_new(seen, key, json_true());
                        json_array_append_new(t->skews,
                                              json_pack("{s:s,s:s,s:f}", "service", n->s->service, "caller",
                                                        p->s->service, "offset_ms", (double)shift / 1e6));
                    }
                }
                n->start += shift;
                n->end += shift;
                if (n->start < p->start) n->start = p->start;
                if (n->end > p->end) n->end = p->end;
                if (n->end < n->start) n->end = n->start;
            }
            for (int c = n->nchildren - 1; c >= 0; c--)
                stack[sp++] = n->children[c];
        }
    }
    json_decref(seen);
    free(stack);
    /* self time: the parent's interval minus the union of its (corrected) children */
    for (int i = 0; i < t->n; i++) {
        node_t *n = &t->nodes[i];
        int64_t covered = 0, cur_s = 0, cur_e = -1;
        for (int c = 0; c < n->nchildren; c++) {
            node_t *ch = &t->nodes[n->children[c]];
            if (ch->start > cur_e) {
                if (cur_e > cur_s) covered += cur_e - cur_s;
                cur_s = ch->start;
                cur_e = ch->end;
            } else if (ch->end > cur_e) {
                cur_e = ch->end;
            }
        }
        if (cur_e > cur_s) covered += cur_e - cur_s;
        n->self_ns = (n->end - n->start) - covered;
        if (n->self_ns < 0) n->self_ns = 0;
    }
}

/* ---------------- logs ---------------- */

static int cmp_log_ptr(const void *a, const void *b)
{
    const rca_log_t *x = *(const rca_log_t *const *)a, *y = *(const rca_log_t *const *)b;
    if (x->ts_ns != y->ts_ns) return x->ts_ns < y->ts_ns ? -1 : 1;
    int c;
    if ((c = cmp_str(x->service, y->service))) return c;
    if ((c = cmp_str(x->message, y->message))) return c;
    return cmp_str(x->span_id, y->span_id);
}

/* Links each log to a span: by span id, else the narrowest span of its service around its time. */
static void link_logs(tree_t *t, const rca_log_t **logs, size_t nlogs)
{
    t->log_span = xmalloc((nlogs ? nlogs : 1) * sizeof(int));
    /* the time-based fallback scans every span: bounded so a huge trace of span-less logs stays linear */
    size_t budget = 50000000;
    for (size_t i = 0; i < nlogs; i++) {
        int k = logs[i]->span_id ? find_node(t, logs[i]->span_id) : -1;
        if (k < 0 && budget >= (size_t)t->n) {
            budget -= (size_t)t->n;
            int64_t best = -1;
            for (int j = 0; j < t->n; j++) {
                const rca_span_t *s = t->nodes[j].s;
                if (cmp_str(s->service, logs[i]->service) != 0 || logs[i]->ts_ns < s->start_ns ||
                    logs[i]->ts_ns > s->end_ns)
                    continue;
                if (best < 0 || s->end_ns - s->start_ns < best) best = s->end_ns - s->start_ns, k = j;
            }
        }
        t->log_span[i] = k;
        if (k >= 0 && logs[i]->severity >= 5) {
            t->nodes[k].error = 1;
            if (logs[i]->stack_trace && *logs[i]->stack_trace) t->nodes[k].exception = 1;
        }
    }
}

/* ---------------- root cause ---------------- */

static int has_error_descendant(const tree_t *t, int i)
{
    /* children lists are small in practice; iterate with an explicit stack */
    int cap = 64, sp = 0;
    int *stack = xmalloc((size_t)cap * sizeof(int));
    int found = 0;
    for (int c = 0; c < t->nodes[i].nchildren; c++) {
        if (sp == cap) stack = xrealloc(stack, (size_t)(cap *= 2) * sizeof(int));
        stack[sp++] = t->nodes[i].children[c];
    }
    while (sp > 0 && !found) {
        int k = stack[--sp];
        if (t->nodes[k].error) found = 1;
        for (int c = 0; c < t->nodes[k].nchildren; c++) {
            if (sp == cap) stack = xrealloc(stack, (size_t)(cap *= 2) * sizeof(int));
            stack[sp++] = t->nodes[k].children[c];
        }
    }
    free(stack);
    return found;
}

/* A failure "propagated" when its parent failed too (or it is an entry span): swallowed failures
 * (the parent answered OK) explain less than the ones the caller saw. */
static int propagated(const tree_t *t, int i)
{
    int p = t->nodes[i].parent;
    return p < 0 || t->nodes[p].error;
}

static int better_candidate(const tree_t *t, int a, int b)
{
    const node_t *x = &t->nodes[a], *y = &t->nodes[b];
    int pa = propagated(t, a), pb = propagated(t, b);
    if (pa != pb) return pa > pb;
    if (x->exception != y->exception) return x->exception > y->exception;
    if (x->depth != y->depth) return x->depth > y->depth;
    if (x->s->start_ns != y->s->start_ns) return x->s->start_ns < y->s->start_ns;
    return cmp_str(x->s->span_id, y->s->span_id) < 0;
}

static int pick_error_root(const tree_t *t, int *retries)
{
    int best = -1;
    for (int i = 0; i < t->n; i++) {
        if (!t->nodes[i].error || has_error_descendant(t, i)) continue;
        if (best < 0 || better_candidate(t, i, best)) best = i;
    }
    *retries = 0;
    if (best >= 0 && t->nodes[best].parent >= 0) {
        const node_t *p = &t->nodes[t->nodes[best].parent];
        for (int c = 0; c < p->nchildren; c++) {
            const node_t *sib = &t->nodes[p->children[c]];
            if (sib->error && !cmp_str(sib->s->service, t->nodes[best].s->service) &&
                !cmp_str(sib->s->name, t->nodes[best].s->name))
                (*retries)++;
        }
        if (*retries > 0) (*retries)--; /* attempts beyond the first */
    }
    return best;
}

/* After a fallback (shapes.c), the earliest independent failure (an error span no erroring
 * descendant explains) is the cause: what failed later on the fallback path followed from it. */
static int pick_first_failure(const tree_t *t)
{
    int best = -1;
    for (int i = 0; i < t->n; i++) {
        if (!t->nodes[i].error || has_error_descendant(t, i)) continue;
        if (best < 0 || t->nodes[i].s->start_ns < t->nodes[best].s->start_ns ||
            (t->nodes[i].s->start_ns == t->nodes[best].s->start_ns &&
             cmp_str(t->nodes[i].s->span_id, t->nodes[best].s->span_id) < 0))
            best = i;
    }
    return best;
}

/* An error span without an exception (or whose exception is a timeout) whose (non-failing) descendants hold
 * most of its time was probably a timeout waiting on a slow callee: returns the descendant with the largest
 * self time when that self time covers at least half of the failed span, else -1. */
static int slow_callee_of(const tree_t *t, int k)
{
    const node_t *n = &t->nodes[k];
    if ((n->exception && !rca_shapes_is_timeout(n->s)) || n->nchildren == 0) return -1;
    int best = -1, cap = 64, sp = 0;
    int *stack = xmalloc((size_t)cap * sizeof(int));
    for (int c = 0; c < n->nchildren; c++) {
        if (sp == cap) stack = xrealloc(stack, (size_t)(cap *= 2) * sizeof(int));
        stack[sp++] = n->children[c];
    }
    while (sp > 0) {
        int i = stack[--sp];
        if (best < 0 || t->nodes[i].self_ns > t->nodes[best].self_ns) best = i;
        for (int c = 0; c < t->nodes[i].nchildren; c++) {
            if (sp == cap) stack = xrealloc(stack, (size_t)(cap *= 2) * sizeof(int));
            stack[sp++] = t->nodes[i].children[c];
        }
    }
    free(stack);
    int64_t span = n->s->end_ns - n->s->start_ns;
    return best >= 0 && t->nodes[best].self_ns * 2 >= span ? best : -1;
}

static double baseline_ms(const rca_opts_t *o, const rca_span_t *s)
{
    for (size_t i = 0; o && i < o->nbaselines; i++)
        if (!cmp_str(o->baselines[i].service, s->service) && !cmp_str(o->baselines[i].operation, s->name))
            return o->baselines[i].p50_ms;
    return -1;
}

/* The critical path: from the longest root, repeatedly the child that finishes last. */
static int pick_slow_root(const tree_t *t, const rca_opts_t *o)
{
    int root = -1;
    for (int i = 0; i < t->n; i++)
        if (t->nodes[i].parent < 0 &&
            (root < 0 || t->nodes[i].end - t->nodes[i].start > t->nodes[root].end - t->nodes[root].start))
            root = i;
    int best = -1;
    double best_excess = -1;
    for (int cur = root; cur >= 0;) {
        const node_t *n = &t->nodes[cur];
        double self_ms = (double)n->self_ns / 1e6, usual = baseline_ms(o, n->s);
        double excess = usual >= 0 ? self_ms - usual : self_ms;
        if (excess > best_excess) best_excess = excess, best = cur;
        int next = -1;
        for (int c = 0; c < n->nchildren; c++)
            if (next < 0 || t->nodes[n->children[c]].end >= t->nodes[next].end) next = n->children[c];
        cur = next;
    }
    return best;
}

/* ---------------- text helpers ---------------- */

void rca_template(const char *msg, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = msg ? msg : ""; *p && o + 4 < outlen;) {
        if (*p == '"' || *p == '\'') {
            char q = *p;
            const char *e = strchr(p + 1, q);
            if (e && e - p < 200) {
                memcpy(out + o, "<*>", 3);
                o += 3;
                p = e + 1;
                continue;
            }
        }
        if (isalnum((unsigned char)*p)) {
            const char *e = p;
            int digits = 0, hex = 1;
            while (isalnum((unsigned char)*e) || *e == '-' || *e == '_') {
                if (isdigit((unsigned char)*e)) digits++;
                if (!isxdigit((unsigned char)*e) && *e != '-') hex = 0;
                e++;
            }
            size_t len = (size_t)(e - p);
            if (digits > 0 && (hex || digits * 2 >= (int)len || len >= 16)) {
                memcpy(out + o, "<*>", 3);
                o += 3;
            } else {
                size_t k = len < outlen - o - 1 ? len : outlen - o - 1;
                memcpy(out + o, p, k);
                o += k;
            }
            p = e;
            continue;
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

/* Safe JSON string (invalid UTF-8 would make json_string fail). */
static json_t *jstr(const char *s)
{
    json_t *v = json_string(s ? s : "");
    return v ? v : json_string("(not valid UTF-8)");
}

/* ---------------- exception of the root-cause span ---------------- */

typedef struct {
    char type[256], message[256], root_type[256], frame[512];
    const char *format;
    int found;
} exc_t;

static void exception_of(const tree_t *t, int k, const rca_log_t **logs, size_t nlogs, exc_t *e)
{
    memset(e, 0, sizeof(*e));
    e->format = "none";
    st_info_t st;
    size_t i;
    json_t *ev;
    json_array_foreach(t->nodes[k].s->events, i, ev)
    {
        json_t *a = json_object_get(ev, "attributes");
        if (strcmp(json_string_value(json_object_get(ev, "name")) ?: "", "exception") != 0) continue;
        const char *type = json_string_value(json_object_get(a, "exception.type"));
        const char *msg = json_string_value(json_object_get(a, "exception.message"));
        const char *stack = json_string_value(json_object_get(a, "exception.stacktrace"));
        snprintf(e->type, sizeof(e->type), "%s", type ? type : "");
        snprintf(e->message, sizeof(e->message), "%s", msg ? msg : "");
        snprintf(e->root_type, sizeof(e->root_type), "%s", e->type);
        if (stack && stacktrace_parse(stack, &st) == 0) {
            if (!*e->type) snprintf(e->type, sizeof(e->type), "%s", st.type);
            if (!*e->message) snprintf(e->message, sizeof(e->message), "%s", st.message);
            snprintf(e->root_type, sizeof(e->root_type), "%s", st.root_type);
            if (st.app_frame.function[0])
                snprintf(e->frame, sizeof(e->frame), "%.200s (%.200s:%d)", st.app_frame.function,
                         st.app_frame.file, st.app_frame.line);
            e->format = stacktrace_format_name(st.format);
        }
        e->found = 1;
        return;
    }
    for (size_t l = 0; l < nlogs; l++) {
        if (t->log_span[l] != k || logs[l]->severity < 5) continue;
        const char *text =
            logs[l]->stack_trace && *logs[l]->stack_trace ? logs[l]->stack_trace : logs[l]->message;
        if (stacktrace_parse(text, &st) == 0) {
            snprintf(e->type, sizeof(e->type), "%s", st.type);
            snprintf(e->message, sizeof(e->message), "%s", st.message);
            snprintf(e->root_type, sizeof(e->root_type), "%s", st.root_type);
            if (st.app_frame.function[0])
                snprintf(e->frame, sizeof(e->frame), "%.200s (%.200s:%d)", st.app_frame.function,
                         st.app_frame.file, st.app_frame.line);
            e->format = stacktrace_format_name(st.format);
            e->found = 1;
            return;
        }
    }
}

static void fingerprint_of(const char *service, const exc_t *e, const char *status_message, const char *op,
                           int slow, char out[33])
{
    hash128_state_t h;
    hash128_init(&h);
    hash128_field(&h, service, strlen(service));
    char tmpl[512];
    if (slow) {
        hash128_field(&h, "slow", 4);
        hash128_field(&h, op, strlen(op));
    } else if (e->found && *e->root_type) {
        hash128_field(&h, e->root_type, strlen(e->root_type));
        /* the frame's function, not its line: a redeploy that shifts lines is the same error */
        const char *paren = strchr(e->frame, ' ');
        hash128_field(&h, e->frame, paren ? (size_t)(paren - e->frame) : strlen(e->frame));
    } else {
        rca_template(status_message ? status_message : "", tmpl, sizeof(tmpl));
        hash128_field(&h, op, strlen(op));
        hash128_field(&h, tmpl, strlen(tmpl));
    }
    hash128_hex(hash128_final(&h), out);
}

/* ---------------- evidence and report ---------------- */

/* When the loader took a sample of a larger trace (context_load.h): one line saying so, for the
 * evidence (and so the LLM), the report and the dashboard; NULL when the whole trace was analysed.
 * New reference. */
static json_t *sample_note(const rca_trace_t *tr)
{
    int spans = tr->total_spans > tr->nspans, logs = tr->total_logs > tr->nlogs;
    if (!spans && !logs) return NULL;
    char note[512] = "", part[256];
    if (spans) {
        snprintf(part, sizeof(part),
                 "trace has %zu spans; analysed a sample of %zu: errors and their paths first, then the "
                 "longest spans, then by start time",
                 tr->total_spans, tr->nspans);
        snprintf(note, sizeof(note), "%s", part);
    }
    if (logs) {
        snprintf(part, sizeof(part), "%zu logs; analysed %zu: ERROR and above first, then by time",
                 tr->total_logs, tr->nlogs);
        size_t len = strlen(note);
        snprintf(note + len, sizeof(note) - len, "%s%s", len ? "; it has " : "trace has ", part);
    }
    return json_string(note);
}

static json_t *span_json(const node_t *n)
{
    return json_pack("{s:s,s:o,s:s,s:o,s:f,s:f,s:s}", "id", "", "span_id", jstr(n->s->span_id), "service",
                     n->s->service ? n->s->service : "", "operation", jstr(n->s->name), "duration_ms",
                     (double)(n->s->end_ns - n->s->start_ns) / 1e6, "self_ms", (double)n->self_ns / 1e6,
                     "status",
                     n->s->status == RCA_STATUS_ERROR ? "ERROR"
                     : n->s->status == RCA_STATUS_OK  ? "OK"
                                                      : "UNSET");
}

static void set_span_id(json_t *o, const char *span_id)
{
    char id[40];
    snprintf(id, sizeof(id), "span:%s", span_id);
    json_object_set_new(o, "id", json_string(id));
}

/* Cites the anomaly episodes of the root-cause service (at most three, strongest first) from the
 * evidence's metric summary (evidence_metrics.h). */
static void cite_anomalies(json_t *metrics, const char *service, json_t *cite)
{
    size_t i, n = 0;
    json_t *a;
    json_array_foreach(json_object_get(metrics, "anomalies"), i, a)
    {
        if (n < 3 && !cmp_str(json_string_value(json_object_get(a, "service")), service)) {
            json_array_append(cite, json_object_get(a, "id"));
            n++;
        }
    }
}

/* The change events suspected of the failure, by the one suspect model (anomaly/suspects.h): the
 * symptoms are the failure of the root-cause span's service at `fail_at` (an error, or slowness) and the
 * anomaly episodes of the trace's services that began before the trace ended; the call graph is the
 * trace's own (parent service -> child service). Best first, as suspects_to_json() writes them. */
static json_t *trace_suspects(const tree_t *t, const rca_trace_t *tr, const rca_opts_t *opts, int k, int slow,
                              int64_t fail_at)
{
    if (tr->nchanges == 0) return json_array();
    change_event_t *ev = xmalloc(tr->nchanges * sizeof(*ev));
    for (size_t i = 0; i < tr->nchanges; i++)
        ev[i] = (change_event_t){tr->changes[i].ts_ns, tr->changes[i].service, tr->changes[i].type,
                                 tr->changes[i].description};
    symptom_t *sym = xcalloc(tr->nepisodes + 1, sizeof(*sym));
    size_t ns = 0;
    if (k >= 0) {
        sym[ns].service = t->nodes[k].s->service;
        sym[ns].what = slow ? "slowness" : "error";
        sym[ns].ep.start_ns = sym[ns].ep.end_ns = fail_at;
        sym[ns++].ep.direction = 1;
    }
    for (size_t i = 0; i < tr->nepisodes; i++) {
        const rca_episode_t *e = &tr->episodes[i];
        sym[ns++] = (symptom_t){
            e->service,
            e->metric,
            {e->start_ns, e->end_ns, e->baseline, e->peak, e->pct_change, e->peak_z, e->direction, 0}};
    }
    call_edge_t *edges = xmalloc((size_t)(t->n ? t->n : 1) * sizeof(*edges));
    size_t ne = 0;
    for (int i = 0; i < t->n; i++) {
        int p = t->nodes[i].parent;
        if (p < 0 || cmp_str(t->nodes[p].s->service, t->nodes[i].s->service) == 0) continue;
        int dup = 0;
        for (size_t j = 0; j < ne && !dup; j++)
            dup = !cmp_str(edges[j].caller, t->nodes[p].s->service) &&
                  !cmp_str(edges[j].callee, t->nodes[i].s->service);
        if (!dup) edges[ne++] = (call_edge_t){t->nodes[p].s->service, t->nodes[i].s->service};
    }
    suspect_opts_t o;
    if (opts && opts->suspects)
        o = *opts->suspects;
    else
        suspect_opts_default(&o);
    suspect_input_t in = {ev, tr->nchanges, sym, ns, edges, ne};
    suspect_t *s = NULL;
    size_t n = suspects_rank_input(&in, &o, &s);
    json_t *arr = suspects_to_json(ev, s, n);
    free(s);
    free(edges);
    free(sym);
    free(ev);
    return arr;
}

/* ---------------- the analysis, step by step ---------------- */

/* What the steps of rca_analyse() share: each step reads what the ones before it wrote. */
typedef struct {
    const rca_trace_t *tr;
    const rca_opts_t *opts;
    tree_t t;
    const rca_log_t **logs; /* the trace's logs, ordered (cmp_log_ptr); t.log_span is indexed alike */
    rca_shapes_t shapes;
    int k;            /* the root-cause node, -1 for none */
    int retries;      /* failed attempts of the root-cause call beyond the first */
    int timed_out_at; /* the node that timed out waiting on k (a slow callee), -1 for none */
    exc_t exc;
    json_t *root, *path;        /* owned until the evidence takes them */
    json_t *cited;              /* cited logs; owned until the evidence takes them */
    json_t *suspects, *metrics; /* owned until the evidence takes them */
    int errors;                 /* error spans */
} analysis_t;

/* Step 1: the span tree (skew-corrected, self times), the logs linked to it, and the failures that are
 * not the cause (recovered retries, handled client errors: shapes.h) cleared. */
static void build_span_tree(analysis_t *a)
{
    const rca_trace_t *tr = a->tr;
    build_tree(tr, &a->t);
    walk_tree(&a->t);
    a->logs = xmalloc((tr->nlogs ? tr->nlogs : 1) * sizeof(*a->logs));
    for (size_t i = 0; i < tr->nlogs; i++)
        a->logs[i] = &tr->logs[i];
    qsort(a->logs, tr->nlogs, sizeof(*a->logs), cmp_log_ptr);
    link_logs(&a->t, a->logs, tr->nlogs);
    rca_shapes_read(tr, &a->shapes);
    for (int i = 0; i < a->t.n; i++)
        if (rca_shapes_ignored(&a->shapes, tr, a->t.nodes[i].s))
            a->t.nodes[i].error = a->t.nodes[i].exception = 0;
}

/* Step 2: the root-cause span: the failure nothing below explains (or, after a fallback, the first
 * one), a slow callee a timeout waited on, else the slowest step of the critical path. */
static void pick_root(analysis_t *a, rca_result_t *out)
{
    tree_t *t = &a->t;
    int k = a->shapes.fallback ? pick_first_failure(t) : pick_error_root(t, &a->retries);
    int slow_callee = k >= 0 ? slow_callee_of(t, k) : -1;
    a->timed_out_at = -1;
    if (slow_callee >= 0) {
        /* the failure is a timeout caused by a slow callee that did not fail itself: blame the callee */
        a->timed_out_at = k;
        k = slow_callee;
    }
    if (k < 0 && t->n > 0 && !a->shapes.no_fault) {
        k = pick_slow_root(t, a->opts);
        out->slow = k >= 0;
    }
    a->k = k;
    out->found_root = k >= 0;
}

/* The services and endpoints (roots and SERVER spans) involved, and the trace's time span. */
static void list_involved(const analysis_t *a, rca_result_t *out)
{
    const tree_t *t = &a->t;
    json_t *services = json_array(), *endpoints = json_array(), *seen = json_object();
    out->first_ns = t->n ? INT64_MAX : 0;
    out->last_ns = 0;
    for (int i = 0; i < t->n; i++) {
        const rca_span_t *s = t->nodes[i].s;
        if (s->start_ns < out->first_ns) out->first_ns = s->start_ns;
        if (s->end_ns > out->last_ns) out->last_ns = s->end_ns;
        char key[600];
        snprintf(key, sizeof(key), "s:%s", s->service);
        if (!json_object_get(seen, key))
            json_object_set_new(seen, key, json_true()), json_array_append_new(services, jstr(s->service));
        if (t->nodes[i].parent < 0 || (s->kind && !strcmp(s->kind, "SERVER"))) {
            snprintf(key, sizeof(key), "e:%s %s", s->service, s->name);
            if (!json_object_get(seen, key)) {
                json_object_set_new(seen, key, json_true());
                char ep[600];
                snprintf(ep, sizeof(ep), "%s %s", s->service, s->name);
                json_array_append_new(endpoints, jstr(ep));
            }
        }
    }
    json_decref(seen);
    out->services = services;
    out->endpoints = endpoints;
}

/* Step 3: the root cause described: its exception, the fingerprint, its evidence entry (with the
 * timeout it caused, its retries, its usual duration) and the propagation path up to the entry span. */
static void describe_root(analysis_t *a, rca_result_t *out)
{
    const tree_t *t = &a->t;
    int k = a->k;
    memset(&a->exc, 0, sizeof(a->exc));
    a->exc.format = "none";
    a->root = json_null();
    a->path = json_array();
    if (k < 0) {
        snprintf(out->fingerprint, sizeof(out->fingerprint), "%032d", 0);
        return;
    }
    const node_t *n = &t->nodes[k];
    exc_t *exc = &a->exc;
    if (!out->slow) exception_of(t, k, a->logs, a->tr->nlogs, exc);
    snprintf(out->service, sizeof(out->service), "%s", n->s->service);
    snprintf(out->span_id, sizeof(out->span_id), "%s", n->s->span_id);
    snprintf(out->operation, sizeof(out->operation), "%s", n->s->name);
    snprintf(out->exception_type, sizeof(out->exception_type), "%s",
             exc->root_type[0] ? exc->root_type : exc->type);
    fingerprint_of(n->s->service, exc, n->s->status_message, n->s->name, out->slow, out->fingerprint);
    json_t *root = a->root = span_json(n);
    set_span_id(root, n->s->span_id);
    if (exc->found)
        json_object_set_new(root, "exception",
                            json_pack("{s:o,s:o,s:o,s:o,s:s}", "type", jstr(exc->type), "message",
                                      jstr(exc->message), "root_cause_type", jstr(exc->root_type), "frame",
                                      str_or_null(exc->frame), "format", exc->format));
    if (n->s->status_message) json_object_set_new(root, "status_message", jstr(n->s->status_message));
    if (a->retries) json_object_set_new(root, "retries", json_integer(a->retries));
    if (a->timed_out_at >= 0) {
        const node_t *c = &t->nodes[a->timed_out_at];
        json_t *caller = span_json(c);
        set_span_id(caller, c->s->span_id);
        if (c->s->status_message) json_object_set_new(caller, "status_message", jstr(c->s->status_message));
        json_object_set_new(root, "caused_timeout_in", caller);
    }
    if (out->slow) {
        double usual = baseline_ms(a->opts, n->s);
        if (usual >= 0) json_object_set_new(root, "usual_ms", json_real(usual));
    }
    for (int c = k; c >= 0; c = t->nodes[c].parent) {
        json_t *p = span_json(&t->nodes[c]);
        set_span_id(p, t->nodes[c].s->span_id);
        json_array_append_new(a->path, p);
    }
}

/* Step 4: the logs to cite, at most `max_logs`: the root-cause span's first, then the path's, then
 * other warnings and errors. */
static void cite_logs(analysis_t *a, size_t max_logs)
{
    const tree_t *t = &a->t;
    int k = a->k;
    a->cited = json_array();
    size_t ncited = 0;
    for (int pass = 0; pass < 3 && ncited < max_logs; pass++) {
        for (size_t i = 0; i < a->tr->nlogs && ncited < max_logs; i++) {
            const rca_log_t *log = a->logs[i];
            int on = t->log_span[i];
            int in_root = on == k && k >= 0;
            int on_path = 0;
            for (int c = k; c >= 0 && !on_path; c = t->nodes[c].parent)
                on_path = on == c;
            int take = pass == 0   ? in_root
                       : pass == 1 ? (on_path && !in_root)
                                   : (!on_path && log->severity >= 4);
            if (!take) continue;
            char id[32];
            snprintf(id, sizeof(id), "log:%zu", i);
            char msg[1024];
            snprintf(msg, sizeof(msg), "%s", log->message ? log->message : "");
            json_t *l =
                json_pack("{s:s,s:I,s:o,s:o,s:o,s:o}", "id", id, "ts_ns", (json_int_t)log->ts_ns, "service",
                          jstr(log->service), "level", jstr(log->level), "message", jstr(msg), "span_id",
                          on >= 0 ? jstr(t->nodes[on].s->span_id) : json_null());
            json_array_append_new(a->cited, l);
            ncited++;
        }
    }
}

/* Step 5: the change events suspected of the failure (anomaly/suspects.h, the one model) and the
 * metrics of the trace's services around it. */
static void find_suspects(analysis_t *a, const rca_result_t *out)
{
    int k = a->k;
    int64_t fail_at = k >= 0 ? a->t.nodes[k].s->start_ns : out->first_ns;
    a->suspects = trace_suspects(&a->t, a->tr, a->opts, k, out->slow, fail_at);
    a->metrics = evidence_metrics(a->tr, fail_at, k >= 0 ? a->t.nodes[k].s->service : NULL);
}

/* The evidence JSON (what the LLM and the answer check read): takes root, path, cited, suspects and
 * metrics, which stay readable through it. Returns the sample note (new reference) or NULL. */
static json_t *assemble_evidence(analysis_t *a, rca_result_t *out)
{
    const tree_t *t = &a->t;
    json_t *tree_issues = json_pack("{s:i,s:i,s:O}", "duplicate_spans", t->duplicates, "orphan_spans",
                                    t->orphans, "clock_skew", t->skews);
    out->evidence = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:{s:i,s:i,s:i},s:O,s:O}", "trace_id",
                              a->tr->trace_id ? a->tr->trace_id : "", "fingerprint", out->fingerprint, "kind",
                              json_string(out->slow   ? "slow"
                                          : a->k >= 0 ? "error"
                                                      : "none"),
                              "root_cause", a->root, "propagation_path", a->path, "logs", a->cited,
                              "suspects", a->suspects, "metrics", a->metrics, "span_tree", tree_issues,
                              "counts", "spans", t->n, "logs", (int)a->tr->nlogs, "error_spans", 0,
                              "services", out->services, "endpoints", out->endpoints);
    a->errors = 0;
    for (int i = 0; i < t->n; i++)
        a->errors += t->nodes[i].error;
    json_object_set_new(json_object_get(out->evidence, "counts"), "error_spans", json_integer(a->errors));
    json_t *sample = sample_note(a->tr);
    if (sample) json_object_set(out->evidence, "sample", sample);
    return sample;
}

/* The texts of a report: the root cause in one sentence, the summary, and what to do. */
typedef struct {
    char summary[2048], rc_text[1024], impact[512];
    json_t *remedy;
} report_text_t;

/* The services of the propagation path, from the root cause up, each once per run: "a → b → c". */
static void propagation_chain(const json_t *path, char *chain, size_t n)
{
    chain[0] = '\0';
    for (size_t i = 0; i < json_array_size(path); i++) {
        const char *svc = json_string_value(json_object_get(json_array_get(path, i), "service"));
        size_t len = strlen(chain);
        if (i > 0 && !strcmp(svc, json_string_value(json_object_get(json_array_get(path, i - 1), "service"))))
            continue;
        snprintf(chain + len, n - len, "%s%s", len ? " \u2192 " : "", svc);
    }
}

/* A slow callee made its caller give up waiting. */
static void explain_timeout(const analysis_t *a, const rca_result_t *out, const char *chain, report_text_t *x)
{
    const rca_span_t *caller = a->t.nodes[a->timed_out_at].s;
    snprintf(x->rc_text, sizeof(x->rc_text),
             "%.150s was slow in %.200s (%.1f ms of its own time), so %.150s gave up "
             "waiting in %.200s%s%.200s",
             out->service, out->operation, (double)a->t.nodes[a->k].self_ns / 1e6, caller->service,
             caller->name, caller->status_message ? ": " : "",
             caller->status_message ? caller->status_message : "");
    snprintf(x->summary, sizeof(x->summary), "%.1023s. The failure propagated %.600s.", x->rc_text, chain);
    json_array_append_new(x->remedy, json_string("Find why this operation is slow (locks, load, a slow "
                                                 "dependency) or give its caller a deadline it can meet."));
}

/* No span failed: the slowest step of the critical path. */
static void explain_slow(const analysis_t *a, const rca_result_t *out, report_text_t *x)
{
    double self_ms = (double)a->t.nodes[a->k].self_ns / 1e6;
    snprintf(x->rc_text, sizeof(x->rc_text), "%.200s spent %.1f ms of its own time in %.300s", out->service,
             self_ms, out->operation);
    snprintf(x->summary, sizeof(x->summary),
             "No span failed; the slowest step on the critical path is %.300s in %.200s (%.1f ms "
             "self time).",
             out->operation, out->service, self_ms);
    json_array_append_new(x->remedy,
                          json_string("Profile this operation and compare with its usual duration."));
}

/* A span failed: its exception (or status), where to look, retries, and the most likely change. */
static void explain_error(const analysis_t *a, const rca_result_t *out, const char *chain, report_text_t *x)
{
    const exc_t *exc = &a->exc;
    const rca_span_t *s = a->t.nodes[a->k].s;
    if (exc->found)
        snprintf(x->rc_text, sizeof(x->rc_text), "%.100s failed in %.200s with %.150s%s%.200s%s%.200s",
                 out->service, out->operation, exc->root_type[0] ? exc->root_type : exc->type,
                 exc->message[0] ? ": " : "", exc->message, exc->frame[0] ? " at " : "", exc->frame);
    else
        snprintf(x->rc_text, sizeof(x->rc_text), "%.150s failed in %.300s%s%.400s", out->service,
                 out->operation, s->status_message ? ": " : "", s->status_message ? s->status_message : "");
    snprintf(x->summary, sizeof(x->summary), "%.1023s. The failure propagated %.600s.", x->rc_text, chain);
    char fix[512];
    snprintf(fix, sizeof(fix), "Inspect %.150s in %.100s%s%.200s.", out->operation, out->service,
             exc->frame[0] ? " starting at " : "", exc->frame);
    json_array_append_new(x->remedy, json_string(fix));
    if (a->retries)
        json_array_append_new(x->remedy, json_string("The call was retried and failed every time: "
                                                     "retrying will not help; fix the cause."));
    json_t *top = json_array_get(a->suspects, 0);
    if (top) {
        char roll[800];
        snprintf(roll, sizeof(roll),
                 "Check the most likely change first (confidence %.0f%%): %.600s. Roll it back if it "
                 "matches.",
                 100 * json_number_value(json_object_get(top, "confidence")),
                 json_string_value(json_object_get(top, "evidence")));
        json_array_append_new(x->remedy, json_string(roll));
    }
}

/* Step 6: the deterministic report, in plain words, from the evidence only (report.h's schema), and
 * the incident's title. `sample`: the sample note or NULL (borrowed). */
static void write_report(analysis_t *a, rca_result_t *out, json_t *sample)
{
    const rca_trace_t *tr = a->tr;
    int k = a->k;
    report_text_t x = {.remedy = json_array()};
    json_t *cite = json_array();
    if (k >= 0) {
        char id[40];
        snprintf(id, sizeof(id), "span:%s", out->span_id);
        json_array_append_new(cite, json_string(id));
        for (size_t i = 0; i < json_array_size(a->cited) && i < 5; i++)
            json_array_append(cite, json_object_get(json_array_get(a->cited, i), "id"));
        cite_anomalies(a->metrics, out->service, cite);
        char chain[600];
        propagation_chain(a->path, chain, sizeof(chain));
        if (a->timed_out_at >= 0)
            explain_timeout(a, out, chain, &x);
        else if (out->slow)
            explain_slow(a, out, &x);
        else
            explain_error(a, out, chain, &x);
        snprintf(x.impact, sizeof(x.impact), "Trace %.64s: %d of %d spans failed across %zu services.",
                 tr->trace_id ? tr->trace_id : "", a->errors, a->t.n, json_array_size(out->services));
        snprintf(out->title, sizeof(out->title), "%.200s: %.250s", out->service,
                 out->slow ? "slow" : (out->exception_type[0] ? out->exception_type : out->operation));
    } else {
        snprintf(x.rc_text, sizeof(x.rc_text), "no failing or slow span was found");
        snprintf(x.summary, sizeof(x.summary), "The trace has no error signal and no span stands out.");
        snprintf(x.impact, sizeof(x.impact), "none observed");
        snprintf(out->title, sizeof(out->title), "trace %.64s", tr->trace_id ? tr->trace_id : "");
    }
    double confidence = k < 0 ? 0.0 : out->slow ? 0.4 : a->exc.found ? 0.9 : 0.7;
    report_finding_t f = {.summary = x.summary,
                          .impact = x.impact,
                          .service = k >= 0 ? out->service : NULL,
                          .span_id = k >= 0 ? out->span_id : NULL,
                          .operation = k >= 0 ? out->operation : NULL,
                          .exception = out->exception_type[0] ? out->exception_type : NULL,
                          .evidence = cite,
                          .remediation = x.remedy,
                          .confidence = confidence,
                          .conclusive = k >= 0 && !out->slow,
                          .generated_by = REPORT_BY_DETERMINISTIC,
                          .explanation = x.rc_text,
                          .sample = sample ? json_string_value(sample) : NULL};
    out->report = report_build(&f);
    rca_shapes_annotate(&a->shapes, out->slow, k >= 0 && baseline_ms(a->opts, a->t.nodes[k].s) >= 0,
                        out->report, out->evidence);
}

static void analysis_dispose(analysis_t *a)
{
    rca_shapes_dispose(&a->shapes);
    for (int i = 0; i < a->t.n; i++)
        free(a->t.nodes[i].children);
    free(a->t.nodes);
    free(a->t.log_span);
    json_decref(a->t.skews);
    free(a->logs);
}

int rca_analyse(const rca_trace_t *tr, const rca_opts_t *opts, rca_result_t *out)
{
    memset(out, 0, sizeof(*out));
    analysis_t a = {.tr = tr, .opts = opts, .k = -1, .timed_out_at = -1};
    build_span_tree(&a);
    pick_root(&a, out);
    list_involved(&a, out);
    describe_root(&a, out);
    cite_logs(&a, opts && opts->max_cited_logs ? opts->max_cited_logs : 20);
    find_suspects(&a, out);
    json_t *sample = assemble_evidence(&a, out);
    write_report(&a, out, sample);
    json_decref(sample);
    analysis_dispose(&a);
    return 0;
}

void rca_result_dispose(rca_result_t *r)
{
    if (r == NULL) return;
    json_decref(r->evidence);
    json_decref(r->report);
    json_decref(r->services);
    json_decref(r->endpoints);
    r->evidence = r->report = r->services = r->endpoints = NULL;
}
