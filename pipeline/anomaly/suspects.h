/* Change-event suspects, pure: change events (deploy, config, flag, migration) in the window before
 * anomaly episodes or an error incident, scored by temporal proximity, a prior per event type,
 * severity, and agreement across metrics and services, then normalised to a confidence in [0, 1],
 * each with an evidence sentence. When no event explains the episodes, none is returned, and the
 * caller says so. */
#ifndef PS_ANOMALY_SUSPECTS_H
#define PS_ANOMALY_SUSPECTS_H

#include "detect.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    CHANGE_DEPLOY = 0,
    CHANGE_CONFIG,
    CHANGE_FLAG,
    CHANGE_MIGRATION,
    CHANGE_OTHER,
    CHANGE_TYPES
} change_type_t;

typedef struct {
    int64_t ts_ns;
    const char *service; /* may be NULL: a global change */
    const char *type;    /* as stored */
    const char *description;
} change_event_t;

/* What a suspect may explain: an anomaly episode of a metric, or an error incident's first error. */
typedef struct {
    const char *service;
    const char *what; /* metric name, or e.g. "errors of CheckoutException" */
    episode_t ep;     /* for an error: start = first error, peak_z = 0 */
} symptom_t;

typedef struct {
    double prior[CHANGE_TYPES]; /* default deploy .5, config .35, flag .3, migration .4, other .2 */
    int64_t window_ns;          /* events at most this long before a symptom; default 10 min */
    double tau_s;               /* proximity decay; default 180 s */
} suspect_opts_t;

typedef struct {
    size_t event_index; /* into the events array given */
    double score;
    double confidence; /* in [0, 1] */
    int symptoms_explained;
    char evidence[640];
} suspect_t;

void suspect_opts_default(suspect_opts_t *o);
change_type_t change_type_of(const char *type);
/* Ranks the events (highest confidence first, ties broken by time then index). Returns the count
 * written to *out (malloc'd; caller frees), 0 with *out NULL when nothing qualifies. */
size_t suspects_rank(const change_event_t *events, size_t nevents, const symptom_t *symptoms,
                     size_t nsymptoms, const suspect_opts_t *o, suspect_t **out);
/* "p95_latency_ms on payment abnormal 14:32–14:35: 250 → 1850 (+640%), z≈32" into out. */
void symptom_describe(const symptom_t *s, char *out, size_t outlen);

#endif
