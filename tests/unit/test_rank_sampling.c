/* Window ranking when only a share of the traces is kept (head sampling: a trace is kept whole or not
 * at all, every log line is kept and still names its trace). A line of a trace that was sampled away
 * has no known operation: it must not be read as a line without a span (background work), or the mix
 * of those follows the traffic of every operation. The system:
 *
 *   gateway GET /items --> api /api/items      (each writes one info line per call)
 *   gateway GET /deals                         (a new endpoint, from a third into the window on)
 *   gateway's config refresh                   (background lines without a trace)
 *
 * The baseline is one fault-free minute, the target window three minutes. */
#include "rank/rank.h"

#include "ts.h"
#include "ts_rank_synth.h"

#include <check.h>
#include <string.h>

#define S_NS 1000000000LL
#define MS_NS 1000000LL
#define BASE_T0 (1700000000LL * S_NS)
#define TARGET_T0 (BASE_T0 + 3600 * S_NS)
#define POOL_BYTES (16u << 20)
#define STATUS_OK 1

typedef enum {
    F_NONE,
    F_NEW_ENDPOINT,    /* gateway serves GET /deals too: new lines, but no fault */
    F_API_SKIPS_LINE,  /* api stops writing its usual line (a wrong return value, nothing else) */
    F_API_WRONG_VALUE, /* api answers a wrong value: only gateway's reaction to the answer shows it */
} change_t;

/* A span, kept only when its trace is (`keep`); its id either way, for the log lines. */
static const char *span(ts_synth_t *s, int keep, const char *trace, const char *parent, const char *svc,
                        const char *name, int64_t start, int64_t end)
{
    if (!keep) return ts_synth_id(s, 16);
    return ts_synth_span(s, trace, parent, svc, name, start, end, STATUS_OK);
}

static void items_request(ts_synth_t *s, int64_t t0, change_t c, double trace_share)
{
    int keep = ts_synth_unit(s) < trace_share;
    const char *tr = ts_synth_id(s, 32);
    int64_t api_len = ts_synth_jit(s, 4), gap = ts_synth_jit(s, 1),
            root_len = ts_synth_jit(s, 2) + gap + api_len;
    const char *root = span(s, keep, tr, NULL, "gateway", "GET /items", t0, t0 + root_len);
    ts_synth_log(s, t0, "gateway", 3,
                 ts_synth_fmt(s, "c.s.Items#10 listing items for user %u", 1000 + s->next_id), tr, root);
    int64_t t = t0 + ts_synth_jit(s, 1);
    const char *client = span(s, keep, tr, root, "gateway", "HTTP GET", t, t + gap + api_len);
    const char *srv = span(s, keep, tr, client, "api", "/api/items", t + gap / 2, t + gap / 2 + api_len);
    if (c != F_API_SKIPS_LINE)
        ts_synth_log(s, t + gap, "api", 3,
                     ts_synth_fmt(s, "c.s.ItemStore#42 loaded %u items", 3 + s->next_id % 40), tr, srv);
    if (c == F_API_WRONG_VALUE) /* written a millisecond after the answer came back */
        ts_synth_log(s, t + gap + api_len + MS_NS, "gateway", 4,
                     ts_synth_fmt(s, "c.s.Items#88 unexpected response from api: %u items", s->next_id % 7),
                     tr, root);
}

static void deals_request(ts_synth_t *s, int64_t t0, double trace_share)
{
    int keep = ts_synth_unit(s) < trace_share;
    const char *tr = ts_synth_id(s, 32);
    int64_t len = ts_synth_jit(s, 3);
    const char *root = span(s, keep, tr, NULL, "gateway", "GET /deals", t0, t0 + len);
    ts_synth_log(s, t0, "gateway", 3,
                 ts_synth_fmt(s, "c.s.Deals#12 deals requested by user %u", 1000 + s->next_id), tr, root);
    ts_synth_log(s, t0 + len / 2, "gateway", 3,
                 ts_synth_fmt(s, "c.s.Deals#30 deals listed: %u offers", s->next_id % 9), tr, root);
}

/* Five item requests a second, two deal requests a second once the change is on (from a third in), a
 * background line every ten seconds. */
static void window(ts_synth_t *s, int64_t t0, int seconds, change_t c, double trace_share)
{
    for (int i = 0; i < 5 * seconds; i++) {
        int on = i >= 5 * seconds / 3;
        int64_t t = t0 + (int64_t)i * S_NS / 5 + ts_synth_jit(s, 50);
        items_request(s, t, on ? c : F_NONE, trace_share);
        if (on && c == F_NEW_ENDPOINT && i % 5 < 2) deals_request(s, t + 100 * MS_NS, trace_share);
        if (i % 50 == 0)
            ts_synth_log(s, t, "gateway", 3,
                         ts_synth_fmt(s, "c.s.Config#7 config refreshed in %d ms", i % 13 + 2), NULL, NULL);
    }
}

