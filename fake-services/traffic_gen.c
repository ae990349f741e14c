/* traffic-gen: orders against the gateway at a steady rate, with a share of failing orders drawn from
 * the scenario triggers, deterministic for a given --seed. Prints a summary at the end (or on
 * SIGINT/SIGTERM).
 *   traffic-gen --target http://127.0.0.1:8003 [--rate 5] [--duration 60 (0: forever)]
 *               [--fail-share 0.05] [--scenarios fail-pay,fail-inv,slow-inv] [--seed 1] */
#include "program.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_LAT 200000

typedef struct {
    const char *target;
    double rate, fail_share;
    int duration;
    char scenarios[8][32];
    int nscenarios;
    unsigned seed;
    atomic_long sent, ok, failed;
    double *lat;
    atomic_long nlat;
    atomic_int stop;
} gen_t;

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p, (void)ud;
    return s * n;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void *signal_main(void *arg)
{
    gen_t *g = arg;
    program_wait_signal();
    atomic_store(&g->stop, 1);
    return NULL;
}

int main(int argc, char **argv)
{
    gen_t g;
    memset(&g, 0, sizeof(g));
    g.target = "http://127.0.0.1:8003";
    g.rate = 5;
    g.duration = 60;
    g.fail_share = 0.05;
    g.seed = 1;
    const char *scen = "fail-pay,fail-inv,slow-inv";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            printf("usage: traffic-gen --target URL [--rate N/s] [--duration S (0 forever)] [--fail-share F] "
                   "[--scenarios a,b] [--seed N]\n");
            return 0;
        }
        if (i + 1 >= argc) break;
        if (!strcmp(argv[i], "--target"))
            g.target = argv[++i];
        else if (!strcmp(argv[i], "--rate"))
            g.rate = atof(argv[++i]);
        else if (!strcmp(argv[i], "--duration"))
            g.duration = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--fail-share"))
            g.fail_share = atof(argv[++i]);
        else if (!strcmp(argv[i], "--scenarios"))
            scen = argv[++i];
        else if (!strcmp(argv[i], "--seed"))
            g.seed = (unsigned)atoi(argv[++i]);
    }
    if (g.rate <= 0) g.rate = 1;
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", scen);
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && g.nscenarios < 8;
         t = strtok_r(NULL, ",", &save))
        snprintf(g.scenarios[g.nscenarios++], 32, "%s", t);
    g.lat = calloc(MAX_LAT, sizeof(double));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    program_block_signals();
    pthread_t sig;
    pthread_create(&sig, NULL, signal_main, &g);
    pthread_detach(sig);
    char url[512];
    snprintf(url, sizeof(url), "%s/orders", g.target);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    unsigned rng = g.seed;
    long long start = mono_ms();
    double interval_ms = 1000.0 / g.rate;
    for (long n = 0; !atomic_load(&g.stop); n++) {
        long long due = start + (long long)(n * interval_ms);
        long long now = mono_ms();
        if (g.duration > 0 && now - start >= g.duration * 1000LL) break;
        if (due > now) usleep((useconds_t)(due - now) * 1000);
        char body[256], order[96];
        double r = (double)(rand_r(&rng) % 10000) / 10000.0;
        if (g.nscenarios && r < g.fail_share)
            snprintf(order, sizeof(order), "ord-%ld-%s", n,
                     g.scenarios[rand_r(&rng) % (unsigned)g.nscenarios]);
        else
            snprintf(order, sizeof(order), "ord-%ld", n);
        snprintf(body, sizeof(body), "{\"order_id\":\"%s\",\"amount\":%d,\"items\":[\"sku-%d\"]}", order,
                 10 + rand_r(&rng) % 90, rand_r(&rng) % 100);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        long long t0 = mono_us();
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        double ms = (double)(mono_us() - t0) / 1000.0;
        atomic_fetch_add(&g.sent, 1);
        if (rc == CURLE_OK && status == 200)
            atomic_fetch_add(&g.ok, 1);
        else
            atomic_fetch_add(&g.failed, 1);
        long k = atomic_fetch_add(&g.nlat, 1);
        if (k < MAX_LAT) g.lat[k] = ms;
    }
    long n = atomic_load(&g.nlat) < MAX_LAT ? atomic_load(&g.nlat) : MAX_LAT;
    if (n > 1) qsort(g.lat, (size_t)n, sizeof(double), cmp_d);
    printf("traffic-gen: sent %ld, ok %ld, failed %ld, latency p50 %.1f ms, p95 %.1f ms\n",
           atomic_load(&g.sent), atomic_load(&g.ok), atomic_load(&g.failed), n ? g.lat[n / 2] : 0.0,
           n ? g.lat[(int)((n - 1) * 0.95)] : 0.0);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(g.lat);
    curl_global_cleanup();
    return 0;
}
