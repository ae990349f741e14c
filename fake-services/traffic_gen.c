/* traffic-gen: orders against the gateway at a steady rate, with a share of failing orders drawn from
 * the scenario triggers (docs/scenarios.md). Requests overlap (curl multi), so a slow answer never
 * delays the next order. Deterministic for a given --seed: the same orders in the same sequence.
 * Prints a summary at the end, on SIGINT/SIGTERM, and every --report-every seconds. */
#include "alloc.h"
#include "program.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SCENARIOS 8
#define LAT_SAMPLES 100000
#define MAX_STATUS 600

static const char *const known_scenarios[] = {"fail-pay", "fail-inv", "slow-inv"};

typedef struct {
    char target[512];
    double rate;
    double duration_s; /* 0: until a signal */
    double fail_share;
    char scenario_list[256]; /* --scenarios as given */
    const char *scenarios[MAX_SCENARIOS];
    int nscenarios;
    uint64_t seed;
    int timeout_ms;
    int max_in_flight;
    int report_every_s;
    int json;
    int dry_run;
} opts_t;

typedef struct {
    long sent, ok, failed, timeouts, transport_errors, skipped;
    long triggered[MAX_SCENARIOS];
    long by_status[MAX_STATUS];
    double lat[LAT_SAMPLES]; /* a reservoir of latencies (ms) */
    long nlat;
    uint64_t sample_rng; /* separate from the order sequence, so sampling never changes the orders */
    double max_ms;
} summary_t;

/* One order in progress; all of them are linked so they can be abandoned on a signal. */
typedef struct inflight {
    struct inflight *prev, *next;
    CURL *easy;
    char body[512];
    long long t0_us;
} inflight_t;

/* ---------------- random numbers (splitmix64: same sequence everywhere for a seed) ---------------- */

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unit(uint64_t *s)
{
    return (double)(next(s) >> 11) / 9007199254740992.0;
}

/* Order n of the sequence: always the same draws per order, so a seed gives one sequence. Returns
 * the scenario index, or -1 for a normal order. */
static int make_order(const opts_t *o, uint64_t *rng, long n, char *body, size_t len)
{
    double r = unit(rng);
    uint64_t pick = next(rng), cents = 500 + next(rng) % 50000, nitems = 1 + next(rng) % 3;
    uint64_t sku[3] = {next(rng) % 1000, next(rng) % 1000, next(rng) % 1000};
    int s = o->nscenarios && r < o->fail_share ? (int)(pick % (uint64_t)o->nscenarios) : -1;
    char items[64];
    int w = snprintf(items, sizeof(items), "\"sku-%03d\"", (int)sku[0]);
    for (uint64_t i = 1; i < nitems; i++)
        w += snprintf(items + w, sizeof(items) - (size_t)w, ",\"sku-%03d\"", (int)sku[i]);
    snprintf(body, len, "{\"order_id\":\"ord-%llu-%ld%s%s\",\"amount\":%llu.%02llu,\"items\":[%s]}",
             (unsigned long long)o->seed, n, s >= 0 ? "-" : "", s >= 0 ? o->scenarios[s] : "",
             (unsigned long long)(cents / 100), (unsigned long long)(cents % 100), items);
    return s;
}

/* ---------------- options ---------------- */

static void usage(FILE *out)
{
    fprintf(out, "Usage: traffic-gen [options]\n"
                 "Sends orders to the gateway at a steady rate; a share of them carry a failure trigger.\n"
                 "  --target URL         gateway base URL (default http://127.0.0.1:8003)\n"
                 "  --rate N             orders per second, 0 < N <= 10000 (default 5)\n"
                 "  --duration S         seconds to run; 0 runs until SIGINT/SIGTERM (default 60)\n"
                 "  --fail-share F       share 0..1 of orders with a trigger (default 0.05)\n"
                 "  --scenarios LIST     triggers to mix, comma-separated from fail-pay,fail-inv,slow-inv;\n"
                 "                       \"none\" for none (default all three)\n"
                 "  --seed N             seed of the order sequence (default 1)\n"
                 "  --timeout-ms N       per-request timeout (default 10000)\n"
                 "  --max-in-flight N    orders in progress before new ones are skipped (default 256)\n"
                 "  --report-every S     print a progress summary every S seconds (default 60 when\n"
                 "                       --duration is 0, else 0: only at the end)\n"
                 "  --json               print summaries as JSON\n"
                 "  --dry-run            print the orders (rate x duration) without sending them\n");
}

