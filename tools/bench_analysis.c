/* bench-analysis: CPU time of the deterministic analysis (worker CPU, CLOCK_PROCESS_CPUTIME_ID) for a
 * 50-span trace with 20 log lines (mean over many runs), and for 10,000 / 100,000-span traces with the
 * memory each needs (peak RSS growth), to show it is linear in the trace's size. */
#include "rca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* A trace shaped like real ones: a fan-out tree (each span has up to 4 children), one failing leaf with
 * an exception carrying a Java stack trace, and error and info logs. Strings live in `arena`. */
typedef struct {
    rca_trace_t t;
    char *ids;
} synth_t;

static const char stack[] = "com.acme.payment.DbTimeoutException: database timeout after 3000 ms\n"
                            "\tat com.acme.payment.ChargeRepository.save(ChargeRepository.java:88)\n"
                            "\tat com.acme.payment.ChargeService.charge(ChargeService.java:41)\n"
                            "Caused by: java.sql.SQLTimeoutException: timed out\n"
                            "\tat org.postgresql.jdbc.PgStatement.execute(PgStatement.java:300)\n";

static void synth(synth_t *s, size_t nspans, size_t nlogs)
{
    static const char *services[] = {"gateway", "payment", "inventory", "orders", "shipping", "users"};
    memset(s, 0, sizeof(*s));
    s->ids = malloc(nspans * 17);
    s->t.trace_id = "5b8efff798038103d269b633813fc60c";
    s->t.spans = calloc(nspans, sizeof(rca_span_t));
    s->t.nspans = nspans;
    long long base = 1795357925000000000LL;
    for (size_t i = 0; i < nspans; i++) {
        snprintf(s->ids + i * 17, 17, "%016zx", i + 1);
        rca_span_t *sp = &s->t.spans[i];
        sp->span_id = s->ids + i * 17;
        sp->parent_span_id = i ? s->ids + ((i - 1) / 4) * 17 : NULL;
        sp->service = services[i % 6];
        sp->name = "POST /op";
        sp->start_ns = base + (long long)i * 1000;
        sp->end_ns = sp->start_ns + 1000000 - (long long)(i % 100) * 1000;
        sp->status = i == nspans - 1 || i == 0 ? RCA_STATUS_ERROR : RCA_STATUS_OK;
        sp->events = i == nspans - 1 ? json_pack("[{s:s,s:I,s:{s:s,s:s,s:s}}]", "name", "exception",
                                                 "time_ns", (json_int_t)sp->end_ns, "attributes",
                                                 "exception.type", "DbTimeoutException", "exception.message",
                                                 "timeout", "exception.stacktrace", stack)
                                     : json_array();
    }
    s->t.logs = calloc(nlogs ? nlogs : 1, sizeof(rca_log_t));
    s->t.nlogs = nlogs;
    for (size_t i = 0; i < nlogs; i++) {
        rca_log_t *l = &s->t.logs[i];
        l->ts_ns = base + (long long)i * 5000;
        l->service = services[i % 6];
        l->level = i % 5 ? "INFO" : "ERROR";
        l->severity = i % 5 ? 3 : 5;
        l->message = "order 1234 handled for user 42";
        l->span_id = s->ids + ((i * 7) % nspans) * 17;
        l->stack_trace = i % 5 ? NULL : stack;
    }
}

static void synth_free(synth_t *s)
{
    for (size_t i = 0; i < s->t.nspans; i++)
        json_decref(s->t.spans[i].events);
    free(s->t.spans);
    free(s->t.logs);
    free(s->ids);
}

int main(void)
{
    rca_opts_t o = {NULL, 0, 20, NULL};
    synth_t s;
    synth(&s, 50, 20);
    const int iters = 2000;
    double t0 = cpu_ms();
    for (int i = 0; i < iters; i++) {
        rca_result_t r;
        rca_analyse(&s.t, &o, &r);
        rca_result_dispose(&r);
    }
    double small = (cpu_ms() - t0) / iters;
    synth_free(&s);
    printf("analysis of a 50-span trace with 20 logs: %.3f ms CPU (mean of %d; target < 2 ms)\n", small,
           iters);
    size_t sizes[] = {10000, 100000};
    for (int k = 0; k < 2; k++) {
        long rss0 = max_rss_kb();
        synth(&s, sizes[k], sizes[k] / 5);
        long rss_input = max_rss_kb();
        t0 = cpu_ms();
        rca_result_t r;
        rca_analyse(&s.t, &o, &r);
        double ms = cpu_ms() - t0;
        long rss1 = max_rss_kb();
        printf("analysis of a %zu-span trace with %zu logs: %.1f ms CPU (target < 1000 ms for 100,000); "
               "input %ld KB, analysis peak +%ld KB\n",
               sizes[k], sizes[k] / 5, ms, rss_input - rss0, rss1 - rss_input);
        rca_result_dispose(&r);
        synth_free(&s);
    }
    return 0;
}
