/* Scoring of ranked windows (see tally.h). */
#include "tally.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 32   /* fault types or positions in one table */
#define TABLE_CELL 17  /* "100/100/100 (12)" and a space */
#define TABLE_LABEL 20 /* "dependency-stopped" and two spaces */
#define FALSE_ALARMS_SHOWN 20

/* Positions first in this order (the fault matrix's), others after them as they come. */
static const char *const KNOWN_POSITIONS[] = {"entry", "middle", "leaf", "shared"};

/* ---- Ranks and tallies ---- */

size_t ds_strict_rank_of(const char *const *names, const double *scores, size_t n, const char *service)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], service) != 0) continue;
        size_t k = i;
        while (k + 1 < n && scores[k + 1] == scores[i])
            k++;
        return k + 1;
    }
    return n + 1;
}

int ds_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void ds_tally_add(ds_tally_t *t, size_t rank)
{
    t->n++;
    for (int k = 0; k < 5; k++)
        if (rank <= (size_t)k + 1) t->hit[k]++;
}

static double pct(int part, int n)
{
    return n ? 100.0 * part / n : 0;
}

static double avg5(const ds_tally_t *t)
{
    double sum = 0;
    for (int k = 0; k < 5; k++)
        sum += pct(t->hit[k], t->n);
    return sum / 5;
}

void ds_tally_print(const ds_tally_t *t)
{
    if (t->n == 0) return;
    printf("%-16s n=%-3d top-1 %5.1f%%  top-3 %5.1f%%  Avg@5 %5.1f%%\n", t->name, t->n, pct(t->hit[0], t->n),
           pct(t->hit[2], t->n), avg5(t));
}

/* ---- Outcomes ---- */

void ds_outcome_init(ds_outcome_t *o, const ds_case_t *k)
{
    memset(o, 0, sizeof(*o));
    ds_copy_field(o->id, sizeof(o->id), k->id);
    ds_copy_field(o->fault, sizeof(o->fault), k->fault);
    ds_copy_field(o->position, sizeof(o->position), k->position);
    ds_copy_field(o->service, sizeof(o->service), k->service);
    o->faulty = k->faulty;
    o->failed = 1;
    o->rank = SIZE_MAX;
}

void ds_outcome_rank(ds_outcome_t *o, const char *const *names, const double *scores, size_t n, int quiet,
                     double ms)
{
    o->failed = 0;
    o->quiet = quiet;
    o->ms = ms;
    o->rank = o->faulty ? ds_strict_rank_of(names, scores, n, o->service) : SIZE_MAX;
    double truth = 0, other = 0;
    for (size_t i = 0; i < n; i++) {
        if (o->faulty && strcmp(names[i], o->service) == 0)
            truth = scores[i];
        else if (scores[i] > other)
            other = scores[i];
    }
    o->margin = truth - other;
    o->n_top = n < DS_TOP_KEPT ? n : DS_TOP_KEPT;
    for (size_t i = 0; i < o->n_top; i++) {
        ds_copy_field(o->top[i], sizeof(o->top[i]), names[i]);
        o->top_score[i] = scores[i];
    }
}

void ds_outcome_print(const ds_outcome_t *o, FILE *f, size_t top, const char *what)
{
    if (o->failed) {
        fprintf(f, "%-28s %-18s %-7s %-30s FAILED (see stderr)\n", o->id, o->fault, o->position, o->service);
        return;
    }
    char rank[16] = "-";
    if (o->faulty) snprintf(rank, sizeof(rank), "%zu", o->rank);
    fprintf(f, "%-28s %-18s %-7s %-30s rank %2s  margin %5.1f  %7.1f ms  %s |", o->id, o->fault, o->position,
            o->faulty ? o->service : "(fault-free)", rank, o->faulty ? o->margin : 0.0, o->ms,
            what ? what : "");
    for (size_t i = 0; i < top && i < o->n_top; i++)
        fprintf(f, " %s %.1f", o->top[i], o->top_score[i]);
    fprintf(f, "%s\n", o->quiet ? "  [nothing stands out]" : "");
}

/* ---- A run ---- */

void ds_score_add(ds_score_t *s, ds_outcome_t *o)
{
    s->o = ds_grow(s->o, &s->cap, s->n + 1, sizeof(ds_outcome_t));
    s->o[s->n++] = *o;
    o->ranking = NULL;
}

void ds_score_free(ds_score_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        json_decref(s->o[i].ranking);
    free(s->o);
    memset(s, 0, sizeof(*s));
}

