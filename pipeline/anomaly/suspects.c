/* The suspect model (see suspects.h for the formula). */
#include "suspects.h"
#include "alloc.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* How far the call graph is followed when relating a change to a symptom (hops). */
#define GRAPH_DEPTH 3

/* ---------------- types ---------------- */

static const char *const type_names[CHANGE_TYPES] = {"deploy", "config",  "flag", "migration",
                                                     "scale",  "restart", "other"};

/* Every spelling senders use for a type, the canonical name first. */
static const struct {
    const char *name;
    change_type_t type;
} aliases[] = {
    {"deploy", CHANGE_DEPLOY},
    {"deployment", CHANGE_DEPLOY},
    {"release", CHANGE_DEPLOY},
    {"rollout", CHANGE_DEPLOY},
    {"config", CHANGE_CONFIG},
    {"config_change", CHANGE_CONFIG},
    {"configuration", CHANGE_CONFIG},
    {"flag", CHANGE_FLAG},
    {"feature_flag", CHANGE_FLAG},
    {"migration", CHANGE_MIGRATION},
    {"schema_migration", CHANGE_MIGRATION},
    {"scale", CHANGE_SCALE},
    {"scaling", CHANGE_SCALE},
    {"autoscale", CHANGE_SCALE},
    {"restart", CHANGE_RESTART},
    {"reboot", CHANGE_RESTART},
};

void suspect_opts_default(suspect_opts_t *o)
{
    o->prior[CHANGE_DEPLOY] = 0.5;
    o->prior[CHANGE_CONFIG] = 0.35;
    o->prior[CHANGE_FLAG] = 0.3;
    o->prior[CHANGE_MIGRATION] = 0.4;
    o->prior[CHANGE_SCALE] = 0.2;
    o->prior[CHANGE_RESTART] = 0.15;
    o->prior[CHANGE_OTHER] = 0.1;
    o->window_ns = 600 * ANOMALY_NS_PER_S;
    o->tau_s = 300.0;
}

change_type_t change_type_of(const char *type)
{
    for (size_t i = 0; type && i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcasecmp(type, aliases[i].name) == 0) return aliases[i].type;
    return CHANGE_OTHER;
}

const char *change_type_name(change_type_t t)
{
    return (unsigned)t < CHANGE_TYPES ? type_names[t] : "other";
}

/* ---------------- sentences ---------------- */

static void hhmm(int64_t ns, char *out, size_t n)
{
    time_t s = (time_t)(ns / ANOMALY_NS_PER_S);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, n, "%02d:%02d", tm.tm_hour, tm.tm_min);
}

static void duration(double secs, char *out, size_t n)
{
    if (secs < 90)
        snprintf(out, n, "%.0f s", secs);
    else if (secs < 5400)
        snprintf(out, n, "%.0f min", secs / 60);
    else
        snprintf(out, n, "%.1f h", secs / 3600);
}

static const char *svc_or(const char *s)
{
    return s && *s ? s : "?";
}

void symptom_describe(const symptom_t *s, char *out, size_t outlen)
{
    char a[8];
    hhmm(s->ep.start_ns, a, sizeof(a));
    if (s->ep.peak_z == 0) {
        if (s->what && strcmp(s->what, "error") == 0)
            snprintf(out, outlen, "the first error on %s at %s", svc_or(s->service), a);
        else
            snprintf(out, outlen, "the %s of %s at %s", s->what ? s->what : "symptom", svc_or(s->service), a);
        return;
    }
    double ratio = s->ep.baseline > 0 ? s->ep.peak / s->ep.baseline : 0;
    char change[48];
    if (ratio >= 1.5)
        snprintf(change, sizeof(change), "rose %.1f\u00d7", ratio);
    else
        snprintf(change, sizeof(change), "%s %+.0f%%", s->ep.direction < 0 ? "fell" : "moved",
                 s->ep.pct_change);
    snprintf(out, outlen, "%s on %s %s (%.4g \u2192 %.4g, z\u2248%.0f) from %s", s->what ? s->what : "metric",
             svc_or(s->service), change, s->ep.baseline, s->ep.peak, s->ep.peak_z, a);
}

/* ---------------- call graph ---------------- */

static int in_set(const char *const *set, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(set[i], s) == 0) return 1;
    return 0;
}

