/* The evidence object (see evidence.h). Layout, keys in this order:
 *
 *   schema            "prodsentinel.evidence.v1"
 *   trace_id
 *   kind              "error" | "slow" | "none"
 *   window            {start_ns, end_ns, duration_ms}
 *   entry             {id, span_id, service, operation, status, duration_ms} | null
 *   verdict_inputs    {failed_spans, candidates, exception_found, surfaced, other_failures, retries,
 *                      clock_skew_corrected, orphans, duplicates, slow_span_clear}
 *   root_cause        {id, span_id, service, operation, kind, reason, status, status_message,
 *                      start_ns, duration_ms, self_ms, depth, attributes{..}, exception{..}|null,
 *                      caused_timeout_in{..}?, baseline_p50_ms?, excess_ms?} | null
 *   propagation_path  [{id, span_id, service, operation, kind, status, status_message, duration_ms}]
 *                     root cause first, entry last
 *   retries           {id, service, operation, attempts, failed_attempts} | null
 *   failed_spans      [{id, service, operation, status_message, exception}]  (at most 20, tree order)
 *   other_failures    [{id, service, operation, swallowed_by}]  (failures besides the surfaced one)
 *   logs              [{id, ts_ns, service, level, span_id, linked, message, truncated, stack_trace?}]
 *   suspects          change events (signals.h)
 *   anomalies         metric shifts of the root-cause service (signals.h)
 *   span_tree         {spans, distinct, invalid, roots[], orphans[], duplicates[], cycles,
 *                      clock_skew[], critical_path[]}
 *   services          every service of the trace, sorted
 *   endpoints         "service operation" of every entry point (server/consumer spans, roots and
 *                     spans called from another service), sorted
 *   fingerprint
 *   counts            {spans, distinct_spans, error_spans, failed_spans, logs, error_logs, metrics,
 *                      changes}
 */
#include "evidence.h"
#include "alloc.h"
#include "signals.h"
#include "strutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 512       /* messages and status messages */
#define NAME_MAX_BYTES 256 /* services, operations, ids */
#define STACK_MAX 1500     /* a cited log's stack trace */
#define LIST_MAX 20        /* failed spans, other failures */
#define TREE_LIST_MAX 10   /* roots, orphans, duplicates listed */
#define CRITICAL_MAX 30
#define SUSPECTS_MAX 10
#define ANOMALIES_MAX 10
#define SERVICES_MAX 500
#define ENDPOINTS_MAX 200

static const char *const span_attributes[] = {"peer.service",        "server.address",
                                              "net.peer.name",       "http.method",
                                              "http.request.method", "http.route",
                                              "http.status_code",    "http.response.status_code",
                                              "db.system",           "rpc.service",
                                              "rpc.method",          "messaging.system",
                                              "error.type",          NULL};

void analysis_span_ref(const char *span_id, char *out, size_t outlen)
{
    snprintf(out, outlen, "span:%s", an_str(span_id));
}

static json_t *str(const char *s)
{
    return an_json_cstr(s, NAME_MAX_BYTES);
}

static json_t *text_or_null(const char *s)
{
    return s ? an_json_cstr(s, TEXT_MAX) : json_null();
}

static const char *status_name(int status)
{
    return status == ANALYSIS_STATUS_ERROR ? "error" : status == ANALYSIS_STATUS_OK ? "ok" : "unset";
}

static json_t *span_id_json(const analysis_node_t *nd)
{
    char id[NAME_MAX_BYTES + 8];
    analysis_span_ref(nd->span->span_id, id, sizeof(id));
    return str(id);
}

/* {id, span_id, service, operation}: how every list names a span. */
static json_t *node_ref(const analysis_tree_t *t, int x)
{
    const analysis_node_t *nd = &t->nodes[x];
    json_t *o = json_object();
    json_object_set_new(o, "id", span_id_json(nd));
    json_object_set_new(o, "span_id", str(nd->span->span_id));
    json_object_set_new(o, "service", str(nd->service));
    json_object_set_new(o, "operation", str(nd->name));
    return o;
}

