/* Change-event suspects, pure (no I/O): the ONE suspect model of every incident kind (error traces,
 * degradations, metric episodes). A change event (deploy, config, flag, migration, scale, restart)
 * at most `window_ns` before a symptom is scored against each symptom it precedes:
 *
 *   contribution(e, s) = exp(-dt / tau) x severity(s) x relation(e, s)     (tau 300 s, window 10 min)
 *     dt        seconds from the change to the symptom's start (changes after it never count)
 *     severity  1 for an error or a degradation; a metric episode log10(1 + |z|) / 1.5, capped at 1
 *     relation  the change's service against the symptom's, on the call graph the caller gives:
 *               same service 1, a callee of it (downstream: its failure reaches the caller) .6, a
 *               deeper callee .45, global change .5, a caller of it (upstream: load, contract) .4,
 *               a deeper caller .3, unrelated .15 (.35 when no call graph was given)
 *   score(e)        = prior(type) x (best contribution + 1/2 x the sum of the others)  (agreement)
 *   confidence(e)   = score / sum of scores x (1 - exp(-4 x sum of scores))   in [0, 1]
 *
 * so a strong, lone suspect is confident, and two equally plausible ones share. Each suspect has an
 * evidence sentence naming the incident's own symptom (the first one given, when the change precedes
 * it; else the one it explains best) and the strongest other one ("deploy payment v2.3.1 at 10:02,
 * 3 min before the first error on payment at 10:05; also before p95_latency_ms on payment rose 4.0x (...)").
 * When no event qualifies none is returned, and the caller says so. */
#ifndef PS_ANOMALY_SUSPECTS_H
#define PS_ANOMALY_SUSPECTS_H

#include "detect.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    CHANGE_DEPLOY = 0, /* deploy, deployment, release, rollout */
    CHANGE_CONFIG,     /* config, config_change, configuration */
    CHANGE_FLAG,       /* flag, feature_flag */
    CHANGE_MIGRATION,  /* migration, schema_migration */
    CHANGE_SCALE,      /* scale, scaling, autoscale */
    CHANGE_RESTART,    /* restart, reboot */
    CHANGE_OTHER,      /* any other type: a low prior */
    CHANGE_TYPES
} change_type_t;

typedef struct {
    int64_t ts_ns;
    const char *service; /* may be NULL: a global change */
    const char *type;    /* as stored */
    const char *description;
} change_event_t;

/* What a suspect may explain: an anomaly episode of a metric (peak_z != 0), or an error or a
 * degradation seen at ep.start_ns (peak_z 0; `what` names it: "error", "degradation"). */
typedef struct {
    const char *service;
    const char *what; /* metric name, or "error", "degradation" */
    episode_t ep;     /* for an error: start = first error, peak_z = 0 */
} symptom_t;

/* One edge of the call graph: `caller` calls `callee` (services; borrowed). */
typedef struct {
    const char *caller, *callee;
} call_edge_t;

typedef struct {
    double prior[CHANGE_TYPES]; /* default deploy .5, config .35, flag .3, migration .4, scale .2,
                                   restart .15, other .1 */
    int64_t window_ns;          /* events at most this long before a symptom; default 10 min */
    double tau_s;               /* proximity decay; default 300 s */
} suspect_opts_t;

/* Everything one ranking looks at (all borrowed). edges may be NULL (nedges 0): no call graph known. */
typedef struct {
    const change_event_t *events;
    size_t nevents;
    const symptom_t *symptoms;
    size_t nsymptoms;
    const call_edge_t *edges;
    size_t nedges;
} suspect_input_t;

typedef struct {
    size_t event_index; /* into the events array given */
    double score;
    double confidence; /* in [0, 1] */
    int symptoms_explained;
    double seconds_before; /* from the change to the symptom it explains best */
    const char *relation;  /* "same service", "callee", "caller", "global", "unrelated" (static) */
    char evidence[640];
} suspect_t;

void suspect_opts_default(suspect_opts_t *o);
/* The type of a stored type string, aliases included (case-insensitive); unknown: CHANGE_OTHER. */
change_type_t change_type_of(const char *type);
/* The canonical name of a type ("deploy", ..., "other"). */
const char *change_type_name(change_type_t t);
/* Ranks the events (highest confidence first, ties broken by event index, so by time when the caller
 * gives them in time order). Returns the count written to *out (malloc'd; caller frees), 0 with *out
 * NULL when nothing qualifies. */
size_t suspects_rank_input(const suspect_input_t *in, const suspect_opts_t *o, suspect_t **out);
/* suspects_rank_input() without a call graph. */
size_t suspects_rank(const change_event_t *events, size_t nevents, const symptom_t *symptoms,
                     size_t nsymptoms, const suspect_opts_t *o, suspect_t **out);
/* The ranked suspects as stored in evidence and episodes: best first, each {"type", "kind" (canonical
 * type), "service", "ts_ns", "description", "confidence", "seconds_before", "relation", "evidence",
 * "symptoms_explained"}. New reference. */
json_t *suspects_to_json(const change_event_t *events, const suspect_t *s, size_t n);
/* "p95_latency_ms on payment abnormal 14:32–14:35: 250 → 1850 (+640%), z≈32" into out. */
void symptom_describe(const symptom_t *s, char *out, size_t outlen);

#endif