typedef struct {
    ds_tally_t faulty;        /* every faulty case; a failed one is a miss */
    int n_free, n_free_quiet; /* fault-free windows, and those answered "nothing stands out" */
    int n_faulty_quiet;
    size_t n_timed;
    double mean_ms, p95_ms, max_ms, margin_min, margin_median;
} totals_t;

static void totals_of(const ds_score_t *s, totals_t *t)
{
    memset(t, 0, sizeof(*t));
    ds_copy_field(t->faulty.name, sizeof(t->faulty.name), "all");
    double *ms = calloc(s->n + 1, sizeof(double)), *margins = calloc(s->n + 1, sizeof(double));
    if (ms == NULL || margins == NULL) exit(2);
    size_t n_margins = 0;
    for (size_t i = 0; i < s->n; i++) {
        const ds_outcome_t *o = &s->o[i];
        if (o->faulty) {
            ds_tally_add(&t->faulty, o->rank);
            t->n_faulty_quiet += !o->failed && o->quiet;
            if (!o->failed) margins[n_margins++] = o->margin;
        } else {
            t->n_free++;
            t->n_free_quiet += !o->failed && o->quiet;
        }
        if (!o->failed) ms[t->n_timed++] = o->ms;
    }
    if (t->n_timed) {
        double sum = 0;
        for (size_t i = 0; i < t->n_timed; i++)
            sum += ms[i];
        qsort(ms, t->n_timed, sizeof(double), ds_cmp_double);
        t->mean_ms = sum / (double)t->n_timed;
        t->p95_ms = ms[(size_t)ceil(0.95 * (double)t->n_timed) - 1];
        t->max_ms = ms[t->n_timed - 1];
    }
    if (n_margins) {
        qsort(margins, n_margins, sizeof(double), ds_cmp_double);
        t->margin_min = margins[0];
        t->margin_median = margins[n_margins / 2];
    }
    free(ms);
    free(margins);
}

static int name_index(char names[][48], int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

/* The fault types of the faulty cases in order of appearance, and their positions (the known ones in
 * the matrix's order, then others); returns the count, at most MAX_NAMES each. */
static int fault_types(const ds_score_t *s, char names[][48])
{
    int n = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->o[i].faulty && n < MAX_NAMES && name_index(names, n, s->o[i].fault) < 0)
            ds_copy_field(names[n++], 48, s->o[i].fault);
    return n;
}

static int positions(const ds_score_t *s, char names[][48])
{
    int n = 0;
    for (size_t k = 0; k < sizeof(KNOWN_POSITIONS) / sizeof(*KNOWN_POSITIONS); k++)
        for (size_t i = 0; i < s->n; i++)
            if (s->o[i].faulty && strcmp(s->o[i].position, KNOWN_POSITIONS[k]) == 0) {
                ds_copy_field(names[n++], 48, KNOWN_POSITIONS[k]);
                break;
            }
    for (size_t i = 0; i < s->n; i++)
        if (s->o[i].faulty && s->o[i].position[0] && n < MAX_NAMES &&
            name_index(names, n, s->o[i].position) < 0)
            ds_copy_field(names[n++], 48, s->o[i].position);
    return n;
}

/* The faulty cases of one fault type (NULL: all) at one position (NULL: all). */
static void tally_where(const ds_score_t *s, const char *fault, const char *position, ds_tally_t *t)
{
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < s->n; i++) {
        const ds_outcome_t *o = &s->o[i];
        if (!o->faulty || (fault && strcmp(o->fault, fault) != 0) ||
            (position && strcmp(o->position, position) != 0))
            continue;
        ds_tally_add(t, o->rank);
    }
}

static void print_cell(FILE *f, const ds_tally_t *t, int last)
{
    char cell[64] = "-";
    if (t->n)
        snprintf(cell, sizeof(cell), "%.0f/%.0f/%.0f (%d)", pct(t->hit[0], t->n), pct(t->hit[2], t->n),
                 avg5(t), t->n);
    fprintf(f, "%-*s", last ? 0 : TABLE_CELL, cell);
}

static void print_row(FILE *f, const ds_score_t *s, const char *label, const char *fault, char pos[][48],
                      int n_pos)
{
    ds_tally_t t;
    fprintf(f, "%-*s", TABLE_LABEL, label);
    for (int p = 0; p < n_pos; p++) {
        tally_where(s, fault, pos[p], &t);
        print_cell(f, &t, 0);
    }
    tally_where(s, fault, NULL, &t);
    print_cell(f, &t, 1);
    fprintf(f, "\n");
}

