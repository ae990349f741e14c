/* Listening sockets (common/listen.h) and their sharing by the HTTP server's loop threads
 * (common/httpd.c): a port somebody listens on already fails the second opener with a clear message
 * (SO_REUSEPORT would have let it share the port silently), the first keeps serving, and every loop
 * thread accepts from the one socket. Real sockets on loopback, no servers besides the test's own. */
#include "httpd.h"
#include "listen.h"
#include "ts.h"

#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The port a listening socket is bound to. */
static int port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

/* Asserts `err` is listen.h's message for a taken port. */
static void expect_taken(const char *err, int port)
{
    char want[96];
    snprintf(want, sizeof(want), "cannot listen on 127.0.0.1 port %d: Address already in use", port);
    ck_assert_msg(strcmp(err, want) == 0, "err \"%s\", want \"%s\"", err, want);
}

START_TEST(second_opener_of_a_port_fails_and_the_first_serves)
{
    char err[256] = "";
    int first = listen_open(NULL, 0, err, sizeof(err));
    ck_assert_msg(first >= 0, "%s", err);
    int port = port_of(first);
    ck_assert_int_eq(listen_open("127.0.0.1", port, err, sizeof(err)), -1);
    expect_taken(err, port);
    /* the wildcard address overlaps loopback: also taken */
    char any_err[256] = "";
    ck_assert_int_eq(listen_open("0.0.0.0", port, any_err, sizeof(any_err)), -1);
    ck_assert_ptr_nonnull(strstr(any_err, "Address already in use"));
    int c = ts_connect(port);
    ck_assert_msg(c >= 0, "the first socket stopped accepting");
    int s = accept(first, NULL, NULL);
    ck_assert_int_ge(s, 0);
    close(s);
    close(c);
    close(first);
    /* free again once closed, connections in TIME_WAIT notwithstanding (SO_REUSEADDR) */
    int again = listen_open(NULL, port, err, sizeof(err));
    ck_assert_msg(again >= 0, "reopening port %d: %s", port, err);
    close(again);
}
END_TEST

START_TEST(a_reuseport_listener_is_not_joined)
{
    /* what a second process opening with SO_REUSEPORT (the old way) looked like to the first: the
     * kernel would balance connections between them; we must refuse to join it instead */
    int other = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(setsockopt(other, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    ck_assert_int_eq(setsockopt(other, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
    ck_assert_int_eq(bind(other, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(other, 16), 0);
    int port = port_of(other);
    char err[256] = "";
    ck_assert_int_eq(listen_open(NULL, port, err, sizeof(err)), -1);
    expect_taken(err, port);
    close(other);
}
END_TEST

START_TEST(bad_address_is_named)
{
    char err[256] = "";
    ck_assert_int_eq(listen_open("localhost", 0, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "\"localhost\"") != NULL, "%s", err);
}
END_TEST

/* ---- the HTTP server's threads on one socket ---- */

#define BLOCK_MS 3000

static int on_ping(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    (void)ctx;
    (void)m;
    httpd_send_text(req, 200, "text/plain", "pong", 4);
    return 0;
}

/* Holds its loop thread: only another thread can answer meanwhile. (A real handler never blocks.) */
static int on_block(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    usleep(BLOCK_MS * 1000);
    return on_ping(ctx, req, m);
}

static httpd_t *server(int port, int threads)
{
    httpd_opts_t o = {.program = "test_listen", .port = port, .threads = threads};
    httpd_t *h = httpd_create(&o);
    httpd_route(h, "GET", "/ping", NULL, on_ping, NULL);
    httpd_route(h, "GET", "/block", NULL, on_block, NULL);
    return h;
}

static void *get_block(void *arg)
{
    ts_resp_t r;
    ts_http("GET", arg, NULL, NULL, 0, &r);
    ts_resp_free(&r);
    return NULL;
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

START_TEST(every_loop_thread_accepts_and_a_second_server_is_refused)
{
    int port = ts_free_port();
    httpd_t *h = server(port, 2);
    char err[256] = "";
    ck_assert_msg(httpd_start(h, err, sizeof(err)) == 0, "%s", err);
    /* a second server on the same port (as a second process would be) fails naming it */
    httpd_t *second = server(port, 2);
    ck_assert_int_eq(httpd_start(second, err, sizeof(err)), -1);
    expect_taken(err, port);
    httpd_free(second);
    /* one loop thread held by /block: the other still takes connections from the shared socket */
    char block[64], ping[64];
    snprintf(block, sizeof(block), "http://127.0.0.1:%d/block", port);
    snprintf(ping, sizeof(ping), "http://127.0.0.1:%d/ping", port);
    pthread_t t;
    long long t0 = now_ms();
    ck_assert_int_eq(pthread_create(&t, NULL, get_block, block), 0);
    usleep(300 * 1000); /* /block has reached its handler */
    for (int i = 0; i < 5; i++) {
        ts_resp_t r;
        ck_assert_int_eq(ts_http("GET", ping, NULL, NULL, 0, &r), 0);
        ck_assert_int_eq(r.status, 200);
        ts_resp_free(&r);
    }
    long long took = now_ms() - t0;
    ck_assert_msg(took < BLOCK_MS, "pings waited for the blocked thread: %lld ms", took);
    pthread_join(t, NULL);
    httpd_stop(h);
    httpd_free(h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("listen");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, second_opener_of_a_port_fails_and_the_first_serves);
    tcase_add_test(tc, a_reuseport_listener_is_not_joined);
    tcase_add_test(tc, bad_address_is_named);
    tcase_add_test(tc, every_loop_thread_accepts_and_a_second_server_is_refused);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
