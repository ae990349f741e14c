/* Anomaly detection and suspects on synthetic series with known change points, seasonality and
 * noise; the false-alarm rate on clean data is measured and bounded. */
#include "detect.h"
#include "priors.h"
#include "suspects.h"

#include "ts.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_NS (60 * ANOMALY_NS_PER_S)

/* Deterministic Gaussian-ish noise (sum of uniforms) so the test never flakes. */
static unsigned long long state = 12345;
static double noise(void)
{
    double s = 0;
    for (int i = 0; i < 6; i++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        s += (double)(state >> 11) / (double)(1ULL << 53);
    }
    return (s - 3.0) * 1.41; /* about unit variance */
}

static series_point_t *series(size_t n, int64_t t0, double (*f)(int64_t), double sd)
{
    series_point_t *p = malloc(n * sizeof(*p));
    for (size_t i = 0; i < n; i++) {
        p[i].ts_ns = t0 + (int64_t)i * MIN_NS;
        p[i].value = f(p[i].ts_ns) + sd * noise();
    }
    return p;
}

static double flat250(int64_t t)
{
    (void)t;
    return 250.0;
}

static double daily(int64_t t)
{
    double day_frac = (double)(t % ANOMALY_DAY_NS) / (double)ANOMALY_DAY_NS;
    return 200.0 + 150.0 * sin(2 * M_PI * day_frac);
}

START_TEST(change_point_found_as_one_episode)
{
    detect_opts_t o;
    detect_opts_default(&o);
    series_point_t *h = series(120, 0, flat250, 10);
    series_point_t *r = series(30, 120 * MIN_NS, flat250, 10);
    for (int i = 10; i < 14; i++)
        r[i].value = 1850 + i; /* a 4-minute latency jump */
    episode_t *eps;
    size_t n = anomaly_detect(h, 120, r, 30, &o, &eps);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(eps[0].start_ns, r[10].ts_ns);
    ck_assert_int_eq(eps[0].end_ns, r[13].ts_ns);
    ck_assert_int_eq(eps[0].points, 4);
    ck_assert(eps[0].pct_change > 500);
    ck_assert(eps[0].peak_z > 30);
    ck_assert_int_eq(eps[0].direction, 1);
    free(eps);
    free(h);
    free(r);
}
END_TEST

START_TEST(gaps_over_two_minutes_split_episodes)
{
    detect_opts_t o;
    detect_opts_default(&o);
    series_point_t *h = series(120, 0, flat250, 5);
    series_point_t *r = series(20, 120 * MIN_NS, flat250, 5);
    r[2].value = 900;
    r[3].value = 950;
    r[9].value = 1000; /* 6 minutes later: a second episode */
    episode_t *eps;
    size_t n = anomaly_detect(h, 120, r, 20, &o, &eps);
    ck_assert_int_eq(n, 2);
    free(eps);
    free(h);
    free(r);
}
END_TEST

START_TEST(false_alarm_rate_on_clean_noise_is_low)
{
    detect_opts_t o;
    detect_opts_default(&o);
    size_t nh = 600, nr = 5000;
    series_point_t *h = series(nh, 0, flat250, 20);
    series_point_t *r = series(nr, (int64_t)nh * MIN_NS, flat250, 20);
    episode_t *eps;
    size_t n = anomaly_detect(h, nh, r, nr, &o, &eps);
    size_t flagged = 0;
    for (size_t i = 0; i < n; i++)
        flagged += eps[i].points;
    double rate = (double)flagged / (double)nr;
    fprintf(stderr, "false-alarm rate on clean noise (z>=3): %.4f of points, %zu episodes in %zu points\n",
            rate, n, nr);
    ck_assert(rate < 0.01);
    free(eps);
    free(h);
    free(r);
}
END_TEST

START_TEST(seasonality_is_not_an_anomaly_but_a_break_is)
{
    detect_opts_t o;
    detect_opts_default(&o);
    size_t nh = 2 * 1440; /* two days of minutes */
    series_point_t *h = series(nh, 0, daily, 8);
    series_point_t *r = series(600, (int64_t)nh * MIN_NS, daily, 8);
    episode_t *eps;
    size_t n = anomaly_detect(h, nh, r, 600, &o, &eps);
    size_t flagged = 0;
    for (size_t i = 0; i < n; i++)
        flagged += eps[i].points;
    ck_assert_msg(flagged < 12, "daily cycle flagged %zu points", flagged);
    free(eps);
    r[300].value += 200; /* a break the trailing window alone would hide in the daily swing */
    r[301].value += 200;
    n = anomaly_detect(h, nh, r, 600, &o, &eps);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (eps[i].start_ns <= r[300].ts_ns && eps[i].end_ns >= r[300].ts_ns) found = 1;
    ck_assert(found);
    free(eps);
    free(h);
    free(r);
}
END_TEST

