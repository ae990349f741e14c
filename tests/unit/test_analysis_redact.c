/* Redaction (pipeline/analysis/redact.h): card numbers (Luhn-checked), emails, bearer tokens and
 * Authorization values, password/secret/token/api_key values, key shapes, JWTs and PEM keys; ids,
 * timestamps and ordinary numbers stay. */
#include "analysis/redact.h"

#include "ts.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static void red(const char *in, const char *want)
{
    char *out = analysis_redact(in, strlen(in), NULL);
    ck_assert_msg(strcmp(out, want) == 0, "redact(%s) = %s, want %s", in, out, want);
    free(out);
}

START_TEST(cards)
{
    red("card 4111 1111 1111 1111 declined", "card [REDACTED:card] declined");
    red("pan=4111-1111-1111-1111;", "pan=[REDACTED:card];");
    red("4012888888881881", "[REDACTED:card]");
    red("amex 378282246310005.", "amex [REDACTED:card].");
    /* not Luhn-valid, too short, too long, or part of an identifier: kept */
    red("card 4111 1111 1111 1112", "card 4111 1111 1111 1112");
    red("order 123456789012", "order 123456789012");
    red("ts 17682120000000000001234", "ts 17682120000000000001234");
    red("id x4111111111111111", "id x4111111111111111");
    red("span 4111111111111111abc", "span 4111111111111111abc");
}
END_TEST

START_TEST(emails)
{
    red("user jane.doe+shop@example.co.uk not found", "user [REDACTED:email] not found");
    red("<bob@mail.example.com>", "<[REDACTED:email]>");
    red("not an email: a@b, x@localhost", "not an email: a@b, x@localhost");
}
END_TEST

START_TEST(tokens_and_authorization)
{
    red("Authorization: Bearer eyJhbGciOi.abc.def\nnext", "Authorization: [REDACTED:authorization]\nnext");
    red("authorization=Basic dXNlcjpwYXNz&x=1", "authorization=[REDACTED:authorization]&x=1");
    red("{\"Authorization\": \"Bearer abcdefgh12345\"}", "{\"Authorization\": \"[REDACTED:authorization]\"}");
    red("sent bearer abcdefgh1234567890 upstream", "sent bearer [REDACTED:token] upstream");
    red("Bearer short", "Bearer short");
}
END_TEST

START_TEST(key_values)
{
    red("login failed password=hunter2 user=bob", "login failed password=[REDACTED:password] user=bob");
    red("db_password: 's3cr3t!' host=db", "db_password: '[REDACTED:password]' host=db");
    red("{\"client_secret\":\"abc\\\"def\",\"a\":1}", "{\"client_secret\":\"[REDACTED:secret]\",\"a\":1}");
    red("GET /x?api_key=123abc&access_token=zzz",
        "GET /x?api_key=[REDACTED:api_key]&access_token=[REDACTED:token]");
    red("X-Api-Key: k-1234", "X-Api-Key: [REDACTED:api_key]");
    red("apikey = AbC", "apikey = [REDACTED:api_key]");
    /* keys that only look alike */
    red("max_tokens=200 tokens_used=5 password_length=8", "max_tokens=200 tokens_used=5 password_length=8");
    red("password reset requested", "password reset requested");
}
END_TEST

START_TEST(key_shapes)
{
    red("key sk-proj-AbCdEfGhIjKlMnOpQrStUvWx used", "key [REDACTED:api_key] used");
    red("aws AKIAIOSFODNN7EXAMPLE!", "aws [REDACTED:aws_key]!");
    red("gh ghp_0123456789abcdefghijABCDEFGHIJ012345", "gh [REDACTED:token]");
    red("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk ok",
        "jwt [REDACTED:jwt] ok");
    red("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\nafter",
        "[REDACTED:private_key]\nafter");
    red("task-ask-mask sk-short", "task-ask-mask sk-short");
}
END_TEST

START_TEST(ordinary_text_kept)
{
    const char *keep[] = {"db timeout after 3000 ms at 2026-01-12T10:00:01Z",
                          "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
                          "order ord-17 of 12.50 EUR, 3 items",
                          "com.acme.payment.DbTimeoutException: query timed out", ""};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        red(keep[i], keep[i]);
    size_t count = 7;
    char *out = analysis_redact(NULL, 0, &count);
    ck_assert_str_eq(out, "");
    ck_assert_uint_eq(count, 0);
    free(out);
    out = analysis_redact("a@example.com b@example.com", 27, &count);
    ck_assert_uint_eq(count, 2);
    free(out);
}
END_TEST

START_TEST(json_strings_but_not_ids)
{
    json_t *v =
        json_pack("{s:s,s:s,s:[{s:s,s:s}],s:{s:s,s:i},s:[s]}", "id", "span:4111111111111111", "span_id",
                  "4111111111111111", "logs", "message", "password=hunter2 mail bob@example.com", "id",
                  "log:3", "root_cause", "status_message", "card 4111111111111111", "depth", 3,
                  "critical_path", "span:4111111111111111");
    json_t *r = analysis_redact_json(v);
    char *s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(s, "{\"critical_path\":[\"span:4111111111111111\"],\"id\":\"span:4111111111111111\","
                        "\"logs\":[{\"id\":\"log:3\",\"message\":\"password=[REDACTED:password] mail "
                        "[REDACTED:email]\"}],\"root_cause\":{\"depth\":3,\"status_message\":\"card "
                        "[REDACTED:card]\"},\"span_id\":\"4111111111111111\"}");
    free(s);
    json_decref(r);
    json_decref(v);
    /* an id key does not protect a value that is not shaped like an id */
    v = json_pack("{s:s}", "id", "password=hunter2");
    r = analysis_redact_json(v);
    ck_assert_str_eq(json_string_value(json_object_get(r, "id")), "password=[REDACTED:password]");
    json_decref(r);
    json_decref(v);
    ck_assert_ptr_null(analysis_redact_json(NULL));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("analysis_redact");
    TCase *tc = tcase_create("redact");
    tcase_add_test(tc, cards);
    tcase_add_test(tc, emails);
    tcase_add_test(tc, tokens_and_authorization);
    tcase_add_test(tc, key_values);
    tcase_add_test(tc, key_shapes);
    tcase_add_test(tc, ordinary_text_kept);
    tcase_add_test(tc, json_strings_but_not_ids);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
