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
#include "ts_rank_synth.h"

#include <check.h>
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
    F_DB_SKIPS_READ,    /* db skips its disk read in half of its queries (nothing else shows it) */
    F_B_CATCHES,        /* b catches an exception in half of its calls and records it: no status, no log */
} fault_t;

/* A call made by span `from` of `caller` at t: a client span in the caller around the callee's server
 * span of `server_len`, the `gap` of network split before and after it. Returns the server span's id
 * and start (the callee's own calls are laid out from there) and the client span's end. */
typedef struct {
    const char *server;
    int64_t srv_start, end;
} call_t;

static call_t call(ts_synth_t *s, const char *tr, const char *from, const char *caller, const char *callee,
                   const char *op, int64_t t, int64_t gap, int64_t server_len, int status)
{
    const char *cname = ts_synth_fmt(s, "HTTP %s", op);
    int64_t end = t + gap + server_len;
    const char *client = ts_synth_span(s, tr, from, caller, cname, t, end, status);
    call_t c = {NULL, t + gap / 2, end};
    c.server = ts_synth_span(s, tr, client, callee, op, c.srv_start, c.srv_start + server_len, status);
    return c;
}

/* One request at t0. Durations are decided first so that every parent covers its children. */
static void request(ts_synth_t *s, int64_t t0, fault_t f)
{
    const char *tr = ts_synth_id(s, 32);
    int db_fails = f == F_DB_ERRORS && ts_synth_unit(s) < 0.5;
    int front_fails = f == F_FRONTEND_ERRORS && ts_synth_unit(s) < 0.5;
    int skip_c = f == F_ORCH_SKIPS_C, no_auth = f == F_FRONTEND_NO_AUTH;
    int64_t egress = f == F_ORCH_EGRESS || f == F_ORCH_POD_DELAY ? ts_synth_jit(s, 60) : 0;
    int64_t back = f == F_ORCH_POD_DELAY ? ts_synth_jit(s, 60) : 0; /* orch's responses to frontend */
    int b_calls = ts_synth_unit(s) < 0.3 ? 2 : 1;

    int64_t db_len = ts_synth_jit(s, 3), a_len = ts_synth_jit(s, 2) + ts_synth_jit(s, 1) + db_len;
    int64_t b_len = ts_synth_jit(s, 4), c_len = ts_synth_jit(s, 3), auth_len = ts_synth_jit(s, 2);
    int64_t g_a = ts_synth_jit(s, 1) + egress, g_b = ts_synth_jit(s, 1) + egress,
            g_c = ts_synth_jit(s, 1) + egress;
    int64_t orch_self = ts_synth_jit(s, 2);
    int64_t orch_len = orch_self + g_a + a_len + b_calls * (g_b + b_len) + (skip_c ? 0 : g_c + c_len);
    int64_t g_auth = ts_synth_jit(s, 1), g_orch = ts_synth_jit(s, 1) + back;
    int64_t front_self = ts_synth_jit(s, 2) + (f == F_FRONTEND_SLOW ? ts_synth_jit(s, 40) : 0);
    int64_t root_len = front_self + (no_auth ? 0 : g_auth + auth_len) + g_orch + orch_len;

    int err = db_fails ? STATUS_ERROR : STATUS_OK;
    int b_catches = f == F_B_CATCHES && ts_synth_unit(s) < 0.5;
    const char *root = ts_synth_span(s, tr, NULL, "frontend", "GET /order", t0, t0 + root_len,
                                     err == STATUS_ERROR || front_fails ? 2 : 1);
    int64_t t = t0 + front_self / 2;
    if (!no_auth)
        t = call(s, tr, root, "frontend", "auth", "/auth/check", t, g_auth, auth_len, STATUS_OK).end;
    call_t o = call(s, tr, root, "frontend", "orch", "/order", t, g_orch, orch_len, err);
    /* orch publishes a message first thing; mailer consumes it after the producer's span ended */
    int64_t pub_len = ts_synth_jit(s, 0.5),
            lag = ts_synth_jit(s, 8) + (f == F_MAILER_DELAY ? ts_synth_jit(s, 120) : 0);
    const char *pub = ts_synth_span(s, tr, o.server, "orch", "publish order-events", o.srv_start,
                                    o.srv_start + pub_len, STATUS_OK);
    int64_t consumed = o.srv_start + pub_len + lag;
    ts_synth_span(s, tr, pub, "mailer", "consume order-events", consumed, consumed + ts_synth_jit(s, 3),
                  STATUS_OK);
    t = o.srv_start + orch_self / 2;
    call_t a = call(s, tr, o.server, "orch", "a", "/a", t, g_a, a_len, err);
    if (db_fails) ts_synth_record_exception(s, "DbClientException"); /* a's client library wraps db's error */
    int64_t ta = a.srv_start + (a_len - db_len) / 2;
    const char *q = ts_synth_span(s, tr, a.server, "db", "SELECT", ta, ta + db_len, err);
    if (db_fails) ts_synth_record_exception(s, "DeadlockException");
    if (f != F_DB_SKIPS_READ || ts_synth_unit(s) >= 0.5) /* a leaf's own step, every query takes it */
        ts_synth_span(s, tr, q, "db", "disk read", ta + db_len / 4, ta + db_len / 2, STATUS_OK);
    t = a.end;
    for (int i = 0; i < b_calls; i++) {
        t = call(s, tr, o.server, "orch", "b", "/b", t, g_b, b_len, STATUS_OK).end;
        if (b_catches && i == 0) ts_synth_record_exception(s, "StaleCacheException"); /* b's server span */
    }
    if (!skip_c) call(s, tr, o.server, "orch", "c", "/c", t, g_c, c_len, STATUS_OK);
}

