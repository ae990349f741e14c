/* bench-analysis: worker CPU (CLOCK_PROCESS_CPUTIME_ID) of analysis_run() on synthetic traces shaped
 * like real ones: a fan-out tree (up to 4 children a span) over 6 services, a failing chain down to a
 * leaf that throws a Java exception with a two-level cause chain, 1% of other spans failing with an
 * exception event (swallowed by OK parents), error and info logs (half without a span id, tied by
 * time), metric points and change events.
 *   (a) a 50-span trace with 20 log lines, many runs: mean per analysis (target < 2 ms);
 *   (b) 10,000 and 100,000 spans (a log per 5 spans), once each in a child process: CPU (target < 1 s
 *       for 100,000) and the peak RSS the analysis adds on top of its input (linear: ~10x for 10x). */
#include "analysis/analysis.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T0 1768212000000000000LL
#define US 1000LL
#define SMALL_ITERS 5000

static double cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static const char leaf_events[] =
    "[{\"name\":\"exception\",\"time\":1768212000500000000,\"attributes\":{\"exception.type\":"
    "\"com.acme.payment.PaymentException\",\"exception.message\":\"charge failed for order ord-17\","
    "\"exception.stacktrace\":\"com.acme.payment.PaymentException: charge failed for order ord-17\\n"
    "\\tat com.acme.payment.ChargeService.charge(ChargeService.java:41)\\n"
    "\\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:897)\\n"
    "Caused by: com.acme.payment.DbTimeoutException: query timed out after 250 ms\\n"
    "\\tat com.acme.payment.ChargeRepository.insert(ChargeRepository.java:88)\\n\\t... 12 more\\n"
    "Caused by: org.postgresql.util.PSQLException: canceling statement due to statement timeout\\n"
    "\\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(QueryExecutorImpl.java:2676)\\n"
    "\\t... 20 more\\n\"}}]";
static const char other_events[] =
    "[{\"name\":\"exception\",\"time\":1768212000000000000,\"attributes\":{"
    "\"exception.type\":\"java.io.IOException\",\"exception.message\":\"reset\"}}]";
static const char log_stack[] =
    "com.acme.payment.PaymentException: charge failed for order ord-17\n"
    "\tat com.acme.payment.ChargeService.charge(ChargeService.java:41)\n"
    "Caused by: com.acme.payment.DbTimeoutException: query timed out after 250 ms\n"
    "\tat com.acme.payment.ChargeRepository.insert(ChargeRepository.java:88)\n";

typedef struct {
    trace_ctx_t ctx;
    analysis_span_t *spans;
    analysis_log_t *logs;
    analysis_metric_t *metrics;
    analysis_change_t *changes;
    char *ids;
} synth_t;

static const char *services[] = {"gateway", "payment", "inventory", "orders", "shipping", "users"};
static const char *ops[] = {"POST /orders", "POST /charge", "POST /reserve",
                            "GET /order",   "POST /ship",   "GET /user"};