/* Hops from `from` to `to` following caller -> callee edges, or 0 when not within GRAPH_DEPTH. */
static int hops(const call_edge_t *edges, size_t nedges, const char *from, const char *to)
{
    if (nedges == 0) return 0;
    const char **frontier = xmalloc((nedges + 1) * sizeof(*frontier));
    const char **next = xmalloc((nedges + 1) * sizeof(*next));
    size_t nf = 1, found = 0;
    frontier[0] = from;
    for (int depth = 1; depth <= GRAPH_DEPTH && nf > 0 && !found; depth++) {
        size_t nn = 0;
        for (size_t e = 0; e < nedges; e++) {
            if (!edges[e].caller || !edges[e].callee || !in_set(frontier, nf, edges[e].caller)) continue;
            if (strcmp(edges[e].callee, to) == 0) found = (size_t)depth;
            if (nn < nedges && !in_set(next, nn, edges[e].callee)) next[nn++] = edges[e].callee;
        }
        const char **t = frontier;
        frontier = next, next = t, nf = nn;
    }
    free(frontier);
    free(next);
    return (int)found;
}

typedef struct {
    double weight;
    const char *name; /* static */
    int hops;
} relation_t;

/* The change's service against the symptom's (see suspects.h for the weights). */
static relation_t relate(const suspect_input_t *in, const change_event_t *e, const symptom_t *s)
{
    if (e->service == NULL || *e->service == '\0') return (relation_t){0.5, "global", 0};
    if (s->service && strcmp(e->service, s->service) == 0) return (relation_t){1.0, "same service", 0};
    if (s->service) {
        int down = hops(in->edges, in->nedges, s->service, e->service);
        if (down) return (relation_t){down == 1 ? 0.6 : 0.45, "callee", down};
        int up = hops(in->edges, in->nedges, e->service, s->service);
        if (up) return (relation_t){up == 1 ? 0.4 : 0.3, "caller", up};
    }
    return (relation_t){in->nedges ? 0.15 : 0.35, "unrelated", 0};
}

/* An error or degradation symptom (peak_z 0) counts as fully severe; a metric episode by its z. */
static double severity(const symptom_t *s)
{
    if (s->ep.peak_z == 0) return 1.0;
    double v = log10(1.0 + fabs(s->ep.peak_z)) / 1.5;
    return v > 1.0 ? 1.0 : v;
}

/* ---------------- ranking ---------------- */

static int by_score(const void *a, const void *b)
{
    const suspect_t *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->event_index < y->event_index ? -1 : x->event_index > y->event_index;
}

static void relation_clause(const relation_t *r, const change_event_t *e, const symptom_t *s, char *out,
                            size_t n)
{
    out[0] = '\0';
    if (strcmp(r->name, "callee") == 0)
        snprintf(out, n, " (%s %s %s)", svc_or(s->service), r->hops == 1 ? "calls" : "depends on",
                 e->service);
    else if (strcmp(r->name, "caller") == 0)
        snprintf(out, n, " (%s %s %s)", e->service, r->hops == 1 ? "calls" : "depends on",
                 svc_or(s->service));
    else if (strcmp(r->name, "unrelated") == 0)
        snprintf(out, n, " (%s is not on %s's call path)", e->service, svc_or(s->service));
}

/* The sentence: the change, how long before the symptom it explains best, how their services relate,
 * and the next symptom it precedes (agreement). `second` may be NULL. */
static void evidence_of(const change_event_t *e, const symptom_t *s, const relation_t *r,
                        const symptom_t *second, int explained, char *out, size_t n)
{
    char at[8], dt[24], sym[400], rel[300], also[460] = "", more[48] = "";
    hhmm(e->ts_ns, at, sizeof(at));
    duration((double)(s->ep.start_ns - e->ts_ns) / ANOMALY_NS_PER_S, dt, sizeof(dt));
    symptom_describe(s, sym, sizeof(sym));
    relation_clause(r, e, s, rel, sizeof(rel));
    if (second) {
        char sym2[400];
        symptom_describe(second, sym2, sizeof(sym2));
        snprintf(also, sizeof(also), "; also before %s", sym2);
    }
    if (explained > 2)
        snprintf(more, sizeof(more), " and %d other symptom%s", explained - 2, explained > 3 ? "s" : "");
    /* a sentence longer than `out` is cut: its start names the change, the time and the symptom */
    int len = snprintf(out, n, "%.40s %.100s%s%.150s at %s, %s before %.300s%.200s%.300s%s",
                       e->type && *e->type ? e->type : "change",
                       e->service && *e->service ? e->service : "(global)",
                       e->description && *e->description ? " " : "", e->description ? e->description : "", at,
                       dt, sym, rel, also, more);
    if (len < 0 && n > 0) out[0] = '\0';
}

