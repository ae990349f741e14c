/* Footprints the window ranking must read from spans alone (no log line anywhere in these windows, so
 * each test is also a log-free system): network delay on one pod (its requests out, its responses
 * back), a call-pattern shift (a service skipping a dependency), and faults at the entry service (its
 * own error responses, its call pattern, its self time); an error that begins in a leaf is charged to
 * the leaf, not to every service it propagates through; ordinary jitter and branch mixes stay quiet;
 * and a baseline or window too thin to judge is said so, per service and in the verdict. The system:
 *
 *   frontend GET /order --> auth /auth/check
 *                       --> orch /order --> a /a --> db SELECT
 *                                       --> b /b   (twice in 30 % of requests: a branch mix)
 *                                       --> c /c
 *
 * Each call is a client span in the caller and a server span in the callee. Faults start a third into
 * a 3-minute target window; the baseline is one fault-free minute. */
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
#define POOL_BYTES (8u << 20)
#define STATUS_OK 1
#define STATUS_ERROR 2

typedef enum {
    F_NONE,
    F_ORCH_EGRESS,      /* orch's requests out are late: its client spans to a, b, c grow */
    F_ORCH_POD_DELAY,   /* both directions: also frontend's client spans to orch grow (late responses) */
    F_ORCH_SKIPS_C,     /* orch returns before calling c */
    F_FRONTEND_ERRORS,  /* frontend answers half its requests with an error, nothing below fails */
    F_FRONTEND_NO_AUTH, /* frontend stops calling auth */
    F_FRONTEND_SLOW,    /* frontend's own work takes 40 ms more */
    F_DB_ERRORS,        /* db fails half its queries; a, orch and frontend fail with it */
    F_MAILER_DELAY,     /* the messages orch publishes reach mailer 120 ms later (its pod is delayed) */
} fault_t;

typedef struct {
    rank_span_t *spans;
    size_t n, cap;
    char *pool; /* fixed size: pointers into it stay valid */
    size_t used;
    uint64_t rng;
    unsigned next_id;
} synth_t;

static double unit(synth_t *s)
{
    s->rng = s->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(s->rng >> 11) / (double)(1ULL << 53);
}

/* About `ms` milliseconds, +-20 %. */
static int64_t jit(synth_t *s, double ms)
{
    return (int64_t)(ms * (0.8 + 0.4 * unit(s)) * MS_NS);
}

static const char *new_id(synth_t *s, int width)
{
    char *p = s->pool + s->used;
    int n = snprintf(p, POOL_BYTES - s->used, "%0*x", width, ++s->next_id);
    ck_assert(n > 0 && s->used + (size_t)n + 1 < POOL_BYTES);
    s->used += (size_t)n + 1;
    return p;
}

static const char *span(synth_t *s, const char *trace, const char *parent, const char *svc, const char *name,
                        int64_t start, int64_t end, int status)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 4096;
        s->spans = realloc(s->spans, s->cap * sizeof(rank_span_t));
        ck_assert_ptr_nonnull(s->spans);
    }
    const char *id = new_id(s, 16);
    s->spans[s->n++] = (rank_span_t){trace, id, parent, svc, name, start, end, status};
    return id;
}

/* A call made by span `from` of `caller` at t: a client span in the caller around the callee's server
 * span of `server_len`, the `gap` of network split before and after it. Returns the server span's id
 * and start (the callee's own calls are laid out from there) and the client span's end. */
typedef struct {
    const char *server;
    int64_t srv_start, end;
} call_t;

static call_t call(synth_t *s, const char *tr, const char *from, const char *caller, const char *callee,
                   const char *op, int64_t t, int64_t gap, int64_t server_len, int status)
{
    char name[64];
    snprintf(name, sizeof(name), "HTTP %s", op);
    char *cname = s->pool + s->used;
    size_t len = strlen(name) + 1;
    ck_assert(s->used + len < POOL_BYTES);
    memcpy(cname, name, len);
    s->used += len;
    int64_t end = t + gap + server_len;
    const char *client = span(s, tr, from, caller, cname, t, end, status);
    call_t c = {NULL, t + gap / 2, end};
    c.server = span(s, tr, client, callee, op, c.srv_start, c.srv_start + server_len, status);
    return c;
}

