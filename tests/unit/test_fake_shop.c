/* fake-shop (fake-services/shop): a --small dataset generated into a temporary folder is the same bytes
 * twice, has every position and 44 cases, Nezha's trace header plus StatusCode and ExceptionType, error
 * spans only once an error is injected (those that failed themselves recording the service's exception),
 * server spans of the faulty service recording the exception its "[Handled exception]" lines name under
 * exception-caught (none in the baseline), and network delay that grows the caller's client spans but not
 * the callee's server spans. */
#include "shop.h"

#include "ts.h"

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define RATE 1.0 /* requests per second: enough calls per minute, and a run of a few seconds */
#define SEED 4242

typedef struct {
    char trace[33], span[17], parent[17], pod[80], name[64], exception[96];
    long long dur_us;
    int status;
} row_t;

typedef struct {
    row_t *r;
    size_t n;
} rows_t;

typedef struct {
    char id[64], service[48], pod[80], fault[32], minutes[3][8], baseline[8], position[16];
} case_t;

static char *make_dataset(void)
{
    char tmpl[] = "/tmp/fake-shop-test-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    char *dir = strdup(tmpl);
    shop_opts_t o = {.out = dir, .seed = SEED, .systems = 1, .rate = RATE, .command = "test_fake_shop"};
    shop_summary_t sum;
    ck_assert_int_eq(shop_run(&o, &sum), 0);
    ck_assert_int_eq(sum.cases, 44);
    ck_assert_int_gt(sum.spans, 1000);
    return dir;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_dataset(char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

static char *slurp_gz(const char *path, size_t *len)
{
    gzFile g = gzopen(path, "rb");
    ck_assert_msg(g != NULL, "cannot open %s", path);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int k;
    while ((k = gzread(g, buf + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)k;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    gzclose(g);
    *len = n;
    return buf;
}

static int split(char *line, char **f, int max)
{
    int n = 0;
    for (char *s = line; n < max; n++) {
        f[n] = s;
        char *c = strchr(s, ',');
        if (c == NULL) return n + 1;
        *c = '\0';
        s = c + 1;
    }
    return n;
}

/* Copies a field into a fixed buffer; a field that does not fit fails the test. */
#define COPY_FIELD(dst, src) ck_assert_int_lt(snprintf((dst), sizeof(dst), "%s", (src)), (int)sizeof(dst))
static int load_cases(const char *dir, case_t *out, int max)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/cases.csv", dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    int n = 0;
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
    ck_assert_str_eq(line,
                     "case_id,system,day,inject_time_utc,inject_timestamp,root_cause_service,root_cause_pod,"
                     "fault_type,minute_files,baseline_minute,position\n");
    while (n < max && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *v[16];
        ck_assert_int_eq(split(line, v, 16), 11);
        case_t *c = &out[n++];
        COPY_FIELD(c->id, v[0]);
        COPY_FIELD(c->service, v[5]);
        COPY_FIELD(c->pod, v[6]);
        COPY_FIELD(c->fault, v[7]);
        ck_assert_int_eq(
            sscanf(v[8], "%5[0-9_];%5[0-9_];%5[0-9_]", c->minutes[0], c->minutes[1], c->minutes[2]), 3);
        COPY_FIELD(c->baseline, v[9]);
        COPY_FIELD(c->position, v[10]);
    }
    fclose(f);
    return n;
}

static rows_t load_spans(const char *path)
{
    size_t len;
    char *text = slurp_gz(path, &len);
    char *buf = realloc(text, len + 1);
    buf[len] = '\0';
    rows_t rs = {calloc(len / 60 + 1, sizeof(row_t)), 0};
    char *save = NULL;
    int header = 1;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (header) {
            header = 0;
            continue;
        }
        char *v[11];
        ck_assert_int_eq(split(line, v, 11), 10);
        row_t *r = &rs.r[rs.n++];
        COPY_FIELD(r->trace, v[0]);
        COPY_FIELD(r->span, v[1]);
        COPY_FIELD(r->parent, v[2]);
        COPY_FIELD(r->pod, v[3]);
        COPY_FIELD(r->name, v[4]);
        r->dur_us = atoll(v[7]);
        r->status = atoi(v[8]);
        COPY_FIELD(r->exception, v[9]);
    }
    free(buf);
    return rs;
}

static const row_t *parent_of(const rows_t *rs, const row_t *r)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->r[i].span, r->parent) == 0 && strcmp(rs->r[i].trace, r->trace) == 0) return &rs->r[i];
    return NULL;
}

