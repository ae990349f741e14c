/* Window ranking on a small synthetic system (gateway -> api -> catalog, api -> payment), one fault
 * at a time starting a third into the target window: CPU contention, a code fault seen only as caller
 * errors plus a vanished info line in the callee, a rollout whose callers' errors name the service,
 * network delay into a service, nothing at all; and
 * the same records in another order give the same JSON. */
#include "rank/rank.h"

#include "ts.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NS 1000000000LL
#define MS_NS 1000000LL
#define BASE_T0 (1700000000LL * S_NS)
#define TARGET_T0 (BASE_T0 + 3600 * S_NS)
#define POOL_BYTES (4u << 20)

typedef enum { F_NONE, F_CPU_CATALOG, F_CODE_CATALOG, F_DELAY_PAYMENT, F_CATALOG_ROLLOUT } fault_t;

typedef struct {
    rank_span_t *spans;
    size_t n_spans, cap_spans;
    rank_log_t *logs;
    size_t n_logs, cap_logs;
    rank_metric_t *metrics;
    size_t n_metrics, cap_metrics;
    char *pool; /* fixed: pointers into it stay valid */
    size_t pool_used;
    uint64_t rng;
    unsigned next_id;
} synth_t;

static void synth_init(synth_t *s, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    s->pool = malloc(POOL_BYTES);
    ck_assert_ptr_nonnull(s->pool);
    s->rng = seed;
}

static void synth_free(synth_t *s)
{
    free(s->spans);
    free(s->logs);
    free(s->metrics);
    free(s->pool);
}

static double unit(synth_t *s)
{
    s->rng = s->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(s->rng >> 11) / (double)(1ULL << 53);
}

/* A duration of about `ms` milliseconds, +-20%. */
static int64_t jit(synth_t *s, double ms)
{
    return (int64_t)(ms * (0.8 + 0.4 * unit(s)) * MS_NS);
}

