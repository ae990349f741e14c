/* Log templates of the ranker: what masking hides, how lines group into templates, bounds on hostile
 * text, and the JSON shape of a result. */
#include "rank/rank.h"
#include "rank/rank_int.h"

#include "ts.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static void assert_mask(const char *in, const char *want)
{
    char out[512];
    rk_mask_line(in, out, sizeof(out));
    ck_assert_str_eq(out, want);
}

START_TEST(masking_hides_variables_not_words)
{
    assert_mask("found item 1234 in 3 ms", "found item <*> in <*> ms");
    assert_mask("c.s.ContactsServiceImpl#37 TraceID: 0b7e4e46522f8c1d SpanID: 928328994c0e8d1a done",
                "c.s.ContactsServiceImpl#37 TraceID: <*> SpanID: <*> done");
    assert_mask("Route ID=f3d4d4ef-693b-4456-8eed-59c0d717dd08, took 250ms", "Route ID=<*>, took <*>");
    assert_mask("user \"alice smith\" logged in from 10.0.0.12", "user <*> logged in from <*>");
    assert_mask("seat from date: 2023-01-29 15:38:06, train number: D1345",
                "seat from date: <*> <*>:<*>:<*>, train number: D1345");
    assert_mask("pointer 0x7ffde4a1 freed; it's fine", "pointer <*> freed; it's fine");
    assert_mask("first line 42\n\tat com.acme.Foo.bar(Foo.java:12)", "first line <*>");
}
END_TEST

START_TEST(masking_is_bounded)
{
    size_t n = 100000;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        big[i] = (i % 7) ? 'a' + (char)(i % 26) : ' ';
    big[n] = '\0';
    char out[64];
    rk_mask_line(big, out, sizeof(out));
    ck_assert_uint_lt(strlen(out), sizeof(out));
    char wide[RK_MSG_MAX + 64];
    rk_mask_line(big, wide, sizeof(wide));
    ck_assert_uint_le(strlen(wide), RK_MSG_MAX);
    free(big);
    assert_mask("", "");
    assert_mask("unclosed \"quote 12", "unclosed \"quote <*>");
}
END_TEST

/* Logs of one service in one window, each message given once. */
static rank_input_t logs_only(rank_log_t *logs, size_t n)
{
    rank_input_t in = {0};
    in.logs = logs;
    in.n_logs = n;
    return in;
}

START_TEST(lines_differing_in_variables_share_a_template)
{
    static const char *lines[] = {"Order 1001 paid by card 4242 in 12 ms",
                                  "Order 1002 paid by card 1111 in 9 ms",
                                  "Order 1003 paid by wallet alice in 30 ms",
                                  "Order 1004 paid by wallet bob in 31 ms",
                                  "Cache warmed with 200 entries",
                                  "Cache warmed with 180 entries",
                                  "Shutting down"};
    size_t n = sizeof(lines) / sizeof(*lines);
    rank_log_t logs[16];
    for (size_t i = 0; i < n; i++)
        logs[i] = (rank_log_t){(int64_t)(i + 1) * 1000, "shop", 3, lines[i], NULL, NULL};
    rank_input_t in = logs_only(logs, n);
    rank_result_t r;
    ck_assert_int_eq(rank_window(&in, &in, NULL, &r), 0);
    /* "paid by card" and "paid by wallet" differ in two of nine tokens: one template; plus the cache
     * template and the shutdown line, each mined once for both windows. */
    ck_assert_uint_eq(r.n_templates, 3);
    rank_result_dispose(&r);
    /* The same text at error level is a different template (error lines are judged apart). */
    logs[n] = (rank_log_t){9000, "shop", 5, "Shutting down", NULL, NULL};
    in = logs_only(logs, n + 1);
    ck_assert_int_eq(rank_window(&in, &in, NULL, &r), 0);
    ck_assert_uint_eq(r.n_templates, 4);
    rank_result_dispose(&r);
}
END_TEST

START_TEST(a_new_error_template_is_evidence_with_its_text)
{
    rank_log_t base[40], target[120];
    size_t nb = 0, nt = 0;
    for (int i = 0; i < 40; i++)
        base[nb++] = (rank_log_t){(int64_t)i * 1000000000LL, "shop", 3, "Order paid in 12 ms", NULL, NULL};
    for (int i = 0; i < 60; i++)
        target[nt++] =
            (rank_log_t){(int64_t)(100 + i) * 1000000000LL, "shop", 3, "Order paid in 11 ms", NULL, NULL};
    for (int i = 0; i < 60; i++)
        target[nt++] = (rank_log_t){(int64_t)(130 + i) * 1000000000LL,
                                    "shop",
                                    5,
                                    i % 2 ? "Payment gateway timeout after 3000 ms"
                                          : "Payment gateway timeout after 2999 ms",
                                    NULL,
                                    NULL};
    rank_input_t b = logs_only(base, nb), t = logs_only(target, nt);
    rank_result_t r;
    ck_assert_int_eq(rank_window(&b, &t, NULL, &r), 0);
    ck_assert_uint_eq(r.n_services, 1);
    const rank_service_t *s = &r.services[0];
    ck_assert_uint_ge(s->n_evidence, 1);
    int found = 0;
    for (size_t i = 0; i < s->n_evidence; i++)
        if (s->evidence[i].kind == RANK_EV_LOG_NEW &&
            strcmp(s->evidence[i].subject, "Payment gateway timeout after <*> ms") == 0)
            found = 1;
    ck_assert(found);
    ck_assert(!r.nothing_stands_out);

    json_t *j = rank_result_to_json(&r);
    ck_assert_ptr_nonnull(j);
    ck_assert(json_is_string(json_object_get(j, "verdict")));
    ck_assert(json_is_false(json_object_get(j, "nothing_stands_out")));
    json_t *svc = json_array_get(json_object_get(j, "services"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(svc, "service")), "shop");
    ck_assert_int_eq(json_integer_value(json_object_get(svc, "rank")), 1);
    ck_assert(json_is_object(json_object_get(svc, "channels")));
    ck_assert(json_is_object(json_object_get(svc, "graph")));
    json_t *ev = json_array_get(json_object_get(svc, "evidence"), 0);
    ck_assert(json_is_string(json_object_get(ev, "kind")));
    ck_assert(json_is_string(json_object_get(ev, "text")));
    json_decref(j);
    rank_result_dispose(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rank_templates");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, masking_hides_variables_not_words);
    tcase_add_test(tc, masking_is_bounded);
    tcase_add_test(tc, lines_differing_in_variables_share_a_template);
    tcase_add_test(tc, a_new_error_template_is_evidence_with_its_text);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