static int parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || end == s || *end || !(d >= min && d <= max)) return -1;
    *out = d;
    return 0;
}

static int parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno || end == s || *end || n < min || n > max) return -1;
    *out = (long)n;
    return 0;
}

static int parse_scenarios(opts_t *o, char *list)
{
    o->nscenarios = 0;
    if (strcmp(list, "none") == 0 || *list == '\0') return 0;
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t k = 0;
        while (k < sizeof(known_scenarios) / sizeof(*known_scenarios) && strcmp(t, known_scenarios[k]))
            k++;
        if (k == sizeof(known_scenarios) / sizeof(*known_scenarios) || o->nscenarios == MAX_SCENARIOS)
            return -1;
        o->scenarios[o->nscenarios++] = known_scenarios[k];
    }
    return 0;
}

/* Returns 0, 1 for --help, or -1 after printing what is wrong. */
static int parse_args(int argc, char **argv, opts_t *o)
{
    long n;
    int report_set = 0;
    snprintf(o->target, sizeof(o->target), "http://127.0.0.1:8003");
    o->rate = 5, o->duration_s = 60, o->fail_share = 0.05, o->seed = 1, o->timeout_ms = 10000;
    o->max_in_flight = 256;
    snprintf(o->scenario_list, sizeof(o->scenario_list), "fail-pay,fail-inv,slow-inv");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0, takes = 1;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return 1;
        else if (!strcmp(a, "--json"))
            o->json = 1, takes = 0;
        else if (!strcmp(a, "--dry-run"))
            o->dry_run = 1, takes = 0;
        else if (v == NULL)
            bad = 1;
        else if (!strcmp(a, "--target"))
            bad = (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) ||
                  snprintf(o->target, sizeof(o->target), "%s", v) >= (int)sizeof(o->target);
        else if (!strcmp(a, "--rate"))
            bad = parse_double(v, 1e-6, 10000, &o->rate) || o->rate <= 0;
        else if (!strcmp(a, "--duration"))
            bad = parse_double(v, 0, 1e7, &o->duration_s);
        else if (!strcmp(a, "--fail-share"))
            bad = parse_double(v, 0, 1, &o->fail_share);
        else if (!strcmp(a, "--scenarios"))
            bad = snprintf(o->scenario_list, sizeof(o->scenario_list), "%s", v) >=
                  (int)sizeof(o->scenario_list);
        else if (!strcmp(a, "--seed"))
            bad = parse_int(v, 0, __LONG_MAX__, &n), o->seed = (uint64_t)n;
        else if (!strcmp(a, "--timeout-ms"))
            bad = parse_int(v, 1, 600000, &n), o->timeout_ms = (int)n;
        else if (!strcmp(a, "--max-in-flight"))
            bad = parse_int(v, 1, 10000, &n), o->max_in_flight = (int)n;
        else if (!strcmp(a, "--report-every"))
            bad = parse_int(v, 0, 86400, &n), o->report_every_s = (int)n, report_set = 1;
        else
            bad = 1, takes = 0;
        if (bad) {
            fprintf(stderr, "traffic-gen: bad or incomplete option %s%s%s (see --help)\n", a,
                    v && takes ? " " : "", v && takes ? v : "");
            return -1;
        }
        i += takes;
    }
    size_t tl = strlen(o->target);
    while (tl > 0 && o->target[tl - 1] == '/')
        o->target[--tl] = '\0';
    if (parse_scenarios(o, o->scenario_list) != 0) {
        fprintf(stderr, "traffic-gen: --scenarios: expected names from fail-pay,fail-inv,slow-inv or none\n");
        return -1;
    }
    if (o->dry_run && o->duration_s <= 0) {
        fprintf(stderr, "traffic-gen: --dry-run needs a --duration\n");
        return -1;
    }
    if (!report_set) o->report_every_s = o->duration_s > 0 ? 0 : 60;
    return 0;
}

