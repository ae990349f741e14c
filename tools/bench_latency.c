/* bench-latency: error-to-report latency under a steady error rate. Sends error traces (each with its
 * own cause, so each gets a report and an LLM call) to a running backend at --rate per second for
 * --seconds, then reads when each trace's analysis was stored, and prints p50/p95/max of
 * (analysis stored - error sent) against DEBOUNCE_QUIET_MS + 1 s.
 *   bench-latency --url http://127.0.0.1:8000 --key K --database-url URL --quiet-ms 5000 [--rate 2]
 * [--seconds 20] */
#include <curl/curl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p, (void)ud;
    return s * n;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *key = NULL, *db = NULL;
    double rate = 2;
    int seconds = 20, quiet = 5000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--url"))
            url = argv[i + 1];
        else if (!strcmp(argv[i], "--key"))
            key = argv[i + 1];
        else if (!strcmp(argv[i], "--database-url"))
            db = argv[i + 1];
        else if (!strcmp(argv[i], "--rate"))
            rate = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--quiet-ms"))
            quiet = atoi(argv[i + 1]);
    }
    if (!url || !key || !db) {
        fprintf(stderr, "usage: bench-latency --url URL --key K --database-url URL --quiet-ms N [--rate R] "
                        "[--seconds S]\n");
        return 2;
    }
    int n = (int)(rate * seconds);
    char(*traces)[33] = calloc((size_t)n, 33);
    long long *sent = calloc((size_t)n, sizeof(long long));
    CURL *c = curl_easy_init();
    char endpoint[256], auth[256];
    snprintf(endpoint, sizeof(endpoint), "%s/ingest/traces", url);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    unsigned seed = (unsigned)time(NULL);
    long long start = now_us();
    for (int i = 0; i < n; i++) {
        long long due = start + (long long)(i * 1e6 / rate);
        while (now_us() < due)
            usleep(1000);
        snprintf(traces[i], 33, "%08x%08x%08x%08x", rand_r(&seed), rand_r(&seed), rand_r(&seed), i + 1);
        long long ns = now_us() * 1000;
        char body[1024];
        snprintf(body, sizeof(body),
                 "{\"spans\":[{\"trace_id\":\"%s\",\"span_id\":\"00000000000000a1\",\"service\":\"gateway\","
                 "\"name\":"
                 "\"POST "
                 "/orders\",\"start_time\":%lld,\"end_time\":%lld,\"status\":\"ERROR\"},{\"trace_id\":\"%s\","
                 "\"span_id\":\"00000000000000a2\",\"parent_span_id\":\"00000000000000a1\",\"service\":"
                 "\"payment\","
                 "\"name\":\"db.query\",\"start_time\":%lld,\"end_time\":%lld,\"status\":\"ERROR\","
                 "\"events\":[{\"name\":"
                 "\"exception\",\"time\":%lld,\"attributes\":{\"exception.type\":\"Bench%dException\"}}]}]}",
                 traces[i], ns, ns + 1000000, traces[i], ns + 1000, ns + 900000, ns + 900000, i);
        curl_easy_setopt(c, CURLOPT_URL, endpoint);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        sent[i] = now_us();
        curl_easy_perform(c);
    }
    PGconn *pg = PQconnectdb(db);
    long long *lat = calloc((size_t)n, sizeof(long long));
    int got = 0;
    for (int wait = 0; wait < 60 && got < n; wait++) {
        sleep(1);
        got = 0;
        for (int i = 0; i < n; i++) {
            const char *p[] = {traces[i]};
            PGresult *r =
                PQexecParams(pg,
                             "SELECT (extract(epoch FROM min(created_at)) * 1000000)::bigint FROM analyses "
                             "WHERE trace_id = $1",
                             1, NULL, p, NULL, NULL, 0);
            if (PQntuples(r) && !PQgetisnull(r, 0, 0)) lat[got++] = atoll(PQgetvalue(r, 0, 0)) - sent[i];
            PQclear(r);
        }
    }
    qsort(lat, (size_t)got, sizeof(long long), cmp_ll);
    printf("error-to-report: %d/%d reports; p50 %.2f s, p95 %.2f s, max %.2f s; target p95 <= quiet %.1f s + "
           "1 s "
           "= %.1f s\n",
           got, n, got ? lat[got / 2] / 1e6 : 0, got ? lat[(int)((got - 1) * 0.95)] / 1e6 : 0,
           got ? lat[got - 1] / 1e6 : 0, quiet / 1e3, quiet / 1e3 + 1);
    PQfinish(pg);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return got == n ? 0 : 1;
}
