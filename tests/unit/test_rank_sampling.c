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

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

typedef struct {
    rank_span_t *spans;
    size_t n_spans, cap_spans;
    rank_log_t *logs;
    size_t n_logs, cap_logs;
    char *pool; /* fixed size: pointers into it stay valid */
    size_t used;
    uint64_t rng;
    unsigned next_id;
    double trace_share; /* share of the traces whose spans are kept */
} synth_t;

static double unit(synth_t *s)
{
    s->rng = s->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(s->rng >> 11) / (double)(1ULL << 53);
}

static int64_t jit(synth_t *s, double ms)
{
    return (int64_t)(ms * (0.8 + 0.4 * unit(s)) * MS_NS);
}

static const char *sfmt(synth_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *sfmt(synth_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = s->pool + s->used;
    int n = vsnprintf(p, POOL_BYTES - s->used, fmt, ap);
    va_end(ap);
    ck_assert(n >= 0 && s->used + (size_t)n + 1 < POOL_BYTES);
    s->used += (size_t)n + 1;
    return p;
}

/* A span, kept only when its trace is (`keep`); its id either way, for the log lines. */
static const char *span(synth_t *s, int keep, const char *trace, const char *parent, const char *svc,
                        const char *name, int64_t start, int64_t end)
{
    const char *id = sfmt(s, "%016x", ++s->next_id);
    if (!keep) return id;
    if (s->n_spans == s->cap_spans) {
        s->cap_spans = s->cap_spans ? 2 * s->cap_spans : 1024;
        s->spans = realloc(s->spans, s->cap_spans * sizeof(rank_span_t));
        ck_assert_ptr_nonnull(s->spans);
    }
    s->spans[s->n_spans++] = (rank_span_t){trace, id, parent, svc, name, start, end, STATUS_OK};
    return id;
}

static void logline(synth_t *s, int64_t ts, const char *svc, int sev, const char *msg, const char *trace,
                    const char *span_id)
{
    if (s->n_logs == s->cap_logs) {
        s->cap_logs = s->cap_logs ? 2 * s->cap_logs : 1024;
        s->logs = realloc(s->logs, s->cap_logs * sizeof(rank_log_t));
        ck_assert_ptr_nonnull(s->logs);
    }
    s->logs[s->n_logs++] = (rank_log_t){ts, svc, sev, msg, trace, span_id};
}

static void items_request(synth_t *s, int64_t t0, change_t c)
{
    int keep = unit(s) < s->trace_share;
    const char *tr = sfmt(s, "%032x", ++s->next_id);
    int64_t api_len = jit(s, 4), gap = jit(s, 1), root_len = jit(s, 2) + gap + api_len;
    const char *root = span(s, keep, tr, NULL, "gateway", "GET /items", t0, t0 + root_len);
    logline(s, t0, "gateway", 3, sfmt(s, "c.s.Items#10 listing items for user %u", 1000 + s->next_id), tr,
            root);
    int64_t t = t0 + jit(s, 1);
    const char *client = span(s, keep, tr, root, "gateway", "HTTP GET", t, t + gap + api_len);
    const char *srv = span(s, keep, tr, client, "api", "/api/items", t + gap / 2, t + gap / 2 + api_len);
    if (c != F_API_SKIPS_LINE)
        logline(s, t + gap, "api", 3, sfmt(s, "c.s.ItemStore#42 loaded %u items", 3 + s->next_id % 40), tr,
                srv);
    if (c == F_API_WRONG_VALUE) /* written a millisecond after the answer came back */
        logline(s, t + gap + api_len + MS_NS, "gateway", 4,
                sfmt(s, "c.s.Items#88 unexpected response from api: %u items", s->next_id % 7), tr, root);
}

static void deals_request(synth_t *s, int64_t t0)
{
    int keep = unit(s) < s->trace_share;
    const char *tr = sfmt(s, "%032x", ++s->next_id);
    int64_t len = jit(s, 3);
    const char *root = span(s, keep, tr, NULL, "gateway", "GET /deals", t0, t0 + len);
    logline(s, t0, "gateway", 3, sfmt(s, "c.s.Deals#12 deals requested by user %u", 1000 + s->next_id), tr,
            root);
    logline(s, t0 + len / 2, "gateway", 3, sfmt(s, "c.s.Deals#30 deals listed: %u offers", s->next_id % 9),
            tr, root);
}

/* Five item requests a second, two deal requests a second once the change is on (from a third in), a
 * background line every ten seconds. */
static void window(synth_t *s, int64_t t0, int seconds, change_t c)
{
    for (int i = 0; i < 5 * seconds; i++) {
        int on = i >= 5 * seconds / 3;
        int64_t t = t0 + (int64_t)i * S_NS / 5 + jit(s, 50);
        items_request(s, t, on ? c : F_NONE);
        if (on && c == F_NEW_ENDPOINT && i % 5 < 2) deals_request(s, t + 100 * MS_NS);
        if (i % 50 == 0)
            logline(s, t, "gateway", 3, sfmt(s, "c.s.Config#7 config refreshed in %d ms", i % 13 + 2), NULL,
                    NULL);
    }
}

typedef struct {
    synth_t base, target;
    rank_result_t r;
} scenario_t;

static void run_scenario(scenario_t *sc, change_t c, double trace_share)
{
    memset(sc, 0, sizeof(*sc));
    synth_t *w[2] = {&sc->base, &sc->target};
    for (int i = 0; i < 2; i++) {
        w[i]->pool = malloc(POOL_BYTES);
        ck_assert_ptr_nonnull(w[i]->pool);
        w[i]->rng = 21 + (uint64_t)i;
        w[i]->trace_share = trace_share;
    }
    window(&sc->base, BASE_T0, 60, F_NONE);
    window(&sc->target, TARGET_T0, 180, c);
    rank_input_t b = {sc->base.spans, sc->base.n_spans,   sc->base.logs, sc->base.n_logs, NULL, 0, NULL, 0,
                      BASE_T0,        BASE_T0 + 60 * S_NS};
    rank_input_t t = {
        sc->target.spans, sc->target.n_spans,    sc->target.logs, sc->target.n_logs, NULL, 0, NULL, 0,
        TARGET_T0,        TARGET_T0 + 180 * S_NS};
    ck_assert_int_eq(rank_window(&b, &t, NULL, &sc->r), 0);
    if (getenv("RANK_DEBUG")) {
        json_t *j = rank_result_to_json(&sc->r);
        char *d = json_dumps(j, JSON_INDENT(1));
        fprintf(stderr, "%s\n", d);
        free(d);
        json_decref(j);
    }
}

static void end_scenario(scenario_t *sc)
{
    rank_result_dispose(&sc->r);
    synth_t *w[2] = {&sc->base, &sc->target};
    for (int i = 0; i < 2; i++) {
        free(w[i]->spans);
        free(w[i]->logs);
        free(w[i]->pool);
    }
}

static const rank_service_t *find(const rank_result_t *r, const char *svc)
{
    for (size_t i = 0; i < r->n_services; i++)
        if (strcmp(r->services[i].service, svc) == 0) return &r->services[i];
    ck_abort_msg("no service %s", svc);
    return NULL;
}

static const rank_evidence_t *evidence(const rank_service_t *s, rank_evidence_kind_t k)
{
    for (size_t i = 0; i < s->n_evidence; i++)
        if (s->evidence[i].kind == k) return &s->evidence[i];
    return NULL;
}

/* The new endpoint's lines are new, but so is the endpoint: with every trace kept they are lines per
 * call of an operation without a reference, and with a tenth kept the others must not turn them into
 * new lines of the service. */
START_TEST(a_new_endpoint_stays_quiet_with_a_tenth_of_the_traces)
{
    static const double shares[] = {1.0, 0.1};
    for (int i = 0; i < 2; i++) {
        scenario_t sc;
        run_scenario(&sc, F_NEW_ENDPOINT, shares[i]);
        ck_assert_msg(sc.r.nothing_stands_out, "share %.1f: %s", shares[i], sc.r.verdict);
        ck_assert_ptr_null(evidence(find(&sc.r, "gateway"), RANK_EV_LOG_NEW));
        end_scenario(&sc);
    }
}
END_TEST

START_TEST(steady_traffic_stays_quiet_with_a_tenth_of_the_traces)
{
    scenario_t sc;
    run_scenario(&sc, F_NONE, 0.1);
    ck_assert_msg(sc.r.nothing_stands_out, "%s", sc.r.verdict);
    end_scenario(&sc);
}
END_TEST

/* The sampled traces still carry per-call rates: a usual line that stops is seen in them. */
START_TEST(a_vanished_line_is_still_seen_in_the_sampled_traces)
{
    scenario_t sc;
    run_scenario(&sc, F_API_SKIPS_LINE, 0.1);
    ck_assert_msg(!sc.r.nothing_stands_out, "%s", sc.r.verdict);
    ck_assert_str_eq(sc.r.services[0].service, "api");
    const rank_evidence_t *e = evidence(&sc.r.services[0], RANK_EV_LOG_VANISHED);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->context, "/api/items"); /* a rate per call of the operation */
    ck_assert_double_eq(e->after, 0);
    ck_assert_double_lt(e->n_after, 120); /* calls of the kept traces only (about a tenth of 600) */
    end_scenario(&sc);
}
END_TEST

/* Whether a caller's error line reacted to a callee's answer shows only in a kept trace: the share of
 * reactions is read over those lines, not over every line (nine in ten could not show it). */
START_TEST(a_wrong_answer_is_charged_to_the_callee_with_a_tenth_of_the_traces)
{
    static const double shares[] = {1.0, 0.1};
    for (int i = 0; i < 2; i++) {
        scenario_t sc;
        run_scenario(&sc, F_API_WRONG_VALUE, shares[i]);
        ck_assert_msg(!sc.r.nothing_stands_out, "share %.1f: %s", shares[i], sc.r.verdict);
        ck_assert_msg(strcmp(sc.r.services[0].service, "api") == 0, "share %.1f: first is %s (%.2f)",
                      shares[i], sc.r.services[0].service, sc.r.services[0].score);
        ck_assert_ptr_nonnull(evidence(&sc.r.services[0], RANK_EV_CALLERS));
        ck_assert_double_gt(sc.r.services[0].score, 2 * find(&sc.r, "gateway")->score);
        end_scenario(&sc);
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
