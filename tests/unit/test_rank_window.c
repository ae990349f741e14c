/* Window ranking on a small synthetic system (gateway -> api -> catalog, api -> payment), one fault
 * at a time starting a third into the target window: CPU contention, a code fault seen only as caller
 * errors plus a vanished info line in the callee, a rollout whose callers' errors name the service,
 * network delay into a service, nothing at all; and
 * the same records in another order give the same JSON. */
#include "rank/rank.h"

#include "ts.h"
#include "ts_rank_synth.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define S_NS 1000000000LL
#define MS_NS 1000000LL
#define BASE_T0 (1700000000LL * S_NS)
#define TARGET_T0 (BASE_T0 + 3600 * S_NS)
#define POOL_BYTES (4u << 20)

typedef enum { F_NONE, F_CPU_CATALOG, F_CODE_CATALOG, F_DELAY_PAYMENT, F_CATALOG_ROLLOUT } fault_t;

/* One checkout request at t0:
 *   gateway GET /checkout -> gateway HTTP POST -> api /api/checkout -> api CheckoutController.checkout
 *     -> api HTTP GET  -> catalog /catalog/item -> catalog CatalogService.find -> catalog SELECT item
 *     -> api HTTP POST -> payment /payment/charge -> payment PaymentService.charge */
static void request(ts_synth_t *s, int64_t t0, fault_t f)
{
    int cpu = f == F_CPU_CATALOG, code = f == F_CODE_CATALOG, delay = f == F_DELAY_PAYMENT;
    /* A rollout of new catalog code: requests reaching it miss the usual line, others find no instance. */
    int rollout = f == F_CATALOG_ROLLOUT, unreachable = rollout && ts_synth_unit(s) < 0.5;
    const char *tr = ts_synth_id(s, 32);
    unsigned item = (unsigned)(ts_synth_unit(s) * 90000) + 1000,
             order = (unsigned)(ts_synth_unit(s) * 900000) + 100000;
    /* Durations first, bottom-up. */
    int64_t sel = ts_synth_jit(s, 2), find_self = ts_synth_jit(s, 3) + (cpu ? ts_synth_jit(s, 60) : 0);
    int64_t cat_self = ts_synth_jit(s, 1) + (cpu ? ts_synth_jit(s, 15) : 0), gap_cat = ts_synth_jit(s, 1);
    int64_t charge = ts_synth_jit(s, 5), pay_self = ts_synth_jit(s, 1),
            gap_pay = ts_synth_jit(s, 1) + (delay ? 2 * ts_synth_jit(s, 100) : 0);
    int64_t api_self = ts_synth_jit(s, 2), api_srv = ts_synth_jit(s, 1), gw_gap = ts_synth_jit(s, 1),
            gw_self = ts_synth_jit(s, 1);
    int64_t find = find_self + sel, cat = cat_self + find, call_cat = gap_cat + cat;
    int64_t pay = pay_self + charge, call_pay = gap_pay + pay;
    int64_t ctrl = api_self + call_cat + call_pay, api = api_srv + ctrl, gw_call = gw_gap + api;
    int64_t root = gw_self + gw_call;
    /* Then the layout, top-down. */
    const char *r = ts_synth_span(s, tr, NULL, "gateway", "GET /checkout", t0, t0 + root, 0);
    int64_t t = t0 + gw_self / 2;
    const char *gc = ts_synth_span(s, tr, r, "gateway", "HTTP POST", t, t + gw_call, 0);
    t += gw_gap / 2;
    const char *as = ts_synth_span(s, tr, gc, "api", "/api/checkout", t, t + api, 0);
    t += api_srv / 2;
    const char *ac = ts_synth_span(s, tr, as, "api", "CheckoutController.checkout", t, t + ctrl, 0);
    ts_synth_log(s, t, "api", 3, ts_synth_fmt(s, "c.Checkout#10 checkout started for order %u", order), tr,
                 ac);
    t += api_self / 2;
    if (unreachable) {
        ts_synth_log(
            s, t, "api", 5,
            ts_synth_fmt(s, "c.Checkout#61 order %u failed: No instances available for catalog", order), tr,
            ac);
        return;
    }
    const char *cc = ts_synth_span(s, tr, ac, "api", "HTTP GET", t, t + call_cat, 0);
    int64_t tc = t + gap_cat / 2;
    const char *cs = ts_synth_span(s, tr, cc, "catalog", "/catalog/item", tc, tc + cat, 0);
    tc += cat_self / 2;
    const char *cf = ts_synth_span(s, tr, cs, "catalog", "CatalogService.find", tc, tc + find, 0);
    ts_synth_span(s, tr, cf, "catalog", "SELECT item", tc + find_self / 2, tc + find_self / 2 + sel, 0);
    if (!code && !rollout)
        ts_synth_log(
            s, tc + find, "catalog", 3,
            ts_synth_fmt(s, "c.CatalogService#42 found item %u in %lld ms", item, (long long)(find / MS_NS)),
            tr, cf);
    else
        ts_synth_log(s, t + call_cat, "api", 5,
                     ts_synth_fmt(s, "c.Checkout#55 failed to load item %u: upstream returned 500", item), tr,
                     ac);
    t += call_cat;
    const char *pc = ts_synth_span(s, tr, ac, "api", "HTTP POST", t, t + call_pay, 0);
    int64_t tp = t + gap_pay / 2;
    const char *ps = ts_synth_span(s, tr, pc, "payment", "/payment/charge", tp, tp + pay, 0);
    const char *pi = ts_synth_span(s, tr, ps, "payment", "PaymentService.charge", tp + pay_self / 2,
                                   tp + pay_self / 2 + charge, 0);
    ts_synth_log(
        s, tp + pay, "payment", 3,
        ts_synth_fmt(s, "p.PaymentService#7 charged %u.%02u for order %u", item % 300, item % 100, order), tr,
        pi);
}