/* One request at t0. Durations are decided first so that every parent covers its children. */
static void request(synth_t *s, int64_t t0, fault_t f)
{
    const char *tr = new_id(s, 32);
    int db_fails = f == F_DB_ERRORS && unit(s) < 0.5;
    int front_fails = f == F_FRONTEND_ERRORS && unit(s) < 0.5;
    int skip_c = f == F_ORCH_SKIPS_C, no_auth = f == F_FRONTEND_NO_AUTH;
    int64_t egress = f == F_ORCH_EGRESS || f == F_ORCH_POD_DELAY ? jit(s, 60) : 0;
    int64_t back = f == F_ORCH_POD_DELAY ? jit(s, 60) : 0; /* orch's responses to frontend */
    int b_calls = unit(s) < 0.3 ? 2 : 1;

    int64_t db_len = jit(s, 3), a_len = jit(s, 2) + jit(s, 1) + db_len;
    int64_t b_len = jit(s, 4), c_len = jit(s, 3), auth_len = jit(s, 2);
    int64_t g_a = jit(s, 1) + egress, g_b = jit(s, 1) + egress, g_c = jit(s, 1) + egress;
    int64_t orch_self = jit(s, 2);
    int64_t orch_len = orch_self + g_a + a_len + b_calls * (g_b + b_len) + (skip_c ? 0 : g_c + c_len);
    int64_t g_auth = jit(s, 1), g_orch = jit(s, 1) + back;
    int64_t front_self = jit(s, 2) + (f == F_FRONTEND_SLOW ? jit(s, 40) : 0);
    int64_t root_len = front_self + (no_auth ? 0 : g_auth + auth_len) + g_orch + orch_len;

    int err = db_fails ? STATUS_ERROR : STATUS_OK;
    const char *root = span(s, tr, NULL, "frontend", "GET /order", t0, t0 + root_len,
                            err == STATUS_ERROR || front_fails ? 2 : 1);
    int64_t t = t0 + front_self / 2;
    if (!no_auth)
        t = call(s, tr, root, "frontend", "auth", "/auth/check", t, g_auth, auth_len, STATUS_OK).end;
    call_t o = call(s, tr, root, "frontend", "orch", "/order", t, g_orch, orch_len, err);
    /* orch publishes a message first thing; mailer consumes it after the producer's span ended */
    int64_t pub_len = jit(s, 0.5), lag = jit(s, 8) + (f == F_MAILER_DELAY ? jit(s, 120) : 0);
    const char *pub =
        span(s, tr, o.server, "orch", "publish order-events", o.srv_start, o.srv_start + pub_len, STATUS_OK);
    int64_t consumed = o.srv_start + pub_len + lag;
    span(s, tr, pub, "mailer", "consume order-events", consumed, consumed + jit(s, 3), STATUS_OK);
    t = o.srv_start + orch_self / 2;
    call_t a = call(s, tr, o.server, "orch", "a", "/a", t, g_a, a_len, err);
    int64_t ta = a.srv_start + (a_len - db_len) / 2;
    span(s, tr, a.server, "db", "SELECT", ta, ta + db_len, err);
    t = a.end;
    for (int i = 0; i < b_calls; i++)
        t = call(s, tr, o.server, "orch", "b", "/b", t, g_b, b_len, STATUS_OK).end;
    if (!skip_c) call(s, tr, o.server, "orch", "c", "/c", t, g_c, c_len, STATUS_OK);
}

