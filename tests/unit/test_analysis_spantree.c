/* The span tree (pipeline/analysis/spantree.h): duplicates, orphans, several roots, parent cycles,
 * clock skew between services, self time and the critical path. */
#include "analysis/spantree.h"

#include "ts.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000LL
#define T0 1768212000000000000LL
#define SPAN(id, parent, svc, name, kind, s, e, status)                                                      \
    {                                                                                                        \
        id, parent, svc, name, kind, T0 + (int64_t)((s)*MS), T0 + (int64_t)((e)*MS), status, NULL, NULL,     \
            NULL                                                                                             \
    }

static trace_ctx_t ctx_of(const analysis_span_t *spans, size_t n)
{
    trace_ctx_t c = {"0af7651916cd43dd8448eb211c80319c", spans, n, NULL, 0, NULL, 0, NULL, 0};
    return c;
}

static const analysis_node_t *node(const analysis_tree_t *t, const char *id)
{
    int x = analysis_tree_find(t, id);
    ck_assert_msg(x >= 0, "span %s not in the tree", id);
    return &t->nodes[x];
}

START_TEST(duplicates_keep_one)
{
    analysis_span_t a[] = {
        SPAN("r", NULL, "gateway", "GET /", "SERVER", 0, 100, 1),
        SPAN("x", "r", "payment", "POST /charge", "SERVER", 10, 50, 1),
        SPAN("x", "r", "payment", "POST /charge", "SERVER", 12, 40, 2), /* the error copy is kept */
        SPAN("x", "r", "payment", "POST /charge", "SERVER", 10, 50, 1),
    };
    analysis_tree_t t;
    ck_assert_int_eq(analysis_tree_build(&(trace_ctx_t){"t", a, 4, NULL, 0, NULL, 0, NULL, 0}, NULL, &t), 0);
    ck_assert_uint_eq(t.nnodes, 2);
    ck_assert_uint_eq(t.nspans_in, 4);
    ck_assert_uint_eq(t.nduplicates, 2);
    ck_assert_int_eq(node(&t, "x")->copies, 3);
    ck_assert_int_eq(node(&t, "x")->span->status, ANALYSIS_STATUS_ERROR);
    ck_assert_ptr_eq(node(&t, "x")->span, &a[2]);
    analysis_tree_dispose(&t);
    /* any input order keeps the same copy */
    analysis_span_t b[] = {a[2], a[3], a[0], a[1]};
    trace_ctx_t c = ctx_of(b, 4);
    ck_assert_int_eq(analysis_tree_build(&c, NULL, &t), 0);
    ck_assert_ptr_eq(node(&t, "x")->span, &b[0]);
    analysis_tree_dispose(&t);
}
END_TEST

START_TEST(orphans_and_roots)
{
    analysis_span_t a[] = {
        SPAN("r2", NULL, "batch", "cron", "INTERNAL", 5, 10, 0),
        SPAN("r1", "0000000000000000", "gateway", "GET /", "SERVER", 0, 100, 1),
        SPAN("c1", "r1", "gateway", "db", "CLIENT", 10, 20, 1),
        SPAN("o1", "missing", "payment", "POST /charge", "SERVER", 30, 60, 2),
        SPAN("o2", "o1", "payment", "insert", "CLIENT", 35, 55, 2),
        SPAN("", "r1", "payment", "no id", NULL, 1, 2, 0),
        {NULL, "r1", "payment", "no id", NULL, 1, 2, 0, NULL, NULL, NULL},
    };
    trace_ctx_t c = ctx_of(a, 7);
    analysis_tree_t t;
    ck_assert_int_eq(analysis_tree_build(&c, NULL, &t), 0);
    ck_assert_uint_eq(t.ninvalid, 2);
    ck_assert_uint_eq(t.nroots, 3);
    ck_assert_uint_eq(t.nparentless, 2);
    ck_assert_uint_eq(t.norphans, 1);
    /* parentless roots by start first (r1 at 0 before r2 at 5), then orphans */
    ck_assert_int_eq(t.roots[0], analysis_tree_find(&t, "r1"));
    ck_assert_int_eq(t.roots[1], analysis_tree_find(&t, "r2"));
    ck_assert_int_eq(t.roots[2], analysis_tree_find(&t, "o1"));
    ck_assert_int_eq(t.entry, analysis_tree_find(&t, "r1"));
    ck_assert(node(&t, "o1")->flags & ANALYSIS_NODE_ORPHAN);
    ck_assert_int_eq(node(&t, "o1")->depth, 0);
    ck_assert_int_eq(node(&t, "o2")->depth, 1);
    ck_assert_int_eq(analysis_tree_find(&t, "missing"), -1);
    ck_assert_int_eq(analysis_tree_find(&t, NULL), -1);
    analysis_tree_dispose(&t);
}
END_TEST