static rows_t minute_spans(const char *dir, const char *day, const char *minute, int baseline)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s%s/%s/trace/%s_trace.csv.gz", dir, baseline ? "/baseline" : "", day,
             minute);
    return load_spans(path);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static long long median(long long *v, size_t n)
{
    ck_assert_int_gt(n, 5);
    qsort(v, n, sizeof(*v), cmp_ll);
    return v[n / 2];
}

/* Median duration (us) of the faulty pod's client spans (want_client) or of the server spans its client
 * spans lead to on other pods. */
static long long edge_median(const rows_t *rs, const char *pod, int want_client)
{
    long long *v = calloc(rs->n + 1, sizeof(long long));
    size_t n = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const row_t *srv = &rs->r[i];
        const row_t *cl = parent_of(rs, srv);
        if (cl == NULL || strcmp(cl->pod, pod) != 0 || strcmp(srv->pod, pod) == 0) continue;
        v[n++] = want_client ? cl->dur_us : srv->dur_us;
    }
    long long m = median(v, n);
    free(v);
    return m;
}

static const case_t *find_case(const case_t *cs, int n, const char *fault, const char *position)
{
    for (int i = 0; i < n; i++)
        if (strcmp(cs[i].fault, fault) == 0 && strcmp(cs[i].position, position) == 0) return &cs[i];
    ck_abort_msg("no %s case at a %s service", fault, position);
    return NULL;
}

/* Lines of a log file from `pod` that hold `needle`. */
static int count_log_lines(const char *dir, const char *day, const char *minute, const char *pod,
                           const char *needle)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s/log/%s_log.csv.gz", dir, day, minute);
    size_t len;
    char *text = slurp_gz(path, &len), *buf = realloc(text, len + 1);
    buf[len] = '\0';
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        n += strstr(line, pod) != NULL && strstr(line, needle) != NULL;
    free(buf);
    return n;
}

/* Spans of `pod` that recorded an exception (all of one type, copied to `type`), and of other pods. */
static void count_exceptions(const rows_t *rs, const char *pod, int *own, int *others, char type[96])
{
    *own = *others = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const row_t *r = &rs->r[i];
        if (r->exception[0] == '\0') continue;
        if (strcmp(r->pod, pod) != 0) {
            (*others)++;
            continue;
        }
        if (*own == 0) snprintf(type, 96, "%s", r->exception);
        ck_assert_str_eq(r->exception, type);
        (*own)++;
    }
}