static void synth(synth_t *s, size_t n, size_t nlogs)
{
    memset(s, 0, sizeof(*s));
    s->ids = malloc(n * 17);
    s->spans = calloc(n, sizeof(analysis_span_t));
    size_t leaf = n - 1, nm = 600;
    unsigned char *on_path = calloc(n, 1);
    for (size_t x = leaf;; x = (x - 1) / 4) { /* the failing chain: the leaf and its ancestors */
        on_path[x] = 1;
        if (x == 0) break;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(s->ids + i * 17, 17, "%016zx", (i + 1) * 2654435761u);
        analysis_span_t *sp = &s->spans[i];
        size_t depth = 0;
        for (size_t x = i; x; x = (x - 1) / 4)
            depth++;
        sp->span_id = s->ids + i * 17;
        sp->parent_span_id = i ? s->ids + ((i - 1) / 4) * 17 : NULL;
        sp->service = services[(i / 3) % 6];
        sp->name = ops[(i / 3) % 6];
        sp->kind = i % 3 == 0 ? "SERVER" : "CLIENT";
        sp->start_ns = T0 + (int64_t)(depth * 10 + i % 4) * US;
        sp->end_ns = T0 + (int64_t)(2000000 - depth * 10 - (i % 4)) * US;
        sp->attributes_json = "{\"http.method\":\"POST\",\"http.status_code\":200}";
        sp->status = on_path[i] ? 2 : i % 100 == 50 ? 2 : 1;
        sp->events_json = i == leaf ? leaf_events : i % 100 == 50 ? other_events : "[]";
        sp->status_message = sp->status == 2 ? "failed" : NULL;
    }
    free(on_path);
    s->logs = calloc(nlogs ? nlogs : 1, sizeof(analysis_log_t));
    for (size_t i = 0; i < nlogs; i++) {
        size_t x = (i * 7919) % n;
        analysis_log_t *l = &s->logs[i];
        l->ts_ns = s->spans[x].start_ns + 5 * US;
        l->service = s->spans[x].service;
        l->severity = i % 5 ? 3 : 5;
        l->level = i % 5 ? "INFO" : "ERROR";
        l->message = i % 5 ? "order 1234 handled for user 42 in 12 ms" : "charge failed for order ord-17";
        l->span_id = i % 2 ? s->spans[x].span_id : NULL;
        l->stack_trace = i % 5 ? NULL : log_stack;
    }
    s->metrics = calloc(nm, sizeof(analysis_metric_t));
    for (size_t i = 0; i < nm; i++)
        s->metrics[i] = (analysis_metric_t){T0 - 600000000000LL + (int64_t)i * 1000000000LL, services[i % 6],
                                            i % 2 ? "p95_latency_ms" : "error_rate", (double)(i % 7), NULL};
    s->changes = calloc(3, sizeof(analysis_change_t));
    s->changes[0] = (analysis_change_t){T0 - 120000000000LL, "payment", "deploy", "v2.3.1", NULL};
    s->changes[1] = (analysis_change_t){T0 - 300000000000LL, NULL, "flag", "new checkout", NULL};
    s->changes[2] = (analysis_change_t){T0 - 30000000000LL, "orders", "config", "pool 8", NULL};
    s->ctx = (trace_ctx_t){
        "4bf92f3577b34da6a3ce929d0e0e4736", s->spans, n, s->logs, nlogs, s->metrics, nm, s->changes, 3};
}

static void synth_free(synth_t *s)
{
    free(s->spans);
    free(s->logs);
    free(s->metrics);
    free(s->changes);
    free(s->ids);
}

/* One large run in a child, so that each size's peak RSS is its own. Prints its table row. */
static void large(size_t n)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return;
    }
    if (pid > 0) {
        waitpid(pid, NULL, 0);
        return;
    }
    synth_t s;
    synth(&s, n, n / 5);
    long rss0 = max_rss_kb();
    double t0 = cpu_us();
    analysis_result_t r;
    analysis_run(&s.ctx, NULL, &r);
    double us = cpu_us() - t0;
    long rss1 = max_rss_kb();
    printf("%-8s %9zu %7zu %6d %14.1f ms %10s %12.1f MB   %s/%s\n", "large", n, n / 5, 1, us / 1000.0,
           n == 100000 ? "< 1000 ms" : "-", (double)(rss1 - rss0) / 1024.0, r.service ? r.service : "none",
           r.span_id ? r.span_id : "-");
    analysis_result_dispose(&r);
    synth_free(&s);
    fflush(stdout);
    _exit(0);
}

int main(void)
{
    synth_t s;
    synth(&s, 50, 20);
    analysis_result_t r;
    analysis_run(&s.ctx, NULL, &r); /* warm up */
    analysis_result_dispose(&r);
    double t0 = cpu_us();
    for (int i = 0; i < SMALL_ITERS; i++) {
        analysis_run(&s.ctx, NULL, &r);
        analysis_result_dispose(&r);
    }
    double mean = (cpu_us() - t0) / SMALL_ITERS;
    printf("%-8s %9s %7s %6s %17s %10s %15s   %s\n", "case", "spans", "logs", "runs", "CPU per analysis",
           "target", "peak RSS added", "root cause");
    analysis_run(&s.ctx, NULL, &r);
    printf("%-8s %9d %7d %6d %14.1f us %10s %15s   %s/%s\n", "small", 50, 20, SMALL_ITERS, mean, "< 2000 us",
           "-", r.service, r.span_id);
    analysis_result_dispose(&r);
    synth_free(&s);
    large(10000);
    large(100000);
    return 0;
}