/* Two requests a second; the fault starts a third into the window. CPU history: one point a minute
 * for the hour before the target (in the baseline), then one a minute in the target. */
static void window(ts_synth_t *s, int64_t t0, int seconds, fault_t f, int with_history)
{
    static const char *svcs[] = {"gateway", "api", "catalog", "payment"};
    for (int i = 0; i < 2 * seconds; i++) {
        int64_t t = t0 + (int64_t)i * S_NS / 2 + ts_synth_jit(s, 100);
        request(s, t, i >= 2 * seconds / 3 ? f : F_NONE);
    }
    for (int k = 0; k < 4; k++) {
        if (with_history)
            for (int m = 60; m > 0; m--)
                ts_synth_metric(s, TARGET_T0 - m * 60 * S_NS, svcs[k], "cpu_usage", 5 + 2 * ts_synth_unit(s));
        else
            for (int m = 0; m <= seconds / 60; m++) {
                int hot = f == F_CPU_CATALOG && k == 2 && m * 60 >= seconds / 3;
                ts_synth_metric(s, t0 + m * 60 * S_NS, svcs[k], "cpu_usage",
                                hot ? 90 + 5 * ts_synth_unit(s) : 5 + 2 * ts_synth_unit(s));
            }
    }
}

/* The usual pair: a fault-free baseline minute with an hour of CPU history, then 3 minutes with `f`. */
static void build(ts_synth_t *base, ts_synth_t *target, fault_t f)
{
    ts_synth_init(base, 1, POOL_BYTES);
    ts_synth_init(target, 2, POOL_BYTES);
    window(base, BASE_T0, 60, F_NONE, 1);
    window(target, TARGET_T0, 180, f, 0);
}

static void run_scenario(ts_synth_pair_t *sc, fault_t f)
{
    build(&sc->base, &sc->target, f);
    rank_input_t b = ts_synth_input(&sc->base, 0, 0), t = ts_synth_input(&sc->target, 0, 0);
    ts_synth_rank(&b, &t, &sc->r);
}

START_TEST(cpu_contention_ranks_the_starved_service)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_CPU_CATALOG);
    ts_synth_assert_first(&sc.r, "catalog");
    const rank_service_t *c = ts_synth_find(&sc.r, "catalog");
    ck_assert_ptr_nonnull(ts_synth_evidence(c, RANK_EV_SELF_TIME));
    ck_assert_ptr_nonnull(ts_synth_evidence(c, RANK_EV_METRIC));
    ck_assert_double_gt(c->channel[RANK_CH_LATENCY], 2.0);
    ts_synth_pair_dispose(&sc);
}
END_TEST

