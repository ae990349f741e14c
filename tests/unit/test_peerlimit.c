/* Per-address limits (common/peerlimit.h): connection counts per address, IPv6 counted per /64 and
 * IPv4-mapped addresses as IPv4, failed-authentication windows of one minute, 0 meaning unlimited. */
#include "peerlimit.h"

#include "ts.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <string.h>

static struct sockaddr_storage addr(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1)
        v4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1)
        v6->sin6_family = AF_INET6;
    return ss;
}

#define SA(ss) ((struct sockaddr *)&(ss))

START_TEST(connections_capped_per_address)
{
    peerlimit_t *p = peerlimit_create(2, 0);
    struct sockaddr_storage a = addr("10.0.0.1"), b = addr("10.0.0.2");
    ck_assert_int_eq(peerlimit_conn_open(p, SA(a)), 0);
    ck_assert_int_eq(peerlimit_conn_open(p, SA(a)), 0);
    ck_assert_int_eq(peerlimit_conn_open(p, SA(a)), -1);
    ck_assert_int_eq(peerlimit_conn_open(p, SA(b)), 0); /* another address has its own share */
    peerlimit_conn_close(p, SA(a));
    ck_assert_int_eq(peerlimit_conn_open(p, SA(a)), 0);
    peerlimit_free(p);
}
END_TEST

START_TEST(ipv6_counted_per_64_and_mapped_as_ipv4)
{
    peerlimit_t *p = peerlimit_create(1, 0);
    struct sockaddr_storage x = addr("2001:db8:1:2::1"), y = addr("2001:db8:1:2:ffff::9"),
                            z = addr("2001:db8:1:3::1");
    ck_assert_int_eq(peerlimit_conn_open(p, SA(x)), 0);
    ck_assert_int_eq(peerlimit_conn_open(p, SA(y)), -1); /* same /64 */
    ck_assert_int_eq(peerlimit_conn_open(p, SA(z)), 0);
    struct sockaddr_storage v4 = addr("192.0.2.7"), mapped = addr("::ffff:192.0.2.7");
    ck_assert_int_eq(peerlimit_conn_open(p, SA(v4)), 0);
    ck_assert_int_eq(peerlimit_conn_open(p, SA(mapped)), -1);
    struct sockaddr_storage none;
    memset(&none, 0, sizeof(none)); /* not an IP address: not limited */
    ck_assert_int_eq(peerlimit_conn_open(p, SA(none)), 0);
    ck_assert_int_eq(peerlimit_conn_open(p, SA(none)), 0);
    peerlimit_free(p);
}
END_TEST

START_TEST(auth_failures_block_for_the_rest_of_the_minute)
{
    peerlimit_t *p = peerlimit_create(0, 3);
    struct sockaddr_storage a = addr("10.0.0.1"), b = addr("10.0.0.2");
    long long t0 = 1000000;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(peerlimit_auth_blocked(p, SA(a), t0 + i), 0);
        peerlimit_auth_failed(p, SA(a), t0 + i);
    }
    ck_assert_int_eq(peerlimit_auth_blocked(p, SA(a), t0 + 10), 60);
    ck_assert_int_eq(peerlimit_auth_blocked(p, SA(a), t0 + 30500), 30);
    ck_assert_int_eq(peerlimit_auth_blocked(p, SA(b), t0 + 10), 0);
    ck_assert_int_eq(peerlimit_auth_blocked(p, SA(a), t0 + PEERLIMIT_WINDOW_MS), 0); /* a new minute */
    peerlimit_auth_failed(p, SA(a), t0 + PEERLIMIT_WINDOW_MS + 1);
    ck_assert_int_eq(peerlimit_auth_blocked(p, SA(a), t0 + PEERLIMIT_WINDOW_MS + 2), 0);
    peerlimit_free(p);
}
END_TEST

START_TEST(zero_is_unlimited_and_null_accepted)
{
    peerlimit_t *p = peerlimit_create(0, 0);
    struct sockaddr_storage a = addr("10.0.0.1");
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(peerlimit_conn_open(p, SA(a)), 0);
        peerlimit_auth_failed(p, SA(a), i);
    }
    ck_assert_int_eq(peerlimit_auth_blocked(p, SA(a), 1000), 0);
    peerlimit_free(p);
    ck_assert_int_eq(peerlimit_conn_open(NULL, SA(a)), 0);
    ck_assert_int_eq(peerlimit_auth_blocked(NULL, SA(a), 0), 0);
    peerlimit_free(NULL);
}
END_TEST

/* More failing addresses than the table holds: it stays bounded and the newest are still counted. */
START_TEST(table_stays_bounded)
{
    peerlimit_t *p = peerlimit_create(1, 1);
    struct sockaddr_storage a;
    memset(&a, 0, sizeof(a));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&a;
    v4->sin_family = AF_INET;
    for (uint32_t i = 0; i < PEERLIMIT_MAX_ADDRS + 100; i++) {
        v4->sin_addr.s_addr = htonl(0x0a000000u + i);
        peerlimit_auth_failed(p, SA(a), (long long)i);
    }
    ck_assert_int_gt(peerlimit_auth_blocked(p, SA(a), PEERLIMIT_MAX_ADDRS + 100), 0);
    peerlimit_free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("peerlimit");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, connections_capped_per_address);
    tcase_add_test(tc, ipv6_counted_per_64_and_mapped_as_ipv4);
    tcase_add_test(tc, auth_failures_block_for_the_rest_of_the_minute);
    tcase_add_test(tc, zero_is_unlimited_and_null_accepted);
    tcase_add_test(tc, table_stays_bounded);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
