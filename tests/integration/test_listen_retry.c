/* The test support's start retry (tests/support/ts.c) against real backends: a port it picked that another
 * process took before the backend bound it, be it the API's, OTLP/HTTP's or OTLP/gRPC's, costs one try
 * and the backend starts on new ports for every listener; a port the caller gave is never replaced, so
 * when it is taken the start fails at once, and never picked for another listener. The other process is the
 * test itself: its picker hands out first a port the test listens on. */
#include "ts.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char *db_url;

static void setup(void)
{
    db_url = ts_create_database("listenretry");
}

static void teardown(void)
{
    free(db_url);
}

typedef struct {
    const char *var; /* the listener whose first pick is `held` */
    int held;
    int picks[3]; /* how often each listener was picked: BACKEND_PORT, OTLP_HTTP_PORT, OTLP_GRPC_PORT */
} picker_t;

static const char *const listeners[] = {"BACKEND_PORT", "OTLP_HTTP_PORT", "OTLP_GRPC_PORT"};

static int pick(void *ctx, const char *port_var)
{
    picker_t *k = ctx;
    for (int i = 0; i < 3; i++)
        if (strcmp(port_var, listeners[i]) == 0 && k->picks[i]++ == 0 && strcmp(port_var, k->var) == 0)
            return k->held;
    return ts_free_port();
}

/* A socket listening on a free loopback port, with the port in `port`. */
static int hold_port(int *port)
{
    int fd = ts_listen(0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void expect_health(const char *base)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/health", base);
    ts_resp_t r;
    ck_assert_int_eq(ts_http("GET", url, NULL, NULL, 0, &r), 0);
    ck_assert_msg(r.status == 200, "%s: %ld", url, r.status);
    ts_resp_free(&r);
}

START_TEST(a_picked_port_taken_is_picked_anew)
{
    /* _i: the listener whose first port is taken */
    picker_t k = {.var = listeners[_i]};
    int fd = hold_port(&k.held);
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "t:listenretry%d:", _i);
    ts_proc_t be;
    ck_assert_msg(
        ts_start_backend_otlp_picking(&be, db_url, prefix, NULL, TS_FREE_PORT, TS_FREE_PORT, pick, &k) == 0,
        "%s on held port %d: the backend did not start", k.var, k.held);
    /* one try lost on the held port, then a second with new ports for all three */
    for (int i = 0; i < 3; i++)
        ck_assert_msg(k.picks[i] == 2, "%s held: %s picked %d times", k.var, listeners[i], k.picks[i]);
    const int used[] = {be.port, be.otlp_http_port, be.otlp_grpc_port};
    ck_assert_msg(used[_i] != k.held, "%s still on the held port %d", k.var, k.held);
    expect_health(be.url);
    expect_health(be.otlp_http_url);
    int c = ts_connect(be.otlp_grpc_port);
    ck_assert_msg(c >= 0, "OTLP/gRPC port %d does not accept", be.otlp_grpc_port);
    close(c);
    ts_stop(&be, SIGTERM);
    close(fd);
}
END_TEST

START_TEST(a_given_port_taken_fails_the_start_at_once)
{
    picker_t k = {.var = "none"};
    int held, fd = hold_port(&held);
    ts_proc_t be;
    ck_assert_int_eq(
        ts_start_backend_otlp_picking(&be, db_url, "t:listenretry-given:", NULL, 0, held, pick, &k), -1);
    ck_assert_msg(k.picks[0] == 1, "the API port was picked %d times for a given gRPC port", k.picks[0]);
    ck_assert_int_eq(be.pid, 0);
    /* ts_start_port(): the port given is the only one tried */
    ck_assert_int_eq(ts_start_port(&be, held, "backend/prodsentinel-backend", "BACKEND_PORT", db_url,
                                   "t:listenretry-port:", NULL),
                     -1);
    ck_assert_int_eq(be.pid, 0);
    close(fd);
}
END_TEST

START_TEST(a_picked_port_is_never_a_given_one)
{
    /* the picker offers the API the port given to OTLP/HTTP: it must be refused before the start */
    picker_t k = {.var = "BACKEND_PORT"};
    k.held = ts_free_port();
    ts_proc_t be;
    ck_assert_int_eq(
        ts_start_backend_otlp_picking(&be, db_url, "t:listenretry-apart:", NULL, k.held, 0, pick, &k), 0);
    ck_assert_int_eq(be.otlp_http_port, k.held);
    ck_assert_int_ne(be.port, k.held);
    ck_assert_int_eq(k.picks[0], 2);
    expect_health(be.url);
    expect_health(be.otlp_http_url);
    ts_stop(&be, SIGTERM);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("listen_retry");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_loop_test(tc, a_picked_port_taken_is_picked_anew, 0, 3);
    tcase_add_test(tc, a_given_port_taken_fails_the_start_at_once);
    tcase_add_test(tc, a_picked_port_is_never_a_given_one);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