START_TEST(caller_errors_and_a_vanished_info_line_rank_the_callee)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_CODE_CATALOG);
    ts_synth_assert_first(&sc.r, "catalog");
    const rank_service_t *c = ts_synth_find(&sc.r, "catalog"), *api = ts_synth_find(&sc.r, "api");
    ck_assert_ptr_nonnull(ts_synth_evidence(c, RANK_EV_LOG_VANISHED));
    ck_assert_ptr_nonnull(ts_synth_evidence(c, RANK_EV_CALLERS));
    /* The caller shows the loudest symptom (a new error template) but hands blame down. */
    ck_assert_ptr_nonnull(ts_synth_evidence(api, RANK_EV_LOG_NEW));
    ck_assert_ptr_nonnull(ts_synth_evidence(api, RANK_EV_EXPLAINED));
    ck_assert_double_lt(api->channel[RANK_CH_GRAPH], 0);
    ts_synth_pair_dispose(&sc);
}
END_TEST

START_TEST(network_delay_ranks_the_callee_not_its_caller)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_DELAY_PAYMENT);
    ts_synth_assert_first(&sc.r, "payment");
    const rank_service_t *p = ts_synth_find(&sc.r, "payment"), *api = ts_synth_find(&sc.r, "api");
    ck_assert_ptr_nonnull(ts_synth_evidence(p, RANK_EV_GAP_IN));
    ck_assert_double_lt(p->channel[RANK_CH_LATENCY], 1.0); /* its own spans look normal */
    ck_assert_ptr_nonnull(ts_synth_evidence(api, RANK_EV_GAP_OUT));
    ck_assert_double_lt(api->score, p->score);
    ts_synth_pair_dispose(&sc);
}
END_TEST

START_TEST(errors_naming_an_abnormal_service_move_blame_to_it)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_CATALOG_ROLLOUT);
    ts_synth_assert_first(&sc.r, "catalog");
    const rank_service_t *c = ts_synth_find(&sc.r, "catalog"), *api = ts_synth_find(&sc.r, "api");
    ck_assert_ptr_nonnull(ts_synth_evidence(c, RANK_EV_CALLERS));
    ck_assert_ptr_nonnull(ts_synth_evidence(api, RANK_EV_EXPLAINED));
    int named = 0;
    for (size_t i = 0; i < api->n_evidence; i++)
        if (api->evidence[i].kind == RANK_EV_EXPLAINED &&
            strstr(api->evidence[i].text, "the service they name"))
            named = 1;
    ck_assert(named);
    ts_synth_pair_dispose(&sc);
}
END_TEST

START_TEST(nothing_abnormal_says_nothing_stands_out)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_NONE);
    ck_assert(sc.r.nothing_stands_out);
    ck_assert_double_lt(sc.r.top_score, sc.r.quiet_threshold);
    ck_assert_ptr_nonnull(strstr(sc.r.verdict, "nothing stands out"));
    ts_synth_pair_dispose(&sc);
}
END_TEST

static void shuffle(void *base, size_t n, size_t size, uint64_t *rng)
{
    char tmp[128];
    ck_assert_uint_le(size, sizeof(tmp));
    for (size_t i = n; i > 1; i--) {
        *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t j = (size_t)((*rng >> 33) % i);
        memcpy(tmp, (char *)base + (i - 1) * size, size);
        memcpy((char *)base + (i - 1) * size, (char *)base + j * size, size);
        memcpy((char *)base + j * size, tmp, size);
    }
}

static char *ranking_json(const ts_synth_t *b, const ts_synth_t *t)
{
    rank_input_t bi = ts_synth_input(b, 0, 0), ti = ts_synth_input(t, 0, 0);
    rank_result_t r;
    ts_synth_rank(&bi, &ti, &r);
    json_t *j = rank_result_to_json(&r);
    ck_assert_ptr_nonnull(j);
    char *s = json_dumps(j, JSON_SORT_KEYS);
    json_decref(j);
    rank_result_dispose(&r);
    return s;
}