START_TEST(cycles_are_cut)
{
    analysis_span_t a[] = {
        SPAN("a", "b", "s", "a", NULL, 0, 10, 0), SPAN("b", "c", "s", "b", NULL, 1, 9, 0),
        SPAN("c", "a", "s", "c", NULL, 2, 8, 0),  SPAN("d", "d", "s", "self", NULL, 3, 4, 0),
        SPAN("e", "c", "s", "e", NULL, 3, 4, 0),
    };
    trace_ctx_t c = ctx_of(a, 5);
    analysis_tree_t t;
    ck_assert_int_eq(analysis_tree_build(&c, NULL, &t), 0);
    ck_assert_uint_eq(t.ncycles, 2);
    ck_assert_uint_eq(t.nroots, 2);
    /* the walk from "a" (first by id) comes back to "a": its link is cut */
    ck_assert(node(&t, "a")->flags & ANALYSIS_NODE_CYCLE);
    ck_assert_int_eq(node(&t, "a")->parent, -1);
    ck_assert_int_eq(node(&t, "e")->depth, 2); /* a, c, e */
    /* every span is in the preorder exactly once */
    int seen[5] = {0};
    for (size_t i = 0; i < t.nnodes; i++)
        seen[t.preorder[i]]++;
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(seen[i], 1);
    analysis_tree_dispose(&t);
}
END_TEST

START_TEST(self_time_union_clipped)
{
    analysis_span_t a[] = {
        SPAN("p", NULL, "s", "p", NULL, 0, 100, 1),  SPAN("c1", "p", "s", "c1", NULL, 10, 30, 1),
        SPAN("c2", "p", "s", "c2", NULL, 20, 50, 1), SPAN("c3", "p", "s", "c3", NULL, 90, 120, 1),
        SPAN("g", "c2", "s", "g", NULL, 25, 26, 1),
    };
    trace_ctx_t c = ctx_of(a, 5);
    analysis_tree_t t;
    analysis_tree_build(&c, NULL, &t);
    ck_assert_int_eq(node(&t, "p")->self_ns, 50 * MS); /* 100 - ([10,50] + [90,100]) */
    ck_assert_int_eq(node(&t, "c2")->self_ns, 29 * MS);
    ck_assert_int_eq(node(&t, "c3")->self_ns, 30 * MS);
    ck_assert_int_eq(t.start_ns, T0);
    ck_assert_int_eq(t.end_ns, T0 + 120 * MS);
    analysis_tree_dispose(&t);
}
END_TEST

START_TEST(critical_path)
{
    /* P |0......................100|  A |0..40|  B |60..70| inside C's window  C |50.....95| */
    analysis_span_t a[] = {
        SPAN("p", NULL, "s", "p", NULL, 0, 100, 1),  SPAN("a", "p", "s", "a", NULL, 0, 40, 1),
        SPAN("b", "p", "s", "b", NULL, 60, 70, 1),   SPAN("c", "p", "s", "c", NULL, 50, 95, 1),
        SPAN("c1", "c", "s", "c1", NULL, 55, 90, 1),
    };
    trace_ctx_t c = ctx_of(a, 5);
    analysis_tree_t t;
    analysis_tree_build(&c, NULL, &t);
    ck_assert_uint_eq(t.ncritical, 4);
    const char *want[] = {"p", "a", "c", "c1"}; /* by start */
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(t.critical[i], analysis_tree_find(&t, want[i]));
    ck_assert(!(node(&t, "b")->flags & ANALYSIS_NODE_CRITICAL));
    ck_assert_int_eq(node(&t, "p")->critical_ns, 15 * MS); /* 95..100 and 40..50 */
    ck_assert_int_eq(node(&t, "c")->critical_ns, 10 * MS);
    ck_assert_int_eq(node(&t, "c1")->critical_ns, 35 * MS);
    analysis_tree_dispose(&t);
}
END_TEST

