/* The analysis entry point (see analysis.h): runs the passes in order and copies out what the
 * pipeline stores next to the evidence and the report. */
#include "analysis.h"
#include "alloc.h"
#include "evidence.h"
#include "exception.h"
#include "loglink.h"
#include "spantree.h"
#include "strutil.h"

#include <stdlib.h>
#include <string.h>

char *analysis_json_dump(const json_t *v)
{
    return an_json_dump(v);
}

/* The fingerprint: what failed (or was slow) where, by its exception and frames when it has one. */
static void fingerprint_of(const analysis_tree_t *t, const analysis_rc_t *rc, const analysis_logs_t *logs,
                           const analysis_exc_info_t *exc, char out[ANALYSIS_FP_SIZE])
{
    int x = rc->node >= 0 ? rc->node : t->entry;
    const analysis_node_t *nd = x >= 0 ? &t->nodes[x] : NULL;
    const char *message = exc->present && exc->message[0] ? exc->message
                          : nd                            ? nd->span->status_message
                                                          : NULL;
    if (message == NULL && x >= 0 && rc->kind == ANALYSIS_RC_ERROR) /* the first error log of the span */
        for (int k = logs->first[x]; k < logs->first[x + 1] && message == NULL; k++)
            if (logs->logs[logs->of_node[k]].severity >= ANALYSIS_SEV_ERROR)
                message = logs->logs[logs->of_node[k]].log->message;
    analysis_fp_input_t in = {
        .service = nd ? nd->service : "",
        .kind = rc->kind == ANALYSIS_RC_ERROR  ? (rc->timeout_in >= 0 ? "timeout" : "error")
                : rc->kind == ANALYSIS_RC_SLOW ? "slow"
                                               : "none",
        .exception_type = exc->present ? exc->type : NULL,
        .root_cause_type = exc->present ? exc->root_type : NULL,
        .stack = exc->has_stack ? &exc->stack : NULL,
        .message = rc->kind == ANALYSIS_RC_ERROR ? message : NULL,
        .operation = nd ? nd->name : "",
    };
    analysis_fingerprint(&in, out);
}

static void copy_services(const json_t *evidence, analysis_result_t *out)
{
    const json_t *a = json_object_get(evidence, "services"), *x;
    size_t i;
    out->services = xcalloc(json_array_size(a) + 1, sizeof(char *));
    json_array_foreach(a, i, x) out->services[out->nservices++] = xstrdup(json_string_value(x));
}

typedef struct {
    const char *service, *operation;
} pair_t;

static int cmp_pair(const void *pa, const void *pb)
{
    const pair_t *a = pa, *b = pb;
    int c = strcmp(a->service, b->service);
    return c ? c : strcmp(a->operation, b->operation);
}

static void copy_endpoints(const analysis_tree_t *t, analysis_result_t *out)
{
    pair_t *e = xcalloc(t->nnodes + 1, sizeof(*e));
    size_t n = 0;
    for (size_t i = 0; i < t->nnodes; i++)
        if (analysis_tree_is_entry_point(t, (int)i)) e[n++] = (pair_t){t->nodes[i].service, t->nodes[i].name};
    qsort(e, n, sizeof(*e), cmp_pair);
    out->endpoints = xcalloc(n + 1, sizeof(analysis_endpoint_t));
    for (size_t i = 0; i < n; i++) {
        if (i && cmp_pair(&e[i], &e[i - 1]) == 0) continue;
        out->endpoints[out->nendpoints].service = xstrdup(e[i].service);
        out->endpoints[out->nendpoints].operation = xstrdup(e[i].operation);
        out->nendpoints++;
    }
    free(e);
}

static void copy_root(const analysis_tree_t *t, const analysis_rc_t *rc, const analysis_exc_info_t *exc,
                      analysis_result_t *out)
{
    if (rc->node < 0) return;
    const analysis_node_t *nd = &t->nodes[rc->node];
    out->service = xstrdup(nd->service);
    out->span_id = xstrdup(nd->span->span_id);
    out->operation = xstrdup(nd->name);
    out->exception_type = exc->present && exc->type[0] ? xstrdup(exc->type) : NULL;
}

int analysis_run(const trace_ctx_t *ctx, const analysis_opts_t *opts, analysis_result_t *out)
{
    static const analysis_opts_t defaults = {0};
    const analysis_opts_t *o = opts ? opts : &defaults;
    analysis_tree_t tree;
    analysis_logs_t logs;
    analysis_rc_t rc;
    analysis_exc_info_t exc;
    memset(out, 0, sizeof(*out));
    analysis_tree_opts_t topts = {o->skew_tolerance_ns};
    if (analysis_tree_build(ctx, &topts, &tree) != 0) {
        analysis_tree_dispose(&tree);
        return -1;
    }
    analysis_logs_link(ctx, &tree, &logs);
    analysis_rc_opts_t ropts = {o->baselines, o->nbaselines, o->max_cited_logs, o->slow_min_share};
    analysis_rootcause_find(&tree, &logs, &ropts, &rc);
    analysis_exception_of(&tree, &logs, rc.kind == ANALYSIS_RC_NONE ? -1 : rc.node, &exc);
    fingerprint_of(&tree, &rc, &logs, &exc, out->fingerprint);
    analysis_evidence_in_t in = {ctx, &tree, &logs, &rc, &exc, out->fingerprint};
    out->evidence = analysis_evidence_build(&in);
    out->report = analysis_report_build(out->evidence);
    out->kind = rc.kind;
    out->conclusive = rc.node >= 0;
    out->start_ns = tree.start_ns;
    out->end_ns = tree.end_ns;
    copy_root(&tree, &rc, &exc, out);
    copy_services(out->evidence, out);
    copy_endpoints(&tree, out);
    analysis_exc_info_dispose(&exc);
    analysis_rc_dispose(&rc);
    analysis_logs_dispose(&logs);
    analysis_tree_dispose(&tree);
    return 0;
}

void analysis_result_dispose(analysis_result_t *r)
{
    if (r == NULL) return;
    json_decref(r->evidence);
    json_decref(r->report);
    free(r->service);
    free(r->span_id);
    free(r->operation);
    free(r->exception_type);
    for (size_t i = 0; i < r->nservices; i++)
        free(r->services[i]);
    free(r->services);
    for (size_t i = 0; i < r->nendpoints; i++) {
        free(r->endpoints[i].service);
        free(r->endpoints[i].operation);
    }
    free(r->endpoints);
    memset(r, 0, sizeof(*r));
}