START_TEST(same_records_in_another_order_give_the_same_ranking)
{
    ts_synth_t b, t;
    build(&b, &t, F_CODE_CATALOG);
    char *first = ranking_json(&b, &t);
    char *again = ranking_json(&b, &t);
    ck_assert_str_eq(first, again);
    uint64_t rng = 99;
    shuffle(b.spans, b.n_spans, sizeof(rank_span_t), &rng);
    shuffle(b.logs, b.n_logs, sizeof(rank_log_t), &rng);
    shuffle(t.spans, t.n_spans, sizeof(rank_span_t), &rng);
    shuffle(t.logs, t.n_logs, sizeof(rank_log_t), &rng);
    shuffle(t.metrics, t.n_metrics, sizeof(rank_metric_t), &rng);
    char *shuffled = ranking_json(&b, &t);
    ck_assert_str_eq(first, shuffled);
    free(first);
    free(again);
    free(shuffled);
    ts_synth_dispose(&b);
    ts_synth_dispose(&t);
}
END_TEST

START_TEST(a_change_event_adds_evidence_to_its_service)
{
    ts_synth_pair_t sc;
    build(&sc.base, &sc.target, F_CODE_CATALOG);
    rank_change_t ch[] = {{TARGET_T0 + 59 * S_NS, "catalog", "deploy", "catalog v2.3.1"},
                          {TARGET_T0 - 7200 * S_NS, "payment", "deploy", "too old to matter"}};
    rank_input_t b = ts_synth_input(&sc.base, 0, 0), t = ts_synth_input(&sc.target, 0, 0);
    t.changes = ch;
    t.n_changes = 2;
    ts_synth_rank(&b, &t, &sc.r);
    const rank_service_t *c = ts_synth_find(&sc.r, "catalog"), *p = ts_synth_find(&sc.r, "payment");
    ck_assert_ptr_nonnull(ts_synth_evidence(c, RANK_EV_CHANGE));
    ck_assert_double_gt(c->channel[RANK_CH_CHANGES], 0);
    ck_assert_double_eq(p->channel[RANK_CH_CHANGES], 0);
    ts_synth_pair_dispose(&sc);
}
END_TEST

START_TEST(empty_and_bad_input)
{
    rank_input_t empty = {0};
    rank_result_t r;
    ck_assert_int_eq(rank_window(NULL, &empty, NULL, &r), -1);
    ck_assert_int_eq(rank_window(&empty, NULL, NULL, &r), -1);
    ck_assert_int_eq(rank_window(&empty, &empty, NULL, NULL), -1);
    ck_assert_int_eq(rank_window(&empty, &empty, NULL, &r), 0);
    ck_assert_uint_eq(r.n_services, 0);
    ck_assert(r.nothing_stands_out);
    rank_result_dispose(&r);
    rank_result_dispose(&r); /* twice is fine */
    rank_result_dispose(NULL);
    /* Records without a service, NaN metrics and a span that is its own parent are ignored. */
    rank_span_t sp[] = {{"t1", "s1", "s1", "a", "op", 10, 20, 0, NULL},
                        {"t1", "s2", NULL, NULL, "op", 10, 20, 2, NULL}};
    rank_log_t lg[] = {{15, NULL, 5, "x", NULL, NULL}, {15, "a", 9, NULL, "t1", "nope"}};
    rank_metric_t mt[] = {{15, "a", "cpu", 0.0 / 0.0}};
    rank_input_t in = {sp, 2, lg, 2, mt, 1, NULL, 0, 0, 0};
    ck_assert_int_eq(rank_window(&in, &in, NULL, &r), 0);
    ck_assert_uint_eq(r.n_services, 1);
    rank_result_dispose(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rank_window");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, cpu_contention_ranks_the_starved_service);
    tcase_add_test(tc, caller_errors_and_a_vanished_info_line_rank_the_callee);
    tcase_add_test(tc, network_delay_ranks_the_callee_not_its_caller);
    tcase_add_test(tc, errors_naming_an_abnormal_service_move_blame_to_it);
    tcase_add_test(tc, nothing_abnormal_says_nothing_stands_out);
    tcase_add_test(tc, same_records_in_another_order_give_the_same_ranking);
    tcase_add_test(tc, a_change_event_adds_evidence_to_its_service);
    tcase_add_test(tc, empty_and_bad_input);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