START_TEST(deploy_before_latency_episode_ranks_first)
{
    symptom_t sym = {.service = "payment", .what = "p95_latency_ms"};
    sym.ep.start_ns = 1000 * ANOMALY_NS_PER_S;
    sym.ep.end_ns = sym.ep.start_ns + 180 * ANOMALY_NS_PER_S;
    sym.ep.baseline = 250;
    sym.ep.peak = 1850;
    sym.ep.pct_change = 640;
    sym.ep.peak_z = 32;
    change_event_t ev[] = {
        {sym.ep.start_ns - 900 * ANOMALY_NS_PER_S, "payment", "deploy", "v2.3.0"}, /* too early */
        {sym.ep.start_ns - 240 * ANOMALY_NS_PER_S, "payment", "deploy", "v2.3.1"},
        {sym.ep.start_ns - 100 * ANOMALY_NS_PER_S, "inventory", "flag", "new-stock-api"},
        {sym.ep.start_ns + 60 * ANOMALY_NS_PER_S, "payment", "config", "after the fact"},
    };
    suspect_opts_t o;
    suspect_opts_default(&o);
    suspect_t *s;
    size_t n = suspects_rank(ev, 4, &sym, 1, &o, &s);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(s[0].event_index, 1);
    ck_assert(s[0].confidence > s[1].confidence);
    ck_assert(s[0].confidence > 0 && s[0].confidence <= 1);
    ck_assert_msg(strstr(s[0].evidence, "p95_latency_ms on payment rose 7.4") &&
                      strstr(s[0].evidence, "deploy payment v2.3.1 at ") &&
                      strstr(s[0].evidence, ", 4 min before p95_latency_ms"),
                  "%s", s[0].evidence);
    free(s);
    /* nothing in the window: no suspect */
    n = suspects_rank(ev, 1, &sym, 1, &o, &s);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_null(s);
}
END_TEST

/* A late batch: 90 minutes arrive at once, so the history the runner loads runs past the points being
 * judged (it holds them too). Each point is judged against the points before it only: the step is found
 * where it starts, and nothing before it is anomalous (judged against the points after it, the step
 * would be the baseline and the points before it the anomaly). */
START_TEST(a_late_batch_is_judged_in_its_own_time_context)
{
    detect_opts_t o;
    detect_opts_default(&o);
    series_point_t *p = series(90, 0, flat250, 10);
    for (int i = 30; i < 90; i++)
        p[i].value += 1000; /* a step at minute 30: most of the batch is after it */
    episode_t *eps;
    size_t n = anomaly_detect(p, 90, p, 90, &o, &eps);
    int step = 0;
    for (size_t k = 0; k < n; k++) {
        if (eps[k].start_ns == p[30].ts_ns && eps[k].direction == 1 && eps[k].peak > 1000) step = 1;
        /* before the step: at most noise, never a jump judged against points after it */
        if (eps[k].start_ns < p[30].ts_ns) ck_assert(fabs(eps[k].pct_change) < 20);
    }
    ck_assert_msg(step, "the step at minute 30 was not found (%zu episodes)", n);
    free(eps);
    free(p);
}
END_TEST

START_TEST(feedback_shifts_priors_explainably)
{
    ck_assert(priors_shift(0.5, 0, 0) == 0.5);
    ck_assert(priors_shift(0.5, 4, 0) == 0.75);  /* four right labels move it halfway to 1 */
    ck_assert(priors_shift(0.5, 0, 4) == 0.25);  /* four wrong ones halfway to 0 */
    ck_assert(priors_shift(0.2, 100, 0) > 0.95); /* many labels dominate the base */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("anomaly");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, change_point_found_as_one_episode);
    tcase_add_test(tc, gaps_over_two_minutes_split_episodes);
    tcase_add_test(tc, false_alarm_rate_on_clean_noise_is_low);
    tcase_add_test(tc, seasonality_is_not_an_anomaly_but_a_break_is);
    tcase_add_test(tc, deploy_before_latency_episode_ranks_first);
    tcase_add_test(tc, feedback_shifts_priors_explainably);
    tcase_add_test(tc, a_late_batch_is_judged_in_its_own_time_context);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
