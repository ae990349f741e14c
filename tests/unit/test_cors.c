/* CORS decisions (common/cors.h) and bind addresses (common/listen.h): origin lists parsed and refused,
 * exact origin matching, "*", preflight header negotiation, address literals. */
#include "cors.h"
#include "listen.h"

#include "ts.h"

#include <check.h>
#include <string.h>

static int allowed(const cors_origins_t *o, const char *origin)
{
    return cors_origin_allowed(o, origin, strlen(origin));
}

START_TEST(origins_parsed_and_matched_exactly)
{
    cors_origins_t *o;
    char err[256];
    ck_assert_int_eq(cors_origins_parse(" https://app.example.com , http://localhost:3000,http://[::1]:8080",
                                        &o, err, sizeof(err)),
                     0);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(allowed(o, "https://app.example.com"), 1);
    ck_assert_int_eq(allowed(o, "http://localhost:3000"), 1);
    ck_assert_int_eq(allowed(o, "http://[::1]:8080"), 1);
    ck_assert_int_eq(allowed(o, "http://app.example.com"), 0);      /* other scheme */
    ck_assert_int_eq(allowed(o, "https://app.example.com:443"), 0); /* browsers omit default ports */
    ck_assert_int_eq(allowed(o, "https://app.example.com.evil.example"), 0);
    ck_assert_int_eq(allowed(o, "https://app.example.co"), 0);
    ck_assert_int_eq(allowed(o, "null"), 0);
    ck_assert_int_eq(allowed(o, ""), 0);
    cors_origins_free(o);
}
END_TEST

START_TEST(star_allows_any_origin)
{
    cors_origins_t *o;
    char err[256];
    ck_assert_int_eq(cors_origins_parse("*", &o, err, sizeof(err)), 0);
    ck_assert_int_eq(allowed(o, "https://anything.example"), 1);
    ck_assert_int_eq(allowed(o, ""), 0); /* no Origin header: not a CORS request */
    cors_origins_free(o);
}
END_TEST

START_TEST(empty_list_is_no_cors)
{
    cors_origins_t *o = (cors_origins_t *)1;
    char err[256];
    ck_assert_int_eq(cors_origins_parse("", &o, err, sizeof(err)), 0);
    ck_assert_ptr_null(o);
    ck_assert_int_eq(cors_origins_parse(" , ", &o, err, sizeof(err)), 0);
    ck_assert_ptr_null(o);
    ck_assert_int_eq(cors_origins_parse(NULL, &o, err, sizeof(err)), 0);
    ck_assert_ptr_null(o);
    ck_assert_int_eq(allowed(NULL, "https://app.example.com"), 0);
    cors_origins_free(NULL);
}
END_TEST

START_TEST(bad_origins_refused)
{
    const char *bad[] = {"app.example.com",
                         "https://app.example.com/",
                         "https://app.example.com/x",
                         "ftp://app.example.com",
                         "https://",
                         "https://a b.example",
                         "https://app.example.com:",
                         "https://app.example.com:123456",
                         "https://ok.example,*.example.com",
                         "http://[::1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        cors_origins_t *o = NULL;
        char err[256] = "";
        ck_assert_msg(cors_origins_parse(bad[i], &o, err, sizeof(err)) == -1, "accepted %s", bad[i]);
        ck_assert_ptr_null(o);
        ck_assert_msg(strstr(err, "not an origin") != NULL, "%s: %s", bad[i], err);
    }
}
END_TEST

START_TEST(preflight_headers)
{
    char out[256];
    ck_assert_int_eq(cors_allow_headers(NULL, 0, out, sizeof(out)), 0);
    ck_assert_str_eq(out, CORS_BASE_HEADERS);
    ck_assert_str_eq(out, "content-type, content-encoding, authorization, x-api-key");
    const char *asked = "X-Request-Id,  content-type ,X-Evil, TRACEPARENT, x-request-id";
    ck_assert_int_eq(cors_allow_headers(asked, strlen(asked), out, sizeof(out)), 0);
    ck_assert_str_eq(out,
                     "content-type, content-encoding, authorization, x-api-key, x-request-id, traceparent");
    /* a prefix of an allowed name is not that name */
    ck_assert_int_eq(cors_allow_headers("x-request", 9, out, sizeof(out)), 0);
    ck_assert_str_eq(out, CORS_BASE_HEADERS);
    ck_assert_int_eq(cors_allow_headers(asked, strlen(asked), out, 20), -1);
}
END_TEST

START_TEST(bind_addresses)
{
    const char *good[] = {"127.0.0.1", "0.0.0.0", "::1", "::", "fe80::1", "10.1.2.3"};
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
        ck_assert_msg(listen_addr_check(good[i]) == 0, "refused %s", good[i]);
    const char *bad[] = {"localhost", "[::1]", "127.0.0.256", "", "1.2.3", " 127.0.0.1", "::1%lo0x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        ck_assert_msg(listen_addr_check(bad[i]) == -1, "accepted %s", bad[i]);
    ck_assert_int_eq(listen_addr_check(NULL), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cors");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, origins_parsed_and_matched_exactly);
    tcase_add_test(tc, star_allows_any_origin);
    tcase_add_test(tc, empty_list_is_no_cors);
    tcase_add_test(tc, bad_origins_refused);
    tcase_add_test(tc, preflight_headers);
    tcase_add_test(tc, bind_addresses);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