START_TEST(clock_skew_corrected)
{
    /* payment's host runs 500 ms ahead of the gateway's: its spans end after the gateway's client span */
    analysis_span_t a[] = {
        SPAN("g1", NULL, "gateway", "POST /orders", "SERVER", 0, 110, 1),
        SPAN("g2", "g1", "gateway", "POST payment /charge", "CLIENT", 5, 105, 1),
        SPAN("p1", "g2", "payment", "POST /charge", "SERVER", 510, 600, 1),
        SPAN("p2", "p1", "payment", "insert", "CLIENT", 520, 580, 1),
        SPAN("g3", "g1", "gateway", "POST payment /charge", "CLIENT", 106, 109, 1),
        SPAN("p3", "g3", "payment", "POST /charge", "SERVER", 607, 608, 1),
    };
    trace_ctx_t c = ctx_of(a, 6);
    analysis_tree_t t;
    analysis_tree_build(&c, NULL, &t);
    const analysis_skew_t *s = analysis_tree_skew(&t, "gateway", "payment");
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->edges, 2);
    ck_assert_int_eq(s->violations, 2);
    ck_assert(s->corrected);
    ck_assert_int_eq(s->offset_ns, 500 * MS);
    ck_assert_ptr_null(analysis_tree_skew(&t, "payment", "gateway"));
    /* corrected: payment's spans sit inside the client span, its child moves with it */
    ck_assert_int_eq(node(&t, "p1")->start_ns, T0 + 10 * MS);
    ck_assert_int_eq(node(&t, "p1")->end_ns, T0 + 100 * MS);
    ck_assert_int_eq(node(&t, "p2")->start_ns, T0 + 20 * MS);
    ck_assert_int_eq(node(&t, "p1")->raw_start_ns, T0 + 510 * MS);
    ck_assert(node(&t, "p2")->flags & ANALYSIS_NODE_SHIFTED);
    ck_assert(!(node(&t, "g2")->flags & ANALYSIS_NODE_SHIFTED));
    ck_assert_int_eq(node(&t, "g2")->self_ns, 10 * MS);
    ck_assert_int_eq(t.end_ns, T0 + 110 * MS);
    analysis_tree_dispose(&t);
}
END_TEST

START_TEST(clock_skew_behind_and_timeouts)
{
    /* inventory runs 2 s behind: its span starts before its caller */
    analysis_span_t a[] = {
        SPAN("p1", NULL, "payment", "POST /charge", "SERVER", 0, 100, 1),
        SPAN("p2", "p1", "payment", "POST inventory /reserve", "CLIENT", 10, 90, 1),
        SPAN("i1", "p2", "inventory", "POST /reserve", "SERVER", -1980, -1920, 1),
        /* a callee outliving a caller that timed out is not skew */
        SPAN("p3", "p1", "payment", "GET fraud /score", "CLIENT", 20, 30, 2),
        SPAN("f1", "p3", "fraud", "GET /score", "SERVER", 21, 400, 1),
    };
    trace_ctx_t c = ctx_of(a, 5);
    analysis_tree_t t;
    analysis_tree_opts_t o = {2 * MS};
    analysis_tree_build(&c, &o, &t);
    const analysis_skew_t *s = analysis_tree_skew(&t, "payment", "inventory");
    ck_assert(s && s->corrected);
    ck_assert_int_eq(s->offset_ns, -2000 * MS);
    ck_assert_int_eq(node(&t, "i1")->start_ns, T0 + 20 * MS);
    s = analysis_tree_skew(&t, "payment", "fraud");
    ck_assert(s && !s->corrected && s->violations == 0);
    ck_assert_int_eq(node(&t, "f1")->start_ns, T0 + 21 * MS);
    analysis_tree_dispose(&t);
}
END_TEST

START_TEST(deep_chain_and_empty)
{
    size_t n = 200000;
    analysis_span_t *a = calloc(n, sizeof(*a));
    char *ids = malloc(n * 12);
    for (size_t i = 0; i < n; i++) {
        snprintf(ids + i * 12, 12, "x%09zx", i); /* not all zeros: that means "no parent" */
        a[i].span_id = ids + i * 12;
        a[i].parent_span_id = i ? ids + (i - 1) * 12 : NULL;
        a[i].service = "s";
        a[i].name = "op";
        a[i].start_ns = T0 + (int64_t)i;
        a[i].end_ns = T0 + 2 * (int64_t)n - (int64_t)i;
    }
    trace_ctx_t c = ctx_of(a, n);
    analysis_tree_t t;
    ck_assert_int_eq(analysis_tree_build(&c, NULL, &t), 0);
    ck_assert_int_eq(t.nodes[analysis_tree_find(&t, ids + (n - 1) * 12)].depth, (int)n - 1);
    ck_assert_uint_eq(t.ncritical, n);
    analysis_tree_dispose(&t);
    free(a);
    free(ids);
    trace_ctx_t empty = ctx_of(NULL, 0);
    ck_assert_int_eq(analysis_tree_build(&empty, NULL, &t), 0);
    ck_assert_int_eq(t.entry, -1);
    ck_assert_uint_eq(t.ncritical, 0);
    analysis_tree_dispose(&t);
    analysis_tree_dispose(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("analysis_spantree");
    TCase *tc = tcase_create("tree");
    tcase_add_test(tc, duplicates_keep_one);
    tcase_add_test(tc, orphans_and_roots);
    tcase_add_test(tc, cycles_are_cut);
    tcase_add_test(tc, self_time_union_clipped);
    tcase_add_test(tc, critical_path);
    tcase_add_test(tc, clock_skew_corrected);
    tcase_add_test(tc, clock_skew_behind_and_timeouts);
    tcase_add_test(tc, deep_chain_and_empty);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