size_t suspects_rank_input(const suspect_input_t *in, const suspect_opts_t *o, suspect_t **out)
{
    *out = NULL;
    suspect_t *s = NULL;
    size_t n = 0;
    double total = 0;
    for (size_t i = 0; i < in->nevents; i++) {
        const change_event_t *e = &in->events[i];
        double sum = 0, best = 0;
        int explained = 0;
        size_t best_symptom = 0, second = SIZE_MAX;
        double second_best = 0;
        relation_t best_rel = {0, "unrelated", 0};
        for (size_t k = 0; k < in->nsymptoms; k++) {
            const symptom_t *y = &in->symptoms[k];
            int64_t dt = y->ep.start_ns - e->ts_ns;
            if (dt < 0 || dt > o->window_ns) continue;
            relation_t rel = relate(in, e, y);
            double contrib = exp(-((double)dt / ANOMALY_NS_PER_S) / o->tau_s) * severity(y) * rel.weight;
            sum += contrib;
            explained++;
            if (explained == 1 || contrib > best) {
                if (explained > 1) second = best_symptom, second_best = best;
                best = contrib, best_symptom = k, best_rel = rel;
            } else if (second == SIZE_MAX || contrib > second_best) {
                second = k, second_best = contrib;
            }
        }
        if (explained == 0) continue;
        /* the sentence leads with the incident's own symptom (the first given) when the change precedes
         * it, then names the strongest other one */
        size_t lead = best_symptom, also = second;
        relation_t lead_rel = best_rel;
        int64_t dt0 = in->nsymptoms ? in->symptoms[0].ep.start_ns - e->ts_ns : -1;
        if (best_symptom != 0 && dt0 >= 0 && dt0 <= o->window_ns) {
            lead = 0, also = best_symptom;
            lead_rel = relate(in, e, &in->symptoms[0]);
        }
        s = xrealloc(s, (n + 1) * sizeof(*s));
        suspect_t *x = &s[n++];
        memset(x, 0, sizeof(*x));
        x->event_index = i;
        x->symptoms_explained = explained;
        x->score = o->prior[change_type_of(e->type)] * (best + 0.5 * (sum - best));
        x->relation = lead_rel.name;
        x->seconds_before = (double)(in->symptoms[lead].ep.start_ns - e->ts_ns) / ANOMALY_NS_PER_S;
        total += x->score;
        evidence_of(e, &in->symptoms[lead], &lead_rel, also != SIZE_MAX ? &in->symptoms[also] : NULL,
                    explained, x->evidence, sizeof(x->evidence));
    }
    /* share of the total, damped when the total evidence is weak */
    double strength = 1.0 - exp(-4.0 * total);
    for (size_t i = 0; i < n; i++)
        s[i].confidence = total > 0 ? s[i].score / total * strength : 0;
    if (n > 1) qsort(s, n, sizeof(*s), by_score);
    *out = s;
    return n;
}

size_t suspects_rank(const change_event_t *events, size_t nevents, const symptom_t *symptoms,
                     size_t nsymptoms, const suspect_opts_t *o, suspect_t **out)
{
    suspect_input_t in = {events, nevents, symptoms, nsymptoms, NULL, 0};
    return suspects_rank_input(&in, o, out);
}

json_t *suspects_to_json(const change_event_t *events, const suspect_t *s, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const change_event_t *e = &events[s[i].event_index];
        /* confidence rounded to 4 places: stored JSON stays readable and stable */
        double conf = round(s[i].confidence * 1e4) / 1e4;
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:s?,s:I,s:s?,s:f,s:f,s:s,s:s,s:i}", "type", e->type ? e->type : "",
                           "kind", change_type_name(change_type_of(e->type)), "service", e->service, "ts_ns",
                           (json_int_t)e->ts_ns, "description", e->description, "confidence", conf,
                           "seconds_before", s[i].seconds_before, "relation", s[i].relation, "evidence",
                           s[i].evidence, "symptoms_explained", s[i].symptoms_explained));
    }
    return arr;
}
