/* Change events as suspects (see signals.h). */
#include "signals.h"
#include "alloc.h"
#include "strutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DESCRIPTION_MAX 300

typedef struct {
    const analysis_change_t *c;
    double score;
    int64_t delta;
} suspect_t;

double analysis_round(double x, int decimals)
{
    static const double pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    if (decimals < 0) decimals = 0;
    if (decimals > 6) decimals = 6;
    if (!isfinite(x)) return 0;
    return round(x * pow10[decimals]) / pow10[decimals];
}

static int in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        if (list[i] && strcmp(list[i], s) == 0) return 1;
    return 0;
}

static double role_weight(const analysis_roles_t *r, const char *service)
{
    if (service == NULL) return 0.4;
    if (r->root_service && strcmp(r->root_service, service) == 0) return 1.0;
    if (in_list(service, r->path_services, r->npath)) return 0.7;
    if (in_list(service, r->services, r->nservices)) return 0.5;
    return 0.2;
}

static double type_weight(const char *type)
{
    static const struct {
        const char *type;
        double w;
    } weights[] = {{"deploy", 1.0}, {"config", 0.9}, {"flag", 0.9}, {"migration", 0.8}};
    for (size_t i = 0; i < sizeof(weights) / sizeof(weights[0]); i++)
        if (type && strcmp(type, weights[i].type) == 0) return weights[i].w;
    return 0.6;
}

static int cmp_suspect(const void *pa, const void *pb)
{
    const suspect_t *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    if (a->delta != b->delta) return a->delta < b->delta ? -1 : 1;
    int c = an_strcmp(a->c->type, b->c->type);
    if (c == 0) c = an_strcmp(a->c->service, b->c->service);
    if (c == 0) c = an_strcmp(a->c->description, b->c->description);
    if (c == 0) c = an_strcmp(a->c->meta_json, b->c->meta_json);
    return c;
}

json_t *analysis_change_suspects(const trace_ctx_t *ctx, const analysis_roles_t *roles, int64_t failure_ns,
                                 size_t max)
{
    json_t *out = json_array();
    suspect_t *s = xcalloc(ctx->nchanges ? ctx->nchanges : 1, sizeof(suspect_t));
    size_t n = 0;
    for (size_t i = 0; i < ctx->nchanges; i++) {
        const analysis_change_t *c = &ctx->changes[i];
        if (c->ts_ns > failure_ns || failure_ns - c->ts_ns > ANALYSIS_CHANGE_WINDOW_NS) continue;
        int64_t delta = failure_ns - c->ts_ns;
        double proximity = 1.0 - (double)delta / (double)ANALYSIS_CHANGE_WINDOW_NS;
        s[n].c = c;
        s[n].delta = delta;
        s[n].score = analysis_round(proximity * role_weight(roles, c->service) * type_weight(c->type), 3);
        n++;
    }
    qsort(s, n, sizeof(suspect_t), cmp_suspect);
    for (size_t i = 0; i < n && i < max; i++) {
        const analysis_change_t *c = s[i].c;
        json_t *o = json_object();
        json_object_set_new(o, "type", an_json_cstr(c->type ? c->type : "change", 64));
        json_object_set_new(o, "service", c->service ? an_json_cstr(c->service, 256) : json_null());
        json_object_set_new(o, "ts_ns", json_integer(c->ts_ns));
        json_object_set_new(o, "delta_ms", json_integer(s[i].delta / 1000000));
        json_object_set_new(o, "description", an_json_cstr(c->description, DESCRIPTION_MAX));
        json_object_set_new(o, "score", json_real(s[i].score));
        json_array_append_new(out, o);
    }
    free(s);
    return out;
}