/* ---------------- results ---------------- */

static void record_latency(summary_t *s, double ms)
{
    if (ms > s->max_ms) s->max_ms = ms;
    if (s->nlat < LAT_SAMPLES) {
        s->lat[s->nlat] = ms;
    } else {
        uint64_t j = next(&s->sample_rng) % (uint64_t)(s->nlat + 1);
        if (j < LAT_SAMPLES) s->lat[j] = ms;
    }
    s->nlat++;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print_summary(const opts_t *o, const summary_t *s, double elapsed_s, const char *what)
{
    size_t n = s->nlat < LAT_SAMPLES ? (size_t)s->nlat : LAT_SAMPLES;
    double *sorted = xmalloc((n ? n : 1) * sizeof(double));
    memcpy(sorted, s->lat, n * sizeof(double));
    qsort(sorted, n, sizeof(double), cmp_double);
    double p50 = n ? sorted[(size_t)((double)(n - 1) * 0.50 + 0.5)] : 0;
    double p95 = n ? sorted[(size_t)((double)(n - 1) * 0.95 + 0.5)] : 0;
    free(sorted);
    if (o->json) {
        printf("{\"summary\":\"%s\",\"sent\":%ld,\"ok\":%ld,\"failed\":%ld,\"timeouts\":%ld,\"transport_"
               "errors\":%ld,"
               "\"skipped\":%ld,\"triggered\":{",
               what, s->sent, s->ok, s->failed, s->timeouts, s->transport_errors, s->skipped);
        for (int i = 0; i < o->nscenarios; i++)
            printf("%s\"%s\":%ld", i ? "," : "", o->scenarios[i], s->triggered[i]);
        printf("},\"status\":{");
        for (int st = 0, first = 1; st < MAX_STATUS; st++)
            if (s->by_status[st]) printf("%s\"%d\":%ld", first ? "" : ",", st, s->by_status[st]), first = 0;
        printf("},\"latency_ms\":{\"p50\":%.3f,\"p95\":%.3f,\"max\":%.3f},\"elapsed_s\":%.3f}\n", p50, p95,
               s->max_ms, elapsed_s);
    } else {
        printf(
            "traffic-gen %s: sent %ld, ok %ld, failed %ld (timeouts %ld, transport errors %ld), skipped %ld; "
            "triggered",
            what, s->sent, s->ok, s->failed, s->timeouts, s->transport_errors, s->skipped);
        for (int i = 0; i < o->nscenarios; i++)
            printf(" %s %ld", o->scenarios[i], s->triggered[i]);
        if (!o->nscenarios) printf(" none");
        printf("; latency p50 %.1f ms, p95 %.1f ms, max %.1f ms; %.1f s\n", p50, p95, s->max_ms, elapsed_s);
    }
    fflush(stdout);
}

static void unlink_inflight(inflight_t **list, inflight_t *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        *list = f->next;
    if (f->next) f->next->prev = f->prev;
}

static void finish_one(summary_t *s, inflight_t **list, CURL *e, CURLcode rc)
{
    inflight_t *f;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&f);
    unlink_inflight(list, f);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    record_latency(s, (double)(mono_us() - f->t0_us) / 1000.0);
    if (rc == CURLE_OK && status >= 200 && status < 300)
        s->ok++;
    else
        s->failed++;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        s->timeouts++;
    else if (rc != CURLE_OK)
        s->transport_errors++;
    if (rc == CURLE_OK && status > 0 && status < MAX_STATUS) s->by_status[status]++;
    free(f);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p, (void)ud;
    return size * n;
}

