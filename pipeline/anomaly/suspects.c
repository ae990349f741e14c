/* Suspect scoring (see suspects.h). */
#include "suspects.h"
#include "alloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void suspect_opts_default(suspect_opts_t *o)
{
    o->prior[CHANGE_DEPLOY] = 0.5;
    o->prior[CHANGE_CONFIG] = 0.35;
    o->prior[CHANGE_FLAG] = 0.3;
    o->prior[CHANGE_MIGRATION] = 0.4;
    o->prior[CHANGE_OTHER] = 0.2;
    o->window_ns = 600 * ANOMALY_NS_PER_S;
    o->tau_s = 180.0;
}

change_type_t change_type_of(const char *type)
{
    static const char *names[] = {"deploy", "config", "flag", "migration"};
    for (int i = 0; i < 4; i++)
        if (type && strcasecmp(type, names[i]) == 0) return (change_type_t)i;
    if (type && strcasecmp(type, "feature_flag") == 0) return CHANGE_FLAG;
    return CHANGE_OTHER;
}

static void hhmm(int64_t ns, char *out, size_t n)
{
    time_t s = (time_t)(ns / ANOMALY_NS_PER_S);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, n, "%02d:%02d", tm.tm_hour, tm.tm_min);
}

void symptom_describe(const symptom_t *s, char *out, size_t outlen)
{
    char a[8], b[8];
    hhmm(s->ep.start_ns, a, sizeof(a));
    hhmm(s->ep.end_ns, b, sizeof(b));
    if (s->ep.peak_z == 0) {
        snprintf(out, outlen, "%s on %s from %s", s->what, s->service ? s->service : "?", a);
        return;
    }
    snprintf(out, outlen, "%s on %s abnormal %s\u2013%s: %.4g \u2192 %.4g (%+.0f%%), z\u2248%.0f", s->what,
             s->service ? s->service : "?", a, b, s->ep.baseline, s->ep.peak, s->ep.pct_change, s->ep.peak_z);
}

/* How strongly a symptom points at its own service's change: same service 1, global change .7,
 * another service .35 (changes elsewhere can break callers, but less often). */
static double service_match(const change_event_t *e, const symptom_t *s)
{
    if (e->service == NULL || *e->service == '\0') return 0.7;
    if (s->service && strcmp(e->service, s->service) == 0) return 1.0;
    return 0.35;
}

/* An error symptom (peak_z 0) counts as fully severe; a metric episode by its z. */
static double severity(const symptom_t *s)
{
    if (s->ep.peak_z == 0) return 1.0;
    double v = log10(1.0 + fabs(s->ep.peak_z)) / 1.5;
    return v > 1.0 ? 1.0 : v;
}

static int by_score(const void *a, const void *b)
{
    const suspect_t *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->event_index < y->event_index ? -1 : x->event_index > y->event_index;
}

size_t suspects_rank(const change_event_t *events, size_t nevents, const symptom_t *symptoms,
                     size_t nsymptoms, const suspect_opts_t *o, suspect_t **out)
{
    *out = NULL;
    suspect_t *s = NULL;
    size_t n = 0;
    double total = 0;
    for (size_t i = 0; i < nevents; i++) {
        const change_event_t *e = &events[i];
        double sum = 0, best = 0;
        int explained = 0;
        size_t best_symptom = 0;
        for (size_t k = 0; k < nsymptoms; k++) {
            int64_t dt = symptoms[k].ep.start_ns - e->ts_ns;
            if (dt < 0 || dt > o->window_ns) continue;
            double contrib = exp(-((double)dt / ANOMALY_NS_PER_S) / o->tau_s) * severity(&symptoms[k]) *
                             service_match(e, &symptoms[k]);
            sum += contrib;
            explained++;
            if (contrib > best) {
                best = contrib;
                best_symptom = k;
            }
        }
        if (explained == 0) continue;
        s = xrealloc(s, (n + 1) * sizeof(*s));
        suspect_t *x = &s[n++];
        memset(x, 0, sizeof(*x));
        x->event_index = i;
        x->symptoms_explained = explained;
        /* agreement: more symptoms explained adds, with diminishing returns */
        x->score = o->prior[change_type_of(e->type)] * sum;
        total += x->score;
        char sym[400];
        symptom_describe(&symptoms[best_symptom], sym, sizeof(sym));
        long secs = (long)((symptoms[best_symptom].ep.start_ns - e->ts_ns) / ANOMALY_NS_PER_S);
        snprintf(x->evidence, sizeof(x->evidence), "%s, %s%s%s %ld s before%s", sym,
                 e->type ? e->type : "change", e->description ? " " : "",
                 e->description ? e->description : "", secs, explained > 1 ? " (and other symptoms)" : "");
    }
    /* share of the total, damped when the total evidence is weak */
    double strength = 1.0 - exp(-2.0 * total);
    for (size_t i = 0; i < n; i++)
        s[i].confidence = total > 0 ? s[i].score / total * strength : 0;
    if (n > 1) qsort(s, n, sizeof(*s), by_score);
    *out = s;
    return n;
}
