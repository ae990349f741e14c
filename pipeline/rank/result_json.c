/* rank_result_to_json(): the ranking as JSON for the API and the offline evaluator. */
#include "rank_int.h"

#include <math.h>
#include <stdio.h>

static const char *channel_name(int c)
{
    static const char *names[RANK_CHANNELS] = {"logs",    "latency", "gap",   "metrics", "metric_echoes",
                                               "changes", "graph",   "calls", "errors"};
    return names[c];
}

/* Rounds to 4 significant decimals so the JSON is stable and readable. */
static json_t *num(double v)
{
    if (!isfinite(v)) return json_null();
    return json_real(round(v * 1e4) / 1e4);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *evidence_json(const rank_evidence_t *e)
{
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "kind",
                     rank_evidence_kind_name(e->kind), "score", num(e->score), "subject",
                     str_or_null(e->subject), "context", str_or_null(e->context), "before", num(e->before),
                     "after", num(e->after), "n_before", num(e->n_before), "n_after", num(e->n_after), "text",
                     str_or_null(e->text));
}

/* The calls behind a service's span statistics, and a note when a side is too thin to judge. */
static json_t *samples_json(const rank_service_t *s)
{
    char note[96];
    json_t *why = json_null();
    if (s->thin & RANK_THIN_BASELINE) {
        snprintf(note, sizeof(note), "baseline too thin: %zu calls (at least %d needed)", s->n_base_calls,
                 rank_min_samples());
        why = json_string(note);
    } else if (s->thin & RANK_THIN_WINDOW) {
        snprintf(note, sizeof(note), "window too thin: %zu calls (at least %d needed)", s->n_target_calls,
                 rank_min_samples());
        why = json_string(note);
    }
    return json_pack("{s:I, s:I, s:b, s:o}", "baseline_calls", (json_int_t)s->n_base_calls, "window_calls",
                     (json_int_t)s->n_target_calls, "judged", s->thin == 0, "note", why);
}

static json_t *service_json(const rank_service_t *s, size_t rank)
{
    json_t *ch = json_object(), *ev = json_array();
    if (ch == NULL || ev == NULL) goto fail;
    for (int c = 0; c < RANK_CHANNELS; c++)
        if (json_object_set_new(ch, channel_name(c), num(s->channel[c]))) goto fail;
    for (size_t i = 0; i < s->n_evidence; i++)
        if (json_array_append_new(ev, evidence_json(&s->evidence[i]))) goto fail;
    return json_pack("{s:s, s:I, s:o, s:o, s:{s:I, s:I, s:i}, s:o, s:o}", "service", s->service, "rank",
                     (json_int_t)rank, "score", num(s->score), "channels", ch, "graph", "callers",
                     (json_int_t)s->n_callers, "callees", (json_int_t)s->n_callees, "depth", s->depth,
                     "samples", samples_json(s), "evidence", ev);
fail:
    json_decref(ch);
    json_decref(ev);
    return NULL;
}

json_t *rank_result_to_json(const rank_result_t *r)
{
    if (r == NULL) return NULL;
    json_t *services = json_array();
    if (services == NULL) return NULL;
    for (size_t i = 0; i < r->n_services; i++) {
        if (json_array_append_new(services, service_json(&r->services[i], i + 1))) {
            json_decref(services);
            return NULL;
        }
    }
    return json_pack(
        "{s:s, s:b, s:o, s:o, s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:i, s:I, s:I}, s:o}", "verdict",
        r->verdict, "nothing_stands_out", r->nothing_stands_out, "top_score", num(r->top_score),
        "quiet_threshold", num(r->quiet_threshold), "looked_at", "templates", (json_int_t)r->n_templates,
        "spans", (json_int_t)r->n_target_spans, "logs", (json_int_t)r->n_target_logs, "metric_points",
        (json_int_t)r->n_target_metrics, "samples", "baseline_calls", (json_int_t)r->n_base_calls,
        "window_calls", (json_int_t)r->n_target_calls, "min_calls", rank_min_samples(), "services_judged",
        (json_int_t)r->n_judged, "services_too_thin", (json_int_t)r->n_thin, "services", services);
}