/* ---------------- root cause ---------------- */

static json_t *attributes_of(const analysis_span_t *s)
{
    json_t *out = json_object();
    if (s->attributes_json == NULL || strlen(s->attributes_json) > 256 * 1024) return out;
    json_t *a = json_loads(s->attributes_json, 0, NULL);
    for (const char *const *k = span_attributes; json_is_object(a) && *k; k++) {
        json_t *v = json_object_get(a, *k);
        if (json_is_string(v))
            json_object_set_new(out, *k, an_json_cstr(json_string_value(v), NAME_MAX_BYTES));
        else if (json_is_integer(v))
            json_object_set_new(out, *k, json_integer(json_integer_value(v)));
    }
    json_decref(a);
    return out;
}

static json_t *exception_json(const analysis_exc_info_t *e)
{
    if (e == NULL || !e->present) return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "type", str(e->type));
    json_object_set_new(o, "message", an_json_cstr(e->message, TEXT_MAX));
    json_object_set_new(o, "root_cause_type", str(e->root_type));
    json_object_set_new(o, "root_cause_message", an_json_cstr(e->root_message, TEXT_MAX));
    if (e->has_frame) {
        json_t *f = json_object();
        json_object_set_new(f, "function", str(e->frame_function));
        json_object_set_new(f, "file", str(e->frame_file));
        json_object_set_new(f, "line", json_integer(e->frame_line));
        json_object_set_new(o, "frame", f);
    } else {
        json_object_set_new(o, "frame", json_null());
    }
    json_object_set_new(o, "format", json_string(analysis_stacktrace_format_name(e->stack.format)));
    json_t *chain = json_array();
    for (int i = 0; e->has_stack && i < e->stack.nchain; i++)
        json_array_append_new(
            chain, an_json_str(e->stack.chain[i].type.p, e->stack.chain[i].type.n, NAME_MAX_BYTES, NULL));
    json_object_set_new(o, "chain", chain);
    json_object_set_new(o, "source", str(e->source));
    return o;
}

static json_t *root_cause_json(const analysis_evidence_in_t *in)
{
    const analysis_rc_t *rc = in->rc;
    const analysis_tree_t *t = in->tree;
    if (rc->node < 0) return json_null();
    const analysis_node_t *nd = &t->nodes[rc->node];
    json_t *o = node_ref(t, rc->node);
    json_object_set_new(o, "kind", str(nd->span->kind));
    json_object_set_new(o, "reason",
                        json_string(rc->kind == ANALYSIS_RC_SLOW ? "slow"
                                    : rc->timeout_in >= 0        ? "slow_callee_of_timeout"
                                                                 : "error"));
    json_object_set_new(o, "status", json_string(status_name(nd->span->status)));
    json_object_set_new(o, "status_message", text_or_null(nd->span->status_message));
    json_object_set_new(o, "start_ns", json_integer(nd->raw_start_ns));
    json_object_set_new(o, "duration_ms", json_real(an_ms(nd->end_ns - nd->start_ns)));
    json_object_set_new(o, "self_ms", json_real(an_ms(nd->self_ns)));
    json_object_set_new(o, "depth", json_integer(nd->depth));
    json_object_set_new(o, "attributes", attributes_of(nd->span));
    json_object_set_new(o, "exception", exception_json(in->exc));
    if (rc->timeout_in >= 0) {
        const analysis_node_t *tn = &t->nodes[rc->timeout_in];
        json_t *c = node_ref(t, rc->timeout_in);
        json_object_set_new(c, "status_message", text_or_null(tn->span->status_message));
        json_object_set_new(c, "duration_ms", json_real(an_ms(tn->end_ns - tn->start_ns)));
        json_object_set_new(o, "caused_timeout_in", c);
    }
    if (rc->kind == ANALYSIS_RC_SLOW) {
        json_object_set_new(o, "baseline_p50_ms",
                            rc->baseline_ms >= 0 ? json_real(analysis_round(rc->baseline_ms, 3))
                                                 : json_null());
        json_object_set_new(o, "excess_ms", json_real(an_ms(rc->excess_ns)));
    }
    return o;
}

