/* Timestamps as ingest accepts them (common/rfc3339.h): RFC 3339 with any offset, fractions of 1..9
 * digits, lowercase t/z and a space separator; decimal epoch nanoseconds; the sane range; formatting
 * back. */
#include "rfc3339.h"

#include "ts.h"

#include <check.h>
#include <string.h>

#define NS 1000000000LL
#define T0 1795357925LL /* 2026-11-22T14:32:05Z */

static int parse(const char *s, int64_t *ns)
{
    const char *why = NULL;
    int rc = rfc3339_parse(s, strlen(s), ns, &why);
    if (rc != 0) ck_assert_ptr_nonnull(why);
    return rc;
}

static const char *why_of(const char *s)
{
    int64_t ns;
    const char *why = NULL;
    ck_assert_int_eq(rfc3339_parse(s, strlen(s), &ns, &why), -1);
    return why;
}

START_TEST(offsets_and_separators_agree)
{
    int64_t a, b;
    ck_assert_int_eq(parse("2026-11-22T14:32:05Z", &a), 0);
    ck_assert_int_eq(a, T0 * NS);
    const char *same[] = {"2026-11-22t14:32:05z",      "2026-11-22 14:32:05Z",
                          "2026-11-22T16:32:05+02:00", "2026-11-22T14:32:05+00:00",
                          "2026-11-22T14:32:05-00:00", "2026-11-22T09:02:05-05:30",
                          "2026-11-23T00:32:05+10:00"};
    for (size_t i = 0; i < sizeof(same) / sizeof(*same); i++) {
        ck_assert_msg(parse(same[i], &b) == 0, "refused %s", same[i]);
        ck_assert_msg(a == b, "%s: %lld", same[i], (long long)b);
    }
}
END_TEST

