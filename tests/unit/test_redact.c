/* common/redact.h: each pattern redacted with its marker, and its near misses kept. */
#include "redact.h"
#include "ts.h"

#include <stdlib.h>
#include <string.h>

/* Asserts that redacting `in` gives exactly `want`. */
static void expect(const char *in, const char *want)
{
    char *r = redact_str(in);
    ck_assert_msg(strcmp(r, want) == 0, "redact(\"%s\")\n  gave \"%s\"\n  want \"%s\"", in, r, want);
    free(r);
}

/* Asserts that `in` is left as it is. */
static void kept(const char *in)
{
    expect(in, in);
}

START_TEST(cards_are_luhn_checked)
{
    expect("card 4111 1111 1111 1111 declined", "card [REDACTED:card] declined");
    expect("card 4111-1111-1111-1111.", "card [REDACTED:card].");
    expect("4111111111111111", "[REDACTED:card]");
    expect("amex 378282246310005 ok", "amex [REDACTED:card] ok");
    /* a card followed by another number: the longest Luhn-valid prefix at a group boundary */
    expect("pan 4111 1111 1111 1111 2 items", "pan [REDACTED:card] 2 items");
    kept("order 4111111111111112 shipped"); /* 16 digits, Luhn fails: an order id */
    kept("id 1234567890123 ok");            /* 13 digits, Luhn fails */
    kept("ts 17650000000000000000001");     /* longer than any card */
    kept("trace 4bf92f3577b34da6a3ce9290e0e4736 4111111111111111abc"); /* digits inside words */
    kept("value 0.4111111111111111");                                  /* a decimal, not a card */
    kept("small 4111 1111 11");                                        /* too short */
}
END_TEST

START_TEST(emails)
{
    expect("mail bob.smith+x@mail.example.com now", "mail [REDACTED:email] now");
    expect("<alice@example.org>", "<[REDACTED:email]>");
    kept("user@localhost");  /* no dot in the domain */
    kept("@here and a@b.c"); /* no local part; a one-letter top-level domain */
    kept("version 1.2@3.4");
}
END_TEST

START_TEST(bearer_tokens_and_jwts)
{
    expect("Authorization: Bearer abc.def-123", "Authorization: Bearer [REDACTED:secret]");
    expect("sent bearer  0123456789abcdef~/+= then", "sent bearer  [REDACTED:token] then");
    kept("the Bearer of bad news");
    expect("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl end", "jwt [REDACTED:jwt] end");
    expect("none-alg eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. end", "none-alg [REDACTED:jwt] end");
    kept("eyJ alone, eyJabc.def without a second dot");
}
END_TEST

START_TEST(pem_private_keys_whole_block)
{
    expect("key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----\nafter",
           "key:\n[REDACTED:private_key]\nafter");
    expect("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE cut here", "[REDACTED:private_key]");
    /* "-----END " in the text that is no END line (found by fuzz_redact): the block runs on to the real
     * END line, through the next block's BEGIN, instead of stopping at that block's first dashes */
    expect("-----BEGIN EC PRIVATE KEY-----\nAAAA\nx-----END y\n-----BEGIN PRIVATE KEY-----\nBBBB\n",
           "[REDACTED:private_key]");
    expect("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY----- tail",
           "[REDACTED:private_key] tail");
    kept("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"); /* public */
    kept("-----BEGIN PUBLIC KEY-----");
}
END_TEST

START_TEST(passwords_in_urls)
{
    expect("dsn postgres://app:s3cr%40t@db.internal:5432/x",
           "dsn postgres://app:[REDACTED:password]@db.internal:5432/x");
    expect("https://u:p@ss@host/", "https://u:[REDACTED:password]@host/"); /* the last @ ends it */
    kept("https://user@host/path");                                        /* no password */
    kept("https://host/a@b:c");                                            /* @ in the path */
    kept("mailto://nobody");
}
END_TEST

START_TEST(secret_pairs_whole_value)
{
    expect("login password=hunter2 ok", "login password=[REDACTED:secret] ok");
    expect("db_password=p@ss;w,rd$% next", "db_password=[REDACTED:secret] next");
    expect("?user=bob&token=abc123&x=1", "?user=bob&token=[REDACTED:secret]&x=1");
    expect("SECRET: top secret", "SECRET: [REDACTED:secret] secret"); /* unquoted: to the space */
    expect("{\"password\":\"a \\\"quoted\\\" pass, with spaces\",\"user\":\"bob\"}",
           "{\"password\":\"[REDACTED:secret]\",\"user\":\"bob\"}");
    expect("{\"api_key\": 'x y z'}", "{\"api_key\": '[REDACTED:secret]'}");
    expect("{\"token\":12345,\"n\":1}", "{\"token\":[REDACTED:secret],\"n\":1}");
    expect("{\\\"client_secret\\\":\\\"abc def\\\"}", "{\\\"client_secret\\\":\\\"[REDACTED:secret]\\\"}");
    expect("api-key => 'k'", "api-key => '[REDACTED:secret]'");
    expect("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [REDACTED:secret]");
    kept("tokens=5 passwords: none"); /* not a secret key */
    kept("mypassword=x");             /* a longer word */
    kept("password reset requested"); /* no separator */
    kept("password=");                /* no value */
}
END_TEST