static void run_scenario(ts_synth_pair_t *sc, change_t c, double trace_share)
{
    ts_synth_init(&sc->base, 21, POOL_BYTES);
    ts_synth_init(&sc->target, 22, POOL_BYTES);
    window(&sc->base, BASE_T0, 60, F_NONE, trace_share);
    window(&sc->target, TARGET_T0, 180, c, trace_share);
    rank_input_t b = ts_synth_input(&sc->base, BASE_T0, BASE_T0 + 60 * S_NS);
    rank_input_t t = ts_synth_input(&sc->target, TARGET_T0, TARGET_T0 + 180 * S_NS);
    ts_synth_rank(&b, &t, &sc->r);
}

/* The new endpoint's lines are new, but so is the endpoint: with every trace kept they are lines per
 * call of an operation without a reference, and with a tenth kept the others must not turn them into
 * new lines of the service. */
START_TEST(a_new_endpoint_stays_quiet_with_a_tenth_of_the_traces)
{
    static const double shares[] = {1.0, 0.1};
    for (int i = 0; i < 2; i++) {
        ts_synth_pair_t sc;
        run_scenario(&sc, F_NEW_ENDPOINT, shares[i]);
        ck_assert_msg(sc.r.nothing_stands_out, "share %.1f: %s", shares[i], sc.r.verdict);
        ck_assert_ptr_null(ts_synth_evidence(ts_synth_find(&sc.r, "gateway"), RANK_EV_LOG_NEW));
        ts_synth_pair_dispose(&sc);
    }
}
END_TEST

START_TEST(steady_traffic_stays_quiet_with_a_tenth_of_the_traces)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_NONE, 0.1);
    ck_assert_msg(sc.r.nothing_stands_out, "%s", sc.r.verdict);
    ts_synth_pair_dispose(&sc);
}
END_TEST

/* The sampled traces still carry per-call rates: a usual line that stops is seen in them. */
START_TEST(a_vanished_line_is_still_seen_in_the_sampled_traces)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_API_SKIPS_LINE, 0.1);
    ck_assert_msg(!sc.r.nothing_stands_out, "%s", sc.r.verdict);
    ck_assert_str_eq(sc.r.services[0].service, "api");
    const rank_evidence_t *e = ts_synth_evidence(&sc.r.services[0], RANK_EV_LOG_VANISHED);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->context, "/api/items"); /* a rate per call of the operation */
    ck_assert_double_eq(e->after, 0);
    ck_assert_double_lt(e->n_after, 120); /* calls of the kept traces only (about a tenth of 600) */
    ts_synth_pair_dispose(&sc);
}
END_TEST

/* Whether a caller's error line reacted to a callee's answer shows only in a kept trace: the share of
 * reactions is read over those lines, not over every line (nine in ten could not show it). */
START_TEST(a_wrong_answer_is_charged_to_the_callee_with_a_tenth_of_the_traces)
{
    static const double shares[] = {1.0, 0.1};
    for (int i = 0; i < 2; i++) {
        ts_synth_pair_t sc;
        run_scenario(&sc, F_API_WRONG_VALUE, shares[i]);
        ck_assert_msg(!sc.r.nothing_stands_out, "share %.1f: %s", shares[i], sc.r.verdict);
        ck_assert_msg(strcmp(sc.r.services[0].service, "api") == 0, "share %.1f: first is %s (%.2f)",
                      shares[i], sc.r.services[0].service, sc.r.services[0].score);
        ck_assert_ptr_nonnull(ts_synth_evidence(&sc.r.services[0], RANK_EV_CALLERS));
        ck_assert_double_gt(sc.r.services[0].score, 2 * ts_synth_find(&sc.r, "gateway")->score);
        ts_synth_pair_dispose(&sc);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rank_sampling");
    TCase *tc = tcase_create("head_sampling");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_new_endpoint_stays_quiet_with_a_tenth_of_the_traces);
    tcase_add_test(tc, steady_traffic_stays_quiet_with_a_tenth_of_the_traces);
    tcase_add_test(tc, a_vanished_line_is_still_seen_in_the_sampled_traces);
    tcase_add_test(tc, a_wrong_answer_is_charged_to_the_callee_with_a_tenth_of_the_traces);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