static json_t *path_json(const analysis_tree_t *t, const analysis_rc_t *rc)
{
    json_t *a = json_array();
    for (size_t i = 0; i < rc->npath; i++) {
        const analysis_node_t *nd = &t->nodes[rc->path[i]];
        json_t *o = node_ref(t, rc->path[i]);
        json_object_set_new(o, "kind", str(nd->span->kind));
        json_object_set_new(o, "status", json_string(status_name(nd->span->status)));
        json_object_set_new(o, "status_message", text_or_null(nd->span->status_message));
        json_object_set_new(o, "duration_ms", json_real(an_ms(nd->end_ns - nd->start_ns)));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *retries_json(const analysis_tree_t *t, const analysis_rc_t *rc)
{
    if (rc->retry_node < 0) return json_null();
    json_t *o = node_ref(t, rc->retry_node);
    json_object_set_new(o, "attempts", json_integer(rc->attempts));
    json_object_set_new(o, "failed_attempts", json_integer(rc->failed_attempts));
    return o;
}

/* ---------------- failures ---------------- */

static json_t *failed_json(const analysis_tree_t *t, const analysis_rc_t *rc)
{
    json_t *a = json_array();
    for (size_t k = 0; k < t->nnodes && json_array_size(a) < LIST_MAX; k++) {
        int x = t->preorder[k];
        if (!(rc->flags[x] & ANALYSIS_RC_FAILED)) continue;
        json_t *o = node_ref(t, x);
        json_object_set_new(o, "status_message", text_or_null(t->nodes[x].span->status_message));
        json_object_set_new(o, "exception", json_boolean(rc->flags[x] & ANALYSIS_RC_EXCEPTION));
        json_array_append_new(a, o);
    }
    return a;
}

/* The nearest ancestor of x with status OK, or -1. */
static int swallowed_by(const analysis_tree_t *t, const analysis_rc_t *rc, int x)
{
    for (int p = t->nodes[x].parent; p >= 0; p = t->nodes[p].parent)
        if (rc->flags[p] & ANALYSIS_RC_OK) return p;
    return -1;
}

static json_t *others_json(const analysis_tree_t *t, const analysis_rc_t *rc)
{
    json_t *a = json_array();
    for (size_t i = 0; i < rc->nothers && i < LIST_MAX; i++) {
        int x = rc->others[i], by = swallowed_by(t, rc, x);
        json_t *o = node_ref(t, x);
        json_object_set_new(o, "swallowed_by", by >= 0 ? span_id_json(&t->nodes[by]) : json_null());
        json_array_append_new(a, o);
    }
    return a;
}

/* ---------------- logs ---------------- */

static json_t *log_json(const analysis_tree_t *t, const analysis_logs_t *logs, int i)
{
    const analysis_logref_t *r = &logs->logs[i];
    const analysis_log_t *l = r->log;
    char id[32];
    int cut = 0;
    analysis_log_id((size_t)i, id, sizeof(id));
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "ts_ns", json_integer(l->ts_ns));
    json_object_set_new(o, "service", str(l->service ? l->service : "unknown"));
    json_object_set_new(o, "level", str(l->level ? l->level : ""));
    json_object_set_new(o, "span_id", r->node >= 0 ? str(t->nodes[r->node].span->span_id) : json_null());
    json_object_set_new(o, "linked", json_string(r->node < 0 ? "none" : r->by_time ? "time" : "span_id"));
    const char *m = an_str(l->message);
    json_object_set_new(o, "message", an_json_str(m, strlen(m), TEXT_MAX, &cut));
    json_object_set_new(o, "truncated", json_boolean(cut));
    if (l->stack_trace && l->stack_trace[0])
        json_object_set_new(o, "stack_trace", an_json_cstr(l->stack_trace, STACK_MAX));
    return o;
}

static json_t *logs_json(const analysis_tree_t *t, const analysis_logs_t *logs, const analysis_rc_t *rc)
{
    json_t *a = json_array();
    for (size_t i = 0; i < rc->ncited; i++)
        json_array_append_new(a, log_json(t, logs, rc->cited[i]));
    return a;
}

/* ---------------- services, endpoints ---------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A sorted, de-duplicated JSON array of the n strings in v (v is sorted in place), at most max. */
static json_t *sorted_set(const char **v, size_t n, size_t max)
{
    qsort(v, n, sizeof(*v), cmp_str);
    json_t *a = json_array();
    for (size_t i = 0; i < n && json_array_size(a) < max; i++)
        if (i == 0 || strcmp(v[i], v[i - 1]) != 0) json_array_append_new(a, str(v[i]));
    return a;
}

static json_t *services_json(const analysis_tree_t *t, const analysis_logs_t *logs)
{
    const char **v = xcalloc(t->nnodes + logs->nlogs + 1, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < t->nnodes; i++)
        v[n++] = t->nodes[i].service;
    for (size_t i = 0; i < logs->nlogs; i++)
        v[n++] = logs->logs[i].log->service ? logs->logs[i].log->service : "unknown";
    json_t *a = sorted_set(v, n, SERVICES_MAX);
    free(v);
    return a;
}

static json_t *endpoints_json(const analysis_tree_t *t)
{
    char **owned = xcalloc(t->nnodes + 1, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < t->nnodes; i++) {
        const analysis_node_t *nd = &t->nodes[i];
        if (!analysis_tree_is_entry_point(t, (int)i)) continue;
        size_t len = strlen(nd->service) + strlen(nd->name) + 2;
        owned[n] = xmalloc(len);
        snprintf(owned[n], len, "%s %s", nd->service, nd->name);
        n++;
    }
    json_t *a = sorted_set((const char **)owned, n, ENDPOINTS_MAX);
    for (size_t i = 0; i < n; i++)
        free(owned[i]);
    free(owned);
    return a;
}

/* ---------------- span tree ---------------- */

static json_t *tree_json(const analysis_tree_t *t)
{
    json_t *o = json_object(), *roots = json_array(), *orphans = json_array(), *dups = json_array();
    json_t *skew = json_array(), *crit = json_array();
    json_object_set_new(o, "spans", json_integer((json_int_t)t->nspans_in));
    json_object_set_new(o, "distinct", json_integer((json_int_t)t->nnodes));
    json_object_set_new(o, "invalid", json_integer((json_int_t)t->ninvalid));
    for (size_t i = 0; i < t->nroots && i < TREE_LIST_MAX; i++)
        json_array_append_new(roots, span_id_json(&t->nodes[t->roots[i]]));
    for (size_t i = 0; i < t->nnodes && json_array_size(orphans) < TREE_LIST_MAX; i++) {
        const analysis_node_t *nd = &t->nodes[i];
        if (!(nd->flags & (ANALYSIS_NODE_ORPHAN | ANALYSIS_NODE_CYCLE))) continue;
        json_t *e = json_object();
        json_object_set_new(e, "id", span_id_json(nd));
        json_object_set_new(e, "missing_parent", str(nd->span->parent_span_id));
        json_object_set_new(e, "cycle", json_boolean(nd->flags & ANALYSIS_NODE_CYCLE));
        json_array_append_new(orphans, e);
    }
    for (size_t i = 0; i < t->nnodes && json_array_size(dups) < TREE_LIST_MAX; i++) {
        if (t->nodes[i].copies < 2) continue;
        json_t *e = json_object();
        json_object_set_new(e, "id", span_id_json(&t->nodes[i]));
        json_object_set_new(e, "copies", json_integer(t->nodes[i].copies));
        json_array_append_new(dups, e);
    }
    for (size_t i = 0; i < t->nskews; i++) {
        const analysis_skew_t *s = &t->skews[i];
        if (s->violations == 0) continue;
        json_t *e = json_object();
        json_object_set_new(e, "parent_service", str(s->parent_service));
        json_object_set_new(e, "child_service", str(s->child_service));
        json_object_set_new(e, "edges", json_integer(s->edges));
        json_object_set_new(e, "violations", json_integer(s->violations));
        json_object_set_new(e, "offset_ms", json_real(an_ms(s->offset_ns)));
        json_object_set_new(e, "corrected", json_boolean(s->corrected));
        json_array_append_new(skew, e);
    }
    for (size_t i = 0; i < t->ncritical && i < CRITICAL_MAX; i++)
        json_array_append_new(crit, span_id_json(&t->nodes[t->critical[i]]));
    json_object_set_new(o, "roots", roots);
    json_object_set_new(o, "nroots", json_integer((json_int_t)t->nroots));
    json_object_set_new(o, "orphans", orphans);
    json_object_set_new(o, "norphans", json_integer((json_int_t)t->norphans));
    json_object_set_new(o, "duplicates", dups);
    json_object_set_new(o, "nduplicates", json_integer((json_int_t)t->nduplicates));
    json_object_set_new(o, "cycles", json_integer((json_int_t)t->ncycles));
    json_object_set_new(o, "clock_skew", skew);
    json_object_set_new(o, "critical_path", crit);
    return o;
}

/* ---------------- the whole ---------------- */

static int skew_corrected(const analysis_tree_t *t)
{
    for (size_t i = 0; i < t->nskews; i++)
        if (t->skews[i].corrected) return 1;
    return 0;
}

static json_t *entry_json(const analysis_tree_t *t)
{
    if (t->entry < 0) return json_null();
    const analysis_node_t *nd = &t->nodes[t->entry];
    json_t *o = node_ref(t, t->entry);
    json_object_set_new(o, "status", json_string(status_name(nd->span->status)));
    json_object_set_new(o, "duration_ms", json_real(an_ms(nd->end_ns - nd->start_ns)));
    return o;
}

static json_t *verdict_inputs(const analysis_evidence_in_t *in)
{
    const analysis_rc_t *rc = in->rc;
    const analysis_tree_t *t = in->tree;
    json_t *o = json_object();
    json_object_set_new(o, "failed_spans", json_integer((json_int_t)rc->nfailed));
    json_object_set_new(o, "candidates", json_integer((json_int_t)rc->ncandidates));
    json_object_set_new(o, "exception_found", json_boolean(in->exc && in->exc->present));
    json_object_set_new(o, "surfaced", json_boolean(rc->kind == ANALYSIS_RC_ERROR && rc->surfaced));
    json_object_set_new(o, "other_failures", json_integer((json_int_t)rc->nothers));
    json_object_set_new(o, "retries", json_integer(rc->retry_node >= 0 ? rc->attempts - 1 : 0));
    json_object_set_new(o, "clock_skew_corrected", json_boolean(skew_corrected(t)));
    json_object_set_new(o, "orphans", json_integer((json_int_t)(t->norphans + t->ncycles)));
    json_object_set_new(o, "duplicates", json_integer((json_int_t)t->nduplicates));
    json_object_set_new(o, "slow_span_clear", json_boolean(rc->kind == ANALYSIS_RC_SLOW));
    return o;
}

static json_t *counts_json(const analysis_evidence_in_t *in)
{
    const analysis_tree_t *t = in->tree;
    size_t errors = 0;
    for (size_t i = 0; i < t->nnodes; i++)
        errors += t->nodes[i].span->status == ANALYSIS_STATUS_ERROR;
    json_t *o = json_object();
    json_object_set_new(o, "spans", json_integer((json_int_t)t->nspans_in));
    json_object_set_new(o, "distinct_spans", json_integer((json_int_t)t->nnodes));
    json_object_set_new(o, "error_spans", json_integer((json_int_t)errors));
    json_object_set_new(o, "failed_spans", json_integer((json_int_t)in->rc->nfailed));
    json_object_set_new(o, "logs", json_integer((json_int_t)in->logs->nlogs));
    json_object_set_new(o, "error_logs", json_integer((json_int_t)in->logs->nerror));
    json_object_set_new(o, "metrics", json_integer((json_int_t)in->ctx->nmetrics));
    json_object_set_new(o, "changes", json_integer((json_int_t)in->ctx->nchanges));
    return o;
}

/* Suspects relate changes to the root cause's service and the services of its path. */
static json_t *suspects_json(const analysis_evidence_in_t *in, json_t *services)
{
    const analysis_tree_t *t = in->tree;
    const analysis_rc_t *rc = in->rc;
    size_t ns = json_array_size(services);
    const char **svc = xcalloc(ns + 1, sizeof(char *)), **path = xcalloc(rc->npath + 1, sizeof(char *));
    for (size_t i = 0; i < ns; i++)
        svc[i] = json_string_value(json_array_get(services, i));
    for (size_t i = 0; i < rc->npath; i++)
        path[i] = t->nodes[rc->path[i]].service;
    analysis_roles_t roles = {rc->node >= 0 ? t->nodes[rc->node].service : NULL, path, rc->npath, svc, ns};
    int64_t at = rc->node >= 0 ? t->nodes[rc->node].raw_start_ns : t->start_ns;
    json_t *a = analysis_change_suspects(in->ctx, &roles, at, SUSPECTS_MAX);
    free(svc);
    free(path);
    return a;
}

json_t *analysis_evidence_build(const analysis_evidence_in_t *in)
{
    const analysis_tree_t *t = in->tree;
    const analysis_rc_t *rc = in->rc;
    json_t *ev = json_object(), *window = json_object();
    json_object_set_new(ev, "schema", json_string("prodsentinel.evidence.v1"));
    json_object_set_new(ev, "trace_id", str(in->ctx->trace_id));
    json_object_set_new(ev, "kind",
                        json_string(rc->kind == ANALYSIS_RC_ERROR  ? "error"
                                    : rc->kind == ANALYSIS_RC_SLOW ? "slow"
                                                                   : "none"));
    json_object_set_new(window, "start_ns", json_integer(t->start_ns));
    json_object_set_new(window, "end_ns", json_integer(t->end_ns));
    json_object_set_new(window, "duration_ms", json_real(an_ms(t->end_ns - t->start_ns)));
    json_object_set_new(ev, "window", window);
    json_object_set_new(ev, "entry", entry_json(t));
    json_object_set_new(ev, "verdict_inputs", verdict_inputs(in));
    json_object_set_new(ev, "root_cause", root_cause_json(in));
    json_object_set_new(ev, "propagation_path", path_json(t, rc));
    json_object_set_new(ev, "retries", retries_json(t, rc));
    json_object_set_new(ev, "failed_spans", failed_json(t, rc));
    json_object_set_new(ev, "other_failures", others_json(t, rc));
    json_object_set_new(ev, "logs", logs_json(t, in->logs, rc));
    json_t *services = services_json(t, in->logs);
    json_object_set_new(ev, "suspects", suspects_json(in, services));
    json_object_set_new(ev, "anomalies",
                        rc->node >= 0 ? analysis_metric_hints(in->ctx, t->nodes[rc->node].service,
                                                              t->start_ns, t->end_ns, ANOMALIES_MAX)
                                      : json_array());
    json_object_set_new(ev, "span_tree", tree_json(t));
    json_object_set_new(ev, "services", services);
    json_object_set_new(ev, "endpoints", endpoints_json(t));
    json_object_set_new(ev, "fingerprint", str(in->fingerprint));
    json_object_set_new(ev, "counts", counts_json(in));
    return ev;
}
