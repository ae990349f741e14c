/* Window ranking of a usual line that stops following its partner (logpairs.c). The system:
 *
 *   gateway GET /trips --> trips /trips/query
 *
 * Each query either finds a trip, writing "calculating distance" and then "distance of trip" (a pair),
 * or finds none ("no trips between"). The share of queries that find a trip is the workload's: it
 * rises by half in the target window. A fault (an exception thrown between the two statements) stops the
 * second line of the pair. Counted per call, the second line's fall is diluted by the workload's rise;
 * counted per call that wrote the first line it is not. The baseline is one minute, the target window
 * three, the change on from a third in. */
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
    F_WORKLOAD,     /* more queries find a trip: no fault */
    F_PAIR_BREAKS,  /* the same, and the second line of the pair is no longer written */
    F_BRANCH_STOPS, /* the second line only ever followed half of the first (a branch), and stops */
} change_t;

typedef struct {
    double found; /* share of queries that find a trip */
    int pair_breaks, branch;
} traffic_t;

static void query(ts_synth_t *s, int64_t t0, traffic_t tr)
{
    const char *trace = ts_synth_id(s, 32);
    int64_t work = ts_synth_jit(s, 6), gap = ts_synth_jit(s, 1);
    const char *root =
        ts_synth_span(s, trace, NULL, "gateway", "GET /trips", t0, t0 + gap + work + MS_NS, STATUS_OK);
    ts_synth_log(s, t0, "gateway", 3, ts_synth_fmt(s, "g.Trips#12 trip query from user %u", s->next_id),
                 trace, root);
    const char *client =
        ts_synth_span(s, trace, root, "gateway", "HTTP GET", t0 + MS_NS / 2, t0 + gap + work, STATUS_OK);
    int64_t t = t0 + MS_NS / 2 + gap / 2;
    const char *srv = ts_synth_span(s, trace, client, "trips", "/trips/query", t, t + work, STATUS_OK);
    unsigned id = s->next_id;
    if (ts_synth_unit(s) >= tr.found) {
        ts_synth_log(s, t + MS_NS, "trips", 3,
                     ts_synth_fmt(s, "t.s.Trips#80 no trips between station %u and %u", id % 17, id % 13),
                     trace, srv);
        return;
    }
    ts_synth_log(s, t + MS_NS, "trips", 3,
                 ts_synth_fmt(s, "t.s.Trips#366 calculating distance for trip G%u", 1000 + id % 50), trace,
                 srv);
    int writes = !tr.pair_breaks && (!tr.branch || ts_synth_unit(s) < 0.5);
    if (writes)
        ts_synth_log(
            s, t + 2 * MS_NS, "trips", 3,
            ts_synth_fmt(s, "t.s.Trips#372 distance of trip G%u: %u km", 1000 + id % 50, 100 + id % 900),
            trace, srv);
}

/* Five queries a second; the change is on from a third of the target window in. */
static void window(ts_synth_t *s, int64_t t0, int seconds, int target, change_t c)
{
    for (int i = 0; i < 5 * seconds; i++) {
        int on = target && i >= 5 * seconds / 3;
        traffic_t tr = c == F_BRANCH_STOPS ? (traffic_t){0.4, on, !on}
                                           : (traffic_t){on ? 0.6 : 0.4, on && c == F_PAIR_BREAKS, 0};
        query(s, t0 + (int64_t)i * S_NS / 5 + ts_synth_jit(s, 50), tr);
    }
}

static void run_scenario(ts_synth_pair_t *sc, change_t c)
{
    ts_synth_init(&sc->base, 31, POOL_BYTES);
    ts_synth_init(&sc->target, 32, POOL_BYTES);
    window(&sc->base, BASE_T0, 60, 0, c);
    window(&sc->target, TARGET_T0, 180, 1, c);
    rank_input_t b = ts_synth_input(&sc->base, BASE_T0, BASE_T0 + 60 * S_NS);
    rank_input_t t = ts_synth_input(&sc->target, TARGET_T0, TARGET_T0 + 180 * S_NS);
    ts_synth_rank(&b, &t, &sc->r);
}

START_TEST(a_line_that_stops_following_its_partner_names_its_service)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_PAIR_BREAKS);
    ts_synth_assert_first(&sc.r, "trips");
    const rank_evidence_t *e = ts_synth_evidence(&sc.r.services[0], RANK_EV_LOG_UNPAIRED);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->context, "/trips/query");
    ck_assert_ptr_nonnull(strstr(e->subject, "Trips#372"));
    ck_assert_ptr_nonnull(strstr(e->text, "Trips#366")); /* the partner it no longer follows */
    ck_assert_double_eq(e->before, 1.0);
    ck_assert_double_eq(e->after, 0.0);
    /* per call that wrote the partner: about six in ten of the 600 calls after the cut */
    ck_assert_double_gt(e->n_after, 300);
    ck_assert_double_lt(e->n_after, 450);
    /* sharper than the same line counted per call of the operation, which the workload dilutes */
    const rank_evidence_t *v = ts_synth_evidence(&sc.r.services[0], RANK_EV_LOG_VANISHED);
    if (v) ck_assert_double_gt(e->score, v->score);
    ts_synth_pair_dispose(&sc);
}
END_TEST

START_TEST(a_workload_shift_keeps_the_pairs_and_stays_quiet)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_WORKLOAD);
    ck_assert_msg(sc.r.nothing_stands_out, "%s", sc.r.verdict);
    ck_assert_ptr_null(ts_synth_evidence(ts_synth_find(&sc.r, "trips"), RANK_EV_LOG_UNPAIRED));
    ts_synth_pair_dispose(&sc);
}
END_TEST

/* A line that followed its partner only in half of the calls is a branch, not a pair: its stopping
 * is read per call of the operation (log_vanished), never as a broken pair. */
START_TEST(a_branch_is_no_pair)
{
    ts_synth_pair_t sc;
    run_scenario(&sc, F_BRANCH_STOPS);
    const rank_service_t *trips = ts_synth_find(&sc.r, "trips");
    ck_assert_ptr_null(ts_synth_evidence(trips, RANK_EV_LOG_UNPAIRED));
    ck_assert_ptr_nonnull(ts_synth_evidence(trips, RANK_EV_LOG_VANISHED));
    ts_synth_pair_dispose(&sc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rank_logpairs");
    TCase *tc = tcase_create("pairs");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_line_that_stops_following_its_partner_names_its_service);
    tcase_add_test(tc, a_workload_shift_keeps_the_pairs_and_stays_quiet);
    tcase_add_test(tc, a_branch_is_no_pair);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
