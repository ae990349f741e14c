/* Degradation verdicts: two agreeing signals are needed, thin traffic never alerts. */
#include "degrade.h"

#include "ts.h"

#include <check.h>
#include <string.h>

START_TEST(latency_and_errors_agree)
{
    window_stats_t base = {200, 120, 0.01}, cur = {180, 900, 0.12};
    degrade_verdict_t v;
    degrade_judge("payment", "POST /charge", &base, &cur, 0, &v);
    ck_assert(v.latency && v.errors && v.degraded);
    ck_assert_msg(strstr(v.explanation, "p95 120 ms") && strstr(v.explanation, "error rate 1.0%"), "%s",
                  v.explanation);
}
END_TEST

START_TEST(one_signal_is_not_enough)
{
    window_stats_t base = {200, 120, 0.01}, cur = {180, 900, 0.01};
    degrade_verdict_t v;
    degrade_judge("payment", "POST /charge", &base, &cur, 0, &v);
    ck_assert(v.latency && !v.errors && !v.degraded);
    degrade_judge("payment", "POST /charge", &base, &cur, 1, &v);
    ck_assert(v.degraded); /* a metric episode agrees with the latency */
}
END_TEST

START_TEST(thin_traffic_and_small_changes_never_alert)
{
    window_stats_t base = {5, 100, 0}, cur = {4, 5000, 1.0};
    degrade_verdict_t v;
    degrade_judge("s", "e", &base, &cur, 1, &v);
    ck_assert(!v.latency && !v.errors && !v.degraded);
    window_stats_t b2 = {500, 100, 0.001}, c2 = {500, 140, 0.004}; /* +40 ms, +0.3 points */
    degrade_judge("s", "e", &b2, &c2, 0, &v);
    ck_assert_int_eq(v.agreeing, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("degrade");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, latency_and_errors_agree);
    tcase_add_test(tc, one_signal_is_not_enough);
    tcase_add_test(tc, thin_traffic_and_small_changes_never_alert);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