START_TEST(small_dataset_is_deterministic_and_labelled)
{
    char *a = make_dataset(), *b = make_dataset();
    case_t cs[64];
    int n = load_cases(a, cs, 64);
    ck_assert_int_eq(n, 44);
    const char *want[] = {"entry", "middle", "leaf", "shared", "none"};
    for (size_t w = 0; w < sizeof(want) / sizeof(*want); w++) {
        int seen = 0;
        for (int i = 0; i < n; i++)
            seen += strcmp(cs[i].position, want[w]) == 0;
        ck_assert_msg(seen >= (w == 4 ? 8 : 9), "position %s: %d cases", want[w], seen);
    }
    /* determinism: the same file of both runs holds the same bytes */
    char pa[4096], pb[4096];
    snprintf(pa, sizeof(pa), "%s/2026-01-01/trace/%s_trace.csv.gz", a, cs[5].minutes[1]);
    snprintf(pb, sizeof(pb), "%s/2026-01-01/trace/%s_trace.csv.gz", b, cs[5].minutes[1]);
    size_t la, lb;
    char *da = slurp_gz(pa, &la), *db = slurp_gz(pb, &lb);
    ck_assert_int_gt(la, 1000);
    ck_assert_int_eq(la, lb);
    ck_assert_int_eq(memcmp(da, db, la), 0);
    ck_assert(
        strncmp(da,
                "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration,"
                "StatusCode,ExceptionType\n",
                113) == 0);
    free(da);
    free(db);
    remove_dataset(b);

    /* an error at a middle service: its failing server spans in the fault minute, none in the baseline */
    const case_t *e = find_case(cs, n, "error", "middle");
    int failed[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        rows_t rs = minute_spans(a, "2026-01-01", k ? e->minutes[2] : e->baseline, k == 0);
        ck_assert_int_gt(rs.n, 100);
        for (size_t i = 0; i < rs.n; i++) {
            const row_t *p = parent_of(&rs, &rs.r[i]);
            failed[k] +=
                strcmp(rs.r[i].pod, e->pod) == 0 && rs.r[i].status == 2 && p && strcmp(p->pod, e->pod) != 0;
        }
        free(rs.r);
    }
    ck_assert_msg(failed[0] == 0, "%d failed server spans in the baseline", failed[0]);
    ck_assert_msg(failed[1] > 3, "only %d failed server spans under the error fault", failed[1]);
    /* the spans that failed themselves recorded the service's exception, and only those failed */
    rows_t er = minute_spans(a, "2026-01-01", e->minutes[2], 0);
    int own, others;
    char type[96] = "";
    count_exceptions(&er, e->pod, &own, &others, type);
    ck_assert_int_eq(others, 0);
    ck_assert_msg(own > 3 && own <= failed[1], "%d spans recorded an exception, %d failed", own, failed[1]);
    for (size_t i = 0; i < er.n; i++)
        if (er.r[i].exception[0]) ck_assert_int_eq(er.r[i].status, 2);
    char needle[160];
    snprintf(needle, sizeof(needle), "[Request failed] %s: ", type);
    ck_assert_int_eq(count_log_lines(a, "2026-01-01", e->minutes[2], e->pod, needle), own);
    free(er.r);

    /* exception-caught: the faulty service's server spans record the type its log lines name, status
     * unchanged (not an error); nothing records an exception in the baseline */
    const case_t *x = NULL;
    for (int i = 0; i < n && x == NULL; i++)
        if (strcmp(cs[i].fault, "exception-caught") == 0) x = &cs[i];
    ck_assert_ptr_nonnull(x);
    rows_t xb = minute_spans(a, "2026-01-01", x->baseline, 1),
           xf = minute_spans(a, "2026-01-01", x->minutes[2], 0);
    count_exceptions(&xb, x->pod, &own, &others, type);
    ck_assert_int_eq(own + others, 0);
    count_exceptions(&xf, x->pod, &own, &others, type);
    ck_assert_int_eq(others, 0);
    ck_assert_msg(own > 3, "only %d spans recorded the caught exception", own);
    for (size_t i = 0; i < xf.n; i++) {
        const row_t *r = &xf.r[i], *p = parent_of(&xf, r);
        if (r->exception[0] == '\0') continue;
        ck_assert_int_ne(r->status, 2); /* handled: OK, or unset when it answered 404 */
        ck_assert_msg(p == NULL || strcmp(p->pod, x->pod) != 0, "%s is not a server span", r->name);
    }
    snprintf(needle, sizeof(needle), "[Handled exception] %s: ", type);
    ck_assert_int_eq(count_log_lines(a, "2026-01-01", x->minutes[2], x->pod, needle), own);
    free(xb.r);
    free(xf.r);

    /* network delay at a middle service: its client spans grow, its callees' server spans do not */
    const case_t *d = find_case(cs, n, "network-delay", "middle");
    rows_t before = minute_spans(a, "2026-01-01", d->baseline, 1),
           after = minute_spans(a, "2026-01-01", d->minutes[2], 0);
    long long cb = edge_median(&before, d->pod, 1), ca = edge_median(&after, d->pod, 1);
    long long sb = edge_median(&before, d->pod, 0), sa = edge_median(&after, d->pod, 0);
    ck_assert_msg(ca - cb > 60000, "client spans %lld -> %lld us", cb, ca);
    ck_assert_msg(sa < sb * 1.5 + 2000 && sa > sb / 1.5 - 2000, "callee server spans %lld -> %lld us", sb,
                  sa);
    free(before.r);
    free(after.r);
    remove_dataset(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fake_shop");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, small_dataset_is_deterministic_and_labelled);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