/* Two requests a second; the fault from a third into the window on. */
static void window(ts_synth_t *s, int64_t t0, int seconds, fault_t f)
{
    for (int i = 0; i < 2 * seconds; i++)
        request(s, t0 + (int64_t)i * S_NS / 2 + ts_synth_jit(s, 100), i >= 2 * seconds / 3 ? f : F_NONE);
}

/* A fault-free baseline of `base_seconds` and a target window of `target_seconds` (two requests a second
 * in both), ranked. */
static void run_windows(ts_synth_pair_t *sc, int base_seconds, int target_seconds, fault_t f)
{
    ts_synth_init(&sc->base, 11, POOL_BYTES);
    ts_synth_init(&sc->target, 12, POOL_BYTES);
    window(&sc->base, BASE_T0, base_seconds, F_NONE);
    window(&sc->target, TARGET_T0, target_seconds, f);
    rank_input_t b = ts_synth_input(&sc->base, 0, 0), t = ts_synth_input(&sc->target, 0, 0);
    ts_synth_rank(&b, &t, &sc->r);
}

static void run_scenario(ts_synth_pair_t *sc, fault_t f)
{
    run_windows(sc, 60, 180, f);
}

START_TEST(orchestrator_whose_calls_out_are_late_is_charged_not_each_callee)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_ORCH_EGRESS);
    ts_synth_assert_first(&sc.r, "orch");
    const rank_service_t *o = ts_synth_find(&sc.r, "orch"), *a = ts_synth_find(&sc.r, "a");
    const rank_evidence_t *shared = ts_synth_evidence(o, RANK_EV_GAP_SHARED);
    ck_assert_ptr_nonnull(shared);
    ck_assert_double_eq(shared->n_after, 3); /* orch -> a, b, c */
    ck_assert_ptr_nonnull(ts_synth_evidence(a, RANK_EV_GAP_IN));
    ck_assert_double_lt(a->score, 0.75 * o->score); /* each callee keeps only part of its edge */
    ts_synth_pair_dispose(&sc);
}
END_TEST

START_TEST(pod_delay_in_both_directions_ranks_the_pod)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_ORCH_POD_DELAY);
    ts_synth_assert_first(&sc.r, "orch");
    const rank_service_t *o = ts_synth_find(&sc.r, "orch"), *fe = ts_synth_find(&sc.r, "frontend");
    /* its responses (frontend's client spans grow) and its requests out are late */
    ck_assert_ptr_nonnull(ts_synth_evidence(o, RANK_EV_GAP_IN));
    ck_assert_ptr_nonnull(ts_synth_evidence(o, RANK_EV_GAP_OUT));
    ck_assert_double_lt(o->channel[RANK_CH_LATENCY], 1.0); /* while its own spans' work is unchanged */
    ck_assert_double_lt(fe->score, 0.5 * o->score);
    ts_synth_pair_dispose(&sc);
}
END_TEST