/* Two requests a second; the fault from a third into the window on. */
static void window(synth_t *s, int64_t t0, int seconds, fault_t f)
{
    for (int i = 0; i < 2 * seconds; i++)
        request(s, t0 + (int64_t)i * S_NS / 2 + jit(s, 100), i >= 2 * seconds / 3 ? f : F_NONE);
}

typedef struct {
    synth_t base, target;
    rank_result_t r;
} scenario_t;

static void run_scenario(scenario_t *sc, fault_t f)
{
    memset(sc, 0, sizeof(*sc));
    sc->base.pool = malloc(POOL_BYTES);
    sc->target.pool = malloc(POOL_BYTES);
    ck_assert(sc->base.pool && sc->target.pool);
    sc->base.rng = 11;
    sc->target.rng = 12;
    window(&sc->base, BASE_T0, 60, F_NONE);
    window(&sc->target, TARGET_T0, 180, f);
    rank_input_t b = {sc->base.spans, sc->base.n, NULL, 0, NULL, 0, NULL, 0, 0, 0};
    rank_input_t t = {sc->target.spans, sc->target.n, NULL, 0, NULL, 0, NULL, 0, 0, 0};
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
    free(sc->base.spans);
    free(sc->base.pool);
    free(sc->target.spans);
    free(sc->target.pool);
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

static void assert_first(const rank_result_t *r, const char *svc)
{
    ck_assert_uint_ge(r->n_services, 2);
    ck_assert_msg(strcmp(r->services[0].service, svc) == 0, "first is %s (%.2f), then %s (%.2f)",
                  r->services[0].service, r->services[0].score, r->services[1].service, r->services[1].score);
    ck_assert_msg(r->services[0].score > r->services[1].score, "tie for first");
    ck_assert(!r->nothing_stands_out);
}

START_TEST(orchestrator_whose_calls_out_are_late_is_charged_not_each_callee)
{
    scenario_t sc;
    run_scenario(&sc, F_ORCH_EGRESS);
    assert_first(&sc.r, "orch");
    const rank_service_t *o = find(&sc.r, "orch"), *a = find(&sc.r, "a");
    const rank_evidence_t *shared = evidence(o, RANK_EV_GAP_SHARED);
    ck_assert_ptr_nonnull(shared);
    ck_assert_double_eq(shared->n_after, 3); /* orch -> a, b, c */
    ck_assert_ptr_nonnull(evidence(a, RANK_EV_GAP_IN));
    ck_assert_double_lt(a->score, 0.75 * o->score); /* each callee keeps only part of its edge */
    end_scenario(&sc);
}
END_TEST

START_TEST(pod_delay_in_both_directions_ranks_the_pod)
{
    scenario_t sc;
    run_scenario(&sc, F_ORCH_POD_DELAY);
    assert_first(&sc.r, "orch");
    const rank_service_t *o = find(&sc.r, "orch"), *fe = find(&sc.r, "frontend");
    ck_assert_ptr_nonnull(evidence(o, RANK_EV_GAP_IN));    /* its responses: frontend's client spans grow */
    ck_assert_ptr_nonnull(evidence(o, RANK_EV_GAP_OUT));   /* its requests out */
    ck_assert_double_lt(o->channel[RANK_CH_LATENCY], 1.0); /* while its own spans' work is unchanged */
    ck_assert_double_lt(fe->score, 0.5 * o->score);
    end_scenario(&sc);
}
END_TEST

START_TEST(a_delayed_consumer_ranks_by_the_time_its_messages_wait)
{
    scenario_t sc;
    run_scenario(&sc, F_MAILER_DELAY);
    assert_first(&sc.r, "mailer");
    const rank_service_t *m = find(&sc.r, "mailer"), *o = find(&sc.r, "orch");
    ck_assert_ptr_nonnull(evidence(m, RANK_EV_GAP_IN));    /* orch's message waited longer */
    ck_assert_double_lt(m->channel[RANK_CH_LATENCY], 1.0); /* while its own work is unchanged */
    /* the producer keeps the part of a gap charged to a caller (its egress could be the cause) */
    ck_assert_double_lt(o->score, 0.6 * m->score);
    end_scenario(&sc);
}
END_TEST

START_TEST(a_skipped_dependency_ranks_the_caller_without_logs_or_errors)
{
    scenario_t sc;
    run_scenario(&sc, F_ORCH_SKIPS_C);
    assert_first(&sc.r, "orch");
    const rank_service_t *o = find(&sc.r, "orch"), *c = find(&sc.r, "c");
    const rank_evidence_t *e = evidence(o, RANK_EV_CALL_PATTERN);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(strstr(e->subject, "-> c /c"));
    ck_assert_double_eq_tol(e->before, 1.0, 0.01);
    ck_assert_double_eq(e->after, 0.0);
    ck_assert_double_lt(c->score, 1.0); /* the service no longer called did nothing wrong */
    end_scenario(&sc);
}
END_TEST

START_TEST(entry_service_error_responses_rank_it)
{
    scenario_t sc;
    run_scenario(&sc, F_FRONTEND_ERRORS);
    assert_first(&sc.r, "frontend");
    ck_assert_ptr_nonnull(evidence(find(&sc.r, "frontend"), RANK_EV_SPAN_ERRORS));
    end_scenario(&sc);
}
END_TEST

START_TEST(entry_service_call_pattern_ranks_it)
{
    scenario_t sc;
    run_scenario(&sc, F_FRONTEND_NO_AUTH);
    assert_first(&sc.r, "frontend");
    ck_assert_ptr_nonnull(evidence(find(&sc.r, "frontend"), RANK_EV_CALL_PATTERN));
    end_scenario(&sc);
}
END_TEST

START_TEST(entry_service_self_time_ranks_it)
{
    scenario_t sc;
    run_scenario(&sc, F_FRONTEND_SLOW);
    assert_first(&sc.r, "frontend");
    ck_assert_ptr_nonnull(evidence(find(&sc.r, "frontend"), RANK_EV_SELF_TIME));
    end_scenario(&sc);
}
END_TEST

START_TEST(errors_are_charged_where_they_begin_not_where_they_propagate)
{
    scenario_t sc;
    run_scenario(&sc, F_DB_ERRORS);
    assert_first(&sc.r, "db");
    ck_assert_ptr_nonnull(evidence(find(&sc.r, "db"), RANK_EV_SPAN_ERRORS));
    static const char *up[] = {"a", "orch", "frontend"};
    for (int i = 0; i < 3; i++)
        ck_assert_ptr_null(evidence(find(&sc.r, up[i]), RANK_EV_SPAN_ERRORS));
    end_scenario(&sc);
}
END_TEST

START_TEST(jitter_and_a_branch_mix_stay_quiet)
{
    scenario_t sc;
    run_scenario(&sc, F_NONE);
    ck_assert_msg(sc.r.nothing_stands_out, "%s", sc.r.verdict);
    end_scenario(&sc);
}
END_TEST

/* A baseline of `base_seconds` (two requests a second) against a quiet 3-minute window. */
static void rank_thin(scenario_t *sc, int base_seconds, int target_seconds)
{
    memset(sc, 0, sizeof(*sc));
    sc->base.pool = malloc(POOL_BYTES);
    sc->target.pool = malloc(POOL_BYTES);
    ck_assert(sc->base.pool && sc->target.pool);
    sc->base.rng = 11;
    sc->target.rng = 12;
    window(&sc->base, BASE_T0, base_seconds, F_NONE);
    window(&sc->target, TARGET_T0, target_seconds, F_NONE);
    rank_input_t b = {sc->base.spans, sc->base.n, NULL, 0, NULL, 0, NULL, 0, 0, 0};
    rank_input_t t = {sc->target.spans, sc->target.n, NULL, 0, NULL, 0, NULL, 0, 0, 0};
    ck_assert_int_eq(rank_window(&b, &t, NULL, &sc->r), 0);
}

START_TEST(an_empty_baseline_is_said_to_be_too_thin)
{
    scenario_t sc;
    rank_thin(&sc, 0, 180);
    ck_assert(sc.r.nothing_stands_out);
    ck_assert_uint_eq(sc.r.n_judged, 0);
    ck_assert_uint_eq(sc.r.n_thin, 8);
    ck_assert_uint_eq(sc.r.n_base_calls, 0);
    ck_assert_msg(strstr(sc.r.verdict, "nothing could be judged: baseline too thin: 0 calls"), "%s",
                  sc.r.verdict);
    const rank_service_t *o = find(&sc.r, "orch");
    ck_assert_int_eq(o->thin, RANK_THIN_BASELINE);
    ck_assert_uint_eq(o->n_target_calls, 360);
    json_t *j = rank_result_to_json(&sc.r);
    json_t *first = json_array_get(json_object_get(j, "services"), 0);
    const char *note = json_string_value(json_object_get(json_object_get(first, "samples"), "note"));
    ck_assert_str_eq(note, "baseline too thin: 0 calls (at least 5 needed)");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "samples"), "services_too_thin")),
                     8);
    json_decref(j);
    end_scenario(&sc);
}
END_TEST

