/* Change evidence: a deploy, config change or flag flip of a service inside the target window scores
 * RK_CHANGE_SCORE; one before it, within the look-back, scores less the longer before it came. A change
 * alone is weak evidence: it adds to what the service's own behaviour shows. */
#include "rank_int.h"

#include <string.h>

void rk_changes_evidence(rk_run_t *run, const rank_input_t *target)
{
    int64_t t0 = run->target.t0, t1 = run->target.t1, back = run->opts->change_lookback_ns;
    for (size_t i = 0; i < target->n_changes; i++) {
        const rank_change_t *c = &target->changes[i];
        if (c->service == NULL || *c->service == '\0') continue;
        if (c->ts_ns > t1 || c->ts_ns < t0 - back) continue;
        double score = RK_CHANGE_SCORE;
        if (c->ts_ns < t0) score *= back > 0 ? 1.0 - (double)(t0 - c->ts_ns) / (double)back : 0.0;
        if (score <= 0) continue;
        uint32_t svc = rk_intern(&run->services, c->service, strlen(c->service));
        rk_ev_t *ev = rk_ev_add(run, svc, RANK_CH_CHANGES, RANK_EV_CHANGE, score);
        const char *type = c->type && *c->type ? c->type : "change";
        ev->subject = rk_arena_strdup(run->out, type);
        double rel_s = (double)(c->ts_ns - t0) / 1e9;
        ev->after = rel_s;
        ev->text = rk_arena_printf(run->out, "%s of %s %.0f s %s the window starts%s%.160s", type, c->service,
                                   rel_s < 0 ? -rel_s : rel_s, rel_s < 0 ? "before" : "after",
                                   c->description && *c->description ? ": " : "",
                                   c->description ? c->description : "");
    }
}