START_TEST(a_delayed_consumer_ranks_by_the_time_its_messages_wait)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_MAILER_DELAY);
    ts_synth_assert_first(&sc.r, "mailer");
    const rank_service_t *m = ts_synth_find(&sc.r, "mailer"), *o = ts_synth_find(&sc.r, "orch");
    ck_assert_ptr_nonnull(ts_synth_evidence(m, RANK_EV_GAP_IN)); /* orch's message waited longer */
    ck_assert_double_lt(m->channel[RANK_CH_LATENCY], 1.0);       /* while its own work is unchanged */
    /* the producer keeps the part of a gap charged to a caller (its egress could be the cause) */
    ck_assert_double_lt(o->score, 0.6 * m->score);
    ts_synth_pair_dispose(&sc);
}
END_TEST

START_TEST(a_skipped_dependency_ranks_the_caller_without_logs_or_errors)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_ORCH_SKIPS_C);
    ts_synth_assert_first(&sc.r, "orch");
    const rank_service_t *o = ts_synth_find(&sc.r, "orch"), *c = ts_synth_find(&sc.r, "c");
    const rank_evidence_t *e = ts_synth_evidence(o, RANK_EV_CALL_PATTERN);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(strstr(e->subject, "-> c /c"));
    ck_assert_double_eq_tol(e->before, 1.0, 0.01);
    ck_assert_double_eq(e->after, 0.0);
    ck_assert_double_lt(c->score, 1.0); /* the service no longer called did nothing wrong */
    ts_synth_pair_dispose(&sc);
}
END_TEST

/* Every query read the disk, and half of them stop: a share of 1 falling to 0.5 is decisive even with a
 * few hundred queries, and must be read as a share (binomially), not as a rate that could exceed 1. */
START_TEST(a_leaf_skipping_a_step_in_half_of_its_calls_ranks_it)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_DB_SKIPS_READ);
    ts_synth_assert_first(&sc.r, "db");
    const rank_evidence_t *e = ts_synth_evidence(ts_synth_find(&sc.r, "db"), RANK_EV_CALL_PATTERN);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(strstr(e->subject, "-> db disk read"));
    ck_assert_double_eq(e->before, 1.0);
    ck_assert_double_eq_tol(e->after, 0.5, 0.1);
    ts_synth_pair_dispose(&sc);
}
END_TEST

/* No error status and no log line: only the exception b records on its span shows where it was
 * thrown (logs not collected, or the handler logs nothing). */
START_TEST(a_recorded_exception_ranks_the_service_that_caught_it)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_B_CATCHES);
    ts_synth_assert_first(&sc.r, "b");
    const rank_evidence_t *e = ts_synth_evidence(ts_synth_find(&sc.r, "b"), RANK_EV_SPAN_EXCEPTIONS);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->subject, "/b");
    ck_assert_ptr_nonnull(strstr(e->text, "StaleCacheException"));
    ck_assert_double_eq(e->before, 0.0);
    ck_assert_ptr_null(ts_synth_evidence(ts_synth_find(&sc.r, "orch"), RANK_EV_SPAN_EXCEPTIONS));
    ts_synth_pair_dispose(&sc);
}
END_TEST

START_TEST(entry_service_error_responses_rank_it)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_FRONTEND_ERRORS);
    ts_synth_assert_first(&sc.r, "frontend");
    ck_assert_ptr_nonnull(ts_synth_evidence(ts_synth_find(&sc.r, "frontend"), RANK_EV_SPAN_ERRORS));
    ts_synth_pair_dispose(&sc);
}
END_TEST

START_TEST(entry_service_call_pattern_ranks_it)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_FRONTEND_NO_AUTH);
    ts_synth_assert_first(&sc.r, "frontend");
    ck_assert_ptr_nonnull(ts_synth_evidence(ts_synth_find(&sc.r, "frontend"), RANK_EV_CALL_PATTERN));
    ts_synth_pair_dispose(&sc);
}
END_TEST

START_TEST(entry_service_self_time_ranks_it)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_FRONTEND_SLOW);
    ts_synth_assert_first(&sc.r, "frontend");
    ck_assert_ptr_nonnull(ts_synth_evidence(ts_synth_find(&sc.r, "frontend"), RANK_EV_SELF_TIME));
    ts_synth_pair_dispose(&sc);
}
END_TEST

