/* common/safetext.h (untrusted free text for the dashboard and Slack) and common/url_origin.h (what of
 * a secret URL may be logged). */
#include "safetext.h"
#include "ts.h"
#include "url_origin.h"

#include <stdlib.h>
#include <string.h>

static void expect_clean(const char *in, size_t max, const char *want)
{
    char *r = safetext_clean(in, max);
    ck_assert_msg(strcmp(r, want) == 0, "clean(\"%s\")\n  gave \"%s\"\n  want \"%s\"", in ? in : "(null)", r,
                  want);
    free(r);
}

START_TEST(links_mentions_and_markup_are_stripped)
{
    expect_clean("see https://evil.example/x?a=1 now", 100, "see [link removed] now");
    expect_clean("[docs](http://evil.example) and www.evil.example", 100,
                 "[docs]([link removed]) and [link removed]");
    expect_clean("JavaScript:alert(1)", 100, "[link removed](1)");
    expect_clean("<!channel> <!here|here> <@U024BE7LH> <#C1|ops> <https://x.example|click> done", 100,
                 "     done");
    expect_clean("<script>alert(1)</script>", 100, "alert(1)");
    expect_clean("@here @channel @everyone hi @bob, mail bob@example.com", 100,
                 "here channel everyone hi bob, mail bob@example.com");
    expect_clean("**bold** `code` ~strike~ snake_case", 100, "bold code strike snake_case");
    expect_clean("a\x01\x1b[31mred\r\n\tb\x7f", 100, "a[31mred\n\tb");
    expect_clean("1 < 2 and 3 > 2", 100, "1 < 2 and 3 > 2"); /* a lone angle bracket is text */
    expect_clean(NULL, 100, "");
}
END_TEST

START_TEST(length_is_capped_on_a_character_boundary)
{
    expect_clean("abcdefghij", 10, "abcdefghij");
    expect_clean("abcdefghijk", 10, "abcdefg\xe2\x80\xa6");
    /* "é" is two bytes: the cut never splits it */
    expect_clean("abcdef\xc3\xa9\xc3\xa9x", 10, "abcdef\xe2\x80\xa6");
    char *r = safetext_clean("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8);
    ck_assert_int_le(strlen(r), 8);
    free(r);
}
END_TEST

START_TEST(slack_text_is_escaped)
{
    char *r = safetext_slack_escape("<!channel> a & b <@U1> @here @Channel @everyone <https://x|y>");
    ck_assert_str_eq(r, "&lt;!channel&gt; a &amp; b &lt;@U1&gt; here Channel everyone &lt;https://x|y&gt;");
    free(r);
    r = safetext_slack_escape(NULL);
    ck_assert_str_eq(r, "");
    free(r);
}
END_TEST

static void expect_origin(const char *url, const char *want)
{
    char out[URL_ORIGIN_MAX];
    ck_assert_str_eq(url_origin(url, out, sizeof(out)), want);
}

START_TEST(url_origin_keeps_scheme_and_host_only)
{
    expect_origin("https://hooks.slack.com/services/T000/B000/XXXXSECRET", "https://hooks.slack.com");
    expect_origin("http://127.0.0.1:8080/services/T000?token=x#f", "http://127.0.0.1:8080");
    expect_origin("https://user:pass@llm.example.com/v1", "https://llm.example.com");
    expect_origin("http://[::1]:9000/x", "http://[::1]:9000");
    expect_origin("http://host?secret", "http://host");
    expect_origin("no scheme here/secret", "(invalid url)");
    expect_origin("http:///path-only", "(invalid url)");
    expect_origin("", "(none)");
    expect_origin(NULL, "(none)");
    char small[12];
    ck_assert_str_eq(url_origin("https://a-long-host.example/secret", small, sizeof(small)),
                     "https://a-l"); /* truncated, never past the buffer */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("safetext");
    TCase *tc = tcase_create("untrusted text");
    tcase_add_test(tc, links_mentions_and_markup_are_stripped);
    tcase_add_test(tc, length_is_capped_on_a_character_boundary);
    tcase_add_test(tc, slack_text_is_escaped);
    tcase_add_test(tc, url_origin_keeps_scheme_and_host_only);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
