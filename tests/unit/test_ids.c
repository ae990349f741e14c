/* Trace and span ids (common/hexid.h): hex of any case lowercased, OTLP's base64 form decoded to hex,
 * all-zero ids refused; the W3C traceparent header. */
#include "hexid.h"

#include "ts.h"

#include <check.h>
#include <string.h>

#define TRACE "5b8efff798038103d269b633813fc60c"
#define SPAN "eee19b7ec3c1b174"

static int id(const char *s, size_t nbytes, char *out, const char **why)
{
    return hexid_parse(s, strlen(s), nbytes, out, why);
}

START_TEST(hex_ids_are_lowercased)
{
    char t[33], s[17];
    const char *why;
    ck_assert_int_eq(id("5B8EFFF798038103D269B633813FC60C", TRACE_ID_BYTES, t, &why), 0);
    ck_assert_str_eq(t, TRACE);
    ck_assert_int_eq(id("5b8EfFf798038103d269b633813fc60c", TRACE_ID_BYTES, t, &why), 0);
    ck_assert_str_eq(t, TRACE);
    ck_assert_int_eq(id("EEE19B7EC3C1B174", SPAN_ID_BYTES, s, &why), 0);
    ck_assert_str_eq(s, SPAN);
    ck_assert_int_eq(id("00000000000000000000000000000001", TRACE_ID_BYTES, t, &why), 0);
}
END_TEST

