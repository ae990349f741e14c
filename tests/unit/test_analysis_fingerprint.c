/* Message templates and error fingerprints (pipeline/analysis/fingerprint.h): ids, numbers, hex,
 * uuids, timestamps and quoted values do not change a fingerprint; the service, the exception type and
 * the frames do. */
#include "analysis/fingerprint.h"

#include "ts.h"

#include <check.h>
#include <string.h>

static void tmpl(const char *in, const char *want)
{
    char out[512];
    analysis_message_template(in, strlen(in), out, sizeof(out));
    ck_assert_str_eq(out, want);
}

START_TEST(templates)
{
    tmpl("db timeout after 3000 ms", "db timeout after <num> ms");
    tmpl("order 8f14e45f-ceea-467f-a0e6-1b2c3d4e5f60 failed", "order <uuid> failed");
    tmpl("at 2026-01-12T10:00:01.123Z and 2026-01-12 10:00:02+02:00", "at <ts> and <ts>");
    tmpl("trace 5b8efff798038103d269b633813fc60c pc=0x48f2c5", "trace <hex> pc=<hex>");
    tmpl("user 'bob' not found in \"users\"", "user '<str>' not found in \"<str>\"");
    tmpl("sku-042 has 0 left", "sku-<num> has <num> left");
    tmpl("  many   spaces\n\tand lines  ", "many spaces and lines");
    tmpl("don't split words", "don't split words");
    tmpl("took 12.5s, 1,000 rows", "took <num>s, <num> rows");
    tmpl("deadbeef is a word", "deadbeef is a word");
}
END_TEST

START_TEST(template_bounds)
{
    char out[8];
    size_t n = analysis_message_template("abcdefghijklmnop", 16, out, sizeof(out));
    ck_assert_uint_eq(n, 7);
    ck_assert_str_eq(out, "abcdefg");
    /* never cuts a UTF-8 character in half */
    n = analysis_message_template("abcdef\xc3\xa9", 8, out, sizeof(out));
    ck_assert_str_eq(out, "abcdef");
    char one[1];
    ck_assert_uint_eq(analysis_message_template("x", 1, one, sizeof(one)), 0);
    ck_assert_uint_eq(analysis_message_template(NULL, 0, out, sizeof(out)), 0);
}
END_TEST

static const char java_a[] =
    "com.acme.payment.DbTimeoutException: query timed out after 250 ms (order ord-17)\n"
    "\tat com.acme.payment.ChargeRepository.insert(ChargeRepository.java:88)\n"
    "\tat com.acme.payment.ChargeService.charge(ChargeService.java:41)\n";
/* same failure, other ids, numbers and line numbers */
static const char java_b[] =
    "com.acme.payment.DbTimeoutException: query timed out after 300 ms (order ord-99)\n"
    "\tat com.acme.payment.ChargeRepository.insert(ChargeRepository.java:91)\n"
    "\tat com.acme.payment.ChargeService.charge(ChargeService.java:44)\n";
static const char java_other_frame[] =
    "com.acme.payment.DbTimeoutException: query timed out after 250 ms\n"
    "\tat com.acme.payment.RefundRepository.insert(RefundRepository.java:88)\n";

static void fp(const char *service, const char *type, const char *stack, const char *msg, char out[33])
{
    analysis_stacktrace_t st;
    int parsed = stack && analysis_stacktrace_parse(stack, strlen(stack), &st) == 0;
    analysis_fp_input_t in = {service, "error", type, type, parsed ? &st : NULL, msg, "POST /charge"};
    analysis_fingerprint(&in, out);
}

START_TEST(fingerprint_groups_and_separates)
{
    char a[33], b[33], c[33];
    fp("payment", "com.acme.payment.DbTimeoutException", java_a, NULL, a);
    fp("payment", "com.acme.payment.DbTimeoutException", java_b, NULL, b);
    ck_assert_int_eq(strlen(a), 32);
    ck_assert_str_eq(a, b);
    fp("orders", "com.acme.payment.DbTimeoutException", java_a, NULL, c);
    ck_assert_str_ne(a, c);
    fp("payment", "java.lang.IllegalStateException", java_a, NULL, c);
    ck_assert_str_ne(a, c);
    fp("payment", "com.acme.payment.DbTimeoutException", java_other_frame, NULL, c);
    ck_assert_str_ne(a, c);
}
END_TEST

START_TEST(fingerprint_messages_without_frames)
{
    char a[33], b[33], c[33];
    fp("inventory", "TimeoutError", NULL,
       "timeout at 2026-01-12T10:00:01Z for order 8f14e45f-ceea-467f-a0e6-1b2c3d4e5f60 after 3000 ms (id "
       "'x1')",
       a);
    fp("inventory", "TimeoutError", NULL,
       "timeout at 2026-02-01T23:59:59Z for order 00000000-0000-4000-8000-000000000001 after 5000 ms (id "
       "'y2')",
       b);
    fp("inventory", "TimeoutError", NULL, "connection reset by peer", c);
    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, c);
    /* no exception type: the operation (templated) counts */
    analysis_fp_input_t in1 = {"gateway", "error", NULL, NULL, NULL, "upstream 502", "GET /orders/123"};
    analysis_fp_input_t in2 = {"gateway", "error", NULL, NULL, NULL, "upstream 503", "GET /orders/456"};
    analysis_fp_input_t in3 = {"gateway", "slow", NULL, NULL, NULL, NULL, "GET /orders/456"};
    analysis_fingerprint(&in1, a);
    analysis_fingerprint(&in2, b);
    analysis_fingerprint(&in3, c);
    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("analysis_fingerprint");
    TCase *tc = tcase_create("fingerprint");
    tcase_add_test(tc, templates);
    tcase_add_test(tc, template_bounds);
    tcase_add_test(tc, fingerprint_groups_and_separates);
    tcase_add_test(tc, fingerprint_messages_without_frames);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