static const char *sfmt(synth_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *sfmt(synth_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = s->pool + s->pool_used;
    int n = vsnprintf(p, POOL_BYTES - s->pool_used, fmt, ap);
    va_end(ap);
    ck_assert(n >= 0 && s->pool_used + (size_t)n + 1 < POOL_BYTES);
    s->pool_used += (size_t)n + 1;
    return p;
}

static const char *span(synth_t *s, const char *trace, const char *parent, const char *svc, const char *name,
                        int64_t start, int64_t end)
{
    if (s->n_spans == s->cap_spans) {
        s->cap_spans = s->cap_spans ? 2 * s->cap_spans : 1024;
        s->spans = realloc(s->spans, s->cap_spans * sizeof(rank_span_t));
    }
    const char *id = sfmt(s, "%016x", ++s->next_id);
    s->spans[s->n_spans++] = (rank_span_t){trace, id, parent, svc, name, start, end, 0};
    return id;
}

static void logline(synth_t *s, int64_t ts, const char *svc, int sev, const char *msg, const char *trace,
                    const char *span_id)
{
    if (s->n_logs == s->cap_logs) {
        s->cap_logs = s->cap_logs ? 2 * s->cap_logs : 1024;
        s->logs = realloc(s->logs, s->cap_logs * sizeof(rank_log_t));
    }
    s->logs[s->n_logs++] = (rank_log_t){ts, svc, sev, msg, trace, span_id};
}

static void metric(synth_t *s, int64_t ts, const char *svc, const char *name, double v)
{
    if (s->n_metrics == s->cap_metrics) {
        s->cap_metrics = s->cap_metrics ? 2 * s->cap_metrics : 256;
        s->metrics = realloc(s->metrics, s->cap_metrics * sizeof(rank_metric_t));
    }
    s->metrics[s->n_metrics++] = (rank_metric_t){ts, svc, name, v};
}

/* One checkout request at t0:
 *   gateway GET /checkout -> gateway HTTP POST -> api /api/checkout -> api CheckoutController.checkout
 *     -> api HTTP GET  -> catalog /catalog/item -> catalog CatalogService.find -> catalog SELECT item
 *     -> api HTTP POST -> payment /payment/charge -> payment PaymentService.charge */
static void request(synth_t *s, int64_t t0, fault_t f)
{
    int cpu = f == F_CPU_CATALOG, code = f == F_CODE_CATALOG, delay = f == F_DELAY_PAYMENT;
    /* A rollout of new catalog code: requests reaching it miss the usual line, others find no instance. */
    int rollout = f == F_CATALOG_ROLLOUT, unreachable = rollout && unit(s) < 0.5;
    const char *tr = sfmt(s, "%032x", ++s->next_id);
    unsigned item = (unsigned)(unit(s) * 90000) + 1000, order = (unsigned)(unit(s) * 900000) + 100000;
    /* Durations first, bottom-up. */
    int64_t sel = jit(s, 2), find_self = jit(s, 3) + (cpu ? jit(s, 60) : 0);
    int64_t cat_self = jit(s, 1) + (cpu ? jit(s, 15) : 0), gap_cat = jit(s, 1);
    int64_t charge = jit(s, 5), pay_self = jit(s, 1), gap_pay = jit(s, 1) + (delay ? 2 * jit(s, 100) : 0);
    int64_t api_self = jit(s, 2), api_srv = jit(s, 1), gw_gap = jit(s, 1), gw_self = jit(s, 1);
    int64_t find = find_self + sel, cat = cat_self + find, call_cat = gap_cat + cat;
    int64_t pay = pay_self + charge, call_pay = gap_pay + pay;
    int64_t ctrl = api_self + call_cat + call_pay, api = api_srv + ctrl, gw_call = gw_gap + api;
    int64_t root = gw_self + gw_call;
    /* Then the layout, top-down. */
    const char *r = span(s, tr, NULL, "gateway", "GET /checkout", t0, t0 + root);
    int64_t t = t0 + gw_self / 2;
    const char *gc = span(s, tr, r, "gateway", "HTTP POST", t, t + gw_call);
    t += gw_gap / 2;
    const char *as = span(s, tr, gc, "api", "/api/checkout", t, t + api);
    t += api_srv / 2;
    const char *ac = span(s, tr, as, "api", "CheckoutController.checkout", t, t + ctrl);
    logline(s, t, "api", 3, sfmt(s, "c.Checkout#10 checkout started for order %u", order), tr, ac);
    t += api_self / 2;
    if (unreachable) {
        logline(s, t, "api", 5,
                sfmt(s, "c.Checkout#61 order %u failed: No instances available for catalog", order), tr, ac);
        return;
    }
    const char *cc = span(s, tr, ac, "api", "HTTP GET", t, t + call_cat);
    int64_t tc = t + gap_cat / 2;
    const char *cs = span(s, tr, cc, "catalog", "/catalog/item", tc, tc + cat);
    tc += cat_self / 2;
    const char *cf = span(s, tr, cs, "catalog", "CatalogService.find", tc, tc + find);
    span(s, tr, cf, "catalog", "SELECT item", tc + find_self / 2, tc + find_self / 2 + sel);
    if (!code && !rollout)
        logline(s, tc + find, "catalog", 3,
                sfmt(s, "c.CatalogService#42 found item %u in %lld ms", item, (long long)(find / MS_NS)), tr,
                cf);
    else
        logline(s, t + call_cat, "api", 5,
                sfmt(s, "c.Checkout#55 failed to load item %u: upstream returned 500", item), tr, ac);
    t += call_cat;
    const char *pc = span(s, tr, ac, "api", "HTTP POST", t, t + call_pay);
    int64_t tp = t + gap_pay / 2;
    const char *ps = span(s, tr, pc, "payment", "/payment/charge", tp, tp + pay);
    const char *pi =
        span(s, tr, ps, "payment", "PaymentService.charge", tp + pay_self / 2, tp + pay_self / 2 + charge);
    logline(s, tp + pay, "payment", 3,
            sfmt(s, "p.PaymentService#7 charged %u.%02u for order %u", item % 300, item % 100, order), tr,
            pi);
}

/* Two requests a second; the fault starts a third into the window. CPU history: one point a minute
 * for the hour before the target (in the baseline), then one a minute in the target. */
static void window(synth_t *s, int64_t t0, int seconds, fault_t f, int with_history)
{
    static const char *svcs[] = {"gateway", "api", "catalog", "payment"};
    for (int i = 0; i < 2 * seconds; i++) {
        int64_t t = t0 + (int64_t)i * S_NS / 2 + jit(s, 100);
        request(s, t, i >= 2 * seconds / 3 ? f : F_NONE);
    }
    for (int k = 0; k < 4; k++) {
        if (with_history)
            for (int m = 60; m > 0; m--)
                metric(s, TARGET_T0 - m * 60 * S_NS, svcs[k], "cpu_usage", 5 + 2 * unit(s));
        else
            for (int m = 0; m <= seconds / 60; m++) {
                int hot = f == F_CPU_CATALOG && k == 2 && m * 60 >= seconds / 3;
                metric(s, t0 + m * 60 * S_NS, svcs[k], "cpu_usage", hot ? 90 + 5 * unit(s) : 5 + 2 * unit(s));
            }
    }
}

typedef struct {
    synth_t base, target;
    rank_result_t r;
} scenario_t;

static void run_scenario(scenario_t *sc, fault_t f)
{
    synth_init(&sc->base, 1);
    synth_init(&sc->target, 2);
    window(&sc->base, BASE_T0, 60, F_NONE, 1);
    window(&sc->target, TARGET_T0, 180, f, 0);
    rank_input_t b = {sc->base.spans,
                      sc->base.n_spans,
                      sc->base.logs,
                      sc->base.n_logs,
                      sc->base.metrics,
                      sc->base.n_metrics,
                      NULL,
                      0,
                      0,
                      0};
    rank_input_t t = {sc->target.spans,
                      sc->target.n_spans,
                      sc->target.logs,
                      sc->target.n_logs,
                      sc->target.metrics,
                      sc->target.n_metrics,
                      NULL,
                      0,
                      0,
                      0};
    ck_assert_int_eq(rank_window(&b, &t, NULL, &sc->r), 0);
}

static void end_scenario(scenario_t *sc)
{
    rank_result_dispose(&sc->r);
    synth_free(&sc->base);
    synth_free(&sc->target);
}

static const rank_service_t *find(const rank_result_t *r, const char *svc)
{
    for (size_t i = 0; i < r->n_services; i++)
        if (strcmp(r->services[i].service, svc) == 0) return &r->services[i];
    return NULL;
}

static int has_kind(const rank_service_t *s, rank_evidence_kind_t k)
{
    for (size_t i = 0; i < s->n_evidence; i++)
        if (s->evidence[i].kind == k) return 1;
    return 0;
}

static void assert_first(const rank_result_t *r, const char *svc)
{
    ck_assert_uint_ge(r->n_services, 2);
    ck_assert_msg(strcmp(r->services[0].service, svc) == 0, "first is %s (%.2f), then %s (%.2f)",
                  r->services[0].service, r->services[0].score, r->services[1].service, r->services[1].score);
    ck_assert_msg(r->services[0].score > r->services[1].score, "tie for first");
    ck_assert(!r->nothing_stands_out);
}

START_TEST(cpu_contention_ranks_the_starved_service)
{
    scenario_t sc;
    run_scenario(&sc, F_CPU_CATALOG);
    assert_first(&sc.r, "catalog");
    const rank_service_t *c = find(&sc.r, "catalog");
    ck_assert(has_kind(c, RANK_EV_SELF_TIME));
    ck_assert(has_kind(c, RANK_EV_METRIC));
    ck_assert_double_gt(c->channel[RANK_CH_LATENCY], 2.0);
    end_scenario(&sc);
}
END_TEST

START_TEST(caller_errors_and_a_vanished_info_line_rank_the_callee)
{
    scenario_t sc;
    run_scenario(&sc, F_CODE_CATALOG);
    assert_first(&sc.r, "catalog");
    const rank_service_t *c = find(&sc.r, "catalog"), *api = find(&sc.r, "api");
    ck_assert(has_kind(c, RANK_EV_LOG_VANISHED));
    ck_assert(has_kind(c, RANK_EV_CALLERS));
    /* The caller shows the loudest symptom (a new error template) but hands blame down. */
    ck_assert(has_kind(api, RANK_EV_LOG_NEW));
    ck_assert(has_kind(api, RANK_EV_EXPLAINED));
    ck_assert_double_lt(api->channel[RANK_CH_GRAPH], 0);
    end_scenario(&sc);
}
END_TEST

START_TEST(network_delay_ranks_the_callee_not_its_caller)
{
    scenario_t sc;
    run_scenario(&sc, F_DELAY_PAYMENT);
    assert_first(&sc.r, "payment");
    const rank_service_t *p = find(&sc.r, "payment"), *api = find(&sc.r, "api");
    ck_assert(has_kind(p, RANK_EV_GAP_IN));
    ck_assert_double_lt(p->channel[RANK_CH_LATENCY], 1.0); /* its own spans look normal */
    ck_assert(has_kind(api, RANK_EV_GAP_OUT));
    ck_assert_double_lt(api->score, p->score);
    end_scenario(&sc);
}
END_TEST

START_TEST(errors_naming_an_abnormal_service_move_blame_to_it)
{
    scenario_t sc;
    run_scenario(&sc, F_CATALOG_ROLLOUT);
    assert_first(&sc.r, "catalog");
    const rank_service_t *c = find(&sc.r, "catalog"), *api = find(&sc.r, "api");
    ck_assert(has_kind(c, RANK_EV_CALLERS));
    ck_assert(has_kind(api, RANK_EV_EXPLAINED));
    int named = 0;
    for (size_t i = 0; i < api->n_evidence; i++)
        if (api->evidence[i].kind == RANK_EV_EXPLAINED &&
            strstr(api->evidence[i].text, "the service they name"))
            named = 1;
    ck_assert(named);
    end_scenario(&sc);
}
END_TEST

START_TEST(nothing_abnormal_says_nothing_stands_out)
{
    scenario_t sc;
    run_scenario(&sc, F_NONE);
    ck_assert(sc.r.nothing_stands_out);
    ck_assert_double_lt(sc.r.top_score, sc.r.quiet_threshold);
    ck_assert_ptr_nonnull(strstr(sc.r.verdict, "nothing stands out"));
    end_scenario(&sc);
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

static char *ranking_json(const synth_t *b, const synth_t *t)
{
    rank_input_t bi = {b->spans, b->n_spans, b->logs, b->n_logs, b->metrics, b->n_metrics, NULL, 0, 0, 0};
    rank_input_t ti = {t->spans, t->n_spans, t->logs, t->n_logs, t->metrics, t->n_metrics, NULL, 0, 0, 0};
    rank_result_t r;
    ck_assert_int_eq(rank_window(&bi, &ti, NULL, &r), 0);
    json_t *j = rank_result_to_json(&r);
    ck_assert_ptr_nonnull(j);
    char *s = json_dumps(j, JSON_SORT_KEYS);
    json_decref(j);
    rank_result_dispose(&r);
    return s;
}

START_TEST(same_records_in_another_order_give_the_same_ranking)
{
    synth_t b, t;
    synth_init(&b, 1);
    synth_init(&t, 2);
    window(&b, BASE_T0, 60, F_NONE, 1);
    window(&t, TARGET_T0, 180, F_CODE_CATALOG, 0);
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
    synth_free(&b);
    synth_free(&t);
}
END_TEST

START_TEST(a_change_event_adds_evidence_to_its_service)
{
    synth_t b, t;
    synth_init(&b, 1);
    synth_init(&t, 2);
    window(&b, BASE_T0, 60, F_NONE, 1);
    window(&t, TARGET_T0, 180, F_CODE_CATALOG, 0);
    rank_change_t ch[] = {{TARGET_T0 + 59 * S_NS, "catalog", "deploy", "catalog v2.3.1"},
                          {TARGET_T0 - 7200 * S_NS, "payment", "deploy", "too old to matter"}};
    rank_input_t bi = {b.spans, b.n_spans, b.logs, b.n_logs, b.metrics, b.n_metrics, NULL, 0, 0, 0};
    rank_input_t ti = {t.spans, t.n_spans, t.logs, t.n_logs, t.metrics, t.n_metrics, ch, 2, 0, 0};
    rank_result_t r;
    ck_assert_int_eq(rank_window(&bi, &ti, NULL, &r), 0);
    const rank_service_t *c = find(&r, "catalog"), *p = find(&r, "payment");
    ck_assert(has_kind(c, RANK_EV_CHANGE));
    ck_assert_double_gt(c->channel[RANK_CH_CHANGES], 0);
    ck_assert_double_eq(p->channel[RANK_CH_CHANGES], 0);
    rank_result_dispose(&r);
    synth_free(&b);
    synth_free(&t);
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
    rank_span_t sp[] = {{"t1", "s1", "s1", "a", "op", 10, 20, 0}, {"t1", "s2", NULL, NULL, "op", 10, 20, 2}};
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
