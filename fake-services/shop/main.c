/* fake-shop --out DIR --seed N [--systems K] [--small] [--rate TRACES_PER_S]
 * Writes a labelled fault dataset of K simulated shops (seeds N..N+K-1) in the layout of
 * datasets/nezha-train-ticket; the same arguments give byte-identical output. */
#include "shop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SYSTEMS 30

static int usage(const char *why)
{
    fprintf(
        stderr,
        "fake-shop: %s\nusage: fake-shop --out DIR --seed N [--systems K] [--small] [--rate TRACES_PER_S]\n",
        why);
    return 2;
}

static int parse_ull(const char *s, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (*s == '-' || *s == '\0') return -1;
    *out = strtoull(s, &end, 10);
    return errno || *end ? -1 : 0;
}

int main(int argc, char **argv)
{
    shop_opts_t o = {.out = NULL, .seed = 0, .systems = 3, .rate = 5.0};
    int have_seed = 0, small = 0;
    char command[1024] = "fake-shop";
    for (int i = 1; i < argc; i++) {
        size_t len = strlen(command); /* README.md quotes the command; an overlong one is cut short */
        if (len + strlen(argv[i]) + 2 < sizeof(command))
            snprintf(command + len, sizeof(command) - len, " %s", argv[i]);
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long long n;
        if (strcmp(a, "--small") == 0) {
            small = 1;
        } else if (strcmp(a, "--out") == 0 && v) {
            o.out = v;
            i++;
        } else if (strcmp(a, "--seed") == 0 && v) {
            if (parse_ull(v, &n)) return usage("--seed: not a non-negative integer");
            o.seed = n;
            have_seed = 1;
            i++;
        } else if (strcmp(a, "--systems") == 0 && v) {
            if (parse_ull(v, &n) || n < 1 || n > MAX_SYSTEMS)
                return usage("--systems: an integer from 1 to 30");
            o.systems = (int)n;
            i++;
        } else if (strcmp(a, "--rate") == 0 && v) {
            char *end;
            o.rate = strtod(v, &end);
            if (*end || !(o.rate >= 0.1 && o.rate <= 200)) return usage("--rate: a number from 0.1 to 200");
            i++;
        } else {
            char why[256];
            snprintf(why, sizeof(why), "unknown or incomplete argument: %s", a);
            return usage(why);
        }
    }
    if (o.out == NULL) return usage("--out is required");
    if (!have_seed) return usage("--seed is required");
    if (small) o.systems = 1;
    o.command = command;
    shop_summary_t sum;
    if (shop_run(&o, &sum)) return 1;
    printf("fake-shop: %ld cases, %ld spans, %ld logs in %d system%s under %s\n", sum.cases, sum.spans,
           sum.logs, o.systems, o.systems == 1 ? "" : "s", o.out);
    return 0;
}