static void start_one(CURLM *multi, inflight_t **list, const opts_t *o, const char *url,
                      struct curl_slist *headers, const char *body)
{
    inflight_t *f = xcalloc(1, sizeof(*f));
    f->next = *list;
    if (*list) (*list)->prev = f;
    *list = f;
    snprintf(f->body, sizeof(f->body), "%s", body);
    f->t0_us = mono_us();
    CURL *e = f->easy = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, f->body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_PRIVATE, f);
    curl_multi_add_handle(multi, e);
}

static int signalled(void)
{
    sigset_t pending;
    sigpending(&pending);
    return sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM);
}

/* Collects finished transfers; returns how many are still running. */
static int reap(CURLM *multi, inflight_t **list, summary_t *s)
{
    int running = 0, left;
    curl_multi_perform(multi, &running);
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL *e = msg->easy_handle;
        finish_one(s, list, e, msg->data.result);
        curl_multi_remove_handle(multi, e);
        curl_easy_cleanup(e);
    }
    return running;
}

static int run(const opts_t *o, summary_t *s)
{
    char url[600];
    snprintf(url, sizeof(url), "%s/orders", o->target);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    CURLM *multi = curl_multi_init();
    uint64_t rng = o->seed;
    long long start = mono_us(), end = o->duration_s > 0 ? start + (long long)(o->duration_s * 1e6) : 0;
    long long next_report = o->report_every_s ? start + o->report_every_s * 1000000LL : 0;
    double interval_us = 1e6 / o->rate;
    int running = 0, stopped = 0;
    inflight_t *list = NULL;
    for (long n = 0;;) {
        long long now = mono_us();
        if (signalled()) stopped = 1;
        int sending = !stopped && (end == 0 || now < end);
        for (long long due = start + (long long)((double)n * interval_us);
             sending && due <= now && (!end || due < end);
             due = start + (long long)((double)n * interval_us)) {
            char body[512];
            int sc = make_order(o, &rng, n++, body, sizeof(body));
            if (running >= o->max_in_flight) {
                s->skipped++;
                continue;
            }
            start_one(multi, &list, o, url, headers, body);
            running++;
            s->sent++;
            if (sc >= 0) s->triggered[sc]++;
        }
        running = reap(multi, &list, s);
        if (next_report && now >= next_report) {
            print_summary(o, s, (double)(now - start) / 1e6, "progress");
            next_report += o->report_every_s * 1000000LL;
        }
        if (!sending && (running == 0 || stopped)) break;
        long long wake = sending ? start + (long long)((double)n * interval_us) : now + 100000;
        int wait_ms = (int)((wake - mono_us()) / 1000);
        curl_multi_poll(multi, NULL, 0, wait_ms < 1 ? 1 : wait_ms > 100 ? 100 : wait_ms, NULL);
    }
    /* after a signal, orders still in progress are abandoned */
    while (list) {
        inflight_t *f = list;
        list = f->next;
        curl_multi_remove_handle(multi, f->easy);
        curl_easy_cleanup(f->easy);
        free(f);
    }
    curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
    print_summary(o, s, (double)(mono_us() - start) / 1e6, stopped ? "stopped" : "done");
    return 0;
}

int main(int argc, char **argv)
{
    opts_t o;
    memset(&o, 0, sizeof(o));
    int a = parse_args(argc, argv, &o);
    if (a == 1) {
        usage(stdout);
        return 0;
    }
    if (a < 0) return 2;
    if (o.dry_run) {
        uint64_t rng = o.seed;
        long total = (long)(o.rate * o.duration_s);
        for (long n = 0; n < total; n++) {
            char body[512];
            make_order(&o, &rng, n, body, sizeof(body));
            printf("%s\n", body);
        }
        return 0;
    }
    program_block_signals();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    summary_t *s = xcalloc(1, sizeof(*s));
    s->sample_rng = o.seed ^ 0x5deece66dull;
    int rc = run(&o, s);
    free(s);
    curl_global_cleanup();
    return rc;
}