START_TEST(errors_are_charged_where_they_begin_not_where_they_propagate)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_DB_ERRORS);
    ts_synth_assert_first(&sc.r, "db");
    ck_assert_ptr_nonnull(ts_synth_evidence(ts_synth_find(&sc.r, "db"), RANK_EV_SPAN_ERRORS));
    ck_assert_ptr_nonnull(ts_synth_evidence(ts_synth_find(&sc.r, "db"), RANK_EV_SPAN_EXCEPTIONS));
    static const char *up[] = {"a", "orch", "frontend"};
    for (int i = 0; i < 3; i++) {
        const rank_service_t *u = ts_synth_find(&sc.r, up[i]);
        ck_assert_ptr_null(ts_synth_evidence(u, RANK_EV_SPAN_ERRORS));
        /* a's client wrapped db's error in an exception of its own: it began in db */
        ck_assert_ptr_null(ts_synth_evidence(u, RANK_EV_SPAN_EXCEPTIONS));
    }
    ts_synth_pair_dispose(&sc);
}
END_TEST

START_TEST(jitter_and_a_branch_mix_stay_quiet)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_NONE);
    ck_assert_msg(sc.r.nothing_stands_out, "%s", sc.r.verdict);
    ts_synth_pair_dispose(&sc);
}
END_TEST

START_TEST(an_empty_baseline_is_said_to_be_too_thin)
{
    ts_synth_pair_t sc;
    run_windows(&sc, 0, 180, F_NONE);
    ck_assert(sc.r.nothing_stands_out);
    ck_assert_uint_eq(sc.r.n_judged, 0);
    ck_assert_uint_eq(sc.r.n_thin, 8);
    ck_assert_uint_eq(sc.r.n_base_calls, 0);
    ck_assert_msg(strstr(sc.r.verdict, "nothing could be judged: baseline too thin: 0 calls"), "%s",
                  sc.r.verdict);
    const rank_service_t *o = ts_synth_find(&sc.r, "orch");
    ck_assert_int_eq(o->thin, RANK_THIN_BASELINE);
    ck_assert_uint_eq(o->n_target_calls, 360);
    json_t *j = rank_result_to_json(&sc.r);
    json_t *first = json_array_get(json_object_get(j, "services"), 0);
    const char *note = json_string_value(json_object_get(json_object_get(first, "samples"), "note"));
    ck_assert_str_eq(note, "baseline too thin: 0 calls (at least 5 needed)");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "samples"), "services_too_thin")),
                     8);
    json_decref(j);
    ts_synth_pair_dispose(&sc);
}
END_TEST

START_TEST(a_short_window_is_said_to_be_too_thin)
{
    ts_synth_pair_t sc;
    run_windows(&sc, 60, 1, F_NONE); /* two requests: 2 calls of each service (b: 2 to 4) */
    ck_assert(sc.r.nothing_stands_out);
    ck_assert_msg(strstr(sc.r.verdict, "window too thin: "), "%s", sc.r.verdict);
    ck_assert_int_eq(ts_synth_find(&sc.r, "auth")->thin, RANK_THIN_WINDOW);
    ck_assert_uint_eq(ts_synth_find(&sc.r, "auth")->n_target_calls, 2);
    ts_synth_pair_dispose(&sc);
}
END_TEST

START_TEST(enough_calls_on_both_sides_is_a_plain_verdict)
{
    ts_synth_pair_t sc;
    run_windows(&sc, 60, 180, F_NONE);
    ck_assert_uint_eq(sc.r.n_thin, 0);
    ck_assert_uint_eq(sc.r.n_judged, 8);
    ck_assert_uint_eq(ts_synth_find(&sc.r, "frontend")->n_base_calls, 120);
    ck_assert_msg(strncmp(sc.r.verdict, "nothing stands out (top score", 29) == 0, "%s", sc.r.verdict);
    ts_synth_pair_dispose(&sc);
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
    tcase_add_test(tc, a_leaf_skipping_a_step_in_half_of_its_calls_ranks_it);
    tcase_add_test(tc, a_recorded_exception_ranks_the_service_that_caught_it);
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