START_TEST(a_short_window_is_said_to_be_too_thin)
{
    scenario_t sc;
    rank_thin(&sc, 60, 1); /* two requests: 2 calls of each service (b: 2 to 4) */
    ck_assert(sc.r.nothing_stands_out);
    ck_assert_msg(strstr(sc.r.verdict, "window too thin: "), "%s", sc.r.verdict);
    ck_assert_int_eq(find(&sc.r, "auth")->thin, RANK_THIN_WINDOW);
    ck_assert_uint_eq(find(&sc.r, "auth")->n_target_calls, 2);
    end_scenario(&sc);
}
END_TEST

START_TEST(enough_calls_on_both_sides_is_a_plain_verdict)
{
    scenario_t sc;
    rank_thin(&sc, 60, 180);
    ck_assert_uint_eq(sc.r.n_thin, 0);
    ck_assert_uint_eq(sc.r.n_judged, 8);
    ck_assert_uint_eq(find(&sc.r, "frontend")->n_base_calls, 120);
    ck_assert_msg(strncmp(sc.r.verdict, "nothing stands out (top score", 29) == 0, "%s", sc.r.verdict);
    end_scenario(&sc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rank_footprints");
    TCase *tc = tcase_create("spans");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, orchestrator_whose_calls_out_are_late_is_charged_not_each_callee);
    tcase_add_test(tc, pod_delay_in_both_directions_ranks_the_pod);
    tcase_add_test(tc, a_delayed_consumer_ranks_by_the_time_its_messages_wait);
    tcase_add_test(tc, a_skipped_dependency_ranks_the_caller_without_logs_or_errors);
    tcase_add_test(tc, entry_service_error_responses_rank_it);
    tcase_add_test(tc, entry_service_call_pattern_ranks_it);
    tcase_add_test(tc, entry_service_self_time_ranks_it);
    tcase_add_test(tc, errors_are_charged_where_they_begin_not_where_they_propagate);
    tcase_add_test(tc, jitter_and_a_branch_mix_stay_quiet);
    suite_add_tcase(s, tc);
    TCase *thin = tcase_create("samples");
    tcase_set_timeout(thin, 60);
    tcase_add_test(thin, an_empty_baseline_is_said_to_be_too_thin);
    tcase_add_test(thin, a_short_window_is_said_to_be_too_thin);
    tcase_add_test(thin, enough_calls_on_both_sides_is_a_plain_verdict);
    suite_add_tcase(s, thin);
    return ts_run(s);
}