START_TEST(provider_keys)
{
    expect("k sk-proj-AbCdEfGhIjKlMnOpQrSt end", "k [REDACTED:key] end");
    expect("k sk_live_4eC39HqLyjWDarjtT1zdp7dc", "k [REDACTED:key]");
    expect("AKIAIOSFODNN7EXAMPLE", "[REDACTED:key]");
    expect("gh ghp_16C7e42F292c6912E7710c838347Ae178B4a", "gh [REDACTED:key]");
    expect("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "[REDACTED:key]");
    expect("slack xoxb-1234567890-abcdefghij", "slack [REDACTED:key]");
    expect("g AIzaSyA-1234567890abcdefghijklmnopqrstu", "g [REDACTED:key]");
    kept("sk-short ask-1234567890abcdefghij AKIA123 ghp_short xoxb-1 AIzaShort");
}
END_TEST

START_TEST(slack_webhook_urls)
{
    expect("hook https://hooks.slack.com/services/T000/B000/XXXXSECRET done",
           "hook https://hooks.slack.com/[REDACTED:slack_webhook] done");
    kept("see https://slack.com/services/T000");
}
END_TEST

START_TEST(json_values_keys_and_ids)
{
    json_t *in = json_pack("{s:s,s:s,s:i,s:{s:s},s:[s,s],s:s,s:s,s:n}", "message", "mail bob@example.com",
                           "db_password", "anything at all", "token", 42, "nested", "Authorization",
                           "Bearer abcdefghijkl", "evidence", "span:4111111111111111", "log:0", "span_id",
                           "4111111111111111", "trace_id", "4111 1111 1111 1111", "api_key");
    json_object_set_new(in, "secret", json_null());
    json_t *r = redact_json(in);
    char *s = json_dumps(r, JSON_SORT_KEYS | JSON_COMPACT);
    ck_assert_str_eq(
        s, "{\"api_key\":null,\"db_password\":\"[REDACTED:secret]\","
           "\"evidence\":[\"span:4111111111111111\",\"log:0\"],\"message\":\"mail "
           "[REDACTED:email]\",\"nested\":{\"Authorization\":\"[REDACTED:secret]\"},\"secret\":null,"
           "\"span_id\":\"4111111111111111\",\"token\":\"[REDACTED:secret]\",\"trace_id\":"
           "\"[REDACTED:card]\"}");
    free(s);
    json_decref(r);
    json_decref(in);
}
END_TEST

/* redact_json_text_changes() says exactly when redact_json() would change the value. */
static int tree_changes(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(v);
    json_t *r = redact_json(v);
    int changed = !json_equal(v, r);
    json_decref(v);
    json_decref(r);
    return changed;
}

START_TEST(json_text_test_agrees_with_redact_json)
{
    static const char *const samples[] = {"{}",
                                          "[]",
                                          "null",
                                          "\"plain text\"",
                                          "{\"a\":\"x\",\"b\":[1,2.5,true,null,{\"c\":\"y\"}]}",
                                          "{\"note\":\"card 4111 1111 1111 1111\"}",
                                          "{\"n\":{\"deep\":[\"mail bob@example.com\"]}}",
                                          "{\"password\":null}",
                                          "{\"password\":12}",
                                          "{\"db_password\":\"\"}",
                                          "{\"Authorization\":false}",
                                          "{\"span_id\":\"4111111111111111\"}",
                                          "{\"other\":\"4111111111111111\"}",
                                          "{\"evidence\":\"span:4111111111111111\"}",
                                          "{\"esc\":\"\\u0034111 1111 1111 1111\"}",
                                          "{\"esc\":\"tab\\there \\\"quoted\\\" Bearer abcdefghijkl\"}",
                                          "\"AKIAABCDEFGHIJKLMNOP\"",
                                          "{\"k\":\"\\u00e9t\\u00e9 sans secret\"}"};
    for (size_t i = 0; i < sizeof(samples) / sizeof(*samples); i++)
        ck_assert_msg(redact_json_text_changes(samples[i], strlen(samples[i])) == tree_changes(samples[i]),
                      "%s: the text test says %d", samples[i],
                      redact_json_text_changes(samples[i], strlen(samples[i])));
    /* unreadable text: the caller takes the full path */
    ck_assert_int_eq(redact_json_text_changes("{\"a\":", 5), 1);
    ck_assert_int_eq(redact_json_text_changes("{} x", 4), 1);
}
END_TEST

START_TEST(output_is_bounded_and_markers_are_stable)
{
    /* the worst growth: many tiny secrets */
    char in[1024] = "";
    for (int i = 0; i < 50; i++)
        strcat(in, "pwd=x a@b.co ");
    char *r = redact_str(in);
    ck_assert_int_le(strlen(r), redact_bound(strlen(in)));
    char *again = redact_str(r); /* redacting twice changes nothing */
    ck_assert_str_eq(again, r);
    free(again);
    free(r);
    buf_t b;
    buf_init(&b, 10);
    ck_assert_int_eq(redact_append(&b, "password=hunter2", 16), -1); /* past the caller's cap */
    buf_dispose(&b);
    buf_init(&b, 100);
    ck_assert_int_eq(redact_append(&b, "a\0pwd=x", 7), 0); /* NUL bytes are text */
    ck_assert_int_eq(b.len, 2 + 4 + 17);
    buf_dispose(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("redact");
    TCase *tc = tcase_create("patterns");
    tcase_add_test(tc, cards_are_luhn_checked);
    tcase_add_test(tc, emails);
    tcase_add_test(tc, bearer_tokens_and_jwts);
    tcase_add_test(tc, pem_private_keys_whole_block);
    tcase_add_test(tc, passwords_in_urls);
    tcase_add_test(tc, secret_pairs_whole_value);
    tcase_add_test(tc, provider_keys);
    tcase_add_test(tc, slack_webhook_urls);
    tcase_add_test(tc, json_values_keys_and_ids);
    tcase_add_test(tc, output_is_bounded_and_markers_are_stable);
    tcase_add_test(tc, json_text_test_agrees_with_redact_json);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