START_TEST(fractions_of_one_to_nine_digits)
{
    static const struct {
        const char *s;
        int64_t frac;
    } cases[] = {
        {"2026-11-22T14:32:05.1Z", 100000000},         {"2026-11-22T14:32:05.12Z", 120000000},
        {"2026-11-22T14:32:05.123Z", 123000000},       {"2026-11-22T14:32:05.000001Z", 1000},
        {"2026-11-22T14:32:05.123456789Z", 123456789}, {"2026-11-22T14:32:05.000000001Z", 1},
        {"2026-11-22T16:32:05.5+02:00", 500000000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        int64_t ns;
        ck_assert_msg(parse(cases[i].s, &ns) == 0, "refused %s", cases[i].s);
        ck_assert_msg(ns == T0 * NS + cases[i].frac, "%s: %lld", cases[i].s, (long long)ns);
    }
    ck_assert_str_eq(why_of("2026-11-22T14:32:05.1234567891Z"),
                     "fraction of more than 9 digits (nanoseconds at most)");
    int64_t ns;
    ck_assert_int_eq(parse("2026-11-22T14:32:05.Z", &ns), -1);
}
END_TEST

START_TEST(calendar_is_checked)
{
    int64_t ns;
    ck_assert_int_eq(parse("2024-02-29T00:00:00Z", &ns), 0); /* leap year */
    ck_assert_int_eq(parse("2000-02-29T00:00:00Z", &ns), 0); /* divisible by 400 */
    ck_assert_str_eq(why_of("2026-02-29T00:00:00Z"), "date or time field out of range");
    ck_assert_str_eq(why_of("2026-02-30T00:00:00Z"), "date or time field out of range");
    ck_assert_str_eq(why_of("2026-04-31T00:00:00Z"), "date or time field out of range");
    ck_assert_str_eq(why_of("2026-13-01T00:00:00Z"), "date or time field out of range");
    ck_assert_str_eq(why_of("2026-00-01T00:00:00Z"), "date or time field out of range");
    ck_assert_str_eq(why_of("2026-11-22T24:00:00Z"), "date or time field out of range");
    ck_assert_str_eq(why_of("2026-11-22T14:60:00Z"), "date or time field out of range");
    /* a leap second stays inside its minute */
    int64_t leap, before;
    ck_assert_int_eq(parse("2026-12-31T23:59:60Z", &leap), 0);
    ck_assert_int_eq(parse("2026-12-31T23:59:59Z", &before), 0);
    ck_assert_int_eq(leap, before);
}
END_TEST

START_TEST(malformed_strings_are_refused)
{
    const char *bad[] = {
        "",
        "2026-11-22",
        "2026-11-22T14:32:05",       /* no offset */
        "2026-11-22T14:32:05+0200",  /* offset without colon */
        "2026-11-22T14:32:05+02",    /* short offset */
        "2026-11-22T14:32:05+24:00", /* offset hours */
        "2026-11-22T14:32:05Zjunk",  /* trailing data */
        "2026-11-22X14:32:05Z",      /* separator */
        "2026/11/22T14:32:05Z",      /* date separators */
        "26-11-22T14:32:05Z",        /* two-digit year */
        "2026-1-22T14:32:05Z",       /* one-digit month */
        "2026-11-22T14:32:05.12a4Z", /* bad fraction */
        "+2026-11-22T14:32:05Z",     /* sign */
        " 2026-11-22T14:32:05Z",     /* leading space */
        "2026-11-22T14:32:05 Z",     /* inner space */
        "２０２６-11-22T14:32:05Z",  /* non-ASCII digits */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        int64_t ns;
        ck_assert_msg(parse(bad[i], &ns) == -1, "accepted '%s'", bad[i]);
    }
    ck_assert_str_eq(why_of("2026-11-22T14:32:05+0200"), "expected Z or a ±hh:mm offset after the time");
    /* n bounds the input: a valid prefix followed by more bytes is not read past n */
    int64_t ns;
    const char *why;
    ck_assert_int_eq(rfc3339_parse("2026-11-22T14:32:05Zxyz", 20, &ns, &why), 0);
    ck_assert_int_eq(ns, T0 * NS);
}
END_TEST

START_TEST(range_is_2000_to_2100)
{
    int64_t ns;
    ck_assert_int_eq(parse("2000-01-01T00:00:00Z", &ns), 0);
    ck_assert_int_eq(ns, RFC3339_MIN_NS);
    ck_assert_int_eq(parse("2099-12-31T23:59:59.999999999Z", &ns), 0);
    ck_assert_int_eq(ns, RFC3339_MAX_NS - 1);
    ck_assert_str_eq(why_of("1999-12-31T23:59:59.999999999Z"), "time outside 2000-01-01..2100-01-01");
    ck_assert_str_eq(why_of("2100-01-01T00:00:00Z"), "time outside 2000-01-01..2100-01-01");
    ck_assert_str_eq(why_of("1970-01-01T00:00:00Z"), "time outside 2000-01-01..2100-01-01");
    /* the offset moves an instant across the boundary */
    ck_assert_int_eq(parse("2000-01-01T00:30:00+01:00", &ns), -1);
    ck_assert_int_eq(parse("1999-12-31T23:30:00-01:00", &ns), 0);
}
END_TEST

START_TEST(epoch_nanoseconds)
{
    int64_t ns;
    const char *why;
    ck_assert_int_eq(epoch_ns_parse("1795357925123456789", 19, &ns, &why), 0);
    ck_assert_int_eq(ns, 1795357925123456789LL);
    ck_assert_int_eq(epoch_ns_parse("946684800000000000", 18, &ns, &why), 0); /* 2000-01-01 */
    ck_assert_int_eq(epoch_ns_parse("946684799999999999", 18, &ns, &why), -1);
    ck_assert_str_eq(why, "epoch nanoseconds outside 2000-01-01..2100-01-01 (seconds or milliseconds sent?)");
    ck_assert_int_eq(epoch_ns_parse("1795357925", 10, &ns, &why), -1);          /* seconds */
    ck_assert_int_eq(epoch_ns_parse("1795357925123", 13, &ns, &why), -1);       /* milliseconds */
    ck_assert_int_eq(epoch_ns_parse("4102444800000000000", 19, &ns, &why), -1); /* 2100-01-01 */
    /* found by fuzzing: 19 digits above INT64_MAX overflowed */
    ck_assert_int_eq(epoch_ns_parse("9535792504017952017", 19, &ns, &why), -1);
    ck_assert_int_eq(epoch_ns_parse("17953579251234567890", 20, &ns, &why), -1);
    ck_assert_str_eq(why, "expected integer epoch nanoseconds");
    ck_assert_int_eq(epoch_ns_parse("", 0, &ns, &why), -1);
    ck_assert_int_eq(epoch_ns_parse("-1795357925123456789", 20, &ns, &why), -1);
    ck_assert_int_eq(epoch_ns_parse("1795357925.123", 14, &ns, &why), -1);
    ck_assert_int_eq(epoch_ns_parse("1e18", 4, &ns, &why), -1);
}
END_TEST

START_TEST(format_round_trips)
{
    char out[40];
    rfc3339_format(T0 * NS + 7, out, sizeof(out));
    ck_assert_str_eq(out, "2026-11-22T14:32:05.000000007Z");
    rfc3339_format(RFC3339_MIN_NS, out, sizeof(out));
    ck_assert_str_eq(out, "2000-01-01T00:00:00.000000000Z");
    rfc3339_format(RFC3339_MAX_NS - 1, out, sizeof(out));
    ck_assert_str_eq(out, "2099-12-31T23:59:59.999999999Z");
    /* every day boundary of a leap year formats and parses back */
    for (int64_t ns = 1704067200LL * NS; ns < 1735689600LL * NS; ns += 86400LL * NS + 1234567) {
        int64_t back;
        rfc3339_format(ns, out, sizeof(out));
        ck_assert_msg(parse(out, &back) == 0 && back == ns, "%s", out);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("timeparse");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, offsets_and_separators_agree);
    tcase_add_test(tc, fractions_of_one_to_nine_digits);
    tcase_add_test(tc, calendar_is_checked);
    tcase_add_test(tc, malformed_strings_are_refused);
    tcase_add_test(tc, range_is_2000_to_2100);
    tcase_add_test(tc, epoch_nanoseconds);
    tcase_add_test(tc, format_round_trips);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