START_TEST(base64_ids_become_hex)
{
    char t[33], s[17];
    const char *why;
    /* standard alphabet, padded (what protobuf JSON writes for bytes) */
    ck_assert_int_eq(id("W47/95gDgQPSabYzgT/GDA==", TRACE_ID_BYTES, t, &why), 0);
    ck_assert_str_eq(t, TRACE);
    ck_assert_int_eq(id("7uGbfsPBsXQ=", SPAN_ID_BYTES, s, &why), 0);
    ck_assert_str_eq(s, SPAN);
    /* unpadded and URL-safe forms */
    ck_assert_int_eq(id("W47/95gDgQPSabYzgT/GDA", TRACE_ID_BYTES, t, &why), 0);
    ck_assert_str_eq(t, TRACE);
    ck_assert_int_eq(id("W47_95gDgQPSabYzgT_GDA==", TRACE_ID_BYTES, t, &why), 0);
    ck_assert_str_eq(t, TRACE);
    ck_assert_int_eq(id("7uGbfsPBsXQ", SPAN_ID_BYTES, s, &why), 0);
    ck_assert_str_eq(s, SPAN);
    /* all 256 byte values survive: 0x00..0x0f and 0xf0..0xff */
    ck_assert_int_eq(id("AAECAwQFBgcICQoLDA0ODw==", TRACE_ID_BYTES, t, &why), 0);
    ck_assert_str_eq(t, "000102030405060708090a0b0c0d0e0f");
    ck_assert_int_eq(id("8PHy8/T19vf4+fr7/P3+/w==", TRACE_ID_BYTES, t, &why), 0);
    ck_assert_str_eq(t, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
}
END_TEST

START_TEST(bad_ids_are_refused_with_a_reason)
{
    char t[33], s[17];
    const char *why;
    const char *bad_trace[] = {
        "",
        "5b8efff798038103d269b633813fc60",   /* 31 hex digits */
        "5b8efff798038103d269b633813fc60c0", /* 33 */
        "5b8efff798038103d269b633813fc60g",  /* not hex */
        "5b8efff7-9803-8103-d269-b633813f",  /* uuid-ish */
        "W47/95gDgQPSabYzgT/G",              /* base64 too short... */
        "W47/95gDgQPSabYzgT/GDA==W47/95",    /* ...too long */
        "W47/95gDgQPSabYz*T/GDA==",          /* not base64 */
        "7uGbfsPBsXQ=",                      /* a span id where a trace id belongs */
    };
    for (size_t i = 0; i < sizeof(bad_trace) / sizeof(*bad_trace); i++) {
        ck_assert_msg(id(bad_trace[i], TRACE_ID_BYTES, t, &why) == -1, "accepted %s", bad_trace[i]);
        ck_assert_str_eq(why, "expected 32 hex digits (or 16 bytes in base64)");
    }
    const char *bad_span[] = {"", "eee19b7ec3c1b17", "eee19b7ec3c1b1745", "eee19b7ec3c1b17z", TRACE, "7uGb"};
    for (size_t i = 0; i < sizeof(bad_span) / sizeof(*bad_span); i++) {
        ck_assert_msg(id(bad_span[i], SPAN_ID_BYTES, s, &why) == -1, "accepted %s", bad_span[i]);
        ck_assert_str_eq(why, "expected 16 hex digits (or 8 bytes in base64)");
    }
}
END_TEST

START_TEST(all_zero_ids_are_invalid)
{
    char t[33], s[17];
    const char *why;
    ck_assert_int_eq(id("00000000000000000000000000000000", TRACE_ID_BYTES, t, &why), -1);
    ck_assert_str_eq(why, "an all-zero id is invalid");
    ck_assert_int_eq(id("0000000000000000", SPAN_ID_BYTES, s, &why), -1);
    ck_assert_str_eq(why, "an all-zero id is invalid");
    ck_assert_int_eq(id("AAAAAAAAAAAAAAAAAAAAAA==", TRACE_ID_BYTES, t, &why), -1); /* zero bytes in base64 */
    ck_assert_str_eq(why, "an all-zero id is invalid");
    ck_assert_int_eq(id("AAAAAAAAAAA=", SPAN_ID_BYTES, s, &why), -1);
}
END_TEST

START_TEST(hex_only_trace_ids_for_paths)
{
    char t[33];
    ck_assert_int_eq(ids_parse_trace_id(TRACE, 32, t), 0);
    ck_assert_str_eq(t, TRACE);
    ck_assert_int_eq(ids_parse_trace_id("5B8EFFF798038103D269B633813FC60C", 32, t), 0);
    ck_assert_str_eq(t, TRACE);
    ck_assert_int_eq(ids_parse_trace_id("W47/95gDgQPSabYzgT/GDA==", 24, t), -1); /* no base64 in URLs */
    ck_assert_int_eq(ids_parse_trace_id("00000000000000000000000000000000", 32, t), -1);
    ck_assert_int_eq(ids_parse_trace_id(TRACE, 31, t), -1);
    ck_assert_int_eq(ids_parse_trace_id("../../etc/passwd/../../etc/pass", 32, t), -1);
}
END_TEST

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static int tp(const char *s, char trace[33], char span[17], int *sampled)
{
    return traceparent_parse(s, strlen(s), trace, span, sampled);
}

START_TEST(traceparent_parse_and_format)
{
    char t[33], s[17], out[56];
    int sampled = -1;
    ck_assert_int_eq(tp(TP, t, s, &sampled), 0);
    ck_assert_str_eq(t, "4bf92f3577b34da6a3ce929d0e0e4736");
    ck_assert_str_eq(s, "00f067aa0ba902b7");
    ck_assert_int_eq(sampled, 1);
    ck_assert_int_eq(tp("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", t, s, &sampled), 0);
    ck_assert_int_eq(sampled, 0);
    /* a later version may append fields after a dash */
    ck_assert_int_eq(tp("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever", t, s, &sampled),
                     0);
    traceparent_format("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", out);
    ck_assert_str_eq(out, TP);
    ck_assert_int_eq(tp(out, t, s, &sampled), 0);
}
END_TEST

START_TEST(bad_traceparents_are_refused)
{
    char t[33], s[17];
    int sampled;
    const char *bad[] = {
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",      /* no flags */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",    /* short flags */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   /* version ff is invalid */
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   /* version not hex */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   /* zero trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   /* zero span id */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   /* separator */
        "00-4bf92f3577b34da6a3ce929d0e0e473x-00f067aa0ba902b7-01",   /* not hex */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",   /* flags not hex */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  /* trailing junk without a dash */
        "00-4bf92f3577b34da6a3ce929d0e0e47-3600f067aa0ba902b7-01",   /* misplaced dash */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", /* version 00 has no more fields */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        ck_assert_msg(tp(bad[i], t, s, &sampled) == -1, "accepted %s", bad[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ids");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, hex_ids_are_lowercased);
    tcase_add_test(tc, base64_ids_become_hex);
    tcase_add_test(tc, bad_ids_are_refused_with_a_reason);
    tcase_add_test(tc, all_zero_ids_are_invalid);
    tcase_add_test(tc, hex_only_trace_ids_for_paths);
    tcase_add_test(tc, traceparent_parse_and_format);
    tcase_add_test(tc, bad_traceparents_are_refused);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