void ds_score_print(const ds_score_t *s, FILE *f, const char *time_what)
{
    char types[MAX_NAMES][48], pos[MAX_NAMES][48];
    int n_types = fault_types(s, types), n_pos = positions(s, pos);
    totals_t t;
    totals_of(s, &t);
    fprintf(f, "\nfaulty windows by fault type x position: top-1/top-3/Avg@5 in %%, (cases)\n%-*s",
            TABLE_LABEL, "fault type");
    for (int p = 0; p < n_pos; p++)
        fprintf(f, "%-*s", TABLE_CELL, pos[p]);
    fprintf(f, "%s\n", "all");
    for (int i = 0; i < n_types; i++)
        print_row(f, s, types[i], types[i], pos, n_pos);
    print_row(f, s, "all", NULL, pos, n_pos);
    fprintf(f,
            "\nfaulty windows: %d, top-1 %.1f%%, top-3 %.1f%%, Avg@5 %.1f%% (ties counted at the worst "
            "position); judged \"nothing stands out\": %d\n",
            t.faulty.n, pct(t.faulty.hit[0], t.faulty.n), pct(t.faulty.hit[2], t.faulty.n), avg5(&t.faulty),
            t.n_faulty_quiet);
    if (t.faulty.n)
        fprintf(f, "margin of the true service over the best other (score points): min %.2f, median %.2f\n",
                t.margin_min, t.margin_median);
    if (t.n_free) {
        fprintf(f, "fault-free windows judged \"nothing stands out\": %d of %d (%.1f%%)\n", t.n_free_quiet,
                t.n_free, pct(t.n_free_quiet, t.n_free));
        int shown = 0;
        for (size_t i = 0; i < s->n; i++) {
            const ds_outcome_t *o = &s->o[i];
            if (o->faulty || (o->quiet && !o->failed)) continue;
            if (shown++ == FALSE_ALARMS_SHOWN) {
                fprintf(f, "  ...\n");
                break;
            }
            if (o->failed)
                fprintf(f, "  false alarm: %s (%s): not ranked\n", o->id, o->fault);
            else
                fprintf(f, "  false alarm: %s (%s): top %s %.1f\n", o->id, o->fault,
                        o->n_top ? o->top[0] : "-", o->n_top ? o->top_score[0] : 0.0);
        }
    }
    if (t.n_timed)
        fprintf(f, "ranking time per window (%s): mean %.1f ms, p95 %.1f ms, max %.1f ms\n", time_what,
                t.mean_ms, t.p95_ms, t.max_ms);
    /* one line for scripts/eval's summary of variants */
    char quiet[16] = "-";
    if (t.n_free) snprintf(quiet, sizeof(quiet), "%.1f%%", pct(t.n_free_quiet, t.n_free));
    fprintf(f,
            "summary: faulty %d top-1 %.1f%% top-3 %.1f%% Avg@5 %.1f%% | fault-free %d quiet %s | ms mean "
            "%.1f p95 %.1f\n",
            t.faulty.n, pct(t.faulty.hit[0], t.faulty.n), pct(t.faulty.hit[2], t.faulty.n), avg5(&t.faulty),
            t.n_free, quiet, t.mean_ms, t.p95_ms);
}

/* ---- JSON ---- */

static json_t *tally_json(const ds_tally_t *t)
{
    return json_pack("{s:i, s:f, s:f, s:f}", "n", t->n, "top1", pct(t->hit[0], t->n), "top3",
                     pct(t->hit[2], t->n), "avg5", avg5(t));
}

static json_t *outcome_json(const ds_outcome_t *o)
{
    json_t *top = json_array();
    for (size_t i = 0; i < o->n_top; i++)
        json_array_append_new(top, json_pack("{s:s, s:f}", "service", o->top[i], "score", o->top_score[i]));
    json_t *j = json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:o}", "case_id", o->id, "fault_type", o->fault,
                          "position", o->position, "faulty", o->faulty, "failed", o->failed,
                          "nothing_stands_out", o->quiet, "top", top);
    if (j == NULL) exit(2);
    json_object_set_new(j, "root_cause_service", o->faulty ? json_string(o->service) : json_null());
    json_object_set_new(j, "rank", o->faulty && !o->failed ? json_integer((json_int_t)o->rank) : json_null());
    json_object_set_new(j, "correct", json_boolean(!o->failed && (o->faulty ? o->rank == 1 : o->quiet)));
    if (!o->failed) json_object_set_new(j, "ms", json_real(o->ms));
    if (o->ranking) json_object_set(j, "ranking", o->ranking);
    return j;
}

static json_t *table_json(const ds_score_t *s)
{
    char types[MAX_NAMES][48], pos[MAX_NAMES][48];
    int n_types = fault_types(s, types), n_pos = positions(s, pos);
    json_t *cols = json_array(), *rows = json_array();
    for (int p = 0; p < n_pos; p++)
        json_array_append_new(cols, json_string(pos[p]));
    json_array_append_new(cols, json_string("all"));
    for (int i = 0; i <= n_types; i++) {
        const char *fault = i < n_types ? types[i] : NULL;
        json_t *cells = json_object();
        ds_tally_t t;
        for (int p = 0; p < n_pos; p++) {
            tally_where(s, fault, pos[p], &t);
            if (t.n) json_object_set_new(cells, pos[p], tally_json(&t));
        }
        tally_where(s, fault, NULL, &t);
        json_object_set_new(cells, "all", tally_json(&t));
        json_array_append_new(rows,
                              json_pack("{s:s, s:o}", "fault_type", fault ? fault : "all", "cells", cells));
    }
    return json_pack("{s:o, s:o}", "positions", cols, "rows", rows);
}

json_t *ds_score_to_json(const ds_score_t *s, const ds_require_t *r, const char *signals)
{
    totals_t t;
    totals_of(s, &t);
    json_t *cases = json_array(), *alarms = json_array();
    for (size_t i = 0; i < s->n; i++) {
        const ds_outcome_t *o = &s->o[i];
        json_array_append_new(cases, outcome_json(o));
        if (!o->faulty && (o->failed || !o->quiet))
            json_array_append_new(alarms, json_pack("{s:s, s:s, s:s?, s:f}", "case_id", o->id, "fault_type",
                                                    o->fault, "top_service", o->n_top ? o->top[0] : NULL,
                                                    "top_score", o->n_top ? o->top_score[0] : 0.0));
    }
    json_t *free_ = json_pack("{s:i, s:i, s:o}", "n", t.n_free, "nothing_stands_out", t.n_free_quiet,
                              "false_alarms", alarms);
    json_object_set_new(free_, "share", t.n_free ? json_real(pct(t.n_free_quiet, t.n_free)) : json_null());
    json_t *j = json_pack("{s:s, s:o, s:o, s:o, s:o, s:{s:i, s:f, s:f, s:f}, s:{s:f, s:f, s:f, s:b}}",
                          "signals", signals, "cases", cases, "table", table_json(s), "overall",
                          tally_json(&t.faulty), "fault_free", free_, "ranking_ms", "n", (int)t.n_timed,
                          "mean", t.mean_ms, "p95", t.p95_ms, "max", t.max_ms, "requirements", "top1",
                          r->top1, "top3", r->top3, "quiet", r->quiet, "met", ds_score_meets(s, r, NULL));
    if (j == NULL) exit(2);
    return j;
}

/* ---- Requirements ---- */

int ds_require_arg(ds_require_t *r, int argc, char **argv, int *i)
{
    static const char *const opts[] = {"--require-top1", "--require-top3", "--require-quiet"};
    double *dst[] = {&r->top1, &r->top3, &r->quiet};
    for (size_t k = 0; k < sizeof(opts) / sizeof(*opts); k++) {
        if (strcmp(argv[*i], opts[k]) != 0) continue;
        char *end = NULL;
        double v = *i + 1 < argc ? strtod(argv[*i + 1], &end) : -1;
        if (end == NULL || *end != '\0' || v < 0 || v > 100) {
            fprintf(stderr, "%s takes a percentage, 0 to 100\n", opts[k]);
            return -1;
        }
        *dst[k] = v;
        (*i)++;
        return 1;
    }
    return 0;
}

int ds_score_meets(const ds_score_t *s, const ds_require_t *r, FILE *f)
{
    totals_t t;
    totals_of(s, &t);
    const struct {
        const char *what;
        double got, need;
        int applies;
    } checks[] = {
        {"top-1", pct(t.faulty.hit[0], t.faulty.n), r->top1, t.faulty.n > 0},
        {"top-3", pct(t.faulty.hit[2], t.faulty.n), r->top3, t.faulty.n > 0},
        {"fault-free \"nothing stands out\"", pct(t.n_free_quiet, t.n_free), r->quiet, t.n_free > 0}};
    int met = 1;
    for (size_t k = 0; k < sizeof(checks) / sizeof(*checks); k++) {
        /* a requirement with no case to measure it fails: a dataset that lost its fault-free windows
         * must not pass a fault-free threshold */
        if (checks[k].need <= 0 || (checks[k].applies && checks[k].got >= checks[k].need)) continue;
        met = 0;
        if (f)
            fprintf(f, "FAILED: %s %.1f%% below the required %.1f%%%s\n", checks[k].what, checks[k].got,
                    checks[k].need, checks[k].applies ? "" : " (no such cases)");
    }
    return met;
}
